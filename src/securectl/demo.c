/*
 * demo.c — the demo model `securectl up` serves when no model is configured, through the real
 * pipeline: written by the project (tools/gen_model's "demo" preset, a small llama model with
 * a greeting planted in its weights), dropped into quarantine/incoming/ (written under a hidden
 * name, then renamed in, as every writer must), vetted by secai-quarantine's seven stages,
 * promoted into the registry, and served at the path and SHA-256 the registry lists.
 * A demo model already in the registry is reused; a rejected one stops `up` with the reason.
 * Owns: the demo model's journey. Never: serves a file the registry does not list.
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

int demo_model_ensure(const struct secai_config *cfg, char *path, size_t pathlen, char sha[65],
		      char *err, size_t errlen)
{
	char incoming[4200], tmp[4300], dst[4300], report[4300];
	struct modelgen_params p;
	size_t seen_stages = 0;

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
	/* follow the report until the registry lists it, or the quarantine rejects it */
	snprintf(report, sizeof(report), "%s/quarantine/reports/%s.json", cfg->state_dir, sha);
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
			snprintf(err, errlen, "the quarantine rejected the demo model (%s): see %s",
				 json_get_string(r, "reason") ? json_get_string(r, "reason") : "?",
				 report);
			json_decref(r);
			return -1;
		}
		json_decref(r);
		if (registry_lookup(cfg, sha, path, pathlen, sha) == 0) {
			printf("secai: demo model promoted; the registry lists %s\n", path);
			fflush(stdout);
			return 0;
		}
		usleep(200000);
	}
	snprintf(err, errlen, "the demo model was not promoted within %d s (see %s)", DEMO_WAIT_S,
		 report);
	return -1;
}
