/*
 * qrexec.h — Qubes OS 4.2 qrexec policy, read unchanged: the rpc domain's second engine.
 *
 * qrexec_load.c    policy.d folders, !include, !include-dir, !include-service, !compat-4.0,
 *                  file-name rules, all-or-nothing errors ("FILE:LINE: why")
 * qrexec_rule.c    one line -> one rule: fields, tokens, actions and their parameters
 * qrexec_system.c  the "system information" (qubes, or secai's compartments, with type, tags,
 *                  default_dispvm, template_for_dispvms, power state)
 * qrexec_eval.c    the request's normalisation, first match, allow/ask/deny resolution, the
 *                  qrexec-policy-daemon reply and policy.EvalSimple's verdict
 * qrexec_rpc.c     the engine plugged into pol.h as the rpc delegate (policy.d + compartments)
 *
 * The behaviour follows ../shared/conformance/qrexec/SPEC.md (Qubes' v4.2.25 engine) and is
 * checked against its cases.json by `securectl policy qrexec-test`. Where 4.2 crashes (an
 * internal error: the call is refused), so do we. Documented in docs/qrexec.md.
 * Owns: the meaning of a qrexec policy. Never: allows a call after any load error; lets one bad
 * line or file name leave the rest of a policy in force; reads files outside what the policy
 * names; decides for a request it could not normalise.
 */
#ifndef SECAI_QREXEC_H
#define SECAI_QREXEC_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define QRX_NAME_MAX 64	    /* a qube name, type or tag, with its NUL */
#define QRX_TOKEN_MAX 96    /* "@dispvm:" + a name, with room */
#define QRX_MAX_TAGS 32
#define QRX_MAX_DOMAINS 512
#define QRX_CHOICES_MAX (2 * QRX_MAX_DOMAINS + 2)
#define QRX_LOC_MAX 320
#define QRX_MSG_MAX 1024
#define QRX_MAX_FILE_BYTES (4 * 1024 * 1024)
#define QRX_MAX_RULES 200000
#define QRX_MAX_DEPTH 32 /* !include nesting; 4.2 recurses until Python gives up */

/* ---- system information (qrexec_system.c) ---- */
struct qrx_qube {
	char name[QRX_NAME_MAX];
	char type[QRX_NAME_MAX]; /* AdminVM, AppVM, TemplateVM, StandaloneVM, DispVM, ... */
	char tags[QRX_MAX_TAGS][QRX_NAME_MAX];
	size_t ntags;
	char default_dispvm[QRX_NAME_MAX]; /* "" = none */
	bool template_for_dispvms;
	bool running;
};

struct qrx_system {
	struct qrx_qube *q;
	size_t n;
};

/* From {"domains": {NAME: {type, tags, default_dispvm, template_for_dispvms, power_state}}}
 * (Qubes' internal.GetSystemInfo shape, as in cases.json). -1 with err. */
int qrx_system_from_json(const json_t *sys, struct qrx_system *out, char *err, size_t errlen);
/* Adds one qube (copied); -1 with err on a too-long name, too many qubes or tags, duplicates. */
int qrx_system_add(struct qrx_system *s, const struct qrx_qube *q, char *err, size_t errlen);
const struct qrx_qube *qrx_system_find(const struct qrx_system *s, const char *name);
void qrx_system_free(struct qrx_system *s);

/* ---- loading (qrexec_load.c) ---- */
struct qrx_policy;

enum qrx_error_kind { QRX_OK = 0, QRX_SYNTAX_ERROR, QRX_ACCESS_DENIED };

/* Qubes' layout: the *.policy files of policy_dir (normally /etc/qubes/policy.d), relative
 * !include paths resolved against it, !compat-4.0 reading compat_dir (normally
 * /etc/qubes-rpc/policy; NULL = that). Always returns a policy: check qrx_policy_ok(); a policy
 * that failed to load denies everything. NULL only when out of memory. */
struct qrx_policy *qrx_load_dir(const char *policy_dir, const char *compat_dir);

/* Policy text held in memory: files maps names to text; "__main__" is loaded first (or the one
 * text main_text when files is NULL); !include names are looked up literally in files; compat
 * (may be NULL) maps legacy per-service file names to text for !compat-4.0. */
struct qrx_policy *qrx_load_strings(const char *main_text, const json_t *files,
				    const json_t *compat);

void qrx_policy_free(struct qrx_policy *p);
bool qrx_policy_ok(const struct qrx_policy *p);
enum qrx_error_kind qrx_policy_error_kind(const struct qrx_policy *p);
/* "PolicySyntaxError" / "AccessDenied" (Qubes' exception names), "" when ok. */
const char *qrx_error_kind_name(enum qrx_error_kind k);
const char *qrx_policy_error(const struct qrx_policy *p); /* "FILE:LINE: why", "" when ok */
size_t qrx_policy_rule_count(const struct qrx_policy *p);
/* SHA-256 (hex) over every rule as loaded (file, line, text): changes iff the policy does. */
const char *qrx_policy_digest(const struct qrx_policy *p);

