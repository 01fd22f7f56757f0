/*
 * sig_bundle.c — Sigstore bundles (v0.1–v0.3 JSON) and their messageSignature verification,
 * the DSSE envelope fields and the DSSE pre-authentication encoding.
 *
 * Owns: parsing a bundle into struct sig_bundle (strict JSON, duplicate keys refused, base64
 * fields decoded with their sizes bounded by the document), `verify-blob --bundle`.
 * Never: verifies a certificate chain, a Rekor inclusion proof, a signed entry timestamp or an
 * RFC 3161 timestamp (all need Sigstore's online trust roots: reported as not verified
 * offline), accepts a bundle without a key given, or reads anything but the bundle and blob.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>

#include "fsutil.h"
#include "json.h"
#include "scan/sig.h"
#include "sha256.h"

/* Base64 as protobuf JSON accepts it: standard or URL-safe alphabet, padding optional. */
static int b64_field(const json_t *v, uint8_t **out, size_t *outlen)
{
	const char *s;
	size_t n, m;
	char *t;
	long dl;

	*out = NULL;
	*outlen = 0;
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n > SIG_MAX_BUNDLE)
		return -1;
	t = malloc(n + 4);
	if (t == NULL)
		return -1;
	for (m = 0; m < n; m++)
		t[m] = s[m] == '-' ? '+' : s[m] == '_' ? '/' : s[m];
	while (m % 4 != 0)
		t[m++] = '=';
	*out = malloc(m / 4 * 3 + 1);
	if (*out == NULL) {
		free(t);
		return -1;
	}
	dl = b64_decode(t, m, *out, m / 4 * 3 + 1);
	free(t);
	if (dl < 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*outlen = (size_t)dl;
	return 0;
}

static bool media_type_ok(const char *mt)
{
	return strcmp(mt, SIG_MEDIA_TYPE_V03) == 0 ||
	       strcmp(mt, "application/vnd.dev.sigstore.bundle+json;version=0.3") == 0 ||
	       strcmp(mt, "application/vnd.dev.sigstore.bundle+json;version=0.2") == 0 ||
	       strcmp(mt, "application/vnd.dev.sigstore.bundle+json;version=0.1") == 0;
}

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(why, whylen, __VA_ARGS__);                                                \
		goto fail;                                                                         \
	} while (0)

static int parse_material(const json_t *vm, struct sig_bundle *b, char *why, size_t whylen)
{
	const json_t *pk = json_object_get(vm, "publicKey");
	const json_t *cert = json_object_get(vm, "certificate");
	const json_t *chain = json_object_get(vm, "x509CertificateChain");
	const json_t *tl = json_object_get(vm, "tlogEntries");
	int n = (pk != NULL) + (cert != NULL) + (chain != NULL);

	if (n > 1)
		FAIL("verificationMaterial holds more than one of publicKey/certificate/chain");
	if (tl != NULL) {
		if (!json_is_array(tl))
			FAIL("tlogEntries is not an array");
		b->n_tlog = json_array_size(tl);
	}
	if (pk != NULL) {
		const json_t *h = json_object_get(pk, "hint");
		const json_t *raw = json_object_get(pk, "rawBytes");
		if (!json_is_object(pk))
			FAIL("publicKey is not an object");
		if (h != NULL) {
			if (!json_is_string(h) || json_string_length(h) >= sizeof(b->hint))
				FAIL("publicKey.hint is not a short string");
			snprintf(b->hint, sizeof(b->hint), "%s", json_string_value(h));
			b->material = SIG_MAT_KEY_HINT;
		}
		if (raw != NULL) {
			if (b64_field(raw, &b->raw_key, &b->raw_key_len) != 0)
				FAIL("publicKey.rawBytes is not base64");
			b->material = SIG_MAT_KEY_RAW;
		}
		if (h == NULL && raw == NULL)
			FAIL("publicKey has neither hint nor rawBytes");
	} else if (cert != NULL || chain != NULL) {
		const json_t *leaf = cert;
		if (chain != NULL) {
			const json_t *certs = json_object_get(chain, "certificates");
			if (!json_is_array(certs) || json_array_size(certs) == 0)
				FAIL("x509CertificateChain.certificates is not a non-empty array");
			leaf = json_array_get(certs, 0);
		}
		if (!json_is_object(leaf) ||
		    b64_field(json_object_get(leaf, "rawBytes"), &b->cert_der, &b->cert_der_len) != 0)
			FAIL("certificate rawBytes missing or not base64");
		b->material = SIG_MAT_CERT;
	}
	return 0;
fail:
	return -1;
}

