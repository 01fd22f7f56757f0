/*
 * kern_exp_avx2.c — SwiGLU and softmax's e^x sums with AVX2/FMA, 8 lanes at a time: the same
 * operations per lane as kern_exp.c's kern_vexpf (FMA for fmaf; j * 2^n as (j * 2^n1) * 2^n2,
 * exponent bits built in integer lanes), so the same bits as the portable and AVX-512 code.
 *
 * Why: machines without AVX-512 would otherwise run kern_exp.c's portable code, whose fmaf calls
 * cost ~7x libm's expf per element (measured 50 vs 7 ns per SwiGLU element).
 *
 * Owns: kern_swiglu_avx2, kern_exp_sum_avx2. Never: runs unless kern_cpu.c saw AVX2/FMA (the
 * caller checks), or reads or writes past the n elements it is given (tails go to kern_exp.c).
 */
#include <immintrin.h>
#include <math.h>

#include "infer/kern_impl.h"
#include "infer/kernels.h"

#define E2_OUTER __attribute__((target("avx2,fma")))
#define E2 static inline __attribute__((always_inline, target("avx2,fma")))

/* kern_vexpf on 8 lanes */
E2 __m256 e2_vexpf(__m256 x)
{
	const __m256 r = _mm256_set1_ps(KERN_VEXP_SHIFT);
	const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(KERN_VEXP_LOG2E), r);
	const __m256 n = _mm256_sub_ps(z, r);
	const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(KERN_VEXP_LN2_LO),
					  _mm256_fnmadd_ps(n, _mm256_set1_ps(KERN_VEXP_LN2_HI), x));
	const __m256 u = _mm256_mul_ps(b, b);
	const __m256 j = _mm256_fmadd_ps(
	    _mm256_fmadd_ps(
		_mm256_fmadd_ps(_mm256_set1_ps(KERN_VEXP_C5), b, _mm256_set1_ps(KERN_VEXP_C4)), u,
		_mm256_fmadd_ps(_mm256_set1_ps(KERN_VEXP_C3), b, _mm256_set1_ps(KERN_VEXP_C2))),
	    u, _mm256_fmadd_ps(_mm256_set1_ps(KERN_VEXP_C1), b, _mm256_set1_ps(1.0f)));
	/* n1 = n / 2 (toward zero, as kern_vexpf), n2 = n - n1; 2^k as (k + 127) << 23 */
	const __m256i ni = _mm256_cvtps_epi32(n);
	const __m256i n1 = _mm256_srai_epi32(_mm256_add_epi32(ni, _mm256_srli_epi32(ni, 31)), 1);
	const __m256i n2 = _mm256_sub_epi32(ni, n1);
	const __m256i bias = _mm256_set1_epi32(127);
	const __m256 p1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
	const __m256 p2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
	const __m256 e = _mm256_mul_ps(_mm256_mul_ps(j, p1), p2);
	const __m256 an = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
	const __m256 big = _mm256_cmp_ps(an, _mm256_set1_ps(KERN_VEXP_NMAX), _CMP_GT_OQ);
	__m256 alt;

	/* a NaN lane is NaN already: j is, whatever the scale bits became */
	if (_mm256_movemask_ps(big) == 0)
		return e;
	alt = _mm256_blendv_ps(_mm256_set1_ps(INFINITY), _mm256_setzero_ps(),
			       _mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ));
	return _mm256_blendv_ps(e, alt, big);
}

E2_OUTER int kern_swiglu_avx2(float *g, const float *u, int64_t n)
{
	int64_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		const __m256 x = _mm256_loadu_ps(g + i);
		const __m256 e = e2_vexpf(_mm256_sub_ps(_mm256_setzero_ps(), x));

		_mm256_storeu_ps(
		    g + i, _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e)),
					 _mm256_loadu_ps(u + i)));
	}
	kern_swiglu_portable(g + i, u + i, n - i);
	return 1;
}

E2_OUTER int kern_exp_sum_avx2(float *y, const float *x, float max, int64_t n, double *sum)
{
	const __m256 m = _mm256_set1_ps(max);
	double s = 0.0;
	int64_t i;

	for (i = 0; i + 16 <= n; i += 16) {
		const __m256 lo = e2_vexpf(_mm256_sub_ps(_mm256_loadu_ps(x + i), m));
		const __m256 hi = e2_vexpf(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), m));
		const __m256 h8 = _mm256_add_ps(hi, lo); /* kern_sum16_tree's order */
		const __m128 h4 =
		    _mm_add_ps(_mm256_extractf128_ps(h8, 1), _mm256_castps256_ps128(h8));
		const __m128 h2 = _mm_add_ps(h4, _mm_movehl_ps(h4, h4));

		_mm256_storeu_ps(y + i, lo);
		_mm256_storeu_ps(y + i + 8, hi);
		s += (double)_mm_cvtss_f32(_mm_add_ss(h2, _mm_movehdup_ps(h2)));
	}
	if (i < n)
		s += kern_exp_sum_portable(y + i, x + i, max, n - i);
	*sum = s;
	return 1;
}
