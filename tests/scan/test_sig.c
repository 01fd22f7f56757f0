/*
 * test_sig.c — cosign blob signatures, Sigstore bundles and OpenSSF model signatures, offline.
 *
 * Owns: fixtures generated at test time (OpenSSL keys, signatures, bundles, DSSE statements,
 * model folders in a temp dir), one case per rule with its reason id, and every signature entry
 * of $SECAI_SHARED/scanner-samples/manifest.json with its expected verdict.
 * Never: copies shared data into the repo or needs the network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../lib/testutil.h"
#include "buf.h"
#include "json.h"
#include "scan/sig.h"
#include "sha256.h"

struct fx {
	char *dir;
	EVP_PKEY *k256, *k384, *other;
	char pub256[PATH_MAX], pub384[PATH_MAX], pubother[PATH_MAX], blob[PATH_MAX];
};

static void write_file(const char *path, const void *d, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(d, 1, n, f), n);
	fclose(f);
}

static void write_pub(EVP_PKEY *k, const char *path)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, k), 1);
	fclose(f);
}

static size_t sign(EVP_PKEY *k, const EVP_MD *md, const void *d, size_t n, uint8_t *out)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t sl = 200;
	assert_int_equal(EVP_DigestSignInit(c, NULL, md, NULL, k), 1);
	assert_int_equal(EVP_DigestSign(c, out, &sl, d, n), 1);
	EVP_MD_CTX_free(c);
	return sl;
}

static char *path_in(struct fx *f, const char *name)
{
	static char p[4][PATH_MAX];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", f->dir, name);
	return p[i];
}

static const char blob_text[] = "model weights, pretend\n";

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = test_tmpdir();
	assert_non_null(f->dir);
	f->k256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	f->k384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	f->other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(f->k256);
	assert_non_null(f->k384);
	snprintf(f->pub256, sizeof(f->pub256), "%s/k256.pub", f->dir);
	snprintf(f->pub384, sizeof(f->pub384), "%s/k384.pub", f->dir);
	snprintf(f->pubother, sizeof(f->pubother), "%s/other.pub", f->dir);
	snprintf(f->blob, sizeof(f->blob), "%s/blob.bin", f->dir);
	write_pub(f->k256, f->pub256);
	write_pub(f->k384, f->pub384);
	write_pub(f->other, f->pubother);
	write_file(f->blob, blob_text, strlen(blob_text));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	EVP_PKEY_free(f->k256);
	EVP_PKEY_free(f->k384);
	EVP_PKEY_free(f->other);
	test_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Runs verify-blob on a .sig with the given bytes; checks status and (if set) a reason. */
static void blob_case(struct fx *f, const char *key, const void *sig, size_t n, const char *blob,
		      enum sig_status want, const char *reason)
{
	struct scan_report r;
	char *sp = path_in(f, "case.sig");
	enum sig_status st;

	write_file(sp, sig, n);
	scan_report_init(&r);
	st = sig_verify_blob(key, sp, blob, &r);
	if (st != want || (reason && !scan_report_has(&r, reason, NULL)))
		scan_report_print(&r, stdout);
	assert_int_equal(st, want);
	if (reason)
		assert_true(scan_report_has(&r, reason, NULL));
	scan_report_free(&r);
}

static void test_blob_forms(void **state)
{
	struct fx *f = *state;
	uint8_t der[200], p1363[64];
	char b64[300];
	size_t dl = sign(f->k256, EVP_sha256(), blob_text, strlen(blob_text), der), bl;
	const unsigned char *pp = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &pp, (long)dl);
	const BIGNUM *r, *s;

	bl = b64_encode(der, dl, b64);
	blob_case(f, f->pub256, b64, bl, f->blob, SIG_VERIFIED, "sig.verified");
	b64[bl] = '\n';
	blob_case(f, f->pub256, b64, bl + 1, f->blob, SIG_VERIFIED, "sig.verified");
	memcpy(b64 + bl, "\r\n", 2);
	blob_case(f, f->pub256, b64, bl + 2, f->blob, SIG_VERIFIED, "sig.verified");
	blob_case(f, f->pub256, der, dl, f->blob, SIG_VERIFIED, "sig.verified");
	assert_non_null(es);
	ECDSA_SIG_get0(es, &r, &s);
	BN_bn2binpad(r, p1363, 32);
	BN_bn2binpad(s, p1363 + 32, 32);
	blob_case(f, f->pub256, p1363, 64, f->blob, SIG_VERIFIED, "sig.verified");
	ECDSA_SIG_free(es);
}

