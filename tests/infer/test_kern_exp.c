/*
 * test_kern_exp.c — ggml's vector e^x and the SwiGLU built on it (src/infer/kern_exp.c):
 * accuracy of kern_vexpf against libm's double exp over its whole range and at its edges, every
 * ISA's SwiGLU the same bits as the portable one (tails and special values included), and
 * ops_swiglu taking e^x from kern_vexpf below n_vec and from libm's expf from there on, as ggml's
 * vector body and scalar tail do; softmax's e^x sums in ggml's grouping and order, every ISA's
 * the same bits, and ops_softmax close to the exact softmax.
 * Never: needs reference data; ISAs the CPU lacks are skipped (and said so).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/infer_impl.h"
#include "infer/kernels.h"

#include "../lib/testutil.h"

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static float frand(float lo, float hi)
{
	return test_frand(&rng_state, lo, hi);
}

static uint32_t bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static float from_bits(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* Error of kern_vexpf(x) in units of the last place of the true e^x (as a float). */
static double ulp_error(float x)
{
	const double want = exp((double)x);
	const float got = kern_vexpf(x);
	int e;

	frexp(want, &e);
	if (e - 24 < -149) /* subnormal result: ulp is the smallest subnormal */
		e = -149 + 24;
	return fabs((double)got - want) / ldexp(1.0, e - 24);
}

static void test_vexpf_accuracy(void **state)
{
	double worst = 0.0, err;
	float x, worst_x = 0.0f;
	int i;
	(void)state;

	/* every 97th float from -103.9 to 88.37, and random ones */
	for (x = -103.9f; x < 88.37f; x = from_bits(bits(x) + (x < 0 ? -97 : 97))) {
		if (x < 0 && x > -1e-30f)
			x = 0.0f; /* cross zero */
		err = ulp_error(x);
		if (err > worst) {
			worst = err;
			worst_x = x;
		}
	}
	for (i = 0; i < 1000000; i++) {
		x = frand(-103.9f, 88.37f);
		err = ulp_error(x);
		if (err > worst) {
			worst = err;
			worst_x = x;
		}
	}
	printf("# kern_vexpf: worst error %.3f ulp at x = %a\n", worst, (double)worst_x);
	assert_true(worst < 2.5); /* this variant: 2.2 ulp seen (1 + c0 b rounded before the sum) */
	assert_true(worst > 0.5); /* not libm (correctly rounded almost everywhere) */
	assert_true(kern_vexpf(0.0f) == 1.0f);
	assert_true(kern_vexpf(-0.0f) == 1.0f);
	assert_true(fabsf(kern_vexpf(1.0f) - 2.7182817f) <= 2.5f * 2.4e-7f);
}

static void test_vexpf_edges(void **state)
{
	(void)state;
	assert_true(isinf(kern_vexpf(INFINITY)) && kern_vexpf(INFINITY) > 0);
	assert_true(kern_vexpf(-INFINITY) == 0.0f);
	assert_true(isnan(kern_vexpf(NAN)));
	assert_true(isinf(kern_vexpf(89.0f)));	  /* past FLT_MAX */
	assert_true(isinf(kern_vexpf(1e30f)));	  /* |n| > 192 */
	assert_true(kern_vexpf(-1e30f) == 0.0f);  /* |n| > 192 */
	assert_true(kern_vexpf(-104.0f) == 0.0f); /* below the smallest subnormal */
	assert_true(kern_vexpf(-100.0f) > 0.0f);  /* subnormal, not flushed */
	assert_true(kern_vexpf(-100.0f) < 1.2e-38f);
	assert_true(fabs(kern_vexpf(88.0f) / exp(88.0) - 1.0) < 1e-6);
}

/* Inputs for SwiGLU: ordinary gates, large ones of both signs (exp's edges), specials. */
static void fill_gate(float *g, float *u, int n)
{
	static const float specials[] = {0.0f,	  -0.0f,  INFINITY, -INFINITY, NAN,
					 88.5f,	  -88.5f, 103.0f,   -103.0f,   150.0f,
					 -150.0f, 1e-40f, -1e-40f,  1e30f};
	int i;

	for (i = 0; i < n; i++) {
		if (i % 11 == 7)
			g[i] = specials[(i / 11) % (int)(sizeof(specials) / sizeof(specials[0]))];
		else if (i % 5 == 1)
			g[i] = frand(-120.0f, 120.0f);
		else
			g[i] = frand(-6.0f, 6.0f);
		u[i] = frand(-3.0f, 3.0f);
	}
}

