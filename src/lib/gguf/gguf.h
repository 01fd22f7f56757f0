/*
 * gguf.h — the one strict reader for GGUF model files (v2, v3, little-endian), which all come
 * from untrusted sources.
 *
 * Owns: parsing and validating a GGUF file (header, metadata KVs, tensor infos, data layout,
 * architecture hyper-parameters) and read-only accessors into the mapped bytes; the ggml type
 * table; the validation report (every problem found, each with a reason code and byte offset).
 * Never: writes to the file or the map, trusts a count, length, type or shape before bounding it
 * by the bytes actually present, allocates memory sized by a file field before that check, copies
 * tensor data or metadata strings (it stores offsets into the map), or reads tensor bytes other
 * than alignment padding. Memory used is bounded by a small constant times the file size.
 *
 * Strings returned by accessors point into the map: they are NOT NUL-terminated (use the length)
 * and live until gguf_close(). Tensor names are the exception (copied, < 64 bytes, terminated).
 * Numeric values are little-endian and possibly unaligned in the map: use the getters.
 * See docs/gguf-validation.md for every rule and why.
 */
#ifndef SECAI_GGUF_H
#define SECAI_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GGUF_MAGIC "GGUF"
#define GGUF_MAX_DIMS 4
#define GGUF_NAME_MAX 64 /* tensor names are < 64 bytes */
#define GGUF_DEFAULT_ALIGNMENT 32u
#define GGUF_MAX_ALIGNMENT (1u << 20) /* general.alignment cap: 1 MiB */
#define GGUF_MAX_STRING (1ull << 30)  /* any string: <= 1 GiB */
#define GGUF_MAX_KEY 65535u	      /* keys: <= 64 KiB - 1 */
#define GGUF_MAX_ARRAY (1ull << 30)   /* array elements */
#define GGUF_MAX_KV 65536u	      /* metadata pairs */
#define GGUF_MAX_TENSORS 65536u	      /* tensor infos */
#define GGUF_REPORT_MAX 256u	      /* problems kept; more are only counted */

/* Metadata value types (the u32 after each key). */
enum gguf_value_type {
	GGUF_TYPE_UINT8 = 0,
	GGUF_TYPE_INT8 = 1,
	GGUF_TYPE_UINT16 = 2,
	GGUF_TYPE_INT16 = 3,
	GGUF_TYPE_UINT32 = 4,
	GGUF_TYPE_INT32 = 5,
	GGUF_TYPE_FLOAT32 = 6,
	GGUF_TYPE_BOOL = 7,
	GGUF_TYPE_STRING = 8,
	GGUF_TYPE_ARRAY = 9,
	GGUF_TYPE_UINT64 = 10,
	GGUF_TYPE_INT64 = 11,
	GGUF_TYPE_FLOAT64 = 12,
	GGUF_TYPE_COUNT = 13
};

/* ggml tensor types (ids as in ggml.h; 4, 5, 31-33, 36-38 were removed from ggml). */
enum gguf_ggml_type {
	GGUF_GGML_F32 = 0,
	GGUF_GGML_F16 = 1,
	GGUF_GGML_Q4_0 = 2,
	GGUF_GGML_Q4_1 = 3,
	GGUF_GGML_Q5_0 = 6,
	GGUF_GGML_Q5_1 = 7,
	GGUF_GGML_Q8_0 = 8,
	GGUF_GGML_Q8_1 = 9,
	GGUF_GGML_Q2_K = 10,
	GGUF_GGML_Q3_K = 11,
	GGUF_GGML_Q4_K = 12,
	GGUF_GGML_Q5_K = 13,
	GGUF_GGML_Q6_K = 14,
	GGUF_GGML_Q8_K = 15,
	GGUF_GGML_IQ2_XXS = 16,
	GGUF_GGML_IQ2_XS = 17,
	GGUF_GGML_IQ3_XXS = 18,
	GGUF_GGML_IQ1_S = 19,
	GGUF_GGML_IQ4_NL = 20,
	GGUF_GGML_IQ3_S = 21,
	GGUF_GGML_IQ2_S = 22,
	GGUF_GGML_IQ4_XS = 23,
	GGUF_GGML_I8 = 24,
	GGUF_GGML_I16 = 25,
	GGUF_GGML_I32 = 26,
	GGUF_GGML_I64 = 27,
	GGUF_GGML_F64 = 28,
	GGUF_GGML_IQ1_M = 29,
	GGUF_GGML_BF16 = 30,
	GGUF_GGML_TQ1_0 = 34,
	GGUF_GGML_TQ2_0 = 35,
	GGUF_GGML_MXFP4 = 39,
	GGUF_GGML_NVFP4 = 40,
	GGUF_GGML_Q1_0 = 41,
	GGUF_GGML_Q2_0 = 42,
	GGUF_GGML_TYPE_COUNT = 43
};

