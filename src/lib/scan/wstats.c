/*
 * wstats.c — weight statistics, anomaly rules and per-tensor SHA-256 in one multi-threaded pass.
 *
 * Owns: dequantisation of the supported types (written from the ggml block layouts), the fused
 * hash + moments loop, sampled entropy and beyond-3-sigma, repeated-block fingerprints, the
 * cross-layer comparison and the score. See wstats.h for what is sampled.
 * Never: reads outside [data, data + nbytes) of a tensor whose bounds it checked, writes to the
 * model, keeps state between calls, or reports a type it did not decode as clean (it says
 * "wstats.unanalysed").
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WSTATS_X86 1
#endif

#include "json.h"
#include "scan/wstats.h"
#include "sha256.h"

#define CHUNK_BYTES (16u * 1024)
#define MAX_CHUNK_FLOATS (CHUNK_BYTES / 18 * 32 + 256)
#define FP_SLOTS 4096u
#define ENTROPY_EVERY 16u     /* one chunk in 16 feeds the byte histogram */
#define BEYOND_MAX_CHUNKS 256 /* chunks sampled for the beyond-3-sigma share */

/* Internal value types beyond ggml's: safetensors F32/F16/BF16 map onto the GGUF ids. */
#define WT_NONE UINT32_MAX

void wstats_thresholds_default(struct wstats_thresholds *t)
{
	t->min_elements = 256;
	t->kurtosis_max = 100.0;
	t->abs_mean_max = 10.0;
	t->variance_min = 1e-12;
	t->zero_frac_max = 0.99;
	t->beyond3s_max = 0.10;
	t->repeated_max = 0.10;
	t->entropy_min = 1.0;
	t->layer_z_max = 5.0;
	t->layer_ratio_min = 4.0;
	t->layer_min_count = 4;
	t->score_warn = 0.2;
	t->score_fail = 0.5;
}

/* ---- decoding ------------------------------------------------------------------------------ */

static float f16_scalar(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
	uint32_t bits;
	float f;

	if (exp == 0) {
		f = ldexpf((float)man, -24);
		return sign ? -f : f;
	}
	if (exp == 31)
		bits = sign | 0x7f800000u | (man << 13);
	else
		bits = sign | ((exp + 112) << 23) | (man << 13);
	memcpy(&f, &bits, 4);
	return f;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

#ifdef WSTATS_X86
__attribute__((target("f16c,avx"))) static void f16_row_f16c(const uint8_t *in, float *out,
							       size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m128i h = _mm_loadu_si128((const __m128i *)(const void *)(in + 2 * i));
		_mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
	}
	for (; i < n; i++)
		out[i] = f16_scalar(rd16(in + 2 * i));
}
#endif

static void f16_row(const uint8_t *in, float *out, size_t n)
{
#ifdef WSTATS_X86
	/* Every CPU with AVX2 has F16C (clang's builtin does not know "f16c"). */
	if (__builtin_cpu_supports("avx2")) {
		f16_row_f16c(in, out, n);
		return;
	}
#endif
	for (size_t i = 0; i < n; i++)
		out[i] = f16_scalar(rd16(in + 2 * i));
}

static void bf16_row(const uint8_t *in, float *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t b = (uint32_t)rd16(in + 2 * i) << 16;
		memcpy(&out[i], &b, 4);
	}
}

static void k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
	if (j < 4) {
		*sc = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
		*m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
	}
}

