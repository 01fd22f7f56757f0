/*
 * gguf_tensor.c — tensor infos and the data section layout.
 *
 * Owns: the tensor info rules (names, n_dims, dims, ggml type, block multiple, byte size) and
 * the layout rules (aligned offsets equal to the running sum of aligned sizes, every tensor
 * inside the file, zero padding, nothing after the last tensor but its alignment padding).
 * Never: reads tensor data — only the padding bytes between and after tensors are touched —
 * or computes a size, product or end offset without an overflow check.
 */
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf_impl.h"

static int t_sort_cmp(const void *a, const void *b)
{
	const struct gguf_tensor_info *x = *(const struct gguf_tensor_info *const *)a;
	const struct gguf_tensor_info *y = *(const struct gguf_tensor_info *const *)b;
	int r = gguf_name_cmp((const uint8_t *)x->name, strlen(x->name), (const uint8_t *)y->name,
			      strlen(y->name));

	if (r != 0)
		return r;
	return x < y ? -1 : x > y;
}

/* Checks one parsed info: returns true when its size is known and usable for the layout. */
static bool check_info(struct gguf_ctx *c, struct gguf_tensor_info *t)
{
	const struct gguf_type_info *ti = gguf_type_info(t->type);
	uint64_t n = 1;
	uint32_t i;
	bool ok = true;

	for (i = 0; i < t->n_dims; i++) {
		if (t->ne[i] == 0 || t->ne[i] > INT64_MAX) {
			gguf_problem(c, GGUF_E_DIM, t->info_offset,
				     "tensor '%s': dimension %u is %llu (must be 1..2^63-1)",
				     t->name, i, (unsigned long long)t->ne[i]);
			ok = false;
		}
	}
	if (!ok)
		return false;
	for (i = 0; i < GGUF_MAX_DIMS; i++) {
		if (__builtin_mul_overflow(n, t->ne[i], &n) || n > INT64_MAX) {
			gguf_problem(c, GGUF_E_SHAPE_OVERFLOW, t->info_offset,
				     "tensor '%s': element count of [%llu, %llu, %llu, %llu] "
				     "overflows int64",
				     t->name, (unsigned long long)t->ne[0],
				     (unsigned long long)t->ne[1], (unsigned long long)t->ne[2],
				     (unsigned long long)t->ne[3]);
			return false;
		}
	}
	t->n_elements = n;
	if (!ti->known) {
		gguf_problem(c, ti->removed ? GGUF_E_TENSOR_TYPE_REMOVED : GGUF_E_TENSOR_TYPE,
			     t->info_offset, "tensor '%s': ggml type %u is %s", t->name, t->type,
			     ti->removed ? "a removed type" : "unknown");
		return false;
	}
	if (t->ne[0] % ti->block_size != 0) {
		gguf_problem(c, GGUF_E_BLOCK_MULTIPLE, t->info_offset,
			     "tensor '%s': ne0 %llu is not a multiple of %s's block size %u",
			     t->name, (unsigned long long)t->ne[0], ti->name, ti->block_size);
		return false;
	}
	if (gguf_tensor_nbytes(t->type, t->ne, &t->nbytes) != 0 || t->nbytes > INT64_MAX) {
		gguf_problem(c, GGUF_E_SHAPE_OVERFLOW, t->info_offset,
			     "tensor '%s': byte size overflows", t->name);
		return false;
	}
	return true;
}

