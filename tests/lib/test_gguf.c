/*
 * test_gguf.c — the GGUF reader against generated valid files, one malformed file per
 * validation rule (each must be rejected with its own reason code), every prefix of a valid
 * file, the 20 reference models, and the scanner samples' manifest.
 *
 * Owns: the malformed corpus (built here, byte by byte or by patching writer output).
 * Never: writes into the repository or into $SECAI_SHARED; temporary files go to /tmp.
 */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "gguf/gguf.h"
#include "gguf/gguf_write.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static const char *shared_dir(void)
{
	const char *s = getenv("SECAI_SHARED");

	return s && *s ? s : "../shared";
}

static int open_mem(const struct buf *b, struct gguf_report *r)
{
	struct gguf_file *f = NULL;
	int rc = gguf_open_buffer(b->data, b->len, &f, r);

	if (rc == 0)
		gguf_close(f);
	else
		assert_null(f);
	return rc;
}

static void expect_reject_(const struct buf *b, enum gguf_err code, const char *what, int line)
{
	struct gguf_report r = GGUF_REPORT_INIT;
	int rc = open_mem(b, &r);

	if (rc != 1 || !gguf_report_has(&r, code)) {
		fprintf(stderr, "line %d: %s: expected rejection with %s, got rc=%d\n", line, what,
			gguf_err_id(code), rc);
		gguf_report_print(&r, stderr);
		gguf_report_free(&r);
		fail();
	}
	gguf_report_free(&r);
}
#define expect_reject(b, code) expect_reject_((b), (code), #code, __LINE__)

static void expect_valid_(const struct buf *b, int line)
{
	struct gguf_report r = GGUF_REPORT_INIT;
	int rc = open_mem(b, &r);

	if (rc != 0) {
		fprintf(stderr, "line %d: expected a valid file, rc=%d\n", line, rc);
		gguf_report_print(&r, stderr);
		gguf_report_free(&r);
		fail();
	}
	gguf_report_free(&r);
}
#define expect_valid(b) expect_valid_((b), __LINE__)