int wstats_dequant(uint32_t type, const void *src, size_t nb, float *y)
{
	const uint8_t *b = src;

	switch (type) {
	case GGUF_GGML_F32:
		memcpy(y, b, nb * 4);
		return 0;
	case GGUF_GGML_F16:
		f16_row(b, y, nb);
		return 0;
	case GGUF_GGML_BF16:
		bf16_row(b, y, nb);
		return 0;
	case GGUF_GGML_Q4_0:
		for (size_t i = 0; i < nb; i++, b += 18, y += 32) {
			float d = f16_scalar(rd16(b));
			for (int j = 0; j < 16; j++) {
				y[j] = (float)((b[2 + j] & 0xF) - 8) * d;
				y[j + 16] = (float)((b[2 + j] >> 4) - 8) * d;
			}
		}
		return 0;
	case GGUF_GGML_Q4_1:
		for (size_t i = 0; i < nb; i++, b += 20, y += 32) {
			float d = f16_scalar(rd16(b)), m = f16_scalar(rd16(b + 2));
			for (int j = 0; j < 16; j++) {
				y[j] = (float)(b[4 + j] & 0xF) * d + m;
				y[j + 16] = (float)(b[4 + j] >> 4) * d + m;
			}
		}
		return 0;
	case GGUF_GGML_Q5_0:
		for (size_t i = 0; i < nb; i++, b += 22, y += 32) {
			float d = f16_scalar(rd16(b));
			uint32_t qh = (uint32_t)b[2] | (uint32_t)b[3] << 8 | (uint32_t)b[4] << 16 |
				      (uint32_t)b[5] << 24;
			for (int j = 0; j < 16; j++) {
				int h0 = (int)((qh >> j) << 4) & 0x10, h1 = (int)(qh >> (j + 12)) & 0x10;
				y[j] = (float)(((b[6 + j] & 0xF) | h0) - 16) * d;
				y[j + 16] = (float)(((b[6 + j] >> 4) | h1) - 16) * d;
			}
		}
		return 0;
	case GGUF_GGML_Q5_1:
		for (size_t i = 0; i < nb; i++, b += 24, y += 32) {
			float d = f16_scalar(rd16(b)), m = f16_scalar(rd16(b + 2));
			uint32_t qh = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 |
				      (uint32_t)b[7] << 24;
			for (int j = 0; j < 16; j++) {
				int h0 = (int)((qh >> j) << 4) & 0x10, h1 = (int)(qh >> (j + 12)) & 0x10;
				y[j] = (float)((b[8 + j] & 0xF) | h0) * d + m;
				y[j + 16] = (float)((b[8 + j] >> 4) | h1) * d + m;
			}
		}
		return 0;
	case GGUF_GGML_Q8_0:
		for (size_t i = 0; i < nb; i++, b += 34, y += 32) {
			float d = f16_scalar(rd16(b));
			for (int j = 0; j < 32; j++)
				y[j] = (float)(int8_t)b[2 + j] * d;
		}
		return 0;
	case GGUF_GGML_Q4_K:
	case GGUF_GGML_Q5_K:
		for (size_t i = 0; i < nb; i++) {
			bool five = type == GGUF_GGML_Q5_K;
			float d = f16_scalar(rd16(b)), dmin = f16_scalar(rd16(b + 2));
			const uint8_t *sc = b + 4, *qh = b + 16, *ql = b + (five ? 48 : 16);
			uint8_t s, m, u1 = 1, u2 = 2;
			for (int j = 0, is = 0; j < 256; j += 64, is += 2) {
				float d1, m1, d2, m2;
				k_scale_min(is, sc, &s, &m);
				d1 = d * s;
				m1 = dmin * m;
				k_scale_min(is + 1, sc, &s, &m);
				d2 = d * s;
				m2 = dmin * m;
				for (int l = 0; l < 32; l++) {
					int h = five && (qh[l] & u1) ? 16 : 0;
					y[l] = d1 * (float)((ql[l] & 0xF) + h) - m1;
				}
				for (int l = 0; l < 32; l++) {
					int h = five && (qh[l] & u2) ? 16 : 0;
					y[32 + l] = d2 * (float)((ql[l] >> 4) + h) - m2;
				}
				y += 64;
				ql += 32;
				u1 = (uint8_t)(u1 << 2);
				u2 = (uint8_t)(u2 << 2);
			}
			b += five ? 176 : 144;
		}
		return 0;
	case GGUF_GGML_Q6_K:
		for (size_t i = 0; i < nb; i++, b += 210) {
			const uint8_t *ql = b, *qh = b + 128;
			const int8_t *sc = (const int8_t *)(b + 192);
			float d = f16_scalar(rd16(b + 208));
			for (int n = 0; n < 256; n += 128) {
				for (int l = 0; l < 32; l++) {
					int is = l / 16;
					int q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
					int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
					int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
					int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
					y[l] = d * sc[is] * (float)q1;
					y[l + 32] = d * sc[is + 2] * (float)q2;
					y[l + 64] = d * sc[is + 4] * (float)q3;
					y[l + 96] = d * sc[is + 6] * (float)q4;
				}
				y += 128;
				ql += 64;
				qh += 32;
				sc += 8;
			}
		}
		return 0;
	default:
		return -1;
	}
}

static bool type_quantised(uint32_t type)
{
	const struct gguf_type_info *ti = gguf_type_info(type);
	return ti->block_size > 1;
}

/* ---- moments ------------------------------------------------------------------------------- */

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

struct acc {
	double s1, s2, s3, s4; /* moments of x - pivot */
	double pivot;
	bool have_pivot;
	double min, max;
	uint64_t n, nan, inf, zero;
};

static void acc_slow(struct acc *a, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		double v = x[i], y, y2;
		if (isnan(x[i])) {
			a->nan++;
			continue;
		}
		if (isinf(x[i])) {
			a->inf++;
			continue;
		}
		if (x[i] == 0.0f)
			a->zero++;
		if (!a->have_pivot) {
			a->pivot = v;
			a->have_pivot = true;
		}
		y = v - a->pivot;
		y2 = y * y;
		a->s1 += y;
		a->s2 += y2;
		a->s3 += y2 * y;
		a->s4 += y2 * y2;
		if (v < a->min)
			a->min = v;
		if (v > a->max)
			a->max = v;
		a->n++;
	}
}

