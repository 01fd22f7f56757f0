/*
 * tok_pre.c — BPE pre-tokenizers: llama.cpp's regex splits, as small matchers over code point
 * flags (no regex engine).
 *
 * Owns: splitting a code point sequence into words exactly as llama.cpp b4747's
 * unicode_regex_split does for each supported tokenizer.ggml.pre: its hand-written GPT-2 and
 * llama3 matchers, and the std::regex patterns it runs over "collapsed" text (every non-ASCII code
 * point reduced to its category) re-expressed as the equivalent matcher. Each stage splits the
 * pieces of the previous one; text between two matches becomes a piece of its own, as in
 * unicode_regex_split_stl. Never: allocates per code point, looks at bytes, or changes the text.
 *
 *   GPT2:    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
 *   LLAMA3:  (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|
 *            \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *   QWEN2:   the same with \p{N} instead of \p{N}{1,3} (std::regex in llama.cpp; leftmost-first
 *            alternation over that pattern gives what the llama3 matcher gives with 1 digit)
 *   SMOLLM:  \p{N}  then GPT2
 *   DEFAULT: [\p{P}\$\+<=>\^`\|]+  then GPT2  then \p{N}+  then [0-9][0-9][0-9]
 */
#include <stdlib.h>

#include "tokenizer/tok_impl.h"
#include "tokenizer/unicode.h"

struct lens {
	size_t *v;
	size_t n, cap;
};

static int lens_add(struct lens *l, size_t len)
{
	size_t *p;
	size_t ncap;

	if (len == 0)
		return 0;
	if (l->n == l->cap) {
		ncap = l->cap ? l->cap * 2 : 64;
		if (ncap > SIZE_MAX / sizeof(size_t))
			return TOK_E_NOMEM;
		p = realloc(l->v, ncap * sizeof(size_t));
		if (p == NULL)
			return TOK_E_NOMEM;
		l->v = p;
		l->cap = ncap;
	}
	l->v[l->n++] = len;
	return 0;
}

/* One chunk [ini, end) of the text: flags outside it read as 0 (llama.cpp's OUT_OF_RANGE). */
struct chunk {
	const uint32_t *cps;
	const uint16_t *fl;
	size_t ini, end;
};

static uint16_t F(const struct chunk *c, size_t pos)
{
	return (pos >= c->ini && pos < c->end) ? c->fl[pos] : 0;
}

static uint32_t lower_ascii(uint32_t cp)
{
	return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
}

#define NOT_PUNCT (UNICODE_WHITESPACE | UNICODE_LETTER | UNICODE_NUMBER)

/* 's|'t|'re|'ve|'m|'ll|'d, case-insensitive or not; returns the match length or 0. */
static size_t contraction(const struct chunk *c, size_t pos, int icase)
{
	uint32_t a, b;

	if (c->cps[pos] != '\'' || pos + 1 >= c->end)
		return 0;
	a = icase ? lower_ascii(c->cps[pos + 1]) : c->cps[pos + 1];
	if (a == 's' || a == 't' || a == 'm' || a == 'd')
		return 2;
	if (pos + 2 >= c->end)
		return 0;
	b = icase ? lower_ascii(c->cps[pos + 2]) : c->cps[pos + 2];
	if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
		return 3;
	return 0;
}

/* Length of the \s run at pos; *last_rn = index after its last \r or \n (0 if none). */
static size_t ws_run(const struct chunk *c, size_t pos, size_t *last_rn)
{
	size_t n = 0;
	uint32_t cp;

	*last_rn = 0;
	while (F(c, pos + n) & UNICODE_WHITESPACE) {
		cp = c->cps[pos + n];
		if (cp == '\r' || cp == '\n')
			*last_rn = pos + n + 1;
		n++;
	}
	return n;
}

