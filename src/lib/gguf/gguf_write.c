/*
 * gguf_write.c — the GGUF writer (see gguf_write.h).
 *
 * Owns: metadata serialisation into a growable buffer, the tensor list, offsets (running sum of
 * aligned sizes) and streaming the data section with zero padding.
 * Never: copies tensor data, or writes a file whose offsets disagree with its tensor sizes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "gguf/gguf_write.h"

struct gguf_wtensor {
	char name[GGUF_NAME_MAX];
	uint32_t type;
	uint32_t n_dims;
	uint64_t ne[GGUF_MAX_DIMS];
	uint64_t nbytes;
	uint64_t offset;
	const void *data;
};

struct gguf_writer {
	struct buf meta;
	uint64_t n_kv;
	uint32_t alignment;
	struct gguf_wtensor *t;
	size_t n_t, cap_t;
	uint64_t data_size;
};

struct gguf_writer *gguf_writer_new(void)
{
	struct gguf_writer *w = calloc(1, sizeof(*w));

	if (w)
		w->alignment = GGUF_DEFAULT_ALIGNMENT;
	return w;
}

void gguf_writer_free(struct gguf_writer *w)
{
	if (w == NULL)
		return;
	buf_free(&w->meta);
	free(w->t);
	free(w);
}

static int put_u32(struct buf *b, uint32_t v)
{
	uint8_t p[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	return buf_append(b, p, 4);
}

static int put_u64(struct buf *b, uint64_t v)
{
	return put_u32(b, (uint32_t)v) || put_u32(b, (uint32_t)(v >> 32)) ? -1 : 0;
}

static int put_str(struct buf *b, const char *s, size_t len)
{
	return put_u64(b, len) || buf_append(b, s, len) ? -1 : 0;
}

static int put_key(struct gguf_writer *w, const char *key, uint32_t type)
{
	if (key == NULL || *key == '\0')
		return -1;
	if (put_str(&w->meta, key, strlen(key)) || put_u32(&w->meta, type))
		return -1;
	w->n_kv++;
	return 0;
}

int gguf_writer_add_scalar(struct gguf_writer *w, const char *key, enum gguf_value_type type,
			   const void *value)
{
	size_t sz = gguf_value_type_size(type);

	if (sz == 0)
		return -1;
	if (type == GGUF_TYPE_UINT32 && strcmp(key, "general.alignment") == 0) {
		uint32_t a;

		memcpy(&a, value, 4);
		if (a == 0 || (a & (a - 1)) != 0)
			return -1;
		w->alignment = a;
	}
	return put_key(w, key, type) || buf_append(&w->meta, value, sz) ? -1 : 0;
}

int gguf_writer_add_u32(struct gguf_writer *w, const char *key, uint32_t v)
{
	return gguf_writer_add_scalar(w, key, GGUF_TYPE_UINT32, &v);
}
int gguf_writer_add_i32(struct gguf_writer *w, const char *key, int32_t v)
{
	return gguf_writer_add_scalar(w, key, GGUF_TYPE_INT32, &v);
}
int gguf_writer_add_u64(struct gguf_writer *w, const char *key, uint64_t v)
{
	return gguf_writer_add_scalar(w, key, GGUF_TYPE_UINT64, &v);
}
int gguf_writer_add_f32(struct gguf_writer *w, const char *key, float v)
{
	return gguf_writer_add_scalar(w, key, GGUF_TYPE_FLOAT32, &v);
}
int gguf_writer_add_bool(struct gguf_writer *w, const char *key, bool v)
{
	uint8_t b = v ? 1 : 0;

	return gguf_writer_add_scalar(w, key, GGUF_TYPE_BOOL, &b);
}

int gguf_writer_add_strn(struct gguf_writer *w, const char *key, const char *s, size_t len)
{
	return put_key(w, key, GGUF_TYPE_STRING) || put_str(&w->meta, s, len) ? -1 : 0;
}

int gguf_writer_add_str(struct gguf_writer *w, const char *key, const char *s)
{
	return gguf_writer_add_strn(w, key, s, strlen(s));
}

int gguf_writer_add_array(struct gguf_writer *w, const char *key, enum gguf_value_type elem_type,
			  const void *data, uint64_t count)
{
	size_t sz = gguf_value_type_size(elem_type);

	if (sz == 0 || count > SIZE_MAX / sz)
		return -1;
	if (put_key(w, key, GGUF_TYPE_ARRAY) || put_u32(&w->meta, elem_type) ||
	    put_u64(&w->meta, count))
		return -1;
	return count ? buf_append(&w->meta, data, (size_t)count * sz) : 0;
}

int gguf_writer_add_str_array(struct gguf_writer *w, const char *key, const char *const *strs,
			      uint64_t count)
{
	uint64_t i;

	if (put_key(w, key, GGUF_TYPE_ARRAY) || put_u32(&w->meta, GGUF_TYPE_STRING) ||
	    put_u64(&w->meta, count))
		return -1;
	for (i = 0; i < count; i++)
		if (put_str(&w->meta, strs[i], strlen(strs[i])))
			return -1;
	return 0;
}

static uint64_t pad_to(uint64_t v, uint32_t a)
{
	return (v + a - 1) / a * a;
}

int gguf_writer_add_tensor(struct gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
			   const uint64_t *ne, const void *data)
{
	struct gguf_wtensor *t;
	uint32_t i;

	if (strlen(name) >= GGUF_NAME_MAX || n_dims == 0 || n_dims > GGUF_MAX_DIMS)
		return -1;
	if (w->n_t == w->cap_t) {
		size_t nc = w->cap_t ? w->cap_t * 2 : 16;
		struct gguf_wtensor *nt = realloc(w->t, nc * sizeof(*nt));

		if (nt == NULL)
			return -1;
		w->t = nt;
		w->cap_t = nc;
	}
	t = &w->t[w->n_t];
	memset(t, 0, sizeof(*t));
	strcpy(t->name, name);
	t->type = type;
	t->n_dims = n_dims;
	for (i = 0; i < GGUF_MAX_DIMS; i++)
		t->ne[i] = i < n_dims ? ne[i] : 1;
	if (gguf_tensor_nbytes(type, t->ne, &t->nbytes) != 0)
		return -1;
	t->data = data;
	w->n_t++;
	return 0;
}

/* Header, metadata and tensor infos, padded to the alignment. */
static int write_head(struct gguf_writer *w, struct buf *out)
{
	uint64_t off = 0;
	size_t i;
	uint32_t d;

	if (buf_append(out, GGUF_MAGIC, 4) || put_u32(out, 3) || put_u64(out, w->n_t) ||
	    put_u64(out, w->n_kv) || buf_append(out, w->meta.data, w->meta.len))
		return -1;
	for (i = 0; i < w->n_t; i++) {
		struct gguf_wtensor *t = &w->t[i];

		t->offset = off;
		off += pad_to(t->nbytes, w->alignment);
		if (put_str(out, t->name, strlen(t->name)) || put_u32(out, t->n_dims))
			return -1;
		for (d = 0; d < t->n_dims; d++)
			if (put_u64(out, t->ne[d]))
				return -1;
		if (put_u32(out, t->type) || put_u64(out, t->offset))
			return -1;
	}
	w->data_size = off;
	while (out->len % w->alignment)
		if (buf_append_char(out, 0))
			return -1;
	return 0;
}

