/*
 * gguf_types.c — the ggml tensor type table and the GGUF metadata value types.
 *
 * Owns: block size and bytes per block of every ggml type (values from ggml's ggml_blck_size /
 * ggml_type_size), the list of removed ids, overflow-safe tensor byte sizes.
 * Never: indexes a table with an unchecked id, or multiplies without an overflow check.
 */
#include <string.h>

#include "gguf/gguf_impl.h"

static const struct gguf_type_info gguf_types[GGUF_GGML_TYPE_COUNT] = {
    [0] = {"F32", 1, 4, true, false},	      [1] = {"F16", 1, 2, true, false},
    [2] = {"Q4_0", 32, 18, true, false},      [3] = {"Q4_1", 32, 20, true, false},
    [4] = {"removed", 0, 0, false, true}, /* Q4_2 */
    [5] = {"removed", 0, 0, false, true}, /* Q4_3 */
    [6] = {"Q5_0", 32, 22, true, false},      [7] = {"Q5_1", 32, 24, true, false},
    [8] = {"Q8_0", 32, 34, true, false},      [9] = {"Q8_1", 32, 36, true, false},
    [10] = {"Q2_K", 256, 84, true, false},    [11] = {"Q3_K", 256, 110, true, false},
    [12] = {"Q4_K", 256, 144, true, false},   [13] = {"Q5_K", 256, 176, true, false},
    [14] = {"Q6_K", 256, 210, true, false},   [15] = {"Q8_K", 256, 292, true, false},
    [16] = {"IQ2_XXS", 256, 66, true, false}, [17] = {"IQ2_XS", 256, 74, true, false},
    [18] = {"IQ3_XXS", 256, 98, true, false}, [19] = {"IQ1_S", 256, 50, true, false},
    [20] = {"IQ4_NL", 32, 18, true, false},   [21] = {"IQ3_S", 256, 110, true, false},
    [22] = {"IQ2_S", 256, 82, true, false},   [23] = {"IQ4_XS", 256, 136, true, false},
    [24] = {"I8", 1, 1, true, false},	      [25] = {"I16", 1, 2, true, false},
    [26] = {"I32", 1, 4, true, false},	      [27] = {"I64", 1, 8, true, false},
    [28] = {"F64", 1, 8, true, false},	      [29] = {"IQ1_M", 256, 56, true, false},
    [30] = {"BF16", 1, 2, true, false},	      [31] = {"removed", 0, 0, false, true}, /* Q4_0_4_4 */
    [32] = {"removed", 0, 0, false, true},					     /* Q4_0_4_8 */
    [33] = {"removed", 0, 0, false, true},					     /* Q4_0_8_8 */
    [34] = {"TQ1_0", 256, 54, true, false},   [35] = {"TQ2_0", 256, 66, true, false},
    [36] = {"removed", 0, 0, false, true}, /* IQ4_NL_4_4 */
    [37] = {"removed", 0, 0, false, true}, /* IQ4_NL_4_8 */
    [38] = {"removed", 0, 0, false, true}, /* IQ4_NL_8_8 */
    [39] = {"MXFP4", 32, 17, true, false},    [40] = {"NVFP4", 64, 36, true, false},
    [41] = {"Q1_0", 128, 18, true, false},    [42] = {"Q2_0", 64, 18, true, false},
};

static const struct gguf_type_info gguf_type_unknown = {"unknown", 0, 0, false, false};

const struct gguf_type_info *gguf_type_info(uint32_t type)
{
	if (type >= GGUF_GGML_TYPE_COUNT)
		return &gguf_type_unknown;
	return &gguf_types[type];
}

static const struct {
	const char *name;
	size_t size;
} gguf_vtypes[GGUF_TYPE_COUNT] = {
    {"u8", 1},	 {"i8", 1},	{"u16", 2},   {"i16", 2}, {"u32", 4}, {"i32", 4}, {"f32", 4},
    {"bool", 1}, {"string", 0}, {"array", 0}, {"u64", 8}, {"i64", 8}, {"f64", 8},
};

const char *gguf_value_type_name(uint32_t type)
{
	if (type >= GGUF_TYPE_COUNT)
		return "?";
	return gguf_vtypes[type].name;
}

size_t gguf_value_type_size(uint32_t type)
{
	if (type >= GGUF_TYPE_COUNT)
		return 0;
	return gguf_vtypes[type].size;
}

int gguf_tensor_nbytes(uint32_t type, const uint64_t ne[GGUF_MAX_DIMS], uint64_t *out)
{
	const struct gguf_type_info *ti = gguf_type_info(type);
	uint64_t n;
	int i;

	if (!ti->known || ne[0] % ti->block_size != 0)
		return -1;
	n = ne[0] / ti->block_size;
	if (__builtin_mul_overflow(n, (uint64_t)ti->type_size, &n))
		return -1;
	for (i = 1; i < GGUF_MAX_DIMS; i++)
		if (__builtin_mul_overflow(n, ne[i], &n))
			return -1;
	*out = n;
	return 0;
}

uint32_t gguf_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t gguf_le64(const uint8_t *p)
{
	return (uint64_t)gguf_le32(p) | (uint64_t)gguf_le32(p + 4) << 32;
}

int gguf_utf8_check(const uint8_t *s, uint64_t len, uint64_t *bad)
{
	uint64_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		uint32_t cp;
		uint64_t n, k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			goto fail; /* continuation byte, 0xc0/0xc1 overlong, > U+10FFFF lead */
		}
		if (len - i <= n)
			goto fail;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto fail;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			goto fail;
		i += n + 1;
	}
	return 0;
fail:
	*bad = i;
	return -1;
}

bool gguf_utf8_valid(const void *s, size_t len)
{
	uint64_t bad;

	return gguf_utf8_check(s, len, &bad) == 0;
}

int gguf_name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int r = n ? memcmp(a, b, n) : 0;

	if (r != 0)
		return r;
	return alen < blen ? -1 : alen > blen;
}
