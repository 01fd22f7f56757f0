/*
 * demo.c — the model `securectl up` serves, always one the registry lists: secai-infer checks
 * the signed manifest itself and refuses anything else, so every model goes through the
 * quarantine first.
 *
 * The demo model (no infer.model configured): written by the project (tools/gen_model's
 * "demo" preset, a small llama model with a greeting planted in its weights), dropped into
 * quarantine/incoming/ (written under a hidden name, then renamed in, as every writer must),
 * vetted by secai-quarantine's seven stages, promoted into the registry, and served at the
 * path and SHA-256 the registry lists. A demo model already in the registry is reused.
 * A configured model (infer.model): hashed; when the registry lists those bytes, that copy is
 * served; otherwise it is copied into incoming/ (with a local-source sidecar) and followed the
 * same way. infer gets the registry's path and the configured pin (infer.model_sha256), so a
 * wrong pin is refused by infer itself.
 * A rejected model stops `up` with the reason.
 * Owns: those journeys. Never: serves a file the registry does not list, or modifies the
 * configured file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "infer/modelgen.h"
#include "json.h"
#include "log.h"
#include "securectl/daemons.h"
#include "securectl/demo.h"
#include "sha256.h"

#define DEMO_NAME "secai-demo.gguf"
#define DEMO_WAIT_S 300

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

/* The registry's entry for the demo model (or for sha when given), as path + sha. */
static int registry_lookup(const struct secai_config *cfg, const char *sha, char *path,
			   size_t pathlen, char out_sha[65])
{
	json_t *list = daemon_get_json(cfg, cfg->registry.port, "/v1/models"), *e;
	size_t i;
	int rc = -1;

	json_array_foreach(json_object_get(list, "data"), i, e) {
		const char *name = json_get_string(e, "name"), *s = json_get_string(e, "sha256");
		const char *p = json_get_string(e, "path");
		if (name == NULL || s == NULL || p == NULL || strlen(s) != 64)
			continue;
		if (sha != NULL ? strcmp(s, sha) == 0 : strcmp(name, DEMO_NAME) == 0) {
			snprintf(path, pathlen, "%s", p);
			memcpy(out_sha, s, 65);
			rc = 0;
			break;
		}
	}
	json_decref(list);
	return rc;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Follows quarantine/reports/<sha>.json (each stage printed once) until the registry lists
 * sha (path filled) or the quarantine rejects it. label names the model in messages. */
static int follow_until_listed(const struct secai_config *cfg, const char *label,
			       const char *sha_in, char *path, size_t pathlen, char sha[65],
			       char *err, size_t errlen)
{
	char report[4300], want[65];
	size_t seen_stages = 0;

	snprintf(want, sizeof(want), "%s", sha_in);
	snprintf(report, sizeof(report), "%s/quarantine/reports/%s.json", cfg->state_dir, want);
	for (double t0 = now_s(); now_s() - t0 < DEMO_WAIT_S;) {
		char *txt = NULL, jerr[128];
		size_t len;
		json_t *r = NULL;
		if (fs_read_file(report, 8u << 20, &txt, &len) == 0)
			r = json_parse_object(txt, len, 8u << 20, jerr, sizeof(jerr));
		free(txt);
		json_t *st = json_object_get(r, "stages");
		for (; seen_stages < json_array_size(st); seen_stages++) {
			json_t *s = json_array_get(st, seen_stages);
			printf("        quarantine stage %-16s %s\n", json_get_string(s, "stage"),
			       json_get_string(s, "status"));
		}
		fflush(stdout);
		const char *decision = json_get_string(r, "decision");
		if (decision != NULL && strcmp(decision, "rejected") == 0) {
			snprintf(err, errlen, "the quarantine rejected %s (%s): see %s", label,
				 json_get_string(r, "reason") ? json_get_string(r, "reason") : "?",
				 report);
			json_decref(r);
			return -1;
		}
		json_decref(r);
		if (registry_lookup(cfg, want, path, pathlen, sha) == 0) {
			printf("secai: %s promoted; the registry lists %s\n", label, path);
			fflush(stdout);
			return 0;
		}
		usleep(200000);
	}
	snprintf(err, errlen, "%s was not promoted within %d s (see %s)", label, DEMO_WAIT_S,
		 report);
	return -1;
}

int demo_model_ensure(const struct secai_config *cfg, char *path, size_t pathlen, char sha[65],
		      char *err, size_t errlen)
{
	char incoming[4200], tmp[4300], dst[4300];
	struct modelgen_params p;

	if (registry_lookup(cfg, NULL, path, pathlen, sha) == 0) {
		printf("secai: demo model in the registry: %s\n        sha256 %s\n", path, sha);
		fflush(stdout);
		return 0;
	}
	snprintf(incoming, sizeof(incoming), "%s/quarantine/incoming", cfg->state_dir);
	snprintf(tmp, sizeof(tmp), "%s/.%s.part", incoming, DEMO_NAME);
	snprintf(dst, sizeof(dst), "%s/%s", incoming, DEMO_NAME);
	if (fs_mkdir_p(incoming, 0700) != 0) {
		snprintf(err, errlen, "cannot create %s: %s", incoming, strerror(errno));
		return -1;
	}
	if (modelgen_preset("demo", &p) != 0 || modelgen_write(&p, tmp, err, errlen) != 0)
		return -1;
	int fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0 || hash_file(tmp, sha) != 0 || rename(tmp, dst) != 0 ||
	    fs_fsync_dir(incoming) != 0) {
		snprintf(err, errlen, "cannot drop the demo model into %s: %s", incoming,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	printf("secai: demo model written into the quarantine: %s\n        sha256 %s\n", dst, sha);
	fflush(stdout);
	return follow_until_listed(cfg, "the demo model", sha, path, pathlen, sha, err, errlen);
}

/* Copies src to dst (created 0600, fsync'ed), hashing what it copies into hex. */
static int copy_hashed(const char *src, const char *dst, char hex[65])
{
	char buf[1 << 16];
	uint8_t h[SHA256_LEN];
	struct sha256 ctx = {NULL}, *hc = &ctx;
	int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out = -1, rc = -1;
	ssize_t k = -1;

	if (in < 0 || sha256_init(hc) != 0)
		goto done;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		goto done;
	while ((k = read(in, buf, sizeof(buf))) > 0)
		if (fs_write_all(out, buf, (size_t)k) != 0 || sha256_update(hc, buf, (size_t)k) != 0)
			goto done;
	if (k == 0 && fsync(out) == 0 && sha256_final(hc, h) == 0) {
		hex_encode(h, SHA256_LEN, hex);
		rc = 0;
	}
done:
	sha256_free(hc);
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0)
		rc = -1;
	return rc;
}

int configured_model_ensure(const struct secai_config *cfg, char *path, size_t pathlen,
			    char sha[65], char *err, size_t errlen)
{
	const char *src = cfg->infer.model, *base = strrchr(src, '/');
	char incoming[4200], tmp[4400], dst[4400], side[4400], sidetmp[4400], label[4200];
	char *text;
	json_t *sc;

	base = base != NULL ? base + 1 : src;
	snprintf(label, sizeof(label), "the configured model %s", base);
	if (hash_file(src, sha) != 0) {
		snprintf(err, errlen, "infer.model %s: %s", src, strerror(errno));
		return -1;
	}
	if (registry_lookup(cfg, sha, path, pathlen, sha) == 0) {
		printf("secai: configured model %s in the registry: %s\n        sha256 %s\n", src,
		       path, sha);
		fflush(stdout);
		return 0;
	}
	snprintf(incoming, sizeof(incoming), "%s/quarantine/incoming", cfg->state_dir);
	snprintf(tmp, sizeof(tmp), "%s/.%s.up.%ld", incoming, base, (long)getpid());
	snprintf(dst, sizeof(dst), "%s/%s", incoming, base);
	snprintf(side, sizeof(side), "%s/%s.source.json", incoming, base);
	snprintf(sidetmp, sizeof(sidetmp), "%s/.%s.source.up.%ld", incoming, base, (long)getpid());
	if (fs_mkdir_p(incoming, 0700) != 0) {
		snprintf(err, errlen, "cannot create %s: %s", incoming, strerror(errno));
		return -1;
	}
	/* the sidecar first: the quarantine claims it together with the model */
	sc = json_pack("{s:s, s:s, s:I}", "kind", "local", "path", src, "time",
		       (json_int_t)time(NULL));
	text = sc != NULL ? json_dumps(sc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(sc);
	if (text == NULL || fs_atomic_write(sidetmp, text, strlen(text), 0600) != 0 ||
	    rename(sidetmp, side) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", side, strerror(errno));
		free(text);
		unlink(sidetmp);
		return -1;
	}
	free(text);
	char copied[65] = "";
	int copy_rc = copy_hashed(src, tmp, copied);
	if (copy_rc != 0 || strcmp(copied, sha) != 0 || rename(tmp, dst) != 0 ||
	    fs_fsync_dir(incoming) != 0) {
		snprintf(err, errlen, "cannot copy %s into %s: %s", src, incoming,
			 copy_rc == 0 && strcmp(copied, sha) != 0 ? "it changed while being copied"
								  : strerror(errno));
		unlink(tmp);
		unlink(side);
		return -1;
	}
	printf("secai: configured model copied into the quarantine: %s\n        sha256 %s\n", dst,
	       sha);
	fflush(stdout);
	return follow_until_listed(cfg, label, sha, path, pathlen, sha, err, errlen);
}