static void p32(struct buf *b, uint32_t v)
{
	uint8_t p[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	assert_int_equal(buf_append(b, p, 4), 0);
}

static void p64(struct buf *b, uint64_t v)
{
	p32(b, (uint32_t)v);
	p32(b, (uint32_t)(v >> 32));
}

static void pstr(struct buf *b, const char *s)
{
	p64(b, strlen(s));
	assert_int_equal(buf_append(b, s, strlen(s)), 0);
}

static void pbytes(struct buf *b, const void *s, size_t n)
{
	p64(b, n);
	assert_int_equal(buf_append(b, s, n), 0);
}

static void pzero(struct buf *b, size_t n)
{
	while (n--)
		assert_int_equal(buf_append_char(b, 0), 0);
}

static void header(struct buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
	buf_reset(b);
	assert_int_equal(buf_append(b, "GGUF", 4), 0);
	p32(b, version);
	p64(b, n_tensors);
	p64(b, n_kv);
}

/* A KV-only file: header + general.architecture + one more raw KV appended by the caller. */
static void kv_file(struct buf *b, uint64_t n_kv)
{
	header(b, 3, 0, n_kv);
	pstr(b, "general.architecture");
	p32(b, GGUF_TYPE_STRING);
	pstr(b, "rawtest");
}

static void pad_to(struct buf *b, size_t a)
{
	while (b->len % a)
		assert_int_equal(buf_append_char(b, 0), 0);
}

/* ---- raw tensor files ------------------------------------------------------------------- */

struct rt {
	const char *name;
	size_t name_len; /* 0: strlen */
	uint32_t n_dims;
	uint64_t ne[8];
	uint32_t type;
	uint64_t offset;
};

/* Header, general.architecture = "rawtest", the infos, zero padding to 32, then data_len
 * bytes of 0x11 (the tensor data; padding the caller wants must be in data_len). */
static void tensor_file(struct buf *b, const struct rt *t, size_t n, size_t data_len)
{
	size_t i, j;

	kv_file(b, 1);
	memcpy(b->data + 8, &(uint64_t){n}, 8);
	for (i = 0; i < n; i++) {
		if (t[i].name_len)
			pbytes(b, t[i].name, t[i].name_len);
		else
			pstr(b, t[i].name);
		p32(b, t[i].n_dims);
		for (j = 0; j < t[i].n_dims && j < 8; j++)
			p64(b, t[i].ne[j]);
		p32(b, t[i].type);
		p64(b, t[i].offset);
	}
	pad_to(b, 32);
	for (i = 0; i < data_len; i++)
		assert_int_equal(buf_append_char(b, 0x11), 0);
}

/* Two F32 tensors of 8 and 16 elements: a [32 bytes][64 bytes] data section. */
static void two_tensors(struct buf *b, uint64_t off2, size_t data_len)
{
	struct rt t[2] = {
	    {"a", 0, 1, {8}, GGUF_GGML_F32, 0},
	    {"b", 0, 1, {16}, GGUF_GGML_F32, off2},
	};

	tensor_file(b, t, 2, data_len);
}

/* ---- generated models ------------------------------------------------------------------- */

struct mp {
	const char *arch;
	uint32_t n_embd, n_layer, n_layer_tensors, n_head, n_head_kv, n_ff, n_vocab, n_tokens;
	uint32_t n_scores;
	uint32_t scores_type;
	bool tied;
	const char *omit_key;	  /* suffix after "<arch>." to leave out */
	const char *omit_tensor;  /* tensor name to leave out */
	const char *extra_tensor; /* name of an extra [n_embd] F32 tensor */
	uint32_t q_rows;	  /* attn_q ne1 override (0: correct) */
	uint32_t embd_rows;	  /* token_embd ne1 override */
	bool block_count_str;
	float eps;
	uint32_t bos;
	uint32_t vocab_size_kv; /* 0: absent */
	const char *arch_value; /* general.architecture override ("" = absent) */
};

static struct mp mp_default(const char *arch)
{
	struct mp p = {0};

	p.arch = arch;
	p.n_embd = 32;
	p.n_layer = p.n_layer_tensors = 1;
	p.n_head = 4;
	p.n_head_kv = 2;
	p.n_ff = 64;
	p.n_vocab = p.n_tokens = p.n_scores = 32;
	p.scores_type = GGUF_TYPE_FLOAT32;
	p.eps = 1e-5f;
	p.bos = 1;
	return p;
}

static void add_hp(struct gguf_writer *w, const struct mp *p, const char *suffix, uint32_t v)
{
	char key[128];

	if (p->omit_key && strcmp(p->omit_key, suffix) == 0)
		return;
	snprintf(key, sizeof(key), "%s.%s", p->arch, suffix);
	if (strcmp(suffix, "block_count") == 0 && p->block_count_str)
		assert_int_equal(gguf_writer_add_str(w, key, "1"), 0);
	else
		assert_int_equal(gguf_writer_add_u32(w, key, v), 0);
}

static void add_t(struct gguf_writer *w, const struct mp *p, const char *name, uint64_t ne0,
		  uint64_t ne1)
{
	uint64_t ne[2] = {ne0, ne1};

	if (p->omit_tensor && strcmp(p->omit_tensor, name) == 0)
		return;
	assert_int_equal(gguf_writer_add_tensor(w, name, GGUF_GGML_F32, ne1 ? 2 : 1, ne, NULL), 0);
}

static void build_model(const struct mp *p, struct buf *out)
{
	struct gguf_writer *w = gguf_writer_new();
	char names[64][8], name[64], key[128];
	const char *tok[64];
	float scores[64] = {0};
	int32_t types[64];
	uint32_t hd = p->n_embd / p->n_head, l, i;
	bool qwen2 = strcmp(p->arch, "qwen2") == 0, qwen3 = strcmp(p->arch, "qwen3") == 0;

	assert_non_null(w);
	assert_true(p->n_tokens <= 64);
	for (i = 0; i < p->n_tokens; i++) {
		snprintf(names[i], sizeof(names[i]), "t%u", i);
		tok[i] = names[i];
		types[i] = 1;
	}
	if (p->arch_value == NULL)
		assert_int_equal(gguf_writer_add_str(w, "general.architecture", p->arch), 0);
	else if (*p->arch_value)
		assert_int_equal(gguf_writer_add_str(w, "general.architecture", p->arch_value), 0);
	assert_int_equal(gguf_writer_add_str(w, "general.name", "test-model"), 0);
	add_hp(w, p, "context_length", 128);
	add_hp(w, p, "embedding_length", p->n_embd);
	add_hp(w, p, "block_count", p->n_layer);
	add_hp(w, p, "feed_forward_length", p->n_ff);
	add_hp(w, p, "attention.head_count", p->n_head);
	add_hp(w, p, "attention.head_count_kv", p->n_head_kv);
	if (!(p->omit_key && strcmp(p->omit_key, "attention.layer_norm_rms_epsilon") == 0)) {
		snprintf(key, sizeof(key), "%s.attention.layer_norm_rms_epsilon", p->arch);
		assert_int_equal(gguf_writer_add_f32(w, key, p->eps), 0);
	}
	if (p->vocab_size_kv)
		add_hp(w, p, "vocab_size", p->vocab_size_kv);
	assert_int_equal(gguf_writer_add_str(w, "tokenizer.ggml.model", "llama"), 0);
	assert_int_equal(gguf_writer_add_str_array(w, "tokenizer.ggml.tokens", tok, p->n_tokens),
			 0);
	if (p->scores_type == GGUF_TYPE_FLOAT32)
		assert_int_equal(gguf_writer_add_array(w, "tokenizer.ggml.scores",
						       GGUF_TYPE_FLOAT32, scores, p->n_scores),
				 0);
	else
		assert_int_equal(gguf_writer_add_array(w, "tokenizer.ggml.scores", GGUF_TYPE_UINT8,
						       scores, p->n_scores),
				 0);
	assert_int_equal(gguf_writer_add_array(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32,
					       types, p->n_tokens),
			 0);
	assert_int_equal(gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", p->bos), 0);
	assert_int_equal(gguf_writer_add_u32(w, "tokenizer.ggml.padding_token_id", UINT32_MAX), 0);

	add_t(w, p, "token_embd.weight", p->n_embd, p->embd_rows ? p->embd_rows : p->n_vocab);
	add_t(w, p, "output_norm.weight", p->n_embd, 0);
	if (!p->tied)
		add_t(w, p, "output.weight", p->n_embd, p->n_vocab);
	for (l = 0; l < p->n_layer_tensors; l++) {
		static const char *const norms[] = {"attn_norm.weight", "ffn_norm.weight"};
#define BLK(what) (snprintf(name, sizeof(name), "blk.%u.%s", l, what), name)
		for (i = 0; i < 2; i++)
			add_t(w, p, BLK(norms[i]), p->n_embd, 0);
		add_t(w, p, BLK("attn_q.weight"), p->n_embd,
		      p->q_rows ? p->q_rows : p->n_head * hd);
		add_t(w, p, BLK("attn_k.weight"), p->n_embd, p->n_head_kv * hd);
		add_t(w, p, BLK("attn_v.weight"), p->n_embd, p->n_head_kv * hd);
		add_t(w, p, BLK("attn_output.weight"), p->n_head * hd, p->n_embd);
		if (qwen2) {
			add_t(w, p, BLK("attn_q.bias"), p->n_head * hd, 0);
			add_t(w, p, BLK("attn_k.bias"), p->n_head_kv * hd, 0);
			add_t(w, p, BLK("attn_v.bias"), p->n_head_kv * hd, 0);
		}
		if (qwen3) {
			add_t(w, p, BLK("attn_q_norm.weight"), hd, 0);
			add_t(w, p, BLK("attn_k_norm.weight"), hd, 0);
		}
		add_t(w, p, BLK("ffn_gate.weight"), p->n_embd, p->n_ff);
		add_t(w, p, BLK("ffn_up.weight"), p->n_embd, p->n_ff);
		add_t(w, p, BLK("ffn_down.weight"), p->n_ff, p->n_embd);
#undef BLK
	}
	if (p->extra_tensor)
		add_t(w, p, p->extra_tensor, p->n_embd, 0);
	buf_reset(out);
	assert_int_equal(gguf_writer_to_buf(w, out), 0);
	gguf_writer_free(w);
}

/* ---- valid files ------------------------------------------------------------------------ */

static void test_valid_generated(void **state)
{
	static const char *const archs[] = {"llama", "qwen2", "qwen3"};
	struct buf b = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		struct mp p = mp_default(archs[i]);
		struct gguf_report r = GGUF_REPORT_INIT;
		struct gguf_file *f = NULL;
		const struct gguf_tensor_info *t;
		const char *s;
		size_t len;
		uint32_t u;
		uint64_t n;
		enum gguf_value_type et;
		float sc;
		int32_t tt;

		build_model(&p, &b);
		assert_int_equal(gguf_open_buffer(b.data, b.len, &f, &r), 0);
		assert_int_equal(r.n, 0);
		assert_true(gguf_is_valid(f));
		assert_int_equal(gguf_version(f), 3);
		assert_int_equal(gguf_alignment(f), 32);
		s = gguf_architecture(f, &len);
		assert_int_equal(len, strlen(archs[i]));
		assert_memory_equal(s, archs[i], len);
		assert_int_equal(
		    gguf_kv_get_u32(gguf_find_kv(f, "tokenizer.ggml.bos_token_id"), &u), 0);
		assert_int_equal(u, 1);
		assert_int_equal(
		    gguf_kv_get_i32(gguf_find_kv(f, "tokenizer.ggml.bos_token_id"), &tt),
		    -1); /* exact types only */
		assert_null(gguf_find_kv(f, "no.such.key"));
		assert_int_equal(
		    gguf_kv_array_info(gguf_find_kv(f, "tokenizer.ggml.tokens"), &et, &n), 0);
		assert_int_equal(et, GGUF_TYPE_STRING);
		assert_int_equal(n, 32);
		assert_int_equal(
		    gguf_kv_array_str(gguf_find_kv(f, "tokenizer.ggml.tokens"), 17, &s, &len), 0);
		assert_int_equal(len, 3);
		assert_memory_equal(s, "t17", 3);
		assert_int_equal(
		    gguf_kv_array_str(gguf_find_kv(f, "tokenizer.ggml.tokens"), 32, &s, &len), -1);
		assert_int_equal(
		    gguf_kv_array_get_f32(gguf_find_kv(f, "tokenizer.ggml.scores"), 3, &sc), 0);
		assert_int_equal(
		    gguf_kv_array_get_i32(gguf_find_kv(f, "tokenizer.ggml.token_type"), 31, &tt),
		    0);
		assert_int_equal(tt, 1);
		assert_non_null(gguf_kv_array_data(gguf_find_kv(f, "tokenizer.ggml.scores")));
		assert_null(gguf_kv_array_data(gguf_find_kv(f, "tokenizer.ggml.tokens")));
		t = gguf_find_tensor(f, "token_embd.weight");
		assert_non_null(t);
		assert_int_equal(t->n_dims, 2);
		assert_int_equal(t->ne[0], 32);
		assert_int_equal(t->ne[1], 32);
		assert_int_equal(t->ne[2], 1);
		assert_int_equal(t->nbytes, 32 * 32 * 4);
		assert_ptr_equal(t->data,
				 (const uint8_t *)b.data + gguf_data_offset(f) + t->offset);
		assert_null(gguf_find_tensor(f, "blk.1.attn_q.weight"));
		assert_ptr_equal(gguf_tensor_at(f, 0), gguf_find_tensor(f, "token_embd.weight"));
		assert_null(gguf_tensor_at(f, gguf_n_tensors(f)));
		gguf_close(f);
		gguf_report_free(&r);
	}
	{
		struct mp p = mp_default("llama");

		p.tied = true; /* no output.weight: tied embeddings */
		build_model(&p, &b);
		expect_valid(&b);
	}
	buf_free(&b);
}

static void test_valid_layouts(void **state)
{
	struct buf b = BUF_INIT;
	struct gguf_report r = GGUF_REPORT_INIT;

	(void)state;
	/* Only metadata, ending at the infos or at the aligned data start. */
	kv_file(&b, 1);
	expect_valid(&b);
	pad_to(&b, 32);
	expect_valid(&b);
	/* Two tensors: ends at the unpadded end of the last one, or padded: both accepted. */
	two_tensors(&b, 32, 96);
	expect_valid(&b);
	two_tensors(&b, 32, 96 - 4); /* 'b' is 64 bytes at 32: ends at 96 exactly, so -4 is short */
	expect_reject(&b, GGUF_E_OUT_OF_FILE);
	{
		struct rt t[2] = {{"a", 0, 1, {8}, GGUF_GGML_F32, 0},
				  {"b", 0, 1, {3}, GGUF_GGML_F32, 32}};

		tensor_file(&b, t, 2, 44); /* 32 + 12, no final padding */
		expect_valid(&b);
		pzero(&b, 20); /* padded to 64: what llama.cpp writes */
		expect_valid(&b);
		pzero(&b, 1);
		expect_reject(&b, GGUF_E_TRAILING);
	}
	/* Alignment 64 and a name of 63 bytes are fine. */
	{
		char n63[64];

		memset(n63, 'x', 63);
		n63[63] = '\0';
		header(&b, 2, 1, 2);
		pstr(&b, "general.architecture");
		p32(&b, GGUF_TYPE_STRING);
		pstr(&b, "rawtest");
		pstr(&b, "general.alignment");
		p32(&b, GGUF_TYPE_UINT32);
		p32(&b, 64);
		pstr(&b, n63);
		p32(&b, 1);
		p64(&b, 16);
		p32(&b, GGUF_GGML_F32);
		p64(&b, 0);
		pad_to(&b, 64);
		pzero(&b, 64);
		expect_valid(&b);
	}
	gguf_report_free(&r);
	buf_free(&b);
}

/* ---- header ----------------------------------------------------------------------------- */

static void test_header(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	kv_file(&b, 1);
	memcpy(b.data, "GGUG", 4);
	expect_reject(&b, GGUF_E_BAD_MAGIC);
	kv_file(&b, 1);
	memcpy(b.data, "FUGG", 4);
	expect_reject(&b, GGUF_E_BYTE_SWAPPED);
	kv_file(&b, 1);
	memcpy(b.data + 4, "\0\0\0\3", 4); /* big-endian v3 */
	expect_reject(&b, GGUF_E_BYTE_SWAPPED);
	kv_file(&b, 1);
	memcpy(b.data + 4, "\0\0\0\2", 4);
	expect_reject(&b, GGUF_E_BYTE_SWAPPED);
	kv_file(&b, 1);
	memcpy(b.data + 8, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16); /* BE counts too */
	memcpy(b.data + 4, "\0\0\0\3", 4);
	expect_reject(&b, GGUF_E_BYTE_SWAPPED);
	{
		static const uint32_t bad[] = {0, 1, 4, 5, 0xffffffffu};
		size_t i;

		for (i = 0; i < 5; i++) {
			kv_file(&b, 1);
			memcpy(b.data + 4, &bad[i], 4);
			expect_reject(&b, GGUF_E_VERSION);
		}
	}
	/* Counts: u64 max, allocation-wrapping, more than the bytes present. */
	header(&b, 3, UINT64_MAX, 0);
	expect_reject(&b, GGUF_E_N_TENSORS);
	header(&b, 3, (UINT64_MAX / 88) + 1, 0); /* n * sizeof(info) wraps */
	expect_reject(&b, GGUF_E_N_TENSORS);
	header(&b, 3, 1, 0);
	pzero(&b, 32); /* 32 bytes left < one minimal tensor info (33) */
	expect_reject(&b, GGUF_E_N_TENSORS);
	header(&b, 3, 0, UINT64_MAX);
	expect_reject(&b, GGUF_E_N_KV);
	header(&b, 3, 0, 3);
	pzero(&b, 30);
	expect_reject(&b, GGUF_E_N_KV);
	header(&b, 3, 0, 70000);
	pzero(&b, 70000 * 14);
	expect_reject(&b, GGUF_E_N_KV); /* over the cap even though the bytes are there */
	/* Short files. */
	buf_reset(&b);
	expect_reject(&b, GGUF_E_TRUNCATED);
	buf_append(&b, "GG", 2);
	expect_reject(&b, GGUF_E_TRUNCATED);
	buf_reset(&b);
	buf_append(&b, "\x80\x02", 2); /* a pickle */
	expect_reject(&b, GGUF_E_BAD_MAGIC);
	buf_free(&b);
}

/* ---- metadata --------------------------------------------------------------------------- */

static void test_kv(void **state)
{
	struct buf b = BUF_INIT;
	size_t i;

	(void)state;
	/* Key lengths. */
	kv_file(&b, 2);
	p64(&b, UINT64_MAX);
	expect_reject(&b, GGUF_E_STRING_LEN); /* CVE-2024-23496 */
	kv_file(&b, 2);
	p64(&b, 100);
	buf_append(&b, "abc", 3);
	expect_reject(&b, GGUF_E_STRING_LEN);
	kv_file(&b, 2);
	pstr(&b, "");
	p32(&b, GGUF_TYPE_UINT8);
	buf_append_char(&b, 0);
	expect_reject(&b, GGUF_E_KEY_EMPTY);
	kv_file(&b, 2);
	p64(&b, 65536);
	for (i = 0; i < 65536; i++)
		buf_append_char(&b, 'k');
	p32(&b, GGUF_TYPE_UINT8);
	buf_append_char(&b, 0);
	expect_reject(&b, GGUF_E_KEY_TOO_LONG);
	/* Value types. */
	kv_file(&b, 2);
	pstr(&b, "x.t");
	p32(&b, 13);
	p32(&b, 0);
	expect_reject(&b, GGUF_E_VALUE_TYPE);
	kv_file(&b, 2);
	pstr(&b, "x.t");
	p32(&b, 0xffffffffu);
	p32(&b, 0);
	expect_reject(&b, GGUF_E_VALUE_TYPE);
	kv_file(&b, 2);
	pstr(&b, "x.t");
	p32(&b, GGUF_TYPE_UINT64);
	p32(&b, 0); /* 4 of 8 bytes */
	expect_reject(&b, GGUF_E_TRUNCATED);
	/* String values: u64 max, a length that wraps with the 8-byte prefix, > file. */
	{
		static const uint64_t lens[] = {UINT64_MAX, UINT64_MAX - 7, (1ull << 30) + 1, 9};

		for (i = 0; i < 4; i++) {
			kv_file(&b, 2);
			pstr(&b, "x.s");
			p32(&b, GGUF_TYPE_STRING);
			p64(&b, lens[i]);
			buf_append(&b, "12345678", 8);
			expect_reject(&b, GGUF_E_STRING_LEN);
		}
	}
	/* Arrays. */
	kv_file(&b, 2);
	pstr(&b, "x.a");
	p32(&b, GGUF_TYPE_ARRAY);
	p32(&b, GGUF_TYPE_ARRAY);
	p64(&b, 1);
	p32(&b, GGUF_TYPE_UINT8);
	p64(&b, 1);
	buf_append_char(&b, 0);
	expect_reject(&b, GGUF_E_ARRAY_NESTED);
	kv_file(&b, 2);
	pstr(&b, "x.a");
	p32(&b, GGUF_TYPE_ARRAY);
	p32(&b, 13);
	p64(&b, 1);
	p32(&b, 0);
	expect_reject(&b, GGUF_E_VALUE_TYPE);
	kv_file(&b, 2);
	pstr(&b, "x.a");
	p32(&b, GGUF_TYPE_ARRAY);
	p32(&b, GGUF_TYPE_UINT32);
	p64(&b, 1ull << 62); /* x 4 wraps to 0 */
	p32(&b, 0);
	expect_reject(&b, GGUF_E_ARRAY_COUNT); /* CVE-2024-21825 */
	kv_file(&b, 2);
	pstr(&b, "x.a");
	p32(&b, GGUF_TYPE_ARRAY);
	p32(&b, GGUF_TYPE_STRING);
	p64(&b, UINT64_MAX / 8 + 1);
	pstr(&b, "abc");
	expect_reject(&b, GGUF_E_ARRAY_COUNT);
	kv_file(&b, 2);
	pstr(&b, "x.a");
	p32(&b, GGUF_TYPE_ARRAY);
	p32(&b, GGUF_TYPE_UINT8);
	p64(&b, (1ull << 30) + 1);
	expect_reject(&b, GGUF_E_ARRAY_COUNT);
	kv_file(&b, 2);
	pstr(&b, "x.a");
	p32(&b, GGUF_TYPE_ARRAY);
	p32(&b, GGUF_TYPE_STRING);
	p64(&b, 2);
	pstr(&b, "ok");
	p64(&b, UINT64_MAX); /* second element's length */
	expect_reject(&b, GGUF_E_STRING_LEN);
	/* Bools. */
	kv_file(&b, 2);
	pstr(&b, "x.b");
	p32(&b, GGUF_TYPE_BOOL);
	buf_append_char(&b, 2);
	expect_reject(&b, GGUF_E_BOOL);
	kv_file(&b, 2);
	pstr(&b, "x.b");
	p32(&b, GGUF_TYPE_ARRAY);
	p32(&b, GGUF_TYPE_BOOL);
	p64(&b, 3);
	buf_append(&b, "\1\0\xff", 3);
	expect_reject(&b, GGUF_E_BOOL);
	/* Duplicate key. */
	kv_file(&b, 2);
	pstr(&b, "general.architecture");
	p32(&b, GGUF_TYPE_STRING);
	pstr(&b, "llama");
	expect_reject(&b, GGUF_E_KEY_DUPLICATE);
	buf_free(&b);
}

static void test_utf8(void **state)
{
	static const char *const bad[] = {
	    "\xc0\x80",		/* overlong NUL */
	    "\xe0\x80\xaf",	/* overlong '/' */
	    "\xf0\x82\x82\xac", /* overlong euro */
	    "\xed\xa0\x80",	/* surrogate U+D800 */
	    "\xed\xbf\xbf",	/* surrogate U+DFFF */
	    "\xf4\x90\x80\x80", /* > U+10FFFF */
	    "\xf5\x80\x80\x80", /* bad lead */
	    "\x80",		/* lone continuation */
	    "ab\xe2\x82",	/* truncated sequence */
	    "\xff",
	};
	static const char *const good[] = {"",
					   "plain",
					   "\xc2\xa0",
					   "\xe2\x82\xac",
					   "\xf0\x9f\x98\x80",
					   "\xf4\x8f\xbf\xbf",
					   "\xed\x9f\xbf"};
	struct buf b = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(gguf_utf8_valid(bad[i], strlen(bad[i])));
		kv_file(&b, 2); /* in a value */
		pstr(&b, "x.s");
		p32(&b, GGUF_TYPE_STRING);
		pstr(&b, bad[i]);
		expect_reject(&b, GGUF_E_UTF8);
		kv_file(&b, 2); /* in a key */
		pstr(&b, bad[i]);
		p32(&b, GGUF_TYPE_UINT8);
		buf_append_char(&b, 0);
		expect_reject(&b, GGUF_E_UTF8);
		kv_file(&b, 2); /* in an array element */
		pstr(&b, "x.a");
		p32(&b, GGUF_TYPE_ARRAY);
		p32(&b, GGUF_TYPE_STRING);
		p64(&b, 2);
		pstr(&b, "fine");
		pstr(&b, bad[i]);
		expect_reject(&b, GGUF_E_UTF8);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(gguf_utf8_valid(good[i], strlen(good[i])));
		kv_file(&b, 2);
		pstr(&b, "x.s");
		p32(&b, GGUF_TYPE_STRING);
		pstr(&b, good[i]);
		expect_valid(&b);
	}
	buf_free(&b);
}

