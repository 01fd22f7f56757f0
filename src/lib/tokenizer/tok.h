/*
 * tok.h — text <-> token ids for GGUF models, exact to llama.cpp (commit c392e509, tag b4747).
 *
 * Owns: the vocabulary (tokens, scores, types, BPE merges, special ids and flags), the
 * SentencePiece (tokenizer.ggml.model = llama) and byte-level BPE (gpt2) tokenizers with their
 * pre-tokenizers, special-token partitioning, and decoding (token -> bytes, streaming UTF-8).
 * Never: touches the GGUF API outside tok_vocab_from_gguf(), uses a regex library, keeps global
 * mutable state, or crashes on any input bytes — invalid UTF-8 is handled like llama.cpp does
 * (see docs/tokenizer.md). A finished vocabulary is read-only and safe to share between threads.
 */
#ifndef SECAI_TOK_H
#define SECAI_TOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef int32_t tok_id;
#define TOK_NULL ((tok_id)-1)

enum tok_model { TOK_MODEL_SPM = 1, TOK_MODEL_BPE = 2 };

/* Pre-tokenizer families (llama.cpp's regex sets). Names map to these in tok_pre_from_name(). */
enum tok_pre {
	TOK_PRE_DEFAULT = 0, /* "default" or absent: llama.cpp's 4-regex default */
	TOK_PRE_GPT2,	     /* "gpt-2", "phi-2", "roberta-bpe", "mpt", "olmo", "jais", "jina-*" */
	TOK_PRE_LLAMA3,	     /* "llama-bpe", "llama3", "llama-v3", "falcon3", "dbrx", "smaug-bpe" */
	TOK_PRE_QWEN2,	     /* "qwen2", "deepseek-r1-qwen", "megrez", "stablelm2" */
	TOK_PRE_SMOLLM,	     /* "smollm", "starcoder", "refact", "command-r", "codeshell", ... */
};

/* tokenizer.ggml.token_type values. */
enum tok_token_type {
	TOK_TYPE_UNDEFINED = 0,
	TOK_TYPE_NORMAL = 1,
	TOK_TYPE_UNKNOWN = 2,
	TOK_TYPE_CONTROL = 3,
	TOK_TYPE_USER_DEFINED = 4,
	TOK_TYPE_UNUSED = 5,
	TOK_TYPE_BYTE = 6,
};

/* Token attributes (llama_token_attr bits). */
#define TOK_ATTR_UNDEFINED 0u
#define TOK_ATTR_UNKNOWN (1u << 0)
#define TOK_ATTR_UNUSED (1u << 1)
#define TOK_ATTR_NORMAL (1u << 2)
#define TOK_ATTR_CONTROL (1u << 3)
#define TOK_ATTR_USER_DEFINED (1u << 4)
#define TOK_ATTR_BYTE (1u << 5)
#define TOK_ATTR_LSTRIP (1u << 7)
#define TOK_ATTR_RSTRIP (1u << 8)

/* Special ids (tokenizer.ggml.<name>_token_id). */
enum tok_special {
	TOK_SPECIAL_BOS = 0,
	TOK_SPECIAL_EOS,
	TOK_SPECIAL_EOT,
	TOK_SPECIAL_EOM,
	TOK_SPECIAL_UNK,
	TOK_SPECIAL_SEP,
	TOK_SPECIAL_PAD,
	TOK_SPECIAL_MASK,
	TOK_SPECIAL_FIM_PRE,
	TOK_SPECIAL_FIM_SUF,
	TOK_SPECIAL_FIM_MID,
	TOK_SPECIAL_FIM_PAD,
	TOK_SPECIAL_FIM_REP,
	TOK_SPECIAL_FIM_SEP,
	TOK_SPECIAL_COUNT
};

/* Errors: every function returning int gives 0 or one of these (negative). */
enum tok_err {
	TOK_OK = 0,
	TOK_E_NOMEM = -1,	/* out of memory or size overflow */
	TOK_E_INVAL = -2,	/* bad argument (id out of range, vocab not finished, ...) */
	TOK_E_MODEL = -3,	/* tokenizer metadata missing or malformed */
	TOK_E_UNSUPPORTED = -4, /* tokenizer model or pre-tokenizer this code does not implement */
	TOK_E_NOTOKEN = -5,	/* a byte has no token (llama.cpp would throw out_of_range) */
	TOK_E_UTF8 = -6,	/* BPE input decodes above U+10FFFF (llama.cpp throws here too) */
};

const char *tok_strerror(int err);

struct tok_vocab;

/*
 * Building a vocabulary in memory (what tok_vocab_from_gguf() does from GGUF metadata).
 * Order: tok_vocab_new, tokens (ids 0, 1, ...), merges (rank 0, 1, ...), optional setters,
 * tok_vocab_finish. pre is the tokenizer.ggml.pre name (NULL = absent; ignored for SPM).
 */
