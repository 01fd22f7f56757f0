/*
 * demo.h — the model `securectl up` serves, through the quarantine and the registry (demo.c):
 * the demo model when appliance.yaml names none, else the configured one; and the demo
 * compartments it asks through the broker (demo_compartments.c).
 */
#ifndef SECAI_DEMO_H
#define SECAI_DEMO_H

#include <stddef.h>

#include "config.h"

/*
 * The demo model as the registry lists it (path, sha 64 hex + NUL): reused when already
 * promoted, else written into quarantine/incoming/ and followed (stage by stage, printed) until
 * promoted. Needs secai-quarantine and secai-registry running. Returns 0, or -1 with err
 * (rejected, not promoted in time, I/O).
 */
int demo_model_ensure(const struct secai_config *cfg, char *path, size_t pathlen, char sha[65],
		      char *err, size_t errlen);

/*
 * The model appliance.yaml names (infer.model) as the registry lists it: when the registry
 * already lists those bytes, that copy; else the file is copied into quarantine/incoming/ and
 * followed until promoted. sha gets the file's actual SHA-256 (infer still checks it against
 * infer.model_sha256). Needs secai-quarantine and secai-registry running. 0, or -1 with err.
 */
int configured_model_ensure(const struct secai_config *cfg, char *path, size_t pathlen,
			    char sha[65], char *err, size_t errlen);

/* demo_compartments.c: on a first run (no STATE/compartments.yaml), the compartments sys-ai,
 * work and sys-config, deploy/qubes' policy in STATE/policy.d and its services in their rpc/
 * folders. Leaves an existing setup alone. Returns 0, or -1 with err. */
int demo_compartments_setup(const struct secai_config *cfg, char *err, size_t errlen);
/* 1 when compartments.yaml has a workspace "work" and an AI compartment "sys-ai" (infer: true). */
int demo_compartments_present(const struct secai_config *cfg);
/* work asks sys-ai secai.Ask through the broker; prints the answer. 0, or -1 (printed). */
int demo_compartments_ask(const struct secai_config *cfg, const char *question);

#endif
