/*
 * test_qrexec.c — the Qubes 4.2 qrexec engine without ../shared: tokens, every load error and
 * its text, folder loading (selection, names, order, includes, compat), evaluation paths
 * (first match, redirects, dispvm, autostart, ask choices, loopback), the daemon reply, and
 * the rpc delegate over real compartments and a real policy.d folder.
 *
 * Owns: its temporary folders. Never: leaves an rpc delegate set after its test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "compart.h"
#include "fsutil.h"
#include "policy/pol.h"
#include "policy/qrexec.h"

/* Three qubes like Qubes' own test fixture: work (AppVM, tag t1), dvm (dispvm template),
 * vault (halted, tag t1); dom0. */
static struct qrx_system sysinfo(void)
{
	struct qrx_system s = {0};
	struct qrx_qube q[4] = {
	    {.name = "dom0", .type = "AdminVM", .running = true},
	    {.name = "work", .type = "AppVM", .default_dispvm = "dvm", .running = true, .ntags = 1},
	    {.name = "dvm", .type = "AppVM", .template_for_dispvms = true, .running = false},
	    {.name = "vault", .type = "AppVM", .running = false, .ntags = 1},
	};
	char err[128];

	strcpy(q[1].tags[0], "t1");
	strcpy(q[3].tags[0], "t1");
	for (int i = 0; i < 4; i++)
		assert_int_equal(qrx_system_add(&s, &q[i], err, sizeof(err)), 0);
	return s;
}

static struct qrx_decision D;

static struct qrx_decision *eval(const char *policy, const char *svc, const char *arg,
				 const char *src, const char *tgt)
{
	struct qrx_system s = sysinfo();
	struct qrx_policy *p = qrx_load_strings(policy, NULL, NULL);
	struct qrx_request r = {svc, arg, src, tgt};

	assert_non_null(p);
	qrx_evaluate(p, &s, &r, &D);
	qrx_policy_free(p);
	qrx_system_free(&s);
	return &D;
}

static void expect_error(const char *policy, const char *msg)
{
	struct qrx_policy *p = qrx_load_strings(policy, NULL, NULL);

	assert_non_null(p);
	assert_false(qrx_policy_ok(p));
	if (strstr(qrx_policy_error(p), msg) == NULL)
		fail_msg("policy %s: want error containing '%s', got '%s'", policy, msg,
			 qrx_policy_error(p));
	assert_int_equal(qrx_policy_rule_count(p), 0);
	qrx_policy_free(p);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_error("* * @anyvm @anyvm", "__main__:1: wrong number of fields");
	expect_error("a+b * @anyvm @anyvm allow", "service 'a+b' contains invalid characters: ('+',)");
	expect_error("svc arg @anyvm @anyvm allow", "argument 'arg' does not start with +");
	expect_error("svc +a/b @anyvm @anyvm allow", "contains invalid characters: ('/',)");
	expect_error("* +x @anyvm @anyvm allow", "only * argument allowed for * service");
	expect_error("* * @tag: @anyvm allow", "invalid empty @tag: token: '@tag:'");
	expect_error("* * @dispvm @anyvm allow", "invalid source token: '@dispvm'");
	expect_error("* * @default @anyvm allow", "invalid source token: '@default'");
	expect_error("* * @anyvm @bogus allow", "invalid target token: '@bogus'");
	expect_error("* * @anyvm @dispvm:@x allow", "invalid target token");
	expect_error("* * @anyvm @anyvm allow target=@anyvm", "invalid redirect token: '@anyvm'");
	expect_error("* * @anyvm @anyvm ALLOW", "invalid action: ALLOW");
	expect_error("* * @anyvm @anyvm allow,target=x", "invalid action: allow,target=x");
	expect_error("* * @anyvm @anyvm allow # note", "invalid action parameter syntax: '#'");
	expect_error("* * @anyvm @anyvm allow user=a user=b", "parameter given twice: 'user'");
	expect_error("* * @anyvm @anyvm allow notify=1", "'notify' is '1', but can be only");
	expect_error("* * @anyvm @anyvm deny user=x", "invalid parameters for action Deny: ['user']");
	expect_error("* * @anyvm @anyvm allow default_target=x",
		     "invalid parameters for action Allow: ['default_target']");
	expect_error("* * @anyvm @default allow", "must specify target= option");
	expect_error("!include", "invalid number of params");
	expect_error("!compat-4.0 x", "invalid number of params");
	expect_error("!include-service a b", "invalid number of params");
	expect_error("!frobnicate x", "invalid directive");
	expect_error("!include nope", "no such policy file");
	/* one bad line anywhere disables the good lines before it */
	expect_error("* * @anyvm @anyvm allow\n\n# c\n* * @anyvm @anyvm maybe", "__main__:4:");
}

