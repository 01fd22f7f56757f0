/*
 * ctl.c — configuration loading and path helpers shared by securectl's subcommands.
 */
#include <stdio.h>
#include <time.h>

#include "securectl/ctl.h"

int ctl_config(struct secai_config *cfg)
{
	char err[512];

	if (config_load(NULL, cfg, err, sizeof(err)) != 0 ||
	    config_finish(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "securectl: configuration: %s\n", err);
		return -1;
	}
	return 0;
}

int ctl_audit_paths(const struct secai_config *cfg, const char *log_override,
		    struct audit_paths *p)
{
	const char *f = log_override ? log_override : cfg->audit.log_file;

	if (audit_paths_init(f, p) != 0) {
		fprintf(stderr, "securectl: %s: not a usable audit log path\n", f);
		return -1;
	}
	return 0;
}

double ctl_elapsed(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}
