/*
 * sampler.c — llama.cpp's sampler chain over a logit vector (see sampler.h).
 *
 * Owns: mt19937, libstdc++'s generate_canonical and discrete_distribution arithmetic (so a seed
 * draws what llama.cpp built with GCC draws), the candidate rules and the penalty history.
 * Never: allocates after sampler_new(), reads beyond n_vocab, or lets a NaN logit be chosen.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/sampler.h"

/* ---- mt19937 ------------------------------------------------------------------------------ */

#define MT_N 624u
#define MT_M 397u

void sampler_mt_seed(struct sampler_mt19937 *r, uint32_t seed)
{
	uint32_t i;

	r->mt[0] = seed;
	for (i = 1; i < MT_N; i++)
		r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + i;
	r->idx = MT_N;
}

static void mt_twist(struct sampler_mt19937 *r)
{
	uint32_t i, y;

	for (i = 0; i < MT_N; i++) {
		y = (r->mt[i] & 0x80000000u) | (r->mt[(i + 1) % MT_N] & 0x7fffffffu);
		r->mt[i] = r->mt[(i + MT_M) % MT_N] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
	}
	r->idx = 0;
}

uint32_t sampler_mt_next(struct sampler_mt19937 *r)
{
	uint32_t y;

	if (r->idx >= MT_N)
		mt_twist(r);
	y = r->mt[r->idx++];
	y ^= y >> 11;
	y ^= (y << 7) & 0x9d2c5680u;
	y ^= (y << 15) & 0xefc60000u;
	y ^= y >> 18;
	return y;
}

/* libstdc++ generate_canonical<double, 53> with a 32-bit engine: two draws, in double. */
double sampler_mt_canonical(struct sampler_mt19937 *r)
{
	const double range = 4294967296.0;
	double sum = 0.0, tmp = 1.0, ret;
	int k;

	for (k = 0; k < 2; k++) {
		sum += (double)sampler_mt_next(r) * tmp;
		tmp *= range;
	}
	ret = sum / tmp;
	if (ret >= 1.0)
		ret = nextafter(1.0, 0.0);
	return ret;
}

/* ---- candidates and rules ----------------------------------------------------------------- */

/* a before b: higher logit first, then lower id. */
static int cand_before(const struct sampler_cand *a, const struct sampler_cand *b)
{
	return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int cand_cmp(const void *pa, const void *pb)
{
	const struct sampler_cand *a = pa, *b = pb;

	if (cand_before(a, b))
		return -1;
	return cand_before(b, a) ? 1 : 0;
}

void sampler_cands_init(struct sampler_cands *c, const float *logits, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		c->data[i].id = (int32_t)i;
		c->data[i].logit = isnan(logits[i]) ? -INFINITY : logits[i];
		c->data[i].p = 0.0f;
	}
	c->size = n;
	c->sorted = false;
}

void sampler_cands_sort(struct sampler_cands *c)
{
	if (!c->sorted)
		qsort(c->data, c->size, sizeof(c->data[0]), cand_cmp);
	c->sorted = true;
}

/* Sift-down in a heap whose root is the worst candidate (the one that sorts last). */
static void heap_down(struct sampler_cand *h, size_t n, size_t i)
{
	struct sampler_cand t;
	size_t w, l, r;

	for (;;) {
		w = i;
		l = 2 * i + 1;
		r = l + 1;
		if (l < n && cand_before(&h[w], &h[l]))
			w = l;
		if (r < n && cand_before(&h[w], &h[r]))
			w = r;
		if (w == i)
			return;
		t = h[i];
		h[i] = h[w];
		h[w] = t;
		i = w;
	}
}

/* Moves the k best to data[0..k) in order, in O(n log k) (std::partial_sort's contract). */
static void partial_sort(struct sampler_cands *c, size_t k)
{
	struct sampler_cand *h = c->data;
	size_t i;

	if (k * 4 >= c->size) {
		sampler_cands_sort(c);
		return;
	}
	for (i = k / 2; i-- > 0;)
		heap_down(h, k, i);
	for (i = k; i < c->size; i++) {
		if (cand_before(&h[i], &h[0])) {
			h[0] = h[i];
			heap_down(h, k, 0);
		}
	}
	qsort(h, k, sizeof(h[0]), cand_cmp);
}

void sampler_softmax(struct sampler_cands *c)
{
	float max_l, cum = 0.0f;
	size_t i;

	sampler_cands_sort(c);
	max_l = c->data[0].logit;
	if (max_l == -INFINITY) { /* nothing finite left: all the mass on the first */
		for (i = 0; i < c->size; i++)
			c->data[i].p = i == 0 ? 1.0f : 0.0f;
		return;
	}
	for (i = 0; i < c->size; i++) {
		float p = expf(c->data[i].logit - max_l);

		c->data[i].p = p;
		cum += p;
	}
	for (i = 0; i < c->size; i++)
		c->data[i].p /= cum;
}

