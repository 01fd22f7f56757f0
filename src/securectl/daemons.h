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

struct daemon_desc {
	const char *name;    /* "audit" */
	const char *program; /* "secai-audit" */
	/* Where it listens, for people: a socket path or host:port. */
	void (*endpoint)(const struct secai_config *cfg, char *out, size_t outlen);
	/* Health: returns a JSON object with at least {"healthy": bool}; never NULL. */
	json_t *(*probe)(const struct secai_config *cfg);
};

extern const struct daemon_desc daemon_table[];
extern const size_t daemon_count;

/* Finds a daemon program next to securectl, else on PATH. */
int daemon_program_path(const char *program, char *out, size_t outlen);

#endif
