/*
 * safetensors.c — the strict safetensors checker (safetensors.h).
 *
 * Owns: the order of checks (the reference parser's, then the strict additions), one reason id
 * per rule, and the sharded-index checks.
 * Never: reads past the header, trusts N before comparing it with the file size, multiplies
 * without an overflow check, or parses JSON other than through json_parse_object().
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "fsutil.h"
#include "json.h"
#include "scan/safetensors.h"

static const struct {
	const char *name;
	unsigned bits;
} dtypes[] = {
    {"BOOL", 8},	{"F4", 4},	  {"F6_E2M3", 6},     {"F6_E3M2", 6},	  {"U8", 8},
    {"I8", 8},		{"F8_E5M2", 8},	  {"F8_E4M3", 8},     {"F8_E8M0", 8},	  {"F8_E4M3FNUZ", 8},
    {"F8_E5M2FNUZ", 8}, {"I16", 16},	  {"U16", 16},	      {"F16", 16},	  {"BF16", 16},
    {"I32", 32},	{"U32", 32},	  {"F32", 32},	      {"C64", 64},	  {"F64", 64},
    {"I64", 64},	{"U64", 64},
};

unsigned st_dtype_bits(const char *dtype)
{
	for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
		if (strcmp(dtypes[i].name, dtype) == 0)
			return dtypes[i].bits;
	return 0;
}

struct span {
	uint64_t begin, end;
	const char *name;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

#define BAD(id, off, subj, ...)                                                                    \
	do {                                                                                       \
		scan_report_add(r, id, SCAN_SEV_REJECT, file, off, subj, __VA_ARGS__);             \
		bad = 1;                                                                           \
	} while (0)

/* Checks one tensor entry; fills sp. Returns 0 ok, 1 bad (finding added). */
static int check_entry(const char *name, json_t *e, struct span *sp, const char *file,
		       struct scan_report *r)
{
	json_t *dt, *shape, *offs, *v;
	const char *key;
	unsigned bits;
	uint64_t nel = 1, nbits, b0, b1;
	size_t i;
	int bad = 0;

	(void)bad;
	if (!json_is_object(e)) {
		BAD("st.tensor_entry", 8, name, "tensor entry is not an object");
		return 1;
	}
	json_object_foreach(e, key, v)
	{
		if (strcmp(key, "dtype") && strcmp(key, "shape") && strcmp(key, "data_offsets")) {
			BAD("st.tensor_entry", 8, name, "unknown field in tensor entry");
			return 1;
		}
	}
	dt = json_object_get(e, "dtype");
	shape = json_object_get(e, "shape");
	offs = json_object_get(e, "data_offsets");
	if (!json_is_string(dt) || !json_is_array(shape) || !json_is_array(offs) ||
	    json_array_size(offs) != 2) {
		BAD("st.tensor_entry", 8, name,
		    "tensor entry needs dtype (string), shape (array), data_offsets ([begin, end])");
		return 1;
	}
	bits = st_dtype_bits(json_string_value(dt));
	if (bits == 0) {
		BAD("st.dtype", 8, name, "unknown dtype");
		return 1;
	}
	json_array_foreach(offs, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			BAD("st.invalid_offset", 8, name, "data_offsets are not non-negative integers");
			return 1;
		}
	}
	b0 = (uint64_t)json_integer_value(json_array_get(offs, 0));
	b1 = (uint64_t)json_integer_value(json_array_get(offs, 1));
	sp->begin = b0;
	sp->end = b1;
	sp->name = name;
	json_array_foreach(shape, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			BAD("st.shape", 8, name, "shape holds something other than non-negative integers");
			return 1;
		}
		if (__builtin_mul_overflow(nel, (uint64_t)json_integer_value(v), &nel)) {
			BAD("st.overflow", 8, name, "element count overflows 64 bits");
			return 1;
		}
	}
	if (__builtin_mul_overflow(nel, (uint64_t)bits, &nbits)) {
		BAD("st.overflow", 8, name, "byte size overflows 64 bits");
		return 1;
	}
	if (nbits % 8) {
		BAD("st.misaligned", 8, name, "%" PRIu64 " bits is not a whole number of bytes",
		    nbits);
		return 1;
	}
	if (b1 < b0) {
		BAD("st.invalid_offset", 8, name, "data_offsets end %" PRIu64 " < begin %" PRIu64, b1,
		    b0);
		return 1;
	}
	if (b1 - b0 != nbits / 8) {
		BAD("st.size_mismatch", 8, name,
		    "data_offsets span %" PRIu64 " bytes, shape x dtype needs %" PRIu64, b1 - b0,
		    nbits / 8);
		return 1;
	}
	return 0;
}

