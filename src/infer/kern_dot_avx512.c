/*
 * kern_dot_avx512.c — AVX-512 tiles (up to 4 weight rows x 4 activation rows): F32/F16/BF16
 * with AVX-512F/BW, and the integer formats with AVX-512 VNNI (vpdpbusd, vpdpwssd). Without
 * VNNI the integer formats use the AVX2 tiles (the dispatcher's fallback).
 *
 * The int8 trick: vpdpbusd multiplies unsigned by signed bytes, so weights are made unsigned
 * (Q8_0: w ^ 0x80 = w + 128; Q4/Q5: the raw 4/5-bit quants) and the offset times the sum of the
 * activation block, computed once per activation block with another vpdpbusd, seeds the
 * accumulator. Integer sums are exact; floats accumulate in one 16-lane vector per element.
 *
 * Owns: the AVX-512 entries of the dispatch table. Never: runs unless kern_cpu.c saw the ISA;
 * lets an element's operations depend on the tile shape (no FP contraction: every float
 * operation is an explicit intrinsic); loads past a row (tails use masked loads).
 */
#include <immintrin.h>
#include <string.h>

#include "infer/kern_impl.h"
#include "infer/kern_k4_scales.h"
#include "infer/kernels.h"

#define T512 "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq"
#define F5 static inline __attribute__((always_inline, target(T512)))
#define F5_OUTER __attribute__((target(T512)))
#define V5 static inline __attribute__((always_inline, target(T512 ",avx512vnni")))
#define V5_OUTER __attribute__((target(T512 ",avx512vnni")))

#define MR KERN_TILE_R
#define MC KERN_TILE_C
#define ROW(p, r, rb) ((const char *)(p) + (size_t)(r) * (rb))

/* ---- F32 / F16 / BF16: one 16-lane accumulator per element, 16 elements a step ------------ */

enum a5_fkind { a5_FK_F32, a5_FK_F16, a5_FK_BF16 };


F5 __m512 a5_fload(enum a5_fkind kind, const void *p, int64_t i, __mmask16 m)
{
	switch (kind) {
	case a5_FK_F32:
		return _mm512_maskz_loadu_ps(m, (const float *)p + i);
	case a5_FK_F16:
		return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)p + i));
	default:
		return _mm512_castsi512_ps(_mm512_slli_epi32(
		    _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, (const uint16_t *)p + i)),
		    16));
	}
}

/* a5_fload without a mask for F16/BF16: plain loads, which the conversions take as memory
 * operands (one Zen 4 core: F16 m = 128 68 -> 80 GFLOP/s, m = 1 26 -> 29 GB/s). F32 keeps the
 * all-ones mask: unmasked, its m = 1 stream fell from 30 to 23 GB/s. */
F5 __m512 a5_fload_full(enum a5_fkind kind, const void *p, int64_t i)
{
	switch (kind) {
	case a5_FK_F32:
		return a5_fload(kind, p, i, (__mmask16)0xffff);
	case a5_FK_F16:
		return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)p + i)));
	default:
		return _mm512_castsi512_ps(_mm512_slli_epi32(
		    _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)((const uint16_t *)p + i))),
		    16));
	}
}

/* One 16-element step of a5_tile_float at element i; masked loads (m) only in the tail. */
F5 void a5_float_step(enum a5_fkind kind, int64_t i, __mmask16 m, int full, const void *w,
		      size_t wrb, const void *x, size_t xrb, __m512 acc[MR][MC], const int nr,
		      const int nc)
{
	const int64_t es = kind == a5_FK_F32 ? 4 : 2;
	__m512 xv[MC];
	int r, c;

	KERN_UNROLL for (c = 0; c < nc; c++)
		xv[c] = full ? a5_fload_full(kind, ROW(x, c, xrb), i)
			     : a5_fload(kind, ROW(x, c, xrb), i, m);
	KERN_UNROLL for (r = 0; r < nr; r++) {
		const __m512 wv = full ? a5_fload_full(kind, ROW(w, r, wrb), i)
				       : a5_fload(kind, ROW(w, r, wrb), i, m);

		if ((i & 31) == 0)
			kern_prefetch_ahead(nr, ROW(w, r + KERN_PF_ROWS, wrb) + i * es, 64);

		KERN_UNROLL for (c = 0; c < nc; c++)
			acc[r][c] = _mm512_fmadd_ps(wv, xv[c], acc[r][c]);
	}
}

F5 void a5_tile_float(enum a5_fkind kind, int64_t k, const void *w, size_t wrb, const void *x,
		      size_t xrb, float *out, int64_t ld, const int nr, const int nc)
{
	__m512 acc[MR][MC];
	int64_t i;
	int r, c;

	KERN_UNROLL for (r = 0; r < nr; r++)
		KERN_UNROLL for (c = 0; c < nc; c++)
			acc[r][c] = _mm512_setzero_ps();
	for (i = 0; i + 16 <= k; i += 16)
		a5_float_step(kind, i, (__mmask16)0xffff, 1, w, wrb, x, xrb, acc, nr, nc);
	if (i < k)
		a5_float_step(kind, i, (__mmask16)((1u << (k - i)) - 1), 0, w, wrb, x, xrb, acc,
			      nr, nc);
	KERN_UNROLL for (r = 0; r < nr; r++)
		KERN_UNROLL for (c = 0; c < nc; c++)
			out[c * ld + r] = _mm512_reduce_add_ps(acc[r][c]);
}

F5 void a5_f32_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		    int64_t ld, const int nr, const int nc)
{
	a5_tile_float(a5_FK_F32, k, w, wrb, x, xrb, out, ld, nr, nc);
}

F5 void a5_f16_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		    int64_t ld, const int nr, const int nc)
{
	a5_tile_float(a5_FK_F16, k, w, wrb, x, xrb, out, ld, nr, nc);
}

F5 void a5_bf16_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		     int64_t ld, const int nr, const int nc)
{
	a5_tile_float(a5_FK_BF16, k, w, wrb, x, xrb, out, ld, nr, nc);
}

/* ---- 32-element blocks, two per 512-bit vector (lanes 0-7 block 2p, 8-15 block 2p+1) ------ */

