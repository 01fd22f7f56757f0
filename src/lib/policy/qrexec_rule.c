/*
 * qrexec_rule.c — one qrexec policy line: SERVICE ARGUMENT SOURCE TARGET ACTION [KEY=VALUE...].
 *
 * Owns: the token grammar (which of dom0, @adminvm, *, @anyvm, @default, @type:, @tag:,
 * @dispvm, @dispvm:NAME, @dispvm:@tag: stand where: SPEC §4.1), service and argument
 * characters, actions and their parameters, with Qubes' error texts.
 * Never: accepts a line Qubes' 4.2 parser refuses (so no inline comments, no comma-separated
 * parameters, no `+` in a service, no unknown key); allocates before a field is checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/qrexec_impl.h"

static const char *ctx_name(enum qrx_tok_ctx c)
{
	switch (c) {
	case QC_SOURCE:
		return "source";
	case QC_TARGET:
		return "target";
	case QC_REDIRECT:
		return "redirect";
	default:
		return "intendedtarget";
	}
}

/* Which token kinds each context accepts (SPEC §4.1). */
static bool kind_valid(enum qrx_tok_kind k, enum qrx_tok_ctx c)
{
	switch (k) {
	case QT_NAME:
	case QT_ADMINVM:
		return true;
	case QT_STAR:
	case QT_ANYVM:
	case QT_TYPE:
	case QT_TAG:
	case QT_DISPVM_TAG:
		return c == QC_SOURCE || c == QC_TARGET;
	case QT_DEFAULT:
		return c == QC_TARGET || c == QC_REQUESTED;
	case QT_DISPVM:
		return c != QC_SOURCE;
	case QT_DISPVM_NAME:
		return true;
	}
	return false;
}

static int tok_set(struct qrx_tok *t, enum qrx_tok_kind k, const char *val)
{
	t->kind = k;
	t->val = NULL;
	if (val != NULL && (t->val = strdup(val)) == NULL)
		return -1;
	return 0;
}

int qrx_tok_parse(const char *s, enum qrx_tok_ctx ctx, struct qrx_tok *t, char *err,
		  size_t errlen)
{
	static const struct {
		const char *word;
		enum qrx_tok_kind kind;
	} exact[] = {{"@adminvm", QT_ADMINVM}, {"@anyvm", QT_ANYVM}, {"@default", QT_DEFAULT},
		     {"@dispvm", QT_DISPVM}};
	/* longest prefix first: @dispvm:@tag: wins over @dispvm: */
	static const struct {
		const char *prefix;
		enum qrx_tok_kind kind;
	} prefixed[] = {{"@dispvm:@tag:", QT_DISPVM_TAG},
			{"@dispvm:", QT_DISPVM_NAME},
			{"@type:", QT_TYPE},
			{"@tag:", QT_TAG}};

	memset(t, 0, sizeof(*t));
	if (strcmp(s, "dom0") == 0) /* an alias of @adminvm everywhere */
		return tok_set(t, QT_ADMINVM, NULL);
	if (s[0] != '@' && strcmp(s, "*") != 0)
		return tok_set(t, QT_NAME, s);
	if (strcmp(s, "*") == 0) {
		if (!kind_valid(QT_STAR, ctx))
			goto invalid;
		return tok_set(t, QT_STAR, NULL);
	}
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
		if (strcmp(s, exact[i].word) != 0)
			continue;
		if (!kind_valid(exact[i].kind, ctx))
			goto invalid;
		return tok_set(t, exact[i].kind, NULL);
	}
	for (size_t i = 0; i < sizeof(prefixed) / sizeof(prefixed[0]); i++) {
		size_t pl = strlen(prefixed[i].prefix);

		if (strncmp(s, prefixed[i].prefix, pl) != 0 || !kind_valid(prefixed[i].kind, ctx))
			continue;
		if (s[pl] == '\0') {
			snprintf(err, errlen, "invalid empty %s token: '%s'", prefixed[i].prefix, s);
			return -1;
		}
		if (prefixed[i].kind == QT_DISPVM_NAME && s[pl] == '@')
			goto invalid; /* @dispvm:@x other than @dispvm:@tag: */
		return tok_set(t, prefixed[i].kind, s + pl);
	}
invalid:
	snprintf(err, errlen, "invalid %s token: '%s'", ctx_name(ctx), s);
	return -1;
}

