/*
 * test_kernels.c — the numeric kernels: fp16/bf16 conversion edge cases (and every fp16 value
 * round trip, and F16C agreement), quantize_row bytes against values worked out with ggml's
 * reference algorithms, dequantization of hand-made blocks, every dot product (portable against
 * a double-precision dequantized reference, every ISA against portable), and kern_mul_mat giving
 * the same bits for any row split, batch size or tile shape.
 * Never: needs reference data or writes files; ISAs the CPU lacks are skipped (and said so).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "infer/kern_impl.h"
#include "infer/kernels.h"

#include "../lib/testutil.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	return test_rng(&rng_state);
}

static float frand(float lo, float hi)
{
	return test_frand(&rng_state, lo, hi);
}

static uint32_t f2u(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	return u;
}

static float u2f(uint32_t u)
{
	float f;

	memcpy(&f, &u, 4);
	return f;
}

static const uint32_t weight_types[] = {
    GGUF_GGML_F32,  GGUF_GGML_F16,  GGUF_GGML_BF16, GGUF_GGML_Q8_0, GGUF_GGML_Q4_0, GGUF_GGML_Q4_1,
    GGUF_GGML_Q5_0, GGUF_GGML_Q5_1, GGUF_GGML_Q4_K, GGUF_GGML_Q5_K, GGUF_GGML_Q6_K,
};
#define N_WTYPES (sizeof(weight_types) / sizeof(weight_types[0]))

static uint16_t rand_scale(float lo, float hi)
{
	float v = frand(lo, hi);

	return kern_fp32_to_fp16(rnd() & 1 ? v : -v);
}

/* A random row of a weight type: random quants, sane scales. */
static void *rand_row(uint32_t t, int64_t k)
{
	const struct gguf_type_info *ti = gguf_type_info(t);
	size_t sz = kern_row_size(t, k), nb = (size_t)k / ti->block_size, i;
	uint8_t *p = malloc(sz);
	int64_t j;

	assert_non_null(p);
	for (i = 0; i < sz; i++)
		p[i] = (uint8_t)rnd();
	switch (t) {
	case GGUF_GGML_F32:
		for (j = 0; j < k; j++)
			((float *)p)[j] = frand(-1, 1);
		break;
	case GGUF_GGML_F16:
		for (j = 0; j < k; j++)
			((uint16_t *)p)[j] = kern_fp32_to_fp16(frand(-1, 1));
		break;
	case GGUF_GGML_BF16:
		for (j = 0; j < k; j++)
			((uint16_t *)p)[j] = kern_fp32_to_bf16(frand(-1, 1));
		break;
	default:
		for (i = 0; i < nb; i++) {
			uint8_t *b = p + i * ti->type_size;
			uint16_t d = rand_scale(0.001f, 0.02f), m = rand_scale(0.001f, 0.02f);

			if (t == GGUF_GGML_Q6_K) {
				memcpy(b + 208, &d, 2);
			} else {
				memcpy(b, &d, 2);
				if (t == GGUF_GGML_Q4_1 || t == GGUF_GGML_Q5_1 ||
				    t == GGUF_GGML_Q4_K || t == GGUF_GGML_Q5_K)
					memcpy(b + 2, &m, 2);
			}
		}
		break;
	}
	return p;
}

/* A random activation row already converted to the vec-dot type of t; also its floats. */
static void *rand_act(uint32_t t, int64_t k, float *xf)
{
	uint32_t vt = kern_vec_dot_type(t);
	void *y = malloc(kern_row_size(vt, k));
	int64_t j;

	assert_non_null(y);
	for (j = 0; j < k; j++)
		xf[j] = frand(-2, 2) * (j % 7 == 0 ? 3.0f : 1.0f);
	kern_quantize_row(vt, xf, y, k);
	return y;
}

static int64_t test_k(uint32_t t, int variant)
{
	const struct gguf_type_info *ti = gguf_type_info(t);

	if (ti->block_size == 1)
		return variant ? 803 : 1024;
	if (ti->block_size == 32)
		return variant ? 32 * 25 : 32 * 64;
	return variant ? 256 * 3 : 256 * 8;
}

/* ---- fp16 / bf16 ---------------------------------------------------------------------------- */