/* m ? a : b per lane (a macro: vectors are not passed by value, no ABI question). */
#define VSEL(m, a, b) ((v8f)(((v8i)(a) & (m)) | ((v8i)(b) & ~(m))))

/* Fast path: float vectors; any NaN/Inf (or an overflow) sends the chunk to acc_slow. Inlined
 * twice: plain (SSE2) and compiled for AVX2+FMA, picked at run time. */
static inline __attribute__((always_inline)) void acc_floats_body(struct acc *a, const float *x,
								 size_t n)
{
	v8f s1 = {0}, s2 = {0}, s3 = {0}, s4 = {0}, vmin, vmax, p;
	v8i z = {0};
	float pv, t1 = 0, t2 = 0, t3 = 0, t4 = 0, mn, mx;
	size_t i = 0, nv = n & ~(size_t)7;
	uint64_t zeros = 0;

	if (n == 0)
		return;
	if (!a->have_pivot) {
		for (size_t k = 0; k < n; k++)
			if (isfinite(x[k])) {
				a->pivot = x[k];
				a->have_pivot = true;
				break;
			}
		if (!a->have_pivot) {
			acc_slow(a, x, n);
			return;
		}
	}
	pv = (float)a->pivot;
	p = (v8f){pv, pv, pv, pv, pv, pv, pv, pv};
	vmin = (v8f){INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY};
	vmax = -vmin;
	for (; i < nv; i += 8) {
		v8f v, y, y2;
		memcpy(&v, x + i, sizeof(v));
		y = v - p;
		y2 = y * y;
		s1 += y;
		s2 += y2;
		s3 += y2 * y;
		s4 += y2 * y2;
		z -= (v8i)(v == 0.0f);
		vmin = VSEL((v8i)(v < vmin), v, vmin);
		vmax = VSEL((v8i)(v > vmax), v, vmax);
	}
	mn = INFINITY;
	mx = -INFINITY;
	for (int k = 0; k < 8; k++) {
		t1 += s1[k];
		t2 += s2[k];
		t3 += s3[k];
		t4 += s4[k];
		zeros += (uint64_t)z[k];
		mn = vmin[k] < mn ? vmin[k] : mn;
		mx = vmax[k] > mx ? vmax[k] : mx;
	}
	for (; i < n; i++) {
		float y = x[i] - pv, y2 = y * y;
		t1 += y;
		t2 += y2;
		t3 += y2 * y;
		t4 += y2 * y2;
		zeros += x[i] == 0.0f;
		mn = x[i] < mn ? x[i] : mn;
		mx = x[i] > mx ? x[i] : mx;
	}
	if (!isfinite(t1) || !isfinite(t2) || !isfinite(t3) || !isfinite(t4) || !isfinite(mn) ||
	    !isfinite(mx)) {
		acc_slow(a, x, n);
		return;
	}
	a->s1 += t1;
	a->s2 += t2;
	a->s3 += t3;
	a->s4 += t4;
	a->zero += zeros;
	a->n += n;
	if (mn < a->min)
		a->min = mn;
	if (mx > a->max)
		a->max = mx;
}

static void acc_floats_generic(struct acc *a, const float *x, size_t n)
{
	acc_floats_body(a, x, n);
}

#ifdef WSTATS_X86
__attribute__((target("avx2,fma"))) static void acc_floats_avx2(struct acc *a, const float *x,
								size_t n)
{
	acc_floats_body(a, x, n);
}
#endif

static void acc_floats(struct acc *a, const float *x, size_t n, bool avx2)
{
#ifdef WSTATS_X86
	if (avx2) {
		acc_floats_avx2(a, x, n);
		return;
	}
#endif
	(void)avx2;
	acc_floats_generic(a, x, n);
}

/* ---- one tensor ---------------------------------------------------------------------------- */

struct job {
	struct wstats_tensor *t;
	const uint8_t *data;
	uint32_t type; /* GGUF ggml id, or WT_NONE (hash only) */
};

struct worker_ctx {
	struct job *jobs;
	size_t n;
	atomic_size_t next;
	atomic_int failed;
};

struct scratch {
	float *f;
	uint64_t *fp;
	struct sha256 h;
};

static uint64_t fp64(const uint8_t *p, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ n, w;

	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return h ? h : 1;
}

