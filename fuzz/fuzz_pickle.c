/*
 * fuzz_pickle.c — libFuzzer harness for the pickle scanner and the zip/npy paths of the gate:
 * the input is scanned as a pickle stream, then as a whole file through scan_buffer().
 * Never: writes files.
 */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "scan/formatgate.h"
#include "scan/pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_report r;

	scan_report_init(&r);
	(void)pickle_scan(data, size, 0, 0, "f.pkl", &r, NULL);
	(void)pickle_sniff(data, size);
	scan_report_free(&r);
	scan_report_init(&r);
	(void)scan_buffer(data, size, "f.bin", 0, &r, NULL);
	scan_report_free(&r);
	return 0;
}
