/*
 * sig_modelsign.c — OpenSSF model signing (sigstore/model-transparency `model_signing` v1.x,
 * key method): the DSSE signature over the in-toto statement, the statement's checks, and the
 * model folder re-hashed and compared file by file.
 *
 * Owns: the in-toto Statement v1 / predicate "https://model_signing/signature/v1.0" reader, the
 * model folder walk (lstat only, symlinks and special files refused, ignore paths honoured,
 * the signature file and .git* excluded), two-thread file hashing, the extra/missing/changed
 * comparison.
 * Never: follows a symlink or opens a file by a name taken from the statement (only files the
 * walk found are opened, O_NOFOLLOW), trusts the statement's root digest without recomputing it,
 * supports the "shards" method, blake2/blake3 digests or the legacy Digests/v0.1 predicate
 * (refused as "sig.unsupported"), or verifies Fulcio/Rekor material.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/objects.h>

#include "fsutil.h"
#include "json.h"
#include "scan/sig.h"
#include "sha256.h"

#define WALK_MAX_DEPTH 64

static const char *const default_ignores[] = {"model.sig", ".git", ".gitattributes", ".github",
					      ".gitignore"};

#define SFAIL(id, ...)                                                                             \
	do {                                                                                       \
		snprintf(reason, SCAN_REASON_MAX, "%s", id);                                       \
		snprintf(why, whylen, __VA_ARGS__);                                                \
		goto fail;                                                                         \
	} while (0)

static int hex32(const char *s, uint8_t out[32])
{
	return s != NULL && strlen(s) == 64 ? hex_decode(s, 64, out, 32) : -1;
}

static int cmp_res(const void *a, const void *b)
{
	return strcmp(((const struct sig_resource *)a)->name, ((const struct sig_resource *)b)->name);
}

int sig_statement_parse(const uint8_t *payload, size_t len, struct sig_statement *st,
			char reason[SCAN_REASON_MAX], char *why, size_t whylen)
{
	json_t *root, *subj, *s0, *pred, *res, *ser, *ign, *v;
	const char *t, *name;
	struct sig_resource *sorted = NULL;
	struct sha256 h = {0};
	uint8_t d[SHA256_LEN];
	char err[160];
	size_t i;

	memset(st, 0, sizeof(*st));
	root = json_parse_object((const char *)payload, len, SIG_MAX_BUNDLE, err, sizeof(err));
	if (root == NULL) {
		snprintf(reason, SCAN_REASON_MAX, "sig.statement_invalid");
		snprintf(why, whylen, "payload is not a JSON object: %s", err);
		return -1;
	}
	t = json_get_string(root, "_type");
	if (t == NULL || strcmp(t, SIG_INTOTO_STATEMENT_V1) != 0)
		SFAIL("sig.statement_invalid", "_type is not %s", SIG_INTOTO_STATEMENT_V1);
	t = json_get_string(root, "predicateType");
	if (t != NULL && strcmp(t, "https://model_signing/Digests/v0.1") == 0)
		SFAIL("sig.unsupported", "legacy predicate Digests/v0.1 is not supported");
	if (t == NULL || strcmp(t, SIG_MODEL_PREDICATE_V1) != 0)
		SFAIL("sig.statement_invalid", "predicateType is not %s", SIG_MODEL_PREDICATE_V1);
	subj = json_object_get(root, "subject");
	if (!json_is_array(subj) || json_array_size(subj) != 1)
		SFAIL("sig.statement_invalid", "statement must have exactly one subject");
	s0 = json_array_get(subj, 0);
	name = json_is_object(s0) ? json_get_string(s0, "name") : NULL;
	v = json_is_object(s0) ? json_object_get(s0, "digest") : NULL;
	if (name == NULL || !json_is_object(v) ||
	    hex32(json_get_string(v, "sha256"), st->subject_digest) != 0)
		SFAIL("sig.statement_invalid", "subject needs a name and a hex sha256 digest");
	snprintf(st->subject_name, sizeof(st->subject_name), "%s", name);
	pred = json_object_get(root, "predicate");
	if (!json_is_object(pred))
		SFAIL("sig.statement_invalid", "no predicate object");
	ser = json_object_get(pred, "serialization");
	if (!json_is_object(ser))
		SFAIL("sig.statement_invalid", "no predicate.serialization object");
	t = json_get_string(ser, "method");
	if (t == NULL || strcmp(t, "files") != 0)
		SFAIL("sig.unsupported", "serialization method %.32s not supported (only \"files\")",
		      t ? t : "(none)");
	t = json_get_string(ser, "hash_type");
	if (t == NULL || strcmp(t, "sha256") != 0)
		SFAIL("sig.unsupported", "hash_type %.32s not supported (only sha256)",
		      t ? t : "(none)");
	v = json_object_get(ser, "allow_symlinks");
	if (v != NULL && !json_is_boolean(v))
		SFAIL("sig.statement_invalid", "allow_symlinks is not a boolean");
	st->allow_symlinks = v != NULL && json_is_true(v);
	ign = json_object_get(ser, "ignore_paths");
	if (ign != NULL) {
		if (!json_is_array(ign) || json_array_size(ign) > 4096)
			SFAIL("sig.statement_invalid", "ignore_paths is not an array of <= 4096");
		st->ignore_paths = calloc(json_array_size(ign) + 1, sizeof(char *));
		if (st->ignore_paths == NULL)
			SFAIL("sig.statement_invalid", "out of memory");
		for (i = 0; i < json_array_size(ign); i++) {
			v = json_array_get(ign, i);
			if (!json_is_string(v))
				SFAIL("sig.statement_invalid", "ignore_paths entry not a string");
			st->ignore_paths[i] = strdup(json_string_value(v));
			if (st->ignore_paths[i] == NULL)
				SFAIL("sig.statement_invalid", "out of memory");
			st->n_ignore++;
		}
	}
	res = json_object_get(pred, "resources");
	if (!json_is_array(res) || json_array_size(res) > SIG_MAX_RESOURCES)
		SFAIL("sig.statement_invalid", "predicate.resources is not an array (<= %u)",
		      SIG_MAX_RESOURCES);
	st->res = calloc(json_array_size(res) + 1, sizeof(*st->res));
	if (st->res == NULL)
		SFAIL("sig.statement_invalid", "out of memory");
	if (sha256_init(&h) != 0)
		SFAIL("sig.statement_invalid", "out of memory");
	for (i = 0; i < json_array_size(res); i++) {
		const json_t *e = json_array_get(res, i);
		const char *alg = json_is_object(e) ? json_get_string(e, "algorithm") : NULL;
		name = json_is_object(e) ? json_get_string(e, "name") : NULL;
		if (name == NULL || name[0] == '\0')
			SFAIL("sig.statement_invalid", "resource %zu has no name", i);
		if (alg == NULL || strcmp(alg, "sha256") != 0)
			SFAIL("sig.unsupported", "resource %zu: algorithm %.32s not supported", i,
			      alg ? alg : "(none)");
		if (hex32(json_get_string(e, "digest"), st->res[i].digest) != 0)
			SFAIL("sig.statement_invalid", "resource %zu: digest is not 64 hex", i);
		st->res[i].name = strdup(name);
		if (st->res[i].name == NULL)
			SFAIL("sig.statement_invalid", "out of memory");
		st->n_res++;
		sha256_update(&h, st->res[i].digest, SHA256_LEN);
	}
	if (sha256_final(&h, d) != 0)
		SFAIL("sig.statement_invalid", "out of memory");
	if (memcmp(d, st->subject_digest, SHA256_LEN) != 0)
		SFAIL("sig.manifest_inconsistent",
		      "subject digest is not the SHA-256 of the resource digests");
	sorted = malloc((st->n_res + 1) * sizeof(*sorted));
	if (sorted == NULL)
		SFAIL("sig.statement_invalid", "out of memory");
	memcpy(sorted, st->res, st->n_res * sizeof(*sorted));
	qsort(sorted, st->n_res, sizeof(*sorted), cmp_res);
	for (i = 1; i < st->n_res; i++)
		if (strcmp(sorted[i - 1].name, sorted[i].name) == 0)
			SFAIL("sig.statement_invalid", "resource listed twice");
	free(sorted);
	sha256_free(&h);
	json_decref(root);
	return 0;
fail:
	free(sorted);
	sha256_free(&h);
	json_decref(root);
	sig_statement_free(st);
	return -1;
}

void sig_statement_free(struct sig_statement *st)
{
	for (size_t i = 0; i < st->n_res; i++)
		free(st->res[i].name);
	free(st->res);
	for (size_t i = 0; i < st->n_ignore; i++)
		free(st->ignore_paths[i]);
	free(st->ignore_paths);
	memset(st, 0, sizeof(*st));
}

/* ---- the model on disk ------------------------------------------------------------------- */

