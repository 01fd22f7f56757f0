/*
 * test_http.c — the HTTP wrapper against a real server on 127.0.0.1 (ephemeral port), driven by
 * libcurl: JSON replies, handler 404/500, body limits (413 without calling the handler), streams
 * read in chunks, client disconnect seen by the stream, loopback-only binding, concurrency,
 * stopping with a stream running.
 *
 * Owns: its servers and client threads. Never: binds anything but loopback addresses.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "buf.h"
#include "http.h"

#define BODY_LIMIT 4096

static atomic_int handler_calls;
static atomic_int stream_calls;	   /* http_stream_fn calls of /forever */
static atomic_int stream_done;	   /* done callbacks seen */
static atomic_int stream_complete; /* the last done's complete flag */

struct stream_state {
	int i, n;
	int forever;
};

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static ssize_t stream_fn(void *arg, struct http_stream *st, char *buf, size_t max)
{
	struct stream_state *s = arg;

	if (s->forever) {
		atomic_fetch_add(&stream_calls, 1);
		for (int w = 0; w < 2; w++) { /* "waiting for the next token" */
			if (http_stream_cancelled(st))
				return -1;
			sleep_ms(10);
		}
	} else if (s->i >= s->n) {
		return 0;
	}
	return snprintf(buf, max, "data: %d\n\n", s->i++);
}

static void stream_done_fn(void *arg, int complete)
{
	free(arg);
	atomic_store(&stream_complete, complete);
	atomic_fetch_add(&stream_done, 1);
}

static int handler(void *arg, const struct http_request *req, struct http_response *resp)
{
	(void)arg;
	atomic_fetch_add(&handler_calls, 1);
	if (strcmp(req->path, "/json") == 0) {
		json_t *v = json_pack("{s:s,s:s,s:s,s:s,s:I}", "method", req->method, "path",
				      req->path, "query", req->query, "peer", req->peer, "len",
				      (json_int_t)req->body_len);
		int r = http_reply_json(resp, 200, v);
		json_decref(v);
		return r;
	}
	if (strcmp(req->path, "/echo") == 0) {
		const char *h = http_request_header(req, "x-test");
		if (http_response_header(resp, "X-Echo", h ? h : "(none)") != 0)
			return -1;
		if (http_response_header(resp, "Bad\r\nHeader", "x") == 0)
			return -1; /* must be refused */
		return http_reply(resp, 200, "text/plain", req->body, req->body_len);
	}
	if (strcmp(req->path, "/fail") == 0) {
		http_reply(resp, 200, "text/plain", "partial", 7);
		return -1;
	}
	if (strcmp(req->path, "/stream") == 0 || strcmp(req->path, "/forever") == 0) {
		struct stream_state *s = calloc(1, sizeof(*s));
		if (s == NULL)
			return -1;
		s->n = 5;
		s->forever = strcmp(req->path, "/forever") == 0;
		return http_reply_stream(resp, 200, NULL, stream_fn, stream_done_fn, s);
	}
	return http_reply_error(resp, 404, "not_found_error", "no such path");
}

/* ---- a small libcurl client ---- */

struct reply {
	long status;
	struct buf body;
	struct buf headers;
	int chunks;
	int abort_after; /* > 0: abort the transfer after this many chunks */
	CURLcode rc;
};

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct reply *r = arg;

	r->chunks++;
	if (buf_append(&r->body, p, sz * n) != 0)
		return 0;
	if (r->abort_after > 0 && r->chunks >= r->abort_after)
		return 0;
	return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct reply *r = arg;

	return buf_append(&r->headers, p, sz * n) == 0 ? sz * n : 0;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t on_read(char *p, size_t sz, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t k = sz * n < u->left ? sz * n : u->left;

	if (k > 1000)
		k = 1000;
	memcpy(p, u->p, k);
	u->p += k;
	u->left -= k;
	return k;
}

static struct http_server *srv;
static int port;

/* method NULL = GET; body with chunked != 0 is sent with Transfer-Encoding: chunked. */
static void request(const char *method, const char *path, const char *body, size_t len, int chunked,
		    const char *hdr, struct reply *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct upload u = {body, len};
	char url[512];

	assert_non_null(c);
	r->status = 0;
	r->chunks = 0;
	buf_reset(&r->body);
	buf_reset(&r->headers);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (hdr != NULL)
		h = curl_slist_append(h, hdr);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		if (chunked) {
			h = curl_slist_append(h, "Transfer-Encoding: chunked");
			curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(c, CURLOPT_READDATA, &u);
		} else {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		}
	}
	if (method != NULL)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (h != NULL)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	r->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

