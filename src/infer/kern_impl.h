/*
 * kern_impl.h — internal to the kernels (src/infer/kern_*.c): ggml's block layouts, the scalar
 * fp16 helpers every file shares, and the per-ISA tile tables the dispatcher picks from.
 *
 * Owns: struct layouts byte-identical to ggml-common.h (checked by static asserts) and the tile
 * interface. Never: included outside src/infer/kern_*.c and tests/infer/test_kernels.c.
 *
 * A "tile" computes out[c * ld + r] = dot(W row r, X row c) for r < nr, c < nc (nr, nc in 1..4).
 * Every dot product, the single one of kern_vec_dot_isa included, goes through the tile of its ISA,
 * and each element of a tile is computed with the same sequence of operations whatever nr and
 * nc are: that is what makes batch and single-token results identical bit for bit.
 */
#ifndef SECAI_KERN_IMPL_H
#define SECAI_KERN_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gguf/gguf.h"
#include "infer/kernels.h"

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK_K 256
#define K_SCALE_SIZE 12

typedef uint16_t kern_half;

struct blk_q4_0 {
	kern_half d;
	uint8_t qs[QK4_0 / 2];
};
struct blk_q4_1 {
	kern_half d, m;
	uint8_t qs[QK4_1 / 2];
};
struct blk_q5_0 {
	kern_half d;
	uint8_t qh[4];
	uint8_t qs[QK5_0 / 2];
};
struct blk_q5_1 {
	kern_half d, m;
	uint8_t qh[4];
	uint8_t qs[QK5_1 / 2];
};
struct blk_q8_0 {
	kern_half d;
	int8_t qs[QK8_0];
};
struct blk_q8_1 {
	kern_half d, s; /* s = d * sum(qs) */
	int8_t qs[QK8_1];
};
struct blk_q4_K {
	kern_half d, dmin;
	uint8_t scales[K_SCALE_SIZE];
	uint8_t qs[QK_K / 2];
};
struct blk_q5_K {
	kern_half d, dmin;
	uint8_t scales[K_SCALE_SIZE];
	uint8_t qh[QK_K / 8];
	uint8_t qs[QK_K / 2];
};
struct blk_q6_K {
	uint8_t ql[QK_K / 2];
	uint8_t qh[QK_K / 4];
	int8_t scales[QK_K / 16];
	kern_half d;
};
struct blk_q8_K {
	float d;
	int8_t qs[QK_K];
	int16_t bsums[QK_K / 16];
};

_Static_assert(sizeof(struct blk_q4_0) == 18, "q4_0");
_Static_assert(sizeof(struct blk_q4_1) == 20, "q4_1");
_Static_assert(sizeof(struct blk_q5_0) == 22, "q5_0");
_Static_assert(sizeof(struct blk_q5_1) == 24, "q5_1");
_Static_assert(sizeof(struct blk_q8_0) == 34, "q8_0");
_Static_assert(sizeof(struct blk_q8_1) == 36, "q8_1");
_Static_assert(sizeof(struct blk_q4_K) == 144, "q4_K");
_Static_assert(sizeof(struct blk_q5_K) == 176, "q5_K");
_Static_assert(sizeof(struct blk_q6_K) == 210, "q6_K");
_Static_assert(sizeof(struct blk_q8_K) == 292, "q8_K");

/* Exact fp16 -> fp32 (a table-free bit manipulation; same bits as ggml's for every input). */
static inline float kern_h2f(kern_half h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ffu, bits;
	float f;

	if (e == 0x1f) {
		bits = sign | 0x7f800000u | (m << 13);
	} else if (e != 0) {
		bits = sign | ((e + 112) << 23) | (m << 13);
	} else if (m == 0) {
		bits = sign;
	} else { /* subnormal: m * 2^-24, exact in fp32 */
		f = (float)m * 0x1p-24f;
		memcpy(&bits, &f, 4);
		bits |= sign;
	}
	memcpy(&f, &bits, 4);
	return f;
}

/* roundf(v) (half away from zero) for |v| < 2^31, without the libm call gcc emits for roundf
 * (it was the largest serial cost of a token at 2 threads): the cast truncates, v - trunc(v) is
 * exact below 2^23 (and 0 above), so the test on it is roundf's. Vectorizes. */
static inline int kern_round_away(float v)
{
	const int i = (int)v;
	const float f = v - (float)i;

	return i + (f >= 0.5f) - (f <= -0.5f);
}

/* The tile of one (weight type, ISA). */
typedef void (*kern_tile_fn)(int64_t k, const void *w, size_t w_row_bytes, const void *x,
			     size_t x_row_bytes, float *out, int64_t ld_out, int nr, int nc);

/* On the loops of a tile over its rows and columns (nr, nc are compile-time constants in each
 * tile-shape instance): unrolled in full, the accumulators live in registers; left as loops,
 * gcc keeps them in memory and every FMA becomes load-FMA-store (measured: F16 m=128 went from
 * 55 to 165 GFLOP/s on one AVX-512 core). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KERN_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define KERN_SANITIZED 1
#endif
#if defined(KERN_SANITIZED)
/* Sanitizer builds (make check, fuzz) test what the code computes, which unrolling does not
 * change; unrolled and instrumented, each kernel file took minutes to compile. */
#define KERN_UNROLL
#elif defined(__clang__)
#define KERN_UNROLL _Pragma("clang loop unroll(full)")
#else
#define KERN_UNROLL _Pragma("GCC unroll 4")
#endif

