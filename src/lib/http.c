/*
 * http.c — the libmicrohttpd wrapper: limits, bounded bodies, handler dispatch, streaming,
 * JSON errors and one log line per request. See http.h for the contract.
 *
 * Owns: the per-request context (allocated in the URI log callback, freed in the
 * request-completed callback) and the translation of struct http_response into an MHD response.
 * Never: keeps more than max_body_bytes of a request in memory; lets a stream's done callback
 * run twice or not at all; logs anything from a request but method, path, status, size, time
 * and peer address.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define HTTP_DEFAULT_BODY (1024 * 1024)
#define HTTP_DEFAULT_HEADER (32 * 1024)
#define HTTP_MIN_HEADER (8 * 1024)
#define HTTP_STREAM_BLOCK (16 * 1024)
#define HTTP_DISCARD_MAX (1024 * 1024) /* oversized chunked body read before hanging up */

struct http_server {
	struct MHD_Daemon *daemon;
	http_handler_fn handler;
	void *arg;
	size_t max_body;
	atomic_int stopping;
	int port;
	char address[160];
};

struct http_stream {
	struct http_server *srv;
	int fd;
};

struct http_ctx {
	struct http_server *srv;
	struct MHD_Connection *conn;
	char *uri; /* raw request target, split in place into path and query */
	const char *path, *query;
	char method[32];
	char peer[INET6_ADDRSTRLEN];
	struct timespec t0;
	struct buf body;
	int started, too_big, oom, responded;
	unsigned long long discarded; /* body bytes read and dropped after too_big */
	int status;
	unsigned long long bytes;
	/* streaming */
	http_stream_fn stream;
	http_stream_done_fn stream_done;
	void *stream_arg;
	int stream_ended;
	struct http_stream st;
};

/* ---- responses ---- */

static void http_response_clear(struct http_response *resp)
{
	buf_free(&resp->body);
	for (size_t i = 0; i < resp->nheaders; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	resp->nheaders = 0;
	if (resp->stream_done != NULL)
		resp->stream_done(resp->stream_arg, 0);
	resp->stream = NULL;
	resp->stream_done = NULL;
	resp->stream_arg = NULL;
	resp->status = 0;
	resp->content_type[0] = '\0';
}

static int http_header_value_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\r' || *s == '\n')
			return 0;
	return 1;
}

static int http_header_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!(*s == '-' || *s == '_' || (*s >= '0' && *s <= '9') ||
		      (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
			return 0;
	return 1;
}

static int http_set_type(struct http_response *resp, const char *content_type)
{
	size_t n = strlen(content_type);

	if (n >= sizeof(resp->content_type) || !http_header_value_ok(content_type))
		return -1;
	memcpy(resp->content_type, content_type, n + 1);
	return 0;
}

int http_reply(struct http_response *resp, int status, const char *content_type, const void *body,
	       size_t len)
{
	if (status < 100 || status > 599)
		return -1;
	if (resp->stream_done != NULL)
		resp->stream_done(resp->stream_arg, 0);
	resp->stream = NULL;
	resp->stream_done = NULL;
	resp->stream_arg = NULL;
	buf_reset(&resp->body);
	if (http_set_type(resp, content_type ? content_type : "application/octet-stream") != 0)
		return -1;
	if (len > 0 && buf_append(&resp->body, body, len) != 0)
		return -1;
	resp->status = status;
	return 0;
}

int http_reply_json(struct http_response *resp, int status, const json_t *v)
{
	char *s;
	int r;

	if (v == NULL)
		return -1;
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s == NULL)
		return -1;
	r = http_reply(resp, status, "application/json", s, strlen(s));
	free(s);
	return r;
}

int http_reply_error(struct http_response *resp, int status, const char *type, const char *message)
{
	json_t *v =
	    json_pack("{s:{s:s,s:s,s:n}}", "error", "message", message, "type", type, "code");
	int r;

	if (v == NULL) /* e.g. a message that is not UTF-8 */
		v = json_pack("{s:{s:s,s:s,s:n}}", "error", "message", "(unprintable message)",
			      "type", "server_error", "code");
	r = http_reply_json(resp, status, v);
	json_decref(v);
	return r;
}