static void scan_tensor(struct job *j, struct scratch *s)
{
	struct wstats_tensor *t = j->t;
	const struct gguf_type_info *ti = gguf_type_info(j->type == WT_NONE ? 0 : j->type);
	size_t bs = j->type == WT_NONE ? 1 : ti->type_size, be = j->type == WT_NONE ? 1 : ti->block_size;
	size_t blocks_per_chunk = CHUNK_BYTES / bs, chunk = blocks_per_chunk * bs;
	uint64_t hist[256] = {0}, hist_n = 0, repeats = 0, blocks = 0;
	uint64_t nchunks = (t->nbytes + chunk - 1) / chunk, c;
	bool decode = j->type != WT_NONE, quant = decode && type_quantised(j->type);
	struct acc a = {.min = INFINITY, .max = -INFINITY};
	bool avx2 = false;

#ifdef WSTATS_X86
	avx2 = __builtin_cpu_supports("avx2");
#endif

	if (quant)
		memset(s->fp, 0, FP_SLOTS * sizeof(*s->fp));
	for (c = 0; c < nchunks; c++) {
		const uint8_t *p = j->data + c * chunk;
		size_t len = (size_t)(t->nbytes - c * chunk < chunk ? t->nbytes - c * chunk : chunk);
		size_t nb = len / bs;
		sha256_update(&s->h, p, len);
		if (c % ENTROPY_EVERY == 0) {
			uint64_t h4[4][256];
			memset(h4, 0, sizeof(h4));
			size_t i = 0;
			for (; i + 4 <= len; i += 4) {
				h4[0][p[i]]++;
				h4[1][p[i + 1]]++;
				h4[2][p[i + 2]]++;
				h4[3][p[i + 3]]++;
			}
			for (; i < len; i++)
				h4[0][p[i]]++;
			for (int k = 0; k < 256; k++)
				hist[k] += h4[0][k] + h4[1][k] + h4[2][k] + h4[3][k];
			hist_n += len;
		}
		if (quant) {
			for (size_t b = 0; b < nb; b++) {
				uint64_t f = fp64(p + b * bs, bs);
				uint64_t *slot = &s->fp[f & (FP_SLOTS - 1)];
				if (*slot == f)
					repeats++;
				else
					*slot = f;
			}
			blocks += nb;
		}
		if (decode && nb > 0) {
			wstats_dequant(j->type, p, nb, s->f);
			acc_floats(&a, s->f, nb * be, avx2);
		}
	}
	sha256_final(&s->h, t->sha256);
	if (hist_n > 0) {
		double e = 0;
		for (int k = 0; k < 256; k++)
			if (hist[k]) {
				double q = (double)hist[k] / (double)hist_n;
				e -= q * log2(q);
			}
		t->entropy = e;
	}
	t->repeated = blocks ? (double)repeats / (double)blocks : 0;
	if (!decode)
		return;
	t->analysed = true;
	t->n = a.n;
	t->n_nan = a.nan;
	t->n_inf = a.inf;
	t->n_zero = a.zero;
	t->min = a.n ? a.min : 0;
	t->max = a.n ? a.max : 0;
	if (a.n > 0) {
		double n = (double)a.n, m1 = a.s1 / n, m2 = a.s2 / n, m3 = a.s3 / n, m4 = a.s4 / n;
		double var = m2 - m1 * m1, mu4;
		if (var < 0 || t->min == t->max)
			var = 0;
		mu4 = m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * m1 * m1 * m1 * m1;
		t->mean = a.pivot + m1;
		t->var = var;
		t->kurtosis = var > 0 ? mu4 / (var * var) : 0;
	}
	if (t->var > 0) {
		double sd3 = 3 * sqrt(t->var);
		uint64_t step = nchunks > BEYOND_MAX_CHUNKS ? nchunks / BEYOND_MAX_CHUNKS : 1, seen = 0,
			 out = 0;
		for (c = 0; c < nchunks; c += step) {
			const uint8_t *p = j->data + c * chunk;
			size_t len = (size_t)(t->nbytes - c * chunk < chunk ? t->nbytes - c * chunk
									    : chunk);
			size_t nel = len / bs * be;
			wstats_dequant(j->type, p, len / bs, s->f);
			for (size_t i = 0; i < nel; i++) {
				double v = s->f[i];
				if (!isfinite(v))
					continue;
				out += fabs(v - t->mean) > sd3;
				seen++;
			}
		}
		t->beyond3s = seen ? (double)out / (double)seen : 0;
	}
}

static void *worker(void *arg)
{
	struct worker_ctx *w = arg;
	struct scratch s = {0};
	size_t i;

	s.f = malloc(MAX_CHUNK_FLOATS * sizeof(float));
	s.fp = malloc(FP_SLOTS * sizeof(uint64_t));
	if (s.f == NULL || s.fp == NULL || sha256_init(&s.h) != 0) {
		atomic_store(&w->failed, 1);
		free(s.f);
		free(s.fp);
		return NULL;
	}
	while ((i = atomic_fetch_add(&w->next, 1)) < w->n)
		scan_tensor(&w->jobs[i], &s);
	sha256_free(&s.h);
	sha256_thread_cleanup();
	free(s.f);
	free(s.fp);
	return NULL;
}

static int cmp_job_size(const void *a, const void *b)
{
	uint64_t x = ((const struct job *)a)->t->nbytes, y = ((const struct job *)b)->t->nbytes;
	return x < y ? 1 : x > y ? -1 : 0;
}