void qrx_tok_free(struct qrx_tok *t)
{
	free(t->val);
	t->val = NULL;
}

const char *qrx_tok_str(const struct qrx_tok *t, char *buf, size_t len)
{
	switch (t->kind) {
	case QT_NAME:
		snprintf(buf, len, "%s", t->val);
		break;
	case QT_ADMINVM:
		snprintf(buf, len, "@adminvm");
		break;
	case QT_STAR:
		snprintf(buf, len, "*");
		break;
	case QT_ANYVM:
		snprintf(buf, len, "@anyvm");
		break;
	case QT_DEFAULT:
		snprintf(buf, len, "@default");
		break;
	case QT_TYPE:
		snprintf(buf, len, "@type:%s", t->val);
		break;
	case QT_TAG:
		snprintf(buf, len, "@tag:%s", t->val);
		break;
	case QT_DISPVM:
		snprintf(buf, len, "@dispvm");
		break;
	case QT_DISPVM_NAME:
		snprintf(buf, len, "@dispvm:%s", t->val);
		break;
	case QT_DISPVM_TAG:
		snprintf(buf, len, "@dispvm:@tag:%s", t->val);
		break;
	}
	return buf;
}

/* Writes "('a', 'b')" (Python's tuple of the sorted distinct bad characters) into out. */
static void bad_chars(const char *s, const char *extra, char *out, size_t len)
{
	bool seen[256] = {false};
	size_t o = 0, count = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
			  (extra != NULL && *p != '\0' && strchr(extra, *p) != NULL);
		if (!ok)
			seen[*p] = true;
	}
	o += (size_t)snprintf(out + o, len - o, "(");
	for (int c = 1; c < 256 && o < len; c++) {
		if (!seen[c])
			continue;
		if (c >= 0x20 && c < 0x7f)
			o += (size_t)snprintf(out + o, len - o, "%s'%c'", count ? ", " : "", c);
		else
			o += (size_t)snprintf(out + o, len - o, "%s'\\x%02x'", count ? ", " : "", c);
		count++;
	}
	if (o < len)
		snprintf(out + o, len - o, "%s)", count == 1 ? "," : "");
}

static bool has_bad(const char *s, const char *extra)
{
	char buf[8];

	bad_chars(s, extra, buf, sizeof(buf));
	return strcmp(buf, "()") != 0;
}

int qrx_check_service_arg(const char *service, const char *argument, char *err, size_t errlen)
{
	char bad[128];

	if (strcmp(service, "*") != 0 && has_bad(service, NULL)) {
		bad_chars(service, NULL, bad, sizeof(bad));
		snprintf(err, errlen, "service '%s' contains invalid characters: %s", service, bad);
		return -1;
	}
	if (strcmp(argument, "*") != 0) {
		if (argument[0] != '+') {
			snprintf(err, errlen, "argument '%s' does not start with +", argument);
			return -1;
		}
		if (has_bad(argument, "+")) {
			bad_chars(argument, "+", bad, sizeof(bad));
			snprintf(err, errlen, "argument '%s' contains invalid characters: %s",
				 argument, bad);
			return -1;
		}
	}
	if (strcmp(service, "*") == 0 && strcmp(argument, "*") != 0) {
		snprintf(err, errlen, "only * argument allowed for * service");
		return -1;
	}
	return 0;
}

static int yes_no(const char *key, const char *v, int *out, char *err, size_t errlen)
{
	if (strcmp(v, "yes") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0)
		*out = 0;
	else {
		snprintf(err, errlen, "'%s' is '%s', but can be only 'yes' or 'no'", key, v);
		return -1;
	}
	return 0;
}

static const char *action_class(enum qrx_action a)
{
	return a == QA_ALLOW ? "Allow" : a == QA_DENY ? "Deny" : "Ask";
}

/* The keys an action takes (SPEC §3.5). */
static bool key_allowed(enum qrx_action a, const char *k)
{
	if (strcmp(k, "notify") == 0)
		return true;
	if (a == QA_DENY)
		return false;
	if (!strcmp(k, "target") || !strcmp(k, "user") || !strcmp(k, "autostart"))
		return true;
	return a == QA_ASK && strcmp(k, "default_target") == 0;
}

#define QRX_MAX_PARAMS 16

