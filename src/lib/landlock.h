/*
 * landlock.h — Landlock (Linux >= 5.13), where the kernel has it: the calling process and its
 * children may then touch only the listed paths, bind or connect no TCP port (when asked),
 * and send no signal / reach no abstract Unix socket outside their own domain (ABI >= 6).
 *
 * Owns: the ruleset for a compartment's processes. Never: fails open silently — a kernel
 * without Landlock is reported (return 0), an error is an error (-1), never a half ruleset.
 */
#ifndef SECAI_LANDLOCK_H
#define SECAI_LANDLOCK_H

#include <stdbool.h>
#include <stddef.h>

struct landlock_path {
	const char *path;
	bool write; /* false: read and execute only */
	bool list;  /* only list directories (read nothing): for "/" */
};

/* The kernel's Landlock ABI version, 0 when it has none (or it is disabled). */
int landlock_abi(void);

/* Restricts the calling thread (and what it execs) to paths[]; deny_tcp also forbids TCP
 * bind/connect (ABI >= 4). Paths that do not exist are skipped. Returns the ABI enforced (> 0),
 * 0 when the kernel has no Landlock (nothing was done), -1 with err on failure. */
int landlock_confine(const struct landlock_path *paths, size_t n, bool deny_tcp, char *err,
		     size_t errlen);

#endif
