/*
 * kvcache.c — the KV cache: per layer, K as a row per position and V transposed (a row per
 * channel), in F16 (llama.cpp's default, values rounded to nearest even) or F32.
 *
 * Owns: the cache memory, its layout, and converting new K/V rows into it.
 * Never: decides which positions are valid (the context's n_past does) or reads positions the
 * caller did not ask for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "infer/infer_impl.h"
#include "infer/kernels.h"

static size_t kv_dim(const struct infer_ctx *c)
{
	return (size_t)c->m->hp.n_head_kv * c->m->hp.head_dim;
}

int kv_alloc(struct infer_ctx *c, char *err, size_t errlen)
{
	const struct infer_hparams *hp = &c->m->hp;
	size_t per, total;

	c->kv_type = c->kv == INFER_KV_F32 ? GGUF_GGML_F32 : GGUF_GGML_F16;
	c->kv_elt = c->kv == INFER_KV_F32 ? 4 : 2;
	if (__builtin_mul_overflow(kv_dim(c), (size_t)c->n_ctx, &per) ||
	    __builtin_mul_overflow(per, c->kv_elt, &per) ||
	    __builtin_mul_overflow(per, (size_t)hp->n_layer, &total)) {
		snprintf(err, errlen, "KV cache size overflows");
		return -1;
	}
	c->layer_kv_bytes = per;
	/* Zeroed: positions never written are never read, but keep the memory defined. */
	c->k_cache = calloc(1, total);
	c->v_cache = calloc(1, total);
	if (c->k_cache == NULL || c->v_cache == NULL) {
		kv_free(c);
		snprintf(err, errlen, "cannot allocate the KV cache (2 x %zu MiB)", total >> 20);
		return -1;
	}
	return 0;
}

void kv_free(struct infer_ctx *c)
{
	free(c->k_cache);
	free(c->v_cache);
	c->k_cache = c->v_cache = NULL;
}

void kv_store(struct infer_ctx *c, uint32_t l, uint32_t pos0, uint32_t m, const float *k,
	      const float *v)
{
	size_t dim = kv_dim(c), j;
	unsigned char *kc = c->k_cache + (size_t)l * c->layer_kv_bytes;
	unsigned char *vc = c->v_cache + (size_t)l * c->layer_kv_bytes;
	uint32_t i;

	for (i = 0; i < m; i++) {
		size_t pos = (size_t)pos0 + i;
		const float *vr = v + i * dim;

		kern_quantize_row(c->kv_type, k + i * dim, kc + pos * dim * c->kv_elt,
				  (int64_t)dim);
		if (c->kv == INFER_KV_F32) {
			float *vt = (float *)(void *)vc;

			for (j = 0; j < dim; j++)
				vt[j * c->n_ctx + pos] = vr[j];
		} else {
			uint16_t *vt = (uint16_t *)(void *)vc, h[256];
			size_t j0, n;

			for (j0 = 0; j0 < dim; j0 += n) { /* converted as a row, then transposed */
				n = dim - j0 < 256 ? dim - j0 : 256;
				kern_quantize_row(GGUF_GGML_F16, vr + j0, h, (int64_t)n);
				for (j = 0; j < n; j++)
					vt[(j0 + j) * c->n_ctx + pos] = h[j];
			}
		}
	}
}

const void *kv_k_row(const struct infer_ctx *c, uint32_t l, uint32_t pos, uint32_t kv_head)
{
	size_t dim = kv_dim(c);

	return c->k_cache + (size_t)l * c->layer_kv_bytes +
	       ((size_t)pos * dim + (size_t)kv_head * c->m->hp.head_dim) * c->kv_elt;
}

const void *kv_v_row(const struct infer_ctx *c, uint32_t l, uint32_t kv_head, uint32_t d)
{
	size_t ch = (size_t)kv_head * c->m->hp.head_dim + d;

	return c->v_cache + (size_t)l * c->layer_kv_bytes + ch * c->n_ctx * c->kv_elt;
}

size_t kv_k_stride(const struct infer_ctx *c)
{
	return kv_dim(c) * c->kv_elt;
}

size_t kv_v_stride(const struct infer_ctx *c)
{
	return (size_t)c->n_ctx * c->kv_elt;
}
