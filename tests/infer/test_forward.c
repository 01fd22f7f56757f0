/*
 * test_forward.c — the forward pass piece by piece and whole, without reference data:
 *   - RMSNorm, RoPE (normal and NEOX, linear scaling, frequency factors), softmax against direct
 *     formulas in double;
 *   - attention on tiny shapes (F32 and F16 cache) against a naive reference;
 *   - tiny random llama / qwen2 / qwen3 models written with the GGUF writer, loaded from a temp
 *     file and run against a naive double-precision forward pass written here (F32, F16, Q8_0
 *     weights; tied and untied output; GQA; partial rotary dims; Llama 3 rope factors);
 *   - batch vs token by token and 1 vs 2 vs 3 threads: the same bits; truncating and re-running;
 *   - errors: context full ("context length N reached"), bad token, unsupported tensor type,
 *     unsupported architecture, invalid file.
 * Never: needs $SECAI_SHARED; writes only under /tmp/secai-test.*.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/testutil.h"
#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "infer/infer.h"
#include "infer/infer_impl.h"
#include "infer/kernels.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static uint64_t rng_state = 88172645463325252ull;

static void rng_seed(uint64_t s)
{
	rng_state = s * 2654435761ull + 1;
}

static double urand(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Roughly N(0, 1). */
static float nrand(void)
{
	double s = 0;
	int i;

	for (i = 0; i < 12; i++)
		s += urand();
	return (float)(s - 6.0);
}

static double max_abs_diff(const float *a, const double *b, size_t n)
{
	double m = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (fabs((double)a[i] - b[i]) > m)
			m = fabs((double)a[i] - b[i]);
	return m;
}

/* ---- per-op tests ------------------------------------------------------------------------- */

static void test_rms_norm(void **state)
{
	float x[96], w[96], y[96];
	double ss = 0, want;
	int i;

	(void)state;
	rng_seed(1);
	for (i = 0; i < 96; i++) {
		x[i] = nrand() * 3;
		w[i] = 1 + nrand() * 0.1f;
		ss += (double)x[i] * x[i];
	}
	ops_rms_norm(y, x, w, 96, 1e-5f);
	for (i = 0; i < 96; i++) {
		want = x[i] / sqrt(ss / 96 + 1e-5) * w[i];
		assert_true(fabs(y[i] - want) <= 1e-5 * fabs(want) + 1e-7);
	}
	/* in place, no weight */
	ops_rms_norm(x, x, NULL, 96, 1e-5f);
	for (i = 0; i < 96; i++)
		assert_true(fabs(x[i] * w[i] - y[i]) <= 1e-6 * fabs(y[i]) + 1e-7);
}

static void test_softmax(void **state)
{
	float x[37];
	double want[37], mx = -1e30, sum = 0;
	int i;

	(void)state;
	rng_seed(2);
	for (i = 0; i < 37; i++) {
		x[i] = nrand() * 4;
		mx = fmax(mx, x[i] * 0.25);
	}
	for (i = 0; i < 37; i++)
		sum += exp(x[i] * 0.25 - mx);
	for (i = 0; i < 37; i++)
		want[i] = exp(x[i] * 0.25 - mx) / sum;
	ops_softmax(x, 37, 0.25f);
	assert_true(max_abs_diff(x, want, 37) < 1e-6);
	/* one value: probability 1 */
	x[0] = -1e30f;
	ops_softmax(x, 1, 1.0f);
	assert_true(x[0] == 1.0f);
}

/* Direct RoPE in double: pair i rotated by pos * base^(-2i/n_rot) / ff * scale. */
static void rope_ref(double *v, const float *x, uint32_t hd, uint32_t n_rot, int64_t pos,
		     double base, double scale, const float *ff, int neox)
{
	uint32_t i;

	for (i = 0; i < hd; i++)
		v[i] = x[i];
	for (i = 0; i < n_rot / 2; i++) {
		double th = (double)pos * pow(base, -2.0 * i / n_rot) / (ff ? ff[i] : 1.0) * scale;
		uint32_t a = neox ? i : 2 * i, b = neox ? i + n_rot / 2 : 2 * i + 1;
		double x0 = x[a], x1 = x[b];

		v[a] = x0 * cos(th) - x1 * sin(th);
		v[b] = x0 * sin(th) + x1 * cos(th);
	}
}

static void check_rope(int neox, uint32_t n_rot, float scale, const float *ff)
{
	const uint32_t hd = 32, nh = 3;
	float x[3 * 32], y[3 * 32], cache[32];
	double want[32];
	int64_t pos;
	uint32_t h;

	for (pos = 0; pos < 300; pos += 37) {
		size_t i;

		for (i = 0; i < nh * hd; i++)
			x[i] = y[i] = nrand();
		rope_cache(cache, pos, n_rot, 10000.0f, scale, ff);
		rope_apply(y, nh, hd, n_rot, cache, neox);
		for (h = 0; h < nh; h++) {
			rope_ref(want, x + h * hd, hd, n_rot, pos, 10000.0, scale, ff, neox);
			/* the angle is built by float products, like ggml: error grows with pos */
			assert_true(max_abs_diff(y + h * hd, want, hd) < 2e-6 * (double)(pos + 1));
		}
	}
}

