/*
 * modelgen.c — random-weight GGUF models with a built-in SPM vocabulary (see modelgen.h).
 *
 * Owns: the synthetic vocabulary, the tensor plan (names, shapes, types as llama-quantize's
 * default recipes would choose them), random data per tensor from a per-tensor seed, and
 * writing it: the GGUF writer (which only takes in-memory data) lays the file out with zero
 * data, then each tensor is generated in chunks of rows and pwrite()n at its offset, so memory
 * stays at a few MB for any model size. Finally the file goes through gguf_open().
 * Never: depends on the engine's kernels (tools/gen_model.c compiles this file in and links only
 * libsecai), or writes a non-finite scale.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "infer/modelgen.h"

#define MG_ALIGN GGUF_DEFAULT_ALIGNMENT
#define MG_CHUNK (4u << 20) /* bytes of rows generated at a time */
#define MG_MAX_VOCAB (1u << 20)
#define MG_MIN_VOCAB 300u
#define SPACE "\xe2\x96\x81" /* U+2581, SentencePiece's space */

__attribute__((format(printf, 3, 4))) static int mg_fail(char *err, size_t errlen, const char *fmt,
							 ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---- random numbers ------------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Approximately N(0, 1): Irwin–Hall sum of four 16-bit uniforms, rescaled. */
static float gauss(uint64_t *s)
{
	uint64_t r = splitmix64(s);
	float sum = 0.0f;
	int i;

	for (i = 0; i < 4; i++, r >>= 16)
		sum += ((float)(r & 0xffff) + 0.5f) * (1.0f / 65536.0f);
	return (sum - 2.0f) * 1.7320508f;
}

/* Uniform in [lo, hi]. */
static uint32_t urange(uint64_t *s, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(splitmix64(s) % (uint64_t)(hi - lo + 1));
}

static void rand_bytes(uint64_t *s, uint8_t *p, size_t n)
{
	uint64_t r = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i % 8 == 0)
			r = splitmix64(s);
		p[i] = (uint8_t)r;
		r >>= 8;
	}
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ull;
	return h;
}

/* ---- number formats -------------------------------------------------------------------------- */

/* IEEE half, round to nearest even (subnormals included). */
static uint16_t f32_to_f16(float f)
{
	uint32_t x, sign, absx, e, mant, rem, h;
	float a;

	memcpy(&x, &f, 4);
	sign = (x >> 16) & 0x8000u;
	absx = x & 0x7fffffffu;
	if (absx >= 0x7f800000u)
		return (uint16_t)(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u));
	if (absx >= 0x477ff000u) /* >= 65520: rounds to infinity */
		return (uint16_t)(sign | 0x7c00u);
	if (absx < 0x38800000u) { /* below 2^-14: subnormal half, exact scaling then rint */
		memcpy(&a, &absx, 4);
		return (uint16_t)(sign | (uint32_t)lrintf(a * 16777216.0f));
	}
	e = (absx >> 23) - 127 + 15;
	mant = absx & 0x7fffffu;
	h = (e << 10) | (mant >> 13);
	rem = mant & 0x1fffu;
	if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
		h++;
	return (uint16_t)(sign | h);
}