static void test_alignment(void **state)
{
	static const uint32_t bad[] = {0, 1, 4, 13, 24, 1u << 21, 1u << 30, 0xffffffffu};
	struct buf b = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kv_file(&b, 2);
		pstr(&b, "general.alignment");
		p32(&b, GGUF_TYPE_UINT32);
		p32(&b, bad[i]);
		expect_reject(&b, GGUF_E_ALIGNMENT);
	}
	kv_file(&b, 2);
	pstr(&b, "general.alignment");
	p32(&b, GGUF_TYPE_UINT64);
	p64(&b, 32);
	expect_reject(&b, GGUF_E_ALIGNMENT);
	kv_file(&b, 2);
	pstr(&b, "general.alignment");
	p32(&b, GGUF_TYPE_UINT32);
	p32(&b, 1u << 20);
	expect_valid(&b);
	buf_free(&b);
}

/* ---- tensor infos ----------------------------------------------------------------------- */

static void test_tensor_infos(void **state)
{
	struct buf b = BUF_INIT;
	char n64[65];
	size_t i;

	(void)state;
	memset(n64, 'n', 64);
	n64[64] = '\0';
	{
		struct rt t = {"a", 0, 5, {1, 1, 1, 1, 1}, GGUF_GGML_F32, 0}; /* CVE-2024-21802 */

		tensor_file(&b, &t, 1, 32);
		expect_reject(&b, GGUF_E_N_DIMS);
		t.n_dims = 255;
		tensor_file(&b, &t, 1, 32);
		expect_reject(&b, GGUF_E_N_DIMS);
		t.n_dims = 0;
		tensor_file(&b, &t, 1, 32);
		expect_reject(&b, GGUF_E_N_DIMS);
	}
	{
		struct rt t = {"a", 0, 2, {8, 0}, GGUF_GGML_F32, 0};

		tensor_file(&b, &t, 1, 32);
		expect_reject(&b, GGUF_E_DIM);
		t.ne[1] = (uint64_t)INT64_MAX + 1;
		tensor_file(&b, &t, 1, 32);
		expect_reject(&b, GGUF_E_DIM);
		t.ne[1] = UINT64_MAX; /* ggml's BAD_SHAPE (-1) */
		tensor_file(&b, &t, 1, 32);
		expect_reject(&b, GGUF_E_DIM);
	}
	{
		/* ggml still accepts both of these (llama.cpp #27203). */
		struct rt t = {"a", 0, 2, {1ull << 32, 1ull << 32}, GGUF_GGML_I8, 0};

		tensor_file(&b, &t, 1, 32);
		expect_reject(&b, GGUF_E_SHAPE_OVERFLOW);
		t.ne[0] = INT64_MAX;
		t.ne[1] = 2;
		tensor_file(&b, &t, 1, 32);
		expect_reject(&b, GGUF_E_SHAPE_OVERFLOW);
		t.ne[0] = 1ull << 62; /* elements fit, bytes (x4) do not: CVE-2025-53630 family */
		t.ne[1] = 1;
		t.type = GGUF_GGML_F32;
		tensor_file(&b, &t, 1, 32);
		expect_reject(&b, GGUF_E_SHAPE_OVERFLOW);
		t.n_dims = 4; /* ggml's NE_TOO_BIG: 4 x INT32_MAX per dim */
		t.ne[0] = t.ne[1] = t.ne[2] = t.ne[3] = 4ull * INT32_MAX;
		tensor_file(&b, &t, 1, 32);
		expect_reject(&b, GGUF_E_SHAPE_OVERFLOW);
	}
	{
		static const uint32_t removed[] = {4, 5, 31, 32, 33, 36, 37, 38};
		struct rt t = {"a", 0, 1, {32}, GGUF_GGML_TYPE_COUNT, 0};

		tensor_file(&b, &t, 1, 128);
		expect_reject(&b, GGUF_E_TENSOR_TYPE);
		t.type = 0xffffffffu;
		tensor_file(&b, &t, 1, 128);
		expect_reject(&b, GGUF_E_TENSOR_TYPE);
		for (i = 0; i < 8; i++) {
			t.type = removed[i];
			tensor_file(&b, &t, 1, 128);
			expect_reject(&b, GGUF_E_TENSOR_TYPE_REMOVED);
		}
		t.type = GGUF_GGML_Q4_0;
		t.ne[0] = 33;
		tensor_file(&b, &t, 1, 128);
		expect_reject(&b, GGUF_E_BLOCK_MULTIPLE);
		t.ne[0] = 32;
		tensor_file(&b, &t, 1, 18);
		expect_valid(&b);
	}
	{
		struct rt t[2] = {{"a", 0, 1, {8}, GGUF_GGML_F32, 0},
				  {"a", 0, 1, {8}, GGUF_GGML_F32, 32}};

		tensor_file(&b, t, 2, 64);
		expect_reject(&b, GGUF_E_NAME_DUPLICATE);
		t[1].name = n64;
		tensor_file(&b, t, 2, 64);
		expect_reject(&b, GGUF_E_NAME_TOO_LONG);
		t[1].name = "";
		tensor_file(&b, t, 2, 64);
		expect_reject(&b, GGUF_E_NAME_EMPTY);
		t[1].name = "b\xc0\x80";
		tensor_file(&b, t, 2, 64);
		expect_reject(&b, GGUF_E_UTF8);
		t[1].name = "b\0c";
		t[1].name_len = 3;
		tensor_file(&b, t, 2, 64);
		expect_reject(&b, GGUF_E_UTF8);
	}
	/* Name length past the end; n_dims / dims / type / offset truncated. */
	header(&b, 3, 1, 0);
	p64(&b, UINT64_MAX);
	pzero(&b, 32);
	expect_reject(&b, GGUF_E_STRING_LEN);
	{
		struct rt t = {"abc", 0, 2, {8, 1}, GGUF_GGML_F32, 0};
		size_t cut[] = {8 + 3 + 2, 8 + 3 + 4 + 12, 8 + 3 + 4 + 16 + 6,
				8 + 3 + 4 + 16 + 4 + 7};

		for (i = 0; i < 4; i++) {
			tensor_file(&b, &t, 1, 0);
			b.len = 24 + 8 + 20 + 4 + 8 + 7 + cut[i];
			/* keep the tensor count honest for the bytes left: pad with the 33 floor */
			expect_reject(&b, GGUF_E_TRUNCATED);
		}
	}
	buf_free(&b);
}