void sampler_top_k(struct sampler_cands *c, int32_t k)
{
	size_t kk;

	if (k <= 0)
		return;
	kk = (size_t)k < c->size ? (size_t)k : c->size;
	if (!c->sorted) {
		partial_sort(c, kk);
		c->sorted = true;
	}
	c->size = kk;
}

void sampler_top_p(struct sampler_cands *c, float p, size_t min_keep)
{
	float cum = 0.0f;
	size_t i, last;

	if (p >= 1.0f)
		return;
	sampler_softmax(c);
	last = c->size;
	for (i = 0; i < c->size; i++) {
		cum += c->data[i].p;
		if (cum >= p && i + 1 >= min_keep) {
			last = i + 1;
			break;
		}
	}
	c->size = last;
}

void sampler_min_p(struct sampler_cands *c, float p, size_t min_keep)
{
	float max_l = -INFINITY, min_l;
	size_t i, n = 0;

	if (p <= 0.0f || c->size == 0)
		return;
	if (!c->sorted) {
		for (i = 0; i < c->size; i++)
			if (c->data[i].logit > max_l)
				max_l = c->data[i].logit;
		min_l = max_l + logf(p);
		for (i = 0; i < c->size; i++)
			n += c->data[i].logit >= min_l;
		if (n >= min_keep && n > 0) {
			for (i = 0, n = 0; i < c->size; i++)
				if (c->data[i].logit >= min_l)
					c->data[n++] = c->data[i];
			c->size = n;
			return;
		}
		sampler_cands_sort(c);
	}
	min_l = c->data[0].logit + logf(p);
	for (i = 1; i < c->size; i++)
		if (c->data[i].logit < min_l && i >= min_keep)
			break;
	c->size = i;
}

void sampler_temp(struct sampler_cands *c, float t)
{
	size_t i, max_i = 0;
	float max_l;

	if (t <= 0.0f) {
		max_l = c->data[0].logit;
		for (i = 1; i < c->size; i++) {
			if (c->data[i].logit > max_l) {
				c->data[max_i].logit = -INFINITY;
				max_i = i;
				max_l = c->data[i].logit;
			} else {
				c->data[i].logit = -INFINITY;
			}
		}
		return;
	}
	for (i = 0; i < c->size; i++)
		c->data[i].logit /= t;
}

void sampler_penalties(struct sampler_cands *c, const uint32_t *count, size_t n_vocab, float repeat,
		       float freq, float presence)
{
	size_t i;

	if (repeat == 1.0f && freq == 0.0f && presence == 0.0f)
		return;
	for (i = 0; i < c->size; i++) {
		struct sampler_cand *d = &c->data[i];
		uint32_t n;

		if (d->id < 0 || (size_t)d->id >= n_vocab || (n = count[d->id]) == 0)
			continue;
		if (d->logit <= 0.0f)
			d->logit *= repeat;
		else
			d->logit /= repeat;
		d->logit -= (float)n * freq + (float)(n > 0) * presence;
	}
	c->sorted = false;
}

/* std::discrete_distribution<int>(p...)(rng) as libstdc++ implements it. */
size_t sampler_dist(struct sampler_cands *c, struct sampler_mt19937 *rng)
{
	double sum = 0.0, cp = 0.0, u;
	size_t i;

	sampler_softmax(c);
	if (c->size < 2)
		return 0; /* libstdc++ draws nothing for fewer than two weights */
	for (i = 0; i < c->size; i++)
		sum += (double)c->data[i].p;
	u = sampler_mt_canonical(rng);
	/* lower_bound over the normalised partial sums, the last forced to 1 */
	for (i = 0; i + 1 < c->size; i++) {
		cp += (double)c->data[i].p / sum;
		if (!(cp < u))
			return i;
	}
	return c->size - 1;
}

size_t sampler_argmax(const float *logits, size_t n)
{
	size_t i, best = 0;

	while (best < n && isnan(logits[best]))
		best++;
	if (best == n)
		return 0;
	for (i = best + 1; i < n; i++)
		if (logits[i] > logits[best])
			best = i;
	return best;
}

/* ---- the chain ---------------------------------------------------------------------------- */