static void test_blob_high_s(void **state)
{
	struct fx *f = *state;
	uint8_t der[200], *enc = NULL;
	size_t dl = sign(f->k256, EVP_sha256(), blob_text, strlen(blob_text), der);
	const unsigned char *pp = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &pp, (long)dl);
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	const BIGNUM *r, *s;
	BIGNUM *nr, *ns = BN_new(), *half = BN_new();
	int el, der_high;

	ECDSA_SIG_get0(es, &r, &s);
	BN_rshift1(half, EC_GROUP_get0_order(g));
	der_high = BN_cmp(s, half) > 0; /* before set0 below frees s */
	BN_free(half);
	nr = BN_dup(r);
	BN_sub(ns, EC_GROUP_get0_order(g), s); /* s' = n - s: the other valid signature */
	ECDSA_SIG_set0(es, nr, ns);
	el = i2d_ECDSA_SIG(es, &enc);
	/* One of s and n - s is high; both verify, and the high one is noted (sig.high_s). */
	blob_case(f, f->pub256, enc, (size_t)el, f->blob, SIG_VERIFIED, "sig.verified");
	blob_case(f, f->pub256, der, dl, f->blob, SIG_VERIFIED, "sig.verified");
	blob_case(f, f->pub256, der_high ? der : enc, der_high ? dl : (size_t)el, f->blob,
		  SIG_VERIFIED, "sig.high_s");
	OPENSSL_free(enc);
	ECDSA_SIG_free(es);
	EC_GROUP_free(g);
}