static void test_fp16_edges(void **state)
{
	static const struct {
		uint32_t f;
		uint16_t h;
	} cases[] = {
	    {0x00000000, 0x0000}, /* 0 */
	    {0x80000000, 0x8000}, /* -0 */
	    {0x3f800000, 0x3c00}, /* 1 */
	    {0xbf800000, 0xbc00}, /* -1 */
	    {0x477fe000, 0x7bff}, /* 65504, max */
	    {0x477fefff, 0x7bff}, /* just under the halfway point to 65536 */
	    {0x477ff000, 0x7c00}, /* 65520: halfway, rounds to even = inf */
	    {0x7f800000, 0x7c00}, /* inf */
	    {0xff800000, 0xfc00}, /* -inf */
	    {0x7f7fffff, 0x7c00}, /* FLT_MAX overflows */
	    {0x33800000, 0x0001}, /* 2^-24, smallest subnormal */
	    {0x33000000, 0x0000}, /* 2^-25: halfway, to even = 0 */
	    {0x33000001, 0x0001}, /* just over 2^-25 */
	    {0x33c00000, 0x0002}, /* 1.5 * 2^-24: halfway, to even = 2 */
	    {0x38800000, 0x0400}, /* 2^-14, smallest normal */
	    {0x387fc000, 0x03ff}, /* largest subnormal */
	    {0x3f801000, 0x3c00}, /* 1 + 2^-11: halfway, to even */
	    {0x3f803000, 0x3c02}, /* 1 + 3 * 2^-11: halfway, to even (up) */
	    {0x3f801001, 0x3c01}, /* just over halfway */
	    {0x3eaaaaab, 0x3555}, /* 1/3 */
	    {0x7fc00000, 0x7e00}, /* quiet NaN -> canonical */
	    {0xffc00001, 0xfe00}, /* negative NaN keeps its sign */
	    {0x7f800001, 0x7e00}, /* signalling NaN -> quiet */
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t got = kern_fp32_to_fp16(u2f(cases[i].f));

		if (got != cases[i].h)
			printf("fp32 %08x: got %04x want %04x\n", cases[i].f, got, cases[i].h);
		assert_int_equal(got, cases[i].h);
	}
	assert_true(kern_fp16_to_fp32(0x0001) == 0x1p-24f);
	assert_true(kern_fp16_to_fp32(0x03ff) == 1023 * 0x1p-24f);
	assert_true(kern_fp16_to_fp32(0x7bff) == 65504.0f);
	assert_true(kern_fp16_to_fp32(0xc000) == -2.0f);
	assert_true(isinf(kern_fp16_to_fp32(0x7c00)));
	assert_true(isnan(kern_fp16_to_fp32(0x7e00)));
	assert_int_equal(f2u(kern_fp16_to_fp32(0x8000)), 0x80000000u);
}

static void test_fp16_round_trip_all(void **state)
{
	uint32_t h;
	(void)state;

	for (h = 0; h < 65536; h++) {
		float f = kern_fp16_to_fp32((uint16_t)h);

		if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) {
			assert_true(isnan(f));
			assert_int_equal(kern_fp32_to_fp16(f) & 0x8000, h & 0x8000);
			continue;
		}
		assert_int_equal(kern_fp32_to_fp16(f), h);
		assert_int_equal(kern_fp32_to_fp16(f) & 0xffff, h);
	}
}

__attribute__((target("f16c"))) static uint16_t hw_f2h(float f)
{
	return (uint16_t)_cvtss_sh(f, 0);
}

__attribute__((target("f16c"))) static float hw_h2f(uint16_t h)
{
	return _cvtsh_ss(h);
}

/* Random bit patterns (all exponents) agree with the F16C instruction, NaN aside. */
static void test_fp16_vs_f16c(void **state)
{
	int i;
	(void)state;

	if (!kern_cpu_has(KERN_ISA_AVX2)) {
		printf("SKIP: no F16C\n");
		return;
	}
	for (i = 0; i < 2000000; i++) {
		uint32_t u = (uint32_t)rnd();
		float f = u2f(i < 1000000 ? u : (u & 0x87ffffffu) | 0x30000000u);

		if (isnan(f))
			continue;
		assert_int_equal(kern_fp32_to_fp16(f), hw_f2h(f));
	}
	for (i = 0; i < 65536; i++) {
		float a = kern_fp16_to_fp32((uint16_t)i), b = hw_h2f((uint16_t)i);

		if (isnan(a)) {
			assert_true(isnan(b));
			continue;
		}
		assert_int_equal(f2u(a), f2u(b));
	}
}

