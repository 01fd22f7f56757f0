/*
 * tok_spm.c — the SentencePiece-style tokenizer (tokenizer.ggml.model = llama).
 *
 * Owns: llama.cpp's llm_tokenizer_spm_session: the text (with the optional leading space) has
 * every ' ' replaced by U+2581 "▁", is cut into UTF-8 characters by lead byte, then adjacent
 * symbols are merged greedily by the score of the token they form (highest score first, leftmost
 * on ties); symbols that are not tokens fall back to <0xNN> byte tokens. Never: validates UTF-8
 * (like llama.cpp it works on lead-byte lengths) or looks at merges.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_impl.h"
#include "tokenizer/unicode.h"

struct sym {
	size_t off, n;
	long prev, next;
};

struct bigram {
	long left, right;
	float score;
	size_t size;
};

/* llama.cpp's comparator: a is "less" (popped later) than b. */
static int bigram_less(const struct bigram *a, const struct bigram *b)
{
	return a->score < b->score || (a->score == b->score && a->left > b->left);
}

struct heap {
	struct bigram *v;
	size_t n, cap;
};

static int heap_push(struct heap *h, const struct bigram *b)
{
	size_t i, p;
	struct bigram *nv;

	if (h->n == h->cap) {
		size_t ncap = h->cap ? h->cap * 2 : 64;

		if (ncap > SIZE_MAX / sizeof(*nv))
			return TOK_E_NOMEM;
		nv = realloc(h->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return TOK_E_NOMEM;
		h->v = nv;
		h->cap = ncap;
	}
	i = h->n++;
	while (i > 0) {
		p = (i - 1) / 2;
		if (!bigram_less(&h->v[p], b))
			break;
		h->v[i] = h->v[p];
		i = p;
	}
	h->v[i] = *b;
	return 0;
}

static struct bigram heap_pop(struct heap *h)
{
	struct bigram top = h->v[0], last = h->v[--h->n];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < h->n) {
		if (c + 1 < h->n && bigram_less(&h->v[c], &h->v[c + 1]))
			c++;
		if (!bigram_less(&last, &h->v[c]))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n > 0)
		h->v[i] = last;
	return top;
}

static int try_add_bigram(const struct tok_vocab *v, const char *text, const struct sym *syms,
			  long l, long r, struct heap *h)
{
	struct bigram b;
	tok_id id;

	if (l < 0 || r < 0)
		return 0;
	b.size = syms[l].n + syms[r].n;
	id = tok_vocab_find(v, text + syms[l].off, b.size);
	if (id == TOK_NULL)
		return 0;
	b.left = l;
	b.right = r;
	b.score = v->tokens[id].score;
	return heap_push(h, &b);
}

int tok_spm_fragment(const struct tok_vocab *v, const char *text, size_t len, bool space_prefix,
		     struct tok_ids *out)
{
	static const char sp[3] = {'\xe2', '\x96', '\x81'}; /* U+2581 */
	struct heap h = {NULL, 0, 0};
	struct sym *syms = NULL;
	char *buf = NULL;
	size_t blen = 0, i, nsym = 0, off, n;
	long k;
	tok_id id;
	int r = TOK_E_NOMEM;

	if (len > (SIZE_MAX - 3) / 3)
		return TOK_E_NOMEM;
	buf = malloc(3 * len + 3);
	if (buf == NULL)
		goto out;
	if (space_prefix) {
		memcpy(buf, sp, 3);
		blen = 3;
	}
	for (i = 0; i < len; i++) {
		if (text[i] == ' ') {
			memcpy(buf + blen, sp, 3);
			blen += 3;
		} else {
			buf[blen++] = text[i];
		}
	}
	if (blen == 0) {
		r = 0;
		goto out;
	}
	syms = malloc(blen * sizeof(*syms));
	if (syms == NULL)
		goto out;
	for (off = 0; off < blen; off += n) {
		n = unicode_len_utf8((unsigned char)buf[off]);
		if (n > blen - off)
			n = blen - off;
		syms[nsym].off = off;
		syms[nsym].n = n;
		syms[nsym].prev = (long)nsym - 1;
		syms[nsym].next = off + n == blen ? -1 : (long)nsym + 1;
		nsym++;
	}
	for (i = 1; i < nsym; i++)
		if ((r = try_add_bigram(v, buf, syms, (long)i - 1, (long)i, &h)) != 0)
			goto out;
	while (h.n > 0) {
		struct bigram b = heap_pop(&h);
		struct sym *ls = &syms[b.left], *rs = &syms[b.right];

		if (ls->n == 0 || rs->n == 0 || ls->n + rs->n != b.size)
			continue; /* outdated */
		ls->n += rs->n;
		rs->n = 0;
		ls->next = rs->next;
		if (rs->next >= 0)
			syms[rs->next].prev = b.left;
		if ((r = try_add_bigram(v, buf, syms, ls->prev, b.left, &h)) != 0 ||
		    (r = try_add_bigram(v, buf, syms, b.left, ls->next, &h)) != 0)
			goto out;
	}
	/* Merged symbols are tokens by construction; a lone character that is not one falls back
	 * to byte tokens (llama.cpp's resegment; its rev_merge recursion never triggers). */
	for (k = 0; k != -1; k = syms[k].next) {
		id = tok_vocab_find(v, buf + syms[k].off, syms[k].n);
		if (id != TOK_NULL) {
			if ((r = tok_ids_push(out, id)) != 0)
				goto out;
			continue;
		}
		for (i = 0; i < syms[k].n; i++) {
			id = tok_spm_byte_token(v, (unsigned char)buf[syms[k].off + i]);
			if (id == TOK_NULL) {
				r = TOK_E_NOTOKEN;
				goto out;
			}
			if ((r = tok_ids_push(out, id)) != 0)
				goto out;
		}
	}
	r = 0;
out:
	free(h.v);
	free(syms);
	free(buf);
	return r;
}