static void test_blob_failures(void **state)
{
	struct fx *f = *state;
	uint8_t der[200], bad[200];
	size_t dl = sign(f->k256, EVP_sha256(), blob_text, strlen(blob_text), der);
	char *tampered = path_in(f, "tampered.bin"), b64[300];
	EVP_PKEY *k1;
	char *kp;

	blob_case(f, f->pubother, der, dl, f->blob, SIG_NOT_VERIFIED, "sig.signature_invalid");
	write_file(tampered, "model weights, pretenD\n", strlen(blob_text));
	blob_case(f, f->pub256, der, dl, tampered, SIG_NOT_VERIFIED, "sig.signature_invalid");
	blob_case(f, f->pub256, der, dl - 1, f->blob, SIG_NOT_VERIFIED, "sig.signature_malformed");
	blob_case(f, f->pub256, "", 0, f->blob, SIG_NOT_VERIFIED, "sig.signature_malformed");
	memcpy(bad, der, dl);
	bad[dl] = 0;
	blob_case(f, f->pub256, bad, dl + 1, f->blob, SIG_NOT_VERIFIED, "sig.signature_malformed");
	blob_case(f, f->pub256, "garbage!", 8, f->blob, SIG_NOT_VERIFIED,
		  "sig.signature_malformed");
	/* Truncated base64 (a whole quantum cut off). */
	b64_encode(der, dl, b64);
	blob_case(f, f->pub256, b64, strlen(b64) - 4, f->blob, SIG_NOT_VERIFIED, NULL);
	/* A flipped bit in the signature. */
	memcpy(bad, der, dl);
	bad[dl - 3] ^= 0x01;
	blob_case(f, f->pub256, bad, dl, f->blob, SIG_NOT_VERIFIED, "sig.signature_invalid");
	/* secp256k1 key: refused whatever the signature. */
	k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	assert_non_null(k1);
	kp = path_in(f, "k1.pub");
	write_pub(k1, kp);
	dl = sign(k1, EVP_sha256(), blob_text, strlen(blob_text), der);
	blob_case(f, kp, der, dl, f->blob, SIG_NOT_VERIFIED, "sig.key_unsupported");
	EVP_PKEY_free(k1);
	/* Not a key at all; a missing key file is an error. */
	kp = path_in(f, "junk.pub");
	write_file(kp, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", 56);
	blob_case(f, kp, der, dl, f->blob, SIG_NOT_VERIFIED, "sig.key_invalid");
	blob_case(f, path_in(f, "absent.pub"), der, dl, f->blob, SIG_ERROR, "sig.io");
}

/* ---- bundles ------------------------------------------------------------------------------- */

static void write_bundle(struct fx *f, const char *path, EVP_PKEY *k, const char *hint,
			 const uint8_t digest[32], const char *material)
{
	uint8_t der[200];
	char sig64[300], d64[64], h64[48], *doc;
	size_t dl = sign(k, EVP_sha256(), blob_text, strlen(blob_text), der);
	(void)f;
	b64_encode(der, dl, sig64);
	b64_encode(digest, 32, d64);
	if (hint == NULL) {
		unsigned char *spki = NULL;
		uint8_t hd[32];
		int n = i2d_PUBKEY(k, &spki);
		sha256_digest(spki, (size_t)n, hd);
		OPENSSL_free(spki);
		b64_encode(hd, 32, h64);
		hint = h64;
	}
	assert_true(asprintf(&doc,
			     "{\"mediaType\":\"%s\",\"verificationMaterial\":{%s},"
			     "\"messageSignature\":{\"messageDigest\":{\"algorithm\":\"SHA2_256\","
			     "\"digest\":\"%s\"},\"signature\":\"%s\"}}",
			     SIG_MEDIA_TYPE_V03, material ? material : "", d64, sig64) > 0);
	if (material == NULL) {
		free(doc);
		assert_true(asprintf(&doc,
				     "{\"mediaType\":\"%s\",\"verificationMaterial\":{\"publicKey\":"
				     "{\"hint\":\"%s\"},\"tlogEntries\":[]},"
				     "\"messageSignature\":{\"messageDigest\":{\"algorithm\":"
				     "\"SHA2_256\",\"digest\":\"%s\"},\"signature\":\"%s\"}}",
				     SIG_MEDIA_TYPE_V03, hint, d64, sig64) > 0);
	}
	write_file(path, doc, strlen(doc));
	free(doc);
}

static void bundle_case(const char *key, const char *bundle, const char *blob,
			enum sig_status want, const char *reason)
{
	struct scan_report r;
	enum sig_status st;

	scan_report_init(&r);
	st = sig_verify_bundle(key, bundle, blob, &r);
	if (st != want || (reason && !scan_report_has(&r, reason, NULL)))
		scan_report_print(&r, stdout);
	assert_int_equal(st, want);
	if (reason)
		assert_true(scan_report_has(&r, reason, NULL));
	scan_report_free(&r);
}

static void test_bundle(void **state)
{
	struct fx *f = *state;
	uint8_t d[32], wrong[32];
	char *bp = path_in(f, "b.sigstore.json");

	sha256_digest(blob_text, strlen(blob_text), d);
	write_bundle(f, bp, f->k256, NULL, d, NULL);
	bundle_case(f->pub256, bp, f->blob, SIG_VERIFIED, "sig.verified");
	bundle_case(NULL, bp, f->blob, SIG_NOT_VERIFIED, "sig.no_key");
	bundle_case(f->pubother, bp, f->blob, SIG_NOT_VERIFIED, "sig.key_mismatch");
	/* Digest of another file. */
	memcpy(wrong, d, 32);
	wrong[0] ^= 1;
	write_bundle(f, bp, f->k256, NULL, wrong, NULL);
	bundle_case(f->pub256, bp, f->blob, SIG_NOT_VERIFIED, "sig.digest_mismatch");
	/* Hint of another key but signed by k256: refused before the signature. */
	write_bundle(f, bp, f->k256, "aGludA==", d, NULL);
	bundle_case(f->pub256, bp, f->blob, SIG_NOT_VERIFIED, "sig.key_mismatch");
	/* Certificate material and no key: Fulcio/Rekor are not checked offline. */
	write_bundle(f, bp, f->k256, NULL, d, "\"certificate\":{\"rawBytes\":\"MIIB\"}");
	bundle_case(NULL, bp, f->blob, SIG_NOT_VERIFIED, "sig.keyless_offline");
	write_file(bp, "{\"mediaType\":", 13);
	bundle_case(f->pub256, bp, f->blob, SIG_NOT_VERIFIED, "sig.bundle_malformed");
	write_file(bp, "{\"mediaType\":\"x\",\"mediaType\":\"y\"}", 33);
	bundle_case(f->pub256, bp, f->blob, SIG_NOT_VERIFIED, "sig.bundle_malformed");
}

/* ---- OpenSSF model signing ----------------------------------------------------------------- */

struct res {
	const char *name;
	uint8_t d[32];
};

static int cmp_resn(const void *a, const void *b)
{
	return strcmp(((const struct res *)a)->name, ((const struct res *)b)->name);
}

/* Writes model.sig for the files given (name, content) into dir, signed with k (P-384). */
static void sign_model(struct fx *f, const char *dir, const char *sigpath, EVP_PKEY *k,
		       struct res *res, size_t n, int corrupt_root, int tamper_payload,
		       int raw_key)
{
	struct buf st = BUF_INIT, pae = BUF_INIT, doc = BUF_INIT;
	struct sha256 h;
	uint8_t root[32], der[200];
	char hx[65], *p64, *s64, hint[65];
	size_t dl;
	BIO *bio;
	char *pem;
	long pl;

	(void)f;
	(void)dir;
	qsort(res, n, sizeof(*res), cmp_resn);
	sha256_init(&h);
	for (size_t i = 0; i < n; i++)
		sha256_update(&h, res[i].d, 32);
	sha256_final(&h, root);
	sha256_free(&h);
	if (corrupt_root)
		root[5] ^= 0x40;
	hex_encode(root, 32, hx);
	buf_printf(&st,
		   "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"m\","
		   "\"digest\":{\"sha256\":\"%s\"}}],\"predicateType\":\"%s\",\"predicate\":{"
		   "\"serialization\":{\"method\":\"files\",\"hash_type\":\"sha256\","
		   "\"allow_symlinks\":false,\"ignore_paths\":[\"model.sig\",\".git\"]},"
		   "\"resources\":[",
		   hx, SIG_MODEL_PREDICATE_V1);
	for (size_t i = 0; i < n; i++) {
		hex_encode(res[i].d, 32, hx);
		buf_printf(&st, "%s{\"name\":\"%s\",\"algorithm\":\"sha256\",\"digest\":\"%s\"}",
			   i ? "," : "", res[i].name, hx);
	}
	buf_printf(&st, "]}}");
	sig_dsse_pae(SIG_INTOTO_PAYLOAD_TYPE, (const uint8_t *)st.data, st.len, &pae);
	dl = sign(k, EVP_sha384(), pae.data, pae.len, der);
	if (tamper_payload)
		st.data[st.len - 5] = ' '; /* after signing */
	p64 = malloc(st.len * 2 + 8);
	s64 = malloc(400);
	b64_encode((const uint8_t *)st.data, st.len, p64);
	b64_encode(der, dl, s64);
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, k);
	pl = BIO_get_mem_data(bio, &pem);
	if (raw_key) {
		char *raw = malloc((size_t)pl * 2 + 8);
		b64_encode((const uint8_t *)pem, (size_t)pl, raw);
		buf_printf(&doc,
			   "{\"mediaType\":\"%s\",\"verificationMaterial\":{\"publicKey\":{"
			   "\"rawBytes\":\"%s\",\"keyDetails\":\"PKIX_ECDSA_P384_SHA_384\"}},",
			   SIG_MEDIA_TYPE_V03, raw);
		free(raw);
	} else {
		uint8_t hd[32];
		sha256_digest(pem, (size_t)pl, hd);
		hex_encode(hd, 32, hint);
		buf_printf(&doc,
			   "{\"mediaType\":\"%s\",\"verificationMaterial\":{\"publicKey\":{"
			   "\"hint\":\"%s\"},\"tlogEntries\":[]},",
			   SIG_MEDIA_TYPE_V03, hint);
	}
	buf_printf(&doc,
		   "\"dsseEnvelope\":{\"payload\":\"%s\",\"payloadType\":\"%s\","
		   "\"signatures\":[{\"sig\":\"%s\",\"keyid\":\"\"}]}}",
		   p64, SIG_INTOTO_PAYLOAD_TYPE, s64);
	write_file(sigpath, doc.data, doc.len);
	BIO_free(bio);
	free(p64);
	free(s64);
	buf_free(&st);
	buf_free(&pae);
	buf_free(&doc);
}

