/*
 * pol_index.c — a per-domain index over the rules, so a decision does not try 1,000 rules.
 *
 * For each domain, the key field is the one most rules pin with plain literals (no glob
 * characters: `host: api.example.com`, `service: secai.Ask`). Rules pinning it go into a hash
 * bucket per literal; every other rule is "wild". A request then tries, in rule order, only its
 * value's bucket merged with the wild rules: a rule left out pins the key field to literals the
 * value is not, so it could not match — first match stays first match (tests/policy compare
 * every decision with the full scan).
 * Owns: the index, built once at load, immutable after. Never: changes which rule decides.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/pol_impl.h"

#define POL_INDEX_MIN_RULES 8 /* fewer pinned rules: the plain scan is as fast */

static uint64_t pol_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ull;
	return h;
}

static bool pol_literal(const char *pat)
{
	return strpbrk(pat, "*?\\") == NULL;
}

/* The condition that pins field k with literals only, or NULL. */
static const struct pol_cond *pol_pin(const struct pol_rule *ru, int k, enum pol_domain d)
{
	const struct pol_field *f = pol_field_def(d, k);

	if (f == NULL || f->type == PF_PORT)
		return NULL;
	for (size_t j = 0; j < ru->nconds; j++) {
		const struct pol_cond *c = &ru->conds[j];
		bool lit = c->field == k && c->op == PO_ANY && c->npats > 0;
		for (size_t i = 0; lit && i < c->npats; i++)
			lit = pol_literal(c->pats[i]);
		if (lit)
			return c;
	}
	return NULL;
}

static struct pol_bucket *pol_slot(struct pol_index *ix, const char *key)
{
	size_t i = pol_hash(key) & (ix->nbuckets - 1);

	while (ix->b[i].key != NULL && strcmp(ix->b[i].key, key) != 0)
		i = (i + 1) & (ix->nbuckets - 1);
	return &ix->b[i];
}

static int pol_push(uint32_t **v, uint32_t *n, uint32_t *cap, uint32_t x)
{
	if (*n > 0 && (*v)[*n - 1] == x) /* the same rule twice (a repeated literal) */
		return 0;
	if (*n == *cap) {
		uint32_t nc = *cap ? *cap * 2 : 4;
		uint32_t *nv = realloc(*v, nc * sizeof(*nv));
		if (nv == NULL)
			return -1;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = x;
	return 0;
}

void pol_index_free(struct pol_index *ix)
{
	for (size_t i = 0; ix->b != NULL && i < ix->nbuckets; i++)
		free(ix->b[i].rules);
	free(ix->b);
	free(ix->wild);
	memset(ix, 0, sizeof(*ix));
	ix->field = -1;
}

int pol_index_build(struct pol_index *ix, const struct pol_rule *rules, size_t n,
		    enum pol_domain d)
{
	int best = -1;
	size_t best_n = 0, nkeys = 0;
	uint32_t wcap = 0;

	memset(ix, 0, sizeof(*ix));
	ix->field = -1;
	for (int k = 0; k < pol_field_count(d); k++) {
		size_t cnt = 0;
		for (size_t i = 0; i < n; i++)
			cnt += pol_pin(&rules[i], k, d) != NULL;
		if (cnt > best_n) {
			best = k;
			best_n = cnt;
		}
	}
	if (best < 0 || best_n < POL_INDEX_MIN_RULES || n > UINT32_MAX)
		return 0; /* no index: the plain scan */
	for (size_t i = 0; i < n; i++) {
		const struct pol_cond *c = pol_pin(&rules[i], best, d);
		nkeys += c ? c->npats : 0;
	}
	for (ix->nbuckets = 16; ix->nbuckets < 2 * nkeys; ix->nbuckets *= 2)
		;
	ix->b = calloc(ix->nbuckets, sizeof(*ix->b));
	if (ix->b == NULL)
		return -1;
	ix->field = best;
	for (size_t i = 0; i < n; i++) {
		const struct pol_cond *c = pol_pin(&rules[i], best, d);
		if (c == NULL) {
			if (pol_push(&ix->wild, &ix->nwild, &wcap, (uint32_t)i) != 0)
				goto fail;
			continue;
		}
		for (size_t p = 0; p < c->npats; p++) {
			struct pol_bucket *bk = pol_slot(ix, c->pats[p]);
			bk->key = c->pats[p]; /* owned by the rule, which outlives the index */
			if (pol_push(&bk->rules, &bk->n, &bk->cap, (uint32_t)i) != 0)
				goto fail;
		}
	}
	return 0;
fail:
	pol_index_free(ix);
	return -1;
}

size_t pol_index_next(const struct pol_index *ix, const char *value, size_t *bi, size_t *wi,
		      size_t n)
{
	const struct pol_bucket *bk = NULL;
	size_t a = SIZE_MAX, w = SIZE_MAX;

	if (value != NULL) {
		const struct pol_bucket *s = pol_slot((struct pol_index *)ix, value);
		bk = s->key != NULL ? s : NULL;
	}
	if (bk != NULL && *bi < bk->n)
		a = bk->rules[*bi];
	if (*wi < ix->nwild)
		w = ix->wild[*wi];
	if (a == SIZE_MAX && w == SIZE_MAX)
		return n;
	if (a < w) {
		(*bi)++;
		return a;
	}
	(*wi)++;
	return w;
}
