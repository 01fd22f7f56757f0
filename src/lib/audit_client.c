/*
 * audit_client.c — the client side of the audit socket, and the spool fallback.
 *
 * Owns: connecting, framing requests and replies, and spool files. Never: retries an append
 * whose acknowledgement was lost (the caller decides), or spools after the daemon has replied.
 */
#include "audit_client.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "audit_entry.h"
#include "fsutil.h"
#include "json.h"

#define REPLY_MAX (1 << 20)

int audit_client_connect(const char *sock_path, struct audit_client *c)
{
	struct sockaddr_un sa;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, sock_path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(c->fd);
		c->fd = -1;
		errno = e;
		return -1;
	}
	return 0;
}

void audit_client_close(struct audit_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	buf_free(&c->in);
}

/* send(2) with MSG_NOSIGNAL: a daemon that died must not kill its client with SIGPIPE. */
static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int audit_client_send(struct audit_client *c, const json_t *req)
{
	char *s = json_dumps(req, JSON_COMPACT);
	int rc;

	if (s == NULL)
		return -1;
	size_t n = strlen(s);
	s[n] = '\n'; /* replace the NUL: one write per request */
	rc = send_all(c->fd, s, n + 1);
	free(s);
	return rc;
}

int audit_client_send_append(struct audit_client *c, const char *event, const json_t *data)
{
	json_t *req = data ? json_pack("{s:s, s:s, s:O}", "op", "append", "event", event, "data",
				       (json_t *)data)
			   : json_pack("{s:s, s:s, s:o}", "op", "append", "event", event, "data",
				       json_object());
	int rc;

	if (req == NULL)
		return -1;
	rc = audit_client_send(c, req);
	json_decref(req);
	return rc;
}

int audit_client_recv(struct audit_client *c, json_t **reply)
{
	char err[160];

	*reply = NULL;
	for (;;) {
		char *start = c->in.data ? c->in.data + c->in_off : NULL;
		char *nl = start ? memchr(start, '\n', c->in.len - c->in_off) : NULL;
		if (nl != NULL) {
			*reply = json_parse_object(start, (size_t)(nl - start), REPLY_MAX, err,
						   sizeof(err));
			c->in_off = (size_t)(nl + 1 - c->in.data);
			if (c->in_off == c->in.len) {
				buf_reset(&c->in);
				c->in_off = 0;
			}
			return *reply ? 0 : -1;
		}
		if (c->in.len - c->in_off > REPLY_MAX) {
			errno = EMSGSIZE;
			return -1;
		}
		if (buf_reserve(&c->in, 65536) != 0)
			return -1;
		ssize_t r = read(c->fd, c->in.data + c->in.len, 65536);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ECONNRESET;
			return -1;
		}
		c->in.len += (size_t)r;
		c->in.data[c->in.len] = '\0';
	}
}

int audit_client_append(struct audit_client *c, const char *event, const json_t *data,
			uint64_t *index, char *err, size_t errlen)
{
	json_t *rep;
	long long idx;

	if (audit_client_send_append(c, event, data) != 0 || audit_client_recv(c, &rep) != 0) {
		snprintf(err, errlen, "audit daemon connection failed: %s", strerror(errno));
		return -1;
	}
	if (!json_is_true(json_object_get(rep, "ok")) || json_get_int(rep, "index", &idx) != 0) {
		const char *e = json_get_string(rep, "error");
		snprintf(err, errlen, "audit daemon refused the event: %s", e ? e : "(no reason)");
		json_decref(rep);
		return -1;
	}
	if (index)
		*index = (uint64_t)idx;
	json_decref(rep);
	return 0;
}

int audit_spool_write(const char *spool_dir, const char *event, const json_t *data, char *err,
		      size_t errlen)
{
	char ts[AUDIT_TS_LEN], path[4096];
	struct buf line = BUF_INIT;
	struct timespec now;
	json_t *empty = NULL;
	int rc = -1;

	if (!audit_event_name_ok(event)) {
		snprintf(err, errlen, "invalid event name (1-128 of [A-Za-z0-9._:-])");
		return -1;
	}
	if (data == NULL)
		data = empty = json_object();
	audit_timestamp_now(ts);
	clock_gettime(CLOCK_REALTIME, &now);
	if (buf_append_str(&line, "{\"data\":") || json_canon_append(&line, data) ||
	    buf_append_str(&line, ",\"event\":") || json_canon_string(&line, event, strlen(event)) ||
	    buf_append_str(&line, ",\"timestamp\":") || json_canon_string(&line, ts, strlen(ts)) ||
	    buf_append_str(&line, "}\n")) {
		snprintf(err, errlen, "event data cannot be encoded");
		goto done;
	}
	/* names sort in creation order: nanoseconds since the epoch, then pid */
	snprintf(path, sizeof(path), "%s/%020lld-%09ld-%08ld.jsonl", spool_dir,
		 (long long)now.tv_sec, now.tv_nsec, (long)getpid());
	if (fs_mkdir_p(spool_dir, 0700) != 0 || fs_atomic_write(path, line.data, line.len, 0600) != 0) {
		snprintf(err, errlen, "cannot write spool file %s: %s", path, strerror(errno));
		goto done;
	}
	rc = 0;
done:
	json_decref(empty);
	buf_free(&line);
	return rc;
}

int audit_emit(const char *sock_path, const char *spool_dir, const char *event, const json_t *data,
	       char *err, size_t errlen)
{
	struct audit_client c;
	int rc;

	if (audit_client_connect(sock_path, &c) != 0)
		return audit_spool_write(spool_dir, event, data, err, errlen) == 0 ? 1 : -1;
	rc = audit_client_append(&c, event, data, NULL, err, errlen);
	audit_client_close(&c);
	return rc;
}
