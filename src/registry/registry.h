/*
 * registry.h — secai-registry's read-only HTTP API over the signed manifest of promoted models.
 *
 * Owns: the routes (GET /health, GET /v1/models, GET /v1/models/<sha256>,
 * GET /v1/models/<sha256>/report, POST /v1/models/<sha256>/verify), loading and verifying the
 * manifest's signature on every request, re-hashing a model on request.
 * Never: writes to the registry (promotion is secai-quarantine's; deletion is an admin action
 * not offered over HTTP), serves a manifest whose signature fails, or serves a file outside
 * STATE/registry and STATE/quarantine/reports.
 */
#ifndef SECAI_REGISTRY_H
#define SECAI_REGISTRY_H

#include "http.h"

struct reg_server {
	char state[4096];
	char regdir[4200];
	char manifest[4200];
};

int reg_server_init(struct reg_server *s, const char *state_dir);
/* The http_handler_fn of secai-registry. */
int reg_handle(void *arg, const struct http_request *req, struct http_response *resp);

#endif
