/*
 * generate.h — text generation on top of the engine: prompt -> tokens -> one batched forward
 * pass -> sample, feed back one token at a time, until an end-of-generation token, a stop
 * string, max_tokens, or the end of the context.
 *
 * Output is streamed through a callback in valid UTF-8 pieces (tok_decoder), holding back text
 * that may be the start of a stop string; a stop string itself is never emitted. The result keeps
 * the prompt and generated ids (an end-of-generation token that ended the run is included, like
 * llama.cpp), the text, why it stopped, timings, and optionally the top-K (id, logit) of every
 * step's raw logits.
 *
 * Owns: the generation loop and its bookkeeping. Never: writes to stdout/stderr, keeps global
 * state, or reads logits beyond n_vocab.
 */
#ifndef SECAI_GENERATE_H
#define SECAI_GENERATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "infer/infer.h"
#include "infer/sampler.h"
#include "tokenizer/tok.h"

#define GEN_MAX_STOP 16
#define GEN_MAX_TOP_LOGITS 100

enum gen_stop {
	GEN_STOP_NONE = 0,
	GEN_STOP_EOG,	     /* an end-of-generation token (eos, eot, eom) */
	GEN_STOP_STRING,     /* a stop string appeared in the text */
	GEN_STOP_MAX_TOKENS, /* max_tokens generated */
	GEN_STOP_CALLBACK,   /* the text callback asked to stop */
	GEN_STOP_CONTEXT,    /* the context is full (gen_run returns -1) */
	GEN_STOP_ERROR,	     /* the engine failed (gen_run returns -1) */
};
const char *gen_stop_name(enum gen_stop s); /* "eog", "stop_string", "max_tokens", ... */

/* Receives the next piece of text (valid UTF-8, never empty); nonzero stops generation. */
typedef int (*gen_text_fn)(void *user, const char *text, size_t len);

struct gen_params {
	struct sampler_params sampling;
	uint32_t max_tokens;		/* 0: until end of generation (or the context is full) */
	const char *stop[GEN_MAX_STOP]; /* stop strings (NUL-terminated, non-empty) */
	size_t n_stop;
	bool add_special;    /* BOS/EOS as the vocabulary says (add_bos); default true */
	bool parse_special;  /* control-token text in the prompt becomes ids; default false */
	bool ignore_eog;     /* keep generating past end-of-generation tokens (benches) */
	uint32_t top_logits; /* capture the top-K (id, logit) of each step; 0 = none */
	gen_text_fn on_text;
	void *user;
};

/* Defaults: sampler_params_default(), max_tokens 128, add_special. */
void gen_params_default(struct gen_params *p);

struct gen_top {
	int32_t id;
	float logit;
};

struct gen_timings {
	uint32_t n_prompt; /* prompt tokens processed */
	double prompt_ms;  /* the batched forward pass over them */
	uint32_t n_gen;	   /* tokens generated (sampled) */
	uint32_t n_eval;   /* single-token forward passes */
	double eval_ms;	   /* their time */
	double sample_ms;  /* sampling (and top-K capture) */
	double total_ms;   /* tokenization to the end */
	double prompt_tps; /* n_prompt / prompt_ms */
	double gen_tps;	   /* n_eval / eval_ms (llama.cpp's "eval" tokens per second) */
};

struct gen_result {
	struct tok_ids prompt;
	struct tok_ids tokens;
	struct buf text; /* what was emitted, stop string excluded */
	enum gen_stop stop;
	struct gen_timings t;
	uint32_t top_k;	     /* entries per step in top (min(top_logits, n_vocab)) */
	struct gen_top *top; /* tokens.n * top_k: step i is the distribution tokens[i] came from */
};

void gen_result_init(struct gen_result *r);
void gen_result_free(struct gen_result *r);

/* The vocabulary's end-of-generation test (eos, eot, eom ids). */
bool gen_is_eog(const struct tok_vocab *v, int32_t id);

/*
 * Runs one generation from an empty context (c is truncated to 0 first). r must be initialised
 * (gen_result_init) and is filled even on failure. Returns 0 (r->stop says why it ended) or -1
 * with err: bad parameters, tokenizer or engine failure (GEN_STOP_ERROR), or the context full
 * (GEN_STOP_CONTEXT: "context length N reached ..."; the text so far is in r).
 */
int gen_run(struct infer_model *m, struct infer_ctx *c, const struct tok_vocab *v,
	    const struct gen_params *p, const char *prompt, size_t len, struct gen_result *r,
	    char *err, size_t errlen);
/* The same from prompt ids (no tokenization; p->add_special and parse_special unused). */
int gen_run_ids(struct infer_model *m, struct infer_ctx *c, const struct tok_vocab *v,
		const struct gen_params *p, const int32_t *ids, size_t n, struct gen_result *r,
		char *err, size_t errlen);

/*
 * The stop-string scanner, exposed for tests: given text[0..len) of which [0..sent) was already
 * emitted, returns the offset of the earliest full stop string at or after sent (and *hit = 1),
 * or else the offset up to which text can be emitted: len minus the longest suffix that is a
 * proper prefix of a stop string (*hit = 0).
 */
size_t gen_stop_scan(const char *text, size_t len, size_t sent, const char *const *stop,
		     size_t n_stop, int *hit);

#endif
