/*
 * server.c — secai-policy's Unix socket, signals and file watch.
 *
 * Protocol (one JSON object per line each way, answers in request order):
 *   {"op":"decide","domain":"egress","request":{"host":"x","port":443},"explain":false}
 *       -> {"ok":true,"decision":"allow","rule":"FILE:LINE","rule_id":..,"reason":..,
 *           "digest":..,"policy_ok":true,"default":false,"evidence":{..}[,"trace":[..]]}
 *   {"op":"status"}  -> {"ok":true,"policy_ok":..,"file":..,"digest":..,"rules":{..},..}
 *   anything else    -> {"ok":false,"error":"what was wrong"}
 * The main thread waits on the listening socket, a signalfd (SIGTERM/SIGINT stop, SIGHUP
 * reloads) and an inotify watch on the policy file's folder (a changed file reloads); each
 * connection has its own thread (at most POLICYD_MAX_CONNS).
 * Owns: those fds and threads. Never: lets a slow client hold the others up, or leaves a
 * connection thread running after policyd_serve returns.
 */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "policy/policyd.h"

static int policyd_listen(const char *path)
{
	struct sockaddr_un sa;
	mode_t old;
	int fd, probe;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_warnx("socket path %s is too long (max %zu bytes)", path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			log_warnx("%s: another policy daemon is already listening", path);
			return -1;
		}
		close(probe);
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 128) != 0) {
		umask(old);
		log_warn("cannot listen on %s", path);
		close(fd);
		return -1;
	}
	umask(old);
	return fd;
}

static int send_line(int fd, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);
	int rc = -1;

	json_decref(v);
	if (s == NULL)
		return -1;
	size_t n = strlen(s);
	s[n] = '\n'; /* json_dumps' NUL becomes the newline; we send exactly n + 1 bytes */
	for (size_t off = 0; off < n + 1;) {
		ssize_t w = send(fd, s + off, n + 1 - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto done;
		off += (size_t)w;
	}
	rc = 0;
done:
	free(s);
	return rc;
}

static json_t *answer_error(const char *msg)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *handle_line(struct policyd *pd, const char *line, size_t len)
{
	char err[512], msg[600];
	json_t *req = json_parse_object(line, len, POLICYD_MAX_LINE, err, sizeof(err)), *ans;
	const char *op;

	if (req == NULL) {
		snprintf(msg, sizeof(msg), "request is not a valid JSON object: %s", err);
		return answer_error(msg);
	}
	op = json_get_string(req, "op");
	if (op != NULL && strcmp(op, "status") == 0) {
		ans = policyd_status(pd);
		if (ans != NULL)
			json_object_set_new(ans, "ok", json_true());
	} else if (op != NULL && strcmp(op, "decide") == 0) {
		if (policyd_decide(pd, req, "socket", &ans, err, sizeof(err)) != 0)
			ans = answer_error(err);
		else
			json_object_set_new(ans, "ok", json_true());
	} else {
		ans = answer_error("op must be decide or status");
	}
	json_decref(req);
	return ans ? ans : answer_error("out of memory");
}

struct conn_arg {
	struct policyd *pd;
	int fd;
	int slot;
};

static void *conn_thread(void *arg)
{
	struct conn_arg *ca = arg;
	struct policyd *pd = ca->pd;
	struct buf in = BUF_INIT;
	size_t off = 0;
	int fd = ca->fd;

	for (;;) {
		char *nl;
		ssize_t r;

		while (in.len > off && (nl = memchr(in.data + off, '\n', in.len - off)) != NULL) {
			size_t n = (size_t)(nl - (in.data + off));
			if (send_line(fd, handle_line(pd, in.data + off, n)) != 0)
				goto out;
			off += n + 1;
		}
		if (off > 0) {
			memmove(in.data, in.data + off, in.len - off);
			in.len -= off;
			off = 0;
		}
		if (in.len > POLICYD_MAX_LINE) {
			send_line(fd, answer_error("request line is longer than 1 MiB"));
			goto out;
		}
		if (buf_reserve(&in, 65536) != 0)
			goto out;
		r = read(fd, in.data + in.len, 65536);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out;
		in.len += (size_t)r;
	}
out:
	buf_free(&in);
	pthread_mutex_lock(&pd->conn_lock);
	pd->conns[ca->slot] = -1;
	pd->nconns--;
	close(fd);
	pthread_cond_broadcast(&pd->conn_cv);
	pthread_mutex_unlock(&pd->conn_lock);
	free(ca);
	return NULL;
}