static void reply_free(struct reply *r)
{
	buf_free(&r->body);
	buf_free(&r->headers);
}

/* Asserts r's body is an OpenAI-style error of the given type. */
static void assert_error_body(const struct reply *r, const char *type)
{
	json_error_t je;
	json_t *v = json_loadb(r->body.data, r->body.len, 0, &je);
	json_t *e;

	if (v == NULL)
		fail_msg("not JSON: %.*s", (int)r->body.len, r->body.data);
	e = json_object_get(v, "error");
	assert_true(json_is_object(e));
	assert_string_equal(json_string_value(json_object_get(e, "type")), type);
	assert_true(json_is_string(json_object_get(e, "message")));
	assert_true(json_is_null(json_object_get(e, "code")));
	json_decref(v);
}

static int setup(void **state)
{
	struct http_options o;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.max_body_bytes = BODY_LIMIT;
	o.threads = 4;
	srv = http_server_start(&o, handler, NULL);
	if (srv == NULL)
		return -1;
	port = http_server_port(srv);
	return port > 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	http_server_stop(srv);
	return 0;
}

static void test_json_200(void **state)
{
	struct reply r = {0};
	json_error_t je;
	json_t *v;

	(void)state;
	request(NULL, "/json?x=1&y=%20", NULL, 0, 0, NULL, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_non_null(strcasestr(r.headers.data, "\r\ncontent-type: application/json\r\n"));
	v = json_loadb(r.body.data, r.body.len, 0, &je);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "method")), "GET");
	assert_string_equal(json_string_value(json_object_get(v, "path")), "/json");
	assert_string_equal(json_string_value(json_object_get(v, "query")), "x=1&y=%20");
	assert_string_equal(json_string_value(json_object_get(v, "peer")), "127.0.0.1");
	assert_int_equal(json_integer_value(json_object_get(v, "len")), 0);
	json_decref(v);
	/* the path is given raw, not percent-decoded */
	request(NULL, "/js%6Fn", NULL, 0, 0, NULL, &r);
	assert_int_equal(r.status, 404);
	reply_free(&r);
}

static void test_404_and_500(void **state)
{
	struct reply r = {0};

	(void)state;
	request(NULL, "/nope", NULL, 0, 0, NULL, &r);
	assert_int_equal(r.status, 404);
	assert_error_body(&r, "not_found_error");
	assert_non_null(strstr(r.body.data, "\"message\":\"no such path\""));
	request("DELETE", "/fail", NULL, 0, 0, NULL, &r);
	assert_int_equal(r.status, 500);
	assert_error_body(&r, "server_error");
	assert_null(strstr(r.body.data, "partial"));
	reply_free(&r);
}

static void test_echo_and_headers(void **state)
{
	struct reply r = {0};
	char body[BODY_LIMIT];

	(void)state;
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (char)('a' + i % 26);
	request(NULL, "/echo", body, sizeof(body), 0, "X-Test: hello", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, sizeof(body));
	assert_memory_equal(r.body.data, body, sizeof(body));
	assert_non_null(strcasestr(r.headers.data, "\r\nx-echo: hello\r\n"));
	/* exactly at the limit, chunked */
	request(NULL, "/echo", body, sizeof(body), 1, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, sizeof(body));
	assert_memory_equal(r.body.data, body, sizeof(body));
	assert_non_null(strcasestr(r.headers.data, "\r\nx-echo: (none)\r\n"));
	reply_free(&r);
}

