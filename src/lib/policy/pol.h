/*
 * pol.h — the YAML domain policy (policy.yaml): one default-deny decision point for the domains
 * rpc, tool, egress, model, agent and mcp. Schema: docs/policy-schema.md, docs/policy.schema.json.
 *
 * pol_yaml.c    strict YAML (or JSON) text -> a small node tree with line numbers
 * pol_load.c    the tree -> struct pol_policy (schema checks, file:line errors), canonical digest
 * pol_match.c   globs, path normalisation, ports, the request fields of each domain
 * pol_eval.c    first match, default deny, the rpc delegate hook
 * pol_explain.c why each rule did or did not match; decisions as JSON
 * pol_suite.c   test files of requests with expected decisions (securectl policy test)
 *
 * Owns: the meaning of a policy file and of a decision. Never: allows anything no rule allowed;
 * lets an error, a malformed request or a missing/broken policy turn into anything but deny;
 * accepts a file with an unknown key, a duplicate key, an anchor, alias or tag.
 * A loaded struct pol_policy is immutable and may be shared between threads (pol_ref/pol_unref).
 */
#ifndef SECAI_POL_H
#define SECAI_POL_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define POL_MAX_BYTES (4 * 1024 * 1024) /* largest policy or test file read */
#define POL_MAX_FIELDS 8		/* request fields per domain */
#define POL_VALUE_MAX 4096		/* longest request field value (bytes) */
#define POL_LOC_MAX 320			/* "file:line" */
#define POL_ID_MAX 65
#define POL_REASON_MAX 512
#define POL_EVIDENCE_MAX 256 /* bytes of a value kept as evidence (longer ones are cut) */

enum pol_domain { POL_RPC = 0, POL_TOOL, POL_EGRESS, POL_MODEL, POL_AGENT, POL_MCP, POL_NDOMAINS };
enum pol_verdict { POL_DENY = 0, POL_ALLOW, POL_ASK };

struct pol_policy;

/* One question. Values are owned by the request (pol_request_set copies and normalises). */
struct pol_request {
	enum pol_domain domain;
	char *val[POL_MAX_FIELDS]; /* by the domain's field index; NULL = not given */
};

struct pol_evidence {
	char field[16];
	char value[POL_EVIDENCE_MAX]; /* cut values end in "..." */
};

struct pol_decision {
	enum pol_verdict verdict;
	enum pol_domain domain;
	int by_rule;		  /* 1: a rule decided; 0: default deny, no/broken policy, bad input */
	int policy_ok;		  /* 0: no valid policy was loaded (everything is denied) */
	char rule[POL_LOC_MAX];	  /* deciding rule "file:line", "" when none */
	char rule_id[POL_ID_MAX]; /* its id, "" when it has none */
	char reason[POL_REASON_MAX];
	char digest[65]; /* SHA-256 of the canonical policy, "" when none is loaded */
	unsigned nevidence;
	struct pol_evidence evidence[POL_MAX_FIELDS];
	/* rpc decisions of the qrexec engine only ("" otherwise): where an allowed call goes (a
	 * policy redirect, "dom0", "@dispvm:T"), the user= it runs as, and for ask the choices
	 * (space-separated, sorted) and the pre-selected one. */
	char rpc_target[96];
	char rpc_user[96];
	char rpc_choices[1024];
	char rpc_default[96];
};

/* ---- names ---- */
const char *pol_domain_name(enum pol_domain d);
int pol_domain_parse(const char *s, enum pol_domain *out);
const char *pol_verdict_name(enum pol_verdict v);
int pol_verdict_parse(const char *s, enum pol_verdict *out);
/* The request fields of a domain, NULL-terminated, in index order. */
const char *const *pol_domain_fields(enum pol_domain d);
/* Field index of name in domain d, or -1. */
int pol_field_index(enum pol_domain d, const char *name);

/* ---- loading ---- */
/* Parses and validates buf[0..len) (name is used in "name:line: why" errors). NULL on error. */
struct pol_policy *pol_load_buffer(const char *name, const char *buf, size_t len, char *err,
				   size_t errlen);