/* Reason codes. Each has a stable id string ("truncated", ...) from gguf_err_id(). */
enum gguf_err {
	GGUF_OK = 0,
	GGUF_E_IO,	      /* "io": open/stat/mmap failed */
	GGUF_E_NOMEM,	      /* "nomem": allocation failed */
	GGUF_E_TRUNCATED,     /* "truncated": a field runs past the end of the file */
	GGUF_E_BAD_MAGIC,     /* "bad_magic": not "GGUF" */
	GGUF_E_BYTE_SWAPPED,  /* "byte_swapped": big-endian / byte-swapped header */
	GGUF_E_VERSION,	      /* "bad_version": version not 2 or 3 */
	GGUF_E_N_TENSORS,     /* "n_tensors": count beyond cap or beyond bytes left */
	GGUF_E_N_KV,	      /* "n_kv": count beyond cap or beyond bytes left */
	GGUF_E_STRING_LEN,    /* "string_len": length > 1 GiB or > bytes left */
	GGUF_E_UTF8,	      /* "bad_utf8": invalid, overlong, surrogate, > U+10FFFF */
	GGUF_E_KEY_EMPTY,     /* "key_empty" */
	GGUF_E_KEY_TOO_LONG,  /* "key_too_long": > 65535 bytes */
	GGUF_E_KEY_DUPLICATE, /* "key_duplicate" */
	GGUF_E_VALUE_TYPE,    /* "value_type": KV or array element type not 0..12 */
	GGUF_E_ARRAY_NESTED,  /* "array_nested": array of arrays */
	GGUF_E_ARRAY_COUNT,   /* "array_count": count > 2^30 or count x size > bytes left */
	GGUF_E_BOOL,	      /* "bad_bool": bool byte not 0 or 1 */
	GGUF_E_ALIGNMENT,     /* "bad_alignment": general.alignment not a u32 power of 2 <= 1 MiB */
	GGUF_E_NAME_EMPTY,    /* "name_empty": tensor name of length 0 */
	GGUF_E_NAME_TOO_LONG, /* "name_too_long": tensor name >= 64 bytes */
	GGUF_E_NAME_DUPLICATE,	    /* "name_duplicate" */
	GGUF_E_N_DIMS,		    /* "n_dims": not 1..4 */
	GGUF_E_DIM,		    /* "bad_dim": a dimension is 0 or > INT64_MAX */
	GGUF_E_SHAPE_OVERFLOW,	    /* "shape_overflow": element count or byte size overflows */
	GGUF_E_TENSOR_TYPE,	    /* "tensor_type": unknown ggml type id */
	GGUF_E_TENSOR_TYPE_REMOVED, /* "tensor_type_removed": id ggml removed (4,5,31-33,36-38) */
	GGUF_E_BLOCK_MULTIPLE,	    /* "block_multiple": ne0 not a multiple of the block size */
	GGUF_E_MISALIGNED,	    /* "misaligned": tensor offset not a multiple of alignment */
	GGUF_E_OVERLAP,		    /* "overlap": tensor starts before the previous one ends */
	GGUF_E_GAP,		    /* "gap": tensor starts after the previous one's aligned end */
	GGUF_E_OUT_OF_FILE,	    /* "out_of_file": tensor data runs past the end of the file */
	GGUF_E_PADDING,		    /* "padding_nonzero": an alignment padding byte is not 0 */
	GGUF_E_TRAILING,	    /* "trailing_data": bytes after the last tensor's padding */
	GGUF_E_ARCH_MISSING,	    /* "arch_missing": no string general.architecture */
	GGUF_E_ARCH_NAME,	    /* "arch_name": architecture not [a-z0-9_-]{1,64} */
	GGUF_E_HPARAM_MISSING,	    /* "hparam_missing": a required <arch>.* key is absent */
	GGUF_E_HPARAM_TYPE,	    /* "hparam_type": a hyper-parameter has the wrong value type */
	GGUF_E_HPARAM_VALUE,	    /* "hparam_value": zero, out of range or inconsistent value */
	GGUF_E_TENSOR_MISSING,	  /* "tensor_missing": a tensor the architecture needs is absent */
	GGUF_E_TENSOR_UNEXPECTED, /* "tensor_unexpected": a tensor the architecture does not use */
	GGUF_E_TENSOR_SHAPE,	  /* "tensor_shape": shape disagrees with the hyper-parameters */
	GGUF_E_VOCAB,		  /* "vocab_mismatch": vocab sizes disagree */
	GGUF_E_TOKENIZER_TYPE,	  /* "tokenizer_type": tokenizer.ggml.* array of the wrong type */
	GGUF_E_COUNT
};

