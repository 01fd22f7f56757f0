/*
 * kern_dot_avx2.c — AVX2/FMA/F16C tiles (up to 4 weight rows x 4 activation rows) for every
 * supported weight type. Integer parts are exact (maddubs/madd, offsets folded through the
 * activation block sums); floats accumulate in one 8-lane vector per element, reduced at the end.
 *
 * Owns: the AVX2 entries of the dispatch table. Never: runs unless kern_cpu.c saw AVX2, FMA and
 * F16C; depends on the tile shape for an element's operations (no FP contraction: every float
 * operation is an explicit intrinsic).
 */
#include <immintrin.h>
#include <string.h>

#include "infer/kern_impl.h"
#include "infer/kern_k4_scales.h"
#include "infer/kernels.h"

#define A2 static inline __attribute__((always_inline, target("avx2,fma,f16c")))
#define A2_OUTER __attribute__((target("avx2,fma,f16c")))

#define MR KERN_TILE_R
#define MC KERN_TILE_C

A2 float a2_hsum8(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

A2 float a2_h2f(kern_half h)
{
	return _cvtsh_ss(h);
}

A2 __m256i a2_loadu256(const void *p)
{
	return _mm256_loadu_si256((const __m256i *)p);
}

A2 __m256 a2_sum_i16_to_f32(__m256i p16)
{
	return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

#define ROW(p, r, rb) ((const char *)(p) + (size_t)(r) * (rb))

/* ---- F32 / F16 / BF16: one 8-lane accumulator per element, 8 elements a step -------------- */

enum a2_fkind { a2_FK_F32, a2_FK_F16, a2_FK_BF16 };

A2 __m256 a2_fload(enum a2_fkind kind, const void *p, int64_t i)
{
	switch (kind) {
	case a2_FK_F32:
		return _mm256_loadu_ps((const float *)p + i);
	case a2_FK_F16:
		return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)p + i)));
	default:
		return _mm256_castsi256_ps(
		    _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(
					  (const __m128i *)((const uint16_t *)p + i))),
				      16));
	}
}

A2 void a2_tile_float(enum a2_fkind kind, int64_t k, const void *w, size_t wrb, const void *x,
		      size_t xrb, float *out, int64_t ld, const int nr, const int nc)
{
	const size_t es = kind == a2_FK_F32 ? 4 : 2;
	__m256 acc[MR][MC], xv[MC];
	int64_t i;
	int r, c;

	KERN_UNROLL for (r = 0; r < nr; r++)
		KERN_UNROLL for (c = 0; c < nc; c++)
			acc[r][c] = _mm256_setzero_ps();
	for (i = 0; i + 8 <= k; i += 8) {
		KERN_UNROLL for (c = 0; c < nc; c++)
			xv[c] = a2_fload(kind, ROW(x, c, xrb), i);
		KERN_UNROLL for (r = 0; r < nr; r++) {
			const __m256 wv = a2_fload(kind, ROW(w, r, wrb), i);

			if ((i & 15) == 0)
				kern_prefetch_ahead(nr, ROW(w, r + KERN_PF_ROWS, wrb) + (size_t)i * es, 64);

			KERN_UNROLL for (c = 0; c < nc; c++)
				acc[r][c] = _mm256_fmadd_ps(wv, xv[c], acc[r][c]);
		}
	}
	if (i < k) { /* tail: zero-padded copies */
		_Alignas(32) unsigned char tb[32];

		KERN_UNROLL for (c = 0; c < nc; c++) {
			memset(tb, 0, sizeof(tb));
			memcpy(tb, ROW(x, c, xrb) + (size_t)i * es, (size_t)(k - i) * es);
			xv[c] = a2_fload(kind, tb, 0);
		}
		KERN_UNROLL for (r = 0; r < nr; r++) {
			__m256 wv;

			memset(tb, 0, sizeof(tb));
			memcpy(tb, ROW(w, r, wrb) + (size_t)i * es, (size_t)(k - i) * es);
			wv = a2_fload(kind, tb, 0);
			KERN_UNROLL for (c = 0; c < nc; c++)
				acc[r][c] = _mm256_fmadd_ps(wv, xv[c], acc[r][c]);
		}
	}
	KERN_UNROLL for (r = 0; r < nr; r++)
		KERN_UNROLL for (c = 0; c < nc; c++)
			out[c * ld + r] = a2_hsum8(acc[r][c]);
}

