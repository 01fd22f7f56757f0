/*
 * demo.c — the demo model `securectl up` serves when no model is configured.
 *
 * The project writes it itself (tools/gen_model's "demo" preset: a small random-weight llama
 * model, ChatML, ~3.6 MB), then admits it the way any model is admitted as far as the landed
 * parts allow: the format gate and static scan of src/lib/scan must call it clean, its SHA-256
 * is recorded when it is written (secai-demo.gguf.sha256) and checked on every later start — a
 * changed file is refused, not re-pinned — and handed to secai-infer as the pin; the admission
 * is an audit event. Written atomically (temp file, fsync, rename): an interrupted `up` leaves no
 * half model behind.
 * Owns: STATE/models/demo/. Never: serves a file the scanner rejected.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_client.h"
#include "fsutil.h"
#include "infer/modelgen.h"
#include "log.h"
#include "scan/folder.h"
#include "scan/scan.h"
#include "securectl/demo.h"
#include "sha256.h"

static int hash_file(const char *path, char hex[65])
{
	uint8_t h[SHA256_LEN];
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = sha256_fd(fd, h);
	close(fd);
	if (rc == 0)
		hex_encode(h, SHA256_LEN, hex);
	return rc;
}

int demo_model_ensure(const struct secai_config *cfg, char *path, size_t pathlen,
		      char sha[65], char *err, size_t errlen)
{
	char dir[4200], tmp[4300], pinpath[4300], spool[4200], aerr[256], *pin = NULL;
	size_t pinlen = 0;
	struct modelgen_params p;
	struct scan_report r;
	struct stat st;
	int generated = 0;

	snprintf(dir, sizeof(dir), "%s/models/demo", cfg->state_dir);
	snprintf(path, pathlen, "%s/secai-demo.gguf", dir);
	snprintf(pinpath, sizeof(pinpath), "%s/secai-demo.gguf.sha256", dir);
	if (fs_mkdir_p(dir, 0700) != 0) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(path, &st) != 0) {
		snprintf(tmp, sizeof(tmp), "%s/.secai-demo.gguf.tmp", dir);
		if (modelgen_preset("demo", &p) != 0 || modelgen_write(&p, tmp, err, errlen) != 0)
			return -1;
		int fd = open(tmp, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) != 0 || rename(tmp, path) != 0 || fs_fsync_dir(dir) != 0) {
			snprintf(err, errlen, "cannot store %s: %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			unlink(tmp);
			return -1;
		}
		close(fd);
		generated = 1;
		log_info("demo model written: %s", path);
		if (hash_file(path, sha) != 0 || fs_atomic_write(pinpath, sha, 64, 0600) != 0) {
			snprintf(err, errlen, "cannot pin %s: %s", path, strerror(errno));
			return -1;
		}
	}
	/* the checks of the quarantine's format gate and static scan */
	scan_report_init(&r);
	if (scan_path(path, &r) != 0 || scan_report_verdict(&r) != SCAN_CLEAN) {
		fprintf(stderr, "securectl up: the demo model %s did not pass the scan:\n", path);
		scan_report_print(&r, stderr);
		scan_report_free(&r);
		snprintf(err, errlen, "the demo model was rejected by the scanner (remove %s to "
				      "regenerate it)",
			 path);
		return -1;
	}
	size_t findings = r.n;
	scan_report_free(&r);
	if (hash_file(path, sha) != 0) {
		snprintf(err, errlen, "cannot hash %s: %s", path, strerror(errno));
		return -1;
	}
	if (fs_read_file(pinpath, 128, &pin, &pinlen) != 0 || pinlen < 64 ||
	    memcmp(pin, sha, 64) != 0) {
		snprintf(err, errlen, "%s does not match the SHA-256 pinned when it was written (%s): "
				      "refusing it; delete %s to have a new demo model written",
			 path, pin == NULL ? "no pin file" : "hash differs", dir);
		free(pin);
		return -1;
	}
	free(pin);
	snprintf(spool, sizeof(spool), "%s/audit/spool", cfg->state_dir);
	json_t *d = json_pack("{s:s, s:s, s:b, s:s, s:I}", "path", path, "sha256", sha, "generated",
			      generated, "scan", "clean", "findings", (json_int_t)findings);
	if (audit_emit(cfg->audit.socket, spool, "model.demo_admitted", d, aerr, sizeof(aerr)) < 0)
		log_warnx("audit: %s", aerr);
	json_decref(d);
	return 0;
}
