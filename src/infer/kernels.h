/*
 * kernels.h — the inference engine's numeric kernels: ggml block formats, fp16/bf16
 * conversion, activation quantization, dot products and the matrix multiply, each with a
 * portable C version and AVX2/FMA/F16C and AVX-512 (VNNI) versions chosen once at run time.
 *
 * Numerics follow llama.cpp (ggml CPU backend): activations are converted to the "vec-dot type"
 * of the weight type before the dot product — F32 for F32, F16 for F16, BF16 for BF16, Q8_0 for
 * Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for Q4_K/Q5_K/Q6_K — so results match llama.cpp's.
 * Owns: arithmetic only. Never: allocates, spawns threads, or reads beyond the rows it is given.
 */
#ifndef SECAI_KERNELS_H
#define SECAI_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Type ids are ggml's (enum gguf_ggml_type in gguf/gguf.h). */

enum kern_isa {
	KERN_ISA_PORTABLE = 0, /* plain C, always available */
	KERN_ISA_AVX2,         /* AVX2 + FMA + F16C */
	KERN_ISA_AVX512,       /* AVX-512 F/BW/VL (+ DQ) */
	KERN_ISA_AVX512_VNNI,  /* AVX-512 + VNNI */
	KERN_ISA_COUNT
};

/* 1 when this CPU (cpuid + OS xsave state) can run kernels of that ISA. */
int kern_cpu_has(enum kern_isa isa);
/* The ISA kern_* dispatch uses (the best available; SECAI_KERNEL_ISA=portable|avx2|avx512|
 * avx512_vnni caps it, for tests and benches). */
enum kern_isa kern_active_isa(void);
const char *kern_isa_name(enum kern_isa isa);

float kern_fp16_to_fp32(uint16_t h);
uint16_t kern_fp32_to_fp16(float f); /* round to nearest even, as ggml */
float kern_bf16_to_fp32(uint16_t h);
uint16_t kern_fp32_to_bf16(float f); /* round to nearest even, as ggml */

/* 1 when the engine can multiply by weights of this type. */
int kern_type_supported(uint32_t wtype);
/* The type activations are converted to before a dot product with wtype weights. */
uint32_t kern_vec_dot_type(uint32_t wtype);
/* Bytes of a row of n elements of type t (n a multiple of the block size). */
size_t kern_row_size(uint32_t type, int64_t n);

/* Converts n floats to type t (F32 copy, F16, BF16, Q8_0, Q8_1, Q8_K), exactly as ggml's
 * quantize_row_*; for activations. */
void kern_quantize_row(uint32_t type, const float *x, void *y, int64_t n);
/* The same with the conversions of one ISA (same bytes for finite x; for tests and benches). */
void kern_quantize_row_isa(enum kern_isa isa, uint32_t type, const float *x, void *y, int64_t n);
/* Converts one row of any supported weight type (and Q8_0) back to floats (get_rows, tests). */
void kern_dequantize_row(uint32_t type, const void *x, float *y, int64_t n);

/* e^x as ggml's AVX-512 ggml_v_expf computes each lane (not libm's expf: within 2.5 ulp of e^x;
 * x > 88.38 gives inf, x < -103.97 gives 0). */
float kern_vexpf(float x);
/* g[i] = g[i] / (1 + kern_vexpf(0 - g[i])) * u[i] for i < n: ggml_vec_swiglu_f32's vector
 * body. kern_swiglu_isa: with a given ISA's code (the same bits; tests). */
void kern_swiglu(float *g, const float *u, int64_t n);
void kern_swiglu_isa(enum kern_isa isa, float *g, const float *u, int64_t n);
/* y[i] = kern_vexpf(x[i] - max) for i < n (y may be x), returning their sum as
 * ggml_vec_soft_max_f32 takes it: per group of 16 from i = 0 (the last padded with zeros) the
 * _mm512_reduce_add_ps tree, added to a double. */
double kern_exp_sum(float *y, const float *x, float max, int64_t n);
double kern_exp_sum_isa(enum kern_isa isa, float *y, const float *x, float max, int64_t n);

/* *s = dot(w, x) over n elements: w one row of wtype, x one row of kern_vec_dot_type(wtype). */
typedef void (*kern_vec_dot_fn)(int64_t n, float *s, const void *w, const void *x);
/* A given ISA's version (NULL when not built or not supported by the CPU), so tests can
 * compare every ISA with the portable one; products go through kern_mul_mat. */
kern_vec_dot_fn kern_vec_dot_isa(uint32_t wtype, enum kern_isa isa);

/*
 * out[i * ld_out + r] = dot(W row r, X row i)  for r in [r0, r1), i in [0, m).
 * W: weight matrix of wtype, rows of k elements, w_row_bytes apart (= kern_row_size).
 * X: m activation rows already converted to kern_vec_dot_type(wtype), x_row_bytes apart.
 * Threads split [0, rows) into ranges and call this concurrently on disjoint ranges; with m > 1
 * (prompt processing) it tiles rows × columns so each weight block is loaded once per tile.
 * The result of each element must not depend on r0/r1 or m (1..N threads, batch or not: same
 * bits).
 */
void kern_mul_mat(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k, int64_t r0,
		  int64_t r1, const void *X, size_t x_row_bytes, int64_t m, float *out,
		  int64_t ld_out);
/* The same with a given ISA (tests). */
void kern_mul_mat_isa(enum kern_isa isa, uint32_t wtype, const void *W, size_t w_row_bytes,
		      int64_t k, int64_t r0, int64_t r1, const void *X, size_t x_row_bytes,
		      int64_t m, float *out, int64_t ld_out);

#endif