static void test_bf16_edges(void **state)
{
	static const struct {
		uint32_t f;
		uint16_t h;
	} cases[] = {
	    {0x3f800000, 0x3f80}, {0xbf800000, 0xbf80}, /* +-1 */
	    {0x3f808000, 0x3f80},			/* halfway, to even (down) */
	    {0x3f818000, 0x3f82},			/* halfway, to even (up) */
	    {0x3f808001, 0x3f81},			/* over halfway */
	    {0x3f807fff, 0x3f80},			/* under halfway */
	    {0x7f800000, 0x7f80}, {0xff800000, 0xff80}, /* +-inf */
	    {0x7f7fffff, 0x7f80},			/* FLT_MAX rounds to inf */
	    {0x7fc00000, 0x7fc0},			/* qNaN */
	    {0x7f800001, 0x7fc0},			/* sNaN -> quiet */
	    {0xff812345, 0xffc1},			/* NaN payload, sign kept */
	    {0x00008000, 0x0000},			/* subnormal halfway, to even */
	    {0x00018000, 0x0002},			/* subnormal halfway, up */
	    {0x80000000, 0x8000},			/* -0 */
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t got = kern_fp32_to_bf16(u2f(cases[i].f));

		if (got != cases[i].h)
			printf("fp32 %08x: got %04x want %04x\n", cases[i].f, got, cases[i].h);
		assert_int_equal(got, cases[i].h);
	}
	for (i = 0; i < 65536; i++) {
		float f = kern_bf16_to_fp32((uint16_t)i);

		assert_int_equal(f2u(f), (uint32_t)i << 16);
		if (!isnan(f))
			assert_int_equal(kern_fp32_to_bf16(f), i);
	}
}

/* ---- quantize_row: bytes worked out with ggml's reference algorithms ------------------------- */

static void q80_input(float *x)
{
	int j;

	for (j = 0; j < 32; j++) {
		x[j] = (float)(j - 16) / 4;
		x[32 + j] = (float)(j * 7 % 13 - 6) * 0.3f;
	}
}

static const int8_t q80_want[2][32] = {
    {-127, -119, -111, -103, -95, -87, -79, -71, -64, -56, -48, -40, -32, -24, -16, -8,
     0,	   8,	 16,   24,   32,  40,  48,  56,	 64,  71,  79,	87,  95,  103, 111, 119},
    {-127, 21,	-106, 42,  -85, 63,  -63, 85,  -42, 106, -21,  127, 0,	  -127, 21,  -106,
     42,   -85, 63,   -63, 85,	-42, 106, -21, 127, 0,	 -127, 21,  -106, 42,	-85, 63},
};

static void test_quantize_q8_0_bytes(void **state)
{
	float x[96];
	struct blk_q8_0 y[3];
	(void)state;

	q80_input(x);
	memset(x + 64, 0, 32 * sizeof(float)); /* an all-zero block: d = 0, qs = 0 */
	assert_int_equal(kern_row_size(GGUF_GGML_Q8_0, 96), sizeof(y));
	kern_quantize_row(GGUF_GGML_Q8_0, x, y, 96);
	assert_int_equal(y[0].d, 0x2808);	       /* fp16(4 / 127) */
	assert_int_equal(y[1].d, 0x2342);	       /* fp16(1.8 / 127) */
	assert_memory_equal(y[0].qs, q80_want[0], 32); /* -2.0 and 2.0 are ties: away from 0 */
	assert_memory_equal(y[1].qs, q80_want[1], 32);
	assert_int_equal(y[2].d, 0);
	for (int j = 0; j < 32; j++)
		assert_int_equal(y[2].qs[j], 0);
}

/* kern_quantize_row's Q8_0 (whichever ISA it runs on) against ggml's reference formula with
 * libm's roundf: random blocks of many scales, all-zero blocks, and blocks of exact ties. */
static void test_quantize_q8_0_matches_reference(void **state)
{
	enum { NB = 600 };
	float *x = malloc(NB * 32 * sizeof(float));
	struct blk_q8_0 *y = malloc(NB * sizeof(*y));
	int64_t i;
	int j;
	(void)state;

	assert_non_null(x);
	assert_non_null(y);
	for (i = 0; i < NB; i++) {
		const float scale = ldexpf(1.0f, (int)(i % 40) - 20);

		for (j = 0; j < 32; j++) {
			float *v = &x[i * 32 + j];

			if (i % 7 == 3)
				*v = 0.0f;
			else if (i % 7 == 5) /* amax 127: d = 1, every k + 0.5 a tie */
				*v = j == 0 ? 127.0f : (float)(j - 16) + 0.5f;
			else
				*v = frand(-1, 1) * scale;
		}
	}
	kern_quantize_row(GGUF_GGML_Q8_0, x, y, NB * 32);
	for (i = 0; i < NB; i++) {
		const float *xb = &x[i * 32];
		float amax = 0.0f, d, id;

		for (j = 0; j < 32; j++)
			amax = fmaxf(amax, fabsf(xb[j]));
		d = amax / 127;
		id = d ? 1.0f / d : 0.0f;
		assert_int_equal(y[i].d, kern_fp32_to_fp16(d));
		for (j = 0; j < 32; j++)
			assert_int_equal(y[i].qs[j], (int8_t)roundf(xb[j] * id));
	}
	free(x);
	free(y);
}