static void test_rope(void **state)
{
	float ff[16];
	int i;

	(void)state;
	rng_seed(3);
	for (i = 0; i < 16; i++)
		ff[i] = 1.0f + (float)i;
	check_rope(0, 32, 1.0f, NULL);
	check_rope(1, 32, 1.0f, NULL);
	check_rope(0, 16, 1.0f, NULL); /* partial rotation: dims 16..31 untouched */
	check_rope(1, 16, 1.0f, NULL);
	check_rope(0, 32, 0.25f, NULL); /* linear scaling, factor 4 */
	check_rope(1, 32, 0.5f, ff);	/* Llama 3 style frequency factors */
	{
		/* position 0 is the identity; pairs of the two styles differ */
		float a[32], b[32], c[32], cache[32];

		for (i = 0; i < 32; i++)
			a[i] = b[i] = c[i] = nrand();
		rope_cache(cache, 0, 32, 10000.0f, 1.0f, NULL);
		rope_apply(b, 1, 32, 32, cache, 0);
		assert_memory_equal(a, b, sizeof(a));
		rope_cache(cache, 5, 32, 10000.0f, 1.0f, NULL);
		rope_apply(b, 1, 32, 32, cache, 0);
		rope_apply(c, 1, 32, 32, cache, 1);
		assert_true(memcmp(b, c, sizeof(b)) != 0);
	}
}

/* ---- tiny random models ------------------------------------------------------------------- */

struct tm_cfg {
	const char *arch;
	uint32_t n_embd, n_head, n_head_kv, head_dim, n_ff, n_layer, n_vocab, n_rot;
	uint32_t wtype; /* of 2-D weights */
	int tied, rope_freqs;
	float rope_factor; /* 0: none; else linear scaling */
	float freq_base;
	uint32_t bad_type; /* nonzero: blk.0.ffn_up.weight gets this type */
};

struct tm_layer {
	float *attn_norm, *wq, *wk, *wv, *wo, *bq, *bk, *bv, *qn, *kn, *ffn_norm, *gate, *up, *down;
};

struct tm {
	struct tm_cfg cfg;
	uint32_t hd, n_rot;
	float *tok_embd, *out_norm, *output, *rope_freqs;
	struct tm_layer L[4];
	void *keep[128];
	int nkeep;
	char path[256];
	char dir[64];
};

static float *tm_rand(struct tm *t, size_t n, float scale, float offset)
{
	float *v = malloc(n * sizeof(float));
	size_t i;

	assert_non_null(v);
	for (i = 0; i < n; i++)
		v[i] = offset + nrand() * scale;
	t->keep[t->nkeep++] = v;
	return v;
}

/* Adds a tensor; 2-D weights are converted to type and the float copy replaced by the values
 * the file really holds, so the reference uses exactly the engine's weights. */
static void tm_add(struct tm *t, struct gguf_writer *w, const char *name, uint32_t type,
		   uint64_t ne0, uint64_t ne1, float *data)
{
	uint64_t ne[2] = {ne0, ne1};
	uint32_t nd = ne1 ? 2 : 1;
	const void *raw = data;

	if (type != GGUF_GGML_F32) {
		size_t rb = kern_row_size(type, (int64_t)ne0);
		unsigned char *q = calloc(ne1 ? ne1 : 1, rb ? rb : 1);
		uint64_t r;

		assert_non_null(q);
		if (type == GGUF_GGML_F16 || type == GGUF_GGML_Q8_0 || type == GGUF_GGML_BF16) {
			for (r = 0; r < ne1; r++) {
				kern_quantize_row(type, data + r * ne0, q + r * rb, (int64_t)ne0);
				kern_dequantize_row(type, q + r * rb, data + r * ne0, (int64_t)ne0);
			}
		}
		raw = q;
		t->keep[t->nkeep++] = q;
	}
	assert_int_equal(gguf_writer_add_tensor(w, name, type, nd, ne, raw), 0);
}

