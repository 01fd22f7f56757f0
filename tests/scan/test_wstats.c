/*
 * test_wstats.c — weight statistics: dequantisation, each rule on a generated GGUF / safetensors
 * fixture with its reason id, and every reference model scanning clean.
 *
 * Owns: fixtures built with gguf_writer at test time (random N(0,1)/sqrt(fan_in) weights from a
 * fixed seed, NaN, zero, constant, repeated-block, heavy-tailed and layer-outlier tensors).
 * Never: writes into the repo or the shared folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "../lib/testutil.h"
#include "buf.h"
#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "scan/wstats.h"

#define N 64

static uint64_t rng = 88172645463325252ull;

static double urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}

static float gauss(void)
{
	return (float)(sqrt(-2 * log(urand())) * cos(6.283185307179586 * urand()));
}

static void fill(float *x, size_t n, float sd)
{
	for (size_t i = 0; i < n; i++)
		x[i] = gauss() * sd;
}

struct built {
	struct buf b;
	struct gguf_file *f;
	struct wstats w;
	struct scan_report r;
};

static void scan(struct built *bt, struct gguf_writer *w)
{
	bt->b = (struct buf)BUF_INIT;
	assert_int_equal(gguf_writer_to_buf(w, &bt->b), 0);
	gguf_writer_free(w);
	assert_int_equal(gguf_open_buffer(bt->b.data, bt->b.len, &bt->f, NULL), 0);
	scan_report_init(&bt->r);
	assert_int_equal(wstats_scan_gguf(bt->f, NULL, 2, &bt->w, &bt->r, "fixture.gguf"), 0);
}

static void unbuild(struct built *bt)
{
	wstats_free(&bt->w);
	scan_report_free(&bt->r);
	gguf_close(bt->f);
	buf_free(&bt->b);
}

static struct gguf_writer *writer(void)
{
	struct gguf_writer *w = gguf_writer_new();
	assert_non_null(w);
	assert_int_equal(gguf_writer_add_str(w, "general.architecture", "secaitest"), 0);
	return w;
}

static size_t n_bad(const struct scan_report *r)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += r->items[i].severity >= SCAN_SEV_WARN;
	return n;
}

static void test_dequant(void **state)
{
	uint8_t q8[34], q4[18], f16[4] = {0x00, 0x3c, 0x00, 0xc0}; /* 1.0, -2.0 */
	float y[32];

	(void)state;
	q8[0] = 0x00;
	q8[1] = 0x38; /* d = 0.5 */
	for (int i = 0; i < 32; i++)
		q8[2 + i] = (uint8_t)(int8_t)(i - 16);
	assert_int_equal(wstats_dequant(GGUF_GGML_Q8_0, q8, 1, y), 0);
	assert_true(y[0] == -8.0f && y[31] == 7.5f);
	q4[0] = 0x00;
	q4[1] = 0x40; /* d = 2 */
	memset(q4 + 2, 0x9a, 16); /* low nibble 10 -> 2*2, high 9 -> 1*2 */
	assert_int_equal(wstats_dequant(GGUF_GGML_Q4_0, q4, 1, y), 0);
	assert_true(y[0] == 4.0f && y[16] == 2.0f);
	assert_int_equal(wstats_dequant(GGUF_GGML_F16, f16, 2, y), 0);
	assert_true(y[0] == 1.0f && y[1] == -2.0f);
	assert_int_equal(wstats_dequant(GGUF_GGML_IQ2_XXS, q4, 1, y), -1);
}

static void test_role(void **state)
{
	char role[64];
	(void)state;
	assert_int_equal(wstats_role("blk.12.attn_q.weight", role, sizeof(role)), 12);
	assert_string_equal(role, "blk.#.attn_q.weight");
	assert_int_equal(wstats_role("model.layers.3.mlp.up_proj.weight", role, sizeof(role)), 3);
	assert_string_equal(role, "model.layers.#.mlp.up_proj.weight");
	assert_int_equal(wstats_role("token_embd.weight", role, sizeof(role)), -1);
}

static void test_clean(void **state)
{
	static float w[6][N * N], norm[N];
	struct gguf_writer *g = writer();
	uint64_t ne[2] = {N, N}, ne1[1] = {N};
	struct built bt;
	char name[64];

	(void)state;
	for (int l = 0; l < 6; l++) {
		fill(w[l], N * N, 1.0f / 8);
		snprintf(name, sizeof(name), "blk.%d.ffn_up.weight", l);
		assert_int_equal(gguf_writer_add_tensor(g, name, GGUF_GGML_F32, 2, ne, w[l]), 0);
	}
	for (int i = 0; i < N; i++)
		norm[i] = 1.0f; /* constant 1-D norm weights are normal */
	assert_int_equal(gguf_writer_add_tensor(g, "output_norm.weight", GGUF_GGML_F32, 1, ne1, norm), 0);
	scan(&bt, g);
	if (n_bad(&bt.r))
		scan_report_print(&bt.r, stdout);
	assert_int_equal(n_bad(&bt.r), 0);
	assert_string_equal(bt.w.grade, "pass");
	assert_true(fabs(sqrt(bt.w.t[0].var) - 0.125) < 0.01);
	assert_true(fabs(bt.w.t[0].kurtosis - 3.0) < 0.5);
	assert_true(bt.w.t[0].beyond3s < 0.01);
	unbuild(&bt);
}