int sig_bundle_parse(const char *json, size_t len, struct sig_bundle *b, char *why, size_t whylen)
{
	char err[160];
	json_t *root, *vm, *ms, *de;
	const char *mt;

	memset(b, 0, sizeof(*b));
	root = json_parse_object(json, len, SIG_MAX_BUNDLE, err, sizeof(err));
	if (root == NULL) {
		snprintf(why, whylen, "not a JSON object: %s", err);
		return -1;
	}
	mt = json_get_string(root, "mediaType");
	if (mt == NULL)
		FAIL("no mediaType");
	snprintf(b->media_type, sizeof(b->media_type), "%s", mt);
	if (!media_type_ok(mt))
		FAIL("unknown mediaType");
	vm = json_object_get(root, "verificationMaterial");
	if (!json_is_object(vm))
		FAIL("no verificationMaterial object");
	if (parse_material(vm, b, why, whylen) != 0)
		goto fail_kept;
	ms = json_object_get(root, "messageSignature");
	de = json_object_get(root, "dsseEnvelope");
	if ((ms != NULL) == (de != NULL))
		FAIL("exactly one of messageSignature and dsseEnvelope is needed");
	if (ms != NULL) {
		const json_t *md = json_object_get(ms, "messageDigest");
		const char *alg = json_is_object(md) ? json_get_string(md, "algorithm") : NULL;
		uint8_t *d = NULL;
		size_t dl = 0;
		if (!json_is_object(ms))
			FAIL("messageSignature is not an object");
		if (md == NULL) {
			/* messageDigest is optional in the spec; verify-blob needs it (below). */
			b->digest_nid = NID_undef;
		} else if (alg == NULL) {
			FAIL("messageDigest.algorithm missing");
		} else {
			if (strcmp(alg, "SHA2_256") == 0)
				b->digest_nid = NID_sha256;
			else if (strcmp(alg, "SHA2_384") == 0)
				b->digest_nid = NID_sha384;
			else if (strcmp(alg, "SHA2_512") == 0)
				b->digest_nid = NID_sha512;
			else
				FAIL("messageDigest.algorithm %.32s not supported", alg);
			if (b64_field(json_object_get(md, "digest"), &d, &dl) != 0)
				FAIL("messageDigest.digest is not base64");
			if (dl != (size_t)EVP_MD_get_size(EVP_get_digestbynid(b->digest_nid)) ||
			    dl > sizeof(b->digest)) {
				free(d);
				FAIL("messageDigest.digest has the wrong length");
			}
			memcpy(b->digest, d, dl);
			b->digest_len = dl;
			free(d);
		}
		if (b64_field(json_object_get(ms, "signature"), &b->signature, &b->signature_len) !=
		    0)
			FAIL("messageSignature.signature missing or not base64");
		b->has_message = true;
	} else {
		const json_t *sigs = json_object_get(de, "signatures");
		const char *pt = json_is_object(de) ? json_get_string(de, "payloadType") : NULL;
		if (pt == NULL)
			FAIL("dsseEnvelope.payloadType missing");
		b->payload_type = strdup(pt);
		if (b->payload_type == NULL)
			FAIL("out of memory");
		if (b64_field(json_object_get(de, "payload"), &b->payload, &b->payload_len) != 0)
			FAIL("dsseEnvelope.payload missing or not base64");
		if (!json_is_array(sigs) || json_array_size(sigs) != 1)
			FAIL("dsseEnvelope must carry exactly one signature");
		if (!json_is_object(json_array_get(sigs, 0)) ||
		    b64_field(json_object_get(json_array_get(sigs, 0), "sig"), &b->dsse_sig,
			      &b->dsse_sig_len) != 0)
			FAIL("dsseEnvelope signature missing or not base64");
		b->has_dsse = true;
	}
	json_decref(root);
	return 0;
fail:
fail_kept:
	json_decref(root);
	sig_bundle_free(b);
	return -1;
}

void sig_bundle_free(struct sig_bundle *b)
{
	free(b->raw_key);
	free(b->cert_der);
	free(b->signature);
	free(b->payload_type);
	free(b->payload);
	free(b->dsse_sig);
	memset(b, 0, sizeof(*b));
}

int sig_dsse_pae(const char *type, const uint8_t *payload, size_t plen, struct buf *out)
{
	if (buf_printf(out, "DSSEv1 %zu %s %zu ", strlen(type), type, plen) != 0)
		return -1;
	return buf_append(out, payload, plen);
}

