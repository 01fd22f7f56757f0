/*
 * test_pol_load.c — policy.yaml loading: a full valid file, every error class with its exact
 * file:line, the canonical form and the stability of the digest.
 *
 * Owns: nothing on disk but the temp files it creates and removes. Never: touches the state dir.
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

#include "policy/pol.h"

static char errbuf[1024];

static struct pol_policy *load(const char *yaml)
{
	errbuf[0] = '\0';
	return pol_load_buffer("policy.yaml", yaml, strlen(yaml), errbuf, sizeof(errbuf));
}

static void expect_error(const char *yaml, const char *want)
{
	struct pol_policy *p = load(yaml);

	if (p != NULL) {
		pol_unref(p);
		fail_msg("accepted:\n%s", yaml);
	}
	if (strcmp(errbuf, want) != 0)
		fail_msg("error mismatch\n got: %s\nwant: %s", errbuf, want);
}

static void expect_prefix(const char *yaml, const char *want)
{
	struct pol_policy *p = load(yaml);

	if (p != NULL) {
		pol_unref(p);
		fail_msg("accepted:\n%s", yaml);
	}
	if (strncmp(errbuf, want, strlen(want)) != 0)
		fail_msg("error mismatch\n got: %s\nwant prefix: %s", errbuf, want);
}

static const char full[] = "# every domain, every operator\n"
			   "version: 1\n"
			   "rpc:\n"
			   "  - id: ask-ai\n"
			   "    match: {service: secai.Ask, source: work, target: ai}\n"
			   "    decision: allow\n"
			   "tool:\n"
			   "  - match: {name: [ls, cat], args: {regex: \"[a-z /.-]*\"}}\n"
			   "    decision: allow\n"
			   "egress:\n"
			   "  - id: gh\n"
			   "    match:\n"
			   "      host: \"*.github.com\"\n"
			   "      port: [443, 8000-8100]\n"
			   "      scheme: HTTPS\n"
			   "      method: {not: [delete]}\n"
			   "    decision: ask\n"
			   "    reason: GitHub, asked\n"
			   "model:\n"
			   "  - match: {sha256: "
			   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}\n"
			   "    decision: allow\n"
			   "agent:\n"
			   "  - match: {action: read, path: \"/workspace/**\"}\n"
			   "    decision: allow\n"
			   "mcp: []\n";

static void test_full(void **state)
{
	struct pol_policy *p;
	size_t n;

	(void)state;
	p = load(full);
	if (p == NULL)
		fail_msg("%s", errbuf);
	assert_true(pol_ok(p));
	assert_int_equal(pol_rule_count(p, POL_RPC), 1);
	assert_int_equal(pol_rule_count(p, POL_TOOL), 1);
	assert_int_equal(pol_rule_count(p, POL_EGRESS), 1);
	assert_int_equal(pol_rule_count(p, POL_MODEL), 1);
	assert_int_equal(pol_rule_count(p, POL_AGENT), 1);
	assert_int_equal(pol_rule_count(p, POL_MCP), 0);
	assert_int_equal(strlen(pol_digest(p)), 64);
	assert_string_equal(pol_source(p), "policy.yaml");
	assert_string_equal(pol_broken_reason(p), "");
	/* patterns of case-insensitive fields are normalised in the canonical form */
	assert_non_null(strstr(pol_canonical(p, &n), "\"scheme\":{\"any\":[\"https\"]}"));
	assert_non_null(strstr(pol_canonical(p, &n), "\"method\":{\"not\":[\"DELETE\"]}"));
	assert_non_null(strstr(pol_canonical(p, &n), "\"port\":{\"any\":[\"443\",\"8000-8100\"]}"));
	assert_int_equal(n, strlen(pol_canonical(p, &n)));
	pol_unref(p);
}

