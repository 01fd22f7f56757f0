/*
 * test_reg_store.c — the registry's writes and checks that need no daemon: removing a manifest
 * entry, the admin token (file rules, header check), DELETE through reg_delete_route (refused
 * without the token and nothing changes; deleted with it, manifest still verifying), the sweep
 * after a crash at each step of a deletion, and reg_check_model (what secai-infer asks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "registry/reg_admin.h"
#include "registry/reg_check.h"
#include "registry/reg_manifest.h"
#include "registry/reg_store.h"
#include "registry/registry.h"
#include "sha256.h"

#include "../lib/testutil.h"

struct fx {
	char *dir;		  /* the state directory */
	char regdir[4200];	  /* STATE/registry */
	char mpath[4200];	  /* its manifest */
	char pub[4300];		  /* registry.pub */
	uint8_t sk[REG_SK_LEN], pk[REG_PK_LEN];
	char sha[3][65];	  /* three promoted models */
	char path[3][4400];
	json_t *models;
};

static char err[1024];

/* A model file promoted the way qr_promote leaves it: models/<sha>/NAME, 0444 in a 0555 dir. */
static void promote(struct fx *f, int i, const char *content)
{
	char dir[4400];
	uint8_t d[32];

	sha256_digest(content, strlen(content), d);
	hex_encode(d, 32, f->sha[i]);
	snprintf(dir, sizeof(dir), "%s/models/%s", f->regdir, f->sha[i]);
	assert_int_equal(fs_mkdir_p(dir, 0700), 0);
	snprintf(f->path[i], sizeof(f->path[i]), "%s/m%d.gguf", dir, i);
	assert_int_equal(fs_atomic_write(f->path[i], content, strlen(content), 0444), 0);
	assert_int_equal(chmod(dir, 0555), 0);
	json_array_append_new(f->models, json_pack("{s:s, s:s, s:s, s:s}", "name",
						   strrchr(f->path[i], '/') + 1, "sha256",
						   f->sha[i], "path", f->path[i], "kind", "file"));
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = test_tmpdir();
	assert_non_null(f->dir);
	assert_int_equal(reg_paths(f->dir, f->regdir, sizeof(f->regdir), f->mpath, sizeof(f->mpath)),
			 0);
	snprintf(f->pub, sizeof(f->pub), "%s/registry.pub", f->regdir);
	assert_int_equal(reg_key_load_or_create(f->regdir, f->sk, f->pk, err, sizeof(err)), 0);
	f->models = json_array();
	promote(f, 0, "model zero");
	promote(f, 1, "model one");
	promote(f, 2, "model two");
	assert_int_equal(reg_manifest_write(f->mpath, f->sk, f->pk, f->models, err, sizeof(err)), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[4400];

	snprintf(cmd, sizeof(cmd), "chmod -R u+w %s", f->dir);
	assert_int_equal(system(cmd), 0);
	test_rmrf(f->dir);
	free(f->dir);
	json_decref(f->models);
	free(f);
	return 0;
}

static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t len;

	return fs_read_file(path, 1u << 24, &buf, &len) == 0 ? buf : NULL;
}

static json_t *listed(const struct fx *f)
{
	json_t *m = NULL;

	assert_int_equal(reg_manifest_load(f->mpath, f->pk, &m, err, sizeof(err)), 0);
	return m;
}

/* How many spooled audit events of this name the spool folder holds. */
static int spooled(const struct fx *f, const char *event, const char *needle)
{
	char dir[4300], want[128];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/audit/spool", f->dir);
	snprintf(want, sizeof(want), "\"event\":\"%s\"", event);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char p[4600], *t;
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if ((t = slurp(p)) != NULL) {
			n += strstr(t, want) != NULL && (needle == NULL || strstr(t, needle) != NULL);
			free(t);
		}
	}
	closedir(d);
	return n;
}