/* [a x 8, b x 8] as floats from two fp16 scales. */
V5 __m512 a5_scale2(kern_half a, kern_half b)
{
	return _mm512_cvtph_ps(
	    _mm256_set_m128i(_mm_set1_epi16((short)b), _mm_set1_epi16((short)a)));
}

/* Two 32-byte pieces as one vector; the second may be absent (zero). */
V5 __m512i a5_load2x32(const void *a, const void *b)
{
	const __m256i lo = _mm256_loadu_si256((const __m256i *)a);

	if (b == NULL)
		return _mm512_zextsi256_si512(lo);
	return _mm512_inserti64x4(_mm512_castsi256_si512(lo),
				  _mm256_loadu_si256((const __m256i *)b), 1);
}

/* The 32 unsigned quants of a Q4 block in element order: its 16 bytes in both halves, the
 * upper half shifted right by 4, then the low nibbles. */
V5 __m256i a5_nib1(const uint8_t *qs)
{
	const __m256i t = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));

	return _mm256_and_si256(_mm256_srlv_epi16(t, _mm256_set_epi64x(0x0004000400040004LL,
									 0x0004000400040004LL, 0, 0)),
				_mm256_set1_epi8(0x0F));
}

/* The unsigned nibbles of two Q4 blocks' qs (16 bytes each): [a lo, a hi, b lo, b hi], as
 * a5_nib1 does for one block but with one 512-bit shift and mask for both (two 256-bit ones
 * measured 5-10% slower on Q5_0 m = 128). */
V5 __m512i a5_nib2(const uint8_t *a, const uint8_t *b)
{
	const __m256i la = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)a));
	const __m256i lb = b ? _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)b))
			     : _mm256_setzero_si256();
	const __m512i aabb = _mm512_inserti64x4(_mm512_castsi256_si512(la), lb, 1);
	const __m512i sh = _mm512_set_epi64(0x0004000400040004LL, 0x0004000400040004LL, 0, 0,
					    0x0004000400040004LL, 0x0004000400040004LL, 0, 0);

	return _mm512_and_si512(_mm512_srlv_epi16(aabb, sh), _mm512_set1_epi8(0x0F));
}

/* Activation pairs of Q8_0 (or Q8_1: qs at offset 4) blocks: quants, scales, and -off*sum. */
struct a5_xpair {
	__m512i q, nsum;
	__m512 d;
};

enum a5_wkind { a5_WK_Q8_0, a5_WK_Q4_0, a5_WK_Q5_0, a5_WK_Q4_1 };

V5 void a5_xpair_load(struct a5_xpair *o, enum a5_wkind kind, const void *row, int64_t p, int two)
{
	if (kind == a5_WK_Q4_1) {
		const struct blk_q8_1 *a = (const struct blk_q8_1 *)row + 2 * p, *b = a + 1;

		o->q = a5_load2x32(a->qs, two ? b->qs : NULL);
		o->d = a5_scale2(a->d, two ? b->d : 0);
		o->nsum = _mm512_setzero_si512();
	} else {
		const struct blk_q8_0 *a = (const struct blk_q8_0 *)row + 2 * p, *b = a + 1;
		const char off = kind == a5_WK_Q8_0 ? (char)0x80 : kind == a5_WK_Q4_0 ? 8 : 16;

		o->q = a5_load2x32(a->qs, two ? b->qs : NULL);
		o->d = a5_scale2(a->d, two ? b->d : 0);
		o->nsum = _mm512_sub_epi32(
		    _mm512_setzero_si512(),
		    _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(off), o->q));
	}
}

/* Weight pairs: unsigned quants, scales (and Q4_1's mins as [m_a, 0 x 7, m_b, 0 x 7]). */
struct a5_wpair {
	__m512i q;
	__m512 d, m;
};

V5 void a5_wpair_load(struct a5_wpair *o, enum a5_wkind kind, const void *row, int64_t p, int two)
{
	switch (kind) {
	case a5_WK_Q8_0: {
		const struct blk_q8_0 *a = (const struct blk_q8_0 *)row + 2 * p, *b = a + 1;

		o->q = _mm512_xor_si512(a5_load2x32(a->qs, two ? b->qs : NULL),
					_mm512_set1_epi8((char)0x80));
		o->d = a5_scale2(a->d, two ? b->d : 0);
		break;
	}
	case a5_WK_Q4_0: {
		const struct blk_q4_0 *a = (const struct blk_q4_0 *)row + 2 * p, *b = a + 1;

		o->q = a5_nib2(a->qs, two ? b->qs : NULL);
		o->d = a5_scale2(a->d, two ? b->d : 0);
		break;
	}
	case a5_WK_Q5_0: {
		const struct blk_q5_0 *a = (const struct blk_q5_0 *)row + 2 * p, *b = a + 1;
		uint32_t ha, hb = 0;

		memcpy(&ha, a->qh, 4);
		if (two)
			memcpy(&hb, b->qh, 4);
		o->q = a5_nib2(a->qs, two ? b->qs : NULL);
		o->q = _mm512_mask_add_epi8(o->q, (__mmask64)ha | ((__mmask64)hb << 32), o->q,
					    _mm512_set1_epi8(16));
		o->d = a5_scale2(a->d, two ? b->d : 0);
		break;
	}
	case a5_WK_Q4_1: {
		const struct blk_q4_1 *a = (const struct blk_q4_1 *)row + 2 * p, *b = a + 1;

		o->q = a5_nib2(a->qs, two ? b->qs : NULL);
		o->d = a5_scale2(a->d, two ? b->d : 0);
		o->m = a5_scale2(a->m, two ? b->m : 0);
		break;
	}
	}
}

/* Q8_1 block sums s as [s_a, 0 x 7, s_b, 0 x 7]. */
V5 __m512 a5_xsum2(const void *row, int64_t p, int two)
{
	const struct blk_q8_1 *a = (const struct blk_q8_1 *)row + 2 * p, *b = a + 1;
	const __m128i lo = _mm_cvtsi32_si128(a->s), hi = _mm_cvtsi32_si128(two ? b->s : 0);

	return _mm512_cvtph_ps(_mm256_set_m128i(hi, lo));
}

