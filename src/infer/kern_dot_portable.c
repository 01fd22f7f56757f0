/*
 * kern_dot_portable.c — the plain C dot products, written like ggml's generic (non-SIMD)
 * versions: the same integer blocks and the same float expressions in the same order, so they
 * give ggml-generic's numbers. They are the reference the SIMD versions are tested against.
 *
 * Owns: the portable entries of the dispatch table. Never: uses intrinsics or target attributes.
 */
#include <string.h>

#include "infer/kern_impl.h"
#include "infer/kernels.h"

static void p_dot_f32(int64_t n, float *s, const void *vw, const void *vx)
{
	const float *w = vw, *x = vx;
	double sumf = 0.0;
	int64_t i;

	for (i = 0; i < n; i++)
		sumf += (double)(w[i] * x[i]);
	*s = (float)sumf;
}

static void p_dot_f16(int64_t n, float *s, const void *vw, const void *vx)
{
	const uint16_t *w = vw, *x = vx;
	double sumf = 0.0;
	int64_t i;

	for (i = 0; i < n; i++)
		sumf += (double)(kern_h2f(w[i]) * kern_h2f(x[i]));
	*s = (float)sumf;
}

static void p_dot_bf16(int64_t n, float *s, const void *vw, const void *vx)
{
	const uint16_t *w = vw, *x = vx;
	double sumf = 0.0;
	int64_t i;

	for (i = 0; i < n; i++)
		sumf += (double)(kern_bf16_to_fp32(w[i]) * kern_bf16_to_fp32(x[i]));
	*s = (float)sumf;
}

static void p_dot_q4_0(int64_t n, float *s, const void *vw, const void *vx)
{
	const struct blk_q4_0 *x = vw;
	const struct blk_q8_0 *y = vx;
	int64_t ib, nb = n / QK8_0;
	float sumf = 0;
	int j;

	for (ib = 0; ib < nb; ib++) {
		int sumi0 = 0, sumi1 = 0;

		for (j = 0; j < QK8_0 / 2; j++) {
			const int v0 = (x[ib].qs[j] & 0x0F) - 8;
			const int v1 = (x[ib].qs[j] >> 4) - 8;

			sumi0 += v0 * y[ib].qs[j];
			sumi1 += v1 * y[ib].qs[j + QK8_0 / 2];
		}
		sumf += (float)(sumi0 + sumi1) * kern_h2f(x[ib].d) * kern_h2f(y[ib].d);
	}
	*s = sumf;
}

static void p_dot_q4_1(int64_t n, float *s, const void *vw, const void *vx)
{
	const struct blk_q4_1 *x = vw;
	const struct blk_q8_1 *y = vx;
	int64_t ib, nb = n / QK8_1;
	float sumf = 0;
	int j;

	for (ib = 0; ib < nb; ib++) {
		int sumi0 = 0, sumi1 = 0;
		float a, b;

		for (j = 0; j < QK8_1 / 2; j++) {
			sumi0 += (x[ib].qs[j] & 0x0F) * y[ib].qs[j];
			sumi1 += (x[ib].qs[j] >> 4) * y[ib].qs[j + QK8_1 / 2];
		}
		a = (kern_h2f(x[ib].d) * kern_h2f(y[ib].d)) * (float)(sumi0 + sumi1);
		b = kern_h2f(x[ib].m) * kern_h2f(y[ib].s);
		sumf += a + b;
	}
	*s = sumf;
}

static void p_dot_q5_0(int64_t n, float *s, const void *vw, const void *vx)
{
	const struct blk_q5_0 *x = vw;
	const struct blk_q8_0 *y = vx;
	int64_t ib, nb = n / QK8_0;
	float sumf = 0;
	int j;

	for (ib = 0; ib < nb; ib++) {
		int sumi0 = 0, sumi1 = 0;
		uint32_t qh;

		memcpy(&qh, x[ib].qh, sizeof(qh));
		for (j = 0; j < QK8_0 / 2; j++) {
			const uint8_t xh0 = (uint8_t)(((qh & (1u << (j + 0))) >> (j + 0)) << 4);
			const uint8_t xh1 = (uint8_t)((qh & (1u << (j + 16))) >> (j + 12));
			const int x0 = (int8_t)(((x[ib].qs[j] & 0x0F) | xh0) - 16);
			const int x1 = (int8_t)(((x[ib].qs[j] >> 4) | xh1) - 16);

			sumi0 += x0 * y[ib].qs[j];
			sumi1 += x1 * y[ib].qs[j + QK8_0 / 2];
		}
		sumf += (kern_h2f(x[ib].d) * kern_h2f(y[ib].d)) * (float)(sumi0 + sumi1);
	}
	*s = sumf;
}