static int parse_info(struct gguf_file *f, struct gguf_ctx *c, struct gguf_tensor_info *t, bool *ok,
		      uint64_t *pos)
{
	uint64_t at = *pos, n, bad;
	uint32_t i;

	t->info_offset = at;
	*ok = true;
	if (f->size - at < 8) {
		gguf_problem(c, GGUF_E_TRUNCATED, at, "tensor name length runs past the end");
		return -1;
	}
	n = gguf_le64(f->map + at);
	if (n > f->size - at - 8) {
		gguf_problem(c, GGUF_E_STRING_LEN, at,
			     "tensor name length %llu exceeds the file (%llu bytes left)",
			     (unsigned long long)n, (unsigned long long)(f->size - at - 8));
		return -1;
	}
	*pos = at + 8 + n;
	memcpy(t->name, f->map + at + 8, n < GGUF_NAME_MAX ? n : GGUF_NAME_MAX - 1);
	t->name[n < GGUF_NAME_MAX ? n : GGUF_NAME_MAX - 1] = '\0';
	if (n == 0) {
		gguf_problem(c, GGUF_E_NAME_EMPTY, at, "empty tensor name");
		*ok = false;
	} else if (n >= GGUF_NAME_MAX) {
		gguf_problem(c, GGUF_E_NAME_TOO_LONG, at, "tensor name of %llu bytes (max 63)",
			     (unsigned long long)n);
		*ok = false;
	}
	if (gguf_utf8_check(f->map + at + 8, n, &bad) != 0) {
		gguf_problem(c, GGUF_E_UTF8, at + 8 + bad, "tensor name is not valid UTF-8");
		*ok = false;
	} else if (memchr(f->map + at + 8, 0, n) != NULL) {
		gguf_problem(c, GGUF_E_UTF8, at + 8, "tensor name contains a NUL byte");
		*ok = false;
	}
	if (f->size - *pos < 4) {
		gguf_problem(c, GGUF_E_TRUNCATED, *pos, "tensor n_dims runs past the end");
		return -1;
	}
	t->n_dims = gguf_le32(f->map + *pos);
	if (t->n_dims == 0 || t->n_dims > GGUF_MAX_DIMS) {
		gguf_problem(c, GGUF_E_N_DIMS, *pos, "tensor '%s': n_dims %u is not 1..4", t->name,
			     t->n_dims);
		if (t->n_dims > GGUF_MAX_DIMS)
			return -1; /* CVE-2024-21802: never read more than 4 dims */
		*ok = false;
	}
	*pos += 4;
	for (i = 0; i < GGUF_MAX_DIMS; i++)
		t->ne[i] = 1;
	if ((f->size - *pos) / 8 < t->n_dims) {
		gguf_problem(c, GGUF_E_TRUNCATED, *pos, "tensor dims run past the end");
		return -1;
	}
	for (i = 0; i < t->n_dims; i++, *pos += 8)
		t->ne[i] = gguf_le64(f->map + *pos);
	if (f->size - *pos < 12) {
		gguf_problem(c, GGUF_E_TRUNCATED, *pos, "tensor type/offset run past the end");
		return -1;
	}
	t->type = gguf_le32(f->map + *pos);
	t->offset = gguf_le64(f->map + *pos + 4);
	*pos += 12;
	if (*ok)
		*ok = check_info(c, t);
	return 0;
}

int gguf_parse_tensor_infos(struct gguf_file *f, struct gguf_ctx *c, uint64_t *pos)
{
	size_t n = f->n_tensors_decl ? f->n_tensors_decl : 1, i;

	/* n_tensors_decl <= GGUF_MAX_TENSORS and <= bytes left / 33 (checked in the header). */
	f->tensors = calloc(n, sizeof(*f->tensors));
	f->t_sorted = calloc(n, sizeof(*f->t_sorted));
	f->t_ok = calloc(n, sizeof(*f->t_ok));
	if (f->tensors == NULL || f->t_sorted == NULL || f->t_ok == NULL) {
		c->nomem = true;
		return -1;
	}
	for (i = 0; i < f->n_tensors_decl; i++) {
		if (parse_info(f, c, &f->tensors[i], &f->t_ok[i], pos) != 0)
			break;
		f->t_sorted[i] = &f->tensors[i];
		f->n_tensors++;
	}
	qsort(f->t_sorted, f->n_tensors, sizeof(*f->t_sorted), t_sort_cmp);
	for (i = 1; i < f->n_tensors; i++)
		if (strcmp(f->t_sorted[i - 1]->name, f->t_sorted[i]->name) == 0 &&
		    f->t_sorted[i]->name[0] != '\0')
			gguf_problem(c, GGUF_E_NAME_DUPLICATE, f->t_sorted[i]->info_offset,
				     "duplicate tensor name '%s' (first at offset %llu)",
				     f->t_sorted[i]->name,
				     (unsigned long long)f->t_sorted[i - 1]->info_offset);
	if (f->n_tensors != f->n_tensors_decl)
		return -1;
	f->infos_end = *pos;
	return 0;
}

/* Reports the first nonzero byte of [from, to) (both inside the file). */
static void check_zero(const struct gguf_file *f, struct gguf_ctx *c, uint64_t from, uint64_t to,
		       const char *what)
{
	uint64_t i;

	for (i = from; i < to; i++)
		if (f->map[i] != 0) {
			gguf_problem(c, GGUF_E_PADDING, i, "%s padding byte is 0x%02x, not 0", what,
				     f->map[i]);
			return;
		}
}

