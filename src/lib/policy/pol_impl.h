/*
 * pol_impl.h — the policy engine's internals, shared by the pol_*.c files only.
 *
 * Owns: the node tree of a parsed YAML file, the compiled rule and condition structs, the field
 * type table. Never: included from outside src/lib/policy/ (the API is pol.h).
 */
#ifndef SECAI_POL_IMPL_H
#define SECAI_POL_IMPL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/pol.h"

/* ---- pol_yaml.c: strict YAML -> tree ---- */
#define POL_YAML_MAX_DEPTH 32
#define POL_YAML_MAX_NODES 500000

enum pol_node_kind { PN_SCALAR, PN_MAP, PN_SEQ };

struct pol_node {
	enum pol_node_kind kind;
	size_t line;	/* 1-based */
	char *str;	/* scalar text (NUL-terminated; may hold no NUL inside) */
	size_t len;
	bool plain;	/* plain (unquoted) scalar */
	struct pol_node **kids; /* SEQ: items; MAP: key, value, key, value... */
	size_t n;		/* number of kids */
};

/* Parses buf (one YAML document; JSON is fine too). Refuses anchors, aliases, tags, duplicate
 * keys, non-scalar keys, more than one document, depth > POL_YAML_MAX_DEPTH. *out NULL for an
 * empty document. -1 with "name:line: why" in err. */
int pol_yaml_parse(const char *name, const char *buf, size_t len, struct pol_node **out, char *err,
		   size_t errlen);
void pol_node_free(struct pol_node *n);
/* "a mapping", "a sequence", "a scalar" */
const char *pol_node_kind_name(const struct pol_node *n);
bool pol_node_is_null(const struct pol_node *n);
/* Writes v quoted for a message (non-printable as '?', at most 40 chars shown). */
const char *pol_quote(char out[64], const char *v, size_t n);

/* ---- field types (pol_match.c) ---- */
enum pol_ftype {
	PF_TEXT,   /* case-sensitive glob: * any run, ? one char */
	PF_ICASE,  /* glob compared case-insensitively (values lower-cased) */
	PF_UPPER,  /* glob compared case-insensitively (values upper-cased: HTTP methods) */
	PF_HOST,   /* lower-cased host name or address literal */
	PF_PATH,   /* absolute normalised path; * stays within one component, ** crosses */
	PF_PORT,   /* 1..65535; patterns are ports or ranges LO-HI */
	PF_SHA256, /* 64 lowercase hex; patterns are exact digests */
};

struct pol_field {
	const char *name;
	enum pol_ftype type;
};

const struct pol_field *pol_field_def(enum pol_domain d, int idx);
int pol_field_count(enum pol_domain d);

/* Glob match of text against pat (see PF_* for the path flavour). */
bool pol_glob(const char *pat, const char *text, bool path);
/* Normalises an absolute path in place ("//" -> "/", "." dropped, ".." pops). -1 if relative. */
int pol_path_normalise(char *p);

/* ---- compiled rules ---- */
enum pol_op { PO_ANY, PO_NOT, PO_REGEX };

struct pol_port_range {
	long lo, hi;
};

struct pol_cond {
	int field; /* index in the domain's fields */
	enum pol_op op;
	size_t line;
	char **pats; /* PO_ANY / PO_NOT: globs, digests, or port texts */
	size_t npats;
	struct pol_port_range *ports; /* PF_PORT: parsed pats */
	regex_t re;		      /* PO_REGEX */
	char *re_src;
	bool re_ok;
};

struct pol_rule {
	char loc[POL_LOC_MAX];
	char id[POL_ID_MAX];
	char *reason; /* NULL = none */
	enum pol_verdict decision;
	struct pol_cond *conds;
	size_t nconds;
};

/* pol_index.c: the rules of one domain bucketed by the literals of their key field. */
struct pol_bucket {
	const char *key; /* NULL = empty slot */
	uint32_t *rules; /* ascending rule indexes */
	uint32_t n, cap;
};

struct pol_index {
	int field; /* key field index, -1 = no index (scan every rule) */
	size_t nbuckets;
	struct pol_bucket *b;
	uint32_t *wild; /* rules that do not pin the key field, ascending */
	uint32_t nwild;
};

struct pol_policy {
	int refs; /* atomic */
	int ok;
	char source[POL_LOC_MAX - 16];
	char *broken_why;
	char digest[65];
	char *canon;
	size_t canon_len;
	struct pol_rule *rules[POL_NDOMAINS];
	size_t nrules[POL_NDOMAINS];
	struct pol_index index[POL_NDOMAINS];
};

/* Builds ix over rules[0..n) of domain d (0, or -1 out of memory; ix->field -1 = none). */
int pol_index_build(struct pol_index *ix, const struct pol_rule *rules, size_t n,
		    enum pol_domain d);
void pol_index_free(struct pol_index *ix);
/* The next candidate rule index for a request whose key field is value (NULL = not given),
 * merging its bucket and the wild rules in order; *bi, *wi start at 0. n when done. */
size_t pol_index_next(const struct pol_index *ix, const char *value, size_t *bi, size_t *wi,
		      size_t n);

/* pol_match.c: does cond hold for r? When it does not and why != NULL, writes why. */
bool pol_cond_match(const struct pol_cond *c, const struct pol_request *r, char *why,
		    size_t whylen);
/* pol_eval.c: the evaluator both pol_decide and pol_explain run. */
void pol_eval(const struct pol_policy *p, const struct pol_request *r, struct pol_decision *d,
	      pol_trace_fn trace, void *arg);

#endif