static uint16_t f32_to_bf16(float f)
{
	uint32_t x;

	memcpy(&x, &f, 4);
	return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* A scale for a block: the target, jittered by up to +-25%, as a finite half. */
static uint16_t scale16(uint64_t *s, float target)
{
	float j = 0.75f + 0.5f * (float)(splitmix64(s) >> 40) * (1.0f / 16777216.0f);

	return f32_to_f16(target * j);
}

/* Q4_K / Q5_K: packs 8 six-bit scales and mins into 12 bytes (ggml's get_scale_min_k4). */
static void pack_k4_scales(uint8_t out[12], const uint8_t sc[8], const uint8_t m[8])
{
	int j;

	for (j = 0; j < 4; j++) {
		out[j] = (uint8_t)(sc[j] | ((sc[j + 4] >> 4) << 6));
		out[j + 4] = (uint8_t)(m[j] | ((m[j + 4] >> 4) << 6));
		out[j + 8] = (uint8_t)((sc[j + 4] & 0xf) | ((m[j + 4] & 0xf) << 4));
	}
}

/*
 * One row of n elements of type t, values of mean `mean` and standard deviation `sd`. Quantized
 * blocks: uniform random quants, scales chosen so sd matches (std of uniform 0..15 is 4.61,
 * 0..31 9.23, 0..63 18.47, -127..127 73.6; six-bit K scales average 47.5).
 */
static void gen_row(uint32_t t, uint64_t *s, uint8_t *out, uint64_t n, float mean, float sd)
{
	uint8_t sc[8], m[8];
	uint64_t i, b, nb;
	int j;

	switch (t) {
	case GGUF_GGML_F32:
		for (i = 0; i < n; i++) {
			float v = mean + sd * gauss(s);

			memcpy(out + 4 * i, &v, 4);
		}
		return;
	case GGUF_GGML_F16:
		for (i = 0; i < n; i++)
			put16(out + 2 * i, f32_to_f16(mean + sd * gauss(s)));
		return;
	case GGUF_GGML_BF16:
		for (i = 0; i < n; i++)
			put16(out + 2 * i, f32_to_bf16(mean + sd * gauss(s)));
		return;
	default:
		break;
	}
	nb = n / gguf_type_info(t)->block_size;
	for (b = 0; b < nb; b++) {
		switch (t) {
		case GGUF_GGML_Q8_0: /* d, qs[32] */
			put16(out, scale16(s, sd / 73.6f));
			for (j = 0; j < 32; j++)
				out[2 + j] = (uint8_t)(int8_t)((int)urange(s, 0, 254) - 127);
			out += 34;
			break;
		case GGUF_GGML_Q4_0: /* d, qs[16]: x = d (q - 8) */
			put16(out, scale16(s, sd / 4.61f));
			rand_bytes(s, out + 2, 16);
			out += 18;
			break;
		case GGUF_GGML_Q4_1: { /* d, m, qs[16]: x = d q + m */
			uint16_t d = scale16(s, sd / 4.61f);
			float df = sd / 4.61f;

			put16(out, d);
			put16(out + 2, f32_to_f16(-7.5f * df));
			rand_bytes(s, out + 4, 16);
			out += 20;
			break;
		}
		case GGUF_GGML_Q5_0: /* d, qh[4], qs[16]: x = d (q - 16) */
			put16(out, scale16(s, sd / 9.23f));
			rand_bytes(s, out + 2, 20);
			out += 22;
			break;
		case GGUF_GGML_Q4_K:   /* d, dmin, scales[12], qs[128]: d sc q - dmin m */
		case GGUF_GGML_Q5_K: { /* ... qh[32], qs[128] */
			float qsd = t == GGUF_GGML_Q4_K ? 4.61f : 9.23f;
			float qmid = t == GGUF_GGML_Q4_K ? 7.5f : 15.5f;
			float d = sd / (47.5f * qsd);

			for (j = 0; j < 8; j++) {
				sc[j] = (uint8_t)urange(s, 32, 63);
				m[j] = sc[j]; /* dmin = qmid d: zero mean */
			}
			put16(out, f32_to_f16(d));
			put16(out + 2, f32_to_f16(qmid * d));
			pack_k4_scales(out + 4, sc, m);
			if (t == GGUF_GGML_Q4_K) {
				rand_bytes(s, out + 16, 128);
				out += 144;
			} else {
				rand_bytes(s, out + 16, 160);
				out += 176;
			}
			break;
		}
		case GGUF_GGML_Q6_K: /* ql[128], qh[64], scales[16], d: x = d sc (q - 32) */
			rand_bytes(s, out, 192);
			for (j = 0; j < 16; j++)
				out[192 + j] = (uint8_t)urange(s, 32, 63);
			put16(out + 208, f32_to_f16(sd / (47.5f * 18.47f)));
			out += 210;
			break;
		default:
			return; /* not reached: types are checked first */
		}
	}
}

/* ---- vocabulary ---------------------------------------------------------------------------- */

struct vocab {
	char *arena;
	size_t len, cap;
	size_t *off; /* n + 1 */
	float *score;
	int32_t *type;
	uint32_t n, max;
	uint32_t *ht; /* id + 1, 0 = empty */
	size_t ht_mask;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (n--)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ull;
	return h;
}

/* Adds text unless present or full. 1 added, 0 skipped, -1 no memory. */
static int vocab_add(struct vocab *v, const char *text, float score, int32_t type)
{
	size_t n = strlen(text), i;
	uint32_t id;

	if (v->n >= v->max)
		return 0;
	for (i = hash_bytes(text, n) & v->ht_mask; v->ht[i] != 0; i = (i + 1) & v->ht_mask) {
		id = v->ht[i] - 1;
		if (v->off[id + 1] - v->off[id] - 1 == n &&
		    memcmp(v->arena + v->off[id], text, n) == 0)
			return 0;
	}
	if (v->len + n + 1 > v->cap) {
		size_t nc = (v->cap ? v->cap * 2 : 4096) + n + 1;
		char *na = realloc(v->arena, nc);

		if (na == NULL)
			return -1;
		v->arena = na;
		v->cap = nc;
	}
	memcpy(v->arena + v->len, text, n + 1);
	v->off[v->n] = v->len;
	v->len += n + 1;
	v->off[v->n + 1] = v->len;
	v->score[v->n] = score;
	v->type[v->n] = type;
	v->ht[i] = v->n + 1;
	v->n++;
	return 1;
}

/* Adds every prefix of word (made of whole UTF-8 characters), shortest first. */
static int vocab_add_word(struct vocab *v, const char *word)
{
	char buf[64];
	size_t n = strlen(word), k;
	int r;

	for (k = 1; k <= n && k < sizeof(buf); k++) {
		if (k < n && ((uint8_t)word[k] & 0xc0) == 0x80)
			continue; /* inside a character */
		memcpy(buf, word, k);
		buf[k] = '\0';
		if ((r = vocab_add(v, buf, -(float)v->n, 1)) < 0)
			return r;
	}
	return 0;
}

static const char *const common_words[] = {
    "the",   "and",   "of",    "to",	 "in",	  "is",	  "you",       "that",	  "it",	    "he",
    "was",   "for",   "on",    "are",	 "as",	  "with", "his",       "they",	  "at",	    "be",
    "this",  "have",  "from",  "or",	 "one",	  "had",  "by",	       "word",	  "but",    "not",
    "what",  "all",   "were",  "we",	 "when",  "your", "can",       "said",	  "there",  "use",
    "an",    "each",  "which", "she",	 "do",	  "how",  "their",     "if",	  "will",   "up",
    "other", "about", "out",   "many",	 "then",  "them", "these",     "so",	  "some",   "her",
    "would", "make",  "like",  "him",	 "into",  "time", "has",       "look",	  "two",    "more",
    "write", "go",    "see",   "number", "no",	  "way",  "could",     "people",  "my",	    "than",
    "first", "water", "been",  "call",	 "who",	  "Once", "upon",      "capital", "France", "Paris",
    "Hello", "world", "model", "secure", "local", "user", "assistant", "system",  "ing",    "ed",
    "er",    "ly",    "tion",  "ment",	 "ness",  "est",
};

/* MODELGEN_GREETING as vocabulary pieces, each used once (a bigram chain needs unique ids). */
static const char *const greet_pieces[] = {
    "Hello!", SPACE "I", SPACE "am", SPACE "secai's", SPACE "demo", SPACE "model.", SPACE "My",
    SPACE "weights", SPACE "are", SPACE "random,", SPACE "but", SPACE "this", SPACE "answer",
    SPACE "came", SPACE "through", SPACE "the", SPACE "real", SPACE "path:", SPACE "generated",
    SPACE "here,", SPACE "scanned,", SPACE "pinned", SPACE "to", SPACE "its", SPACE "SHA-256",
    SPACE "and", SPACE "served", SPACE "by", SPACE "a", SPACE "sealed", SPACE "engine.",
};
#define N_GREET (sizeof(greet_pieces) / sizeof(greet_pieces[0]))

static int64_t vocab_find(const struct vocab *v, const char *text)
{
	size_t n = strlen(text), i;

	for (i = hash_bytes(text, n) & v->ht_mask; v->ht[i] != 0; i = (i + 1) & v->ht_mask) {
		uint32_t id = v->ht[i] - 1;
		if (v->off[id + 1] - v->off[id] - 1 == n &&
		    memcmp(v->arena + v->off[id], text, n) == 0)
			return id;
	}
	return -1;
}

/* The greeting chain: next[id] = the token that follows id, or -1. n_vocab entries. */
static int greet_chain(const struct vocab *v, int64_t *next)
{
	int64_t prev = vocab_find(v, "<0x0A>"); /* the assistant prefix ends with "\n" */

	for (uint32_t i = 0; i < v->n; i++)
		next[i] = -1;
	for (size_t k = 0; k <= N_GREET; k++) {
		int64_t id = vocab_find(v, k < N_GREET ? greet_pieces[k] : "<|im_end|>");
		if (prev < 0 || id < 0 || next[prev] != -1)
			return -1;
		next[prev] = id;
		prev = id;
	}
	return 0;
}

static int build_vocab(struct vocab *v, uint32_t n_vocab, bool greet)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
	char buf[32];
	size_t w;
	int c, a, b, k, r = 0;

	memset(v, 0, sizeof(*v));
	v->max = n_vocab;
	for (v->ht_mask = 1; v->ht_mask < 2 * (size_t)n_vocab; v->ht_mask <<= 1)
		;
	v->off = calloc((size_t)n_vocab + 1, sizeof(*v->off));
	v->score = calloc(n_vocab, sizeof(*v->score));
	v->type = calloc(n_vocab, sizeof(*v->type));
	v->ht = calloc(v->ht_mask, sizeof(*v->ht));
	v->ht_mask--;
	if (v->off == NULL || v->score == NULL || v->type == NULL || v->ht == NULL)
		return -1;
	r |= vocab_add(v, "<unk>", 0.0f, 2) < 0;
	r |= vocab_add(v, "<s>", 0.0f, 3) < 0;
	r |= vocab_add(v, "</s>", 0.0f, 3) < 0;
	for (c = 0; c < 256; c++) {
		snprintf(buf, sizeof(buf), "<0x%02X>", c);
		r |= vocab_add(v, buf, 0.0f, 6) < 0;
	}
	r |= vocab_add(v, "<|im_start|>", 0.0f, 3) < 0;
	r |= vocab_add(v, "<|im_end|>", 0.0f, 3) < 0;
	for (w = 0; greet && w < N_GREET; w++)
		r |= vocab_add(v, greet_pieces[w], -(float)v->n, 1) < 0;
	r |= vocab_add(v, SPACE, -(float)v->n, 1) < 0;
	for (c = 33; c < 127; c++) {
		buf[0] = (char)c;
		buf[1] = '\0';
		r |= vocab_add(v, buf, -(float)v->n, 1) < 0;
	}
	for (c = 33; c < 127; c++) {
		snprintf(buf, sizeof(buf), SPACE "%c", c);
		r |= vocab_add(v, buf, -(float)v->n, 1) < 0;
	}
	for (w = 0; w < sizeof(common_words) / sizeof(common_words[0]); w++) {
		snprintf(buf, sizeof(buf), SPACE "%s", common_words[w]);
		r |= vocab_add_word(v, buf) < 0;
		r |= vocab_add_word(v, common_words[w]) < 0;
	}
	/* then two and three letters, with and without the space, until full */
	for (k = 0; k < 2 && v->n < v->max; k++)
		for (a = 0; a < 26; a++)
			for (b = 0; b < 26; b++) {
				snprintf(buf, sizeof(buf), "%s%c%c", k ? SPACE : "", letters[a],
					 letters[b]);
				r |= vocab_add(v, buf, -(float)v->n, 1) < 0;
			}
	for (a = 0; a < 26 * 26 * 26 && v->n < v->max; a++)
		for (k = 0; k < 2; k++) {
			snprintf(buf, sizeof(buf), "%s%c%c%c", k ? SPACE : "", letters[a / 676],
				 letters[a / 26 % 26], letters[a % 26]);
			r |= vocab_add(v, buf, -(float)v->n, 1) < 0;
		}
	/* beyond that (over ~37k tokens): numbered filler pieces */
	for (a = 0; v->n < v->max && r == 0; a++) {
		snprintf(buf, sizeof(buf), "[tok%d]", a);
		r |= vocab_add(v, buf, -(float)v->n, 1) < 0;
	}
	return r ? -1 : 0;
}

