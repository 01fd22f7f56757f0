/*
 * fuzz_sig.c — libFuzzer harness for the signature parsers: cosign .sig decoding (base64 / DER /
 * r||s), Sigstore bundle JSON, DSSE envelope + in-toto statement, and a bundle verification
 * against a fixed key and digest. The first byte picks the parser.
 *
 * Owns: nothing but the harness. Never: touches files or the network.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "scan/sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char pem[] = "-----BEGIN PUBLIC KEY-----\n"
			  "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAExRRST79+PsrRBnGAI4cMu6Omz2Jh\n"
			  "fwlMW+gIutNKVRaMyS4rQKvgngc5p8UbLj55pVHhIoAxi/SRgURZI0J3Xw==\n"
			  "-----END PUBLIC KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_report r;
	struct sig_key *k = NULL;
	uint8_t digest[32] = {0}, *der = NULL;
	size_t derlen = 0;
	bool high_s;
	char why[192], reason[SCAN_REASON_MAX];

	if (size < 1 || size > (1u << 20))
		return 0;
	scan_report_init(&r);
	if (sig_key_load_pem(pem, sizeof(pem) - 1, &k, &r, "key") != SIG_VERIFIED)
		abort();
	switch (data[0] % 5) {
	case 0:
		if (sig_decode_signature(data + 1, size - 1, k, &der, &derlen, &high_s, why,
					 sizeof(why)) == 0)
			free(der);
		break;
	case 1: {
		struct sig_bundle b;
		if (sig_bundle_parse((const char *)data + 1, size - 1, &b, why, sizeof(why)) == 0)
			sig_bundle_free(&b);
		break;
	}
	case 2: {
		struct sig_statement st;
		if (sig_statement_parse(data + 1, size - 1, &st, reason, why, sizeof(why)) == 0)
			sig_statement_free(&st);
		break;
	}
	case 3:
		sig_verify_bundle_mem(k, (const char *)data + 1, size - 1, digest, 32,
				      NID_sha256, &r, "bundle");
		break;
	default: {
		struct sig_key *k2 = NULL;
		if (sig_key_load_pem(data + 1, size - 1, &k2, &r, "key2") == SIG_VERIFIED)
			sig_key_free(k2);
		sig_verify_blob_mem(k, data + 1, size - 1, (const uint8_t *)"blob", 4, &r, "blob");
		break;
	}
	}
	sig_key_free(k);
	scan_report_free(&r);
	return 0;
}
