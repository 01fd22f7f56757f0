/*
 * tok_gguf.c — a tokenizer vocabulary from GGUF metadata (tokenizer.ggml.*, general.name).
 *
 * Owns: the one place the tokenizer touches the GGUF API, and llama.cpp's reading of the keys:
 * which are required, their types, and the order overrides apply in. Never: reads tensors, keeps
 * pointers into the GGUF map (everything is copied), or accepts a count it did not check against
 * the token list.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gguf/gguf.h"
#include "tokenizer/tok_impl.h"

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return TOK_E_MODEL;
}

/* Keys in llama.cpp's order: later ones (the deprecated FIM names) win when both are present. */
static const struct {
	const char *key;
	enum tok_special which;
} special_keys[] = {
    {"tokenizer.ggml.bos_token_id", TOK_SPECIAL_BOS},
    {"tokenizer.ggml.eos_token_id", TOK_SPECIAL_EOS},
    {"tokenizer.ggml.eot_token_id", TOK_SPECIAL_EOT},
    {"tokenizer.ggml.eom_token_id", TOK_SPECIAL_EOM},
    {"tokenizer.ggml.unknown_token_id", TOK_SPECIAL_UNK},
    {"tokenizer.ggml.seperator_token_id", TOK_SPECIAL_SEP}, /* sic, as llama.cpp spells it */
    {"tokenizer.ggml.padding_token_id", TOK_SPECIAL_PAD},
    {"tokenizer.ggml.mask_token_id", TOK_SPECIAL_MASK},
    {"tokenizer.ggml.fim_pre_token_id", TOK_SPECIAL_FIM_PRE},
    {"tokenizer.ggml.fim_suf_token_id", TOK_SPECIAL_FIM_SUF},
    {"tokenizer.ggml.fim_mid_token_id", TOK_SPECIAL_FIM_MID},
    {"tokenizer.ggml.fim_pad_token_id", TOK_SPECIAL_FIM_PAD},
    {"tokenizer.ggml.fim_rep_token_id", TOK_SPECIAL_FIM_REP},
    {"tokenizer.ggml.fim_sep_token_id", TOK_SPECIAL_FIM_SEP},
    {"tokenizer.ggml.prefix_token_id", TOK_SPECIAL_FIM_PRE},
    {"tokenizer.ggml.suffix_token_id", TOK_SPECIAL_FIM_SUF},
    {"tokenizer.ggml.middle_token_id", TOK_SPECIAL_FIM_MID},
};

/* An optional bool key: 1/0, -1 absent, -2 wrong type. */
static int opt_bool(const struct gguf_file *f, const char *key)
{
	const struct gguf_kv *kv = gguf_find_kv(f, key);
	bool b;

	if (kv == NULL)
		return -1;
	if (gguf_kv_get_bool(kv, &b) != 0)
		return -2;
	return b;
}

/* An optional array of elem type with exactly n elements: 1 present, 0 absent, -1 bad. */
static int opt_array(const struct gguf_file *f, const char *key, enum gguf_value_type elem,
		     uint64_t n, const struct gguf_kv **out)
{
	const struct gguf_kv *kv = gguf_find_kv(f, key);
	enum gguf_value_type t;
	uint64_t count;

	*out = kv;
	if (kv == NULL)
		return 0;
	if (gguf_kv_array_info(kv, &t, &count) != 0 || t != elem || count != n)
		return -1;
	return 1;
}

