/*
 * daemons.c — the table of daemons `securectl up` supervises and `securectl status` probes.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_client.h"
#include "json.h"
#include "securectl/daemons.h"

static void audit_endpoint(const struct secai_config *cfg, char *out, size_t outlen)
{
	snprintf(out, outlen, "unix:%s", cfg->audit.socket);
}

static json_t *audit_probe(const struct secai_config *cfg)
{
	struct audit_client c;
	json_t *req, *rep = NULL, *o;

	if (audit_client_connect(cfg->audit.socket, &c) != 0)
		return json_pack("{s:b, s:s}", "healthy", 0, "error", strerror(errno));
	req = json_pack("{s:s}", "op", "status");
	if (audit_client_send(&c, req) != 0 || audit_client_recv(&c, &rep) != 0 ||
	    !json_is_true(json_object_get(rep, "ok"))) {
		json_decref(req);
		json_decref(rep);
		audit_client_close(&c);
		return json_pack("{s:b, s:s}", "healthy", 0, "error", "no valid status reply");
	}
	json_decref(req);
	audit_client_close(&c);
	o = json_pack("{s:b, s:O, s:O, s:O, s:O}", "healthy", 1, "pid", json_object_get(rep, "pid"),
		      "entries", json_object_get(rep, "entries"), "checkpoint_size",
		      json_object_get(rep, "checkpoint_size"), "log_file",
		      json_object_get(rep, "log_file"));
	json_decref(rep);
	return o;
}

const struct daemon_desc daemon_table[] = {
    {"audit", "secai-audit", audit_endpoint, audit_probe},
};
const size_t daemon_count = sizeof(daemon_table) / sizeof(daemon_table[0]);

int daemon_program_path(const char *program, char *out, size_t outlen)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct stat st;

	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			snprintf(out, outlen, "%s/%s", self, program);
			if (stat(out, &st) == 0 && (st.st_mode & S_IXUSR))
				return 0;
		}
	}
	const char *path = getenv("PATH");
	if (path == NULL)
		return -1;
	char *copy = strdup(path), *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, outlen, "%s/%s", d, program);
		if (stat(out, &st) == 0 && (st.st_mode & S_IXUSR)) {
			free(copy);
			return 0;
		}
	}
	free(copy);
	errno = ENOENT;
	return -1;
}