static int same_bits_or_both_nan(float a, float b)
{
	return bits(a) == bits(b) || (isnan(a) && isnan(b));
}

static void test_swiglu_isa_vs_portable(void **state)
{
	enum { N = 4099 };
	float *g = malloc(N * sizeof(float)), *u = malloc(N * sizeof(float));
	float *gp = malloc(N * sizeof(float)), *gi = malloc(N * sizeof(float));
	int isa, n, i, tested = 0;
	(void)state;

	assert_non_null(g);
	assert_non_null(u);
	assert_non_null(gp);
	assert_non_null(gi);
	fill_gate(g, u, N);
	for (isa = KERN_ISA_AVX2; isa < KERN_ISA_COUNT; isa++) {
		if (!kern_cpu_has((enum kern_isa)isa)) {
			printf("# %s: not on this CPU, skipped\n",
			       kern_isa_name((enum kern_isa)isa));
			continue;
		}
		for (n = 0; n <= N; n = n < 40 ? n + 1 : n * 2 + 3) {
			if (n > N)
				n = N;
			memcpy(gp, g, (size_t)n * sizeof(float));
			memcpy(gi, g, (size_t)n * sizeof(float));
			kern_swiglu_isa(KERN_ISA_PORTABLE, gp, u, n);
			kern_swiglu_isa((enum kern_isa)isa, gi, u, n);
			for (i = 0; i < n; i++)
				if (!same_bits_or_both_nan(gp[i], gi[i]))
					fail_msg("%s n=%d i=%d g=%a: %a vs portable %a",
						 kern_isa_name((enum kern_isa)isa), n, i,
						 (double)g[i], (double)gi[i], (double)gp[i]);
			tested++;
			if (n == N)
				break;
		}
	}
	printf("# swiglu: %d (ISA, length) pairs equal to portable\n", tested);
	free(g);
	free(u);
	free(gp);
	free(gi);
}

/* ops_swiglu: kern_vexpf below n_vec, libm's expf from n_vec on (ggml's scalar tail). */
static void test_ops_swiglu_tail_rule(void **state)
{
	enum { N = 5000 };
	float *g = malloc(N * sizeof(float)), *u = malloc(N * sizeof(float));
	float *y = malloc(N * sizeof(float));
	int i, n_vec, differ = 0;
	(void)state;

	assert_non_null(g);
	assert_non_null(u);
	assert_non_null(y);
	for (i = 0; i < N; i++) {
		g[i] = frand(-8.0f, 8.0f);
		u[i] = frand(-2.0f, 2.0f);
	}
	for (i = 0; i < N; i++) /* the two exps must differ somewhere, or this proves nothing */
		differ += kern_vexpf(0.0f - g[i]) != expf(-g[i]);
	printf("# %d of %d inputs where ggml's e^x and libm's differ\n", differ, N);
	assert_true(differ > 10);
	for (n_vec = 0; n_vec <= N; n_vec += 1248) {
		memcpy(y, g, N * sizeof(float));
		ops_swiglu(y, u, N, n_vec);
		for (i = 0; i < N; i++) {
			const float x = g[i];
			const float want = i < n_vec ? x / (1.0f + kern_vexpf(0.0f - x)) * u[i]
						     : x / (1.0f + expf(-x)) * u[i];

			if (bits(y[i]) != bits(want))
				fail_msg("n_vec=%d i=%d: %a want %a", n_vec, i, (double)y[i],
					 (double)want);
		}
	}
	memcpy(y, g, N * sizeof(float));
	ops_swiglu(y, u, 100, -5); /* a negative n_vec is none */
	for (i = 0; i < 100; i++)
		assert_true(bits(y[i]) == bits(g[i] / (1.0f + expf(-g[i])) * u[i]));
	free(g);
	free(u);
	free(y);
}

/* Sum of kern_vexpf(x - max) as ggml_vec_soft_max_f32 on AVX-512 takes it, written out here
 * independently: per 16 from 0, ((v8+v0 + v12+v4) + (v10+v2 + v14+v6)) + ((v9+v1 + v13+v5) +
 * (v11+v3 + v15+v7)), into a double. */
