/*
 * kern_quant.c — activation quantization (F32 copy, F16, BF16, Q8_0, Q8_1, Q8_K) giving the
 * same bytes as ggml's reference quantizers, and dequantization of every supported block format,
 * with ggml's arithmetic.
 *
 * Owns: conversions between floats and ggml rows. Never: allocates, or reads or writes past the
 * n elements (n / block size blocks) it is given.
 */
#include <math.h>
#include <string.h>

#include "infer/kern_impl.h"
#include "infer/kernels.h"

#define KMAX(a, b) ((a) > (b) ? (a) : (b))

/* ggml's nearest_int: round half to even through the 1.5 * 2^23 trick (|f| <= 2^22). */
static inline int nearest_int(float fval)
{
	float val = fval + 12582912.f;
	int i;

	memcpy(&i, &val, sizeof(int));
	return (i & 0x007fffff) - 0x00400000;
}

static void quantize_q8_0(const float *x, struct blk_q8_0 *y, int64_t n)
{
	int64_t i, nb = n / QK8_0;
	int j;

	for (i = 0; i < nb; i++, x += QK8_0) {
		float amax = 0.0f, d, id;

		for (j = 0; j < QK8_0; j++)
			amax = KMAX(amax, fabsf(x[j]));
		d = amax / ((1 << 7) - 1);
		id = d ? 1.0f / d : 0.0f;
		y[i].d = kern_fp32_to_fp16(d);
		for (j = 0; j < QK8_0; j++)
			y[i].qs[j] = (int8_t)kern_round_away(x[j] * id);
	}
}

static void quantize_q8_1(const float *x, struct blk_q8_1 *y, int64_t n)
{
	int64_t i, nb = n / QK8_1;
	int j;

	for (i = 0; i < nb; i++, x += QK8_1) {
		float amax = 0.0f, d, id;
		int sum = 0;

		for (j = 0; j < QK8_1; j++)
			amax = KMAX(amax, fabsf(x[j]));
		d = amax / ((1 << 7) - 1);
		id = d ? 1.0f / d : 0.0f;
		y[i].d = kern_fp32_to_fp16(d);
		for (j = 0; j < QK8_1 / 2; j++) {
			y[i].qs[j] = (int8_t)kern_round_away(x[j] * id);
			y[i].qs[QK8_1 / 2 + j] = (int8_t)kern_round_away(x[QK8_1 / 2 + j] * id);
			sum += y[i].qs[j] + y[i].qs[QK8_1 / 2 + j];
		}
		y[i].s = kern_fp32_to_fp16((float)sum * d);
	}
}

/* ggml's quantize_row_q8_K_ref: scale -127/max of the largest magnitude, nearest_int, bsums.
 * (ggml leaves bsums unwritten for an all-zero block; they are zeroed here.) */
static void quantize_q8_K(const float *x, struct blk_q8_K *y, int64_t n)
{
	int64_t i, nb = n / QK_K;
	int j, l;

	for (i = 0; i < nb; i++, x += QK_K) {
		float max = 0, amax = 0, iscale;

		for (j = 0; j < QK_K; j++) {
			float ax = fabsf(x[j]);

			if (ax > amax) {
				amax = ax;
				max = x[j];
			}
		}
		if (!amax) {
			memset(&y[i], 0, sizeof(y[i]));
			continue;
		}
		iscale = -127.f / max;
		for (j = 0; j < QK_K; j++) {
			int v = nearest_int(iscale * x[j]);

			y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
		}
		for (j = 0; j < QK_K / 16; j++) {
			int sum = 0;

			for (l = 0; l < 16; l++)
				sum += y[i].qs[j * 16 + l];
			y[i].bsums[j] = (int16_t)sum;
		}
		y[i].d = 1 / iscale;
	}
}

void kern_quantize_row_isa(enum kern_isa isa, uint32_t type, const float *x, void *y, int64_t n)
{
	int64_t i;

	if (isa >= KERN_ISA_AVX512 && kern_quantize_row_avx512(type, x, y, n))
		return;
	switch (type) {
	case GGUF_GGML_F32:
		memcpy(y, x, (size_t)n * sizeof(float));
		break;
	case GGUF_GGML_F16:
		for (i = 0; i < n; i++)
			((uint16_t *)y)[i] = kern_fp32_to_fp16(x[i]);
		break;
	case GGUF_GGML_BF16:
		for (i = 0; i < n; i++)
			((uint16_t *)y)[i] = kern_fp32_to_bf16(x[i]);
		break;
	case GGUF_GGML_Q8_0:
		quantize_q8_0(x, y, n);
		break;
	case GGUF_GGML_Q8_1:
		quantize_q8_1(x, y, n);
		break;
	case GGUF_GGML_Q8_K:
		quantize_q8_K(x, y, n);
		break;
	default:
		break;
	}
}