static void model_case(const char *key, const char *sig, const char *model, enum sig_status want,
		       const char *reason, const char *subject)
{
	struct sig_model_opts o = {.key_path = key, .sig_path = sig, .model_path = model};
	struct scan_report r;
	enum sig_status st;

	scan_report_init(&r);
	st = sig_verify_model(&o, &r);
	if (st != want || (reason && !scan_report_has(&r, reason, subject)))
		scan_report_print(&r, stdout);
	assert_int_equal(st, want);
	if (reason)
		assert_true(scan_report_has(&r, reason, subject));
	scan_report_free(&r);
}

static void make_model(struct fx *f, char *model, size_t cap, struct res *res)
{
	char p[PATH_MAX];
	snprintf(model, cap, "%s/model", f->dir);
	mkdir(model, 0755);
	snprintf(p, sizeof(p), "%s/sub", model);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/weights.gguf", model);
	write_file(p, "GGUF-weights", 12);
	snprintf(p, sizeof(p), "%s/sub/config.json", model);
	write_file(p, "{}", 2);
	snprintf(p, sizeof(p), "%s/empty", model);
	write_file(p, "", 0);
	res[0].name = "weights.gguf";
	sha256_digest("GGUF-weights", 12, res[0].d);
	res[1].name = "sub/config.json";
	sha256_digest("{}", 2, res[1].d);
	res[2].name = "empty";
	sha256_digest("", 0, res[2].d);
}