/* ---- layout ----------------------------------------------------------------------------- */

static void test_layout(void **state)
{
	struct buf b = BUF_INIT;
	size_t inf_end;

	(void)state;
	two_tensors(&b, 4, 96);
	expect_reject(&b, GGUF_E_MISALIGNED);
	two_tensors(&b, 0, 96);
	expect_reject(&b, GGUF_E_OVERLAP);
	two_tensors(&b, 64, 128);
	expect_reject(&b, GGUF_E_GAP);
	two_tensors(&b, UINT64_MAX - 31, 96); /* aligned, far beyond */
	expect_reject(&b, GGUF_E_GAP);
	two_tensors(&b, UINT64_MAX, 96);
	expect_reject(&b, GGUF_E_MISALIGNED);
	{
		struct rt t[2] = {{"a", 0, 1, {8}, GGUF_GGML_F32, 32},
				  {"b", 0, 1, {16}, GGUF_GGML_F32, 0}};

		tensor_file(&b, t, 2, 96); /* out of order: first offset must be 0 */
		expect_reject(&b, GGUF_E_GAP);
	}
	two_tensors(&b, 32, 95); /* one byte short: ggml's DATA_NOT_ENOUGH_DATA */
	expect_reject(&b, GGUF_E_OUT_OF_FILE);
	two_tensors(&b, 32, 96);
	pzero(&b, 32); /* a whole aligned block after the last tensor */
	expect_reject(&b, GGUF_E_TRAILING);
	two_tensors(&b, 32, 96);
	buf_append(&b,
		   "\x7f"
		   "ELF payload",
		   12);
	expect_reject(&b, GGUF_E_TRAILING);
	/* Nonzero padding: between infos and data, and after the last (short) tensor. */
	two_tensors(&b, 32, 96);
	inf_end = b.len - 96 - 1;
	while (b.data[inf_end] == 0)
		inf_end--;
	/* b.data[inf_end] is the last byte of the last info (offset 32's low byte = 0x20);
	 * the padding starts right after it if there is any. */
	if ((inf_end + 1) % 32 != 0) {
		b.data[b.len - 96 - 1] = 1;
		expect_reject(&b, GGUF_E_PADDING);
	}
	{
		struct rt t[2] = {{"a", 0, 1, {3}, GGUF_GGML_F32, 0},
				  {"b", 0, 1, {3}, GGUF_GGML_F32, 32}};

		tensor_file(&b, t, 2, 64);
		memset(b.data + b.len - 64 + 12, 0, 20); /* padding after a */
		memset(b.data + b.len - 32 + 12, 0, 20); /* padding after b */
		expect_valid(&b);
		b.data[b.len - 64 + 20] = 0x5a;
		expect_reject(&b, GGUF_E_PADDING);
		b.data[b.len - 64 + 20] = 0;
		b.data[b.len - 1] = 0x5a;
		expect_reject(&b, GGUF_E_PADDING);
	}
	buf_free(&b);
}

