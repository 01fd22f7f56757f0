/*
 * qrexec_impl.h — the qrexec engine's internals, shared by the qrexec_*.c files only.
 *
 * Owns: the compiled token, rule and policy structs. Never: included from outside
 * src/lib/policy/ (the API is qrexec.h).
 */
#ifndef SECAI_QREXEC_IMPL_H
#define SECAI_QREXEC_IMPL_H

#include "policy/qrexec.h"

/* What a qube token in a rule or request is (SPEC §4). */
enum qrx_tok_kind {
	QT_NAME,	/* a literal qube name (not checked) */
	QT_ADMINVM,	/* @adminvm (and dom0) */
	QT_STAR,	/* * */
	QT_ANYVM,	/* @anyvm */
	QT_DEFAULT,	/* @default */
	QT_TYPE,	/* @type:T */
	QT_TAG,		/* @tag:T */
	QT_DISPVM,	/* @dispvm */
	QT_DISPVM_NAME, /* @dispvm:NAME */
	QT_DISPVM_TAG,	/* @dispvm:@tag:T */
};

/* Where a token stands; decides which kinds are valid and the error's wording. */
enum qrx_tok_ctx { QC_SOURCE, QC_TARGET, QC_REDIRECT, QC_REQUESTED };

struct qrx_tok {
	enum qrx_tok_kind kind;
	char *val; /* NAME: the name; TYPE/TAG/DISPVM_*: the part after the prefix; else NULL */
};

enum qrx_action { QA_ALLOW, QA_DENY, QA_ASK };

struct qrx_rule {
	char *service;	/* NULL = * */
	char *argument; /* NULL = *; else "+..." */
	struct qrx_tok source, target;
	enum qrx_action action;
	bool has_redirect; /* target= */
	struct qrx_tok redirect;
	bool has_default; /* default_target= */
	struct qrx_tok default_target;
	char *user; /* NULL = the target's default user */
	int notify; /* -1: the action's default */
	int autostart;
	char loc[QRX_LOC_MAX]; /* "file:line" */
};

struct qrx_policy {
	struct qrx_rule *rules;
	size_t n, cap;
	/* first-match index: the rules of a named service, sorted by (service, position), and the
	 * positions of the rules for any service (*), in order; merging the two in position order
	 * visits exactly the rules that can match, in policy order */
	size_t *by_service, *any_service;
	size_t n_any;
	enum qrx_error_kind error_kind;
	char error[QRX_MSG_MAX];
	char digest[65];
};

/* Parses a token in context ctx. 0, or -1 with Qubes' message in err. */
int qrx_tok_parse(const char *s, enum qrx_tok_ctx ctx, struct qrx_tok *t, char *err,
		  size_t errlen);
void qrx_tok_free(struct qrx_tok *t);
/* The token as text ("@dispvm:x", "@adminvm", "name", ...), into buf. */
const char *qrx_tok_str(const struct qrx_tok *t, char *buf, size_t len);

/* Parses one rule from its whitespace-split fields (service, argument, source, target, action,
 * params...). 0, or -1 with the message (without "file:line: ") in err. */
int qrx_rule_parse(char **fields, size_t nfields, struct qrx_rule *r, char *err, size_t errlen);
void qrx_rule_free(struct qrx_rule *r);
/* Checks a service and argument pair as rule columns 1-2 (also !include-service's). */
int qrx_check_service_arg(const char *service, const char *argument, char *err, size_t errlen);

#endif