static int run_jobs(struct job *jobs, size_t n, int threads)
{
	struct worker_ctx w = {.jobs = jobs, .n = n};
	pthread_t tid[16];
	int started = 0;

	atomic_init(&w.next, 0);
	atomic_init(&w.failed, 0);
	qsort(jobs, n, sizeof(*jobs), cmp_job_size);
	if (threads <= 0)
		threads = 2;
	if (threads > 16)
		threads = 16;
	for (int i = 1; i < threads && (size_t)i < n; i++)
		if (pthread_create(&tid[started], NULL, worker, &w) == 0)
			started++;
	worker(&w);
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	return atomic_load(&w.failed) ? -1 : 0;
}

/* ---- roles, rules, score ------------------------------------------------------------------- */

int wstats_role(const char *name, char *role, size_t cap)
{
	const char *p = name;
	int layer = -1;

	snprintf(role, cap, "%s", name);
	while (*p) {
		const char *q = p;
		if ((p == name || p[-1] == '.') && *p >= '0' && *p <= '9') {
			long v = 0;
			while (*q >= '0' && *q <= '9' && v < 1000000)
				v = v * 10 + (*q++ - '0');
			if ((*q == '.' || *q == '\0') && layer < 0) {
				layer = (int)v;
				snprintf(role, cap, "%.*s#%s", (int)(p - name), name, q);
				break;
			}
		}
		p++;
	}
	return layer;
}

struct role_ix {
	char role[WSTATS_NAME_MAX];
	size_t i;
};

static int cmp_role(const void *a, const void *b)
{
	return strcmp(((const struct role_ix *)a)->role, ((const struct role_ix *)b)->role);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y ? 1 : 0;
}

static void cross_layer(struct wstats *w, const struct wstats_thresholds *th,
			struct scan_report *r, const char *file)
{
	struct role_ix *ix = calloc(w->n + 1, sizeof(*ix));
	double *v = calloc(w->n + 1, sizeof(double)), *dev = calloc(w->n + 1, sizeof(double));
	size_t m = 0;

	if (ix == NULL || v == NULL || dev == NULL)
		goto out;
	for (size_t i = 0; i < w->n; i++) {
		if (!w->t[i].analysed || w->t[i].layer < 0 || w->t[i].var <= 0 ||
		    w->t[i].n_nan + w->t[i].n_inf > 0)
			continue;
		wstats_role(w->t[i].name, ix[m].role, sizeof(ix[m].role));
		ix[m++].i = i;
	}
	qsort(ix, m, sizeof(*ix), cmp_role);
	for (size_t g = 0; g < m;) {
		size_t e = g, k;
		double med, mad, scale, lim = log(th->layer_ratio_min);
		while (e < m && strcmp(ix[e].role, ix[g].role) == 0)
			e++;
		if (e - g >= th->layer_min_count) {
			for (k = g; k < e; k++)
				v[k - g] = 0.5 * log(w->t[ix[k].i].var);
			memcpy(dev, v, (e - g) * sizeof(double));
			qsort(dev, e - g, sizeof(double), cmp_double);
			med = dev[(e - g) / 2];
			for (k = 0; k < e - g; k++)
				dev[k] = fabs(v[k] - med);
			qsort(dev, e - g, sizeof(double), cmp_double);
			mad = dev[(e - g) / 2];
			scale = 1.4826 * mad > 1e-3 ? 1.4826 * mad : 1e-3;
			for (k = g; k < e; k++) {
				double d = fabs(v[k - g] - med), z = d / scale;
				struct wstats_tensor *t = &w->t[ix[k].i];
				if (z > th->layer_z_max && d > lim) {
					t->flags |= WSTATS_F_LAYER;
					scan_report_add(r, "wstats.layer_outlier", SCAN_SEV_WARN, file,
							t->offset, t->name,
							"std %.3g is %.1fx the median of its %zu "
							"layers (robust z %.1f)",
							sqrt(t->var), exp(v[k - g] - med), e - g, z);
				}
			}
		}
		g = e;
	}
out:
	free(ix);
	free(v);
	free(dev);
}

