/*
 * sig_cosign.c — public keys, signature decoding and cosign `sign-blob` key signatures.
 *
 * Owns: PEM public keys (EC P-256/P-384/P-521 only), the cosign .sig decoding rules (base64 with
 * or without \r\n, else raw bytes; DER ECDSA-Sig-Value or P1363 r||s), ECDSA verification of a
 * digest through OpenSSL, streaming a file through SHA-2, and `verify-blob --key --signature`.
 * Never: accepts secp256k1 or another non-NIST curve, RSA or Ed25519 (cosign key pairs are
 * ECDSA), a DER signature with trailing or non-canonical bytes, or an empty signature; talks to
 * Rekor (an offline check is cosign's --insecure-ignore-tlog).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fsutil.h"
#include "scan/sig.h"
#include "sha256.h"

struct sig_key {
	EVP_PKEY *pkey;
	int nid;
	size_t field_bytes;
	const char *curve;
};

static const struct {
	const char *group;
	int nid;
	size_t bytes;
	const char *name;
} curves[] = {
    {"prime256v1", NID_X9_62_prime256v1, 32, "P-256"},
    {"secp384r1", NID_secp384r1, 48, "P-384"},
    {"secp521r1", NID_secp521r1, 66, "P-521"},
};

enum sig_status sig_key_load_pem(const void *pem, size_t len, struct sig_key **out,
				 struct scan_report *r, const char *file)
{
	char group[64] = "";
	size_t glen = 0;
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	struct sig_key *k;
	bool matched = false;
	BIO *bio;

	*out = NULL;
	if (len > INT_MAX) {
		scan_report_add(r, "sig.key_invalid", SCAN_SEV_REJECT, file, SCAN_OFFSET_NONE, NULL,
				"public key file too large");
		return SIG_NOT_VERIFIED;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		goto nomem;
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		scan_report_add(r, "sig.key_invalid", SCAN_SEV_REJECT, file, SCAN_OFFSET_NONE, NULL,
				"not a PEM PUBLIC KEY (SubjectPublicKeyInfo) or the EC point is "
				"not on its curve");
		return SIG_NOT_VERIFIED;
	}
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
		scan_report_add(r, "sig.key_unsupported", SCAN_SEV_REJECT, file, SCAN_OFFSET_NONE,
				OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)),
				"key type %s refused: only ECDSA keys (P-256, P-384, P-521)",
				OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)));
		EVP_PKEY_free(pkey);
		return SIG_NOT_VERIFIED;
	}
	if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) != 1)
		group[0] = '\0';
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
		if (strcmp(group, curves[i].group) != 0)
			continue;
		matched = true;
		ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
		if (ctx == NULL)
			break;
		if (EVP_PKEY_public_check(ctx) != 1) {
			EVP_PKEY_CTX_free(ctx);
			EVP_PKEY_free(pkey);
			scan_report_add(r, "sig.key_invalid", SCAN_SEV_REJECT, file,
					SCAN_OFFSET_NONE, NULL,
					"public key point fails the curve check");
			return SIG_NOT_VERIFIED;
		}
		EVP_PKEY_CTX_free(ctx);
		k = calloc(1, sizeof(*k));
		if (k == NULL)
			break;
		k->pkey = pkey;
		k->nid = curves[i].nid;
		k->field_bytes = curves[i].bytes;
		k->curve = curves[i].name;
		*out = k;
		return SIG_VERIFIED;
	}
	if (!matched) {
		if (group[0] == '\0')
			snprintf(group, sizeof(group), "unknown");
		scan_report_add(r, "sig.key_unsupported", SCAN_SEV_REJECT, file, SCAN_OFFSET_NONE,
				group,
				"curve %s refused: only NIST P-256, P-384 and P-521 (as Go's "
				"crypto/x509, which cosign uses)",
				group);
		EVP_PKEY_free(pkey);
		return SIG_NOT_VERIFIED;
	}
	EVP_PKEY_free(pkey);
nomem:
	scan_report_add(r, "sig.io", SCAN_SEV_ERROR, file, SCAN_OFFSET_NONE, NULL,
			"out of memory loading the key");
	return SIG_ERROR;
}

enum sig_status sig_key_load_file(const char *path, struct sig_key **out, struct scan_report *r)
{
	enum sig_status st;
	char *data = NULL;
	size_t len = 0;

	*out = NULL;
	if (fs_read_file(path, SIG_MAX_KEYFILE, &data, &len) != 0) {
		if (errno == EFBIG) {
			scan_report_add(r, "sig.key_invalid", SCAN_SEV_REJECT, path,
					SCAN_OFFSET_NONE, NULL, "key file larger than %u bytes",
					SIG_MAX_KEYFILE);
			return SIG_NOT_VERIFIED;
		}
		scan_report_add(r, "sig.io", SCAN_SEV_ERROR, path, SCAN_OFFSET_NONE, NULL,
				"cannot read key: %s", strerror(errno));
		return SIG_ERROR;
	}
	st = sig_key_load_pem(data, len, out, r, path);
	free(data);
	return st;
}

void sig_key_free(struct sig_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

size_t sig_key_field_bytes(const struct sig_key *k)
{
	return k->field_bytes;
}

const char *sig_key_curve(const struct sig_key *k)
{
	return k->curve;
}

int sig_key_hint_cosign(const struct sig_key *k, char out[48])
{
	unsigned char *der = NULL;
	uint8_t d[SHA256_LEN];
	int n = i2d_PUBKEY(k->pkey, &der);

	if (n <= 0)
		return -1;
	if (sha256_digest(der, (size_t)n, d) != 0) {
		OPENSSL_free(der);
		return -1;
	}
	OPENSSL_free(der);
	b64_encode(d, sizeof(d), out);
	return 0;
}

int sig_key_hint_pem(const struct sig_key *k, char out[65])
{
	BIO *bio = BIO_new(BIO_s_mem());
	uint8_t d[SHA256_LEN];
	char *p;
	long n;
	int rc = -1;

	if (bio == NULL)
		return -1;
	if (PEM_write_bio_PUBKEY(bio, k->pkey) == 1) {
		n = BIO_get_mem_data(bio, &p);
		if (n > 0 && sha256_digest(p, (size_t)n, d) == 0) {
			hex_encode(d, sizeof(d), out);
			rc = 0;
		}
	}
	BIO_free(bio);
	return rc;
}

static bool b64_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* Base64 after dropping \r and \n (as Go's decoder does); -1 when not base64. */
static long try_base64(const uint8_t *in, size_t len, uint8_t **out)
{
	char *s = malloc(len + 1);
	size_t n = 0, pad = 0;
	uint8_t *dec;
	long dl;

	*out = NULL;
	if (s == NULL)
		return -2;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = in[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
		} else if (!b64_char(c) || pad > 0) {
			free(s);
			return -1;
		}
		s[n++] = (char)c;
	}
	if (n == 0 || n % 4 != 0 || pad > 2) {
		free(s);
		return -1;
	}
	dec = malloc(n / 4 * 3 + 1);
	if (dec == NULL) {
		free(s);
		return -2;
	}
	dl = b64_decode(s, n, dec, n / 4 * 3 + 1);
	free(s);
	if (dl < 0) {
		free(dec);
		return -1;
	}
	*out = dec;
	return dl;
}