/* Every ISA's activation conversions give the portable bytes: random rows of many scales,
 * all-zero blocks, blocks of exact ties, blocks holding both +amax and -amax (Q8_K takes the
 * first one's sign), and for F16 every special value (NaN payloads, infinities, overflow,
 * subnormals, -0) and every tail length. */
static void test_quantize_isa_vs_portable(void **state)
{
	static const uint32_t types[] = {GGUF_GGML_F32,	 GGUF_GGML_F16,	 GGUF_GGML_BF16,
					 GGUF_GGML_Q8_0, GGUF_GGML_Q8_1, GGUF_GGML_Q8_K};
	static const uint32_t specials[] = {0x7fc00000u, 0xffc00001u, 0x7f800001u, 0x7f800000u,
					    0xff800000u, 0x477fe000u, 0x477ff000u, 0x47800000u,
					    0x00000001u, 0x33800000u, 0x387fc000u, 0x80000000u,
					    0x7fa00000u, 0xffbfe000u, 0x7fc02000u};
	enum { N = 4096 };
	float *x = malloc(N * sizeof(float));
	unsigned char *yp = malloc(2 * N * sizeof(float)), *yi = malloc(2 * N * sizeof(float));
	size_t t;
	int isa, i, n;
	(void)state;

	assert_non_null(x);
	assert_non_null(yp);
	assert_non_null(yi);
	for (isa = KERN_ISA_AVX2; isa < KERN_ISA_COUNT; isa++) {
		if (!kern_cpu_has((enum kern_isa)isa))
			continue;
		for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			const int64_t bs = types[t] == GGUF_GGML_Q8_K	? 256
					   : types[t] == GGUF_GGML_Q8_0 ? 32
					   : types[t] == GGUF_GGML_Q8_1 ? 32
									: 1;

			for (i = 0; i < N; i++) {
				const int blk = (int)(i / 32), j = i % 32;
				const float scale = ldexpf(1.0f, blk % 40 - 20);

				if (blk % 7 == 3)
					x[i] = 0.0f;
				else if (blk % 7 == 5)
					x[i] = j == 0 ? 127.0f : (float)(j - 16) + 0.5f;
				else if (blk % 7 == 6)
					x[i] = j == 9 ? -2.0f * scale : j == 20 ? 2.0f * scale
										 : frand(-1, 1) * scale;
				else
					x[i] = frand(-1, 1) * scale;
			}
			for (n = (int)bs; n <= N; n += n < 64 * bs ? (int)bs : 1000 * (int)bs) {
				const size_t rb = kern_row_size(types[t], n);

				memset(yp, 0xa5, rb + 16);
				memset(yi, 0xa5, rb + 16);
				kern_quantize_row_isa(KERN_ISA_PORTABLE, types[t], x, yp, n);
				kern_quantize_row_isa((enum kern_isa)isa, types[t], x, yi, n);
				if (memcmp(yp, yi, rb + 16) != 0)
					fail_msg("%s type %u n %d differs from portable",
						 kern_isa_name((enum kern_isa)isa), types[t], n);
			}
		}
		/* F16 special values, at every position of a 16-lane vector and its tail */
		for (i = 0; i < 64; i++)
			x[i] = u2f(specials[(size_t)i % (sizeof(specials) / sizeof(specials[0]))] ^
				   (i & 16 ? 0x80000000u : 0));
		for (n = 1; n <= 64; n++) {
			memset(yp, 0xa5, 2 * 64 + 16);
			memset(yi, 0xa5, 2 * 64 + 16);
			kern_quantize_row_isa(KERN_ISA_PORTABLE, GGUF_GGML_F16, x, yp, n);
			kern_quantize_row_isa((enum kern_isa)isa, GGUF_GGML_F16, x, yi, n);
			if (memcmp(yp, yi, 2 * 64 + 16) != 0)
				fail_msg("%s F16 specials n %d differ from portable",
					 kern_isa_name((enum kern_isa)isa), n);
		}
	}
	free(x);
	free(yp);
	free(yi);
}

/* kern_round_away is roundf: every tie k + 0.5 in [-129.5, 130.5] and its neighbours, and a
 * stride through the bit patterns of all floats of magnitude below 2^24, both signs. */