A2 void a2_f32_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		    int64_t ld, const int nr, const int nc)
{
	a2_tile_float(a2_FK_F32, k, w, wrb, x, xrb, out, ld, nr, nc);
}

A2 void a2_f16_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		    int64_t ld, const int nr, const int nc)
{
	a2_tile_float(a2_FK_F16, k, w, wrb, x, xrb, out, ld, nr, nc);
}

A2 void a2_bf16_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		     int64_t ld, const int nr, const int nc)
{
	a2_tile_float(a2_FK_BF16, k, w, wrb, x, xrb, out, ld, nr, nc);
}

/* ---- 32-element blocks against Q8_0 / Q8_1 ------------------------------------------------ */

/* Q8_0 x Q8_0: sign trick (|w| as unsigned, x with w's sign); per block one 8-lane fma. */
A2 void a2_q8_0_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		     int64_t ld, const int nr, const int nc)
{
	const int64_t nb = k / QK8_0;
	__m256 acc[MR][MC], dx[MC];
	__m256i xq[MC];
	int64_t b;
	int r, c;

	KERN_UNROLL for (r = 0; r < nr; r++)
		KERN_UNROLL for (c = 0; c < nc; c++)
			acc[r][c] = _mm256_setzero_ps();
	for (b = 0; b < nb; b++) {
		KERN_UNROLL for (c = 0; c < nc; c++) {
			const struct blk_q8_0 *xb = (const struct blk_q8_0 *)ROW(x, c, xrb) + b;

			xq[c] = a2_loadu256(xb->qs);
			dx[c] = _mm256_set1_ps(a2_h2f(xb->d));
		}
		KERN_UNROLL for (r = 0; r < nr; r++) {
			const struct blk_q8_0 *wb = (const struct blk_q8_0 *)ROW(w, r, wrb) + b;

			kern_prefetch_ahead(nr, ROW(w, r + KERN_PF_ROWS, wrb) + (size_t)b * sizeof(*wb), 34);
			const __m256i wq = a2_loadu256(wb->qs), aw = _mm256_sign_epi8(wq, wq);
			const __m256 dw = _mm256_set1_ps(a2_h2f(wb->d));

			KERN_UNROLL for (c = 0; c < nc; c++) {
				const __m256i p =
				    _mm256_maddubs_epi16(aw, _mm256_sign_epi8(xq[c], wq));

				acc[r][c] = _mm256_fmadd_ps(_mm256_mul_ps(dw, dx[c]),
							    a2_sum_i16_to_f32(p), acc[r][c]);
			}
		}
	}
	KERN_UNROLL for (r = 0; r < nr; r++)
		KERN_UNROLL for (c = 0; c < nc; c++)
			out[c * ld + r] = a2_hsum8(acc[r][c]);
}

/* The 32 unsigned 4-bit quants of a Q4 block, in element order. */
A2 __m256i a2_unpack_nib(const uint8_t *qs)
{
	const __m128i t = _mm_loadu_si128((const __m128i *)qs);
	const __m256i v =
	    _mm256_insertf128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1);

	return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

/* The 32 bits of qh as 32 bytes 0x10 (bit set) or 0. */
A2 __m256i a2_qh_bytes(const uint8_t *qh4)
{
	uint32_t qh;
	__m256i v;
	const __m256i shuf = _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL,
					       0x0101010101010101LL, 0x0000000000000000LL);
	const __m256i bits = _mm256_set1_epi64x((long long)0x8040201008040201ULL);

	memcpy(&qh, qh4, 4);
	v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), shuf);
	v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bits), bits);
	return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/*
 * Q4_0 / Q5_0 x Q8_0: unsigned quants q (0..15 / 0..31) times x with maddubs, then minus
 * off * sum(x) (off 8 / 16), the block sums of x computed once per activation block.
 */