static const BIGNUM *curve_order(int nid, EC_GROUP **g)
{
	*g = EC_GROUP_new_by_curve_name(nid);
	return *g ? EC_GROUP_get0_order(*g) : NULL;
}

int sig_decode_signature(const uint8_t *in, size_t len, const struct sig_key *k, uint8_t **der,
			 size_t *derlen, bool *high_s, char *why, size_t whylen)
{
	uint8_t *dec = NULL;
	long dl;
	int rc;

	*der = NULL;
	*derlen = 0;
	*high_s = false;
	dl = try_base64(in, len, &dec);
	if (dl == -2) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (dl >= 0)
		rc = sig_decode_signature_raw(dec, (size_t)dl, k, der, derlen, high_s, why, whylen);
	else
		rc = sig_decode_signature_raw(in, len, k, der, derlen, high_s, why, whylen);
	free(dec);
	return rc;
}

int sig_decode_signature_raw(const uint8_t *bytes, size_t n, const struct sig_key *k,
			     uint8_t **der, size_t *derlen, bool *high_s, char *why, size_t whylen)
{
	uint8_t *enc = NULL;
	const uint8_t *p;
	ECDSA_SIG *es = NULL;
	EC_GROUP *g = NULL;
	const BIGNUM *order, *r_bn, *s_bn;
	BIGNUM *half = NULL;
	int el, rc = -1;

	*der = NULL;
	*derlen = 0;
	*high_s = false;
	if (n == 0) {
		snprintf(why, whylen, "empty signature");
		goto out;
	}
	p = bytes;
	if (n <= 1024 && (es = d2i_ECDSA_SIG(NULL, &p, (long)n)) != NULL) {
		el = i2d_ECDSA_SIG(es, &enc);
		if ((size_t)(p - bytes) != n || el <= 0 || (size_t)el != n ||
		    memcmp(enc, bytes, n) != 0) {
			snprintf(why, whylen, "DER signature with trailing or non-canonical bytes");
			goto out;
		}
	} else if (k != NULL && n == 2 * k->field_bytes) {
		BIGNUM *br = BN_bin2bn(bytes, (int)k->field_bytes, NULL);
		BIGNUM *bs = BN_bin2bn(bytes + k->field_bytes, (int)k->field_bytes, NULL);
		es = ECDSA_SIG_new();
		if (br == NULL || bs == NULL || es == NULL || ECDSA_SIG_set0(es, br, bs) != 1) {
			BN_free(br);
			BN_free(bs);
			snprintf(why, whylen, "out of memory");
			goto out;
		}
		el = i2d_ECDSA_SIG(es, &enc);
		if (el <= 0) {
			snprintf(why, whylen, "cannot encode r||s signature");
			goto out;
		}
	} else {
		snprintf(why, whylen,
			 "%zu bytes: neither a DER ECDSA-Sig-Value nor an r||s pair of %zu bytes",
			 n, k ? 2 * k->field_bytes : (size_t)0);
		goto out;
	}
	if (k != NULL && (order = curve_order(k->nid, &g)) != NULL) {
		ECDSA_SIG_get0(es, &r_bn, &s_bn);
		half = BN_dup(order);
		if (half != NULL && BN_rshift1(half, half) == 1)
			*high_s = BN_cmp(s_bn, half) > 0;
	}
	*der = malloc((size_t)el);
	if (*der == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	memcpy(*der, enc, (size_t)el);
	*derlen = (size_t)el;
	rc = 0;
out:
	BN_free(half);
	EC_GROUP_free(g);
	OPENSSL_free(enc);
	ECDSA_SIG_free(es);
	return rc;
}

int sig_key_dsse_md(const struct sig_key *k)
{
	switch (k->field_bytes) {
	case 48:
		return NID_sha384;
	case 66:
		return NID_sha512;
	default:
		return NID_sha256;
	}
}

bool sig_key_equal(const struct sig_key *a, const struct sig_key *b)
{
	return EVP_PKEY_eq(a->pkey, b->pkey) == 1;
}

bool sig_key_matches_cert(const struct sig_key *k, const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;
	bool eq = false;

	if (len > INT_MAX)
		return false;
	x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL)
		return false;
	if (X509_get0_pubkey(x) != NULL)
		eq = EVP_PKEY_eq(X509_get0_pubkey(x), k->pkey) == 1;
	X509_free(x);
	return eq;
}