void kern_quantize_row(uint32_t type, const float *x, void *y, int64_t n)
{
	kern_quantize_row_isa(kern_active_isa(), type, x, y, n);
}

/* ---- dequantization --------------------------------------------------------------------- */

static void dequant_q4_0(const struct blk_q4_0 *x, float *y, int64_t nb)
{
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, y += QK4_0) {
		const float d = kern_h2f(x[i].d);

		for (j = 0; j < QK4_0 / 2; j++) {
			y[j] = (float)((x[i].qs[j] & 0x0F) - 8) * d;
			y[j + QK4_0 / 2] = (float)((x[i].qs[j] >> 4) - 8) * d;
		}
	}
}

static void dequant_q4_1(const struct blk_q4_1 *x, float *y, int64_t nb)
{
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, y += QK4_1) {
		const float d = kern_h2f(x[i].d), m = kern_h2f(x[i].m);

		for (j = 0; j < QK4_1 / 2; j++) {
			float a = (float)(x[i].qs[j] & 0x0F) * d, b = (float)(x[i].qs[j] >> 4) * d;

			y[j] = a + m;
			y[j + QK4_1 / 2] = b + m;
		}
	}
}

static void dequant_q5_0(const struct blk_q5_0 *x, float *y, int64_t nb)
{
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, y += QK5_0) {
		const float d = kern_h2f(x[i].d);
		uint32_t qh;

		memcpy(&qh, x[i].qh, 4);
		for (j = 0; j < QK5_0 / 2; j++) {
			const uint8_t xh0 = (uint8_t)(((qh >> (j + 0)) << 4) & 0x10);
			const uint8_t xh1 = (uint8_t)((qh >> (j + 12)) & 0x10);

			y[j] = (float)(((x[i].qs[j] & 0x0F) | xh0) - 16) * d;
			y[j + QK5_0 / 2] = (float)(((x[i].qs[j] >> 4) | xh1) - 16) * d;
		}
	}
}

static void dequant_q5_1(const struct blk_q5_1 *x, float *y, int64_t nb)
{
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, y += QK5_1) {
		const float d = kern_h2f(x[i].d), m = kern_h2f(x[i].m);
		uint32_t qh;

		memcpy(&qh, x[i].qh, 4);
		for (j = 0; j < QK5_1 / 2; j++) {
			const uint8_t xh0 = (uint8_t)(((qh >> (j + 0)) << 4) & 0x10);
			const uint8_t xh1 = (uint8_t)((qh >> (j + 12)) & 0x10);
			float a = (float)((x[i].qs[j] & 0x0F) | xh0) * d;
			float b = (float)((x[i].qs[j] >> 4) | xh1) * d;

			y[j] = a + m;
			y[j + QK5_1 / 2] = b + m;
		}
	}
}

static void dequant_q8_0(const struct blk_q8_0 *x, float *y, int64_t nb)
{
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, y += QK8_0) {
		const float d = kern_h2f(x[i].d);

		for (j = 0; j < QK8_0; j++)
			y[j] = (float)x[i].qs[j] * d;
	}
}

static void dequant_q8_1(const struct blk_q8_1 *x, float *y, int64_t nb)
{
	int64_t i;
	int j;

	for (i = 0; i < nb; i++, y += QK8_1) {
		const float d = kern_h2f(x[i].d);

		for (j = 0; j < QK8_1; j++)
			y[j] = (float)x[i].qs[j] * d;
	}
}

static void dequant_q4_K(const struct blk_q4_K *x, float *y, int64_t nb)
{
	int64_t i;
	int j, l, is;

	for (i = 0; i < nb; i++) {
		const uint8_t *q = x[i].qs;
		const float d = kern_h2f(x[i].d), min = kern_h2f(x[i].dmin);

		for (j = 0, is = 0; j < QK_K; j += 64, is += 2, q += 32) {
			uint8_t sc, m;
			float d1, m1, d2, m2;

			kern_scale_min_k4(is + 0, x[i].scales, &sc, &m);
			d1 = d * sc;
			m1 = min * m;
			kern_scale_min_k4(is + 1, x[i].scales, &sc, &m);
			d2 = d * sc;
			m2 = min * m;
			for (l = 0; l < 32; l++) {
				float a = d1 * (float)(q[l] & 0xF);
				*y++ = a - m1;
			}
			for (l = 0; l < 32; l++) {
				float a = d2 * (float)(q[l] >> 4);
				*y++ = a - m2;
			}
		}
	}
}

