/*
 * reg_manifest.c — signed registry manifest (see reg_manifest.h).
 *
 * Owns: key files, canonical signing bytes, verification on every load, atomic replacement.
 * Never: trusts a manifest whose signature fails, or leaves a half-written manifest or key.
 */
#include "registry/reg_manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "json.h"
#include "sha256.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int reg_is_sha256(const char *s)
{
	if (s == NULL || strlen(s) != 64)
		return 0;
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int reg_paths(const char *state_dir, char *regdir, size_t n1, char *manifest, size_t n2)
{
	int a = snprintf(regdir, n1, "%s/registry", state_dir);
	int b = snprintf(manifest, n2, "%s/registry/manifest.json", state_dir);

	return a < 0 || (size_t)a >= n1 || b < 0 || (size_t)b >= n2 ? -1 : 0;
}

static int read_hex_file(const char *path, uint8_t *out, size_t n, char *err, size_t errlen)
{
	char *buf;
	size_t len;

	if (fs_read_file(path, 4096, &buf, &len) != 0)
		return errno == ENOENT ? 1 : fail(err, errlen, "%s: %s", path, strerror(errno));
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len != 2 * n || hex_decode(buf, len, out, n) != 0) {
		sodium_memzero(buf, len);
		free(buf);
		return fail(err, errlen, "%s: not %zu hex-encoded bytes", path, n);
	}
	sodium_memzero(buf, len);
	free(buf);
	return 0;
}

int reg_pub_load_file(const char *path, uint8_t pk[REG_PK_LEN], char *err, size_t errlen)
{
	return read_hex_file(path, pk, REG_PK_LEN, err, errlen);
}

int reg_pub_load(const char *regdir, uint8_t pk[REG_PK_LEN], char *err, size_t errlen)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/registry.pub", regdir);
	return read_hex_file(path, pk, REG_PK_LEN, err, errlen);
}

int reg_key_load_or_create(const char *regdir, uint8_t sk[REG_SK_LEN], uint8_t pk[REG_PK_LEN],
			   char *err, size_t errlen)
{
	char kpath[4200], ppath[4200], hex[2 * REG_SK_LEN + 2];
	int rs, rp;

	if (sodium_init() < 0)
		return fail(err, errlen, "libsodium init failed");
	if (fs_mkdir_p(regdir, 0700) != 0)
		return fail(err, errlen, "%s: %s", regdir, strerror(errno));
	snprintf(kpath, sizeof(kpath), "%s/registry.key", regdir);
	snprintf(ppath, sizeof(ppath), "%s/registry.pub", regdir);
	rs = read_hex_file(kpath, sk, REG_SK_LEN, err, errlen);
	if (rs < 0)
		return -1;
	if (rs == 0) {
		uint8_t derived[REG_PK_LEN];
		crypto_sign_ed25519_sk_to_pk(derived, sk);
		rp = read_hex_file(ppath, pk, REG_PK_LEN, err, errlen);
		if (rp < 0)
			return -1;
		if (rp == 0 && sodium_memcmp(derived, pk, REG_PK_LEN) != 0)
			return fail(err, errlen, "%s does not match %s", ppath, kpath);
		memcpy(pk, derived, REG_PK_LEN);
		if (rp == 1) {
			hex_encode(pk, REG_PK_LEN, hex);
			strcat(hex, "\n");
			if (fs_atomic_write(ppath, hex, strlen(hex), 0644) != 0)
				return fail(err, errlen, "%s: %s", ppath, strerror(errno));
		}
		return 0;
	}
	if (access(ppath, F_OK) == 0)
		return fail(err, errlen, "%s exists without %s: refusing to replace the registry key",
			    ppath, kpath);
	crypto_sign_keypair(pk, sk);
	hex_encode(sk, REG_SK_LEN, hex);
	strcat(hex, "\n");
	if (fs_atomic_write(kpath, hex, strlen(hex), 0600) != 0) {
		sodium_memzero(hex, sizeof(hex));
		return fail(err, errlen, "%s: %s", kpath, strerror(errno));
	}
	sodium_memzero(hex, sizeof(hex));
	hex_encode(pk, REG_PK_LEN, hex);
	strcat(hex, "\n");
	if (fs_atomic_write(ppath, hex, strlen(hex), 0644) != 0)
		return fail(err, errlen, "%s: %s", ppath, strerror(errno));
	return 0;
}

/* Canonical bytes of doc without "signature". */
static int signing_bytes(const json_t *doc, struct buf *out)
{
	json_t *c = json_deep_copy(doc);
	int rc;

	if (c == NULL)
		return -1;
	json_object_del(c, "signature");
	rc = json_canon_append(out, c);
	json_decref(c);
	return rc;
}

