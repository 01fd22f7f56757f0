/*
 * attention.c — causal grouped-query attention over the KV cache.
 *
 * Owns: one query row and head at a time: scores = K·q over cached positions 0..pos, softmax of
 * scores / sqrt(head_dim), out = V·p. As llama.cpp without flash attention: with an F16 cache
 * the query and the probabilities are rounded to F16 before their dot products (ggml converts
 * the F32 operand of an F16 mul_mat to F16), and sums are F32 dot products.
 * Never: reads a cached position after the query's own (the causal mask is the loop bound, so
 * no -inf is ever added), writes anything but the query's output slice and its thread scratch.
 */
#include <math.h>

#include "infer/infer_impl.h"
#include "infer/kernels.h"

struct attn_job {
	struct infer_ctx *c;
	uint32_t l, pos0;
	float scale;
	/* bytes from one position's K row to the next, and from one dim's V row to the next */
	size_t k_stride, v_stride;
};

static void attn_head(const struct attn_job *j, uint32_t i, uint32_t h, struct infer_scratch *s)
{
	const struct infer_ctx *c = j->c;
	const struct infer_hparams *hp = &c->m->hp;
	uint32_t hd = hp->head_dim, kvh = h / (hp->n_head / hp->n_head_kv);
	uint32_t pos = j->pos0 + i, n = pos + 1;
	size_t q_dim = (size_t)hp->n_head * hd;
	const float *q = c->q + i * q_dim + (size_t)h * hd;
	float *out = c->att + i * q_dim + (size_t)h * hd;

	kern_quantize_row(c->kv_type, q, s->q, hd);
	/* K rows of consecutive positions and V rows of consecutive dims are evenly spaced:
	 * each product is one kern_mul_mat (short rows go 4 to a tile; same bits as vec_dot) */
	kern_mul_mat(c->kv_type, kv_k_row(c, j->l, 0, kvh), j->k_stride, hd, 0, n, s->q, 0, 1,
		     s->scores, n);
	ops_softmax(s->scores, n, j->scale);
	kern_quantize_row(c->kv_type, s->scores, s->probs, n);
	kern_mul_mat(c->kv_type, kv_v_row(c, j->l, kvh, 0), j->v_stride, n, 0, hd, s->probs, 0, 1,
		     out, hd);
}

static void attn_task(void *arg, int64_t t0, int64_t t1, int thread)
{
	const struct attn_job *j = arg;
	uint32_t n_head = j->c->m->hp.n_head;
	int64_t t;

	for (t = t0; t < t1; t++)
		attn_head(j, (uint32_t)(t / n_head), (uint32_t)(t % n_head), &j->c->scr[thread]);
}

void attn_forward(struct infer_ctx *c, uint32_t l, uint32_t pos0, uint32_t m)
{
	struct attn_job j;

	j.c = c;
	j.l = l;
	j.pos0 = pos0;
	j.scale = 1.0f / sqrtf((float)c->m->hp.head_dim);
	j.k_stride = kv_k_stride(c);
	j.v_stride = kv_v_stride(c);
	tp_run(c->pool, (int64_t)m * c->m->hp.n_head, 1, attn_task, &j);
}
