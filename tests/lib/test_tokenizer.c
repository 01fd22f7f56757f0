/*
 * test_tokenizer.c — the tokenizers against llama.cpp: its own test vectors
 * ($SECAI_SHARED/llamacpp-ref/tokenizer/{llama-spm,qwen2,deepseek-r1-qwen,llama-bpe}.json, every
 * case must give llama.cpp's ids) with the vocabularies of the reference models, plus tiny
 * hand-made SPM and BPE vocabularies so the core (merging, byte fallback, special tokens, the
 * pre-tokenizers, invalid UTF-8, decoding and the streaming decoder) is covered without them.
 * Never: writes anywhere; skips loudly when $SECAI_SHARED is absent.
 */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gguf/gguf.h"
#include "testutil.h"
#include "tokenizer/tok.h"
#include "tokenizer/tok_impl.h"
#include "tokenizer/unicode.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static void expect_ids(const struct tok_vocab *v, const char *text, size_t len, bool add_special,
		       bool parse_special, const tok_id *want, size_t nwant)
{
	struct tok_ids ids = TOK_IDS_INIT;
	size_t i;

	assert_int_equal(tok_tokenize(v, text, len, add_special, parse_special, &ids), 0);
	if (ids.n != nwant) {
		printf("text '%.*s': got %zu ids:", (int)len, text, ids.n);
		for (i = 0; i < ids.n; i++)
			printf(" %d", ids.ids[i]);
		printf("\n");
	}
	assert_int_equal(ids.n, nwant);
	for (i = 0; i < nwant; i++)
		assert_int_equal(ids.ids[i], want[i]);
	tok_ids_free(&ids);
}

#define EXPECT(v, text, add, parse, ...)                                                           \
	do {                                                                                       \
		static const tok_id want_[] = {__VA_ARGS__};                                       \
		expect_ids(v, text, strlen(text), add, parse, want_,                               \
			   sizeof(want_) / sizeof(want_[0]));                                      \
	} while (0)

static void add(struct tok_vocab *v, const char *text, float score, int type)
{
	assert_int_equal(tok_vocab_add_token(v, text, strlen(text), score, type), 0);
}

/* Detokenizes ids with the streaming decoder. */
static void decode_all(const struct tok_vocab *v, const struct tok_ids *ids, bool special,
		       struct buf *out)
{
	struct tok_decoder d;
	size_t i;

	tok_decoder_init(&d);
	for (i = 0; i < ids->n; i++)
		assert_int_equal(tok_decoder_push(&d, v, ids->ids[i], special, out), 0);
	assert_int_equal(tok_decoder_flush(&d, out), 0);
}

/* ---- a tiny SentencePiece vocabulary ------------------------------------------------------ */

#define SP "\xe2\x96\x81"

/* ids: 0 <unk>, 1 <s>, 2 </s>, 3..258 <0x00>..<0xFF>, then pieces. */
static struct tok_vocab *tiny_spm(void)
{
	struct tok_vocab *v;
	char hex[8];
	int b;

