/*
 * kern_exp.c — e^x, SwiGLU and softmax's sums the way llama.cpp's CPU backend computes them on
 * AVX-512, in portable C, and the dispatch to the vector versions.
 *
 * Why: ggml's SwiGLU (ggml_vec_swiglu_f32, also ggml_vec_silu_f32) does not call libm's expf for
 * all but the last n % 16 elements of a row: it evaluates its own e^x (ggml_v_expf, after Arm's
 * optimized-routines expf: n = round(x / ln 2) by the 1.5 * 2^23 trick, b = x - n ln 2 in two
 * parts, a degree-5 polynomial, scaled by 2^n; |n| > 192 gives 0 or inf). Computing silu with
 * libm differed from llama.cpp in the last bits of the FFN and attention, and scalar expf calls
 * (SiLU and softmax) cost ~2% of a token's time. Here each lane's operations are spelt out with
 * fmaf, which rounds as the vector FMA does, and j * 2^n as (j * 2^n1) * 2^n2 with n1 + n2 = n,
 * |n1|, |n2| <= 96: the first product is exact (j is in [0.7, 1.42]), the second rounds once, as
 * VSCALEFPS does (overflow to inf and subnormal results included). So the portable, AVX2
 * (kern_exp_avx2.c) and AVX-512 (kern_exp_avx512.c) results are the same bits (test_kern_exp
 * checks it).
 *
 * The constants are those of ggml's AVX-512 variant; its AVX2 variant rounds a little
 * differently (k + k * j instead of scalef(1 + j)); we follow the AVX-512 one everywhere, so every
 * machine computes the same numbers.
 *
 * Softmax (ggml_vec_soft_max_f32) uses the same e^x, 16 lanes at a time, each group's sum taken
 * by _mm512_reduce_add_ps's tree (halves added: 8 + 8, 4 + 4, 2 + 2, 1 + 1) and added to a double.
 * ggml runs it over the KV window padded to 32 with -inf masked (e^-inf = 0) cells, so a query's
 * last group is padded with zeros here.
 *
 * Owns: kern_vexpf, kern_swiglu, kern_exp_sum, the ISA dispatch of both. Never: touches memory
 * beyond the n elements given.
 */
#include <math.h>
#include <string.h>

#include "infer/kern_impl.h"
#include "infer/kernels.h"

float kern_vexpf(float x)
{
	const float z = fmaf(x, KERN_VEXP_LOG2E, KERN_VEXP_SHIFT); /* x / ln 2 + 1.5 * 2^23 */
	const float n = z - KERN_VEXP_SHIFT;			   /* round(x / ln 2) */
	const float b = fmaf(-n, KERN_VEXP_LN2_LO, fmaf(-n, KERN_VEXP_LN2_HI, x)); /* x - n ln 2 */
	const float u = b * b;
	const float j =
	    fmaf(fmaf(fmaf(KERN_VEXP_C5, b, KERN_VEXP_C4), u, fmaf(KERN_VEXP_C3, b, KERN_VEXP_C2)),
		 u, fmaf(KERN_VEXP_C1, b, 1.0f)); /* e^b */
	int n1, n2;
	uint32_t b1, b2;
	float p1, p2;

	if (fabsf(n) > KERN_VEXP_NMAX)
		return n <= 0.0f ? 0.0f : INFINITY;
	if (isnan(n))
		return j; /* NaN in, NaN out */
	n1 = (int)n / 2;
	n2 = (int)n - n1;
	b1 = (uint32_t)(n1 + 127) << 23;
	b2 = (uint32_t)(n2 + 127) << 23;
	memcpy(&p1, &b1, sizeof(p1));
	memcpy(&p2, &b2, sizeof(p2));
	return j * p1 * p2; /* j * 2^n, one rounding, as VSCALEFPS */
}

void kern_swiglu_portable(float *g, const float *u, int64_t n)
{
	int64_t i;

	for (i = 0; i < n; i++) {
		const float x = g[i];

		g[i] = x / (1.0f + kern_vexpf(0.0f - x)) * u[i];
	}
}

float kern_sum16_tree(const float v[16])
{
	float h8[8], h4[4];
	int k;

	for (k = 0; k < 8; k++)
		h8[k] = v[k + 8] + v[k];
	for (k = 0; k < 4; k++)
		h4[k] = h8[k + 4] + h8[k];
	return (h4[0] + h4[2]) + (h4[1] + h4[3]);
}

double kern_exp_sum_portable(float *y, const float *x, float max, int64_t n)
{
	double sum = 0.0;
	int64_t i, l;

	for (i = 0; i < n; i += 16) {
		float v[16];

		for (l = 0; l < 16; l++)
			v[l] = i + l < n ? kern_vexpf(x[i + l] - max) : 0.0f;
		for (l = 0; l < 16 && i + l < n; l++)
			y[i + l] = v[l];
		sum += (double)kern_sum16_tree(v);
	}
	return sum;
}

double kern_exp_sum_isa(enum kern_isa isa, float *y, const float *x, float max, int64_t n)
{
	double sum;

	if (isa >= KERN_ISA_AVX512 && kern_exp_sum_avx512(y, x, max, n, &sum))
		return sum;
	if (isa >= KERN_ISA_AVX2 && kern_exp_sum_avx2(y, x, max, n, &sum))
		return sum;
	return kern_exp_sum_portable(y, x, max, n);
}

double kern_exp_sum(float *y, const float *x, float max, int64_t n)
{
	return kern_exp_sum_isa(kern_active_isa(), y, x, max, n);
}

void kern_swiglu_isa(enum kern_isa isa, float *g, const float *u, int64_t n)
{
	if (isa >= KERN_ISA_AVX512 && kern_swiglu_avx512(g, u, n))
		return;
	if (isa >= KERN_ISA_AVX2 && kern_swiglu_avx2(g, u, n))
		return;
	kern_swiglu_portable(g, u, n);
}

void kern_swiglu(float *g, const float *u, int64_t n)
{
	kern_swiglu_isa(kern_active_isa(), g, u, n);
}
