/*
 * openai.c — request validation and response objects of the OpenAI API (see openai.h).
 *
 * Parsing goes through json_parse_object (duplicate keys refused). Unknown top-level keys are
 * ignored, as OpenAI's API does for forward compatibility, except ones whose meaning we would
 * silently drop (n > 1, tools, response_format other than text, logprobs) — those are a 400.
 */
#include "infer/openai.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "buf.h"
#include "json.h"

#define OAI_MAX_BODY (8u << 20)

static int fail(char *err, size_t errlen, const char **param, const char *p, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	*param = p;
	return -1;
}

static int get_number(json_t *root, const char *key, double lo, double hi, double *out, char *err,
		      size_t errlen, const char **param)
{
	json_t *v = json_object_get(root, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_number(v)) {
		snprintf(err, errlen, "'%s' must be a number", key);
		*param = key;
		return -1;
	}
	double d = json_number_value(v);
	if (!isfinite(d) || d < lo || d > hi) {
		snprintf(err, errlen, "'%s' must be between %g and %g", key, lo, hi);
		*param = key;
		return -1;
	}
	*out = d;
	return 0;
}

static int get_int(json_t *root, const char *key, long lo, long hi, long *out, char *err,
		   size_t errlen, const char **param)
{
	json_t *v = json_object_get(root, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		snprintf(err, errlen, "'%s' must be an integer between %ld and %ld", key, lo, hi);
		*param = key;
		return -1;
	}
	*out = (long)json_integer_value(v);
	return 0;
}

/* content: a string, or an array of {"type":"text","text":...} parts (joined). */
static int message_content(struct oai_request *r, json_t *c, const char **out)
{
	struct buf b = BUF_INIT;
	size_t i;
	json_t *part;

	if (json_is_string(c)) {
		*out = json_string_value(c);
		return 0;
	}
	if (!json_is_array(c))
		return -1;
	json_array_foreach(c, i, part) {
		const char *type = json_get_string(part, "type");
		const char *text = json_get_string(part, "text");
		if (type == NULL || strcmp(type, "text") != 0 || text == NULL) {
			buf_free(&b);
			return -1;
		}
		if (buf_append_str(&b, text) != 0) {
			buf_free(&b);
			return -1;
		}
	}
	if (b.data == NULL && buf_append_str(&b, "") != 0)
		return -1;
	char **no = realloc(r->owned, (r->nowned + 1) * sizeof(*no));
	if (no == NULL) {
		buf_free(&b);
		return -1;
	}
	r->owned = no;
	r->owned[r->nowned++] = b.data;
	*out = b.data;
	return 0;
}

