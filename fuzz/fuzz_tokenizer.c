/*
 * fuzz_tokenizer.c — libFuzzer harness: tokenizes arbitrary bytes (valid and invalid UTF-8) with
 * small built-in SPM and BPE vocabularies (every BPE pre-tokenizer), decodes the ids back, and
 * checks the round trip and that the streaming decoder only ever emits valid UTF-8.
 *
 * Input: byte 0 picks the vocabulary and flags (bits 0-2 vocab, bit 3 add_special, bit 4
 * parse_special); the rest is the text. Never: writes files or keeps state across inputs other
 * than the read-only vocabularies built once in LLVMFuzzerInitialize.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gguf/gguf.h"
#include "tokenizer/tok.h"
#include "tokenizer/unicode.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_VOCABS 6
static struct tok_vocab *vocabs[N_VOCABS]; /* read-only after LLVMFuzzerInitialize */

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_tokenizer: %s\n", what);
		abort();
	}
}

static void add(struct tok_vocab *v, const char *s, float score, int type)
{
	check(tok_vocab_add_token(v, s, strlen(s), score, type) == 0, "add token");
}

static struct tok_vocab *make_spm(void)
{
	static const char *pieces[] = {
	    "\xe2\x96\x81", "a", "b", "ab", "\342\226\201a", "\342\226\201ab", "ba", "aba",
	    "\xc3\xa9",	    "<", "s", ">"};
	struct tok_vocab *v;
	char hex[8];
	size_t i;

	check(tok_vocab_new(TOK_MODEL_SPM, NULL, 0, &v) == 0, "new spm");
	add(v, "<unk>", 0, 2);
	add(v, "<s>", 0, 3);
	add(v, "</s>", 0, 3);
	for (i = 0; i < 256; i++) {
		snprintf(hex, sizeof(hex), "<0x%02zX>", i);
		add(v, hex, 0, 6);
	}
	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
		add(v, pieces[i], -(float)i, 1);
	add(v, "<tool>", 0, 4);
	tok_vocab_set_add_eos(v, true);
	check(tok_vocab_finish(v) == 0, "finish spm");
	return v;
}

static struct tok_vocab *make_bpe(const char *pre)
{
	static const char *merges[] = {"a b",
				       "\xc4\xa0 a",
				       "ab a",
				       "\304\240a b",
				       "1 2",
				       "12 3",
				       "\xc4\x8a \xc4\x8a",
				       "\xc4\xa0 \xc4\xa0",
				       "b a"};
	static const char *pieces[] = {"ab",
				       "\304\240a",
				       "aba",
				       "\304\240ab",
				       "12",
				       "123",
				       "\xc4\x8a\xc4\x8a",
				       "\xc4\xa0\xc4\xa0",
				       "ba"};
	struct tok_vocab *v;
	char u8[4];
	size_t i, n;

	check(tok_vocab_new(TOK_MODEL_BPE, pre, strlen(pre), &v) == 0, "new bpe");
	for (i = 0; i < 256; i++) {
		n = unicode_encode(unicode_byte_to_cp((unsigned char)i), u8);
		check(tok_vocab_add_token(v, u8, n, 0, 1) == 0, "byte token");
	}
	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
		add(v, pieces[i], 0, 1);
	add(v, "<|end|>", 0, 3);
	add(v, "<think>", 0, 4);
	for (i = 0; i < sizeof(merges) / sizeof(merges[0]); i++)
		check(tok_vocab_add_merge(v, merges[i], strlen(merges[i])) == 0, "merge");
	check(tok_vocab_finish(v) == 0, "finish bpe");
	return v;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vocabs[0] = make_spm();
	vocabs[1] = make_bpe("gpt-2");
	vocabs[2] = make_bpe("llama-bpe");
	vocabs[3] = make_bpe("qwen2");
	vocabs[4] = make_bpe("smollm");
	vocabs[5] = make_bpe("default");
	return 0;
}

static int contains(const uint8_t *s, size_t n, const char *needle)
{
	return memmem(s, n, needle, strlen(needle)) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tok_ids ids = TOK_IDS_INIT;
	struct buf raw = BUF_INIT, text = BUF_INIT;
	struct tok_decoder d;
	const struct tok_vocab *v;
	bool add_special, parse_special, spm;
	size_t i;
	int r;

	if (size == 0)
		return 0;
	v = vocabs[(data[0] & 7) % N_VOCABS];
	add_special = data[0] & 8;
	parse_special = data[0] & 16;
	spm = tok_vocab_model(v) == TOK_MODEL_SPM;
	data++;
	size--;

	r = tok_tokenize(v, data, size, add_special, parse_special, &ids);
	if (r == TOK_E_UTF8) { /* only BPE, only for code points above U+10FFFF */
		check(!spm && ids.n == 0, "utf8 error");
		tok_ids_free(&ids);
		return 0;
	}
	check(r == 0, "tokenize failed");
	tok_decoder_init(&d);
	for (i = 0; i < ids.n; i++) {
		check(ids.ids[i] >= 0 && (size_t)ids.ids[i] < tok_vocab_n_tokens(v), "id range");
		check(tok_piece(v, ids.ids[i], true, &raw) == 0, "piece");
		check(tok_decoder_push(&d, v, ids.ids[i], true, &text) == 0, "decoder");
	}
	check(tok_decoder_flush(&d, &text) == 0, "flush");
	check(text.len == 0 || gguf_utf8_valid(text.data, text.len), "decoder output not UTF-8");

	/* Round trip where llama.cpp's tokenizers are lossless: valid UTF-8 input, no special
	 * tokens involved (their text may also occur in the input), no literal "▁" for SPM. */
	if (!add_special && !parse_special && gguf_utf8_valid(data, size) &&
	    !contains(data, size, "<tool>") && !contains(data, size, "<think>") &&
	    !(spm && contains(data, size, "\xe2\x96\x81"))) {
		size_t off = spm && size > 0; /* SPM adds the leading space */

		check(raw.len == size + off, "round trip length");
		check(size == 0 || memcmp(raw.data + off, data, size) == 0, "round trip bytes");
	}
	tok_ids_free(&ids);
	buf_free(&raw);
	buf_free(&text);
	return 0;
}
