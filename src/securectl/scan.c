/*
 * scan.c — `securectl scan PATH [--json] [--manifest OUT | --verify-manifest FILE]`: the model
 * scanners on a file or a model folder, and the per-tensor integrity manifest of a model file.
 *
 * Owns: the command line, the exit status (0 clean, 2 rejected, 1 error, 64 usage) and printing
 * the report (text, or the stable JSON of scan_report_json()).
 * Never: decides anything itself (src/lib/scan/ does), or prints bytes from a file unescaped.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "scan/folder.h"
#include "scan/formatgate.h"
#include "scan/manifest.h"
#include "sha256.h"
#include "scan/scan.h"
#include "securectl/securectl.h"

#define PROGRESS_MIN (64ull << 20)

static void usage(FILE *fp)
{
	fprintf(fp, "usage: securectl scan PATH [--json] [--manifest OUT | --verify-manifest FILE]\n"
		    "Scans a model file or folder: format gate by content (GGUF and safetensors only),\n"
		    "strict structure checks, pickle imports of rejected files, weight statistics,\n"
		    "metadata and embedded payloads, folder rules.\n"
		    "  --manifest OUT         (a model file) also write its per-tensor manifest: each\n"
		    "                         tensor's SHA-256, their Merkle root, and a structure hash\n"
		    "                         that ignores tensor order (docs/signatures.md)\n"
		    "  --verify-manifest FILE compare the model with a manifest; changed, reshaped,\n"
		    "                         missing and added tensors are named (rejected)\n"
		    "Exit status: 0 clean, 2 rejected, 1 error.\n");
}

static int finish(struct scan_report *r, const char *target, bool json)
{
	enum scan_verdict v = scan_report_verdict(r);

	if (json) {
		struct buf b = BUF_INIT;

		if (scan_report_json(r, target, &b) != 0) {
			buf_free(&b);
			scan_report_free(r);
			fprintf(stderr, "securectl scan: out of memory\n");
			return 1;
		}
		fwrite(b.data, 1, b.len, stdout);
		buf_free(&b);
	} else {
		scan_report_print(r, stdout);
		printf("%s: %s (%zu files, %zu findings)\n", target, scan_verdict_name(v), r->n_files,
		       r->n + r->n_dropped);
	}
	scan_report_free(r);
	return v == SCAN_CLEAN ? 0 : v == SCAN_REJECTED ? 2 : 1;
}

/* One file: the scan, and from the same statistics pass the manifest written or compared. */
static int scan_with_manifest(const char *path, const char *out, const char *in, bool json)
{
	struct scan_report r;
	struct wstats ws;
	struct manifest actual, expected;
	struct stat st;
	char err[256], root[65], structure[65];
	FILE *msg = json ? stderr : stdout;

	memset(&actual, 0, sizeof(actual));
	memset(&expected, 0, sizeof(expected));
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "securectl scan: --manifest and --verify-manifest take one model file "
				"(GGUF or safetensors), not %s\n",
			path);
		return SECURECTL_EX_USAGE;
	}
	if (in != NULL && manifest_load(in, &expected, err, sizeof(err)) != 0) {
		fprintf(stderr, "securectl scan: manifest %s: %s\n", in, err);
		return 1;
	}
	scan_report_init(&r);
	r.progress_min = PROGRESS_MIN;
	if (scan_file_stats(path, 0, &r, NULL, &ws) < 0 && !r.any)
		scan_report_add(&r, "scan.error", SCAN_SEV_ERROR, path, SCAN_OFFSET_NONE, NULL,
				"scan failed (out of memory or I/O)");
	if (ws.n == 0) {
		scan_report_add(&r, "manifest.unavailable", SCAN_SEV_ERROR, path, SCAN_OFFSET_NONE,
				NULL, "no manifest: the file is not a valid GGUF or safetensors model");
	} else if (manifest_from_wstats(&ws, &actual) != 0) {
		scan_report_add(&r, "scan.error", SCAN_SEV_ERROR, path, SCAN_OFFSET_NONE, NULL,
				"out of memory building the manifest");
	} else {
		hex_encode(actual.merkle_root, 32, root);
		hex_encode(actual.structure, 32, structure);
		if (out != NULL) {
			const char *base = strrchr(path, '/');
			if (manifest_write(&actual, base ? base + 1 : path, out) != 0)
				scan_report_add(&r, "manifest.io", SCAN_SEV_ERROR, out,
						SCAN_OFFSET_NONE, NULL, "cannot write: %s",
						strerror(errno));
			else
				fprintf(msg, "manifest: %zu tensors, merkle root %s, structure %s -> "
					     "%s\n",
					actual.n, root, structure, out);
		}
		if (in != NULL) {
			int diff = manifest_verify(&expected, &actual, &r, path);
			fprintf(msg, "manifest %s: %s\n", in,
				diff == 0 ? "every tensor matches" : "the model differs (see above)");
		}
	}
	wstats_free(&ws);
	manifest_free(&actual);
	manifest_free(&expected);
	return finish(&r, path, json);
}

int scan_main(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					     {"manifest", required_argument, NULL, 'm'},
					     {"verify-manifest", required_argument, NULL, 'v'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *manifest_out = NULL, *manifest_in = NULL;
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
		case 'm':
			manifest_out = optarg;
			break;
		case 'v':
			manifest_in = optarg;
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
	if (manifest_out != NULL || manifest_in != NULL)
		return scan_with_manifest(argv[optind], manifest_out, manifest_in, json);
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