static void test_round_away_is_roundf(void **state)
{
	uint32_t u;
	int k;
	(void)state;

	for (k = -130; k <= 130; k++) {
		const float t = (float)k + 0.5f;

		assert_int_equal(kern_round_away(t), (int)roundf(t));
		assert_int_equal(kern_round_away(nextafterf(t, 0)), (int)roundf(nextafterf(t, 0)));
		assert_int_equal(kern_round_away(nextafterf(t, 1000)),
				 (int)roundf(nextafterf(t, 1000)));
		assert_int_equal(kern_round_away(nextafterf(t, -1000)),
				 (int)roundf(nextafterf(t, -1000)));
	}
	for (u = 0; u < 0x4b800000u; u += 4099) { /* |v| < 2^24 */
		float v;

		memcpy(&v, &u, 4);
		assert_int_equal(kern_round_away(v), (int)roundf(v));
		assert_int_equal(kern_round_away(-v), (int)roundf(-v));
	}
}

static void test_quantize_q8_1_bytes(void **state)
{
	float x[64];
	struct blk_q8_1 y[2];
	(void)state;

	q80_input(x);
	kern_quantize_row(GGUF_GGML_Q8_1, x, y, 64);
	assert_int_equal(y[0].d, 0x2808);
	assert_int_equal(y[1].d, 0x2342);
	assert_memory_equal(y[0].qs, q80_want[0], 32);
	assert_memory_equal(y[1].qs, q80_want[1], 32);
	assert_int_equal(y[0].s, 0xc400); /* fp16(-128 * d) */
	assert_int_equal(y[1].s, 0xc171);
}

static void test_quantize_q8_K_bytes(void **state)
{
	static const int8_t want_qs[32] = {-127, -33, 61, -102, -8, 86,	 -76, 18, 112, -51, 43,
					   -119, -25, 69, -94,	0,  94,	 -69, 25, 119, -43, 51,
					   -112, -18, 76, -86,	8,  102, -61, 33, 127, -36};
	static const int16_t want_bsums[16] = {-246, 210, -103, 98,  44,   -11, -69, -124,
					       76,   19,  -35,	166, -148, 54,	-3,  -59};
	float x[512];
	struct blk_q8_K y[2];
	int j;
	(void)state;

	for (j = 0; j < 256; j++)
		x[j] = (float)((j * 37) % 101 - 50) / 8;
	memset(x + 256, 0, 256 * sizeof(float));
	memset(y, 0x55, sizeof(y));
	kern_quantize_row(GGUF_GGML_Q8_K, x, y, 512);
	/* max is -6.25: iscale = 127 / 6.25, d = 1 / iscale; four values are .5 ties (to even) */
	assert_int_equal(f2u(y[0].d), 0x3d499326u);
	assert_memory_equal(y[0].qs, want_qs, 32);
	assert_memory_equal(y[0].bsums, want_bsums, sizeof(want_bsums));
	assert_true(y[1].d == 0.0f);
	for (j = 0; j < 256; j++)
		assert_int_equal(y[1].qs[j], 0);
	for (j = 0; j < 16; j++)
		assert_int_equal(y[1].bsums[j], 0);
}

static void test_quantize_float_types(void **state)
{
	float x[5] = {1.0f, -2.5f, 65520.0f, 1e-8f, 3.14159265f}, back[5];
	uint16_t h[5], b[5];
	int j;
	(void)state;

	kern_quantize_row(GGUF_GGML_F16, x, h, 5);
	kern_quantize_row(GGUF_GGML_BF16, x, b, 5);
	for (j = 0; j < 5; j++) {
		assert_int_equal(h[j], kern_fp32_to_fp16(x[j]));
		assert_int_equal(b[j], kern_fp32_to_bf16(x[j]));
	}
	kern_dequantize_row(GGUF_GGML_F16, h, back, 5);
	assert_true(back[0] == 1.0f && back[1] == -2.5f && isinf(back[2]));
	kern_quantize_row(GGUF_GGML_F32, x, back, 5);
	assert_memory_equal(back, x, sizeof(x));
}

/* ---- dequantization of hand-made blocks ----------------------------------------------------- */

