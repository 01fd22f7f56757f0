/*
 * main.c — secai-confine: the last step into a compartment. bubblewrap has built the sandbox's
 * mounts (Landlock forbids mounting, so it cannot come earlier); secai-confine adds Landlock
 * on top where the kernel has it, then execs the command.
 *
 * Inside the sandbox: listing under each --list path, read and execute under each --ro path, read and write under each --rw
 * path, nothing else of the file system; --no-tcp (compartments without network) also forbids
 * TCP bind/connect; signals and abstract Unix sockets stay inside the compartment (ABI >= 6).
 * SECAI_LANDLOCK in the command's environment says what was enforced ("abi N" or "none").
 * Owns: that step. Never: execs the command after a Landlock error (a kernel without Landlock
 * is not an error: seccomp and the namespaces still hold, and SECAI_LANDLOCK says "none").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "landlock.h"

#define CONFINE_MAX_PATHS 32

static void usage(FILE *f)
{
	fprintf(f, "usage: secai-confine [--no-tcp] [--list|--ro|--rw PATH]... -- CMD [ARG...]\n"
		   "Run inside a compartment's sandbox (secai-broker and securectl compartment put\n"
		   "it there): restricts CMD with Landlock to the given paths (directory listing only,\n"
		   "read-only or read-write), optionally no TCP, then execs it. docs/broker.md.\n");
}

int main(int argc, char **argv)
{
	struct landlock_path paths[CONFINE_MAX_PATHS];
	size_t n = 0;
	bool no_tcp = false;
	char err[512], what[32];
	int i, abi;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--no-tcp") == 0) {
			no_tcp = true;
		} else if ((strcmp(argv[i], "--ro") == 0 || strcmp(argv[i], "--rw") == 0 ||
			    strcmp(argv[i], "--list") == 0) &&
			   i + 1 < argc && n < CONFINE_MAX_PATHS) {
			paths[n].path = argv[i + 1];
			paths[n].write = strcmp(argv[i], "--rw") == 0;
			paths[n++].list = strcmp(argv[i], "--list") == 0;
			i++;
		} else {
			usage(stderr);
			return 125;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 125;
	}
	abi = landlock_confine(paths, n, no_tcp, err, sizeof(err));
	if (abi < 0) {
		fprintf(stderr, "secai-confine: %s\n", err);
		return 125;
	}
	if (abi > 0)
		snprintf(what, sizeof(what), "abi %d", abi);
	else
		snprintf(what, sizeof(what), "none");
	setenv("SECAI_LANDLOCK", what, 1);
	execvp(argv[i], argv + i);
	fprintf(stderr, "secai-confine: %s: cannot execute\n", argv[i]);
	return 127;
}
