/*
 * gguf_parse.c — opening a GGUF file: mmap, header, metadata KVs, and the KV accessors.
 *
 * Owns: the open/close life cycle, the header and KV rules (magic, version, counts, strings,
 * value types, arrays, bools, duplicate keys, general.alignment) and the O(1) string-array index.
 * Never: reads a byte before checking it is inside the file, allocates from a count before that
 * count is bounded by the bytes left, or continues past a structural error (a wrong length
 * makes every later offset meaningless, so parsing stops there; value-level problems such as bad
 * UTF-8 or a duplicate key are collected and parsing goes on).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf/gguf_impl.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF accessors memcpy little-endian values: port them before using a big-endian host"
#endif

#define GGUF_HEADER_SIZE 24u
#define GGUF_MIN_KV_SIZE 14u	 /* key len 8 + 1 byte + type 4 + 1 byte value */
#define GGUF_MIN_TENSOR_SIZE 33u /* name len 8 + 1 + n_dims 4 + ne 8 + type 4 + offset 8 */

/* Reads a string header at *pos: bounds-checks len, returns the bytes. -1 on a fatal error. */
static int rd_string(const struct gguf_file *f, struct gguf_ctx *c, uint64_t *pos, const char *what,
		     const uint8_t **s, uint64_t *len)
{
	uint64_t at = *pos, n, bad;

	if (f->size - at < 8) {
		gguf_problem(c, GGUF_E_TRUNCATED, at, "%s length runs past the end of the file",
			     what);
		return -1;
	}
	n = gguf_le64(f->map + at);
	if (n > GGUF_MAX_STRING || n > f->size - at - 8) {
		gguf_problem(
		    c, GGUF_E_STRING_LEN, at, "%s length %llu exceeds %s (%llu bytes left)", what,
		    (unsigned long long)n, n > GGUF_MAX_STRING ? "the 1 GiB cap" : "the file",
		    (unsigned long long)(f->size - at - 8));
		return -1;
	}
	*s = f->map + at + 8;
	*len = n;
	*pos = at + 8 + n;
	if (gguf_utf8_check(*s, n, &bad) != 0)
		gguf_problem(c, GGUF_E_UTF8, at + 8 + bad, "%s is not valid UTF-8 (byte %llu)",
			     what, (unsigned long long)bad);
	return 0;
}

static int rd_u32(const struct gguf_file *f, struct gguf_ctx *c, uint64_t *pos, const char *what,
		  uint32_t *v)
{
	if (f->size - *pos < 4) {
		gguf_problem(c, GGUF_E_TRUNCATED, *pos, "%s runs past the end of the file", what);
		return -1;
	}
	*v = gguf_le32(f->map + *pos);
	*pos += 4;
	return 0;
}

static int rd_u64(const struct gguf_file *f, struct gguf_ctx *c, uint64_t *pos, const char *what,
		  uint64_t *v)
{
	if (f->size - *pos < 8) {
		gguf_problem(c, GGUF_E_TRUNCATED, *pos, "%s runs past the end of the file", what);
		return -1;
	}
	*v = gguf_le64(f->map + *pos);
	*pos += 8;
	return 0;
}

