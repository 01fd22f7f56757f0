/*
 * tok_impl.h — the tokenizer's internal structures, shared by the files of src/lib/tokenizer/.
 *
 * Owns: struct tok_vocab's layout and the prototypes that cross files (vocab lookup, SPM, BPE,
 * pre-tokenizer). Never: included from outside src/lib/tokenizer/ (use tok.h).
 */
#ifndef SECAI_TOK_IMPL_H
#define SECAI_TOK_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizer/tok.h"

struct tok_token {
	uint32_t off; /* into vocab->arena */
	uint32_t len;
	float score;
	uint32_t attr;
};

struct tok_merge {
	uint32_t loff, llen; /* left part, in vocab->arena */
	uint32_t roff, rlen; /* right part */
};

struct tok_vocab {
	enum tok_model model;
	enum tok_pre pre;
	bool ignore_merges;
	bool pre_jina_v2; /* "jina-v2-de/es/code": <mask> gets LSTRIP */
	bool finished;

	char *arena; /* token and merge texts */
	size_t arena_len, arena_cap;

	struct tok_token *tokens;
	size_t n_tokens, cap_tokens;
	uint32_t *map; /* open addressing, id + 1, 0 = empty */
	size_t map_mask;

	struct tok_merge *merges; /* rank = index */
	size_t n_merges, cap_merges;
	uint32_t *merge_map; /* rank + 1 */
	size_t merge_mask;

	tok_id special[TOK_SPECIAL_COUNT];
	int64_t special_key[TOK_SPECIAL_COUNT]; /* from metadata, -1 = absent */
	bool add_bos, add_eos, add_space_prefix;
	int add_bos_key, add_eos_key, add_space_prefix_key; /* -1 absent, else 0/1 */
	char *model_name;
	size_t model_name_len;

	tok_id *special_cache; /* control/user-defined/unknown ids, longest text first */
	size_t n_special_cache;
};

/* Text of a token (not NUL-terminated). */
static inline const char *tok_text_of(const struct tok_vocab *v, tok_id id, size_t *len)
{
	*len = v->tokens[id].len;
	return v->arena + v->tokens[id].off;
}

/* Rank of the merge (left, right), or -1. */
int32_t tok_merge_rank(const struct tok_vocab *v, const char *l, size_t ll, const char *r,
		       size_t rl);

/* llama.cpp's byte_to_token for SPM ("<0xNN>", else the 1-byte text); TOK_NULL if neither. */
tok_id tok_spm_byte_token(const struct tok_vocab *v, unsigned char b);

/* Tokenizes one raw-text fragment. */
int tok_spm_fragment(const struct tok_vocab *v, const char *text, size_t len, bool space_prefix,
		     struct tok_ids *out);
int tok_bpe_fragment(const struct tok_vocab *v, const char *text, size_t len, struct tok_ids *out);

/*
 * The pre-tokenizer: splits cps[0..n) into words as llama.cpp's unicode_regex_split does for pre.
 * flags[i] = unicode_flags(cps[i]). Appends word lengths (in code points, all > 0, summing to n)
 * to *lens (malloc'd, grown as needed; *n_lens and *cap_lens track it).
 */
int tok_pre_split(enum tok_pre pre, const uint32_t *cps, const uint16_t *flags, size_t n,
		  size_t **lens, size_t *n_lens, size_t *cap_lens);

#endif
