/*
 * test_sampler.c — the sampler chain on hand-made logit vectors: mt19937 and libstdc++'s
 * discrete_distribution bit for bit (reference values printed by a C++ program using
 * std::mt19937 and std::discrete_distribution with GCC 12), and each rule shown to change the
 * outcome: greedy, temperature, top-k, top-p, min-p, repetition / frequency / presence
 * penalties and their window, seeds.
 * Never: loads a model or touches the file system.
 */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "infer/sampler.h"

#define NV 8

static struct sampler *mk(const struct sampler_params *p, size_t n_vocab)
{
	struct sampler *s = NULL;
	char err[128];

	assert_int_equal(sampler_new(p, n_vocab, &s, err, sizeof(err)), 0);
	return s;
}

/* Counts how often each id comes out of n draws. */
static void histogram(struct sampler *s, const float *logits, int n, int *hist, size_t n_vocab)
{
	int i;

	memset(hist, 0, n_vocab * sizeof(*hist));
	for (i = 0; i < n; i++) {
		int32_t id = sampler_sample(s, logits);

		assert_true(id >= 0 && (size_t)id < n_vocab);
		hist[id]++;
	}
}

static void test_mt19937(void **state)
{
	struct sampler_mt19937 r;
	uint32_t v = 0;
	int i;

	(void)state;
	sampler_mt_seed(&r, 5489u); /* the C++ standard's check: 10000th output */
	for (i = 0; i < 10000; i++)
		v = sampler_mt_next(&r);
	assert_int_equal(v, 4123659995u);
	sampler_mt_seed(&r, 42u);
	assert_int_equal(sampler_mt_next(&r), 1608637542u);
	assert_int_equal(sampler_mt_next(&r), 3421126067u);
	sampler_mt_seed(&r, 42u);
	assert_true(sampler_mt_canonical(&r) == 0.79654298428784598);
}

/* std::discrete_distribution over a softmax, seed 1234: the ids GCC's libstdc++ draws. */
static void test_dist_matches_libstdcxx(void **state)
{
	static const float logits[5] = {1.0f, 0.5f, 0.25f, -1.0f, 2.0f};
	static const int32_t want[24] = {4, 1, 0, 1, 1, 4, 4, 1, 4, 4, 4, 4,
					 4, 1, 4, 4, 4, 4, 4, 4, 0, 2, 3, 4};
	struct sampler_cand data[5];
	struct sampler_cands c = {data, 0, false};
	struct sampler_mt19937 r;
	int i;

	(void)state;
	sampler_mt_seed(&r, 1234u);
	for (i = 0; i < 24; i++) {
		sampler_cands_init(&c, logits, 5);
		assert_int_equal(c.data[sampler_dist(&c, &r)].id, want[i]);
	}
}

static void test_argmax_ties_and_nan(void **state)
{
	const float a[5] = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f};
	const float b[3] = {NAN, -5.0f, -5.0f};
	struct sampler_params p;
	struct sampler *s;

	(void)state;
	assert_int_equal(sampler_argmax(a, 5), 1);
	assert_int_equal(sampler_argmax(b, 3), 1);
	sampler_params_default(&p);
	p.greedy = true;
	s = mk(&p, 5);
	assert_int_equal(sampler_sample(s, a), 1);
	sampler_accept(s, 1); /* greedy ignores history */
	assert_int_equal(sampler_sample(s, a), 1);
	sampler_free(s);
}

/* Sorting and top-k keep ties in id order, and the heap path equals a full sort. */
static void test_sort_and_top_k(void **state)
{
	float logits[100];
	struct sampler_cand d1[100], d2[100];
	struct sampler_cands a = {d1, 0, false}, b = {d2, 0, false};
	int i;

	(void)state;
	for (i = 0; i < 100; i++)
		logits[i] = (float)((i * 37) % 11); /* many ties */
	sampler_cands_init(&a, logits, 100);
	sampler_cands_init(&b, logits, 100);
	sampler_cands_sort(&a);
	sampler_top_k(&b, 7); /* heap path: 7 * 4 < 100 */
	assert_int_equal(b.size, 7);
	for (i = 0; i < 7; i++) {
		assert_int_equal(a.data[i].id, b.data[i].id);
		assert_true(a.data[i].logit == b.data[i].logit);
	}
	for (i = 1; i < 100; i++)
		assert_true(
		    a.data[i - 1].logit > a.data[i].logit ||
		    (a.data[i - 1].logit == a.data[i].logit && a.data[i - 1].id < a.data[i].id));
	sampler_top_k(&b, 0); /* off */
	assert_int_equal(b.size, 7);
	sampler_top_k(&b, 1000); /* more than there are */
	assert_int_equal(b.size, 7);
}

