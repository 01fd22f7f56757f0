/*
 * call.c — one call through the broker: read the request, ask the policy, run the service in
 * the target compartment's sandbox, stream stdin/stdout/stderr and the exit status.
 *
 * Owns: the call's child process and its pipes. Never: runs anything in the target before the
 * policy allowed it, runs a service file that is a symlink or not executable, or leaves the
 * child running when the caller goes away (it is killed; bwrap --die-with-parent does the rest).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit_client.h"
#include "broker/broker.h"
#include "callproto.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"

static void send_decision(int fd, int allow, const char *target, const char *reason)
{
	json_t *o = json_pack("{s:b, s:s, s:s}", "allow", allow, "target", target, "reason",
			      reason ? reason : "");
	char *t = json_dumps(o, JSON_COMPACT);

	if (t != NULL)
		call_write_frame(fd, CALL_DECISION, t, strlen(t));
	free(t);
	json_decref(o);
}

static void audit(struct broker *b, const char *event, json_t *data)
{
	char err[256];

	err[0] = '\0';
	if (audit_emit(b->audit_socket, b->audit_spool, event, data, err, sizeof(err)) < 0)
		log_warnx("audit %s: %s", event, err);
	json_decref(data);
}

/* rpc/SERVICE+ARG, else rpc/SERVICE (qrexec's lookup): a regular, executable, non-symlink file.
 * Writes the file's name inside the sandbox (/rpc/...) to out. */
static int find_service(const struct compart_paths *p, const char *service, const char *arg,
			char *out, size_t outlen)
{
	char name[140], path[4400];
	struct stat st;

	for (int k = 0; k < 2; k++) {
		if (k == 0 && arg[0] == '\0')
			continue;
		if (k == 0)
			snprintf(name, sizeof(name), "%s+%s", service, arg);
		else
			snprintf(name, sizeof(name), "%s", service);
		snprintf(path, sizeof(path), "%s/%s", p->rpc, name);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0100)) {
			snprintf(out, outlen, "/rpc/%s", name);
			return 0;
		}
	}
	return -1;
}

static pid_t spawn(struct broker *b, const struct compart *target, const struct compart_paths *p,
		   const char *file, const char *source, const char *service, const char *arg,
		   int in[2], int out[2], int err[2])
{
	char e1[80], e2[200], e3[100], e4[80];
	const char *env[] = {e1, e2, e3, e4, NULL};
	const char *cmd[] = {file, NULL};
	struct compart_argv *av = calloc(1, sizeof(*av));
	int sfd = compart_seccomp_fd(target);
	pid_t pid = -1;

	snprintf(e1, sizeof(e1), "QREXEC_REMOTE_DOMAIN=%s", source);
	snprintf(e2, sizeof(e2), "QREXEC_SERVICE_FULL_NAME=%s%s%s", service, arg[0] ? "+" : "", arg);
	snprintf(e3, sizeof(e3), "QREXEC_SERVICE_ARGUMENT=%s", arg);
	snprintf(e4, sizeof(e4), "QREXEC_REQUESTED_TARGET=%s", target->name);
	if (av == NULL || sfd < 0 ||
	    compart_sandbox_argv(target, p, b->bin_dir, sfd, env, cmd, av) != 0)
		goto out;
	pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		pthread_sigmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execvp("bwrap", av->argv);
		_exit(127);
	}
out:
	if (sfd >= 0)
		close(sfd);
	free(av);
	return pid;
}

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0) {
			close(p[i]);
			p[i] = -1;
		}
}

