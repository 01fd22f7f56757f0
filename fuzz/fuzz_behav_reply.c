/*
 * fuzz_behav_reply.c — libFuzzer harness for the reading of an OpenAI-compatible endpoint's
 * reply in the behavioural stage (qr_reply_content, src/lib/quarantine/qr_policy.c), and for
 * the check of behavioral.endpoint (qr_endpoint_check).
 *
 * Input: a response body. It must not crash, leak or hang; on success the content is a
 * NUL-terminated string no longer than the body. The same bytes as an endpoint URL must be
 * accepted only in the loopback form.
 * Never: writes files or talks to any daemon.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quarantine/qr_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *content = NULL, url[80];

	if (qr_reply_content((const char *)data, size, &content, err, sizeof(err)) == 0) {
		if (content == NULL || strlen(content) > size)
			abort();
		free(content);
	} else if (content != NULL || err[0] == '\0') {
		abort();
	}
	if (size < sizeof(url)) {
		memcpy(url, data, size);
		url[size] = '\0';
		if (qr_endpoint_check(url, err, sizeof(err)) == 0 &&
		    strncmp(url, "http://127.0.0.1:", 17) != 0 && strncmp(url, "http://[::1]:", 13) != 0)
			abort();
	}
	return 0;
}