int sig_verify_digest(const struct sig_key *k, int md_nid, const uint8_t *digest, size_t dlen,
		      const uint8_t *der, size_t derlen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	const EVP_MD *md = EVP_get_digestbynid(md_nid);
	int rc = -1;

	if (ctx == NULL || md == NULL)
		goto out;
	if (EVP_PKEY_verify_init(ctx) != 1 || EVP_PKEY_CTX_set_signature_md(ctx, md) != 1)
		goto out;
	rc = EVP_PKEY_verify(ctx, der, derlen, digest, dlen) == 1 ? 1 : 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

int sig_digest_file(const char *path, int md_nid, uint8_t *out, size_t *outlen)
{
	const EVP_MD *md = EVP_get_digestbynid(md_nid);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int ol = 0;
	uint8_t *buf = malloc(1 << 20);
	int fd = -1, rc = -1;
	ssize_t n;

	if (md == NULL || ctx == NULL || buf == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1)
		goto out;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out;
	for (;;) {
		n = read(fd, buf, 1 << 20);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, out, &ol) != 1)
		goto out;
	*outlen = ol;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Verifies a .sig file's bytes against a digest; shared by the file and memory entry points. */
static enum sig_status verify_sig_digest(const struct sig_key *k, const uint8_t *sig,
					 size_t siglen, const uint8_t *digest, size_t dlen,
					 struct scan_report *r, const char *file)
{
	uint8_t *der = NULL;
	size_t derlen = 0;
	bool high_s = false;
	char why[160];
	int v;

	if (sig_decode_signature(sig, siglen, k, &der, &derlen, &high_s, why, sizeof(why)) != 0) {
		scan_report_add(r, "sig.signature_malformed", SCAN_SEV_REJECT, file,
				SCAN_OFFSET_NONE, NULL, "signature: %s", why);
		return SIG_NOT_VERIFIED;
	}
	v = sig_verify_digest(k, NID_sha256, digest, dlen, der, derlen);
	free(der);
	if (v < 0) {
		scan_report_add(r, "sig.io", SCAN_SEV_ERROR, file, SCAN_OFFSET_NONE, NULL,
				"OpenSSL could not run the verification");
		return SIG_ERROR;
	}
	if (v == 0) {
		scan_report_add(r, "sig.signature_invalid", SCAN_SEV_REJECT, file,
				SCAN_OFFSET_NONE, NULL,
				"ECDSA %s/SHA-256 signature does not match the file and key (wrong "
				"key, or file or signature changed)",
				k->curve);
		return SIG_NOT_VERIFIED;
	}
	if (high_s)
		scan_report_add(r, "sig.high_s", SCAN_SEV_INFO, file, SCAN_OFFSET_NONE, NULL,
				"signature has a high S value (malleable form); accepted as "
				"cosign/Go ecdsa.Verify accept it");
	scan_report_add(r, "sig.verified", SCAN_SEV_INFO, file, SCAN_OFFSET_NONE, NULL,
			"ECDSA %s/SHA-256 signature verified with the given key (offline: no "
			"transparency log checked)",
			k->curve);
	return SIG_VERIFIED;
}

enum sig_status sig_verify_blob_mem(const struct sig_key *k, const uint8_t *sig, size_t siglen,
				    const uint8_t *blob, size_t bloblen, struct scan_report *r,
				    const char *file)
{
	uint8_t d[SHA256_LEN];

	if (sha256_digest(blob, bloblen, d) != 0) {
		scan_report_add(r, "sig.io", SCAN_SEV_ERROR, file, SCAN_OFFSET_NONE, NULL,
				"SHA-256 failed");
		return SIG_ERROR;
	}
	return verify_sig_digest(k, sig, siglen, d, sizeof(d), r, file);
}

enum sig_status sig_verify_blob(const char *key_path, const char *sig_path, const char *blob_path,
				struct scan_report *r)
{
	struct sig_key *k = NULL;
	uint8_t d[64];
	size_t dlen = 0;
	char *sig = NULL;
	size_t siglen = 0;
	enum sig_status st;

	st = sig_key_load_file(key_path, &k, r);
	if (st != SIG_VERIFIED)
		return st;
	if (fs_read_file(sig_path, SIG_MAX_SIGFILE, &sig, &siglen) != 0) {
		if (errno == EFBIG) {
			scan_report_add(r, "sig.signature_malformed", SCAN_SEV_REJECT, sig_path,
					SCAN_OFFSET_NONE, NULL,
					"signature file larger than %u bytes", SIG_MAX_SIGFILE);
			st = SIG_NOT_VERIFIED;
		} else {
			scan_report_add(r, "sig.io", SCAN_SEV_ERROR, sig_path, SCAN_OFFSET_NONE,
					NULL, "cannot read signature: %s", strerror(errno));
			st = SIG_ERROR;
		}
		goto out;
	}
	if (sig_digest_file(blob_path, NID_sha256, d, &dlen) != 0) {
		scan_report_add(r, "sig.io", SCAN_SEV_ERROR, blob_path, SCAN_OFFSET_NONE, NULL,
				"cannot read file: %s", strerror(errno));
		st = SIG_ERROR;
		goto out;
	}
	st = verify_sig_digest(k, (const uint8_t *)sig, siglen, d, dlen, r, blob_path);
out:
	free(sig);
	sig_key_free(k);
	return st;
}