int oai_parse_request(const char *body, size_t len, int chat, struct oai_request *r, char *err,
		      size_t errlen, const char **param)
{
	char jerr[200];
	json_t *root, *v;

	memset(r, 0, sizeof(*r));
	r->chat = chat;
	r->max_tokens = -1;
	r->temperature = 1.0;
	r->top_p = 1.0;
	r->min_p = 0.0;
	r->repeat_penalty = 1.0;
	*param = NULL;
	root = json_parse_object(body, len, OAI_MAX_BODY, jerr, sizeof(jerr));
	if (root == NULL) {
		snprintf(err, errlen, "request body is not a valid JSON object: %s", jerr);
		return -1;
	}
	r->root = root;

	v = json_object_get(root, "model");
	if (v != NULL && !json_is_string(v) && !json_is_null(v))
		return fail(err, errlen, param, "model", "'model' must be a string");
	r->model = json_is_string(v) ? json_string_value(v) : NULL;

	if (chat) {
		json_t *msgs = json_object_get(root, "messages"), *m;
		size_t i;
		if (!json_is_array(msgs))
			return fail(err, errlen, param, "messages",
				    "'messages' must be an array of {role, content} objects");
		if (json_array_size(msgs) == 0 || json_array_size(msgs) > OAI_MAX_MESSAGES)
			return fail(err, errlen, param, "messages",
				    "'messages' must hold between 1 and 1024 messages");
		r->msgs = calloc(json_array_size(msgs), sizeof(*r->msgs));
		if (r->msgs == NULL)
			return fail(err, errlen, param, NULL, "out of memory");
		json_array_foreach(msgs, i, m) {
			const char *role = json_get_string(m, "role");
			json_t *c = json_object_get(m, "content");
			if (!json_is_object(m) || role == NULL)
				return fail(err, errlen, param, "messages",
					    "each message needs a string 'role'");
			if (strcmp(role, "developer") == 0)
				role = "system";
			if (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant"))
				return fail(err, errlen, param, "messages",
					    "message role must be system, developer, user or "
					    "assistant");
			if (c == NULL || json_is_null(c))
				return fail(err, errlen, param, "messages",
					    "each message needs 'content'");
			if (message_content(r, c, &r->msgs[i].content) != 0)
				return fail(err, errlen, param, "messages",
					    "message content must be a string or an array of text "
					    "parts");
			r->msgs[i].role = role;
			r->nmsgs++;
		}
	} else {
		v = json_object_get(root, "prompt");
		if (json_is_array(v) && json_array_size(v) == 1 && json_is_string(json_array_get(v, 0)))
			v = json_array_get(v, 0);
		if (!json_is_string(v))
			return fail(err, errlen, param, "prompt", "'prompt' must be a string");
		r->prompt = json_string_value(v);
	}

	v = json_object_get(root, "stream");
	if (v != NULL && !json_is_boolean(v) && !json_is_null(v))
		return fail(err, errlen, param, "stream", "'stream' must be a boolean");
	r->stream = json_is_true(v);
	v = json_object_get(root, "stream_options");
	if (v != NULL && !json_is_null(v)) {
		json_t *iu = json_object_get(v, "include_usage");
		if (!json_is_object(v) || (iu != NULL && !json_is_boolean(iu)))
			return fail(err, errlen, param, "stream_options",
				    "'stream_options' must be {\"include_usage\": bool}");
		r->include_usage = json_is_true(iu);
	}
	v = json_object_get(root, "ignore_eos"); /* llama-server's extension (benches, tests) */
	if (v != NULL && !json_is_boolean(v) && !json_is_null(v))
		return fail(err, errlen, param, "ignore_eos", "'ignore_eos' must be a boolean");
	r->ignore_eos = json_is_true(v);
	long mt = -1, mct = -1, n = 1;
	if (get_int(root, "max_tokens", 1, 1 << 20, &mt, err, errlen, param) ||
	    get_int(root, "max_completion_tokens", 1, 1 << 20, &mct, err, errlen, param) ||
	    get_int(root, "n", 1, 1, &n, err, errlen, param) ||
	    get_int(root, "top_k", 0, 1 << 20, &r->top_k, err, errlen, param) ||
	    get_number(root, "temperature", 0, 2, &r->temperature, err, errlen, param) ||
	    get_number(root, "top_p", 0, 1, &r->top_p, err, errlen, param) ||
	    get_number(root, "min_p", 0, 1, &r->min_p, err, errlen, param) ||
	    get_number(root, "repeat_penalty", 0, 10, &r->repeat_penalty, err, errlen, param) ||
	    get_number(root, "presence_penalty", -2, 2, &r->presence_penalty, err, errlen, param) ||
	    get_number(root, "frequency_penalty", -2, 2, &r->frequency_penalty, err, errlen, param))
		return -1;
	r->max_tokens = mct > 0 ? mct : mt;
	v = json_object_get(root, "seed");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v))
			return fail(err, errlen, param, "seed", "'seed' must be an integer");
		r->has_seed = 1;
		r->seed = (uint64_t)json_integer_value(v);
	}
	v = json_object_get(root, "stop");
	if (json_is_string(v)) {
		r->stop[r->nstop++] = json_string_value(v);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *s;
		if (json_array_size(v) > OAI_MAX_STOP)
			return fail(err, errlen, param, "stop", "'stop' takes at most 4 strings");
		json_array_foreach(v, i, s) {
			if (!json_is_string(s) || json_string_length(s) == 0)
				return fail(err, errlen, param, "stop",
					    "'stop' must be a non-empty string or an array of them");
			r->stop[r->nstop++] = json_string_value(s);
		}
	} else if (v != NULL && !json_is_null(v)) {
		return fail(err, errlen, param, "stop", "'stop' must be a string or an array");
	}
	/* features we would otherwise silently ignore */
	if (json_is_true(json_object_get(root, "logprobs")))
		return fail(err, errlen, param, "logprobs", "'logprobs' is not supported");
	v = json_object_get(root, "tools");
	if (v != NULL && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0))
		return fail(err, errlen, param, "tools", "'tools' is not supported by secai-infer");
	v = json_object_get(root, "response_format");
	if (v != NULL && !json_is_null(v)) {
		const char *t = json_get_string(v, "type");
		if (t == NULL || strcmp(t, "text") != 0)
			return fail(err, errlen, param, "response_format",
				    "only response_format {\"type\":\"text\"} is supported");
	}
	return 0;
}