A2 void a2_q4q5_0_impl(int is5, int64_t k, const void *w, size_t wrb, const void *x, size_t xrb,
		       float *out, int64_t ld, const int nr, const int nc)
{
	const int64_t nb = k / QK8_0;
	const size_t bsz = is5 ? sizeof(struct blk_q5_0) : sizeof(struct blk_q4_0);
	const __m256i off = _mm256_set1_epi8(is5 ? 16 : 8);
	__m256 acc[MR][MC], dx[MC];
	__m256i xq[MC], xs[MC];
	int64_t b;
	int r, c;

	KERN_UNROLL for (r = 0; r < nr; r++)
		KERN_UNROLL for (c = 0; c < nc; c++)
			acc[r][c] = _mm256_setzero_ps();
	for (b = 0; b < nb; b++) {
		KERN_UNROLL for (c = 0; c < nc; c++) {
			const struct blk_q8_0 *xb = (const struct blk_q8_0 *)ROW(x, c, xrb) + b;

			xq[c] = a2_loadu256(xb->qs);
			xs[c] = _mm256_madd_epi16(_mm256_maddubs_epi16(off, xq[c]),
						  _mm256_set1_epi16(1));
			dx[c] = _mm256_set1_ps(a2_h2f(xb->d));
		}
		KERN_UNROLL for (r = 0; r < nr; r++) {
			const char *wb = ROW(w, r, wrb) + (size_t)b * bsz;
			__m256i q;
			kern_half d;

			kern_prefetch_ahead(nr, ROW(w, r + KERN_PF_ROWS, wrb) + (size_t)b * bsz, bsz);

			if (is5) {
				const struct blk_q5_0 *p = (const struct blk_q5_0 *)wb;

				q = _mm256_or_si256(a2_unpack_nib(p->qs), a2_qh_bytes(p->qh));
				d = p->d;
			} else {
				const struct blk_q4_0 *p = (const struct blk_q4_0 *)wb;

				q = a2_unpack_nib(p->qs);
				d = p->d;
			}
			const __m256 dw = _mm256_set1_ps(a2_h2f(d));

			KERN_UNROLL for (c = 0; c < nc; c++) {
				__m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(q, xq[c]),
							      _mm256_set1_epi16(1));

				s = _mm256_sub_epi32(s, xs[c]);
				acc[r][c] = _mm256_fmadd_ps(_mm256_mul_ps(dw, dx[c]),
							    _mm256_cvtepi32_ps(s), acc[r][c]);
			}
		}
	}
	KERN_UNROLL for (r = 0; r < nr; r++)
		KERN_UNROLL for (c = 0; c < nc; c++)
			out[c * ld + r] = a2_hsum8(acc[r][c]);
}

A2 void a2_q4_0_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		     int64_t ld, const int nr, const int nc)
{
	a2_q4q5_0_impl(0, k, w, wrb, x, xrb, out, ld, nr, nc);
}

A2 void a2_q5_0_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		     int64_t ld, const int nr, const int nc)
{
	a2_q4q5_0_impl(1, k, w, wrb, x, xrb, out, ld, nr, nc);
}