static void accept_one(struct policyd *pd, int lfd)
{
	struct conn_arg *ca;
	pthread_attr_t at;
	pthread_t th;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), slot = -1;

	if (fd < 0)
		return;
	pthread_mutex_lock(&pd->conn_lock);
	for (int i = 0; i < POLICYD_MAX_CONNS && slot < 0; i++)
		if (pd->conns[i] < 0)
			slot = i;
	if (slot >= 0) {
		pd->conns[slot] = fd;
		pd->nconns++;
	}
	pthread_mutex_unlock(&pd->conn_lock);
	if (slot < 0) {
		send_line(fd, answer_error("too many connections"));
		close(fd);
		return;
	}
	ca = malloc(sizeof(*ca));
	if (ca != NULL) {
		ca->pd = pd;
		ca->fd = fd;
		ca->slot = slot;
	}
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (ca == NULL || pthread_create(&th, &at, conn_thread, ca) != 0) {
		log_warnx("cannot start a connection thread");
		free(ca);
		pthread_mutex_lock(&pd->conn_lock);
		pd->conns[slot] = -1;
		pd->nconns--;
		pthread_mutex_unlock(&pd->conn_lock);
		close(fd);
	}
	pthread_attr_destroy(&at);
}

/* Watches the folder holding the policy file (editors and atomic writers replace the file). */
static int watch_policy(const char *file, int *wd)
{
	char dir[4096];
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	*wd = -1;
	if (fd < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s", file);
	*wd = inotify_add_watch(fd, dirname(dir),
				IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
				    IN_DELETE | IN_ATTRIB);
	if (*wd < 0) {
		log_warn("cannot watch %s for changes (SIGHUP still reloads)", dir);
		close(fd);
		return -1;
	}
	return fd;
}

/* True when the queued inotify events name the policy file. */
static int drain_inotify(int fd, const char *base)
{
	char ev[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	int hit = 0;

	for (;;) {
		ssize_t n = read(fd, ev, sizeof(ev));
		if (n <= 0)
			return hit;
		for (char *p = ev; p < ev + n;) {
			struct inotify_event *ie = (struct inotify_event *)p;
			if (ie->len > 0 && strcmp(ie->name, base) == 0)
				hit = 1;
			p += sizeof(*ie) + ie->len;
		}
	}
}

int policyd_open_socket(struct policyd *pd)
{
	pd->lfd = policyd_listen(pd->socket_path);
	return pd->lfd < 0 ? -1 : 0;
}

int policyd_serve(struct policyd *pd)
{
	struct epoll_event ev, evs[8];
	char tmp[4096], *base;
	sigset_t mask;
	int lfd, sfd, ifd, wd, ep, stop = 0;

	snprintf(tmp, sizeof(tmp), "%s", pd->policy_file);
	base = strdup(basename(tmp));
	if (base == NULL)
		return -1;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	lfd = pd->lfd;
	pd->lfd = -1;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || lfd < 0 || ep < 0) {
		log_warn("cannot start the socket server");
		free(base);
		if (sfd >= 0)
			close(sfd);
		if (lfd >= 0)
			close(lfd);
		if (ep >= 0)
			close(ep);
		return -1;
	}
	ifd = watch_policy(pd->policy_file, &wd);
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	if (ifd >= 0) {
		ev.data.fd = ifd;
		epoll_ctl(ep, EPOLL_CTL_ADD, ifd, &ev);
	}
	log_info("listening on %s", pd->socket_path);
	while (!stop) {
		int n = epoll_wait(ep, evs, 8, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("epoll_wait");
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd) {
				accept_one(pd, lfd);
			} else if (fd == sfd) {
				struct signalfd_siginfo si;
				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP) {
					log_info("SIGHUP: reloading %s", pd->policy_file);
					policyd_load(pd, 0);
				} else {
					log_info("signal %u: stopping", si.ssi_signo);
					stop = 1;
				}
			} else if (fd == ifd) {
				if (drain_inotify(ifd, base)) {
					/* let a writer finish (several events per save) */
					struct timespec ts = {0, 50 * 1000 * 1000};
					nanosleep(&ts, NULL);
					drain_inotify(ifd, base);
					log_info("%s changed: reloading", pd->policy_file);
					policyd_load(pd, 0);
				}
			}
		}
	}
	/* stop: no new connections, wake every connection thread, wait for them */
	close(lfd);
	unlink(pd->socket_path);
	pthread_mutex_lock(&pd->conn_lock);
	pd->stopping = 1;
	for (int i = 0; i < POLICYD_MAX_CONNS; i++)
		if (pd->conns[i] >= 0)
			shutdown(pd->conns[i], SHUT_RDWR);
	while (pd->nconns > 0)
		pthread_cond_wait(&pd->conn_cv, &pd->conn_lock);
	pthread_mutex_unlock(&pd->conn_lock);
	if (ifd >= 0)
		close(ifd);
	close(sfd);
	close(ep);
	free(base);
	return 0;
}
