/*
 * test_pol_index.c — the rule index never changes a decision: random policies (literal and
 * glob rules, lists, not:, several fields, repeated literals) and random requests, each
 * decided through the index (pol_decide) and by the full scan (pol_explain), which must agree
 * on verdict and deciding rule. Also: the index is used (a 1,000-rule policy decides the last
 * rule's request), and requests missing the key field fall to the wild rules only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "policy/pol.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static const char *const hosts[] = {"a.example.com", "b.example.com", "c.example.org",
				    "api.test", "x.y.z", "localhost"};
static const char *const host_globs[] = {"*.example.com", "*", "?.example.org", "api.*"};

static void no_trace(void *arg, const struct pol_trace_step *s)
{
	(void)arg;
	(void)s;
}

static void random_policy(struct buf *b)
{
	unsigned n = 20 + rnd(60);

	buf_reset(b);
	buf_printf(b, "version: 1\negress:\n");
	for (unsigned i = 0; i < n; i++) {
		buf_printf(b, "  - match: {");
		unsigned kind = rnd(10);
		if (kind < 6) /* literal host, maybe a list with a repeat */
			buf_printf(b, "host: [\"%s\", \"%s\"]", hosts[rnd(6)], hosts[rnd(6)]);
		else if (kind < 8)
			buf_printf(b, "host: \"%s\"", host_globs[rnd(4)]);
		else if (kind < 9)
			buf_printf(b, "host: {not: \"%s\"}", hosts[rnd(6)]);
		else
			buf_printf(b, "method: GET");
		if (rnd(2))
			buf_printf(b, ", port: %u", 80 + rnd(3));
		buf_printf(b, "}\n    decision: %s\n", rnd(2) ? "allow" : "deny");
	}
}

static void test_index_agrees_with_scan(void **state)
{
	struct buf b = BUF_INIT;
	char err[512], port[8];
	(void)state;
	for (int round = 0; round < 200; round++) {
		random_policy(&b);
		struct pol_policy *p = pol_load_buffer("r.yaml", b.data, b.len, err, sizeof(err));
		if (p == NULL)
			fail_msg("policy did not load: %s\n%s", err, b.data);
		for (int q = 0; q < 50; q++) {
			struct pol_request r;
			struct pol_decision a, s;
			pol_request_init(&r, POL_EGRESS);
			if (rnd(8) != 0) /* sometimes the key field is missing */
				assert_int_equal(pol_request_set(&r, "host", hosts[rnd(6)], err,
								 sizeof(err)),
						 0);
			snprintf(port, sizeof(port), "%u", 80 + rnd(3));
			assert_int_equal(pol_request_set(&r, "port", port, err, sizeof(err)), 0);
			if (rnd(2))
				assert_int_equal(pol_request_set(&r, "method", "GET", err,
								 sizeof(err)),
						 0);
			pol_decide(p, &r, &a);
			pol_explain(p, &r, &s, no_trace, NULL);
			if (a.verdict != s.verdict || strcmp(a.rule, s.rule) != 0)
				fail_msg("index %s by %s, scan %s by %s\n%s", pol_verdict_name(a.verdict),
					 a.rule, pol_verdict_name(s.verdict), s.rule, b.data);
			pol_request_free(&r);
		}
		pol_unref(p);
	}
	buf_free(&b);
}

static void test_thousand_rules(void **state)
{
	struct buf b = BUF_INIT;
	struct pol_request r;
	struct pol_decision d;
	char err[512];
	(void)state;
	buf_printf(&b, "version: 1\negress:\n");
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "  - match: {host: \"h%d.example.com\"}\n    decision: %s\n", i,
			   i == 999 ? "allow" : "deny");
	buf_printf(&b, "  - match: {host: \"*.example.com\"}\n    decision: allow\n");
	struct pol_policy *p = pol_load_buffer("k.yaml", b.data, b.len, err, sizeof(err));
	assert_non_null(p);
	pol_request_init(&r, POL_EGRESS);
	assert_int_equal(pol_request_set(&r, "host", "h999.example.com", err, sizeof(err)), 0);
	pol_decide(p, &r, &d);
	assert_int_equal(d.verdict, POL_ALLOW);
	assert_string_equal(d.rule, "k.yaml:2001");
	pol_request_free(&r);
	pol_request_init(&r, POL_EGRESS);
	assert_int_equal(pol_request_set(&r, "host", "other.example.com", err, sizeof(err)), 0);
	pol_decide(p, &r, &d); /* no bucket: the glob rule after them all */
	assert_int_equal(d.verdict, POL_ALLOW);
	assert_string_equal(d.rule, "k.yaml:2003");
	pol_request_free(&r);
	pol_unref(p);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_index_agrees_with_scan),
	    cmocka_unit_test(test_thousand_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