int st_check(const uint8_t *head, size_t head_len, uint64_t file_size, const char *file,
	     struct scan_report *r, void **names)
{
	char err[160];
	json_t *root, *v, *md, *list = NULL;
	const char *key;
	struct span *spans = NULL;
	size_t ns = 0, cap;
	uint64_t n, pos = 0;
	int bad = 0;

	if (names)
		*names = NULL;
	if (file_size < 8 || head_len < 8) {
		BAD("st.too_small", 0, NULL, "file of %" PRIu64 " bytes has no 8-byte header length",
		    file_size);
		return 1;
	}
	n = 0;
	for (int i = 7; i >= 0; i--)
		n = n << 8 | head[i];
	if (n > ST_MAX_HEADER) {
		BAD("st.header_too_large", 0, NULL, "header length %" PRIu64 " > 100 MB", n);
		return 1;
	}
	if (n > file_size - 8 || n > head_len - 8) {
		BAD("st.header_length", 0, NULL,
		    "header length %" PRIu64 " runs past the end of the file (%" PRIu64 " bytes)", n,
		    file_size);
		return 1;
	}
	if (!gguf_utf8_valid(head + 8, (size_t)n)) {
		BAD("st.header_utf8", 8, NULL, "header is not valid UTF-8");
		return 1;
	}
	root = json_parse_strict((const char *)head + 8, (size_t)n, ST_MAX_HEADER, err, sizeof(err));
	if (root == NULL) {
		if (strstr(err, "duplicate"))
			BAD("st.duplicate_key", 8, NULL, "header JSON has a duplicate key: %s", err);
		else
			BAD("st.header_json", 8, NULL, "header is not JSON: %s", err);
		return 1;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		BAD("st.header_not_object", 8, NULL, "header is JSON but not an object");
		return 1;
	}
	cap = json_object_size(root);
	spans = calloc(cap ? cap : 1, sizeof(*spans));
	if (names)
		list = json_array();
	if (spans == NULL || (names && list == NULL)) {
		json_decref(root);
		json_decref(list);
		free(spans);
		return -1;
	}
	md = json_object_get(root, "__metadata__");
	if (md) {
		if (!json_is_object(md))
			BAD("st.metadata", 8, "__metadata__", "__metadata__ is not an object");
		else
			json_object_foreach(md, key, v)
			{
				if (!json_is_string(v)) {
					BAD("st.metadata", 8, key,
					    "__metadata__ value is not a string");
					break;
				}
			}
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "__metadata__") == 0)
			continue;
		if (check_entry(key, v, &spans[ns], file, r) == 0) {
			ns++;
			if (list && json_array_append_new(list, json_string(key))) {
				bad = -1;
				break;
			}
		} else if (bad == 0) {
			bad = 1;
		}
	}
	if (bad == 0) {
		qsort(spans, ns, sizeof(*spans), cmp_span);
		for (size_t i = 0; i < ns; i++) {
			if (spans[i].begin != pos) {
				BAD("st.invalid_offset", 8, spans[i].name,
				    "tensor data starts at %" PRIu64 ", expected %" PRIu64
				    " (%s): offsets must be one contiguous run from 0",
				    spans[i].begin, pos,
				    spans[i].begin < pos ? "overlap or alias" : "gap");
				break;
			}
			pos = spans[i].end;
		}
	}
	if (bad == 0 && (pos > file_size - 8 - n || 8 + n + pos != file_size))
		BAD("st.file_size", 8 + n + pos, NULL,
		    "file is %" PRIu64 " bytes, header and data account for %" PRIu64 " (%s)",
		    file_size, 8 + n + pos, file_size > 8 + n + pos ? "trailing bytes" : "truncated");
	json_decref(root);
	free(spans);
	if (bad == 0 && names) {
		*names = list;
		list = NULL;
	}
	json_decref(list);
	return bad;
}

int st_check_buffer(const uint8_t *data, size_t len, const char *file, struct scan_report *r)
{
	return st_check(data, len, len, file, r, NULL);
}

