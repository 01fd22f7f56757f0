/*
 * gguf_report.c — the validation report: reason codes, their stable ids, printing.
 *
 * Owns: the code -> id string table and the bounded list of problems.
 * Never: keeps more than GGUF_REPORT_MAX problems (the rest are counted), or fails validation
 * silently when out of memory (the problem is still counted, so the file stays invalid).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf_impl.h"

static const char *const gguf_err_ids[GGUF_E_COUNT] = {
    [GGUF_OK] = "ok",
    [GGUF_E_IO] = "io",
    [GGUF_E_NOMEM] = "nomem",
    [GGUF_E_TRUNCATED] = "truncated",
    [GGUF_E_BAD_MAGIC] = "bad_magic",
    [GGUF_E_BYTE_SWAPPED] = "byte_swapped",
    [GGUF_E_VERSION] = "bad_version",
    [GGUF_E_N_TENSORS] = "n_tensors",
    [GGUF_E_N_KV] = "n_kv",
    [GGUF_E_STRING_LEN] = "string_len",
    [GGUF_E_UTF8] = "bad_utf8",
    [GGUF_E_KEY_EMPTY] = "key_empty",
    [GGUF_E_KEY_TOO_LONG] = "key_too_long",
    [GGUF_E_KEY_DUPLICATE] = "key_duplicate",
    [GGUF_E_VALUE_TYPE] = "value_type",
    [GGUF_E_ARRAY_NESTED] = "array_nested",
    [GGUF_E_ARRAY_COUNT] = "array_count",
    [GGUF_E_BOOL] = "bad_bool",
    [GGUF_E_ALIGNMENT] = "bad_alignment",
    [GGUF_E_NAME_EMPTY] = "name_empty",
    [GGUF_E_NAME_TOO_LONG] = "name_too_long",
    [GGUF_E_NAME_DUPLICATE] = "name_duplicate",
    [GGUF_E_N_DIMS] = "n_dims",
    [GGUF_E_DIM] = "bad_dim",
    [GGUF_E_SHAPE_OVERFLOW] = "shape_overflow",
    [GGUF_E_TENSOR_TYPE] = "tensor_type",
    [GGUF_E_TENSOR_TYPE_REMOVED] = "tensor_type_removed",
    [GGUF_E_BLOCK_MULTIPLE] = "block_multiple",
    [GGUF_E_MISALIGNED] = "misaligned",
    [GGUF_E_OVERLAP] = "overlap",
    [GGUF_E_GAP] = "gap",
    [GGUF_E_OUT_OF_FILE] = "out_of_file",
    [GGUF_E_PADDING] = "padding_nonzero",
    [GGUF_E_TRAILING] = "trailing_data",
    [GGUF_E_ARCH_MISSING] = "arch_missing",
    [GGUF_E_ARCH_NAME] = "arch_name",
    [GGUF_E_HPARAM_MISSING] = "hparam_missing",
    [GGUF_E_HPARAM_TYPE] = "hparam_type",
    [GGUF_E_HPARAM_VALUE] = "hparam_value",
    [GGUF_E_TENSOR_MISSING] = "tensor_missing",
    [GGUF_E_TENSOR_UNEXPECTED] = "tensor_unexpected",
    [GGUF_E_TENSOR_SHAPE] = "tensor_shape",
    [GGUF_E_VOCAB] = "vocab_mismatch",
    [GGUF_E_TOKENIZER_TYPE] = "tokenizer_type",
};

const char *gguf_err_id(enum gguf_err code)
{
	if ((unsigned)code >= GGUF_E_COUNT)
		return "unknown";
	return gguf_err_ids[code];
}

void gguf_problem(struct gguf_ctx *c, enum gguf_err code, uint64_t off, const char *fmt, ...)
{
	struct gguf_report *r = c->r;
	struct gguf_problem *p;
	va_list ap;
	int n;

	c->n_problems++;
	if (r == NULL)
		return;
	if (r->n >= GGUF_REPORT_MAX) {
		r->n_dropped++;
		return;
	}
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 8;
		struct gguf_problem *ni;

		if (ncap > GGUF_REPORT_MAX)
			ncap = GGUF_REPORT_MAX;
		ni = realloc(r->items, ncap * sizeof(*ni));
		if (ni == NULL) {
			c->nomem = true;
			r->n_dropped++;
			return;
		}
		r->items = ni;
		r->cap = ncap;
	}
	p = &r->items[r->n++];
	p->code = code;
	p->offset = off;
	n = snprintf(p->msg, sizeof(p->msg), "offset %llu: ", (unsigned long long)off);
	if (n < 0 || (size_t)n >= sizeof(p->msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(p->msg + n, sizeof(p->msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

bool gguf_report_has(const struct gguf_report *r, enum gguf_err code)
{
	size_t i;

	if (r == NULL)
		return false;
	for (i = 0; i < r->n; i++)
		if (r->items[i].code == code)
			return true;
	return false;
}

void gguf_report_print(const struct gguf_report *r, FILE *fp)
{
	size_t i;

	if (r == NULL || r->n == 0) {
		fprintf(fp, "valid: no problems\n");
		return;
	}
	fprintf(fp, "invalid: %zu problem%s\n", r->n + r->n_dropped,
		r->n + r->n_dropped == 1 ? "" : "s");
	for (i = 0; i < r->n; i++)
		fprintf(fp, "  %-20s %s\n", gguf_err_id(r->items[i].code), r->items[i].msg);
	if (r->n_dropped)
		fprintf(fp, "  ... and %zu more not kept\n", r->n_dropped);
}

void gguf_report_free(struct gguf_report *r)
{
	if (r == NULL)
		return;
	free(r->items);
	r->items = NULL;
	r->n = r->cap = r->n_dropped = 0;
}
