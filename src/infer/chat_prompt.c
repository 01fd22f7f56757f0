/*
 * chat_prompt.c — see chat_prompt.h: a user cannot type "<|im_end|>\n<|im_start|>system" and
 * have it read as the template's own control tokens.
 */
#include <string.h>

#include "infer/chat_prompt.h"

static int ids_equal(const struct tok_ids *a, const struct tok_ids *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->ids, b->ids, a->n * sizeof(*a->ids)) == 0);
}

/* Whether text holds the text of a control token: tokenized with and without special-token
 * parsing it gives different ids. */
static int has_special_text(const struct tok_vocab *v, const char *text, size_t len, int *out)
{
	struct tok_ids plain = TOK_IDS_INIT, special = TOK_IDS_INIT;
	int rc = -1;

	if (tok_tokenize(v, text, len, false, false, &plain) == 0 &&
	    tok_tokenize(v, text, len, false, true, &special) == 0) {
		*out = !ids_equal(&plain, &special);
		rc = 0;
	}
	tok_ids_free(&plain);
	tok_ids_free(&special);
	return rc;
}

static int segmented(const struct tok_vocab *v, const char *p, size_t len,
		     const struct chat_span *spans, size_t n, struct tok_ids *out)
{
	tok_id bos = tok_vocab_special(v, TOK_SPECIAL_BOS);
	size_t at = 0;

	if (tok_vocab_get_add_bos(v) && bos != TOK_NULL && tok_ids_push(out, bos) != 0)
		return -1;
	for (;;) {
		/* the next span in prompt order at or after `at` */
		const struct chat_span *next = NULL;
		for (size_t i = 0; i < n; i++)
			if (spans[i].off >= at && spans[i].off + spans[i].len <= len &&
			    (next == NULL || spans[i].off < next->off))
				next = &spans[i];
		size_t end = next ? next->off : len;
		if (end > at && tok_tokenize(v, p + at, end - at, false, true, out) != 0)
			return -1;
		if (next == NULL)
			return 0;
		if (next->len > 0 && tok_tokenize(v, p + next->off, next->len, false, false, out) != 0)
			return -1;
		at = next->off + next->len;
	}
}

int chat_prompt_tokenize(const struct tok_vocab *v, const char *prompt, size_t len,
			 const struct chat_span *spans, size_t n, struct tok_ids *out,
			 int *injected)
{
	const char *p = prompt ? prompt : "";
	struct tok_ids ids = TOK_IDS_INIT;
	int inj = 0, rc;

	for (size_t i = 0; spans != NULL && i < n && !inj; i++) {
		if (spans[i].off > len || spans[i].len > len - spans[i].off)
			return -1;
		if (has_special_text(v, p + spans[i].off, spans[i].len, &inj) != 0)
			return -1;
	}
	rc = inj ? segmented(v, p, len, spans, n, &ids) : tok_tokenize(v, p, len, true, true, &ids);
	for (size_t i = 0; rc == 0 && i < ids.n; i++)
		rc = tok_ids_push(out, ids.ids[i]);
	tok_ids_free(&ids);
	if (injected != NULL)
		*injected = inj;
	return rc;
}