/* Q4_1 x Q8_1: sum(q * x) exact; the min term m * s in a separate scalar accumulator. */
A2 void a2_q4_1_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		     int64_t ld, const int nr, const int nc)
{
	const int64_t nb = k / QK8_1;
	__m256 acc[MR][MC], dx[MC];
	__m128 accm[MR][MC], sx[MC];
	__m256i xq[MC];
	int64_t b;
	int r, c;

	KERN_UNROLL for (r = 0; r < nr; r++)
		KERN_UNROLL for (c = 0; c < nc; c++) {
			acc[r][c] = _mm256_setzero_ps();
			accm[r][c] = _mm_setzero_ps();
		}
	for (b = 0; b < nb; b++) {
		KERN_UNROLL for (c = 0; c < nc; c++) {
			const struct blk_q8_1 *xb = (const struct blk_q8_1 *)ROW(x, c, xrb) + b;

			xq[c] = a2_loadu256(xb->qs);
			dx[c] = _mm256_set1_ps(a2_h2f(xb->d));
			sx[c] = _mm_set_ss(a2_h2f(xb->s));
		}
		KERN_UNROLL for (r = 0; r < nr; r++) {
			const struct blk_q4_1 *wb = (const struct blk_q4_1 *)ROW(w, r, wrb) + b;

			kern_prefetch_ahead(nr, ROW(w, r + KERN_PF_ROWS, wrb) + (size_t)b * sizeof(*wb), 20);
			const __m256i q = a2_unpack_nib(wb->qs);
			const __m256 dw = _mm256_set1_ps(a2_h2f(wb->d));
			const __m128 mw = _mm_set_ss(a2_h2f(wb->m));

			KERN_UNROLL for (c = 0; c < nc; c++) {
				const __m256i p = _mm256_maddubs_epi16(q, xq[c]);

				acc[r][c] = _mm256_fmadd_ps(_mm256_mul_ps(dw, dx[c]),
							    a2_sum_i16_to_f32(p), acc[r][c]);
				accm[r][c] = _mm_fmadd_ss(mw, sx[c], accm[r][c]);
			}
		}
	}
	KERN_UNROLL for (r = 0; r < nr; r++)
		KERN_UNROLL for (c = 0; c < nc; c++)
			out[c * ld + r] =
			    _mm_cvtss_f32(_mm_add_ss(_mm_set_ss(a2_hsum8(acc[r][c])), accm[r][c]));
}

/* ---- K-quants against Q8_K --------------------------------------------------------------- */

/* Per weight row of a Q4_K/Q5_K super-block: 16-bit scales broadcast per 32 quants, the mins
 * per 16 (to multiply the activation bsums), d and dmin. */
struct a2_k4_row {
	__m256i sc[8];
	__m256i mins;
	float d, dmin;
};

/* The row's scales, each in every 16-bit lane, and its mins twice each for the bsums
 * (kern_k4_mins16), by byte shuffles of kern_k4_scales. Unpacked a scale at a time in scalar code,
 * with the mins stored and reloaded, one Zen 4 core on these kernels ran m = 1 Q4_K at 9.7 GB/s
 * and Q5_K at 10.9, m = 128 at 77-80 and 73 GFLOP/s; now 16.1, 14.4, 94-106 and 92. */
A2 void a2_k4_row_init(struct a2_k4_row *o, const void *blk, kern_half d, kern_half dmin)
{
	const __m256i s = _mm256_broadcastsi128_si256(kern_k4_scales(blk));
	int j;

	KERN_UNROLL for (j = 0; j < 8; j++)
		o->sc[j] = _mm256_shuffle_epi8(s, _mm256_set1_epi16((short)(0xFF00 | j)));
	o->mins = kern_k4_mins16(s);
	o->d = a2_h2f(d);
	o->dmin = a2_h2f(dmin);
}

/* Q4_K / Q5_K x Q8_K. Per super-block and element: an exact 8 x i32 sum of scale * q * x,
 * acc += d * it, then acc -= dmin * (8 x i32 of mins * bsums). */