struct disk_file {
	char *rel;  /* as in the statement ("." for a single-file model) */
	char *path; /* to open */
	uint8_t digest[SHA256_LEN];
	int err;    /* errno when hashing failed */
};

struct walk {
	struct disk_file *f;
	size_t n, cap;
	char **ign;
	size_t n_ign;
	struct scan_report *r;
	const char *model;
	int status; /* SIG_VERIFIED, or the worst seen */
};

static bool ignored(const struct walk *w, const char *rel)
{
	for (size_t i = 0; i < w->n_ign; i++) {
		size_t l = strlen(w->ign[i]);
		if (l == 0)
			continue;
		if (strncmp(rel, w->ign[i], l) == 0 && (rel[l] == '\0' || rel[l] == '/'))
			return true;
	}
	return false;
}

static int add_ignore(struct walk *w, const char *p)
{
	char *c, **n;
	size_t l;

	while (p[0] == '.' && p[1] == '/')
		p += 2;
	c = strdup(p);
	if (c == NULL)
		return -1;
	l = strlen(c);
	while (l > 1 && c[l - 1] == '/')
		c[--l] = '\0';
	n = realloc(w->ign, (w->n_ign + 1) * sizeof(*n));
	if (n == NULL) {
		free(c);
		return -1;
	}
	w->ign = n;
	w->ign[w->n_ign++] = c;
	return 0;
}

