/*
 * core.c — secai-policy's state: the policy in force, reloads, one decision, the audit link.
 *
 * Owns: swapping the current policy (a reference-counted, immutable pol_policy: a decision in
 * flight keeps the one it started with), the persistent audit connection, decision counting.
 * Never: replaces a valid policy with an invalid one; answers allow or ask for a decision that
 * could not be recorded in the audit log or its spool (it becomes deny, and says why).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "policy/policyd.h"

int policyd_init(struct policyd *pd)
{
	pd->cur = NULL;
	pd->ac_open = 0;
	pd->ac.fd = -1;
	pd->nconns = 0;
	pd->stopping = 0;
	pd->lfd = -1;
	for (int i = 0; i < POLICYD_MAX_CONNS; i++)
		pd->conns[i] = -1;
	if (pthread_mutex_init(&pd->lock, NULL) != 0 ||
	    pthread_mutex_init(&pd->audit_lock, NULL) != 0 ||
	    pthread_mutex_init(&pd->conn_lock, NULL) != 0 ||
	    pthread_cond_init(&pd->conn_cv, NULL) != 0)
		return -1;
	return 0;
}

void policyd_fini(struct policyd *pd)
{
	pol_unref(pd->cur);
	pd->cur = NULL;
	if (pd->ac_open)
		audit_client_close(&pd->ac);
	pd->ac_open = 0;
	pthread_mutex_destroy(&pd->lock);
	pthread_mutex_destroy(&pd->audit_lock);
	pthread_mutex_destroy(&pd->conn_lock);
	pthread_cond_destroy(&pd->conn_cv);
}

int policyd_audit(struct policyd *pd, const char *event, const json_t *data)
{
	char err[512];
	int rc = -1;

	pthread_mutex_lock(&pd->audit_lock);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!pd->ac_open) {
			if (audit_client_connect(pd->audit_socket, &pd->ac) != 0)
				break;
			pd->ac_open = 1;
		}
		if (audit_client_append(&pd->ac, event, data, NULL, err, sizeof(err)) == 0) {
			rc = 0;
			break;
		}
		audit_client_close(&pd->ac); /* a daemon restart: reconnect once */
		pd->ac_open = 0;
	}
	if (rc != 0) {
		if (audit_spool_write(pd->audit_spool, event, data, err, sizeof(err)) == 0)
			rc = 1;
		else
			log_warnx("audit: cannot record %s: %s", event, err);
	}
	pthread_mutex_unlock(&pd->audit_lock);
	return rc < 0 ? -1 : 0;
}

struct pol_policy *policyd_current(struct policyd *pd)
{
	struct pol_policy *p;

	pthread_mutex_lock(&pd->lock);
	p = pol_ref(pd->cur);
	pthread_mutex_unlock(&pd->lock);
	return p;
}

static json_t *policyd_rule_counts(const struct pol_policy *p)
{
	json_t *o = json_object();

	for (int d = 0; o && d < POL_NDOMAINS; d++)
		json_object_set_new(o, pol_domain_name((enum pol_domain)d),
				    json_integer((json_int_t)pol_rule_count(p, (enum pol_domain)d)));
	return o;
}

int policyd_load(struct policyd *pd, int initial)
{
	char err[1024];
	struct pol_policy *np = pol_load_file(pd->policy_file, err, sizeof(err)), *old;
	json_t *ev;

	if (np != NULL) {
		pthread_mutex_lock(&pd->lock);
		old = pd->cur;
		pd->cur = np;
		if (!initial)
			pd->reloads++;
		pthread_mutex_unlock(&pd->lock);
		if (old != NULL && pol_ok(old) && strcmp(pol_digest(old), pol_digest(np)) == 0)
			log_info("policy %s reloaded: unchanged (digest %s)", pd->policy_file,
				 pol_digest(np));
		else
			log_info("policy %s %s: digest %s", pd->policy_file,
				 initial ? "loaded" : "reloaded", pol_digest(np));
		ev = json_pack("{s:s, s:s, s:s, s:o}", "file", pd->policy_file, "digest",
			       pol_digest(np), "trigger", initial ? "start" : "reload", "rules",
			       policyd_rule_counts(np));
		if (ev == NULL || policyd_audit(pd, "policy.loaded", ev) != 0)
			log_warnx("audit: policy.loaded was not recorded");
		json_decref(ev);
		pol_unref(old);
		return 0;
	}
	pthread_mutex_lock(&pd->lock);
	old = pd->cur;
	if (!initial)
		pd->reload_failures++;
	if (old == NULL || !pol_ok(old)) {
		/* nothing valid to keep: deny everything, with the newest reason */
		struct pol_policy *b = pol_broken(pd->policy_file, err);
		if (b != NULL) {
			pd->cur = b;
			pol_unref(old);
			old = NULL;
		}
		pthread_mutex_unlock(&pd->lock);
		log_warnx("NO VALID POLICY: every request is DENIED until %s is fixed: %s",
			  pd->policy_file, err);
	} else {
		pthread_mutex_unlock(&pd->lock);
		log_warnx("policy reload failed, keeping the policy in force (digest %s): %s",
			  pol_digest(old), err);
	}
	ev = json_pack("{s:s, s:s, s:s, s:s?}", "file", pd->policy_file, "error", err, "trigger",
		       initial ? "start" : "reload", "kept_digest",
		       old != NULL && pol_ok(old) ? pol_digest(old) : NULL);
	if (ev == NULL || policyd_audit(pd, initial ? "policy.invalid" : "policy.reload_failed",
					ev) != 0)
		log_warnx("audit: the policy failure was not recorded");
	json_decref(ev);
	return -1;
}