int reg_manifest_verify(const json_t *doc, const uint8_t pk[REG_PK_LEN], char *err,
			size_t errlen)
{
	const char *sig64 = json_get_string(doc, "signature"), *kid = json_get_string(doc, "key_id");
	uint8_t sig[crypto_sign_BYTES + 4];
	char want_kid[2 * REG_PK_LEN + 1];
	struct buf b = BUF_INIT;
	long n;
	long long ver;

	if (sodium_init() < 0)
		return fail(err, errlen, "libsodium init failed");
	if (json_get_int(doc, "version", &ver) != 0 || ver != 1)
		return fail(err, errlen, "manifest version is not 1");
	if (!json_is_array(json_object_get(doc, "models")))
		return fail(err, errlen, "manifest has no models array");
	if (sig64 == NULL || kid == NULL)
		return fail(err, errlen, "manifest is not signed");
	hex_encode(pk, REG_PK_LEN, want_kid);
	if (strcmp(kid, want_kid) != 0)
		return fail(err, errlen, "manifest signed by another key (%.16s...)", kid);
	n = b64_decode(sig64, strlen(sig64), sig, sizeof(sig));
	if (n != crypto_sign_BYTES)
		return fail(err, errlen, "manifest signature is not 64 bytes of base64");
	if (signing_bytes(doc, &b) != 0) {
		buf_free(&b);
		return fail(err, errlen, "out of memory");
	}
	if (crypto_sign_verify_detached(sig, (const unsigned char *)b.data, b.len, pk) != 0) {
		buf_free(&b);
		return fail(err, errlen, "manifest signature does not verify");
	}
	buf_free(&b);
	return 0;
}

int reg_manifest_load(const char *manifest_path, const uint8_t pk[REG_PK_LEN], json_t **models,
		      char *err, size_t errlen)
{
	char *buf, jerr[160];
	size_t len;
	json_t *doc;

	*models = NULL;
	if (fs_read_file(manifest_path, REG_MANIFEST_MAX, &buf, &len) != 0) {
		if (errno == ENOENT) {
			*models = json_array();
			return *models ? 1 : fail(err, errlen, "out of memory");
		}
		return fail(err, errlen, "%s: %s", manifest_path, strerror(errno));
	}
	doc = json_parse_object(buf, len, REG_MANIFEST_MAX, jerr, sizeof(jerr));
	free(buf);
	if (doc == NULL)
		return fail(err, errlen, "%s: %s", manifest_path, jerr);
	if (pk == NULL) {
		json_decref(doc);
		return fail(err, errlen, "%s: no registry public key to check it with",
			    manifest_path);
	}
	if (reg_manifest_verify(doc, pk, err, errlen) != 0) {
		json_decref(doc);
		return -1;
	}
	*models = json_incref(json_object_get(doc, "models"));
	json_decref(doc);
	return 0;
}

int reg_manifest_write(const char *manifest_path, const uint8_t sk[REG_SK_LEN],
		       const uint8_t pk[REG_PK_LEN], const json_t *models, char *err,
		       size_t errlen)
{
	uint8_t sig[crypto_sign_BYTES];
	char sig64[100], kid[2 * REG_PK_LEN + 1], ts[32];
	struct buf b = BUF_INIT;
	json_t *doc, *copy;
	char *text;
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	if (sodium_init() < 0)
		return fail(err, errlen, "libsodium init failed");
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	hex_encode(pk, REG_PK_LEN, kid);
	copy = json_deep_copy(models);
	doc = json_pack("{s:i, s:s, s:o, s:s}", "version", 1, "updated", ts, "models", copy,
			"key_id", kid);
	if (doc == NULL)
		return fail(err, errlen, "out of memory");
	if (signing_bytes(doc, &b) != 0) {
		json_decref(doc);
		buf_free(&b);
		return fail(err, errlen, "manifest holds a value that is not canonical JSON");
	}
	crypto_sign_detached(sig, NULL, (const unsigned char *)b.data, b.len, sk);
	buf_free(&b);
	b64_encode(sig, sizeof(sig), sig64);
	json_object_set_new(doc, "signature", json_string(sig64));
	text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(doc);
	if (text == NULL)
		return fail(err, errlen, "out of memory");
	rc = fs_atomic_write(manifest_path, text, strlen(text), 0644);
	free(text);
	if (rc != 0)
		return fail(err, errlen, "%s: %s", manifest_path, strerror(errno));
	return 0;
}

json_t *reg_models_find(const json_t *models, const char *sha256)
{
	size_t i;
	json_t *m;

	json_array_foreach(models, i, m) {
		const char *h = json_get_string(m, "sha256");
		if (h != NULL && strcmp(h, sha256) == 0)
			return m;
	}
	return NULL;
}

int reg_models_remove(json_t *models, const char *sha256)
{
	int removed = 0;

	if (!json_is_array(models))
		return -1;
	for (size_t i = json_array_size(models); i-- > 0;) {
		const char *h = json_get_string(json_array_get(models, i), "sha256");
		if (h != NULL && strcmp(h, sha256) == 0 && json_array_remove(models, i) == 0)
			removed++;
	}
	return removed;
}