static int add_file(struct walk *w, const char *rel, const char *path)
{
	if (w->n == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 64;
		struct disk_file *nf;
		if (w->n >= SIG_MAX_RESOURCES)
			return -1;
		nf = realloc(w->f, nc * sizeof(*nf));
		if (nf == NULL)
			return -1;
		w->f = nf;
		w->cap = nc;
	}
	memset(&w->f[w->n], 0, sizeof(w->f[w->n]));
	w->f[w->n].rel = strdup(rel);
	w->f[w->n].path = strdup(path);
	if (w->f[w->n].rel == NULL || w->f[w->n].path == NULL) {
		free(w->f[w->n].rel);
		free(w->f[w->n].path);
		return -1;
	}
	w->n++;
	return 0;
}

static void worse(struct walk *w, int st)
{
	if (st == SIG_ERROR || (st == SIG_NOT_VERIFIED && w->status != SIG_ERROR))
		w->status = st;
}

static void walk_dir(struct walk *w, const char *dir, const char *prefix, int depth)
{
	char path[PATH_MAX], rel[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if (depth > WALK_MAX_DEPTH) {
		scan_report_add(w->r, "sig.walk_too_deep", SCAN_SEV_REJECT, dir, SCAN_OFFSET_NONE,
				NULL, "model folder nested deeper than %d", WALK_MAX_DEPTH);
		worse(w, SIG_NOT_VERIFIED);
		return;
	}
	d = opendir(dir);
	if (d == NULL) {
		scan_report_add(w->r, "sig.io", SCAN_SEV_ERROR, dir, SCAN_OFFSET_NONE, NULL,
				"cannot open folder: %s", strerror(errno));
		worse(w, SIG_ERROR);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
			sizeof(path) ||
		    (size_t)snprintf(rel, sizeof(rel), "%s%s%s", prefix, prefix[0] ? "/" : "",
				     de->d_name) >= sizeof(rel)) {
			scan_report_add(w->r, "sig.io", SCAN_SEV_ERROR, dir, SCAN_OFFSET_NONE,
					NULL, "path too long under this folder");
			worse(w, SIG_ERROR);
			continue;
		}
		if (ignored(w, rel))
			continue;
		if (lstat(path, &sb) != 0) {
			scan_report_add(w->r, "sig.io", SCAN_SEV_ERROR, path, SCAN_OFFSET_NONE,
					NULL, "lstat: %s", strerror(errno));
			worse(w, SIG_ERROR);
		} else if (S_ISLNK(sb.st_mode)) {
			scan_report_add(w->r, "sig.symlink", SCAN_SEV_REJECT, w->model,
					SCAN_OFFSET_NONE, rel,
					"symbolic link in the signed model refused: %s", rel);
			worse(w, SIG_NOT_VERIFIED);
		} else if (S_ISDIR(sb.st_mode)) {
			walk_dir(w, path, rel, depth + 1);
		} else if (S_ISREG(sb.st_mode)) {
			if (add_file(w, rel, path) != 0) {
				scan_report_add(w->r, "sig.io", SCAN_SEV_ERROR, w->model,
						SCAN_OFFSET_NONE, NULL,
						"out of memory or more than %u files",
						SIG_MAX_RESOURCES);
				worse(w, SIG_ERROR);
				break;
			}
		} else {
			scan_report_add(w->r, "sig.special_file", SCAN_SEV_REJECT, w->model,
					SCAN_OFFSET_NONE, rel,
					"special file (fifo, socket, device) in the model: %s", rel);
			worse(w, SIG_NOT_VERIFIED);
		}
	}
	closedir(d);
}