static void tm_build(struct tm *t, const struct tm_cfg *cfg, uint64_t seed)
{
	struct gguf_writer *w = gguf_writer_new();
	const char *a = cfg->arch;
	uint32_t E, F, V, Q, K, l, i;
	int qwen2 = strcmp(a, "qwen2") == 0, qwen3 = strcmp(a, "qwen3") == 0;
	char key[128], name[64];
	const char **toks;
	char *dir;

	memset(t, 0, sizeof(*t));
	t->cfg = *cfg;
	rng_seed(seed);
	E = cfg->n_embd;
	F = cfg->n_ff;
	V = cfg->n_vocab;
	t->hd = cfg->head_dim ? cfg->head_dim : E / cfg->n_head;
	t->n_rot = cfg->n_rot ? cfg->n_rot : t->hd;
	Q = cfg->n_head * t->hd;
	K = cfg->n_head_kv * t->hd;
	assert_non_null(w);
	assert_int_equal(gguf_writer_add_str(w, "general.architecture", a), 0);
#define KEY(s) (snprintf(key, sizeof(key), "%s." s, a), key)
	gguf_writer_add_u32(w, KEY("context_length"), 64);
	gguf_writer_add_u32(w, KEY("embedding_length"), E);
	gguf_writer_add_u32(w, KEY("block_count"), cfg->n_layer);
	gguf_writer_add_u32(w, KEY("feed_forward_length"), F);
	gguf_writer_add_u32(w, KEY("attention.head_count"), cfg->n_head);
	gguf_writer_add_u32(w, KEY("attention.head_count_kv"), cfg->n_head_kv);
	gguf_writer_add_f32(w, KEY("attention.layer_norm_rms_epsilon"), 1e-6f);
	gguf_writer_add_f32(w, KEY("rope.freq_base"), cfg->freq_base);
	if (cfg->head_dim)
		gguf_writer_add_u32(w, KEY("attention.key_length"), cfg->head_dim);
	if (cfg->n_rot)
		gguf_writer_add_u32(w, KEY("rope.dimension_count"), cfg->n_rot);
	if (cfg->rope_factor != 0.0f) {
		gguf_writer_add_str(w, KEY("rope.scaling.type"), "linear");
		gguf_writer_add_f32(w, KEY("rope.scaling.factor"), cfg->rope_factor);
	}
#undef KEY
	toks = calloc(V, sizeof(*toks));
	assert_non_null(toks);
	for (i = 0; i < V; i++) {
		char *s = malloc(16);

		snprintf(s, 16, "t%u", i);
		toks[i] = s;
	}
	assert_int_equal(gguf_writer_add_str_array(w, "tokenizer.ggml.tokens", toks, V), 0);

	t->tok_embd = tm_rand(t, (size_t)V * E, 1.0f, 0);
	tm_add(t, w, "token_embd.weight", cfg->wtype, E, V, t->tok_embd);
	t->out_norm = tm_rand(t, E, 0.1f, 1.0f);
	tm_add(t, w, "output_norm.weight", GGUF_GGML_F32, E, 0, t->out_norm);
	if (!cfg->tied) {
		t->output = tm_rand(t, (size_t)V * E, 2.0f / sqrtf((float)E), 0);
		tm_add(t, w, "output.weight", cfg->wtype, E, V, t->output);
	} else {
		t->output = t->tok_embd;
	}
	if (cfg->rope_freqs) {
		t->rope_freqs = tm_rand(t, t->n_rot / 2, 0, 1.0f);
		for (i = 0; i < t->n_rot / 2; i++)
			t->rope_freqs[i] = 1.0f + (float)(i % 5);
		tm_add(t, w, "rope_freqs.weight", GGUF_GGML_F32, t->n_rot / 2, 0, t->rope_freqs);
	}
	for (l = 0; l < cfg->n_layer; l++) {
		struct tm_layer *L = &t->L[l];
		float se = 1.0f / sqrtf((float)E), sq = 1.0f / sqrtf((float)Q);
		uint32_t ut = l == 0 && cfg->bad_type ? cfg->bad_type : cfg->wtype;

#define N(s) (snprintf(name, sizeof(name), "blk.%u." s, l), name)
		L->attn_norm = tm_rand(t, E, 0.1f, 1.0f);
		tm_add(t, w, N("attn_norm.weight"), GGUF_GGML_F32, E, 0, L->attn_norm);
		L->wq = tm_rand(t, (size_t)Q * E, se, 0);
		tm_add(t, w, N("attn_q.weight"), cfg->wtype, E, Q, L->wq);
		L->wk = tm_rand(t, (size_t)K * E, se, 0);
		tm_add(t, w, N("attn_k.weight"), cfg->wtype, E, K, L->wk);
		L->wv = tm_rand(t, (size_t)K * E, se, 0);
		tm_add(t, w, N("attn_v.weight"), cfg->wtype, E, K, L->wv);
		if (qwen2) {
			L->bq = tm_rand(t, Q, 0.1f, 0);
			tm_add(t, w, N("attn_q.bias"), GGUF_GGML_F32, Q, 0, L->bq);
			L->bk = tm_rand(t, K, 0.1f, 0);
			tm_add(t, w, N("attn_k.bias"), GGUF_GGML_F32, K, 0, L->bk);
			L->bv = tm_rand(t, K, 0.1f, 0);
			tm_add(t, w, N("attn_v.bias"), GGUF_GGML_F32, K, 0, L->bv);
		}
		if (qwen3) {
			L->qn = tm_rand(t, t->hd, 0.1f, 1.0f);
			tm_add(t, w, N("attn_q_norm.weight"), GGUF_GGML_F32, t->hd, 0, L->qn);
			L->kn = tm_rand(t, t->hd, 0.1f, 1.0f);
			tm_add(t, w, N("attn_k_norm.weight"), GGUF_GGML_F32, t->hd, 0, L->kn);
		}
		L->wo = tm_rand(t, (size_t)E * Q, sq, 0);
		tm_add(t, w, N("attn_output.weight"), cfg->wtype, Q, E, L->wo);
		L->ffn_norm = tm_rand(t, E, 0.1f, 1.0f);
		tm_add(t, w, N("ffn_norm.weight"), GGUF_GGML_F32, E, 0, L->ffn_norm);
		L->gate = tm_rand(t, (size_t)F * E, se, 0);
		tm_add(t, w, N("ffn_gate.weight"), cfg->wtype, E, F, L->gate);
		L->up = tm_rand(t, (size_t)F * E, se, 0);
		tm_add(t, w, N("ffn_up.weight"), ut, E, F, L->up);
		L->down = tm_rand(t, (size_t)E * F, 1.0f / sqrtf((float)F), 0);
		tm_add(t, w, N("ffn_down.weight"), cfg->wtype, F, E, L->down);
#undef N
	}
	dir = test_tmpdir();
	assert_non_null(dir);
	snprintf(t->dir, sizeof(t->dir), "%s", dir);
	free(dir);
	snprintf(t->path, sizeof(t->path), "%s/model.gguf", t->dir);
	assert_int_equal(gguf_writer_to_file(w, t->path), 0);
	gguf_writer_free(w);
	for (i = 0; i < V; i++)
		free((void *)toks[i]);
	free(toks);
}