/* The sum of a 16-lane vector in a fixed tree (halves, quarters, pairs), written out so that the
 * 256-bit Q8_0 path below can reproduce it bit for bit from its two 8-lane halves. */
V5 float a5_tree8(__m256 v)
{
	const __m128 q = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
	const __m128 p = _mm_add_ps(q, _mm_shuffle_ps(q, q, _MM_SHUFFLE(1, 0, 3, 2)));

	return _mm_cvtss_f32(_mm_add_ss(p, _mm_shuffle_ps(p, p, _MM_SHUFFLE(1, 1, 1, 1))));
}

V5 float a5_tree16(__m512 v)
{
	return a5_tree8(_mm256_add_ps(_mm512_extractf32x8_ps(v, 1), _mm512_castps512_ps256(v)));
}

/*
 * Q8_0 against one activation row (token generation) with 256-bit vectors: on CPUs that run
 * 512-bit operations as two 256-bit halves (AMD Zen 4) the pairing of blocks into one 512-bit
 * vector costs more than it buys when there is a single activation row. Even blocks go to
 * acc_lo, odd ones to acc_hi — exactly lanes 0-7 and 8-15 of a5_tile_q32's accumulator, with
 * the same operations per lane and the same final tree — so the result is the same bits as
 * the 512-bit tile for any tile shape.
 */
V5 void a5_q8_0_row1(int64_t k, const void *w, size_t wrb, const void *x, float *out, int64_t ld,
		     const int nr)
{
	const int64_t nb = k / 32;
	const struct blk_q8_0 *xb = (const struct blk_q8_0 *)x;
	const __m256i off = _mm256_set1_epi8((char)0x80), zero = _mm256_setzero_si256();
	__m256 lo[MR], hi[MR];
	int64_t b;
	int r;

	KERN_UNROLL for (r = 0; r < nr; r++)
		lo[r] = hi[r] = _mm256_setzero_ps();
	for (b = 0; b < nb; b++) {
		const __m256i xq = _mm256_loadu_si256((const __m256i *)xb[b].qs);
		const __m256i xn = _mm256_sub_epi32(zero, _mm256_dpbusd_epi32(zero, off, xq));
		const __m256 dx = _mm256_set1_ps(_cvtsh_ss(xb[b].d));

		KERN_UNROLL for (r = 0; r < nr; r++) {
			const struct blk_q8_0 *wb = (const struct blk_q8_0 *)ROW(w, r, wrb) + b;
			const __m256i q = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)wb->qs),
							   off);
			const __m256 prod = _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(wb->d)), dx);
			const __m256 v = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(xn, q, xq));

			if ((b & 1) == 0) {
				kern_prefetch_ahead(nr, ROW(w, r + KERN_PF_ROWS, wrb) + (size_t)b * 34, 68);
				lo[r] = _mm256_fmadd_ps(prod, v, lo[r]);
			} else {
				hi[r] = _mm256_fmadd_ps(prod, v, hi[r]);
			}
		}
	}
	if (nb & 1) /* the 512-bit tile's absent last block: + 0 * 0, as there */
		KERN_UNROLL for (r = 0; r < nr; r++)
			hi[r] = _mm256_fmadd_ps(_mm256_setzero_ps(), _mm256_setzero_ps(), hi[r]);
	KERN_UNROLL for (r = 0; r < nr; r++)
		out[r] = a5_tree8(_mm256_add_ps(hi[r], lo[r]));
	(void)ld;
}

/*
 * Q4_0 against one activation row (token generation). Even blocks to lo, odd to hi: lanes 0-7
 * and 8-15 of a5_tile_q32's accumulator, the same exact integer sums (element 4j..4j+3 in lane
 * j), the same float operations, the same tree — the same bits. First written on 256-bit
 * vectors, a block each, for the same reason as a5_q8_0_row1 (on Zen 4 the AVX2 tile beat the
 * tile's 512-bit pairs: 13.8 vs 11.0 GB/s); 512-bit pairs came back once a pair's quants were
 * picked out of whole-line loads by a word permute (a5_q4_0_run) instead of being put together
 * from two 16-byte loads. One Zen 4 core, m = 1: 11.0 -> 15.5-16 GB/s from RAM with the 256-bit
 * step, 17.5 from cache; 21 and 21-24 with the pairs.
 */

/* acc + prod * (q_w . x_q - 8 sum(x_q)) in 8 lanes of 4 elements, prod = d_w * d_x in every
 * lane */
V5 __m256 a5_q4_0_step(const struct blk_q4_0 *wb, __m256i xq, __m256i xn, __m256 prod,
		       __m256 acc)
{
	const __m256i s = _mm256_dpbusd_epi32(xn, a5_nib1(wb->qs), xq);

	return _mm256_fmadd_ps(prod, _mm256_cvtepi32_ps(s), acc);
}

/* Activation blocks prepared at a time (k <= 32768 in one go): quants copied to aligned memory
 * (half of the 34-byte blocks' quants straddle a cache line), -8 * their sum, the scale. */
#define A5_XCHUNK 1024
/* How far ahead (bytes) the weight stream is prefetched. One Zen 4 core streaming a Q4_0
 * matrix from RAM: 16.5 GB/s at 1 KiB, 18.4 at 4 KiB, 17 at 8 KiB (bench of the loop alone);
 * with two threads the stream is bandwidth-bound either way. */
#define A5_PF_BYTES 4096

/* A gemv's stream of `bytes` from w: its first A5_PF_BYTES prefetched at once, the stretch the
 * loop's prefetch (a5_stream_ahead) skips. */
V5 void a5_stream_start(const void *w, size_t bytes)
{
	kern_prefetch(w, bytes < A5_PF_BYTES ? bytes : A5_PF_BYTES);
}

/* The n bytes (a group of blocks) A5_PF_BYTES ahead of p, a hint per 64-byte line, none at or
 * past end (the end of the rows the call reads). n is a constant where this is inlined, so it
 * unrolls to a compare and a hint per line. */
V5 void a5_stream_ahead(const char *p, int n, const char *end)
{
	const char *pf = p + A5_PF_BYTES;
	int j;

	KERN_UNROLL for (j = 0; j * 64 < n; j++)
		if (pf + 64 * j < end)
			__builtin_prefetch(pf + 64 * j, 0, 3);
}

