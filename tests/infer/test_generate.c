/*
 * test_generate.c — the model generator and the generation loop, end to end on the engine:
 * small random models of every architecture (llama, qwen2, qwen3) and weight type written by
 * modelgen into a temp dir, loaded by the engine and its tokenizer, then generation: greedy
 * twice gives the same tokens, seeded sampling twice the same, other seeds other tokens, stop
 * strings (never emitted, text held back), max tokens, the context limit, the callback's stop,
 * UTF-8-safe streaming, top-K capture. Also the stop-string scanner on its own.
 * Never: writes outside its temp dir (removed at the end) or needs the reference data.
 */
/* cmocka.h needs these first. */
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
#include "infer/generate.h"
#include "infer/infer.h"
#include "infer/kernels.h"
#include "infer/modelgen.h"
#include "tokenizer/tok.h"

static char *tmpdir;

struct loaded {
	struct infer_model *m;
	struct infer_ctx *c;
	struct tok_vocab *v;
};

static void small_params(struct modelgen_params *p, const char *arch, uint32_t type)
{
	modelgen_params_default(p);
	snprintf(p->arch, sizeof(p->arch), "%s", arch);
	p->n_embd = 256;
	p->n_layer = 1;
	p->n_head = 4;
	p->n_head_kv = 2;
	p->n_ff = 256;
	p->n_vocab = 512;
	p->n_ctx = 512;
	p->wtype = type;
	p->seed = 11;
}

static void write_model(const struct modelgen_params *p, const char *name, char *path, size_t len)
{
	char err[512];

	snprintf(path, len, "%s/%s.gguf", tmpdir, name);
	if (modelgen_write(p, path, err, sizeof(err)) != 0)
		fail_msg("modelgen_write %s: %s", name, err);
}

static void load(const char *path, uint32_t n_ctx, struct loaded *L)
{
	struct infer_ctx_params cp;
	char err[512];

	memset(L, 0, sizeof(*L));
	if (infer_model_load(path, &L->m, err, sizeof(err)) != 0)
		fail_msg("load %s: %s", path, err);
	if (tok_vocab_from_gguf(infer_model_gguf(L->m), &L->v, err, sizeof(err)) != 0)
		fail_msg("vocab %s: %s", path, err);
	infer_ctx_params_default(&cp);
	cp.n_ctx = n_ctx;
	cp.n_threads = 2;
	if (infer_ctx_new(L->m, &cp, &L->c, err, sizeof(err)) != 0)
		fail_msg("ctx %s: %s", path, err);
}

static void unload(struct loaded *L)
{
	infer_ctx_free(L->c);
	tok_vocab_free(L->v);
	infer_model_free(L->m);
}

static int run(struct loaded *L, const struct gen_params *p, const char *prompt,
	       struct gen_result *r)
{
	char err[512] = "";
	int rc;

	gen_result_init(r);
	rc = gen_run(L->m, L->c, L->v, p, prompt, strlen(prompt), r, err, sizeof(err));
	if (rc != 0 && r->stop != GEN_STOP_CONTEXT)
		fail_msg("gen_run: %s", err);
	return rc;
}

static int setup(void **state)
{
	(void)state;
	tmpdir = test_tmpdir();
	return tmpdir ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	test_rmrf(tmpdir);
	free(tmpdir);
	return 0;
}

/* ---- the scanner ------------------------------------------------------------------------- */

static void test_stop_scan(void **state)
{
	const char *stops[2] = {"END", "\n\n"};
	int hit;

	(void)state;
	assert_int_equal(gen_stop_scan("hello", 5, 0, stops, 2, &hit), 5);
	assert_int_equal(hit, 0);
	assert_int_equal(gen_stop_scan("helloE", 6, 0, stops, 2, &hit), 5); /* hold "E" */
	assert_int_equal(hit, 0);
	assert_int_equal(gen_stop_scan("helloEN", 7, 0, stops, 2, &hit), 5);
	assert_int_equal(gen_stop_scan("helloENX", 8, 5, stops, 2, &hit), 8); /* not a stop */
	assert_int_equal(gen_stop_scan("helloEND!", 9, 5, stops, 2, &hit), 5);
	assert_int_equal(hit, 1);
	assert_int_equal(gen_stop_scan("a\n\nEND", 6, 0, stops, 2, &hit), 1); /* earliest */
	assert_int_equal(hit, 1);
	assert_int_equal(gen_stop_scan("ab\n", 3, 0, stops, 2, &hit), 2);
	assert_int_equal(gen_stop_scan("abc", 3, 3, stops, 2, &hit), 3);
	assert_int_equal(gen_stop_scan("abc", 3, 0, stops, 0, &hit), 3);
}