	assert_int_equal(tok_vocab_new(TOK_MODEL_SPM, NULL, 0, &v), 0);
	add(v, "<unk>", 0, TOK_TYPE_UNKNOWN);
	add(v, "<s>", 0, TOK_TYPE_CONTROL);
	add(v, "</s>", 0, TOK_TYPE_CONTROL);
	for (b = 0; b < 256; b++) {
		snprintf(hex, sizeof(hex), "<0x%02X>", b);
		add(v, hex, 0, TOK_TYPE_BYTE);
	}
	add(v, SP, -1, TOK_TYPE_NORMAL);	    /* 259 */
	add(v, "h", -2, TOK_TYPE_NORMAL);	    /* 260 */
	add(v, "e", -2, TOK_TYPE_NORMAL);	    /* 261 */
	add(v, "l", -2, TOK_TYPE_NORMAL);	    /* 262 */
	add(v, "o", -2, TOK_TYPE_NORMAL);	    /* 263 */
	add(v, "he", -3, TOK_TYPE_NORMAL);	    /* 264 */
	add(v, "ll", -1.5f, TOK_TYPE_NORMAL);	    /* 265 */
	add(v, "llo", -4, TOK_TYPE_NORMAL);	    /* 266 */
	add(v, SP "he", -5, TOK_TYPE_NORMAL);	    /* 267 */
	add(v, SP "hello", -6, TOK_TYPE_NORMAL);    /* 268 */
	add(v, "hello", -7, TOK_TYPE_NORMAL);	    /* 269 */
	add(v, "\xc3\xa9", -2, TOK_TYPE_NORMAL);    /* 270 é */
	add(v, "<tool>", 0, TOK_TYPE_USER_DEFINED); /* 271 */
	add(v, "w", -2, TOK_TYPE_NORMAL);	    /* 272 */
	assert_int_equal(tok_vocab_finish(v), 0);
	return v;
}

static void test_spm_merges(void **state)
{
	struct tok_vocab *v = tiny_spm();

	(void)state;
	/* " hello": ▁ h e l l o -> ll(-1.5) first, then he(-3), llo(-4), ▁he(-5), ▁hello(-6). */
	EXPECT(v, "hello", false, false, 268);
	EXPECT(v, "hello hello", false, false, 268, 268);
	/* No leading space inside the text when add_space_prefix is on: only one ▁ prefix. */
	EXPECT(v, " hello", false, false, 259, 268);
	EXPECT(v, "", false, false);
	EXPECT(v, "", true, false, 1);
	EXPECT(v, "hello", true, false, 1, 268);
	tok_vocab_free(v);
}

static void test_spm_byte_fallback(void **state)
{
	struct tok_vocab *v = tiny_spm();

	(void)state;
	/* 'x' is not a piece: <0x78>; 'é' is; '€' (E2 82 AC) is not: three byte tokens. */
	EXPECT(v, "x", false, false, 259, 3 + 'x');
	EXPECT(v, "\xc3\xa9", false, false, 259, 270);
	EXPECT(v, "\xe2\x82\xac", false, false, 259, 3 + 0xE2, 3 + 0x82, 3 + 0xAC);
	/* Invalid UTF-8 goes through the same byte fallback, never a crash. */
	EXPECT(v, "\xff\xc3", false, false, 259, 3 + 0xFF, 3 + 0xC3);
	EXPECT(v, "\x80w", false, false, 259, 3 + 0x80, 272);
	tok_vocab_free(v);
}

static void test_spm_special(void **state)
{
	struct tok_vocab *v = tiny_spm();

	(void)state;
	/* Control text is plain text without parse_special ... */
	EXPECT(v, "<s>", false, false, 259, 3 + '<', 3 + 's', 3 + '>');
	/* ... and the token with it; the text after a special token gets the space prefix. */
	EXPECT(v, "<s>hello", false, true, 1, 268);
	EXPECT(v, "hello</s>", false, true, 268, 2);
	/* User-defined tokens are always split out. */
	EXPECT(v, "he<tool>he", false, false, 267, 271, 267);
	tok_vocab_free(v);
}

static void test_spm_no_space_prefix(void **state)
{
	struct tok_vocab *v = NULL;
	char hex[8];
	int b;

	(void)state;
	assert_int_equal(tok_vocab_new(TOK_MODEL_SPM, NULL, 0, &v), 0);
	add(v, "<unk>", 0, TOK_TYPE_UNKNOWN);
	add(v, "<s>", 0, TOK_TYPE_CONTROL);
	add(v, "</s>", 0, TOK_TYPE_CONTROL);
	for (b = 0; b < 256; b++) {
		snprintf(hex, sizeof(hex), "<0x%02X>", b);
		add(v, hex, 0, TOK_TYPE_BYTE);
	}
	add(v, "hello", -1, TOK_TYPE_NORMAL);
	tok_vocab_set_add_space_prefix(v, false);
	tok_vocab_set_add_eos(v, true);
	assert_int_equal(tok_vocab_finish(v), 0);
	/* No "▁" prefix (and no ▁ token here): the bytes of "hello" between BOS and EOS. */
	EXPECT(v, "hello", true, false, 1, 3 + 'h', 3 + 'e', 3 + 'l', 3 + 'l', 3 + 'o', 2);
	tok_vocab_free(v);
}

