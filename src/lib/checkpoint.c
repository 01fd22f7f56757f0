/*
 * checkpoint.c — signed-note checkpoints (C2SP) with Ed25519 from libsodium; PEM via OpenSSL.
 *
 * Owns: the note text format and key files. Never: logs or prints a secret key; keeps a seed in
 * memory after ckpt_key_wipe().
 */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

static const char em_dash_sp[] = "\xe2\x80\x94 "; /* U+2014 + space */

int ckpt_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > CKPT_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (name[i] <= 0x20 || name[i] >= 0x7f || name[i] == '+')
			return 0;
	return 1;
}

static int key_finish(const char *name, struct ckpt_key *key)
{
	uint8_t buf[CKPT_NAME_MAX + 2 + 32], h[32];
	size_t n = strlen(name);

	if (!ckpt_name_ok(name))
		return -1;
	memcpy(key->name, name, n + 1);
	memcpy(buf, name, n);
	buf[n] = 0x0A;
	buf[n + 1] = 0x01;
	memcpy(buf + n + 2, key->pk, 32);
	if (sha256_digest(buf, n + 2 + 32, h) != 0)
		return -1;
	memcpy(key->keyid, h, 4);
	return 0;
}

int ckpt_key_generate(const char *name, struct ckpt_key *key)
{
	if (sodium_init() < 0)
		return -1;
	crypto_sign_keypair(key->pk, key->sk);
	key->has_secret = 1;
	return key_finish(name, key);
}

int ckpt_key_load_or_create(const char *seed_path, const char *name, struct ckpt_key *key)
{
	uint8_t seed[32];
	ssize_t n;
	int fd;

	if (sodium_init() < 0)
		return -1;
	fd = open(seed_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		n = read(fd, seed, sizeof(seed));
		close(fd);
		if (n != (ssize_t)sizeof(seed)) {
			errno = EINVAL;
			return -1;
		}
	} else if (errno == ENOENT) {
		randombytes_buf(seed, sizeof(seed));
		if (fs_atomic_write(seed_path, seed, sizeof(seed), 0600) != 0)
			return -1;
	} else {
		return -1;
	}
	crypto_sign_seed_keypair(key->pk, key->sk, seed);
	sodium_memzero(seed, sizeof(seed));
	key->has_secret = 1;
	return key_finish(name, key);
}

int ckpt_key_load_public(const char *pem_path, const char *name, struct ckpt_key *key)
{
	FILE *f = fopen(pem_path, "re");
	EVP_PKEY *pk;
	size_t len = 32;
	int rc = -1;

	if (f == NULL)
		return -1;
	pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (pk == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (EVP_PKEY_get_id(pk) == EVP_PKEY_ED25519 &&
	    EVP_PKEY_get_raw_public_key(pk, key->pk, &len) == 1 && len == 32) {
		key->has_secret = 0;
		memset(key->sk, 0, sizeof(key->sk));
		rc = key_finish(name, key);
	} else {
		errno = EINVAL;
	}
	EVP_PKEY_free(pk);
	return rc;
}

int ckpt_key_pem(const struct ckpt_key *key, struct buf *out)
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key->pk, 32);
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int rc = -1;

	if (pk != NULL && bio != NULL && PEM_write_bio_PUBKEY(bio, pk) == 1) {
		n = BIO_get_mem_data(bio, &p);
		if (n > 0)
			rc = buf_append(out, p, (size_t)n);
	}
	BIO_free(bio);
	EVP_PKEY_free(pk);
	return rc;
}

void ckpt_key_verifier(const struct ckpt_key *key, char *out, size_t outlen)
{
	uint8_t raw[33];
	char b64[64], hex[9];

	raw[0] = 0x01;
	memcpy(raw + 1, key->pk, 32);
	b64_encode(raw, sizeof(raw), b64);
	hex_encode(key->keyid, 4, hex);
	snprintf(out, outlen, "%s+%s+%s", key->name, hex, b64);
}

void ckpt_key_wipe(struct ckpt_key *key) { sodium_memzero(key, sizeof(*key)); }

int ckpt_sign(const struct ckpt_key *key, uint64_t size, const merkle_hash root, struct buf *note)
{
	struct buf body = BUF_INIT;
	uint8_t sig[4 + 64];
	char rootb64[64], sigb64[128];
	int rc = -1;

	if (!key->has_secret)
		return -1;
	b64_encode(root, SHA256_LEN, rootb64);
	if (buf_printf(&body, "%s\n%llu\n%s\n", key->name, (unsigned long long)size, rootb64) != 0)
		goto done;
	memcpy(sig, key->keyid, 4);
	if (crypto_sign_detached(sig + 4, NULL, (const uint8_t *)body.data, body.len, key->sk) != 0)
		goto done;
	b64_encode(sig, sizeof(sig), sigb64);
	if (buf_append(note, body.data, body.len) || buf_append_char(note, '\n') ||
	    buf_printf(note, "%s%s %s\n", em_dash_sp, key->name, sigb64))
		goto done;
	rc = 0;
done:
	buf_free(&body);
	return rc;
}