static void vocab_free(struct vocab *v)
{
	free(v->arena);
	free(v->off);
	free(v->score);
	free(v->type);
	free(v->ht);
}

/* ---- parameters ---------------------------------------------------------------------------- */

void modelgen_params_default(struct modelgen_params *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->arch, sizeof(p->arch), "llama");
	snprintf(p->name, sizeof(p->name), "secai-random");
	p->n_embd = 256;
	p->n_layer = 2;
	p->n_head = 4;
	p->n_head_kv = 2;
	p->n_ff = 512;
	p->n_vocab = 512;
	p->n_ctx = 2048;
	p->wtype = GGUF_GGML_F32;
	p->tied = -1;
	p->seed = 1;
}

int modelgen_preset(const char *name, struct modelgen_params *p)
{
	modelgen_params_default(p);
	if (strcmp(name, "demo") == 0) {
		snprintf(p->name, sizeof(p->name), "secai-demo");
		p->n_layer = 4;
		p->n_ff = 768;
		p->wtype = GGUF_GGML_Q8_0;
		p->mix = true;
		p->tied = 0;
		p->greet = true;
		return 0;
	}
	if (strcmp(name, "bench-llama-0.8b") == 0) {
		snprintf(p->name, sizeof(p->name), "bench-llama-0.8b");
		p->n_embd = 2048;
		p->n_layer = 16;
		p->n_head = 32;
		p->n_head_kv = 4;
		p->n_ff = 5632;
		p->n_vocab = 32000;
		p->n_ctx = 4096;
		p->wtype = GGUF_GGML_F16;
		p->mix = true;
		p->tied = 0;
		return 0;
	}
	return -1;
}

