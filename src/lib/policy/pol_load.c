/*
 * pol_load.c — policy.yaml into struct pol_policy: the schema, file:line errors, the digest.
 *
 * Owns: what a valid policy file is (docs/policy-schema.md and docs/policy.schema.json must say
 * the same), the canonical JSON form of a policy and its SHA-256 (the digest every decision
 * carries), reference counting of loaded policies.
 * Never: returns a half-validated policy (any error frees everything and returns NULL); accepts
 * an unknown key, a missing `version` or `decision`, a duplicate rule id, an empty pattern list,
 * a regex on a port or digest field, or a rule that could never be reached by a bad pattern.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "json.h"
#include "policy/pol_impl.h"
#include "sha256.h"

#define POL_PATTERN_MAX 1024
#define POL_REGEX_MAX 256
#define POL_REASON_LEN 256

struct pol_ld {
	const char *name;
	char *err;
	size_t errlen;
	struct pol_policy *p;
	json_t *canon; /* the canonical form being built */
};

static int ld_fail(struct pol_ld *l, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ld_fail(struct pol_ld *l, size_t line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->err == NULL || l->errlen == 0)
		return -1;
	n = snprintf(l->err, l->errlen, "%s:%zu: ", l->name, line);
	if (n < 0 || (size_t)n >= l->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- freeing and references ---- */

static void pol_cond_clear(struct pol_cond *c)
{
	for (size_t i = 0; i < c->npats; i++)
		free(c->pats[i]);
	free(c->pats);
	free(c->ports);
	if (c->re_ok)
		regfree(&c->re);
	free(c->re_src);
}

static void pol_free(struct pol_policy *p)
{
	for (int d = 0; d < POL_NDOMAINS; d++) {
		for (size_t i = 0; i < p->nrules[d]; i++) {
			struct pol_rule *r = &p->rules[d][i];
			for (size_t j = 0; j < r->nconds; j++)
				pol_cond_clear(&r->conds[j]);
			free(r->conds);
			free(r->reason);
		}
		free(p->rules[d]);
		pol_index_free(&p->index[d]);
	}
	free(p->broken_why);
	free(p->canon);
	free(p);
}

struct pol_policy *pol_ref(struct pol_policy *p)
{
	if (p != NULL)
		__atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
	return p;
}

void pol_unref(struct pol_policy *p)
{
	if (p != NULL && __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0)
		pol_free(p);
}

int pol_ok(const struct pol_policy *p)
{
	return p != NULL && p->ok;
}

const char *pol_source(const struct pol_policy *p)
{
	return p ? p->source : "";
}

const char *pol_broken_reason(const struct pol_policy *p)
{
	if (p == NULL)
		return "no policy is loaded";
	return p->broken_why ? p->broken_why : "";
}

const char *pol_digest(const struct pol_policy *p)
{
	return p ? p->digest : "";
}

size_t pol_rule_count(const struct pol_policy *p, enum pol_domain d)
{
	return p && (unsigned)d < POL_NDOMAINS ? p->nrules[d] : 0;
}

const char *pol_canonical(const struct pol_policy *p, size_t *len)
{
	if (p == NULL || p->canon == NULL) {
		*len = 0;
		return "";
	}
	*len = p->canon_len;
	return p->canon;
}

struct pol_policy *pol_broken(const char *source, const char *why)
{
	struct pol_policy *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->refs = 1;
	snprintf(p->source, sizeof(p->source), "%s", source ? source : "(none)");
	p->broken_why = strdup(why && why[0] ? why : "no policy");
	if (p->broken_why == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

/* ---- scalars ---- */

/* A non-empty string scalar without control characters, at most max bytes. */
static int ld_string(struct pol_ld *l, const struct pol_node *n, const char *what, size_t max)
{
	if (n == NULL || n->kind != PN_SCALAR)
		return ld_fail(l, n ? n->line : 1, "%s: expected a string, got %s", what,
			       pol_node_kind_name(n));
	if (pol_node_is_null(n) || n->len == 0)
		return ld_fail(l, n->line, "%s: must not be empty", what);
	if (n->len > max)
		return ld_fail(l, n->line, "%s: is %zu bytes, longer than the maximum %zu", what,
			       n->len, max);
	for (size_t i = 0; i < n->len; i++) {
		unsigned char c = (unsigned char)n->str[i];
		if (c < 0x20 || c == 0x7f)
			return ld_fail(l, n->line,
				       "%s: control characters (byte 0x%02x) are not allowed", what,
				       c);
	}
	return 0;
}

static int ld_port_range(struct pol_ld *l, const struct pol_node *n, const char *what,
			 struct pol_port_range *pr)
{
	char q[64], *end;
	const char *s = n->str, *dash;
	long lo, hi;

	if (n->len == 0 || n->len > 11)
		goto bad;
	for (size_t i = 0; i < n->len; i++)
		if (!isdigit((unsigned char)s[i]) && s[i] != '-')
			goto bad;
	dash = strchr(s, '-');
	if (s[0] == '0' || (dash && (dash[1] == '0' || dash == s)))
		goto bad;
	errno = 0;
	lo = strtol(s, &end, 10);
	if (dash) {
		if (end != dash)
			goto bad;
		hi = strtol(dash + 1, &end, 10);
	} else {
		hi = lo;
	}
	if (errno != 0 || *end != '\0' || lo < 1 || hi > 65535 || lo > hi)
		goto bad;
	pr->lo = lo;
	pr->hi = hi;
	return 0;
bad:
	return ld_fail(l, n->line, "%s: %s is not a port or a range LO-HI within 1..65535", what,
		       pol_quote(q, n->str, n->len));
}

/* Checks and normalises one pattern of field type t; returns a malloc'd copy in *out. */
static int ld_pattern(struct pol_ld *l, const struct pol_node *n, enum pol_ftype t,
		      const char *what, char **out, struct pol_port_range *pr)
{
	char q[64], *s;

	*out = NULL;
	if (n->kind != PN_SCALAR)
		return ld_fail(l, n->line, "%s: expected a pattern (a string), got %s", what,
			       pol_node_kind_name(n));
	if (ld_string(l, n, what, POL_PATTERN_MAX) != 0)
		return -1;
	if (t == PF_PORT && ld_port_range(l, n, what, pr) != 0)
		return -1;
	s = strdup(n->str);
	if (s == NULL)
		return ld_fail(l, n->line, "out of memory");
	switch (t) {
	case PF_ICASE:
		for (char *c = s; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		break;
	case PF_UPPER:
		for (char *c = s; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		break;
	case PF_HOST:
		for (char *c = s; *c; c++) {
			if (isupper((unsigned char)*c)) {
				free(s);
				return ld_fail(l, n->line,
					       "%s: %s: write host patterns in lowercase (hosts are "
					       "compared lower-cased)",
					       what, pol_quote(q, n->str, n->len));
			}
			if (!(isalnum((unsigned char)*c) || strchr(".-_:*?", *c))) {
				free(s);
				return ld_fail(l, n->line,
					       "%s: %s is not a host pattern (letters, digits, . - _ "
					       ": and the wildcards * ?)",
					       what, pol_quote(q, n->str, n->len));
			}
		}
		break;
	case PF_SHA256:
		if (n->len != 64 || strspn(s, "0123456789abcdef") != 64) {
			free(s);
			return ld_fail(l, n->line,
				       "%s: %s is not a SHA-256 (64 lowercase hex digits)", what,
				       pol_quote(q, n->str, n->len));
		}
		break;
	case PF_PATH:
		if (s[0] != '/' && s[0] != '*') {
			free(s);
			return ld_fail(l, n->line,
				       "%s: %s: path patterns must start with / (or *)", what,
				       pol_quote(q, n->str, n->len));
		}
		break;
	default:
		break;
	}
	*out = s;
	return 0;
}

/* ---- one condition: field: PATTERN | [PATTERN...] | {not: ...} | {regex: ERE} ---- */

static int ld_pattern_list(struct pol_ld *l, struct pol_cond *c, const struct pol_node *n,
			   enum pol_ftype t, const char *what)
{
	const struct pol_node *const *items = (const struct pol_node *const *)&n;
	size_t count = 1;

	if (n->kind == PN_SEQ) {
		items = (const struct pol_node *const *)n->kids;
		count = n->n;
		if (count == 0)
			return ld_fail(l, n->line, "%s: an empty list matches nothing (give at "
						   "least one pattern)",
				       what);
	} else if (n->kind != PN_SCALAR) {
		return ld_fail(l, n->line, "%s: expected a pattern or a list of patterns, got %s",
			       what, pol_node_kind_name(n));
	}
	c->pats = calloc(count, sizeof(*c->pats));
	c->ports = t == PF_PORT ? calloc(count, sizeof(*c->ports)) : NULL;
	if (c->pats == NULL || (t == PF_PORT && c->ports == NULL))
		return ld_fail(l, n->line, "out of memory");
	for (size_t i = 0; i < count; i++) {
		if (ld_pattern(l, items[i], t, what, &c->pats[i], c->ports ? &c->ports[i] : NULL) !=
		    0)
			return -1;
		c->npats++;
	}
	return 0;
}

/* True for stacked quantifiers, a bound over 64, or more than 16 quantifiers (outside [...]). */
static bool ld_regex_too_costly(const char *re)
{
	int count = 0;
	bool prev_q = false;

	for (const char *c = re; *c != '\0'; c++) {
		bool q = false;
		if (*c == '\\' && c[1] != '\0') {
			c++;
		} else if (*c == '[') { /* skip a bracket expression: []a] and [^]a] start with ] */
			c++;
			if (*c == '^')
				c++;
			if (*c == ']')
				c++;
			while (*c != '\0' && *c != ']')
				c++;
			if (*c == '\0')
				return false; /* regcomp reports the syntax error */
		} else if (*c == '*' || *c == '+' || *c == '?') {
			q = true;
		} else if (*c == '{') {
			char *end;
			long a = strtol(c + 1, &end, 10), b = a;
			if (*end == ',')
				b = end[1] == '}' ? 1000 : strtol(end + 1, &end, 10);
			if (a > 64 || b > 64)
				return true;
			q = true;
		}
		if (q && (prev_q || ++count > 16))
			return true;
		if (*c == '{')
			while (c[1] != '\0' && c[1] != '}')
				c++;
		prev_q = q;
	}
	return false;
}

static int ld_regex(struct pol_ld *l, struct pol_cond *c, const struct pol_node *n,
		    enum pol_ftype t, const char *what)
{
	char anchored[POL_REGEX_MAX + 8], msg[160];
	int rc;

	if (t == PF_PORT || t == PF_SHA256)
		return ld_fail(l, n->line, "%s: regex is not allowed on this field (use a list)",
			       what);
	if (ld_string(l, n, what, POL_REGEX_MAX) != 0)
		return -1;
	for (size_t i = 0; i + 1 < n->len; i++)
		if (n->str[i] == '\\' && n->str[i + 1] >= '1' && n->str[i + 1] <= '9')
			return ld_fail(l, n->line, "%s: back-references are not allowed", what);
	/* glibc's regcomp can take exponential memory on stacked or large repetitions: refuse them */
	if (ld_regex_too_costly(n->str))
		return ld_fail(l, n->line,
			       "%s: repetitions must not follow each other (like \"a*+\"), exceed "
			       "{,64}, or number more than 16",
			       what);
	/* the whole value must match: ^(...)$ */
	snprintf(anchored, sizeof(anchored), "^(%s)$", n->str);
	rc = regcomp(&c->re, anchored, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		regerror(rc, &c->re, msg, sizeof(msg));
		return ld_fail(l, n->line, "%s: invalid regular expression: %s", what, msg);
	}
	c->re_ok = true;
	c->re_src = strdup(n->str);
	if (c->re_src == NULL)
		return ld_fail(l, n->line, "out of memory");
	if (t == PF_ICASE || t == PF_HOST || t == PF_UPPER) {
		/* values of these fields are normalised; say so rather than never match */
		for (size_t i = 0; i < n->len; i++) {
			unsigned char ch = (unsigned char)n->str[i];
			if ((t == PF_UPPER && islower(ch)) || (t != PF_UPPER && isupper(ch)))
				return ld_fail(l, n->line,
					       "%s: this field is compared %s-cased: write the regex "
					       "in %s case",
					       what, t == PF_UPPER ? "upper" : "lower",
					       t == PF_UPPER ? "upper" : "lower");
		}
	}
	return 0;
}

static json_t *ld_canon_cond(const struct pol_cond *c)
{
	json_t *o = json_object(), *a;

	if (o == NULL)
		return NULL;
	if (c->op == PO_REGEX) {
		json_object_set_new(o, "regex", json_string(c->re_src));
		return o;
	}
	a = json_array();
	for (size_t i = 0; i < c->npats; i++)
		json_array_append_new(a, json_string(c->pats[i]));
	json_object_set_new(o, c->op == PO_NOT ? "not" : "any", a);
	return o;
}

static int ld_cond(struct pol_ld *l, enum pol_domain d, struct pol_cond *c,
		   const struct pol_node *key, const struct pol_node *val, const char *where)
{
	char what[160], allowed[160] = "", q[64];
	const struct pol_field *f;
	int idx = pol_field_index(d, key->str);

	c->line = val->line;
	if (idx < 0) {
		for (const char *const *fn = pol_domain_fields(d); *fn; fn++) {
			size_t w = strlen(allowed);
			snprintf(allowed + w, sizeof(allowed) - w, "%s%s", w ? ", " : "", *fn);
		}
		return ld_fail(l, key->line, "%s.match.%s: unknown %s field (allowed: %s)", where,
			       pol_quote(q, key->str, key->len), pol_domain_name(d), allowed);
	}
	f = pol_field_def(d, idx);
	c->field = idx;
	snprintf(what, sizeof(what), "%s.match.%s", where, f->name);
	if (val->kind != PN_MAP) {
		c->op = PO_ANY;
		return ld_pattern_list(l, c, val, f->type, what);
	}
	if (val->n != 2)
		return ld_fail(l, val->line,
			       "%s: a mapping here takes exactly one key: any, not or regex", what);
	{
		const struct pol_node *k = val->kids[0], *v = val->kids[1];
		if (strcmp(k->str, "any") == 0) {
			snprintf(what + strlen(what), sizeof(what) - strlen(what), ".any");
			c->op = PO_ANY;
			return ld_pattern_list(l, c, v, f->type, what);
		}
		if (strcmp(k->str, "not") == 0) {
			snprintf(what + strlen(what), sizeof(what) - strlen(what), ".not");
			c->op = PO_NOT;
			return ld_pattern_list(l, c, v, f->type, what);
		}
		if (strcmp(k->str, "regex") == 0) {
			snprintf(what + strlen(what), sizeof(what) - strlen(what), ".regex");
			c->op = PO_REGEX;
			return ld_regex(l, c, v, f->type, what);
		}
		return ld_fail(l, k->line, "%s.%s: unknown operator (allowed: any, not, regex)", what,
			       pol_quote(q, k->str, k->len));
	}
}

/* ---- rules ---- */

static bool ld_id_ok(const char *s, size_t n)
{
	if (n == 0 || n >= POL_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || strchr("._:-", s[i])))
			return false;
	return true;
}

static int ld_rule(struct pol_ld *l, enum pol_domain d, size_t ix, const struct pol_node *n,
		   struct pol_rule *r, json_t *canon_rule)
{
	const struct pol_node *id = NULL, *match = NULL, *decision = NULL, *reason = NULL;
	char where[64], q[64];
	json_t *cm;

	snprintf(where, sizeof(where), "%s[%zu]", pol_domain_name(d), ix);
	snprintf(r->loc, sizeof(r->loc), "%s:%zu", l->name, n->line);
	if (n->kind != PN_MAP)
		return ld_fail(l, n->line,
			       "%s: a rule must be a mapping (keys: id, match, decision, reason), "
			       "got %s",
			       where, pol_node_kind_name(n));
	for (size_t i = 0; i + 1 < n->n; i += 2) {
		const struct pol_node *k = n->kids[i], *v = n->kids[i + 1];
		if (strcmp(k->str, "id") == 0)
			id = v;
		else if (strcmp(k->str, "match") == 0)
			match = v;
		else if (strcmp(k->str, "decision") == 0)
			decision = v;
		else if (strcmp(k->str, "reason") == 0)
			reason = v;
		else
			return ld_fail(l, k->line,
				       "%s.%s: unknown key (allowed in a rule: id, match, decision, "
				       "reason)",
				       where, pol_quote(q, k->str, k->len));
	}
	if (decision == NULL)
		return ld_fail(l, n->line, "%s: decision is required (allow, deny or ask)", where);
	if (decision->kind != PN_SCALAR || pol_verdict_parse(decision->str, &r->decision) != 0)
		return ld_fail(l, decision->line, "%s.decision: %s is not one of allow|deny|ask",
			       where,
			       decision->kind == PN_SCALAR
				   ? pol_quote(q, decision->str, decision->len)
				   : pol_node_kind_name(decision));
	json_object_set_new(canon_rule, "decision", json_string(pol_verdict_name(r->decision)));
	if (id != NULL) {
		char what[80];
		snprintf(what, sizeof(what), "%s.id", where);
		if (ld_string(l, id, what, POL_ID_MAX - 1) != 0)
			return -1;
		if (!ld_id_ok(id->str, id->len))
			return ld_fail(l, id->line,
				       "%s.id: %s: ids are 1..64 of letters, digits and . _ : -",
				       where, pol_quote(q, id->str, id->len));
		snprintf(r->id, sizeof(r->id), "%s", id->str);
		json_object_set_new(canon_rule, "id", json_string(r->id));
	}
	if (reason != NULL) {
		char what[80];
		snprintf(what, sizeof(what), "%s.reason", where);
		if (ld_string(l, reason, what, POL_REASON_LEN) != 0)
			return -1;
		r->reason = strdup(reason->str);
		if (r->reason == NULL)
			return ld_fail(l, reason->line, "out of memory");
		if (json_object_set_new(canon_rule, "reason", json_string(r->reason)) != 0)
			return ld_fail(l, reason->line, "%s.reason: is not valid UTF-8", where);
	}
	cm = json_object();
	json_object_set_new(canon_rule, "match", cm);
	if (match == NULL || pol_node_is_null(match))
		return 0;
	if (match->kind != PN_MAP)
		return ld_fail(l, match->line, "%s.match: expected a mapping of field: pattern, got %s",
			       where, pol_node_kind_name(match));
	r->conds = calloc(match->n / 2 + 1, sizeof(*r->conds));
	if (r->conds == NULL)
		return ld_fail(l, match->line, "out of memory");
	for (size_t i = 0; i + 1 < match->n; i += 2) {
		struct pol_cond *c = &r->conds[r->nconds++];
		json_t *cj;
		if (ld_cond(l, d, c, match->kids[i], match->kids[i + 1], where) != 0)
			return -1;
		cj = ld_canon_cond(c);
		if (cj == NULL || json_object_set_new(cm, pol_field_def(d, c->field)->name, cj) != 0)
			return ld_fail(l, match->kids[i + 1]->line,
				       "%s.match: a pattern is not valid UTF-8", where);
	}
	return 0;
}

struct ld_id {
	const char *id;
	size_t line;
};

static int ld_domain(struct pol_ld *l, enum pol_domain d, const struct pol_node *n,
		     struct ld_id **ids, size_t *nids)
{
	json_t *arr = json_array();
	struct pol_rule *rules;

	json_object_set_new(l->canon, pol_domain_name(d), arr);
	if (pol_node_is_null(n))
		return 0;
	if (n->kind != PN_SEQ)
		return ld_fail(l, n->line, "%s: expected a list of rules, got %s",
			       pol_domain_name(d), pol_node_kind_name(n));
	if (n->n == 0)
		return 0;
	rules = calloc(n->n, sizeof(*rules));
	if (rules == NULL)
		return ld_fail(l, n->line, "out of memory");
	l->p->rules[d] = rules;
	for (size_t i = 0; i < n->n; i++) {
		json_t *cr = json_object();
		struct ld_id *ni;
		json_array_append_new(arr, cr);
		l->p->nrules[d]++;
		if (ld_rule(l, d, i, n->kids[i], &rules[i], cr) != 0)
			return -1;
		if (rules[i].id[0] == '\0')
			continue;
		for (size_t j = 0; j < *nids; j++)
			if (strcmp((*ids)[j].id, rules[i].id) == 0)
				return ld_fail(l, n->kids[i]->line,
					       "%s[%zu].id: \"%s\" is used twice (first at line %zu)",
					       pol_domain_name(d), i, rules[i].id, (*ids)[j].line);
		ni = realloc(*ids, (*nids + 1) * sizeof(**ids));
		if (ni == NULL)
			return ld_fail(l, n->line, "out of memory");
		*ids = ni;
		ni[*nids].id = rules[i].id;
		ni[*nids].line = n->kids[i]->line;
		(*nids)++;
	}
	return 0;
}

static int ld_top(struct pol_ld *l, const struct pol_node *root)
{
	const struct pol_node *version = NULL, *doms[POL_NDOMAINS] = {NULL};
	struct ld_id *ids = NULL;
	size_t nids = 0;
	char q[64];
	int rc = 0;

	if (root == NULL)
		return ld_fail(l, 1, "the policy is empty (it needs at least `version: 1`)");
	if (root->kind != PN_MAP)
		return ld_fail(l, root->line,
			       "the policy must be a mapping (keys: version, rpc, tool, egress, "
			       "model, agent, mcp), got %s",
			       pol_node_kind_name(root));
	for (size_t i = 0; i + 1 < root->n; i += 2) {
		const struct pol_node *k = root->kids[i];
		enum pol_domain d;
		if (strcmp(k->str, "version") == 0)
			version = root->kids[i + 1];
		else if (pol_domain_parse(k->str, &d) == 0)
			doms[d] = root->kids[i + 1];
		else
			return ld_fail(l, k->line,
				       "%s: unknown key (allowed at the top level: version, rpc, tool, "
				       "egress, model, agent, mcp)",
				       pol_quote(q, k->str, k->len));
	}
	if (version == NULL)
		return ld_fail(l, root->line, "version: is required (write `version: 1`)");
	if (version->kind != PN_SCALAR || !version->plain || strcmp(version->str, "1") != 0)
		return ld_fail(l, version->line, "version: %s is not supported (only 1)",
			       version->kind == PN_SCALAR
				   ? pol_quote(q, version->str, version->len)
				   : pol_node_kind_name(version));
	json_object_set_new(l->canon, "version", json_integer(1));
	for (int d = 0; d < POL_NDOMAINS && rc == 0; d++)
		rc = ld_domain(l, (enum pol_domain)d, doms[d], &ids, &nids);
	free(ids);
	return rc;
}

/* Canonical bytes: compact JSON, keys sorted, UTF-8 as is (Python's json.dumps(v,
 * sort_keys=True, separators=(",", ":"), ensure_ascii=False); no control characters can occur).
 * Raw UTF-8 rather than \u escapes keeps the canonical form a valid policy file itself
 * (libyaml refuses escaped surrogate pairs). */
static int ld_digest(struct pol_ld *l)
{
	uint8_t h[SHA256_LEN];
	char *s = json_dumps(l->canon, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);

	if (s == NULL || sha256_digest(s, strlen(s), h) != 0) {
		free(s);
		return ld_fail(l, 1, "cannot compute the policy digest");
	}
	hex_encode(h, SHA256_LEN, l->p->digest);
	l->p->canon = s;
	l->p->canon_len = strlen(s);
	return 0;
}

struct pol_policy *pol_load_buffer(const char *name, const char *buf, size_t len, char *err,
				   size_t errlen)
{
	struct pol_ld l;
	struct pol_node *root = NULL;
	int rc;

	if (name == NULL)
		name = "(buffer)";
	memset(&l, 0, sizeof(l));
	l.name = name;
	l.err = err;
	l.errlen = errlen;
	if (pol_yaml_parse(name, buf, len, &root, err, errlen) != 0)
		return NULL;
	l.p = calloc(1, sizeof(*l.p));
	l.canon = json_object();
	if (l.p == NULL || l.canon == NULL) {
		pol_node_free(root);
		free(l.p);
		json_decref(l.canon);
		if (err)
			snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	l.p->refs = 1;
	l.p->ok = 1;
	snprintf(l.p->source, sizeof(l.p->source), "%s", name);
	for (int d = 0; d < POL_NDOMAINS; d++)
		l.p->index[d].field = -1;
	rc = ld_top(&l, root);
	if (rc == 0)
		rc = ld_digest(&l);
	for (int d = 0; d < POL_NDOMAINS && rc == 0; d++)
		if (pol_index_build(&l.p->index[d], l.p->rules[d], l.p->nrules[d],
				    (enum pol_domain)d) != 0) {
			if (err)
				snprintf(err, errlen, "%s: out of memory", name);
			rc = -1;
		}
	pol_node_free(root);
	json_decref(l.canon);
	if (rc != 0) {
		pol_free(l.p);
		return NULL;
	}
	return l.p;
}

struct pol_policy *pol_load_file(const char *path, char *err, size_t errlen)
{
	struct pol_policy *p;
	char *data = NULL;
	size_t len = 0;

	if (fs_read_file(path, POL_MAX_BYTES, &data, &len) != 0) {
		if (errno == EFBIG)
			snprintf(err, errlen, "%s: file is larger than the limit of %d bytes", path,
				 POL_MAX_BYTES);
		else
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return NULL;
	}
	p = pol_load_buffer(path, data, len, err, errlen);
	free(data);
	return p;
}
