/*
 * test_manifest.c — the per-tensor manifest: JSON round trip, changed / added / missing /
 * reshaped tensors named, order-independent structure hash, tampered manifests refused.
 *
 * Owns: small GGUF fixtures built at test time, manifests written to a temp dir.
 * Never: touches files outside its temp dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../lib/testutil.h"
#include "buf.h"
#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "scan/manifest.h"
#include "scan/wstats.h"

static float a[256], b[256], c[512];

/* Builds a GGUF from (name, data, rows) triples in the given order; returns its manifest. */
static void build(struct manifest *m, const char *const *names, float *const *data,
		  const uint64_t *rows, size_t n)
{
	struct gguf_writer *w = gguf_writer_new();
	struct buf out = BUF_INIT;
	struct gguf_file *f;
	struct wstats ws;
	struct scan_report r;

	gguf_writer_add_str(w, "general.architecture", "secaitest");
	for (size_t i = 0; i < n; i++) {
		uint64_t ne[2] = {16, rows[i]};
		assert_int_equal(gguf_writer_add_tensor(w, names[i], GGUF_GGML_F32, 2, ne, data[i]), 0);
	}
	assert_int_equal(gguf_writer_to_buf(w, &out), 0);
	gguf_writer_free(w);
	assert_int_equal(gguf_open_buffer(out.data, out.len, &f, NULL), 0);
	scan_report_init(&r);
	assert_int_equal(wstats_scan_gguf(f, NULL, 2, &ws, &r, "m.gguf"), 0);
	assert_int_equal(manifest_from_wstats(&ws, m), 0);
	wstats_free(&ws);
	scan_report_free(&r);
	gguf_close(f);
	buf_free(&out);
}

static int verify(const struct manifest *e, const struct manifest *x, const char *reason,
		  const char *subject)
{
	struct scan_report r;
	int rc;

	scan_report_init(&r);
	rc = manifest_verify(e, x, &r, "m.gguf");
	if (reason && !scan_report_has(&r, reason, subject))
		scan_report_print(&r, stdout);
	if (reason)
		assert_true(scan_report_has(&r, reason, subject));
	scan_report_free(&r);
	return rc;
}

static void test_manifest(void **state)
{
	const char *names[] = {"a.weight", "b.weight", "c.weight"};
	const char *reord[] = {"c.weight", "a.weight", "b.weight"};
	float *data[] = {a, b, c}, *rdata[] = {c, a, b};
	uint64_t rows[] = {16, 16, 32}, rrows[] = {32, 16, 16};
	struct manifest m0, m1, back;
	char *dir = test_tmpdir(), path[PATH_MAX], err[160], *txt = NULL;
	size_t len;
	FILE *fp;

	(void)state;
	for (int i = 0; i < 256; i++) {
		a[i] = (float)i * 0.01f - 1.0f;
		b[i] = (float)(i % 17) * 0.03f - 0.2f;
	}
	for (int i = 0; i < 512; i++)
		c[i] = (float)((i * 37) % 101) * 0.002f - 0.1f;
	build(&m0, names, data, rows, 3);
	assert_int_equal(m0.n, 3);

	/* Round trip through the JSON file. */
	snprintf(path, sizeof(path), "%s/m.manifest.json", dir);
	assert_int_equal(manifest_write(&m0, "m.gguf", path), 0);
	assert_int_equal(manifest_load(path, &back, err, sizeof(err)), 0);
	assert_int_equal(back.n, 3);
	assert_memory_equal(back.merkle_root, m0.merkle_root, 32);
	assert_memory_equal(back.structure, m0.structure, 32);
	assert_int_equal(verify(&back, &m0, "manifest.verified", NULL), 0);

	/* A tampered manifest (one digest edited) no longer matches its own roots. */
	fp = fopen(path, "rb");
	txt = calloc(1, 1 << 16);
	len = fread(txt, 1, (1 << 16) - 1, fp);
	fclose(fp);
	{
		char *s = strstr(txt, "\"sha256\": \"");
		struct manifest bad;
		assert_non_null(s);
		s += 11;
		*s = *s == '0' ? '1' : '0';
		assert_int_equal(manifest_parse(txt, len, &bad, err, sizeof(err)), -1);
		assert_int_equal(manifest_parse("{\"format\":\"x\"}", 14, &bad, err, sizeof(err)), -1);
	}
	free(txt);

	/* Same tensors, another order: structure equal, Merkle root not, verify passes + WARN. */
	build(&m1, reord, rdata, rrows, 3);
	assert_memory_equal(m1.structure, m0.structure, 32);
	assert_memory_not_equal(m1.merkle_root, m0.merkle_root, 32);
	assert_int_equal(verify(&m0, &m1, "manifest.reordered", NULL), 0);
	manifest_free(&m1);

	/* One value changed. */
	b[100] += 0.5f;
	build(&m1, names, data, rows, 3);
	assert_int_equal(verify(&m0, &m1, "manifest.tensor_changed", "b.weight"), 1);
	assert_memory_equal(m1.structure, m0.structure, 32);
	manifest_free(&m1);
	b[100] -= 0.5f;

	/* Missing and added tensors. */
	build(&m1, names, data, rows, 2);
	assert_int_equal(verify(&m0, &m1, "manifest.tensor_missing", "c.weight"), 1);
	assert_int_equal(verify(&m1, &m0, "manifest.tensor_added", "c.weight"), 1);
	manifest_free(&m1);

	/* Reshaped: c as 16 x 32 -> rows 16 of another tensor named c. */
	{
		uint64_t rows2[] = {16, 16, 16};
		build(&m1, names, data, rows2, 3);
		assert_int_equal(verify(&m0, &m1, "manifest.tensor_reshaped", "c.weight"), 1);
		assert_memory_not_equal(m1.structure, m0.structure, 32);
		manifest_free(&m1);
	}
	manifest_free(&m0);
	manifest_free(&back);
	test_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_manifest)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