/* ---- the generator ------------------------------------------------------------------------ */

static void test_presets_and_types(void **state)
{
	struct modelgen_params p;
	uint32_t t;
	char err[256];

	(void)state;
	assert_int_equal(modelgen_preset("demo", &p), 0);
	assert_int_equal(modelgen_check(&p, err, sizeof(err)), 0);
	assert_int_equal(modelgen_preset("bench-llama-0.8b", &p), 0);
	assert_int_equal(p.n_embd, 2048);
	assert_int_equal(p.n_vocab, 32000);
	assert_int_equal(modelgen_check(&p, err, sizeof(err)), 0);
	assert_int_equal(modelgen_preset("nope", &p), -1);
	assert_int_equal(modelgen_preset("bench-llama-0.8b", &p), 0);
	assert_int_equal(modelgen_type_from_name("q4_k", &t), 0);
	assert_int_equal(t, GGUF_GGML_Q4_K);
	assert_int_equal(modelgen_type_from_name("Q2_K", &t), -1);
	/* recipes: Q4_0 output in Q6_K, Q4_K_M's attn_v/ffn_down in Q6_K on "more bits" layers */
	p.wtype = GGUF_GGML_Q4_0;
	assert_int_equal(modelgen_tensor_type(&p, "output.weight", 2048), GGUF_GGML_Q6_K);
	assert_int_equal(modelgen_tensor_type(&p, "blk.0.attn_v.weight", 2048), GGUF_GGML_Q4_0);
	p.wtype = GGUF_GGML_Q4_K;
	assert_int_equal(modelgen_tensor_type(&p, "blk.0.attn_v.weight", 2048), GGUF_GGML_Q6_K);
	assert_int_equal(modelgen_tensor_type(&p, "blk.3.attn_v.weight", 2048), GGUF_GGML_Q4_K);
	assert_int_equal(modelgen_tensor_type(&p, "blk.4.ffn_down.weight", 5632), GGUF_GGML_Q6_K);
	p.mix = false;
	assert_int_equal(modelgen_tensor_type(&p, "output.weight", 2048), GGUF_GGML_Q4_K);
	assert_int_equal(modelgen_tensor_type(&p, "x", 96), GGUF_GGML_Q8_0); /* fallback */
	p.n_vocab = 10;
	assert_int_equal(modelgen_check(&p, err, sizeof(err)), -1);
	modelgen_preset("demo", &p);
	snprintf(p.arch, sizeof(p.arch), "gpt2");
	assert_int_equal(modelgen_check(&p, err, sizeof(err)), -1);
}

static void test_deterministic_file(void **state)
{
	struct modelgen_params p;
	char a[512], b[512], c[512], cmd[2048];

	(void)state;
	small_params(&p, "llama", GGUF_GGML_Q4_K);
	write_model(&p, "det-a", a, sizeof(a));
	write_model(&p, "det-b", b, sizeof(b));
	p.seed = 12;
	write_model(&p, "det-c", c, sizeof(c));
	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, c);
	assert_int_not_equal(system(cmd), 0);
}

/* Weights dequantize to finite values of about the intended standard deviation. */
static void check_weights(const char *path, uint32_t n_embd)
{
	struct gguf_file *f = NULL;
	const struct gguf_tensor_info *t;
	float row[1024];
	double ss = 0.0, want = 1.0 / sqrt((double)n_embd), sd;
	size_t i;

	assert_int_equal(gguf_open(path, &f, NULL), 0);
	t = gguf_find_tensor(f, "blk.0.attn_q.weight");
	assert_non_null(t);
	assert_true(t->ne[0] <= 1024);
	kern_dequantize_row(t->type, t->data, row, (int64_t)t->ne[0]);
	for (i = 0; i < t->ne[0]; i++) {
		assert_true(isfinite(row[i]));
		ss += (double)row[i] * row[i];
	}
	sd = sqrt(ss / (double)t->ne[0]);
	if (sd < want / 3 || sd > want * 3)
		fail_msg("%s: weight sd %g, want about %g", path, sd, want);
	gguf_close(f);
}

