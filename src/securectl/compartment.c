/*
 * compartment.c — `securectl compartment list|run`: the sandboxes of compartments.yaml.
 *
 * `list` prints each compartment with its Qubes type, tags and network; `run NAME CMD...` runs
 * a command inside NAME's sandbox (bubblewrap + seccomp, as the broker starts services), its
 * stdin/stdout/stderr being this terminal's. The file is STATE/compartments.yaml unless
 * --file says otherwise.
 * Owns: the command line. Never: relaxes the sandbox recipe of src/lib/compart.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compart.h"
#include "securectl/ctl.h"
#include "securectl/securectl.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: securectl compartment [--file compartments.yaml] list\n"
		   "       securectl compartment [--file compartments.yaml] run NAME CMD [ARG...]\n"
		   "Compartments are bubblewrap sandboxes that play the part of Qubes OS qubes: own\n"
		   "mount, PID, IPC, UTS and (unless network: true) network namespaces, read-only\n"
		   "/usr, a private home (STATE/compartments/NAME/home), its rpc/ services read-only,\n"
		   "and a seccomp filter. `run` starts CMD inside NAME's sandbox in the foreground.\n"
		   "Default file: STATE/compartments.yaml (docs/broker.md has the format).\n");
}

static int self_dir(char *out, size_t outlen)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	snprintf(out, outlen, "%s", self);
	return 0;
}

int compartment_main(int argc, char **argv)
{
	struct secai_config cfg;
	struct compart_set *set;
	char path[4200], err[1024], bindir[PATH_MAX];
	const char *file = NULL;
	int i = 1, rc = 1;

	if (securectl_wants_help(argc, argv)) {
		usage(stdout);
		return 0;
	}
	if (i + 1 < argc && strcmp(argv[i], "--file") == 0) {
		file = argv[i + 1];
		i += 2;
	}
	if (i >= argc || (strcmp(argv[i], "list") != 0 && strcmp(argv[i], "run") != 0) ||
	    (strcmp(argv[i], "run") == 0 && argc - i < 3)) {
		usage(stderr);
		return SECURECTL_EX_USAGE;
	}
	if (ctl_config(&cfg) != 0)
		return 1;
	if (file == NULL) {
		snprintf(path, sizeof(path), "%s/compartments.yaml", cfg.state_dir);
		file = path;
	}
	set = calloc(1, sizeof(*set));
	if (set == NULL)
		return 1;
	if (compart_load(file, set, err, sizeof(err)) != 0) {
		fprintf(stderr, "securectl compartment: %s\n", err);
		goto out;
	}
	if (strcmp(argv[i], "list") == 0) {
		printf("%-20s %-13s %-8s %s\n", "NAME", "TYPE", "NETWORK", "TAGS");
		for (size_t k = 0; k < set->n; k++) {
			const struct compart *c = &set->c[k];
			printf("%-20s %-13s %-8s", c->name, compart_type_name(c->type),
			       c->network ? "yes" : "none");
			for (size_t t = 0; t < c->ntags; t++)
				printf("%s%s", t ? "," : " ", c->tags[t]);
			printf("\n");
		}
		rc = 0;
		goto out;
	}
	const struct compart *c = compart_find(set, argv[i + 1]);
	struct compart_paths cp;
	struct compart_argv *av = calloc(1, sizeof(*av));
	if (av == NULL)
		goto out;
	if (c == NULL) {
		fprintf(stderr, "securectl compartment: no compartment %s in %s\n", argv[i + 1],
			file);
		free(av);
		goto out;
	}
	if (compart_prepare(cfg.state_dir, c, &cp) != 0) {
		fprintf(stderr, "securectl compartment: cannot create %s's folders: %s\n", c->name,
			strerror(errno));
		free(av);
		goto out;
	}
	int sfd = compart_seccomp_fd(c);
	if (sfd < 0 || self_dir(bindir, sizeof(bindir)) != 0 ||
	    compart_sandbox_argv(c, &cp, bindir, sfd, NULL, (const char *const *)argv + i + 2,
				 av) != 0) {
		fprintf(stderr, "securectl compartment: cannot build %s's sandbox\n", c->name);
		free(av);
		goto out;
	}
	fflush(NULL);
	execvp("bwrap", av->argv);
	fprintf(stderr, "securectl compartment: cannot run bwrap: %s (apt-get install bubblewrap)\n",
		strerror(errno));
	free(av);
out:
	free(set);
	return rc;
}