static void dequant_q5_K(const struct blk_q5_K *x, float *y, int64_t nb)
{
	int64_t i;
	int j, l, is;

	for (i = 0; i < nb; i++) {
		const uint8_t *ql = x[i].qs, *qh = x[i].qh;
		const float d = kern_h2f(x[i].d), min = kern_h2f(x[i].dmin);
		uint8_t u1 = 1, u2 = 2;

		for (j = 0, is = 0; j < QK_K; j += 64, is += 2, ql += 32) {
			uint8_t sc, m;
			float d1, m1, d2, m2;

			kern_scale_min_k4(is + 0, x[i].scales, &sc, &m);
			d1 = d * sc;
			m1 = min * m;
			kern_scale_min_k4(is + 1, x[i].scales, &sc, &m);
			d2 = d * sc;
			m2 = min * m;
			for (l = 0; l < 32; l++) {
				float a = d1 * (float)((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0));
				*y++ = a - m1;
			}
			for (l = 0; l < 32; l++) {
				float a = d2 * (float)((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0));
				*y++ = a - m2;
			}
			u1 = (uint8_t)(u1 << 2);
			u2 = (uint8_t)(u2 << 2);
		}
	}
}

static void dequant_q6_K(const struct blk_q6_K *x, float *y, int64_t nb)
{
	int64_t i;
	int n, l;

	for (i = 0; i < nb; i++) {
		const float d = kern_h2f(x[i].d);
		const uint8_t *ql = x[i].ql, *qh = x[i].qh;
		const int8_t *sc = x[i].scales;

		for (n = 0; n < QK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
			for (l = 0; l < 32; l++) {
				int is = l / 16;
				const int q1 =
				    (int8_t)((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
				const int q2 =
				    (int8_t)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
				const int q3 =
				    (int8_t)((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
				const int q4 =
				    (int8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;

				y[l + 0] = d * sc[is + 0] * (float)q1;
				y[l + 32] = d * sc[is + 2] * (float)q2;
				y[l + 64] = d * sc[is + 4] * (float)q3;
				y[l + 96] = d * sc[is + 6] * (float)q4;
			}
		}
	}
}

static void dequant_q8_K(const struct blk_q8_K *x, float *y, int64_t nb)
{
	int64_t i;
	int j;

	for (i = 0; i < nb; i++)
		for (j = 0; j < QK_K; j++)
			*y++ = x[i].d * (float)x[i].qs[j];
}

void kern_dequantize_row(uint32_t type, const void *x, float *y, int64_t n)
{
	int64_t i;

	switch (type) {
	case GGUF_GGML_F32:
		memcpy(y, x, (size_t)n * sizeof(float));
		break;
	case GGUF_GGML_F16:
		for (i = 0; i < n; i++)
			y[i] = kern_h2f(((const uint16_t *)x)[i]);
		break;
	case GGUF_GGML_BF16:
		for (i = 0; i < n; i++)
			y[i] = kern_bf16_to_fp32(((const uint16_t *)x)[i]);
		break;
	case GGUF_GGML_Q4_0:
		dequant_q4_0(x, y, n / QK4_0);
		break;
	case GGUF_GGML_Q4_1:
		dequant_q4_1(x, y, n / QK4_1);
		break;
	case GGUF_GGML_Q5_0:
		dequant_q5_0(x, y, n / QK5_0);
		break;
	case GGUF_GGML_Q5_1:
		dequant_q5_1(x, y, n / QK5_1);
		break;
	case GGUF_GGML_Q8_0:
		dequant_q8_0(x, y, n / QK8_0);
		break;
	case GGUF_GGML_Q8_1:
		dequant_q8_1(x, y, n / QK8_1);
		break;
	case GGUF_GGML_Q4_K:
		dequant_q4_K(x, y, n / QK_K);
		break;
	case GGUF_GGML_Q5_K:
		dequant_q5_K(x, y, n / QK_K);
		break;
	case GGUF_GGML_Q6_K:
		dequant_q6_K(x, y, n / QK_K);
		break;
	case GGUF_GGML_Q8_K:
		dequant_q8_K(x, y, n / QK_K);
		break;
	default:
		break;
	}
}