static int read_head(const char *path, uint8_t **out, size_t *outlen, uint64_t *fsize,
		     struct scan_report *r)
{
	struct stat st;
	uint8_t lenb[8];
	uint64_t n = 0;
	size_t want, got = 0;
	uint8_t *b;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*out = NULL;
	if (fd < 0 || fstat(fd, &st) != 0) {
		scan_report_add(r, "st.io", SCAN_SEV_ERROR, path, SCAN_OFFSET_NONE, NULL, "open: %s",
				strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*fsize = (uint64_t)st.st_size;
	if (st.st_size >= 8 && pread(fd, lenb, 8, 0) == 8)
		for (int i = 7; i >= 0; i--)
			n = n << 8 | lenb[i];
	want = 8;
	if (n <= ST_MAX_HEADER && n <= *fsize - 8)
		want = 8 + (size_t)n;
	if (*fsize < want)
		want = (size_t)*fsize;
	b = malloc(want ? want : 1);
	if (b == NULL) {
		close(fd);
		return -1;
	}
	while (got < want) {
		ssize_t k = pread(fd, b + got, want - got, (off_t)got);

		if (k <= 0) {
			scan_report_add(r, "st.io", SCAN_SEV_ERROR, path, got, NULL, "read: %s",
					k < 0 ? strerror(errno) : "short file");
			free(b);
			close(fd);
			return -1;
		}
		got += (size_t)k;
	}
	close(fd);
	*out = b;
	*outlen = want;
	return 0;
}

static int check_file_names(const char *path, struct scan_report *r, void **names)
{
	uint8_t *h;
	size_t hl;
	uint64_t fs;
	int rc;

	if (read_head(path, &h, &hl, &fs, r) != 0)
		return -1;
	rc = st_check(h, hl, fs, path, r, names);
	free(h);
	return rc;
}

int st_check_file(const char *path, struct scan_report *r)
{
	return check_file_names(path, r, NULL);
}

static bool plain_name(const char *s)
{
	return s[0] && s[0] != '.' && strchr(s, '/') == NULL && strchr(s, '\\') == NULL;
}

int st_check_index(const char *dir, const char *index_name, struct scan_report *r)
{
	char path[PATH_MAX], err[160];
	const char *file = path;
	char *text = NULL;
	size_t tlen;
	json_t *root, *wm, *v, *names;
	const char *key;
	int bad = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, index_name);
	if (fs_read_file(path, 64u << 20, &text, &tlen) != 0) {
		scan_report_add(r, "st.io", SCAN_SEV_ERROR, path, SCAN_OFFSET_NONE, NULL,
				"cannot read index: %s", strerror(errno));
		return -1;
	}
	root = json_parse_object(text, tlen, 64u << 20, err, sizeof(err));
	free(text);
	if (root == NULL) {
		BAD("st.index_json", SCAN_OFFSET_NONE, NULL, "index is not a JSON object: %s", err);
		return 1;
	}
	wm = json_object_get(root, "weight_map");
	if (!json_is_object(wm) || json_object_size(wm) == 0) {
		BAD("st.index_json", SCAN_OFFSET_NONE, NULL, "index has no weight_map object");
		json_decref(root);
		return 1;
	}
	json_object_foreach(wm, key, v)
	{
		if (!json_is_string(v) || !plain_name(json_string_value(v))) {
			BAD("st.index_shard", SCAN_OFFSET_NONE, key,
			    "weight_map value is not a plain file name in the index's folder");
			continue;
		}
	}
	if (bad) {
		json_decref(root);
		return 1;
	}
	/* each shard once: check it and that it holds the tensors the map assigns it */
	{
		json_t *seen = json_object();

		if (seen == NULL) {
			json_decref(root);
			return -1;
		}
		json_object_foreach(wm, key, v)
		{
			const char *shard = json_string_value(v);
			char sp[PATH_MAX];
			json_t *set;
			size_t i;
			json_t *nm;
			int rc;

			if (json_object_get(seen, shard))
				continue;
			snprintf(sp, sizeof(sp), "%s/%s", dir, shard);
			names = NULL;
			rc = check_file_names(sp, r, (void **)&names);
			set = json_object();
			if (set == NULL) {
				json_decref(names);
				break;
			}
			if (rc == 0 && names)
				json_array_foreach(names, i, nm)
					json_object_set(set, json_string_value(nm), json_true());
			json_decref(names);
			json_object_set_new(seen, shard, set);
			if (rc < 0)
				BAD("st.index_shard", SCAN_OFFSET_NONE, shard,
				    "shard named by the index cannot be read");
			else if (rc > 0)
				bad = 1;
		}
		json_object_foreach(wm, key, v)
		{
			json_t *set = json_object_get(seen, json_string_value(v));

			if (set && json_object_size(set) && !json_object_get(set, key))
				BAD("st.index_tensor", SCAN_OFFSET_NONE, key,
				    "tensor listed in the index is not in shard %s",
				    json_string_value(v));
		}
		json_decref(seen);
	}
	json_decref(root);
	return bad;
}
