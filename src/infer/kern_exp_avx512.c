/*
 * kern_exp_avx512.c — SwiGLU and softmax's e^x sums with AVX-512, 16 lanes at a time: the same
 * operations per lane as kern_exp.c's kern_vexpf (FMA for fmaf, VSCALEFPS for its exact-then-
 * rounded-once scaling by 2^n), so the same bits.
 *
 * Owns: kern_swiglu_avx512, kern_exp_sum_avx512. Never: runs unless kern_cpu.c saw AVX-512 (the
 * caller checks), or reads or writes past the n elements it is given (the tail is masked).
 */
#include <immintrin.h>
#include <math.h>

#include "infer/kern_impl.h"
#include "infer/kernels.h"

#define E5_OUTER __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")))
#define E5                                                                                         \
	static inline __attribute__((always_inline,                                                \
				     target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")))

/* kern_vexpf on 16 lanes */
E5 __m512 e5_vexpf(__m512 x)
{
	const __m512 r = _mm512_set1_ps(KERN_VEXP_SHIFT);
	const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(KERN_VEXP_LOG2E), r);
	const __m512 n = _mm512_sub_ps(z, r);
	const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(KERN_VEXP_LN2_LO),
					  _mm512_fnmadd_ps(n, _mm512_set1_ps(KERN_VEXP_LN2_HI), x));
	const __m512 u = _mm512_mul_ps(b, b);
	const __m512 j = _mm512_fmadd_ps(
	    _mm512_fmadd_ps(
		_mm512_fmadd_ps(_mm512_set1_ps(KERN_VEXP_C5), b, _mm512_set1_ps(KERN_VEXP_C4)), u,
		_mm512_fmadd_ps(_mm512_set1_ps(KERN_VEXP_C3), b, _mm512_set1_ps(KERN_VEXP_C2))),
	    u, _mm512_fmadd_ps(_mm512_set1_ps(KERN_VEXP_C1), b, _mm512_set1_ps(1.0f)));
	const __m512 e = _mm512_scalef_ps(j, n);
	const __mmask16 big =
	    _mm512_cmp_ps_mask(_mm512_abs_ps(n), _mm512_set1_ps(KERN_VEXP_NMAX), _CMP_GT_OQ);
	__mmask16 neg;

	if (big == 0)
		return e;
	neg = _mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_LE_OQ);
	return _mm512_mask_blend_ps(
	    big, e, _mm512_mask_blend_ps(neg, _mm512_set1_ps(INFINITY), _mm512_setzero_ps()));
}

/* g / (1 + e^(0 - g)) * u on 16 lanes */
E5 __m512 e5_swiglu(__m512 g, __m512 u)
{
	const __m512 e = e5_vexpf(_mm512_sub_ps(_mm512_setzero_ps(), g));

	return _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e)), u);
}

E5_OUTER int kern_swiglu_avx512(float *g, const float *u, int64_t n)
{
	int64_t i;

	for (i = 0; i + 16 <= n; i += 16)
		_mm512_storeu_ps(g + i, e5_swiglu(_mm512_loadu_ps(g + i), _mm512_loadu_ps(u + i)));
	if (i < n) {
		const __mmask16 k = (__mmask16)((1u << (n - i)) - 1);

		_mm512_mask_storeu_ps(
		    g + i, k,
		    e5_swiglu(_mm512_maskz_loadu_ps(k, g + i), _mm512_maskz_loadu_ps(k, u + i)));
	}
	return 1;
}

/* The 16 lanes' sum in _mm512_reduce_add_ps's order (kern_sum16_tree). */
E5 float e5_sum16_tree(__m512 v)
{
	const __m256 h8 = _mm256_add_ps(_mm512_extractf32x8_ps(v, 1), _mm512_castps512_ps256(v));
	const __m128 h4 = _mm_add_ps(_mm256_extractf128_ps(h8, 1), _mm256_castps256_ps128(h8));
	const __m128 h2 = _mm_add_ps(h4, _mm_movehl_ps(h4, h4)); /* h4[0] + h4[2], h4[1] + h4[3] */

	return _mm_cvtss_f32(_mm_add_ss(h2, _mm_movehdup_ps(h2)));
}

E5_OUTER int kern_exp_sum_avx512(float *y, const float *x, float max, int64_t n, double *sum)
{
	const __m512 m = _mm512_set1_ps(max);
	double s = 0.0;
	int64_t i;

	for (i = 0; i + 16 <= n; i += 16) {
		const __m512 e = e5_vexpf(_mm512_sub_ps(_mm512_loadu_ps(x + i), m));

		_mm512_storeu_ps(y + i, e);
		s += (double)e5_sum16_tree(e);
	}
	if (i < n) {
		const __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
		const __m512 e = _mm512_maskz_mov_ps(
		    k, e5_vexpf(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), m)));

		_mm512_mask_storeu_ps(y + i, k, e);
		s += (double)e5_sum16_tree(e);
	}
	*sum = s;
	return 1;
}
