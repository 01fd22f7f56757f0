/*
 * demo.h — the demo model `securectl up` serves when appliance.yaml names none (demo.c).
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

#endif