static void test_models_remove(void **state)
{
	json_t *m = json_pack("[{s:s}, {s:s}, {s:s}, {s:s}]", "sha256", "a", "sha256", "b", "sha256",
			      "a", "sha256", "c");
	json_t *s = json_string("x");

	(void)state;
	assert_int_equal(reg_models_remove(m, "zz"), 0);
	assert_int_equal(json_array_size(m), 4);
	assert_int_equal(reg_models_remove(m, "a"), 2);
	assert_int_equal(json_array_size(m), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(m, 0), "sha256")), "b");
	assert_string_equal(json_string_value(json_object_get(json_array_get(m, 1), "sha256")), "c");
	assert_int_equal(reg_models_remove(s, "a"), -1);
	json_decref(m);
	json_decref(s);
}

static void test_admin_check(void **state)
{
	uint8_t tok[REG_TOKEN_LEN];
	char hex[2 * REG_TOKEN_LEN + 1], h[256];

	(void)state;
	for (int i = 0; i < REG_TOKEN_LEN; i++)
		tok[i] = (uint8_t)(i * 7 + 3);
	hex_encode(tok, REG_TOKEN_LEN, hex);
	assert_int_equal(reg_admin_check(tok, NULL), REG_AUTH_MISSING);
	snprintf(h, sizeof(h), "Bearer %s", hex);
	assert_int_equal(reg_admin_check(tok, h), REG_AUTH_OK);
	snprintf(h, sizeof(h), "  bearer \t %s  ", hex); /* scheme is case-insensitive */
	assert_int_equal(reg_admin_check(tok, h), REG_AUTH_OK);
	for (char *p = h; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(reg_admin_check(tok, h), REG_AUTH_OK); /* hex digits either case */
	assert_int_equal(reg_admin_check(tok, ""), REG_AUTH_MALFORMED);
	assert_int_equal(reg_admin_check(tok, "Bearer"), REG_AUTH_MALFORMED);
	snprintf(h, sizeof(h), "Basic %s", hex);
	assert_int_equal(reg_admin_check(tok, h), REG_AUTH_MALFORMED);
	snprintf(h, sizeof(h), "Bearer%s", hex);
	assert_int_equal(reg_admin_check(tok, h), REG_AUTH_MALFORMED);
	snprintf(h, sizeof(h), "Bearer %.63s", hex);
	assert_int_equal(reg_admin_check(tok, h), REG_AUTH_MALFORMED);
	snprintf(h, sizeof(h), "Bearer %s0", hex);
	assert_int_equal(reg_admin_check(tok, h), REG_AUTH_MALFORMED);
	snprintf(h, sizeof(h), "Bearer %.62sxy", hex);
	assert_int_equal(reg_admin_check(tok, h), REG_AUTH_MALFORMED);
	/* one bit off in the first and in the last byte */
	snprintf(h, sizeof(h), "Bearer %s", hex);
	h[7] = h[7] == '0' ? '1' : '0';
	assert_int_equal(reg_admin_check(tok, h), REG_AUTH_WRONG);
	snprintf(h, sizeof(h), "Bearer %s", hex);
	h[7 + 63] = h[7 + 63] == '0' ? '1' : '0';
	assert_int_equal(reg_admin_check(tok, h), REG_AUTH_WRONG);
	assert_string_equal(reg_auth_name(REG_AUTH_WRONG), "wrong");
}

static void test_admin_token_file(void **state)
{
	struct fx *f = *state;
	uint8_t a[REG_TOKEN_LEN], b[REG_TOKEN_LEN];
	char path[4300];
	struct stat st;
	int created;

	assert_int_equal(reg_admin_token_load(f->regdir, a, err, sizeof(err)), 1);
	assert_int_equal(reg_admin_token_ensure(f->regdir, a, &created, err, sizeof(err)), 0);
	assert_int_equal(created, 1);
	assert_int_equal(reg_admin_token_path(f->regdir, path, sizeof(path)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(reg_admin_token_ensure(f->regdir, b, &created, err, sizeof(err)), 0);
	assert_int_equal(created, 0);
	assert_memory_equal(a, b, REG_TOKEN_LEN); /* loaded, not replaced */
	/* readable by the group: refused, by load and by ensure (it never replaces a token) */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(reg_admin_token_load(f->regdir, b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(reg_admin_token_ensure(f->regdir, b, &created, err, sizeof(err)), -1);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(fs_atomic_write(path, "not hex\n", 8, 0600), 0);
	assert_int_equal(reg_admin_token_load(f->regdir, b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "hex digits"));
	assert_null(strstr(err, "not hex")); /* the file's content is never echoed */
	/* a symlink is not followed */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/hostname", path), 0);
	assert_int_equal(reg_admin_token_load(f->regdir, b, err, sizeof(err)), -1);
}

static int call_delete(struct reg_server *s, const char *sha, const char *authz)
{
	struct http_response rs;
	json_t *who = json_pack("{s:s, s:i}", "peer", "127.0.0.1:1", "uid", 4242);
	int st;

	memset(&rs, 0, sizeof(rs));
	assert_int_equal(reg_delete_route(s, sha, authz, who, &rs), 0);
	st = rs.status;
	buf_free(&rs.body);
	for (size_t i = 0; i < rs.nheaders; i++) {
		free(rs.headers[i].name);
		free(rs.headers[i].value);
	}
	json_decref(who);
	return st;
}

static void test_delete_route(void **state)
{
	struct fx *f = *state;
	struct reg_server s;
	char auth[128], hex[65], *before, *after, dir[4400];
	int created;
	json_t *m;

	assert_int_equal(reg_server_init(&s, f->dir), 0);
	assert_int_equal(reg_admin_token_ensure(f->regdir, s.admin_token, &created, err,
						sizeof(err)),
			 0);
	s.have_token = 1;
	hex_encode(s.admin_token, REG_TOKEN_LEN, hex);
	before = slurp(f->mpath);
	assert_non_null(before);
	/* not admin: refused, nothing changes, the refusal is audited */
	assert_int_equal(call_delete(&s, f->sha[1], NULL), 401);
	assert_int_equal(call_delete(&s, f->sha[1], "Bearer 1234"), 403);
	snprintf(auth, sizeof(auth), "Bearer %064d", 0);
	assert_int_equal(call_delete(&s, f->sha[1], auth), 403);
	assert_int_equal(call_delete(&s, "0123", NULL), 401); /* existence is not revealed */
	after = slurp(f->mpath);
	assert_string_equal(before, after);
	free(after);
	assert_int_equal(access(f->path[1], F_OK), 0);
	assert_int_equal(spooled(f, "registry.delete_refused", "\"no_token\""), 2);
	assert_int_equal(spooled(f, "registry.delete_refused", "\"malformed_token\""), 1);
	assert_int_equal(spooled(f, "registry.delete_refused", "\"wrong_token\""), 1);
	/* admin: unknown model 404, then the real one */
	snprintf(auth, sizeof(auth), "Bearer %s", hex);
	assert_int_equal(call_delete(&s, "ab", auth), 404);
	assert_int_equal(call_delete(&s, "0000000000000000000000000000000000000000000000000000000000000000",
				     auth),
			 404);
	after = slurp(f->mpath);
	assert_string_equal(before, after);
	free(after);
	assert_int_equal(call_delete(&s, f->sha[1], auth), 200);
	m = listed(f); /* still verifies */
	assert_int_equal(json_array_size(m), 2);
	assert_null(reg_models_find(m, f->sha[1]));
	assert_non_null(reg_models_find(m, f->sha[0]));
	assert_non_null(reg_models_find(m, f->sha[2]));
	json_decref(m);
	snprintf(dir, sizeof(dir), "%s/models/%s", f->regdir, f->sha[1]);
	assert_int_equal(access(dir, F_OK), -1);
	assert_int_equal(access(f->path[0], F_OK), 0);
	snprintf(dir, sizeof(dir), "%s/deleting/%s.json", f->regdir, f->sha[1]);
	assert_int_equal(access(dir, F_OK), -1); /* tombstone gone */
	assert_int_equal(spooled(f, "registry.deleted", "\"uid\":4242"), 1);
	assert_int_equal(spooled(f, "registry.deleted", f->sha[1]), 1);
	/* a second DELETE of the same model: 404 */
	assert_int_equal(call_delete(&s, f->sha[1], auth), 404);
	/* a manifest that does not verify: 503, nothing removed */
	free(before);
	before = slurp(f->mpath);
	*strstr(before, "m0.gguf") = 'n';
	assert_int_equal(fs_atomic_write(f->mpath, before, strlen(before), 0644), 0);
	assert_int_equal(call_delete(&s, f->sha[0], auth), 503);
	assert_int_equal(access(f->path[0], F_OK), 0);
	free(before);
}

/* The state a SIGKILL leaves after each step of reg_delete, rebuilt by hand; then the sweep. */
static void test_sweep_after_crash(void **state)
{
	struct fx *f = *state;
	char tomb[4400], dir1[4400], dir2[4400];
	json_t *done = json_array(), *unl = json_array(), *m;

	snprintf(dir1, sizeof(dir1), "%s/models/%s", f->regdir, f->sha[1]);
	snprintf(dir2, sizeof(dir2), "%s/models/%s", f->regdir, f->sha[2]);
	/* crash after step 1 (tombstone written, manifest not yet): the model stays */
	snprintf(tomb, sizeof(tomb), "%s/deleting", f->regdir);
	assert_int_equal(fs_mkdir_p(tomb, 0700), 0);
	snprintf(tomb, sizeof(tomb), "%s/deleting/%s.json", f->regdir, f->sha[1]);
	assert_int_equal(fs_atomic_write(tomb, "{}", 2, 0600), 0);
	/* crash after step 2 for model 2 (manifest without it, files still there, read-only) */
	{
		char t2[4400];
		snprintf(t2, sizeof(t2), "%s/deleting/%s.json", f->regdir, f->sha[2]);
		assert_int_equal(fs_atomic_write(t2, "{}", 2, 0600), 0);
		m = json_deep_copy(f->models);
		assert_int_equal(reg_models_remove(m, f->sha[2]), 1);
		assert_int_equal(reg_manifest_write(f->mpath, f->sk, f->pk, m, err, sizeof(err)), 0);
		json_decref(m);
	}
	/* a stray temporary file of an interrupted tombstone write */
	{
		char stray[4400];
		snprintf(stray, sizeof(stray), "%s/deleting/%s.json.tmp.99", f->regdir, f->sha[0]);
		assert_int_equal(fs_atomic_write(stray, "{", 1, 0600), 0);
	}
	assert_int_equal(reg_store_unlisted(f->dir, unl, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(unl), 1); /* model 2: unlisted, its tombstone pending */
	json_array_clear(unl);
	assert_int_equal(reg_sweep(f->dir, done, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(done), 1);
	assert_string_equal(json_string_value(json_array_get(done, 0)), f->sha[2]);
	assert_int_equal(access(dir1, F_OK), 0);  /* not committed: kept */
	assert_int_equal(access(f->path[1], F_OK), 0);
	assert_int_equal(access(dir2, F_OK), -1); /* committed: finished */
	snprintf(tomb, sizeof(tomb), "%s/deleting", f->regdir);
	{
		DIR *d = opendir(tomb);
		struct dirent *de;
		int n = 0;
		assert_non_null(d);
		while ((de = readdir(d)) != NULL)
			n += de->d_name[0] != '.';
		closedir(d);
		assert_int_equal(n, 0); /* every tombstone and stray handled */
	}
	/* an unlisted folder without a tombstone is a promotion that did not commit: untouched */
	m = json_deep_copy(f->models);
	assert_int_equal(reg_models_remove(m, f->sha[2]), 1);
	assert_int_equal(reg_models_remove(m, f->sha[0]), 1);
	assert_int_equal(reg_manifest_write(f->mpath, f->sk, f->pk, m, err, sizeof(err)), 0);
	json_decref(m);
	json_array_clear(done);
	assert_int_equal(reg_sweep(f->dir, done, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(done), 0);
	assert_int_equal(access(f->path[0], F_OK), 0);
	assert_int_equal(reg_store_unlisted(f->dir, unl, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(unl), 1);
	assert_string_equal(json_string_value(json_array_get(unl, 0)), f->sha[0]);
	/* a manifest that does not verify: the sweep touches nothing */
	snprintf(tomb, sizeof(tomb), "%s/deleting/%s.json", f->regdir, f->sha[1]);
	assert_int_equal(fs_atomic_write(tomb, "{}", 2, 0600), 0);
	assert_int_equal(fs_atomic_write(f->mpath, "{}", 2, 0644), 0);
	assert_int_equal(reg_sweep(f->dir, done, err, sizeof(err)), -1);
	assert_int_equal(access(tomb, F_OK), 0);
	assert_int_equal(access(f->path[1], F_OK), 0);
	json_decref(done);
	json_decref(unl);
}

static void test_delete_direct(void **state)
{
	struct fx *f = *state;
	json_t *entry = NULL, *who = json_pack("{s:s}", "peer", "test"), *m;

	assert_int_equal(reg_delete(f->dir, "not-a-sha", who, &entry, err, sizeof(err)), -1);
	assert_int_equal(reg_delete(f->dir, f->sha[0], who, &entry, err, sizeof(err)), 0);
	assert_non_null(entry);
	assert_string_equal(json_string_value(json_object_get(entry, "name")), "m0.gguf");
	json_decref(entry);
	assert_int_equal(reg_delete(f->dir, f->sha[0], who, &entry, err, sizeof(err)), 1);
	assert_null(entry);
	m = listed(f);
	assert_int_equal(json_array_size(m), 2);
	json_decref(m);
	json_decref(who);
}

static void test_check_model(void **state)
{
	struct fx *f = *state;
	char canon[4096], out[4400], inside[4400], sub[4400], real_m0[4096];
	uint8_t sk2[REG_SK_LEN], pk2[REG_PK_LEN];
	char *text;

	assert_non_null(realpath(f->path[0], real_m0));
	/* a promoted model at its pin */
	assert_int_equal(reg_check_model(f->regdir, f->pub, f->path[0], f->sha[0], canon,
					 sizeof(canon), err, sizeof(err)),
			 REG_CHECK_OK);
	assert_string_equal(canon, real_m0);
	/* the pin of another model */
	assert_int_equal(reg_check_model(f->regdir, f->pub, f->path[0], f->sha[1], canon,
					 sizeof(canon), err, sizeof(err)),
			 REG_CHECK_PIN);
	assert_non_null(strstr(err, f->sha[0]));
	/* the same bytes outside the store */
	snprintf(out, sizeof(out), "%s/copy.gguf", f->dir);
	assert_int_equal(fs_atomic_write(out, "model zero", 10, 0644), 0);
	assert_int_equal(reg_check_model(f->regdir, f->pub, out, f->sha[0], canon, sizeof(canon),
					 err, sizeof(err)),
			 REG_CHECK_OUTSIDE);
	assert_non_null(strstr(err, "securectl import"));
	/* a path that climbs out of the store, and a symlink inside it pointing out */
	snprintf(inside, sizeof(inside), "%s/models/../copy.gguf", f->regdir);
	snprintf(sub, sizeof(sub), "%s/copy.gguf", f->regdir);
	assert_int_equal(fs_atomic_write(sub, "model zero", 10, 0644), 0);
	assert_int_equal(reg_check_model(f->regdir, f->pub, inside, f->sha[0], canon, sizeof(canon),
					 err, sizeof(err)),
			 REG_CHECK_OUTSIDE);
	snprintf(sub, sizeof(sub), "%s/models/link.gguf", f->regdir);
	assert_int_equal(symlink(out, sub), 0);
	assert_int_equal(reg_check_model(f->regdir, f->pub, sub, f->sha[0], canon, sizeof(canon),
					 err, sizeof(err)),
			 REG_CHECK_OUTSIDE);
	/* inside the store but not listed */
	snprintf(sub, sizeof(sub), "%s/models/%s", f->regdir, "stray");
	assert_int_equal(fs_mkdir_p(sub, 0700), 0);
	snprintf(sub + strlen(sub), sizeof(sub) - strlen(sub), "/x.gguf");
	assert_int_equal(fs_atomic_write(sub, "model zero", 10, 0644), 0);
	assert_int_equal(reg_check_model(f->regdir, f->pub, sub, f->sha[0], canon, sizeof(canon),
					 err, sizeof(err)),
			 REG_CHECK_NOT_LISTED);
	/* missing */
	snprintf(sub, sizeof(sub), "%s/models/none.gguf", f->regdir);
	assert_int_equal(reg_check_model(f->regdir, f->pub, sub, f->sha[0], canon, sizeof(canon),
					 err, sizeof(err)),
			 REG_CHECK_MISSING);
	/* no public key file */
	snprintf(sub, sizeof(sub), "%s/elsewhere.pub", f->dir);
	assert_int_equal(reg_check_model(f->regdir, sub, f->path[0], f->sha[0], canon,
					 sizeof(canon), err, sizeof(err)),
			 REG_CHECK_NO_KEY);
	/* another key (a replaced pair, caught by a copy of the real key kept elsewhere) */
	assert_int_equal(reg_key_load_or_create(f->dir, sk2, pk2, err, sizeof(err)), 0);
	snprintf(sub, sizeof(sub), "%s/registry.pub", f->dir);
	assert_int_equal(reg_check_model(f->regdir, sub, f->path[0], f->sha[0], canon,
					 sizeof(canon), err, sizeof(err)),
			 REG_CHECK_MANIFEST);
	/* a folder model is not served */
	{
		json_t *m = json_deep_copy(f->models);
		json_object_set_new(json_array_get(m, 2), "kind", json_string("folder"));
		assert_int_equal(reg_manifest_write(f->mpath, f->sk, f->pk, m, err, sizeof(err)), 0);
		json_decref(m);
		assert_int_equal(reg_check_model(f->regdir, f->pub, f->path[2], f->sha[2], canon,
						 sizeof(canon), err, sizeof(err)),
				 REG_CHECK_NOT_FILE);
	}
	/* one byte of the manifest flipped: nothing passes */
	text = slurp(f->mpath);
	assert_non_null(text);
	text[strstr(text, "m1.gguf") - text + 1] ^= 0x01;
	assert_int_equal(fs_atomic_write(f->mpath, text, strlen(text), 0644), 0);
	free(text);
	assert_int_equal(reg_check_model(f->regdir, f->pub, f->path[0], f->sha[0], canon,
					 sizeof(canon), err, sizeof(err)),
			 REG_CHECK_MANIFEST);
	assert_non_null(strstr(err, "does not verify"));
	/* no manifest at all */
	assert_int_equal(unlink(f->mpath), 0);
	assert_int_equal(reg_check_model(f->regdir, f->pub, f->path[0], f->sha[0], canon,
					 sizeof(canon), err, sizeof(err)),
			 REG_CHECK_MANIFEST);
	assert_string_equal(reg_check_reason(REG_CHECK_OUTSIDE), "outside_store");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_models_remove),
	    cmocka_unit_test(test_admin_check),
	    cmocka_unit_test_setup_teardown(test_admin_token_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_route, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_direct, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_after_crash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_model, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
