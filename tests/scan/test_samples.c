/*
 * test_samples.c — every entry of $SECAI_SHARED/scanner-samples/manifest.json gets its expected
 * verdict from scan_path(), and where the manifest lists picklescan's globals the scanner finds
 * at least those; every model in $SECAI_SHARED/llamacpp-ref/models/ scans clean.
 * Signature entries (cosign, Sigstore bundles, OpenSSF model signing) are the signature
 * verifier's (tests/scan/test_sig*.c): skipped here with a note.
 * Never: copies shared data; skips (cmocka skip()) when SECAI_SHARED is absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <string.h>

#include "../lib/testutil.h"
#include "fsutil.h"
#include "json.h"
#include "scan/folder.h"

static bool any_global(const struct scan_report *r, const char *subject)
{
	return scan_report_has(r, "pickle.global_dangerous", subject) ||
	       scan_report_has(r, "pickle.global_suspicious", subject) ||
	       scan_report_has(r, "pickle.global_innocuous", subject);
}

/* picklescan's "module.name - grade": dangerous ones must be found dangerous (an "unknown"
 * operand: some dangerous import found); the others must be found (any grade). Names picklescan
 * derives from a mis-resolved stack ("42.os", "torch._utils" as a global) are artefacts of its
 * backward walk: our stack simulation resolves the real import, so those are not required. */
static int check_globals(const struct scan_report *r, json_t *exp, const char *path)
{
	size_t i;
	json_t *g;
	int bad = 0;

	json_array_foreach(exp, i, g)
	{
		char subj[256];
		const char *s = json_string_value(g), *dash = s ? strstr(s, " - ") : NULL;

		if (dash == NULL || (size_t)(dash - s) >= sizeof(subj))
			continue;
		memcpy(subj, s, (size_t)(dash - s));
		subj[dash - s] = '\0';
		if (strcmp(dash + 3, "dangerous") == 0) {
			if (scan_report_has(r, "pickle.global_dangerous", subj))
				continue;
			if (strstr(subj, "unknown") &&
			    scan_report_count(r, "pickle.global_dangerous") > 0)
				continue;
		} else if (any_global(r, subj) || strchr(subj, '.') == NULL ||
			   (subj[0] >= '0' && subj[0] <= '9') || strcmp(subj, "torch._utils") == 0) {
			continue;
		}
		printf("MISSING global %s in %s\n", s, path);
		bad = 1;
	}
	return bad;
}

static void test_manifest(void **state)
{
	const char *shared = test_shared_dir();
	char mpath[PATH_MAX], *text = NULL, err[160];
	size_t len, i, n_ok = 0, n_run = 0, n_skip = 0;
	json_t *root, *entries, *e;

	(void)state;
	if (shared == NULL) {
		printf("SKIP: scanner samples (SECAI_SHARED not found)\n");
		skip();
	}
	snprintf(mpath, sizeof(mpath), "%s/scanner-samples/manifest.json", shared);
	if (fs_read_file(mpath, 16u << 20, &text, &len) != 0) {
		printf("SKIP: %s not found\n", mpath);
		skip();
	}
	root = json_parse_object(text, len, 16u << 20, err, sizeof(err));
	free(text);
	assert_non_null(root);
	entries = json_object_get(root, "entries");
	assert_true(json_is_array(entries));
	json_array_foreach(entries, i, e)
	{
		const char *fmt = json_string_value(json_object_get(e, "format"));
		const char *rel = json_string_value(json_object_get(e, "path"));
		const char *want = json_string_value(json_object_get(e, "expected_verdict"));
		json_t *globals = json_object_get(e, "expected_globals_picklescan");
		char path[PATH_MAX];
		struct scan_report r;
		enum scan_verdict v;
		int bad = 0;

		assert_non_null(fmt);
		assert_non_null(rel);
		assert_non_null(want);
		if (strcmp(want, "accept") && strcmp(want, "reject")) {
			n_skip++; /* verify-ok / verify-fail: signature entries */
			continue;
		}
		snprintf(path, sizeof(path), "%s/scanner-samples/%s", shared, rel);
		scan_report_init(&r);
		assert_int_equal(scan_path(path, &r), 0);
		v = scan_report_verdict(&r);
		if ((strcmp(want, "accept") == 0) != (v == SCAN_CLEAN) ||
		    (strcmp(want, "reject") == 0 && v != SCAN_REJECTED)) {
			printf("WRONG verdict %s for %s (want %s)\n", scan_verdict_name(v), rel, want);
			scan_report_print(&r, stdout);
			bad = 1;
		}
		/* 7z (LZMA) members are not decompressed: the file is rejected unscanned */
		if (json_is_array(globals) && !strstr(rel, ".7z"))
			bad |= check_globals(&r, globals, rel);
		n_run++;
		n_ok += !bad;
		scan_report_free(&r);
	}
	printf("scanner samples: %zu/%zu as expected (%zu signature entries skipped: the signature "
	       "verifier's tests cover them)\n",
	       n_ok, n_run, n_skip);
	json_decref(root);
	assert_int_equal(n_ok, n_run);
}

static void test_reference_models_clean(void **state)
{
	const char *shared = test_shared_dir();
	char dir[PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	(void)state;
	if (shared == NULL) {
		printf("SKIP: reference models (SECAI_SHARED not found)\n");
		skip();
	}
	snprintf(dir, sizeof(dir), "%s/llamacpp-ref/models", shared);
	d = opendir(dir);
	if (d == NULL) {
		printf("SKIP: %s not found\n", dir);
		skip();
	}
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX];
		struct scan_report r;
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 5, ".gguf"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		scan_report_init(&r);
		assert_int_equal(scan_path(path, &r), 0);
		if (scan_report_verdict(&r) != SCAN_CLEAN)
			scan_report_print(&r, stdout);
		assert_int_equal(scan_report_verdict(&r), SCAN_CLEAN);
		scan_report_free(&r);
		n++;
	}
	closedir(d);
	printf("reference models: %zu scanned clean\n", n);
	assert_true(n > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_manifest),
	    cmocka_unit_test(test_reference_models_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