struct sampler {
	struct sampler_params p;
	size_t n_vocab;
	struct sampler_cands c;
	struct sampler_mt19937 rng;
	uint32_t *count; /* n_vocab: occurrences among the last penalty_last_n accepted */
	int32_t *ring;	 /* penalty_last_n > 0: the accepted tokens, oldest at ring_head */
	size_t ring_len, ring_head;
};

void sampler_params_default(struct sampler_params *p)
{
	memset(p, 0, sizeof(*p));
	p->temp = 0.8f;
	p->top_k = 40;
	p->top_p = 0.95f;
	p->min_p = 0.05f;
	p->repeat_penalty = 1.0f;
	p->penalty_last_n = 64;
}

int sampler_params_check(const struct sampler_params *p, char *err, size_t errlen)
{
	const char *bad = NULL;

	if (!isfinite(p->temp) || p->temp < 0.0f)
		bad = "temperature must be a finite number >= 0";
	else if (!isfinite(p->top_p) || p->top_p < 0.0f || p->top_p > 1.0f)
		bad = "top_p must be in [0, 1]";
	else if (!isfinite(p->min_p) || p->min_p < 0.0f || p->min_p > 1.0f)
		bad = "min_p must be in [0, 1]";
	else if (!isfinite(p->repeat_penalty) || p->repeat_penalty <= 0.0f)
		bad = "repeat_penalty must be a finite number > 0";
	else if (!isfinite(p->freq_penalty) || !isfinite(p->presence_penalty))
		bad = "frequency and presence penalties must be finite";
	else if (p->penalty_last_n < -1)
		bad = "penalty_last_n must be >= -1";
	if (bad == NULL)
		return 0;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", bad);
	return -1;
}

int sampler_new(const struct sampler_params *p, size_t n_vocab, struct sampler **out, char *err,
		size_t errlen)
{
	struct sampler *s;

	*out = NULL;
	if (sampler_params_check(p, err, errlen) != 0)
		return -1;
	if (n_vocab == 0 || n_vocab > INT32_MAX) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "vocabulary of %zu tokens", n_vocab);
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto nomem;
	s->p = *p;
	s->n_vocab = n_vocab;
	s->c.data = calloc(n_vocab, sizeof(*s->c.data));
	s->count = calloc(n_vocab, sizeof(*s->count));
	if (p->penalty_last_n > 0)
		s->ring = calloc((size_t)p->penalty_last_n, sizeof(*s->ring));
	if (s->c.data == NULL || s->count == NULL || (p->penalty_last_n > 0 && s->ring == NULL))
		goto nomem;
	sampler_reset(s);
	*out = s;
	return 0;
nomem:
	sampler_free(s);
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "out of memory");
	return -1;
}

void sampler_free(struct sampler *s)
{
	if (s == NULL)
		return;
	free(s->c.data);
	free(s->count);
	free(s->ring);
	free(s);
}

void sampler_reset(struct sampler *s)
{
	memset(s->count, 0, s->n_vocab * sizeof(*s->count));
	s->ring_len = s->ring_head = 0;
	sampler_mt_seed(&s->rng, s->p.seed);
}

void sampler_accept(struct sampler *s, int32_t id)
{
	size_t cap;

	if (s->p.greedy || s->p.penalty_last_n == 0 || id < 0 || (size_t)id >= s->n_vocab)
		return;
	if (s->p.penalty_last_n < 0) { /* the whole history: nothing ever leaves */
		if (s->count[id] < UINT32_MAX)
			s->count[id]++;
		return;
	}
	cap = (size_t)s->p.penalty_last_n;
	if (s->ring_len == cap) {
		int32_t old = s->ring[s->ring_head];

		s->count[old]--;
		s->ring[s->ring_head] = id;
		s->ring_head = (s->ring_head + 1) % cap;
	} else {
		s->ring[(s->ring_head + s->ring_len) % cap] = id;
		s->ring_len++;
	}
	s->count[id]++;
}

int32_t sampler_sample(struct sampler *s, const float *logits)
{
	const struct sampler_params *p = &s->p;
	size_t i;

	if (p->greedy)
		return (int32_t)sampler_argmax(logits, s->n_vocab);
	sampler_cands_init(&s->c, logits, s->n_vocab);
	if (p->penalty_last_n != 0)
		sampler_penalties(&s->c, s->count, s->n_vocab, p->repeat_penalty, p->freq_penalty,
				  p->presence_penalty);
	sampler_top_k(&s->c, p->top_k);
	sampler_top_p(&s->c, p->top_p, p->min_keep);
	sampler_min_p(&s->c, p->min_p, p->min_keep);
	sampler_temp(&s->c, p->temp);
	i = sampler_dist(&s->c, &s->rng);
	return s->c.data[i].id;
}