static void p_dot_q5_1(int64_t n, float *s, const void *vw, const void *vx)
{
	const struct blk_q5_1 *x = vw;
	const struct blk_q8_1 *y = vx;
	int64_t ib, nb = n / QK8_1;
	float sumf = 0;
	int j;

	for (ib = 0; ib < nb; ib++) {
		int sumi0 = 0, sumi1 = 0;
		uint32_t qh;
		float a, b;

		memcpy(&qh, x[ib].qh, sizeof(qh));
		for (j = 0; j < QK8_1 / 2; j++) {
			const uint8_t xh0 = (uint8_t)(((qh >> (j + 0)) << 4) & 0x10);
			const uint8_t xh1 = (uint8_t)((qh >> (j + 12)) & 0x10);
			const int x0 = (x[ib].qs[j] & 0xF) | xh0;
			const int x1 = (x[ib].qs[j] >> 4) | xh1;

			sumi0 += x0 * y[ib].qs[j];
			sumi1 += x1 * y[ib].qs[j + QK8_1 / 2];
		}
		a = (kern_h2f(x[ib].d) * kern_h2f(y[ib].d)) * (float)(sumi0 + sumi1);
		b = kern_h2f(x[ib].m) * kern_h2f(y[ib].s);
		sumf += a + b;
	}
	*s = sumf;
}

static void p_dot_q8_0(int64_t n, float *s, const void *vw, const void *vx)
{
	const struct blk_q8_0 *x = vw;
	const struct blk_q8_0 *y = vx;
	int64_t ib, nb = n / QK8_0;
	float sumf = 0;
	int j;

	for (ib = 0; ib < nb; ib++) {
		int sumi = 0;

		for (j = 0; j < QK8_0; j++)
			sumi += x[ib].qs[j] * y[ib].qs[j];
		sumf += (float)sumi * (kern_h2f(x[ib].d) * kern_h2f(y[ib].d));
	}
	*s = sumf;
}

/* The common tail of ggml's generic K-quant dots: aux8 holds the 256 quants of a block as int8,
 * scales[] one scale per 32 (sub = 32) or per 16 (sub = 16) of them; adds d * the eight lanes
 * of the scaled integer sums to sums[]. */
static void p_kq_accum(const int8_t *aux8, const int8_t *q8, const int *scales, int sub, float d,
		       float sums[8])
{
	int32_t aux32[8] = {0};
	int16_t aux16[8];
	int j, l, g;

	for (j = 0; j < QK_K / sub; j++) {
		const int32_t scale = scales[j];

		for (g = 0; g < sub / 8; g++, q8 += 8, aux8 += 8) {
			for (l = 0; l < 8; l++)
				aux16[l] = (int16_t)(q8[l] * aux8[l]);
			for (l = 0; l < 8; l++)
				aux32[l] += scale * aux16[l];
		}
	}
	for (l = 0; l < 8; l++)
		sums[l] += d * (float)aux32[l];
}

static void p_unpack_scales_k4(const uint8_t *sc12, int scales[8], int mins[8])
{
	int j;

	for (j = 0; j < 8; j++) {
		uint8_t sc, m;

		kern_scale_min_k4(j, sc12, &sc, &m);
		scales[j] = sc;
		mins[j] = m;
	}
}

static void p_dot_q4_K(int64_t n, float *s, const void *vw, const void *vx)
{
	const struct blk_q4_K *x = vw;
	const struct blk_q8_K *y = vx;
	int64_t i, nb = n / QK_K;
	float sums[8] = {0}, sumf = 0;
	int8_t aux8[QK_K];
	int j, l;

	for (i = 0; i < nb; i++) {
		const uint8_t *q4 = x[i].qs;
		int8_t *a = aux8;
		int scales[8], mins[8], sumi = 0;
		float dmin;

		for (j = 0; j < QK_K / 64; j++, q4 += 32) {
			for (l = 0; l < 32; l++)
				*a++ = (int8_t)(q4[l] & 0xF);
			for (l = 0; l < 32; l++)
				*a++ = (int8_t)(q4[l] >> 4);
		}
		p_unpack_scales_k4(x[i].scales, scales, mins);
		for (j = 0; j < QK_K / 16; j++)
			sumi += y[i].bsums[j] * mins[j / 2];
		p_kq_accum(aux8, y[i].qs, scales, 32, kern_h2f(x[i].d) * y[i].d, sums);
		dmin = kern_h2f(x[i].dmin) * y[i].d;
		sumf -= dmin * (float)sumi;
	}
	for (l = 0; l < 8; l++)
		sumf += sums[l];
	*s = sumf;
}

static void p_dot_q5_K(int64_t n, float *s, const void *vw, const void *vx)
{
	const struct blk_q5_K *x = vw;
	const struct blk_q8_K *y = vx;
	int64_t i, nb = n / QK_K;
	float sums[8] = {0}, sumf = 0;
	int8_t aux8[QK_K];
	int j, l;

	for (i = 0; i < nb; i++) {
		const uint8_t *q4 = x[i].qs, *hm = x[i].qh;
		int8_t *a = aux8;
		int scales[8], mins[8], sumi = 0;
		uint8_t m = 1;
		float dmin;

		for (j = 0; j < QK_K / 64; j++, q4 += 32) {
			for (l = 0; l < 32; l++)
				*a++ = (int8_t)((q4[l] & 0xF) + (hm[l] & m ? 16 : 0));
			m = (uint8_t)(m << 1);
			for (l = 0; l < 32; l++)
				*a++ = (int8_t)((q4[l] >> 4) + (hm[l] & m ? 16 : 0));
			m = (uint8_t)(m << 1);
		}
		p_unpack_scales_k4(x[i].scales, scales, mins);
		for (j = 0; j < QK_K / 16; j++)
			sumi += y[i].bsums[j] * mins[j / 2];
		p_kq_accum(aux8, y[i].qs, scales, 32, kern_h2f(x[i].d) * y[i].d, sums);
		dmin = kern_h2f(x[i].dmin) * y[i].d;
		sumf -= dmin * (float)sumi;
	}
	for (l = 0; l < 8; l++)
		sumf += sums[l];
	*s = sumf;
}

