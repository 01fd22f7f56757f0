/*
 * test_json.c — strict parsing (duplicate keys, trailing data, size limit, NUL) and the
 * canonical encoder, byte for byte against what Python's json.dumps(sort_keys=True,
 * separators=(',', ':')) prints (expected strings below were printed by CPython 3.11).
 * tests/e2e/test_canonical_json.py cross-checks many more values against Python live.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static char *canon(const char *in)
{
	char err[200];
	struct buf b = BUF_INIT;
	json_t *v = json_parse_strict(in, strlen(in), 1 << 20, err, sizeof(err));

	if (v == NULL) {
		fprintf(stderr, "parse failed for %s: %s\n", in, err);
		return NULL;
	}
	if (json_canon_append(&b, v) != 0) {
		json_decref(v);
		buf_free(&b);
		return NULL;
	}
	json_decref(v);
	return b.data;
}

static void check(const char *in, const char *want)
{
	char *got = canon(in);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_floats_like_python_repr(void **state)
{
	static const struct {
		double d;
		const char *s;
	} cases[] = {{1.0, "1.0"},
		     {0.1, "0.1"},
		     {1e16, "1e+16"},
		     {1e15, "1000000000000000.0"},
		     {123456789012345678.0, "1.2345678901234568e+17"},
		     {1e-5, "1e-05"},
		     {0.0001, "0.0001"},
		     {-0.0, "-0.0"},
		     {5e-324, "5e-324"},
		     {1.7976931348623157e308, "1.7976931348623157e+308"},
		     {0.3, "0.3"},
		     {2.5, "2.5"},
		     {100.0, "100.0"},
		     {1.5e-7, "1.5e-07"},
		     {12345.678, "12345.678"},
		     {-1e22, "-1e+22"},
		     {9007199254740993.0, "9007199254740992.0"},
		     {0.000123456, "0.000123456"}};
	char out[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(json_format_double(out, cases[i].d) > 0);
		assert_string_equal(out, cases[i].s);
	}
	assert_int_equal(json_format_double(out, 0.0 / 0.0), -1);
}

static void test_canonical_layout(void **state)
{
	(void)state;
	check("{\"b\": 1, \"a\": [1, 2.0, \"x\"], \"c\": {\"z\": null, \"y\": true}}",
	      "{\"a\":[1,2.0,\"x\"],\"b\":1,\"c\":{\"y\":true,\"z\":null}}");
	check("1e2", "100.0");
	check("-0", "0");
	check("-0.0", "-0.0");
	check("[]", "[]");
	check("{}", "{}");
	/* escapes exactly as Python's ensure_ascii encoder */
	check("\"a\\/b\"", "\"a/b\"");
	check("\"\\u0001\\u001f\\u007f\\b\\f\\n\\r\\t\\\"\\\\\"",
	      "\"\\u0001\\u001f\\u007f\\b\\f\\n\\r\\t\\\"\\\\\"");
	check("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
	      "\"caf\\u00e9 \\u20ac \\ud83d\\ude00\"");
	check("\"\\uD83D\\uDE00\"", "\"\\ud83d\\ude00\"");
	/* keys sort by code point: "B" < "a" < "é" < "😀" */
	check("{\"\xf0\x9f\x98\x80\":1,\"\xc3\xa9\":2,\"a\":3,\"B\":4}",
	      "{\"B\":4,\"a\":3,\"\\u00e9\":2,\"\\ud83d\\ude00\":1}");
}

static void test_strict_parse_rejects(void **state)
{
	char err[200];
	static const char *bad[] = {
	    "{\"a\":1,\"a\":2}",         /* duplicate key */
	    "{\"a\":{\"b\":1,\"b\":1}}", /* nested duplicate */
	    "{\"a\":1} x",               /* trailing data */
	    "{\"a\":1}{}",               /* two values */
	    "\"\\u0000\"",               /* NUL in a string */
	    "\"\xff\"",                  /* invalid UTF-8 */
	    "\"\\ud800\"",               /* lone surrogate */
	    "[1,]",                      /* trailing comma */
	    "NaN",
	    "99999999999999999999999", /* beyond 64-bit integers */
	    "",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *v = json_parse_strict(bad[i], strlen(bad[i]), 1 << 20, err, sizeof(err));
		if (v != NULL)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		assert_null(v);
		assert_true(strlen(err) > 0);
	}
	/* the size limit is checked before parsing */
	assert_null(json_parse_strict("[1,2,3]", 7, 6, err, sizeof(err)));
	assert_non_null(strstr(err, "exceeds"));
	/* json_parse_object wants an object */
	assert_null(json_parse_object("[1]", 3, 100, err, sizeof(err)));
	json_t *ok = json_parse_object(" {\"a\":1} \n", 10, 100, err, sizeof(err));
	assert_non_null(ok);
	json_decref(ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_floats_like_python_repr),
	    cmocka_unit_test(test_canonical_layout),
	    cmocka_unit_test(test_strict_parse_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