/* Parses an array value at *pos (after the KV type). */
static int parse_array(struct gguf_file *f, struct gguf_ctx *c, struct gguf_kv *kv, uint64_t *pos)
{
	uint64_t at = *pos, i, left, esz;
	uint32_t et;

	if (rd_u32(f, c, pos, "array element type", &et) != 0 ||
	    rd_u64(f, c, pos, "array count", &kv->count) != 0)
		return -1;
	if (et == GGUF_TYPE_ARRAY) {
		gguf_problem(c, GGUF_E_ARRAY_NESTED, at, "array of arrays for key '%.*s'",
			     (int)(kv->key_len > 80 ? 80 : kv->key_len), kv->key);
		return -1;
	}
	if (et >= GGUF_TYPE_COUNT) {
		gguf_problem(c, GGUF_E_VALUE_TYPE, at, "array element type %u is not 0..12", et);
		return -1;
	}
	kv->elem_type = et;
	left = f->size - *pos;
	esz = et == GGUF_TYPE_STRING ? 8 : gguf_value_type_size(et);
	if (kv->count > GGUF_MAX_ARRAY || kv->count > left / esz) {
		gguf_problem(c, GGUF_E_ARRAY_COUNT, at + 4,
			     "array count %llu x %llu bytes exceeds %s (%llu bytes left)",
			     (unsigned long long)kv->count, (unsigned long long)esz,
			     kv->count > GGUF_MAX_ARRAY ? "the 2^30 cap" : "the file",
			     (unsigned long long)left);
		return -1;
	}
	kv->val = f->map + *pos;
	if (et != GGUF_TYPE_STRING) {
		if (et == GGUF_TYPE_BOOL)
			for (i = 0; i < kv->count; i++)
				if (kv->val[i] > 1) {
					gguf_problem(c, GGUF_E_BOOL, *pos + i,
						     "bool array element %llu is %u, not 0 or 1",
						     (unsigned long long)i, kv->val[i]);
					break;
				}
		*pos += kv->count * esz;
		return 0;
	}
	/* Strings: validate every element first, then index them (count is now bounded). */
	{
		uint64_t p = *pos;
		const uint8_t *s;
		uint64_t len;

		for (i = 0; i < kv->count; i++)
			if (rd_string(f, c, &p, "array string", &s, &len) != 0)
				return -1;
		kv->str_off = malloc(kv->count ? kv->count * sizeof(uint64_t) : 1);
		if (kv->str_off == NULL) {
			c->nomem = true;
			return -1;
		}
		p = *pos;
		for (i = 0; i < kv->count; i++) {
			kv->str_off[i] = p + 8;
			p += 8 + gguf_le64(f->map + p);
		}
		*pos = p;
	}
	return 0;
}

static int parse_kv(struct gguf_file *f, struct gguf_ctx *c, struct gguf_kv *kv, uint64_t *pos)
{
	const uint8_t *s;
	uint64_t len, at;
	size_t sz;

	kv->key_off = *pos;
	kv->base = f->map;
	if (rd_string(f, c, pos, "key", &s, &len) != 0)
		return -1;
	if (len == 0)
		gguf_problem(c, GGUF_E_KEY_EMPTY, kv->key_off, "empty key");
	if (len > GGUF_MAX_KEY) {
		gguf_problem(c, GGUF_E_KEY_TOO_LONG, kv->key_off, "key of %llu bytes (max %u)",
			     (unsigned long long)len, GGUF_MAX_KEY);
		len = GGUF_MAX_KEY; /* keep key_len in range; the file is invalid anyway */
	}
	kv->key = s;
	kv->key_len = (uint32_t)len;
	at = *pos;
	if (rd_u32(f, c, pos, "value type", &kv->type) != 0)
		return -1;
	if (kv->type >= GGUF_TYPE_COUNT) {
		gguf_problem(c, GGUF_E_VALUE_TYPE, at, "value type %u of key '%.*s' is not 0..12",
			     kv->type, (int)(kv->key_len > 80 ? 80 : kv->key_len), kv->key);
		return -1;
	}
	if (kv->type == GGUF_TYPE_STRING)
		return rd_string(f, c, pos, "string value", &kv->val, &kv->val_len);
	if (kv->type == GGUF_TYPE_ARRAY)
		return parse_array(f, c, kv, pos);
	sz = gguf_value_type_size(kv->type);
	if (f->size - *pos < sz) {
		gguf_problem(c, GGUF_E_TRUNCATED, *pos, "%s value runs past the end of the file",
			     gguf_value_type_name(kv->type));
		return -1;
	}
	kv->val = f->map + *pos;
	kv->val_len = sz;
	if (kv->type == GGUF_TYPE_BOOL && kv->val[0] > 1)
		gguf_problem(c, GGUF_E_BOOL, *pos, "bool value is %u, not 0 or 1", kv->val[0]);
	*pos += sz;
	return 0;
}

static int kv_sort_cmp(const void *a, const void *b)
{
	const struct gguf_kv *x = *(const struct gguf_kv *const *)a;
	const struct gguf_kv *y = *(const struct gguf_kv *const *)b;
	int r = gguf_name_cmp(x->key, x->key_len, y->key, y->key_len);

	if (r != 0)
		return r;
	return x < y ? -1 : x > y; /* stable: file order among duplicates */
}

