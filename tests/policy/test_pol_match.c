/*
 * test_pol_match.c — globs (plain and path flavour), path normalisation, request fields of every
 * type (validation and normalisation), requests from JSON and from key=value words.
 *
 * Owns: nothing outside memory. Never: touches files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/pol_impl.h"

static void test_glob_plain(void **state)
{
	(void)state;
	assert_true(pol_glob("abc", "abc", false));
	assert_false(pol_glob("abc", "abd", false));
	assert_false(pol_glob("abc", "abcd", false));
	assert_true(pol_glob("*", "", false));
	assert_true(pol_glob("*", "any/thing", false));
	assert_true(pol_glob("*.github.com", "api.github.com", false));
	assert_true(pol_glob("*.github.com", "a.b.github.com", false));
	assert_false(pol_glob("*.github.com", "github.com", false));
	assert_false(pol_glob("*.github.com", "evilgithub.com", false));
	assert_true(pol_glob("a?c", "abc", false));
	assert_false(pol_glob("a?c", "ac", false));
	assert_true(pol_glob("a*b*c", "aXXbYYc", false));
	assert_false(pol_glob("a*b*c", "aXXbYY", false));
	assert_true(pol_glob("\\*", "*", false));
	assert_false(pol_glob("\\*", "x", false));
	assert_true(pol_glob("a\\?", "a?", false));
	assert_true(pol_glob("**", "x/y", false));
	/* pathological patterns stay linear-ish (DP, no backtracking blow-up) */
	{
		char text[5000], pat[200];
		memset(text, 'a', sizeof(text) - 1);
		text[sizeof(text) - 1] = '\0';
		strcpy(pat, "");
		for (int i = 0; i < 30; i++)
			strcat(pat, "*a");
		strcat(pat, "b");
		assert_false(pol_glob(pat, text, false));
		assert_false(pol_glob(pat, text, true));
	}
}

static void test_glob_path(void **state)
{
	(void)state;
	assert_true(pol_glob("/workspace/*", "/workspace/a", true));
	assert_false(pol_glob("/workspace/*", "/workspace/a/b", true));
	assert_true(pol_glob("/workspace/**", "/workspace/a/b", true));
	assert_true(pol_glob("/workspace/**", "/workspace/a", true));
	assert_false(pol_glob("/workspace/**", "/workspace", true));
	assert_false(pol_glob("/workspace/**", "/workspaces/a", true));
	assert_true(pol_glob("/home/*/.ssh/**", "/home/u/.ssh/id_ed25519", true));
	assert_false(pol_glob("/home/*/.ssh/**", "/home/u/x/.ssh/id", true));
	assert_true(pol_glob("**/.env", "/a/b/.env", true));
	assert_false(pol_glob("/a/?", "/a//", true));
	assert_true(pol_glob("*", "/x", false));
	assert_false(pol_glob("*", "/x", true));
}

static void norm(const char *in, const char *want)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", in);
	if (want == NULL) {
		assert_int_equal(pol_path_normalise(buf), -1);
		return;
	}
	assert_int_equal(pol_path_normalise(buf), 0);
	if (strcmp(buf, want) != 0)
		fail_msg("normalise(%s) = %s, want %s", in, buf, want);
}

static void test_path_normalise(void **state)
{
	(void)state;
	norm("/", "/");
	norm("/a/b", "/a/b");
	norm("/a/b/", "/a/b");
	norm("//a///b", "/a/b");
	norm("/a/./b/.", "/a/b");
	norm("/a/../b", "/b");
	norm("/workspace/../etc/passwd", "/etc/passwd");
	norm("/../../x", "/x");
	norm("/a/b/../..", "/");
	norm("/a/..b/c", "/a/..b/c");
	norm("/a/...", "/a/...");
	norm("a/b", NULL);
	norm("", NULL);
	norm("./a", NULL);
}

