/*
 * qrexec_eval.c — deciding one qrexec call the way Qubes 4.2's policy daemon does.
 *
 * Reads top to bottom as SPEC §7-§8: normalise the request (empty -> @default, dom0 ->
 * @adminvm, unknown names -> @default, @dispvm:NAME must be a dispvm template), find the first
 * rule whose four columns match, then resolve it: deny; allow (redirect, @default, @dispvm ->
 * the source's default_dispvm, @adminvm -> dom0, autostart=no); ask (choices collected from the
 * whole policy bottom-up with deny rules subtracting, default_target). Last, the execution-time
 * loopback check. Plus the policy daemon's reply text and policy.EvalSimple's verdict.
 * Owns: token matching, ask-choice expansion, every deny reason. Never: allocates; answers
 * allow or ask when the policy did not load; lets a case where 4.2 crashes become anything but
 * a refused call.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/qrexec_impl.h"

/* The normalised requested target (SPEC §7). */
enum rq_kind { RQ_NAME, RQ_ADMINVM, RQ_DEFAULT, RQ_DISPVM, RQ_DISPVM_NAME };

struct rq {
	enum rq_kind kind;
	const char *name; /* RQ_NAME: the qube; RQ_DISPVM_NAME: the template */
	char text[QRX_TOKEN_MAX];
};

struct ctx {
	const struct qrx_policy *p;
	const struct qrx_system *s;
	const struct qrx_request *r;
	const struct qrx_qube *src; /* NULL when the source is not a known qube */
	bool src_admin;
	struct rq rq;
	struct qrx_decision *d;
};

