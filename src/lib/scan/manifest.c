/*
 * manifest.c — per-tensor SHA-256 manifest: roots, JSON in and out, comparison.
 *
 * Owns: the leaf and structure encodings of manifest.h, the JSON schema
 * {"format","file_format","tensors":[{"name","type","shape","offset","nbytes","sha256"}],
 *  "merkle_root","structure_sha256"}.
 * Never: accepts a manifest whose recorded roots disagree with its own tensor list, duplicate
 * tensor names, unknown keys, or more than MANIFEST_MAX_TENSORS entries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "json.h"
#include "merkle.h"
#include "scan/manifest.h"
#include "sha256.h"

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int cmp_name_ptr(const void *a, const void *b)
{
	const struct manifest_tensor *x = *(const struct manifest_tensor *const *)a;
	const struct manifest_tensor *y = *(const struct manifest_tensor *const *)b;
	return strcmp(x->name, y->name);
}

static const struct manifest_tensor **sorted(const struct manifest *m)
{
	const struct manifest_tensor **s = malloc((m->n + 1) * sizeof(*s));

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		s[i] = &m->t[i];
	qsort(s, m->n, sizeof(*s), cmp_name_ptr);
	return s;
}

int manifest_compute(struct manifest *m)
{
	merkle_hash *leaves = malloc((m->n + 1) * sizeof(*leaves));
	const struct manifest_tensor **s = sorted(m);
	uint8_t tmp[4 + WSTATS_NAME_MAX + 32];
	struct sha256 h;
	int rc = -1;

	if (leaves == NULL || s == NULL || sha256_init(&h) != 0)
		goto out;
	for (size_t i = 0; i < m->n; i++) {
		size_t nl = strlen(m->t[i].name);
		put32(tmp, (uint32_t)nl);
		memcpy(tmp + 4, m->t[i].name, nl);
		memcpy(tmp + 4 + nl, m->t[i].sha256, 32);
		merkle_leaf_hash(tmp, 4 + nl + 32, leaves[i]);
	}
	merkle_root(leaves, m->n, m->merkle_root);
	for (size_t i = 0; i < m->n; i++) {
		const struct manifest_tensor *t = s[i];
		size_t nl = strlen(t->name), tl = strlen(t->type);
		uint8_t b[8];
		put32(b, (uint32_t)nl);
		sha256_update(&h, b, 4);
		sha256_update(&h, t->name, nl);
		put32(b, (uint32_t)tl);
		sha256_update(&h, b, 4);
		sha256_update(&h, t->type, tl);
		put32(b, t->n_dims);
		sha256_update(&h, b, 4);
		for (uint32_t d = 0; d < t->n_dims && d < WSTATS_MAX_DIMS; d++) {
			for (int k = 0; k < 8; k++)
				b[k] = (uint8_t)(t->ne[d] >> (8 * k));
			sha256_update(&h, b, 8);
		}
	}
	rc = sha256_final(&h, m->structure);
	sha256_free(&h);
out:
	free(leaves);
	free(s);
	return rc;
}

int manifest_from_wstats(const struct wstats *w, struct manifest *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->file_format, sizeof(m->file_format), "%s", w->format);
	m->t = calloc(w->n + 1, sizeof(*m->t));
	if (m->t == NULL)
		return -1;
	for (size_t i = 0; i < w->n; i++) {
		const struct wstats_tensor *s = &w->t[i];
		struct manifest_tensor *t = &m->t[i];
		memcpy(t->name, s->name, sizeof(t->name));
		memcpy(t->type, s->type, sizeof(t->type));
		t->n_dims = s->n_dims;
		memcpy(t->ne, s->ne, sizeof(t->ne));
		t->offset = s->offset;
		t->nbytes = s->nbytes;
		memcpy(t->sha256, s->sha256, 32);
	}
	m->n = w->n;
	if (manifest_compute(m) != 0) {
		manifest_free(m);
		return -1;
	}
	return 0;
}

static json_t *hexj(const uint8_t d[32])
{
	char hx[65];
	hex_encode(d, 32, hx);
	return json_string(hx);
}

int manifest_to_json(const struct manifest *m, const char *label, struct buf *out)
{
	json_t *root = json_object(), *arr = json_array();
	char *s = NULL;
	int rc = -1;

	if (root == NULL || arr == NULL)
		goto out;
	json_object_set_new(root, "format", json_string(MANIFEST_FORMAT));
	json_object_set_new(root, "file", json_string(label ? label : ""));
	json_object_set_new(root, "file_format", json_string(m->file_format));
	json_object_set_new(root, "n_tensors", json_integer((json_int_t)m->n));
	json_object_set_new(root, "merkle_root", hexj(m->merkle_root));
	json_object_set_new(root, "structure_sha256", hexj(m->structure));
	for (size_t i = 0; i < m->n; i++) {
		const struct manifest_tensor *t = &m->t[i];
		json_t *e = json_object(), *shape = json_array();
		if (e == NULL || shape == NULL) {
			json_decref(e);
			json_decref(shape);
			goto out;
		}
		for (uint32_t d = 0; d < t->n_dims && d < WSTATS_MAX_DIMS; d++)
			json_array_append_new(shape, json_integer((json_int_t)t->ne[d]));
		json_object_set_new(e, "name", json_string(t->name));
		json_object_set_new(e, "type", json_string(t->type));
		json_object_set_new(e, "shape", shape);
		json_object_set_new(e, "offset", json_integer((json_int_t)t->offset));
		json_object_set_new(e, "nbytes", json_integer((json_int_t)t->nbytes));
		json_object_set_new(e, "sha256", hexj(t->sha256));
		json_array_append_new(arr, e);
	}
	json_object_set_new(root, "tensors", arr);
	arr = NULL;
	s = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	if (s != NULL && buf_append_str(out, s) == 0 && buf_append_char(out, '\n') == 0)
		rc = 0;
out:
	free(s);
	json_decref(arr);
	json_decref(root);
	return rc;
}

int manifest_write(const struct manifest *m, const char *label, const char *path)
{
	struct buf b = BUF_INIT;
	int rc = -1;

	if (manifest_to_json(m, label, &b) == 0)
		rc = fs_atomic_write(path, b.data, b.len, 0644);
	else
		errno = ENOMEM;
	buf_free(&b);
	return rc;
}

static bool only_keys(const json_t *o, const char *const *keys, size_t n)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)o, k, v) {
		bool ok = false;
		(void)v;
		for (size_t i = 0; i < n && !ok; i++)
			ok = strcmp(k, keys[i]) == 0;
		if (!ok)
			return false;
	}
	return true;
}

static int hex_field(const json_t *o, const char *key, uint8_t out[32])
{
	const char *s = json_get_string(o, key);
	return s != NULL && strlen(s) == 64 ? hex_decode(s, 64, out, 32) : -1;
}

#define MFAIL(...)                                                                                 \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		goto fail;                                                                         \
	} while (0)

int manifest_parse(const char *json, size_t len, struct manifest *m, char *err, size_t errlen)
{
	static const char *const top[] = {"format",	 "file",	     "file_format",
					  "n_tensors",	 "merkle_root",	     "structure_sha256",
					  "tensors"};
	static const char *const tk[] = {"name", "type", "shape", "offset", "nbytes", "sha256"};
	uint8_t root_rec[32], struct_rec[32];
	const struct manifest_tensor **s = NULL;
	json_t *root, *arr;
	const char *fmt;

	memset(m, 0, sizeof(*m));
	root = json_parse_object(json, len, MANIFEST_MAX_BYTES, err, errlen);
	if (root == NULL)
		return -1;
	if (!only_keys(root, top, sizeof(top) / sizeof(top[0])))
		MFAIL("unknown key in manifest");
	fmt = json_get_string(root, "format");
	if (fmt == NULL || strcmp(fmt, MANIFEST_FORMAT) != 0)
		MFAIL("format is not %s", MANIFEST_FORMAT);
	fmt = json_get_string(root, "file_format");
	snprintf(m->file_format, sizeof(m->file_format), "%s", fmt ? fmt : "");
	if (hex_field(root, "merkle_root", root_rec) != 0 ||
	    hex_field(root, "structure_sha256", struct_rec) != 0)
		MFAIL("merkle_root / structure_sha256 missing or not 64 hex");
	arr = json_object_get(root, "tensors");
	if (!json_is_array(arr) || json_array_size(arr) > MANIFEST_MAX_TENSORS)
		MFAIL("tensors is not an array of at most %u", MANIFEST_MAX_TENSORS);
	m->t = calloc(json_array_size(arr) + 1, sizeof(*m->t));
	if (m->t == NULL)
		MFAIL("out of memory");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *e = json_array_get(arr, i), *shape;
		struct manifest_tensor *t = &m->t[i];
		const char *name, *type;
		long long off, nb;
		if (!json_is_object(e) || !only_keys(e, tk, sizeof(tk) / sizeof(tk[0])))
			MFAIL("tensor %zu: not an object of known keys", i);
		name = json_get_string(e, "name");
		type = json_get_string(e, "type");
		shape = json_object_get(e, "shape");
		if (name == NULL || strlen(name) >= sizeof(t->name) || type == NULL ||
		    strlen(type) >= sizeof(t->type) || !json_is_array(shape) ||
		    json_array_size(shape) > WSTATS_MAX_DIMS ||
		    json_get_int(e, "offset", &off) != 0 || off < 0 ||
		    json_get_int(e, "nbytes", &nb) != 0 || nb < 0 ||
		    hex_field(e, "sha256", t->sha256) != 0)
			MFAIL("tensor %zu: bad name, type, shape, offset, nbytes or sha256", i);
		snprintf(t->name, sizeof(t->name), "%s", name);
		snprintf(t->type, sizeof(t->type), "%s", type);
		t->n_dims = (uint32_t)json_array_size(shape);
		for (uint32_t d = 0; d < t->n_dims; d++) {
			const json_t *v = json_array_get(shape, d);
			if (!json_is_integer(v) || json_integer_value(v) < 0)
				MFAIL("tensor %zu: shape entry not a non-negative integer", i);
			t->ne[d] = (uint64_t)json_integer_value(v);
		}
		t->offset = (uint64_t)off;
		t->nbytes = (uint64_t)nb;
		m->n++;
	}
	s = sorted(m);
	if (s == NULL)
		MFAIL("out of memory");
	for (size_t i = 1; i < m->n; i++)
		if (strcmp(s[i - 1]->name, s[i]->name) == 0)
			MFAIL("tensor name listed twice");
	if (manifest_compute(m) != 0)
		MFAIL("out of memory");
	if (memcmp(root_rec, m->merkle_root, 32) != 0 || memcmp(struct_rec, m->structure, 32) != 0)
		MFAIL("recorded roots do not match the manifest's own tensor list");
	free(s);
	json_decref(root);
	return 0;
fail:
	free(s);
	json_decref(root);
	manifest_free(m);
	return -1;
}

int manifest_load(const char *path, struct manifest *m, char *err, size_t errlen)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	memset(m, 0, sizeof(*m));
	if (fs_read_file(path, MANIFEST_MAX_BYTES, &data, &len) != 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	rc = manifest_parse(data, len, m, err, errlen);
	free(data);
	return rc;
}

static bool same_shape(const struct manifest_tensor *a, const struct manifest_tensor *b)
{
	if (strcmp(a->type, b->type) != 0 || a->n_dims != b->n_dims)
		return false;
	for (uint32_t d = 0; d < a->n_dims && d < WSTATS_MAX_DIMS; d++)
		if (a->ne[d] != b->ne[d])
			return false;
	return true;
}

int manifest_verify(const struct manifest *expected, const struct manifest *actual,
		    struct scan_report *r, const char *file)
{
	const struct manifest_tensor **e = sorted(expected), **a = sorted(actual);
	size_t i = 0, j = 0, bad = 0;
	int c;

	if (e == NULL || a == NULL) {
		free(e);
		free(a);
		scan_report_add(r, "manifest.error", SCAN_SEV_ERROR, file, SCAN_OFFSET_NONE, NULL,
				"out of memory");
		return 1;
	}
	while (i < expected->n || j < actual->n) {
		c = i == expected->n ? 1 : j == actual->n ? -1 : strcmp(e[i]->name, a[j]->name);
		if (c < 0) {
			scan_report_add(r, "manifest.tensor_missing", SCAN_SEV_REJECT, file,
					SCAN_OFFSET_NONE, e[i]->name,
					"tensor in the manifest is missing from the model");
			i++;
			bad++;
		} else if (c > 0) {
			scan_report_add(r, "manifest.tensor_added", SCAN_SEV_REJECT, file,
					a[j]->offset, a[j]->name,
					"tensor not in the manifest was added");
			j++;
			bad++;
		} else {
			if (!same_shape(e[i], a[j])) {
				scan_report_add(r, "manifest.tensor_reshaped", SCAN_SEV_REJECT, file,
						a[j]->offset, a[j]->name,
						"type or shape changed (%s -> %s)", e[i]->type,
						a[j]->type);
				bad++;
			} else if (memcmp(e[i]->sha256, a[j]->sha256, 32) != 0) {
				scan_report_add(r, "manifest.tensor_changed", SCAN_SEV_REJECT, file,
						a[j]->offset, a[j]->name,
						"tensor bytes changed (SHA-256 differs)");
				bad++;
			}
			i++;
			j++;
		}
	}
	free(e);
	free(a);
	if (bad == 0 && memcmp(expected->merkle_root, actual->merkle_root, 32) != 0)
		scan_report_add(r, "manifest.reordered", SCAN_SEV_WARN, file, SCAN_OFFSET_NONE, NULL,
				"same tensors and bytes in another order (structure hash equal, "
				"Merkle root differs)");
	if (bad == 0)
		scan_report_add(r, "manifest.verified", SCAN_SEV_INFO, file, SCAN_OFFSET_NONE, NULL,
				"all %zu tensors match the manifest", actual->n);
	else
		scan_report_add(r, "manifest.mismatch", SCAN_SEV_REJECT, file, SCAN_OFFSET_NONE,
				NULL, "%zu tensor%s differ from the manifest", bad,
				bad == 1 ? "" : "s");
	return bad ? 1 : 0;
}

void manifest_free(struct manifest *m)
{
	free(m->t);
	m->t = NULL;
	m->n = 0;
}
