/*
 * test_pol_eval.c — deciding: every match type, first match wins, default deny, no/broken
 * policy denies everything, absent fields never match, evidence, explanations, the rpc delegate
 * hook, decisions as JSON.
 *
 * Owns: nothing outside memory. Never: leaves an rpc delegate set after its test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/pol.h"

static const char policy_text[] =
    "version: 1\n"						      /* 1 */
    "egress:\n"							      /* 2 */
    "  - id: no-http\n"						      /* 3 */
    "    match: {scheme: http}\n"					      /* 4 */
    "    decision: deny\n"						      /* 5 */
    "    reason: plain http is never allowed\n"			      /* 6 */
    "  - id: gh\n"						      /* 7 */
    "    match: {host: \"*.github.com\", port: [443, 8443], method: [GET, post]}\n" /* 8 */
    "    decision: allow\n"						      /* 9 */
    "  - id: ranges\n"						      /* 10 */
    "    match: {host: internal.lan, port: 8000-8100}\n"		      /* 11 */
    "    decision: ask\n"						      /* 12 */
    "  - id: any-gh\n"						      /* 13 */
    "    match: {host: \"*.github.com\"}\n"				      /* 14 */
    "    decision: ask\n"						      /* 15 */
    "tool:\n"							      /* 16 */
    "  - id: ls\n"						      /* 17 */
    "    match: {name: shell, args: {regex: \"ls( -[a-z]+)?( [^;&|`$]*)?\"}}\n" /* 18 */
    "    decision: allow\n"						      /* 19 */
    "  - id: no-rm\n"						      /* 20 */
    "    match: {name: {not: [shell, python]}}\n"			      /* 21 */
    "    decision: allow\n"						      /* 22 */
    "model:\n"							      /* 23 */
    "  - id: pinned\n"						      /* 24 */
    "    match: {sha256: "
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, format: gguf}\n" /* 25 */
    "    decision: allow\n"						      /* 26 */
    "  - id: pickles\n"						      /* 27 */
    "    match: {format: [pickle, pt, bin]}\n"			      /* 28 */
    "    decision: deny\n"						      /* 29 */
    "  - id: named\n"						      /* 30 */
    "    match: {name: \"llama-*\"}\n"				      /* 31 */
    "    decision: ask\n"						      /* 32 */
    "agent:\n"							      /* 33 */
    "  - id: secrets\n"						      /* 34 */
    "    match: {path: [\"/home/*/.ssh/**\", \"**/.env\"]}\n"		      /* 35 */
    "    decision: deny\n"						      /* 36 */
    "  - id: read-ws\n"						      /* 37 */
    "    match: {action: read, path: \"/workspace/**\"}\n"		      /* 38 */
    "    decision: allow\n"						      /* 39 */
    "  - id: write-ws\n"						      /* 40 */
    "    match: {action: [write, delete], path: \"/workspace/*\"}\n"	      /* 41 */
    "    decision: ask\n"						      /* 42 */
    "mcp:\n"							      /* 43 */
    "  - id: files-read\n"					      /* 44 */
    "    match: {server: files, tool: \"read_*\", caller: {not: untrusted}}\n" /* 45 */
    "    decision: allow\n"						      /* 46 */
    "  - id: catch-all\n"						      /* 47 */
    "    decision: ask\n"						      /* 48 */
    "rpc:\n"							      /* 49 */
    "  - id: yaml-rpc\n"						      /* 50 */
    "    match: {service: secai.Ask, source: work, target: ai}\n"	      /* 51 */
    "    decision: allow\n";					      /* 52 */

static struct pol_policy *P;