static void rules(struct wstats *w, const struct wstats_thresholds *th, struct scan_report *r,
		  const char *file)
{
	for (size_t i = 0; i < w->n; i++) {
		struct wstats_tensor *t = &w->t[i];
		bool matrix = t->n_dims >= 2 && t->n >= th->min_elements;
		if (!t->analysed)
			continue;
		if (t->n_nan + t->n_inf > 0) {
			t->flags |= WSTATS_F_NAN;
			scan_report_add(r, "wstats.nan_inf", SCAN_SEV_CRITICAL, file, t->offset,
					t->name, "%llu NaN and %llu Inf values",
					(unsigned long long)t->n_nan, (unsigned long long)t->n_inf);
		}
		if (matrix && t->n_zero == t->n) {
			t->flags |= WSTATS_F_ZERO;
			scan_report_add(r, "wstats.all_zero", SCAN_SEV_REJECT, file, t->offset,
					t->name, "all %llu values are zero",
					(unsigned long long)t->n);
		} else if (matrix && t->min == t->max) {
			t->flags |= WSTATS_F_CONST;
			scan_report_add(r, "wstats.constant", SCAN_SEV_REJECT, file, t->offset,
					t->name, "all %llu values are %g", (unsigned long long)t->n,
					t->min);
		} else if (matrix && t->var < th->variance_min) {
			t->flags |= WSTATS_F_LOWVAR;
			scan_report_add(r, "wstats.low_variance", SCAN_SEV_WARN, file, t->offset,
					t->name, "variance %.3g below %.3g", t->var,
					th->variance_min);
		}
		if (matrix && t->n_zero != t->n && (double)t->n_zero > th->zero_frac_max * t->n) {
			t->flags |= WSTATS_F_SPARSE;
			scan_report_add(r, "wstats.sparse", SCAN_SEV_WARN, file, t->offset, t->name,
					"%.2f%% of values are exactly zero",
					100.0 * (double)t->n_zero / (double)t->n);
		}
		if (fabs(t->mean) > th->abs_mean_max) {
			t->flags |= WSTATS_F_MEAN;
			scan_report_add(r, "wstats.mean", SCAN_SEV_WARN, file, t->offset, t->name,
					"mean %.3g beyond +-%.3g", t->mean, th->abs_mean_max);
		}
		if (t->kurtosis > th->kurtosis_max) {
			t->flags |= WSTATS_F_KURT;
			scan_report_add(r, "wstats.kurtosis", SCAN_SEV_WARN, file, t->offset,
					t->name, "kurtosis %.1f above %.1f", t->kurtosis,
					th->kurtosis_max);
		}
		if (t->beyond3s > th->beyond3s_max) {
			t->flags |= WSTATS_F_OUTLIERS;
			scan_report_add(r, "wstats.outliers", SCAN_SEV_WARN, file, t->offset,
					t->name, "%.1f%% of values beyond 3 sigma (normal: 0.3%%)",
					100.0 * t->beyond3s);
		}
		if (t->repeated > th->repeated_max && !(t->flags & (WSTATS_F_ZERO | WSTATS_F_CONST))) {
			t->flags |= WSTATS_F_REPEAT;
			scan_report_add(r, "wstats.repeated_blocks", SCAN_SEV_REJECT, file, t->offset,
					t->name, "%.1f%% of the quant blocks repeat earlier ones",
					100.0 * t->repeated);
		}
		if (matrix && t->entropy < th->entropy_min &&
		    !(t->flags & (WSTATS_F_ZERO | WSTATS_F_CONST))) {
			t->flags |= WSTATS_F_ENTROPY;
			scan_report_add(r, "wstats.low_entropy", SCAN_SEV_WARN, file, t->offset,
					t->name, "byte entropy %.2f bits/byte", t->entropy);
		}
	}
	cross_layer(w, th, r, file);
}

/*
 * Score in [0, 1], four layers weighted as gguf-guard's (values 0.30, distribution 0.25,
 * cross-layer 0.20, quantisation 0.25). Each layer is 1 when any tensor breaks a hard rule of
 * it, else the share of tensors with a soft (WARN) flag of it, scaled x4 and capped at 1.
 */
static void score(struct wstats *w, const struct wstats_thresholds *th, struct scan_report *r,
		  const char *file)
{
	double hard[4] = {0}, soft[4] = {0}, s = 0, n = 0;
	static const double wt[4] = {0.30, 0.25, 0.20, 0.25};

	for (size_t i = 0; i < w->n; i++) {
		unsigned f = w->t[i].flags;
		if (!w->t[i].analysed)
			continue;
		n++;
		if (f & (WSTATS_F_NAN | WSTATS_F_ZERO | WSTATS_F_CONST))
			hard[0] = 1;
		if (f & (WSTATS_F_LOWVAR | WSTATS_F_SPARSE))
			soft[0]++;
		if (f & (WSTATS_F_MEAN | WSTATS_F_KURT | WSTATS_F_OUTLIERS))
			soft[1]++;
		if (f & WSTATS_F_LAYER)
			soft[2]++;
		if (f & WSTATS_F_REPEAT)
			hard[3] = 1;
		if (f & WSTATS_F_ENTROPY)
			soft[3]++;
	}
	for (int k = 0; k < 4; k++) {
		double l = hard[k] > 0 ? 1 : n > 0 ? 4 * soft[k] / n : 0;
		s += wt[k] * (l > 1 ? 1 : l);
	}
	w->score = s;
	w->grade = s > th->score_fail ? "fail" : s > th->score_warn ? "warn" : "pass";
	if (s > th->score_warn)
		scan_report_add(r, "wstats.score", s > th->score_fail ? SCAN_SEV_REJECT : SCAN_SEV_WARN,
				file, SCAN_OFFSET_NONE, NULL,
				"weight anomaly score %.2f (%s; pass <= %.2f < warn <= %.2f < fail)",
				s, w->grade, th->score_warn, th->score_fail);
}