A2 void a2_q45_K_impl(int is5, int64_t k, const void *w, size_t wrb, const void *x, size_t xrb,
		      float *out, int64_t ld, const int nr, const int nc)
{
	const int64_t nb = k / QK_K;
	const size_t bsz = is5 ? sizeof(struct blk_q5_K) : sizeof(struct blk_q4_K);
	const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
	__m256 acc[MR][MC];
	int64_t b;
	int r, c, j;

	KERN_UNROLL for (r = 0; r < nr; r++)
		KERN_UNROLL for (c = 0; c < nc; c++)
			acc[r][c] = _mm256_setzero_ps();
	for (b = 0; b < nb; b++) {
		struct a2_k4_row rw[MR];
		const uint8_t *qs[MR], *qh[MR];
		__m256i isum[MR][MC];

		KERN_UNROLL for (r = 0; r < nr; r++) {
			const char *wb = ROW(w, r, wrb) + (size_t)b * bsz;

			kern_prefetch_ahead(nr, ROW(w, r + KERN_PF_ROWS, wrb) + (size_t)b * bsz, bsz);
			if (is5) {
				const struct blk_q5_K *p = (const struct blk_q5_K *)wb;

				a2_k4_row_init(&rw[r], p, p->d, p->dmin);
				qs[r] = p->qs;
				qh[r] = p->qh;
			} else {
				const struct blk_q4_K *p = (const struct blk_q4_K *)wb;

				a2_k4_row_init(&rw[r], p, p->d, p->dmin);
				qs[r] = p->qs;
				qh[r] = NULL;
			}
			KERN_UNROLL for (c = 0; c < nc; c++)
				isum[r][c] = _mm256_setzero_si256();
		}
		for (j = 0; j < QK_K / 64; j++) {
			__m256i lo[MR], hi[MR];

			KERN_UNROLL for (r = 0; r < nr; r++) {
				const __m256i v = a2_loadu256(qs[r] + 32 * j);

				lo[r] = _mm256_and_si256(v, m4);
				hi[r] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
				if (is5) {
					const __m256i h = a2_loadu256(qh[r]);
					const __m256i hl =
					    _mm256_and_si256(_mm256_srli_epi16(h, 2 * j), one);
					const __m256i hh =
					    _mm256_and_si256(_mm256_srli_epi16(h, 2 * j + 1), one);

					lo[r] = _mm256_or_si256(lo[r], _mm256_slli_epi16(hl, 4));
					hi[r] = _mm256_or_si256(hi[r], _mm256_slli_epi16(hh, 4));
				}
			}
			KERN_UNROLL for (c = 0; c < nc; c++) {
				const struct blk_q8_K *xb =
				    (const struct blk_q8_K *)ROW(x, c, xrb) + b;
				const __m256i xl = a2_loadu256(xb->qs + 64 * j);
				const __m256i xh = a2_loadu256(xb->qs + 64 * j + 32);

				KERN_UNROLL for (r = 0; r < nr; r++) {
					__m256i p = _mm256_madd_epi16(
					    _mm256_maddubs_epi16(lo[r], xl), rw[r].sc[2 * j]);
					__m256i q = _mm256_madd_epi16(
					    _mm256_maddubs_epi16(hi[r], xh), rw[r].sc[2 * j + 1]);

					isum[r][c] =
					    _mm256_add_epi32(isum[r][c], _mm256_add_epi32(p, q));
				}
			}
		}
		KERN_UNROLL for (c = 0; c < nc; c++) {
			const struct blk_q8_K *xb = (const struct blk_q8_K *)ROW(x, c, xrb) + b;
			const __m256i bs = a2_loadu256(xb->bsums);

			KERN_UNROLL for (r = 0; r < nr; r++) {
				const __m256i mn = _mm256_madd_epi16(bs, rw[r].mins);
				const __m256 d = _mm256_set1_ps(rw[r].d * xb->d);
				const __m256 dm = _mm256_set1_ps(rw[r].dmin * xb->d);

				acc[r][c] =
				    _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(isum[r][c]), acc[r][c]);
				acc[r][c] = _mm256_fnmadd_ps(dm, _mm256_cvtepi32_ps(mn), acc[r][c]);
			}
		}
	}
	KERN_UNROLL for (r = 0; r < nr; r++)
		KERN_UNROLL for (c = 0; c < nc; c++)
			out[c * ld + r] = a2_hsum8(acc[r][c]);
}

A2 void a2_q4_K_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		     int64_t ld, const int nr, const int nc)
{
	a2_q45_K_impl(0, k, w, wrb, x, xrb, out, ld, nr, nc);
}

A2 void a2_q5_K_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		     int64_t ld, const int nr, const int nc)
{
	a2_q45_K_impl(1, k, w, wrb, x, xrb, out, ld, nr, nc);
}

