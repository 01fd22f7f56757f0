/*
 * bench_kernels.c — kern_mul_mat speed per weight type and ISA, one thread: token generation
 * (m = 1, weights streamed from memory: GB/s of weights) and prompt processing (m = 128:
 * GFLOP/s), next to a STREAM-style read of a 1 GiB array measured in the same run.
 *
 * The Makefile links benches with libsecai.a only, so the kernels are compiled into this
 * program here (their static names are unique across the kern_*.c files for this reason).
 * Never: fails (prints figures and exits 0); writes files.
 * m = 1 is also timed in consecutive calls of 160 rows, as the thread pool hands out a product.
 * Env: BENCH_KERN_MB (weights for m = 1, default 256; 0.4 stays in L2), BENCH_KERN_TYPES
 * ("Q4_0,Q8_0,..."), BENCH_KERN_QUICK=1 (smaller sizes).
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "infer/kern_cpu.c"
#include "infer/kern_dot_avx2.c"
#include "infer/kern_dot_avx512.c"
#include "infer/kern_dot_portable.c"
#include "infer/kern_matmul.c"
#include "infer/kern_quant.c"
#include "infer/kern_quant_avx512.c"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t bench_rng = 88172645463325252ull;

static uint64_t bench_rnd(void)
{
	bench_rng ^= bench_rng << 13;
	bench_rng ^= bench_rng >> 7;
	bench_rng ^= bench_rng << 17;
	return bench_rng;
}

__attribute__((target("avx2"))) static double read_sum_avx2(const float *a, size_t n)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
	size_t i;
	float t[8];
	double r = 0;

	for (i = 0; i + 32 <= n; i += 32) {
		s0 = _mm256_add_ps(s0, _mm256_loadu_ps(a + i));
		s1 = _mm256_add_ps(s1, _mm256_loadu_ps(a + i + 8));
		s2 = _mm256_add_ps(s2, _mm256_loadu_ps(a + i + 16));
		s3 = _mm256_add_ps(s3, _mm256_loadu_ps(a + i + 24));
	}
	_mm256_storeu_ps(t, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
	for (i = 0; i < 8; i++)
		r += t[i];
	return r;
}

static double read_sum(const float *a, size_t n)
{
	float s[8] = {0};
	double r = 0;
	size_t i;

	if (kern_cpu_has(KERN_ISA_AVX2))
		return read_sum_avx2(a, n);
	for (i = 0; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			s[j] += a[i + j];
	for (i = 0; i < 8; i++)
		r += s[i];
	return r;
}

/* STREAM-style read bandwidth of a 1 GiB array, best of 5, in GB/s. */
static double mem_read_gbs(size_t bytes)
{
	size_t n = bytes / sizeof(float), i;
	float *a = malloc(bytes);
	double best = 1e30, sink = 0;
	int rep;

	if (a == NULL)
		return 0;
	for (i = 0; i < n; i++)
		a[i] = (float)(i & 1023);
	for (rep = 0; rep < 5; rep++) {
		double t = now();

		sink += read_sum(a, n);
		t = now() - t;
		if (t < best)
			best = t;
	}
	free(a);
	if (sink == 42.4242)
		printf("?");
	return (double)bytes / best / 1e9;
}

/* Random weights with sane fp16 scales (no NaN/inf/subnormal slow paths). */
static void fill_weights(uint32_t t, uint8_t *w, size_t rows, int64_t k)
{
	const struct gguf_type_info *ti = gguf_type_info(t);
	size_t rb = kern_row_size(t, k), total = rb * rows, i, nb;

	for (i = 0; i + 8 <= total; i += 8) {
		uint64_t v = bench_rnd();

		memcpy(w + i, &v, 8);
	}
	if (t == GGUF_GGML_F32) {
		for (i = 0; i < total / 4; i++)
			((float *)w)[i] = (float)(int)(bench_rnd() & 255) / 256.0f - 0.5f;
		return;
	}
	if (t == GGUF_GGML_F16 || t == GGUF_GGML_BF16) {
		for (i = 0; i < total / 2; i++) {
			float f = (float)(int)(bench_rnd() & 255) / 256.0f - 0.5f;

			((uint16_t *)w)[i] =
			    t == GGUF_GGML_F16 ? kern_fp32_to_fp16(f) : kern_fp32_to_bf16(f);
		}
		return;
	}
	nb = total / ti->type_size;
	for (i = 0; i < nb; i++) {
		uint8_t *b = w + i * ti->type_size;
		uint16_t d = kern_fp32_to_fp16(0.001f + (float)(bench_rnd() & 1023) * 1e-5f);

		memcpy(t == GGUF_GGML_Q6_K ? b + 208 : b, &d, 2);
		if (t == GGUF_GGML_Q4_1 || t == GGUF_GGML_Q4_K || t == GGUF_GGML_Q5_K)
			memcpy(b + 2, &d, 2);
	}
}

static void *make_acts(uint32_t t, int64_t k, int64_t m)
{
	uint32_t vt = kern_vec_dot_type(t);
	size_t xrb = kern_row_size(vt, k);
	float *xf = malloc((size_t)k * sizeof(float));
	uint8_t *x = malloc(xrb * (size_t)m);
	int64_t i, j;

	if (xf == NULL || x == NULL) {
		free(xf);
		free(x);
		return NULL;
	}
	for (i = 0; i < m; i++) {
		for (j = 0; j < k; j++)
			xf[j] = (float)(int)(bench_rnd() & 4095) / 1024.0f - 2.0f;
		kern_quantize_row(vt, xf, x + (size_t)i * xrb, k);
	}
	free(xf);
	return x;
}

