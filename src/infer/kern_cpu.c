/*
 * kern_cpu.c — fp16/bf16 conversion exactly as ggml's, CPU feature detection, the type table
 * (vec-dot types, row sizes) and the dispatch table, built once (pthread_once).
 *
 * Owns: the only global state of the kernels (the once-initialised table and the chosen ISA).
 * Never: changes the table after initialisation, or picks an ISA the CPU/OS cannot run.
 */
#include <cpuid.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "infer/kern_impl.h"
#include "infer/kernels.h"

/* ---- fp16 / bf16 ----------------------------------------------------------------------- */

float kern_fp16_to_fp32(uint16_t h)
{
	return kern_h2f(h);
}

static inline uint32_t kc_f2u(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	return u;
}

static inline float kc_u2f(uint32_t u)
{
	float f;

	memcpy(&f, &u, 4);
	return f;
}

/*
 * Round to nearest even with subnormals, infinities and NaN (-> quiet 0x7e00 with the sign), the
 * algorithm of ggml's portable ggml_compute_fp32_to_fp16: the exponent-aligned addition makes
 * the FPU do the rounding. Same results as F16C's vcvtps2ph with rounding mode 0 except for NaN
 * payloads.
 */
uint16_t kern_fp32_to_fp16(float f)
{
	const float scale_to_inf = 0x1.0p+112f, scale_to_zero = 0x1.0p-110f;
	float base = (fabsf(f) * scale_to_inf) * scale_to_zero;
	const uint32_t w = kc_f2u(f), shl1_w = w + w, sign = w & 0x80000000u;
	uint32_t bias = shl1_w & 0xff000000u, bits, exp_bits, mantissa_bits, nonsign;

	if (bias < 0x71000000u)
		bias = 0x71000000u;
	base = kc_u2f((bias >> 1) + 0x07800000u) + base;
	bits = kc_f2u(base);
	exp_bits = (bits >> 13) & 0x00007c00u;
	mantissa_bits = bits & 0x00000fffu;
	nonsign = exp_bits + mantissa_bits;
	return (uint16_t)((sign >> 16) | (shl1_w > 0xff000000u ? 0x7e00u : nonsign));
}

float kern_bf16_to_fp32(uint16_t h)
{
	return kc_u2f((uint32_t)h << 16);
}

/* As ggml_compute_fp32_to_bf16: NaN kept (forced quiet), otherwise round to nearest even;
 * subnormals are rounded like any other value (no flush). */
