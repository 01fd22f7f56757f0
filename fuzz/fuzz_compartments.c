/*
 * fuzz_compartments.c — compart_parse on arbitrary bytes.
 *
 * Owns: nothing but the bytes it is given. Never: touches the file system.
 * Checks beyond "no crash, no leak": a rejected input names "fuzz.yaml:" in its error; an
 * accepted one holds only valid names, at most the limits, and builds a sandbox command line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct compart_set set;
	static struct compart_argv av;
	struct compart_paths p;
	const char *cmd[] = {"/bin/true", NULL};
	char err[512];

	if (compart_parse("fuzz.yaml", (const char *)data, size, &set, err, sizeof(err)) != 0) {
		if (strncmp(err, "fuzz.yaml:", 10) != 0)
			abort();
		return 0;
	}
	if (set.n > COMPART_MAX)
		abort();
	for (size_t i = 0; i < set.n; i++) {
		const struct compart *c = &set.c[i];
		if (c->name[0] == '\0' || strlen(c->name) >= COMPART_NAME_MAX ||
		    strcmp(c->name, "dom0") == 0 || c->ntags > COMPART_MAX_TAGS ||
		    compart_find(&set, c->name) != c)
			abort();
		if (compart_paths("/state", c->name, &p) != 0 ||
		    compart_sandbox_argv(c, &p, NULL, -1, NULL, cmd, &av) != 0)
			abort();
	}
	return 0;
}