int http_response_header(struct http_response *resp, const char *name, const char *value)
{
	char *n, *v;

	if (resp->nheaders >= HTTP_MAX_EXTRA_HEADERS || !http_header_name_ok(name) ||
	    !http_header_value_ok(value))
		return -1;
	n = strdup(name);
	v = strdup(value);
	if (n == NULL || v == NULL) {
		free(n);
		free(v);
		return -1;
	}
	resp->headers[resp->nheaders].name = n;
	resp->headers[resp->nheaders].value = v;
	resp->nheaders++;
	return 0;
}

int http_reply_stream(struct http_response *resp, int status, const char *content_type,
		      http_stream_fn fn, http_stream_done_fn done, void *arg)
{
	if (resp->stream_done != NULL)
		resp->stream_done(resp->stream_arg, 0);
	resp->stream = NULL;
	resp->stream_done = NULL;
	resp->stream_arg = NULL;
	if (fn == NULL || status < 100 || status > 599 ||
	    http_set_type(resp, content_type ? content_type : "text/event-stream") != 0) {
		if (done != NULL)
			done(arg, 0);
		return -1;
	}
	buf_reset(&resp->body);
	resp->status = status;
	resp->stream = fn;
	resp->stream_done = done;
	resp->stream_arg = arg;
	return 0;
}

/* ---- streaming ---- */

int http_stream_cancelled(struct http_stream *st)
{
	struct pollfd p;

	if (atomic_load(&st->srv->stopping))
		return 1;
	if (st->fd < 0)
		return 0;
	p.fd = st->fd;
	p.events = POLLRDHUP;
	p.revents = 0;
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
		return 1;
	return 0;
}

static ssize_t http_stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct http_ctx *c = cls;
	ssize_t n;

	(void)pos;
	if (c->stream_ended)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (http_stream_cancelled(&c->st))
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = c->stream(c->stream_arg, &c->st, out, max);
	if (n < 0 || (size_t)n > max)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (n == 0) {
		c->stream_ended = 1;
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	c->bytes += (unsigned long long)n;
	return n;
}

/* ---- queueing ---- */