static int load(const struct gguf_file *f, struct tok_vocab **out, char *err, size_t errlen)
{
	const struct gguf_kv *kv, *tokens, *scores = NULL, *types = NULL, *merges = NULL;
	const char *s, *pre = NULL;
	size_t slen, pre_len = 0;
	enum gguf_value_type t;
	enum tok_model model;
	uint64_t n, i, nm;
	struct tok_vocab *v;
	float score;
	int32_t type;
	uint32_t id;
	size_t k;
	int r, b;

	kv = gguf_find_kv(f, "tokenizer.ggml.model");
	if (kv == NULL || gguf_kv_get_str(kv, &s, &slen) != 0)
		return fail(err, errlen, "no string tokenizer.ggml.model");
	if (slen == 5 && memcmp(s, "llama", 5) == 0) {
		model = TOK_MODEL_SPM;
	} else if (slen == 4 && memcmp(s, "gpt2", 4) == 0) {
		model = TOK_MODEL_BPE;
	} else {
		if (err != NULL)
			snprintf(err, errlen,
				 "tokenizer.ggml.model '%.*s' is not supported "
				 "(only llama and gpt2)",
				 (int)(slen > 64 ? 64 : slen), s);
		return TOK_E_UNSUPPORTED;
	}
	kv = gguf_find_kv(f, "tokenizer.ggml.pre");
	if (kv != NULL && gguf_kv_get_str(kv, &pre, &pre_len) != 0)
		return fail(err, errlen, "tokenizer.ggml.pre is not a string");
	tokens = gguf_find_kv(f, "tokenizer.ggml.tokens");
	if (tokens == NULL || gguf_kv_array_info(tokens, &t, &n) != 0 || t != GGUF_TYPE_STRING)
		return fail(err, errlen, "no string array tokenizer.ggml.tokens");
	if (n == 0 || n > (1u << 24))
		return fail(err, errlen, "tokenizer.ggml.tokens has %llu entries",
			    (unsigned long long)n);
	if (opt_array(f, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, n, &scores) < 0)
		return fail(err, errlen, "tokenizer.ggml.scores: not %llu f32",
			    (unsigned long long)n);
	if (opt_array(f, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, n, &types) < 0)
		return fail(err, errlen, "tokenizer.ggml.token_type: not %llu i32",
			    (unsigned long long)n);
	if (model == TOK_MODEL_BPE) {
		merges = gguf_find_kv(f, "tokenizer.ggml.merges");
		if (merges == NULL || gguf_kv_array_info(merges, &t, &nm) != 0 ||
		    t != GGUF_TYPE_STRING)
			return fail(err, errlen, "BPE without string array tokenizer.ggml.merges");
	}

	r = tok_vocab_new(model, pre, pre_len, &v);
	if (r == TOK_E_UNSUPPORTED) {
		if (err != NULL)
			snprintf(err, errlen, "tokenizer.ggml.pre '%.*s' is not supported",
				 (int)(pre_len > 64 ? 64 : pre_len), pre);
		return r;
	}
	if (r != 0)
		return r;
	for (i = 0; i < n; i++) {
		score = 0.0f;
		type = TOK_TYPE_NORMAL; /* no token_type array: every token is normal */
		if (gguf_kv_array_str(tokens, i, &s, &slen) != 0 ||
		    (scores != NULL && gguf_kv_array_get_f32(scores, i, &score) != 0) ||
		    (types != NULL && gguf_kv_array_get_i32(types, i, &type) != 0)) {
			r = fail(err, errlen, "tokenizer arrays unreadable at %llu",
				 (unsigned long long)i);
			goto bad;
		}
		if ((r = tok_vocab_add_token(v, s, slen, score, type)) != 0)
			goto bad;
	}
	for (i = 0; merges != NULL && i < nm; i++) {
		if (gguf_kv_array_str(merges, i, &s, &slen) != 0) {
			r = fail(err, errlen, "tokenizer.ggml.merges unreadable at %llu",
				 (unsigned long long)i);
			goto bad;
		}
		if ((r = tok_vocab_add_merge(v, s, slen)) != 0)
			goto bad;
	}
	for (k = 0; k < sizeof(special_keys) / sizeof(special_keys[0]); k++) {
		kv = gguf_find_kv(f, special_keys[k].key);
		if (kv == NULL)
			continue;
		if (gguf_kv_get_u32(kv, &id) != 0) {
			r = fail(err, errlen, "%s is not a u32", special_keys[k].key);
			goto bad;
		}
		tok_vocab_set_special(v, special_keys[k].which, id);
	}
	if ((b = opt_bool(f, "tokenizer.ggml.add_bos_token")) >= 0)
		tok_vocab_set_add_bos(v, b);
	if ((b = opt_bool(f, "tokenizer.ggml.add_eos_token")) >= 0)
		tok_vocab_set_add_eos(v, b);
	if ((b = opt_bool(f, "tokenizer.ggml.add_space_prefix")) >= 0)
		tok_vocab_set_add_space_prefix(v, b);
	if (b == -2 || opt_bool(f, "tokenizer.ggml.add_bos_token") == -2 ||
	    opt_bool(f, "tokenizer.ggml.add_eos_token") == -2) {
		r = fail(err, errlen, "a tokenizer.ggml.add_* key is not a bool");
		goto bad;
	}
	kv = gguf_find_kv(f, "general.name");
	if (kv != NULL && gguf_kv_get_str(kv, &s, &slen) == 0 &&
	    (r = tok_vocab_set_model_name(v, s, slen)) != 0)
		goto bad;
	if ((r = tok_vocab_finish(v)) != 0) {
		if (r == TOK_E_MODEL)
			fail(err, errlen, "empty vocabulary");
		goto bad;
	}
	*out = v;
	return 0;
bad:
	tok_vocab_free(v);
	return r;
}

int tok_vocab_from_gguf(const struct gguf_file *f, struct tok_vocab **out, char *err, size_t errlen)
{
	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (f == NULL)
		return TOK_E_INVAL;
	return load(f, out, err, errlen);
}
