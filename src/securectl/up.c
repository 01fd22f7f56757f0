/*
 * up.c — `securectl up`: start the appliance's daemons in the foreground and supervise them.
 *
 * Creates the state directory, starts each daemon of daemons.c (their log lines go to this
 * terminal), waits until each answers its health probe, then restarts any that exits, with
 * back-off (1 s doubling to 30 s; reset after 60 s of good running). Ctrl-C or SIGTERM stops
 * them all (SIGTERM, then SIGKILL after 10 s). --check stops after one end-to-end check.
 * Never: runs two supervisors on one state directory (run/up.lock), or binds off loopback.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit_client.h"
#include "json.h"
#include "log.h"
#include "securectl/ctl.h"
#include "securectl/daemons.h"
#include "securectl/demo.h"
#include "securectl/securectl.h"
#include "statedir.h"

#define MAX_DAEMONS 16
#define HEALTH_TIMEOUT_S 120.0 /* a large configured model takes a while to hash */

struct child {
	const struct daemon_desc *d;
	char path[4096];
	struct daemon_args args;
	pid_t pid;
	struct timespec started;
	double backoff;
	double restart_at; /* monotonic seconds; 0 = not scheduled */
	unsigned restarts;
};

static volatile sig_atomic_t up_stop;

static void on_stop(int sig)
{
	(void)sig;
	up_stop = 1;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int start_child(struct child *c)
{
	const pid_t parent = getpid();
	pid_t pid = fork();

	if (pid < 0) {
		log_warn("fork for %s", c->d->program);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Ctrl-C signals the terminal's foreground process group: in a group of its own the
		 * daemon leaves it to the supervisor, which stops the daemons in order, the audit
		 * daemon last (the daemons take SIGINT through a signalfd, which an ignored
		 * disposition does not silence). If the supervisor dies, so do we. */
		if (setpgid(0, 0) != 0 || prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
			fprintf(stderr,
				"securectl up: cannot detach %s from the terminal's signals: %s\n",
				c->path, strerror(errno));
			_exit(127);
		}
		if (getppid() != parent) /* the supervisor died before prctl */
			_exit(127);
		execv(c->path, c->args.argv);
		fprintf(stderr, "securectl up: cannot run %s: %s\n", c->path, strerror(errno));
		_exit(127);
	}
	c->pid = pid;
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	log_info("started %s (pid %ld)", c->d->program, (long)pid);
	return 0;
}

static int wait_healthy(const struct secai_config *cfg, struct child *c)
{
	double deadline = now_s() + HEALTH_TIMEOUT_S;

	while (now_s() < deadline && !up_stop) {
		json_t *st = c->d->probe(cfg);
		int ok = json_is_true(json_object_get(st, "healthy"));
		json_decref(st);
		if (ok)
			return 0;
		if (waitpid(c->pid, NULL, WNOHANG) == c->pid) {
			c->pid = 0;
			return -1;
		}
		usleep(50000);
	}
	return -1;
}

/* Stops the daemons in reverse start order, each fully before the next, so the audit daemon
 * (started first) still records what the others say as they stop. */
static void stop_all(struct child *ch, size_t n)
{
	for (size_t k = n; k-- > 0;) {
		struct child *c = &ch[k];
		double deadline = now_s() + 10.0;
		int status;

		if (c->pid <= 0)
			continue;
		kill(c->pid, SIGTERM);
		while (waitpid(c->pid, &status, WNOHANG) != c->pid) {
			if (now_s() > deadline) {
				log_warnx("%s did not stop in 10 s; killing it", c->d->program);
				kill(c->pid, SIGKILL);
				waitpid(c->pid, &status, 0);
				break;
			}
			usleep(20000);
		}
		log_info("%s stopped (%s %d)", c->d->program, WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		c->pid = 0;
	}
}

/* The end-to-end check of --check: an event through the daemon, then the whole log verified. */
static int self_check(const struct secai_config *cfg)
{
	struct audit_client c;
	struct audit_paths p;
	struct audit_verify v;
	struct ckpt_key key;
	uint64_t idx;
	char err[512];
	int rc;

	if (audit_client_connect(cfg->audit.socket, &c) != 0 ||
	    audit_client_append(&c, "appliance.check", NULL, &idx, err, sizeof(err)) != 0) {
		fprintf(stderr, "securectl up: check failed: audit append: %s\n", strerror(errno));
		return -1;
	}
	audit_client_close(&c);
	if (audit_paths_init(cfg->audit.log_file, &p) != 0)
		return -1;
	memset(&v, 0, sizeof(v));
	if (ckpt_key_load_public(p.pubpem, cfg->audit.origin, &key) == 0)
		v.key = &key;
	v.torn_ok = 0;
	rc = audit_log_verify(&p, &v);
	printf("check: audit entry %llu appended; log %s: %s (%llu entries, %llu checkpoints)\n",
	       (unsigned long long)idx, p.live, rc == 0 ? "intact" : v.error,
	       (unsigned long long)v.entries, (unsigned long long)v.ckpt_count);
	audit_verify_free(&v);
	return rc == 0 ? 0 : -1;
}

struct reply {
	char data[65536];
	size_t len;
};

static size_t reply_write(char *p, size_t sz, size_t nm, void *arg)
{
	struct reply *b = arg;
	size_t n = sz * nm;

	if (n > sizeof(b->data) - 1 - b->len)
		return 0;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* The README's promise: `up` ends with a first answer from the model infer serves. */
static int first_answer(const struct secai_config *cfg)
{
	static const char question[] = "Hello! Who are you?";
	char url[512], err[160];
	struct reply b = {.len = 0};
	struct curl_slist *h = NULL;
	long status = 0;
	CURL *c = curl_easy_init();
	json_t *req, *rep = NULL;
	char *body;
	int rc = -1;

	if (c == NULL)
		return -1;
	snprintf(url, sizeof(url), "http://%s%s%s:%d/v1/chat/completions",
		 strchr(cfg->bind_address, ':') ? "[" : "", cfg->bind_address,
		 strchr(cfg->bind_address, ':') ? "]" : "", cfg->infer.port);
	req = json_pack("{s:[{s:s, s:s}], s:i, s:f, s:i}", "messages", "role", "user", "content",
			question, "max_tokens", 64, "temperature", 0.0, "seed", 1);
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, reply_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(body);
	if (status == 200)
		rep = json_parse_object(b.data, b.len, sizeof(b.data), err, sizeof(err));
	json_t *msg = json_object_get(json_array_get(json_object_get(rep, "choices"), 0), "message");
	const char *answer = json_get_string(msg, "content");
	json_t *u = json_object_get(rep, "usage");
	long long ntok = 0;
	if (answer != NULL) {
		json_get_int(u, "completion_tokens", &ntok);
		printf("secai: first answer\n  you:   %s\n  model: ", question);
		for (const unsigned char *q = (const unsigned char *)answer; *q; q++)
			if (*q >= 0x20 || *q == '\n' || *q == '\t')
				putchar(*q == '\n' ? ' ' : *q);
		if (cfg->infer.model[0])
			printf("\n  (%lld tokens)\n", ntok);
		else
			printf("\n  (%lld tokens; the demo model's weights are random with this one "
			       "greeting planted in them: ask it anything else and it babbles)\n",
			       ntok);
		rc = 0;
	} else {
		fprintf(stderr, "securectl up: no first answer from %s (HTTP %ld)\n", url, status);
	}
	fflush(stdout);
	json_decref(rep);
	return rc;
}

int up_main(int argc, char **argv)
{
	struct secai_config cfg;
	struct child ch[MAX_DAEMONS];
	int check = 0, lockfd, rc = 0;
	char lockpath[4200];
	struct sigaction sa;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--check") == 0) {
			check = 1;
		} else {
			FILE *f = securectl_wants_help(argc, argv) ? stdout : stderr;
			fprintf(f,
				"usage: securectl up [--check]\n"
				"\n"
				"Starts secai's daemons in the foreground on loopback and Unix sockets under\n"
				"the state directory ($SECAI_HOME, else ~/.local/share/secai), restarts any\n"
				"that crashes (back-off 1 s to 30 s) and stops them all on Ctrl-C or SIGTERM.\n"
				"  --check   start, wait until healthy, get a first answer, append an audit\n"
				"            event, verify the log, stop; exit 0 only if all of that worked\n"
				"Daemons, in order: audit, policy, quarantine, registry, infer (the model\n"
				"of infer.model, else a demo model it writes; either goes through the\n"
				"quarantine and is served from the registry; the first answer is\n"
				"printed), broker (compartments; on a first run sys-ai, work and\n"
				"sys-config with deploy/qubes' policy, and a question from work to\n"
				"sys-ai through it). See `securectl status`.\n");
			return f == stdout ? 0 : SECURECTL_EX_USAGE;
		}
	}
	if (ctl_config(&cfg) != 0)
		return 1;
	if (statedir_ensure(cfg.state_dir) != 0) {
		fprintf(stderr, "securectl up: cannot create the state directory %s: %s\n",
			cfg.state_dir, strerror(errno));
		return 1;
	}
	snprintf(lockpath, sizeof(lockpath), "%s/run/up.lock", cfg.state_dir);
	lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "securectl up: another 'securectl up' is running on %s\n",
			cfg.state_dir);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(ch, 0, sizeof(ch));
	for (size_t i = 0; i < daemon_count; i++) {
		ch[i].d = &daemon_table[i];
		ch[i].backoff = 1.0;
		if (daemon_program_path(ch[i].d->program, ch[i].path, sizeof(ch[i].path)) != 0) {
			fprintf(stderr, "securectl up: cannot find %s next to securectl or on PATH "
					"(run 'make' first)\n", ch[i].d->program);
			return 1;
		}
		daemon_args_add(&ch[i].args, ch[i].d->program);
	}
	log_info("state directory %s, config %s", cfg.state_dir, cfg.source);
	for (size_t i = 0; i < daemon_count && !up_stop; i++) {
		char ep[4200], err[512];
		if (ch[i].d->prepare != NULL &&
		    ch[i].d->prepare(&cfg, &ch[i].args, err, sizeof(err)) != 0) {
			fprintf(stderr, "securectl up: cannot prepare %s: %s\n", ch[i].d->program, err);
			stop_all(ch, daemon_count);
			return 1;
		}
		if (start_child(&ch[i]) != 0 || wait_healthy(&cfg, &ch[i]) != 0) {
			fprintf(stderr, "securectl up: %s did not become healthy (see its log lines "
					"above)\n", ch[i].d->program);
			stop_all(ch, daemon_count);
			return 1;
		}
		ch[i].d->endpoint(&cfg, ep, sizeof(ep));
		printf("secai: %-10s up  %s\n", ch[i].d->name, ep);
	}
	fflush(stdout);
	if (!up_stop && first_answer(&cfg) != 0 && check) {
		stop_all(ch, daemon_count);
		return 1;
	}
	/* the demo compartments: the same model, asked from a workspace through the broker */
	if (!up_stop && demo_compartments_present(&cfg) &&
	    demo_compartments_ask(&cfg, "Hello! Who are you?") != 0 && check) {
		stop_all(ch, daemon_count);
		return 1;
	}
	if (check) {
		rc = self_check(&cfg) == 0 ? 0 : 1;
		stop_all(ch, daemon_count);
		return rc;
	}
	{
		char err[256], spool[4200];
		snprintf(spool, sizeof(spool), "%s/audit/spool", cfg.state_dir);
		json_t *d = json_pack("{s:i}", "daemons", (int)daemon_count);
		audit_emit(cfg.audit.socket, spool, "appliance.up", d, err, sizeof(err));
		json_decref(d);
	}
	printf("secai: up. In another terminal: securectl chat; securectl status; securectl audit "
	       "verify.\n       OpenAI API: http://%s:%d/v1 (any OpenAI client). Ctrl-C stops.\n",
	       cfg.bind_address, cfg.infer.port);
	fflush(stdout);

	while (!up_stop) {
		double t = now_s();
		for (size_t i = 0; i < daemon_count; i++) {
			struct child *c = &ch[i];
			int status;
			if (c->pid > 0 && waitpid(c->pid, &status, WNOHANG) == c->pid) {
				double ran = t - ((double)c->started.tv_sec +
						  (double)c->started.tv_nsec / 1e9);
				if (ran > 60.0)
					c->backoff = 1.0;
				log_warnx("%s exited (%s %d) after %.1f s; restarting in %.0f s",
					  c->d->program, WIFEXITED(status) ? "exit" : "signal",
					  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
					  ran, c->backoff);
				c->pid = 0;
				c->restart_at = t + c->backoff;
				c->backoff = c->backoff * 2 > 30.0 ? 30.0 : c->backoff * 2;
			}
			if (c->pid == 0 && c->restart_at > 0 && t >= c->restart_at) {
				c->restart_at = 0;
				c->restarts++;
				start_child(c);
			}
		}
		usleep(100000);
	}
	log_info("stopping");
	stop_all(ch, daemon_count);
	close(lockfd);
	return 0;
}