static void test_413(void **state)
{
	struct reply r = {0};
	size_t n = 3 * 1024 * 1024;
	char *body = malloc(n);
	int before;

	(void)state;
	assert_non_null(body);
	memset(body, 'x', n);
	before = atomic_load(&handler_calls);
	request(NULL, "/echo", body, BODY_LIMIT + 1, 0, NULL, &r);
	assert_int_equal(r.status, 413);
	assert_error_body(&r, "invalid_request_error");
	request(NULL, "/echo", body, n, 0, NULL, &r);
	assert_int_equal(r.status, 413);
	assert_error_body(&r, "invalid_request_error");
	/* chunked: no Content-Length, the wrapper discards as it reads and answers 413 */
	request(NULL, "/echo", body, 64 * 1024, 1, NULL, &r);
	assert_int_equal(r.status, 413);
	assert_error_body(&r, "invalid_request_error");
	/* far over the limit, chunked: the connection is closed instead of reading it all */
	request(NULL, "/echo", body, n, 1, NULL, &r);
	if (r.rc == CURLE_OK || r.status == 200)
		fail_msg("rc %d status %ld", r.rc, r.status);
	assert_int_equal(atomic_load(&handler_calls), before);
	/* the server still works afterwards */
	request(NULL, "/json", NULL, 0, 0, NULL, &r);
	assert_int_equal(r.status, 200);
	free(body);
	reply_free(&r);
}

static void test_bad_requests(void **state)
{
	struct reply r = {0};
	CURL *c;
	char url[128], *big;
	struct curl_slist *h = NULL;
	int before = atomic_load(&handler_calls);

	(void)state;
	/* a request target that is not a path: 400 from the wrapper, as JSON */
	c = curl_easy_init();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "OPTIONS");
	curl_easy_setopt(c, CURLOPT_REQUEST_TARGET, "*");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	assert_int_equal(r.status, 400);
	assert_error_body(&r, "invalid_request_error");
	curl_easy_cleanup(c);
	assert_int_equal(atomic_load(&handler_calls), before);

	/* headers over the connection memory limit: libmicrohttpd answers on its own */
	big = malloc(64 * 1024);
	assert_non_null(big);
	memcpy(big, "X-Big: ", 7);
	memset(big + 7, 'b', 64 * 1024 - 8);
	big[64 * 1024 - 1] = '\0';
	request(NULL, "/json", NULL, 0, 0, big, &r);
	assert_int_equal(r.status, 431);
	assert_int_equal(atomic_load(&handler_calls), before);
	free(big);
	curl_slist_free_all(h);
	reply_free(&r);
}

static void test_stream(void **state)
{
	struct reply r = {0};
	int done0 = atomic_load(&stream_done);

	(void)state;
	request(NULL, "/stream", NULL, 0, 0, NULL, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_non_null(strcasestr(r.headers.data, "\r\ncontent-type: text/event-stream\r\n"));
	assert_non_null(strcasestr(r.headers.data, "\r\ntransfer-encoding: chunked\r\n"));
	assert_string_equal(r.body.data, "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n");
	assert_true(r.chunks >= 1);
	for (int i = 0; i < 200 && atomic_load(&stream_done) == done0; i++)
		sleep_ms(10);
	assert_int_equal(atomic_load(&stream_done), done0 + 1);
	assert_int_equal(atomic_load(&stream_complete), 1);
	reply_free(&r);
}

static void test_stream_disconnect(void **state)
{
	struct reply r = {0};
	int done0 = atomic_load(&stream_done), calls;

	(void)state;
	atomic_store(&stream_complete, -1);
	r.abort_after = 3;
	request(NULL, "/forever", NULL, 0, 0, NULL, &r);
	assert_int_equal(r.rc, CURLE_WRITE_ERROR);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.chunks, 3);
	assert_memory_equal(r.body.data, "data: 0\n\n", 9);
	for (int i = 0; i < 500 && atomic_load(&stream_done) == done0; i++)
		sleep_ms(10);
	assert_int_equal(atomic_load(&stream_done), done0 + 1);
	assert_int_equal(atomic_load(&stream_complete), 0);
	calls = atomic_load(&stream_calls);
	sleep_ms(200);
	assert_int_equal(atomic_load(&stream_calls), calls); /* generation stopped */
	reply_free(&r);
}

