/*
 * fuzz_openai_request.c — libFuzzer harness for secai-infer's request validation: arbitrary
 * bodies, parsed as chat and as completions requests; no crash, no leak, and an accepted chat
 * request always has 1..1024 messages with a known role and non-NULL content.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "infer/openai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oai_request r;
	const char *param;
	char err[256];

	for (int chat = 0; chat < 2; chat++) {
		if (oai_parse_request((const char *)data, size, chat, &r, err, sizeof(err), &param) ==
		    0) {
			if (chat && (r.nmsgs == 0 || r.nmsgs > OAI_MAX_MESSAGES))
				abort();
			for (size_t i = 0; chat && i < r.nmsgs; i++)
				if (r.msgs[i].content == NULL || r.msgs[i].role == NULL)
					abort();
			if (!chat && r.prompt == NULL)
				abort();
		}
		oai_request_free(&r);
	}
	return 0;
}