int qrx_rule_parse(char **f, size_t nf, struct qrx_rule *r, char *err, size_t errlen)
{
	const char *keys[QRX_MAX_PARAMS], *vals[QRX_MAX_PARAMS];
	char bad[1024];
	size_t np = 0, o = 0;

	memset(r, 0, sizeof(*r));
	r->notify = r->autostart = -1;
	if (nf < 5) {
		snprintf(err, errlen, "wrong number of fields");
		return -1;
	}
	if (qrx_check_service_arg(f[0], f[1], err, errlen) != 0)
		return -1;
	if (qrx_tok_parse(f[2], QC_SOURCE, &r->source, err, errlen) != 0)
		return -1;
	if (qrx_tok_parse(f[3], QC_TARGET, &r->target, err, errlen) != 0)
		goto fail;
	if (strcmp(f[4], "allow") == 0)
		r->action = QA_ALLOW;
	else if (strcmp(f[4], "deny") == 0)
		r->action = QA_DENY;
	else if (strcmp(f[4], "ask") == 0)
		r->action = QA_ASK;
	else {
		snprintf(err, errlen, "invalid action: %s", f[4]);
		goto fail;
	}
	/* parameters: KEY=VALUE, split at the first '=', each key once */
	for (size_t i = 5; i < nf; i++) {
		char *eq = strchr(f[i], '=');

		if (eq == NULL) {
			snprintf(err, errlen, "invalid action parameter syntax: '%s'", f[i]);
			goto fail;
		}
		*eq = '\0';
		for (size_t j = 0; j < np; j++) {
			if (strcmp(keys[j], f[i]) == 0) {
				snprintf(err, errlen, "parameter given twice: '%s'", f[i]);
				*eq = '=';
				goto fail;
			}
		}
		if (np == QRX_MAX_PARAMS) {
			snprintf(err, errlen, "too many action parameters");
			*eq = '=';
			goto fail;
		}
		keys[np] = f[i];
		vals[np++] = eq + 1;
	}
	bad[0] = '\0';
	for (size_t j = 0; j < np; j++)
		if (!key_allowed(r->action, keys[j]) && o < sizeof(bad))
			o += (size_t)snprintf(bad + o, sizeof(bad) - o, "%s'%s'", o ? ", " : "",
					      keys[j]);
	if (o > 0) {
		snprintf(err, errlen, "invalid parameters for action %s: [%s]",
			 action_class(r->action), bad);
		goto fail;
	}
	for (size_t j = 0; j < np; j++) {
		const char *k = keys[j], *v = vals[j];

		if (strcmp(k, "notify") == 0 || strcmp(k, "autostart") == 0) {
			if (yes_no(k, v, k[0] == 'n' ? &r->notify : &r->autostart, err, errlen))
				goto fail;
		} else if (strcmp(k, "user") == 0) {
			/* not checked by Qubes; empty means "no user given" */
			if (v[0] != '\0' && (r->user = strdup(v)) == NULL)
				goto oom;
		} else if (v[0] == '\0') {
			/* 4.2: an empty target=/default_target= parses and is ignored */
		} else if (strcmp(k, "target") == 0) {
			if (qrx_tok_parse(v, QC_REDIRECT, &r->redirect, err, errlen) != 0)
				goto fail;
			r->has_redirect = true;
		} else {
			if (qrx_tok_parse(v, QC_REDIRECT, &r->default_target, err, errlen) != 0)
				goto fail;
			r->has_default = true;
		}
	}
	if (r->target.kind == QT_DEFAULT && r->action == QA_ALLOW && !r->has_redirect) {
		snprintf(err, errlen, "allow action for @default rule must specify target= option");
		goto fail;
	}
	if ((strcmp(f[0], "*") != 0 && (r->service = strdup(f[0])) == NULL) ||
	    (strcmp(f[1], "*") != 0 && (r->argument = strdup(f[1])) == NULL))
		goto oom;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	qrx_rule_free(r);
	return -1;
}

void qrx_rule_free(struct qrx_rule *r)
{
	free(r->service);
	free(r->argument);
	free(r->user);
	qrx_tok_free(&r->source);
	qrx_tok_free(&r->target);
	qrx_tok_free(&r->redirect);
	qrx_tok_free(&r->default_target);
	memset(r, 0, sizeof(*r));
}