static void check_alignment(struct gguf_file *f, struct gguf_ctx *c)
{
	const struct gguf_kv *kv = gguf_find_kv(f, "general.alignment");
	uint32_t a;

	f->alignment = GGUF_DEFAULT_ALIGNMENT;
	if (kv == NULL)
		return;
	if (gguf_kv_get_u32(kv, &a) != 0) {
		gguf_problem(c, GGUF_E_ALIGNMENT, kv->key_off,
			     "general.alignment is a %s, not a u32",
			     gguf_value_type_name(kv->type));
		return;
	}
	if (a < 8 || a > GGUF_MAX_ALIGNMENT || (a & (a - 1)) != 0) {
		gguf_problem(c, GGUF_E_ALIGNMENT, kv->key_off,
			     "general.alignment %u is not a power of two in [8, %u]", a,
			     GGUF_MAX_ALIGNMENT);
		return;
	}
	f->alignment = a;
}

static int parse_header(struct gguf_file *f, struct gguf_ctx *c, uint64_t *pos)
{
	uint32_t v;
	uint64_t left;

	if (f->size < 4 || memcmp(f->map, GGUF_MAGIC, 4) != 0) {
		if (f->size >= 4 && memcmp(f->map, "FUGG", 4) == 0)
			gguf_problem(c, GGUF_E_BYTE_SWAPPED, 0,
				     "magic 'FUGG': a byte-swapped (big-endian) GGUF file");
		else if (f->size < 4 && memcmp(f->map, GGUF_MAGIC, f->size) == 0)
			gguf_problem(c, GGUF_E_TRUNCATED, 0, "file of %llu bytes: no header",
				     (unsigned long long)f->size);
		else
			gguf_problem(c, GGUF_E_BAD_MAGIC, 0,
				     "not a GGUF file (magic is not 'GGUF')");
		return -1;
	}
	*pos = 4;
	if (rd_u32(f, c, pos, "version", &v) != 0)
		return -1;
	f->version = v;
	if (v != 2 && v != 3) {
		if ((v & 0xffff) == 0 && __builtin_bswap32(v) >= 1 && __builtin_bswap32(v) <= 3)
			gguf_problem(c, GGUF_E_BYTE_SWAPPED, 4,
				     "version 0x%08x: a byte-swapped (big-endian) GGUF v%u file", v,
				     __builtin_bswap32(v));
		else
			gguf_problem(c, GGUF_E_VERSION, 4,
				     "version %u is not supported (only 2, 3)", v);
		return -1;
	}
	if (rd_u64(f, c, pos, "tensor count", &f->n_tensors_decl) != 0 ||
	    rd_u64(f, c, pos, "kv count", &f->n_kv_decl) != 0)
		return -1;
	left = f->size - *pos;
	if (f->n_kv_decl > GGUF_MAX_KV || f->n_kv_decl > left / GGUF_MIN_KV_SIZE) {
		gguf_problem(c, GGUF_E_N_KV, 16, "kv count %llu exceeds %s (%llu bytes left)",
			     (unsigned long long)f->n_kv_decl,
			     f->n_kv_decl > GGUF_MAX_KV ? "the cap of 65536" : "the file",
			     (unsigned long long)left);
		return -1;
	}
	left -= f->n_kv_decl * GGUF_MIN_KV_SIZE;
	if (f->n_tensors_decl > GGUF_MAX_TENSORS ||
	    f->n_tensors_decl > left / GGUF_MIN_TENSOR_SIZE) {
		gguf_problem(c, GGUF_E_N_TENSORS, 8,
			     "tensor count %llu exceeds %s (%llu bytes left after the kvs)",
			     (unsigned long long)f->n_tensors_decl,
			     f->n_tensors_decl > GGUF_MAX_TENSORS ? "the cap of 65536" : "the file",
			     (unsigned long long)left);
		return -1;
	}
	return 0;
}