struct hash_job {
	struct disk_file *f;
	size_t n;
	atomic_size_t next;
};

static void hash_one(struct disk_file *f)
{
	struct sha256 h;
	uint8_t *buf;
	struct stat sb;
	ssize_t n;
	int fd;

	f->err = 0;
	fd = open(f->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		f->err = errno;
		return;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		f->err = errno ? errno : EINVAL;
		close(fd);
		return;
	}
	buf = malloc(1 << 20);
	if (buf == NULL || sha256_init(&h) != 0) {
		free(buf);
		f->err = ENOMEM;
		close(fd);
		return;
	}
	for (;;) {
		n = read(fd, buf, 1 << 20);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			f->err = errno;
			break;
		}
		if (n == 0)
			break;
		sha256_update(&h, buf, (size_t)n);
	}
	if (f->err == 0 && sha256_final(&h, f->digest) != 0)
		f->err = EIO;
	sha256_free(&h);
	free(buf);
	close(fd);
}

static void *hash_thread(void *arg)
{
	struct hash_job *j = arg;
	size_t i;

	while ((i = atomic_fetch_add(&j->next, 1)) < j->n)
		hash_one(&j->f[i]);
	sha256_thread_cleanup();
	return NULL;
}

static void hash_all(struct disk_file *f, size_t n, int threads)
{
	pthread_t t[8];
	struct hash_job j = {.f = f, .n = n};
	int started = 0;

	atomic_init(&j.next, 0);
	if (threads < 1)
		threads = 2;
	if (threads > 8)
		threads = 8;
	for (int i = 1; i < threads && (size_t)i < n; i++)
		if (pthread_create(&t[started], NULL, hash_thread, &j) == 0)
			started++;
	hash_thread(&j);
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
}

