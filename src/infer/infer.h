/*
 * infer.h — secai's inference engine: load a llama-family GGUF model through the strict reader,
 * run its forward pass on the CPU, keep a KV cache. Generation (sampling, stop rules) is in
 * generate.h on top of this.
 *
 * Supported: general.architecture llama, qwen2, qwen3; weights F32, F16, BF16, Q8_0, Q4_0, Q4_1,
 * Q5_0, Q4_K, Q5_K, Q6_K. Weights stay mmap'd read-only.
 * Owns: the model and context objects. Never: writes to the model file or its mapping.
 */
#ifndef SECAI_INFER_H
#define SECAI_INFER_H

#include <stddef.h>
#include <stdint.h>

struct infer_model;
struct infer_ctx;

enum infer_kv_type { INFER_KV_F16 = 0, INFER_KV_F32 = 1 };

struct infer_hparams {
	char arch[32];
	uint32_t n_vocab, n_ctx_train, n_embd, n_layer, n_head, n_head_kv, n_ff, head_dim;
	float rms_eps, rope_freq_base, rope_freq_scale;
	int rope_neox; /* 1 for NEOX-style rotation (qwen2, qwen3) */
	int tied_output;
	uint64_t n_params, weight_bytes;
	uint32_t n_rot; /* rotated dimensions per head (rope.dimension_count, default head_dim) */
};

/* Loads and validates (gguf_open) a model. On error returns -1 with a message in err. */
int infer_model_load(const char *path, struct infer_model **out, char *err, size_t errlen);
void infer_model_free(struct infer_model *m);
const struct infer_hparams *infer_model_hparams(const struct infer_model *m);
/* The model's GGUF file, for the tokenizer (tok_vocab_from_gguf) and metadata. */
const struct gguf_file *infer_model_gguf(const struct infer_model *m);

struct infer_ctx_params {
	uint32_t n_ctx;        /* 0 = the model's context length (capped at 4096 by default) */
	uint32_t n_batch;      /* max tokens per forward call (default 512) */
	enum infer_kv_type kv; /* default F16, as llama.cpp */
	int n_threads;         /* default: online cores */
	/* Multiply-adds below which a matrix product runs on the calling thread alone (handing
	 * it to another core costs more); default INFER_MM_MIN_PARALLEL, 0 splits every product. */
	int64_t mm_min_parallel;
};
#define INFER_MM_MIN_PARALLEL ((int64_t)256 * 1024)
void infer_ctx_params_default(struct infer_ctx_params *p);
int infer_ctx_new(struct infer_model *m, const struct infer_ctx_params *p, struct infer_ctx **out,
		  char *err, size_t errlen);
void infer_ctx_free(struct infer_ctx *c);
/* Number of positions already in the KV cache. */
uint32_t infer_ctx_n_past(const struct infer_ctx *c);
uint32_t infer_ctx_n_ctx(const struct infer_ctx *c);
/* Forgets cached positions >= n (0 = start over). */
void infer_ctx_truncate(struct infer_ctx *c, uint32_t n);

/*
 * Runs tokens[0..n) at positions n_past.. (prompt processing as matrix-matrix products, in
 * chunks of n_batch) and appends them to the KV cache. Writes the logits (n_vocab floats) of the
 * last token to logits (if not NULL). Returns 0, or -1 with err (context full: "context length
 * N reached", bad token id, …). Output is the same bit for bit for any n_threads and any
 * split of the tokens into calls.
 */
int infer_forward(struct infer_ctx *c, const int32_t *tokens, uint32_t n, float *logits,
		  char *err, size_t errlen);
/* The same, writing the logits of every token: logits[i * n_vocab ...] for i < n. */
int infer_forward_all(struct infer_ctx *c, const int32_t *tokens, uint32_t n, float *logits,
		      char *err, size_t errlen);
/* The context's resolved parameters (n_ctx, n_batch, kv, n_threads after defaults). */
void infer_ctx_params_get(const struct infer_ctx *c, struct infer_ctx_params *p);

#endif
