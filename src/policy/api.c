/*
 * api.c — secai-policy's HTTP API (loopback, through src/lib/http.h).
 *
 *   POST /v1/decide   body {"domain":"egress","request":{...},"explain":false}
 *                     -> 200 the decision (same JSON as the socket's, without "ok")
 *                     -> 400 {"error":{...}} when the body is not a question at all
 *   GET  /health      -> 200 {"status":"ok"|"deny-all", "policy_ok":.., "digest":.., ...}
 * Owns: routing and status codes. Never: decides itself (core.c does), or answers anything
 * but JSON.
 */
#include <string.h>

#include "http.h"
#include "json.h"
#include "policy/policyd.h"

int policyd_http(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct policyd *pd = arg;
	char err[512];
	json_t *body, *ans;
	int rc;

	if (strcmp(req->path, "/health") == 0) {
		if (strcmp(req->method, "GET") != 0)
			return http_reply_error(resp, 405, "invalid_request_error",
						"use GET /health");
		ans = policyd_status(pd);
		if (ans == NULL)
			return -1;
		json_object_set_new(ans, "status", json_string(json_is_true(json_object_get(
								   ans, "policy_ok"))
								   ? "ok"
								   : "deny-all"));
		rc = http_reply_json(resp, 200, ans);
		json_decref(ans);
		return rc;
	}
	if (strcmp(req->path, "/v1/decide") != 0)
		return http_reply_error(resp, 404, "not_found",
					"no such endpoint (POST /v1/decide, GET /health)");
	if (strcmp(req->method, "POST") != 0)
		return http_reply_error(resp, 405, "invalid_request_error", "use POST /v1/decide");
	body = json_parse_object((const char *)req->body, req->body_len, POLICYD_MAX_LINE, err,
				 sizeof(err));
	if (body == NULL) {
		char msg[600];
		snprintf(msg, sizeof(msg), "body is not a valid JSON object: %s", err);
		return http_reply_error(resp, 400, "invalid_request_error", msg);
	}
	if (json_object_get(body, "op") != NULL) {
		json_decref(body);
		return http_reply_error(resp, 400, "invalid_request_error",
					"\"op\" belongs to the socket protocol, not to /v1/decide");
	}
	if (policyd_decide(pd, body, "http", &ans, err, sizeof(err)) != 0) {
		json_decref(body);
		return http_reply_error(resp, 400, "invalid_request_error", err);
	}
	json_decref(body);
	rc = http_reply_json(resp, 200, ans);
	json_decref(ans);
	return rc;
}
