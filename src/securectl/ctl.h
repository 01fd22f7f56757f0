/*
 * ctl.h — helpers every securectl subcommand shares: configuration and the audit log's paths.
 */
#ifndef SECAI_CTL_H
#define SECAI_CTL_H

#include "audit_log.h"
#include "config.h"
#include <time.h>

/* Loads appliance.yaml ($SECAI_CONFIG, else STATE/appliance.yaml, else defaults). Prints the
 * error and returns -1 when the file is broken. */
int ctl_config(struct secai_config *cfg);
/* Paths of the audit log: --log override, else the config's audit.log_file. */
int ctl_audit_paths(const struct secai_config *cfg, const char *log_override,
		    struct audit_paths *p);
/* Duration in seconds since a monotonic start. */
double ctl_elapsed(const struct timespec *start);

int audit_verify_main(int argc, char **argv);
int audit_tail_main(int argc, char **argv);
int audit_proof_main(int argc, char **argv);

#endif
