/*
 * bench_gguf.c — how long gguf_open() (mmap + full validation) takes compared with reading the
 * file once, the cost every other consumer of the file pays anyway.
 *
 *   bench_gguf FILE...            one line of figures per file
 *   bench_gguf --generate PATH    writes a ~1 GB llama-shaped F16 model (zeros) to PATH first
 *
 * Owns: timing only. Never: fails a build (prints figures, exits 0 unless it cannot run at all),
 * or leaves the generated file behind when asked to delete it (run.sh deletes it).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "gguf/gguf_write.h"

#define RUNS 31

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Like `cat FILE > /dev/null`: read(2) every byte once. */
static double read_once_ms(const char *path)
{
	static char chunk[1 << 20];
	double t0 = now_ms();
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		;
	close(fd);
	return now_ms() - t0;
}

static int bench(const char *path)
{
	double t[RUNS], rd, best_rd = 1e30;
	struct gguf_report r = GGUF_REPORT_INIT;
	struct gguf_file *f = NULL;
	uint64_t size;
	size_t nt, nkv;
	int i, rc;

	for (i = 0; i < 3; i++) { /* warm the page cache, keep the best */
		rd = read_once_ms(path);
		if (rd < 0) {
			perror(path);
			return -1;
		}
		if (rd < best_rd)
			best_rd = rd;
	}
	rc = gguf_open(path, &f, &r);
	if (rc != 0) {
		fprintf(stderr, "%s: not valid (rc %d)\n", path, rc);
		gguf_report_print(&r, stderr);
		gguf_report_free(&r);
		return -1;
	}
	size = gguf_file_size(f);
	nt = gguf_n_tensors(f);
	nkv = gguf_n_kv(f);
	gguf_close(f);
	for (i = 0; i < RUNS; i++) {
		double t0 = now_ms();

		rc = gguf_open(path, &f, NULL);
		gguf_close(f);
		t[i] = now_ms() - t0;
	}
	qsort(t, RUNS, sizeof(t[0]), cmp_d);
	printf("%s\n  size %.1f MB, %zu kv, %zu tensors\n"
	       "  open+validate: median %.3f ms, min %.3f ms (%d runs, cached)\n"
	       "  read once (cat > /dev/null): %.3f ms (%.0f MB/s)\n"
	       "  ratio open+validate / read once: %.5f\n",
	       path, (double)size / 1e6, nkv, nt, t[RUNS / 2], t[0], RUNS, best_rd,
	       (double)size / 1e3 / (best_rd > 0 ? best_rd : 1), t[RUNS / 2] / best_rd);
	return 0;
}

/* ~1.07 GB: llama, n_embd 2048, n_ff 5632, 7 layers, 32000 tokens, all F16. */
static int generate(const char *path)
{
	enum { E = 2048, FF = 5632, L = 7, V = 32000 };
	struct gguf_writer *w = gguf_writer_new();
	static char names[V][12];
	static const char *tok[V];
	static float scores[V];
	static int32_t types[V];
	char name[64];
	int i, l;

	if (w == NULL)
		return -1;
	for (i = 0; i < V; i++) {
		snprintf(names[i], sizeof(names[i]), "tok%d", i);
		tok[i] = names[i];
		types[i] = 1;
	}
	gguf_writer_add_str(w, "general.architecture", "llama");
	gguf_writer_add_str(w, "general.name", "bench-1g");
	gguf_writer_add_u32(w, "llama.context_length", 4096);
	gguf_writer_add_u32(w, "llama.embedding_length", E);
	gguf_writer_add_u32(w, "llama.block_count", L);
	gguf_writer_add_u32(w, "llama.feed_forward_length", FF);
	gguf_writer_add_u32(w, "llama.attention.head_count", 16);
	gguf_writer_add_u32(w, "llama.attention.head_count_kv", 16);
	gguf_writer_add_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	gguf_writer_add_str(w, "tokenizer.ggml.model", "llama");
	gguf_writer_add_str_array(w, "tokenizer.ggml.tokens", tok, V);
	gguf_writer_add_array(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, V);
	gguf_writer_add_array(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, V);
#define T(n, nd, ...)                                                                              \
	gguf_writer_add_tensor(w, n, GGUF_GGML_F16, nd, (uint64_t[]){__VA_ARGS__}, NULL)
	T("token_embd.weight", 2, E, V);
	T("output_norm.weight", 1, E);
	T("output.weight", 2, E, V);
	for (l = 0; l < L; l++) {
#define B(what) (snprintf(name, sizeof(name), "blk.%d.%s", l, what), name)
		T(B("attn_norm.weight"), 1, E);
		T(B("attn_q.weight"), 2, E, E);
		T(B("attn_k.weight"), 2, E, E);
		T(B("attn_v.weight"), 2, E, E);
		T(B("attn_output.weight"), 2, E, E);
		T(B("ffn_norm.weight"), 1, E);
		T(B("ffn_gate.weight"), 2, E, FF);
		T(B("ffn_up.weight"), 2, E, FF);
		T(B("ffn_down.weight"), 2, FF, E);
#undef B
	}
#undef T
	i = gguf_writer_to_file(w, path);
	gguf_writer_free(w);
	return i;
}

int main(int argc, char **argv)
{
	int i = 1;

	if (argc >= 3 && strcmp(argv[1], "--generate") == 0) {
		double t0 = now_ms();

		if (generate(argv[2]) != 0) {
			perror(argv[2]);
			return 1;
		}
		printf("generated %s in %.0f ms\n", argv[2], now_ms() - t0);
		i = 2;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: bench_gguf [--generate PATH] FILE...\n");
		return 1;
	}
	for (; i < argc; i++)
		bench(argv[i]);
	return 0;
}