struct a5_xprep { /* 64-byte aligned: a5_q4_0_run reads two blocks' q (and n) at a time */
	__m256i q[A5_XCHUNK] __attribute__((aligned(64))),
	    n[A5_XCHUNK] __attribute__((aligned(64)));
	float d[A5_XCHUNK] __attribute__((aligned(32)));
};

V5 void a5_q4_0_prep(struct a5_xprep *p, const struct blk_q8_0 *xb, int64_t n)
{
	const __m256i off = _mm256_set1_epi8(8), zero = _mm256_setzero_si256();
	int64_t b;

	for (b = 0; b < n; b++) {
		p->q[b] = _mm256_loadu_si256((const __m256i *)xb[b].qs);
		p->n[b] = _mm256_sub_epi32(zero, _mm256_dpbusd_epi32(zero, off, p->q[b]));
		p->d[b] = _cvtsh_ss(xb[b].d);
	}
}

/* d_w * d_x of the 8 blocks whose first 128 bytes are a:b: their d_w picked out by one word
 * permute, converted and multiplied at once (each product is the float multiply the tile does
 * on its own: the same bits), then handed to each pair's step by a lane permute. This was a
 * pass over the row of its own before its stream (a broadcast load per block): that pass was
 * the first to touch the row's lines and stalled on them; inside the stream, tg64 on the 0.8B
 * Q4_0 model went up 3.4% at one thread and 3.0% at two (12 alternating pairs each). */
V5 __m256 a5_q4_0_prod8(__m512i a, __m512i b, const float *dx)
{
	const __m512i didx = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					      0, 0, 0, 0, 0, 0, 63, 54, 45, 36, 27, 18, 9, 0);
	const __m128i d = _mm512_castsi512_si128(_mm512_permutex2var_epi16(a, didx, b));

	return _mm256_mul_ps(_mm256_cvtph_ps(d), _mm256_load_ps(dx));
}

/* Two blocks per 512-bit operation: block b in lanes 0-7 (lo), b + 1 in lanes 8-15 (hi), so
 * every lane does what a5_q4_0_step does for its block (the same bits). A group of 8 blocks
 * (144 bytes) is read by three loads: A = bytes 0-63, B = 64-127, C = 80-143; every block's
 * 16 quant bytes start at an even offset (18j + 2), so one word permute picks a pair's two
 * blocks out of them, each twice ([b, b, b + 1, b + 1], 16 bytes each), for the nibble split:
 * pair 0 out of A, pair 1 out of A:B, pair 2 out of B, pair 3 out of C. The word index of
 * pair p: A5_QS_WORDS + a5_qs_shift[p] (words 9 blocks apart, 1 to skip the scale). Against
 * a 256-bit step a block (8 loads of 16 bytes, 8 shifts and masks, 8 lane permutes a group):
 * one Zen 4 core, m = 1, 18 -> 21 GB/s from cache, 20.5 -> 21 from RAM (bench of the loop). */
static const short a5_qs_shift[4] = {0, 18, 4, 14};
#define A5_QS_WORDS                                                                                \
	_mm512_set_epi16(17, 16, 15, 14, 13, 12, 11, 10, 17, 16, 15, 14, 13, 12, 11, 10, 8, 7, 6,  \
			 5, 4, 3, 2, 1, 8, 7, 6, 5, 4, 3, 2, 1)

/* acc + prod2 * (q_w . x_q - 8 sum(x_q)) for the pair of blocks whose quants are in raw */
V5 __m512 a5_q4_0_step2(__m512i raw, const __m256i *xq, const __m256i *xn, __m512 prod2, __m512 acc)
{
	const __m512i sh = _mm512_set_epi64(0x0004000400040004LL, 0x0004000400040004LL, 0, 0,
					    0x0004000400040004LL, 0x0004000400040004LL, 0, 0);
	const __m512i w = _mm512_and_si512(_mm512_srlv_epi16(raw, sh), _mm512_set1_epi8(0x0F));
	const __m512i s = _mm512_dpbusd_epi32(_mm512_loadu_si512(xn), w, _mm512_loadu_si512(xq));

	return _mm512_fmadd_ps(prod2, _mm512_cvtepi32_ps(s), acc);
}

/* the products of blocks 2p and 2p + 1 of p8, in lanes 0-7 and 8-15 */
V5 __m512 a5_pair_prod(__m256 p8, int p)
{
	const __m512i i = _mm512_set_epi32(2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1,
					   2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p, 2 * p, 2 * p,
					   2 * p, 2 * p, 2 * p, 2 * p, 2 * p);

	return _mm512_permutexvar_ps(i, _mm512_castps256_ps512(p8));
}

/* n blocks of one weight row (from an even block) into lo (even blocks) and hi (odd); the
 * prefetch stays below pf_end (the end of the rows this call reads). */
V5 void a5_q4_0_run(const struct blk_q4_0 *wb, const struct a5_xprep *p, int64_t n,
		    const char *pf_end, __m256 *lo, __m256 *hi)
{
	const __m512i qw = A5_QS_WORDS;
	__m512 acc = _mm512_insertf32x8(_mm512_castps256_ps512(*lo), *hi, 1);
	__m256 l, h;
	int64_t b;
	int j;

	for (b = 0; b + 8 <= n; b += 8) {
		const char *w8 = (const char *)&wb[b];
		const __m512i a = _mm512_loadu_si512(w8), bb = _mm512_loadu_si512(w8 + 64),
			      c = _mm512_loadu_si512(w8 + 80);
		const __m256 p8 = a5_q4_0_prod8(a, bb, &p->d[b]);
		__m512i q[4];

		a5_stream_ahead(w8, 8 * sizeof(struct blk_q4_0), pf_end);
		q[0] = _mm512_permutexvar_epi16(qw, a);
		q[1] = _mm512_permutex2var_epi16(
		    a, _mm512_add_epi16(qw, _mm512_set1_epi16(a5_qs_shift[1])), bb);
		q[2] = _mm512_permutexvar_epi16(
		    _mm512_add_epi16(qw, _mm512_set1_epi16(a5_qs_shift[2])), bb);
		q[3] = _mm512_permutexvar_epi16(
		    _mm512_add_epi16(qw, _mm512_set1_epi16(a5_qs_shift[3])), c);
		KERN_UNROLL for (j = 0; j < 4; j++)
			acc = a5_q4_0_step2(q[j], &p->q[b + 2 * j], &p->n[b + 2 * j],
					    a5_pair_prod(p8, j), acc);
	}
	l = _mm512_castps512_ps256(acc);
	h = _mm512_extractf32x8_ps(acc, 1);
	for (; b < n; b++) { /* the last n % 8 blocks, a product at a time */
		const __m256 prod = _mm256_set1_ps(_cvtsh_ss(wb[b].d) * p->d[b]);

		if (b & 1)
			h = a5_q4_0_step(&wb[b], p->q[b], p->n[b], prod, h);
		else
			l = a5_q4_0_step(&wb[b], p->q[b], p->n[b], prod, l);
	}
	*lo = l;
	*hi = h;
}