static void test_good_lines(void **state)
{
	struct qrx_policy *p;

	(void)state;
	p = qrx_load_strings("  # comment\n\t* *\t@anyvm   @anyvm allow user=a=b  \r\n"
			     "svc +a+b @tag:x @dispvm:@tag:y ask target=@dispvm default_target=dom0\n"
			     "svc + @type:AppVM @default allow target=",
			     NULL, NULL);
	/* "target=" is empty: ignored, so @default allow has no target: an error */
	assert_false(qrx_policy_ok(p));
	qrx_policy_free(p);
	p = qrx_load_strings("* * @anyvm @anyvm allow user=a=b\n"
			     "svc +a+b @tag:x @dispvm:@tag:y ask target=@dispvm default_target=dom0\n",
			     NULL, NULL);
	assert_true(qrx_policy_ok(p));
	assert_int_equal(qrx_policy_rule_count(p), 2);
	assert_int_equal(strlen(qrx_policy_digest(p)), 64);
	qrx_policy_free(p);
	struct qrx_decision *d = eval("* * @anyvm @anyvm allow user=a=b", "s", "+", "work", "vault");
	assert_int_equal(d->result, QRX_ALLOW);
	assert_string_equal(d->user, "a=b");
}

static void test_first_match_and_reasons(void **state)
{
	struct qrx_decision *d;
	char buf[512];

	(void)state;
	d = eval("s * work vault deny notify=no\n* * @anyvm @anyvm allow", "s", "+x", "work",
		 "vault");
	assert_int_equal(d->result, QRX_DENY);
	assert_int_equal(d->deny_reason, QRX_DR_DENY_RULE);
	assert_int_equal(d->notify, 0);
	assert_string_equal(d->rule, "__main__:1");
	assert_string_equal(qrx_daemon_response(d, buf, sizeof(buf)), "result=deny");
	d = eval("s +y work vault deny\n* * @anyvm @anyvm allow", "s", "+x", "work", "vault");
	assert_int_equal(d->result, QRX_ALLOW);
	assert_string_equal(d->rule, "__main__:2");
	assert_string_equal(qrx_daemon_response(d, buf, sizeof(buf)),
			    "user=DEFAULT\nresult=allow\ntarget=vault\nautostart=True\n"
			    "requested_target=vault");
	d = eval("s * work vault allow", "other", "+", "work", "vault");
	assert_int_equal(d->deny_reason, QRX_DR_NO_MATCHING_RULE);
	assert_int_equal(d->notify, 1);
	assert_string_equal(qrx_eval_simple(d), "deny");
}

/* The service index must keep policy order across named and * rules. */
static void test_index_keeps_order(void **state)
{
	static const char pol[] = "b * work vault deny\n"	  /* 1 */
				  "* * work dvm allow\n"	  /* 2 */
				  "a * work vault allow\n"	  /* 3 */
				  "* * work vault deny notify=no\n" /* 4 */
				  "b * work dvm deny\n"	  /* 5 */
				  "a * work dvm deny\n"	  /* 6 */
				  "c * work @anyvm allow\n";	  /* 7 */
	static const struct {
		const char *svc, *tgt, *rule;
	} want[] = {{"a", "vault", "__main__:3"}, {"a", "dvm", "__main__:2"},
		    {"b", "vault", "__main__:1"}, {"b", "dvm", "__main__:2"},
		    {"c", "vault", "__main__:4"}, {"c", "dvm", "__main__:2"},
		    {"d", "vault", "__main__:4"}, {"c", "dom0", ""}};
	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct qrx_decision *d = eval(pol, want[i].svc, "+", "work", want[i].tgt);
		if (strcmp(d->rule, want[i].rule) != 0)
			fail_msg("%s -> %s: rule %s, want %s", want[i].svc, want[i].tgt, d->rule,
				 want[i].rule);
	}
}