/* ---- deciding (qrexec_eval.c) ---- */
enum qrx_result { QRX_DENY = 0, QRX_ALLOW, QRX_ASK, QRX_ERROR /* policy did not load */ };

enum qrx_deny_reason {
	QRX_DR_NONE = 0,
	QRX_DR_NO_MATCHING_RULE,
	QRX_DR_DENY_RULE,
	QRX_DR_NO_TARGET,
	QRX_DR_NO_DISPVM_BASE,
	QRX_DR_REQUIRES_AUTOSTART,
	QRX_DR_NO_ASK_TARGETS,
	QRX_DR_INVALID_REQUESTED_TARGET,
	QRX_DR_REDIRECT_NOT_DISPVM_TEMPLATE,
	QRX_DR_LOOPBACK,
	QRX_DR_INTERNAL_ERROR,
};

enum qrx_stage { QRX_ST_NONE = 0, QRX_ST_REQUEST, QRX_ST_EVALUATE, QRX_ST_EXECUTE, QRX_ST_INTERNAL };

struct qrx_request {
	const char *service;  /* "test.Service" (no '+') */
	const char *argument; /* "+ARG" or "+" */
	const char *source;   /* the caller, as the transport identified it */
	const char *target;   /* raw requested target: "", a name, dom0, @default, @dispvm[:N] */
};

struct qrx_decision {
	enum qrx_result result;
	enum qrx_deny_reason deny_reason; /* for QRX_DENY */
	enum qrx_stage stage;		  /* for QRX_DENY */
	bool evaluate_allowed;		  /* loopback: evaluation said allow, execution refused */
	char target[QRX_TOKEN_MAX];	  /* allow: "name", "dom0" or "@dispvm:T"; else "" */
	char user[QRX_TOKEN_MAX];	  /* allow/ask: user=; "" = DEFAULT */
	bool has_requested;
	char requested[QRX_TOKEN_MAX]; /* the normalised request (requested_target) */
	int notify;		       /* 0/1; -1 when not applicable */
	int autostart;		       /* 0/1; -1 when not applicable */
	size_t nchoices;	       /* ask: sorted choices */
	char choices[QRX_CHOICES_MAX][QRX_TOKEN_MAX];
	char default_target[QRX_TOKEN_MAX]; /* ask: "" = none */
	char rule[QRX_LOC_MAX];		    /* the deciding rule "file:line", "" when none */
	char message[QRX_MSG_MAX];	    /* why, in Qubes' words where it has them */
};

/* Evaluates like qrexec-policy-daemon (normal mode, before the user answers an ask): request
 * normalisation, first match, resolution, then the execution-time loopback check. Never fails:
 * d is always filled (deny on any doubt). Allocation-free. */
void qrx_evaluate(const struct qrx_policy *p, const struct qrx_system *s,
		  const struct qrx_request *r, struct qrx_decision *d);

/* The exact 4.2 qrexec-policy-daemon reply for d: "result=deny", or the allow lines; NULL (no
 * reply, the call is refused) for ask and internal errors. Writes into buf. */
const char *qrx_daemon_response(const struct qrx_decision *d, char *buf, size_t len);
/* policy.EvalSimple (just evaluate, assume yes): "allow", "deny" or "refused". */
const char *qrx_eval_simple(const struct qrx_decision *d);

const char *qrx_result_name(enum qrx_result r);
const char *qrx_deny_reason_name(enum qrx_deny_reason r);
const char *qrx_stage_name(enum qrx_stage s);

/* ---- the rpc delegate (qrexec_rpc.c) ---- */
struct pol_request;
struct pol_decision;
struct compart_set;

struct qrx_rpc {
	char policy_dir[4096];
	char compat_dir[4096];
	struct qrx_system sys;
	struct qrx_policy *policy; /* as last loaded */
	char fingerprint[65];	   /* of policy_dir's entries when it was loaded */
	void *lock;		   /* pthread_mutex_t, opaque here */
};

/* Loads policy_dir (Qubes' rules: one error denies everything, and says so in the log) and the
 * system information from the compartments (dom0 is the host: AdminVM, always running). */
int qrx_rpc_init(struct qrx_rpc *q, const char *policy_dir, const char *compat_dir,
		 const struct compart_set *cs, char *err, size_t errlen);
void qrx_rpc_fini(struct qrx_rpc *q);
/* The pol_rpc_delegate_fn (arg = struct qrx_rpc *): re-reads policy_dir when any file in it
 * changed, then decides. Returns 0 always when a policy folder is configured (a broken policy
 * is a decision: deny). */
int qrx_rpc_delegate(void *arg, const struct pol_request *r, struct pol_decision *d);

#endif
