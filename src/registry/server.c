/*
 * server.c — the routes of secai-registry (see registry.h).
 *
 * Owns: answering from the manifest as it is on disk now (signature checked every time), the
 * report of a model (only when its hash is the one the manifest recorded), re-hashing, and
 * the admin's DELETE (token checked first, then reg_delete, then the audit event), and
 * verification: re-hashing one listed model or all of them, audited as registry.verified.
 * Never: writes anything but through reg_delete for a caller holding the admin token, follows
 * a symlink when re-hashing, or answers 200 from a manifest that does not verify.
 */
#include "registry/registry.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_client.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "netpeer.h"
#include "quarantine/qr_hash.h"
#include "registry/reg_manifest.h"
#include "registry/reg_store.h"
#include "sha256.h"

int reg_server_init(struct reg_server *s, const char *state_dir)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->state, sizeof(s->state), "%s", state_dir);
	snprintf(s->audit_spool, sizeof(s->audit_spool), "%s/audit/spool", state_dir);
	return reg_paths(state_dir, s->regdir, sizeof(s->regdir), s->manifest,
			 sizeof(s->manifest));
}

static void reg_audit(const struct reg_server *s, const char *event, json_t *data)
{
	char err[256];

	if (data == NULL)
		log_warnx("audit %s: out of memory building the event", event);
	else if (audit_emit(s->audit_sock, s->audit_spool, event, data, err, sizeof(err)) < 0)
		log_warnx("audit %s: %s", event, err);
	json_decref(data);
}

/* The caller as the kernel knows it: {"peer": "127.0.0.1:PORT", "uid": N} (uid null when the
 * socket table has no answer, e.g. a remote peer). */
static json_t *reg_who(const struct http_request *req)
{
	char peer[128];
	uid_t uid;
	int fd = http_request_fd(req);

	snprintf(peer, sizeof(peer), "%s", req->peer);
	if (fd >= 0 && netpeer_uid(fd, &uid, peer, sizeof(peer)) == 0)
		return json_pack("{s:s, s:I}", "peer", peer, "uid", (json_int_t)uid);
	return json_pack("{s:s, s:n}", "peer", peer, "uid");
}

/* 0 verified (or empty registry), -1 with err. */
static int load(const struct reg_server *s, json_t **models, char *err, size_t errlen)
{
	uint8_t pk[REG_PK_LEN];
	int rc = reg_pub_load(s->regdir, pk, err, errlen);

	if (rc < 0)
		return -1;
	if (rc == 1) {
		if (access(s->manifest, F_OK) == 0) {
			snprintf(err, errlen, "manifest present but no registry.pub to verify it");
			return -1;
		}
		*models = json_array();
		return 0;
	}
	return reg_manifest_load(s->manifest, pk, models, err, errlen) < 0 ? -1 : 0;
}

/* Re-hashes what entry m lists, the way the quarantine named it (qr_hash_item: a file opened
 * O_NOFOLLOW, or a folder's sorted tree). Fills got, or returns -1 with err. */
static int rehash(const json_t *m, char got[65], char *err, size_t errlen)
{
	const char *path = json_get_string(m, "path");
	uint64_t size;
	size_t nfiles;

	if (path == NULL) {
		snprintf(err, errlen, "the manifest entry names no path");
		return -1;
	}
	return qr_hash_item(path, got, &size, &nfiles, err, errlen);
}

/* {"sha256", "name", "ok", "actual"|"error"} for one entry; *ok set. Logs a mismatch. */
static json_t *verify_one(const json_t *m, bool *ok)
{
	const char *sha = json_get_string(m, "sha256"), *name = json_get_string(m, "name");
	char got[65] = "", err[512];
	json_t *r;

	if (sha == NULL)
		sha = "";
	if (name == NULL)
		name = "?";
	if (rehash(m, got, err, sizeof(err)) != 0) {
		*ok = false;
		log_warnx("model %s (%.12s) cannot be re-hashed: %s", name, sha, err);
		r = json_pack("{s:s, s:s, s:b, s:s}", "sha256", sha, "name", name, "ok", 0, "error",
			      err);
	} else {
		*ok = strcmp(got, sha) == 0;
		if (!*ok)
			log_warnx("model %s (%.12s) no longer matches its hash (now %.12s)", name, sha,
				  got);
		r = json_pack("{s:s, s:s, s:b, s:s}", "sha256", sha, "name", name, "ok", *ok,
			      "actual", got);
	}
	return r;
}

