/*
 * forward.c — the context (scratch, KV cache, threads) and the forward pass of llama, qwen2 and
 * qwen3 models, read top to bottom like llama.cpp's graph:
 *
 *   x = token_embd[tokens]
 *   per layer:  h = rmsnorm(x) * attn_norm
 *               q, k, v = h Wq (+bq), h Wk (+bk), h Wv (+bv)       (qwen2 biases)
 *               q, k = rmsnorm(q) * q_norm, rmsnorm(k) * k_norm      (qwen3, per head)
 *               q, k = rope(q, pos), rope(k, pos)                    (normal or NEOX)
 *               cache k, v;  a = softmax(q K^T / sqrt(hd)) V          (causal, grouped heads)
 *               x = x + a Wo (+bo)
 *               h = rmsnorm(x) * ffn_norm
 *               x = x + (silu(h Wgate) * (h Wup)) Wdown
 *   logits = (rmsnorm(x) * output_norm) Woutput                      (last row unless asked)
 *
 * Owns: the order of operations, matrix products through the thread pool (activations converted
 * once per product to the weights' vec-dot type), batching, the context length check.
 * Never: writes to the model, keeps global state, or lets the thread count or the batch split
 * change a result (every value is computed by the same code on the same inputs either way).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "infer/infer_impl.h"
#include "infer/kernels.h"

#define INFER_DEFAULT_CTX 4096u
#define INFER_DEFAULT_BATCH 512u

void infer_ctx_params_default(struct infer_ctx_params *p)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(p, 0, sizeof(*p));
	p->n_ctx = 0;
	p->n_batch = INFER_DEFAULT_BATCH;
	p->kv = INFER_KV_F16;
	p->n_threads = n > 0 ? (int)(n < 256 ? n : 256) : 1;
	p->mm_min_parallel = INFER_MM_MIN_PARALLEL;
}

void infer_ctx_free(struct infer_ctx *c)
{
	int i;

	if (c == NULL)
		return;
	tp_free(c->pool);
	kv_free(c);
	if (c->scr != NULL)
		for (i = 0; i < c->n_threads; i++) {
			free(c->scr[i].scores);
			free(c->scr[i].probs);
			free(c->scr[i].q);
		}
	free(c->scr);
	free(c->x);
	free(c->xn);
	free(c->q);
	free(c->k);
	free(c->v);
	free(c->att);
	free(c->proj);
	free(c->gate);
	free(c->up);
	free(c->xq);
	free(c->rope);
	free(c);
}

static float *fbuf(size_t rows, size_t cols)
{
	return calloc(rows * cols, sizeof(float));
}

int infer_ctx_new(struct infer_model *m, const struct infer_ctx_params *p, struct infer_ctx **out,
		  char *err, size_t errlen)
{
	const struct infer_hparams *hp = &m->hp;
	struct infer_ctx_params d;
	struct infer_ctx *c;
	size_t B, qd, kd, kmax;
	int i;

	*out = NULL;
	if (p == NULL) {
		infer_ctx_params_default(&d);
		p = &d;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->m = m;
	c->n_ctx =
	    p->n_ctx ? p->n_ctx
		     : (hp->n_ctx_train < INFER_DEFAULT_CTX ? hp->n_ctx_train : INFER_DEFAULT_CTX);
	if (c->n_ctx > (1u << 24)) {
		snprintf(err, errlen, "context length %u is too large", c->n_ctx);
		free(c);
		return -1;
	}
	c->n_batch = p->n_batch ? p->n_batch : INFER_DEFAULT_BATCH;
	if (c->n_batch > c->n_ctx)
		c->n_batch = c->n_ctx;
	c->kv = p->kv == INFER_KV_F32 ? INFER_KV_F32 : INFER_KV_F16;
	c->n_threads = p->n_threads;
	if (c->n_threads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		c->n_threads = n > 0 ? (int)(n < 256 ? n : 256) : 1;
	}
	if (c->n_threads > 256)
		c->n_threads = 256;
	c->mm_min_parallel = p->mm_min_parallel > 0 ? p->mm_min_parallel : 0;
	if (kv_alloc(c, err, errlen) < 0) {
		free(c);
		return -1;
	}
	B = c->n_batch;
	qd = (size_t)hp->n_head * hp->head_dim;
	kd = (size_t)hp->n_head_kv * hp->head_dim;
	kmax = hp->n_embd;
	if (qd > kmax)
		kmax = qd;
	if (hp->n_ff > kmax)
		kmax = hp->n_ff;
	c->x = fbuf(B, hp->n_embd);
	c->xn = fbuf(B, hp->n_embd);
	c->proj = fbuf(B, hp->n_embd);
	c->q = fbuf(B, qd);
	c->att = fbuf(B, qd);
	c->k = fbuf(B, kd);
	c->v = fbuf(B, kd);
	c->gate = fbuf(B, hp->n_ff);
	c->up = fbuf(B, hp->n_ff);
	/* F32 rows are the widest any vec-dot type has. */
	c->xq_bytes = B * kern_row_size(GGUF_GGML_F32, (int64_t)kmax);
	c->xq = malloc(c->xq_bytes);
	c->rope = fbuf(1, hp->n_rot ? hp->n_rot : 2);
	c->scr = calloc((size_t)c->n_threads, sizeof(*c->scr));
	if (c->x == NULL || c->xn == NULL || c->proj == NULL || c->q == NULL || c->att == NULL ||
	    c->k == NULL || c->v == NULL || c->gate == NULL || c->up == NULL || c->xq == NULL ||
	    c->rope == NULL || c->scr == NULL)
		goto nomem;
	for (i = 0; i < c->n_threads; i++) { /* attention: the query heads of one KV head */
		const size_t g = hp->n_head / hp->n_head_kv;

		c->scr[i].scores = calloc(g * c->n_ctx, sizeof(float));
		c->scr[i].probs = calloc(g * c->n_ctx, c->kv_elt);
		c->scr[i].q = calloc(g * hp->head_dim, sizeof(float));
		if (c->scr[i].scores == NULL || c->scr[i].probs == NULL || c->scr[i].q == NULL)
			goto nomem;
	}
	if (tp_new(c->n_threads, &c->pool) < 0) {
		snprintf(err, errlen, "cannot start %d threads", c->n_threads);
		infer_ctx_free(c);
		return -1;
	}
	*out = c;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory (context of %u positions, batch %u)", c->n_ctx,
		 c->n_batch);
	infer_ctx_free(c);
	return -1;
}

