/*
 * ask.c — when the policy says `ask`, a person decides: the broker hands the question to the
 * prompt agent (`securectl ask-agent`, listening on STATE/run/ask.sock), like Qubes' daemon
 * calling policy.Ask in the GUI qube, and waits at most broker.ask_timeout seconds.
 *
 * Protocol (one line each way): broker -> agent {"source","service","argument","targets":[..],
 * "default_target": T|null}; agent -> broker "allow:TARGET" or "deny".
 * With no agent running, broker.ask_fallback decides: deny (default), or the policy's own
 * default_target when it names one.
 * Owns: that exchange, its timeout and the fallback. Never: accepts a target that was not
 * offered; turns silence, a timeout or a malformed answer into anything but deny.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "broker/broker.h"
#include "fsutil.h"
#include "log.h"

#include <jansson.h>

#define ASK_REPLY_MAX 256

static int offered(const char *choices, const char *t)
{
	size_t n = strlen(t);

	for (const char *p = choices; *p;) {
		const char *e = strchr(p, ' ');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && n > 0 && memcmp(p, t, n) == 0)
			return 1;
		p += len + (e != NULL);
	}
	return 0;
}

static void decide_allow(struct broker_decision *d, const char *target, const char *why)
{
	d->verdict = BROKER_ALLOW;
	snprintf(d->target, sizeof(d->target), "%s", target);
	snprintf(d->reason, sizeof(d->reason), "%s", why);
}

static void decide_deny(struct broker_decision *d, const char *why)
{
	d->verdict = BROKER_DENY;
	snprintf(d->reason, sizeof(d->reason), "%s", why);
}

/* Connects to the agent; -1 when none is listening. */
static int agent_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void fallback(struct broker *b, struct broker_decision *d, const char *why)
{
	char msg[256];

	if (b->ask_fallback_default && d->default_target[0] != '\0' &&
	    offered(d->choices, d->default_target)) {
		snprintf(msg, sizeof(msg), "ask: %s; broker.ask_fallback is default_target", why);
		decide_allow(d, d->default_target, msg);
		return;
	}
	snprintf(msg, sizeof(msg),
		 "the policy says ask and %s (start `securectl ask-agent` to answer prompts)", why);
	decide_deny(d, msg);
}

void broker_ask(struct broker *b, const char *source, const char *service, const char *arg,
		struct broker_decision *d)
{
	char reply[ASK_REPLY_MAX + 1], argument[80];
	json_t *q, *targets;
	char *line = NULL, tmp[sizeof(d->choices)], *save = NULL;
	size_t got = 0;
	int fd;

	if (d->choices[0] == '\0') { /* a policy.yaml ask: the requested target is the choice */
		if (strlen(d->target) >= sizeof(d->choices)) {
			decide_deny(d, "ask without a target to offer");
			return;
		}
		snprintf(d->choices, sizeof(d->choices), "%s", d->target);
	}
	fd = agent_connect(b->ask_socket);
	if (fd < 0) {
		fallback(b, d, "no prompt agent is running");
		return;
	}
	snprintf(argument, sizeof(argument), "+%s", arg);
	targets = json_array();
	memcpy(tmp, d->choices, sizeof(tmp));
	for (char *t = strtok_r(tmp, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save))
		json_array_append_new(targets, json_string(t));
	q = json_pack("{s:s, s:s, s:s, s:o, s:s?}", "source", source, "service", service, "argument",
		      argument, "targets", targets, "default_target",
		      d->default_target[0] ? d->default_target : NULL);
	if (q != NULL)
		line = json_dumps(q, JSON_COMPACT);
	json_decref(q);
	if (line == NULL || fs_write_all(fd, line, strlen(line)) != 0 ||
	    fs_write_all(fd, "\n", 1) != 0) {
		free(line);
		close(fd);
		decide_deny(d, "the prompt agent could not be asked");
		return;
	}
	free(line);
	log_info("asking the prompt agent: %s -> %s%s%s (choices: %s)", source, service,
		 arg[0] ? "+" : "", arg, d->choices);

	/* wait for one line, at most ask_timeout seconds in all */
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (got < ASK_REPLY_MAX && memchr(reply, '\n', got) == NULL) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long long left = (long long)b->ask_timeout * 1000 -
				 ((now.tv_sec - t0.tv_sec) * 1000LL + (now.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd p = {fd, POLLIN, 0};
		if (left <= 0 || poll(&p, 1, (int)left) == 0) {
			close(fd);
			decide_deny(d, "the prompt was not answered in time (broker.ask_timeout)");
			return;
		}
		ssize_t n = read(fd, reply + got, ASK_REPLY_MAX - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	reply[got] = '\0';
	char *nl = strchr(reply, '\n');
	if (nl == NULL) {
		decide_deny(d, "the prompt agent gave no valid answer");
		return;
	}
	*nl = '\0';
	if (strncmp(reply, "allow:", 6) == 0) {
		if (!offered(d->choices, reply + 6)) {
			char msg[256];
			snprintf(msg, sizeof(msg), "target %.64s is not a valid choice", reply + 6);
			decide_deny(d, msg);
			return;
		}
		decide_allow(d, reply + 6, "allowed by the user at the prompt");
		return;
	}
	decide_deny(d, strcmp(reply, "deny") == 0 ? "denied by the user at the prompt"
						  : "the prompt agent gave no valid answer");
}