/* Every prefix of a valid file is rejected, with a truncation-family reason. */
static void test_truncated_every_prefix(void **state)
{
	struct mp p = mp_default("llama");
	struct buf b = BUF_INIT, cut = BUF_INIT;
	struct gguf_file *f = NULL;
	uint64_t data_off;
	size_t len;

	(void)state;
	build_model(&p, &b);
	assert_int_equal(gguf_open_buffer(b.data, b.len, &f, NULL), 0);
	data_off = gguf_data_offset(f);
	gguf_close(f);
	for (len = 0; len < b.len; len++) {
		struct gguf_report r = GGUF_REPORT_INIT;
		int rc = gguf_open_buffer(b.data, len, &f, &r);
		bool ok;

		assert_int_equal(rc, 1);
		if (len >= data_off)
			ok = gguf_report_has(&r, GGUF_E_OUT_OF_FILE);
		else
			ok = gguf_report_has(&r, GGUF_E_TRUNCATED) ||
			     gguf_report_has(&r, GGUF_E_STRING_LEN) ||
			     gguf_report_has(&r, GGUF_E_ARRAY_COUNT) ||
			     gguf_report_has(&r, GGUF_E_N_KV) ||
			     gguf_report_has(&r, GGUF_E_N_TENSORS) ||
			     gguf_report_has(&r, GGUF_E_OUT_OF_FILE);
		if (!ok) {
			fprintf(stderr, "prefix of %zu bytes (data at %llu):\n", len,
				(unsigned long long)data_off);
			gguf_report_print(&r, stderr);
		}
		assert_true(ok);
		gguf_report_free(&r);
	}
	buf_free(&cut);
	buf_free(&b);
}