static int parse(struct gguf_file *f, struct gguf_ctx *c)
{
	uint64_t pos = 0, i;

	if (parse_header(f, c, &pos) != 0)
		return -1;
	/* Both counts are now bounded by the cap and by the bytes present. */
	f->kvs = calloc(f->n_kv_decl ? f->n_kv_decl : 1, sizeof(*f->kvs));
	f->kv_sorted = calloc(f->n_kv_decl ? f->n_kv_decl : 1, sizeof(*f->kv_sorted));
	if (f->kvs == NULL || f->kv_sorted == NULL) {
		c->nomem = true;
		return -1;
	}
	for (i = 0; i < f->n_kv_decl; i++) {
		if (parse_kv(f, c, &f->kvs[i], &pos) != 0) {
			free(f->kvs[i].str_off);
			memset(&f->kvs[i], 0, sizeof(f->kvs[i]));
			break;
		}
		f->kv_sorted[i] = &f->kvs[i];
		f->n_kv++;
	}
	qsort(f->kv_sorted, f->n_kv, sizeof(*f->kv_sorted), kv_sort_cmp);
	for (i = 1; i < f->n_kv; i++) {
		const struct gguf_kv *a = f->kv_sorted[i - 1], *b = f->kv_sorted[i];

		if (gguf_name_cmp(a->key, a->key_len, b->key, b->key_len) == 0)
			gguf_problem(c, GGUF_E_KEY_DUPLICATE, b->key_off,
				     "duplicate key '%.*s' (first at offset %llu)",
				     (int)(b->key_len > 80 ? 80 : b->key_len), b->key,
				     (unsigned long long)a->key_off);
	}
	if (f->n_kv != f->n_kv_decl)
		return -1;
	check_alignment(f, c);
	if (gguf_parse_tensor_infos(f, c, &pos) != 0)
		return -1;
	f->parsed = true;
	return 0;
}

static int finish_open(struct gguf_file *f, unsigned flags, struct gguf_file **out,
		       struct gguf_report *report)
{
	struct gguf_ctx c = {report, 0, false};
	size_t i;

	if (parse(f, &c) == 0) {
		gguf_check_layout(f, &c);
		gguf_check_arch(f, &c);
	}
	if (c.nomem) {
		gguf_problem(&c, GGUF_E_NOMEM, 0, "out of memory");
		gguf_close(f);
		errno = ENOMEM;
		return -1;
	}
	f->valid = c.n_problems == 0;
	if (!f->valid)
		for (i = 0; i < f->n_tensors; i++)
			f->tensors[i].data = NULL;
	if (!f->valid && !(flags & GGUF_OPEN_KEEP_INVALID)) {
		gguf_close(f);
		return 1;
	}
	*out = f;
	return f->valid ? 0 : 1;
}

int gguf_open_buffer_ex(const void *data, size_t len, unsigned flags, struct gguf_file **out,
			struct gguf_report *report)
{
	struct gguf_file *f;

	*out = NULL;
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		struct gguf_ctx c = {report, 0, false};

		gguf_problem(&c, GGUF_E_NOMEM, 0, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	f->map = data != NULL ? data : (const uint8_t *)"";
	f->size = data != NULL ? len : 0;
	return finish_open(f, flags, out, report);
}

int gguf_open_buffer(const void *data, size_t len, struct gguf_file **out,
		     struct gguf_report *report)
{
	return gguf_open_buffer_ex(data, len, 0, out, report);
}

int gguf_open_ex(const char *path, unsigned flags, struct gguf_file **out,
		 struct gguf_report *report)
{
	struct gguf_ctx c = {report, 0, false};
	struct gguf_file *f;
	struct stat st;
	void *map = NULL;
	int fd, saved;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		goto ioerr;
	if (fstat(fd, &st) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		goto ioerr;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		goto ioerr;
	}
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			saved = errno;
			close(fd);
			errno = saved;
			goto ioerr;
		}
		if (flags & GGUF_OPEN_HUGEPAGES)
			(void)madvise(map, (size_t)st.st_size, MADV_HUGEPAGE);
	}
	close(fd);
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		if (map)
			munmap(map, (size_t)st.st_size);
		gguf_problem(&c, GGUF_E_NOMEM, 0, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	f->map = map ? map : (const uint8_t *)"";
	f->size = (uint64_t)st.st_size;
	f->mapped = map != NULL;
	return finish_open(f, flags, out, report);
ioerr:
	saved = errno;
	gguf_problem(&c, GGUF_E_IO, 0, "%s: %s", path, strerror(saved));
	errno = saved;
	return -1;
}

