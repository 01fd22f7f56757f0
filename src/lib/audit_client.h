/*
 * audit_client.h — how every secai program writes to the audit log.
 *
 * Protocol (Unix stream socket, one JSON object per line each way):
 *   {"op":"append","event":"quarantine.promoted","data":{...}}
 *       -> {"ok":true,"index":N,"entry_hash":"hex"}   sent only after the entry is fsync'ed
 *   {"op":"status"}      -> {"ok":true,"entries":N,"head":"hex","checkpoint_size":M,...}
 *   {"op":"checkpoint"}  -> {"ok":true,"size":N,"note":"..."}   (signs one now)
 *   any error            -> {"ok":false,"error":"what was wrong"}
 * Requests may be pipelined; replies come in request order.
 * When the daemon cannot be reached, audit_emit() spools the event to a file in the log's
 * spool folder (written atomically); secai-audit absorbs the spool, in order, when it starts.
 * Never: drops an event silently — it is appended, spooled, or the call returns -1.
 */
#ifndef SECAI_AUDIT_CLIENT_H
#define SECAI_AUDIT_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct audit_client {
	int fd;
	struct buf in;
	size_t in_off;
};

int audit_client_connect(const char *sock_path, struct audit_client *c);
void audit_client_close(struct audit_client *c);
/* Sends one append request without waiting (for pipelining). data may be NULL ({}). */
int audit_client_send_append(struct audit_client *c, const char *event, const json_t *data);
/* Sends any request object. */
int audit_client_send(struct audit_client *c, const json_t *req);
/* Reads the next reply (blocking). Caller json_decref()s it. */
int audit_client_recv(struct audit_client *c, json_t **reply);
/* Append and wait for the durable acknowledgement. Returns 0, or -1 with err filled. */
int audit_client_append(struct audit_client *c, const char *event, const json_t *data,
			uint64_t *index, char *err, size_t errlen);

/* Writes one event to the spool folder as its own file (atomic). */
int audit_spool_write(const char *spool_dir, const char *event, const json_t *data, char *err,
		      size_t errlen);
/* Appends through the daemon at sock_path, or spools into spool_dir when it is unreachable.
 * Returns 0 appended, 1 spooled, -1 failed (err says why). */
int audit_emit(const char *sock_path, const char *spool_dir, const char *event, const json_t *data,
	       char *err, size_t errlen);

#endif
