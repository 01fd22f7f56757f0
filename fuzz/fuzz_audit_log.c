/*
 * fuzz_audit_log.c — libFuzzer harness for the audit log reader and the checkpoint parser.
 *
 * Input: bytes treated (1) as one log line: audit_line_parse must not crash, and whenever the
 * fast canonical path accepts a line the strict slow path must accept it too and compute the
 * same hash, prev_hash and stored hash (the two paths may never disagree); (2) as a signed note:
 * ckpt_parse_body and ckpt_verify must not crash or accept a note this run's key never signed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit_entry.h"
#include "checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ckpt_key key;
	static int have_key;
	struct audit_line a, b;
	struct ckpt c;
	char err[512];

	if (size > (1 << 20))
		return 0;
	if (!have_key) {
		if (ckpt_key_generate("fuzz.example/log", &key) != 0)
			abort();
		have_key = 1;
	}
	if (audit_line_parse((const char *)data, size, &a, err, sizeof(err)) == 0 && a.fast) {
		if (audit_line_parse_slow((const char *)data, size, &b, err, sizeof(err)) != 0)
			abort(); /* fast path accepted what the strict parser refuses */
		if (memcmp(a.computed, b.computed, sizeof(a.computed)) != 0 ||
		    memcmp(a.stored, b.stored, sizeof(a.stored)) != 0 ||
		    strcmp(a.prev_hex, b.prev_hex) != 0)
			abort(); /* the two paths disagree on a hash */
	}
	ckpt_parse_body((const char *)data, size, &c, err, sizeof(err));
	if (ckpt_verify((const char *)data, size, &key, &c, err, sizeof(err)) == 0)
		abort(); /* a signature by a key generated in this process cannot be in the input */
	return 0;
}