static void p_dot_q6_K(int64_t n, float *s, const void *vw, const void *vx)
{
	const struct blk_q6_K *x = vw;
	const struct blk_q8_K *y = vx;
	int64_t i, nb = n / QK_K;
	float sums[8] = {0}, sumf = 0;
	int8_t aux8[QK_K];
	int j, l;

	for (i = 0; i < nb; i++) {
		const uint8_t *q4 = x[i].ql, *qh = x[i].qh;
		int8_t *a = aux8;
		int scales[16];

		for (j = 0; j < QK_K; j += 128, a += 128, q4 += 64, qh += 32) {
			for (l = 0; l < 32; l++) {
				a[l + 0] =
				    (int8_t)(((q4[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
				a[l + 32] =
				    (int8_t)(((q4[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
				a[l + 64] =
				    (int8_t)(((q4[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
				a[l + 96] =
				    (int8_t)(((q4[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
			}
		}
		for (j = 0; j < 16; j++)
			scales[j] = x[i].scales[j];
		p_kq_accum(aux8, y[i].qs, scales, 16, kern_h2f(x[i].d) * y[i].d, sums);
	}
	for (l = 0; l < 8; l++)
		sumf += sums[l];
	*s = sumf;
}

/* Portable tiles: each element is one call of the dot above. */
#define p_PORTABLE_TILE(name, dot)                                                                 \
	static void name(int64_t k, const void *w, size_t wrb, const void *x, size_t xrb,          \
			 float *out, int64_t ld, int nr, int nc)                                   \
	{                                                                                          \
		int r, c;                                                                          \
                                                                                                   \
		for (c = 0; c < nc; c++)                                                           \
			for (r = 0; r < nr; r++)                                                   \
				dot(k, &out[c * ld + r], (const char *)w + (size_t)r * wrb,        \
				    (const char *)x + (size_t)c * xrb);                            \
	}

p_PORTABLE_TILE(p_tile_f32, p_dot_f32) p_PORTABLE_TILE(p_tile_f16, p_dot_f16)
    p_PORTABLE_TILE(p_tile_bf16, p_dot_bf16) p_PORTABLE_TILE(p_tile_q4_0, p_dot_q4_0)
	p_PORTABLE_TILE(p_tile_q4_1, p_dot_q4_1) p_PORTABLE_TILE(p_tile_q5_0, p_dot_q5_0)
	    p_PORTABLE_TILE(p_tile_q5_1, p_dot_q5_1) p_PORTABLE_TILE(p_tile_q8_0, p_dot_q8_0)
		p_PORTABLE_TILE(p_tile_q4_K, p_dot_q4_K) p_PORTABLE_TILE(p_tile_q5_K, p_dot_q5_K)
		    p_PORTABLE_TILE(p_tile_q6_K, p_dot_q6_K)

			void kern_ops_portable(struct kern_ops tab[GGUF_GGML_TYPE_COUNT])
{
	tab[GGUF_GGML_F32] = (struct kern_ops){.tile = p_tile_f32, .dot = p_dot_f32};
	tab[GGUF_GGML_F16] = (struct kern_ops){.tile = p_tile_f16, .dot = p_dot_f16};
	tab[GGUF_GGML_BF16] = (struct kern_ops){.tile = p_tile_bf16, .dot = p_dot_bf16};
	tab[GGUF_GGML_Q4_0] = (struct kern_ops){.tile = p_tile_q4_0, .dot = p_dot_q4_0};
	tab[GGUF_GGML_Q4_1] = (struct kern_ops){.tile = p_tile_q4_1, .dot = p_dot_q4_1};
	tab[GGUF_GGML_Q5_0] = (struct kern_ops){.tile = p_tile_q5_0, .dot = p_dot_q5_0};
	tab[GGUF_GGML_Q5_1] = (struct kern_ops){.tile = p_tile_q5_1, .dot = p_dot_q5_1};
	tab[GGUF_GGML_Q8_0] = (struct kern_ops){.tile = p_tile_q8_0, .dot = p_dot_q8_0};
	tab[GGUF_GGML_Q4_K] = (struct kern_ops){.tile = p_tile_q4_K, .dot = p_dot_q4_K};
	tab[GGUF_GGML_Q5_K] = (struct kern_ops){.tile = p_tile_q5_K, .dot = p_dot_q5_K};
	tab[GGUF_GGML_Q6_K] = (struct kern_ops){.tile = p_tile_q6_K, .dot = p_dot_q6_K};
}