static void test_loopback_only(void **state)
{
	struct ifaddrs *ifa, *i;
	char addr[64], host[INET6_ADDRSTRLEN];
	int checked = 0;

	(void)state;
	assert_int_equal(http_server_address(srv, addr, sizeof(addr)), 0);
	assert_string_equal(addr, "127.0.0.1");
	assert_true(port > 0 && port < 65536);
	/* and nothing answers on this machine's other IPv4 addresses */
	assert_int_equal(getifaddrs(&ifa), 0);
	for (i = ifa; i != NULL; i = i->ifa_next) {
		struct sockaddr_in sin;
		int fd;

		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
			continue;
		memcpy(&sin, i->ifa_addr, sizeof(sin));
		if ((ntohl(sin.sin_addr.s_addr) >> 24) == 127)
			continue;
		sin.sin_port = htons((uint16_t)port);
		inet_ntop(AF_INET, &sin.sin_addr, host, sizeof(host));
		fd = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(fd >= 0);
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			fail_msg("server answers on %s:%d", host, port);
		close(fd);
		checked++;
	}
	freeifaddrs(ifa);
	if (checked == 0)
		print_message("note: no non-loopback IPv4 address to probe\n");
}

static void test_ipv6_and_bad_address(void **state)
{
	struct http_options o;
	struct http_server *s6;
	char addr[64];

	(void)state;
	memset(&o, 0, sizeof(o));
	o.address = "localhost";
	assert_null(http_server_start(&o, handler, NULL));
	o.address = "::1";
	s6 = http_server_start(&o, handler, NULL);
	if (s6 == NULL) {
		print_message("note: no IPv6 loopback here, skipping the ::1 bind\n");
		return;
	}
	assert_int_equal(http_server_address(s6, addr, sizeof(addr)), 0);
	assert_string_equal(addr, "::1");
	assert_true(http_server_port(s6) > 0);
	http_server_stop(s6);
}

#define NTHREADS 6
#define NREQ 25

static void *client_thread(void *arg)
{
	long id = (long)(intptr_t)arg;
	struct reply r = {0};
	char body[128];
	long ok = 0;

	for (int i = 0; i < NREQ; i++) {
		int n = snprintf(body, sizeof(body), "thread %ld request %d", id, i);
		request(NULL, "/echo", body, (size_t)n, 0, NULL, &r);
		if (r.status == 200 && r.body.len == (size_t)n && memcmp(r.body.data, body, n) == 0)
			ok++;
	}
	reply_free(&r);
	return (void *)(intptr_t)ok;
}

static void test_concurrent(void **state)
{
	pthread_t t[NTHREADS];
	long total = 0;

	(void)state;
	for (long i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, client_thread, (void *)(intptr_t)i),
				 0);
	for (int i = 0; i < NTHREADS; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		total += (long)(intptr_t)ret;
	}
	assert_int_equal(total, NTHREADS * NREQ);
}

static void *forever_client(void *arg)
{
	struct reply *r = arg;

	request(NULL, "/forever", NULL, 0, 0, NULL, r);
	return NULL;
}

static void test_stop_with_stream(void **state)
{
	struct http_options o;
	struct timespec a, b;
	struct reply r = {0};
	pthread_t t;
	int done0 = atomic_load(&stream_done), calls0 = atomic_load(&stream_calls);
	int saved_port = port;
	struct http_server *s2;

	(void)state;
	memset(&o, 0, sizeof(o));
	s2 = http_server_start(&o, handler, NULL);
	assert_non_null(s2);
	port = http_server_port(s2);
	assert_int_equal(pthread_create(&t, NULL, forever_client, &r), 0);
	for (int i = 0; i < 500 && atomic_load(&stream_calls) < calls0 + 3; i++)
		sleep_ms(10);
	assert_true(atomic_load(&stream_calls) >= calls0 + 3);
	clock_gettime(CLOCK_MONOTONIC, &a);
	http_server_stop(s2);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec < 5);
	assert_int_equal(atomic_load(&stream_done), done0 + 1);
	assert_int_equal(atomic_load(&stream_complete), 0);
	pthread_join(t, NULL);
	assert_int_equal(r.status, 200);
	assert_true(r.rc != CURLE_OK); /* the chunked body never ended properly */
	port = saved_port;
	reply_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_200),
	    cmocka_unit_test(test_404_and_500),
	    cmocka_unit_test(test_echo_and_headers),
	    cmocka_unit_test(test_413),
	    cmocka_unit_test(test_bad_requests),
	    cmocka_unit_test(test_stream),
	    cmocka_unit_test(test_stream_disconnect),
	    cmocka_unit_test(test_loopback_only),
	    cmocka_unit_test(test_ipv6_and_bad_address),
	    cmocka_unit_test(test_concurrent),
	    cmocka_unit_test(test_stop_with_stream),
	};
	int r;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	return r;
}