static void deny(struct ctx *c, enum qrx_deny_reason why, enum qrx_stage st, int notify,
		 const char *rule, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void deny(struct ctx *c, enum qrx_deny_reason why, enum qrx_stage st, int notify,
		 const char *rule, const char *fmt, ...)
{
	struct qrx_decision *d = c->d;
	va_list ap;

	d->result = QRX_DENY;
	d->deny_reason = why;
	d->stage = st;
	d->notify = notify;
	d->target[0] = d->user[0] = '\0';
	d->autostart = -1;
	d->nchoices = 0;
	d->default_target[0] = '\0';
	snprintf(d->rule, sizeof(d->rule), "%s", rule ? rule : "");
	va_start(ap, fmt);
	vsnprintf(d->message, sizeof(d->message), fmt, ap);
	va_end(ap);
}

static bool has_tag(const struct qrx_qube *q, const char *tag)
{
	for (size_t i = 0; i < q->ntags; i++)
		if (strcmp(q->tags[i], tag) == 0)
			return true;
	return false;
}

static bool is_dispvm_template(const struct qrx_system *s, const char *name)
{
	const struct qrx_qube *q = qrx_system_find(s, name);
	return q != NULL && q->template_for_dispvms;
}

/* ---- 1. the request ---- */

/* 0, or -1 after denying (invalid requested target). */
static int normalise(struct ctx *c)
{
	const char *t = c->r->target;
	struct rq *rq = &c->rq;

	if (t == NULL || t[0] == '\0')
		t = "@default";
	if (strcmp(t, "dom0") == 0 || strcmp(t, "@adminvm") == 0) {
		rq->kind = RQ_ADMINVM;
	} else if (strcmp(t, "@default") == 0) {
		rq->kind = RQ_DEFAULT;
	} else if (strcmp(t, "@dispvm") == 0) {
		rq->kind = RQ_DISPVM;
	} else if (strncmp(t, "@dispvm:", 8) == 0) {
		if (t[8] == '\0') {
			deny(c, QRX_DR_INVALID_REQUESTED_TARGET, QRX_ST_REQUEST, -1, NULL,
			     "invalid empty @dispvm: token: '%s'", t);
			return -1;
		}
		if (t[8] == '@') {
			deny(c, QRX_DR_INVALID_REQUESTED_TARGET, QRX_ST_REQUEST, -1, NULL,
			     "invalid intendedtarget token: '%s'", t);
			return -1;
		}
		if (!is_dispvm_template(c->s, t + 8)) {
			deny(c, QRX_DR_INVALID_REQUESTED_TARGET, QRX_ST_REQUEST, -1, NULL,
			     "not a template for dispvm: %s", t + 8);
			return -1;
		}
		rq->kind = RQ_DISPVM_NAME;
		rq->name = t + 8;
	} else if (t[0] == '@' || strcmp(t, "*") == 0) {
		deny(c, QRX_DR_INVALID_REQUESTED_TARGET, QRX_ST_REQUEST, -1, NULL,
		     "invalid intendedtarget token: '%s'", t);
		return -1;
	} else if (qrx_system_find(c->s, t) != NULL) {
		rq->kind = RQ_NAME;
		rq->name = t;
	} else {
		rq->kind = RQ_DEFAULT; /* an unknown name is a request for the default target */
	}
	switch (rq->kind) {
	case RQ_NAME:
		snprintf(rq->text, sizeof(rq->text), "%s", rq->name);
		break;
	case RQ_ADMINVM:
		snprintf(rq->text, sizeof(rq->text), "@adminvm");
		break;
	case RQ_DEFAULT:
		snprintf(rq->text, sizeof(rq->text), "@default");
		break;
	case RQ_DISPVM:
		snprintf(rq->text, sizeof(rq->text), "@dispvm");
		break;
	case RQ_DISPVM_NAME:
		snprintf(rq->text, sizeof(rq->text), "@dispvm:%s", rq->name);
		break;
	}
	c->d->has_requested = true;
	snprintf(c->d->requested, sizeof(c->d->requested), "%s", rq->text);
	return 0;
}

/* ---- 2. matching (SPEC §4.2) ---- */

static bool match_source(const struct ctx *c, const struct qrx_tok *t)
{
	switch (t->kind) {
	case QT_NAME:
		return !c->src_admin && strcmp(t->val, c->r->source) == 0;
	case QT_ADMINVM:
		return c->src_admin;
	case QT_STAR:
		return true;
	case QT_ANYVM:
		return !c->src_admin;
	case QT_TYPE:
		return !c->src_admin && c->src != NULL && strcmp(c->src->type, t->val) == 0;
	case QT_TAG:
		return !c->src_admin && c->src != NULL && has_tag(c->src, t->val);
	default: /* @default, @dispvm: never a source; @dispvm:... as a source never matches */
		return false;
	}
}

/* The dispvm template a request for @dispvm[:X] means, or NULL. */
static const char *requested_dispvm(const struct ctx *c)
{
	if (c->rq.kind == RQ_DISPVM_NAME)
		return c->rq.name;
	if (c->rq.kind == RQ_DISPVM && c->src != NULL && c->src->default_dispvm[0] != '\0')
		return c->src->default_dispvm;
	return NULL;
}

static bool match_target(const struct ctx *c, const struct qrx_tok *t)
{
	const struct qrx_qube *q;
	const char *x;

	switch (t->kind) {
	case QT_NAME:
		return c->rq.kind == RQ_NAME && strcmp(t->val, c->rq.name) == 0;
	case QT_ADMINVM:
		return c->rq.kind == RQ_ADMINVM;
	case QT_STAR:
		return true;
	case QT_ANYVM:
		return c->rq.kind != RQ_ADMINVM;
	case QT_DEFAULT:
		return c->rq.kind == RQ_DEFAULT;
	case QT_TYPE:
		return c->rq.kind == RQ_NAME && (q = qrx_system_find(c->s, c->rq.name)) != NULL &&
		       strcmp(q->type, t->val) == 0;
	case QT_TAG:
		return c->rq.kind == RQ_NAME && (q = qrx_system_find(c->s, c->rq.name)) != NULL &&
		       has_tag(q, t->val);
	case QT_DISPVM:
		return c->rq.kind == RQ_DISPVM;
	case QT_DISPVM_NAME:
		x = requested_dispvm(c);
		return x != NULL && strcmp(x, t->val) == 0;
	case QT_DISPVM_TAG:
		x = requested_dispvm(c);
		return x != NULL && (q = qrx_system_find(c->s, x)) != NULL &&
		       q->template_for_dispvms && has_tag(q, t->val);
	}
	return false;
}

static bool match_call(const struct ctx *c, const struct qrx_rule *ru)
{
	return (ru->service == NULL || strcmp(ru->service, c->r->service) == 0) &&
	       (ru->argument == NULL || strcmp(ru->argument, c->r->argument) == 0) &&
	       match_source(c, &ru->source);
}

/* ---- 3. ask choices (SPEC §8.4) ---- */

struct choices {
	size_t n;
	char (*v)[QRX_TOKEN_MAX]; /* the decision's own array */
};

static void set_op(struct choices *cs, const char *x, bool add)
{
	for (size_t i = 0; i < cs->n; i++) {
		if (strcmp(cs->v[i], x) != 0)
			continue;
		if (!add) {
			memmove(cs->v[i], cs->v[cs->n - 1], QRX_TOKEN_MAX);
			cs->n--;
		}
		return;
	}
	if (add && cs->n < QRX_CHOICES_MAX)
		snprintf(cs->v[cs->n++], QRX_TOKEN_MAX, "%s", x);
}

static void set_dispvm(struct choices *cs, const char *name, bool add)
{
	char buf[QRX_TOKEN_MAX];

	snprintf(buf, sizeof(buf), "@dispvm:%s", name);
	set_op(cs, buf, add);
}

/* Adds (or removes) what token t offers. -1 where 4.2 crashes (an unknown @dispvm:NAME). */
static int expand(const struct ctx *c, const struct qrx_tok *t, struct choices *cs, bool add)
{
	const struct qrx_system *s = c->s;
	const struct qrx_qube *q;

	switch (t->kind) {
	case QT_NAME:
		if (qrx_system_find(s, t->val) != NULL)
			set_op(cs, t->val, add);
		break;
	case QT_ADMINVM:
		set_op(cs, "@adminvm", add);
		break;
	case QT_STAR:
	case QT_ANYVM:
		for (size_t i = 0; i < s->n; i++)
			if (t->kind == QT_STAR || strcmp(s->q[i].type, "AdminVM") != 0)
				set_op(cs, s->q[i].name, add);
		for (size_t i = 0; i < s->n; i++)
			if (s->q[i].template_for_dispvms)
				set_dispvm(cs, s->q[i].name, add);
		set_op(cs, "@dispvm", add);
		break;
	case QT_TYPE:
	case QT_TAG: /* the expansion, unlike the match, can offer dom0 */
		for (size_t i = 0; i < s->n; i++)
			if (t->kind == QT_TYPE ? strcmp(s->q[i].type, t->val) == 0
					       : has_tag(&s->q[i], t->val))
				set_op(cs, s->q[i].name, add);
		break;
	case QT_DISPVM:
		set_op(cs, "@dispvm", add);
		break;
	case QT_DISPVM_NAME:
		if ((q = qrx_system_find(s, t->val)) == NULL)
			return -1;
		if (q->template_for_dispvms)
			set_dispvm(cs, t->val, add);
		break;
	case QT_DISPVM_TAG:
		for (size_t i = 0; i < s->n; i++)
			if (s->q[i].template_for_dispvms && has_tag(&s->q[i], t->val))
				set_dispvm(cs, s->q[i].name, add);
		break;
	case QT_DEFAULT:
		break;
	}
	return 0;
}

static int cmp_choice(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static bool running_or_dom0(const struct ctx *c, const char *x)
{
	const struct qrx_qube *q;

	if (strcmp(x, "dom0") == 0 || strcmp(x, "@adminvm") == 0)
		return true;
	if (x[0] == '@')
		return false;
	return (q = qrx_system_find(c->s, x)) != NULL && q->running;
}

static void resolve_ask(struct ctx *c, const struct qrx_rule *ru)
{
	struct qrx_decision *d = c->d;
	struct choices cs = {0, d->choices};
	char buf[QRX_TOKEN_MAX];
	int notify = ru->notify < 0 ? 0 : ru->notify;
	int autostart = ru->autostart < 0 ? 1 : ru->autostart;

	if (ru->has_redirect) { /* 4.2 offers the redirect literally */
		set_op(&cs, qrx_tok_str(&ru->redirect, buf, sizeof(buf)), true);
	} else {
		for (size_t i = c->p->n; i-- > 0;) {
			const struct qrx_rule *o = &c->p->rules[i];

			if (!match_call(c, o))
				continue;
			if (expand(c, o->has_redirect ? &o->redirect : &o->target, &cs,
				   o->action != QA_DENY) != 0) {
				deny(c, QRX_DR_INTERNAL_ERROR, QRX_ST_INTERNAL, -1, ru->loc,
				     "internal error: rule %s names @dispvm:%s, which does not exist",
				     o->loc, o->has_redirect ? o->redirect.val : o->target.val);
				return;
			}
		}
		/* @dispvm -> the source's own default, @adminvm -> dom0, never the source itself */
		for (size_t i = 0; i < cs.n;) {
			if (strcmp(cs.v[i], "@dispvm") == 0) {
				set_op(&cs, "@dispvm", false);
				if (c->src != NULL && c->src->default_dispvm[0] != '\0')
					set_dispvm(&cs, c->src->default_dispvm, true);
				i = 0;
			} else if (strcmp(cs.v[i], "@adminvm") == 0) {
				set_op(&cs, "@adminvm", false);
				set_op(&cs, "dom0", true);
				i = 0;
			} else {
				i++;
			}
		}
		set_op(&cs, c->r->source, false);
	}
	if (autostart == 0) {
		for (size_t i = 0; i < cs.n;) {
			if (!running_or_dom0(c, cs.v[i]))
				set_op(&cs, cs.v[i], false);
			else
				i++;
		}
	}
	if (cs.n == 0) {
		deny(c, QRX_DR_NO_ASK_TARGETS, QRX_ST_EVALUATE, 1, ru->loc,
		     "policy define 'ask' action at %s but no target is available to choose from",
		     ru->loc);
		return;
	}
	qsort(cs.v, cs.n, QRX_TOKEN_MAX, cmp_choice);
	d->nchoices = cs.n;
	d->default_target[0] = '\0';
	if (ru->has_default) {
		const struct qrx_tok *t = &ru->default_target;

		if (t->kind == QT_DISPVM) {
			if (c->src != NULL && c->src->default_dispvm[0] != '\0')
				snprintf(d->default_target, sizeof(d->default_target), "@dispvm:%s",
					 c->src->default_dispvm);
		} else if (t->kind == QT_ADMINVM) {
			snprintf(d->default_target, sizeof(d->default_target), "dom0");
		} else {
			qrx_tok_str(t, d->default_target, sizeof(d->default_target));
		}
		bool offered = d->default_target[0] == '\0';
		for (size_t i = 0; i < cs.n && !offered; i++)
			offered = strcmp(cs.v[i], d->default_target) == 0;
		if (!offered) { /* 4.2 fails an assertion here: the call is refused */
			deny(c, QRX_DR_INTERNAL_ERROR, QRX_ST_INTERNAL, -1, ru->loc,
			     "internal error: default_target %s is not among the choices",
			     d->default_target);
			return;
		}
	}
	d->result = QRX_ASK;
	d->notify = notify;
	d->autostart = autostart;
	snprintf(d->user, sizeof(d->user), "%s", ru->user ? ru->user : "");
	snprintf(d->rule, sizeof(d->rule), "%s", ru->loc);
	snprintf(d->message, sizeof(d->message), "ask by the rule at %s (%zu choices)", ru->loc,
		 cs.n);
}

/* ---- 4. allow (SPEC §8.3) ---- */

static void resolve_allow(struct ctx *c, const struct qrx_rule *ru)
{
	struct qrx_decision *d = c->d;
	char t[QRX_TOKEN_MAX];
	int notify = ru->notify < 0 ? 0 : ru->notify;
	int autostart = ru->autostart < 0 ? 1 : ru->autostart;

	if (ru->has_redirect) { /* a redirect wins, whatever other rules say about it */
		const struct qrx_tok *x = &ru->redirect;

		if (x->kind == QT_NAME && qrx_system_find(c->s, x->val) == NULL)
			snprintf(t, sizeof(t), "@default");
		else if (x->kind == QT_DISPVM_NAME && !is_dispvm_template(c->s, x->val)) {
			deny(c, QRX_DR_REDIRECT_NOT_DISPVM_TEMPLATE, QRX_ST_EVALUATE, 1, ru->loc,
			     "not a template for dispvm: %s", x->val);
			return;
		} else {
			qrx_tok_str(x, t, sizeof(t));
		}
	} else {
		snprintf(t, sizeof(t), "%s", c->rq.text);
	}
	if (strcmp(t, "@default") == 0) {
		deny(c, QRX_DR_NO_TARGET, QRX_ST_EVALUATE, 1, ru->loc,
		     "policy define 'allow' action at %s but no target is specified by caller or "
		     "policy",
		     ru->loc);
		return;
	}
	if (strcmp(t, "@dispvm") == 0) { /* 4.2 does not check the base is a dispvm template */
		if (c->src == NULL || c->src->default_dispvm[0] == '\0') {
			deny(c, QRX_DR_NO_DISPVM_BASE, QRX_ST_EVALUATE, 1, ru->loc,
			     "policy define 'allow' action to @dispvm at %s but no DispVM base is "
			     "set for this VM",
			     ru->loc);
			return;
		}
		snprintf(t, sizeof(t), "@dispvm:%s", c->src->default_dispvm);
	}
	if (strcmp(t, "@adminvm") == 0)
		snprintf(t, sizeof(t), "dom0");
	if (autostart == 0 && !running_or_dom0(c, t)) {
		deny(c, QRX_DR_REQUIRES_AUTOSTART, QRX_ST_EVALUATE, notify, ru->loc,
		     "target %s is denied because it would require autostart", t);
		return;
	}
	d->result = QRX_ALLOW;
	snprintf(d->target, sizeof(d->target), "%s", t);
	snprintf(d->user, sizeof(d->user), "%s", ru->user ? ru->user : "");
	d->notify = notify;
	d->autostart = autostart;
	snprintf(d->rule, sizeof(d->rule), "%s", ru->loc);
	snprintf(d->message, sizeof(d->message), "allowed by the rule at %s", ru->loc);
}

/* The first rule whose four columns match, visiting only the rules of the request's service
 * and those for any service, merged in policy order (the index of qrexec_impl.h). */
static const struct qrx_rule *first_match(const struct ctx *c)
{
	const struct qrx_policy *p = c->p;
	size_t nsvc = p->n - p->n_any, lo = 0, hi = nsvc, a = 0;

	while (lo < hi) { /* the first rule of this service in by_service */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(p->rules[p->by_service[mid]].service, c->r->service) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (;;) {
		size_t i, s = lo < nsvc && strcmp(p->rules[p->by_service[lo]].service,
						  c->r->service) == 0
				      ? p->by_service[lo]
				      : (size_t)-1;
		size_t w = a < p->n_any ? p->any_service[a] : (size_t)-1;

		if (s == (size_t)-1 && w == (size_t)-1)
			return NULL;
		if (s < w) {
			i = s;
			lo++;
		} else {
			i = w;
			a++;
		}
		if (match_call(c, &p->rules[i]) && match_target(c, &p->rules[i].target))
			return &p->rules[i];
	}
}

void qrx_evaluate(const struct qrx_policy *p, const struct qrx_system *s,
		  const struct qrx_request *r, struct qrx_decision *d)
{
	struct ctx c = {p, s, r, NULL, false, {0}, d};
	const struct qrx_rule *ru = NULL;

	memset(d, 0, offsetof(struct qrx_decision, choices));
	d->default_target[0] = d->rule[0] = d->message[0] = '\0';
	d->result = QRX_DENY;
	d->notify = d->autostart = -1;
	if (!qrx_policy_ok(p)) {
		d->result = QRX_ERROR;
		snprintf(d->message, sizeof(d->message), "%s: %s",
			 qrx_error_kind_name(qrx_policy_error_kind(p)), qrx_policy_error(p));
		return;
	}
	if (r->service == NULL || r->argument == NULL || r->argument[0] != '+' ||
	    r->source == NULL || r->source[0] == '\0') {
		deny(&c, QRX_DR_INTERNAL_ERROR, QRX_ST_INTERNAL, -1, NULL,
		     "malformed request (service, argument \"+...\" and source are required)");
		return;
	}
	c.src_admin = strcmp(r->source, "dom0") == 0 || strcmp(r->source, "@adminvm") == 0;
	c.src = qrx_system_find(s, r->source);
	if (normalise(&c) != 0)
		return;
	ru = first_match(&c);
	if (ru == NULL) {
		deny(&c, QRX_DR_NO_MATCHING_RULE, QRX_ST_EVALUATE, 1, NULL,
		     "no matching rule found");
		return;
	}
	if (ru->action == QA_DENY) {
		deny(&c, QRX_DR_DENY_RULE, QRX_ST_EVALUATE, ru->notify < 0 ? 1 : ru->notify, ru->loc,
		     "denied by policy %s", ru->loc);
		return;
	}
	if (ru->action == QA_ASK) {
		resolve_ask(&c, ru);
		return;
	}
	resolve_allow(&c, ru);
	if (d->result == QRX_ALLOW && strcmp(d->target, r->source) == 0) {
		deny(&c, QRX_DR_LOOPBACK, QRX_ST_EXECUTE, 1, ru->loc,
		     "loopback qrexec connection not supported");
		d->evaluate_allowed = true;
	}
}

const char *qrx_daemon_response(const struct qrx_decision *d, char *buf, size_t len)
{
	switch (d->result) {
	case QRX_ERROR:
		snprintf(buf, len, "result=deny");
		return buf;
	case QRX_DENY:
		if (d->deny_reason == QRX_DR_INTERNAL_ERROR)
			return NULL; /* the connection closes without a reply */
		snprintf(buf, len, "result=deny");
		return buf;
	case QRX_ALLOW:
		snprintf(buf, len,
			 "user=%s\nresult=allow\ntarget=%s\nautostart=%s\nrequested_target=%s",
			 d->user[0] ? d->user : "DEFAULT", d->target, d->autostart ? "True" : "False",
			 d->requested);
		return buf;
	case QRX_ASK:
		return NULL; /* depends on the user's answer */
	}
	return NULL;
}

const char *qrx_eval_simple(const struct qrx_decision *d)
{
	switch (d->result) {
	case QRX_ALLOW:
		return "allow";
	case QRX_ASK: /* assume yes: the requested target itself must be a choice */
		for (size_t i = 0; i < d->nchoices; i++)
			if (strcmp(d->choices[i], d->requested) == 0)
				return "allow";
		return "deny";
	case QRX_DENY:
		if (d->deny_reason == QRX_DR_INTERNAL_ERROR)
			return "refused";
		return d->evaluate_allowed ? "allow" : "deny";
	default:
		return "deny";
	}
}

const char *qrx_result_name(enum qrx_result r)
{
	static const char *const n[] = {"deny", "allow", "ask", "error"};
	return (unsigned)r < 4 ? n[r] : "?";
}

const char *qrx_deny_reason_name(enum qrx_deny_reason r)
{
	static const char *const n[] = {"",
					"no_matching_rule",
					"deny_rule",
					"no_target",
					"no_dispvm_base",
					"requires_autostart",
					"no_ask_targets",
					"invalid_requested_target",
					"redirect_not_dispvm_template",
					"loopback",
					"internal_error"};
	return (unsigned)r < sizeof(n) / sizeof(n[0]) ? n[r] : "?";
}

const char *qrx_stage_name(enum qrx_stage s)
{
	static const char *const n[] = {"", "request", "evaluate", "execute", "internal_error"};
	return (unsigned)s < 5 ? n[s] : "?";
}