static uint64_t align_up(uint64_t v, uint32_t a, bool *ovf)
{
	uint64_t r;

	if (__builtin_add_overflow(v, (uint64_t)a - 1, &r)) {
		*ovf = true;
		return v;
	}
	return r & ~((uint64_t)a - 1);
}

void gguf_check_layout(struct gguf_file *f, struct gguf_ctx *c)
{
	uint32_t a = f->alignment;
	uint64_t expect = 0, end, pad_end, data_end;
	bool ovf = false;
	size_t i;

	/* data_off <= size + a - 1: no overflow, size is a file size. */
	f->data_off = align_up(f->infos_end, a, &ovf);
	end = f->infos_end; /* end of the last meaningful byte so far, absolute */
	for (i = 0; i < f->n_tensors; i++) {
		struct gguf_tensor_info *t = &f->tensors[i];
		uint64_t start, tend;

		if (!f->t_ok[i])
			return; /* its size is unknown: later offsets cannot be checked */
		if (t->offset % a != 0) {
			gguf_problem(c, GGUF_E_MISALIGNED, t->info_offset,
				     "tensor '%s': offset %llu is not a multiple of %u", t->name,
				     (unsigned long long)t->offset, a);
			return;
		}
		if (t->offset < expect) {
			gguf_problem(
			    c, GGUF_E_OVERLAP, t->info_offset,
			    "tensor '%s': offset %llu overlaps the previous tensor (ends at "
			    "%llu)",
			    t->name, (unsigned long long)t->offset, (unsigned long long)expect);
			return;
		}
		if (t->offset > expect) {
			gguf_problem(
			    c, GGUF_E_GAP, t->info_offset,
			    "tensor '%s': offset %llu leaves a gap after the previous tensor "
			    "(expected %llu)",
			    t->name, (unsigned long long)t->offset, (unsigned long long)expect);
			return;
		}
		if (__builtin_add_overflow(f->data_off, t->offset, &start) ||
		    __builtin_add_overflow(start, t->nbytes, &tend) || tend > f->size) {
			gguf_problem(
			    c, GGUF_E_OUT_OF_FILE, t->info_offset,
			    "tensor '%s': data [%llu + %llu bytes] runs past the end of the "
			    "file (%llu bytes)",
			    t->name, (unsigned long long)f->data_off + t->offset,
			    (unsigned long long)t->nbytes, (unsigned long long)f->size);
			return;
		}
		/* Padding before this tensor: after the infos, or after the previous tensor. */
		check_zero(f, c, end, start, i == 0 ? "data section" : "tensor");
		t->file_offset = start;
		t->data = f->map + start;
		end = tend;
		expect = align_up(tend - f->data_off, a, &ovf);
		if (ovf) {
			gguf_problem(c, GGUF_E_SHAPE_OVERFLOW, t->info_offset,
				     "tensor '%s': aligned end overflows", t->name);
			return;
		}
	}
	/* The file ends at `end`, or inside / at the end of its alignment padding. */
	data_end = f->n_tensors ? end : f->infos_end;
	pad_end = f->n_tensors ? f->data_off + expect : f->data_off;
	if (f->size > pad_end) {
		gguf_problem(c, GGUF_E_TRAILING, pad_end,
			     "%llu bytes after the end of the data (%llu) and its padding",
			     (unsigned long long)(f->size - pad_end), (unsigned long long)data_end);
		check_zero(f, c, data_end, pad_end, "final");
		return;
	}
	check_zero(f, c, data_end, f->size, "final");
}

size_t gguf_n_tensors(const struct gguf_file *f)
{
	return f->n_tensors;
}

const struct gguf_tensor_info *gguf_tensor_at(const struct gguf_file *f, size_t i)
{
	return i < f->n_tensors ? &f->tensors[i] : NULL;
}

const struct gguf_tensor_info *gguf_find_tensor(const struct gguf_file *f, const char *name)
{
	size_t lo = 0, hi = f->n_tensors, nlen = strlen(name);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct gguf_tensor_info *t = f->t_sorted[mid];
		int r = gguf_name_cmp((const uint8_t *)t->name, strlen(t->name),
				      (const uint8_t *)name, nlen);

		if (r == 0)
			return t;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