static void tm_free(struct tm *t)
{
	int i;

	for (i = 0; i < t->nkeep; i++)
		free(t->keep[i]);
	test_rmrf(t->dir);
}

/* ---- the naive reference forward pass (double) -------------------------------------------- */

static void ref_rms(double *y, const double *x, const float *w, uint32_t n)
{
	double ss = 0;
	uint32_t i;

	for (i = 0; i < n; i++)
		ss += x[i] * x[i];
	ss = 1.0 / sqrt(ss / n + 1e-6);
	for (i = 0; i < n; i++)
		y[i] = x[i] * ss * w[i];
}

static void ref_mv(double *y, const float *W, const double *x, uint32_t in, uint32_t out)
{
	uint32_t r, i;

	for (r = 0; r < out; r++) {
		double s = 0;

		for (i = 0; i < in; i++)
			s += (double)W[(size_t)r * in + i] * x[i];
		y[r] = s;
	}
}

static void ref_rope(double *v, uint32_t nh, const struct tm *t, int64_t pos)
{
	int neox = strcmp(t->cfg.arch, "llama") != 0;
	double scale = t->cfg.rope_factor ? 1.0 / t->cfg.rope_factor : 1.0;
	uint32_t h, i, nr = t->n_rot;

	for (h = 0; h < nh; h++) {
		double *x = v + h * t->hd;

		for (i = 0; i < nr / 2; i++) {
			double th = (double)pos * pow(t->cfg.freq_base, -2.0 * i / nr) /
				    (t->rope_freqs ? t->rope_freqs[i] : 1.0) * scale;
			uint32_t a = neox ? i : 2 * i, b = neox ? i + nr / 2 : 2 * i + 1;
			double x0 = x[a], x1 = x[b];

			x[a] = x0 * cos(th) - x1 * sin(th);
			x[b] = x0 * sin(th) + x1 * cos(th);
		}
	}
}

/* Logits of every position for tokens[0..n), into out[n][V]. */
static void ref_forward(const struct tm *t, const int32_t *tokens, uint32_t n, double *out)
{
	const struct tm_cfg *c = &t->cfg;
	uint32_t E = c->n_embd, F = c->n_ff, V = c->n_vocab, hd = t->hd;
	uint32_t Q = c->n_head * hd, K = c->n_head_kv * hd, l, p, h, i, j;
	double *kc = calloc((size_t)c->n_layer * n * K, sizeof(double));
	double *vc = calloc((size_t)c->n_layer * n * K, sizeof(double));
	double *x = calloc(E, 8), *hn = calloc(E, 8), *q = calloc(Q, 8), *k = calloc(K, 8);
	double *v = calloc(K, 8), *att = calloc(Q, 8), *o = calloc(E, 8), *g = calloc(F, 8);
	double *u = calloc(F, 8), *sc = calloc(n, 8);

	for (p = 0; p < n; p++) {
		for (i = 0; i < E; i++)
			x[i] = t->tok_embd[(size_t)tokens[p] * E + i];
		for (l = 0; l < c->n_layer; l++) {
			const struct tm_layer *L = &t->L[l];
			double *kl = kc + (size_t)l * n * K, *vl = vc + (size_t)l * n * K;

			ref_rms(hn, x, L->attn_norm, E);
			ref_mv(q, L->wq, hn, E, Q);
			ref_mv(k, L->wk, hn, E, K);
			ref_mv(v, L->wv, hn, E, K);
			for (i = 0; L->bq && i < Q; i++)
				q[i] += L->bq[i];
			for (i = 0; L->bk && i < K; i++)
				k[i] += L->bk[i];
			for (i = 0; L->bv && i < K; i++)
				v[i] += L->bv[i];
			for (h = 0; L->qn && h < c->n_head; h++)
				ref_rms(q + h * hd, q + h * hd, L->qn, hd);
			for (h = 0; L->kn && h < c->n_head_kv; h++)
				ref_rms(k + h * hd, k + h * hd, L->kn, hd);
			ref_rope(q, c->n_head, t, p);
			ref_rope(k, c->n_head_kv, t, p);
			memcpy(kl + (size_t)p * K, k, K * 8);
			memcpy(vl + (size_t)p * K, v, K * 8);
			for (h = 0; h < c->n_head; h++) {
				uint32_t kvh = h / (c->n_head / c->n_head_kv);
				double mx = -1e300, sum = 0;

				for (j = 0; j <= p; j++) {
					double s = 0;

					for (i = 0; i < hd; i++)
						s += q[h * hd + i] *
						     kl[(size_t)j * K + kvh * hd + i];
					sc[j] = s / sqrt((double)hd);
					mx = fmax(mx, sc[j]);
				}
				for (j = 0; j <= p; j++)
					sum += (sc[j] = exp(sc[j] - mx));
				for (i = 0; i < hd; i++) {
					double s = 0;

					for (j = 0; j <= p; j++)
						s += sc[j] / sum * vl[(size_t)j * K + kvh * hd + i];
					att[h * hd + i] = s;
				}
			}
			ref_mv(o, L->wo, att, Q, E);
			for (i = 0; i < E; i++)
				x[i] += o[i];
			ref_rms(hn, x, L->ffn_norm, E);
			ref_mv(g, L->gate, hn, E, F);
			ref_mv(u, L->up, hn, E, F);
			for (i = 0; i < F; i++)
				g[i] = g[i] / (1 + exp(-g[i])) * u[i];
			ref_mv(o, L->down, g, F, E);
			for (i = 0; i < E; i++)
				x[i] += o[i];
		}
		ref_rms(hn, x, t->out_norm, E);
		ref_mv(out + (size_t)p * V, t->output, hn, E, V);
	}
	free(kc), free(vc), free(x), free(hn), free(q), free(k), free(v), free(att), free(o);
	free(g), free(u), free(sc);
}