uint32_t infer_ctx_n_past(const struct infer_ctx *c)
{
	return c->n_past;
}

uint32_t infer_ctx_n_ctx(const struct infer_ctx *c)
{
	return c->n_ctx;
}

void infer_ctx_truncate(struct infer_ctx *c, uint32_t n)
{
	if (n < c->n_past)
		c->n_past = n;
}

void infer_ctx_params_get(const struct infer_ctx *c, struct infer_ctx_params *p)
{
	p->n_ctx = c->n_ctx;
	p->n_batch = c->n_batch;
	p->kv = c->kv;
	p->n_threads = c->n_threads;
}

/* ---- matrix products ---- */

void infer_act_init(struct infer_act *a, const float *src, int64_t m, int64_t k, void *buf)
{
	a->src = src;
	a->m = m;
	a->k = k;
	a->vdt = UINT32_MAX;
	a->buf = buf;
	a->row_bytes = 0;
}

/* Up to three products of the same activation, their rows one after another in one job (one
 * hand-out and one join instead of three); with swiglu, two products of n rows each (gate, up)
 * whose index range covers both, each range finishing with silu(gate) * up on its rows. */
struct mm_job {
	const struct infer_tensor *w[3];
	float *out[3];
	int64_t ld[3];
	int n_parts, swiglu;
	const struct infer_act *a;
};

