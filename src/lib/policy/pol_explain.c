/*
 * pol_explain.c — decisions as JSON, and explanations: every rule tried and why it missed.
 *
 * Owns: the JSON shape of a decision (the daemon's answer and the audit event's payload) and
 * pol_explain. Never: decides differently from pol_decide (both run pol_eval).
 */
#include <string.h>

#include "policy/pol_impl.h"

void pol_explain(const struct pol_policy *p, const struct pol_request *r, struct pol_decision *d,
		 pol_trace_fn trace, void *arg)
{
	pol_eval(p, r, d, trace, arg);
}

json_t *pol_decision_json(const struct pol_decision *d)
{
	json_t *o = json_object(), *ev = json_object();

	if (o == NULL || ev == NULL) {
		json_decref(o);
		json_decref(ev);
		return NULL;
	}
	for (unsigned i = 0; i < d->nevidence && i < POL_MAX_FIELDS; i++)
		json_object_set_new(ev, d->evidence[i].field, json_string(d->evidence[i].value));
	if (json_object_set_new(o, "decision", json_string(pol_verdict_name(d->verdict))) ||
	    json_object_set_new(o, "domain", json_string(pol_domain_name(d->domain))) ||
	    json_object_set_new(o, "rule", d->rule[0] ? json_string(d->rule) : json_null()) ||
	    json_object_set_new(o, "rule_id",
				d->rule_id[0] ? json_string(d->rule_id) : json_null()) ||
	    json_object_set_new(o, "reason", json_string(d->reason)) ||
	    json_object_set_new(o, "digest", d->digest[0] ? json_string(d->digest) : json_null()) ||
	    json_object_set_new(o, "policy_ok", json_boolean(d->policy_ok)) ||
	    json_object_set_new(o, "default", json_boolean(!d->by_rule)) ||
	    json_object_set_new(o, "evidence", ev)) {
		json_decref(o);
		return NULL;
	}
	/* the qrexec engine's resolution of an rpc call (docs/qrexec.md) */
	if (d->rpc_target[0] && json_object_set_new(o, "target", json_string(d->rpc_target)))
		goto fail;
	if (d->rpc_user[0] && json_object_set_new(o, "user", json_string(d->rpc_user)))
		goto fail;
	if (d->rpc_choices[0]) {
		json_t *a = json_array();
		char tmp[sizeof(d->rpc_choices)], *save = NULL;

		memcpy(tmp, d->rpc_choices, sizeof(tmp));
		for (char *t = strtok_r(tmp, " ", &save); t && a; t = strtok_r(NULL, " ", &save))
			json_array_append_new(a, json_string(t));
		if (a == NULL || json_object_set_new(o, "choices", a) ||
		    json_object_set_new(o, "default_target", d->rpc_default[0]
								  ? json_string(d->rpc_default)
								  : json_null()))
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}
