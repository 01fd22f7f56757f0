/*
 * sig.h — offline verification of model and file signatures: cosign `sign-blob` key signatures,
 * Sigstore bundles v0.3 (messageSignature) and OpenSSF model signing v1.0 (a Sigstore bundle
 * whose DSSE envelope carries an in-toto statement listing every file's SHA-256).
 *
 * Owns: decoding signatures (base64 with or without newlines, raw DER, IEEE-P1363 r||s), loading
 * PEM public keys (ECDSA P-256/P-384/P-521 only), parsing bundles, DSSE envelopes and in-toto
 * statements (strict JSON, duplicate keys rejected), the DSSE PAE, walking a model folder.
 * Never: contacts Fulcio, Rekor or any network service, trusts a certificate chain (Fulcio
 * identities and transparency-log entries are NOT verified offline: a keyless bundle is
 * "not verified"), follows a symlink, or accepts a curve outside NIST P-256/384/521
 * (secp256k1 refused). Crypto is OpenSSL's; nothing here is hand-written crypto.
 *
 * Every function appends findings to a scan_report (reason ids "sig.*", docs/signatures.md) and
 * returns SIG_VERIFIED (0), SIG_ERROR (1: could not check — I/O, out of memory) or
 * SIG_NOT_VERIFIED (2: checked and refused, with a REJECT finding saying why). These are also
 * the exit codes of `securectl verify-blob` and `securectl verify-model`.
 */
#ifndef SECAI_SIG_H
#define SECAI_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scan/scan.h"

enum sig_status {
	SIG_VERIFIED = 0,
	SIG_ERROR = 1,
	SIG_NOT_VERIFIED = 2,
};

#define SIG_MAX_SIGFILE (64u * 1024)	     /* a cosign .sig file */
#define SIG_MAX_BUNDLE (64u * 1024 * 1024)   /* a bundle / model.sig (DSSE with many files) */
#define SIG_MAX_KEYFILE (64u * 1024)	     /* a PEM public key file */
#define SIG_MAX_P1363 132u		     /* r||s of P-521 */
#define SIG_MAX_RESOURCES (1u << 20)	     /* files listed in one model statement */
#define SIG_MEDIA_TYPE_V03 "application/vnd.dev.sigstore.bundle.v0.3+json"
#define SIG_INTOTO_PAYLOAD_TYPE "application/vnd.in-toto+json"
#define SIG_INTOTO_STATEMENT_V1 "https://in-toto.io/Statement/v1"
#define SIG_MODEL_PREDICATE_V1 "https://model_signing/signature/v1.0"

/* A loaded public key: an EC key on P-256, P-384 or P-521. */
struct sig_key;

/*
 * Loads a PEM "PUBLIC KEY" (SubjectPublicKeyInfo; text before the PEM block is skipped, as
 * certtool output has). Returns SIG_VERIFIED and *out, or SIG_NOT_VERIFIED with a finding
 * "sig.key_invalid" (not a key, point not on the curve) or "sig.key_unsupported" (RSA, Ed25519,
 * secp256k1, P-224...), or SIG_ERROR ("sig.io").
 */
enum sig_status sig_key_load_pem(const void *pem, size_t len, struct sig_key **out,
				 struct scan_report *r, const char *file);
enum sig_status sig_key_load_file(const char *path, struct sig_key **out, struct scan_report *r);
void sig_key_free(struct sig_key *k);
/* Curve size in bytes (32, 48, 66) and its name ("P-256"). */
size_t sig_key_field_bytes(const struct sig_key *k);
const char *sig_key_curve(const struct sig_key *k);
/* cosign's hint: base64(SHA-256(DER SPKI)); out holds 45 bytes. */
int sig_key_hint_cosign(const struct sig_key *k, char out[48]);
/* model_signing's hint: hex SHA-256 of the canonical PEM (64-char lines, final \n). out: 65. */
int sig_key_hint_pem(const struct sig_key *k, char out[65]);

/*
 * Signature bytes as cosign reads a .sig file: when every byte but \r and \n is standard base64
 * (with valid padding) it is decoded, otherwise the bytes are the signature. Then DER
 * ECDSA-Sig-Value (must consume every byte and re-encode identically) or IEEE-P1363 r||s of
 * exactly 2 x field bytes. On success *der (malloc'd) holds canonical DER and *high_s tells
 * whether s > n/2 (accepted, as Go's ecdsa.Verify and OpenSSL accept it). Returns 0, or -1
 * with why[] filled ("empty", "not DER and not r||s of N bytes", ...).
 */
int sig_decode_signature(const uint8_t *in, size_t len, const struct sig_key *k, uint8_t **der,
			 size_t *derlen, bool *high_s, char *why, size_t whylen);

/* The same after the base64 step: in holds the binary signature (a bundle's decoded field). */
int sig_decode_signature_raw(const uint8_t *in, size_t len, const struct sig_key *k,
			     uint8_t **der, size_t *derlen, bool *high_s, char *why, size_t whylen);

/* Digest NID for a key's curve as model_signing uses it: P-256 SHA-256, P-384 SHA-384,
 * P-521 SHA-512. */
int sig_key_dsse_md(const struct sig_key *k);
/* True when a and b are the same public key. */
bool sig_key_equal(const struct sig_key *a, const struct sig_key *b);
/* True when the DER certificate's subject public key is k. */
bool sig_key_matches_cert(const struct sig_key *k, const uint8_t *der, size_t len);

/* Verifies DER over a precomputed digest of the algorithm nid (NID_sha256/384/512).
 * Returns 1 valid, 0 invalid, -1 error. */
