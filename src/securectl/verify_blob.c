/*
 * verify_blob.c — `securectl verify-blob`: a cosign `sign-blob` key signature or a Sigstore
 * bundle v0.3 over one file, checked offline (src/lib/scan/sig.h does the work).
 *
 * Owns: the command line and how the result is shown (text or JSON report).
 * Never: verifies anything itself, or goes online (Rekor, Fulcio, TUF are never contacted; a
 * keyless bundle is reported as not verifiable offline).
 * Exit: 0 verified, 2 not verified (reason shown), 1 error (could not read), 64 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "scan/sig.h"
#include "securectl/securectl.h"

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: securectl verify-blob --key KEY.pub --signature FILE.sig [--json] FILE\n"
		"       securectl verify-blob [--key KEY.pub] --bundle FILE.sigstore.json [--json] "
		"FILE\n"
		"Verifies offline a cosign sign-blob signature (ECDSA P-256/P-384/P-521 over\n"
		"SHA-256; base64 with or without newline, raw DER or r||s) or a Sigstore bundle\n"
		"(messageSignature; its digest must be the file's). Transparency-log entries and\n"
		"certificate chains are not verified offline: a bundle needs --key.\n"
		"Exit status: 0 verified, 2 not verified, 1 error.\n");
}

/* Prints the report and the one-line verdict; shared with verify-model. */
int verify_print_result(const struct scan_report *r, int st, const char *target, int json)
{
	struct buf out = BUF_INIT;
	const char *why = NULL;

	if (json) {
		if (scan_report_json(r, target, &out) == 0)
			fputs(out.data ? out.data : "", stdout);
		buf_free(&out);
		fputc('\n', stdout);
		return st;
	}
	scan_report_print(r, stdout);
	for (size_t i = 0; i < r->n && why == NULL; i++)
		if (r->items[i].severity >= SCAN_SEV_ERROR)
			why = r->items[i].reason;
	if (st == SIG_VERIFIED)
		printf("%s: verified\n", target);
	else if (st == SIG_NOT_VERIFIED)
		printf("%s: NOT verified (%s)\n", target, why ? why : "refused");
	else
		printf("%s: error (%s)\n", target, why ? why : "could not check");
	return st;
}

int verify_blob_main(int argc, char **argv)
{
	static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
					     {"signature", required_argument, NULL, 's'},
					     {"bundle", required_argument, NULL, 'b'},
					     {"json", no_argument, NULL, 'j'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *key = NULL, *sig = NULL, *bundle = NULL;
	struct scan_report r;
	enum sig_status st;
	int c, json = 0, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "k:s:b:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			key = optarg;
			break;
		case 's':
			sig = optarg;
			break;
		case 'b':
			bundle = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return SECURECTL_EX_USAGE;
		}
	}
	if (optind != argc - 1 || (sig == NULL) == (bundle == NULL) || (sig && key == NULL)) {
		usage(stderr);
		return SECURECTL_EX_USAGE;
	}
	scan_report_init(&r);
	if (sig != NULL)
		st = sig_verify_blob(key, sig, argv[optind], &r);
	else
		st = sig_verify_bundle(key, bundle, argv[optind], &r);
	rc = verify_print_result(&r, st, argv[optind], json);
	scan_report_free(&r);
	return rc;
}