static void set_ok(struct pol_request *r, const char *k, const char *v, const char *want)
{
	char err[256];
	int idx = pol_field_index(r->domain, k);

	if (pol_request_set(r, k, v, err, sizeof(err)) != 0)
		fail_msg("%s=%s refused: %s", k, v, err);
	assert_true(idx >= 0);
	assert_string_equal(r->val[idx], want);
}

static void set_bad(struct pol_request *r, const char *k, const char *v, const char *want)
{
	char err[256];

	assert_int_equal(pol_request_set(r, k, v, err, sizeof(err)), -1);
	if (strcmp(err, want) != 0)
		fail_msg("error mismatch\n got: %s\nwant: %s", err, want);
}

static void test_request_fields(void **state)
{
	struct pol_request r;

	(void)state;
	pol_request_init(&r, POL_EGRESS);
	set_ok(&r, "host", "API.GitHub.COM.", "api.github.com");
	set_ok(&r, "port", "443", "443");
	set_ok(&r, "scheme", "HTTPS", "https");
	set_ok(&r, "method", "get", "GET");
	set_ok(&r, "path", "/v1/x?y=1", "/v1/x?y=1");
	set_bad(&r, "host", "x", "host: given twice");
	set_bad(&r, "hots", "x",
		"\"hots\": unknown egress field (allowed: host, port, scheme, method, path, caller)");
	pol_request_free(&r);
	pol_request_init(&r, POL_EGRESS);
	set_ok(&r, "host", "[::1]", "::1");
	set_bad(&r, "port", "0", "port: \"0\" is not a port (1..65535)");
	set_bad(&r, "port", "65536", "port: \"65536\" is not a port (1..65535)");
	set_bad(&r, "port", "080", "port: \"080\" is not a port (1..65535)");
	set_bad(&r, "port", "-1", "port: \"-1\" is not a port (1..65535)");
	set_bad(&r, "scheme", "", "scheme: value must be 1..4095 bytes");
	set_bad(&r, "caller", "\xff\xfe", "caller: value is not valid UTF-8");
	set_bad(&r, "caller", "\xc0\xaf", "caller: value is not valid UTF-8");
	set_bad(&r, "caller", "\xed\xa0\x80", "caller: value is not valid UTF-8");
	set_ok(&r, "caller", "zoë ✓ 😀", "zoë ✓ 😀");
	pol_request_free(&r);

	pol_request_init(&r, POL_EGRESS);
	set_bad(&r, "host", "a b", "host: \"a b\" is not a host name or address");
	set_bad(&r, "host", "a/b", "host: \"a/b\" is not a host name or address");
	set_bad(&r, "host", ".", "host: \".\" is not a host name or address");
	pol_request_free(&r);

	pol_request_init(&r, POL_MODEL);
	set_ok(&r, "sha256",
	       "sha256:ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
	       "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	set_ok(&r, "format", "GGUF", "gguf");
	pol_request_free(&r);
	pol_request_init(&r, POL_MODEL);
	set_bad(&r, "sha256", "abc", "sha256: \"abc\" is not a SHA-256 (64 hex digits)");
	set_bad(&r, "sha256",
		"zzcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
		"sha256: \"zzcdef0123456789abcdef0123456789abcdef01...\" is not a SHA-256 (64 hex "
		"digits)");
	pol_request_free(&r);

	pol_request_init(&r, POL_AGENT);
	set_ok(&r, "path", "/workspace/./a/../../etc//passwd", "/etc/passwd");
	set_ok(&r, "action", "Write", "write");
	set_bad(&r, "caller", "", "caller: value must be 1..4095 bytes");
	pol_request_free(&r);
	pol_request_init(&r, POL_AGENT);
	set_bad(&r, "path", "etc/passwd", "path: \"etc/passwd\" is not an absolute path");
	pol_request_free(&r);
	{
		char *longv = malloc(POL_VALUE_MAX + 1);
		memset(longv, 'a', POL_VALUE_MAX);
		longv[POL_VALUE_MAX] = '\0';
		pol_request_init(&r, POL_TOOL);
		set_bad(&r, "args", longv, "args: value must be 1..4095 bytes");
		longv[POL_VALUE_MAX - 1] = '\0';
		set_ok(&r, "args", longv, longv);
		pol_request_free(&r);
		free(longv);
	}
}

static void test_request_json_args(void **state)
{
	struct pol_request r;
	char err[256], *argv[4];
	json_t *j, *back;

	(void)state;
	j = json_pack("{s:s, s:i}", "host", "A.com", "port", 443);
	assert_int_equal(pol_request_from_json(&r, POL_EGRESS, j, err, sizeof(err)), 0);
	assert_string_equal(r.val[0], "a.com");
	assert_string_equal(r.val[1], "443");
	back = pol_request_json(&r);
	assert_string_equal(json_string_value(json_object_get(back, "host")), "a.com");
	assert_string_equal(json_string_value(json_object_get(back, "port")), "443");
	assert_null(json_object_get(back, "scheme"));
	json_decref(back);
	pol_request_free(&r);
	json_decref(j);

	j = json_pack("{s:b}", "host", 1);
	assert_int_equal(pol_request_from_json(&r, POL_EGRESS, j, err, sizeof(err)), -1);
	assert_string_equal(err, "host: value must be a string (or an integer)");
	json_decref(j);
	j = json_pack("[]");
	assert_int_equal(pol_request_from_json(&r, POL_EGRESS, j, err, sizeof(err)), -1);
	json_decref(j);
	j = json_pack("{s:i}", "port", 70000);
	assert_int_equal(pol_request_from_json(&r, POL_EGRESS, j, err, sizeof(err)), -1);
	assert_string_equal(err, "port: \"70000\" is not a port (1..65535)");
	json_decref(j);

	argv[0] = "server=files";
	argv[1] = "tool=read=x";
	assert_int_equal(pol_request_from_args(&r, POL_MCP, 2, argv, err, sizeof(err)), 0);
	assert_string_equal(r.val[0], "files");
	assert_string_equal(r.val[1], "read=x");
	pol_request_free(&r);
	argv[0] = "server";
	assert_int_equal(pol_request_from_args(&r, POL_MCP, 1, argv, err, sizeof(err)), -1);
	assert_string_equal(err, "server: expected field=value");
	argv[0] = "=x";
	assert_int_equal(pol_request_from_args(&r, POL_MCP, 1, argv, err, sizeof(err)), -1);
}

static void test_names(void **state)
{
	enum pol_domain d;
	enum pol_verdict v;

	(void)state;
	for (int i = 0; i < POL_NDOMAINS; i++) {
		assert_int_equal(pol_domain_parse(pol_domain_name((enum pol_domain)i), &d), 0);
		assert_int_equal((int)d, i);
		assert_non_null(pol_domain_fields((enum pol_domain)i)[0]);
	}
	assert_int_equal(pol_domain_parse("network", &d), -1);
	assert_int_equal(pol_verdict_parse("allow", &v), 0);
	assert_int_equal(v, POL_ALLOW);
	assert_int_equal(pol_verdict_parse("ask", &v), 0);
	assert_int_equal(v, POL_ASK);
	assert_int_equal(pol_verdict_parse("Allow", &v), -1);
	assert_string_equal(pol_verdict_name((enum pol_verdict)7), "deny");
	assert_string_equal(pol_domain_name((enum pol_domain)9), "?");
	assert_int_equal(pol_field_index(POL_EGRESS, "port"), 1);
	assert_int_equal(pol_field_index(POL_EGRESS, "nope"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_glob_plain),	   cmocka_unit_test(test_glob_path),
	    cmocka_unit_test(test_path_normalise), cmocka_unit_test(test_request_fields),
	    cmocka_unit_test(test_request_json_args), cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