static const struct tm_cfg cfg_llama = {"llama",       64, 4, 2,    0,	      128, 2, 48, 0,
					GGUF_GGML_F32, 0,  0, 0.0f, 10000.0f, 0};

static struct infer_model *tm_load(const struct tm *t)
{
	struct infer_model *m = NULL;
	char err[512];

	if (infer_model_load(t->path, &m, err, sizeof(err)) != 0) {
		printf("load: %s\n", err);
		fail();
	}
	return m;
}

static struct infer_ctx *tm_ctx(struct infer_model *m, enum infer_kv_type kv, int threads,
				uint32_t n_ctx, uint32_t n_batch)
{
	struct infer_ctx_params p;
	struct infer_ctx *c = NULL;
	char err[256];

	infer_ctx_params_default(&p);
	p.kv = kv;
	p.n_threads = threads;
	p.mm_min_parallel = 0; /* split every product, however small the test model */
	p.n_ctx = n_ctx;
	p.n_batch = n_batch;
	if (infer_ctx_new(m, &p, &c, err, sizeof(err)) != 0) {
		printf("ctx: %s\n", err);
		fail();
	}
	return c;
}

static const int32_t prompt[12] = {1, 7, 30, 2, 2, 45, 11, 0, 19, 33, 8, 47};

/* Model cfg vs the reference; returns the max abs logit error over all positions, relative to
 * the largest logit (tied random models have logits ten times larger than untied ones). */
static double run_vs_ref(const struct tm_cfg *cfg, enum infer_kv_type kv, uint64_t seed)
{
	struct tm t;
	struct infer_model *m;
	struct infer_ctx *c;
	uint32_t n = 12, V = cfg->n_vocab;
	float *got = malloc(sizeof(float) * n * V);
	double *want = malloc(sizeof(double) * n * V), e, scale = 0;
	char err[256];
	size_t i;

	tm_build(&t, cfg, seed);
	m = tm_load(&t);
	assert_string_equal(infer_model_hparams(m)->arch, cfg->arch);
	assert_int_equal(infer_model_hparams(m)->tied_output, cfg->tied);
	c = tm_ctx(m, kv, 2, 32, 0);
	assert_int_equal(infer_forward_all(c, prompt, n, got, err, sizeof(err)), 0);
	ref_forward(&t, prompt, n, want);
	e = max_abs_diff(got, want, (size_t)n * V);
	for (i = 0; i < (size_t)n * V; i++)
		scale = fmax(scale, fabs(want[i]));
	printf("  %-5s wtype %-4s kv %s tied %d: max |logit - ref| %.2e, logits up to %.2f: "
	       "relative %.2e\n",
	       cfg->arch, gguf_type_info(cfg->wtype)->name, kv == INFER_KV_F16 ? "f16" : "f32",
	       cfg->tied, e, scale, e / scale);
	infer_ctx_free(c);
	infer_model_free(m);
	tm_free(&t);
	free(got);
	free(want);
	return e / scale;
}

static void test_arch_llama(void **state)
{
	struct tm_cfg c = cfg_llama;

	(void)state;
	assert_true(run_vs_ref(&c, INFER_KV_F32, 10) < 1e-5);
	assert_true(run_vs_ref(&c, INFER_KV_F16, 10) < 2e-3);
	c.tied = 1;
	c.n_head_kv = 4;
	assert_true(run_vs_ref(&c, INFER_KV_F32, 11) < 1e-5);
	/* Llama 3 style: theta 5e5, frequency factors, linear scaling, partial rotation */
	c = cfg_llama;
	c.freq_base = 500000.0f;
	c.rope_freqs = 1;
	c.rope_factor = 2.0f;
	c.n_rot = 8;
	assert_true(run_vs_ref(&c, INFER_KV_F32, 12) < 1e-5);
	c = cfg_llama;
	c.wtype = GGUF_GGML_F16;
	assert_true(run_vs_ref(&c, INFER_KV_F32, 13) < 5e-3);
	c.wtype = GGUF_GGML_Q8_0;
	assert_true(run_vs_ref(&c, INFER_KV_F16, 14) < 3e-2);
}

