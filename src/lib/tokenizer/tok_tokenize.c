/*
 * tok_tokenize.c — llama_tokenize: special-token partitioning, then SPM or BPE per text piece.
 *
 * Owns: llama.cpp's tokenizer_st_partition (each special token, longest text first, cuts every
 * remaining text fragment at its occurrences, leftmost first; control and unknown tokens only
 * when parse_special, user-defined ones always; LSTRIP/RSTRIP eat ASCII whitespace beside a
 * match) and the BOS / leading-space / EOS rules of llama_vocab::impl::tokenize. Never: modifies
 * the vocabulary or the input, or leaves partial output behind on error.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_impl.h"

struct frag {
	tok_id id; /* TOK_NULL: raw text [off, off + len) */
	size_t off, len;
};

struct frags {
	struct frag *v;
	size_t n, cap;
};

static int frags_add(struct frags *f, tok_id id, size_t off, size_t len)
{
	struct frag *nv;

	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 8;

		if (ncap > SIZE_MAX / sizeof(*nv))
			return TOK_E_NOMEM;
		nv = realloc(f->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return TOK_E_NOMEM;
		f->v = nv;
		f->cap = ncap;
	}
	f->v[f->n].id = id;
	f->v[f->n].off = off;
	f->v[f->n].len = len;
	f->n++;
	return 0;
}

/* isspace() in the C locale, which is what llama.cpp's LSTRIP/RSTRIP test amounts to. */
static int c_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Cuts one raw fragment at every occurrence of special token id. */
static int split_fragment(const struct tok_vocab *v, const char *text, const struct frag *fr,
			  tok_id id, struct frags *out)
{
	size_t slen, base = fr->off, blen = fr->len, left, right_off, right_len;
	const char *stext = tok_text_of(v, id, &slen), *m;
	uint32_t attr = v->tokens[id].attr;
	int r;

	for (;;) {
		m = blen >= slen ? memmem(text + base, blen, stext, slen) : NULL;
		if (m == NULL)
			return frags_add(out, TOK_NULL, base, blen);
		left = (size_t)(m - (text + base));
		if (attr & TOK_ATTR_LSTRIP)
			while (left > 0 && c_space(text[base + left - 1]))
				left--;
		if (left > 0 && (r = frags_add(out, TOK_NULL, base, left)) != 0)
			return r;
		if ((r = frags_add(out, id, 0, 0)) != 0)
			return r;
		right_off = (size_t)(m - text) + slen;
		right_len = base + blen - right_off;
		if (attr & TOK_ATTR_RSTRIP)
			while (right_len > 0 && c_space(text[right_off])) {
				right_off++;
				right_len--;
			}
		base = right_off;
		blen = right_len;
		if (blen == 0)
			return 0;
	}
}

static int partition(const struct tok_vocab *v, const char *text, size_t len, bool parse_special,
		     struct frags *cur)
{
	struct frags next = {NULL, 0, 0}, t;
	size_t s, i;
	tok_id id;
	int r;

	if ((r = frags_add(cur, TOK_NULL, 0, len)) != 0)
		return r;
	for (s = 0; s < v->n_special_cache; s++) {
		id = v->special_cache[s];
		if (!parse_special && (v->tokens[id].attr & (TOK_ATTR_CONTROL | TOK_ATTR_UNKNOWN)))
			continue;
		next.n = 0;
		for (i = 0; i < cur->n; i++) {
			if (cur->v[i].id != TOK_NULL || cur->v[i].len < v->tokens[id].len)
				r = frags_add(&next, cur->v[i].id, cur->v[i].off, cur->v[i].len);
			else
				r = split_fragment(v, text, &cur->v[i], id, &next);
			if (r != 0) {
				free(next.v);
				return r;
			}
		}
		t = *cur;
		*cur = next;
		next = t;
	}
	free(next.v);
	return 0;
}

int tok_tokenize(const struct tok_vocab *v, const void *text, size_t len, bool add_special,
		 bool parse_special, struct tok_ids *out)
{
	struct frags fr = {NULL, 0, 0};
	size_t n0 = out->n, i;
	bool prev_special = true; /* SPM: prefix a space to the first text */
	tok_id bos = v->special[TOK_SPECIAL_BOS], eos = v->special[TOK_SPECIAL_EOS];
	int r = 0;

	if (!v->finished || (text == NULL && len > 0))
		return TOK_E_INVAL;
	if (add_special && ((v->add_bos && bos == TOK_NULL) || (v->add_eos && eos == TOK_NULL)))
		return TOK_E_MODEL; /* llama.cpp asserts here */
	if (len > 0 && (r = partition(v, text, len, parse_special, &fr)) != 0)
		goto out;
	if (add_special && v->add_bos && (r = tok_ids_push(out, bos)) != 0)
		goto out;
	for (i = 0; i < fr.n; i++) {
		const struct frag *f = &fr.v[i];

		if (f->id != TOK_NULL) {
			r = tok_ids_push(out, f->id);
			prev_special = true;
		} else if (v->model == TOK_MODEL_SPM) {
			r = tok_spm_fragment(v, (const char *)text + f->off, f->len,
					     v->add_space_prefix && prev_special, out);
			prev_special = false;
		} else {
			r = tok_bpe_fragment(v, (const char *)text + f->off, f->len, out);
		}
		if (r != 0)
			goto out;
	}
	if (add_special && v->add_eos)
		r = tok_ids_push(out, eos);
out:
	free(fr.v);
	if (r != 0)
		out->n = n0;
	return r;
}