/* Q6_K x Q8_K: unsigned 6-bit q (0..63) times x per 16, scaled by the int8 scales; the -32
 * offset is 32 * sum(scale * bsum), subtracted from the exact sum; acc += d * it. */
A2 void a2_q6_K_impl(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, float *out,
		     int64_t ld, const int nr, const int nc)
{
	const int64_t nb = k / QK_K;
	const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(0x30);
	__m256 acc[MR][MC];
	int64_t b;
	int r, c, t, h;

	KERN_UNROLL for (r = 0; r < nr; r++)
		KERN_UNROLL for (c = 0; c < nc; c++)
			acc[r][c] = _mm256_setzero_ps();
	for (b = 0; b < nb; b++) {
		const struct blk_q6_K *wb[MR];
		__m256i sc16[MR][8], scall[MR], isum[MR][MC];

		KERN_UNROLL for (r = 0; r < nr; r++) {
			wb[r] = (const struct blk_q6_K *)ROW(w, r, wrb) + b;
			kern_prefetch_ahead(nr, ROW(w, r + KERN_PF_ROWS, wrb) + (size_t)b * 210, 210);
			const __m128i s8 = _mm_loadu_si128((const __m128i *)wb[r]->scales);

			scall[r] = _mm256_cvtepi8_epi16(s8);
			KERN_UNROLL for (t = 0; t < 8; t++)
				sc16[r][t] =
				    _mm256_set_m128i(_mm_set1_epi16(wb[r]->scales[2 * t + 1]),
						     _mm_set1_epi16(wb[r]->scales[2 * t]));
			KERN_UNROLL for (c = 0; c < nc; c++)
				isum[r][c] = _mm256_setzero_si256();
		}
		KERN_UNROLL for (h = 0; h < 2; h++) {
			__m256i q[MR][4];

			KERN_UNROLL for (r = 0; r < nr; r++) {
				const __m256i A = a2_loadu256(wb[r]->ql + 64 * h);
				const __m256i B = a2_loadu256(wb[r]->ql + 64 * h + 32);
				const __m256i H = a2_loadu256(wb[r]->qh + 32 * h);

				q[r][0] =
				    _mm256_or_si256(_mm256_and_si256(A, m4),
						    _mm256_and_si256(_mm256_slli_epi16(H, 4), m3));
				q[r][1] =
				    _mm256_or_si256(_mm256_and_si256(B, m4),
						    _mm256_and_si256(_mm256_slli_epi16(H, 2), m3));
				q[r][2] =
				    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(A, 4), m4),
						    _mm256_and_si256(H, m3));
				q[r][3] =
				    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(B, 4), m4),
						    _mm256_and_si256(_mm256_srli_epi16(H, 2), m3));
			}
			KERN_UNROLL for (c = 0; c < nc; c++) {
				const struct blk_q8_K *xb =
				    (const struct blk_q8_K *)ROW(x, c, xrb) + b;

				KERN_UNROLL for (t = 0; t < 4; t++) {
					const __m256i xv = a2_loadu256(xb->qs + 128 * h + 32 * t);

					KERN_UNROLL for (r = 0; r < nr; r++) {
						const __m256i p = _mm256_madd_epi16(
						    _mm256_maddubs_epi16(q[r][t], xv),
						    sc16[r][4 * h + t]);

						isum[r][c] = _mm256_add_epi32(isum[r][c], p);
					}
				}
			}
		}
		KERN_UNROLL for (c = 0; c < nc; c++) {
			const struct blk_q8_K *xb = (const struct blk_q8_K *)ROW(x, c, xrb) + b;
			const __m256i bs = a2_loadu256(xb->bsums);

			KERN_UNROLL for (r = 0; r < nr; r++) {
				const __m256i corr = _mm256_madd_epi16(bs, scall[r]);
				const __m256i s =
				    _mm256_sub_epi32(isum[r][c], _mm256_slli_epi32(corr, 5));
				const __m256 d = _mm256_set1_ps(a2_h2f(wb[r]->d) * xb->d);

				acc[r][c] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc[r][c]);
			}
		}
	}
	KERN_UNROLL for (r = 0; r < nr; r++)
		KERN_UNROLL for (c = 0; c < nc; c++)
			out[c * ld + r] = a2_hsum8(acc[r][c]);
}