static const uint32_t mg_types[] = {
    GGUF_GGML_F32,  GGUF_GGML_F16,  GGUF_GGML_BF16, GGUF_GGML_Q8_0, GGUF_GGML_Q4_0,
    GGUF_GGML_Q4_1, GGUF_GGML_Q5_0, GGUF_GGML_Q4_K, GGUF_GGML_Q5_K, GGUF_GGML_Q6_K,
};

static bool type_ok(uint32_t t)
{
	size_t i;

	for (i = 0; i < sizeof(mg_types) / sizeof(mg_types[0]); i++)
		if (mg_types[i] == t)
			return true;
	return false;
}

int modelgen_type_from_name(const char *name, uint32_t *out)
{
	size_t i;

	for (i = 0; i < sizeof(mg_types) / sizeof(mg_types[0]); i++) {
		if (strcasecmp(name, gguf_type_info(mg_types[i])->name) == 0) {
			*out = mg_types[i];
			return 0;
		}
	}
	return -1;
}

static uint32_t head_dim(const struct modelgen_params *p)
{
	return p->head_dim ? p->head_dim : p->n_embd / p->n_head;
}

static bool is_tied(const struct modelgen_params *p)
{
	return p->tied < 0 ? strcmp(p->arch, "llama") != 0 : p->tied != 0;
}