static void test_dequantize_handmade(void **state)
{
	struct blk_q4_0 q4 = {0};
	struct blk_q5_0 q5 = {0};
	struct blk_q4_K k4 = {0};
	struct blk_q6_K k6 = {0};
	float y[256];
	(void)state;

	q4.d = 0x3800; /* 0.5 */
	q4.qs[0] = 0x1F;
	kern_dequantize_row(GGUF_GGML_Q4_0, &q4, y, 32);
	assert_true(y[0] == 3.5f && y[16] == -3.5f && y[1] == -4.0f);

	q5.d = 0x3c00;
	q5.qs[2] = 0x0F; /* element 2: low 15, element 18: high 0 */
	q5.qh[0] = 0x04; /* bit 2: element 2 gets +16 */
	q5.qh[2] = 0x04; /* bit 18: element 18 gets +16 */
	kern_dequantize_row(GGUF_GGML_Q5_0, &q5, y, 32);
	assert_true(y[2] == 15.0f && y[18] == 0.0f && y[0] == -16.0f);

	k4.d = 0x3c00;	  /* 1 */
	k4.dmin = 0x3800; /* 0.5 */
	k4.scales[0] = 2; /* sub-block 0: scale 2, min 1 */
	k4.scales[4] = 1;
	k4.scales[8] = 0x73; /* sub-block 4: scale 3 | (hi of scales[0] = 0) , min 7 */
	k4.qs[0] = 0x53;
	k4.qs[64] = 0x04;
	kern_dequantize_row(GGUF_GGML_Q4_K, &k4, y, 256);
	assert_true(y[0] == 5.5f);  /* 1 * 2 * 3 - 0.5 * 1 */
	assert_true(y[32] == 0.0f); /* sub-block 1: scale 0, min 0 */
	assert_true(y[128] == 1.0f * 3 * 4 - 0.5f * 7);

	k6.d = 0x3c00;
	k6.scales[0] = -2;
	k6.scales[4] = 3;
	k6.ql[0] = 0x21; /* element 0 low nibble 1, element 64 low nibble 2 */
	k6.qh[0] = 0x32; /* element 0 high 2 bits 2, element 64 high 2 bits 3 */
	kern_dequantize_row(GGUF_GGML_Q6_K, &k6, y, 256);
	assert_true(y[0] == -2.0f * (float)((1 | 2 << 4) - 32));
	assert_true(y[64] == 3.0f * (float)((2 | 3 << 4) - 32));
}

/* ---- dot products ---------------------------------------------------------------------------- */

/* Reference: dequantize both rows, double-precision dot, and the sum of |products| as scale. */
static double ref_dot(uint32_t t, const void *w, const void *x, int64_t k, double *mag)
{
	float *wf = malloc((size_t)k * sizeof(float)), *xf = malloc((size_t)k * sizeof(float));
	double s = 0, a = 0;
	int64_t i;

	assert_non_null(wf);
	assert_non_null(xf);
	kern_dequantize_row(t, w, wf, k);
	kern_dequantize_row(kern_vec_dot_type(t), x, xf, k);
	for (i = 0; i < k; i++) {
		s += (double)wf[i] * xf[i];
		a += fabs((double)wf[i] * xf[i]);
	}
	free(wf);
	free(xf);
	*mag = a;
	return s;
}

static void test_dot_portable_vs_reference(void **state)
{
	size_t ti;
	int variant, rep;
	(void)state;

	for (ti = 0; ti < N_WTYPES; ti++) {
		const uint32_t t = weight_types[ti];
		kern_vec_dot_fn dot = kern_vec_dot_isa(t, KERN_ISA_PORTABLE);

		assert_non_null(dot);
		assert_true(kern_type_supported(t));
		for (variant = 0; variant < 2; variant++)
			for (rep = 0; rep < 4; rep++) {
				const int64_t k = test_k(t, variant);
				float *xf = malloc((size_t)k * sizeof(float)), s;
				void *w = rand_row(t, k), *x = rand_act(t, k, xf);
				double mag, want = ref_dot(t, w, x, k, &mag);

				dot(k, &s, w, x);
				if (fabs(s - want) > 1e-5 * mag + 1e-6)
					printf("%s k=%lld: portable %.9g reference %.9g (mag %g)\n",
					       gguf_type_info(t)->name, (long long)k, s, want, mag);
				assert_true(fabs(s - want) <= 1e-5 * mag + 1e-6);
				free(w);
				free(x);
				free(xf);
			}
	}
}

static void test_dot_isa_vs_portable(void **state)
{
	enum kern_isa isa;
	size_t ti;
	int variant, rep;
	(void)state;

	for (isa = KERN_ISA_AVX2; isa < KERN_ISA_COUNT; isa++) {
		if (!kern_cpu_has(isa)) {
			printf("SKIP: %s not available on this CPU\n", kern_isa_name(isa));
			continue;
		}
		for (ti = 0; ti < N_WTYPES; ti++) {
			const uint32_t t = weight_types[ti];
			kern_vec_dot_fn ref = kern_vec_dot_isa(t, KERN_ISA_PORTABLE);
			kern_vec_dot_fn dot = kern_vec_dot_isa(t, isa);

			assert_non_null(dot);
			for (variant = 0; variant < 2; variant++)
				for (rep = 0; rep < 6; rep++) {
					const int64_t k =
					    test_k(t, variant) -
					    (rep == 5 && gguf_type_info(t)->block_size == 1 ? 5
											    : 0);
					float *xf = malloc((size_t)k * sizeof(float)), a, b;
					void *w = rand_row(t, k), *x = rand_act(t, k, xf);
					double mag;

					ref_dot(t, w, x, k, &mag);
					ref(k, &a, w, x);
					dot(k, &b, w, x);
					if (fabs(a - b) > 2e-6 * mag + 1e-7)
						printf("%s %s k=%lld: portable %.9g isa %.9g\n",
						       kern_isa_name(isa), gguf_type_info(t)->name,
						       (long long)k, a, b);
					assert_true(fabs(a - b) <= 2e-6 * mag + 1e-7);
					free(w);
					free(x);
					free(xf);
				}
		}
	}
}