static void test_model(void **state)
{
	struct fx *f = *state;
	char model[PATH_MAX], sig[PATH_MAX], p[PATH_MAX], q[PATH_MAX];
	struct res res[3];

	make_model(f, model, sizeof(model), res);
	snprintf(sig, sizeof(sig), "%s/model.sig", model);
	sign_model(f, model, sig, f->k384, res, 3, 0, 0, 0);
	model_case(f->pub384, NULL, model, SIG_VERIFIED, "sig.verified", NULL);
	model_case(f->pub256, NULL, model, SIG_NOT_VERIFIED, "sig.key_mismatch", NULL);
	/* .git is excluded by default. */
	snprintf(p, sizeof(p), "%s/.git", model);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/.git/HEAD", model);
	write_file(p, "ref", 3);
	model_case(f->pub384, NULL, model, SIG_VERIFIED, "sig.verified", NULL);
	/* Extra file. */
	snprintf(p, sizeof(p), "%s/sub/extra.py", model);
	write_file(p, "import os", 9);
	model_case(f->pub384, NULL, model, SIG_NOT_VERIFIED, "sig.file_extra", "sub/extra.py");
	unlink(p);
	/* Changed file. */
	snprintf(p, sizeof(p), "%s/weights.gguf", model);
	write_file(p, "GGUF-weightz", 12);
	model_case(f->pub384, NULL, model, SIG_NOT_VERIFIED, "sig.file_changed", "weights.gguf");
	/* Missing file. */
	unlink(p);
	model_case(f->pub384, NULL, model, SIG_NOT_VERIFIED, "sig.file_missing", "weights.gguf");
	write_file(p, "GGUF-weights", 12);
	model_case(f->pub384, NULL, model, SIG_VERIFIED, NULL, NULL);
	/* Symlink, even to a signed file. */
	snprintf(q, sizeof(q), "%s/link", model);
	assert_int_equal(symlink("weights.gguf", q), 0);
	model_case(f->pub384, NULL, model, SIG_NOT_VERIFIED, "sig.symlink", "link");
	/* ... unless the user ignores it. */
	{
		const char *ign[] = {"link"};
		struct sig_model_opts o = {.key_path = f->pub384, .model_path = model,
					   .ignore = ign, .n_ignore = 1};
		struct scan_report r;
		scan_report_init(&r);
		assert_int_equal(sig_verify_model(&o, &r), SIG_VERIFIED);
		scan_report_free(&r);
	}
	unlink(q);
	/* The DSSE payload changed after signing. */
	sign_model(f, model, sig, f->k384, res, 3, 0, 1, 0);
	model_case(f->pub384, NULL, model, SIG_NOT_VERIFIED, "sig.signature_invalid", NULL);
	/* Subject digest not the root of the resources (signed like that). */
	sign_model(f, model, sig, f->k384, res, 3, 1, 0, 0);
	model_case(f->pub384, NULL, model, SIG_NOT_VERIFIED, "sig.manifest_inconsistent", NULL);
	/* Pre-1.1 form: publicKey.rawBytes; the signature outside the folder. */
	snprintf(q, sizeof(q), "%s/outside.sig", f->dir);
	sign_model(f, model, q, f->k384, res, 3, 0, 0, 1);
	unlink(sig);
	model_case(f->pub384, q, model, SIG_VERIFIED, "sig.verified", NULL);
	model_case(f->pubother, q, model, SIG_NOT_VERIFIED, "sig.key_mismatch", NULL);
	/* Not a bundle at all. */
	write_file(q, "[]", 2);
	model_case(f->pub384, q, model, SIG_NOT_VERIFIED, "sig.bundle_malformed", NULL);
}

