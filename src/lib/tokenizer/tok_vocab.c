/*
 * tok_vocab.c — the in-memory vocabulary: tokens, merges, special ids, flags and lookup caches.
 *
 * Owns: building a struct tok_vocab (llama_vocab::impl::load's rules for defaults, overrides,
 * auto-detected control tokens and the special-token cache) and the text -> id and pair -> rank
 * hash maps. Never: reads GGUF (tok_gguf.c does), tokenizes, or changes a finished vocabulary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_impl.h"

#define TOK_MAX_TOKENS (1u << 24)
#define TOK_MAX_ARENA 0xFFFFFFF0u

const char *tok_strerror(int err)
{
	switch (err) {
	case TOK_OK:
		return "ok";
	case TOK_E_NOMEM:
		return "out of memory";
	case TOK_E_INVAL:
		return "invalid argument";
	case TOK_E_MODEL:
		return "invalid tokenizer metadata";
	case TOK_E_UNSUPPORTED:
		return "unsupported tokenizer";
	case TOK_E_NOTOKEN:
		return "no token for a byte of the input";
	case TOK_E_UTF8:
		return "input decodes to a code point above U+10FFFF";
	default:
		return "unknown error";
	}
}

/* Pre-tokenizer names llama.cpp b4747 accepts and this code implements. */
static const struct {
	const char *name;
	enum tok_pre pre;
	bool ignore_merges;
	bool add_bos;
} pre_names[] = {
    {"default", TOK_PRE_DEFAULT, false, false},	  {"llama3", TOK_PRE_LLAMA3, true, true},
    {"llama-v3", TOK_PRE_LLAMA3, true, true},	  {"llama-bpe", TOK_PRE_LLAMA3, true, true},
    {"falcon3", TOK_PRE_LLAMA3, true, true},	  {"dbrx", TOK_PRE_LLAMA3, false, false},
    {"smaug-bpe", TOK_PRE_LLAMA3, false, false},  {"gpt-2", TOK_PRE_GPT2, false, false},
    {"phi-2", TOK_PRE_GPT2, false, false},	  {"jina-es", TOK_PRE_GPT2, false, false},
    {"jina-de", TOK_PRE_GPT2, false, false},	  {"gigachat", TOK_PRE_GPT2, false, false},
    {"jina-v1-en", TOK_PRE_GPT2, false, false},	  {"jina-v2-es", TOK_PRE_GPT2, false, false},
    {"jina-v2-de", TOK_PRE_GPT2, false, false},	  {"jina-v2-code", TOK_PRE_GPT2, false, false},
    {"roberta-bpe", TOK_PRE_GPT2, false, false},  {"mpt", TOK_PRE_GPT2, false, false},
    {"olmo", TOK_PRE_GPT2, false, false},	  {"jais", TOK_PRE_GPT2, false, false},
    {"qwen2", TOK_PRE_QWEN2, false, false},	  {"deepseek-r1-qwen", TOK_PRE_QWEN2, false, false},
    {"megrez", TOK_PRE_QWEN2, false, false},	  {"stablelm2", TOK_PRE_QWEN2, false, false},
    {"smollm", TOK_PRE_SMOLLM, false, false},	  {"starcoder", TOK_PRE_SMOLLM, false, false},
    {"refact", TOK_PRE_SMOLLM, false, false},	  {"command-r", TOK_PRE_SMOLLM, false, false},
    {"codeshell", TOK_PRE_SMOLLM, false, false},  {"exaone", TOK_PRE_SMOLLM, false, false},
    {"minerva-7b", TOK_PRE_SMOLLM, false, false},
};