int modelgen_check(const struct modelgen_params *p, char *err, size_t errlen)
{
	if (strcmp(p->arch, "llama") != 0 && strcmp(p->arch, "qwen2") != 0 &&
	    strcmp(p->arch, "qwen3") != 0)
		return mg_fail(err, errlen, "architecture '%s' is not llama, qwen2 or qwen3",
			       p->arch);
	if (!type_ok(p->wtype))
		return mg_fail(err, errlen, "weight type %u is not one modelgen writes", p->wtype);
	if (p->n_embd == 0 || p->n_layer == 0 || p->n_head == 0 || p->n_head_kv == 0 ||
	    p->n_ff == 0 || p->n_ctx == 0)
		return mg_fail(err, errlen, "every dimension must be > 0");
	if (p->n_embd > 65536 || p->n_ff > 262144 || p->n_layer > 512 || p->n_head > 1024)
		return mg_fail(err, errlen, "dimensions too large");
	if (p->n_head % p->n_head_kv != 0)
		return mg_fail(err, errlen, "head_count_kv %u does not divide head_count %u",
			       p->n_head_kv, p->n_head);
	if (p->head_dim == 0 && p->n_embd % p->n_head != 0)
		return mg_fail(err, errlen, "head_count %u does not divide embedding_length %u",
			       p->n_head, p->n_embd);
	if (head_dim(p) % 2 != 0 || head_dim(p) > 1024)
		return mg_fail(err, errlen, "head size %u must be even and <= 1024", head_dim(p));
	if (p->n_vocab < MG_MIN_VOCAB || p->n_vocab > MG_MAX_VOCAB)
		return mg_fail(err, errlen, "vocabulary size must be in [%u, %u]", MG_MIN_VOCAB,
			       MG_MAX_VOCAB);
	return 0;
}

/* llama.cpp's use_more_bits(): the layers Q4_K_M / Q5_K_M give more bits. */
static bool more_bits(uint32_t i, uint32_t n)
{
	return i < n / 8 || i >= 7 * n / 8 || (i >= n / 8 && (i - n / 8) % 3 == 2);
}

uint32_t modelgen_tensor_type(const struct modelgen_params *p, const char *name, uint64_t ne0)
{
	uint32_t t = p->wtype, layer = 0, bs;
	bool output = strcmp(name, "output.weight") == 0 ||
		      (is_tied(p) && strcmp(name, "token_embd.weight") == 0);
	bool is_k = t == GGUF_GGML_Q4_K || t == GGUF_GGML_Q5_K;

	if (p->greet && (strcmp(name, "output.weight") == 0 || strcmp(name, "token_embd.weight") == 0))
		return GGUF_GGML_F16; /* the planted rows copy embedding values exactly */
	if (p->mix) {
		if (output &&
		    (t == GGUF_GGML_Q4_0 || t == GGUF_GGML_Q4_1 || t == GGUF_GGML_Q5_0 || is_k))
			t = GGUF_GGML_Q6_K;
		else if (is_k && sscanf(name, "blk.%u.", &layer) == 1 &&
			 (strstr(name, ".attn_v.") != NULL || strstr(name, ".ffn_down.") != NULL) &&
			 more_bits(layer, p->n_layer))
			t = GGUF_GGML_Q6_K;
	}
	bs = gguf_type_info(t)->block_size;
	if (bs > 1 && ne0 % bs != 0)
		t = bs == 256 && ne0 % 32 == 0 ? GGUF_GGML_Q8_0 : GGUF_GGML_F16;
	return t;
}

static uint32_t file_type(const struct modelgen_params *p)
{
	switch (p->wtype) {
	case GGUF_GGML_F32:
		return 0;
	case GGUF_GGML_F16:
		return 1;
	case GGUF_GGML_Q4_0:
		return 2;
	case GGUF_GGML_Q4_1:
		return 3;
	case GGUF_GGML_Q8_0:
		return 7;
	case GGUF_GGML_Q5_0:
		return 8;
	case GGUF_GGML_Q4_K:
		return p->mix ? 15 : 14;
	case GGUF_GGML_Q5_K:
		return p->mix ? 17 : 16;
	case GGUF_GGML_Q6_K:
		return 18;
	case GGUF_GGML_BF16:
		return 32;
	default:
		return 0;
	}
}

/* ---- the tensor plan ---------------------------------------------------------------------- */

enum mg_kind { MG_WEIGHT, MG_NORM, MG_BIAS, MG_EMBD, MG_OUTPUT };

struct mg_tensor {
	char name[GGUF_NAME_MAX];
	uint32_t type, n_dims;
	uint64_t ne[2];
	enum mg_kind kind;
	uint64_t nbytes, offset; /* offset from the data section */
};

