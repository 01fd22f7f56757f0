/*
 * demo_compartments.c — the compartments `securectl up` sets up on a first run, and the
 * brokered question it asks through them.
 *
 * First run: an empty policy.yaml when there is none (so only the qrexec policy decides rpc);
 * and when there is no STATE/compartments.yaml, three compartments — sys-ai (no network, the model
 * through secai-infer's socket), work (a workspace), sys-config (read-only configuration) —
 * deploy/qubes/policy.d/30-secai.policy into STATE/policy.d, and deploy/qubes' services into
 * each compartment's rpc/ folder, all copied unchanged from the files that install on Qubes.
 * Then, once the broker runs: work asks sys-ai `secai.Ask` through secai-call, the broker asks
 * the qrexec policy, the answer comes back from the sealed model.
 * Owns: those defaults and that demonstration. Never: touches an existing compartments.yaml,
 * policy.d or service file (a user's own setup is theirs).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compart.h"
#include "fsutil.h"
#include "securectl/demo.h"

static const char demo_policy_yaml[] =
    "# Written by `securectl up` on its first run (docs/policy-schema.md). No rules: every\n"
    "# tool, egress, model, agent and mcp request is denied; rpc calls between compartments\n"
    "# are decided by the Qubes qrexec policy in policy.d/ (docs/qrexec.md).\n"
    "version: 1\n";

static const char demo_compartments_yaml[] =
    "# Written by `securectl up` on its first run (docs/broker.md). Edit freely: up never\n"
    "# rewrites this file once it exists.\n"
    "compartments:\n"
    "  sys-ai:         # the AI compartment: no network; the model through secai-infer's socket\n"
    "    type: AppVM\n"
    "    tags: [secai-ai]\n"
    "    infer: true\n"
    "  work:           # a workspace: may ask sys-ai (policy.d/30-secai.policy)\n"
    "    type: AppVM\n"
    "    tags: [secai-workspace]\n"
    "  sys-config:     # read-only configuration (secai.GetConfig+NAME)\n"
    "    type: AppVM\n";

/* deploy/qubes beside the binaries: the build tree (build/..) or an install (share/secai). */
static int deploy_dir(char *out, size_t outlen)
{
	static const char *const rel[] = {"/../deploy/qubes", "/../../deploy/qubes",
					  "/../share/secai/qubes"};
	char self[PATH_MAX];
	struct stat st;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return -1;
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(out, outlen, "%s%s", self, rel[i]);
		if (stat(out, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
	}
	return -1;
}

/* Copies src to dst (mode) unless dst exists. */
static int copy_new(const char *src, const char *dst, mode_t mode, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t len;

	if (lstat(dst, &st) == 0)
		return 0;
	if (fs_read_file(src, 1 << 20, &buf, &len) != 0) {
		snprintf(err, errlen, "%s: %s", src, strerror(errno));
		return -1;
	}
	int rc = fs_atomic_write(dst, buf, len, mode);
	free(buf);
	if (rc != 0)
		snprintf(err, errlen, "%s: %s", dst, strerror(errno));
	return rc;
}

int demo_compartments_setup(const struct secai_config *cfg, char *err, size_t errlen)
{
	char path[4200], dep[PATH_MAX], src[PATH_MAX + 64], dst[4300];
	struct stat st;
	static const struct {
		const char *compartment, *service;
	} services[] = {{"sys-ai", "secai.Ask"}, {"sys-config", "secai.GetConfig"}};

	/* the YAML domain policy: absent means deny-all, so a first run gets an empty one */
	if (stat(cfg->policy.file, &st) != 0 &&
	    fs_atomic_write(cfg->policy.file, demo_policy_yaml, sizeof(demo_policy_yaml) - 1,
			    0644) != 0) {
		snprintf(err, errlen, "%s: %s", cfg->policy.file, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/compartments.yaml", cfg->state_dir);
	if (stat(path, &st) == 0)
		return 0; /* the user's own */
	if (deploy_dir(dep, sizeof(dep)) != 0) {
		snprintf(err, errlen, "deploy/qubes (the policy and services) not found beside the "
				      "binaries; reinstall, or write %s yourself (docs/broker.md)",
			 path);
		return -1;
	}
	if (fs_mkdir_p(cfg->policy.qrexec_dir, 0700) != 0) {
		snprintf(err, errlen, "%s: %s", cfg->policy.qrexec_dir, strerror(errno));
		return -1;
	}
	snprintf(src, sizeof(src), "%s/policy.d/30-secai.policy", dep);
	snprintf(dst, sizeof(dst), "%s/30-secai.policy", cfg->policy.qrexec_dir);
	if (copy_new(src, dst, 0644, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		snprintf(dst, sizeof(dst), "%s/compartments/%s/rpc", cfg->state_dir,
			 services[i].compartment);
		if (fs_mkdir_p(dst, 0700) != 0) {
			snprintf(err, errlen, "%s: %s", dst, strerror(errno));
			return -1;
		}
		snprintf(src, sizeof(src), "%s/rpc/%s", dep, services[i].service);
		snprintf(dst, sizeof(dst), "%s/compartments/%s/rpc/%s", cfg->state_dir,
			 services[i].compartment, services[i].service);
		if (copy_new(src, dst, 0755, err, errlen) != 0)
			return -1;
	}
	/* what secai.GetConfig+model answers from sys-config */
	snprintf(dst, sizeof(dst), "%s/compartments/sys-config/home/secai-config", cfg->state_dir);
	if (fs_mkdir_p(dst, 0700) == 0) {
		snprintf(dst, sizeof(dst), "%s/compartments/sys-config/home/secai-config/model",
			 cfg->state_dir);
		if (lstat(dst, &st) != 0 && fs_atomic_write(dst, "demo\n", 5, 0600) != 0) {
			snprintf(err, errlen, "%s: %s", dst, strerror(errno));
			return -1;
		}
	}
	if (fs_atomic_write(path, demo_compartments_yaml, sizeof(demo_compartments_yaml) - 1,
			    0644) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	printf("secai: first run: compartments sys-ai, work, sys-config in %s; qrexec policy %s\n",
	       path, cfg->policy.qrexec_dir);
	fflush(stdout);
	return 0;
}

int demo_compartments_present(const struct secai_config *cfg)
{
	char path[4200], err[256];
	struct compart_set *set = calloc(1, sizeof(*set));
	const struct compart *ai, *work;
	int ok = 0;

	snprintf(path, sizeof(path), "%s/compartments.yaml", cfg->state_dir);
	if (set != NULL && compart_load(path, set, err, sizeof(err)) == 0) {
		ai = compart_find(set, "sys-ai");
		work = compart_find(set, "work");
		ok = ai != NULL && ai->infer && work != NULL;
	}
	free(set);
	return ok;
}

int demo_compartments_ask(const struct secai_config *cfg, const char *question)
{
	static const char *const argv_tail[] = {"compartment", "run", "work", "secai-call",
						"sys-ai", "secai.Ask", NULL};
	char self[PATH_MAX], out[4096];
	int in[2], outp[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	(void)cfg;
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0 || pipe(in) != 0)
		return -1;
	self[sl] = '\0';
	if (pipe(outp) != 0) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		const char *av[8] = {"securectl"};
		for (int i = 0; argv_tail[i]; i++)
			av[i + 1] = argv_tail[i];
		dup2(in[0], 0);
		dup2(outp[1], 1);
		close(in[1]);
		close(outp[0]);
		execv(self, (char *const *)av);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	if (fs_write_all(in[1], question, strlen(question)) != 0)
		fprintf(stderr, "securectl up: could not send the question\n");
	close(in[1]);
	while (got < sizeof(out) - 1 && (n = read(outp[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(outp[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got == 0) {
		fprintf(stderr, "securectl up: the brokered question failed (exit %d)\n",
			WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -1;
	}
	printf("secai: the same model through the broker (workspace -> sys-ai, secai.Ask, "
	       "no network in sys-ai)\n  work:   %s\n  sys-ai: ",
	       question);
	for (const unsigned char *q = (const unsigned char *)out; *q; q++)
		if (*q >= 0x20 || *q == '\t')
			putchar(*q);
		else if (*q == '\n' && q[1] != '\0')
			putchar(' ');
	putchar('\n');
	fflush(stdout);
	return 0;
}