static void test_arch_qwen2(void **state)
{
	struct tm_cfg c = cfg_llama;

	(void)state;
	c.arch = "qwen2";
	c.tied = 1;
	c.freq_base = 1e6f;
	assert_true(run_vs_ref(&c, INFER_KV_F32, 20) < 1e-5);
	assert_true(run_vs_ref(&c, INFER_KV_F16, 20) < 2e-3);
	c.wtype = GGUF_GGML_Q8_0;
	assert_true(run_vs_ref(&c, INFER_KV_F32, 21) < 3e-2);
}

static void test_arch_qwen3(void **state)
{
	struct tm_cfg c = cfg_llama;

	(void)state;
	c.arch = "qwen3";
	c.head_dim = 32; /* n_head * head_dim != n_embd, as in Qwen3 */
	c.freq_base = 1e6f;
	assert_true(run_vs_ref(&c, INFER_KV_F32, 30) < 1e-5);
	assert_true(run_vs_ref(&c, INFER_KV_F16, 30) < 2e-3);
	c.wtype = GGUF_GGML_BF16;
	c.tied = 1;
	assert_true(run_vs_ref(&c, INFER_KV_F32, 31) < 1e-2);
}

/* ---- attention on tiny shapes ------------------------------------------------------------- */

static void test_attention(void **state)
{
	struct tm_cfg cfg = cfg_llama;
	int kvi;

	(void)state;
	cfg.n_layer = 1;
	for (kvi = 0; kvi < 2; kvi++) {
		enum infer_kv_type kv = kvi ? INFER_KV_F16 : INFER_KV_F32;
		struct tm t;
		struct infer_model *m;
		struct infer_ctx *c;
		const uint32_t m_rows = 5, hd = 16, nh = 4, nkv = 2;
		float qin[5 * 64], k[5 * 32], v[5 * 32], out[5 * 64], kr[5 * 32], vr[5 * 32];
		double want[64], worst = 0;
		uint32_t i, h, j, d;

		tm_build(&t, &cfg, 40);
		m = tm_load(&t);
		c = tm_ctx(m, kv, 2, 16, 0);
		rng_seed(41);
		for (i = 0; i < m_rows * 64; i++)
			qin[i] = nrand() * 2;
		for (i = 0; i < m_rows * 32; i++) {
			k[i] = nrand() * 2;
			v[i] = nrand();
		}
		/* rows 0..2 at positions 0..2 in one batch, then rows 3..4 at positions 3..4 */
		memcpy(c->q, qin, sizeof(float) * 3 * 64);
		kv_store(c, 0, 0, 3, k, v);
		attn_forward(c, 0, 0, 3);
		memcpy(out, c->att, sizeof(float) * 3 * 64);
		memcpy(c->q, qin + 3 * 64, sizeof(float) * 2 * 64);
		kv_store(c, 0, 3, 2, k + 3 * 32, v + 3 * 32);
		attn_forward(c, 0, 3, 2);
		memcpy(out + 3 * 64, c->att, sizeof(float) * 2 * 64);
		{
			memcpy(kr, k, sizeof(k));
			memcpy(vr, v, sizeof(v));
			if (kv == INFER_KV_F16) /* the engine rounds q, k, v (and p) to F16 */
				for (i = 0; i < m_rows * 64; i++) {
					qin[i] = kern_fp16_to_fp32(kern_fp32_to_fp16(qin[i]));
					if (i < m_rows * 32) {
						kr[i] = kern_fp16_to_fp32(kern_fp32_to_fp16(kr[i]));
						vr[i] = kern_fp16_to_fp32(kern_fp32_to_fp16(vr[i]));
					}
				}
			for (i = 0; i < m_rows; i++)
				for (h = 0; h < nh; h++) {
					uint32_t kvh = h / (nh / nkv);
					double sc[5], mx = -1e300, sum = 0;

					for (j = 0; j <= i; j++) {
						double s = 0;

						for (d = 0; d < hd; d++)
							s += (double)qin[i * 64 + h * hd + d] *
							     kr[j * 32 + kvh * hd + d];
						sc[j] = s / 4.0;
						mx = fmax(mx, sc[j]);
					}
					for (j = 0; j <= i; j++)
						sum += (sc[j] = exp(sc[j] - mx));
					for (d = 0; d < hd; d++) {
						double s = 0;

						for (j = 0; j <= i; j++)
							s +=
							    sc[j] / sum * vr[j * 32 + kvh * hd + d];
						want[h * hd + d] = s;
					}
					worst = fmax(worst, max_abs_diff(out + i * 64 + h * hd,
									 want + h * hd, hd));
				}
		}
		printf("  attention kv %s: max error %.2e\n", kvi ? "f16" : "f32", worst);
		assert_true(worst < (kv == INFER_KV_F16 ? 2e-3 : 1e-5));
		infer_ctx_free(c);
		infer_model_free(m);
		tm_free(&t);
	}
}

/* ---- determinism -------------------------------------------------------------------------- */