/* A few exact dot products by hand. */
static void test_dot_handmade(void **state)
{
	struct blk_q8_0 w[2], x[2];
	struct blk_q4_0 w4[2];
	enum kern_isa isa;
	int j;
	(void)state;

	for (j = 0; j < 32; j++) {
		w[0].qs[j] = 1;
		w[1].qs[j] = (int8_t)(j & 1 ? -128 : 127);
		x[0].qs[j] = 2;
		x[1].qs[j] = (int8_t)(j & 1 ? -127 : 127);
	}
	w[0].d = w[1].d = 0x3c00;     /* 1 */
	x[0].d = x[1].d = 0x3800;     /* 0.5 */
	memset(w4, 0x88, sizeof(w4)); /* all quants 8: value 0 */
	w4[0].d = w4[1].d = 0x3c00;
	w4[0].qs[0] = 0x8F; /* element 0: 15 - 8 = 7 */
	for (isa = 0; isa < KERN_ISA_COUNT; isa++) {
		float s;

		if (!kern_cpu_has(isa))
			continue;
		kern_vec_dot_isa(GGUF_GGML_Q8_0, isa)(64, &s, w, x);
		/* 32 * 2 * 0.5 + 16 * (127 * 127 + 128 * 127) * 0.5 */
		assert_true(s == 32.0f + 16.0f * (127 * 127 + 128 * 127) * 0.5f);
		kern_vec_dot_isa(GGUF_GGML_Q4_0, isa)(64, &s, w4, x);
		assert_true(s == 7.0f);
	}
}

/* ---- mul_mat: same bits whatever the split -------------------------------------------------- */

/* One (ISA, type, k): the whole product, token by token in three uneven row ranges, and two
 * batches with rows split, all the same bits, and each element the ISA's vec_dot. */
static void mul_mat_bits(enum kern_isa isa, uint32_t t, int64_t k)
{
	enum { R = 11, M = 7 };
	const uint32_t vt = kern_vec_dot_type(t);
	const size_t wrb = kern_row_size(t, k), xrb = kern_row_size(vt, k);
	uint8_t *W = malloc(wrb * R), *X = malloc(xrb * M);
	float full[M * R], split[M * R], *xf = malloc((size_t)k * sizeof(float));
	kern_vec_dot_fn dot = kern_vec_dot_isa(t, isa);
	int r, c;

	assert_non_null(W);
	assert_non_null(X);
	assert_non_null(xf);
	for (r = 0; r < R; r++) {
		void *row = rand_row(t, k);

		memcpy(W + (size_t)r * wrb, row, wrb);
		free(row);
	}
	for (c = 0; c < M; c++) {
		void *row = rand_act(t, k, xf);

		memcpy(X + (size_t)c * xrb, row, xrb);
		free(row);
	}
	memset(full, 0xff, sizeof(full));
	kern_mul_mat_isa(isa, t, W, wrb, k, 0, R, X, xrb, M, full, R);
	/* token by token, rows in three uneven ranges */
	memset(split, 0xff, sizeof(split));
	for (c = 0; c < M; c++) {
		kern_mul_mat_isa(isa, t, W, wrb, k, 0, 3, X + c * xrb, xrb, 1, split + c * R, R);
		kern_mul_mat_isa(isa, t, W, wrb, k, 3, 4, X + c * xrb, xrb, 1, split + c * R, R);
		kern_mul_mat_isa(isa, t, W, wrb, k, 4, R, X + c * xrb, xrb, 1, split + c * R, R);
	}
	assert_memory_equal(full, split, sizeof(full));
	/* two batches (2 + 5 rows of activations), rows split 6 + 5 */
	memset(split, 0xff, sizeof(split));
	kern_mul_mat_isa(isa, t, W, wrb, k, 0, 6, X, xrb, 2, split, R);
	kern_mul_mat_isa(isa, t, W, wrb, k, 6, R, X, xrb, 2, split, R);
	kern_mul_mat_isa(isa, t, W, wrb, k, 0, 6, X + 2 * xrb, xrb, 5, split + 2 * R, R);
	kern_mul_mat_isa(isa, t, W, wrb, k, 6, R, X + 2 * xrb, xrb, 5, split + 2 * R, R);
	assert_memory_equal(full, split, sizeof(full));
	/* and each element is the ISA's vec_dot */
	for (c = 0; c < M; c++)
		for (r = 0; r < R; r++) {
			float s;

			dot(k, &s, W + (size_t)r * wrb, X + (size_t)c * xrb);
			if (f2u(s) != f2u(full[c * R + r]))
				printf("%s %s k%lld r%d c%d: dot %.9g mul_mat %.9g\n",
				       kern_isa_name(isa), gguf_type_info(t)->name, (long long)k, r,
				       c, s, full[c * R + r]);
			assert_int_equal(f2u(s), f2u(full[c * R + r]));
		}
	free(W);
	free(X);
	free(xf);
}