void broker_call(struct broker *b, int fd, const struct compart *source)
{
	static _Thread_local uint8_t buf[CALL_FRAME_MAX];
	char err[200], file[200], service[80], arg[80], target_name[COMPART_NAME_MAX];
	struct broker_decision d;
	struct compart_paths tp;
	struct timeval tv = {10, 0};
	int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1}, status = 0;
	uint8_t type;
	size_t len;
	json_t *req = NULL;
	pid_t pid = -1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (call_read_frame(fd, &type, buf, sizeof(buf), &len) != 0 || type != CALL_REQUEST) {
		log_warnx("call from %s: no valid request", source->name);
		goto done;
	}
	req = json_parse_object((const char *)buf, len, CALL_FRAME_MAX, err, sizeof(err));
	const char *t = req ? json_get_string(req, "target") : NULL;
	const char *s = req ? json_get_string(req, "service") : NULL;
	const char *a = req ? json_get_string(req, "arg") : NULL;
	if (t == NULL || s == NULL || a == NULL || !call_service_ok(s) || !call_arg_ok(a) ||
	    strlen(t) >= COMPART_NAME_MAX) {
		send_decision(fd, 0, t && strlen(t) < 64 ? t : "", "malformed request");
		log_warnx("call from %s: malformed request", source->name);
		goto done;
	}
	snprintf(service, sizeof(service), "%s", s);
	snprintf(arg, sizeof(arg), "%s", a);
	snprintf(target_name, sizeof(target_name), "%s", t);

	broker_decide(b, source->name, target_name, service, arg, &d);
	if (d.verdict == BROKER_ASK) { /* a person decides, through securectl ask-agent */
		d.asked = 1;
		broker_ask(b, source->name, service, arg, &d);
	}
	const struct compart *target = compart_find(b->set, d.target);
	if (d.verdict == BROKER_ALLOW && target == NULL) {
		d.verdict = BROKER_DENY;
		snprintf(d.reason, sizeof(d.reason), "no compartment %s", d.target);
	}
	if (d.verdict == BROKER_ALLOW &&
	    (compart_prepare(b->state_dir, target, &tp) != 0 ||
	     find_service(&tp, service, arg, file, sizeof(file)) != 0)) {
		d.verdict = BROKER_DENY;
		snprintf(d.reason, sizeof(d.reason), "%s has no service %s", d.target, service);
	}
	if (d.verdict != BROKER_ALLOW) {
		send_decision(fd, 0, d.target, d.reason);
		log_info("refused %s -> %s %s%s%s: %s", source->name, target_name, service,
			 arg[0] ? "+" : "", arg, d.reason);
		audit(b, "broker.refused",
		      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "source", source->name,
				"target", target_name, "service", service, "arg", arg, "reason",
				d.reason, "rule", d.rule, "policy_digest", d.digest, "asked", d.asked));
		goto done;
	}
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
		send_decision(fd, 0, d.target, "broker out of resources");
		goto done;
	}
	pid = spawn(b, target, &tp, file, source->name, service, arg, in, out, errp);
	if (pid < 0) {
		send_decision(fd, 0, d.target, "cannot start the service sandbox");
		goto done;
	}
	close(in[0]);
	close(out[1]);
	close(errp[1]);
	in[0] = out[1] = errp[1] = -1;
	send_decision(fd, 1, d.target, "allowed");
	log_info("call %s -> %s %s%s%s (pid %ld)", source->name, d.target, service,
		 arg[0] ? "+" : "", arg, (long)pid);
	tv.tv_sec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)); /* streaming: no timeout */

	int caller_open = 1;
	while (out[0] >= 0 || errp[0] >= 0) {
		struct pollfd p[3] = {{out[0], POLLIN, 0}, {errp[0], POLLIN, 0},
				      {caller_open ? fd : -1, POLLIN, 0}};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int k = 0; k < 2; k++) {
			int *src = k == 0 ? &out[0] : &errp[0];
			if (*src < 0 || !(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(*src, buf, sizeof(buf));
			if (n <= 0) {
				close(*src);
				*src = -1;
				n = 0;
			}
			if (call_write_frame(fd, k == 0 ? CALL_STDOUT : CALL_STDERR, buf,
					     (size_t)n) != 0)
				caller_open = 0;
		}
		if (caller_open && (p[2].revents & (POLLIN | POLLHUP | POLLERR))) {
			int r = call_read_frame(fd, &type, buf, sizeof(buf), &len);
			if (r != 0) {
				caller_open = 0; /* the caller went away: stop the service */
				break;
			}
			if (type == CALL_STDIN && len == 0 && in[1] >= 0) {
				close(in[1]);
				in[1] = -1;
			} else if (type == CALL_STDIN && in[1] >= 0 &&
				   fs_write_all(in[1], buf, len) != 0) {
				close(in[1]); /* the service closed its stdin */
				in[1] = -1;
			}
		}
		if (!caller_open)
			break;
	}
	if (!caller_open)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	uint8_t cb[4] = {(uint8_t)code, (uint8_t)(code >> 8), (uint8_t)(code >> 16),
			 (uint8_t)(code >> 24)};
	if (caller_open)
		call_write_frame(fd, CALL_EXIT, cb, sizeof(cb));
	log_info("call %s -> %s %s%s%s: exit %d%s", source->name, d.target, service,
		 arg[0] ? "+" : "", arg, code, caller_open ? "" : " (caller gone)");
	audit(b, "broker.call",
	      json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:b, s:s}", "source", source->name,
			"target", d.target, "service", service, "arg", arg, "exit", code, "rule",
			d.rule, "policy_digest", d.digest, "asked", d.asked, "reason", d.reason));
done:
	close_pair(in);
	close_pair(out);
	close_pair(errp);
	json_decref(req);
	close(fd);
}
