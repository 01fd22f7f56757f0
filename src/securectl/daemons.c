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

#include <curl/curl.h>

#include "audit_client.h"
#include "fsutil.h"
#include "json.h"
#include "securectl/daemons.h"
#include "securectl/demo.h"

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

static void infer_endpoint(const struct secai_config *cfg, char *out, size_t outlen)
{
	snprintf(out, outlen, "http://%s:%d/v1", cfg->bind_address, cfg->infer.port);
}

struct body {
	char data[65536];
	size_t len;
};

static size_t body_write(char *p, size_t sz, size_t nm, void *arg)
{
	struct body *b = arg;
	size_t n = sz * nm;

	if (n > sizeof(b->data) - 1 - b->len)
		return 0;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* GET a small JSON document from a loopback daemon (1 s). NULL on any failure. */
json_t *daemon_get_json(const struct secai_config *cfg, int port, const char *path)
{
	char url[512], err[160];
	struct body b;
	long status = 0;
	CURL *c = curl_easy_init();
	json_t *o = NULL;

	if (c == NULL)
		return NULL;
	b.len = 0;
	b.data[0] = '\0';
	snprintf(url, sizeof(url), "http://%s%s%s:%d%s", strchr(cfg->bind_address, ':') ? "[" : "",
		 cfg->bind_address, strchr(cfg->bind_address, ':') ? "]" : "", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (status == 200)
		o = json_parse_object(b.data, b.len, sizeof(b.data), err, sizeof(err));
	return o;
}

static json_t *infer_probe(const struct secai_config *cfg)
{
	json_t *h = daemon_get_json(cfg, cfg->infer.port, "/health"), *m, *o;

	if (h == NULL || strcmp(json_get_string(h, "status") ? json_get_string(h, "status") : "",
				"ok") != 0) {
		json_decref(h);
		return json_pack("{s:b, s:s}", "healthy", 0, "error", "no answer on /health");
	}
	json_decref(h);
	m = daemon_get_json(cfg, cfg->infer.port, "/v1/models");
	json_t *d = json_array_get(json_object_get(m, "data"), 0);
	o = json_pack("{s:b, s:s, s:s}", "healthy", 1, "model",
		      json_get_string(d, "id") ? json_get_string(d, "id") : "?", "sha256",
		      json_get_string(json_object_get(d, "meta"), "sha256")
			  ? json_get_string(json_object_get(d, "meta"), "sha256")
			  : "?");
	json_decref(m);
	return o;
}

/* The model infer serves, always the registry's copy (infer checks the signed manifest itself
 * and refuses anything else): appliance.yaml's infer.model, imported through the quarantine
 * unless the registry lists it already, served at the configured pin; else the demo model at
 * the hash the registry lists (demo.c). infer finds the registry through the same config. */
static int infer_prepare(const struct secai_config *cfg, struct daemon_args *a, char *err,
			 size_t errlen)
{
	char path[4200], sha[65];

	if (cfg->infer.model[0]) {
		if (configured_model_ensure(cfg, path, sizeof(path), sha, err, errlen) != 0)
			return -1;
		if (cfg->infer.model_sha256[0] == '\0') {
			snprintf(err, errlen, "infer.model is set but infer.model_sha256 is not: pin "
					      "it in appliance.yaml (the file's SHA-256 is %s)", sha);
			return -1;
		}
		snprintf(sha, sizeof(sha), "%s", cfg->infer.model_sha256);
	} else if (demo_model_ensure(cfg, path, sizeof(path), sha, err, errlen) != 0) {
		return -1;
	}
	return daemon_args_add(a, "--model") || daemon_args_add(a, path) ||
			   daemon_args_add(a, "--sha256") || daemon_args_add(a, sha)
		   ? -1
		   : 0;
}

int daemon_args_add(struct daemon_args *a, const char *arg)
{
	if (a->argc >= DAEMON_MAX_ARGS || strlen(arg) >= sizeof(a->store[0]))
		return -1;
	snprintf(a->store[a->argc], sizeof(a->store[0]), "%s", arg);
	a->argv[a->argc] = a->store[a->argc];
	a->argc++;
	a->argv[a->argc] = NULL;
	return 0;
}

static void quarantine_endpoint(const struct secai_config *cfg, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/quarantine/incoming (drop zone)", cfg->state_dir);
}

/* Alive when STATE/run/NAME names a running process whose comm starts with comm (15 chars
 * at most: the kernel's limit). */
static json_t *pidfile_probe(const struct secai_config *cfg, const char *name, const char *comm)
{
	char path[4200], *txt = NULL, seen[64] = "";
	size_t len;
	long pid;

	snprintf(path, sizeof(path), "%s/run/%s", cfg->state_dir, name);
	if (fs_read_file(path, 64, &txt, &len) != 0)
		return json_pack("{s:b, s:s}", "healthy", 0, "error", "not running (no pid file)");
	pid = strtol(txt, NULL, 10);
	free(txt);
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	FILE *f = pid > 0 ? fopen(path, "r") : NULL;
	if (f != NULL) {
		if (fgets(seen, sizeof(seen), f) == NULL)
			seen[0] = '\0';
		fclose(f);
	}
	if (strncmp(seen, comm, strlen(comm)) != 0)
		return json_pack("{s:b, s:s}", "healthy", 0, "error", "not running (stale pid file)");
	return json_pack("{s:b, s:I}", "healthy", 1, "pid", (json_int_t)pid);
}

static json_t *quarantine_probe(const struct secai_config *cfg)
{
	return pidfile_probe(cfg, "quarantine.pid", "secai-quarantin");
}

static void registry_endpoint(const struct secai_config *cfg, char *out, size_t outlen)
{
	snprintf(out, outlen, "http://%s:%d/v1/models", cfg->bind_address, cfg->registry.port);
}

static json_t *registry_probe(const struct secai_config *cfg)
{
	json_t *h = daemon_get_json(cfg, cfg->registry.port, "/health"), *o;

	if (h == NULL)
		return json_pack("{s:b, s:s}", "healthy", 0, "error",
				 "no answer on /health (or the manifest does not verify)");
	o = json_pack("{s:b, s:O, s:O}", "healthy", 1, "manifest", json_object_get(h, "manifest"),
		      "models", json_object_get(h, "models"));
	json_decref(h);
	return o;
}

static void policy_endpoint(const struct secai_config *cfg, char *out, size_t outlen)
{
	snprintf(out, outlen, "http://%s:%d/v1/decide, unix:%s", cfg->bind_address,
		 cfg->policy.port, cfg->policy.socket);
}

static json_t *policy_probe(const struct secai_config *cfg)
{
	json_t *h = daemon_get_json(cfg, cfg->policy.port, "/health"), *o;

	if (h == NULL)
		return json_pack("{s:b, s:s}", "healthy", 0, "error", "no answer on /health");
	/* a daemon with no valid policy is up and denies everything: healthy, and says so */
	o = json_pack("{s:b, s:O, s:O}", "healthy", 1, "status", json_object_get(h, "status"),
		      "policy_ok", json_object_get(h, "policy_ok"));
	json_decref(h);
	return o;
}

static void broker_endpoint(const struct secai_config *cfg, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/run/broker/NAME/call.sock (policy %s)", cfg->state_dir,
		 cfg->policy.qrexec_dir);
}

static json_t *broker_probe(const struct secai_config *cfg)
{
	return pidfile_probe(cfg, "broker.pid", "secai-broker");
}

/* First run, before the policy daemon reads them: policy.yaml (no rules), the demo
 * compartments, their services and deploy/qubes' qrexec policy. */
static int policy_prepare(const struct secai_config *cfg, struct daemon_args *a, char *err,
			  size_t errlen)
{
	(void)a;
	return demo_compartments_setup(cfg, err, errlen);
}

const struct daemon_desc daemon_table[] = {
    {"audit", "secai-audit", audit_endpoint, audit_probe, NULL},
    {"policy", "secai-policy", policy_endpoint, policy_probe, policy_prepare},
    {"quarantine", "secai-quarantine", quarantine_endpoint, quarantine_probe, NULL},
    {"registry", "secai-registry", registry_endpoint, registry_probe, NULL},
    {"infer", "secai-infer", infer_endpoint, infer_probe, infer_prepare},
    {"broker", "secai-broker", broker_endpoint, broker_probe, NULL},
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