static void mm_part(const struct mm_job *j, int p, int64_t r0, int64_t r1)
{
	const struct infer_tensor *w = j->w[p];

	kern_mul_mat(w->type, w->data, w->row_bytes, w->ne0, r0, r1, j->a->buf, j->a->row_bytes,
		     j->a->m, j->out[p], j->ld[p]);
}

static void mm_task(void *arg, int64_t r0, int64_t r1, int thread)
{
	const struct mm_job *j = arg;
	int64_t off = 0, i;
	int p;

	(void)thread;
	if (j->swiglu) {
		const int64_t vec_end = ops_swiglu_vec_len(j->w[0]->ne1);

		mm_part(j, 0, r0, r1);
		mm_part(j, 1, r0, r1);
		for (i = 0; i < j->a->m; i++)
			ops_swiglu(j->out[0] + i * j->ld[0] + r0, j->out[1] + i * j->ld[1] + r0,
				   r1 - r0, vec_end - r0);
		return;
	}
	for (p = 0; p < j->n_parts; off += j->w[p]->ne1, p++) {
		const int64_t lo = r0 > off ? r0 : off,
			      hi = r1 < off + j->w[p]->ne1 ? r1 : off + j->w[p]->ne1;

		if (lo < hi)
			mm_part(j, p, lo - off, hi - off);
	}
}

static void act_task(void *arg, int64_t i0, int64_t i1, int thread)
{
	const struct infer_act *a = arg;
	int64_t i;

	(void)thread;
	for (i = i0; i < i1; i++)
		kern_quantize_row(a->vdt, a->src + i * a->k, (char *)a->buf + i * a->row_bytes,
				  a->k);
}

/* The activation in the vec-dot type of wtype (converted once per type). */
static void act_prepare(struct infer_ctx *c, uint32_t wtype, struct infer_act *a)
{
	const uint32_t vdt = kern_vec_dot_type(wtype);
	const int64_t nt = c->n_threads;

	if (a->vdt != vdt) {
		a->vdt = vdt;
		a->row_bytes = kern_row_size(vdt, a->k);
		tp_run(c->pool, a->m, (a->m + nt - 1) / nt, act_task, a);
	}
}

/* Runs j over n rows (macs multiply-adds in all): about 8 ranges per thread, in multiples of
 * 16 rows. A product too small to outweigh handing it to another core (a few microseconds per
 * job on this kind of VM) runs on the calling thread alone: a 16-layer model of width 256 ran
 * at half speed on 2 threads. */
static void mm_run(struct infer_ctx *c, struct mm_job *j, int64_t n, int64_t macs)
{
	const int64_t nt = c->n_threads;
	int64_t chunk = (n + nt * 8 - 1) / (nt * 8);

	chunk = (chunk + 15) & ~(int64_t)15;
	if (nt == 1 || macs < c->mm_min_parallel)
		chunk = n;
	tp_run(c->pool, n, chunk, mm_task, j);
}

void infer_matmul(struct infer_ctx *c, const struct infer_tensor *w, struct infer_act *a,
		  float *out, int64_t ld)
{
	struct mm_job j = {{w}, {out}, {ld}, 1, 0, a};

	act_prepare(c, w->type, a);
	mm_run(c, &j, w->ne1, w->ne1 * w->ne0 * a->m);
}

void infer_matmul3(struct infer_ctx *c, const struct infer_tensor *w[3], struct infer_act *a,
		   float *out[3], const int64_t ld[3])
{
	struct mm_job j = {
	    {w[0], w[1], w[2]}, {out[0], out[1], out[2]}, {ld[0], ld[1], ld[2]}, 3, 0, a};
	const uint32_t vdt = kern_vec_dot_type(w[0]->type);
	int p;

	for (p = 1; p < 3; p++)
		if (kern_vec_dot_type(w[p]->type) != vdt) { /* activations differ: one by one */
			for (p = 0; p < 3; p++)
				infer_matmul(c, w[p], a, out[p], ld[p]);
			return;
		}
	act_prepare(c, w[0]->type, a);
	mm_run(c, &j, w[0]->ne1 + w[1]->ne1 + w[2]->ne1,
	       (w[0]->ne1 + w[1]->ne1 + w[2]->ne1) * w[0]->ne0 * a->m);
}