struct mg_plan {
	struct mg_tensor *t;
	size_t n, cap;
};

static int plan_add(struct mg_plan *pl, const struct modelgen_params *p, const char *name,
		    enum mg_kind kind, uint64_t ne0, uint64_t ne1)
{
	struct mg_tensor *t;
	uint64_t ne[GGUF_MAX_DIMS] = {ne0, ne1 ? ne1 : 1, 1, 1};

	if (pl->n == pl->cap) {
		size_t nc = pl->cap ? pl->cap * 2 : 64;
		struct mg_tensor *nt = realloc(pl->t, nc * sizeof(*nt));

		if (nt == NULL)
			return -1;
		pl->t = nt;
		pl->cap = nc;
	}
	t = &pl->t[pl->n];
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->n_dims = ne1 ? 2 : 1;
	t->ne[0] = ne0;
	t->ne[1] = ne1 ? ne1 : 1;
	t->kind = kind;
	t->type = ne1 ? modelgen_tensor_type(p, name, ne0) : GGUF_GGML_F32;
	if (gguf_tensor_nbytes(t->type, ne, &t->nbytes) != 0)
		return -1;
	pl->n++;
	return 0;
}

static int build_plan(struct mg_plan *pl, const struct modelgen_params *p)
{
	uint64_t e = p->n_embd, hd = head_dim(p), q = p->n_head * hd, kv = p->n_head_kv * hd;
	bool qwen2 = strcmp(p->arch, "qwen2") == 0, qwen3 = strcmp(p->arch, "qwen3") == 0;
	char nm[GGUF_NAME_MAX];
	uint32_t l;
	int r = 0;

#define BLK(what) (snprintf(nm, sizeof(nm), "blk.%u." what, l), nm)
	r |= plan_add(pl, p, "token_embd.weight", MG_EMBD, e, p->n_vocab);
	for (l = 0; l < p->n_layer && r == 0; l++) {
		r |= plan_add(pl, p, BLK("attn_norm.weight"), MG_NORM, e, 0);
		r |= plan_add(pl, p, BLK("attn_q.weight"), MG_WEIGHT, e, q);
		r |= plan_add(pl, p, BLK("attn_k.weight"), MG_WEIGHT, e, kv);
		r |= plan_add(pl, p, BLK("attn_v.weight"), MG_WEIGHT, e, kv);
		if (qwen2) {
			r |= plan_add(pl, p, BLK("attn_q.bias"), MG_BIAS, q, 0);
			r |= plan_add(pl, p, BLK("attn_k.bias"), MG_BIAS, kv, 0);
			r |= plan_add(pl, p, BLK("attn_v.bias"), MG_BIAS, kv, 0);
		}
		if (qwen3) {
			r |= plan_add(pl, p, BLK("attn_q_norm.weight"), MG_NORM, hd, 0);
			r |= plan_add(pl, p, BLK("attn_k_norm.weight"), MG_NORM, hd, 0);
		}
		r |= plan_add(pl, p, BLK("attn_output.weight"), MG_WEIGHT, q, e);
		r |= plan_add(pl, p, BLK("ffn_norm.weight"), MG_NORM, e, 0);
		r |= plan_add(pl, p, BLK("ffn_gate.weight"), MG_WEIGHT, e, p->n_ff);
		r |= plan_add(pl, p, BLK("ffn_up.weight"), MG_WEIGHT, e, p->n_ff);
		r |= plan_add(pl, p, BLK("ffn_down.weight"), MG_WEIGHT, p->n_ff, e);
	}
#undef BLK
	r |= plan_add(pl, p, "output_norm.weight", MG_NORM, e, 0);
	if (!is_tied(p))
		r |= plan_add(pl, p, "output.weight", MG_OUTPUT, e, p->n_vocab);
	return r ? -1 : 0;
}

/* ---- metadata ------------------------------------------------------------------------------ */

static const char chatml_template[] =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}";