int gguf_open(const char *path, struct gguf_file **out, struct gguf_report *report)
{
	return gguf_open_ex(path, 0, out, report);
}

void gguf_close(struct gguf_file *f)
{
	size_t i;

	if (f == NULL)
		return;
	if (f->kvs)
		for (i = 0; i < f->n_kv; i++)
			free(f->kvs[i].str_off);
	free(f->kvs);
	free(f->kv_sorted);
	free(f->tensors);
	free(f->t_sorted);
	free(f->t_ok);
	if (f->mapped)
		munmap((void *)(uintptr_t)f->map, f->size);
	free(f);
}

bool gguf_is_valid(const struct gguf_file *f)
{
	return f->valid;
}
uint32_t gguf_version(const struct gguf_file *f)
{
	return f->version;
}
uint32_t gguf_alignment(const struct gguf_file *f)
{
	return f->alignment;
}
uint64_t gguf_file_size(const struct gguf_file *f)
{
	return f->size;
}
uint64_t gguf_data_offset(const struct gguf_file *f)
{
	return f->data_off;
}
const void *gguf_map(const struct gguf_file *f)
{
	return f->map;
}
size_t gguf_n_kv(const struct gguf_file *f)
{
	return f->n_kv;
}

const struct gguf_kv *gguf_kv_at(const struct gguf_file *f, size_t i)
{
	return i < f->n_kv ? &f->kvs[i] : NULL;
}

