/*
 * infer_impl.h — the engine's private types and the internal functions its files share: the
 * model (pointers into the read-only GGUF map), the context (KV cache, scratch, thread pool), and
 * the per-row operations the forward pass is made of.
 *
 * Owns: the layout of struct infer_model / infer_ctx and the KV cache.
 * Never: included outside src/infer/ and tests/infer/.
 */
#ifndef SECAI_INFER_IMPL_H
#define SECAI_INFER_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "infer/infer.h"
#include "infer/threadpool.h"

/* A 2-D weight matrix: ne1 rows of ne0 elements of type, row_bytes apart, in the map. */
struct infer_tensor {
	const void *data;
	uint32_t type;
	int64_t ne0, ne1;
	size_t row_bytes;
};

struct infer_layer {
	const float *attn_norm, *ffn_norm;  /* [n_embd], owned copies */
	const float *bq, *bk, *bv, *bo;	    /* biases or NULL, owned copies */
	const float *q_norm, *k_norm;	    /* qwen3: [head_dim], owned copies, or NULL */
	struct infer_tensor wq, wk, wv, wo; /* [n_embd] -> [n_head*hd], ..., [n_head*hd] -> */
	struct infer_tensor ffn_gate, ffn_up, ffn_down;
};

struct infer_model {
	struct gguf_file *f;
	struct infer_hparams hp;
	struct infer_tensor tok_embd, output; /* output == tok_embd when tied */
	const float *output_norm;	      /* owned copy */
	const float *rope_freqs;	      /* [n_rot/2] owned copy, or NULL */
	struct infer_layer *layers;
	float **owned; /* every owned 1-D copy, freed with the model */
	size_t n_owned;
};

/* Per-thread attention scratch. */
struct infer_scratch {
	float *scores; /* [g][n_ctx], g = n_head / n_head_kv */
	void *probs;   /* [g][n_ctx] in the KV type */
	void *q;       /* [g][head_dim] in the KV type */
};

struct infer_ctx {
	const struct infer_model *m;
	uint32_t n_ctx, n_batch, n_past;
	enum infer_kv_type kv;
	uint32_t kv_type; /* ggml type id of the cache: F16 or F32 */
	size_t kv_elt;	  /* bytes per cached element */
	/* Per layer: K [n_ctx][n_head_kv * head_dim] (a row per position, as llama.cpp) and V
	 * transposed, [n_head_kv * head_dim][n_ctx] (a row per channel, as llama.cpp without flash
	 * attention), so both attention products are dot products over contiguous rows. */
	unsigned char *k_cache, *v_cache;
	size_t layer_kv_bytes;
	struct tp_pool *pool;
	int n_threads;
	int64_t mm_min_parallel; /* see infer_ctx_params */
	/* Activations, n_batch rows each. */
	float *x;	  /* [n_batch][n_embd] residual stream */
	float *xn;	  /* [n_batch][n_embd] normalised input of a sub-layer */
	float *q, *k, *v; /* [n_batch][n_head * hd], [n_batch][n_head_kv * hd] x 2 */
	float *att;	  /* [n_batch][n_head * hd] attention output */
	float *proj;	  /* [n_batch][n_embd] sub-layer output before the residual add */
	float *gate, *up; /* [n_batch][n_ff] */
	float *rope;	  /* [n_rot] cos/sin of one position */
	void *xq;	  /* [n_batch] rows converted to a vec-dot type */
	size_t xq_bytes;
	struct infer_scratch *scr; /* [n_threads] */
};

/* Activations converted for a matrix product: m rows of k floats, in vdt. */
struct infer_act {
	const float *src;
	int64_t m, k;
	uint32_t vdt; /* UINT32_MAX: not converted yet */
	void *buf;
	size_t row_bytes;
};

/* ops.c: per-row operations, each exactly as ggml computes it. */
void ops_rms_norm(float *y, const float *x, const float *w, int64_t n, float eps);
void ops_add(float *y, const float *x, int64_t n);
/* gate[i] = silu(gate[i]) * up[i]; the first n_vec by ggml's vector e^x (see ops.c). */
void ops_swiglu(float *gate, const float *up, int64_t n, int64_t n_vec);
/* How many of a row's elements ggml's SwiGLU takes through its 16-lane body (the rest through
 * its scalar tail): the n_vec of a call from the row's start. */
static inline int64_t ops_swiglu_vec_len(int64_t row_len)
{
	return row_len & ~(int64_t)15;
}
/* In place: softmax(x * scale) over n values, sums in double like ggml. */
void ops_softmax(float *x, int64_t n, float scale);

/* rope.c: cache[2i], cache[2i+1] = cos, sin of the angle of pair i at pos (n_rot floats). */
void rope_cache(float *cache, int64_t pos, uint32_t n_rot, float freq_base, float freq_scale,
		const float *freq_factors);
/* Rotates the first n_rot values of each of n_head heads of x; neox pairs (i, i + n_rot/2)
 * instead of (2i, 2i+1). */
void rope_apply(float *x, uint32_t n_head, uint32_t head_dim, uint32_t n_rot, const float *cache,
		int neox);

/* forward.c: a matrix product through the thread pool. out[i * ld + r] for r < W.ne1. */
void infer_act_init(struct infer_act *a, const float *src, int64_t m, int64_t k, void *buf);
void infer_matmul(struct infer_ctx *c, const struct infer_tensor *w, struct infer_act *a,
		  float *out, int64_t ld);
/* Three products of one activation (Q, K, V) as one job. */
void infer_matmul3(struct infer_ctx *c, const struct infer_tensor *w[3], struct infer_act *a,
		   float *out[3], const int64_t ld[3]);
/* g = silu(gate * a) * (up * a) (u gets up * a), the two products and swiglu as one job. */
void infer_matmul_swiglu(struct infer_ctx *c, const struct infer_tensor *gate,
			 const struct infer_tensor *up, struct infer_act *a, float *g, float *u,
			 int64_t ld);

/* kvcache.c */
int kv_alloc(struct infer_ctx *c, char *err, size_t errlen);
void kv_free(struct infer_ctx *c);
/* Stores m rows of K and V (n_head_kv * head_dim floats each) at positions pos0.. of layer l. */
void kv_store(struct infer_ctx *c, uint32_t l, uint32_t pos0, uint32_t m, const float *k,
	      const float *v);
const void *kv_k_row(const struct infer_ctx *c, uint32_t l, uint32_t pos, uint32_t kv_head);
const void *kv_v_row(const struct infer_ctx *c, uint32_t l, uint32_t kv_head, uint32_t d);
/* Bytes from position p's K row to p + 1's (same head), and from dim d's V row to d + 1's. */
size_t kv_k_stride(const struct infer_ctx *c);
size_t kv_v_stride(const struct infer_ctx *c);

/* attention.c: causal grouped-query attention of m query rows at positions pos0.. over the
 * cache of layer l (which already holds them), into c->att. */
void attn_forward(struct infer_ctx *c, uint32_t l, uint32_t pos0, uint32_t m);

#endif