static void test_temperature(void **state)
{
	const float logits[NV] = {2.0f, 1.0f, 0.5f, 0.0f, 0.0f, -1.0f, 1.5f, 0.2f};
	struct sampler_params p;
	struct sampler *s;
	int hist[NV], cold, hot;

	(void)state;
	sampler_params_default(&p);
	p.top_k = 0;
	p.top_p = 1.0f;
	p.min_p = 0.0f;
	p.seed = 7;
	p.temp = 0.1f; /* nearly greedy */
	s = mk(&p, NV);
	histogram(s, logits, 400, hist, NV);
	cold = hist[0];
	sampler_free(s);
	p.temp = 5.0f; /* nearly uniform */
	s = mk(&p, NV);
	histogram(s, logits, 400, hist, NV);
	hot = hist[0];
	assert_true(hist[5] > 0); /* the worst token now comes out */
	sampler_free(s);
	assert_true(cold >= 390);
	assert_true(hot < 150);
	/* temperature 0: always the best, through the chain (llama.cpp's temp <= 0) */
	p.temp = 0.0f;
	s = mk(&p, NV);
	histogram(s, logits, 50, hist, NV);
	assert_int_equal(hist[0], 50);
	sampler_free(s);
}

static void test_top_k(void **state)
{
	const float logits[NV] = {0.3f, 0.2f, 0.1f, 0.0f, 0.0f, 0.1f, 0.25f, 0.05f};
	struct sampler_params p;
	struct sampler *s;
	int hist[NV];

	(void)state;
	sampler_params_default(&p);
	p.top_p = 1.0f;
	p.min_p = 0.0f;
	p.temp = 1.0f;
	p.top_k = 0;
	s = mk(&p, NV);
	histogram(s, logits, 400, hist, NV);
	assert_true(hist[3] > 0 && hist[4] > 0 && hist[1] > 0);
	sampler_free(s);
	p.top_k = 2; /* only ids 0 and 6 */
	s = mk(&p, NV);
	histogram(s, logits, 400, hist, NV);
	assert_int_equal(hist[0] + hist[6], 400);
	assert_true(hist[0] > 0 && hist[6] > 0);
	sampler_free(s);
	p.top_k = 1;
	s = mk(&p, NV);
	histogram(s, logits, 50, hist, NV);
	assert_int_equal(hist[0], 50);
	sampler_free(s);
}

static void test_top_p(void **state)
{
	/* probabilities 0.5, 0.3, 0.2 (logits = log p) */
	const float logits[3] = {logf(0.5f), logf(0.3f), logf(0.2f)};
	struct sampler_cand d[3];
	struct sampler_cands c = {d, 0, false};
	struct sampler_params p;
	struct sampler *s;
	int hist[3];

	(void)state;
	sampler_cands_init(&c, logits, 3);
	sampler_top_p(&c, 0.5f, 0); /* 0.5 reaches 0.5: one token */
	assert_int_equal(c.size, 1);
	sampler_cands_init(&c, logits, 3);
	sampler_top_p(&c, 0.6f, 0);
	assert_int_equal(c.size, 2);
	sampler_cands_init(&c, logits, 3);
	sampler_top_p(&c, 0.5f, 3); /* min_keep wins */
	assert_int_equal(c.size, 3);
	sampler_cands_init(&c, logits, 3);
	sampler_top_p(&c, 1.0f, 0); /* off: not even sorted */
	assert_int_equal(c.size, 3);
	assert_false(c.sorted);

	sampler_params_default(&p);
	p.top_k = 0;
	p.min_p = 0.0f;
	p.temp = 1.0f;
	p.top_p = 1.0f;
	s = mk(&p, 3);
	histogram(s, logits, 300, hist, 3);
	assert_true(hist[2] > 0);
	sampler_free(s);
	p.top_p = 0.7f; /* ids 0 and 1 only */
	s = mk(&p, 3);
	histogram(s, logits, 300, hist, 3);
	assert_int_equal(hist[2], 0);
	assert_true(hist[1] > 0);
	sampler_free(s);
}