static void test_minimal(void **state)
{
	struct pol_policy *p;

	(void)state;
	p = load("version: 1\n");
	assert_non_null(p);
	for (int d = 0; d < POL_NDOMAINS; d++)
		assert_int_equal(pol_rule_count(p, (enum pol_domain)d), 0);
	pol_unref(p);
	p = load("{\"version\": 1, \"egress\": [{\"decision\": \"deny\"}]}"); /* JSON is YAML */
	assert_non_null(p);
	assert_int_equal(pol_rule_count(p, POL_EGRESS), 1);
	pol_unref(p);
	p = load("version: 1\ntool:\nagent: ~\n"); /* null lists are empty */
	assert_non_null(p);
	pol_unref(p);
}

static void test_errors_top(void **state)
{
	(void)state;
	expect_error("", "policy.yaml:1: the policy is empty (it needs at least `version: 1`)");
	expect_error("# nothing\n", "policy.yaml:1: the policy is empty (it needs at least "
				    "`version: 1`)");
	expect_error("egress: []\n", "policy.yaml:1: version: is required (write `version: 1`)");
	expect_error("version: 2\n", "policy.yaml:1: version: \"2\" is not supported (only 1)");
	expect_error("version: \"1\"\n", "policy.yaml:1: version: \"1\" is not supported (only 1)");
	expect_error("version: [1]\n",
		     "policy.yaml:1: version: a sequence is not supported (only 1)");
	expect_error("version: 1\nnetwork: []\n",
		     "policy.yaml:2: \"network\": unknown key (allowed at the top level: version, "
		     "rpc, tool, egress, model, agent, mcp)");
	expect_error("- version: 1\n",
		     "policy.yaml:1: the policy must be a mapping (keys: version, rpc, tool, "
		     "egress, model, agent, mcp), got a sequence");
	expect_error("version: 1\negress: {}\n",
		     "policy.yaml:2: egress: expected a list of rules, got a mapping");
	expect_error("version: 1\nversion: 1\n",
		     "policy.yaml:2: \"version\": duplicate key (first at line 1)");
}

static void test_errors_yaml(void **state)
{
	(void)state;
	expect_error("version: &v 1\n", "policy.yaml:1: anchors (&v) are not allowed");
	expect_error("a: &x 1\nversion: *x\n", "policy.yaml:1: anchors (&x) are not allowed");
	expect_error("version: !!int 1\n",
		     "policy.yaml:1: tags (tag:yaml.org,2002:int) are not allowed");
	expect_error("version: 1\n---\nversion: 1\n",
		     "policy.yaml:2: only one YAML document is allowed");
	expect_prefix("version: 1\negress: [\n", "policy.yaml:3: YAML syntax error:");
	expect_error("version: 1\n? [a]\n: b\n", "policy.yaml:2: keys must be plain strings");
	expect_prefix("version: \"\\xff\"\n\xff\n", "policy.yaml:2: YAML syntax error");
}

static void test_errors_rule(void **state)
{
	(void)state;
	expect_error("version: 1\negress:\n  - match: {host: a}\n",
		     "policy.yaml:3: egress[0]: decision is required (allow, deny or ask)");
	expect_error("version: 1\negress:\n  - decision: permit\n",
		     "policy.yaml:3: egress[0].decision: \"permit\" is not one of allow|deny|ask");
	expect_error("version: 1\negress:\n  - decision: [allow]\n",
		     "policy.yaml:3: egress[0].decision: a sequence is not one of allow|deny|ask");
	expect_error("version: 1\ntool:\n  - decision: allow\n    when: always\n",
		     "policy.yaml:4: tool[0].\"when\": unknown key (allowed in a rule: id, match, "
		     "decision, reason)");
	expect_error("version: 1\ntool:\n  - allow\n",
		     "policy.yaml:3: tool[0]: a rule must be a mapping (keys: id, match, decision, "
		     "reason), got a scalar");
	expect_error("version: 1\ntool:\n  - decision: allow\n    id: \"has space\"\n",
		     "policy.yaml:4: tool[0].id: \"has space\": ids are 1..64 of letters, digits "
		     "and . _ : -");
	expect_error("version: 1\ntool:\n  - {id: a, decision: allow}\nmcp:\n  - {id: a, decision: "
		     "deny}\n",
		     "policy.yaml:5: mcp[0].id: \"a\" is used twice (first at line 3)");
	expect_error("version: 1\ntool:\n  - {decision: allow, reason: \"\"}\n",
		     "policy.yaml:3: tool[0].reason: must not be empty");
	expect_error("version: 1\ntool:\n  - {decision: allow, reason: \"a\\tb\"}\n",
		     "policy.yaml:3: tool[0].reason: control characters (byte 0x09) are not allowed");
	expect_error("version: 1\ntool:\n  - {decision: allow, match: [name]}\n",
		     "policy.yaml:3: tool[0].match: expected a mapping of field: pattern, got a "
		     "sequence");
}

