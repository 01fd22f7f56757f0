/*
 * demo.h — the model `securectl up` serves, through the quarantine and the registry (demo.c):
 * the demo model when appliance.yaml names none, else the configured one.
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

#endif