static void test_min_p(void **state)
{
	/* p relative to the best: 1, 0.5, 0.2, 0.05 */
	const float logits[4] = {0.0f, logf(0.5f), logf(0.2f), logf(0.05f)};
	struct sampler_cand d[4];
	struct sampler_cands c = {d, 0, false};
	struct sampler_params p;
	struct sampler *s;
	int hist[4];

	(void)state;
	sampler_cands_init(&c, logits, 4);
	sampler_min_p(&c, 0.3f, 0); /* unsorted path keeps 0, 1 in id order */
	assert_int_equal(c.size, 2);
	assert_int_equal(c.data[0].id, 0);
	assert_int_equal(c.data[1].id, 1);
	sampler_cands_init(&c, logits, 4);
	sampler_cands_sort(&c);
	sampler_min_p(&c, 0.1f, 0); /* sorted path: 0, 1, 2 */
	assert_int_equal(c.size, 3);
	sampler_cands_init(&c, logits, 4);
	sampler_min_p(&c, 0.9f, 2); /* too few kept: min_keep through the sorted path */
	assert_int_equal(c.size, 2);

	sampler_params_default(&p);
	p.top_k = 0;
	p.top_p = 1.0f;
	p.temp = 1.0f;
	p.min_p = 0.0f;
	s = mk(&p, 4);
	histogram(s, logits, 600, hist, 4);
	assert_true(hist[2] > 0);
	sampler_free(s);
	p.min_p = 0.4f; /* ids 0 and 1 only */
	s = mk(&p, 4);
	histogram(s, logits, 600, hist, 4);
	assert_int_equal(hist[2] + hist[3], 0);
	assert_true(hist[1] > 0);
	sampler_free(s);
}

static void test_penalties_rule(void **state)
{
	const float logits[4] = {2.0f, -1.0f, 1.0f, 0.5f};
	const uint32_t count[4] = {2, 1, 0, 0};
	struct sampler_cand d[4];
	struct sampler_cands c = {d, 0, false};

	(void)state;
	sampler_cands_init(&c, logits, 4);
	sampler_penalties(&c, count, 4, 2.0f, 0.0f, 0.0f);
	assert_true(c.data[0].logit == 1.0f);  /* positive: divided */
	assert_true(c.data[1].logit == -2.0f); /* negative: multiplied */
	assert_true(c.data[2].logit == 1.0f);  /* not seen: unchanged */
	sampler_cands_init(&c, logits, 4);
	sampler_penalties(&c, count, 4, 1.0f, 0.25f, 0.5f);
	assert_true(c.data[0].logit == 2.0f - 2 * 0.25f - 0.5f);
	assert_true(c.data[1].logit == -1.0f - 0.25f - 0.5f);
	assert_true(c.data[3].logit == 0.5f);
}