/* mul_mat_bits for every ISA this CPU has and every weight type, at k = k_of(type). */
static void mul_mat_bits_all(int64_t (*k_of)(uint32_t t))
{
	enum kern_isa isa;
	size_t ti;

	for (isa = 0; isa < KERN_ISA_COUNT; isa++) {
		if (!kern_cpu_has(isa))
			continue;
		for (ti = 0; ti < N_WTYPES; ti++)
			mul_mat_bits(isa, weight_types[ti], k_of(weight_types[ti]));
	}
}

static int64_t k_short(uint32_t t)
{
	return test_k(t, 1);
}

/* Rows longer than a kernel prepares the activation for at once (the AVX-512 Q4_0 gemv: 1024
 * blocks), with an odd block count. */
static int64_t k_long(uint32_t t)
{
	const int64_t bs = gguf_type_info(t)->block_size;

	return bs == 1 ? 32803 : bs == 32 ? 32 * 2051 : 256 * 129;
}

static void test_mul_mat_bit_identical(void **state)
{
	(void)state;
	mul_mat_bits_all(k_short);
}

/* Long rows: the same bits as the tiles. */
static void test_mul_mat_long_rows(void **state)
{
	(void)state;
	mul_mat_bits_all(k_long);
}

static void test_types_and_dispatch(void **state)
{
	(void)state;
	assert_int_equal(kern_vec_dot_type(GGUF_GGML_Q4_0), GGUF_GGML_Q8_0);
	assert_int_equal(kern_vec_dot_type(GGUF_GGML_Q4_1), GGUF_GGML_Q8_1);
	assert_int_equal(kern_vec_dot_type(GGUF_GGML_Q6_K), GGUF_GGML_Q8_K);
	assert_int_equal(kern_vec_dot_type(GGUF_GGML_F16), GGUF_GGML_F16);
	assert_int_equal(kern_row_size(GGUF_GGML_Q4_0, 64), 36);
	assert_int_equal(kern_row_size(GGUF_GGML_Q8_K, 512), 584);
	assert_int_equal(kern_row_size(GGUF_GGML_F16, 3), 6);
	assert_false(kern_type_supported(GGUF_GGML_IQ2_XXS));
	assert_null(kern_vec_dot_isa(GGUF_GGML_Q2_K, kern_active_isa()));
	assert_true(kern_cpu_has(KERN_ISA_PORTABLE));
	assert_true(kern_cpu_has(kern_active_isa()));
	assert_string_equal(kern_isa_name(KERN_ISA_AVX512_VNNI), "avx512_vnni");
	assert_non_null(kern_vec_dot_isa(GGUF_GGML_Q4_K, kern_active_isa()));
	printf("active ISA: %s\n", kern_isa_name(kern_active_isa()));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fp16_edges),
	    cmocka_unit_test(test_fp16_round_trip_all),
	    cmocka_unit_test(test_fp16_vs_f16c),
	    cmocka_unit_test(test_bf16_edges),
	    cmocka_unit_test(test_quantize_q8_0_bytes),
	    cmocka_unit_test(test_round_away_is_roundf),
	    cmocka_unit_test(test_quantize_q8_0_matches_reference),
	    cmocka_unit_test(test_quantize_isa_vs_portable),
	    cmocka_unit_test(test_quantize_q8_1_bytes),
	    cmocka_unit_test(test_quantize_q8_K_bytes),
	    cmocka_unit_test(test_quantize_float_types),
	    cmocka_unit_test(test_dequantize_handmade),
	    cmocka_unit_test(test_dot_portable_vs_reference),
	    cmocka_unit_test(test_dot_isa_vs_portable),
	    cmocka_unit_test(test_dot_handmade),
	    cmocka_unit_test(test_mul_mat_bit_identical),
	    cmocka_unit_test(test_mul_mat_long_rows),
	    cmocka_unit_test(test_types_and_dispatch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