uint16_t kern_fp32_to_bf16(float f)
{
	uint32_t u = kc_f2u(f);

	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((u >> 16) | 64);
	return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

/* ---- types ------------------------------------------------------------------------------ */

int kern_type_supported(uint32_t wtype)
{
	return kern_ops_get(wtype, KERN_ISA_PORTABLE) != NULL;
}

uint32_t kern_vec_dot_type(uint32_t wtype)
{
	switch (wtype) {
	case GGUF_GGML_F32:
	case GGUF_GGML_F16:
	case GGUF_GGML_BF16:
		return wtype;
	case GGUF_GGML_Q4_0:
	case GGUF_GGML_Q5_0:
	case GGUF_GGML_Q8_0:
		return GGUF_GGML_Q8_0;
	case GGUF_GGML_Q4_1:
	case GGUF_GGML_Q5_1:
		return GGUF_GGML_Q8_1;
	case GGUF_GGML_Q4_K:
	case GGUF_GGML_Q5_K:
	case GGUF_GGML_Q6_K:
		return GGUF_GGML_Q8_K;
	default:
		return GGUF_GGML_F32;
	}
}

size_t kern_row_size(uint32_t type, int64_t n)
{
	const struct gguf_type_info *ti = gguf_type_info(type);

	if (!ti->known || ti->block_size == 0 || n < 0)
		return 0;
	return (size_t)(n / ti->block_size) * ti->type_size;
}

/* ---- dispatch --------------------------------------------------------------------------- */

static pthread_once_t kern_once = PTHREAD_ONCE_INIT;
static struct kern_ops kern_table[KERN_ISA_COUNT][GGUF_GGML_TYPE_COUNT];
static int kern_has[KERN_ISA_COUNT];
static enum kern_isa kern_active;

/* cpuid and XCR0: the OS must save the YMM (and for AVX-512 the opmask/ZMM) state. */
static void kern_detect(int has[KERN_ISA_COUNT])
{
	unsigned a, b, d, ecx1, ebx7 = 0, ecx7 = 0, xlo = 0, xhi = 0;
	int avx2, avx512;

	has[KERN_ISA_PORTABLE] = 1;
	if (!__get_cpuid(1, &a, &b, &ecx1, &d))
		return;
	if (__get_cpuid_max(0, NULL) >= 7)
		__cpuid_count(7, 0, a, ebx7, ecx7, d);
	if (ecx1 & (1u << 27)) /* OSXSAVE */
		__asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
	(void)xhi;
	avx2 = (xlo & 0x6) == 0x6 && (ecx1 & (1u << 28)) && (ecx1 & (1u << 12)) &&
	       (ecx1 & (1u << 29)) && (ebx7 & (1u << 5));
	avx512 = avx2 && (xlo & 0xe0) == 0xe0 && (ebx7 & (1u << 16)) && (ebx7 & (1u << 17)) &&
		 (ebx7 & (1u << 30)) && (ebx7 & (1u << 31));
	has[KERN_ISA_AVX2] = avx2;
	has[KERN_ISA_AVX512] = avx512;
	has[KERN_ISA_AVX512_VNNI] = avx512 && (ecx7 & (1u << 11));
}

static void kern_init(void)
{
	const char *cap = getenv("SECAI_KERNEL_ISA");
	enum kern_isa max = KERN_ISA_COUNT - 1, i;

	kern_detect(kern_has);
	kern_ops_portable(kern_table[KERN_ISA_PORTABLE]);
	if (kern_has[KERN_ISA_AVX2])
		kern_ops_avx2(kern_table[KERN_ISA_AVX2]);
	if (kern_has[KERN_ISA_AVX512])
		kern_ops_avx512(kern_table[KERN_ISA_AVX512], 0);
	if (kern_has[KERN_ISA_AVX512_VNNI])
		kern_ops_avx512(kern_table[KERN_ISA_AVX512_VNNI], 1);
	/* Whatever an ISA's file leaves out falls back to the ISA below it. */
	for (i = KERN_ISA_AVX2; i < KERN_ISA_COUNT; i++) {
		uint32_t t;

		if (!kern_has[i])
			continue;
		for (t = 0; t < GGUF_GGML_TYPE_COUNT; t++)
			if (kern_table[i][t].tile == NULL)
				kern_table[i][t] = kern_table[i - 1][t];
	}

	if (cap != NULL) {
		for (i = 0; i < KERN_ISA_COUNT; i++)
			if (strcmp(cap, kern_isa_name(i)) == 0)
				max = i;
	}
	kern_active = KERN_ISA_PORTABLE;
	for (i = 0; i <= max; i++)
		if (kern_has[i])
			kern_active = i;
}

static void kern_ensure(void)
{
	pthread_once(&kern_once, kern_init);
}

int kern_cpu_has(enum kern_isa isa)
{
	kern_ensure();
	return (unsigned)isa < KERN_ISA_COUNT && kern_has[isa];
}

enum kern_isa kern_active_isa(void)
{
	kern_ensure();
	return kern_active;
}

const char *kern_isa_name(enum kern_isa isa)
{
	switch (isa) {
	case KERN_ISA_PORTABLE:
		return "portable";
	case KERN_ISA_AVX2:
		return "avx2";
	case KERN_ISA_AVX512:
		return "avx512";
	case KERN_ISA_AVX512_VNNI:
		return "avx512_vnni";
	default:
		return "?";
	}
}

const struct kern_ops *kern_ops_get(uint32_t wtype, enum kern_isa isa)
{
	kern_ensure();
	if ((unsigned)isa >= KERN_ISA_COUNT || !kern_has[isa] || wtype >= GGUF_GGML_TYPE_COUNT ||
	    kern_table[isa][wtype].tile == NULL)
		return NULL;
	return &kern_table[isa][wtype];
}

kern_vec_dot_fn kern_vec_dot_isa(uint32_t wtype, enum kern_isa isa)
{
	const struct kern_ops *o = kern_ops_get(wtype, isa);

	return o ? o->dot : NULL;
}