/* The 512-bit tile's last steps: its absent last block (+ 0 * 0) and its tree. */
V5 float a5_q4_0_sum(int64_t nb, __m256 lo, __m256 hi)
{
	if (nb & 1)
		hi = _mm256_fmadd_ps(_mm256_setzero_ps(), _mm256_setzero_ps(), hi);
	return a5_tree8(_mm256_add_ps(hi, lo));
}

/* One activation row against nr weight rows, row after row: one linear stream through
 * consecutive rows, the activation side prepared once (once per 4 rows and chunk when k >
 * 32 * A5_XCHUNK). */
static V5_OUTER void a5_q4_0_gemv(int64_t k, const void *w, size_t wrb, const void *x, float *out,
			   int64_t nr)
{
	const int64_t nb = k / 32;
	const struct blk_q8_0 *xb = (const struct blk_q8_0 *)x;
	const char *end = ROW(w, nr, wrb);
	struct a5_xprep p;
	int64_t r, r0, b0;

	a5_stream_start(w, (size_t)nr * wrb);
	if (nb <= A5_XCHUNK) {
		a5_q4_0_prep(&p, xb, nb);
		for (r = 0; r < nr; r++) {
			const struct blk_q4_0 *wr = (const struct blk_q4_0 *)ROW(w, r, wrb);
			__m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();

			a5_q4_0_run(wr, &p, nb, end, &lo, &hi);
			out[r] = a5_q4_0_sum(nb, lo, hi);
		}
		return;
	}
	for (r0 = 0; r0 < nr; r0 += MR) {
		const int64_t g = nr - r0 < MR ? nr - r0 : MR;
		__m256 lo[MR], hi[MR];

		for (r = 0; r < g; r++)
			lo[r] = hi[r] = _mm256_setzero_ps();
		for (b0 = 0; b0 < nb; b0 += A5_XCHUNK) { /* A5_XCHUNK is even */
			const int64_t n = nb - b0 < A5_XCHUNK ? nb - b0 : A5_XCHUNK;

			a5_q4_0_prep(&p, xb + b0, n);
			for (r = 0; r < g; r++) {
				const struct blk_q4_0 *wr =
				    (const struct blk_q4_0 *)ROW(w, r0 + r, wrb) + b0;

				a5_q4_0_run(wr, &p, n, end, &lo[r], &hi[r]);
			}
		}
		for (r = 0; r < g; r++)
			out[r0 + r] = a5_q4_0_sum(nb, lo[r], hi[r]);
	}
}

/* One pair of blocks (p) of a5_tile_q32; `two` is a constant where it is inlined, so the
 * full pairs carry no test for an absent second block. */
V5 void a5_q32_pair(enum a5_wkind kind, int64_t p, int two, const void *w, size_t wrb,
		    const void *x, size_t xrb, __m512 acc[MR][MC], __m512 accm[MR][MC], const int nr,
		    const int nc, size_t bsz)
{
	struct a5_xpair xp[MC];
	__m512 xs[MC];
	int r, c;

	KERN_UNROLL for (c = 0; c < nc; c++) {
		a5_xpair_load(&xp[c], kind, ROW(x, c, xrb), p, two);
		if (kind == a5_WK_Q4_1)
			xs[c] = a5_xsum2(ROW(x, c, xrb), p, two);
	}
	KERN_UNROLL for (r = 0; r < nr; r++) {
		struct a5_wpair wp;

		kern_prefetch_ahead(nr, ROW(w, r + KERN_PF_ROWS, wrb) + (size_t)p * 2 * bsz, 2 * bsz);
		a5_wpair_load(&wp, kind, ROW(w, r, wrb), p, two);
		KERN_UNROLL for (c = 0; c < nc; c++) {
			const __m512i s = _mm512_dpbusd_epi32(xp[c].nsum, wp.q, xp[c].q);

			acc[r][c] = _mm512_fmadd_ps(_mm512_mul_ps(wp.d, xp[c].d),
						    _mm512_cvtepi32_ps(s), acc[r][c]);
			if (kind == a5_WK_Q4_1)
				accm[r][c] = _mm512_fmadd_ps(wp.m, xs[c], accm[r][c]);
		}
	}
}

V5 void a5_tile_q32(enum a5_wkind kind, int64_t k, const void *w, size_t wrb, const void *x,
		    size_t xrb, float *out, int64_t ld, const int nr, const int nc)
{
	const int64_t nb = k / 32;
	const size_t bsz = kind == a5_WK_Q8_0	? 34
			   : kind == a5_WK_Q4_0 ? 18
			   : kind == a5_WK_Q5_0 ? 22
						: 20;
	__m512 acc[MR][MC], accm[MR][MC];
	int64_t p;
	int r, c;

	KERN_UNROLL for (r = 0; r < nr; r++)
		KERN_UNROLL for (c = 0; c < nc; c++) {
			acc[r][c] = _mm512_setzero_ps();
			accm[r][c] = _mm512_setzero_ps();
		}
	for (p = 0; p < nb / 2; p++)
		a5_q32_pair(kind, p, 1, w, wrb, x, xrb, acc, accm, nr, nc, bsz);
	if (nb & 1)
		a5_q32_pair(kind, nb / 2, 0, w, wrb, x, xrb, acc, accm, nr, nc, bsz);
	KERN_UNROLL for (r = 0; r < nr; r++)
		KERN_UNROLL for (c = 0; c < nc; c++) {
			float v = a5_tree16(acc[r][c]);

			if (kind == a5_WK_Q4_1)
				v = _mm_cvtss_f32(
				    _mm_add_ss(_mm_set_ss(v), _mm_set_ss(a5_tree16(accm[r][c]))));
			out[c * ld + r] = v;
		}
}