static void errf(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

/* Splits note into body (through the newline before the blank line) and the signature block. */
static int split_note(const char *note, size_t len, size_t *body_len, char *err, size_t errlen)
{
	const char *blank;

	if (len == 0 || len > CKPT_NOTE_MAX || note[len - 1] != '\n') {
		errf(err, errlen, "note is empty, too long, or does not end with a newline");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)note[i];
		if ((c < 0x20 && c != '\n') || c == 0x7f) {
			errf(err, errlen, "note holds a control character");
			return -1;
		}
	}
	blank = memmem(note, len, "\n\n", 2);
	if (blank == NULL) {
		errf(err, errlen, "note has no blank line before its signatures");
		return -1;
	}
	*body_len = (size_t)(blank - note) + 1;
	return 0;
}

int ckpt_parse_body(const char *note, size_t len, struct ckpt *out, char *err, size_t errlen)
{
	size_t body_len, l1, l2, l3;
	const char *p, *nl1, *nl2, *nl3;
	uint8_t root[48];
	char digits[24];

	if (split_note(note, len, &body_len, err, errlen) != 0)
		return -1;
	p = note;
	nl1 = memchr(p, '\n', body_len);
	nl2 = nl1 ? memchr(nl1 + 1, '\n', body_len - (size_t)(nl1 + 1 - p)) : NULL;
	nl3 = nl2 ? memchr(nl2 + 1, '\n', body_len - (size_t)(nl2 + 1 - p)) : NULL;
	if (nl3 == NULL) {
		errf(err, errlen, "checkpoint body needs origin, size and root lines");
		return -1;
	}
	l1 = (size_t)(nl1 - p);
	l2 = (size_t)(nl2 - nl1 - 1);
	l3 = (size_t)(nl3 - nl2 - 1);
	if (l1 == 0 || l1 > CKPT_NAME_MAX) {
		errf(err, errlen, "checkpoint origin line is empty or too long");
		return -1;
	}
	memcpy(out->origin, p, l1);
	out->origin[l1] = '\0';
	if (l2 == 0 || l2 > 20 || (l2 > 1 && nl1[1] == '0')) {
		errf(err, errlen, "checkpoint size is not a decimal without leading zeros");
		return -1;
	}
	memcpy(digits, nl1 + 1, l2);
	digits[l2] = '\0';
	out->size = 0;
	for (size_t i = 0; i < l2; i++) {
		if (digits[i] < '0' || digits[i] > '9' ||
		    out->size > (UINT64_MAX - (uint64_t)(digits[i] - '0')) / 10) {
			errf(err, errlen, "checkpoint size is not a decimal number");
			return -1;
		}
		out->size = out->size * 10 + (uint64_t)(digits[i] - '0');
	}
	if (b64_decode(nl2 + 1, l3, root, sizeof(root)) != SHA256_LEN) {
		errf(err, errlen, "checkpoint root is not base64 of 32 bytes");
		return -1;
	}
	memcpy(out->root, root, SHA256_LEN);
	return 0;
}

int ckpt_verify(const char *note, size_t len, const struct ckpt_key *key, struct ckpt *out,
		char *err, size_t errlen)
{
	size_t body_len, namelen = strlen(key->name), dl = strlen(em_dash_sp);
	const char *p, *end = note + len;
	int verified = 0, known_bad = 0, nsigs = 0;

	if (ckpt_parse_body(note, len, out, err, errlen) != 0)
		return -1;
	split_note(note, len, &body_len, NULL, 0);
	if (strcmp(out->origin, key->name) != 0) {
		errf(err, errlen, "checkpoint origin differs from the log's key name");
		return -1;
	}
	p = note + body_len + 1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = (size_t)(nl - p);
		uint8_t sig[4 + 64 + 8];
		long sl;

		if (++nsigs > 100) {
			errf(err, errlen, "note has too many signature lines");
			return -1;
		}
		if (ll < dl + 2 || memcmp(p, em_dash_sp, dl) != 0) {
			errf(err, errlen, "malformed signature line (expected '— name signature')");
			return -1;
		}
		const char *name = p + dl, *sp = memchr(name, ' ', (size_t)(nl - name));
		if (sp == NULL) {
			errf(err, errlen, "malformed signature line (no signature after the name)");
			return -1;
		}
		if ((size_t)(sp - name) == namelen && memcmp(name, key->name, namelen) == 0) {
			sl = b64_decode(sp + 1, (size_t)(nl - sp - 1), sig, sizeof(sig));
			if (sl == 68 && memcmp(sig, key->keyid, 4) == 0) {
				if (crypto_sign_verify_detached(sig + 4, (const uint8_t *)note, body_len,
								key->pk) == 0)
					verified = 1;
				else
					known_bad = 1;
			}
		}
		p = nl + 1;
	}
	if (known_bad) {
		errf(err, errlen, "checkpoint signature by the log's key does not verify");
		return -1;
	}
	if (!verified) {
		errf(err, errlen, "checkpoint carries no signature by the log's key");
		return -1;
	}
	return 0;
}
