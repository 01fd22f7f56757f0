/*
 * unicode.h — the Unicode facts the tokenizers need, with llama.cpp's exact (lenient) rules.
 *
 * Owns: UTF-8 decoding the way llama.cpp's unicode_cpt_from_utf8 does it (overlongs and
 * surrogates accepted, invalid bytes become U+FFFD one byte at a time), UTF-8 encoding, the code
 * point flag lookup over the generated tables (unicode_tables.c), and GPT-2's byte <-> code point
 * map for byte-level BPE. Never: allocates, normalises text, or depends on the C locale.
 */
#ifndef SECAI_TOK_UNICODE_H
#define SECAI_TOK_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* Code point flags (the bits of llama.cpp's unicode_cpt_flags). Exactly one category bit is set
 * for every code point <= U+10FFFF; UNICODE_WHITESPACE is White_Space from PropList.txt. */
#define UNICODE_UNDEFINED 0x001u /* unassigned (Cn), or above U+10FFFF */
#define UNICODE_NUMBER 0x002u	 /* \p{N} */
#define UNICODE_LETTER 0x004u	 /* \p{L} */
#define UNICODE_SEPARATOR 0x008u /* \p{Z} */
#define UNICODE_ACCENT 0x010u	 /* \p{M} */
#define UNICODE_PUNCT 0x020u	 /* \p{P} */
#define UNICODE_SYMBOL 0x040u	 /* \p{S} */
#define UNICODE_CONTROL 0x080u	 /* \p{C} except Cn */
#define UNICODE_WHITESPACE 0x100u

#define UNICODE_MAX 0x10FFFFu
#define UNICODE_REPLACEMENT 0xFFFDu

struct unicode_range {
	uint32_t start; /* first code point of the range; the next entry's start ends it */
	uint16_t flags;
};

/* Generated tables (unicode_tables.c): ranges sorted by start, the last one starts at 0x110000. */
extern const struct unicode_range unicode_ranges[];
extern const size_t unicode_ranges_n;
extern const uint16_t unicode_ascii_flags[128];

/* Flags of cp; UNICODE_UNDEFINED above U+10FFFF. Never 0. */
uint16_t unicode_flags(uint32_t cp);

/*
 * Decodes one code point at s[*off] (*off < len) exactly as llama.cpp's unicode_cpt_from_utf8:
 * returns 0 and advances *off, or returns -1 (invalid lead byte or missing continuation) and
 * leaves *off alone — llama.cpp's unicode_cpts_from_utf8 then emits U+FFFD and skips one byte.
 * Lead bytes F0..F7 may yield values above U+10FFFF; the caller decides about those.
 */
int unicode_decode_one(const unsigned char *s, size_t len, size_t *off, uint32_t *cp);

/* Byte length llama.cpp's unicode_len_utf8 gives a lead byte (1, 2, 3 or 4, never 0). */
size_t unicode_len_utf8(unsigned char lead);

/* Encodes cp (<= U+10FFFF, surrogates included like llama.cpp) into out; returns 1..4, or 0 if
 * cp is above U+10FFFF. */
size_t unicode_encode(uint32_t cp, char out[4]);

/* GPT-2 byte-level map: byte -> code point (printable Latin-1 maps to itself, the rest to
 * U+0100.. in byte order), and back (-1 when cp is not in the map's range). */
uint32_t unicode_byte_to_cp(unsigned char b);
int unicode_cp_to_byte(uint32_t cp);

/* Strict UTF-8 check of s[0..n): returns the length (1..4) of the complete valid sequence at s,
 * 0 if s holds a valid but incomplete prefix (more bytes could complete it), -1 if invalid. */
int unicode_utf8_seq(const unsigned char *s, size_t n);

#endif