void infer_matmul_swiglu(struct infer_ctx *c, const struct infer_tensor *gate,
			 const struct infer_tensor *up, struct infer_act *a, float *g, float *u,
			 int64_t ld)
{
	struct mm_job j = {{gate, up}, {g, u}, {ld, ld}, 2, 1, a};
	int64_t i;

	if (kern_vec_dot_type(gate->type) != kern_vec_dot_type(up->type)) {
		infer_matmul(c, gate, a, g, ld);
		infer_matmul(c, up, a, u, ld);
		for (i = 0; i < a->m; i++)
			ops_swiglu(g + i * ld, u + i * ld, gate->ne1,
				   ops_swiglu_vec_len(gate->ne1));
		return;
	}
	act_prepare(c, gate->type, a);
	mm_run(c, &j, gate->ne1, 2 * gate->ne1 * gate->ne0 * a->m);
}

/* ---- the forward pass ---- */

/* Runs m tokens at positions n_past.. through the model. logits (if not NULL) receives the last
 * row's logits, or every row's when all. */
static void forward_batch(struct infer_ctx *c, const int32_t *tokens, uint32_t m, float *logits,
			  int all)
{
	const struct infer_model *md = c->m;
	const struct infer_hparams *hp = &md->hp;
	const int64_t E = hp->n_embd, F = hp->n_ff, hd = hp->head_dim;
	const int64_t QD = (int64_t)hp->n_head * hd, KD = (int64_t)hp->n_head_kv * hd;
	const uint32_t pos0 = c->n_past;
	struct infer_act a;
	uint32_t i, h, l, mo = m; /* mo: rows still computed (the last layer drops unused ones) */

	for (i = 0; i < m; i++)
		kern_dequantize_row(md->tok_embd.type,
				    (const char *)md->tok_embd.data +
					(size_t)tokens[i] * md->tok_embd.row_bytes,
				    c->x + i * E, E);

	for (l = 0; l < hp->n_layer; l++) {
		const struct infer_layer *L = &md->layers[l];

		/* attention */
		for (i = 0; i < m; i++)
			ops_rms_norm(c->xn + i * E, c->x + i * E, L->attn_norm, E, hp->rms_eps);
		infer_act_init(&a, c->xn, m, E, c->xq);
		{
			const struct infer_tensor *wqkv[3] = {&L->wq, &L->wk, &L->wv};
			float *oqkv[3] = {c->q, c->k, c->v};
			const int64_t lqkv[3] = {QD, KD, KD};

			infer_matmul3(c, wqkv, &a, oqkv, lqkv);
		}
		for (i = 0; i < m; i++) {
			float *q = c->q + i * QD, *k = c->k + i * KD;

			if (L->bq != NULL)
				ops_add(q, L->bq, QD);
			if (L->bk != NULL)
				ops_add(k, L->bk, KD);
			if (L->bv != NULL)
				ops_add(c->v + i * KD, L->bv, KD);
			if (L->q_norm != NULL)
				for (h = 0; h < hp->n_head; h++)
					ops_rms_norm(q + h * hd, q + h * hd, L->q_norm, hd,
						     hp->rms_eps);
			if (L->k_norm != NULL)
				for (h = 0; h < hp->n_head_kv; h++)
					ops_rms_norm(k + h * hd, k + h * hd, L->k_norm, hd,
						     hp->rms_eps);
			rope_cache(c->rope, (int64_t)pos0 + i, hp->n_rot, hp->rope_freq_base,
				   hp->rope_freq_scale, md->rope_freqs);
			rope_apply(q, hp->n_head, hp->head_dim, hp->n_rot, c->rope, hp->rope_neox);
			rope_apply(k, hp->n_head_kv, hp->head_dim, hp->n_rot, c->rope,
				   hp->rope_neox);
		}
		kv_store(c, l, pos0, m, c->k, c->v);
		if (l == hp->n_layer - 1 && logits == NULL)
			break; /* no logits wanted: the last layer only fills the cache */
		if (l == hp->n_layer - 1 && !all && m > 1) {
			/* Only the last row's output is wanted from here on (llama.cpp's
			 * inp_out_ids), and every later op, attention included, is row by row. */
			memmove(c->q, c->q + (size_t)(m - 1) * QD, (size_t)QD * sizeof(float));
			memmove(c->x, c->x + (size_t)(m - 1) * E, (size_t)E * sizeof(float));
			mo = 1;
		}
		attn_forward(c, l, pos0 + (m - mo), mo);
		infer_act_init(&a, c->att, mo, QD, c->xq);
		infer_matmul(c, &L->wo, &a, c->proj, E);
		for (i = 0; i < mo; i++) {
			if (L->bo != NULL)
				ops_add(c->proj + i * E, L->bo, E);
			ops_add(c->x + i * E, c->proj + i * E, E);
		}

		/* feed-forward */
		for (i = 0; i < mo; i++)
			ops_rms_norm(c->xn + i * E, c->x + i * E, L->ffn_norm, E, hp->rms_eps);
		infer_act_init(&a, c->xn, mo, E, c->xq);
		infer_matmul_swiglu(c, &L->ffn_gate, &L->ffn_up, &a, c->gate, c->up, F);
		infer_act_init(&a, c->gate, mo, F, c->xq);
		infer_matmul(c, &L->ffn_down, &a, c->proj, E);
		for (i = 0; i < mo; i++)
			ops_add(c->x + i * E, c->proj + i * E, E);
	}
	c->n_past += m;
	if (logits == NULL)
		return;
	for (i = 0; i < mo; i++)
		ops_rms_norm(c->xn + i * E, c->x + i * E, md->output_norm, E, hp->rms_eps);
	infer_act_init(&a, c->xn, mo, E, c->xq);
	infer_matmul(c, &md->output, &a, logits, hp->n_vocab);
}