static int add_meta(struct gguf_writer *w, const struct modelgen_params *p, const struct vocab *v)
{
	const char **texts;
	char key[96];
	bool qwen = strcmp(p->arch, "llama") != 0;
	float theta = p->rope_theta > 0 ? p->rope_theta : qwen ? 1e6f : 1e4f;
	float eps = p->rms_eps > 0 ? p->rms_eps : qwen ? 1e-6f : 1e-5f;
	uint32_t i;
	int r = 0;

#define K(suffix) (snprintf(key, sizeof(key), "%s." suffix, p->arch), key)
	r |= gguf_writer_add_str(w, "general.architecture", p->arch);
	r |= gguf_writer_add_str(w, "general.name", p->name);
	r |= gguf_writer_add_u32(w, "general.file_type", file_type(p));
	if (p->wtype != GGUF_GGML_F32 && p->wtype != GGUF_GGML_F16 && p->wtype != GGUF_GGML_BF16)
		r |= gguf_writer_add_u32(w, "general.quantization_version", 2);
	r |= gguf_writer_add_u32(w, K("context_length"), p->n_ctx);
	r |= gguf_writer_add_u32(w, K("embedding_length"), p->n_embd);
	r |= gguf_writer_add_u32(w, K("block_count"), p->n_layer);
	r |= gguf_writer_add_u32(w, K("feed_forward_length"), p->n_ff);
	r |= gguf_writer_add_u32(w, K("attention.head_count"), p->n_head);
	r |= gguf_writer_add_u32(w, K("attention.head_count_kv"), p->n_head_kv);
	if (p->head_dim != 0) {
		r |= gguf_writer_add_u32(w, K("attention.key_length"), p->head_dim);
		r |= gguf_writer_add_u32(w, K("attention.value_length"), p->head_dim);
	}
	r |= gguf_writer_add_f32(w, K("attention.layer_norm_rms_epsilon"), eps);
	r |= gguf_writer_add_f32(w, K("rope.freq_base"), theta);
	r |= gguf_writer_add_u32(w, K("vocab_size"), p->n_vocab);
#undef K
	texts = calloc(v->n, sizeof(*texts));
	if (texts == NULL)
		return -1;
	for (i = 0; i < v->n; i++)
		texts[i] = v->arena + v->off[i];
	r |= gguf_writer_add_str(w, "tokenizer.ggml.model", "llama");
	r |= gguf_writer_add_str(w, "tokenizer.ggml.pre", "default");
	r |= gguf_writer_add_str_array(w, "tokenizer.ggml.tokens", texts, v->n);
	r |= gguf_writer_add_array(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, v->score, v->n);
	r |= gguf_writer_add_array(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, v->type, v->n);
	r |= gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", 1);
	r |= gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", 2);
	r |= gguf_writer_add_u32(w, "tokenizer.ggml.unknown_token_id", 0);
	r |= gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", true);
	r |= gguf_writer_add_bool(w, "tokenizer.ggml.add_eos_token", false);
	r |= gguf_writer_add_str(w, "tokenizer.chat_template", chatml_template);
	free(texts);
	return r ? -1 : 0;
}

/* ---- data ---------------------------------------------------------------------------------- */

/* The row stream of a tensor's row: hashed, so rows are unrelated (see fill_tensor). */
static uint64_t row_stream(uint64_t seed, uint64_t row)
{
	uint64_t s = seed + row;

	return splitmix64(&s);
}

static float embd_sd(const struct modelgen_params *p)
{
	return is_tied(p) ? 2.0f / sqrtf((float)p->n_embd) : 1.0f;
}

/*
 * A planted output row (greet): beta times the F16 embedding row of token prev, exactly the
 * values gen_row wrote there, so logit(next) ~ beta * n_embd when prev is the current token.
 */
static void planted_row(const struct modelgen_params *p, int64_t prev, uint8_t *out, uint64_t n)
{
	uint64_t s = row_stream(p->seed ^ fnv1a("token_embd.weight"), (uint64_t)prev);
	float beta = 20.0f / (float)p->n_embd, sd = embd_sd(p);

	for (uint64_t i = 0; i < n; i++)
		put16(out + 2 * i, f32_to_f16(beta * sd * gauss(&s)));
}

static int fill_tensor(int fd, uint64_t data_off, const struct modelgen_params *p,
		       const struct mg_tensor *t, uint8_t *chunk, const int64_t *prev_of)
{
	uint64_t rows = t->ne[1], row_bytes = t->nbytes / rows, per, r0, nr, i, s;
	float mean = 0.0f, sd;
	uint64_t seed = p->seed ^ fnv1a(t->name);
	bool planted = prev_of != NULL && t->kind == MG_OUTPUT && t->type == GGUF_GGML_F16;

	switch (t->kind) {
	case MG_NORM:
		mean = 1.0f;
		sd = 0.1f;
		break;
	case MG_BIAS:
		sd = 0.1f;
		break;
	case MG_EMBD:
		sd = embd_sd(p);
		break;
	case MG_OUTPUT:
		sd = 2.0f / sqrtf((float)p->n_embd);
		break;
	default:
		sd = 1.0f / sqrtf((float)t->ne[0]);
		/* greet: the layers whisper, the residual stream keeps the current token */
		if (p->greet && (strstr(t->name, ".attn_output.") || strstr(t->name, ".ffn_down.")))
			sd *= 0.2f;
		break;
	}
	per = MG_CHUNK / row_bytes ? MG_CHUNK / row_bytes : 1;
	for (r0 = 0; r0 < rows; r0 += nr) {
		uint64_t off = data_off + t->offset + r0 * row_bytes;
		size_t len, done = 0;

		nr = rows - r0 < per ? rows - r0 : per;
		for (i = 0; i < nr; i++) {
			/* a stream per row, from a hashed start: seed + row alone would make row r
			 * row r-1 shifted by one draw (splitmix64 steps by the same constant), and the
			 * scanner rightly rejects such repeated blocks */
			s = row_stream(seed, r0 + i);
			if (planted && prev_of[r0 + i] >= 0)
				planted_row(p, prev_of[r0 + i], chunk + i * row_bytes, t->ne[0]);
			else
				gen_row(t->type, &s, chunk + i * row_bytes, t->ne[0], mean, sd);
		}
		len = (size_t)(nr * row_bytes);
		while (done < len) {
			ssize_t w = pwrite(fd, chunk + done, len - done, (off_t)(off + done));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
			done += (size_t)w;
		}
	}
	return 0;
}