/* Every architecture and weight type: loads, and greedy generation is reproducible. */
static void test_all_archs_and_types(void **state)
{
	static const char *const archs[] = {"llama", "qwen2", "qwen3"};
	static const uint32_t types[] = {
	    GGUF_GGML_F32,  GGUF_GGML_F16,  GGUF_GGML_BF16, GGUF_GGML_Q8_0, GGUF_GGML_Q4_0,
	    GGUF_GGML_Q4_1, GGUF_GGML_Q5_0, GGUF_GGML_Q4_K, GGUF_GGML_Q5_K, GGUF_GGML_Q6_K,
	};
	struct modelgen_params p;
	struct gen_params gp;
	struct gen_result r1, r2;
	struct loaded L;
	char path[512], name[64];
	size_t a, t;

	(void)state;
	gen_params_default(&gp);
	gp.sampling.greedy = true;
	gp.max_tokens = 8;
	gp.ignore_eog = true;
	for (a = 0; a < 3; a++) {
		for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			const struct infer_hparams *hp;

			small_params(&p, archs[a], types[t]);
			p.mix = (t % 2) == 1;
			snprintf(name, sizeof(name), "%s-%s", archs[a],
				 gguf_type_info(types[t])->name);
			write_model(&p, name, path, sizeof(path));
			check_weights(path, p.n_embd);
			load(path, 128, &L);
			hp = infer_model_hparams(L.m);
			assert_string_equal(hp->arch, archs[a]);
			assert_int_equal(hp->n_embd, 256);
			assert_int_equal(hp->n_vocab, 512);
			assert_int_equal(tok_vocab_n_tokens(L.v), 512);
			run(&L, &gp, "Once upon a time", &r1);
			run(&L, &gp, "Once upon a time", &r2);
			assert_int_equal(r1.prompt.ids[0], 1); /* BOS: add_bos */
			assert_int_equal(r1.tokens.n, 8);
			assert_int_equal(r1.stop, GEN_STOP_MAX_TOKENS);
			assert_memory_equal(r1.tokens.ids, r2.tokens.ids, 8 * sizeof(int32_t));
			gen_result_free(&r1);
			gen_result_free(&r2);
			unload(&L);
		}
	}
}

struct collect {
	struct buf text;
	int calls, stop_after;
	bool utf8_ok;
};

static int collect_cb(void *user, const char *s, size_t n)
{
	struct collect *c = user;

	assert_true(n > 0);
	if (!gguf_utf8_valid(s, n))
		c->utf8_ok = false;
	assert_int_equal(buf_append(&c->text, s, n), 0);
	c->calls++;
	return c->stop_after && c->calls >= c->stop_after;
}

