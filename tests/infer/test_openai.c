/*
 * test_openai.c — OpenAI request validation: the bodies the SDKs send are accepted with every
 * field read; each kind of malformed body is refused with the parameter named; and the
 * response objects have the shapes clients parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/openai.h"

static void test_sdk_chat_request(void **state)
{
	/* as the OpenAI Python SDK (1.x) sends it for a streamed chat with options */
	const char *body =
	    "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"Hello \"},{\"type\":\"text\",\"text\":"
	    "\"there\"}]}],\"model\":\"demo\",\"max_tokens\":16,\"seed\":42,\"stop\":[\"\\n\\n\","
	    "\"END\"],\"stream\":true,\"stream_options\":{\"include_usage\":true},\"temperature\":0.7,"
	    "\"top_p\":0.9,\"frequency_penalty\":0.5,\"user\":\"ignored\"}";
	struct oai_request r;
	const char *param;
	char err[256];
	(void)state;

	assert_int_equal(oai_parse_request(body, strlen(body), 1, &r, err, sizeof(err), &param), 0);
	assert_int_equal(r.nmsgs, 2);
	assert_string_equal(r.msgs[0].role, "system");
	assert_string_equal(r.msgs[1].content, "Hello there");
	assert_string_equal(r.model, "demo");
	assert_int_equal(r.max_tokens, 16);
	assert_true(r.has_seed && r.seed == 42);
	assert_int_equal(r.nstop, 2);
	assert_string_equal(r.stop[1], "END");
	assert_true(r.stream && r.include_usage);
	assert_true(r.temperature > 0.69 && r.temperature < 0.71);
	assert_true(r.top_p > 0.89 && r.top_p < 0.91);
	oai_request_free(&r);

	const char *comp = "{\"model\":\"x\",\"prompt\":[\"Once upon\"],\"max_tokens\":5}";
	assert_int_equal(oai_parse_request(comp, strlen(comp), 0, &r, err, sizeof(err), &param), 0);
	assert_string_equal(r.prompt, "Once upon");
	assert_false(r.stream);
	oai_request_free(&r);
}

static void test_malformed_requests_name_the_parameter(void **state)
{
	static const struct {
		int chat;
		const char *body, *param;
	} bad[] = {
	    {1, "{\"messages\":5}", "messages"},
	    {1, "{\"messages\":[]}", "messages"},
	    {1, "{\"messages\":[{\"content\":\"x\"}]}", "messages"},
	    {1, "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "messages"},
	    {1, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}", "messages"},
	    {1, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":3}", "temperature"},
	    {1, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":\"hot\"}", "temperature"},
	    {1, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":0}", "max_tokens"},
	    {1, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":1.5}", "max_tokens"},
	    {1, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2}", "n"},
	    {1, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[1]}", "stop"},
	    {1, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", "stop"},
	    {1, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":\"yes\"}", "stream"},
	    {1, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{}]}", "tools"},
	    {1, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_object\"}}", "response_format"},
	    {1, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"seed\":\"1\"}", "seed"},
	    {0, "{\"prompt\":5}", "prompt"},
	    {0, "{\"prompt\":\"x\",\"top_p\":-1}", "top_p"},
	};
	static const char *unparsable[] = {"", "[]", "{", "{\"messages\":[],\"messages\":[]}",
					   "{\"a\":1} {}"};
	struct oai_request r;
	const char *param;
	char err[256];
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = oai_parse_request(bad[i].body, strlen(bad[i].body), bad[i].chat, &r, err,
					   sizeof(err), &param);
		if (rc == 0 || param == NULL || strcmp(param, bad[i].param) != 0)
			fprintf(stderr, "case %zu: rc %d param %s err %s\n", i, rc,
				param ? param : "(null)", err);
		assert_int_equal(rc, -1);
		assert_non_null(param);
		assert_string_equal(param, bad[i].param);
		assert_true(strlen(err) > 0);
		oai_request_free(&r);
	}
	for (size_t i = 0; i < sizeof(unparsable) / sizeof(unparsable[0]); i++) {
		assert_int_equal(oai_parse_request(unparsable[i], strlen(unparsable[i]), 1, &r, err,
						   sizeof(err), &param), -1);
		oai_request_free(&r);
	}
}

static void test_response_shapes(void **state)
{
	struct oai_usage u = {5, 3, 1.0, 2.0};
	char id[40], *s;
	json_t *o;
	(void)state;

	oai_new_id(id);
	assert_int_equal(strncmp(id, "chatcmpl-", 9), 0);
	assert_int_equal(strlen(id), 33);
	o = oai_chat_completion(id, 1, "m", "hi", "stop", &u);
	s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	assert_non_null(strstr(s, "\"object\":\"chat.completion\""));
	assert_non_null(strstr(s, "\"message\":{\"content\":\"hi\",\"role\":\"assistant\"}"));
	assert_non_null(strstr(s, "\"total_tokens\":8"));
	free(s);
	json_decref(o);
	o = oai_chat_chunk(id, 1, "m", NULL, "x", NULL, NULL);
	s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	assert_non_null(strstr(s, "\"delta\":{\"content\":\"x\"},\"finish_reason\":null"));
	assert_null(strstr(s, "usage"));
	free(s);
	json_decref(o);
	o = oai_error("bad", "invalid_request_error", "messages", NULL);
	s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"error\":{\"code\":null,\"message\":\"bad\",\"param\":\"messages\","
			       "\"type\":\"invalid_request_error\"}}");
	free(s);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sdk_chat_request),
	    cmocka_unit_test(test_malformed_requests_name_the_parameter),
	    cmocka_unit_test(test_response_shapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