/* ---- instantiation: one function per type switching to constant tile shapes --------------- */

#define a2_TILE_CASE(impl, R, C)                                                                   \
	case (R)*8 + (C):                                                                          \
		impl(k, w, wrb, x, xrb, out, ld, R, C);                                            \
		break;
#define a2_TILE_ROW(impl, R)                                                                       \
	a2_TILE_CASE(impl, R, 1) a2_TILE_CASE(impl, R, 2) a2_TILE_CASE(impl, R, 3)                 \
	    a2_TILE_CASE(impl, R, 4)
#define a2_DEFINE_TILE(name, impl)                                                                 \
	static A2_OUTER void name(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb, \
				  float *out, int64_t ld, int nr, int nc)                          \
	{                                                                                          \
		switch (nr * 8 + nc) {                                                             \
			a2_TILE_ROW(impl, 1) a2_TILE_ROW(impl, 2) a2_TILE_ROW(impl, 3)             \
			    a2_TILE_ROW(impl, 4) default : break;                                  \
		}                                                                                  \
	}                                                                                          \
	KERN_DOT_FROM_TILE(name##_dot, name)

a2_DEFINE_TILE(a2_tile_f32, a2_f32_impl) a2_DEFINE_TILE(a2_tile_f16, a2_f16_impl)
    a2_DEFINE_TILE(a2_tile_bf16, a2_bf16_impl) a2_DEFINE_TILE(a2_tile_q8_0, a2_q8_0_impl)
	a2_DEFINE_TILE(a2_tile_q4_0, a2_q4_0_impl) a2_DEFINE_TILE(a2_tile_q5_0, a2_q5_0_impl)
	    a2_DEFINE_TILE(a2_tile_q4_1, a2_q4_1_impl) a2_DEFINE_TILE(a2_tile_q4_K, a2_q4_K_impl)
		a2_DEFINE_TILE(a2_tile_q5_K, a2_q5_K_impl)
		    a2_DEFINE_TILE(a2_tile_q6_K, a2_q6_K_impl)

			void kern_ops_avx2(struct kern_ops tab[GGUF_GGML_TYPE_COUNT])
{
	tab[GGUF_GGML_F32] = (struct kern_ops){.tile = a2_tile_f32, .dot = a2_tile_f32_dot};
	tab[GGUF_GGML_F16] = (struct kern_ops){.tile = a2_tile_f16, .dot = a2_tile_f16_dot};
	tab[GGUF_GGML_BF16] = (struct kern_ops){.tile = a2_tile_bf16, .dot = a2_tile_bf16_dot};
	tab[GGUF_GGML_Q8_0] = (struct kern_ops){.tile = a2_tile_q8_0, .dot = a2_tile_q8_0_dot};
	tab[GGUF_GGML_Q4_0] = (struct kern_ops){.tile = a2_tile_q4_0, .dot = a2_tile_q4_0_dot};
	tab[GGUF_GGML_Q5_0] = (struct kern_ops){.tile = a2_tile_q5_0, .dot = a2_tile_q5_0_dot};
	tab[GGUF_GGML_Q4_1] = (struct kern_ops){.tile = a2_tile_q4_1, .dot = a2_tile_q4_1_dot};
	tab[GGUF_GGML_Q4_K] = (struct kern_ops){.tile = a2_tile_q4_K, .dot = a2_tile_q4_K_dot};
	tab[GGUF_GGML_Q5_K] = (struct kern_ops){.tile = a2_tile_q5_K, .dot = a2_tile_q5_K_dot};
	tab[GGUF_GGML_Q6_K] = (struct kern_ops){.tile = a2_tile_q6_K, .dot = a2_tile_q6_K_dot};
}