static void test_targets(void **state)
{
	struct qrx_decision *d;

	(void)state;
	/* unknown names become @default; @anyvm never matches dom0, * does */
	d = eval("* * work @default allow target=vault", "s", "+", "work", "no-such");
	assert_int_equal(d->result, QRX_ALLOW);
	assert_string_equal(d->requested, "@default");
	assert_string_equal(d->target, "vault");
	d = eval("* * work @anyvm allow", "s", "+", "work", "dom0");
	assert_int_equal(d->deny_reason, QRX_DR_NO_MATCHING_RULE);
	assert_string_equal(d->requested, "@adminvm");
	d = eval("* * work * allow", "s", "+", "work", "dom0");
	assert_string_equal(d->target, "dom0");
	/* @tag: never matches dom0 */
	d = eval("* * work @tag:t1 allow", "s", "+", "work", "vault");
	assert_int_equal(d->result, QRX_ALLOW);
	/* @dispvm resolves to the source's default_dispvm */
	d = eval("* * work @dispvm allow", "s", "+", "work", "@dispvm");
	assert_string_equal(d->target, "@dispvm:dvm");
	d = eval("* * vault @dispvm allow", "s", "+", "vault", "@dispvm");
	assert_int_equal(d->deny_reason, QRX_DR_NO_DISPVM_BASE);
	d = eval("* * work @dispvm:dvm allow", "s", "+", "work", "@dispvm");
	assert_string_equal(d->target, "@dispvm:dvm");
	/* a request for @dispvm:NAME needs a dispvm template */
	d = eval("* * work * allow", "s", "+", "work", "@dispvm:vault");
	assert_int_equal(d->deny_reason, QRX_DR_INVALID_REQUESTED_TARGET);
	assert_int_equal(d->stage, QRX_ST_REQUEST);
	d = eval("* * work * allow", "s", "+", "work", "@anyvm");
	assert_int_equal(d->deny_reason, QRX_DR_INVALID_REQUESTED_TARGET);
	/* redirect to a non-template dispvm */
	d = eval("* * work @anyvm allow target=@dispvm:vault", "s", "+", "work", "dvm");
	assert_int_equal(d->deny_reason, QRX_DR_REDIRECT_NOT_DISPVM_TEMPLATE);
	/* autostart=no: halted target denied, dom0 fine, and the rule's notify */
	d = eval("* * work @anyvm allow autostart=no", "s", "+", "work", "vault");
	assert_int_equal(d->deny_reason, QRX_DR_REQUIRES_AUTOSTART);
	assert_int_equal(d->notify, 0);
	d = eval("* * work @adminvm allow autostart=no", "s", "+", "work", "@adminvm");
	assert_int_equal(d->result, QRX_ALLOW);
	assert_int_equal(d->autostart, 0);
	/* loopback: evaluation allows, execution refuses */
	d = eval("* * @anyvm @anyvm allow", "s", "+", "work", "work");
	assert_int_equal(d->deny_reason, QRX_DR_LOOPBACK);
	assert_int_equal(d->stage, QRX_ST_EXECUTE);
	assert_string_equal(qrx_eval_simple(d), "allow");
}

static void test_ask(void **state)
{
	struct qrx_decision *d;
	char buf[64];

	(void)state;
	d = eval("* * work vault deny\n* * work @anyvm ask", "s", "+", "work", "dvm");
	assert_int_equal(d->result, QRX_ASK);
	/* work itself is never offered; vault is subtracted by the deny rule above */
	assert_int_equal(d->nchoices, 2);
	assert_string_equal(d->choices[0], "@dispvm:dvm");
	assert_string_equal(d->choices[1], "dvm");
	assert_null(qrx_daemon_response(d, buf, sizeof(buf)));
	assert_string_equal(qrx_eval_simple(d), "allow");
	d = eval("* * work @anyvm ask autostart=no", "s", "+", "work", "vault");
	assert_int_equal(d->deny_reason, QRX_DR_NO_ASK_TARGETS);
	d = eval("* * work @anyvm ask default_target=@dispvm", "s", "+", "work", "vault");
	assert_string_equal(d->default_target, "@dispvm:dvm");
	/* a default that is not offered: 4.2 fails internally, the call is refused */
	d = eval("* * work vault ask default_target=dom0", "s", "+", "work", "vault");
	assert_int_equal(d->deny_reason, QRX_DR_INTERNAL_ERROR);
	assert_null(qrx_daemon_response(d, buf, sizeof(buf)));
	assert_string_equal(qrx_eval_simple(d), "refused");
	/* a literal redirect is offered as written */
	d = eval("* * work @anyvm ask target=@adminvm", "s", "+", "work", "vault");
	assert_int_equal(d->nchoices, 1);
	assert_string_equal(d->choices[0], "@adminvm");
}