V5 void a5_q8_0_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		     int64_t ld, const int nr, const int nc)
{
	if (nc == 1)
		a5_q8_0_row1(k, w, wrb, x, out, ld, nr);
	else
		a5_tile_q32(a5_WK_Q8_0, k, w, wrb, x, xrb, out, ld, nr, nc);
}

V5 void a5_q4_0_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		     int64_t ld, const int nr, const int nc)
{
	if (nc == 1)
		a5_q4_0_gemv(k, w, wrb, x, out, nr);
	else
		a5_tile_q32(a5_WK_Q4_0, k, w, wrb, x, xrb, out, ld, nr, nc);
}

V5 void a5_q5_0_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		     int64_t ld, const int nr, const int nc)
{
	a5_tile_q32(a5_WK_Q5_0, k, w, wrb, x, xrb, out, ld, nr, nc);
}

V5 void a5_q4_1_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		     int64_t ld, const int nr, const int nc)
{
	a5_tile_q32(a5_WK_Q4_1, k, w, wrb, x, xrb, out, ld, nr, nc);
}

/* ---- K-quants against Q8_K: 64 quants per vector, maddubs then vpdpwssd with the scales ---- */

enum a5_kkind { a5_KK_Q4, a5_KK_Q5, a5_KK_Q6 };

/* One weight row's super-block, decoded: 4 x 64 unsigned quants, 16-bit scales matching the
 * maddubs pairs, the 16-bit values multiplying the activation bsums, and d (dmin). */
struct a5_krow {
	__m512i q[4], sc[4];
	__m256i m16;
	float d, dmin;
};

V5 void a5_krow_load(struct a5_krow *o, enum a5_kkind kind, const void *row, int64_t b)
{
	const __m512i m4 = _mm512_set1_epi8(0x0F);
	int j;

	if (kind == a5_KK_Q6) {
		const struct blk_q6_K *p = (const struct blk_q6_K *)row + b;
		const __m256i s16 =
		    _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p->scales));
		const __m512i m3 = _mm512_set1_epi8(0x30);
		const __m512i shl = _mm512_set_epi64(0x0002000200020002LL, 0x0002000200020002LL,
						     0x0002000200020002LL, 0x0002000200020002LL,
						     0x0004000400040004LL, 0x0004000400040004LL,
						     0x0004000400040004LL, 0x0004000400040004LL);
		const __m512i shr =
		    _mm512_set_epi64(0x0002000200020002LL, 0x0002000200020002LL,
				     0x0002000200020002LL, 0x0002000200020002LL, 0, 0, 0, 0);
		int h;

		KERN_UNROLL for (h = 0; h < 2; h++) {
			const __m512i A = _mm512_loadu_si512(p->ql + 64 * h);
			const __m512i H = _mm512_broadcast_i64x4(
			    _mm256_loadu_si256((const __m256i *)(p->qh + 32 * h)));

			o->q[2 * h] =
			    _mm512_or_si512(_mm512_and_si512(A, m4),
					    _mm512_and_si512(_mm512_sllv_epi16(H, shl), m3));
			o->q[2 * h + 1] =
			    _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(A, 4), m4),
					    _mm512_and_si512(_mm512_srlv_epi16(H, shr), m3));
		}
		KERN_UNROLL for (j = 0; j < 4; j++) {
			/* 16-bit lane i of group j takes scale 4j + i / 8 */
			const __m512i idx = _mm512_add_epi16(
			    _mm512_set1_epi16((short)(4 * j)),
			    _mm512_srli_epi16(_mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23,
							       22, 21, 20, 19, 18, 17, 16, 15, 14,
							       13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3,
							       2, 1, 0),
					      3));

			o->sc[j] = _mm512_permutexvar_epi16(idx, _mm512_castsi256_si512(s16));
		}
		o->m16 = s16;
		o->d = _cvtsh_ss(p->d);
		o->dmin = 0;
		return;
	}

	const uint8_t *qs;
	const uint8_t *qh = NULL;
	const void *blk; /* d, dmin and the 12 scale bytes are its first 16 bytes */
	kern_half d, dmin;

	if (kind == a5_KK_Q5) {
		const struct blk_q5_K *p = (const struct blk_q5_K *)row + b;

		blk = p;
		qs = p->qs;
		qh = p->qh;
		d = p->d;
		dmin = p->dmin;
	} else {
		const struct blk_q4_K *p = (const struct blk_q4_K *)row + b;

		blk = p;
		qs = p->qs;
		d = p->d;
		dmin = p->dmin;
	}
	const __m512i sh = _mm512_set_epi64(0x0004000400040004LL, 0x0004000400040004LL,
					    0x0004000400040004LL, 0x0004000400040004LL, 0, 0, 0, 0);
	__m512i H = _mm512_setzero_si512();

	if (qh != NULL)
		H = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)qh));
	KERN_UNROLL for (j = 0; j < 4; j++) {
		const __m512i v =
		    _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(qs + 32 * j)));

		o->q[j] = _mm512_and_si512(_mm512_srlv_epi16(v, sh), m4);
		if (qh != NULL) {
			const __m512i bit = _mm512_inserti64x4(
			    _mm512_castsi256_si512(_mm256_set1_epi8((char)(1u << (2 * j)))),
			    _mm256_set1_epi8((char)(1u << (2 * j + 1))), 1);

			o->q[j] = _mm512_mask_add_epi8(o->q[j], _mm512_test_epi8_mask(H, bit),
						       o->q[j], _mm512_set1_epi8(16));
		}
	}
	{
		const __m512i s = _mm512_broadcast_i32x4(kern_k4_scales(blk));

		KERN_UNROLL for (j = 0; j < 4; j++) {
			/* 16-bit lanes 0-15 take scale 2j, 16-31 scale 2j + 1 (bytes 2j, 2j + 1
			 * of s, zero-extended by the -1 indices) */
			const __m512i idx = _mm512_inserti64x4(
			    _mm512_castsi256_si512(_mm256_set1_epi16((short)(0xFF00 | (2 * j)))),
			    _mm256_set1_epi16((short)(0xFF00 | (2 * j + 1))), 1);

			o->sc[j] = _mm512_shuffle_epi8(s, idx);
		}
		o->m16 = kern_k4_mins16(_mm512_castsi512_si256(s));
	}
	o->d = _cvtsh_ss(d);
	o->dmin = _cvtsh_ss(dmin);
}

