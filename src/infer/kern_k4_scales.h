/*
 * kern_k4_scales.h — Q4_K/Q5_K's 12 bytes of 6-bit scales and mins unpacked on one 128-bit
 * vector, for the AVX2 and AVX-512 kernel files (both include it; the AVX-512 functions inline
 * it, their target being a superset of its).
 *
 * Owns: kern_k4_scales, kern_k4_mins16. Never: differs from kern_scale_min_k4 (ggml's
 * get_scale_min_k4) in any bit; reads outside the block's first 16 bytes.
 */
#ifndef SECAI_INFER_KERN_K4_SCALES_H
#define SECAI_INFER_KERN_K4_SCALES_H

#include <immintrin.h>

/*
 * 16 bytes from a Q4_K/Q5_K block's start (d, dmin, the 12 scale bytes s) give [sc 0-7, m 0-7]:
 *   sc j < 4: s[j] & 63             sc j >= 4: (s[j + 4] & 15) | (s[j - 4] >> 6) << 4
 *   m  j < 4: s[j + 4] & 63         m  j >= 4: (s[j + 4] >> 4) | (s[j] >> 6) << 4
 * Two byte shuffles, masks, shifts and a blend. The scalar form (per scale, or ggml's with
 * 32-bit masks) was a store and a reload per super-block in the kernels: one Zen 4 core, Q4_K
 * on AVX-512 VNNI, m = 1 14.6 -> 15.2 GB/s from L2, m = 128 87 -> 93 GFLOP/s.
 */
static inline __attribute__((always_inline, target("avx2"))) __m128i kern_k4_scales(const void *blk)
{
	const __m128i v = _mm_loadu_si128((const __m128i *)blk);
	/* low bits: s0-3, s8-11, s4-7, s8-11; high bits: -, s0-3, -, s4-7 (s[i] is byte 4 + i) */
	const __m128i lo = _mm_shuffle_epi8(
	    v, _mm_set_epi8(15, 14, 13, 12, 11, 10, 9, 8, 15, 14, 13, 12, 7, 6, 5, 4));
	const __m128i hi = _mm_shuffle_epi8(
	    v, _mm_set_epi8(11, 10, 9, 8, -1, -1, -1, -1, 7, 6, 5, 4, -1, -1, -1, -1));
	const __m128i low6 = _mm_and_si128(
	    lo, _mm_set_epi8(0, 0, 0, 0, 63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63));
	const __m128i top4 = _mm_and_si128(_mm_srli_epi16(lo, 4), _mm_set1_epi8(0x0F));
	const __m128i low = _mm_blendv_epi8(
	    low6, top4, _mm_set_epi8(-1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));

	return _mm_or_si128(low, _mm_and_si128(_mm_srli_epi16(hi, 2), _mm_set1_epi8(0x30)));
}

/* The mins twice each in 16-bit lanes (m0, m0, m1, m1, ... m7, m7), to multiply the 16 bsums of
 * Q8_K: s2 is kern_k4_scales' vector in both 128-bit halves (bytes 8-15 are the mins). */
static inline __attribute__((always_inline, target("avx2"))) __m256i kern_k4_mins16(__m256i s2)
{
	return _mm256_shuffle_epi8(s2, _mm256_set_epi8(-1, 15, -1, 15, -1, 14, -1, 14, -1, 13, -1,
						       13, -1, 12, -1, 12, -1, 11, -1, 11, -1, 10,
						       -1, 10, -1, 9, -1, 9, -1, 8, -1, 8));
}

#endif
