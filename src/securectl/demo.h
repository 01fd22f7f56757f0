/*
 * demo.h — the demo model `securectl up` serves when appliance.yaml names none (demo.c).
 */
#ifndef SECAI_DEMO_H
#define SECAI_DEMO_H

#include <stddef.h>

#include "config.h"

/*
 * Makes sure STATE/models/demo/secai-demo.gguf exists (writing it if not), scans it (it must
 * be clean), hashes it into sha (64 hex + NUL) and records model.demo_admitted in the audit
 * log. Returns 0, or -1 with err.
 */
int demo_model_ensure(const struct secai_config *cfg, char *path, size_t pathlen, char sha[65],
		      char *err, size_t errlen);

#endif
