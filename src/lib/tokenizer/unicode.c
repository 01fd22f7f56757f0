/*
 * unicode.c — UTF-8 and code point flags with llama.cpp's rules (see unicode.h).
 *
 * Owns: the lenient decoder the tokenizers share, the encoder, the flag lookup (binary search over
 * the generated ranges, ASCII by table) and the GPT-2 byte map. Never: allocates or keeps state.
 */
#include "tokenizer/unicode.h"

uint16_t unicode_flags(uint32_t cp)
{
	size_t lo = 0, hi, mid;

	if (cp < 128)
		return unicode_ascii_flags[cp];
	if (cp > UNICODE_MAX)
		return UNICODE_UNDEFINED;
	/* Largest i with unicode_ranges[i].start <= cp; the last entry starts past U+10FFFF. */
	hi = unicode_ranges_n - 1;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (unicode_ranges[mid].start <= cp)
			lo = mid;
		else
			hi = mid;
	}
	return unicode_ranges[lo].flags;
}

static int is_cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

int unicode_decode_one(const unsigned char *s, size_t len, size_t *off, uint32_t *cp)
{
	size_t o = *off;
	unsigned char c = s[o];

	if (!(c & 0x80)) {
		*cp = c;
		*off = o + 1;
		return 0;
	}
	if (!(c & 0x40))
		return -1;
	if (!(c & 0x20)) {
		if (o + 1 >= len || !is_cont(s[o + 1]))
			return -1;
		*cp = ((uint32_t)(c & 0x1F) << 6) | (s[o + 1] & 0x3F);
		*off = o + 2;
		return 0;
	}
	if (!(c & 0x10)) {
		if (o + 2 >= len || !is_cont(s[o + 1]) || !is_cont(s[o + 2]))
			return -1;
		*cp = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[o + 1] & 0x3F) << 6) |
		      (s[o + 2] & 0x3F);
		*off = o + 3;
		return 0;
	}
	if (!(c & 0x08)) {
		if (o + 3 >= len || !is_cont(s[o + 1]) || !is_cont(s[o + 2]) || !is_cont(s[o + 3]))
			return -1;
		*cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[o + 1] & 0x3F) << 12) |
		      ((uint32_t)(s[o + 2] & 0x3F) << 6) | (s[o + 3] & 0x3F);
		*off = o + 4;
		return 0;
	}
	return -1;
}

size_t unicode_len_utf8(unsigned char lead)
{
	static const unsigned char lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};

	return lookup[lead >> 4];
}

size_t unicode_encode(uint32_t cp, char out[4])
{
	if (cp <= 0x7F) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp <= 0x7FF) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp <= 0xFFFF) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	if (cp <= UNICODE_MAX) {
		out[0] = (char)(0xF0 | (cp >> 18));
		out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[3] = (char)(0x80 | (cp & 0x3F));
		return 4;
	}
	return 0;
}

/* Bytes GPT-2 keeps as themselves: '!'..'~', 0xA1..0xAC, 0xAE..0xFF. */
static int byte_is_printable(unsigned b)
{
	return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
}

uint32_t unicode_byte_to_cp(unsigned char b)
{
	if (byte_is_printable(b))
		return b;
	if (b <= 0x20)
		return 256u + b; /* 0x00..0x20 -> U+0100..U+0120 */
	if (b <= 0xA0)
		return 256u + 33u + (b - 0x7Fu); /* 0x7F..0xA0 -> U+0121..U+0142 */
	return 256u + 67u;			 /* 0xAD -> U+0143 */
}

int unicode_cp_to_byte(uint32_t cp)
{
	if (cp < 256)
		return byte_is_printable(cp) ? (int)cp : -1;
	if (cp <= 256 + 32)
		return (int)(cp - 256);
	if (cp <= 256 + 66)
		return (int)(cp - 256 - 33 + 0x7F);
	if (cp == 256 + 67)
		return 0xAD;
	return -1;
}

int unicode_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t need, i;
	unsigned char lo = 0x80, hi = 0xBF;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		need = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		need = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		need = 4;
	else
		return -1;
	/* Second-byte limits that exclude overlongs, surrogates and > U+10FFFF. */
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	for (i = 1; i < need; i++) {
		if (i >= n)
			return 0;
		if (i == 1 ? (s[i] < lo || s[i] > hi) : !is_cont(s[i]))
			return -1;
	}
	return (int)need;
}
