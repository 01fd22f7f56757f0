/*
 * server.c — the audit socket: one epoll loop, group commit, acknowledgements after fsync.
 *
 * Each loop turn reads every request that has arrived on every connection, stages all appends
 * into one batch, writes and fdatasyncs it once, and only then queues the acknowledgements —
 * so N concurrent appends cost one fsync. Replies leave in request order per connection.
 * Owns: connections and their buffers, signals (signalfd), the checkpoint timer.
 * Never: acknowledges an append before store_commit() returned, or keeps running after a failed
 * commit (the process exits and the supervisor restarts it; recovery re-verifies the log).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"

#define READ_CHUNK 65536
#define OUT_HIGH_WATER (4 << 20) /* stop reading from a client that does not read its acks */
#define MAX_EVENTS 128

struct conn {
	int fd;
	struct buf in;
	struct buf out;
	size_t out_off;
	uint64_t pending; /* appends staged but not yet acknowledged */
	int closing;
	struct conn *next;
};

struct pending_ack {
	struct conn *c;
	uint64_t index;
	char hash[SHA256_HEX_LEN + 1];
};

struct server {
	struct audit_store *s;
	const struct audit_opts *o;
	int ep, lfd, sfd;
	struct conn *conns;
	struct pending_ack *acks;
	size_t nacks, acks_cap;
	int stop;
	uint64_t appended, batches;
};

static int listen_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd, probe;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_warnx("socket path %s is too long (max %zu bytes)", path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	/* a socket file left by a killed daemon: remove it only if nobody answers on it */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			log_warnx("%s: another audit daemon is already listening", path);
			return -1;
		}
		close(probe);
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	mode_t old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 512) != 0) {
		umask(old);
		log_warn("cannot listen on %s", path);
		close(fd);
		return -1;
	}
	umask(old);
	return fd;
}