/* POST /v1/models/verify: every listed model re-hashed; one registry.verified audit event. */
static int verify_all(const struct reg_server *s, const json_t *models, const json_t *who,
		      struct http_response *resp)
{
	json_t *data = json_array(), *bad = json_array(), *out, *m;
	size_t i, failed = 0;
	int rc;

	json_array_foreach(models, i, m) {
		bool ok;
		json_t *r = verify_one(m, &ok);
		if (!ok) {
			failed++;
			json_array_append(bad, json_object_get(r, "sha256"));
		}
		json_array_append_new(data, r);
	}
	log_info("verified %zu listed models: %zu failed", json_array_size(models), failed);
	reg_audit(s, "registry.verified",
		  json_pack("{s:s, s:I, s:I, s:O, s:O}", "scope", "all", "checked",
			    (json_int_t)json_array_size(models), "failed", (json_int_t)failed,
			    "failed_sha256", bad, "who", who));
	out = json_pack("{s:s, s:b, s:I, s:I, s:o}", "object", "list", "ok", failed == 0, "checked",
			(json_int_t)json_array_size(models), "failed", (json_int_t)failed, "data",
			data);
	json_decref(bad);
	rc = http_reply_json(resp, 200, out);
	json_decref(out);
	return rc;
}

int reg_delete_route(const struct reg_server *s, const char *target, const char *authorization,
		     const json_t *who, struct http_response *resp)
{
	enum reg_auth a = s->have_token	       ? reg_admin_check(s->admin_token, authorization)
			  : authorization == NULL ? REG_AUTH_MISSING
						  : REG_AUTH_WRONG;
	json_t *models = NULL, *entry = NULL;
	char err[700];
	int rc;

	if (a != REG_AUTH_OK) {
		log_warnx("DELETE %.80s refused: admin token %s", target, reg_auth_name(a));
		reg_audit(s, "registry.delete_refused",
			  json_pack("{s:s, s:s, s:O}", "target", target, "reason",
				    a == REG_AUTH_MISSING ? "no_token"
				    : a == REG_AUTH_MALFORMED ? "malformed_token"
							      : "wrong_token",
				    "who", who));
		if (a == REG_AUTH_MISSING) {
			if (http_response_header(resp, "WWW-Authenticate",
						 "Bearer realm=\"secai-registry\"") != 0)
				log_warnx("cannot add the WWW-Authenticate header");
			return http_reply_error(resp, 401, "authentication_error",
						"deleting a model needs the registry's admin token: "
						"Authorization: Bearer <STATE/registry/admin.token>");
		}
		return http_reply_error(resp, 403, "permission_error",
					"that is not the registry's admin token");
	}
	if (!reg_is_sha256(target))
		return http_reply_error(resp, 404, "not_found", "expected /v1/models/<sha256>");
	if (load(s, &models, err, sizeof(err)) != 0) {
		log_warnx("manifest refused: %s", err);
		return http_reply_error(resp, 503, "manifest_invalid", err);
	}
	json_decref(models);
	rc = reg_delete(s->state, target, who, &entry, err, sizeof(err));
	if (rc == 1)
		return http_reply_error(resp, 404, "not_found", "no such model in the registry");
	if (rc != 0) {
		log_warnx("DELETE %.12s failed: %s", target, err);
		reg_audit(s, "registry.delete_failed",
			  json_pack("{s:s, s:s, s:O}", "sha256", target, "error", err, "who", who));
		return http_reply_error(resp, 500, "server_error", err);
	}
	const char *name = json_get_string(entry, "name") ? json_get_string(entry, "name") : "?";
	log_info("deleted %s (sha256 %s) from the registry", name, target);
	reg_audit(s, "registry.deleted",
		  json_pack("{s:s, s:s, s:s, s:s, s:O}", "name", name, "sha256", target, "path",
			    json_get_string(entry, "path") ? json_get_string(entry, "path") : "",
			    "auth", "admin_token", "who", who));
	json_t *out = json_pack("{s:s, s:s, s:b, s:s, s:s}", "id", target, "object", "model",
				"deleted", 1, "name", name, "sha256", target);
	json_decref(entry);
	rc = http_reply_json(resp, 200, out);
	json_decref(out);
	return rc;
}