static void test_errors_match(void **state)
{
	(void)state;
	expect_error("version: 1\negress:\n  - decision: allow\n    match:\n      hots: a\n",
		     "policy.yaml:5: egress[0].match.\"hots\": unknown egress field (allowed: host, "
		     "port, scheme, method, path, caller)");
	expect_error("version: 1\nrpc:\n  - decision: allow\n    match: {host: a}\n",
		     "policy.yaml:4: rpc[0].match.\"host\": unknown rpc field (allowed: service, "
		     "argument, source, target)");
	expect_error("version: 1\negress:\n  - decision: allow\n    match: {port: 0}\n",
		     "policy.yaml:4: egress[0].match.port: \"0\" is not a port or a range LO-HI "
		     "within 1..65535");
	expect_error("version: 1\negress:\n  - decision: allow\n    match: {port: 65536}\n",
		     "policy.yaml:4: egress[0].match.port: \"65536\" is not a port or a range LO-HI "
		     "within 1..65535");
	expect_error("version: 1\negress:\n  - decision: allow\n    match: {port: 90-80}\n",
		     "policy.yaml:4: egress[0].match.port: \"90-80\" is not a port or a range LO-HI "
		     "within 1..65535");
	expect_error("version: 1\negress:\n  - decision: allow\n    match: {port: \"*\"}\n",
		     "policy.yaml:4: egress[0].match.port: \"*\" is not a port or a range LO-HI "
		     "within 1..65535");
	expect_error("version: 1\negress:\n  - decision: allow\n    match: {port: 080}\n",
		     "policy.yaml:4: egress[0].match.port: \"080\" is not a port or a range LO-HI "
		     "within 1..65535");
	expect_error("version: 1\negress:\n  - decision: allow\n    match: {host: Example.com}\n",
		     "policy.yaml:4: egress[0].match.host: \"Example.com\": write host patterns in "
		     "lowercase (hosts are compared lower-cased)");
	expect_error("version: 1\negress:\n  - decision: allow\n    match: {host: \"a/b\"}\n",
		     "policy.yaml:4: egress[0].match.host: \"a/b\" is not a host pattern (letters, "
		     "digits, . - _ : and the wildcards * ?)");
	expect_error("version: 1\negress:\n  - decision: allow\n    match: {host: []}\n",
		     "policy.yaml:4: egress[0].match.host: an empty list matches nothing (give at "
		     "least one pattern)");
	expect_error("version: 1\negress:\n  - decision: allow\n    match: {host: \"\"}\n",
		     "policy.yaml:4: egress[0].match.host: must not be empty");
	expect_error("version: 1\negress:\n  - decision: allow\n    match: {host: [a, [b]]}\n",
		     "policy.yaml:4: egress[0].match.host: expected a pattern (a string), got a "
		     "sequence");
	expect_error("version: 1\nmodel:\n  - decision: allow\n    match: {sha256: abc}\n",
		     "policy.yaml:4: model[0].match.sha256: \"abc\" is not a SHA-256 (64 lowercase "
		     "hex digits)");
	expect_error("version: 1\nmodel:\n  - decision: allow\n    match: {sha256: {regex: a}}\n",
		     "policy.yaml:4: model[0].match.sha256.regex: regex is not allowed on this field "
		     "(use a list)");
	expect_error("version: 1\negress:\n  - decision: allow\n    match: {port: {regex: \"4.*\"}}\n",
		     "policy.yaml:4: egress[0].match.port.regex: regex is not allowed on this field "
		     "(use a list)");
	expect_error("version: 1\nagent:\n  - decision: allow\n    match: {path: workspace}\n",
		     "policy.yaml:4: agent[0].match.path: \"workspace\": path patterns must start "
		     "with / (or *)");
	expect_error("version: 1\ntool:\n  - decision: allow\n    match: {name: {regex: \"(\"}}\n",
		     "policy.yaml:4: tool[0].match.name.regex: invalid regular expression: "
		     "Unmatched ( or \\(");
	expect_error("version: 1\ntool:\n  - decision: allow\n    match: {name: {regex: "
		     "\"(a)\\\\1\"}}\n",
		     "policy.yaml:4: tool[0].match.name.regex: back-references are not allowed");
	expect_error("version: 1\ntool:\n  - decision: allow\n    match: {args: {regex: \"a*++\"}}\n",
		     "policy.yaml:4: tool[0].match.args.regex: repetitions must not follow each other "
		     "(like \"a*+\"), exceed {,64}, or number more than 16");
	expect_error("version: 1\ntool:\n  - decision: allow\n    match: {args: {regex: "
		     "\"(a{1,1000})\"}}\n",
		     "policy.yaml:4: tool[0].match.args.regex: repetitions must not follow each other "
		     "(like \"a*+\"), exceed {,64}, or number more than 16");
	{
		struct pol_policy *ok = load("version: 1\ntool:\n  - decision: allow\n    match: "
					     "{args: {regex: \"[*+]+x{2,3}(ab)?\"}}\n");
		if (ok == NULL)
			fail_msg("%s", errbuf);
		pol_unref(ok);
	}
	expect_error("version: 1\negress:\n  - decision: allow\n    match: {host: {regex: A}}\n",
		     "policy.yaml:4: egress[0].match.host.regex: this field is compared lower-cased: "
		     "write the regex in lower case");
	expect_error("version: 1\ntool:\n  - decision: allow\n    match: {name: {glob: a}}\n",
		     "policy.yaml:4: tool[0].match.name.\"glob\": unknown operator (allowed: any, "
		     "not, regex)");
	expect_error("version: 1\ntool:\n  - decision: allow\n    match: {name: {not: a, regex: "
		     "b}}\n",
		     "policy.yaml:4: tool[0].match.name: a mapping here takes exactly one key: any, not "
		     "or regex");
	expect_error("version: 1\ntool:\n  - decision: allow\n    match: {name: a, name: b}\n",
		     "policy.yaml:4: \"name\": duplicate key (first at line 4)");
}