/* ---- architecture ----------------------------------------------------------------------- */

static void arch_case_(struct mp p, enum gguf_err code, const char *what, int line)
{
	struct buf b = BUF_INIT;

	build_model(&p, &b);
	expect_reject_(&b, code, what, line);
	buf_free(&b);
}
#define arch_case(p, code) arch_case_((p), (code), #code, __LINE__)

static void test_arch(void **state)
{
	struct mp p;

	(void)state;
	p = mp_default("llama"), p.omit_key = "embedding_length";
	arch_case(p, GGUF_E_HPARAM_MISSING);
	p = mp_default("qwen2"), p.omit_key = "attention.head_count_kv";
	arch_case(p, GGUF_E_HPARAM_MISSING);
	p = mp_default("llama"), p.omit_key = "attention.layer_norm_rms_epsilon";
	arch_case(p, GGUF_E_HPARAM_MISSING);
	p = mp_default("qwen3"), p.omit_key = "context_length";
	arch_case(p, GGUF_E_HPARAM_MISSING);
	p = mp_default("llama"), p.block_count_str = true;
	arch_case(p, GGUF_E_HPARAM_TYPE);
	{
		/* head_count 0 (build_model would divide by it): a hand-made file */
		struct buf b = BUF_INIT;
		struct gguf_writer *w = gguf_writer_new();

		assert_int_equal(gguf_writer_add_str(w, "general.architecture", "llama"), 0);
		assert_int_equal(gguf_writer_add_u32(w, "llama.attention.head_count", 0), 0);
		assert_int_equal(gguf_writer_to_buf(w, &b), 0);
		expect_reject(&b, GGUF_E_HPARAM_VALUE);
		expect_reject(&b, GGUF_E_HPARAM_MISSING);
		gguf_writer_free(w);
		buf_free(&b);
	}
	p = mp_default("llama"), p.n_head = 3; /* does not divide 32 */
	p.n_head_kv = 3;
	{
		struct buf b = BUF_INIT;

		build_model(&p, &b);
		expect_reject(&b, GGUF_E_HPARAM_VALUE);
		buf_free(&b);
	}
	p = mp_default("llama"), p.n_head_kv = 3; /* does not divide 4 */
	arch_case(p, GGUF_E_HPARAM_VALUE);
	p = mp_default("llama"), p.eps = NAN;
	arch_case(p, GGUF_E_HPARAM_VALUE);
	p = mp_default("llama"), p.eps = 0;
	arch_case(p, GGUF_E_HPARAM_VALUE);
	p = mp_default("llama"), p.n_layer = 1000000000; /* more layers than tensors */
	arch_case(p, GGUF_E_HPARAM_VALUE);
	p = mp_default("llama"), p.n_layer = 2; /* blk.1.* absent */
	arch_case(p, GGUF_E_TENSOR_MISSING);
	p = mp_default("llama"), p.omit_tensor = "blk.0.ffn_down.weight";
	arch_case(p, GGUF_E_TENSOR_MISSING);
	p = mp_default("llama"), p.omit_tensor = "output_norm.weight";
	arch_case(p, GGUF_E_TENSOR_MISSING);
	p = mp_default("qwen2"), p.omit_tensor = "blk.0.attn_k.bias";
	arch_case(p, GGUF_E_TENSOR_MISSING);
	p = mp_default("qwen3"), p.omit_tensor = "blk.0.attn_q_norm.weight";
	arch_case(p, GGUF_E_TENSOR_MISSING);
	p = mp_default("llama"), p.q_rows = 16;
	arch_case(p, GGUF_E_TENSOR_SHAPE);
	p = mp_default("llama"), p.extra_tensor = "payload.bin";
	arch_case(p, GGUF_E_TENSOR_UNEXPECTED);
	p = mp_default("qwen2"), p.extra_tensor = "blk.0.attn_q_norm.weight";
	arch_case(p, GGUF_E_TENSOR_UNEXPECTED);
	/* Vocabulary. */
	p = mp_default("llama"), p.n_tokens = 31, p.n_scores = 31;
	arch_case(p, GGUF_E_VOCAB);
	p = mp_default("llama"), p.embd_rows = 30;
	arch_case(p, GGUF_E_VOCAB);
	p = mp_default("llama"), p.n_scores = 30;
	arch_case(p, GGUF_E_VOCAB);
	p = mp_default("llama"), p.scores_type = GGUF_TYPE_UINT8; /* llama.cpp PR #26690 */
	arch_case(p, GGUF_E_TOKENIZER_TYPE);
	p = mp_default("llama"), p.bos = 32;
	arch_case(p, GGUF_E_VOCAB);
	p = mp_default("llama"), p.vocab_size_kv = 33;
	arch_case(p, GGUF_E_VOCAB);
	p = mp_default("llama"), p.vocab_size_kv = 32;
	{
		struct buf b = BUF_INIT;

		build_model(&p, &b);
		expect_valid(&b);
		buf_free(&b);
	}
	p = mp_default("llama"), p.arch_value = "";
	arch_case(p, GGUF_E_ARCH_MISSING);
	p = mp_default("llama"), p.arch_value = "Llama!";
	arch_case(p, GGUF_E_ARCH_NAME);
	/* An unknown architecture is checked for structure only. */
	p = mp_default("llama"), p.arch_value = "mamba";
	{
		struct buf b = BUF_INIT;

		build_model(&p, &b);
		expect_valid(&b);
		buf_free(&b);
	}
}

