/*
 * test_pol_daemon.c — secai-policy's core without sockets: start-up with no policy (deny-all),
 * reload keeping the old policy when the new one is invalid, decisions as JSON, every decision
 * spooled as an audit event when the audit daemon is down, bad requests.
 *
 * Owns: a temp directory it creates and removes. Never: touches the state directory.
 */
#include <dirent.h>
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
#include "json.h"
#include "log.h"
#include "policy/policyd.h"

static char *dir;
static struct policyd pd;

static void put_policy(const char *text)
{
	FILE *f = fopen(pd.policy_file, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int spool_count(void)
{
	DIR *d = opendir(pd.audit_spool);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int setup(void **state)
{
	(void)state;
	log_set_level(LOG_LEVEL_ERROR);
	dir = test_tmpdir();
	if (dir == NULL || policyd_init(&pd) != 0)
		return -1;
	snprintf(pd.policy_file, sizeof(pd.policy_file), "%s/policy.yaml", dir);
	snprintf(pd.audit_socket, sizeof(pd.audit_socket), "%s/no-audit.sock", dir);
	snprintf(pd.audit_spool, sizeof(pd.audit_spool), "%s/spool", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	policyd_fini(&pd);
	test_rmrf(dir);
	free(dir);
	return 0;
}

static json_t *decide(const char *req_json, int want_rc)
{
	char err[256];
	json_t *req = json_loads(req_json, 0, NULL), *ans = NULL;

	assert_non_null(req);
	assert_int_equal(policyd_decide(&pd, req, "test", &ans, err, sizeof(err)), want_rc);
	json_decref(req);
	if (want_rc != 0)
		assert_null(ans);
	return ans;
}

static const char *S(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void test_lifecycle(void **state)
{
	json_t *a, *st;
	char digest[65];
	int before;

	(void)state;
	/* 1. no file: deny-all, said loudly in every decision */
	assert_int_equal(policyd_load(&pd, 1), -1);
	assert_false(pol_ok(pd.cur));
	a = decide("{\"domain\":\"egress\",\"request\":{\"host\":\"a.com\"}}", 0);
	assert_string_equal(S(a, "decision"), "deny");
	assert_true(json_is_false(json_object_get(a, "policy_ok")));
	assert_non_null(strstr(S(a, "reason"), "no valid policy is loaded"));
	assert_non_null(strstr(S(a, "reason"), "cannot read"));
	json_decref(a);

	/* 2. a valid file: in force */
	put_policy("version: 1\negress:\n  - {id: a, match: {host: a.com}, decision: allow}\n");
	assert_int_equal(policyd_load(&pd, 0), 0);
	snprintf(digest, sizeof(digest), "%s", pol_digest(pd.cur));
	a = decide("{\"domain\":\"egress\",\"request\":{\"host\":\"A.com\"}}", 0);
	assert_string_equal(S(a, "decision"), "allow");
	assert_string_equal(S(a, "rule_id"), "a");
	assert_string_equal(S(a, "digest"), digest);
	json_decref(a);

	/* 3. an invalid new file: the old policy stays */
	put_policy("version: 1\negress:\n  - {id: a, match: {host: a.com}, decision: permit}\n");
	assert_int_equal(policyd_load(&pd, 0), -1);
	assert_true(pol_ok(pd.cur));
	assert_string_equal(pol_digest(pd.cur), digest);
	a = decide("{\"domain\":\"egress\",\"request\":{\"host\":\"a.com\"}}", 0);
	assert_string_equal(S(a, "decision"), "allow");
	json_decref(a);
	/* and a deleted file too */
	unlink(pd.policy_file);
	assert_int_equal(policyd_load(&pd, 0), -1);
	assert_string_equal(pol_digest(pd.cur), digest);

	st = policyd_status(&pd);
	assert_true(json_is_true(json_object_get(st, "policy_ok")));
	assert_string_equal(S(st, "digest"), digest);
	assert_int_equal(json_integer_value(json_object_get(st, "reload_failures")), 2);
	assert_int_equal(json_integer_value(json_object_get(st, "reloads")), 1);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(st, "rules"), "egress")),
			 1);
	json_decref(st);

	/* 4. every decision is an audit event: spooled while the audit daemon is down */
	before = spool_count();
	a = decide("{\"op\":\"decide\",\"domain\":\"tool\",\"request\":{\"name\":\"x\"},"
		   "\"explain\":true}",
		   0);
	assert_string_equal(S(a, "decision"), "deny");
	assert_true(json_is_array(json_object_get(a, "trace")));
	json_decref(a);
	assert_int_equal(spool_count(), before + 1);
}

static void test_bad_requests(void **state)
{
	json_t *a;

	(void)state;
	decide("{\"domain\":\"network\",\"request\":{}}", -1);
	decide("{\"request\":{}}", -1);
	decide("{\"domain\":\"tool\",\"explain\":1}", -1);
	decide("{\"domain\":\"tool\",\"extra\":1}", -1);
	/* a malformed field is answered: deny, and why */
	a = decide("{\"domain\":\"egress\",\"request\":{\"port\":\"http\"}}", 0);
	assert_string_equal(S(a, "decision"), "deny");
	assert_string_equal(S(a, "reason"), "deny: bad request: port: \"http\" is not a port "
					    "(1..65535)");
	json_decref(a);
	a = decide("{\"domain\":\"egress\",\"request\":[1]}", 0);
	assert_string_equal(S(a, "decision"), "deny");
	json_decref(a);
	/* no request object: an empty request, default deny */
	a = decide("{\"domain\":\"mcp\"}", 0);
	assert_string_equal(S(a, "decision"), "deny");
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lifecycle),
	    cmocka_unit_test(test_bad_requests),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