static int split_gpt2(const struct chunk *c, struct lens *out)
{
	size_t pos = c->ini, start, n, k, dummy;
	uint32_t cp;
	uint16_t f2, want;
	int r;

	while (pos < c->end) {
		start = pos;
		cp = c->cps[pos];
		if ((k = contraction(c, pos, 0)) != 0) {
			pos += k;
		} else {
			f2 = cp == ' ' ? F(c, pos + 1) : F(c, pos);
			want = 0;
			if (f2 & UNICODE_LETTER)
				want = UNICODE_LETTER;
			else if (f2 & UNICODE_NUMBER)
				want = UNICODE_NUMBER;
			if (want) { /* ' ?\p{L}+' or ' ?\p{N}+' */
				pos += cp == ' ';
				while (F(c, pos) & want)
					pos++;
			} else if (!(f2 & NOT_PUNCT) && f2) { /* ' ?[^\s\p{L}\p{N}]+' */
				pos += cp == ' ';
				while (!(F(c, pos) & NOT_PUNCT) && F(c, pos))
					pos++;
			} else {
				n = ws_run(c, pos, &dummy);
				if (n > 1 && pos + n < c->end)
					pos += n - 1; /* \s+(?!\S) */
				else if (n > 0)
					pos += n; /* \s+ */
				else
					pos++; /* no match: a piece of one code point */
			}
		}
		if ((r = lens_add(out, pos - start)) != 0)
			return r;
	}
	return 0;
}

static int split_llama3(const struct chunk *c, size_t max_digits, struct lens *out)
{
	size_t pos = c->ini, start, n, k, last_rn, ini;
	uint32_t cp;
	uint16_t f, f2;
	int r;

	while (pos < c->end) {
		start = pos;
		cp = c->cps[pos];
		f = F(c, pos);
		if ((k = contraction(c, pos, 1)) != 0) {
			pos += k;
			goto add;
		}
		/* [^\r\n\p{L}\p{N}]?\p{L}+ */
		if (!(cp == '\r' || cp == '\n' || (f & UNICODE_NUMBER)) &&
		    ((f & UNICODE_LETTER) || (F(c, pos + 1) & UNICODE_LETTER))) {
			pos++;
			while (F(c, pos) & UNICODE_LETTER)
				pos++;
			goto add;
		}
		/* \p{N}{1,max_digits} */
		if (f & UNICODE_NUMBER) {
			ini = pos;
			while (F(c, pos) & UNICODE_NUMBER) {
				pos++;
				if (pos - ini >= max_digits) {
					if ((r = lens_add(out, pos - ini)) != 0)
						return r;
					ini = pos;
				}
			}
			if ((r = lens_add(out, pos - ini)) != 0)
				return r;
			continue;
		}
		/* ' ?[^\s\p{L}\p{N}]+[\r\n]*' */
		f2 = cp == ' ' ? F(c, pos + 1) : f;
		if (!(f2 & NOT_PUNCT) && f2) {
			pos += cp == ' ';
			while (!(F(c, pos) & NOT_PUNCT) && F(c, pos))
				pos++;
			while (pos < c->end && (c->cps[pos] == '\r' || c->cps[pos] == '\n'))
				pos++;
			goto add;
		}
		n = ws_run(c, pos, &last_rn);
		if (last_rn > 0)
			pos = last_rn; /* \s*[\r\n]+ */
		else if (n > 1 && pos + n < c->end)
			pos += n - 1; /* \s+(?!\S) */
		else if (n > 0)
			pos += n; /* \s+ */
		else
			pos++; /* no match */
	add:
		if ((r = lens_add(out, pos - start)) != 0)
			return r;
	}
	return 0;
}

/* Which single-class patterns a "run" stage matches. */
enum run_class {
	RUN_NUMBER_ONE, /* \p{N}       one code point per match */
	RUN_NUMBER,	/* \p{N}+ */
	RUN_PUNCT,	/* [\p{P}\$\+<=>\^`\|]+ */
	RUN_DIGITS3,	/* [0-9][0-9][0-9] */
};

static int in_class(enum run_class cls, uint32_t cp, uint16_t f)
{
	switch (cls) {
	case RUN_NUMBER_ONE:
	case RUN_NUMBER:
		return (f & UNICODE_NUMBER) != 0;
	case RUN_PUNCT:
		return (f & UNICODE_PUNCT) || cp == '$' || cp == '+' || cp == '<' || cp == '=' ||
		       cp == '>' || cp == '^' || cp == '`' || cp == '|';
	case RUN_DIGITS3:
		return cp >= '0' && cp <= '9';
	}
	return 0;
}