/* Reads path (at most POL_MAX_BYTES) and loads it; a missing file is an error too. */
struct pol_policy *pol_load_file(const char *path, char *err, size_t errlen);
/* A policy that denies everything and says why in every decision (no file, or a broken one). */
struct pol_policy *pol_broken(const char *source, const char *why);
struct pol_policy *pol_ref(struct pol_policy *p);
void pol_unref(struct pol_policy *p); /* NULL is a no-op */

int pol_ok(const struct pol_policy *p);		   /* 1 loaded and valid, 0 broken */
const char *pol_source(const struct pol_policy *p); /* file name as given */
const char *pol_broken_reason(const struct pol_policy *p); /* "" when ok */
const char *pol_digest(const struct pol_policy *p);	      /* hex, "" when broken */
size_t pol_rule_count(const struct pol_policy *p, enum pol_domain d);
/* The canonical bytes the digest is the SHA-256 of (canonical JSON, see docs). */
const char *pol_canonical(const struct pol_policy *p, size_t *len);

/* ---- requests ---- */
void pol_request_init(struct pol_request *r, enum pol_domain d);
void pol_request_free(struct pol_request *r);
/* Sets field name to value (validated and normalised: hosts lower-cased, paths made absolute
 * and free of "." and ".."; ports 1..65535; sha256 64 hex). -1 with err on a bad field/value. */
int pol_request_set(struct pol_request *r, const char *name, const char *value, char *err,
		    size_t errlen);
/* From a JSON object of field -> string (or integer for port). -1 with err. */
int pol_request_from_json(struct pol_request *r, enum pol_domain d, const json_t *obj, char *err,
			  size_t errlen);
/* From "key=value" words (securectl policy explain). -1 with err. */
int pol_request_from_args(struct pol_request *r, enum pol_domain d, int argc, char **argv,
			  char *err, size_t errlen);
/* The request as a JSON object of its given fields (new reference). */
json_t *pol_request_json(const struct pol_request *r);

/* ---- deciding ---- */
/* First matching rule of the request's domain decides; none = deny. p NULL = deny ("no policy").
 * For rpc, when no YAML rule matched and a delegate is set, the delegate decides. Never fails:
 * d is always filled, with deny on any doubt. */
void pol_decide(const struct pol_policy *p, const struct pol_request *r, struct pol_decision *d);

/* The rpc delegate: the one place the Qubes qrexec engine plugs in (issue 7/7, item 3).
 * Returns 0 when it decided (d->verdict, rule, reason filled; pol_decide sets domain, digest,
 * evidence defaults), 1 when it has no rule for the call (default deny follows), -1 on error
 * (deny). Set it once at start-up, before any pol_decide runs; NULL removes it. */
typedef int (*pol_rpc_delegate_fn)(void *arg, const struct pol_request *r, struct pol_decision *d);
void pol_set_rpc_delegate(pol_rpc_delegate_fn fn, void *arg);

/* One line of an explanation: a rule that was tried, in order. */
struct pol_trace_step {
	const char *loc; /* "file:line" */
	const char *id;	 /* "" when none */
	enum pol_verdict decision;
	int matched;
	char why[POL_REASON_MAX]; /* for a miss: the first condition that failed and why */
};
typedef void (*pol_trace_fn)(void *arg, const struct pol_trace_step *step);
/* pol_decide, calling trace for every rule tried (the matching one last). */
void pol_explain(const struct pol_policy *p, const struct pol_request *r, struct pol_decision *d,
		 pol_trace_fn trace, void *arg);

/* The decision as JSON: {decision, domain, rule, rule_id, reason, digest, policy_ok, evidence}. */
json_t *pol_decision_json(const struct pol_decision *d);

/* ---- test files (securectl policy test) ---- */
struct pol_suite_result {
	unsigned total, passed, failed;
};
/* Runs every case of the test file at path against p (or, when p is NULL, against the policy
 * the file names with `policy:`, relative to the test file, else the file default_policy when
 * not NULL; a policy that does not load is an error). Prints one line per case to out
 * ("PASS name" / "FAIL name: want allow, got deny by file:line"). -1 with err when the test file
 * itself is invalid (then nothing is counted). */
int pol_suite_run(const char *path, const struct pol_policy *p, const char *default_policy,
		  FILE *out,
		  struct pol_suite_result *res, char *err, size_t errlen);

#endif