int gguf_writer_to_buf(struct gguf_writer *w, struct buf *out)
{
	size_t i;

	if (write_head(w, out))
		return -1;
	for (i = 0; i < w->n_t; i++) {
		const struct gguf_wtensor *t = &w->t[i];
		uint64_t padded = pad_to(t->nbytes, w->alignment);

		if (buf_reserve(out, padded))
			return -1;
		if (t->data)
			memcpy(out->data + out->len, t->data, t->nbytes);
		else
			memset(out->data + out->len, 0, t->nbytes);
		memset(out->data + out->len + t->nbytes, 0, padded - t->nbytes);
		out->len += padded;
		out->data[out->len] = '\0';
	}
	return 0;
}

int gguf_writer_to_file(struct gguf_writer *w, const char *path)
{
	static const uint8_t zeros[65536];
	struct buf head = BUF_INIT;
	int fd, saved;
	size_t i;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write_head(w, &head) || fs_write_all(fd, head.data, head.len))
		goto fail;
	for (i = 0; i < w->n_t; i++) {
		const struct gguf_wtensor *t = &w->t[i];
		uint64_t left = pad_to(t->nbytes, w->alignment), done = 0;

		while (left) {
			size_t n = left < sizeof(zeros) ? (size_t)left : sizeof(zeros);
			const void *src = zeros;

			if (t->data && done < t->nbytes) {
				n = t->nbytes - done < n ? (size_t)(t->nbytes - done) : n;
				src = (const uint8_t *)t->data + done;
			}
			if (fs_write_all(fd, src, n))
				goto fail;
			left -= n;
			done += n;
		}
	}
	buf_free(&head);
	if (close(fd) != 0)
		return -1;
	return 0;
fail:
	saved = errno;
	buf_free(&head);
	close(fd);
	errno = saved;
	return -1;
}