static void test_statement_parse(void **state)
{
	struct sig_statement st;
	char reason[SCAN_REASON_MAX], why[128];
	const char *legacy = "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[],"
			     "\"predicateType\":\"https://model_signing/Digests/v0.1\"}";
	const char *shards =
	    "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"m\","
	    "\"digest\":{\"sha256\":"
	    "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}}],"
	    "\"predicateType\":\"https://model_signing/signature/v1.0\",\"predicate\":{"
	    "\"serialization\":{\"method\":\"shards\",\"hash_type\":\"sha256\"},\"resources\":[]}}";
	(void)state;
	assert_int_equal(sig_statement_parse((const uint8_t *)legacy, strlen(legacy), &st, reason,
					     why, sizeof(why)),
			 -1);
	assert_string_equal(reason, "sig.unsupported");
	assert_int_equal(sig_statement_parse((const uint8_t *)shards, strlen(shards), &st, reason,
					     why, sizeof(why)),
			 -1);
	assert_string_equal(reason, "sig.unsupported");
	assert_int_equal(sig_statement_parse((const uint8_t *)"{", 1, &st, reason, why, sizeof(why)),
			 -1);
	assert_string_equal(reason, "sig.statement_invalid");
}

/* ---- the shared samples -------------------------------------------------------------------- */