/* regex_iterator over one chunk: each match a piece, the text between matches a piece. */
static int split_run(const struct chunk *c, enum run_class cls, struct lens *out)
{
	size_t pos = c->ini, gap = c->ini, m;
	int r;

	while (pos < c->end) {
		m = 0;
		if (cls == RUN_DIGITS3) {
			while (m < 3 && pos + m < c->end && in_class(cls, c->cps[pos + m], 0))
				m++;
			if (m < 3)
				m = 0;
		} else if (in_class(cls, c->cps[pos], c->fl[pos])) {
			m = 1;
			if (cls != RUN_NUMBER_ONE)
				while (pos + m < c->end &&
				       in_class(cls, c->cps[pos + m], c->fl[pos + m]))
					m++;
		}
		if (m == 0) {
			pos++;
			continue;
		}
		if ((r = lens_add(out, pos - gap)) != 0 || (r = lens_add(out, m)) != 0)
			return r;
		pos += m;
		gap = pos;
	}
	return lens_add(out, pos - gap);
}

enum stage { ST_GPT2, ST_LLAMA3, ST_QWEN2, ST_NUM_ONE, ST_NUM, ST_PUNCT, ST_DIGITS3, ST_END };

static const enum stage stages[][5] = {
    [TOK_PRE_DEFAULT] = {ST_PUNCT, ST_GPT2, ST_NUM, ST_DIGITS3, ST_END},
    [TOK_PRE_GPT2] = {ST_GPT2, ST_END},
    [TOK_PRE_LLAMA3] = {ST_LLAMA3, ST_END},
    [TOK_PRE_QWEN2] = {ST_QWEN2, ST_END},
    [TOK_PRE_SMOLLM] = {ST_NUM_ONE, ST_GPT2, ST_END},
};

int tok_pre_split(enum tok_pre pre, const uint32_t *cps, const uint16_t *flags, size_t n,
		  size_t **lens, size_t *n_lens, size_t *cap_lens)
{
	struct lens cur = {NULL, 0, 0}, next = {NULL, 0, 0};
	struct chunk c = {cps, flags, 0, 0};
	size_t i, s, start;
	int r = 0;

	if ((unsigned)pre > TOK_PRE_SMOLLM)
		return TOK_E_INVAL;
	if ((r = lens_add(&cur, n)) != 0)
		return r;
	for (s = 0; stages[pre][s] != ST_END; s++) {
		next.n = 0;
		start = 0;
		for (i = 0; i < cur.n && r == 0; i++) {
			c.ini = start;
			c.end = start + cur.v[i];
			start = c.end;
			switch (stages[pre][s]) {
			case ST_GPT2:
				r = split_gpt2(&c, &next);
				break;
			case ST_LLAMA3:
				r = split_llama3(&c, 3, &next);
				break;
			case ST_QWEN2:
				r = split_llama3(&c, 1, &next);
				break;
			case ST_NUM_ONE:
				r = split_run(&c, RUN_NUMBER_ONE, &next);
				break;
			case ST_NUM:
				r = split_run(&c, RUN_NUMBER, &next);
				break;
			case ST_PUNCT:
				r = split_run(&c, RUN_PUNCT, &next);
				break;
			case ST_DIGITS3:
				r = split_run(&c, RUN_DIGITS3, &next);
				break;
			case ST_END:
				break;
			}
		}
		if (r != 0)
			goto out;
		struct lens t = cur;
		cur = next;
		next = t;
	}
	for (i = 0; i < cur.n; i++) {
		struct lens o = {*lens, *n_lens, *cap_lens};

		r = lens_add(&o, cur.v[i]);
		*lens = o.v;
		*n_lens = o.n;
		*cap_lens = o.cap;
		if (r != 0)
			break;
	}
out:
	free(cur.v);
	free(next.v);
	return r;
}
