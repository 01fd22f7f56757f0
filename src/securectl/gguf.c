/*
 * gguf.c — `securectl gguf inspect FILE [--json]`, and the dispatch of `gguf tokenize`.
 *
 * Owns: showing what the GGUF reader found in a model file — metadata (long arrays summarised),
 * tensors, and the verdict with every problem — as text or JSON (jansson).
 * Never: validates anything itself (src/lib/gguf/ is the one gate), prints bytes from the file
 * unescaped (control characters and invalid UTF-8 become \\xNN: no terminal injection), or
 * prints whole multi-megabyte values (strings and arrays are cut, with their real size shown).
 * Exit: 0 valid, 2 invalid, 1 I/O error, 64 usage.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <string.h>

#include "buf.h"
#include "gguf/gguf.h"
#include "securectl/securectl.h"

#define TEXT_STR_MAX 160
#define JSON_STR_MAX 4096
#define ARRAY_FIRST 8

static void usage(FILE *fp)
{
	fprintf(fp, "usage: securectl gguf inspect FILE [--json]\n"
		    "       securectl gguf tokenize ...\n"
		    "Shows a GGUF model's metadata, tensors and the reader's verdict with every\n"
		    "problem found. Exit status: 0 valid, 2 invalid, 1 I/O error.\n");
}

/* Appends s[0..len) (at most max bytes of it) as safe printable text. */
static int safe_append(struct buf *b, const char *s, size_t len, size_t max)
{
	bool utf8 = gguf_utf8_valid(s, len);
	size_t i, n = len < max ? len : max;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\\' || ch == '"')
			rc = buf_printf(b, "\\%c", ch);
		else if (ch == '\n')
			rc = buf_append_str(b, "\\n");
		else if (ch == '\t')
			rc = buf_append_str(b, "\\t");
		else if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && !utf8))
			rc = buf_printf(b, "\\x%02x", ch);
		else if (ch == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] < 0xa0) {
			rc = buf_printf(b, "\\u%04x", (unsigned char)s[i + 1]); /* C1 control */
			i++;
		} else
			rc = buf_append_char(b, (char)ch);
	}
	if (rc == 0 && n < len)
		rc = buf_printf(b, "...(%zu bytes)", len);
	return rc;
}

static int scalar_append(struct buf *b, const struct gguf_kv *kv, enum gguf_value_type t,
			 const uint8_t *p)
{
	union {
		uint8_t u8;
		int8_t i8;
		uint16_t u16;
		int16_t i16;
		uint32_t u32;
		int32_t i32;
		uint64_t u64;
		int64_t i64;
		float f32;
		double f64;
	} v;

	(void)kv;
	memcpy(&v, p, gguf_value_type_size(t));
	switch (t) {
	case GGUF_TYPE_UINT8:
		return buf_printf(b, "%u", v.u8);
	case GGUF_TYPE_INT8:
		return buf_printf(b, "%d", v.i8);
	case GGUF_TYPE_UINT16:
		return buf_printf(b, "%u", v.u16);
	case GGUF_TYPE_INT16:
		return buf_printf(b, "%d", v.i16);
	case GGUF_TYPE_UINT32:
		return buf_printf(b, "%" PRIu32, v.u32);
	case GGUF_TYPE_INT32:
		return buf_printf(b, "%" PRId32, v.i32);
	case GGUF_TYPE_UINT64:
		return buf_printf(b, "%" PRIu64, v.u64);
	case GGUF_TYPE_INT64:
		return buf_printf(b, "%" PRId64, v.i64);
	case GGUF_TYPE_FLOAT32:
		return buf_printf(b, "%.9g", (double)v.f32);
	case GGUF_TYPE_FLOAT64:
		return buf_printf(b, "%.17g", v.f64);
	case GGUF_TYPE_BOOL:
		return buf_append_str(b, v.u8 ? "true" : "false");
	default:
		return buf_append_str(b, "?");
	}
}