/* acc after one super-block of one row and column: + d * isum, then Q4_K/Q5_K - dmin * (mins
 * . bsums), Q6_K with 32 * (scales . bsums) subtracted from isum first */
V5 __m512 a5_k_acc(enum a5_kkind kind, const struct a5_krow *kr, const struct blk_q8_K *xb,
		   __m256i bs, __m512i isum, __m512 acc)
{
	const __m512i mb = _mm512_zextsi256_si512(_mm256_madd_epi16(bs, kr->m16));
	const __m512 d = _mm512_set1_ps(kr->d * xb->d);

	if (kind == a5_KK_Q6)
		return _mm512_fmadd_ps(
		    d, _mm512_cvtepi32_ps(_mm512_sub_epi32(isum, _mm512_slli_epi32(mb, 5))), acc);
	acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(isum), acc);
	return _mm512_fnmadd_ps(_mm512_set1_ps(kr->dmin * xb->d), _mm512_cvtepi32_ps(mb), acc);
}

/*
 * Per super-block and element: isum (16 x i32, exact) = sum of scale * q * x; Q6_K subtracts
 * 32 * sum(scale * bsum) there; acc += d * isum; Q4_K/Q5_K then acc -= dmin * (mins * bsums,
 * 8 x i32 in the low lanes).
 * Every loop over j (and h) here and in a5_krow_load is unrolled (KERN_UNROLL): rolled, gcc
 * kept the decoded row on the stack and reloaded it, and the vpdpwssd chain went through
 * memory. One Zen 4 core, from L2: m = 1 Q4_K 15.5 -> 19.7 GB/s, Q6_K 22 -> 33.5; m = 128
 * Q4_K 94 -> 108 GFLOP/s, Q5_K 81 -> 100, Q6_K 95 -> 116.
 */
V5 void a5_tile_k(enum a5_kkind kind, int64_t k, const void *w, size_t wrb, const void *x,
		  size_t xrb, float *out, int64_t ld, const int nr, const int nc)
{
	const int64_t nb = k / QK_K;
	__m512 acc[MR][MC];
	int64_t b;
	int r, c, j;

	KERN_UNROLL for (r = 0; r < nr; r++)
		KERN_UNROLL for (c = 0; c < nc; c++)
			acc[r][c] = _mm512_setzero_ps();
	for (b = 0; b < nb; b++) {
		struct a5_krow kr[MR];
		__m512i isum[MR][MC];

		KERN_UNROLL for (r = 0; r < nr; r++) {
			const size_t bsz = kind == a5_KK_Q4 ? 144 : kind == a5_KK_Q5 ? 176 : 210;

			kern_prefetch_ahead(nr, ROW(w, r + KERN_PF_ROWS, wrb) + (size_t)b * bsz, bsz);
			a5_krow_load(&kr[r], kind, ROW(w, r, wrb), b);
			KERN_UNROLL for (c = 0; c < nc; c++)
				isum[r][c] = _mm512_setzero_si512();
		}
		KERN_UNROLL for (c = 0; c < nc; c++) {
			const struct blk_q8_K *xb = (const struct blk_q8_K *)ROW(x, c, xrb) + b;

			KERN_UNROLL for (j = 0; j < 4; j++) {
				const __m512i xv = _mm512_loadu_si512(xb->qs + 64 * j);

				KERN_UNROLL for (r = 0; r < nr; r++)
					isum[r][c] = _mm512_dpwssd_epi32(
					    isum[r][c], _mm512_maddubs_epi16(kr[r].q[j], xv),
					    kr[r].sc[j]);
			}
		}
		KERN_UNROLL for (c = 0; c < nc; c++) {
			const struct blk_q8_K *xb = (const struct blk_q8_K *)ROW(x, c, xrb) + b;
			const __m256i bs = _mm256_loadu_si256((const __m256i *)xb->bsums);

			KERN_UNROLL for (r = 0; r < nr; r++)
				acc[r][c] = a5_k_acc(kind, &kr[r], xb, bs, isum[r][c], acc[r][c]);
		}
	}
	KERN_UNROLL for (r = 0; r < nr; r++)
		KERN_UNROLL for (c = 0; c < nc; c++)
			out[c * ld + r] = _mm512_reduce_add_ps(acc[r][c]);
}

/*
 * K-quants against one activation row (token generation): a5_tile_k's arithmetic for nr = nc
 * = 1, row after row in one call (the same bits), so the rows are one stream prefetched
 * A5_PF_BYTES ahead and a row costs no call, dispatch or tile set-up of its own. tg64 on the
 * 0.8B Q4_K_M model against a tile call per row: +2.8% at one thread, +3.4% at two (6
 * alternating pairs each).
 */
V5 void a5_k_gemv(enum a5_kkind kind, int64_t k, const void *w, size_t wrb, const void *x,
		  float *out, int64_t nr)
{
	const int64_t nb = k / QK_K;
	const size_t bsz = kind == a5_KK_Q4 ? 144 : kind == a5_KK_Q5 ? 176 : 210;
	const struct blk_q8_K *xb = (const struct blk_q8_K *)x;
	const char *end = ROW(w, nr, wrb);
	int64_t r, b;
	int j;

	a5_stream_start(w, (size_t)nr * wrb);
	for (r = 0; r < nr; r++) {
		const char *row = ROW(w, r, wrb);
		__m512 acc = _mm512_setzero_ps();

		for (b = 0; b < nb; b++) {
			const __m256i bs = _mm256_loadu_si256((const __m256i *)xb[b].bsums);
			struct a5_krow kr;
			__m512i isum = _mm512_setzero_si512();

			a5_stream_ahead(row + (size_t)b * bsz, (int)bsz, end);
			a5_krow_load(&kr, kind, row, b);
			KERN_UNROLL for (j = 0; j < 4; j++)
				isum = _mm512_dpwssd_epi32(
				    isum,
				    _mm512_maddubs_epi16(kr.q[j],
							 _mm512_loadu_si512(xb[b].qs + 64 * j)),
				    kr.sc[j]);
			acc = a5_k_acc(kind, &kr, &xb[b], bs, isum, acc);
		}
		out[r] = _mm512_reduce_add_ps(acc);
	}
}