static void test_generation_rules(void **state)
{
	struct modelgen_params p;
	struct gen_params gp;
	struct gen_result r, r2;
	struct collect col;
	struct loaded L;
	char path[512], stop[8];
	size_t i, pos, same = 0;
	int rc;

	(void)state;
	small_params(&p, "llama", GGUF_GGML_Q8_0);
	p.n_layer = 2;
	write_model(&p, "rules", path, sizeof(path));
	load(path, 64, &L);
	assert_true(gen_is_eog(L.v, 2));   /* </s> */
	assert_true(gen_is_eog(L.v, 260)); /* <|im_end|>, detected as EOT */
	assert_false(gen_is_eog(L.v, 1));

	/* seeded sampling: same seed, same tokens; other seeds, other tokens */
	gen_params_default(&gp);
	gp.max_tokens = 16;
	gp.ignore_eog = true;
	gp.sampling.temp = 1.5f;
	gp.sampling.top_k = 0;
	gp.sampling.top_p = 1.0f;
	gp.sampling.min_p = 0.0f;
	gp.sampling.seed = 5;
	run(&L, &gp, "Hello world", &r);
	run(&L, &gp, "Hello world", &r2);
	assert_memory_equal(r.tokens.ids, r2.tokens.ids, 16 * sizeof(int32_t));
	gen_result_free(&r2);
	gp.sampling.seed = 6;
	run(&L, &gp, "Hello world", &r2);
	for (i = 0; i < 16; i++)
		same += r.tokens.ids[i] == r2.tokens.ids[i];
	assert_true(same < 16);
	gen_result_free(&r);
	gen_result_free(&r2);

	/* streaming: valid UTF-8 pieces whose concatenation is the text; top-K capture */
	gen_params_default(&gp);
	gp.sampling.greedy = true;
	gp.max_tokens = 24;
	gp.ignore_eog = true;
	gp.top_logits = 5;
	memset(&col, 0, sizeof(col));
	col.utf8_ok = true;
	gp.on_text = collect_cb;
	gp.user = &col;
	run(&L, &gp, "Once upon a time", &r);
	assert_true(col.utf8_ok);
	assert_int_equal(col.text.len, r.text.len);
	if (r.text.len)
		assert_memory_equal(col.text.data, r.text.data, r.text.len);
	assert_int_equal(r.top_k, 5);
	for (i = 0; i < r.tokens.n; i++) {
		const struct gen_top *s = r.top + i * 5;

		assert_int_equal(s[0].id, r.tokens.ids[i]); /* greedy takes the top-1 */
		assert_true(s[0].logit >= s[1].logit && s[3].logit >= s[4].logit);
	}
	assert_int_equal(r.t.n_prompt, r.prompt.n);
	assert_int_equal(r.t.n_gen, 24);
	assert_int_equal(r.t.n_eval, 23);
	assert_true(r.t.prompt_tps > 0 && r.t.gen_tps > 0);
	buf_free(&col.text);

	/* a stop string taken from that text: output ends right before it */
	if (r.text.len >= 6) {
		const char *hit;

		pos = r.text.len / 2;
		while (pos > 1 && ((uint8_t)r.text.data[pos] & 0xc0) == 0x80)
			pos--;
		memcpy(stop, r.text.data + pos, 2);
		stop[2] = '\0';
		hit = memmem(r.text.data, r.text.len, stop, 2);
		assert_non_null(hit);
		gp.stop[0] = stop;
		gp.n_stop = 1;
		memset(&col, 0, sizeof(col));
		col.utf8_ok = true;
		run(&L, &gp, "Once upon a time", &r2);
		assert_int_equal(r2.stop, GEN_STOP_STRING);
		assert_int_equal(r2.text.len, (size_t)(hit - r.text.data));
		assert_memory_equal(r2.text.data, r.text.data, r2.text.len);
		assert_int_equal(col.text.len, r2.text.len); /* nothing of the stop emitted */
		assert_true(r2.tokens.n <= r.tokens.n);
		buf_free(&col.text);
		gen_result_free(&r2);
		gp.n_stop = 0;
	} else {
		printf("note: greedy text too short (%zu bytes) for the stop-string check\n",
		       r.text.len);
	}
	gen_result_free(&r);

	/* the callback stops generation */
	memset(&col, 0, sizeof(col));
	col.utf8_ok = true;
	col.stop_after = 1;
	gp.top_logits = 0;
	run(&L, &gp, "Once upon a time", &r);
	assert_int_equal(r.stop, GEN_STOP_CALLBACK);
	assert_int_equal(col.calls, 1);
	assert_int_equal(col.text.len, r.text.len);
	buf_free(&col.text);
	gen_result_free(&r);
	gp.on_text = NULL;

	/* max tokens */
	gp.max_tokens = 3;
	run(&L, &gp, "Once upon a time", &r);
	assert_int_equal(r.tokens.n, 3);
	assert_int_equal(r.stop, GEN_STOP_MAX_TOKENS);
	gen_result_free(&r);

	/* the context limit (64): a clear error, the tokens so far kept */
	gp.max_tokens = 0;
	rc = run(&L, &gp, "Once upon a time", &r);
	assert_int_equal(rc, -1);
	assert_int_equal(r.stop, GEN_STOP_CONTEXT);
	assert_int_equal(r.prompt.n + r.tokens.n, 65);
	gen_result_free(&r);
	{
		char err[256], big[400];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		for (i = 1; i < sizeof(big) - 1; i += 2)
			big[i] = ' ';
		gen_result_init(&r);
		rc = gen_run(L.m, L.c, L.v, &gp, big, strlen(big), &r, err, sizeof(err));
		assert_int_equal(rc, -1);
		assert_int_equal(r.stop, GEN_STOP_CONTEXT);
		assert_non_null(strstr(err, "context"));
		gen_result_free(&r);
		gp.stop[0] = "";
		gp.n_stop = 1;
		gen_result_init(&r);
		assert_int_equal(gen_run(L.m, L.c, L.v, &gp, "x", 1, &r, err, sizeof(err)), -1);
		gen_result_free(&r);
	}
	unload(&L);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stop_scan),	       cmocka_unit_test(test_presets_and_types),
	    cmocka_unit_test(test_deterministic_file), cmocka_unit_test(test_all_archs_and_types),
	    cmocka_unit_test(test_generation_rules),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