struct gguf_problem {
	enum gguf_err code;
	uint64_t offset; /* byte offset in the file the problem is about */
	char msg[192];	 /* human-readable, includes the offset */
};

/* Every problem found, in file order (architecture checks last). Caller-owned. */
struct gguf_report {
	struct gguf_problem *items;
	size_t n;
	size_t cap;
	size_t n_dropped; /* problems beyond GGUF_REPORT_MAX, counted but not kept */
};

#define GGUF_REPORT_INIT                                                                           \
	{                                                                                          \
		NULL, 0, 0, 0                                                                      \
	}

struct gguf_file;
struct gguf_kv;

struct gguf_tensor_info {
	char name[GGUF_NAME_MAX];   /* NUL-terminated copy */
	uint32_t type;		    /* enum gguf_ggml_type */
	uint32_t n_dims;	    /* 1..4 */
	uint64_t ne[GGUF_MAX_DIMS]; /* ne[0] is the fastest-varying; unused dims are 1 */
	uint64_t n_elements;
	uint64_t offset;      /* relative to the data section */
	uint64_t file_offset; /* absolute: data section start + offset */
	uint64_t nbytes;      /* unpadded */
	const void *data;     /* into the map; NULL if the file is invalid */
	uint64_t info_offset; /* where the tensor info starts in the file */
};

struct gguf_type_info {
	const char *name;    /* "Q4_K"; "removed" or "unknown" when !known */
	uint32_t block_size; /* elements per block; 0 when !known */
	uint32_t type_size;  /* bytes per block; 0 when !known */
	bool known;
	bool removed; /* an id ggml once used and removed */
};

/* gguf_open_ex() flags. */
#define GGUF_OPEN_KEEP_INVALID 0x1u /* return the handle even when invalid (for `inspect`) */
/* Ask for 2 MiB pages for the mapping (madvise MADV_HUGEPAGE; advice only, ignored where the
 * kernel has none): for weights streamed once per token, where 4 KiB pages cost a page walk
 * and a restart of the hardware prefetcher every 4 KiB. Page-cache data cached before in small
 * pages stays in them. */
#define GGUF_OPEN_HUGEPAGES 0x2u

/*
 * Opens and validates path (mmap, read-only). Returns 0 and sets *out when the file is valid;
 * returns 1 (GGUF invalid: report says why) or -1 (I/O or memory error, errno set, report has a
 * GGUF_E_IO / GGUF_E_NOMEM entry) and sets *out = NULL. report may be NULL; when not NULL it must
 * be initialised (GGUF_REPORT_INIT) and is appended to; free it with gguf_report_free().
 */
int gguf_open(const char *path, struct gguf_file **out, struct gguf_report *report);
/* Same over a caller's buffer, which is not copied and must outlive the handle. */
int gguf_open_buffer(const void *data, size_t len, struct gguf_file **out,
		     struct gguf_report *report);
/*
 * With GGUF_OPEN_KEEP_INVALID, an invalid file (return 1) still yields a handle holding what was
 * parsed before the first structural error (all accessors stay bounds-safe; tensor data pointers
 * are NULL). Never load weights from such a handle: check gguf_is_valid().
 */
int gguf_open_ex(const char *path, unsigned flags, struct gguf_file **out,
		 struct gguf_report *report);
int gguf_open_buffer_ex(const void *data, size_t len, unsigned flags, struct gguf_file **out,
			struct gguf_report *report);
void gguf_close(struct gguf_file *f);