/* ---- report ----------------------------------------------------------------------------- */

static void test_report_collects_all(void **state)
{
	struct gguf_report r = GGUF_REPORT_INIT;
	struct gguf_file *f = NULL;
	struct buf b = BUF_INIT;
	size_t i;

	(void)state;
	kv_file(&b, 4);
	pstr(&b, "x.b");
	p32(&b, GGUF_TYPE_BOOL);
	buf_append_char(&b, 7);
	pstr(&b, "x.s");
	p32(&b, GGUF_TYPE_STRING);
	pstr(&b, "\xed\xa0\x80");
	pstr(&b, "x.b");
	p32(&b, GGUF_TYPE_UINT8);
	buf_append_char(&b, 0);
	assert_int_equal(gguf_open_buffer(b.data, b.len, &f, &r), 1);
	assert_true(gguf_report_has(&r, GGUF_E_BOOL));
	assert_true(gguf_report_has(&r, GGUF_E_UTF8));
	assert_true(gguf_report_has(&r, GGUF_E_KEY_DUPLICATE));
	for (i = 0; i < r.n; i++)
		assert_non_null(strstr(r.items[i].msg, "offset "));
	gguf_report_free(&r);

	/* 1000 bad bools: 256 kept, the rest counted. */
	kv_file(&b, 1001);
	for (i = 0; i < 1000; i++) {
		char k[16];

		snprintf(k, sizeof(k), "k.%zu", i);
		pstr(&b, k);
		p32(&b, GGUF_TYPE_BOOL);
		buf_append_char(&b, 9);
	}
	assert_int_equal(gguf_open_buffer(b.data, b.len, &f, &r), 1);
	assert_int_equal(r.n, GGUF_REPORT_MAX);
	assert_int_equal(r.n + r.n_dropped, 1000);
	gguf_report_free(&r);

	/* KEEP_INVALID: the handle survives, data pointers do not. */
	two_tensors(&b, 32, 97);
	assert_int_equal(gguf_open_buffer_ex(b.data, b.len, GGUF_OPEN_KEEP_INVALID, &f, &r), 1);
	assert_non_null(f);
	assert_false(gguf_is_valid(f));
	assert_int_equal(gguf_n_tensors(f), 2);
	assert_null(gguf_tensor_at(f, 0)->data);
	gguf_close(f);
	gguf_report_free(&r);
	assert_string_equal(gguf_err_id(GGUF_E_TRUNCATED), "truncated");
	for (i = 0; i < GGUF_E_COUNT; i++)
		assert_non_null(gguf_err_id((enum gguf_err)i));
	buf_free(&b);
}

static void test_type_table(void **state)
{
	static const struct {
		uint32_t id;
		const char *name;
		uint32_t bs, ts;
	} want[] = {
	    {0, "F32", 1, 4},	      {1, "F16", 1, 2},		{2, "Q4_0", 32, 18},
	    {3, "Q4_1", 32, 20},      {6, "Q5_0", 32, 22},	{7, "Q5_1", 32, 24},
	    {8, "Q8_0", 32, 34},      {9, "Q8_1", 32, 36},	{10, "Q2_K", 256, 84},
	    {11, "Q3_K", 256, 110},   {12, "Q4_K", 256, 144},	{13, "Q5_K", 256, 176},
	    {14, "Q6_K", 256, 210},   {15, "Q8_K", 256, 292},	{16, "IQ2_XXS", 256, 66},
	    {17, "IQ2_XS", 256, 74},  {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},
	    {20, "IQ4_NL", 32, 18},   {21, "IQ3_S", 256, 110},	{22, "IQ2_S", 256, 82},
	    {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1},		{25, "I16", 1, 2},
	    {26, "I32", 1, 4},	      {27, "I64", 1, 8},	{28, "F64", 1, 8},
	    {29, "IQ1_M", 256, 56},   {30, "BF16", 1, 2},	{34, "TQ1_0", 256, 54},
	    {35, "TQ2_0", 256, 66},
	};
	static const uint32_t removed[] = {4, 5, 31, 32, 33, 36, 37, 38};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct gguf_type_info *t = gguf_type_info(want[i].id);

		assert_true(t->known);
		assert_string_equal(t->name, want[i].name);
		assert_int_equal(t->block_size, want[i].bs);
		assert_int_equal(t->type_size, want[i].ts);
	}
	for (i = 0; i < 8; i++) {
		assert_false(gguf_type_info(removed[i])->known);
		assert_true(gguf_type_info(removed[i])->removed);
	}
	assert_false(gguf_type_info(GGUF_GGML_TYPE_COUNT)->known);
	assert_false(gguf_type_info(0xffffffffu)->known);
}

/* ---- files on disk ---------------------------------------------------------------------- */

static void test_open_path(void **state)
{
	struct mp p = mp_default("qwen2");
	struct gguf_report r = GGUF_REPORT_INIT;
	struct gguf_writer *w = gguf_writer_new();
	struct gguf_file *f = NULL;
	struct buf b = BUF_INIT;
	char path[] = "/tmp/hB_test_gguf.XXXXXX";
	int fd;

	(void)state;
	build_model(&p, &b);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
	close(fd);
	assert_int_equal(gguf_open(path, &f, &r), 0);
	assert_int_equal(gguf_file_size(f), b.len);
	assert_memory_equal(gguf_find_tensor(f, "blk.0.attn_q.bias")->data,
			    b.data + gguf_find_tensor(f, "blk.0.attn_q.bias")->file_offset, 128);
	gguf_close(f);
	/* The streaming writer gives the same bytes. */
	assert_int_equal(gguf_writer_add_str(w, "general.architecture", "rawtest"), 0);
	assert_int_equal(
	    gguf_writer_add_tensor(w, "z", GGUF_GGML_Q8_0, 2, (uint64_t[]){64, 3}, NULL), 0);
	assert_int_equal(gguf_writer_to_file(w, path), 0);
	assert_int_equal(gguf_open(path, &f, &r), 0);
	assert_int_equal(gguf_find_tensor(f, "z")->nbytes, 2 * 34 * 3);
	gguf_close(f);
	gguf_writer_free(w);
	/* Empty file, missing file, a directory. */
	fd = open(path, O_WRONLY | O_TRUNC);
	close(fd);
	assert_int_equal(gguf_open(path, &f, &r), 1);
	assert_true(gguf_report_has(&r, GGUF_E_TRUNCATED));
	unlink(path);
	assert_int_equal(gguf_open(path, &f, &r), -1);
	assert_true(gguf_report_has(&r, GGUF_E_IO));
	assert_int_equal(gguf_open("/tmp", &f, &r), -1);
	assert_null(f);
	gguf_report_free(&r);
	buf_free(&b);
}

/* kB of 2 MiB mappings of path in this process (FilePmdMapped in /proc/self/smaps), -1 if none
 * is listed. */
