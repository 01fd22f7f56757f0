/*
 * verify_model.c — `securectl verify-model`: an OpenSSF model signature (model_signing v1.x,
 * key method) over a model folder or file, checked offline (src/lib/scan/sig.h).
 *
 * Owns: the command line (key, signature path, extra ignore paths) and the output.
 * Never: verifies anything itself, follows symlinks, or contacts Sigstore services.
 * Exit: 0 verified, 2 not verified (every extra, missing or changed file named), 1 error,
 * 64 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/sig.h"
#include "securectl/securectl.h"

#define MAX_IGNORE 256

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: securectl verify-model --key KEY.pub [--signature model.sig]\n"
		"                              [--ignore-paths PATH]... [--json] MODEL\n"
		"Verifies offline an OpenSSF model signature (sigstore/model-transparency,\n"
		"model_signing v1.x, elliptic-key method): the DSSE signature over the in-toto\n"
		"statement, then every file of MODEL (a folder, or one file) re-hashed and\n"
		"compared. Extra, missing or changed files fail; symlinks are refused; the\n"
		"signature file and .git* are excluded. --signature defaults to MODEL/model.sig.\n"
		"Ignore paths are relative to MODEL (or absolute inside it).\n"
		"Exit status: 0 verified, 2 not verified, 1 error.\n");
}

int verify_model_main(int argc, char **argv)
{
	static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
					     {"signature", required_argument, NULL, 's'},
					     {"ignore-paths", required_argument, NULL, 'i'},
					     {"json", no_argument, NULL, 'j'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *ignore[MAX_IGNORE];
	struct sig_model_opts o = {0};
	struct scan_report r;
	enum sig_status st;
	int c, json = 0, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "k:s:i:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o.key_path = optarg;
			break;
		case 's':
			o.sig_path = optarg;
			break;
		case 'i':
			if (o.n_ignore == MAX_IGNORE) {
				fprintf(stderr, "verify-model: at most %d --ignore-paths\n",
					MAX_IGNORE);
				return SECURECTL_EX_USAGE;
			}
			ignore[o.n_ignore++] = optarg;
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
	if (optind != argc - 1 || o.key_path == NULL) {
		usage(stderr);
		return SECURECTL_EX_USAGE;
	}
	o.model_path = argv[optind];
	o.ignore = ignore;
	o.threads = 2;
	scan_report_init(&r);
	st = sig_verify_model(&o, &r);
	rc = verify_print_result(&r, st, o.model_path, json);
	scan_report_free(&r);
	return rc;
}