static int pre_lookup(const char *name, size_t len)
{
	size_t i;

	if (len == 0)
		return 0; /* llama.cpp: an empty tokenizer.ggml.pre means "default" */
	for (i = 0; i < sizeof(pre_names) / sizeof(pre_names[0]); i++)
		if (strlen(pre_names[i].name) == len && memcmp(pre_names[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

int tok_pre_from_name(const char *name, size_t len, enum tok_pre *out)
{
	int i = pre_lookup(name, len);

	if (i < 0)
		return -1;
	*out = pre_names[i].pre;
	return 0;
}

int tok_vocab_new(enum tok_model model, const char *pre, size_t pre_len, struct tok_vocab **out)
{
	struct tok_vocab *v;
	int i, k;

	*out = NULL;
	if (model != TOK_MODEL_SPM && model != TOK_MODEL_BPE)
		return TOK_E_UNSUPPORTED;
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return TOK_E_NOMEM;
	v->model = model;
	v->pre = TOK_PRE_DEFAULT;
	if (model == TOK_MODEL_BPE && pre != NULL) {
		i = pre_lookup(pre, pre_len);
		if (i < 0) {
			free(v);
			return TOK_E_UNSUPPORTED;
		}
		v->pre = pre_names[i].pre;
		v->ignore_merges = pre_names[i].ignore_merges;
		v->add_bos = pre_names[i].add_bos;
		v->pre_jina_v2 = pre_len >= 8 && memcmp(pre, "jina-v2-", 8) == 0;
	}
	for (k = 0; k < TOK_SPECIAL_COUNT; k++) {
		v->special[k] = TOK_NULL;
		v->special_key[k] = -1;
	}
	v->add_bos_key = v->add_eos_key = v->add_space_prefix_key = -1;
	*out = v;
	return 0;
}

void tok_vocab_free(struct tok_vocab *v)
{
	if (v == NULL)
		return;
	free(v->arena);
	free(v->tokens);
	free(v->map);
	free(v->merges);
	free(v->merge_map);
	free(v->model_name);
	free(v->special_cache);
	free(v);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *np;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 16;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			return TOK_E_NOMEM;
		ncap *= 2;
	}
	np = realloc(*p, ncap * elem);
	if (np == NULL)
		return TOK_E_NOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

/* Copies s[0..len) into the arena; returns its offset in *off. */
static int arena_add(struct tok_vocab *v, const char *s, size_t len, uint32_t *off)
{
	void *a = v->arena;

	if (len > TOK_MAX_ARENA - v->arena_len)
		return TOK_E_NOMEM;
	if (grow(&a, &v->arena_cap, v->arena_len + len + 1, 1) != 0)
		return TOK_E_NOMEM;
	v->arena = a;
	if (len)
		memcpy(v->arena + v->arena_len, s, len);
	*off = (uint32_t)v->arena_len;
	v->arena_len += len;
	return 0;
}

static uint32_t attr_of_type(int32_t type)
{
	switch (type) {
	case TOK_TYPE_UNKNOWN:
		return TOK_ATTR_UNKNOWN;
	case TOK_TYPE_UNUSED:
		return TOK_ATTR_UNUSED;
	case TOK_TYPE_NORMAL:
		return TOK_ATTR_NORMAL;
	case TOK_TYPE_CONTROL:
		return TOK_ATTR_CONTROL;
	case TOK_TYPE_USER_DEFINED:
		return TOK_ATTR_USER_DEFINED;
	case TOK_TYPE_BYTE:
		return TOK_ATTR_BYTE;
	default:
		return TOK_ATTR_UNDEFINED;
	}
}

int tok_vocab_add_token(struct tok_vocab *v, const char *text, size_t len, float score,
			int32_t token_type)
{
	void *p = v->tokens;
	char empty[32];
	struct tok_token *t;
	uint32_t off;
	int r;

	if (v->finished || v->n_tokens >= TOK_MAX_TOKENS)
		return TOK_E_INVAL;
	if (len == 0) {
		/* llama.cpp: an empty token becomes "[EMPTY_<id>]". */
		len = (size_t)snprintf(empty, sizeof(empty), "[EMPTY_%zu]", v->n_tokens);
		text = empty;
	}
	if (grow(&p, &v->cap_tokens, v->n_tokens + 1, sizeof(*v->tokens)) != 0)
		return TOK_E_NOMEM;
	v->tokens = p;
	if ((r = arena_add(v, text, len, &off)) != 0)
		return r;
	t = &v->tokens[v->n_tokens++];
	t->off = off;
	t->len = (uint32_t)len;
	t->score = score;
	t->attr = attr_of_type(token_type);
	return 0;
}

int tok_vocab_add_merge(struct tok_vocab *v, const char *merge, size_t len)
{
	void *p = v->merges;
	struct tok_merge *m;
	const char *sp = NULL;
	uint32_t off;
	int r;

	if (v->finished || v->n_merges >= TOK_MAX_TOKENS * 4u)
		return TOK_E_INVAL;
	if (grow(&p, &v->cap_merges, v->n_merges + 1, sizeof(*v->merges)) != 0)
		return TOK_E_NOMEM;
	v->merges = p;
	if ((r = arena_add(v, merge, len, &off)) != 0)
		return r;
	m = &v->merges[v->n_merges++];
	memset(m, 0, sizeof(*m));
	/* llama.cpp: word.find(' ', 1); without a space the pair is ("", "") and never matches. */
	if (len > 1)
		sp = memchr(merge + 1, ' ', len - 1);
	if (sp != NULL) {
		m->loff = off;
		m->llen = (uint32_t)(sp - merge);
		m->roff = off + m->llen + 1;
		m->rlen = (uint32_t)(len - m->llen - 1);
	}
	return 0;
}

void tok_vocab_set_special(struct tok_vocab *v, enum tok_special which, uint32_t id)
{
	if ((unsigned)which < TOK_SPECIAL_COUNT && !v->finished)
		v->special_key[which] = id;
}

void tok_vocab_set_add_bos(struct tok_vocab *v, bool on)
{
	v->add_bos_key = on;
}

void tok_vocab_set_add_eos(struct tok_vocab *v, bool on)
{
	v->add_eos_key = on;
}

void tok_vocab_set_add_space_prefix(struct tok_vocab *v, bool on)
{
	v->add_space_prefix_key = on;
}

int tok_vocab_set_model_name(struct tok_vocab *v, const char *name, size_t len)
{
	char *p = malloc(len + 1);

	if (p == NULL)
		return TOK_E_NOMEM;
	memcpy(p, name, len);
	p[len] = '\0';
	free(v->model_name);
	v->model_name = p;
	v->model_name_len = len;
	return 0;
}

static uint64_t hash_bytes(uint64_t h, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

#define HASH_SEED 0xcbf29ce484222325ull

static size_t table_size(size_t n)
{
	size_t sz = 16;

	while (sz < n * 2 + 1)
		sz *= 2;
	return sz;
}

tok_id tok_vocab_find(const struct tok_vocab *v, const char *text, size_t len)
{
	size_t i;
	uint32_t e;
	const struct tok_token *t;

	if (v->map == NULL)
		return TOK_NULL;
	i = (size_t)hash_bytes(HASH_SEED, text, len) & v->map_mask;
	while ((e = v->map[i]) != 0) {
		t = &v->tokens[e - 1];
		if (t->len == len && memcmp(v->arena + t->off, text, len) == 0)
			return (tok_id)(e - 1);
		i = (i + 1) & v->map_mask;
	}
	return TOK_NULL;
}

static uint64_t merge_hash(const char *l, size_t ll, const char *r, size_t rl)
{
	uint64_t h = hash_bytes(HASH_SEED, l, ll);

	h ^= 0xFF; /* separator so ("ab","c") and ("a","bc") usually differ */
	h *= 0x100000001b3ull;
	h ^= ll;
	return hash_bytes(h, r, rl);
}

int32_t tok_merge_rank(const struct tok_vocab *v, const char *l, size_t ll, const char *r,
		       size_t rl)
{
	size_t i;
	uint32_t e;
	const struct tok_merge *m;

	if (v->merge_map == NULL)
		return -1;
	i = (size_t)merge_hash(l, ll, r, rl) & v->merge_mask;
	while ((e = v->merge_map[i]) != 0) {
		m = &v->merges[e - 1];
		if (m->llen == ll && m->rlen == rl && memcmp(v->arena + m->loff, l, ll) == 0 &&
		    memcmp(v->arena + m->roff, r, rl) == 0)
			return (int32_t)(e - 1);
		i = (i + 1) & v->merge_mask;
	}
	return -1;
}

static int build_maps(struct tok_vocab *v)
{
	size_t sz, i, j;
	uint32_t e;
	const struct tok_token *t;
	const struct tok_merge *m, *o;

	sz = table_size(v->n_tokens);
	v->map = calloc(sz, sizeof(*v->map));
	if (v->map == NULL)
		return TOK_E_NOMEM;
	v->map_mask = sz - 1;
	for (i = 0; i < v->n_tokens; i++) {
		t = &v->tokens[i];
		j = (size_t)hash_bytes(HASH_SEED, v->arena + t->off, t->len) & v->map_mask;
		while ((e = v->map[j]) != 0) {
			const struct tok_token *u = &v->tokens[e - 1];

			if (u->len == t->len &&
			    memcmp(v->arena + u->off, v->arena + t->off, t->len) == 0)
				break; /* same text: the later id wins, like token_to_id[word] = i
					*/
			j = (j + 1) & v->map_mask;
		}
		v->map[j] = (uint32_t)i + 1;
	}
	if (v->n_merges == 0)
		return 0;
	sz = table_size(v->n_merges);
	v->merge_map = calloc(sz, sizeof(*v->merge_map));
	if (v->merge_map == NULL)
		return TOK_E_NOMEM;
	v->merge_mask = sz - 1;
	for (i = 0; i < v->n_merges; i++) {
		m = &v->merges[i];
		if (m->llen == 0 && m->rlen == 0)
			continue;
		j = (size_t)merge_hash(v->arena + m->loff, m->llen, v->arena + m->roff, m->rlen) &
		    v->merge_mask;
		while ((e = v->merge_map[j]) != 0) {
			o = &v->merges[e - 1];
			if (o->llen == m->llen && o->rlen == m->rlen &&
			    memcmp(v->arena + o->loff, v->arena + m->loff, m->llen) == 0 &&
			    memcmp(v->arena + o->roff, v->arena + m->roff, m->rlen) == 0)
				break;
			j = (j + 1) & v->merge_mask;
		}
		if (e == 0) /* a repeated pair keeps its first rank (bpe_ranks.emplace) */
			v->merge_map[j] = (uint32_t)i + 1;
	}
	return 0;
}

/* llama.cpp's "auto-detect special tokens by text": when the id was not given by metadata, a
 * token with one of these texts becomes that special id and is forced to CONTROL. */
static const struct {
	enum tok_special which;
	const char *texts[8];
} autodetect[] = {
    {TOK_SPECIAL_EOT,
     {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>",
      "<\xef\xbd\x9c"
      "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
      NULL}},
    {TOK_SPECIAL_EOM, {"<|eom_id|>", NULL}},
    {TOK_SPECIAL_FIM_PRE,
     {"<|fim_prefix|>", "<fim-prefix>",
      "<\xef\xbd\x9c"
      "fim\xe2\x96\x81"
      "begin\xef\xbd\x9c>",
      "<PRE>", NULL}},
    {TOK_SPECIAL_FIM_SUF,
     {"<|fim_suffix|>", "<fim-suffix>",
      "<\xef\xbd\x9c"
      "fim\xe2\x96\x81hole\xef\xbd\x9c>",
      "<SUF>", NULL}},
    {TOK_SPECIAL_FIM_MID,
     {"<|fim_middle|>", "<fim-middle>",
      "<\xef\xbd\x9c"
      "fim\xe2\x96\x81"
      "end\xef\xbd\x9c>",
      "<MID>", NULL}},
    {TOK_SPECIAL_FIM_PAD, {"<|fim_pad|>", "<fim-pad>", "<PAD>", NULL}},
    {TOK_SPECIAL_FIM_REP, {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", NULL}},
    {TOK_SPECIAL_FIM_SEP, {"<|file_sep|>", NULL}},
};

static void autodetect_specials(struct tok_vocab *v)
{
	size_t a, k;
	tok_id id, best;

	for (a = 0; a < sizeof(autodetect) / sizeof(autodetect[0]); a++) {
		if (v->special[autodetect[a].which] != TOK_NULL)
			continue;
		/* llama.cpp takes the first match in hash-map order; we take the lowest id. */
		best = TOK_NULL;
		for (k = 0; autodetect[a].texts[k] != NULL; k++) {
			id = tok_vocab_find(v, autodetect[a].texts[k],
					    strlen(autodetect[a].texts[k]));
			if (id != TOK_NULL && (best == TOK_NULL || id < best))
				best = id;
		}
		if (best == TOK_NULL)
			continue;
		v->special[autodetect[a].which] = best;
		if (!(v->tokens[best].attr & TOK_ATTR_CONTROL))
			v->tokens[best].attr = TOK_ATTR_CONTROL;
	}
}

static int cache_cmp(const void *a, const void *b, void *arg)
{
	const struct tok_vocab *v = arg;
	tok_id x = *(const tok_id *)a, y = *(const tok_id *)b;
	uint32_t lx = v->tokens[x].len, ly = v->tokens[y].len;

	if (lx != ly)
		return lx > ly ? -1 : 1;
	return x < y ? -1 : (x > y);
}

static void set_attr_text(struct tok_vocab *v, const char *text, uint32_t attr, bool on)
{
	tok_id id = tok_vocab_find(v, text, strlen(text));

	if (id == TOK_NULL)
		return;
	if (on)
		v->tokens[id].attr |= attr;
	else
		v->tokens[id].attr &= ~attr;
}

static int name_contains(const struct tok_vocab *v, const char *needle)
{
	size_t i, n = strlen(needle), j;

	if (v->model_name == NULL || v->model_name_len < n)
		return 0;
	for (i = 0; i + n <= v->model_name_len; i++) {
		for (j = 0; j < n; j++) {
			char c = v->model_name[i + j];

			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (c != needle[j])
				break;
		}
		if (j == n)
			return 1;
	}
	return 0;
}

int tok_vocab_finish(struct tok_vocab *v)
{
	size_t i;
	int k, r;

	if (v->finished)
		return TOK_E_INVAL;
	if (v->n_tokens == 0)
		return TOK_E_MODEL;
	if (v->model == TOK_MODEL_SPM) {
		v->special[TOK_SPECIAL_BOS] = 1;
		v->special[TOK_SPECIAL_EOS] = 2;
		v->special[TOK_SPECIAL_UNK] = 0;
		v->add_space_prefix = true;
		v->add_bos = true;
		v->add_eos = false;
	} else {
		v->special[TOK_SPECIAL_BOS] = 11;
		v->special[TOK_SPECIAL_EOS] = 11;
		v->add_space_prefix = false;
	}
	if (v->add_space_prefix_key >= 0)
		v->add_space_prefix = v->add_space_prefix_key;
	if ((r = build_maps(v)) != 0)
		return r;
	for (k = 0; k < TOK_SPECIAL_COUNT; k++)
		if (v->special_key[k] >= 0 && (uint64_t)v->special_key[k] < v->n_tokens)
			v->special[k] = (tok_id)v->special_key[k];
	if (v->add_bos_key >= 0)
		v->add_bos = v->add_bos_key;
	if (v->add_eos_key >= 0)
		v->add_eos = v->add_eos_key;
	autodetect_specials(v);

	/* The special-token cache: what tokenizer_st_partition looks for, longest text first.
	 * llama.cpp uses an unstable std::sort here; equal lengths keep id order in ours. */
	v->special_cache = malloc((v->n_tokens ? v->n_tokens : 1) * sizeof(tok_id));
	if (v->special_cache == NULL)
		return TOK_E_NOMEM;
	for (i = 0; i < v->n_tokens; i++)
		if (v->tokens[i].attr &
		    (TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED | TOK_ATTR_UNKNOWN))
			v->special_cache[v->n_special_cache++] = (tok_id)i;
	qsort_r(v->special_cache, v->n_special_cache, sizeof(tok_id), cache_cmp, v);

	/* Per-model attribute rules of llama.cpp's load(). */
	if (v->pre_jina_v2) {
		set_attr_text(v, "<mask>", TOK_ATTR_LSTRIP, true);
	} else if (name_contains(v, "phi-3") || name_contains(v, "phi3")) {
		for (i = 0; i < v->n_special_cache; i++)
			v->tokens[v->special_cache[i]].attr |= TOK_ATTR_RSTRIP;
		set_attr_text(v, "</s>", TOK_ATTR_RSTRIP, true);
		set_attr_text(v, "<unk>", TOK_ATTR_RSTRIP, false);
		set_attr_text(v, "<s>", TOK_ATTR_RSTRIP, false);
		set_attr_text(v, "<|endoftext|>", TOK_ATTR_RSTRIP, false);
	}
	v->finished = true;
	return 0;
}

size_t tok_vocab_n_tokens(const struct tok_vocab *v)
{
	return v->n_tokens;
}

enum tok_model tok_vocab_model(const struct tok_vocab *v)
{
	return v->model;
}

enum tok_pre tok_vocab_pre(const struct tok_vocab *v)
{
	return v->pre;
}

const char *tok_vocab_text(const struct tok_vocab *v, tok_id id, size_t *len)
{
	if (id < 0 || (size_t)id >= v->n_tokens) {
		*len = 0;
		return NULL;
	}
	return tok_text_of(v, id, len);
}

float tok_vocab_score(const struct tok_vocab *v, tok_id id)
{
	if (id < 0 || (size_t)id >= v->n_tokens)
		return 0.0f;
	return v->tokens[id].score;
}

uint32_t tok_vocab_attr(const struct tok_vocab *v, tok_id id)
{
	if (id < 0 || (size_t)id >= v->n_tokens)
		return TOK_ATTR_UNDEFINED;
	return v->tokens[id].attr;
}

tok_id tok_vocab_special(const struct tok_vocab *v, enum tok_special which)
{
	if ((unsigned)which >= TOK_SPECIAL_COUNT)
		return TOK_NULL;
	return v->special[which];
}

bool tok_vocab_get_add_bos(const struct tok_vocab *v)
{
	return v->add_bos;
}

bool tok_vocab_get_add_eos(const struct tok_vocab *v)
{
	return v->add_eos;
}

bool tok_vocab_get_add_space_prefix(const struct tok_vocab *v)
{
	return v->add_space_prefix;
}

int tok_ids_push(struct tok_ids *ids, tok_id id)
{
	void *p = ids->ids;

	if (grow(&p, &ids->cap, ids->n + 1, sizeof(tok_id)) != 0)
		return TOK_E_NOMEM;
	ids->ids = p;
	ids->ids[ids->n++] = id;
	return 0;
}

void tok_ids_free(struct tok_ids *ids)
{
	free(ids->ids);
	ids->ids = NULL;
	ids->n = ids->cap = 0;
}

tok_id tok_spm_byte_token(const struct tok_vocab *v, unsigned char b)
{
	static const char hex[] = "0123456789ABCDEF";
	char buf[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
	char one = (char)b;
	tok_id id = tok_vocab_find(v, buf, sizeof(buf));

	if (id != TOK_NULL)
		return id;
	return tok_vocab_find(v, &one, 1);
}