static int cmp_disk(const void *a, const void *b)
{
	return strcmp(((const struct disk_file *)a)->rel, ((const struct disk_file *)b)->rel);
}

/* Adds ignore path p (relative to the model, or absolute inside it). */
static int add_user_ignore(struct walk *w, const char *model_real, const char *p)
{
	char real[PATH_MAX];
	size_t l = strlen(model_real);

	if (p[0] != '/')
		return add_ignore(w, p);
	if (realpath(p, real) == NULL)
		return add_ignore(w, p); /* absent: cannot match anything inside */
	if (strncmp(real, model_real, l) == 0 && real[l] == '/')
		return add_ignore(w, real + l + 1);
	return 0;
}

static void free_walk(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->f[i].rel);
		free(w->f[i].path);
	}
	free(w->f);
	for (size_t i = 0; i < w->n_ign; i++)
		free(w->ign[i]);
	free(w->ign);
}

/* Compares the statement's resources with the files found; returns SIG_VERIFIED when equal. */
static int compare(struct walk *w, struct sig_statement *st)
{
	struct sig_resource *res = malloc((st->n_res + 1) * sizeof(*res));
	size_t i = 0, j = 0, bad = 0;
	int c;

	if (res == NULL) {
		scan_report_add(w->r, "sig.io", SCAN_SEV_ERROR, w->model, SCAN_OFFSET_NONE, NULL,
				"out of memory");
		return SIG_ERROR;
	}
	memcpy(res, st->res, st->n_res * sizeof(*res));
	qsort(res, st->n_res, sizeof(*res), cmp_res);
	qsort(w->f, w->n, sizeof(*w->f), cmp_disk);
	while (i < st->n_res || j < w->n) {
		c = i == st->n_res ? 1 : j == w->n ? -1 : strcmp(res[i].name, w->f[j].rel);
		if (c < 0) {
			scan_report_add(w->r, "sig.file_missing", SCAN_SEV_REJECT, w->model,
					SCAN_OFFSET_NONE, res[i].name,
					"signed file missing from the model: %s", res[i].name);
			i++;
			bad++;
		} else if (c > 0) {
			scan_report_add(w->r, "sig.file_extra", SCAN_SEV_REJECT, w->model,
					SCAN_OFFSET_NONE, w->f[j].rel,
					"file not covered by the signature: %s", w->f[j].rel);
			j++;
			bad++;
		} else {
			if (w->f[j].err != 0) {
				scan_report_add(w->r, "sig.io", SCAN_SEV_ERROR, w->f[j].path,
						SCAN_OFFSET_NONE, w->f[j].rel, "cannot hash: %s",
						strerror(w->f[j].err));
				worse(w, SIG_ERROR);
			} else if (memcmp(res[i].digest, w->f[j].digest, SHA256_LEN) != 0) {
				scan_report_add(w->r, "sig.file_changed", SCAN_SEV_REJECT, w->model,
						SCAN_OFFSET_NONE, w->f[j].rel,
						"hash mismatch for %s", w->f[j].rel);
				bad++;
			}
			i++;
			j++;
		}
	}
	free(res);
	if (bad > 0)
		worse(w, SIG_NOT_VERIFIED);
	return w->status;
}