static void conn_free(struct server *sv, struct conn *c)
{
	struct conn **pp;

	for (pp = &sv->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	epoll_ctl(sv->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

static int reply(struct conn *c, json_t *r)
{
	char *s = json_dumps(r, JSON_COMPACT);
	int rc;

	json_decref(r);
	if (s == NULL)
		return -1;
	rc = buf_append_str(&c->out, s);
	if (rc == 0)
		rc = buf_append_char(&c->out, '\n');
	free(s);
	return rc;
}

static int reply_error(struct conn *c, const char *msg)
{
	return reply(c, json_pack("{s:b, s:s}", "ok", 0, "error", msg));
}

static void flush_out(struct server *sv, struct conn *c)
{
	struct epoll_event ev;

	while (c->out_off < c->out.len) {
		ssize_t n = write(c->fd, c->out.data + c->out_off, c->out.len - c->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN)
				c->closing = 1;
			break;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out.len) {
		buf_reset(&c->out);
		c->out_off = 0;
	}
	ev.events = EPOLLIN | (c->out.len ? EPOLLOUT : 0);
	ev.data.ptr = c;
	epoll_ctl(sv->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int commit_and_ack(struct server *sv)
{
	if (sv->nacks == 0 && sv->s->batch.len == 0)
		return 0;
	if (store_commit(sv->s) != 0)
		return -1;
	sv->batches++;
	for (size_t i = 0; i < sv->nacks; i++) {
		struct pending_ack *a = &sv->acks[i];
		reply(a->c, json_pack("{s:b, s:I, s:s}", "ok", 1, "index", (json_int_t)a->index,
				      "entry_hash", a->hash));
		a->c->pending--;
	}
	sv->appended += sv->nacks;
	sv->nacks = 0;
	return 0;
}

static int handle_append(struct server *sv, struct conn *c, json_t *req)
{
	const char *event = json_get_string(req, "event");
	json_t *data = json_object_get(req, "data");
	struct buf canon = BUF_INIT;
	struct pending_ack *a;
	const char *k;
	json_t *v;

	json_object_foreach(req, k, v) {
		if (strcmp(k, "op") && strcmp(k, "event") && strcmp(k, "data"))
			return reply_error(c, "append takes only op, event and data");
	}
	if (event == NULL || !audit_event_name_ok(event))
		return reply_error(c, "event must be 1-128 characters of [A-Za-z0-9._:-]");
	if (data == NULL)
		data = json_object();
	else
		json_incref(data);
	if (!json_is_object(data)) {
		json_decref(data);
		return reply_error(c, "data must be a JSON object");
	}
	if (json_canon_append(&canon, data) != 0) {
		json_decref(data);
		buf_free(&canon);
		return reply_error(c, "data cannot be encoded canonically");
	}
	json_decref(data);
	if (sv->nacks == sv->acks_cap) {
		size_t cap = sv->acks_cap ? sv->acks_cap * 2 : 1024;
		struct pending_ack *na = realloc(sv->acks, cap * sizeof(*na));
		if (na == NULL) {
			buf_free(&canon);
			return -1;
		}
		sv->acks = na;
		sv->acks_cap = cap;
	}
	a = &sv->acks[sv->nacks];
	if (store_stage(sv->s, NULL, event, canon.data, canon.len, &a->index, a->hash) != 0) {
		buf_free(&canon);
		return -1;
	}
	buf_free(&canon);
	a->c = c;
	c->pending++;
	sv->nacks++;
	return 0;
}

static int handle_line(struct server *sv, struct conn *c, const char *line, size_t len)
{
	char err[200];
	json_t *req = json_parse_object(line, len, (size_t)sv->o->max_entry_bytes + 1024, err,
					sizeof(err));
	const char *op;
	int rc = 0;

	if (req == NULL) {
		char msg[256];
		snprintf(msg, sizeof(msg), "request is not a valid JSON object: %s", err);
		return reply_error(c, msg);
	}
	op = json_get_string(req, "op");
	if (op != NULL && strcmp(op, "append") == 0) {
		rc = handle_append(sv, c, req);
		json_decref(req);
		return rc;
	}
	/* other requests are answered after this connection's earlier appends are durable */
	if (c->pending > 0 && commit_and_ack(sv) != 0) {
		json_decref(req);
		return -1;
	}
	if (op != NULL && strcmp(op, "status") == 0) {
		rc = reply(c, json_pack("{s:b, s:I, s:s, s:I, s:s, s:s, s:I, s:I}", "ok", 1, "entries",
					(json_int_t)sv->s->entries, "head", sv->s->head_hex,
					"checkpoint_size", (json_int_t)sv->s->ckpt_size, "log_file",
					sv->s->paths.live, "origin", sv->s->key.name, "pid",
					(json_int_t)getpid(), "batches", (json_int_t)sv->batches));
	} else if (op != NULL && strcmp(op, "checkpoint") == 0) {
		struct buf note = BUF_INIT;
		if (store_checkpoint(sv->s, &note) != 0) {
			buf_free(&note);
			json_decref(req);
			return -1;
		}
		rc = reply(c, json_pack("{s:b, s:I, s:s}", "ok", 1, "size",
					(json_int_t)sv->s->ckpt_size, "note", note.data));
		buf_free(&note);
	} else {
		rc = reply_error(c, "unknown op (append, status, checkpoint)");
	}
	json_decref(req);
	return rc;
}

/* Reads what is available and handles every complete line. Returns -1 only on a store error. */
static int conn_read(struct server *sv, struct conn *c)
{
	size_t max_line = (size_t)sv->o->max_entry_bytes + 1024;
	size_t off = 0;

	if (c->out.len > OUT_HIGH_WATER)
		return 0;
	for (int turns = 0; turns < 16; turns++) {
		if (buf_reserve(&c->in, READ_CHUNK) != 0)
			return -1;
		ssize_t n = read(c->fd, c->in.data + c->in.len, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN)
				c->closing = 1;
			break;
		}
		if (n == 0) {
			c->closing = 1;
			break;
		}
		c->in.len += (size_t)n;
		if ((size_t)n < READ_CHUNK)
			break;
	}
	while (off < c->in.len) {
		char *nl = memchr(c->in.data + off, '\n', c->in.len - off);
		if (nl == NULL)
			break;
		size_t len = (size_t)(nl - (c->in.data + off));
		if (len > max_line) {
			reply_error(c, "request line too long");
			c->closing = 1;
			break;
		}
		if (handle_line(sv, c, c->in.data + off, len) != 0)
			return -1;
		off += len + 1;
	}
	if (off > 0) {
		memmove(c->in.data, c->in.data + off, c->in.len - off);
		c->in.len -= off;
	}
	if (c->in.len > max_line) {
		reply_error(c, "request line too long");
		c->closing = 1;
	}
	return 0;
}

static void accept_all(struct server *sv)
{
	for (;;) {
		int fd = accept4(sv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev;
		struct conn *c;

		if (fd < 0)
			return;
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			return;
		}
		c->fd = fd;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(sv->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = sv->conns;
		sv->conns = c;
	}
}

static int checkpoint_due(struct server *sv)
{
	struct audit_store *s = sv->s;

	if (s->entries == s->ckpt_size)
		return 0;
	return s->entries - s->ckpt_size >= (uint64_t)sv->o->checkpoint_every ||
	       time(NULL) - s->ckpt_time >= sv->o->checkpoint_interval;
}

int server_run(struct audit_store *s, const struct audit_opts *o)
{
	struct server sv = {.s = s, .o = o, .ep = -1, .lfd = -1, .sfd = -1};
	struct epoll_event ev, evs[MAX_EVENTS];
	sigset_t mask;
	int rc = -1;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sv.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	sv.ep = epoll_create1(EPOLL_CLOEXEC);
	sv.lfd = listen_unix(o->socket);
	if (sv.sfd < 0 || sv.ep < 0 || sv.lfd < 0)
		goto out;
	ev.events = EPOLLIN;
	ev.data.ptr = &sv.lfd;
	epoll_ctl(sv.ep, EPOLL_CTL_ADD, sv.lfd, &ev);
	ev.data.ptr = &sv.sfd;
	epoll_ctl(sv.ep, EPOLL_CTL_ADD, sv.sfd, &ev);
	log_info("listening on %s (group commit; checkpoint every %lld entries or %llds)", o->socket,
		 o->checkpoint_every, o->checkpoint_interval);

	while (!sv.stop) {
		int n = epoll_wait(sv.ep, evs, MAX_EVENTS, 1000);
		if (n < 0 && errno != EINTR) {
			log_warn("epoll_wait");
			goto out;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &sv.lfd) {
				accept_all(&sv);
			} else if (evs[i].data.ptr == &sv.sfd) {
				struct signalfd_siginfo si;
				while (read(sv.sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						log_info("SIGHUP: writing a checkpoint");
						if (store_checkpoint(s, NULL) != 0)
							goto out;
					} else {
						log_info("signal %u: stopping", si.ssi_signo);
						sv.stop = 1;
					}
				}
			} else {
				struct conn *c = evs[i].data.ptr;
				if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
					if (conn_read(&sv, c) != 0)
						goto out;
				if (evs[i].events & EPOLLOUT)
					flush_out(&sv, c);
			}
		}
		if (commit_and_ack(&sv) != 0)
			goto out;
		for (struct conn *c = sv.conns, *next; c; c = next) {
			next = c->next;
			if (c->out.len)
				flush_out(&sv, c);
			if (c->closing && c->pending == 0)
				conn_free(&sv, c);
		}
		if (store_rotate_if_needed(s) != 0)
			goto out;
		if (checkpoint_due(&sv) && store_checkpoint(s, NULL) != 0)
			goto out;
	}
	/* orderly stop: everything acknowledged is already durable; sign what we have */
	if (commit_and_ack(&sv) != 0)
		goto out;
	for (struct conn *c = sv.conns; c; c = c->next)
		flush_out(&sv, c);
	if (s->entries != s->ckpt_size && store_checkpoint(s, NULL) != 0)
		goto out;
	log_info("stopped: %llu entries in the log, %llu appended in %llu batches this run",
		 (unsigned long long)s->entries, (unsigned long long)sv.appended,
		 (unsigned long long)sv.batches);
	rc = 0;
out:
	while (sv.conns)
		conn_free(&sv, sv.conns);
	free(sv.acks);
	if (sv.lfd >= 0) {
		close(sv.lfd);
		unlink(o->socket);
	}
	if (sv.ep >= 0)
		close(sv.ep);
	if (sv.sfd >= 0)
		close(sv.sfd);
	return rc;
}
