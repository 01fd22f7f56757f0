/*
 * pol_eval.c — deciding: the first rule of the request's domain whose every condition holds
 * decides; no rule, no policy, a broken policy or a bad request means deny.
 *
 * Owns: the order of evaluation, the evidence a decision carries, and the rpc delegate hook
 * (pol_set_rpc_delegate: the one place the Qubes qrexec engine plugs into this engine).
 * Never: allocates on the decision path (a policy is immutable once loaded); returns a decision
 * without a reason; lets a delegate error become anything but deny.
 */
#include <string.h>

#include "policy/pol_impl.h"

static pol_rpc_delegate_fn pol_rpc_delegate;
static void *pol_rpc_delegate_arg;

void pol_set_rpc_delegate(pol_rpc_delegate_fn fn, void *arg)
{
	pol_rpc_delegate = fn;
	pol_rpc_delegate_arg = arg;
}

static void pol_add_evidence(struct pol_decision *d, const struct pol_request *r, int idx)
{
	const struct pol_field *f = pol_field_def(r->domain, idx);
	struct pol_evidence *e;
	size_t n;

	if (f == NULL || r->val[idx] == NULL || d->nevidence >= POL_MAX_FIELDS)
		return;
	for (unsigned i = 0; i < d->nevidence; i++)
		if (strcmp(d->evidence[i].field, f->name) == 0)
			return;
	e = &d->evidence[d->nevidence++];
	snprintf(e->field, sizeof(e->field), "%s", f->name);
	n = strlen(r->val[idx]);
	if (n < sizeof(e->value)) {
		memcpy(e->value, r->val[idx], n + 1);
	} else { /* cut on a UTF-8 boundary, then "..." */
		size_t k = sizeof(e->value) - 4;
		while (k > 0 && ((unsigned char)r->val[idx][k] & 0xc0) == 0x80)
			k--;
		memcpy(e->value, r->val[idx], k);
		memcpy(e->value + k, "...", 4);
	}
}

/* Every given field: the evidence of a decision no rule made. */
static void pol_all_evidence(struct pol_decision *d, const struct pol_request *r)
{
	for (int i = 0; i < pol_field_count(r->domain); i++)
		pol_add_evidence(d, r, i);
}

void pol_eval(const struct pol_policy *p, const struct pol_request *r, struct pol_decision *d,
	      pol_trace_fn trace, void *arg)
{
	struct pol_trace_step step;
	const struct pol_rule *rules;
	size_t n;

	memset(d, 0, sizeof(*d));
	d->verdict = POL_DENY;
	d->domain = r->domain;
	if ((unsigned)r->domain >= POL_NDOMAINS) {
		d->domain = POL_RPC;
		snprintf(d->reason, sizeof(d->reason), "deny: unknown domain");
		return;
	}
	if (p == NULL || !p->ok) {
		pol_all_evidence(d, r);
		snprintf(d->reason, sizeof(d->reason),
			 "deny: no valid policy is loaded, so everything is denied (%s)",
			 pol_broken_reason(p));
		return;
	}
	d->policy_ok = 1;
	memcpy(d->digest, p->digest, sizeof(d->digest));
	rules = p->rules[r->domain];
	n = p->nrules[r->domain];
	/* explaining walks every rule; deciding only the candidates of the index (same answer) */
	const struct pol_index *ix = trace == NULL ? &p->index[r->domain] : NULL;
	const char *key = ix != NULL && ix->field >= 0 ? r->val[ix->field] : NULL;
	size_t bi = 0, wi = 0;
	for (size_t i = 0; i < n; i++) {
		if (ix != NULL && ix->field >= 0) {
			i = pol_index_next(ix, key, &bi, &wi, n);
			if (i >= n)
				break;
		}
		const struct pol_rule *ru = &rules[i];
		size_t j;

		if (trace != NULL) {
			memset(&step, 0, sizeof(step));
			step.loc = ru->loc;
			step.id = ru->id;
			step.decision = ru->decision;
		}
		for (j = 0; j < ru->nconds; j++)
			if (!pol_cond_match(&ru->conds[j], r, trace ? step.why : NULL,
					    sizeof(step.why)))
				break;
		if (j < ru->nconds) {
			if (trace != NULL)
				trace(arg, &step);
			continue;
		}
		if (trace != NULL) {
			step.matched = 1;
			snprintf(step.why, sizeof(step.why), "%s",
				 ru->nconds ? "every condition holds" : "no conditions: matches all");
			trace(arg, &step);
		}
		d->verdict = ru->decision;
		d->by_rule = 1;
		memcpy(d->rule, ru->loc, sizeof(d->rule));
		memcpy(d->rule_id, ru->id, sizeof(d->rule_id));
		for (j = 0; j < ru->nconds; j++)
			pol_add_evidence(d, r, ru->conds[j].field);
		if (ru->reason != NULL)
			snprintf(d->reason, sizeof(d->reason), "%s", ru->reason);
		else
			snprintf(d->reason, sizeof(d->reason), "%s by the rule at %s",
				 pol_verdict_name(ru->decision), ru->loc);
		return;
	}
	/* no YAML rule matched: rpc goes to the qrexec engine when one is plugged in */
	if (r->domain == POL_RPC && pol_rpc_delegate != NULL) {
		struct pol_decision dd;
		int rc;

		memset(&dd, 0, sizeof(dd));
		dd.verdict = POL_DENY;
		rc = pol_rpc_delegate(pol_rpc_delegate_arg, r, &dd);
		if (rc == 0) {
			d->verdict = dd.verdict;
			d->by_rule = dd.rule[0] != '\0';
			memcpy(d->rule, dd.rule, sizeof(d->rule));
			memcpy(d->rule_id, dd.rule_id, sizeof(d->rule_id));
			memcpy(d->reason, dd.reason, sizeof(d->reason));
			memcpy(d->rpc_target, dd.rpc_target, sizeof(d->rpc_target));
			memcpy(d->rpc_user, dd.rpc_user, sizeof(d->rpc_user));
			memcpy(d->rpc_choices, dd.rpc_choices, sizeof(d->rpc_choices));
			memcpy(d->rpc_default, dd.rpc_default, sizeof(d->rpc_default));
			d->reason[sizeof(d->reason) - 1] = '\0';
			if (d->reason[0] == '\0')
				snprintf(d->reason, sizeof(d->reason), "%s by the rpc (qrexec) policy",
					 pol_verdict_name(d->verdict));
			if (dd.nevidence > 0) {
				d->nevidence = dd.nevidence > POL_MAX_FIELDS ? POL_MAX_FIELDS
									     : dd.nevidence;
				memcpy(d->evidence, dd.evidence, sizeof(d->evidence));
			} else {
				pol_all_evidence(d, r);
			}
			return;
		}
		pol_all_evidence(d, r);
		snprintf(d->reason, sizeof(d->reason), "%s",
			 rc > 0 ? "deny: no rule matched (default deny; rpc policy has none either)"
				: "deny: the rpc (qrexec) policy failed to decide (default deny)");
		return;
	}
	pol_all_evidence(d, r);
	snprintf(d->reason, sizeof(d->reason), "deny: no %s rule matched (default deny)",
		 pol_domain_name(r->domain));
}

void pol_decide(const struct pol_policy *p, const struct pol_request *r, struct pol_decision *d)
{
	pol_eval(p, r, d, NULL, NULL);
}