/* ---- a tiny byte-level BPE vocabulary ----------------------------------------------------- */

static void add_cp(struct tok_vocab *v, uint32_t cp)
{
	char u8[4];
	size_t n = unicode_encode(cp, u8);

	assert_int_equal(tok_vocab_add_token(v, u8, n, 0, TOK_TYPE_NORMAL), 0);
}

static void merge(struct tok_vocab *v, const char *m)
{
	assert_int_equal(tok_vocab_add_merge(v, m, strlen(m)), 0);
}

/* ids 0..255: the byte tokens (GPT-2 map, in byte order); then merged pieces. */
static struct tok_vocab *tiny_bpe(const char *pre)
{
	struct tok_vocab *v;
	int b;

	assert_int_equal(tok_vocab_new(TOK_MODEL_BPE, pre, strlen(pre), &v), 0);
	for (b = 0; b < 256; b++)
		add_cp(v, unicode_byte_to_cp((unsigned char)b));
	add(v, "he", 0, TOK_TYPE_NORMAL);	     /* 256 */
	add(v, "ll", 0, TOK_TYPE_NORMAL);	     /* 257 */
	add(v, "hell", 0, TOK_TYPE_NORMAL);	     /* 258 */
	add(v, "hello", 0, TOK_TYPE_NORMAL);	     /* 259 */
	add(v, "\xc4\xa0h", 0, TOK_TYPE_NORMAL);     /* 260 "Ġh" */
	add(v, "\xc4\xa0hello", 0, TOK_TYPE_NORMAL); /* 261 */
	add(v, "<|end|>", 0, TOK_TYPE_CONTROL);	     /* 262 */
	add(v, "\xc4\xa0he", 0, TOK_TYPE_NORMAL);    /* 263 */
	add(v, "\xc4\xa0hell", 0, TOK_TYPE_NORMAL);  /* 264 */
	merge(v, "l l");
	merge(v, "h e");
	merge(v, "he ll");
	merge(v, "hell o");
	merge(v, "\xc4\xa0 h");
	merge(v, "\xc4\xa0h e");
	merge(v, "\xc4\xa0he ll");
	merge(v, "\xc4\xa0hell o");
	tok_vocab_set_special(v, TOK_SPECIAL_EOS, 262);
	assert_int_equal(tok_vocab_finish(v), 0);
	return v;
}

static void test_bpe_merges(void **state)
{
	struct tok_vocab *v = tiny_bpe("gpt-2");

	(void)state;
	EXPECT(v, "hello", false, false, 259);
	/* Lowest rank first: "l l" (0) and "h e" (1) win over "Ġ h" (4), and there is no
	 * "Ġ hello" merge, so " hello" stays two tokens although "Ġhello" is one. */
	EXPECT(v, "hello hello", false, false, 259, 32, 259);
	EXPECT(v, " he", false, false, 32, 256);
	EXPECT(v, " h", false, false, 260);
	EXPECT(v, "helo", false, false, 256, 'l', 'o');
	/* gpt-2 pre: "  hello" -> " " + " hello" (\s+(?!\S)). */
	EXPECT(v, "  hello", false, false, 32, 32, 259);
	tok_vocab_free(v);
}

