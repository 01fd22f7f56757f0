/*
 * bench_tokenizer.c — tokenizer throughput (MB/s of input text) for each model given, beside a
 * memcpy of the same text (the `cat` floor) measured in the same run.
 *
 *   bench_tokenizer [--mb N] MODEL.gguf...
 *
 * The text is generated deterministically (a fixed LCG): English-like prose, C-like code, and
 * non-ASCII runs (accented Latin, Cyrillic, CJK, emoji), about N MB (default 2). Owns: timing
 * only. Never: fails a build (exit 0 unless it cannot run at all) or writes files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "gguf/gguf.h"
#include "tokenizer/tok.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

static int gen_text(struct buf *b, size_t target)
{
	static const char *words[] = {"the",	   "model",   "token",	     "secure", "of",
				      "and",	   "a",	      "workstation", "sealed", "local",
				      "inference", "is",      "to",	     "with",   "Llama",
				      "Qwen",	   "running", "data",	     "never",  "leaves"};
	static const char *code[] = {"int x = 42;\n",
				     "for (i = 0; i < n; i++) {\n",
				     "\treturn -1;\n",
				     "}\n",
				     "if (p == NULL && len > 0)\n",
				     "x += y * 3;  // sum\n",
				     "    def f(self, a, b):\n",
				     "        return a+b\n"};
	static const char *uni[] = {"caf\xc3\xa9 ",
				    "na\xc3\xafve ",
				    "\xd0\xbf\xd1\x80\xd0\xb8"
				    "\xd0\xb2\xd0\xb5\xd1\x82 ",
				    "\xe6\x88\x91\xe6\x83\xb3\xe5\x9c\xa8 ",
				    "\xf0\x9f\xa6\x99 ",
				    "\xe2\x80\x94 ",
				    "\xc3\x9c"
				    "ber ",
				    "1234567 "};
	uint32_t s = 12345;
	int rc = 0;

	while (b->len < target && rc == 0) {
		uint32_t k = lcg(&s) % 10;

		if (k < 6) {
			rc = buf_append_str(b, words[lcg(&s) % 20]);
			if (rc == 0)
				rc = buf_append_str(b, lcg(&s) % 9 ? " " : ".\n");
		} else if (k < 8) {
			rc = buf_append_str(b, code[lcg(&s) % 8]);
		} else {
			rc = buf_append_str(b, uni[lcg(&s) % 8]);
		}
	}
	return rc;
}

static void bench_model(const char *path, const struct buf *text)
{
	struct gguf_report rep = GGUF_REPORT_INIT;
	struct gguf_file *f = NULL;
	struct tok_vocab *v = NULL;
	struct tok_ids ids = TOK_IDS_INIT;
	double t0, t1, best = 1e9, load_ms;
	char err[256];
	int run;

	t0 = now_s();
	if (gguf_open(path, &f, &rep) != 0 || tok_vocab_from_gguf(f, &v, err, sizeof(err)) != 0) {
		printf("  %s: cannot load vocabulary\n", path);
		goto out;
	}
	t1 = now_s();
	load_ms = (t1 - t0) * 1e3;
	for (run = 0; run < 3; run++) {
		ids.n = 0;
		t0 = now_s();
		if (tok_tokenize(v, text->data, text->len, false, false, &ids) != 0) {
			printf("  %s: tokenize failed\n", path);
			goto out;
		}
		if (now_s() - t0 < best)
			best = now_s() - t0;
	}
	printf("  %-40s %-3s %8.2f MB/s  %7zu tokens  %.2f bytes/token  (vocab load %.0f ms)\n",
	       strrchr(path, '/') ? strrchr(path, '/') + 1 : path,
	       tok_vocab_model(v) == TOK_MODEL_SPM ? "SPM" : "BPE", text->len / best / 1e6, ids.n,
	       (double)text->len / (double)(ids.n ? ids.n : 1), load_ms);
out:
	tok_ids_free(&ids);
	tok_vocab_free(v);
	gguf_close(f);
	gguf_report_free(&rep);
}

int main(int argc, char **argv)
{
	struct buf text = BUF_INIT;
	size_t mb = 2;
	double t0, best = 1e9;
	char *dst;
	int i = 1, run;

	if (argc > 2 && strcmp(argv[1], "--mb") == 0) {
		mb = (size_t)strtoul(argv[2], NULL, 10);
		if (mb == 0 || mb > 256)
			mb = 2;
		i = 3;
	}
	if (gen_text(&text, mb << 20) != 0 || (dst = malloc(text.len)) == NULL) {
		fprintf(stderr, "bench_tokenizer: out of memory\n");
		return 1;
	}
	for (run = 0; run < 5; run++) {
		t0 = now_s();
		memcpy(dst, text.data, text.len);
		__asm__ volatile("" : : "r"(dst) : "memory");
		if (now_s() - t0 < best)
			best = now_s() - t0;
	}
	printf("tokenizer throughput, %.2f MB of mixed prose/code/unicode text (best of 3)\n",
	       text.len / 1e6);
	printf("  %-40s     %8.0f MB/s\n", "memcpy (cat floor)", text.len / best / 1e6);
	for (; i < argc; i++)
		bench_model(argv[i], &text);
	free(dst);
	buf_free(&text);
	return 0;
}