/* One value (or array element) as display text into b. */
static int value_text(struct buf *b, const struct gguf_kv *kv, uint64_t idx, size_t max)
{
	enum gguf_value_type t = gguf_kv_type(kv), et;
	const char *s;
	size_t len;
	uint64_t n;

	if (t == GGUF_TYPE_STRING) {
		gguf_kv_get_str(kv, &s, &len);
		return safe_append(b, s, len, max);
	}
	if (t != GGUF_TYPE_ARRAY) {
		uint64_t u;
		float f;
		double d;
		bool bo;
		int64_t i64;
		int32_t i32;
		int16_t i16;
		int8_t i8;

		if (t != GGUF_TYPE_BOOL && gguf_kv_get_uint(kv, &u) == 0)
			return buf_printf(b, "%" PRIu64, u);
		if (gguf_kv_get_f32(kv, &f) == 0)
			return buf_printf(b, "%.9g", (double)f);
		if (gguf_kv_get_f64(kv, &d) == 0)
			return buf_printf(b, "%.17g", d);
		if (gguf_kv_get_bool(kv, &bo) == 0)
			return buf_append_str(b, bo ? "true" : "false");
		if (gguf_kv_get_i64(kv, &i64) == 0)
			return buf_printf(b, "%" PRId64, i64);
		if (gguf_kv_get_i32(kv, &i32) == 0)
			return buf_printf(b, "%" PRId32, i32);
		if (gguf_kv_get_i16(kv, &i16) == 0)
			return buf_printf(b, "%d", i16);
		if (gguf_kv_get_i8(kv, &i8) == 0)
			return buf_printf(b, "%d", i8);
		return buf_append_str(b, "?");
	}
	gguf_kv_array_info(kv, &et, &n);
	if (et == GGUF_TYPE_STRING) {
		if (gguf_kv_array_str(kv, idx, &s, &len) != 0)
			return -1;
		return safe_append(b, s, len, max);
	}
	return scalar_append(
	    b, kv, et, (const uint8_t *)gguf_kv_array_data(kv) + idx * gguf_value_type_size(et));
}

static void shape_text(struct buf *b, const struct gguf_tensor_info *t)
{
	uint32_t i;

	buf_append_char(b, '[');
	for (i = 0; i < t->n_dims && i < GGUF_MAX_DIMS; i++)
		buf_printf(b, "%s%" PRIu64, i ? ", " : "", t->ne[i]);
	buf_append_char(b, ']');
}

static void print_text(const char *path, const struct gguf_file *f, int rc,
		       const struct gguf_report *r)
{
	struct buf b = BUF_INIT;
	size_t i, klen;

	printf("file: %s\n", path);
	if (f != NULL && gguf_version(f) != 0) {
		printf("version: %" PRIu32 "  alignment: %" PRIu32 "  size: %" PRIu64
		       "  data offset: %" PRIu64 "\n",
		       gguf_version(f), gguf_alignment(f), gguf_file_size(f), gguf_data_offset(f));
		printf("metadata (%zu):\n", gguf_n_kv(f));
		for (i = 0; i < gguf_n_kv(f); i++) {
			const struct gguf_kv *kv = gguf_kv_at(f, i);
			const char *key = gguf_kv_key(kv, &klen);
			enum gguf_value_type t = gguf_kv_type(kv), et;
			uint64_t n, j;

			buf_reset(&b);
			safe_append(&b, key, klen, 128);
			if (t == GGUF_TYPE_ARRAY) {
				gguf_kv_array_info(kv, &et, &n);
				buf_printf(&b, " = [%s x %" PRIu64 "]", gguf_value_type_name(et),
					   n);
				for (j = 0; j < n && j < ARRAY_FIRST; j++) {
					buf_append_str(&b, j ? ", " : " ");
					if (et == GGUF_TYPE_STRING)
						buf_append_char(&b, '"');
					value_text(&b, kv, j, 40);
					if (et == GGUF_TYPE_STRING)
						buf_append_char(&b, '"');
				}
				if (n > ARRAY_FIRST)
					buf_append_str(&b, ", ...");
			} else {
				buf_printf(&b, " (%s) = ", gguf_value_type_name(t));
				if (t == GGUF_TYPE_STRING)
					buf_append_char(&b, '"');
				value_text(&b, kv, 0, TEXT_STR_MAX);
				if (t == GGUF_TYPE_STRING)
					buf_append_char(&b, '"');
			}
			printf("  %s\n", b.data ? b.data : "");
		}
		printf("tensors (%zu):\n", gguf_n_tensors(f));
		for (i = 0; i < gguf_n_tensors(f); i++) {
			const struct gguf_tensor_info *t = gguf_tensor_at(f, i);

			buf_reset(&b);
			safe_append(&b, t->name, strlen(t->name), 64);
			printf("  %-32s %-8s ", b.data ? b.data : "",
			       gguf_type_info(t->type)->name);
			buf_reset(&b);
			shape_text(&b, t);
			printf("%-22s %12" PRIu64 " bytes  @%" PRIu64 "\n", b.data, t->nbytes,
			       t->offset);
		}
	}
	printf("verdict: %s\n", rc == 0 ? "valid" : rc == 1 ? "invalid" : "error");
	if (r->n || r->n_dropped)
		gguf_report_print(r, stdout);
	buf_free(&b);
}

