/*
 * test_pol_suite.c — policy test files (securectl policy test): passes, failures, expected rule
 * ids, `default`, the file's own `policy:`, JSON files, and invalid files with file:line.
 *
 * Owns: a temp directory it creates and removes. Never: touches the state directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../lib/testutil.h"
#include "policy/pol.h"

static char *dir;
static char out_text[8192];

static void put(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int run(const char *name, const struct pol_policy *p, const char *def,
	       struct pol_suite_result *res, char *err, size_t errlen)
{
	char path[512];
	FILE *out = fmemopen(out_text, sizeof(out_text), "w");
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	rc = pol_suite_run(path, p, def, out, res, err, errlen);
	fclose(out);
	return rc;
}

static const char pol_text[] = "version: 1\n"
			       "egress:\n"
			       "  - id: gh\n"
			       "    match: {host: \"*.github.com\", port: 443}\n"
			       "    decision: allow\n";

static int setup(void **state)
{
	(void)state;
	dir = test_tmpdir();
	return dir ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	test_rmrf(dir);
	free(dir);
	return 0;
}

static void test_pass_and_fail(void **state)
{
	struct pol_suite_result res;
	char err[512];

	(void)state;
	put("policy.yaml", pol_text);
	put("t.yaml", "policy: policy.yaml\n"
		      "tests:\n"
		      "  - name: gh\n"
		      "    domain: egress\n"
		      "    request: {host: api.github.com, port: 443}\n"
		      "    expect: allow\n"
		      "    rule: gh\n"
		      "  - name: other\n"
		      "    domain: egress\n"
		      "    request: {host: evil.com}\n"
		      "    expect: deny\n"
		      "    rule: default\n"
		      "  - name: wrong\n"
		      "    domain: egress\n"
		      "    request: {host: evil.com}\n"
		      "    expect: allow\n"
		      "  - name: wrong rule\n"
		      "    domain: egress\n"
		      "    request: {host: api.github.com, port: 443}\n"
		      "    expect: allow\n"
		      "    rule: default\n"
		      "  - domain: egress\n"
		      "    request: {port: 99999}\n"
		      "    expect: deny\n");
	if (run("t.yaml", NULL, NULL, &res, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(res.total, 5);
	assert_int_equal(res.passed, 2);
	assert_int_equal(res.failed, 3);
	assert_non_null(strstr(out_text, "PASS gh\nPASS other\n"));
	assert_non_null(strstr(out_text, "FAIL wrong: want allow, got deny by default"));
	assert_non_null(strstr(out_text, "FAIL wrong rule: want allow by default, got allow by "));
	/* a malformed request fails its case, never passes */
	assert_non_null(strstr(out_text, "t.yaml:22 (tests[4]): bad request at "));
	assert_non_null(strstr(out_text, "port: \"99999\" is not a port (1..65535)"));
}

static void test_json_and_given_policy(void **state)
{
	struct pol_suite_result res;
	struct pol_policy *p;
	char err[512];

	(void)state;
	p = pol_load_buffer("inline", pol_text, strlen(pol_text), err, sizeof(err));
	assert_non_null(p);
	put("t.json", "{\"tests\": [{\"domain\": \"egress\", \"request\": {\"host\": \"a.github.com\","
		      " \"port\": 443}, \"expect\": \"allow\", \"rule\": \"gh\"}]}");
	assert_int_equal(run("t.json", p, NULL, &res, err, sizeof(err)), 0);
	assert_int_equal(res.passed, 1);
	assert_int_equal(res.failed, 0);
	/* no policy anywhere */
	assert_int_equal(run("t.json", NULL, NULL, &res, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no policy given"));
	/* the default policy file */
	put("policy.yaml", pol_text);
	{
		char def[512];
		snprintf(def, sizeof(def), "%s/policy.yaml", dir);
		assert_int_equal(run("t.json", NULL, def, &res, err, sizeof(err)), 0);
		assert_int_equal(res.passed, 1);
	}
	pol_unref(p);
}

static void expect_invalid(const char *text, const char *want)
{
	struct pol_suite_result res;
	char err[512], wantp[600];

	put("bad.yaml", text);
	assert_int_equal(run("bad.yaml", NULL, NULL, &res, err, sizeof(err)), -1);
	snprintf(wantp, sizeof(wantp), "%s/bad.yaml:%s", dir, want);
	if (strcmp(err, wantp) != 0)
		fail_msg("got: %s\nwant: %s", err, wantp);
	assert_int_equal(res.total, 0);
}

static void test_invalid(void **state)
{
	(void)state;
	expect_invalid("tests: []\n", "1: tests: expected a non-empty list of cases");
	expect_invalid("test: []\n", "1: \"test\": unknown key (allowed: policy, tests)");
	expect_invalid("tests:\n  - domain: net\n    expect: deny\n",
		       "2: tests[0].domain: required, one of rpc|tool|egress|model|agent|mcp");
	expect_invalid("tests:\n  - domain: tool\n    expect: maybe\n",
		       "3: tests[0].expect: required, one of allow|deny|ask");
	expect_invalid("tests:\n  - domain: tool\n    expect: deny\n    want: x\n",
		       "4: tests[0].\"want\": unknown key (allowed: name, domain, request, expect, "
		       "rule)");
	expect_invalid("tests:\n  - domain: tool\n    expect: deny\n    request: [a]\n",
		       "4: tests[0].request: expected a mapping of field: value");
	expect_invalid("tests:\n  - domain: tool\n    expect: deny\n    request: {name: [a]}\n",
		       "4: tests[0].request.name: expected a value");
	expect_invalid("policy: [a]\ntests:\n  - {domain: tool, expect: deny}\n",
		       "1: policy: expected a file name");
	expect_invalid("tests:\n  - x\n", "2: tests[0]: expected a mapping");
	expect_invalid("tests:\n  - {domain: tool, domain: tool, expect: deny}\n",
		       "2: \"domain\": duplicate key (first at line 2)");
}

static void test_policy_broken(void **state)
{
	struct pol_suite_result res;
	char err[512];

	(void)state;
	put("broken.yaml", "version: 1\negress: {}\n");
	put("t2.yaml", "policy: broken.yaml\ntests:\n  - {domain: egress, expect: deny}\n");
	assert_int_equal(run("t2.yaml", NULL, NULL, &res, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "broken.yaml:2: egress: expected a list of rules"));
	assert_int_equal(run("missing.yaml", NULL, NULL, &res, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot read"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pass_and_fail),
	    cmocka_unit_test(test_json_and_given_policy),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_policy_broken),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
