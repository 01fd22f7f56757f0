/*
 * fuzz_config.c — config_load_buffer on arbitrary bytes.
 *
 * Owns: nothing but the bytes it is given. Never: touches the file system or the environment.
 * Checks beyond "no crash, no leak": an accepted input prints as YAML that loads back to the
 * same values, and a rejected one leaves an error naming "fuzz.yaml:".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct secai_config a, b;
	char err[512];
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (config_load_buffer("fuzz.yaml", (const char *)data, size, &a, err, sizeof(err)) != 0) {
		if (strncmp(err, "fuzz.yaml:", 10) != 0)
			abort();
		return 0;
	}
	f = open_memstream(&text, &len);
	if (f == NULL)
		return 0;
	if (config_print(&a, f) != 0)
		abort();
	fclose(f);
	if (config_load_buffer("fuzz.yaml", text, len, &b, err, sizeof(err)) != 0)
		abort();
	memcpy(b.source, a.source, sizeof(a.source));
	if (memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	free(text);
	return 0;
}
