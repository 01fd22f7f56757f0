/*
 * policyd.h — secai-policy: the one decision point, on a Unix socket and HTTP (loopback).
 *
 * main.c    options, configuration, start and stop
 * core.c    the current policy (load, reload keeping the old one on error), one decision
 *           (request JSON -> pol_decide -> audit event -> answer JSON), the audit connection
 * server.c  the Unix socket (line-delimited JSON, one thread per connection), signals, inotify
 * api.c     the HTTP API: POST /v1/decide, GET /health
 * Never: answers a decision that was not recorded (audited or spooled): when neither works the
 * answer is deny; serves anything but deny while no valid policy is loaded.
 */
#ifndef SECAI_POLICYD_H
#define SECAI_POLICYD_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "audit_client.h"
#include "policy/pol.h"

#define POLICYD_MAX_CONNS 128
#define POLICYD_MAX_LINE (1 << 20)

struct policyd {
	char policy_file[4096];
	char socket_path[4096];
	char audit_socket[4096];
	char audit_spool[4200];

	pthread_mutex_t lock; /* guards cur and the counters */
	struct pol_policy *cur;
	uint64_t decisions, reloads, reload_failures;

	pthread_mutex_t audit_lock; /* guards ac */
	struct audit_client ac;
	int ac_open;

	pthread_mutex_t conn_lock;
	pthread_cond_t conn_cv;
	int conns[POLICYD_MAX_CONNS]; /* fds of open socket connections, -1 = free */
	int nconns;
	int stopping;
	int lfd; /* the listening Unix socket (policyd_open_socket), -1 = not open */
};

/* core.c */
int policyd_init(struct policyd *pd);
void policyd_fini(struct policyd *pd);
/* Loads policy_file. At start-up (initial = 1) a missing or broken file installs a deny-all
 * policy; on reload a failure keeps the current policy. Logs and audits what happened.
 * Returns 0 when the file was valid and is now in force, -1 otherwise. */
int policyd_load(struct policyd *pd, int initial);
/* The current policy, referenced (pol_unref it). Never NULL unless out of memory. */
struct pol_policy *policyd_current(struct policyd *pd);
/* One request {"domain":D,"request":{...},"explain":bool} from via ("socket", "http").
 * Returns 0 with *out = the answer (decision JSON), or -1 with err for a request that is not a
 * question at all (not an object, no/unknown domain): status 400. */
int policyd_decide(struct policyd *pd, const json_t *req, const char *via, json_t **out,
		   char *err, size_t errlen);
/* {"policy_ok", "file", "digest", "reason", "rules":{domain:n}, "decisions", ...} */
json_t *policyd_status(struct policyd *pd);
/* Writes one audit event through the daemon, else the spool. -1 when neither worked. */
int policyd_audit(struct policyd *pd, const char *event, const json_t *data);

/* server.c: binds socket_path (mode 0600), so clients can connect once this returns 0. */
int policyd_open_socket(struct policyd *pd);
/* Serves the opened socket until SIGTERM/SIGINT; SIGHUP and file changes reload. */
int policyd_serve(struct policyd *pd);

/* api.c */
struct http_request;
struct http_response;
int policyd_http(void *arg, const struct http_request *req, struct http_response *resp);

#endif