static int setup(void **state)
{
	char err[512];

	(void)state;
	P = pol_load_buffer("p.yaml", policy_text, strlen(policy_text), err, sizeof(err));
	if (P == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pol_unref(P);
	return 0;
}

/* Decides domain with "k=v" words; checks verdict and rule id ("" = default). */
static void check_on(const struct pol_policy *p, enum pol_domain d, const char *want,
		     const char *want_id, int n, ...)
{
	struct pol_request r;
	struct pol_decision dec;
	char err[256], *argv[8];
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	if (pol_request_from_args(&r, d, n, argv, err, sizeof(err)) != 0)
		fail_msg("bad request: %s", err);
	pol_decide(p, &r, &dec);
	pol_request_free(&r);
	if (strcmp(pol_verdict_name(dec.verdict), want) != 0 || strcmp(dec.rule_id, want_id) != 0)
		fail_msg("%s %s...: got %s by \"%s\" (%s), want %s by \"%s\"", pol_domain_name(d),
			 argv[0], pol_verdict_name(dec.verdict), dec.rule_id, dec.reason, want,
			 want_id);
	assert_int_equal(dec.by_rule, want_id[0] != '\0');
}

#define CHECK(d, want, id, ...)                                                                    \
	check_on(P, d, want, id, (int)(sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)),          \
		 __VA_ARGS__)

static void test_egress(void **state)
{
	(void)state;
	CHECK(POL_EGRESS, "allow", "gh", "host=api.github.com", "port=443", "method=GET");
	CHECK(POL_EGRESS, "allow", "gh", "host=API.GITHUB.COM", "port=8443", "method=post");
	/* method not in the list: falls to the next github rule */
	CHECK(POL_EGRESS, "ask", "any-gh", "host=api.github.com", "port=443", "method=DELETE");
	/* first match: plain http is denied before the github rules */
	CHECK(POL_EGRESS, "deny", "no-http", "host=api.github.com", "port=443", "method=GET",
	      "scheme=HTTP");
	CHECK(POL_EGRESS, "ask", "ranges", "host=internal.lan", "port=8000");
	CHECK(POL_EGRESS, "ask", "ranges", "host=internal.lan", "port=8100");
	CHECK(POL_EGRESS, "deny", "", "host=internal.lan", "port=8101");
	CHECK(POL_EGRESS, "deny", "", "host=internal.lan", "port=7999");
	/* a field the rule needs but the request lacks never matches */
	CHECK(POL_EGRESS, "deny", "", "host=internal.lan");
	CHECK(POL_EGRESS, "deny", "", "host=github.com", "port=443");
	CHECK(POL_EGRESS, "deny", "", "host=evil.com");
}

static void test_tool(void **state)
{
	(void)state;
	CHECK(POL_TOOL, "allow", "ls", "name=shell", "args=ls -la /tmp");
	CHECK(POL_TOOL, "allow", "ls", "name=shell", "args=ls");
	/* the regex must match the whole value */
	CHECK(POL_TOOL, "deny", "", "name=shell", "args=ls; rm -rf /");
	CHECK(POL_TOOL, "deny", "", "name=shell", "args=xls");
	CHECK(POL_TOOL, "deny", "", "name=shell", "args=ls $(id)");
	/* not: any other tool name */
	CHECK(POL_TOOL, "allow", "no-rm", "name=grep");
	CHECK(POL_TOOL, "deny", "", "name=python", "args=x");
	/* not: an absent field does not satisfy a not */
	CHECK(POL_TOOL, "deny", "", "args=x");
}