/* Turns resp into an MHD response on c's connection. Consumes resp (body, headers, stream). */
static enum MHD_Result http_queue(struct http_ctx *c, struct http_response *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ok;
	size_t len = resp->body.len;

	if (resp->stream != NULL) {
		c->stream = resp->stream;
		c->stream_done = resp->stream_done; /* from now on the ctx calls done */
		c->stream_arg = resp->stream_arg;
		resp->stream = NULL;
		resp->stream_done = NULL;
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HTTP_STREAM_BLOCK,
						      http_stream_read, c, NULL);
	} else if (len > 0) {
		r = MHD_create_response_from_buffer(len, resp->body.data, MHD_RESPMEM_MUST_FREE);
		if (r != NULL) {
			resp->body.data = NULL; /* MHD frees it */
			resp->body.len = resp->body.cap = 0;
		}
		c->bytes = len;
	} else {
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (r == NULL) {
		http_response_clear(resp);
		return MHD_NO; /* the completed callback still runs c->stream_done */
	}
	if (resp->content_type[0] != '\0')
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
	for (size_t i = 0; i < resp->nheaders; i++)
		MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
	c->status = resp->status;
	ok = MHD_queue_response(c->conn, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	http_response_clear(resp);
	if (ok == MHD_YES)
		c->responded = 1;
	return ok;
}

/* A response the wrapper makes itself: always a JSON error body. */
static enum MHD_Result http_queue_error(struct http_ctx *c, int status, const char *type,
					const char *message, int close_conn)
{
	struct http_response resp;

	memset(&resp, 0, sizeof(resp));
	if (http_reply_error(&resp, status, type, message) != 0 ||
	    (close_conn && http_response_header(&resp, "Connection", "close") != 0)) {
		http_response_clear(&resp);
		return MHD_NO;
	}
	return http_queue(c, &resp);
}

/* ---- MHD callbacks ---- */

static void *http_uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct http_ctx *c = calloc(1, sizeof(*c));
	const union MHD_ConnectionInfo *ci;
	char *q;

	if (c == NULL)
		return NULL;
	c->srv = cls;
	c->conn = conn;
	c->st.srv = cls;
	c->st.fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	c->uri = strdup(uri != NULL ? uri : "");
	if (c->uri == NULL) {
		free(c);
		return NULL;
	}
	q = strchr(c->uri, '?');
	if (q != NULL)
		*q++ = '\0';
	c->path = c->uri;
	c->query = q != NULL ? q : "";
	snprintf(c->peer, sizeof(c->peer), "?");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_UNIX)
			snprintf(c->peer, sizeof(c->peer), "unix");
		else if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET,
				  &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
				  c->peer, sizeof(c->peer));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
				  c->peer, sizeof(c->peer));
	}
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci != NULL)
		c->st.fd = ci->connect_fd;
	return c;
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			   enum MHD_RequestTerminationCode toe)
{
	struct http_ctx *c = *req_cls;
	struct timespec t1;
	long long ms;

	(void)cls;
	(void)conn;
	if (c == NULL)
		return;
	*req_cls = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (long long)(t1.tv_sec - c->t0.tv_sec) * 1000 + (t1.tv_nsec - c->t0.tv_nsec) / 1000000;
	log_info("%s %.200s %d %llu %lldms peer=%s%s", c->method[0] ? c->method : "-", c->path,
		 c->status, c->bytes, ms, c->peer,
		 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
	if (c->stream_done != NULL)
		c->stream_done(c->stream_arg,
			       toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && c->stream_ended);
	buf_free(&c->body);
	free(c->uri);
	free(c);
}

static int http_parse_length(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (ULLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (unsigned long long)(*s - '0');
	}
	*out = v;
	return 0;
}

static enum MHD_Result http_dispatch(struct http_ctx *c)
{
	struct http_server *srv = c->srv;
	struct http_response resp;
	struct http_request req;
	int r;

	memset(&resp, 0, sizeof(resp));
	req.method = c->method;
	req.path = c->path;
	req.query = c->query;
	req.body = (const unsigned char *)(c->body.data != NULL ? c->body.data : "");
	req.body_len = c->body.len;
	req.peer = c->peer;
	req.priv_ = c;
	r = srv->handler(srv->arg, &req, &resp);
	if (r != 0 || resp.status < 100 || resp.status > 599) {
		log_warnx("http: handler failed for %s %.200s (returned %d, status %d)", c->method,
			  c->path, r, resp.status);
		http_response_clear(&resp); /* calls a started stream's done(arg, 0) */
		return http_queue_error(c, 500, "server_error", "internal error", 0);
	}
	return http_queue(c, &resp);
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *conn, const char *url,
				   const char *method, const char *version, const char *upload_data,
				   size_t *upload_data_size, void **req_cls)
{
	struct http_server *srv = cls;
	struct http_ctx *c = *req_cls;
	unsigned long long cl;
	const char *v;
	char msg[128];

	(void)url;
	(void)version;
	if (c == NULL)
		return MHD_NO; /* out of memory in http_uri_log */
	if (!c->started) {
		c->started = 1;
		c->conn = conn;
		snprintf(c->method, sizeof(c->method), "%s", method);
		if (c->path[0] != '/')
			return http_queue_error(c, 400, "invalid_request_error",
						"request target must be an absolute path", 1);
		v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (v != NULL && http_parse_length(v, &cl) != 0)
			return http_queue_error(c, 400, "invalid_request_error",
						"malformed Content-Length", 1);
		if (v != NULL && cl > srv->max_body) {
			snprintf(msg, sizeof(msg), "request body larger than %zu bytes",
				 srv->max_body);
			return http_queue_error(c, 413, "invalid_request_error", msg, 1);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		/* MHD 0.9.75 refuses a response queued mid-body, so an oversized chunked body is
		 * discarded as it arrives and answered at its end; past HTTP_DISCARD_MAX of
		 * discarding, the connection is closed instead. */
		if (c->too_big || c->oom) {
			c->discarded += *upload_data_size;
			if (c->discarded > HTTP_DISCARD_MAX)
				return MHD_NO;
		}
		if (!c->responded && !c->too_big && !c->oom) {
			if (*upload_data_size > srv->max_body - c->body.len) {
				c->too_big = 1;
				buf_free(&c->body);
			} else if (buf_append(&c->body, upload_data, *upload_data_size) != 0) {
				c->oom = 1;
				buf_free(&c->body);
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (c->responded)
		return MHD_YES;
	if (c->too_big) {
		snprintf(msg, sizeof(msg), "request body larger than %zu bytes", srv->max_body);
		return http_queue_error(c, 413, "invalid_request_error", msg, 1);
	}
	if (c->oom)
		return http_queue_error(c, 500, "server_error", "out of memory", 1);
	return http_dispatch(c);
}

const char *http_request_header(const struct http_request *req, const char *name)
{
	const struct http_ctx *c = req->priv_;

	return c != NULL ? MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name) : NULL;
}

int http_request_fd(const struct http_request *req)
{
	const struct http_ctx *c = req->priv_;

	return c != NULL ? c->st.fd : -1;
}

static void http_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_warnx("http: %s", line);
}

/* ---- server ---- */

static void http_fill_defaults(struct http_options *o)
{
	if (o->max_body_bytes == 0)
		o->max_body_bytes = HTTP_DEFAULT_BODY;
	if (o->max_header_bytes == 0)
		o->max_header_bytes = HTTP_DEFAULT_HEADER;
	if (o->max_header_bytes < HTTP_MIN_HEADER)
		o->max_header_bytes = HTTP_MIN_HEADER;
	if (o->max_connections == 0)
		o->max_connections = 64;
	if (o->timeout_seconds == 0)
		o->timeout_seconds = 30;
	if (o->threads == 0)
		o->threads = 4;
}

/* The same server on a Unix socket (mode 0600, replacing a stale one): for callers that have
 * no network at all, such as a compartment's sandbox with the socket bound into it. */
static struct http_server *http_server_start_unix(const struct http_options *opt,
						  http_handler_fn handler, void *arg)
{
	struct http_options o = *opt;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct http_server *srv;
	int fd;

	http_fill_defaults(&o);
	if (strlen(o.unix_path) >= sizeof(sa.sun_path)) {
		log_warnx("http: unix socket path %s is too long", o.unix_path);
		return NULL;
	}
	memcpy(sa.sun_path, o.unix_path, strlen(o.unix_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		log_warn("http: socket");
		return NULL;
	}
	unlink(o.unix_path);
	mode_t old = umask(077);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0 || listen(fd, 64) != 0) {
		log_warn("http: cannot listen on %s", o.unix_path);
		close(fd);
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		close(fd);
		return NULL;
	}
	srv->handler = handler;
	srv->arg = arg;
	srv->max_body = o.max_body_bytes;
	atomic_init(&srv->stopping, 0);
	srv->daemon = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    http_access, srv, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, srv,
	    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_URI_LOG_CALLBACK, http_uri_log, srv,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed, srv, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    o.max_header_bytes, MHD_OPTION_CONNECTION_LIMIT, o.max_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, o.timeout_seconds, MHD_OPTION_THREAD_POOL_SIZE, o.threads,
	    MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
	if (srv->daemon == NULL) {
		log_warnx("http: cannot serve on %s", o.unix_path);
		close(fd);
		free(srv);
		return NULL;
	}
	snprintf(srv->address, sizeof(srv->address), "unix:%.*s", (int)sizeof(srv->address) - 6,
		 o.unix_path);
	srv->port = 0;
	log_info("http: listening on %s", o.unix_path);
	return srv;
}

struct http_server *http_server_start(const struct http_options *opt, http_handler_fn handler,
				      void *arg)
{
	struct http_options o = *opt;
	struct http_server *srv;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	const union MHD_DaemonInfo *di;
	socklen_t sl = sizeof(ss);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;

	if (handler == NULL || o.port < 0 || o.port > 65535) {
		log_warnx("http: bad options");
		return NULL;
	}
	if (o.unix_path != NULL && o.unix_path[0] != '\0')
		return http_server_start_unix(&o, handler, arg);
	if (o.address == NULL || o.address[0] == '\0')
		o.address = "127.0.0.1";
	if (o.max_body_bytes == 0)
		o.max_body_bytes = HTTP_DEFAULT_BODY;
	if (o.max_header_bytes == 0)
		o.max_header_bytes = HTTP_DEFAULT_HEADER;
	if (o.max_header_bytes < HTTP_MIN_HEADER)
		o.max_header_bytes = HTTP_MIN_HEADER;
	if (o.max_connections == 0)
		o.max_connections = 64;
	if (o.timeout_seconds == 0)
		o.timeout_seconds = 30;
	if (o.threads == 0)
		o.threads = 4;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, o.address, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)o.port);
	} else if (inet_pton(AF_INET6, o.address, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)o.port);
		flags |= MHD_USE_IPv6;
	} else {
		log_warnx("http: %s is not an IPv4 or IPv6 address literal", o.address);
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return NULL;
	srv->handler = handler;
	srv->arg = arg;
	srv->max_body = o.max_body_bytes;
	atomic_init(&srv->stopping, 0);
	/* the logger first, so MHD never prints on its own */
	srv->daemon = MHD_start_daemon(
	    flags, (uint16_t)o.port, NULL, NULL, http_access, srv, MHD_OPTION_EXTERNAL_LOGGER,
	    http_mhd_log, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_URI_LOG_CALLBACK, http_uri_log, srv, MHD_OPTION_NOTIFY_COMPLETED,
	    http_completed, srv, MHD_OPTION_CONNECTION_MEMORY_LIMIT, o.max_header_bytes,
	    MHD_OPTION_CONNECTION_LIMIT, o.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
	    o.timeout_seconds, MHD_OPTION_THREAD_POOL_SIZE, o.threads, MHD_OPTION_STRICT_FOR_CLIENT,
	    1, MHD_OPTION_END);
	if (srv->daemon == NULL) {
		log_warnx("http: cannot listen on %s port %d", o.address, o.port);
		free(srv);
		return NULL;
	}
	di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_LISTEN_FD);
	memset(&ss, 0, sizeof(ss));
	if (di == NULL || getsockname(di->listen_fd, (struct sockaddr *)&ss, &sl) != 0) {
		log_warn("http: getsockname");
		http_server_stop(srv);
		return NULL;
	}
	if (ss.ss_family == AF_INET6) {
		srv->port = ntohs(sin6->sin6_port);
		inet_ntop(AF_INET6, &sin6->sin6_addr, srv->address, sizeof(srv->address));
	} else {
		srv->port = ntohs(sin->sin_port);
		inet_ntop(AF_INET, &sin->sin_addr, srv->address, sizeof(srv->address));
	}
	log_info("http: listening on %s port %d", srv->address, srv->port);
	return srv;
}

void http_server_stop(struct http_server *srv)
{
	if (srv == NULL)
		return;
	atomic_store(&srv->stopping, 1);
	MHD_stop_daemon(srv->daemon);
	free(srv);
}

int http_server_port(const struct http_server *srv)
{
	return srv->port;
}

int http_server_address(const struct http_server *srv, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s", srv->address);

	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}