static json_t *jstr(const char *s, size_t len, size_t max)
{
	struct buf b = BUF_INIT;
	json_t *j;

	if (gguf_utf8_valid(s, len) && len <= max && memchr(s, 0, len) == NULL)
		return json_stringn(s, len);
	safe_append(&b, s, len, max);
	j = json_stringn(b.data ? b.data : "", b.len);
	buf_free(&b);
	return j;
}

static json_t *jvalue(const struct gguf_kv *kv, uint64_t idx)
{
	enum gguf_value_type t = gguf_kv_type(kv), et = t;
	struct buf b = BUF_INIT;
	const char *s;
	size_t len;
	json_t *j;

	if (t == GGUF_TYPE_ARRAY)
		gguf_kv_array_info(kv, &et, NULL);
	if (et == GGUF_TYPE_STRING) {
		if (t == GGUF_TYPE_ARRAY)
			gguf_kv_array_str(kv, idx, &s, &len);
		else
			gguf_kv_get_str(kv, &s, &len);
		return jstr(s, len, JSON_STR_MAX);
	}
	if (et == GGUF_TYPE_BOOL) {
		const uint8_t *p =
		    t == GGUF_TYPE_ARRAY ? (const uint8_t *)gguf_kv_array_data(kv) + idx : NULL;
		bool v = false;

		if (p)
			v = *p != 0;
		else
			gguf_kv_get_bool(kv, &v);
		return json_boolean(v);
	}
	if (t == GGUF_TYPE_ARRAY)
		scalar_append(&b, kv, et,
			      (const uint8_t *)gguf_kv_array_data(kv) +
				  idx * gguf_value_type_size(et));
	else
		value_text(&b, kv, 0, 64);
	if (et == GGUF_TYPE_FLOAT32 || et == GGUF_TYPE_FLOAT64)
		j = json_real(strtod(b.data ? b.data : "0", NULL));
	else if (et == GGUF_TYPE_UINT64 && b.data && strtoull(b.data, NULL, 10) > INT64_MAX)
		j = json_stringn(b.data, b.len); /* would not fit a JSON integer in jansson */
	else
		j = json_integer(strtoll(b.data ? b.data : "0", NULL, 10));
	buf_free(&b);
	return j;
}