int sig_verify_digest(const struct sig_key *k, int md_nid, const uint8_t *digest, size_t dlen,
		      const uint8_t *der, size_t derlen);

/* Streams a file through one digest (NID_sha256/384/512); out holds 64 bytes. */
int sig_digest_file(const char *path, int md_nid, uint8_t *out, size_t *outlen);

/* ---- cosign sign-blob ---------------------------------------------------------------------- */

/* `cosign verify-blob --key KEY --signature SIG BLOB` (with --insecure-ignore-tlog): ECDSA over
 * SHA-256 of the blob. */
enum sig_status sig_verify_blob(const char *key_path, const char *sig_path, const char *blob_path,
				struct scan_report *r);
/* The same over buffers already read (tests, fuzzing). */
enum sig_status sig_verify_blob_mem(const struct sig_key *k, const uint8_t *sig, size_t siglen,
				    const uint8_t *blob, size_t bloblen, struct scan_report *r,
				    const char *file);

/* ---- Sigstore bundle ----------------------------------------------------------------------- */

enum sig_material {
	SIG_MAT_NONE = 0,
	SIG_MAT_KEY_HINT,  /* publicKey.hint */
	SIG_MAT_KEY_RAW,   /* publicKey.rawBytes (+ keyDetails): model_signing < 1.1 */
	SIG_MAT_CERT,	   /* certificate or x509CertificateChain: keyless / certificate method */
};

struct sig_bundle {
	char media_type[96];
	enum sig_material material;
	char hint[128];		/* publicKey.hint, as written */
	uint8_t *raw_key;	/* publicKey.rawBytes decoded (a PEM) */
	size_t raw_key_len;
	uint8_t *cert_der;	/* leaf certificate, DER */
	size_t cert_der_len;
	size_t n_tlog;		/* tlogEntries present (not verified offline) */
	/* messageSignature */
	bool has_message;
	int digest_nid;		/* NID_sha256/384/512 of messageDigest.algorithm */
	uint8_t digest[64];
	size_t digest_len;
	uint8_t *signature;	/* decoded, as given */
	size_t signature_len;
	/* dsseEnvelope */
	bool has_dsse;
	char *payload_type;
	uint8_t *payload;	/* decoded payload bytes */
	size_t payload_len;
	uint8_t *dsse_sig;	/* the one signature, decoded */
	size_t dsse_sig_len;
};

/* Parses bundle JSON (strict; unknown media types refused). Returns 0, or -1 with why[]. */
int sig_bundle_parse(const char *json, size_t len, struct sig_bundle *b, char *why, size_t whylen);
void sig_bundle_free(struct sig_bundle *b);

/*
 * The key checks every bundle shares: a key must be given (else "sig.no_key", or
 * "sig.keyless_offline" for a certificate bundle); a hint (cosign's base64 or model_signing's
 * hex form), raw key or certificate in the bundle must name that key ("sig.key_mismatch").
 * Returns SIG_VERIFIED to go on. k may be NULL.
 */
enum sig_status sig_bundle_check_key(const struct sig_key *k, const struct sig_bundle *b,
				     struct scan_report *r, const char *file);

/* DSSE pre-authentication encoding: "DSSEv1 <len> <type> <len> <payload>". Appends to out. */
int sig_dsse_pae(const char *type, const uint8_t *payload, size_t plen, struct buf *out);

/*
 * `cosign verify-blob --bundle B [--key KEY] BLOB`: messageDigest must equal the blob's digest,
 * then the signature is checked with key (NULL: no key given → not verified; a certificate
 * chain is never trusted offline). key_path may be NULL.
 */
enum sig_status sig_verify_bundle(const char *key_path, const char *bundle_path,
				  const char *blob_path, struct scan_report *r);
enum sig_status sig_verify_bundle_mem(const struct sig_key *k, const char *bundle, size_t blen,
				      const uint8_t *blob_digest, size_t dlen, int digest_nid,
				      struct scan_report *r, const char *file);

/* ---- OpenSSF model signing ----------------------------------------------------------------- */

struct sig_resource {
	char *name;		/* posix path relative to the model; "." for a single-file model */
	uint8_t digest[32];
};

struct sig_statement {
	char subject_name[256];
	uint8_t subject_digest[32];
	struct sig_resource *res;
	size_t n_res;
	bool allow_symlinks;
	char **ignore_paths;	/* serialization.ignore_paths (may be absent: 0) */
	size_t n_ignore;
};

/* Parses and checks an in-toto statement of model_signing v1.0 (the DSSE payload): _type,
 * predicateType, one subject, method "files", hash sha256, unique resource names, and the root
 * digest = SHA-256 of the concatenated resource digests. Returns 0, or -1 with reason id in
 * reason[] ("sig.statement_invalid", "sig.manifest_inconsistent", "sig.unsupported") and why. */
int sig_statement_parse(const uint8_t *payload, size_t len, struct sig_statement *st,
			char reason[SCAN_REASON_MAX], char *why, size_t whylen);
void sig_statement_free(struct sig_statement *st);

struct sig_model_opts {
	const char *key_path;	   /* required */
	const char *sig_path;	   /* NULL: MODEL/model.sig */
	const char *model_path;	   /* a folder, or one file */
	const char *const *ignore; /* extra ignore paths (relative to the model, or absolute) */
	size_t n_ignore;
	int threads;		   /* hashing threads; 0 = 2 */
};

/* `model_signing verify key`: signature over the DSSE PAE, statement checks, then every file of
 * the model re-hashed and compared (extra, missing, changed files each named; symlinks and
 * special files refused; the signature file itself and .git* excluded). */
enum sig_status sig_verify_model(const struct sig_model_opts *o, struct scan_report *r);

#endif