static void test_bpe_special_and_bos(void **state)
{
	struct tok_vocab *v = tiny_bpe("gpt-2");

	(void)state;
	EXPECT(v, "hello<|end|>", false, true, 259, 262);
	/* Without parse_special the control text is split like any text. */
	EXPECT(v, "<|end|>", false, false, '<', '|', 'e', 'n', 'd', '|', '>');
	/* gpt-2 has no add_bos: add_special adds nothing. */
	EXPECT(v, "hello", true, false, 259);
	tok_vocab_free(v);
	v = tiny_bpe("llama-bpe"); /* add_bos = true, BOS defaults to 11 */
	EXPECT(v, "hello", true, false, 11, 259);
	tok_vocab_free(v);
}

static void test_bpe_invalid_utf8(void **state)
{
	struct tok_vocab *v = tiny_bpe("qwen2");
	struct tok_ids ids = TOK_IDS_INIT;

	(void)state;
	/* A lone 0xFF becomes U+FFFD (EF BF BD), byte-level encoded: three byte tokens. */
	EXPECT(v, "\xff", false, false, 0xEF, 0xBF, 0xBD);
	/* An overlong NUL (C0 80) is accepted as U+0000 like llama.cpp. */
	EXPECT(v, "\xc0\x80", false, false, 0);
	/* A truncated sequence: U+FFFD for the lead byte, then the rest. */
	EXPECT(v, "\xe2\x82", false, false, 0xEF, 0xBF, 0xBD, 0xEF, 0xBF, 0xBD);
	/* Above U+10FFFF: llama.cpp throws; we refuse cleanly and leave ids alone. */
	assert_int_equal(tok_tokenize(v, "a\xf7\xbf\xbf\xbf", 5, false, false, &ids), TOK_E_UTF8);
	assert_int_equal(ids.n, 0);
	tok_ids_free(&ids);
	tok_vocab_free(v);
}

static void test_bpe_decode(void **state)
{
	struct tok_vocab *v = tiny_bpe("gpt-2");
	struct tok_ids ids = TOK_IDS_INIT;
	struct buf out = BUF_INIT;
	static const char *texts[] = {"hello hello", "caf\xc3\xa9 \xf0\x9f\xa6\x99 \t\n x",
				      "\x01\x7f\xc2\xa0", ""};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		ids.n = 0;
		out.len = 0;
		assert_int_equal(tok_tokenize(v, texts[i], strlen(texts[i]), false, false, &ids),
				 0);
		decode_all(v, &ids, false, &out);
		assert_int_equal(out.len, strlen(texts[i]));
		assert_memory_equal(out.data ? out.data : "", texts[i], out.len);
	}
	/* Control tokens decode only with special. */
	out.len = 0;
	assert_int_equal(tok_piece(v, 262, false, &out), 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(tok_piece(v, 262, true, &out), 0);
	assert_int_equal(out.len, 7);
	assert_int_equal(tok_piece(v, 99999, true, &out), TOK_E_INVAL);
	tok_ids_free(&ids);
	buf_free(&out);
	tok_vocab_free(v);
}

static void test_spm_decode(void **state)
{
	struct tok_vocab *v = tiny_spm();
	struct tok_ids ids = TOK_IDS_INIT;
	struct buf out = BUF_INIT;

	(void)state;
	/* SPM: "▁" -> ' ', byte tokens -> bytes; the prefix space comes back too. */
	assert_int_equal(tok_tokenize(v, "hello \xe2\x82\xac x", 11, false, false, &ids), 0);
	decode_all(v, &ids, false, &out);
	assert_int_equal(out.len, 12);
	assert_memory_equal(out.data, " hello \xe2\x82\xac x", 12);
	tok_ids_free(&ids);
	buf_free(&out);
	tok_vocab_free(v);
}

