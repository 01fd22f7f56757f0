/*
 * tok_decode.c — ids back to text: llama_token_to_piece and a streaming UTF-8 decoder.
 *
 * Owns: one token's bytes (SPM: "▁" -> ' ', <0xNN> -> the byte; BPE: GPT-2 byte map reversed,
 * unmappable characters spelled "[UNK_BYTE_0x..]" like llama.cpp; control/unknown tokens only
 * when special) and turning a stream of pieces into valid UTF-8 by holding back an incomplete
 * trailing sequence. Never: emits invalid UTF-8 from the streaming decoder, or drops bytes
 * silently (invalid ones become U+FFFD there).
 */
#include <stdio.h>
#include <string.h>

#include "tokenizer/tok_impl.h"
#include "tokenizer/unicode.h"

static int buf_err(int r)
{
	return r == 0 ? 0 : TOK_E_NOMEM;
}

static int spm_normal(const char *t, size_t n, struct buf *out)
{
	size_t i = 0, run;

	while (i < n) {
		if (n - i >= 3 && memcmp(t + i, "\xe2\x96\x81", 3) == 0) {
			if (buf_append_char(out, ' ') != 0)
				return TOK_E_NOMEM;
			i += 3;
			continue;
		}
		for (run = 0; i + run < n; run++)
			if (n - i - run >= 3 && memcmp(t + i + run, "\xe2\x96\x81", 3) == 0)
				break;
		if (buf_append(out, t + i, run) != 0)
			return TOK_E_NOMEM;
		i += run;
	}
	return 0;
}

/* strtol(text + 3, NULL, 16) of "<0xNN>", truncated to a byte, like llama.cpp's token_to_byte. */
static unsigned char spm_byte(const char *t, size_t n)
{
	unsigned long val = 0;
	size_t i;
	char c;

	for (i = 3; i < n; i++) {
		c = t[i];
		if (c >= '0' && c <= '9')
			val = val * 16 + (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			val = val * 16 + (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			val = val * 16 + (unsigned)(c - 'A' + 10);
		else
			break;
		val &= 0xFFFF;
	}
	return (unsigned char)val;
}

/* llama.cpp's llama_decode_text. */
static int bpe_decode(const char *t, size_t n, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)t;
	size_t off = 0, k, m;
	uint32_t cp;
	char u8[4];
	int b;

	while (off < n) {
		if (unicode_decode_one(s, n, &off, &cp) != 0) {
			cp = UNICODE_REPLACEMENT;
			off++;
		}
		b = unicode_cp_to_byte(cp);
		if (b >= 0) {
			if (buf_append_char(out, (char)b) != 0)
				return TOK_E_NOMEM;
			continue;
		}
		m = unicode_encode(cp > UNICODE_MAX ? UNICODE_REPLACEMENT : cp, u8);
		if (buf_append_str(out, "[UNK_BYTE_0x") != 0)
			return TOK_E_NOMEM;
		for (k = 0; k < m; k++)
			if (buf_printf(out, "%02x", (unsigned char)u8[k]) != 0)
				return TOK_E_NOMEM;
		if (buf_append(out, t, n) != 0 || buf_append_char(out, ']') != 0)
			return TOK_E_NOMEM;
	}
	return 0;
}

int tok_piece(const struct tok_vocab *v, tok_id id, bool special, struct buf *out)
{
	const uint32_t attr_special = TOK_ATTR_UNKNOWN | TOK_ATTR_CONTROL;
	uint32_t attr;
	const char *t;
	size_t n;

	if (!v->finished || id < 0 || (size_t)id >= v->n_tokens)
		return TOK_E_INVAL;
	attr = v->tokens[id].attr;
	if (!special && (attr & attr_special))
		return 0;
	t = tok_text_of(v, id, &n);
	if (attr & (attr_special | TOK_ATTR_USER_DEFINED))
		return buf_err(buf_append(out, t, n));
	if (v->model == TOK_MODEL_SPM) {
		if (attr & TOK_ATTR_NORMAL)
			return spm_normal(t, n, out);
		if (attr & TOK_ATTR_BYTE)
			return buf_err(buf_append_char(out, (char)spm_byte(t, n)));
		return 0; /* unused / undefined: nothing, like llama.cpp */
	}
	if (attr & TOK_ATTR_NORMAL)
		return bpe_decode(t, n, out);
	return 0;
}

void tok_decoder_init(struct tok_decoder *d)
{
	d->npend = 0;
}

static int put_fffd(struct buf *out)
{
	return buf_err(buf_append(out, "\xef\xbf\xbd", 3));
}

int tok_decoder_feed(struct tok_decoder *d, const void *bytes, size_t n, struct buf *out)
{
	const unsigned char *in = bytes;
	unsigned char tmp[8];
	size_t i = 0, k, sub;
	int q;

	/* First complete (or reject) the held-back sequence, a byte at a time. */
	while (d->npend > 0 && i < n) {
		memcpy(tmp, d->pend, d->npend);
		tmp[d->npend] = in[i];
		q = unicode_utf8_seq(tmp, d->npend + 1);
		if (q == 0) {
			d->pend[d->npend++] = in[i++];
			continue;
		}
		if (q > 0) {
			if (buf_append(out, tmp, (size_t)q) != 0)
				return TOK_E_NOMEM;
			i++;
		} else if (put_fffd(out) != 0) {
			return TOK_E_NOMEM; /* the held bytes were a maximal subpart; in[i] stays */
		}
		d->npend = 0;
	}
	while (i < n) {
		q = unicode_utf8_seq(in + i, n - i);
		if (q > 0) {
			/* Copy a run of complete sequences at once. */
			k = (size_t)q;
			while (i + k < n && (q = unicode_utf8_seq(in + i + k, n - i - k)) > 0)
				k += (size_t)q;
			if (buf_append(out, in + i, k) != 0)
				return TOK_E_NOMEM;
			i += k;
			continue;
		}
		if (q == 0) { /* incomplete at the end: hold it back */
			memcpy(d->pend, in + i, n - i);
			d->npend = n - i;
			return 0;
		}
		/* Invalid: one U+FFFD for the maximal subpart (longest valid prefix, at least 1).
		 */
		sub = 1;
		for (k = 2; k <= 3 && i + k <= n; k++)
			if (unicode_utf8_seq(in + i, k) == 0)
				sub = k;
		if (put_fffd(out) != 0)
			return TOK_E_NOMEM;
		i += sub;
	}
	return 0;
}

int tok_decoder_push(struct tok_decoder *d, const struct tok_vocab *v, tok_id id, bool special,
		     struct buf *out)
{
	struct buf piece = BUF_INIT;
	int r;

	r = tok_piece(v, id, special, &piece);
	if (r == 0)
		r = tok_decoder_feed(d, piece.data, piece.len, out);
	buf_free(&piece);
	return r;
}

int tok_decoder_flush(struct tok_decoder *d, struct buf *out)
{
	if (d->npend == 0)
		return 0;
	d->npend = 0;
	return put_fffd(out);
}