static int finish(struct wstats *w, struct job *jobs, size_t nj, int threads,
		  const struct wstats_thresholds *th, struct scan_report *r, const char *file)
{
	struct wstats_thresholds def;

	if (th == NULL) {
		wstats_thresholds_default(&def);
		th = &def;
	}
	for (size_t i = 0; i < w->n; i++)
		w->t[i].layer = -1;
	if (run_jobs(jobs, nj, threads) != 0) {
		scan_report_add(r, "wstats.error", SCAN_SEV_ERROR, file, SCAN_OFFSET_NONE, NULL,
				"out of memory computing weight statistics");
		return -1;
	}
	for (size_t i = 0; i < w->n; i++) {
		char role[WSTATS_NAME_MAX];
		w->t[i].layer = wstats_role(w->t[i].name, role, sizeof(role));
		if (!w->t[i].analysed)
			w->n_unanalysed++;
	}
	if (w->n_unanalysed > 0)
		scan_report_add(r, "wstats.unanalysed", SCAN_SEV_INFO, file, SCAN_OFFSET_NONE, NULL,
				"%zu tensor%s of a type not decoded here (hashed only: IQ*, "
				"Q2_K, Q3_K, Q8_1, Q8_K, integer, ...)",
				w->n_unanalysed, w->n_unanalysed == 1 ? "" : "s");
	rules(w, th, r, file);
	score(w, th, r, file);
	return 0;
}

static bool decodable(uint32_t type)
{
	float tmp[256];
	static const uint8_t zero[292];
	return type < GGUF_GGML_TYPE_COUNT && wstats_dequant(type, zero, 1, tmp) == 0;
}

int wstats_scan_gguf(const struct gguf_file *f, const struct wstats_thresholds *th, int threads,
		     struct wstats *out, struct scan_report *r, const char *file)
{
	size_t n = gguf_n_tensors(f);
	struct job *jobs;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->format, sizeof(out->format), "gguf");
	out->grade = "pass";
	if (!gguf_is_valid(f)) {
		scan_report_add(r, "wstats.skipped", SCAN_SEV_INFO, file, SCAN_OFFSET_NONE, NULL,
				"GGUF invalid: weight statistics not computed");
		return -1;
	}
	out->t = calloc(n + 1, sizeof(*out->t));
	jobs = calloc(n + 1, sizeof(*jobs));
	if (out->t == NULL || jobs == NULL) {
		free(jobs);
		wstats_free(out);
		scan_report_add(r, "wstats.error", SCAN_SEV_ERROR, file, SCAN_OFFSET_NONE, NULL,
				"out of memory");
		return -1;
	}
	out->n = n;
	for (size_t i = 0; i < n; i++) {
		const struct gguf_tensor_info *ti = gguf_tensor_at(f, i);
		struct wstats_tensor *t = &out->t[i];
		snprintf(t->name, sizeof(t->name), "%s", ti->name);
		snprintf(t->type, sizeof(t->type), "%s", gguf_type_info(ti->type)->name);
		t->n_dims = ti->n_dims;
		for (uint32_t d = 0; d < GGUF_MAX_DIMS && d < ti->n_dims; d++)
			t->ne[d] = ti->ne[d];
		t->offset = ti->file_offset;
		t->nbytes = ti->nbytes;
		jobs[i].t = t;
		jobs[i].data = ti->data;
		jobs[i].type = decodable(ti->type) ? ti->type : WT_NONE;
		if (ti->data == NULL || ti->file_offset > gguf_file_size(f) ||
		    ti->nbytes > gguf_file_size(f) - ti->file_offset) {
			jobs[i].data = (const uint8_t *)gguf_map(f);
			t->nbytes = 0;
			jobs[i].type = WT_NONE;
		}
	}
	rc = finish(out, jobs, n, threads, th, r, file);
	free(jobs);
	return rc;
}

/* ---- safetensors --------------------------------------------------------------------------- */

static uint32_t st_type(const char *dtype, size_t *elsize)
{
	*elsize = 0;
	if (strcmp(dtype, "F32") == 0 || strcmp(dtype, "I32") == 0 || strcmp(dtype, "U32") == 0)
		*elsize = 4;
	else if (strcmp(dtype, "F16") == 0 || strcmp(dtype, "BF16") == 0 ||
		 strcmp(dtype, "I16") == 0 || strcmp(dtype, "U16") == 0)
		*elsize = 2;
	else if (strcmp(dtype, "F64") == 0 || strcmp(dtype, "I64") == 0 ||
		 strcmp(dtype, "U64") == 0 || strcmp(dtype, "C64") == 0)
		*elsize = 8;
	else if (strcmp(dtype, "U8") == 0 || strcmp(dtype, "I8") == 0 ||
		 strcmp(dtype, "BOOL") == 0 || strncmp(dtype, "F8_", 3) == 0)
		*elsize = 1;
	if (strcmp(dtype, "F32") == 0)
		return GGUF_GGML_F32;
	if (strcmp(dtype, "F16") == 0)
		return GGUF_GGML_F16;
	if (strcmp(dtype, "BF16") == 0)
		return GGUF_GGML_BF16;
	return WT_NONE;
}