static void test_stream_decoder(void **state)
{
	struct tok_decoder d;
	struct buf out = BUF_INIT;

	(void)state;
	/* "€" split across three pushes: nothing until complete. */
	tok_decoder_init(&d);
	assert_int_equal(tok_decoder_feed(&d, "a\xe2", 2, &out), 0);
	assert_int_equal(out.len, 1);
	assert_int_equal(tok_decoder_feed(&d, "\x82", 1, &out), 0);
	assert_int_equal(out.len, 1);
	assert_int_equal(tok_decoder_feed(&d,
					  "\xac"
					  "b",
					  2, &out),
			 0);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.data,
			    "a\xe2\x82\xac"
			    "b",
			    5);
	/* An incomplete sequence broken by ASCII: U+FFFD then the ASCII byte. */
	out.len = 0;
	assert_int_equal(tok_decoder_feed(&d, "\xf0\x9f", 2, &out), 0);
	assert_int_equal(tok_decoder_feed(&d, "z", 1, &out), 0);
	assert_int_equal(out.len, 4);
	assert_memory_equal(out.data, "\xef\xbf\xbdz", 4);
	/* Invalid bytes: one U+FFFD each (maximal subparts); surrogates and overlongs refused. */
	out.len = 0;
	assert_int_equal(tok_decoder_feed(&d, "\xff\xed\xa0\x80\xc0\xaf", 6, &out), 0);
	assert_int_equal(out.len, 6 * 3);
	/* Flush turns a held-back prefix into U+FFFD. */
	out.len = 0;
	assert_int_equal(tok_decoder_feed(&d, "\xe2\x82", 2, &out), 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(tok_decoder_flush(&d, &out), 0);
	assert_int_equal(out.len, 3);
	assert_int_equal(tok_decoder_flush(&d, &out), 0);
	assert_int_equal(out.len, 3);
	buf_free(&out);
}

/* ---- pre-tokenizers --------------------------------------------------------------------- */

/* Splits utf8 with pre and compares the words joined by '|'. */
static void expect_split(enum tok_pre pre, const char *text, const char *want)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t len = strlen(text), off = 0, n = 0, i, j, k, *lens = NULL, nl = 0, cl = 0, start = 0;
	uint32_t cps[256];
	uint16_t fl[256];
	struct buf got = BUF_INIT;
	char u8[4];

	while (off < len) {
		if (unicode_decode_one(s, len, &off, &cps[n]) != 0) {
			cps[n] = UNICODE_REPLACEMENT;
			off++;
		}
		fl[n] = unicode_flags(cps[n]);
		n++;
	}
	assert_int_equal(tok_pre_split(pre, cps, fl, n, &lens, &nl, &cl), 0);
	for (i = 0; i < nl; i++) {
		if (i > 0)
			buf_append_char(&got, '|');
		for (j = start; j < start + lens[i]; j++) {
			k = unicode_encode(cps[j], u8);
			buf_append(&got, u8, k);
		}
		start += lens[i];
	}
	assert_int_equal(start, n);
	if (strcmp(got.data ? got.data : "", want) != 0)
		printf("pre %d: '%s' -> '%s', want '%s'\n", pre, text, got.data, want);
	assert_string_equal(got.data ? got.data : "", want);
	free(lens);
	buf_free(&got);
}

static void test_pre_tokenizers(void **state)
{
	(void)state;
	expect_split(TOK_PRE_GPT2, "Hello world's  12345 !!x", "Hello| world|'s| | 12345| !!|x");
	expect_split(TOK_PRE_GPT2, "a  \n", "a|  \n");
	expect_split(TOK_PRE_GPT2, "I'M", "I|'|M");
	expect_split(TOK_PRE_LLAMA3, "I'M 1234567 x", "I|'M| |123|456|7| x");
	expect_split(TOK_PRE_LLAMA3, "a\n\n  b", "a|\n\n| | b");
	expect_split(TOK_PRE_LLAMA3, "...\n\nb", "...\n\n|b");
	expect_split(TOK_PRE_LLAMA3, "\tfoo", "\tfoo");
	expect_split(TOK_PRE_QWEN2, "x 123", "x| |1|2|3");
	expect_split(TOK_PRE_SMOLLM, "ab12 c", "ab|1|2| c");
	expect_split(TOK_PRE_DEFAULT, "a+=b 12345", "a|+=|b| |123|45");
	/* Non-ASCII: letters, numbers, White_Space. */
	expect_split(TOK_PRE_LLAMA3, "caf\xc3\xa9\xc2\xa0\xd9\xa3x",
		     "caf\xc3\xa9|\xc2\xa0|\xd9\xa3|x");
}

