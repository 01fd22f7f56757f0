/*
 * gguf_impl.h — internals shared by the gguf_*.c files of the reader (not a public API).
 *
 * Owns: the layout of struct gguf_file / gguf_kv, the bounded cursor and the problem sink.
 * Never: included outside src/lib/gguf/.
 */
#ifndef SECAI_GGUF_IMPL_H
#define SECAI_GGUF_IMPL_H

#include "gguf/gguf.h"

struct gguf_kv {
	const uint8_t *key; /* into the map */
	uint32_t key_len;
	uint32_t type;	     /* enum gguf_value_type */
	uint64_t key_off;    /* file offset of the key's length prefix */
	const uint8_t *val;  /* scalar / string bytes / first array element */
	uint64_t val_len;    /* string: byte length */
	uint32_t elem_type;  /* arrays */
	uint64_t count;	     /* arrays */
	uint64_t *str_off;   /* string arrays: file offset of each element's bytes */
	const uint8_t *base; /* the map (for string arrays) */
};

struct gguf_file {
	const uint8_t *map;
	uint64_t size;
	bool mapped;
	bool valid;
	bool parsed; /* the structure parsed to the end of the tensor infos */
	uint32_t version;
	uint32_t alignment;
	uint64_t n_kv_decl;
	uint64_t n_tensors_decl;
	struct gguf_kv *kvs;
	size_t n_kv;
	struct gguf_kv **kv_sorted; /* by (key bytes, length) for bsearch */
	struct gguf_tensor_info *tensors;
	size_t n_tensors;
	struct gguf_tensor_info **t_sorted; /* by name */
	bool *t_ok;			    /* tensor info itself was valid (shape, type) */
	uint64_t infos_end;
	uint64_t data_off;
};

/* Where problems go: the caller's report (may be NULL) plus a count that decides validity. */
struct gguf_ctx {
	struct gguf_report *r;
	size_t n_problems;
	bool nomem;
};

void gguf_problem(struct gguf_ctx *c, enum gguf_err code, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Bounded little-endian reads. */
uint32_t gguf_le32(const uint8_t *p);
uint64_t gguf_le64(const uint8_t *p);
/* 0 if s[0..len) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF); else -1, *bad set. */
int gguf_utf8_check(const uint8_t *s, uint64_t len, uint64_t *bad);

/* gguf_tensor.c: tensor infos + layout; gguf_arch.c: architecture checks. */
int gguf_parse_tensor_infos(struct gguf_file *f, struct gguf_ctx *c, uint64_t *pos);
void gguf_check_layout(struct gguf_file *f, struct gguf_ctx *c);
void gguf_check_arch(struct gguf_file *f, struct gguf_ctx *c);

/* Length-then-bytes order, for sorting and bsearch of keys and names. */
int gguf_name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

#endif