/* Penalties change the greedy-through-chain choice; the window forgets old tokens. */
static void test_penalties_chain(void **state)
{
	const float logits[NV] = {3.0f, 2.9f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
	struct sampler_params p;
	struct sampler *s;
	int i;

	(void)state;
	sampler_params_default(&p);
	p.temp = 0.0f;
	s = mk(&p, NV);
	sampler_accept(s, 0);
	assert_int_equal(sampler_sample(s, logits), 0); /* repeat_penalty 1: off */
	sampler_free(s);

	p.repeat_penalty = 1.1f; /* 3 / 1.1 < 2.9 */
	p.penalty_last_n = 4;
	s = mk(&p, NV);
	assert_int_equal(sampler_sample(s, logits), 0);
	sampler_accept(s, 0);
	assert_int_equal(sampler_sample(s, logits), 1);
	for (i = 0; i < 3; i++)
		sampler_accept(s, 5);
	assert_int_equal(sampler_sample(s, logits), 1); /* 0 still among the last 4 */
	sampler_accept(s, 5);
	assert_int_equal(sampler_sample(s, logits), 0); /* pushed out of the window */
	sampler_reset(s);
	assert_int_equal(sampler_sample(s, logits), 0);
	sampler_free(s);

	p.repeat_penalty = 1.0f;
	p.presence_penalty = 0.2f;
	s = mk(&p, NV);
	sampler_accept(s, 0);
	assert_int_equal(sampler_sample(s, logits), 1);
	sampler_free(s);

	p.presence_penalty = 0.0f;
	p.freq_penalty = 0.06f; /* one occurrence: 2.94 > 2.9; two: 2.88 < 2.9 */
	s = mk(&p, NV);
	sampler_accept(s, 0);
	assert_int_equal(sampler_sample(s, logits), 0);
	sampler_accept(s, 0);
	assert_int_equal(sampler_sample(s, logits), 1);
	sampler_free(s);

	p.penalty_last_n = 0; /* off */
	s = mk(&p, NV);
	sampler_accept(s, 0);
	sampler_accept(s, 0);
	assert_int_equal(sampler_sample(s, logits), 0);
	sampler_free(s);

	p.penalty_last_n = -1; /* the whole history */
	s = mk(&p, NV);
	sampler_accept(s, 0);
	sampler_accept(s, 0);
	for (i = 0; i < 100; i++)
		sampler_accept(s, 6);
	assert_int_equal(sampler_sample(s, logits), 1);
	sampler_free(s);
}

static void test_seeds(void **state)
{
	float logits[64];
	struct sampler_params p;
	struct sampler *a, *b, *c;
	int32_t ra[32], rb[32], rc[32];
	int i, same_c = 0;

	(void)state;
	for (i = 0; i < 64; i++)
		logits[i] = (float)((i * 13) % 7) * 0.1f;
	sampler_params_default(&p);
	p.temp = 1.0f;
	p.seed = 99;
	a = mk(&p, 64);
	b = mk(&p, 64);
	p.seed = 100;
	c = mk(&p, 64);
	for (i = 0; i < 32; i++) {
		ra[i] = sampler_sample(a, logits);
		rb[i] = sampler_sample(b, logits);
		rc[i] = sampler_sample(c, logits);
		same_c += ra[i] == rc[i];
	}
	assert_memory_equal(ra, rb, sizeof(ra));
	assert_true(same_c < 32);
	sampler_reset(a); /* re-seeded: the same sequence again */
	for (i = 0; i < 32; i++)
		assert_int_equal(sampler_sample(a, logits), ra[i]);
	sampler_free(a);
	sampler_free(b);
	sampler_free(c);
}

static void test_params_check(void **state)
{
	struct sampler_params p;
	struct sampler *s = NULL;
	char err[128];

	(void)state;
	sampler_params_default(&p);
	assert_int_equal(sampler_params_check(&p, err, sizeof(err)), 0);
	p.temp = -1.0f;
	assert_int_equal(sampler_new(&p, 10, &s, err, sizeof(err)), -1);
	assert_null(s);
	assert_non_null(strstr(err, "temperature"));
	sampler_params_default(&p);
	p.top_p = NAN;
	assert_int_equal(sampler_params_check(&p, err, sizeof(err)), -1);
	sampler_params_default(&p);
	p.repeat_penalty = 0.0f;
	assert_int_equal(sampler_params_check(&p, err, sizeof(err)), -1);
	sampler_params_default(&p);
	p.penalty_last_n = -2;
	assert_int_equal(sampler_params_check(&p, err, sizeof(err)), -1);
	sampler_params_default(&p);
	assert_int_equal(sampler_new(&p, 0, &s, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mt19937),
	    cmocka_unit_test(test_dist_matches_libstdcxx),
	    cmocka_unit_test(test_argmax_ties_and_nan),
	    cmocka_unit_test(test_sort_and_top_k),
	    cmocka_unit_test(test_temperature),
	    cmocka_unit_test(test_top_k),
	    cmocka_unit_test(test_top_p),
	    cmocka_unit_test(test_min_p),
	    cmocka_unit_test(test_penalties_rule),
	    cmocka_unit_test(test_penalties_chain),
	    cmocka_unit_test(test_seeds),
	    cmocka_unit_test(test_params_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