static int print_json(const char *path, const struct gguf_file *f, int rc,
		      const struct gguf_report *r)
{
	json_t *root = json_object(), *meta = json_array(), *tens = json_array();
	json_t *probs = json_array();
	size_t i, klen;
	char *out;

	json_object_set_new(root, "file", jstr(path, strlen(path), 4096));
	json_object_set_new(root, "verdict",
			    json_string(rc == 0	  ? "valid"
					: rc == 1 ? "invalid"
						  : "error"));
	if (f != NULL) {
		json_object_set_new(root, "version", json_integer(gguf_version(f)));
		json_object_set_new(root, "alignment", json_integer(gguf_alignment(f)));
		json_object_set_new(root, "size", json_integer((json_int_t)gguf_file_size(f)));
		json_object_set_new(root, "data_offset",
				    json_integer((json_int_t)gguf_data_offset(f)));
		for (i = 0; i < gguf_n_kv(f); i++) {
			const struct gguf_kv *kv = gguf_kv_at(f, i);
			const char *key = gguf_kv_key(kv, &klen);
			enum gguf_value_type t = gguf_kv_type(kv), et;
			json_t *o = json_object();
			uint64_t n, j;

			json_object_set_new(o, "key", jstr(key, klen, 1024));
			json_object_set_new(o, "type", json_string(gguf_value_type_name(t)));
			if (t == GGUF_TYPE_ARRAY) {
				json_t *first = json_array();

				gguf_kv_array_info(kv, &et, &n);
				json_object_set_new(o, "elem_type",
						    json_string(gguf_value_type_name(et)));
				json_object_set_new(o, "count", json_integer((json_int_t)n));
				for (j = 0; j < n && j < ARRAY_FIRST; j++)
					json_array_append_new(first, jvalue(kv, j));
				json_object_set_new(o, n > ARRAY_FIRST ? "first" : "values", first);
			} else {
				json_object_set_new(o, "value", jvalue(kv, 0));
			}
			json_array_append_new(meta, o);
		}
		for (i = 0; i < gguf_n_tensors(f); i++) {
			const struct gguf_tensor_info *t = gguf_tensor_at(f, i);
			json_t *o = json_object(), *shape = json_array();
			uint32_t d;

			json_object_set_new(o, "name", jstr(t->name, strlen(t->name), 64));
			json_object_set_new(o, "type", json_string(gguf_type_info(t->type)->name));
			json_object_set_new(o, "type_id", json_integer(t->type));
			for (d = 0; d < t->n_dims && d < GGUF_MAX_DIMS; d++)
				json_array_append_new(shape,
						      t->ne[d] > INT64_MAX
							  ? json_real((double)t->ne[d])
							  : json_integer((json_int_t)t->ne[d]));
			json_object_set_new(o, "shape", shape);
			json_object_set_new(o, "bytes", json_integer((json_int_t)t->nbytes));
			json_object_set_new(o, "offset", json_integer((json_int_t)t->offset));
			json_array_append_new(tens, o);
		}
		json_object_set_new(root, "metadata", meta);
		json_object_set_new(root, "tensors", tens);
	} else {
		json_decref(meta);
		json_decref(tens);
	}
	for (i = 0; i < r->n; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "code", json_string(gguf_err_id(r->items[i].code)));
		json_object_set_new(o, "offset", json_integer((json_int_t)r->items[i].offset));
		json_object_set_new(
		    o, "message",
		    jstr(r->items[i].msg, strlen(r->items[i].msg), sizeof(r->items[i].msg)));
		json_array_append_new(probs, o);
	}
	json_object_set_new(root, "problems", probs);
	json_object_set_new(root, "problems_not_kept", json_integer((json_int_t)r->n_dropped));
	out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (out == NULL)
		return -1;
	printf("%s\n", out);
	free(out);
	return 0;
}

static int inspect_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct gguf_report r = GGUF_REPORT_INIT;
	struct gguf_file *f = NULL;
	bool json = false;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return SECURECTL_EX_USAGE;
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		return SECURECTL_EX_USAGE;
	}
	rc = gguf_open_ex(argv[optind], GGUF_OPEN_KEEP_INVALID, &f, &r);
	if (rc < 0) {
		if (json) {
			print_json(argv[optind], NULL, rc, &r);
		} else {
			fprintf(stderr, "securectl gguf inspect: %s\n",
				r.n ? r.items[0].msg : "error");
		}
		gguf_report_free(&r);
		return 1;
	}
	if (json)
		print_json(argv[optind], f, rc, &r);
	else
		print_text(argv[optind], f, rc, &r);
	gguf_close(f);
	gguf_report_free(&r);
	return rc == 0 ? 0 : 2;
}

int gguf_main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "tokenize") == 0)
		return gguf_tokenize_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "inspect") == 0)
		return inspect_main(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return SECURECTL_EX_USAGE;
}