static void test_rules(void **state)
{
	static float good[6][N * N], nan_t[N * N], cst[N * N], heavy[N * N];
	static uint8_t rep[N * N / 32 * 34];
	struct gguf_writer *g = writer();
	uint64_t ne[2] = {N, N};
	struct built bt;
	char name[64];

	(void)state;
	for (int l = 0; l < 6; l++) {
		fill(good[l], N * N, l == 3 ? 2.0f : 1.0f / 8); /* layer 3: 16x the std */
		snprintf(name, sizeof(name), "blk.%d.attn_q.weight", l);
		assert_int_equal(gguf_writer_add_tensor(g, name, GGUF_GGML_F32, 2, ne, good[l]), 0);
	}
	fill(nan_t, N * N, 0.1f);
	nan_t[77] = NAN;
	nan_t[78] = INFINITY;
	for (int i = 0; i < N * N; i++)
		cst[i] = 0.25f;
	for (int i = 0; i < N * N; i++)
		heavy[i] = i % 1000 == 0 ? 1000.0f : gauss() * 0.001f;
	for (size_t b = 0; b < sizeof(rep) / 34; b++) {
		rep[b * 34] = 0x00;
		rep[b * 34 + 1] = 0x20;
		for (int j = 0; j < 32; j++)
			rep[b * 34 + 2 + j] = (uint8_t)(j * 7);
	}
	assert_int_equal(gguf_writer_add_tensor(g, "nan.weight", GGUF_GGML_F32, 2, ne, nan_t), 0);
	assert_int_equal(gguf_writer_add_tensor(g, "zero.weight", GGUF_GGML_F32, 2, ne, NULL), 0);
	assert_int_equal(gguf_writer_add_tensor(g, "const.weight", GGUF_GGML_F32, 2, ne, cst), 0);
	assert_int_equal(gguf_writer_add_tensor(g, "heavy.weight", GGUF_GGML_F32, 2, ne, heavy), 0);
	assert_int_equal(gguf_writer_add_tensor(g, "rep.weight", GGUF_GGML_Q8_0, 2, ne, rep), 0);
	scan(&bt, g);
	scan_report_print(&bt.r, stdout);
	assert_true(scan_report_has(&bt.r, "wstats.nan_inf", "nan.weight"));
	assert_true(scan_report_has(&bt.r, "wstats.all_zero", "zero.weight"));
	assert_true(scan_report_has(&bt.r, "wstats.constant", "const.weight"));
	assert_true(scan_report_has(&bt.r, "wstats.kurtosis", "heavy.weight"));
	assert_true(scan_report_has(&bt.r, "wstats.repeated_blocks", "rep.weight"));
	assert_true(scan_report_has(&bt.r, "wstats.layer_outlier", "blk.3.attn_q.weight"));
	assert_false(scan_report_has(&bt.r, "wstats.layer_outlier", "blk.2.attn_q.weight"));
	assert_true(scan_report_has(&bt.r, "wstats.score", NULL));
	assert_string_equal(bt.w.grade, "fail");
	assert_int_equal(scan_report_verdict(&bt.r), SCAN_REJECTED);
	unbuild(&bt);
}

static void test_safetensors(void **state)
{
	static float x[N * N];
	char hdr[256];
	struct buf b = BUF_INIT;
	struct wstats w;
	struct scan_report r;
	uint64_t hl;
	uint8_t l8[8];

	(void)state;
	fill(x, N * N, 0.1f);
	x[5] = NAN;
	snprintf(hdr, sizeof(hdr),
		 "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[%d,%d],"
		 "\"data_offsets\":[0,%d]}}",
		 N, N, N * N * 4);
	hl = strlen(hdr);
	while ((8 + hl) % 8)
		hdr[hl++] = ' ';
	hdr[hl] = '\0';
	for (int i = 0; i < 8; i++)
		l8[i] = (uint8_t)(hl >> (8 * i));
	buf_append(&b, l8, 8);
	buf_append(&b, hdr, hl);
	buf_append(&b, x, sizeof(x));
	scan_report_init(&r);
	assert_int_equal(wstats_scan_safetensors(b.data, b.len, NULL, 2, &w, &r, "m.safetensors"), 0);
	assert_int_equal(w.n, 1);
	assert_true(scan_report_has(&r, "wstats.nan_inf", "w"));
	assert_int_equal(w.t[0].offset, 8 + hl);
	wstats_free(&w);
	scan_report_free(&r);
	buf_free(&b);
}

static void test_reference_models(void **state)
{
	const char *shared = test_shared_dir();
	char cmd[PATH_MAX + 64], line[PATH_MAX];
	size_t n = 0;
	FILE *p;

	(void)state;
	if (shared == NULL) {
		printf("SKIP: reference models (SECAI_SHARED not found)\n");
		skip();
	}
	snprintf(cmd, sizeof(cmd), "ls %s/llamacpp-ref/models/*.gguf 2>/dev/null", shared);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		struct gguf_file *f;
		struct wstats w;
		struct scan_report r;
		line[strcspn(line, "\n")] = '\0';
		assert_int_equal(gguf_open(line, &f, NULL), 0);
		scan_report_init(&r);
		assert_int_equal(wstats_scan_gguf(f, NULL, 2, &w, &r, line), 0);
		if (n_bad(&r))
			scan_report_print(&r, stdout);
		assert_int_equal(n_bad(&r), 0);
		assert_int_equal(w.n_unanalysed, 0);
		printf("  %-40s %zu tensors, score %.2f %s\n", strrchr(line, '/') + 1, w.n, w.score,
		       w.grade);
		wstats_free(&w);
		scan_report_free(&r);
		gguf_close(f);
		n++;
	}
	pclose(p);
	assert_true(n >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dequant),	cmocka_unit_test(test_role),
	    cmocka_unit_test(test_clean),	cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_safetensors), cmocka_unit_test(test_reference_models),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
