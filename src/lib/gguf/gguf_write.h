/*
 * gguf_write.h — builds GGUF v3 files: metadata, tensor infos, aligned data, as llama.cpp lays
 * them out (tensors in the order added, each padded with zeros to the alignment, the last one
 * too).
 *
 * Owns: serialising trusted, in-process values (tests, demo models with random weights).
 * Never: validates what it is given beyond what keeps the output well-formed — run the result
 * through gguf_open() when it matters — and never copies tensor data (callers keep it alive
 * until the file is written; NULL data means zeros).
 */
#ifndef SECAI_GGUF_WRITE_H
#define SECAI_GGUF_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "gguf/gguf.h"

struct gguf_writer;

/* Version 3, alignment 32 (adding a u32 "general.alignment" changes it). NULL if no memory. */
struct gguf_writer *gguf_writer_new(void);
void gguf_writer_free(struct gguf_writer *w);

/* Every add returns 0, or -1 (out of memory, bad argument). Keys are NUL-terminated. */
int gguf_writer_add_scalar(struct gguf_writer *w, const char *key, enum gguf_value_type type,
			   const void *value);
int gguf_writer_add_u32(struct gguf_writer *w, const char *key, uint32_t v);
int gguf_writer_add_i32(struct gguf_writer *w, const char *key, int32_t v);
int gguf_writer_add_u64(struct gguf_writer *w, const char *key, uint64_t v);
int gguf_writer_add_f32(struct gguf_writer *w, const char *key, float v);
int gguf_writer_add_bool(struct gguf_writer *w, const char *key, bool v);
int gguf_writer_add_str(struct gguf_writer *w, const char *key, const char *s);
int gguf_writer_add_strn(struct gguf_writer *w, const char *key, const char *s, size_t len);
/* Numeric array: count elements of gguf_value_type_size(elem_type) bytes, host = little-endian. */
int gguf_writer_add_array(struct gguf_writer *w, const char *key, enum gguf_value_type elem_type,
			  const void *data, uint64_t count);
int gguf_writer_add_str_array(struct gguf_writer *w, const char *key, const char *const *strs,
			      uint64_t count);
/* ne[n_dims]; data (nbytes from the type table) is referenced, not copied; NULL = zeros. */
int gguf_writer_add_tensor(struct gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
			   const uint64_t *ne, const void *data);

/* The whole file into out (appended). */
int gguf_writer_to_buf(struct gguf_writer *w, struct buf *out);
/* Streams the file to path (created 0644, replaced); tensor data is never buffered. */
int gguf_writer_to_file(struct gguf_writer *w, const char *path);

#endif