/* ---- conformance with llama.cpp ----------------------------------------------------------- */

static struct tok_vocab *load_model(const char *shared, const char *file)
{
	char path[PATH_MAX], err[256];
	struct gguf_file *f = NULL;
	struct gguf_report rep = GGUF_REPORT_INIT;
	struct tok_vocab *v = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/llamacpp-ref/models/%s", shared, file);
	r = gguf_open(path, &f, &rep);
	if (r != 0)
		gguf_report_print(&rep, stdout);
	assert_int_equal(r, 0);
	gguf_report_free(&rep);
	r = tok_vocab_from_gguf(f, &v, err, sizeof(err));
	if (r != 0)
		printf("%s: %s (%s)\n", file, err, tok_strerror(r));
	assert_int_equal(r, 0);
	gguf_close(f);
	return v;
}

/* Runs every case of one vector file; returns the number that match. */
static size_t run_vectors(const char *shared, const char *name, const char *model, size_t *total)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *root, *tests, *t, *want;
	struct tok_vocab *v = load_model(shared, model);
	struct tok_ids ids = TOK_IDS_INIT;
	size_t i, j, ok = 0;
	const char *text;
	int r;

	snprintf(path, sizeof(path), "%s/llamacpp-ref/tokenizer/%s.json", shared, name);
	root = json_load_file(path, 0, &jerr);
	assert_non_null(root);
	tests = json_object_get(root, "tests");
	assert_true(json_is_array(tests));
	*total = json_array_size(tests);
	json_array_foreach(tests, i, t)
	{
		int match;

		text = json_string_value(json_object_get(t, "text"));
		want = json_object_get(t, "ids");
		assert_non_null(text);
		ids.n = 0;
		r = tok_tokenize(v, text, json_string_length(json_object_get(t, "text")), false,
				 false, &ids);
		match = r == 0 && ids.n == json_array_size(want);
		for (j = 0; match && j < ids.n; j++)
			match = ids.ids[j] == json_integer_value(json_array_get(want, j));
		if (match) {
			ok++;
			continue;
		}
		printf("%s case %zu MISMATCH (r=%d): text '%s'\n  got :", name, i, r, text);
		for (j = 0; j < ids.n; j++)
			printf(" %d", ids.ids[j]);
		printf("\n  want:");
		for (j = 0; j < json_array_size(want); j++)
			printf(" %lld", json_integer_value(json_array_get(want, j)));
		printf("\n");
	}
	printf("conformance %s (%s): %zu/%zu\n", name, model, ok, *total);
	json_decref(root);
	tok_ids_free(&ids);
	tok_vocab_free(v);
	return ok;
}

static void conformance(const char *name, const char *model)
{
	const char *shared = test_shared_dir();
	size_t total = 0, ok;

	if (shared == NULL) {
		printf("SKIP: tokenizer conformance %s (SECAI_SHARED not found)\n", name);
		skip();
	}
	ok = run_vectors(shared, name, model, &total);
	assert_int_equal(total, 46);
	assert_int_equal(ok, total);
}

static void test_conf_llama_spm(void **state)
{
	(void)state;
	conformance("llama-spm", "tiny-llama-spm32k-q4_0.gguf");
}

static void test_conf_llama_spm_llama2(void **state)
{
	(void)state;
	conformance("llama-spm", "llama-2-tiny-random.gguf");
}