static void test_size_and_depth(void **state)
{
	char *big, *deep;
	size_t n = POL_MAX_BYTES + 1;

	(void)state;
	big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	errbuf[0] = '\0';
	assert_null(pol_load_buffer("big.yaml", big, n, errbuf, sizeof(errbuf)));
	assert_non_null(strstr(errbuf, "larger than the limit"));
	free(big);

	deep = calloc(1, 200);
	assert_non_null(deep);
	strcpy(deep, "version: 1\ntool: ");
	for (int i = 0; i < 40; i++)
		strcat(deep, "[");
	expect_error(deep, "policy.yaml:2: nested deeper than 32 levels");
	free(deep);
}

static void test_file(void **state)
{
	char path[] = "/tmp/secai-test-pol-XXXXXX";
	struct pol_policy *p;
	int fd;

	(void)state;
	p = pol_load_file("/nonexistent/secai/policy.yaml", errbuf, sizeof(errbuf));
	assert_null(p);
	assert_string_equal(errbuf, "/nonexistent/secai/policy.yaml: cannot read: No such file or "
				    "directory");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "version: 1\nmcp:\n  - decision: ask\n", 34), 34);
	close(fd);
	p = pol_load_file(path, errbuf, sizeof(errbuf));
	assert_non_null(p);
	assert_int_equal(pol_rule_count(p, POL_MCP), 1);
	pol_unref(p);
	unlink(path);
}