static int cmp_tensor_off(const void *a, const void *b)
{
	uint64_t x = ((const struct wstats_tensor *)a)->offset;
	uint64_t y = ((const struct wstats_tensor *)b)->offset;
	return x < y ? -1 : x > y ? 1 : 0;
}

int wstats_scan_safetensors(const void *data, size_t len, const struct wstats_thresholds *th,
			    int threads, struct wstats *out, struct scan_report *r, const char *file)
{
	const uint8_t *d = data;
	uint64_t hlen = 0, base;
	json_t *root = NULL, *v;
	const char *key;
	struct job *jobs = NULL;
	char err[160];
	size_t n = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	snprintf(out->format, sizeof(out->format), "safetensors");
	out->grade = "pass";
	for (int i = 7; len >= 8 && i >= 0; i--)
		hlen = hlen << 8 | d[i];
	if (len < 8 || hlen > len - 8 || hlen > 100000000u) {
		scan_report_add(r, "wstats.skipped", SCAN_SEV_INFO, file, SCAN_OFFSET_NONE, NULL,
				"safetensors header length out of the file: no weight statistics");
		return -1;
	}
	base = 8 + hlen;
	root = json_parse_object((const char *)d + 8, (size_t)hlen, (size_t)hlen, err, sizeof(err));
	if (root == NULL) {
		scan_report_add(r, "wstats.skipped", SCAN_SEV_INFO, file, SCAN_OFFSET_NONE, NULL,
				"safetensors header not JSON: no weight statistics");
		return -1;
	}
	out->t = calloc(json_object_size(root) + 1, sizeof(*out->t));
	if (out->t == NULL)
		goto nomem;
	json_object_foreach(root, key, v) {
		struct wstats_tensor *t = &out->t[n];
		const json_t *shape = json_object_get(v, "shape"), *offs;
		const char *dt = json_is_object(v) ? json_get_string(v, "dtype") : NULL;
		uint64_t b, e, cnt = 1;
		size_t el, k;
		if (strcmp(key, "__metadata__") == 0)
			continue;
		offs = json_object_get(v, "data_offsets");
		if (dt == NULL || !json_is_array(shape) || json_array_size(shape) > WSTATS_MAX_DIMS ||
		    !json_is_array(offs) || json_array_size(offs) != 2 ||
		    !json_is_integer(json_array_get(offs, 0)) ||
		    !json_is_integer(json_array_get(offs, 1)))
			continue;
		if (json_integer_value(json_array_get(offs, 0)) < 0 ||
		    json_integer_value(json_array_get(offs, 1)) < 0)
			continue;
		b = (uint64_t)json_integer_value(json_array_get(offs, 0));
		e = (uint64_t)json_integer_value(json_array_get(offs, 1));
		if (b > e || e > len - base)
			continue;
		snprintf(t->name, sizeof(t->name), "%s", key);
		snprintf(t->type, sizeof(t->type), "%s", dt);
		t->n_dims = (uint32_t)json_array_size(shape);
		for (k = 0; k < t->n_dims; k++) {
			json_int_t dim = json_integer_value(json_array_get(shape, k));
			t->ne[k] = dim > 0 ? (uint64_t)dim : 0;
			if (__builtin_mul_overflow(cnt, t->ne[k], &cnt))
				cnt = UINT64_MAX;
		}
		t->offset = base + b;
		t->nbytes = e - b;
		/* A tensor whose size is not shape x dtype is hashed but not decoded. */
		t->n = st_type(dt, &el) != WT_NONE && el && cnt <= t->nbytes / el &&
		       cnt * el == t->nbytes;
		n++;
	}
	out->n = n;
	qsort(out->t, n, sizeof(*out->t), cmp_tensor_off);
	jobs = calloc(n + 1, sizeof(*jobs));
	if (jobs == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		size_t el;
		jobs[i].t = &out->t[i];
		jobs[i].data = d + out->t[i].offset;
		jobs[i].type = out->t[i].n ? st_type(out->t[i].type, &el) : WT_NONE;
		out->t[i].n = 0;
	}
	rc = finish(out, jobs, n, threads, th, r, file);
	free(jobs);
	json_decref(root);
	return rc;
nomem:
	json_decref(root);
	free(jobs);
	wstats_free(out);
	scan_report_add(r, "wstats.error", SCAN_SEV_ERROR, file, SCAN_OFFSET_NONE, NULL,
			"out of memory");
	return -1;
}

void wstats_free(struct wstats *w)
{
	free(w->t);
	w->t = NULL;
	w->n = 0;
}