static int forward(struct infer_ctx *c, const int32_t *tokens, uint32_t n, float *logits, int all,
		   char *err, size_t errlen)
{
	const struct infer_hparams *hp = &c->m->hp;
	uint32_t i, done;

	if (n == 0) {
		if (logits == NULL)
			return 0;
		snprintf(err, errlen, "no tokens to run");
		return -1;
	}
	if (tokens == NULL) {
		snprintf(err, errlen, "no tokens to run");
		return -1;
	}
	if (n > c->n_ctx - c->n_past) {
		snprintf(err, errlen, "context length %u reached", c->n_ctx);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (tokens[i] < 0 || (uint32_t)tokens[i] >= hp->n_vocab) {
			snprintf(err, errlen, "token id %d is outside the vocabulary (%u tokens)",
				 tokens[i], hp->n_vocab);
			return -1;
		}
	for (done = 0; done < n;) {
		uint32_t m = n - done < c->n_batch ? n - done : c->n_batch;
		float *out = NULL;

		if (all && logits != NULL)
			out = logits + (size_t)done * hp->n_vocab;
		else if (done + m == n)
			out = logits;
		forward_batch(c, tokens + done, m, out, all);
		done += m;
	}
	return 0;
}

int infer_forward(struct infer_ctx *c, const int32_t *tokens, uint32_t n, float *logits, char *err,
		  size_t errlen)
{
	return forward(c, tokens, n, logits, 0, err, errlen);
}

int infer_forward_all(struct infer_ctx *c, const int32_t *tokens, uint32_t n, float *logits,
		      char *err, size_t errlen)
{
	return forward(c, tokens, n, logits, 1, err, errlen);
}
