/*
 * registry.h — secai-registry's HTTP API over the signed manifest of promoted models.
 *
 * Owns: the routes (GET /health, GET /v1/models, GET /v1/models/<sha256>,
 * GET /v1/models/<sha256>/report, POST /v1/models/<sha256>/verify, and the one write,
 * DELETE /v1/models/<sha256> for the holder of the admin token), loading and verifying the
 * manifest's signature on every request, re-hashing a model on request, and the audit events
 * of deletions (registry.deleted, registry.delete_refused, registry.delete_failed).
 * Never: writes to the registry except an admin's deletion (promotion is secai-quarantine's),
 * tells a caller without the admin token whether a model exists before refusing it, serves a
 * manifest whose signature fails, or serves a file outside STATE/registry and
 * STATE/quarantine/reports.
 */
#ifndef SECAI_REGISTRY_H
#define SECAI_REGISTRY_H

#include <jansson.h>
#include <stdint.h>

#include "http.h"
#include "registry/reg_admin.h"

struct reg_server {
	char state[4096];
	char regdir[4200];
	char manifest[4200];
	char audit_sock[4096]; /* the audit daemon; "" or unreachable: events are spooled */
	char audit_spool[4200];
	uint8_t admin_token[REG_TOKEN_LEN];
	int have_token; /* 0: nobody is admin (every DELETE is refused) */
};

/* Paths under state_dir; no admin token, audit events spooled until audit_sock is set. */
int reg_server_init(struct reg_server *s, const char *state_dir);
/* The http_handler_fn of secai-registry. */
int reg_handle(void *arg, const struct http_request *req, struct http_response *resp);
/* DELETE /v1/models/<target>, as reg_handle calls it (split out so tests can give the header):
 * authorization is the Authorization header (NULL = none); who describes the caller ({peer, uid})
 * and is recorded in the audit event. 401/403 without admin rights, 404 unknown model, 503 a
 * manifest that does not verify, 200 {"id","object":"model","deleted":true,"name","sha256"}. */
int reg_delete_route(const struct reg_server *s, const char *target, const char *authorization,
		     const json_t *who, struct http_response *resp);

#endif
