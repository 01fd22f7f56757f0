/*
 * scan.c — `securectl scan PATH [--json]`: the model scanners on a file or a model folder.
 *
 * Owns: the command line, the exit status (0 clean, 2 rejected, 1 error, 64 usage) and printing
 * the report (text, or the stable JSON of scan_report_json()).
 * Never: decides anything itself (src/lib/scan/ does), or prints bytes from a file unescaped.
 */
#include <getopt.h>
#include <string.h>

#include "buf.h"
#include "scan/folder.h"
#include "scan/scan.h"
#include "securectl/securectl.h"

#define PROGRESS_MIN (64ull << 20)

static void usage(FILE *fp)
{
	fprintf(fp, "usage: securectl scan PATH [--json]\n"
		    "Scans a model file or folder: format gate by content (GGUF and safetensors only),\n"
		    "strict structure checks, pickle imports of rejected files, folder rules.\n"
		    "Exit status: 0 clean, 2 rejected, 1 error.\n");
}

int scan_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct scan_report r;
	enum scan_verdict v;
	bool json = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return SECURECTL_EX_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return SECURECTL_EX_USAGE;
	}
	scan_report_init(&r);
	r.progress_min = PROGRESS_MIN;
	if (scan_path(argv[optind], &r) < 0 && !r.any)
		scan_report_add(&r, "scan.error", SCAN_SEV_ERROR, argv[optind], SCAN_OFFSET_NONE,
				NULL, "scan failed (out of memory or I/O)");
	v = scan_report_verdict(&r);
	if (json) {
		struct buf b = BUF_INIT;

		if (scan_report_json(&r, argv[optind], &b) != 0) {
			buf_free(&b);
			scan_report_free(&r);
			fprintf(stderr, "securectl scan: out of memory\n");
			return 1;
		}
		fwrite(b.data, 1, b.len, stdout);
		buf_free(&b);
	} else {
		scan_report_print(&r, stdout);
		printf("%s: %s (%zu files, %zu findings)\n", argv[optind], scan_verdict_name(v),
		       r.n_files, r.n + r.n_dropped);
	}
	scan_report_free(&r);
	return v == SCAN_CLEAN ? 0 : v == SCAN_REJECTED ? 2 : 1;
}