static V5_OUTER void a5_q4_K_gemv(int64_t k, const void *w, size_t wrb, const void *x, float *out,
				  int64_t nr)
{
	a5_k_gemv(a5_KK_Q4, k, w, wrb, x, out, nr);
}

static V5_OUTER void a5_q5_K_gemv(int64_t k, const void *w, size_t wrb, const void *x, float *out,
				  int64_t nr)
{
	a5_k_gemv(a5_KK_Q5, k, w, wrb, x, out, nr);
}

static V5_OUTER void a5_q6_K_gemv(int64_t k, const void *w, size_t wrb, const void *x, float *out,
				  int64_t nr)
{
	a5_k_gemv(a5_KK_Q6, k, w, wrb, x, out, nr);
}

V5 void a5_q4_K_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		     int64_t ld, const int nr, const int nc)
{
	a5_tile_k(a5_KK_Q4, k, w, wrb, x, xrb, out, ld, nr, nc);
}

V5 void a5_q5_K_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		     int64_t ld, const int nr, const int nc)
{
	a5_tile_k(a5_KK_Q5, k, w, wrb, x, xrb, out, ld, nr, nc);
}

V5 void a5_q6_K_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		     int64_t ld, const int nr, const int nc)
{
	a5_tile_k(a5_KK_Q6, k, w, wrb, x, xrb, out, ld, nr, nc);
}

/* ---- instantiation ------------------------------------------------------------------------ */

#define a5_TILE_CASE(impl, R, C)                                                                   \
	case (R)*8 + (C):                                                                          \
		impl(k, w, wrb, x, xrb, out, ld, R, C);                                            \
		break;
#define a5_TILE_ROW(impl, R)                                                                       \
	a5_TILE_CASE(impl, R, 1) a5_TILE_CASE(impl, R, 2) a5_TILE_CASE(impl, R, 3)                 \
	    a5_TILE_CASE(impl, R, 4)
#define a5_DEFINE_TILE(name, impl, attr)                                                           \
	static attr void name(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb,     \
			      float *out, int64_t ld, int nr, int nc)                              \
	{                                                                                          \
		switch (nr * 8 + nc) {                                                             \
			a5_TILE_ROW(impl, 1) a5_TILE_ROW(impl, 2) a5_TILE_ROW(impl, 3)             \
			    a5_TILE_ROW(impl, 4) default : break;                                  \
		}                                                                                  \
	}                                                                                          \
	KERN_DOT_FROM_TILE(name##_dot, name)

a5_DEFINE_TILE(a5_tile_f32, a5_f32_impl, F5_OUTER)
    a5_DEFINE_TILE(a5_tile_f16, a5_f16_impl, F5_OUTER)
	a5_DEFINE_TILE(a5_tile_bf16, a5_bf16_impl, F5_OUTER) a5_DEFINE_TILE(a5_tile_q8_0,
									    a5_q8_0_impl, V5_OUTER)
	    a5_DEFINE_TILE(a5_tile_q4_0, a5_q4_0_impl, V5_OUTER)
		a5_DEFINE_TILE(a5_tile_q5_0, a5_q5_0_impl, V5_OUTER)
		    a5_DEFINE_TILE(a5_tile_q4_1, a5_q4_1_impl, V5_OUTER)
			a5_DEFINE_TILE(a5_tile_q4_K, a5_q4_K_impl, V5_OUTER)
			    a5_DEFINE_TILE(a5_tile_q5_K, a5_q5_K_impl, V5_OUTER)
				a5_DEFINE_TILE(a5_tile_q6_K, a5_q6_K_impl, V5_OUTER)

				    void kern_ops_avx512(struct kern_ops tab[GGUF_GGML_TYPE_COUNT],
							 int vnni)
{
	tab[GGUF_GGML_F32] = (struct kern_ops){.tile = a5_tile_f32, .dot = a5_tile_f32_dot};
	tab[GGUF_GGML_F16] = (struct kern_ops){.tile = a5_tile_f16, .dot = a5_tile_f16_dot};
	tab[GGUF_GGML_BF16] = (struct kern_ops){.tile = a5_tile_bf16, .dot = a5_tile_bf16_dot};
	if (!vnni)
		return;
	tab[GGUF_GGML_Q8_0] = (struct kern_ops){.tile = a5_tile_q8_0, .dot = a5_tile_q8_0_dot};
	tab[GGUF_GGML_Q4_0] = (struct kern_ops){.tile = a5_tile_q4_0, .dot = a5_tile_q4_0_dot, .gemv = a5_q4_0_gemv};
	tab[GGUF_GGML_Q5_0] = (struct kern_ops){.tile = a5_tile_q5_0, .dot = a5_tile_q5_0_dot};
	tab[GGUF_GGML_Q4_1] = (struct kern_ops){.tile = a5_tile_q4_1, .dot = a5_tile_q4_1_dot};
	tab[GGUF_GGML_Q4_K] =
	    (struct kern_ops){.tile = a5_tile_q4_K, .dot = a5_tile_q4_K_dot, .gemv = a5_q4_K_gemv};
	tab[GGUF_GGML_Q5_K] =
	    (struct kern_ops){.tile = a5_tile_q5_K, .dot = a5_tile_q5_K_dot, .gemv = a5_q5_K_gemv};
	tab[GGUF_GGML_Q6_K] =
	    (struct kern_ops){.tile = a5_tile_q6_K, .dot = a5_tile_q6_K_dot, .gemv = a5_q6_K_gemv};
}
