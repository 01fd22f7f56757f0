/*
 * wstats.h — per-tensor weight statistics of GGUF and safetensors models, the anomaly rules on
 * them and a gguf-guard-like score; also each tensor's SHA-256 (for the tensor manifest), all in
 * one pass over the data on several threads.
 *
 * Owns: decoding tensor values (F32, F16, BF16; GGUF Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K,
 * Q6_K dequantised here; other quantisations are hashed but not analysed, and said so), the
 * statistics (NaN/Inf, zeros, min/max, mean, variance, kurtosis, share beyond 3 sigma, byte
 * entropy, repeated quant blocks), cross-layer comparison of tensors with the same role, the
 * thresholds (struct wstats_thresholds, later filled from policy) and the "wstats.*" findings.
 * Never: trusts a tensor's offset or size before checking it against the bytes it was given,
 * writes to the model, or allocates by a size read from the file before bounding it.
 * Sampling (documented in docs/signatures.md): byte entropy uses 1/16 of each tensor's bytes and
 * the beyond-3-sigma share at most ~4 MiB of evenly spaced chunks per tensor; every other
 * statistic covers every element.
 */
#ifndef SECAI_WSTATS_H
#define SECAI_WSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gguf/gguf.h"
#include "scan/scan.h"

#define WSTATS_NAME_MAX 256
#define WSTATS_MAX_DIMS 8

/* Every threshold of the weight rules. wstats_thresholds_default() gives the values tuned so
 * that random N(0,1)/sqrt(fan_in) test models and real small models pass while broken ones
 * fail; policy may override any field. */
struct wstats_thresholds {
	uint64_t min_elements;	  /* zero/constant/variance rules only for >= 2-D tensors this big */
	double kurtosis_max;	  /* excess tails: WARN above (gguf-guard: 100) */
	double abs_mean_max;	  /* |mean| above: WARN (10) */
	double variance_min;	  /* variance below (not constant): WARN (1e-12) */
	double zero_frac_max;	  /* share of exact zeros above: WARN (0.99) */
	double beyond3s_max;	  /* share of |x - mean| > 3 sigma above: WARN (0.10) */
	double repeated_max;	  /* share of repeated quant blocks above: REJECT (0.10) */
	double entropy_min;	  /* byte entropy (bits/byte) of a >= 2-D tensor below: WARN (1.0) */
	double layer_z_max;	  /* robust z of log(std) across layers above: WARN (5) */
	double layer_ratio_min;	  /* ... and std at least this factor from the median (4) */
	unsigned layer_min_count; /* role groups need this many layers (4) */
	double score_warn;	  /* score above: WARN "wstats.score" (0.2) */
	double score_fail;	  /* score above: REJECT "wstats.score" (0.5) */
};

void wstats_thresholds_default(struct wstats_thresholds *t);

struct wstats_tensor {
	char name[WSTATS_NAME_MAX];
	char type[16];		     /* "F16", "Q4_K", safetensors dtype */
	uint32_t n_dims;
	uint64_t ne[WSTATS_MAX_DIMS]; /* GGUF order (ne[0] fastest); safetensors shape order */
	uint64_t offset;	     /* absolute file offset of the data */
	uint64_t nbytes;
	uint8_t sha256[32];	     /* of the tensor's bytes */
	bool analysed;		     /* values decoded (type supported) */
	uint64_t n, n_nan, n_inf, n_zero;
	double mean, var, kurtosis, min, max;
	double beyond3s;	     /* share, over the sampled elements */
	double entropy;		     /* bits per byte, sampled */
	double repeated;	     /* share of quant blocks seen before in the tensor */
	int layer;		     /* block/layer number in the name, -1 when none */
	unsigned flags;		     /* WSTATS_F_* rules the tensor broke */
};

#define WSTATS_F_NAN 0x001u
#define WSTATS_F_ZERO 0x002u
#define WSTATS_F_CONST 0x004u
#define WSTATS_F_LOWVAR 0x008u
#define WSTATS_F_MEAN 0x010u
#define WSTATS_F_SPARSE 0x020u
#define WSTATS_F_KURT 0x040u
#define WSTATS_F_OUTLIERS 0x080u
#define WSTATS_F_REPEAT 0x100u
#define WSTATS_F_ENTROPY 0x200u
#define WSTATS_F_LAYER 0x400u

struct wstats {
	char format[16]; /* "gguf" or "safetensors" */
	struct wstats_tensor *t;
	size_t n;
	size_t n_unanalysed; /* tensors of a type not decoded (hashed only) */
	double score;	     /* 0 (clean) .. 1 */
	const char *grade;   /* "pass", "warn", "fail" */
};

/*
 * Scans every tensor of an opened, valid GGUF (gguf_is_valid) with `threads` threads (0 = 2):
 * statistics, rules and SHA-256. Findings go to r (file names the model in them). th NULL =
 * defaults. Returns 0, or -1 (out of memory, or f not valid: a "wstats.skipped" finding).
 */
int wstats_scan_gguf(const struct gguf_file *f, const struct wstats_thresholds *th, int threads,
		     struct wstats *out, struct scan_report *r, const char *file);
/* The same over a whole safetensors file in memory (its header is re-read here, bounded). */
int wstats_scan_safetensors(const void *data, size_t len, const struct wstats_thresholds *th,
			    int threads, struct wstats *out, struct scan_report *r, const char *file);
void wstats_free(struct wstats *w);

/* Layer number and role ("blk.#.attn_q.weight") of a tensor name; role holds cap bytes. */
int wstats_role(const char *name, char *role, size_t cap);

/* Dequantises n_blocks blocks of a supported type into out (block_size floats each). Returns 0,
 * or -1 when the type is not supported. Exposed for tests. */
int wstats_dequant(uint32_t gguf_type, const void *src, size_t n_blocks, float *out);

#endif
