/*
 * scan_bench.c — driver for bench/scan/run.sh: writes a ~1 GiB GGUF of random F16 weights, and
 * times weight statistics + per-tensor SHA-256 + manifest on it (two threads).
 *
 * Owns: `scan_bench gen PATH [MiB]` and `scan_bench scan PATH`. Never: writes anywhere but PATH.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "scan/manifest.h"
#include "scan/wstats.h"

#define COLS 4096u
#define ROWS 8192u /* one tensor: 64 MiB of F16 */

static uint16_t f16_of(float f)
{
	uint32_t b;
	int e;
	memcpy(&b, &f, 4);
	e = (int)((b >> 23) & 0xff) - 127 + 15;
	if (e <= 0)
		return (uint16_t)((b >> 16) & 0x8000);
	return (uint16_t)(((b >> 16) & 0x8000) | (uint32_t)e << 10 | ((b >> 13) & 0x3ff));
}

static int gen(const char *path, unsigned mib)
{
	size_t n = (size_t)COLS * ROWS + COLS * 64, nt = mib / 64 ? mib / 64 : 1;
	uint16_t *d = malloc(n * 2);
	uint64_t x = 0x9E3779B97F4A7C15ull, ne[2] = {COLS, ROWS};
	struct gguf_writer *w = gguf_writer_new();
	char name[64];
	int rc;

	if (d == NULL || w == NULL)
		return 1;
	for (size_t i = 0; i < n; i++) {
		float u = 0;
		for (int k = 0; k < 4; k++) { /* Irwin-Hall: close enough to normal */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			u += (float)(x >> 40) / 16777216.0f;
		}
		d[i] = f16_of((u - 2.0f) * 1.732f / 64.0f);
	}
	gguf_writer_add_str(w, "general.architecture", "benchscan");
	for (size_t t = 0; t < nt; t++) {
		snprintf(name, sizeof(name), "blk.%zu.ffn_up.weight", t);
		gguf_writer_add_tensor(w, name, GGUF_GGML_F16, 2, ne, d + (t % 64) * COLS);
	}
	rc = gguf_writer_to_file(w, path);
	gguf_writer_free(w);
	free(d);
	return rc == 0 ? 0 : 1;
}

static int scan(const char *path)
{
	struct timespec a, b;
	struct gguf_file *f;
	struct scan_report r;
	struct wstats w;
	struct manifest m;

	clock_gettime(CLOCK_MONOTONIC, &a);
	if (gguf_open(path, &f, NULL) != 0)
		return 1;
	scan_report_init(&r);
	if (wstats_scan_gguf(f, NULL, 2, &w, &r, path) != 0 || manifest_from_wstats(&w, &m) != 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.3f %zu %s %zu\n", (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9,
	       w.n, w.grade, r.n);
	manifest_free(&m);
	wstats_free(&w);
	scan_report_free(&r);
	gguf_close(f);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "gen") == 0)
		return gen(argv[2], argc > 3 ? (unsigned)atoi(argv[3]) : 1024);
	if (argc == 3 && strcmp(argv[1], "scan") == 0)
		return scan(argv[2]);
	fprintf(stderr, "usage: scan_bench gen PATH [MiB] | scan PATH\n");
	return 64;
}
