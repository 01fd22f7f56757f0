/*
 * attention.c — causal grouped-query attention over the KV cache.
 *
 * Owns: per query row, the query heads of one KV head together: scores = K·q over cached
 * positions 0..pos, softmax of scores / sqrt(head_dim), out = V·p. As llama.cpp without flash
 * attention: with an F16 cache the query and the probabilities are rounded to F16 before their dot
 * products (ggml converts the F32 operand of an F16 mul_mat to F16), and sums are F32 dot products.
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
	uint32_t parts; /* each KV head's query heads are split in this many tasks */
};

/* Query heads h0..h1-1 of row i, which share one KV head: their queries are the activation rows
 * of one product with that head's K rows (scores), their probabilities those of one product
 * with its V rows, so the cached rows are read once per group rather than once per head (as
 * llama.cpp's batched mul_mat does). Each element is the same vec-dot as one head alone would
 * compute (kern_mul_mat's contract), so grouping changes no bit. */
static void attn_group(const struct attn_job *j, uint32_t i, uint32_t kvh, uint32_t h0, uint32_t h1,
		       struct infer_scratch *s)
{
	const struct infer_ctx *c = j->c;
	const struct infer_hparams *hp = &c->m->hp;
	const uint32_t hd = hp->head_dim, g = h1 - h0, pos = j->pos0 + i, n = pos + 1;
	const size_t q_dim = (size_t)hp->n_head * hd, q_row = kern_row_size(c->kv_type, hd),
		     p_row = kern_row_size(c->kv_type, n);
	const float *q = c->q + i * q_dim + (size_t)h0 * hd;
	float *out = c->att + i * q_dim + (size_t)h0 * hd;
	uint32_t h;

	for (h = 0; h < g; h++)
		kern_quantize_row(c->kv_type, q + (size_t)h * hd, (char *)s->q + h * q_row, hd);
	kern_mul_mat(c->kv_type, kv_k_row(c, j->l, 0, kvh), j->k_stride, hd, 0, n, s->q, q_row, g,
		     s->scores, n);
	for (h = 0; h < g; h++) {
		ops_softmax(s->scores + (size_t)h * n, n, j->scale);
		kern_quantize_row(c->kv_type, s->scores + (size_t)h * n,
				  (char *)s->probs + h * p_row, n);
	}
	kern_mul_mat(c->kv_type, kv_v_row(c, j->l, kvh, 0), j->v_stride, n, 0, hd, s->probs, p_row,
		     g, out, hd);
}

static void attn_task(void *arg, int64_t t0, int64_t t1, int thread)
{
	const struct attn_job *j = arg;
	const struct infer_hparams *hp = &j->c->m->hp;
	const uint32_t g = hp->n_head / hp->n_head_kv, per = j->parts * hp->n_head_kv;
	int64_t t;

	for (t = t0; t < t1; t++) {
		const uint32_t i = (uint32_t)(t / per), kvh = (uint32_t)(t % per) / j->parts,
			       p = (uint32_t)(t % per) % j->parts;

		attn_group(j, i, kvh, kvh * g + p * g / j->parts, kvh * g + (p + 1) * g / j->parts,
			   &j->c->scr[thread]);
	}
}

void attn_forward(struct infer_ctx *c, uint32_t l, uint32_t pos0, uint32_t m)
{
	const struct infer_hparams *hp = &c->m->hp;
	const uint32_t g = hp->n_head / hp->n_head_kv;
	struct attn_job j;

	j.c = c;
	j.l = l;
	j.pos0 = pos0;
	j.scale = 1.0f / sqrtf((float)hp->head_dim);
	j.k_stride = kv_k_stride(c);
	j.v_stride = kv_v_stride(c);
	/* one task per (row, KV head), split further when there are fewer than threads */
	j.parts = 1;
	if (m * hp->n_head_kv < (uint32_t)c->n_threads) {
		j.parts = ((uint32_t)c->n_threads + hp->n_head_kv - 1) / hp->n_head_kv;
		if (j.parts > g)
			j.parts = g;
	}
	tp_run(c->pool, (int64_t)m * hp->n_head_kv * j.parts, 1, attn_task, &j);
}
