/*
 * sampler.h — choosing the next token from a logit vector, with llama.cpp's sampler chain
 * semantics (commit c392e509, b4747: src/llama-sampling.cpp and common/sampling.cpp).
 *
 * The chain, in llama.cpp's default order: penalties (repeat, frequency, presence over the last
 * N accepted tokens) -> top-k -> top-p -> min-p -> temperature -> dist (a draw from the softmax
 * with std::mt19937 seeded with the seed, through libstdc++'s std::discrete_distribution).
 * `greedy` replaces the chain with a plain argmax (ties to the lowest id), as llama.cpp's greedy
 * sampler does. Same seed, same logits, same accepted tokens -> same choice, on any machine.
 *
 * Owns: the candidate array, the rules applied to it, the PRNG and the penalty history.
 * Never: reads the model, allocates per call (buffers are sized once by n_vocab), or keeps
 * global state. Ties in logit are ordered by lowest id (llama.cpp's std::sort leaves them in an
 * unspecified order; this is the only place its choice can differ).
 */
#ifndef SECAI_SAMPLER_H
#define SECAI_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* std::mt19937 (Matsumoto & Nishimura 1998, the C++11 parameters). */
struct sampler_mt19937 {
	uint32_t mt[624];
	uint32_t idx;
};
void sampler_mt_seed(struct sampler_mt19937 *r, uint32_t seed);
uint32_t sampler_mt_next(struct sampler_mt19937 *r);
/* std::generate_canonical<double, 53>(mt19937) as libstdc++ computes it: [0, 1). */
double sampler_mt_canonical(struct sampler_mt19937 *r);

/* One candidate: llama_token_data. */
struct sampler_cand {
	int32_t id;
	float logit;
	float p;
};

/* llama_token_data_array: data[0..size), sorted = descending by logit (then ascending id). */
struct sampler_cands {
	struct sampler_cand *data;
	size_t size;
	bool sorted;
};

/*
 * The rules, each exactly one llama.cpp sampler's apply(), usable on their own (tests, other
 * chains). cands must be non-empty; none of them allocates.
 */
/* Fills c->data from logits[0..n) in id order (NaN logits become -inf); c->data holds n. */
void sampler_cands_init(struct sampler_cands *c, const float *logits, size_t n);
/* Sorts by logit descending, ties by id ascending; then sorted = true. */
void sampler_cands_sort(struct sampler_cands *c);
/* Sorts (if needed) and sets p = softmax(logit), in float like llama.cpp. */
void sampler_softmax(struct sampler_cands *c);
/* Keeps the k best (k <= 0: no-op). */
void sampler_top_k(struct sampler_cands *c, int32_t k);
/* Keeps the smallest prefix whose probability mass reaches p (p >= 1: no-op). */
void sampler_top_p(struct sampler_cands *c, float p, size_t min_keep);
/* Keeps tokens whose probability is at least p times the best one's (p <= 0: no-op). */
void sampler_min_p(struct sampler_cands *c, float p, size_t min_keep);
/* logit /= t; t <= 0 keeps only the (first) maximum finite and makes the rest -inf. */
void sampler_temp(struct sampler_cands *c, float t);
/*
 * Repetition penalty on tokens with count[id] > 0: logit <= 0 ? logit * repeat : logit / repeat,
 * then logit -= count * freq + presence. count has one entry per id of the vocabulary (n_vocab).
 */
void sampler_penalties(struct sampler_cands *c, const uint32_t *count, size_t n_vocab, float repeat,
		       float freq, float presence);
/* Softmax, then one std::discrete_distribution draw over c in its order: an index into c. */
size_t sampler_dist(struct sampler_cands *c, struct sampler_mt19937 *rng);
/* Index of the largest of logits[0..n), the lowest on ties; NaN never wins. */
size_t sampler_argmax(const float *logits, size_t n);

struct sampler_params {
	bool greedy;	      /* argmax only; the other fields are ignored */
	float temp;	      /* 0.8; <= 0: the best token (through the chain, llama.cpp temp 0) */
	int32_t top_k;	      /* 40; <= 0 off */
	float top_p;	      /* 0.95; >= 1 off */
	float min_p;	      /* 0.05; <= 0 off */
	float repeat_penalty; /* 1.0 = off */
	float freq_penalty;   /* 0 = off */
	float presence_penalty; /* 0 = off */
	int32_t penalty_last_n; /* 64; 0 off; -1 = every accepted token */
	uint32_t seed;		/* mt19937 seed */
	size_t min_keep;	/* 0: top-p/min-p may leave a single token */
};

/* llama.cpp's common_params_sampling defaults (seed 0 here: llama.cpp's default is random). */
void sampler_params_default(struct sampler_params *p);
/* Checks ranges (finite, temp >= 0, top_p/min_p in [0, 1], repeat_penalty > 0, last_n >= -1);
 * returns 0 or -1 with a message. */
int sampler_params_check(const struct sampler_params *p, char *err, size_t errlen);

struct sampler;

/* Returns 0, or -1 (bad params: err says why; out of memory). */
int sampler_new(const struct sampler_params *p, size_t n_vocab, struct sampler **out, char *err,
		size_t errlen);
void sampler_free(struct sampler *s);
/* Forgets accepted tokens and re-seeds the PRNG. */
void sampler_reset(struct sampler *s);
/* Adds a token to the penalty history (prompt tokens too, like llama.cpp's examples do). */
void sampler_accept(struct sampler *s, int32_t id);
/* Chooses a token from logits[0..n_vocab) (not modified); does not accept it. */
int32_t sampler_sample(struct sampler *s, const float *logits);

#endif
