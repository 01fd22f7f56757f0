/*
 * daemons.h — the appliance's daemons as securectl knows them: how to start each and how to
 * ask whether it is healthy. `up` starts them; `status` asks them. One row per daemon; a daemon
 * that has not landed yet has no row.
 */
#ifndef SECAI_DAEMONS_H
#define SECAI_DAEMONS_H

#include <jansson.h>
#include <stddef.h>

#include "config.h"

/* A daemon's command line, built by its prepare hook (argv[0] is the program). */
#define DAEMON_MAX_ARGS 12
struct daemon_args {
	char *argv[DAEMON_MAX_ARGS + 1];
	int argc;
	char store[DAEMON_MAX_ARGS][4200];
};

struct daemon_desc {
	const char *name;    /* "audit" */
	const char *program; /* "secai-audit" */
	/* Where it listens, for people: a socket path or host:port. */
	void (*endpoint)(const struct secai_config *cfg, char *out, size_t outlen);
	/* Health: returns a JSON object with at least {"healthy": bool}; never NULL. */
	json_t *(*probe)(const struct secai_config *cfg);
	/* Before start: fills extra arguments (may be NULL: none). Returns 0, or -1 with err. */
	int (*prepare)(const struct secai_config *cfg, struct daemon_args *a, char *err,
		       size_t errlen);
};

/* Appends one argument to a (at most DAEMON_MAX_ARGS). */
int daemon_args_add(struct daemon_args *a, const char *arg);

extern const struct daemon_desc daemon_table[];
extern const size_t daemon_count;

/* GET a small JSON document from a loopback daemon's port (1 s timeout); NULL on failure or a
 * status other than 200. */
json_t *daemon_get_json(const struct secai_config *cfg, int port, const char *path);

/* Finds a daemon program next to securectl, else on PATH. */
int daemon_program_path(const char *program, char *out, size_t outlen);

#endif
