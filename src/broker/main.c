/*
 * main.c — secai-broker: one listening socket per compartment, a thread per call.
 *
 * Start-up: appliance.yaml; compartments.yaml (STATE/compartments.yaml, or --compartments);
 * for each compartment its folders and STATE/run/broker/NAME/call.sock (0600; the sandbox
 * mounts that folder at /run/secai, so each compartment reaches only its own socket); then
 * accept. SIGTERM/SIGINT: stop accepting, let running calls finish (10 s), exit.
 * Owns: the listening sockets and the call threads. Never: accepts a call on a socket it cannot
 * attribute to exactly one compartment.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit_client.h"
#include "broker/broker.h"
#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "policy/pol.h"
#include "policy/qrexec.h"
#include "statedir.h"

#define MAX_CALLS 64

struct job {
	struct broker *b;
	int fd;
	const struct compart *source;
};

static void *call_thread(void *arg)
{
	struct job *j = arg;

	broker_call(j->b, j->fd, j->source);
	pthread_mutex_lock(&j->b->lock);
	j->b->active--;
	pthread_mutex_unlock(&j->b->lock);
	free(j);
	return NULL;
}

static int listen_on(const char *dir)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/call.sock", dir) >=
	    sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(sa.sun_path, 0600) != 0 ||
	    listen(fd, 16) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: secai-broker [--config FILE] [--compartments FILE]\n"
		   "Carries calls between compartments (bubblewrap sandboxes) like Qubes' qrexec:\n"
		   "inside a compartment, `secai-call TARGET SERVICE[+ARG]` reaches the broker on\n"
		   "that compartment's own socket; the rpc policy decides; an allowed service runs\n"
		   "from TARGET's rpc/ folder inside TARGET's sandbox, its stdin/stdout/stderr and\n"
		   "exit status streamed back. Every decision is an audit event.\n"
		   "Policy: policy.yaml's rpc rules, then the Qubes 4.2 qrexec policy.d folder\n"
		   "(policy.qrexec_dir, default STATE/policy.d; docs/qrexec.md), re-read on change.\n"
		   "  --compartments FILE  default STATE/compartments.yaml (docs/broker.md)\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
						 {"compartments", required_argument, NULL, 'm'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	const char *config_path = NULL, *cfile = NULL;
	struct secai_config cfg;
	static struct qrx_rpc qrx; /* outlives every call thread */
	struct broker b;
	struct pollfd pfd[COMPART_MAX];
	char err[1024], path[4200], self[PATH_MAX];
	sigset_t sigs;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:m:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'm': cfile = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 64;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 64;
	}
	log_init("secai-broker");
	signal(SIGPIPE, SIG_IGN);
	if (config_load(config_path, &cfg, err, sizeof(err)) != 0 ||
	    config_finish(&cfg, err, sizeof(err)) != 0)
		fatalx("configuration: %s", err);
	log_set_level(cfg.log_level);
	memset(&b, 0, sizeof(b));
	pthread_mutex_init(&b.lock, NULL);
	snprintf(b.state_dir, sizeof(b.state_dir), "%s", cfg.state_dir);
	snprintf(b.audit_socket, sizeof(b.audit_socket), "%s", cfg.audit.socket);
	snprintf(b.audit_spool, sizeof(b.audit_spool), "%s/audit/spool", cfg.state_dir);
	snprintf(b.policy_dir, sizeof(b.policy_dir), "%s", cfg.policy.qrexec_dir);
	snprintf(b.compat_dir, sizeof(b.compat_dir), "%s", cfg.policy.qrexec_compat_dir);
	snprintf(b.policy_file, sizeof(b.policy_file), "%s", cfg.policy.file);
	snprintf(b.ask_socket, sizeof(b.ask_socket), "%s/run/ask.sock", cfg.state_dir);
	b.ask_timeout = cfg.broker.ask_timeout;
	b.ask_fallback_default = cfg.broker.ask_fallback == CONFIG_ASK_DEFAULT_TARGET;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		fatal("readlink /proc/self/exe");
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(b.bin_dir, sizeof(b.bin_dir), "%s", self);
	if (cfile == NULL) {
		snprintf(path, sizeof(path), "%s/compartments.yaml", cfg.state_dir);
		cfile = path;
	}
	b.set = calloc(1, sizeof(*b.set));
	if (b.set == NULL)
		fatalx("out of memory");
	if (compart_load(cfile, b.set, err, sizeof(err)) != 0)
		fatalx("compartments: %s", err);
	/* the Qubes qrexec policy decides rpc calls policy.yaml has no rule for */
	if (qrx_rpc_init(&qrx, b.policy_dir, b.compat_dir, b.set, err, sizeof(err)) != 0)
		fatalx("qrexec policy: %s", err);
	pol_set_rpc_delegate(qrx_rpc_delegate, &qrx);
	if (statedir_ensure(cfg.state_dir) != 0)
		fatal("state directory %s", cfg.state_dir);
	for (size_t i = 0; i < b.set->n; i++) {
		struct compart_paths p;
		if (compart_prepare(cfg.state_dir, &b.set->c[i], &p) != 0)
			fatal("folders of compartment %s", b.set->c[i].name);
		pfd[i].fd = listen_on(p.sockdir);
		pfd[i].events = POLLIN;
		if (pfd[i].fd < 0)
			fatal("socket of compartment %s in %s", b.set->c[i].name, p.sockdir);
	}
	/* signals are taken synchronously in the accept loop (sigtimedwait), never by a handler */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	log_info("%zu compartments from %s; sockets under %s/run/broker; rpc policy %s", b.set->n,
		 cfile, cfg.state_dir, b.policy_file);
	{
		char aerr[256];
		json_t *d = json_pack("{s:i, s:s}", "compartments", (int)b.set->n, "file", cfile);
		aerr[0] = '\0';
		if (audit_emit(b.audit_socket, b.audit_spool, "broker.started", d, aerr,
			       sizeof(aerr)) < 0)
			log_warnx("audit: %s", aerr);
		json_decref(d);
	}
	/* liveness for `securectl up/status`: STATE/run/broker.pid while running */
	char pidfile[4200], pidtxt[32];
	snprintf(pidfile, sizeof(pidfile), "%s/run/broker.pid", cfg.state_dir);
	snprintf(pidtxt, sizeof(pidtxt), "%ld\n", (long)getpid());
	if (fs_atomic_write(pidfile, pidtxt, strlen(pidtxt), 0644) != 0)
		log_warn("cannot write %s", pidfile);
	printf("secai-broker: listening for %zu compartments\n", b.set->n);
	fflush(stdout);
	for (;;) {
		struct timespec zero = {0, 0};
		siginfo_t si;
		if (sigtimedwait(&sigs, &si, &zero) > 0)
			break;
		int r = poll(pfd, (nfds_t)b.set->n, 200);
		if (r < 0 && errno != EINTR)
			fatal("poll");
		for (size_t i = 0; r > 0 && i < b.set->n; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			int fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			pthread_mutex_lock(&b.lock);
			int full = b.active >= MAX_CALLS;
			if (!full)
				b.active++;
			pthread_mutex_unlock(&b.lock);
			struct job *j = full ? NULL : malloc(sizeof(*j));
			pthread_t th;
			pthread_attr_t at;
			if (j == NULL) {
				log_warnx("call from %s dropped: %d calls already running",
					  b.set->c[i].name, MAX_CALLS);
				close(fd);
				if (!full) {
					pthread_mutex_lock(&b.lock);
					b.active--;
					pthread_mutex_unlock(&b.lock);
				}
				continue;
			}
			*j = (struct job){&b, fd, &b.set->c[i]};
			pthread_attr_init(&at);
			pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
			if (pthread_create(&th, &at, call_thread, j) != 0) {
				close(fd);
				free(j);
				pthread_mutex_lock(&b.lock);
				b.active--;
				pthread_mutex_unlock(&b.lock);
			}
			pthread_attr_destroy(&at);
		}
	}
	log_info("stopping: no new calls");
	for (size_t i = 0; i < b.set->n; i++)
		close(pfd[i].fd);
	for (int k = 0; k < 100; k++) {
		pthread_mutex_lock(&b.lock);
		int active = b.active;
		pthread_mutex_unlock(&b.lock);
		if (active == 0)
			break;
		usleep(100000);
	}
	unlink(pidfile);
	log_info("stopped");
	free(b.set);
	return 0;
}