static void test_digest_stability(void **state)
{
	struct pol_policy *a, *b, *c, *d;

	(void)state;
	a = load("version: 1\negress:\n  - id: x\n    match: {host: a.com, port: 443}\n"
		 "    decision: allow\n");
	/* same rules, other formatting, comments, key order, list vs scalar, quoting */
	b = load("# comment\n{egress: [{decision: allow, match: {port: [443], host: 'a.com'}, "
		 "id: \"x\"}], version: 1, mcp: []}\n");
	/* one rule differs */
	c = load("version: 1\negress:\n  - id: x\n    match: {host: a.com, port: 444}\n"
		 "    decision: allow\n");
	/* the decision differs */
	d = load("version: 1\negress:\n  - id: x\n    match: {host: a.com, port: 443}\n"
		 "    decision: ask\n");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_non_null(d);
	assert_string_equal(pol_digest(a), pol_digest(b));
	assert_string_not_equal(pol_digest(a), pol_digest(c));
	assert_string_not_equal(pol_digest(a), pol_digest(d));
	/* and it is the SHA-256 of these exact canonical bytes (pinned) */
	{
		size_t n;
		const char *cb = pol_canonical(a, &n);
		assert_string_equal(
		    cb, "{\"agent\":[],\"egress\":[{\"decision\":\"allow\",\"id\":\"x\",\"match\":{"
			"\"host\":{\"any\":[\"a.com\"]},\"port\":{\"any\":[\"443\"]}}}],\"mcp\":[],"
			"\"model\":[],\"rpc\":[],\"tool\":[],\"version\":1}");
	}
	/* the canonical form is itself a valid policy with the same digest */
	{
		size_t n;
		const char *cb = pol_canonical(a, &n);
		struct pol_policy *a3 = pol_load_buffer("canon", cb, n, errbuf, sizeof(errbuf));
		if (a3 == NULL)
			fail_msg("%s", errbuf);
		assert_string_equal(pol_digest(a), pol_digest(a3));
		pol_unref(a3);
		a3 = load("version: 1\negress:\n  - id: x\n    match: {host: {any: [a.com]}, port: "
			  "{any: 443}}\n    decision: allow\n");
		assert_non_null(a3);
		assert_string_equal(pol_digest(a), pol_digest(a3));
		pol_unref(a3);
	}
	/* loading twice gives the same digest */
	{
		struct pol_policy *a2 =
		    load("version: 1\negress:\n  - id: x\n    match: {host: a.com, port: 443}\n"
			 "    decision: allow\n");
		assert_string_equal(pol_digest(a), pol_digest(a2));
		pol_unref(a2);
	}
	pol_unref(a);
	pol_unref(b);
	pol_unref(c);
	pol_unref(d);
}

static void test_broken_and_refs(void **state)
{
	struct pol_policy *b = pol_broken("x.yaml", "x.yaml:3: bad");

	(void)state;
	assert_non_null(b);
	assert_false(pol_ok(b));
	assert_string_equal(pol_digest(b), "");
	assert_string_equal(pol_broken_reason(b), "x.yaml:3: bad");
	assert_int_equal(pol_rule_count(b, POL_EGRESS), 0);
	assert_ptr_equal(pol_ref(b), b);
	pol_unref(b);
	pol_unref(b);
	pol_unref(NULL);
	assert_false(pol_ok(NULL));
	assert_string_equal(pol_broken_reason(NULL), "no policy is loaded");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full),	     cmocka_unit_test(test_minimal),
	    cmocka_unit_test(test_errors_top),	     cmocka_unit_test(test_errors_yaml),
	    cmocka_unit_test(test_errors_rule),	     cmocka_unit_test(test_errors_match),
	    cmocka_unit_test(test_size_and_depth),   cmocka_unit_test(test_file),
	    cmocka_unit_test(test_digest_stability), cmocka_unit_test(test_broken_and_refs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