const struct gguf_kv *gguf_find_kv(const struct gguf_file *f, const char *key)
{
	size_t lo = 0, hi = f->n_kv, klen = strlen(key);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct gguf_kv *kv = f->kv_sorted[mid];
		int r = gguf_name_cmp(kv->key, kv->key_len, (const uint8_t *)key, klen);

		if (r == 0) {
			while (mid > 0 && gguf_name_cmp(f->kv_sorted[mid - 1]->key,
							f->kv_sorted[mid - 1]->key_len,
							(const uint8_t *)key, klen) == 0)
				mid--; /* the first in file order */
			return f->kv_sorted[mid];
		}
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *gguf_architecture(const struct gguf_file *f, size_t *len)
{
	const char *s;

	if (gguf_kv_get_str(gguf_find_kv(f, "general.architecture"), &s, len) != 0)
		return NULL;
	return s;
}

const char *gguf_kv_key(const struct gguf_kv *kv, size_t *len)
{
	*len = kv->key_len;
	return (const char *)kv->key;
}

enum gguf_value_type gguf_kv_type(const struct gguf_kv *kv)
{
	return kv->type;
}
uint64_t gguf_kv_offset(const struct gguf_kv *kv)
{
	return kv->key_off;
}

static int get_scalar(const struct gguf_kv *kv, uint32_t type, void *out, size_t n)
{
	if (kv == NULL || kv->type != type)
		return -1;
	memcpy(out, kv->val, n); /* little-endian host (checked above) */
	return 0;
}

int gguf_kv_get_u8(const struct gguf_kv *kv, uint8_t *out)
{
	return get_scalar(kv, GGUF_TYPE_UINT8, out, 1);
}
int gguf_kv_get_i8(const struct gguf_kv *kv, int8_t *out)
{
	return get_scalar(kv, GGUF_TYPE_INT8, out, 1);
}
int gguf_kv_get_u16(const struct gguf_kv *kv, uint16_t *out)
{
	return get_scalar(kv, GGUF_TYPE_UINT16, out, 2);
}
int gguf_kv_get_i16(const struct gguf_kv *kv, int16_t *out)
{
	return get_scalar(kv, GGUF_TYPE_INT16, out, 2);
}
int gguf_kv_get_u32(const struct gguf_kv *kv, uint32_t *out)
{
	return get_scalar(kv, GGUF_TYPE_UINT32, out, 4);
}
int gguf_kv_get_i32(const struct gguf_kv *kv, int32_t *out)
{
	return get_scalar(kv, GGUF_TYPE_INT32, out, 4);
}
int gguf_kv_get_u64(const struct gguf_kv *kv, uint64_t *out)
{
	return get_scalar(kv, GGUF_TYPE_UINT64, out, 8);
}
int gguf_kv_get_i64(const struct gguf_kv *kv, int64_t *out)
{
	return get_scalar(kv, GGUF_TYPE_INT64, out, 8);
}
int gguf_kv_get_f32(const struct gguf_kv *kv, float *out)
{
	return get_scalar(kv, GGUF_TYPE_FLOAT32, out, 4);
}
int gguf_kv_get_f64(const struct gguf_kv *kv, double *out)
{
	return get_scalar(kv, GGUF_TYPE_FLOAT64, out, 8);
}

int gguf_kv_get_bool(const struct gguf_kv *kv, bool *out)
{
	if (kv == NULL || kv->type != GGUF_TYPE_BOOL)
		return -1;
	*out = kv->val[0] != 0;
	return 0;
}

int gguf_kv_get_str(const struct gguf_kv *kv, const char **ptr, size_t *len)
{
	if (kv == NULL || kv->type != GGUF_TYPE_STRING)
		return -1;
	*ptr = (const char *)kv->val;
	*len = kv->val_len;
	return 0;
}

int gguf_kv_get_uint(const struct gguf_kv *kv, uint64_t *out)
{
	const uint8_t *p;

	if (kv == NULL)
		return -1;
	p = kv->val;
	switch (kv->type) {
	case GGUF_TYPE_UINT8:
		*out = p[0];
		return 0;
	case GGUF_TYPE_UINT16:
		*out = (uint64_t)p[0] | (uint64_t)p[1] << 8;
		return 0;
	case GGUF_TYPE_UINT32:
		*out = gguf_le32(p);
		return 0;
	case GGUF_TYPE_UINT64:
		*out = gguf_le64(p);
		return 0;
	case GGUF_TYPE_INT8:
		if (p[0] & 0x80)
			return -1;
		*out = p[0];
		return 0;
	case GGUF_TYPE_INT16:
		if (p[1] & 0x80)
			return -1;
		*out = (uint64_t)p[0] | (uint64_t)p[1] << 8;
		return 0;
	case GGUF_TYPE_INT32:
		if (p[3] & 0x80)
			return -1;
		*out = gguf_le32(p);
		return 0;
	case GGUF_TYPE_INT64:
		if (p[7] & 0x80)
			return -1;
		*out = gguf_le64(p);
		return 0;
	default:
		return -1;
	}
}

int gguf_kv_array_info(const struct gguf_kv *kv, enum gguf_value_type *elem_type, uint64_t *count)
{
	if (kv == NULL || kv->type != GGUF_TYPE_ARRAY)
		return -1;
	if (elem_type)
		*elem_type = kv->elem_type;
	if (count)
		*count = kv->count;
	return 0;
}

int gguf_kv_array_str(const struct gguf_kv *kv, uint64_t index, const char **ptr, size_t *len)
{
	uint64_t off;

	if (kv == NULL || kv->type != GGUF_TYPE_ARRAY || kv->elem_type != GGUF_TYPE_STRING ||
	    index >= kv->count)
		return -1;
	off = kv->str_off[index];
	*ptr = (const char *)kv->base + off;
	*len = gguf_le64(kv->base + off - 8);
	return 0;
}

const void *gguf_kv_array_data(const struct gguf_kv *kv)
{
	if (kv == NULL || kv->type != GGUF_TYPE_ARRAY || kv->elem_type == GGUF_TYPE_STRING ||
	    kv->count == 0)
		return NULL;
	return kv->val;
}

static int array_get32(const struct gguf_kv *kv, uint32_t type, uint64_t index, void *out)
{
	if (kv == NULL || kv->type != GGUF_TYPE_ARRAY || kv->elem_type != type ||
	    index >= kv->count)
		return -1;
	memcpy(out, kv->val + index * 4, 4);
	return 0;
}

int gguf_kv_array_get_u32(const struct gguf_kv *kv, uint64_t index, uint32_t *out)
{
	return array_get32(kv, GGUF_TYPE_UINT32, index, out);
}
int gguf_kv_array_get_i32(const struct gguf_kv *kv, uint64_t index, int32_t *out)
{
	return array_get32(kv, GGUF_TYPE_INT32, index, out);
}
int gguf_kv_array_get_f32(const struct gguf_kv *kv, uint64_t index, float *out)
{
	return array_get32(kv, GGUF_TYPE_FLOAT32, index, out);
}
