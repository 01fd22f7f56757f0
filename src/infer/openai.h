/*
 * openai.h — the OpenAI API's request and response shapes, for secai-infer.
 *
 * Owns: validating a /v1/chat/completions or /v1/completions body (strictly: duplicate keys,
 * wrong types and out-of-range values are a 400 naming the parameter, never a 500) and building
 * the JSON objects the OpenAI SDKs expect (chat.completion, chat.completion.chunk,
 * text_completion, errors). Never: touches the engine; trusts a length or count from the body.
 */
#ifndef SECAI_OPENAI_H
#define SECAI_OPENAI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define OAI_MAX_MESSAGES 1024
#define OAI_MAX_STOP 4

struct oai_message {
	const char *role;    /* system, user, assistant (developer is mapped to system) */
	const char *content; /* text; array-of-parts content is joined into an owned string */
};

struct oai_request {
	int chat;                  /* 1: chat/completions, 0: completions */
	struct oai_message *msgs;  /* chat */
	size_t nmsgs;
	const char *prompt;        /* completions */
	const char *model;         /* as requested (informational) */
	int stream, include_usage;
	int ignore_eos;            /* keep generating past end-of-generation tokens */
	long max_tokens;           /* -1: until end of generation or the context is full */
	double temperature, top_p, min_p, repeat_penalty, presence_penalty, frequency_penalty;
	long top_k;
	int has_seed;
	uint64_t seed;
	const char *stop[OAI_MAX_STOP];
	size_t nstop;
	json_t *root;              /* owns every string above */
	char **owned;              /* joined contents */
	size_t nowned;
};

/*
 * Parses and validates a request body. On error returns -1, fills err with a message fit for the
 * client and *param with the offending parameter name (or NULL).
 */
int oai_parse_request(const char *body, size_t len, int chat, struct oai_request *r, char *err,
		      size_t errlen, const char **param);
void oai_request_free(struct oai_request *r);

/* {"error":{"message":..,"type":..,"param":..,"code":..}} */
json_t *oai_error(const char *message, const char *type, const char *param, const char *code);

struct oai_usage {
	long prompt_tokens, completion_tokens;
	double prompt_ms, predicted_ms;
};

/* "chatcmpl-" + 24 random alphanumerics (out: 40 bytes) */
void oai_new_id(char out[40]);
/* Whole responses. finish_reason: "stop" or "length". */
json_t *oai_chat_completion(const char *id, long created, const char *model, const char *content,
			    const char *finish_reason, const struct oai_usage *u);
json_t *oai_text_completion(const char *id, long created, const char *model, const char *text,
			    const char *finish_reason, const struct oai_usage *u);
/* Stream chunks. role/content may be NULL; finish_reason NULL until the last; usage only on
 * the last chunk when the client asked for it. */
json_t *oai_chat_chunk(const char *id, long created, const char *model, const char *role,
		       const char *content, const char *finish_reason, const struct oai_usage *u);
json_t *oai_text_chunk(const char *id, long created, const char *model, const char *text,
		       const char *finish_reason, const struct oai_usage *u);

#endif