static double ggml_order_sum(const float *x, float max, int n)
{
	double sum = 0.0;
	int i, l;

	for (i = 0; i < n; i += 16) {
		float v[16], a[4];

		for (l = 0; l < 16; l++)
			v[l] = i + l < n ? kern_vexpf(x[i + l] - max) : 0.0f;
		for (l = 0; l < 4; l++)
			a[l] = (v[l + 12] + v[l + 4]) + (v[l + 8] + v[l]);
		sum += (double)((a[0] + a[2]) + (a[1] + a[3]));
	}
	return sum;
}

static void test_exp_sum_order_and_isa(void **state)
{
	enum { N = 1031 };
	float *x = malloc(N * sizeof(float)), *yp = malloc(N * sizeof(float));
	float *yi = malloc(N * sizeof(float));
	int isa, n, i, order_matters = 0;
	(void)state;

	assert_non_null(x);
	assert_non_null(yp);
	assert_non_null(yi);
	for (i = 0; i < N; i++) /* wide spread: many terms underflow, a few dominate */
		x[i] = i % 13 == 5 ? frand(-200.0f, -90.0f) : frand(-30.0f, 0.0f);
	x[77] = 0.0f;
	for (n = 1; n <= N; n = n < 48 ? n + 1 : n * 3 + 1) {
		const double want = ggml_order_sum(x, 0.0f, n);
		double plain = 0.0, got;

		got = kern_exp_sum_isa(KERN_ISA_PORTABLE, yp, x, 0.0f, n);
		if (got != want)
			fail_msg("n=%d: portable sum %a, ggml's order %a", n, got, want);
		for (i = 0; i < n; i++) {
			assert_true(bits(yp[i]) == bits(kern_vexpf(x[i])));
			plain += (double)yp[i];
		}
		order_matters += plain != got;
		for (isa = KERN_ISA_AVX2; isa < KERN_ISA_COUNT; isa++) {
			if (!kern_cpu_has((enum kern_isa)isa))
				continue;
			got = kern_exp_sum_isa((enum kern_isa)isa, yi, x, 0.0f, n);
			if (got != want)
				fail_msg("%s n=%d: sum %a, portable %a",
					 kern_isa_name((enum kern_isa)isa), n, got, want);
			if (memcmp(yi, yp, (size_t)n * sizeof(float)) != 0)
				fail_msg("%s n=%d: values differ from portable",
					 kern_isa_name((enum kern_isa)isa), n);
		}
	}
	printf("# exp sums: %d lengths where ggml's order differs from a plain double sum\n",
	       order_matters);
	assert_true(order_matters > 0);	   /* else the order check above proves nothing */
	memcpy(yp, x, 40 * sizeof(float)); /* in place (y == x), as ops_softmax calls it */
	assert_true(kern_exp_sum(yp, yp, 0.0f, 40) == ggml_order_sum(x, 0.0f, 40));
	free(x);
	free(yp);
	free(yi);
}

static void test_ops_softmax_close_to_exact(void **state)
{
	enum { N = 300 };
	float x[N], x0[N];
	double ex[N], s = 0.0, mx = -INFINITY, total = 0.0;
	int n, i;
	(void)state;

	for (n = 1; n <= N; n += 37) {
		for (i = 0; i < n; i++)
			x0[i] = x[i] = frand(-20.0f, 20.0f);
		ops_softmax(x, n, 0.125f);
		mx = -INFINITY;
		for (i = 0; i < n; i++)
			mx = fmax(mx, (double)(x0[i] * 0.125f));
		s = 0.0;
		for (i = 0; i < n; i++)
			s += ex[i] = exp((double)(x0[i] * 0.125f) - mx);
		total = 0.0;
		for (i = 0; i < n; i++) {
			assert_true(fabs(x[i] - ex[i] / s) <= 1e-6 * (ex[i] / s) + 1e-30);
			total += x[i];
		}
		assert_true(fabs(total - 1.0) < 1e-5);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vexpf_accuracy),
	    cmocka_unit_test(test_vexpf_edges),
	    cmocka_unit_test(test_swiglu_isa_vs_portable),
	    cmocka_unit_test(test_ops_swiglu_tail_rule),
	    cmocka_unit_test(test_exp_sum_order_and_isa),
	    cmocka_unit_test(test_ops_softmax_close_to_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