/* Largest tile: KERN_TILE_R weight rows x KERN_TILE_C activation rows. */
#define KERN_TILE_R 4
#define KERN_TILE_C 4
/*
 * A tile of several weight rows reads them as that many short streams, which the hardware
 * prefetcher tracks badly; such tiles prefetch the same offset KERN_PF_ROWS rows further (the
 * next groups), which keeps one long linear stream in flight. A one-row tile is itself one
 * linear stream (kern_mul_mat's m = 1 path for most types): the hardware does better alone
 * there (measured on Zen 4: Q8_0 m = 1 13 -> 25 GB/s without the hint and with one row per
 * tile). Prefetches never fault.
 */
#define KERN_PF_ROWS 8

/* Prefetches [p, p + n) for reading (one hint per 64-byte line). */
static inline void kern_prefetch(const void *p, size_t n)
{
	size_t o;

	for (o = 0; o < n; o += 64)
		__builtin_prefetch((const char *)p + o, 0, 3);
}

/* kern_prefetch for rows KERN_PF_ROWS ahead, from a tile of nr rows (none when nr == 1). */
#define kern_prefetch_ahead(nr, p, n)                                                             \
	do {                                                                                      \
		if ((nr) > 1)                                                                     \
			kern_prefetch((p), (n));                                                  \
	} while (0)

/* out[r] = dot(row r of w, x) for r in [0, nr), any nr: one activation row against many weight
 * rows, with the same bits as the tile's. */
typedef void (*kern_gemv_fn)(int64_t k, const void *w, size_t w_row_bytes, const void *x,
			     float *out, int64_t nr);

/* One weight type's kernels for one ISA: dot is tile with nr = nc = 1; gemv, where an ISA has
 * one for the type, takes kern_mul_mat's m = 1 products whole (else tiles do). */
struct kern_ops {
	kern_tile_fn tile;
	kern_vec_dot_fn dot;
	kern_gemv_fn gemv;
};

/* Tables indexed by ggml type id (NULL: unsupported); filled by each ISA's file. The AVX-512
 * table without VNNI takes the AVX2 entries for the integer types. */
void kern_ops_portable(struct kern_ops tab[GGUF_GGML_TYPE_COUNT]);
void kern_ops_avx2(struct kern_ops tab[GGUF_GGML_TYPE_COUNT]);
void kern_ops_avx512(struct kern_ops tab[GGUF_GGML_TYPE_COUNT], int vnni);
/* kern_quantize_row with AVX-512 (kern_quant_avx512.c) for F16, Q8_0 and Q8_K: 1 when done,
 * 0 for the types it leaves to the portable code. */
int kern_quantize_row_avx512(uint32_t type, const float *x, void *y, int64_t n);
/* The constants of ggml's AVX-512 ggml_v_expf, for kern_vexpf and its vector versions:
 * z = fma(x, LOG2E, SHIFT), n = z - SHIFT; b = x - n LN2_HI - n LN2_LO (two FMAs);
 * e^b = fma(fma(fma(C5, b, C4), b^2, fma(C3, b, C2)), b^2, fma(C1, b, 1)); e^x = e^b * 2^n for
 * |n| <= KERN_VEXP_NMAX, else 0 or inf. */
#define KERN_VEXP_SHIFT 0x1.8p23f
#define KERN_VEXP_LOG2E 0x1.715476p+0f
#define KERN_VEXP_LN2_HI 0x1.62e4p-1f
#define KERN_VEXP_LN2_LO 0x1.7f7d1cp-20f
#define KERN_VEXP_C1 0x1.ffffecp-1f
#define KERN_VEXP_C2 0x1.fffdb6p-2f
#define KERN_VEXP_C3 0x1.555e66p-3f
#define KERN_VEXP_C4 0x1.573e2ep-5f
#define KERN_VEXP_C5 0x1.0e4020p-7f
#define KERN_VEXP_NMAX 192.0f

/* kern_exp_avx512.c, kern_exp_avx2.c: kern_swiglu and kern_exp_sum (returning 1, *sum set) on
 * AVX-512 and AVX2 (the caller checked the CPU). */
int kern_swiglu_avx512(float *g, const float *u, int64_t n);
int kern_exp_sum_avx512(float *y, const float *x, float max, int64_t n, double *sum);
int kern_swiglu_avx2(float *g, const float *u, int64_t n);
int kern_exp_sum_avx2(float *y, const float *x, float max, int64_t n, double *sum);
/* kern_exp.c's portable versions, also the vector versions' tails: SwiGLU, kern_exp_sum, and
 * the sum of 16 floats in _mm512_reduce_add_ps's order. */
void kern_swiglu_portable(float *g, const float *u, int64_t n);
double kern_exp_sum_portable(float *y, const float *x, float max, int64_t n);
float kern_sum16_tree(const float v[16]);

/* The kernels used for (type, isa); NULL members when unsupported. */
const struct kern_ops *kern_ops_get(uint32_t wtype, enum kern_isa isa);

/* Defines the vec_dot wrapper NAME around tile TILE (the 1 x 1 tile). */
#define KERN_DOT_FROM_TILE(name, tile)                                                             \
	static void name(int64_t n, float *s, const void *w, const void *x)                        \
	{                                                                                          \
		tile(n, w, 0, x, 0, s, 0, 1, 1);                                                   \
	}

/* Q4_K/Q5_K 6-bit scale and min j (0..7) of a 12-byte scales field, as ggml's
 * get_scale_min_k4. */
static inline void kern_scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m)
{
	if (j < 4) {
		*d = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
		*m = (uint8_t)((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
	}
}

#endif