static void put(const char *dir, const char *name, const char *text)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(fs_atomic_write(p, text, strlen(text), 0600), 0);
}

static void test_folder(void **state)
{
	char root[] = "/tmp/test_qrexec.XXXXXX", pd[4096], cd[4096], inc[4096], cmd[4200];
	struct qrx_system s = sysinfo();
	struct qrx_decision *d = &D;
	struct qrx_policy *p;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(pd, sizeof(pd), "%s/policy.d", root);
	snprintf(cd, sizeof(cd), "%s/compat", root);
	snprintf(inc, sizeof(inc), "%s/include", pd);
	assert_int_equal(fs_mkdir_p(inc, 0700), 0);
	assert_int_equal(fs_mkdir_p(cd, 0700), 0);
	/* string order: 10- before 9-; README, dotfiles and backups are ignored */
	put(pd, "9-late.policy", "s * @anyvm @anyvm deny\n");
	put(pd, "10-early.policy", "s * work vault allow\n!include include/extra\n"
				   "!include-service t + include/old\n!compat-4.0\n");
	put(pd, "README", "garbage\n");
	put(pd, ".hidden.policy", "garbage\n");
	put(pd, "50-x.policy~", "garbage\n");
	put(inc, "extra", "s * work dvm allow user=u\n");
	put(inc, "old", "$anyvm $anyvm allow,user=root\n");
	put(cd, "legacy+a", "work vault allow\n");
	put(cd, "legacy", "work dvm allow\n");
	put(cd, "junk.rpmnew", "garbage\n");
	p = qrx_load_dir(pd, cd);
	assert_true(qrx_policy_ok(p));
	struct qrx_request r1 = {"s", "+", "work", "vault"}, r2 = {"s", "+", "work", "dvm"},
			   r3 = {"t", "+", "work", "vault"}, r4 = {"legacy", "+a", "work", "dvm"},
			   r5 = {"legacy", "+b", "work", "dvm"};
	qrx_evaluate(p, &s, &r1, d);
	assert_int_equal(d->result, QRX_ALLOW);
	qrx_evaluate(p, &s, &r2, d);
	assert_string_equal(d->user, "u");
	qrx_evaluate(p, &s, &r3, d);
	assert_string_equal(d->user, "root");
	qrx_evaluate(p, &s, &r4, d); /* legacy+a ends with an implicit deny */
	assert_int_equal(d->deny_reason, QRX_DR_DENY_RULE);
	qrx_evaluate(p, &s, &r5, d); /* the generic legacy file applies to other arguments */
	assert_int_equal(d->result, QRX_ALLOW);
	qrx_policy_free(p);
	/* one badly named *.policy file refuses the whole policy */
	put(pd, "20-Bad.policy", "s * @anyvm @anyvm allow\n");
	p = qrx_load_dir(pd, cd);
	assert_false(qrx_policy_ok(p));
	assert_int_equal(qrx_policy_error_kind(p), QRX_ACCESS_DENIED);
	assert_non_null(strstr(qrx_policy_error(p), "invalid filename"));
	qrx_evaluate(p, &s, &r1, d);
	assert_int_equal(d->result, QRX_ERROR);
	qrx_policy_free(p);
	snprintf(cmd, sizeof(cmd), "%s/20-Bad.policy", pd);
	unlink(cmd);
	/* an include loop is an error, not a crash */
	put(inc, "loop", "!include include/loop\n");
	put(pd, "11-loop.policy", "!include include/loop\n");
	p = qrx_load_dir(pd, cd);
	assert_false(qrx_policy_ok(p));
	assert_non_null(strstr(qrx_policy_error(p), "nested deeper"));
	qrx_policy_free(p);
	/* a missing folder is an error too */
	p = qrx_load_dir("/nonexistent/policy.d", NULL);
	assert_false(qrx_policy_ok(p));
	qrx_policy_free(p);
	qrx_system_free(&s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

/* The delegate over compartments.yaml and a real folder, through pol_decide. */
static void test_rpc_delegate(void **state)
{
	static const char comps[] = "compartments:\n"
				    "  sys-ai: {type: AppVM, tags: [secai-ai]}\n"
				    "  work: {type: AppVM, tags: [secai-workspace]}\n"
				    "  sys-config: {type: AppVM}\n";
	char root[] = "/tmp/test_qrexec_rpc.XXXXXX", pd[4096], err[512], cmd[4200];
	struct compart_set *cs = calloc(1, sizeof(*cs));
	struct pol_policy *yaml = pol_load_buffer("p.yaml", "version: 1\n", 11, err, sizeof(err));
	struct pol_request r;
	struct pol_decision d;
	struct qrx_rpc q;

	(void)state;
	assert_non_null(cs);
	assert_non_null(yaml);
	assert_int_equal(compart_parse("c.yaml", comps, sizeof(comps) - 1, cs, err, sizeof(err)), 0);
	assert_non_null(mkdtemp(root));
	snprintf(pd, sizeof(pd), "%s/policy.d", root);
	assert_int_equal(fs_mkdir_p(pd, 0700), 0);
	put(pd, "30-secai.policy",
	    "secai.Ask * @tag:secai-workspace @default allow target=sys-ai\n"
	    "secai.GetConfig +model sys-ai sys-config ask default_target=sys-config\n");
	assert_int_equal(qrx_rpc_init(&q, pd, root, cs, err, sizeof(err)), 0);
	pol_set_rpc_delegate(qrx_rpc_delegate, &q);

	pol_request_init(&r, POL_RPC);
	assert_int_equal(pol_request_set(&r, "service", "secai.Ask", err, sizeof(err)), 0);
	assert_int_equal(pol_request_set(&r, "argument", "+", err, sizeof(err)), 0);
	assert_int_equal(pol_request_set(&r, "source", "work", err, sizeof(err)), 0);
	assert_int_equal(pol_request_set(&r, "target", "@default", err, sizeof(err)), 0);
	pol_decide(yaml, &r, &d);
	assert_int_equal(d.verdict, POL_ALLOW);
	assert_string_equal(d.rpc_target, "sys-ai");
	assert_non_null(strstr(d.rule, "30-secai.policy:1"));
	pol_request_free(&r);

	pol_request_init(&r, POL_RPC);
	assert_int_equal(pol_request_set(&r, "service", "secai.GetConfig", err, sizeof(err)), 0);
	assert_int_equal(pol_request_set(&r, "argument", "+model", err, sizeof(err)), 0);
	assert_int_equal(pol_request_set(&r, "source", "sys-ai", err, sizeof(err)), 0);
	assert_int_equal(pol_request_set(&r, "target", "sys-config", err, sizeof(err)), 0);
	pol_decide(yaml, &r, &d);
	assert_int_equal(d.verdict, POL_ASK);
	assert_string_equal(d.rpc_choices, "sys-config");
	assert_string_equal(d.rpc_default, "sys-config");

	/* the folder changes: a broken file denies everything, loudly */
	sleep(0); /* (mtime granularity is ns; the size changes anyway) */
	put(pd, "30-secai.policy", "secai.Ask * @anyvm @anyvm maybe\n");
	pol_decide(yaml, &r, &d);
	assert_int_equal(d.verdict, POL_DENY);
	assert_non_null(strstr(d.reason, "does not load"));
	pol_request_free(&r);

	pol_set_rpc_delegate(NULL, NULL);
	qrx_rpc_fini(&q);
	pol_unref(yaml);
	free(cs);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_syntax_errors),
	    cmocka_unit_test(test_good_lines),
	    cmocka_unit_test(test_first_match_and_reasons),
	    cmocka_unit_test(test_index_keeps_order),
	    cmocka_unit_test(test_targets),
	    cmocka_unit_test(test_ask),
	    cmocka_unit_test(test_folder),
	    cmocka_unit_test(test_rpc_delegate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