int reg_handle(void *arg, const struct http_request *req, struct http_response *resp)
{
	const struct reg_server *s = arg;
	const char *p = req->path;
	bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
	bool del = strcmp(req->method, "DELETE") == 0;
	json_t *models = NULL, *out = NULL, *m;
	char err[512], sha[65];
	int rc;

	if (strcmp(p, "/health") == 0 && get) {
		rc = load(s, &models, err, sizeof(err));
		out = rc == 0 ? json_pack("{s:s, s:s, s:I}", "status", "ok", "manifest", "verified",
					  "models", (json_int_t)json_array_size(models))
			      : json_pack("{s:s, s:s, s:s}", "status", "degraded", "manifest",
					  "invalid", "error", err);
		rc = http_reply_json(resp, rc == 0 ? 200 : 503, out);
		goto done;
	}
	if (strncmp(p, "/v1/models", 10) != 0 || (p[10] != '\0' && p[10] != '/')) {
		rc = http_reply_error(resp, 404, "not_found", "no such route");
		goto done;
	}
	if (del && strlen(p) > 11 && strchr(p + 11, '/') == NULL) {
		json_t *who = reg_who(req);
		rc = reg_delete_route(s, p + 11, http_request_header(req, "Authorization"), who,
				      resp);
		json_decref(who);
		goto done;
	}
	if (!get && !post) {
		rc = http_reply_error(resp, 405, "method_not_allowed",
				      "only GET, POST .../verify and (admin) DELETE "
				      "/v1/models/<sha256>");
		goto done;
	}
	if (load(s, &models, err, sizeof(err)) != 0) {
		log_warnx("manifest refused: %s", err);
		rc = http_reply_error(resp, 503, "manifest_invalid", err);
		goto done;
	}
	if (strcmp(p + 10, "/verify") == 0) {
		if (!post) {
			rc = http_reply_error(resp, 405, "method_not_allowed", "POST only");
			goto done;
		}
		json_t *who = reg_who(req);
		rc = verify_all(s, models, who, resp);
		json_decref(who);
		goto done;
	}
	if (p[10] == '\0' || strcmp(p + 10, "/") == 0) {
		if (!get) {
			rc = http_reply_error(resp, 405, "method_not_allowed", "GET only");
			goto done;
		}
		out = json_pack("{s:s, s:O}", "object", "list", "data", models);
		rc = http_reply_json(resp, 200, out);
		goto done;
	}
	/* /v1/models/<sha256>[/report|/verify] */
	if (strlen(p + 11) < 64) {
		rc = http_reply_error(resp, 404, "not_found", "expected /v1/models/<sha256>");
		goto done;
	}
	memcpy(sha, p + 11, 64);
	sha[64] = '\0';
	if (!reg_is_sha256(sha) || (m = reg_models_find(models, sha)) == NULL) {
		rc = http_reply_error(resp, 404, "not_found", "no such model in the registry");
		goto done;
	}
	if (p[75] == '\0' && get) {
		rc = http_reply_json(resp, 200, m);
	} else if (strcmp(p + 75, "/report") == 0 && get) {
		const char *rp = json_get_string(m, "report"), *want = json_get_string(m, "report_sha256");
		char *buf = NULL, hex[65];
		uint8_t d[32];
		size_t len;

		if (rp == NULL || want == NULL || fs_read_file(rp, 64u << 20, &buf, &len) != 0) {
			rc = http_reply_error(resp, 404, "not_found", "report missing");
		} else {
			sha256_digest(buf, len, d);
			hex_encode(d, 32, hex);
			rc = strcmp(hex, want) == 0
				 ? http_reply(resp, 200, "application/json", buf, len)
				 : http_reply_error(resp, 409, "report_changed",
						    "the report differs from the one the manifest "
						    "recorded");
		}
		free(buf);
	} else if (strcmp(p + 75, "/verify") == 0 && post) {
		bool ok;
		json_t *who = reg_who(req);
		out = verify_one(m, &ok);
		reg_audit(s, "registry.verified",
			  json_pack("{s:s, s:I, s:I, s:o, s:O}", "scope", "one", "checked",
				    (json_int_t)1, "failed", (json_int_t)!ok, "failed_sha256",
				    ok ? json_array() : json_pack("[s]", sha), "who", who));
		json_decref(who);
		rc = http_reply_json(resp, 200, out);
	} else {
		rc = http_reply_error(resp, get || post ? 404 : 405, "not_found", "no such route");
	}
done:
	json_decref(models);
	json_decref(out);
	return rc;
}