static enum sig_status verify_envelope(const struct sig_key *k, const struct sig_bundle *b,
				       struct scan_report *r, const char *file)
{
	struct buf pae = BUF_INIT;
	const EVP_MD *md = EVP_get_digestbynid(sig_key_dsse_md(k));
	uint8_t d[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int dl = 0;
	size_t derlen = 0;
	bool high_s = false;
	char why[160];
	int v;

	if (strcmp(b->payload_type, SIG_INTOTO_PAYLOAD_TYPE) != 0) {
		scan_report_add(r, "sig.dsse_payload_type", SCAN_SEV_REJECT, file,
				SCAN_OFFSET_NONE, NULL, "DSSE payloadType is not %s",
				SIG_INTOTO_PAYLOAD_TYPE);
		return SIG_NOT_VERIFIED;
	}
	if (sig_decode_signature_raw(b->dsse_sig, b->dsse_sig_len, k, &der, &derlen, &high_s, why,
				     sizeof(why)) != 0) {
		scan_report_add(r, "sig.signature_malformed", SCAN_SEV_REJECT, file,
				SCAN_OFFSET_NONE, NULL, "DSSE signature: %s", why);
		return SIG_NOT_VERIFIED;
	}
	if (sig_dsse_pae(b->payload_type, b->payload, b->payload_len, &pae) != 0 || md == NULL ||
	    EVP_Digest(pae.data, pae.len, d, &dl, md, NULL) != 1) {
		buf_free(&pae);
		free(der);
		scan_report_add(r, "sig.io", SCAN_SEV_ERROR, file, SCAN_OFFSET_NONE, NULL,
				"out of memory");
		return SIG_ERROR;
	}
	buf_free(&pae);
	v = sig_verify_digest(k, sig_key_dsse_md(k), d, dl, der, derlen);
	free(der);
	if (v < 0) {
		scan_report_add(r, "sig.io", SCAN_SEV_ERROR, file, SCAN_OFFSET_NONE, NULL,
				"OpenSSL could not run the verification");
		return SIG_ERROR;
	}
	if (v == 0) {
		scan_report_add(r, "sig.signature_invalid", SCAN_SEV_REJECT, file,
				SCAN_OFFSET_NONE, NULL,
				"DSSE signature over the statement does not verify with the given "
				"%s key (wrong key, or the statement was changed)",
				sig_key_curve(k));
		return SIG_NOT_VERIFIED;
	}
	return SIG_VERIFIED;
}

enum sig_status sig_verify_model(const struct sig_model_opts *o, struct scan_report *r)
{
	struct walk w = {.r = r, .model = o->model_path, .status = SIG_VERIFIED};
	struct sig_statement st = {0};
	struct sig_bundle b = {0};
	struct sig_key *k = NULL;
	char sigdef[PATH_MAX], model_real[PATH_MAX], sig_real[PATH_MAX];
	char reason[SCAN_REASON_MAX], why[192], *bundle = NULL;
	const char *sig_path = o->sig_path;
	size_t blen = 0, l;
	struct stat sb;
	enum sig_status s;