static void test_model(void **state)
{
	(void)state;
	CHECK(POL_MODEL, "allow", "pinned",
	      "sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	      "format=GGUF");
	CHECK(POL_MODEL, "deny", "", "sha256="
	      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "format=gguf");
	CHECK(POL_MODEL, "deny", "pickles", "format=PT", "name=llama-3");
	CHECK(POL_MODEL, "ask", "named", "format=gguf", "name=llama-3");
	CHECK(POL_MODEL, "deny", "", "name=mistral");
}

static void test_agent(void **state)
{
	(void)state;
	CHECK(POL_AGENT, "allow", "read-ws", "action=read", "path=/workspace/a/b.txt");
	CHECK(POL_AGENT, "deny", "secrets", "action=read", "path=/workspace/app/.env");
	CHECK(POL_AGENT, "deny", "secrets", "action=read", "path=/home/u/.ssh/id_ed25519");
	/* ".." cannot climb out of a glob: the path is normalised first */
	CHECK(POL_AGENT, "deny", "", "action=read", "path=/workspace/../etc/shadow");
	CHECK(POL_AGENT, "ask", "write-ws", "action=write", "path=/workspace/x");
	/* "*" stays within one component */
	CHECK(POL_AGENT, "deny", "", "action=write", "path=/workspace/x/y");
	CHECK(POL_AGENT, "deny", "", "action=exec", "path=/workspace/x");
}

static void test_mcp_rpc(void **state)
{
	(void)state;
	CHECK(POL_MCP, "allow", "files-read", "server=files", "tool=read_file", "caller=agent");
	CHECK(POL_MCP, "ask", "catch-all", "server=files", "tool=read_file", "caller=untrusted");
	/* a rule with no match matches everything, even an empty request */
	CHECK(POL_MCP, "ask", "catch-all", "server=x");
	CHECK(POL_RPC, "allow", "yaml-rpc", "service=secai.Ask", "source=work", "target=ai");
	CHECK(POL_RPC, "deny", "", "service=secai.Ask", "source=other", "target=ai");
}

static void test_decision_fields(void **state)
{
	struct pol_request r;
	struct pol_decision d;
	char err[256];
	char *argv[] = {"host=api.github.com", "port=443", "method=get", "path=/x", "caller=me"};
	json_t *j;

	(void)state;
	assert_int_equal(pol_request_from_args(&r, POL_EGRESS, 5, argv, err, sizeof(err)), 0);
	pol_decide(P, &r, &d);
	assert_int_equal(d.verdict, POL_ALLOW);
	assert_int_equal(d.domain, POL_EGRESS);
	assert_string_equal(d.rule, "p.yaml:7");
	assert_string_equal(d.rule_id, "gh");
	assert_string_equal(d.reason, "allow by the rule at p.yaml:7");
	assert_string_equal(d.digest, pol_digest(P));
	assert_true(d.policy_ok);
	/* evidence: only the fields the deciding rule looked at */
	assert_int_equal(d.nevidence, 3);
	assert_string_equal(d.evidence[0].field, "host");
	assert_string_equal(d.evidence[0].value, "api.github.com");
	assert_string_equal(d.evidence[1].field, "port");
	assert_string_equal(d.evidence[2].field, "method");
	assert_string_equal(d.evidence[2].value, "GET");
	j = pol_decision_json(&d);
	assert_string_equal(json_string_value(json_object_get(j, "decision")), "allow");
	assert_string_equal(json_string_value(json_object_get(j, "rule")), "p.yaml:7");
	assert_string_equal(json_string_value(json_object_get(j, "rule_id")), "gh");
	assert_true(json_is_false(json_object_get(j, "default")));
	assert_int_equal(json_object_size(json_object_get(j, "evidence")), 3);
	json_decref(j);
	pol_request_free(&r);

	/* a rule's reason is the decision's reason */
	char *argv2[] = {"host=x.com", "scheme=http"};
	assert_int_equal(pol_request_from_args(&r, POL_EGRESS, 2, argv2, err, sizeof(err)), 0);
	pol_decide(P, &r, &d);
	assert_string_equal(d.reason, "plain http is never allowed");
	assert_int_equal(d.nevidence, 1);
	assert_string_equal(d.evidence[0].field, "scheme");
	pol_request_free(&r);

	/* default deny: every given field is evidence; null rule in JSON */
	char *argv3[] = {"host=evil.com", "port=25"};
	assert_int_equal(pol_request_from_args(&r, POL_EGRESS, 2, argv3, err, sizeof(err)), 0);
	pol_decide(P, &r, &d);
	assert_int_equal(d.verdict, POL_DENY);
	assert_string_equal(d.reason, "deny: no egress rule matched (default deny)");
	assert_string_equal(d.rule, "");
	assert_int_equal(d.nevidence, 2);
	j = pol_decision_json(&d);
	assert_true(json_is_null(json_object_get(j, "rule")));
	assert_true(json_is_true(json_object_get(j, "default")));
	json_decref(j);
	pol_request_free(&r);
}

static void test_long_evidence(void **state)
{
	struct pol_request r;
	struct pol_decision d;
	char err[256], *v = malloc(1100);

	(void)state;
	pol_request_init(&r, POL_TOOL);
	memset(v, 'x', 1000);
	memcpy(v + 250, "\xc3\xa9\xc3\xa9\xc3\xa9", 6); /* é at the cut point */
	v[1000] = '\0';
	assert_int_equal(pol_request_set(&r, "args", v, err, sizeof(err)), 0);
	pol_decide(P, &r, &d);
	assert_int_equal(d.nevidence, 1);
	assert_true(strlen(d.evidence[0].value) < POL_EVIDENCE_MAX);
	assert_non_null(strstr(d.evidence[0].value, "..."));
	json_t *j = pol_decision_json(&d); /* valid UTF-8: jansson accepts the cut value */
	assert_non_null(json_object_get(json_object_get(j, "evidence"), "args"));
	json_decref(j);
	pol_request_free(&r);
	free(v);
}

static void test_no_policy_denies(void **state)
{
	struct pol_request r;
	struct pol_decision d;
	struct pol_policy *b;
	char err[256], *argv[] = {"host=api.github.com", "port=443", "method=GET"};

	(void)state;
	assert_int_equal(pol_request_from_args(&r, POL_EGRESS, 3, argv, err, sizeof(err)), 0);
	pol_decide(NULL, &r, &d);
	assert_int_equal(d.verdict, POL_DENY);
	assert_false(d.policy_ok);
	assert_string_equal(d.digest, "");
	assert_non_null(strstr(d.reason, "no valid policy is loaded"));
	assert_int_equal(d.nevidence, 3);

	b = pol_broken("p.yaml", "p.yaml:4: egress[0].decision: \"permit\" is not one of "
				 "allow|deny|ask");
	pol_decide(b, &r, &d);
	assert_int_equal(d.verdict, POL_DENY);
	assert_false(d.by_rule);
	assert_string_equal(d.reason, "deny: no valid policy is loaded, so everything is denied "
				      "(p.yaml:4: egress[0].decision: \"permit\" is not one of "
				      "allow|deny|ask)");
	pol_unref(b);
	pol_request_free(&r);

	/* an out-of-range domain is denied too */
	pol_request_init(&r, (enum pol_domain)42);
	pol_decide(P, &r, &d);
	assert_int_equal(d.verdict, POL_DENY);
}

static void test_empty_policy_denies(void **state)
{
	char err[256];
	struct pol_policy *e = pol_load_buffer("e.yaml", "version: 1\n", 11, err, sizeof(err));

	(void)state;
	assert_non_null(e);
	for (int dom = 0; dom < POL_NDOMAINS; dom++) {
		struct pol_request r;
		struct pol_decision d;
		pol_request_init(&r, (enum pol_domain)dom);
		pol_decide(e, &r, &d);
		assert_int_equal(d.verdict, POL_DENY);
		assert_true(d.policy_ok);
		assert_string_equal(d.digest, pol_digest(e));
	}
	CHECK(POL_EGRESS, "deny", "", "host=anything");
	check_on(e, POL_MCP, "deny", "", 1, "server=files");
	pol_unref(e);
}

struct trace_rec {
	int n;
	char lines[8][600];
};

static void rec(void *arg, const struct pol_trace_step *s)
{
	struct trace_rec *t = arg;

	if (t->n < 8)
		snprintf(t->lines[t->n++], sizeof(t->lines[0]), "%s %s %s %d %s", s->loc, s->id,
			 pol_verdict_name(s->decision), s->matched, s->why);
}

static void test_explain(void **state)
{
	struct pol_request r;
	struct pol_decision d, d2;
	struct trace_rec t = {0};
	char err[256], *argv[] = {"host=api.github.com", "port=443", "method=DELETE"};

	(void)state;
	assert_int_equal(pol_request_from_args(&r, POL_EGRESS, 3, argv, err, sizeof(err)), 0);
	pol_explain(P, &r, &d, rec, &t);
	pol_decide(P, &r, &d2);
	assert_int_equal(d.verdict, d2.verdict);
	assert_string_equal(d.rule, d2.rule);
	assert_int_equal(t.n, 4);
	assert_string_equal(t.lines[0], "p.yaml:3 no-http deny 0 scheme: not given in the request "
					"(line 4 needs it)");
	assert_string_equal(t.lines[1], "p.yaml:7 gh allow 0 method: \"DELETE\" does not match any "
					"of \"GET\", \"POST\" (line 8)");
	assert_string_equal(t.lines[2], "p.yaml:10 ranges ask 0 host: \"api.github.com\" does not "
					"match \"internal.lan\" (line 11)");
	assert_string_equal(t.lines[3], "p.yaml:13 any-gh ask 1 every condition holds");
	pol_request_free(&r);

	/* regex and not misses say so */
	memset(&t, 0, sizeof(t));
	char *argv2[] = {"name=shell", "args=rm -rf /"};
	assert_int_equal(pol_request_from_args(&r, POL_TOOL, 2, argv2, err, sizeof(err)), 0);
	pol_explain(P, &r, &d, rec, &t);
	assert_int_equal(t.n, 2);
	assert_non_null(strstr(t.lines[0], "args: \"rm -rf /\" does not match regex"));
	assert_string_equal(t.lines[1], "p.yaml:20 no-rm allow 0 name: \"shell\" matches \"shell\", "
					"which `not` excludes (line 21)");
	assert_int_equal(d.verdict, POL_DENY);
	pol_request_free(&r);
}

static int fake_calls;
static int fake_qrexec(void *arg, const struct pol_request *r, struct pol_decision *d)
{
	int mode = *(int *)arg;

	fake_calls++;
	if (mode == 0) {
		d->verdict = strcmp(r->val[2] ? r->val[2] : "", "work") == 0 ? POL_ASK : POL_DENY;
		snprintf(d->rule, sizeof(d->rule), "/etc/qubes/policy.d/30-secai.policy:7");
		snprintf(d->reason, sizeof(d->reason), "qrexec says so");
		return 0;
	}
	return mode == 1 ? 1 : -1;
}

static void test_rpc_delegate(void **state)
{
	struct pol_request r;
	struct pol_decision d;
	char err[256], *argv[] = {"service=secai.GetConfig", "argument=dns", "source=work",
				  "target=sys-config"};
	int mode = 0;

	(void)state;
	pol_set_rpc_delegate(fake_qrexec, &mode);
	/* a YAML rpc rule still decides first */
	CHECK(POL_RPC, "allow", "yaml-rpc", "service=secai.Ask", "source=work", "target=ai");
	assert_int_equal(fake_calls, 0);
	/* no YAML rule: the delegate decides, with its rule */
	assert_int_equal(pol_request_from_args(&r, POL_RPC, 4, argv, err, sizeof(err)), 0);
	pol_decide(P, &r, &d);
	assert_int_equal(fake_calls, 1);
	assert_int_equal(d.verdict, POL_ASK);
	assert_string_equal(d.rule, "/etc/qubes/policy.d/30-secai.policy:7");
	assert_string_equal(d.reason, "qrexec says so");
	assert_string_equal(d.digest, pol_digest(P));
	assert_int_equal(d.nevidence, 4);
	/* no opinion: default deny */
	mode = 1;
	pol_decide(P, &r, &d);
	assert_int_equal(d.verdict, POL_DENY);
	assert_false(d.by_rule);
	assert_non_null(strstr(d.reason, "default deny"));
	/* error: deny */
	mode = 2;
	pol_decide(P, &r, &d);
	assert_int_equal(d.verdict, POL_DENY);
	assert_non_null(strstr(d.reason, "failed to decide"));
	/* other domains never reach it; a broken policy never reaches it */
	fake_calls = 0;
	CHECK(POL_EGRESS, "deny", "", "host=x.com");
	{
		struct pol_policy *b = pol_broken("x", "broken");
		mode = 0;
		pol_decide(b, &r, &d);
		assert_int_equal(d.verdict, POL_DENY);
		pol_unref(b);
	}
	assert_int_equal(fake_calls, 0);
	pol_set_rpc_delegate(NULL, NULL);
	pol_decide(P, &r, &d);
	assert_int_equal(d.verdict, POL_DENY);
	assert_string_equal(d.reason, "deny: no rpc rule matched (default deny)");
	pol_request_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_egress),
	    cmocka_unit_test(test_tool),
	    cmocka_unit_test(test_model),
	    cmocka_unit_test(test_agent),
	    cmocka_unit_test(test_mcp_rpc),
	    cmocka_unit_test(test_decision_fields),
	    cmocka_unit_test(test_long_evidence),
	    cmocka_unit_test(test_no_policy_denies),
	    cmocka_unit_test(test_empty_policy_denies),
	    cmocka_unit_test(test_explain),
	    cmocka_unit_test(test_rpc_delegate),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