json_t *policyd_status(struct policyd *pd)
{
	struct pol_policy *p = policyd_current(pd);
	uint64_t n, r, rf;
	json_t *o;

	pthread_mutex_lock(&pd->lock);
	n = pd->decisions;
	r = pd->reloads;
	rf = pd->reload_failures;
	pthread_mutex_unlock(&pd->lock);
	o = json_pack("{s:b, s:s, s:s?, s:s?, s:o, s:I, s:I, s:I}", "policy_ok", pol_ok(p), "file",
		      pd->policy_file, "digest", pol_ok(p) ? pol_digest(p) : NULL, "reason",
		      pol_ok(p) ? NULL : pol_broken_reason(p), "rules", policyd_rule_counts(p),
		      "decisions", (json_int_t)n, "reloads", (json_int_t)r, "reload_failures",
		      (json_int_t)rf);
	pol_unref(p);
	return o;
}

struct trace_ctx {
	json_t *arr;
};

static void policyd_trace(void *arg, const struct pol_trace_step *s)
{
	struct trace_ctx *t = arg;

	json_array_append_new(t->arr, json_pack("{s:s, s:s?, s:s, s:b, s:s}", "rule", s->loc, "id",
						s->id[0] ? s->id : NULL, "decision",
						pol_verdict_name(s->decision), "matched", s->matched,
						"why", s->why));
}

int policyd_decide(struct policyd *pd, const json_t *req, const char *via, json_t **out,
		   char *err, size_t errlen)
{
	const char *dname = json_get_string(req, "domain"), *k;
	const json_t *fields = json_object_get(req, "request"), *ex = json_object_get(req, "explain");
	struct pol_request r;
	struct pol_decision d;
	struct pol_policy *p;
	struct trace_ctx t = {NULL};
	enum pol_domain dom;
	char rerr[512];
	json_t *ans, *ev, *v;
	int bad;

	*out = NULL;
	json_object_foreach((json_t *)req, k, v) {
		if (strcmp(k, "op") && strcmp(k, "domain") && strcmp(k, "request") &&
		    strcmp(k, "explain")) {
			snprintf(err, errlen, "unknown key \"%.40s\" (allowed: domain, request, explain)",
				 k);
			return -1;
		}
	}
	if (dname == NULL || pol_domain_parse(dname, &dom) != 0) {
		snprintf(err, errlen, "domain must be one of rpc, tool, egress, model, agent, mcp");
		return -1;
	}
	if (ex != NULL && !json_is_boolean(ex)) {
		snprintf(err, errlen, "explain must be true or false");
		return -1;
	}
	if (fields == NULL)
		fields = json_object();
	else
		json_incref((json_t *)fields);
	bad = pol_request_from_json(&r, dom, fields, rerr, sizeof(rerr));
	json_decref((json_t *)fields);
	p = policyd_current(pd);
	if (bad) {
		/* a malformed question is still answered, and the answer is deny */
		memset(&d, 0, sizeof(d));
		d.verdict = POL_DENY;
		d.domain = dom;
		d.policy_ok = pol_ok(p);
		snprintf(d.digest, sizeof(d.digest), "%s", pol_ok(p) ? pol_digest(p) : "");
		snprintf(d.reason, sizeof(d.reason), "deny: bad request: %s", rerr);
		pol_request_init(&r, dom);
	} else if (json_is_true(ex)) {
		t.arr = json_array();
		pol_explain(p, &r, &d, policyd_trace, &t);
	} else {
		pol_decide(p, &r, &d);
	}
	pol_unref(p);
	ans = pol_decision_json(&d);
	ev = pol_decision_json(&d);
	if (ans == NULL || ev == NULL) {
		json_decref(ans);
		json_decref(ev);
		json_decref(t.arr);
		pol_request_free(&r);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_object_set_new(ev, "request", bad ? json_deep_copy(json_object_get(req, "request"))
					       : pol_request_json(&r));
	json_object_set_new(ev, "via", json_string(via));
	pol_request_free(&r);
	if (json_object_get(ev, "request") == NULL)
		json_object_set_new(ev, "request", json_object());
	if (policyd_audit(pd, "policy.decision", ev) != 0 && d.verdict != POL_DENY) {
		log_warnx("decision %s for %s downgraded to deny: the audit log and its spool "
			  "are both unavailable",
			  pol_verdict_name(d.verdict), dname);
		json_object_set_new(ans, "decision", json_string("deny"));
		json_object_set_new(ans, "reason",
				    json_string("deny: the decision could not be recorded in the "
						"audit log (fail closed)"));
	}
	json_decref(ev);
	if (t.arr != NULL)
		json_object_set_new(ans, "trace", t.arr);
	pthread_mutex_lock(&pd->lock);
	pd->decisions++;
	pthread_mutex_unlock(&pd->lock);
	log_debug("decision %s %s via %s: %s", dname, pol_verdict_name(d.verdict), via, d.reason);
	*out = ans;
	return 0;
}