static void test_conf_qwen2(void **state)
{
	(void)state;
	conformance("qwen2", "tiny-qwen2-bpe151k-q4_0-pure.gguf");
}

static void test_conf_deepseek_r1_qwen(void **state)
{
	(void)state;
	conformance("deepseek-r1-qwen", "tiny-qwen2-bpe151k-q4_0-pure.gguf");
}

static void test_conf_llama_bpe(void **state)
{
	(void)state;
	conformance("llama-bpe", "tiny-llama3-bpe128k-q4_0-pure.gguf");
}

/* Round trip and special tokens on the real vocabularies. */
static void test_real_roundtrip_and_special(void **state)
{
	static const char *models[] = {"tiny-llama-spm32k-q4_0.gguf",
				       "tiny-qwen2-bpe151k-q4_0-pure.gguf",
				       "tiny-llama3-bpe128k-q4_0-pure.gguf"};
	static const char *text = "Hello, y'all! \xf0\x9f\x98\x81 \xe6\x88\x91\xe6\x83\xb3 \t\n"
				  "  code: x+=1; // \xd0\xbd\xd0\xb5\xd1\x89\xd0\xbe";
	const char *shared = test_shared_dir();
	struct tok_ids ids = TOK_IDS_INIT;
	struct buf out = BUF_INIT;
	size_t m, tl = strlen(text);

	(void)state;
	if (shared == NULL) {
		printf("SKIP: tokenizer round trips (SECAI_SHARED not found)\n");
		skip();
	}
	for (m = 0; m < 3; m++) {
		struct tok_vocab *v = load_model(shared, models[m]);
		bool spm = tok_vocab_model(v) == TOK_MODEL_SPM;

		ids.n = 0;
		out.len = 0;
		assert_int_equal(tok_tokenize(v, text, tl, false, false, &ids), 0);
		decode_all(v, &ids, false, &out);
		assert_int_equal(out.len, tl + spm);
		assert_memory_equal(out.data + spm, text, tl);
		/* The BOS text becomes the BOS id only with parse_special. */
		{
			tok_id bos = tok_vocab_special(v, TOK_SPECIAL_BOS);
			size_t bl;
			const char *bt = tok_vocab_text(v, bos, &bl);
			char in[64];

			assert_non_null(bt);
			assert_true(bl + 2 < sizeof(in));
			memcpy(in, bt, bl);
			memcpy(in + bl, "hi", 2);
			ids.n = 0;
			assert_int_equal(tok_tokenize(v, in, bl + 2, false, true, &ids), 0);
			assert_true(ids.n >= 2);
			assert_int_equal(ids.ids[0], bos);
			ids.n = 0;
			assert_int_equal(tok_tokenize(v, in, bl + 2, false, false, &ids), 0);
			assert_int_not_equal(ids.ids[0], bos);
		}
		tok_vocab_free(v);
	}
	tok_ids_free(&ids);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spm_merges),
	    cmocka_unit_test(test_spm_byte_fallback),
	    cmocka_unit_test(test_spm_special),
	    cmocka_unit_test(test_spm_no_space_prefix),
	    cmocka_unit_test(test_bpe_merges),
	    cmocka_unit_test(test_bpe_special_and_bos),
	    cmocka_unit_test(test_bpe_invalid_utf8),
	    cmocka_unit_test(test_bpe_decode),
	    cmocka_unit_test(test_spm_decode),
	    cmocka_unit_test(test_stream_decoder),
	    cmocka_unit_test(test_pre_tokenizers),
	    cmocka_unit_test(test_conf_llama_spm),
	    cmocka_unit_test(test_conf_llama_spm_llama2),
	    cmocka_unit_test(test_conf_qwen2),
	    cmocka_unit_test(test_conf_deepseek_r1_qwen),
	    cmocka_unit_test(test_conf_llama_bpe),
	    cmocka_unit_test(test_real_roundtrip_and_special),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
