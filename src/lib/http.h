/*
 * http.h — the HTTP server every secai daemon's API runs on (libmicrohttpd underneath).
 *
 * Owns: binding (127.0.0.1 unless told otherwise), request limits (body, header memory,
 * connections, timeouts), buffering a bounded request body, calling one handler per request,
 * turning its struct http_response into the wire response (fixed or streamed), JSON error
 * bodies for the errors the wrapper itself produces (400, 413, 500), and one log line per
 * request: `METHOD PATH STATUS BYTES MSms peer=ADDR`.
 * Never: buffers more than max_body_bytes of a request (a larger Content-Length is answered 413
 * before the body is read; a larger chunked body is discarded as it arrives and answered 413 at
 * its end — libmicrohttpd 0.9.75 refuses a response queued mid-body — or, once more than 1 MiB
 * has been discarded, the connection is closed without a response);
 * calls the handler for a request it refused; logs query strings, headers or bodies.
 *
 * Errors libmicrohttpd produces on its own (malformed request line, request headers larger than
 * the connection memory, which 0.9.75 answers "431 Request Header Fields Too Large") have
 * libmicrohttpd's small HTML bodies: no hook exists to replace them. Their log line shows
 * status 0 and " (aborted)"; so does any request the client abandoned before a response.
 */
#ifndef SECAI_HTTP_H
#define SECAI_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

struct http_server;
struct http_stream;

struct http_options {
	const char *address;	  /* IPv4/IPv6 literal; NULL or "" = 127.0.0.1 */
	int port;		  /* 0 = ephemeral (see http_server_port) */
	size_t max_body_bytes;	  /* 0 = 1 MiB */
	size_t max_header_bytes;  /* MHD connection memory limit; 0 = 32 KiB (min 8 KiB) */
	unsigned max_connections; /* 0 = 64 */
	unsigned timeout_seconds; /* idle connection timeout; 0 = 30 */
	unsigned threads;	  /* polling thread pool; 0 = 4 */
	const char *unix_path;	  /* non-empty: listen on this Unix socket (0600) instead */
};

struct http_request {
	const char *method;	   /* "GET", "POST", ... */
	const char *path;	   /* raw path as sent, not percent-decoded, always starts '/' */
	const char *query;	   /* raw query string after '?', "" when none */
	const unsigned char *body; /* NUL-terminated after body_len; never NULL */
	size_t body_len;
	const char *peer; /* client address, e.g. "127.0.0.1" or "::1" */
	void *priv_;	  /* the wrapper's; for http_request_header */
};

#define HTTP_MAX_EXTRA_HEADERS 16

/* Produces the next chunk of a streamed body into buf (at most max bytes). Returns the number of
 * bytes written (> 0), 0 at the end of the stream, or -1 to abort the connection. May block
 * while waiting for data, but must check http_stream_cancelled() at least every second or so:
 * each running stream occupies one of the server's polling threads, and http_server_stop() waits
 * for it. */
typedef ssize_t (*http_stream_fn)(void *arg, struct http_stream *st, char *buf, size_t max);
/* Called exactly once per started stream, after the last http_stream_fn call: complete = 1 when
 * the whole stream reached the client, 0 when the client went away, the connection failed, the
 * server stopped or the handler failed. Frees arg. */
typedef void (*http_stream_done_fn)(void *arg, int complete);

struct http_response {
	int status; /* 0 = not filled (the wrapper answers 500) */
	char content_type[128];
	struct buf body;
	struct {
		char *name, *value;
	} headers[HTTP_MAX_EXTRA_HEADERS];
	size_t nheaders;
	http_stream_fn stream; /* non-NULL: a streamed response */
	http_stream_done_fn stream_done;
	void *stream_arg;
};

/* Called from the server's polling threads, possibly several at once; req and its strings are
 * valid only during the call. Returns 0 when resp was filled (any status, 4xx included) and -1 when
 * the handler failed, in which case whatever it put into resp is discarded and the client gets a
 * JSON 500. */
typedef int (*http_handler_fn)(void *arg, const struct http_request *req,
			       struct http_response *resp);

/* Starts listening and serving. Returns NULL (and logs why) on failure. */
struct http_server *http_server_start(const struct http_options *opt, http_handler_fn handler,
				      void *arg);
/* Stops accepting, cancels running streams, joins every thread, frees srv. NULL is a no-op. */
void http_server_stop(struct http_server *srv);
/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *srv);
/* The address actually bound, numeric ("127.0.0.1", "::1"). */
int http_server_address(const struct http_server *srv, char *out, size_t outlen);

/* Request header by name (case-insensitive), or NULL (also for a request the wrapper did not
 * build, priv_ NULL, as unit tests make). */
const char *http_request_header(const struct http_request *req, const char *name);
/* The connection's socket, for getpeername() and netpeer_uid(); -1 when unknown. Only valid
 * during the handler call; never read from or write to it. */
int http_request_fd(const struct http_request *req);

/* Replies with body bytes. content_type NULL = "application/octet-stream". */
int http_reply(struct http_response *resp, int status, const char *content_type, const void *body,
	       size_t len);
/* Replies with v encoded compactly as application/json. Does not take v's reference. */
int http_reply_json(struct http_response *resp, int status, const json_t *v);
/* {"error":{"message":message,"type":type,"code":null}} (OpenAI style). */
int http_reply_error(struct http_response *resp, int status, const char *type, const char *message);
/* Adds a response header; refuses CR/LF and more than HTTP_MAX_EXTRA_HEADERS. */
int http_response_header(struct http_response *resp, const char *name, const char *value);
/* Starts a streamed response (chunked). done is called exactly once, even when this or the
 * handler fails after it returned 0. content_type NULL = "text/event-stream". */
int http_reply_stream(struct http_response *resp, int status, const char *content_type,
		      http_stream_fn fn, http_stream_done_fn done, void *arg);

/* True when the client has closed its side or the server is stopping: stop producing. */
int http_stream_cancelled(struct http_stream *st);

#endif