enum sig_status sig_bundle_check_key(const struct sig_key *k, const struct sig_bundle *b,
				     struct scan_report *r, const char *file)
{
	char h1[48], h2[65];
	struct sig_key *bk = NULL;
	struct scan_report tmp;
	bool eq;

	if (k == NULL) {
		if (b->material == SIG_MAT_CERT)
			scan_report_add(r, "sig.keyless_offline", SCAN_SEV_REJECT, file,
					SCAN_OFFSET_NONE, NULL,
					"certificate-based (keyless) bundle: the Fulcio certificate "
					"chain and Rekor entry are not verified offline; give the "
					"signer's public key with --key");
		else
			scan_report_add(r, "sig.no_key", SCAN_SEV_REJECT, file, SCAN_OFFSET_NONE,
					NULL,
					"bundle signed with a key but no --key given; nothing is "
					"trusted without one");
		return SIG_NOT_VERIFIED;
	}
	switch (b->material) {
	case SIG_MAT_KEY_HINT:
		if (sig_key_hint_cosign(k, h1) != 0 || sig_key_hint_pem(k, h2) != 0) {
			scan_report_add(r, "sig.io", SCAN_SEV_ERROR, file, SCAN_OFFSET_NONE, NULL,
					"cannot compute the key hint");
			return SIG_ERROR;
		}
		if (strcmp(b->hint, h1) != 0 && strcmp(b->hint, h2) != 0) {
			scan_report_add(r, "sig.key_mismatch", SCAN_SEV_REJECT, file,
					SCAN_OFFSET_NONE, NULL,
					"bundle's key hint %.64s is not the given key (%s / %.16s...)",
					b->hint, h1, h2);
			return SIG_NOT_VERIFIED;
		}
		break;
	case SIG_MAT_KEY_RAW:
		scan_report_init(&tmp);
		if (sig_key_load_pem(b->raw_key, b->raw_key_len, &bk, &tmp, file) != SIG_VERIFIED) {
			scan_report_free(&tmp);
			scan_report_add(r, "sig.key_mismatch", SCAN_SEV_REJECT, file,
					SCAN_OFFSET_NONE, NULL,
					"bundle's publicKey.rawBytes is not a usable EC public key");
			return SIG_NOT_VERIFIED;
		}
		scan_report_free(&tmp);
		eq = sig_key_equal(k, bk);
		sig_key_free(bk);
		if (!eq) {
			scan_report_add(r, "sig.key_mismatch", SCAN_SEV_REJECT, file,
					SCAN_OFFSET_NONE, NULL,
					"bundle's public key is not the given key");
			return SIG_NOT_VERIFIED;
		}
		break;
	case SIG_MAT_CERT:
		if (!sig_key_matches_cert(k, b->cert_der, b->cert_der_len)) {
			scan_report_add(r, "sig.key_mismatch", SCAN_SEV_REJECT, file,
					SCAN_OFFSET_NONE, NULL,
					"bundle's certificate does not hold the given key");
			return SIG_NOT_VERIFIED;
		}
		scan_report_add(r, "sig.certificate_not_verified", SCAN_SEV_INFO, file,
				SCAN_OFFSET_NONE, NULL,
				"certificate chain not verified offline (no Fulcio root); the "
				"signature is checked against --key only");
		break;
	case SIG_MAT_NONE:
		break;
	}
	if (b->n_tlog > 0)
		scan_report_add(r, "sig.tlog_not_verified", SCAN_SEV_INFO, file, SCAN_OFFSET_NONE,
				NULL,
				"%zu transparency-log entr%s present, not verified offline "
				"(as cosign --insecure-ignore-tlog)",
				b->n_tlog, b->n_tlog == 1 ? "y" : "ies");
	return SIG_VERIFIED;
}

enum sig_status sig_verify_bundle_mem(const struct sig_key *k, const char *bundle, size_t blen,
				      const uint8_t *blob_digest, size_t dlen, int digest_nid,
				      struct scan_report *r, const char *file)
{
	struct sig_bundle b;
	enum sig_status st;
	uint8_t *der = NULL;
	size_t derlen = 0;
	bool high_s = false;
	char why[192];
	int v;

