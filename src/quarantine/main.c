/*
 * main.c — secai-quarantine: the daemon that vets every model before the registry lists it.
 *
 * Owns: the command line (--config FILE, --once), start-up (config, folders, recovery of a
 * crashed promotion, leftovers in processing/ queued again, the inotify watch, then the sweep
 * of incoming/), the intake thread and the single pipeline worker (one model at a time), and
 * shutdown on SIGINT/SIGTERM (after the model being vetted).
 * Never: listens on any socket, vets two models at once, or exits with a model half-promoted
 * (promotion steps are crash-safe; see promote.c).
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "quarantine/intake.h"
#include "quarantine/qr.h"
#include "statedir.h"

static volatile int g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(FILE *fp)
{
	fprintf(fp, "usage: secai-quarantine [--config FILE] [--once]\n"
		    "Watches STATE/quarantine/incoming/, vets each model through the seven stages\n"
		    "(docs/quarantine.md) and promotes it into STATE/registry/ or rejects it.\n"
		    "  --once   claim what is in incoming/ now, vet it, and exit\n");
}

static void queue_leftovers(const struct qr_env *env, struct qr_queue *q)
{
	char dir[QR_PATH_MAX + 16];
	struct dirent **names;
	int n;

	snprintf(dir, sizeof(dir), "%s/processing", env->qdir);
	n = scandir(dir, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		if (strcmp(nm, ".") != 0 && strcmp(nm, "..") != 0 && !qr_is_sidecar(nm) &&
		    !qr_is_ignored(nm)) {
			log_info("processing/%s left from a previous run: vetting it again", nm);
			qr_queue_push(q, nm);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

/* The policy is read again for every model (stage 1); a broken one is said once at start so
 * nobody learns of it only from rejections. */
static void check_policy(const struct qr_env *env)
{
	struct qr_policy pol;
	char path[4200], err[600];

	qr_policy_defaults(&pol);
	snprintf(path, sizeof(path), "%s/policy.yaml", env->policy_dir);
	if (qr_policy_load(path, true, &pol, err, sizeof(err)) != 0)
		log_warnx("policy.yaml does not load, every model will be rejected at stage 1: %s",
			  err);
	else
		log_info("behavioural test (stage 6) by %s%s", pol.behav_endpoint[0] ? "endpoint "
									: "the sealed engine",
			 pol.behav_endpoint);
	qr_policy_free(&pol);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"once", no_argument, NULL, 'o'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *config_path = NULL;
	struct secai_config cfg;
	struct qr_queue q = QR_QUEUE_INIT;
	struct qr_intake in;
	struct qr_env env;
	struct sigaction sa;
	pthread_t th;
	bool once = false, thread_started = false;
	char err[1024], *name;
	int c;

	log_init("secai-quarantine");
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'o':
			once = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 64;
	}
	if (config_load(config_path, &cfg, err, sizeof(err)) != 0 ||
	    config_finish(&cfg, err, sizeof(err)) != 0)
		fatalx("%s", err);
	log_set_level(cfg.log_level);
	if (statedir_ensure(cfg.state_dir) != 0)
		fatal("state dir %s", cfg.state_dir);
	if (qr_env_init(&env, &cfg, err, sizeof(err)) != 0)
		fatalx("%s", err);
	env.behav = qr_behav_engine;
	/* libcurl (behavioral.endpoint) is set up once, before any thread starts */
	if (curl_global_init(CURL_GLOBAL_NOTHING) != 0)
		fatalx("cannot initialise libcurl");
	check_policy(&env);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (qr_recover(&env) != 0)
		log_warnx("recovery incomplete: see above");
	memset(&in, 0, sizeof(in));
	in.env = &env;
	in.q = &q;
	in.stop = &g_stop;
	in.fd = -1;
	if (!once && qr_intake_open(&in) != 0)
		fatal("inotify on %s/incoming", env.qdir);
	queue_leftovers(&env, &q);
	qr_sweep(&in);
	if (!once) {
		if (pthread_create(&th, NULL, qr_intake_thread, &in) != 0)
			fatalx("cannot start the intake thread");
		thread_started = true;
	}
	/* liveness for `securectl up/status`: STATE/run/quarantine.pid while running */
	char pidfile[4200], pidtxt[32];
	snprintf(pidfile, sizeof(pidfile), "%s/run/quarantine.pid", cfg.state_dir);
	snprintf(pidtxt, sizeof(pidtxt), "%ld\n", (long)getpid());
	if (!once && fs_atomic_write(pidfile, pidtxt, strlen(pidtxt), 0644) != 0)
		log_warn("cannot write %s", pidfile);
	log_info("watching %s/incoming (policy %s)", env.qdir, env.policy_dir);
	printf("secai-quarantine: watching %s/incoming\n", env.qdir);
	fflush(stdout);
	qr_audit(&env, "quarantine.started_daemon",
		 json_pack("{s:s, s:b}", "incoming", env.qdir, "once", once));

	while (!g_stop) {
		struct qr_outcome out;
		static const volatile int done_flag = 1;

		name = qr_queue_pop(&q, once ? &done_flag : &g_stop);
		if (name == NULL) {
			if (once)
				break;
			continue;
		}
		if (qr_process(&env, name, &out) != 0)
			log_warnx("%s: not decided; left in processing/ for the next start", name);
		free(name);
	}
	g_stop = 1;
	if (!once)
		unlink(pidfile);
	if (thread_started)
		pthread_join(th, NULL);
	if (in.fd >= 0)
		close(in.fd);
	while ((name = qr_queue_pop(&q, &g_stop)) != NULL)
		free(name);
	free(q.names);
	curl_global_cleanup();
	log_info("stopped");
	return 0;
}
