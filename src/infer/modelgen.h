/*
 * modelgen.h — writes random-weight GGUF models (llama, qwen2, qwen3) with a small built-in
 * SentencePiece vocabulary, for tests, benches and the appliance's demo model.
 *
 * The files look like llama.cpp's: general.* and <arch>.* hyper-parameters, tokenizer.ggml.*
 * (model "llama": <unk>, <s>, </s>, byte tokens <0x00>..<0xFF>, ChatML <|im_start|> and
 * <|im_end|>, then ▁-prefixed and plain pieces up to n_vocab), a ChatML
 * tokenizer.chat_template, 1-D tensors in F32 and 2-D weights in the chosen type.
 * Weights: N(0,1)/sqrt(fan_in) (Irwin–Hall approximation) for float types; quantized types get
 * random but valid blocks (finite fp16 scales sized for the same standard deviation). Same
 * params and seed -> the same bytes.
 *
 * Owns: the vocabulary, the tensor list and the bytes of the file it writes.
 * Never: holds a whole tensor in memory (data is generated in chunks of rows into the file the
 * GGUF writer laid out), or leaves a file that fails gguf_open() without saying so.
 */
#ifndef SECAI_MODELGEN_H
#define SECAI_MODELGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct modelgen_params {
	char arch[16];	    /* "llama", "qwen2" or "qwen3" */
	char name[64];	    /* general.name */
	uint32_t n_embd;    /* embedding_length */
	uint32_t n_layer;   /* block_count */
	uint32_t n_head;    /* attention.head_count */
	uint32_t n_head_kv; /* attention.head_count_kv */
	uint32_t head_dim;  /* 0: n_embd / n_head; otherwise written as attention.key_length */
	uint32_t n_ff;	    /* feed_forward_length */
	uint32_t n_vocab;   /* >= 300 */
	uint32_t n_ctx;	    /* context_length */
	uint32_t wtype;	    /* ggml type of the 2-D weights */
	bool mix;	    /* llama-quantize's default recipe for wtype instead of "pure" */
	int tied;	    /* -1: arch default (qwen2/qwen3 tied), 0 untied, 1 tied */
	uint64_t seed;
	float rope_theta; /* 0: arch default (llama 1e4, qwen 1e6) */
	float rms_eps;	  /* 0: arch default (llama 1e-5, qwen 1e-6) */
	/* Plant a greeting (the "demo" preset): the vocabulary gets one token per word of
	 * MODELGEN_GREETING, token_embd and output are F16, and each output row of a greeting
	 * token is a scaled copy of the embedding row of the token before it (a bigram chain from
	 * the ChatML assistant prefix's "\n" to <|im_end|>), with attn_output and ffn_down scaled
	 * down so the residual stream keeps the current token. Greedy decoding after a ChatML
	 * prompt then writes the greeting; everything else stays random. */
	bool greet;
};

#define MODELGEN_GREETING                                                                     \
	"Hello! I am secai's demo model. My weights are random, but this answer came through the " \
	"real path: generated here, scanned, pinned to its SHA-256 and served by a sealed engine."

/* A small llama model (defaults for everything; seed 1, F32). */
void modelgen_params_default(struct modelgen_params *p);
/* "demo" (llama 256/4/4/2/768, vocab 512, Q8_0, ~3.5 MB) or "bench-llama-0.8b" (llama
 * 2048/16/32/4/5632, vocab 32000, untied, F16, the shapes of llamacpp-ref/BASELINE.md).
 * Returns 0, or -1 for an unknown name. */
int modelgen_preset(const char *name, struct modelgen_params *p);
/* "Q4_K", "q4_k", "f16", ... -> ggml type id; -1 if not one modelgen writes. */
int modelgen_type_from_name(const char *name, uint32_t *out);
/* Checks dimensions, arch and type; 0 or -1 with a message. */
int modelgen_check(const struct modelgen_params *p, char *err, size_t errlen);
/* The type a tensor gets: the recipe (mix), then a fallback when ne0 is not a block multiple. */
uint32_t modelgen_tensor_type(const struct modelgen_params *p, const char *name, uint64_t ne0);
/* Writes the model to path (replaced); checks it with gguf_open(). 0, or -1 with err. */
int modelgen_write(const struct modelgen_params *p, const char *path, char *err, size_t errlen);

#endif
