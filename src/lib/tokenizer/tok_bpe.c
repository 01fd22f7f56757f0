/*
 * tok_bpe.c — the byte-level BPE tokenizer (tokenizer.ggml.model = gpt2).
 *
 * Owns: llama.cpp's llm_tokenizer_bpe_session: the text is decoded to code points (invalid UTF-8
 * becomes U+FFFD per byte, as unicode_cpts_from_utf8 does), split into words by the
 * pre-tokenizer, each word re-encoded byte by byte through GPT-2's byte -> code point map, and
 * merged pairwise by merge rank (lowest rank first, leftmost on ties). With ignore_merges (llama3)
 * a word that is a token is taken whole. A final symbol that is not a token is emitted as the
 * tokens of its single bytes, skipping bytes without one (like llama.cpp). Never: accepts code
 * points above U+10FFFF (llama.cpp throws on them; we return TOK_E_UTF8).
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
	int32_t rank;
	size_t size;
};

static int bigram_less(const struct bigram *a, const struct bigram *b)
{
	return a->rank > b->rank || (a->rank == b->rank && a->left > b->left);
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

/* Scratch space reused across the words of one fragment. */
struct work {
	struct sym *syms;
	size_t cap_syms;
	struct heap h;
};

static int add_bigram(const struct tok_vocab *v, const char *w, const struct sym *syms, long l,
		      long r, struct heap *h)
{
	struct bigram b;

	if (l < 0 || r < 0)
		return 0;
	b.rank = tok_merge_rank(v, w + syms[l].off, syms[l].n, w + syms[r].off, syms[r].n);
	if (b.rank < 0)
		return 0;
	b.left = l;
	b.right = r;
	b.size = syms[l].n + syms[r].n;
	return heap_push(h, &b);
}

static int emit(const struct tok_vocab *v, const char *s, size_t n, struct tok_ids *out)
{
	tok_id id = tok_vocab_find(v, s, n);
	size_t i;
	int r;

	if (id != TOK_NULL)
		return tok_ids_push(out, id);
	for (i = 0; i < n; i++) {
		id = tok_vocab_find(v, s + i, 1);
		if (id != TOK_NULL && (r = tok_ids_push(out, id)) != 0)
			return r;
	}
	return 0;
}

static int bpe_word(const struct tok_vocab *v, const char *w, size_t wlen, struct work *wk,
		    struct tok_ids *out)
{
	size_t off, n, nsym = 0, i;
	struct sym *syms;
	long k;
	int r;

	if (v->ignore_merges && tok_vocab_find(v, w, wlen) != TOK_NULL)
		return emit(v, w, wlen, out);
	if (wlen > wk->cap_syms) {
		syms = realloc(wk->syms, wlen * sizeof(*syms));
		if (syms == NULL)
			return TOK_E_NOMEM;
		wk->syms = syms;
		wk->cap_syms = wlen;
	}
	syms = wk->syms;
	for (off = 0; off < wlen; off += n) {
		n = unicode_len_utf8((unsigned char)w[off]);
		if (n > wlen - off)
			n = wlen - off;
		syms[nsym].off = off;
		syms[nsym].n = n;
		syms[nsym].prev = (long)nsym - 1;
		syms[nsym].next = off + n == wlen ? -1 : (long)nsym + 1;
		nsym++;
	}
	wk->h.n = 0;
	for (i = 1; i < nsym; i++)
		if ((r = add_bigram(v, w, syms, (long)i - 1, (long)i, &wk->h)) != 0)
			return r;
	while (wk->h.n > 0) {
		struct bigram b = heap_pop(&wk->h);
		struct sym *ls = &syms[b.left], *rs = &syms[b.right];

		/* llama.cpp compares the texts; both stay adjacent, so the sizes say the same. */
		if (ls->n == 0 || rs->n == 0 || ls->n + rs->n != b.size)
			continue;
		ls->n += rs->n;
		rs->n = 0;
		ls->next = rs->next;
		if (rs->next >= 0)
			syms[rs->next].prev = b.left;
		if ((r = add_bigram(v, w, syms, ls->prev, b.left, &wk->h)) != 0 ||
		    (r = add_bigram(v, w, syms, b.left, ls->next, &wk->h)) != 0)
			return r;
	}
	for (k = 0; nsym > 0 && k != -1; k = syms[k].next)
		if (syms[k].n > 0 && (r = emit(v, w + syms[k].off, syms[k].n, out)) != 0)
			return r;
	return 0;
}

int tok_bpe_fragment(const struct tok_vocab *v, const char *text, size_t len, struct tok_ids *out)
{
	const unsigned char *s = (const unsigned char *)text;
	uint32_t *cps = NULL;
	uint16_t *fl = NULL;
	size_t *lens = NULL, n_lens = 0, cap_lens = 0;
	size_t ncp = 0, off = 0, i, j, start, b, e;
	char *word = NULL, u8[4], m[4];
	size_t wlen, k, mk;
	struct work wk = {NULL, 0, {NULL, 0, 0}};
	int r = TOK_E_NOMEM;

	if (len == 0)
		return 0;
	cps = malloc(len * sizeof(*cps));
	fl = malloc(len * sizeof(*fl));
	/* Every input byte can grow to at most 2 bytes (map code points are < U+0800). */
	word = malloc(len * 8 + 8);
	if (cps == NULL || fl == NULL || word == NULL)
		goto out;
	while (off < len) {
		if (unicode_decode_one(s, len, &off, &cps[ncp]) != 0) {
			cps[ncp] = UNICODE_REPLACEMENT; /* unicode_cpts_from_utf8: skip one byte */
			off++;
		} else if (cps[ncp] > UNICODE_MAX) {
			r = TOK_E_UTF8;
			goto out;
		}
		fl[ncp] = unicode_flags(cps[ncp]);
		ncp++;
	}
	if ((r = tok_pre_split(v->pre, cps, fl, ncp, &lens, &n_lens, &cap_lens)) != 0)
		goto out;
	start = 0;
	for (i = 0; i < n_lens; i++) {
		b = start;
		e = start + lens[i];
		start = e;
		wlen = 0;
		for (j = b; j < e; j++) {
			mk = unicode_encode(cps[j], u8);
			for (k = 0; k < mk; k++) {
				size_t q,
				    nq =
					unicode_encode(unicode_byte_to_cp((unsigned char)u8[k]), m);

				for (q = 0; q < nq; q++)
					word[wlen++] = m[q];
			}
		}
		if ((r = bpe_word(v, word, wlen, &wk, out)) != 0)
			goto out;
	}
	r = 0;
out:
	free(wk.syms);
	free(wk.h.v);
	free(lens);
	free(word);
	free(fl);
	free(cps);
	return r;
}