static void shared_path(const char *shared, const char *rel, char *out, size_t cap)
{
	/* Entries say "shared/scanner-samples/..." for blobs/keys and "public/..." for paths. */
	if (strncmp(rel, "shared/", 7) == 0)
		snprintf(out, cap, "%s/%s", shared, rel + 7);
	else
		snprintf(out, cap, "%s/scanner-samples/%s", shared, rel);
}

static void test_shared_manifest(void **state)
{
	const char *shared = test_shared_dir();
	char mp[PATH_MAX], err[128], *data = NULL;
	size_t len = 0, n_checked = 0;
	json_t *root, *entries;
	FILE *fp;

	(void)state;
	if (shared == NULL) {
		printf("SKIP: signature samples (SECAI_SHARED not found)\n");
		skip();
	}
	snprintf(mp, sizeof(mp), "%s/scanner-samples/manifest.json", shared);
	fp = fopen(mp, "rb");
	if (fp == NULL) {
		printf("SKIP: %s absent\n", mp);
		skip();
	}
	data = malloc(1 << 20);
	len = fread(data, 1, 1 << 20, fp);
	fclose(fp);
	root = json_parse_object(data, len, 1 << 20, err, sizeof(err));
	assert_non_null(root);
	entries = json_object_get(root, "entries");
	for (size_t i = 0; i < json_array_size(entries); i++) {
		const json_t *e = json_array_get(entries, i);
		const char *fmt = json_get_string(e, "format"), *want = json_get_string(e, "expected_verdict");
		const char *key = json_get_string(e, "public_key");
		char path[PATH_MAX], kp[PATH_MAX], other[PATH_MAX];
		struct scan_report r;
		enum sig_status st;
		if (fmt == NULL || (strcmp(fmt, "cosign-blob-signature") != 0 &&
				    strcmp(fmt, "sigstore-bundle-v0.3") != 0 &&
				    strcmp(fmt, "openssf-model-signing") != 0))
			continue;
		shared_path(shared, json_get_string(e, "path"), path, sizeof(path));
		if (key)
			shared_path(shared, key, kp, sizeof(kp));
		scan_report_init(&r);
		if (strcmp(fmt, "openssf-model-signing") == 0) {
			const json_t *ig = json_object_get(e, "verify_extra_ignore_paths");
			const char *ign[8];
			struct sig_model_opts o = {.key_path = kp, .sig_path = path};
			shared_path(shared, json_get_string(e, "model_path"), other, sizeof(other));
			o.model_path = other;
			for (size_t k = 0; k < json_array_size(ig) && k < 8; k++)
				ign[o.n_ignore++] = json_string_value(json_array_get(ig, k));
			o.ignore = ign;
			st = sig_verify_model(&o, &r);
		} else {
			shared_path(shared, json_get_string(e, "blob"), other, sizeof(other));
			if (strcmp(fmt, "cosign-blob-signature") == 0)
				st = sig_verify_blob(kp, path, other, &r);
			else
				st = sig_verify_bundle(key ? kp : NULL, path, other, &r);
		}
		printf("  %-70s %s -> %s\n", json_get_string(e, "path"), want,
		       st == SIG_VERIFIED ? "verify-ok" : "verify-fail");
		if ((st == SIG_VERIFIED) != (strcmp(want, "verify-ok") == 0))
			scan_report_print(&r, stdout);
		assert_int_equal(st == SIG_VERIFIED, strcmp(want, "verify-ok") == 0);
		if (st != SIG_VERIFIED)
			assert_int_equal(st, SIG_NOT_VERIFIED);
		scan_report_free(&r);
		n_checked++;
	}
	assert_int_equal(n_checked, 10);
	json_decref(root);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_blob_forms, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_blob_high_s, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_blob_failures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bundle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_model, setup, teardown),
	    cmocka_unit_test(test_statement_parse),
	    cmocka_unit_test(test_shared_manifest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