	if (sig_bundle_parse(bundle, blen, &b, why, sizeof(why)) != 0) {
		scan_report_add(r, "sig.bundle_malformed", SCAN_SEV_REJECT, file, SCAN_OFFSET_NONE,
				NULL, "bundle: %s", why);
		return SIG_NOT_VERIFIED;
	}
	if (!b.has_message || b.digest_nid == NID_undef) {
		scan_report_add(r, "sig.bundle_unsupported", SCAN_SEV_REJECT, file,
				SCAN_OFFSET_NONE, NULL,
				b.has_dsse ? "bundle holds a DSSE envelope (an attestation), not a "
					     "message signature over this file"
					   : "bundle's messageSignature has no messageDigest");
		st = SIG_NOT_VERIFIED;
		goto out;
	}
	if (b.digest_nid != digest_nid || b.digest_len != dlen ||
	    memcmp(b.digest, blob_digest, dlen) != 0) {
		scan_report_add(r, "sig.digest_mismatch", SCAN_SEV_REJECT, file, SCAN_OFFSET_NONE,
				NULL,
				"bundle's messageDigest is not the digest of this file (file "
				"changed, or the bundle is for another file)");
		st = SIG_NOT_VERIFIED;
		goto out;
	}
	st = sig_bundle_check_key(k, &b, r, file);
	if (st != SIG_VERIFIED)
		goto out;
	if (sig_decode_signature_raw(b.signature, b.signature_len, k, &der, &derlen, &high_s, why,
				     sizeof(why)) != 0) {
		scan_report_add(r, "sig.signature_malformed", SCAN_SEV_REJECT, file,
				SCAN_OFFSET_NONE, NULL, "bundle signature: %s", why);
		st = SIG_NOT_VERIFIED;
		goto out;
	}
	v = sig_verify_digest(k, b.digest_nid, blob_digest, dlen, der, derlen);
	if (v < 0) {
		scan_report_add(r, "sig.io", SCAN_SEV_ERROR, file, SCAN_OFFSET_NONE, NULL,
				"OpenSSL could not run the verification");
		st = SIG_ERROR;
	} else if (v == 0) {
		scan_report_add(r, "sig.signature_invalid", SCAN_SEV_REJECT, file,
				SCAN_OFFSET_NONE, NULL,
				"bundle signature does not verify with the given %s key",
				sig_key_curve(k));
		st = SIG_NOT_VERIFIED;
	} else {
		if (high_s)
			scan_report_add(r, "sig.high_s", SCAN_SEV_INFO, file, SCAN_OFFSET_NONE,
					NULL,
					"signature has a high S value; accepted as Go's "
					"ecdsa.Verify accepts it");
		scan_report_add(r, "sig.verified", SCAN_SEV_INFO, file, SCAN_OFFSET_NONE, NULL,
				"bundle message signature verified with the given %s key "
				"(offline: transparency log and timestamps not checked)",
				sig_key_curve(k));
		st = SIG_VERIFIED;
	}
out:
	free(der);
	sig_bundle_free(&b);
	return st;
}

enum sig_status sig_verify_bundle(const char *key_path, const char *bundle_path,
				  const char *blob_path, struct scan_report *r)
{
	struct sig_key *k = NULL;
	struct sig_bundle b;
	char *bundle = NULL, why[192];
	size_t blen = 0, dlen = 0;
	uint8_t d[64];
	int nid = NID_sha256;
	enum sig_status st;

	if (key_path != NULL) {
		st = sig_key_load_file(key_path, &k, r);
		if (st != SIG_VERIFIED)
			return st;
	}
	if (fs_read_file(bundle_path, SIG_MAX_BUNDLE, &bundle, &blen) != 0) {
		bool big = errno == EFBIG;
		scan_report_add(r, big ? "sig.bundle_malformed" : "sig.io",
				big ? SCAN_SEV_REJECT : SCAN_SEV_ERROR, bundle_path,
				SCAN_OFFSET_NONE, NULL, "cannot read bundle: %s",
				big ? "too large" : strerror(errno));
		sig_key_free(k);
		return big ? SIG_NOT_VERIFIED : SIG_ERROR;
	}
	/* The digest algorithm is the bundle's; a bundle that does not parse fails below. */
	if (sig_bundle_parse(bundle, blen, &b, why, sizeof(why)) == 0) {
		if (b.has_message && b.digest_nid != NID_undef)
			nid = b.digest_nid;
		sig_bundle_free(&b);
	}
	if (sig_digest_file(blob_path, nid, d, &dlen) != 0) {
		scan_report_add(r, "sig.io", SCAN_SEV_ERROR, blob_path, SCAN_OFFSET_NONE, NULL,
				"cannot read file: %s", strerror(errno));
		st = SIG_ERROR;
	} else {
		st = sig_verify_bundle_mem(k, bundle, blen, d, dlen, nid, r, bundle_path);
	}
	free(bundle);
	sig_key_free(k);
	return st;
}
