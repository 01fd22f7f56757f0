/*
 * kern_quant_avx512.c — activation conversion with AVX-512: F32 rows to F16, Q8_0 and Q8_K
 * blocks, the same bytes as kern_quant.c's portable quantizers for finite inputs.
 *
 * Why: at m = 1 (token generation) the activation of every matrix product is converted on the
 * calling thread while the other threads wait (~3% of the calling thread's time at 2 threads on a
 * 0.8B Q4_0 model, perf), and the KV cache rows go through the same F16 conversion.
 *
 * How each stays byte-identical: max and abs are exact; the scale is computed by the same scalar
 * expression; x * id is one float multiply either way; roundf's half-away-from-zero is
 * kern_round_away's test per lane (truncate, compare the exact remainder with +-0.5); ggml's
 * nearest_int (round half to even for |v| <= 2^22) is vcvtps2dq under the default rounding
 * mode; vcvtps2ph with round-to-nearest-even is ggml's portable F16 conversion but for NaN
 * payloads, which are set to the portable 0x7e00 | sign.
 *
 * Owns: these three conversions. Never: runs unless kern_cpu.c saw AVX-512 (the caller checks),
 * reads or writes past the n elements it is given (tails are masked or scalar).
 */
#include <immintrin.h>
#include <string.h>

#include "infer/kern_impl.h"
#include "infer/kernels.h"

#define Q5_OUTER __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")))
#define Q5                                                                                         \
	static inline __attribute__((always_inline,                                                \
				     target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")))

/* 16 floats to F16 as kern_fp32_to_fp16 does each. */
Q5 __m256i q5_fp16x16(__m512 v)
{
	__m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);

	if (nan)
		h = _mm256_mask_mov_epi16(
		    h, nan,
		    _mm256_or_si256(_mm256_and_si256(h, _mm256_set1_epi16((short)0x8000)),
				    _mm256_set1_epi16(0x7e00)));
	return h;
}

/* One float, inline (a call to kern_fp32_to_fp16 per block cost a vzeroupper and reloads of the
 * spilled vectors: half of the Q8_0 quantizer's time); lane 0 of q5_fp16x16, so the NaN rule
 * stays in one place. */
Q5 kern_half q5_fp16_1(float f)
{
	return (kern_half)_mm_extract_epi16(_mm256_castsi256_si128(q5_fp16x16(_mm512_set1_ps(f))),
					    0);
}

static Q5_OUTER void q5_fp16_row(const float *x, uint16_t *y, int64_t n)
{
	int64_t i;

	for (i = 0; i + 16 <= n; i += 16)
		_mm256_storeu_si256((__m256i *)(y + i), q5_fp16x16(_mm512_loadu_ps(x + i)));
	if (i < n) {
		const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);

		_mm256_mask_storeu_epi16(y + i, m, q5_fp16x16(_mm512_maskz_loadu_ps(m, x + i)));
	}
}

/* (int8) roundf(v) per lane for |v| < 2^31, as kern_round_away. */
Q5 __m128i q5_round_away_i8(__m512 v)
{
	const __m512i one = _mm512_set1_epi32(1);
	__m512i i = _mm512_cvttps_epi32(v);
	const __m512 f = _mm512_sub_ps(v, _mm512_cvtepi32_ps(i));

	i = _mm512_mask_add_epi32(i, _mm512_cmp_ps_mask(f, _mm512_set1_ps(0.5f), _CMP_GE_OQ), i,
				  one);
	i = _mm512_mask_sub_epi32(i, _mm512_cmp_ps_mask(f, _mm512_set1_ps(-0.5f), _CMP_LE_OQ), i,
				  one);
	return _mm512_cvtepi32_epi8(i);
}

static Q5_OUTER void q5_q8_0(const float *x, struct blk_q8_0 *y, int64_t nb)
{
	const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
	int64_t i;

	for (i = 0; i < nb; i++, x += QK8_0) {
		const __m512 a = _mm512_loadu_ps(x), b = _mm512_loadu_ps(x + 16);
		const float amax = _mm512_reduce_max_ps(
		    _mm512_max_ps(_mm512_and_ps(a, absmask), _mm512_and_ps(b, absmask)));
		const float d = amax / ((1 << 7) - 1), id = d ? 1.0f / d : 0.0f;
		const __m512 vid = _mm512_set1_ps(id);

		y[i].d = q5_fp16_1(d);
		_mm_storeu_si128((__m128i *)y[i].qs, q5_round_away_i8(_mm512_mul_ps(a, vid)));
		_mm_storeu_si128((__m128i *)(y[i].qs + 16),
				 q5_round_away_i8(_mm512_mul_ps(b, vid)));
	}
}

static Q5_OUTER void q5_q8_K(const float *x, struct blk_q8_K *y, int64_t nb)
{
	const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
	int64_t i;
	int g;

	for (i = 0; i < nb; i++, x += QK_K) {
		__m512 vmax = _mm512_setzero_ps(), vs;
		float amax, max = 0, iscale;

		for (g = 0; g < QK_K / 16; g++)
			vmax = _mm512_max_ps(vmax,
					     _mm512_and_ps(_mm512_loadu_ps(x + 16 * g), absmask));
		amax = _mm512_reduce_max_ps(vmax);
		if (!amax) {
			memset(&y[i], 0, sizeof(y[i]));
			continue;
		}
		/* the first element of largest magnitude, with its sign (the portable loop's) */
		for (g = 0; g < QK_K / 16; g++) {
			const __mmask16 m =
			    _mm512_cmp_ps_mask(_mm512_and_ps(_mm512_loadu_ps(x + 16 * g), absmask),
					       _mm512_set1_ps(amax), _CMP_EQ_OQ);

			if (m) {
				max = x[16 * g + __builtin_ctz(m)];
				break;
			}
		}
		iscale = -127.f / max;
		vs = _mm512_set1_ps(iscale);
		for (g = 0; g < QK_K / 16; g++) {
			__m512i q =
			    _mm512_cvtps_epi32(_mm512_mul_ps(vs, _mm512_loadu_ps(x + 16 * g)));

			q = _mm512_min_epi32(q, _mm512_set1_epi32(127));
			_mm_storeu_si128((__m128i *)(y[i].qs + 16 * g), _mm512_cvtepi32_epi8(q));
			y[i].bsums[g] = (int16_t)_mm512_reduce_add_epi32(q);
		}
		y[i].d = 1 / iscale;
	}
}

int kern_quantize_row_avx512(uint32_t type, const float *x, void *y, int64_t n)
{
	switch (type) {
	case GGUF_GGML_F16:
		q5_fp16_row(x, y, n);
		return 1;
	case GGUF_GGML_Q8_0:
		q5_q8_0(x, y, n / QK8_0);
		return 1;
	case GGUF_GGML_Q8_K:
		q5_q8_K(x, y, n / QK_K);
		return 1;
	default:
		return 0;
	}
}