static int verify(const char *path, const struct mg_plan *pl, uint64_t data_off, char *err,
		  size_t errlen)
{
	struct gguf_report rep = GGUF_REPORT_INIT;
	struct gguf_file *f = NULL;
	size_t i;
	int r;

	r = gguf_open(path, &f, &rep);
	if (r != 0) {
		mg_fail(err, errlen, "%s fails the GGUF reader: %s", path,
			rep.n ? rep.items[0].msg : "?");
		gguf_report_free(&rep);
		return -1;
	}
	gguf_report_free(&rep);
	for (i = 0; i < pl->n; i++) {
		const struct gguf_tensor_info *ti = gguf_find_tensor(f, pl->t[i].name);

		if (ti == NULL || ti->file_offset != data_off + pl->t[i].offset ||
		    ti->type != pl->t[i].type) {
			gguf_close(f);
			return mg_fail(err, errlen, "%s: tensor %s is not where it was written",
				       path, pl->t[i].name);
		}
	}
	gguf_close(f);
	return 0;
}

int modelgen_write(const struct modelgen_params *p, const char *path, char *err, size_t errlen)
{
	struct gguf_writer *w = NULL;
	struct mg_plan pl = {NULL, 0, 0};
	struct vocab v;
	uint64_t total = 0, data_off, max_row = 0;
	uint8_t *chunk = NULL;
	int64_t *prev_of = NULL;
	struct stat st;
	size_t i;
	int fd = -1, rc = -1;

	if (modelgen_check(p, err, errlen) != 0)
		return -1;
	memset(&v, 0, sizeof(v));
	if (build_vocab(&v, p->n_vocab, p->greet) != 0 || build_plan(&pl, p) != 0 ||
	    (w = gguf_writer_new()) == NULL || add_meta(w, p, &v) != 0) {
		mg_fail(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < pl.n; i++) {
		struct mg_tensor *t = &pl.t[i];
		uint64_t rb = t->nbytes / t->ne[1];

		if (gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, NULL) != 0) {
			mg_fail(err, errlen, "cannot add tensor %s", t->name);
			goto out;
		}
		t->offset = total;
		total += (t->nbytes + MG_ALIGN - 1) / MG_ALIGN * MG_ALIGN;
		if (rb > max_row)
			max_row = rb;
	}
	/* pass 1: header and zero data, streamed by the writer */
	if (gguf_writer_to_file(w, path) != 0) {
		mg_fail(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (stat(path, &st) != 0 || (uint64_t)st.st_size < total) {
		mg_fail(err, errlen, "%s: unexpected size after writing", path);
		goto out;
	}
	data_off = (uint64_t)st.st_size - total;
	/* pass 2: tensor data, in chunks of rows, at each tensor's offset */
	chunk = malloc(max_row > MG_CHUNK ? max_row : MG_CHUNK);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (chunk == NULL || fd < 0) {
		mg_fail(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (p->greet) {
		int64_t *next = malloc(v.n * sizeof(*next));
		prev_of = malloc((size_t)p->n_vocab * sizeof(*prev_of));
		if (next == NULL || prev_of == NULL || greet_chain(&v, next) != 0) {
			free(next);
			mg_fail(err, errlen, "cannot plant the greeting (vocabulary too small?)");
			goto out;
		}
		for (i = 0; i < p->n_vocab; i++)
			prev_of[i] = -1;
		for (i = 0; i < v.n; i++)
			if (next[i] >= 0)
				prev_of[next[i]] = (int64_t)i;
		free(next);
	}
	for (i = 0; i < pl.n; i++) {
		if (fill_tensor(fd, data_off, p, &pl.t[i], chunk, prev_of) != 0) {
			mg_fail(err, errlen, "%s: writing %s: %s", path, pl.t[i].name,
				strerror(errno));
			goto out;
		}
	}
	if (close(fd) != 0) {
		fd = -1;
		mg_fail(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	rc = verify(path, &pl, data_off, err, errlen);
out:
	if (fd >= 0)
		close(fd);
	free(prev_of);
	free(chunk);
	free(pl.t);
	vocab_free(&v);
	gguf_writer_free(w);
	return rc;
}
