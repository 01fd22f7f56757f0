/*
 * fuzz_safetensors.c — libFuzzer harness for the safetensors checker (whole buffer, and a header
 * cut short of the file size it claims).
 * Never: writes files.
 */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include <jansson.h>

#include "scan/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_report r;
	void *names = NULL;

	scan_report_init(&r);
	(void)st_check_buffer(data, size, "f.safetensors", &r);
	scan_report_free(&r);
	scan_report_init(&r);
	if (st_check(data, size, (uint64_t)size + 4096, "f.safetensors", &r, &names) == 0)
		json_decref(names);
	scan_report_free(&r);
	return 0;
}