static void test_batch_vs_single(void **state)
{
	struct tm_cfg cfg = cfg_llama;
	struct tm t;
	struct infer_model *m;
	const uint32_t n = 12, V = 48;
	float all[12 * 48], one[48], last[48];
	char err[256];
	int kvi;
	uint32_t i, bs;

	(void)state;
	cfg.arch = "qwen2";
	cfg.wtype = GGUF_GGML_Q8_0;
	tm_build(&t, &cfg, 50);
	m = tm_load(&t);
	for (kvi = 0; kvi < 2; kvi++) {
		enum infer_kv_type kv = kvi ? INFER_KV_F16 : INFER_KV_F32;
		struct infer_ctx *a = tm_ctx(m, kv, 2, 32, 0), *b = tm_ctx(m, kv, 2, 32, 0);

		assert_int_equal(infer_forward_all(a, prompt, n, all, err, sizeof(err)), 0);
		assert_int_equal(infer_ctx_n_past(a), n);
		for (i = 0; i < n; i++) {
			assert_int_equal(infer_forward(b, prompt + i, 1, one, err, sizeof(err)), 0);
			assert_memory_equal(one, all + i * V, sizeof(one));
		}
		infer_ctx_free(a);
		infer_ctx_free(b);
		/* split into batches of bs, with only the last logits */
		for (bs = 1; bs <= 5; bs += 2) {
			a = tm_ctx(m, kv, 2, 32, bs);
			assert_int_equal(infer_forward(a, prompt, n, last, err, sizeof(err)), 0);
			assert_memory_equal(last, all + (n - 1) * V, sizeof(last));
			infer_ctx_free(a);
		}
		/* a prompt in two calls, the first without logits */
		a = tm_ctx(m, kv, 2, 32, 0);
		assert_int_equal(infer_forward(a, prompt, 7, NULL, err, sizeof(err)), 0);
		assert_int_equal(infer_forward(a, prompt + 7, n - 7, last, err, sizeof(err)), 0);
		assert_memory_equal(last, all + (n - 1) * V, sizeof(last));
		/* truncate and run again: the same */
		infer_ctx_truncate(a, 4);
		assert_int_equal(infer_ctx_n_past(a), 4);
		assert_int_equal(infer_forward_all(a, prompt + 4, n - 4, all, err, sizeof(err)), 0);
		assert_memory_equal(all + (n - 5) * V, last, sizeof(last));
		infer_ctx_truncate(a, 0);
		assert_int_equal(infer_forward(a, prompt, n, one, err, sizeof(err)), 0);
		assert_memory_equal(one, last, sizeof(last));
		infer_ctx_free(a);
	}
	infer_model_free(m);
	tm_free(&t);
}

static void test_threads(void **state)
{
	static const struct {
		const char *arch;
		uint32_t wtype;
	} cases[] = {
	    {"llama", GGUF_GGML_F32},
	    {"qwen2", GGUF_GGML_Q8_0},
	    {"qwen3", GGUF_GGML_F16},
	};
	const uint32_t n = 12, V = 48;
	float ref[12 * 48], got[12 * 48];
	char err[256];
	size_t ci;
	int th;

	(void)state;
	for (ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
		struct tm_cfg cfg = cfg_llama;
		struct tm t;
		struct infer_model *m;

		cfg.arch = cases[ci].arch;
		cfg.wtype = cases[ci].wtype;
		tm_build(&t, &cfg, 60 + ci);
		m = tm_load(&t);
		for (th = 1; th <= 4; th++) {
			struct infer_ctx *c = tm_ctx(m, INFER_KV_F16, th, 32, 0);

			assert_int_equal(
			    infer_forward_all(c, prompt, n, th == 1 ? ref : got, err, sizeof(err)),
			    0);
			if (th > 1)
				assert_memory_equal(ref, got, sizeof(ref));
			infer_ctx_free(c);
		}
		{ /* the default: products this small run on the calling thread, the same bits */
			struct infer_ctx_params p;
			struct infer_ctx *c = NULL;

			infer_ctx_params_default(&p);
			assert_int_equal(p.mm_min_parallel, INFER_MM_MIN_PARALLEL);
			p.n_threads = 2;
			p.n_ctx = 32;
			assert_int_equal(infer_ctx_new(m, &p, &c, err, sizeof(err)), 0);
			assert_int_equal(infer_forward_all(c, prompt, n, got, err, sizeof(err)), 0);
			assert_memory_equal(ref, got, sizeof(ref));
			infer_ctx_free(c);
		}
		infer_model_free(m);
		tm_free(&t);
	}
	(void)V;
}

/* Attention takes the query heads of one KV head together, split in parts when there are fewer
 * (row, KV head) tasks than threads: token by token on a multi-query model (4 heads, 1 KV head)
 * every thread count, and the batch, give the same bits for the last position. */
static void test_threads_grouped_heads(void **state)
{
	const uint32_t n = 12;
	float ref[48], got[48];
	struct tm_cfg cfg = cfg_llama;
	struct tm t;
	struct infer_model *m;
	char err[256];
	uint32_t i;
	int th;

	(void)state;
	cfg.n_head_kv = 1;
	tm_build(&t, &cfg, 77);
	m = tm_load(&t);
	{
		struct infer_ctx *c = tm_ctx(m, INFER_KV_F16, 1, 32, 0);

		assert_int_equal(infer_forward(c, prompt, n, ref, err, sizeof(err)), 0);
		infer_ctx_free(c);
	}
	for (th = 1; th <= 4; th++) {
		struct infer_ctx *c = tm_ctx(m, INFER_KV_F16, th, 32, 0);

		for (i = 0; i < n; i++)
			assert_int_equal(infer_forward(c, prompt + i, 1, got, err, sizeof(err)), 0);
		assert_memory_equal(ref, got, sizeof(ref));
		infer_ctx_free(c);
	}
	infer_model_free(m);
	tm_free(&t);
}