static long smaps_pmd_kb(const char *path)
{
	FILE *fp = fopen("/proc/self/smaps", "r");
	char line[512];
	long kb = -1, v;
	int in = 0;

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strstr(line, path) != NULL)
			in = 1;
		else if (in && sscanf(line, "FilePmdMapped: %ld kB", &v) == 1) {
			kb = (kb < 0 ? 0 : kb) + v;
			in = 0;
		}
	}
	fclose(fp);
	return kb;
}

/* GGUF_OPEN_HUGEPAGES parses the same file the same way; where the kernel gives 2 MiB pages for
 * file mappings (THP not "never", a filesystem with large folios), the tensor data read through a
 * fresh mapping of uncached data lands in them. Where it does not, that is said and not failed:
 * the flag is advice. */
static void test_open_hugepages(void **state)
{
	struct gguf_report r = GGUF_REPORT_INIT;
	struct gguf_writer *w = gguf_writer_new();
	struct gguf_file *f = NULL, *g = NULL;
	const struct gguf_tensor_info *t, *u;
	char path[] = "/tmp/hB_test_gguf_huge.XXXXXX";
	const uint8_t *d;
	uint64_t i, sum = 0;
	long kb;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(gguf_writer_add_str(w, "general.architecture", "rawtest"), 0);
	assert_int_equal(
	    gguf_writer_add_tensor(w, "z", GGUF_GGML_Q8_0, 2, (uint64_t[]){4096, 2048}, NULL), 0);
	assert_int_equal(gguf_writer_to_file(w, path), 0);
	gguf_writer_free(w);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	(void)fdatasync(fd);				    /* clean pages can be dropped */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); /* uncached: filled through the map */
	close(fd);
	assert_int_equal(gguf_open_ex(path, GGUF_OPEN_HUGEPAGES, &f, &r), 0);
	t = gguf_find_tensor(f, "z");
	assert_non_null(t);
	assert_int_equal(t->nbytes, (uint64_t)4352 * 2048);
	for (d = (const uint8_t *)t->data, i = 0; i < t->nbytes; i += 4096)
		sum += d[i];
	kb = smaps_pmd_kb(path);
	assert_int_equal(gguf_open(path, &g, &r), 0);
	u = gguf_find_tensor(g, "z");
	assert_non_null(u);
	assert_int_equal(t->file_offset, u->file_offset);
	assert_int_equal(gguf_file_size(f), gguf_file_size(g));
	assert_memory_equal(t->data, u->data, (size_t)t->nbytes);
	if (kb > 0)
		printf("GGUF_OPEN_HUGEPAGES: %ld kB of the file mapped in 2 MiB pages\n", kb);
	else
		printf(
		    "SKIP (advice only): this kernel or filesystem mapped no 2 MiB pages for the "
		    "file (FilePmdMapped %ld; /sys/kernel/mm/transparent_hugepage/enabled)\n",
		    kb);
	gguf_close(f);
	gguf_close(g);
	gguf_report_free(&r);
	unlink(path);
	assert_int_equal(sum, 0);
}

static void test_reference_models(void **state)
{
	char dir[4096], path[8192];
	struct dirent *de;
	DIR *d;
	int n = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/llamacpp-ref/models", shared_dir());
	d = opendir(dir);
	if (d == NULL) {
		printf("SKIP: reference models (SECAI_SHARED not found: %s)\n", dir);
		skip();
	}
	while ((de = readdir(d)) != NULL) {
		struct gguf_report r = GGUF_REPORT_INIT;
		struct gguf_file *f = NULL;
		size_t len = strlen(de->d_name), i;
		const struct gguf_kv *kv;
		uint64_t cnt, total = 0;
		const char *s;
		size_t sl;

		if (len < 5 || strcmp(de->d_name + len - 5, ".gguf") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (gguf_open(path, &f, &r) != 0) {
			fprintf(stderr, "%s:\n", path);
			gguf_report_print(&r, stderr);
			fail();
		}
		kv = gguf_find_kv(f, "tokenizer.ggml.tokens");
		assert_int_equal(gguf_kv_array_info(kv, NULL, &cnt), 0);
		assert_int_equal(gguf_find_tensor(f, "token_embd.weight")->ne[1], cnt);
		assert_int_equal(gguf_kv_array_str(kv, cnt - 1, &s, &sl), 0);
		for (i = 0; i < gguf_n_tensors(f); i++) {
			assert_non_null(gguf_tensor_at(f, i)->data);
			total += gguf_tensor_at(f, i)->nbytes;
		}
		assert_true(total <= gguf_file_size(f));
		gguf_close(f);
		gguf_report_free(&r);
		n++;
	}
	closedir(d);
	printf("reference models: %d accepted\n", n);
	assert_int_equal(n, 20);
}

/* Manifest entries: a GGUF-described file gets its expected verdict; every other file (pickle,
 * zip, safetensors, signatures) must be refused by the reader — it is not GGUF. */
static void test_scanner_samples(void **state)
{
	char path[8192];
	json_error_t err;
	json_t *m, *entries, *e;
	size_t i;
	int n_gguf = 0, n_other = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/scanner-samples/manifest.json", shared_dir());
	m = json_load_file(path, 0, &err);
	if (m == NULL) {
		printf("SKIP: scanner samples (SECAI_SHARED not found: %s)\n", path);
		skip();
	}
	entries = json_object_get(m, "entries");
	assert_true(json_is_array(entries));
	json_array_foreach(entries, i, e)
	{
		const char *rel = json_string_value(json_object_get(e, "path"));
		const char *fmt = json_string_value(json_object_get(e, "format"));
		const char *verdict = json_string_value(json_object_get(e, "expected_verdict"));
		struct gguf_report r = GGUF_REPORT_INIT;
		struct gguf_file *f = NULL;
		int rc;

		assert_non_null(rel);
		snprintf(path, sizeof(path), "%s/scanner-samples/%s", shared_dir(), rel);
		rc = gguf_open(path, &f, &r);
		if (fmt && strcasestr(fmt, "gguf") != NULL) {
			bool accept = verdict && strcmp(verdict, "accept") == 0;

			n_gguf++;
			if ((rc == 0) != accept) {
				fprintf(stderr, "%s: expected %s\n", rel, verdict);
				gguf_report_print(&r, stderr);
				fail();
			}
		} else {
			n_other++;
			if (rc == 0) {
				fprintf(stderr, "%s (%s) accepted as GGUF\n", rel, fmt);
				fail();
			}
			if (rc == 1 && !gguf_report_has(&r, GGUF_E_BAD_MAGIC) &&
			    !gguf_report_has(&r, GGUF_E_TRUNCATED)) {
				gguf_report_print(&r, stderr);
				fail();
			}
		}
		gguf_close(f);
		gguf_report_free(&r);
	}
	printf("scanner samples: %d GGUF entries judged, %d non-GGUF refused\n", n_gguf, n_other);
	json_decref(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_generated),
	    cmocka_unit_test(test_valid_layouts),
	    cmocka_unit_test(test_header),
	    cmocka_unit_test(test_kv),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_alignment),
	    cmocka_unit_test(test_tensor_infos),
	    cmocka_unit_test(test_layout),
	    cmocka_unit_test(test_truncated_every_prefix),
	    cmocka_unit_test(test_arch),
	    cmocka_unit_test(test_report_collects_all),
	    cmocka_unit_test(test_type_table),
	    cmocka_unit_test(test_open_path),
	    cmocka_unit_test(test_open_hugepages),
	    cmocka_unit_test(test_reference_models),
	    cmocka_unit_test(test_scanner_samples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