bool gguf_is_valid(const struct gguf_file *f);
uint32_t gguf_version(const struct gguf_file *f);
uint32_t gguf_alignment(const struct gguf_file *f);
uint64_t gguf_file_size(const struct gguf_file *f);
uint64_t gguf_data_offset(const struct gguf_file *f); /* start of the data section */
const void *gguf_map(const struct gguf_file *f);
/* general.architecture (pointer into the map, not terminated) or NULL. */
const char *gguf_architecture(const struct gguf_file *f, size_t *len);

/* Metadata. Keys are compared byte-exactly; key is NUL-terminated here. */
size_t gguf_n_kv(const struct gguf_file *f);
const struct gguf_kv *gguf_kv_at(const struct gguf_file *f, size_t i); /* file order */
const struct gguf_kv *gguf_find_kv(const struct gguf_file *f, const char *key);
const char *gguf_kv_key(const struct gguf_kv *kv, size_t *len);
enum gguf_value_type gguf_kv_type(const struct gguf_kv *kv);
uint64_t gguf_kv_offset(const struct gguf_kv *kv); /* file offset of the key */

/* Scalar getters: 0 on success, -1 if kv is NULL or not exactly that type. */
int gguf_kv_get_u8(const struct gguf_kv *kv, uint8_t *out);
int gguf_kv_get_i8(const struct gguf_kv *kv, int8_t *out);
int gguf_kv_get_u16(const struct gguf_kv *kv, uint16_t *out);
int gguf_kv_get_i16(const struct gguf_kv *kv, int16_t *out);
int gguf_kv_get_u32(const struct gguf_kv *kv, uint32_t *out);
int gguf_kv_get_i32(const struct gguf_kv *kv, int32_t *out);
int gguf_kv_get_u64(const struct gguf_kv *kv, uint64_t *out);
int gguf_kv_get_i64(const struct gguf_kv *kv, int64_t *out);
int gguf_kv_get_f32(const struct gguf_kv *kv, float *out);
int gguf_kv_get_f64(const struct gguf_kv *kv, double *out);
int gguf_kv_get_bool(const struct gguf_kv *kv, bool *out);
int gguf_kv_get_str(const struct gguf_kv *kv, const char **ptr, size_t *len);
/* Any integer type whose value fits in a u64 (negative values fail). */
int gguf_kv_get_uint(const struct gguf_kv *kv, uint64_t *out);

/* Arrays: 0 on success, -1 if kv is not an array (or index out of range / wrong type). */
int gguf_kv_array_info(const struct gguf_kv *kv, enum gguf_value_type *elem_type, uint64_t *count);
/* O(1): element index of a string array. */
int gguf_kv_array_str(const struct gguf_kv *kv, uint64_t index, const char **ptr, size_t *len);
/* Numeric arrays: first element (little-endian, possibly unaligned) or NULL (strings, empty). */
const void *gguf_kv_array_data(const struct gguf_kv *kv);
int gguf_kv_array_get_u32(const struct gguf_kv *kv, uint64_t index, uint32_t *out);
int gguf_kv_array_get_i32(const struct gguf_kv *kv, uint64_t index, int32_t *out);
int gguf_kv_array_get_f32(const struct gguf_kv *kv, uint64_t index, float *out);

/* Tensors, in file order (which is also data order). */
size_t gguf_n_tensors(const struct gguf_file *f);
const struct gguf_tensor_info *gguf_tensor_at(const struct gguf_file *f, size_t i);
const struct gguf_tensor_info *gguf_find_tensor(const struct gguf_file *f, const char *name);

/* ggml types; never NULL (unknown ids give known = false). */
const struct gguf_type_info *gguf_type_info(uint32_t type);
const char *gguf_value_type_name(uint32_t type); /* "u32", "string", ...; "?" if unknown */
size_t gguf_value_type_size(uint32_t type);	 /* scalar size; 0 for string/array/unknown */
/* Unpadded bytes of a tensor; -1 on overflow or unknown type / ne0 not a block multiple. */
int gguf_tensor_nbytes(uint32_t type, const uint64_t ne[GGUF_MAX_DIMS], uint64_t *out);

/* True when s[0..len) is valid UTF-8 (no overlongs, surrogates, or code points > U+10FFFF). */
bool gguf_utf8_valid(const void *s, size_t len);

/* Report. */
const char *gguf_err_id(enum gguf_err code); /* stable id, e.g. "truncated" */
bool gguf_report_has(const struct gguf_report *r, enum gguf_err code);
void gguf_report_print(const struct gguf_report *r, FILE *fp);
void gguf_report_free(struct gguf_report *r);

#endif