/* ---- errors ------------------------------------------------------------------------------- */

static void test_context_full(void **state)
{
	struct tm_cfg cfg = cfg_llama;
	struct tm t;
	struct infer_model *m;
	struct infer_ctx *c;
	float lg[48];
	char err[256];
	int32_t bad = 48;

	(void)state;
	tm_build(&t, &cfg, 70);
	m = tm_load(&t);
	c = tm_ctx(m, INFER_KV_F16, 1, 8, 0);
	assert_int_equal(infer_ctx_n_ctx(c), 8);
	assert_int_equal(infer_forward(c, prompt, 9, lg, err, sizeof(err)), -1);
	assert_string_equal(err, "context length 8 reached");
	assert_int_equal(infer_ctx_n_past(c), 0);
	assert_int_equal(infer_forward(c, prompt, 6, lg, err, sizeof(err)), 0);
	assert_int_equal(infer_forward(c, prompt, 2, lg, err, sizeof(err)), 0);
	assert_int_equal(infer_forward(c, prompt, 1, lg, err, sizeof(err)), -1);
	assert_string_equal(err, "context length 8 reached");
	assert_int_equal(infer_ctx_n_past(c), 8);
	infer_ctx_truncate(c, 7);
	assert_int_equal(infer_forward(c, &bad, 1, lg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "outside the vocabulary"));
	bad = -1;
	assert_int_equal(infer_forward(c, &bad, 1, lg, err, sizeof(err)), -1);
	assert_int_equal(infer_forward(c, prompt, 1, lg, err, sizeof(err)), 0);
	/* default n_ctx: the model's (64 here) */
	infer_ctx_free(c);
	c = tm_ctx(m, INFER_KV_F32, 0, 0, 0);
	assert_int_equal(infer_ctx_n_ctx(c), 64);
	infer_ctx_free(c);
	infer_model_free(m);
	tm_free(&t);
}

static void test_refuse(void **state)
{
	struct tm_cfg cfg = cfg_llama;
	struct infer_model *m = NULL;
	struct tm t;
	char err[512], path[300];
	FILE *fp;

	(void)state;
	/* a tensor type the engine does not multiply */
	cfg.bad_type = GGUF_GGML_Q2_K;
	cfg.n_embd = 256;
	cfg.n_ff = 256;
	tm_build(&t, &cfg, 80);
	assert_int_equal(infer_model_load(t.path, &m, err, sizeof(err)), -1);
	assert_null(m);
	printf("  refused: %s\n", err);
	assert_non_null(strstr(err, "blk.0.ffn_up.weight"));
	assert_non_null(strstr(err, "Q2_K"));
	assert_non_null(strstr(err, "not supported"));
	/* a file the strict reader refuses: its first reason */
	snprintf(path, sizeof(path), "%s/trunc.gguf", t.dir);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fwrite("GGUF\3\0\0\0", 1, 8, fp);
	fclose(fp);
	assert_int_equal(infer_model_load(path, &m, err, sizeof(err)), -1);
	printf("  refused: %s\n", err);
	assert_non_null(strstr(err, "truncated"));
	assert_int_equal(infer_model_load("/nonexistent/x.gguf", &m, err, sizeof(err)), -1);
	printf("  refused: %s\n", err);
	tm_free(&t);
	/* an architecture the engine does not run */
	{
		struct gguf_writer *w = gguf_writer_new();
		const char *tok[1] = {"a"};
		uint64_t ne[2] = {32, 1};

		snprintf(path, sizeof(path), "/tmp/secai-test.fwd-arch-%d.gguf", (int)getpid());
		gguf_writer_add_str(w, "general.architecture", "gpt2");
		gguf_writer_add_str_array(w, "tokenizer.ggml.tokens", tok, 1);
		gguf_writer_add_tensor(w, "token_embd.weight", GGUF_GGML_F32, 2, ne, NULL);
		assert_int_equal(gguf_writer_to_file(w, path), 0);
		gguf_writer_free(w);
		assert_int_equal(infer_model_load(path, &m, err, sizeof(err)), -1);
		printf("  refused: %s\n", err);
		assert_non_null(strstr(err, "architecture \"gpt2\" is not supported"));
		unlink(path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rms_norm),   cmocka_unit_test(test_softmax),
	    cmocka_unit_test(test_rope),       cmocka_unit_test(test_attention),
	    cmocka_unit_test(test_arch_llama), cmocka_unit_test(test_arch_qwen2),
	    cmocka_unit_test(test_arch_qwen3), cmocka_unit_test(test_batch_vs_single),
	    cmocka_unit_test(test_threads),    cmocka_unit_test(test_threads_grouped_heads),    cmocka_unit_test(test_context_full),
	    cmocka_unit_test(test_refuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