void oai_request_free(struct oai_request *r)
{
	for (size_t i = 0; i < r->nowned; i++)
		free(r->owned[i]);
	free(r->owned);
	free(r->msgs);
	json_decref(r->root);
	memset(r, 0, sizeof(*r));
}

json_t *oai_error(const char *message, const char *type, const char *param, const char *code)
{
	return json_pack("{s:{s:s, s:s, s:o, s:o}}", "error", "message", message, "type", type,
			 "param", param ? json_string(param) : json_null(), "code",
			 code ? json_string(code) : json_null());
}

void oai_new_id(char out[40])
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	uint8_t rnd[24];

	randombytes_buf(rnd, sizeof(rnd));
	memcpy(out, "chatcmpl-", 9);
	for (int i = 0; i < 24; i++)
		out[9 + i] = al[rnd[i] % (sizeof(al) - 1)];
	out[33] = '\0';
}

static json_t *usage_json(const struct oai_usage *u)
{
	return json_pack("{s:I, s:I, s:I}", "prompt_tokens", (json_int_t)u->prompt_tokens,
			 "completion_tokens", (json_int_t)u->completion_tokens, "total_tokens",
			 (json_int_t)(u->prompt_tokens + u->completion_tokens));
}

static json_t *timings_json(const struct oai_usage *u)
{
	return json_pack("{s:I, s:f, s:f, s:I, s:f, s:f}", "prompt_n", (json_int_t)u->prompt_tokens,
			 "prompt_ms", u->prompt_ms, "prompt_per_second",
			 u->prompt_ms > 0 ? u->prompt_tokens * 1000.0 / u->prompt_ms : 0.0,
			 "predicted_n", (json_int_t)u->completion_tokens, "predicted_ms",
			 u->predicted_ms, "predicted_per_second",
			 u->predicted_ms > 0 ? u->completion_tokens * 1000.0 / u->predicted_ms : 0.0);
}

static json_t *envelope(const char *object, const char *id, long created, const char *model,
			json_t *choice, const struct oai_usage *u)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:[o]}", "id", id, "object", object,
			      "created", (json_int_t)created, "model", model, "system_fingerprint",
			      "secai", "choices", choice);
	if (o != NULL && u != NULL) {
		json_object_set_new(o, "usage", usage_json(u));
		json_object_set_new(o, "timings", timings_json(u));
	}
	return o;
}

json_t *oai_chat_completion(const char *id, long created, const char *model, const char *content,
			    const char *finish_reason, const struct oai_usage *u)
{
	return envelope("chat.completion", id, created, model,
			json_pack("{s:i, s:{s:s, s:s}, s:s}", "index", 0, "message", "role",
				  "assistant", "content", content, "finish_reason", finish_reason),
			u);
}

json_t *oai_text_completion(const char *id, long created, const char *model, const char *text,
			    const char *finish_reason, const struct oai_usage *u)
{
	return envelope("text_completion", id, created, model,
			json_pack("{s:s, s:i, s:n, s:s}", "text", text, "index", 0, "logprobs",
				  "finish_reason", finish_reason),
			u);
}

json_t *oai_chat_chunk(const char *id, long created, const char *model, const char *role,
		       const char *content, const char *finish_reason, const struct oai_usage *u)
{
	json_t *delta = json_object();
	if (role)
		json_object_set_new(delta, "role", json_string(role));
	if (content)
		json_object_set_new(delta, "content", json_string(content));
	return envelope("chat.completion.chunk", id, created, model,
			json_pack("{s:i, s:o, s:o}", "index", 0, "delta", delta, "finish_reason",
				  finish_reason ? json_string(finish_reason) : json_null()),
			u);
}

json_t *oai_text_chunk(const char *id, long created, const char *model, const char *text,
		       const char *finish_reason, const struct oai_usage *u)
{
	return envelope("text_completion", id, created, model,
			json_pack("{s:s, s:i, s:n, s:o}", "text", text ? text : "", "index", 0,
				  "logprobs", "finish_reason",
				  finish_reason ? json_string(finish_reason) : json_null()),
			u);
}