int tok_vocab_new(enum tok_model model, const char *pre, size_t pre_len, struct tok_vocab **out);
/* An empty text becomes "[EMPTY_<id>]" like llama.cpp; a repeated text maps to its last id.
 * token_type is a tokenizer.ggml.token_type value (unknown values give TOK_ATTR_UNDEFINED). */
int tok_vocab_add_token(struct tok_vocab *v, const char *text, size_t len, float score,
			int32_t token_type);
/* One tokenizer.ggml.merges entry "left right"; a repeated pair keeps its first rank. */
int tok_vocab_add_merge(struct tok_vocab *v, const char *merge, size_t len);
/* Overrides from metadata; a special id >= n_tokens is ignored at finish (llama.cpp warns). */
void tok_vocab_set_special(struct tok_vocab *v, enum tok_special which, uint32_t id);
void tok_vocab_set_add_bos(struct tok_vocab *v, bool on);
void tok_vocab_set_add_eos(struct tok_vocab *v, bool on);
void tok_vocab_set_add_space_prefix(struct tok_vocab *v, bool on);
/* general.name, for llama.cpp's per-model attribute rules (phi-3 RSTRIP). */
int tok_vocab_set_model_name(struct tok_vocab *v, const char *name, size_t len);
/* Applies defaults and overrides in llama.cpp's order and builds the lookup caches. */
int tok_vocab_finish(struct tok_vocab *v);
void tok_vocab_free(struct tok_vocab *v);

/* Parses a tokenizer.ggml.pre name; -1 if unsupported. */
int tok_pre_from_name(const char *name, size_t len, enum tok_pre *out);

/* Reading a finished vocabulary. Ids out of range give NULL / 0 / TOK_ATTR_UNDEFINED. */
size_t tok_vocab_n_tokens(const struct tok_vocab *v);
enum tok_model tok_vocab_model(const struct tok_vocab *v);
enum tok_pre tok_vocab_pre(const struct tok_vocab *v);
const char *tok_vocab_text(const struct tok_vocab *v, tok_id id, size_t *len);
float tok_vocab_score(const struct tok_vocab *v, tok_id id);
uint32_t tok_vocab_attr(const struct tok_vocab *v, tok_id id);
tok_id tok_vocab_special(const struct tok_vocab *v, enum tok_special which);
bool tok_vocab_get_add_bos(const struct tok_vocab *v);
bool tok_vocab_get_add_eos(const struct tok_vocab *v);
bool tok_vocab_get_add_space_prefix(const struct tok_vocab *v);
/* Exact text -> id, or TOK_NULL. */
tok_id tok_vocab_find(const struct tok_vocab *v, const char *text, size_t len);

/* A growable id list. */
struct tok_ids {
	tok_id *ids;
	size_t n;
	size_t cap;
};
#define TOK_IDS_INIT                                                                               \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}
int tok_ids_push(struct tok_ids *ids, tok_id id);
void tok_ids_free(struct tok_ids *ids);

/*
 * llama_tokenize(text, add_special, parse_special): appends the ids of text[0..len) to out.
 * add_special adds BOS/EOS as the vocabulary says; parse_special turns the text of control and
 * unknown tokens into their ids (user-defined tokens always are, like llama.cpp). On error out
 * is left as it was.
 */
int tok_tokenize(const struct tok_vocab *v, const void *text, size_t len, bool add_special,
		 bool parse_special, struct tok_ids *out);

/*
 * llama_token_to_piece(id, lstrip = 0, special): appends the raw bytes of one token to out.
 * Control/unknown tokens give nothing unless special; SPM "▁" becomes ' ' and <0xNN> the byte;
 * BPE pieces are byte-level decoded. Pieces may hold partial UTF-8.
 */
int tok_piece(const struct tok_vocab *v, tok_id id, bool special, struct buf *out);

/*
 * Streaming decoder: turns token pieces into valid UTF-8 text. An incomplete sequence at the end
 * of what was pushed is held back until the next push completes it; bytes that can never be
 * valid UTF-8 become U+FFFD (one per maximal invalid subpart). tok_decoder_flush() ends the
 * stream: a held-back incomplete sequence becomes U+FFFD.
 */
struct tok_decoder {
	unsigned char pend[4];
	size_t npend;
};
void tok_decoder_init(struct tok_decoder *d);
int tok_decoder_feed(struct tok_decoder *d, const void *bytes, size_t n, struct buf *out);
int tok_decoder_push(struct tok_decoder *d, const struct tok_vocab *v, tok_id id, bool special,
		     struct buf *out);
int tok_decoder_flush(struct tok_decoder *d, struct buf *out);

/* Loads the vocabulary from GGUF metadata (tokenizer.ggml.*); the only user of the GGUF API
 * here. Returns 0, TOK_E_MODEL / TOK_E_UNSUPPORTED (err says why) or TOK_E_NOMEM. The vocabulary
 * copies what it needs: the file may be closed afterwards. */
struct gguf_file;
int tok_vocab_from_gguf(const struct gguf_file *f, struct tok_vocab **out, char *err,
			size_t errlen);

#endif
