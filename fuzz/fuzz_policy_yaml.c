/*
 * fuzz_policy_yaml.c — libFuzzer harness for the YAML domain policy loader (policy.yaml).
 *
 * Input: bytes as a policy file. pol_load_buffer must not crash, leak or hang; an error must be
 * "(fuzz):LINE: ..." with a line inside the input. When the input loads: its canonical bytes
 * must load again to the same digest (the digest depends on the rules only), and one request
 * per domain must be decided without crashing, with a verdict in range.
 * Never: writes files or talks to any daemon.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/pol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const sample[POL_NDOMAINS][4] = {
    {"service=secai.Ask", "argument=x", "source=work", "target=ai"},
    {"name=shell", "args=ls -la", "caller=agent", NULL},
    {"host=api.github.com", "port=443", "scheme=https", "method=GET"},
    {"sha256=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "name=llama",
     "format=gguf", NULL},
    {"action=read", "path=/workspace/a/../b", "caller=agent", NULL},
    {"server=files", "tool=read_file", "args={}", NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_policy *p, *q;
	char err[1024];
	size_t lines = 1, n;

	if (size > (256 << 10))
		return 0;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == 0x0a || data[i] == 0x0d || data[i] == 0x85 || data[i] == 0xa8 || data[i] == 0xa9;
	p = pol_load_buffer("(fuzz)", (const char *)data, size, err, sizeof(err));
	if (p == NULL) {
		unsigned long line;
		if (sscanf(err, "(fuzz):%lu:", &line) == 1 && (line < 1 || line > lines + 1))
			abort(); /* an error line outside the input (YAML breaks: LF CR NEL LS PS) */
		return 0;
	}
	{
		const char *c = pol_canonical(p, &n);
		q = pol_load_buffer("(canonical)", c, n, err, sizeof(err));
		if (q == NULL) {
			fprintf(stderr, "canonical form does not load: %s\n%.*s\n", err, (int)n, c);
			abort();
		}
		if (strcmp(pol_digest(p), pol_digest(q)) != 0)
			abort(); /* the digest must not depend on formatting */
		pol_unref(q);
	}
	for (int d = 0; d < POL_NDOMAINS; d++) {
		struct pol_request r;
		struct pol_decision dec;
		int argc = 0;
		while (argc < 4 && sample[d][argc] != NULL)
			argc++;
		if (pol_request_from_args(&r, (enum pol_domain)d, argc, (char **)sample[d], err,
					  sizeof(err)) != 0)
			abort();
		pol_decide(p, &r, &dec);
		if ((unsigned)dec.verdict > POL_ASK || dec.reason[0] == '\0')
			abort();
		pol_request_free(&r);
	}
	pol_unref(p);
	return 0;
}