static void bench_type(uint32_t t, size_t tg_bytes, int quick, double membw)
{
	const int64_t k = 2048, m = 128;
	const size_t rb = kern_row_size(t, k);
	size_t tg_rows = tg_bytes / rb, pp_rows = quick ? 256 : 2048;
	/* both passes read from the start of w: as many rows as the larger needs (a small
	 * BENCH_KERN_MB made m = 128 read past the map) */
	const size_t w_rows = tg_rows > pp_rows ? tg_rows : pp_rows;
	/* 2 MiB pages where the kernel gives them, as the engine's model map asks for */
	uint8_t *w =
	    mmap(NULL, rb * w_rows, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *x1 = make_acts(t, k, 1), *xm = make_acts(t, k, m);
	float *out = malloc(sizeof(float) * (tg_rows > pp_rows * m ? tg_rows : pp_rows * m));
	enum kern_isa isa;

	if (w == MAP_FAILED)
		w = NULL;
	else
		(void)madvise(w, rb * w_rows, MADV_HUGEPAGE);
	if (w == NULL || x1 == NULL || xm == NULL || out == NULL) {
		printf("%-5s: out of memory\n", gguf_type_info(t)->name);
		goto done;
	}
	fill_weights(t, w, w_rows, k);
	for (isa = 0; isa < KERN_ISA_COUNT; isa++) {
		double t1 = 1e30, tr = 1e30, tm = 1e30, tt;
		int rep, reps;
		size_t rows, r0;

		if (!kern_cpu_has(isa))
			continue;
		/* m = 1 over all the weights (a fresh pass each time: memory-bound) */
		rows = isa == KERN_ISA_PORTABLE ? tg_rows / 4 : tg_rows;
		for (rep = 0; rep < 3; rep++) {
			tt = now();
			kern_mul_mat_isa(isa, t, w, rb, k, 0, (int64_t)rows, x1, 0, 1, out,
					 (int64_t)rows);
			tt = now() - tt;
			if (tt < t1)
				t1 = tt;
		}
		/* the same in consecutive calls of 160 rows, as the thread pool hands a product out
		 * (~16 ranges): what starting a range costs */
		for (rep = 0; rep < 3; rep++) {
			tt = now();
			for (r0 = 0; r0 < rows; r0 += 160)
				kern_mul_mat_isa(isa, t, w, rb, k, (int64_t)r0,
						 (int64_t)(r0 + 160 < rows ? r0 + 160 : rows), x1,
						 0, 1, out, (int64_t)rows);
			tt = now() - tt;
			if (tt < tr)
				tr = tt;
		}
		/* m = 128 on pp_rows rows (weights in cache, compute-bound) */
		reps = isa == KERN_ISA_PORTABLE ? 1 : 3;
		size_t prow = isa == KERN_ISA_PORTABLE ? pp_rows / 8 : pp_rows;
		for (rep = 0; rep < reps; rep++) {
			tt = now();
			kern_mul_mat_isa(isa, t, w, rb, k, 0, (int64_t)prow, xm,
					 kern_row_size(kern_vec_dot_type(t), k), m, out,
					 (int64_t)prow);
			tt = now() - tt;
			if (tt < tm)
				tm = tt;
		}
		{
			double gb1 = (double)(rb * rows) / t1 / 1e9,
			       gbr = (double)(rb * rows) / tr / 1e9;
			double gf1 = 2.0 * (double)rows * (double)k / t1 / 1e9;
			double gfm = 2.0 * (double)prow * (double)k * (double)m / tm / 1e9;

			printf("%-5s %-12s m=1: %6.2f GB/s (%3.0f%% of read bw) %6.2f GFLOP/s, in "
			       "160-row calls %6.2f GB/s | m=128: %7.2f GFLOP/s (~%5.1f tok/s on "
			       "0.8B)\n",
			       gguf_type_info(t)->name, kern_isa_name(isa), gb1,
			       membw > 0 ? 100.0 * gb1 / membw : 0.0, gf1, gbr, gfm,
			       gfm / (2 * 0.836));
		}
	}
done:
	if (w != NULL)
		munmap(w, rb * w_rows);
	free(x1);
	free(xm);
	free(out);
}

int main(void)
{
	static const uint32_t types[] = {
	    GGUF_GGML_Q4_0, GGUF_GGML_Q8_0, GGUF_GGML_Q4_K, GGUF_GGML_Q5_K, GGUF_GGML_Q6_K,
	    GGUF_GGML_Q5_0, GGUF_GGML_Q4_1, GGUF_GGML_F16,  GGUF_GGML_BF16, GGUF_GGML_F32};
	const char *mb = getenv("BENCH_KERN_MB"), *sel = getenv("BENCH_KERN_TYPES");
	const int quick = getenv("BENCH_KERN_QUICK") != NULL;
	size_t tg = (size_t)((mb ? atof(mb) : quick ? 64 : 256) * (1 << 20)), i;
	double bw;

	printf("kernels: active ISA %s; one thread; k = 2048\n", kern_isa_name(kern_active_isa()));
	bw = mem_read_gbs(quick ? (size_t)256 << 20 : (size_t)1 << 30);
	printf("memory read bandwidth (STREAM-style, %s array, 1 thread): %.2f GB/s\n",
	       quick ? "256 MiB" : "1 GiB", bw);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const char *name = gguf_type_info(types[i])->name;

		if (sel != NULL && strstr(sel, name) == NULL)
			continue;
		bench_type(types[i], tg, quick, bw);
	}
	return 0;
}