	if (lstat(o->model_path, &sb) != 0) {
		scan_report_add(r, "sig.io", SCAN_SEV_ERROR, o->model_path, SCAN_OFFSET_NONE, NULL,
				"cannot stat the model: %s", strerror(errno));
		return SIG_ERROR;
	}
	if (S_ISLNK(sb.st_mode)) {
		scan_report_add(r, "sig.symlink", SCAN_SEV_REJECT, o->model_path, SCAN_OFFSET_NONE,
				NULL, "the model path is a symbolic link: refused");
		return SIG_NOT_VERIFIED;
	}
	if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode)) {
		scan_report_add(r, "sig.special_file", SCAN_SEV_REJECT, o->model_path,
				SCAN_OFFSET_NONE, NULL, "the model is neither a folder nor a file");
		return SIG_NOT_VERIFIED;
	}
	if (sig_path == NULL) {
		if (!S_ISDIR(sb.st_mode)) {
			scan_report_add(r, "sig.io", SCAN_SEV_ERROR, o->model_path,
					SCAN_OFFSET_NONE, NULL,
					"a single-file model needs --signature");
			return SIG_ERROR;
		}
		snprintf(sigdef, sizeof(sigdef), "%s/model.sig", o->model_path);
		sig_path = sigdef;
	}
	s = sig_key_load_file(o->key_path, &k, r);
	if (s != SIG_VERIFIED)
		return s;
	if (fs_read_file(sig_path, SIG_MAX_BUNDLE, &bundle, &blen) != 0) {
		bool big = errno == EFBIG;
		scan_report_add(r, big ? "sig.bundle_malformed" : "sig.io",
				big ? SCAN_SEV_REJECT : SCAN_SEV_ERROR, sig_path, SCAN_OFFSET_NONE,
				NULL, "cannot read signature: %s", big ? "too large" : strerror(errno));
		s = big ? SIG_NOT_VERIFIED : SIG_ERROR;
		goto out;
	}
	if (sig_bundle_parse(bundle, blen, &b, why, sizeof(why)) != 0) {
		scan_report_add(r, "sig.bundle_malformed", SCAN_SEV_REJECT, sig_path,
				SCAN_OFFSET_NONE, NULL, "signature bundle: %s", why);
		s = SIG_NOT_VERIFIED;
		goto out;
	}
	if (!b.has_dsse) {
		scan_report_add(r, "sig.bundle_unsupported", SCAN_SEV_REJECT, sig_path,
				SCAN_OFFSET_NONE, NULL,
				"bundle holds no DSSE envelope: not a model signature");
		s = SIG_NOT_VERIFIED;
		goto out;
	}
	s = sig_bundle_check_key(k, &b, r, sig_path);
	if (s != SIG_VERIFIED)
		goto out;
	s = verify_envelope(k, &b, r, sig_path);
	if (s != SIG_VERIFIED)
		goto out;
	if (sig_statement_parse(b.payload, b.payload_len, &st, reason, why, sizeof(why)) != 0) {
		scan_report_add(r, reason, SCAN_SEV_REJECT, sig_path, SCAN_OFFSET_NONE, NULL,
				"statement: %s", why);
		s = SIG_NOT_VERIFIED;
		goto out;
	}
	if (S_ISREG(sb.st_mode)) {
		if (add_file(&w, ".", o->model_path) != 0)
			goto nomem;
	} else {
		if (realpath(o->model_path, model_real) == NULL)
			snprintf(model_real, sizeof(model_real), "%s", o->model_path);
		for (size_t i = 0; i < sizeof(default_ignores) / sizeof(default_ignores[0]); i++)
			if (add_ignore(&w, default_ignores[i]) != 0)
				goto nomem;
		for (size_t i = 0; i < st.n_ignore; i++)
			if (add_ignore(&w, st.ignore_paths[i]) != 0)
				goto nomem;
		for (size_t i = 0; i < o->n_ignore; i++)
			if (add_user_ignore(&w, model_real, o->ignore[i]) != 0)
				goto nomem;
		l = strlen(model_real);
		if (realpath(sig_path, sig_real) != NULL && strncmp(sig_real, model_real, l) == 0 &&
		    sig_real[l] == '/' && add_ignore(&w, sig_real + l + 1) != 0)
			goto nomem;
		walk_dir(&w, o->model_path, "", 0);
	}
	hash_all(w.f, w.n, o->threads);
	s = compare(&w, &st);
	if (s == SIG_VERIFIED)
		scan_report_add(r, "sig.verified", SCAN_SEV_INFO, o->model_path, SCAN_OFFSET_NONE,
				NULL,
				"model signature verified: %zu file%s match the signed statement "
				"(ECDSA %s; offline: no transparency log checked)",
				st.n_res, st.n_res == 1 ? "" : "s", sig_key_curve(k));
	goto out;
nomem:
	scan_report_add(r, "sig.io", SCAN_SEV_ERROR, o->model_path, SCAN_OFFSET_NONE, NULL,
			"out of memory");
	s = SIG_ERROR;
out:
	free_walk(&w);
	sig_statement_free(&st);
	sig_bundle_free(&b);
	free(bundle);
	sig_key_free(k);
	return s;
}
