/*
 * pol_match.c — what a request field is and when a rule's condition holds for it.
 *
 * Owns: the field table of every domain (name and type), request values (validated and
 * normalised once, so matching is plain comparison), globs, path normalisation, port ranges.
 * Never: lets a field that was not given match anything (not even "*" or a `not:`); compares a
 * path that still holds "." or ".." components; accepts a value that is not valid UTF-8.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/pol_impl.h"

static const struct pol_field pol_fields_rpc[] = {
    {"service", PF_TEXT}, {"argument", PF_TEXT}, {"source", PF_TEXT}, {"target", PF_TEXT}};
static const struct pol_field pol_fields_tool[] = {
    {"name", PF_TEXT}, {"args", PF_TEXT}, {"caller", PF_TEXT}};
static const struct pol_field pol_fields_egress[] = {
    {"host", PF_HOST},	   {"port", PF_PORT}, {"scheme", PF_ICASE},
    {"method", PF_UPPER}, {"path", PF_TEXT}, {"caller", PF_TEXT}};
static const struct pol_field pol_fields_model[] = {
    {"sha256", PF_SHA256}, {"name", PF_TEXT}, {"format", PF_ICASE}, {"source", PF_TEXT}};
static const struct pol_field pol_fields_agent[] = {
    {"action", PF_ICASE}, {"path", PF_PATH}, {"caller", PF_TEXT}};
static const struct pol_field pol_fields_mcp[] = {
    {"server", PF_TEXT}, {"tool", PF_TEXT}, {"args", PF_TEXT}, {"caller", PF_TEXT}};

static const struct {
	const char *name;
	const struct pol_field *fields;
	int n;
	const char *names[POL_MAX_FIELDS + 1];
} pol_domains[POL_NDOMAINS] = {
    {"rpc", pol_fields_rpc, 4, {"service", "argument", "source", "target", NULL}},
    {"tool", pol_fields_tool, 3, {"name", "args", "caller", NULL}},
    {"egress", pol_fields_egress, 6, {"host", "port", "scheme", "method", "path", "caller", NULL}},
    {"model", pol_fields_model, 4, {"sha256", "name", "format", "source", NULL}},
    {"agent", pol_fields_agent, 3, {"action", "path", "caller", NULL}},
    {"mcp", pol_fields_mcp, 4, {"server", "tool", "args", "caller", NULL}},
};

static const char *const pol_verdicts[] = {"deny", "allow", "ask"};

const char *pol_domain_name(enum pol_domain d)
{
	return (unsigned)d < POL_NDOMAINS ? pol_domains[d].name : "?";
}

int pol_domain_parse(const char *s, enum pol_domain *out)
{
	for (int i = 0; i < POL_NDOMAINS; i++) {
		if (strcmp(s, pol_domains[i].name) == 0) {
			*out = (enum pol_domain)i;
			return 0;
		}
	}
	return -1;
}

const char *pol_verdict_name(enum pol_verdict v)
{
	return (unsigned)v < 3 ? pol_verdicts[v] : "deny";
}

int pol_verdict_parse(const char *s, enum pol_verdict *out)
{
	for (int i = 0; i < 3; i++) {
		if (strcmp(s, pol_verdicts[i]) == 0) {
			*out = (enum pol_verdict)i;
			return 0;
		}
	}
	return -1;
}

const char *const *pol_domain_fields(enum pol_domain d)
{
	return pol_domains[(unsigned)d < POL_NDOMAINS ? d : 0].names;
}

int pol_field_count(enum pol_domain d)
{
	return (unsigned)d < POL_NDOMAINS ? pol_domains[d].n : 0;
}

const struct pol_field *pol_field_def(enum pol_domain d, int idx)
{
	if ((unsigned)d >= POL_NDOMAINS || idx < 0 || idx >= pol_domains[d].n)
		return NULL;
	return &pol_domains[d].fields[idx];
}

int pol_field_index(enum pol_domain d, const char *name)
{
	for (int i = 0; i < pol_field_count(d); i++)
		if (strcmp(pol_domains[d].fields[i].name, name) == 0)
			return i;
	return -1;
}

/* ---- globs ---- */

/* One row of the DP per pattern token: row[j] = the pattern so far matches text[0..j). Handles
 * "*" (any run; in path mode not "/"), "**" (any run), "?" (one char; not "/" in path mode),
 * "\c" (a literal c) and literals. O(len(pat) * len(text)), no recursion. */
bool pol_glob(const char *pat, const char *text, bool path)
{
	size_t tn = strlen(text);
	unsigned char stackrow[2][1024];
	unsigned char *cur, *nxt, *heap = NULL;
	bool r;

	if (strpbrk(pat, "*?\\") == NULL)
		return strcmp(pat, text) == 0;
	if (pat[0] == '*' && pat[1] == '\0' && !path)
		return true;
	if (tn + 1 <= sizeof(stackrow[0])) {
		cur = stackrow[0];
		nxt = stackrow[1];
	} else {
		heap = malloc(2 * (tn + 1));
		if (heap == NULL)
			return false; /* fail closed: no match */
		cur = heap;
		nxt = heap + tn + 1;
	}
	memset(cur, 0, tn + 1);
	cur[0] = 1;
	for (const char *p = pat; *p != '\0';) {
		bool any = false;

		if (p[0] == '*') {
			bool star2 = p[1] == '*';
			bool cross = star2 || !path;
			p += star2 ? 2 : 1;
			while (*p == '*') /* "***" = "**" */
				p++, cross = true;
			nxt[0] = cur[0];
			for (size_t j = 1; j <= tn; j++)
				nxt[j] = cur[j] || (nxt[j - 1] && (cross || text[j - 1] != '/'));
		} else {
			char c = p[0];
			bool q = c == '?';
			if (c == '\\' && p[1] != '\0') {
				c = p[1];
				p++;
			}
			p++;
			nxt[0] = 0;
			for (size_t j = 1; j <= tn; j++)
				nxt[j] = cur[j - 1] &&
					 (q ? (!path || text[j - 1] != '/') : text[j - 1] == c);
		}
		for (size_t j = 0; j <= tn && !any; j++)
			any = nxt[j] != 0;
		unsigned char *t = cur;
		cur = nxt;
		nxt = t;
		if (!any)
			break;
	}
	r = cur[tn] != 0;
	free(heap);
	return r;
}

int pol_path_normalise(char *p)
{
	char *out = p, *in = p;

	if (p[0] != '/')
		return -1;
	while (*in != '\0') {
		char *seg;
		size_t n;

		while (*in == '/')
			in++;
		if (*in == '\0')
			break;
		seg = in;
		while (*in != '\0' && *in != '/')
			in++;
		n = (size_t)(in - seg);
		if (n == 1 && seg[0] == '.')
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > p && *(out - 1) != '/') /* drop the last component */
				out--;
			if (out > p)
				out--; /* and its "/" */
			continue;
		}
		*out++ = '/';
		memmove(out, seg, n);
		out += n;
	}
	if (out == p)
		*out++ = '/';
	*out = '\0';
	return 0;
}

/* ---- request values ---- */

static bool pol_utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07;
		else
			return false;
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += k + 1;
	}
	return true;
}

void pol_request_init(struct pol_request *r, enum pol_domain d)
{
	memset(r, 0, sizeof(*r));
	r->domain = d;
}

void pol_request_free(struct pol_request *r)
{
	for (int i = 0; i < POL_MAX_FIELDS; i++) {
		free(r->val[i]);
		r->val[i] = NULL;
	}
}

static int pol_port_parse(const char *s, long *out)
{
	long v = 0;

	if (s[0] < '1' || s[0] > '9')
		return -1;
	for (const char *c = s; *c != '\0'; c++) {
		if (*c < '0' || *c > '9')
			return -1;
		v = v * 10 + (*c - '0');
		if (v > 65535)
			return -1;
	}
	*out = v;
	return 0;
}

int pol_request_set(struct pol_request *r, const char *name, const char *value, char *err,
		    size_t errlen)
{
	int idx = pol_field_index(r->domain, name);
	const struct pol_field *f;
	size_t n = strlen(value);
	char q[64], *v;
	long port;

	if (idx < 0) {
		char allowed[160] = "";
		for (const char *const *fn = pol_domain_fields(r->domain); *fn; fn++) {
			size_t w = strlen(allowed);
			snprintf(allowed + w, sizeof(allowed) - w, "%s%s", w ? ", " : "", *fn);
		}
		snprintf(err, errlen, "%s: unknown %s field (allowed: %s)",
			 pol_quote(q, name, strlen(name)), pol_domain_name(r->domain), allowed);
		return -1;
	}
	f = pol_field_def(r->domain, idx);
	if (r->val[idx] != NULL) {
		snprintf(err, errlen, "%s: given twice", name);
		return -1;
	}
	if (n == 0 || n >= POL_VALUE_MAX) {
		snprintf(err, errlen, "%s: value must be 1..%d bytes", name, POL_VALUE_MAX - 1);
		return -1;
	}
	if (!pol_utf8_ok((const unsigned char *)value, n)) {
		snprintf(err, errlen, "%s: value is not valid UTF-8", name);
		return -1;
	}
	v = strdup(value);
	if (v == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	switch (f->type) {
	case PF_TEXT:
		break;
	case PF_ICASE:
		for (char *c = v; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		break;
	case PF_UPPER:
		for (char *c = v; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		break;
	case PF_HOST: {
		size_t m = n;
		char *h = v;
		if (m >= 2 && h[0] == '[' && h[m - 1] == ']') { /* [::1] */
			memmove(h, h + 1, m - 2);
			m -= 2;
			h[m] = '\0';
		}
		if (m > 1 && h[m - 1] == '.') /* "example.com." is example.com */
			h[--m] = '\0';
		for (size_t i = 0; i < m; i++) {
			unsigned char c = (unsigned char)tolower((unsigned char)h[i]);
			if (!(isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':'))
				goto bad;
			h[i] = (char)c;
		}
		if (m == 0 || m > 253 || h[0] == '.' || h[0] == '-' || strstr(h, "..") != NULL)
			goto bad;
		break;
	}
	case PF_PORT:
		if (pol_port_parse(v, &port) != 0)
			goto bad;
		break;
	case PF_SHA256: {
		char *h = v;
		if (strncmp(h, "sha256:", 7) == 0)
			memmove(h, h + 7, strlen(h + 7) + 1);
		if (strlen(h) != 64)
			goto bad;
		for (char *c = h; *c; c++) {
			*c = (char)tolower((unsigned char)*c);
			if (!isxdigit((unsigned char)*c))
				goto bad;
		}
		break;
	}
	case PF_PATH:
		if (pol_path_normalise(v) != 0)
			goto bad;
		break;
	}
	r->val[idx] = v;
	return 0;
bad:
	free(v);
	switch (f->type) {
	case PF_HOST:
		snprintf(err, errlen, "%s: %s is not a host name or address", name,
			 pol_quote(q, value, n));
		break;
	case PF_PORT:
		snprintf(err, errlen, "%s: %s is not a port (1..65535)", name,
			 pol_quote(q, value, n));
		break;
	case PF_SHA256:
		snprintf(err, errlen, "%s: %s is not a SHA-256 (64 hex digits)", name,
			 pol_quote(q, value, n));
		break;
	case PF_PATH:
		snprintf(err, errlen, "%s: %s is not an absolute path", name,
			 pol_quote(q, value, n));
		break;
	default:
		snprintf(err, errlen, "%s: bad value %s", name, pol_quote(q, value, n));
		break;
	}
	return -1;
}

int pol_request_from_json(struct pol_request *r, enum pol_domain d, const json_t *obj, char *err,
			  size_t errlen)
{
	const char *k;
	json_t *v;
	char num[32];

	pol_request_init(r, d);
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "request must be a JSON object of field: value");
		return -1;
	}
	json_object_foreach((json_t *)obj, k, v) {
		const char *s;
		if (json_is_string(v)) {
			s = json_string_value(v);
		} else if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
			s = num;
		} else {
			snprintf(err, errlen, "%s: value must be a string (or an integer)", k);
			pol_request_free(r);
			return -1;
		}
		if (pol_request_set(r, k, s, err, errlen) != 0) {
			pol_request_free(r);
			return -1;
		}
	}
	return 0;
}

int pol_request_from_args(struct pol_request *r, enum pol_domain d, int argc, char **argv,
			  char *err, size_t errlen)
{
	pol_request_init(r, d);
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '='), key[64];
		size_t kn;

		if (eq == NULL || eq == argv[i] || (kn = (size_t)(eq - argv[i])) >= sizeof(key)) {
			snprintf(err, errlen, "%.80s: expected field=value", argv[i]);
			pol_request_free(r);
			return -1;
		}
		memcpy(key, argv[i], kn);
		key[kn] = '\0';
		if (pol_request_set(r, key, eq + 1, err, errlen) != 0) {
			pol_request_free(r);
			return -1;
		}
	}
	return 0;
}

json_t *pol_request_json(const struct pol_request *r)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	for (int i = 0; i < pol_field_count(r->domain); i++) {
		if (r->val[i] == NULL)
			continue;
		if (json_object_set_new(o, pol_field_def(r->domain, i)->name,
					json_string(r->val[i])) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* ---- conditions ---- */

static bool pol_pat_match(const struct pol_cond *c, enum pol_ftype t, size_t i, const char *v,
			  long port)
{
	switch (t) {
	case PF_PORT:
		return port >= c->ports[i].lo && port <= c->ports[i].hi;
	case PF_SHA256:
		return strcmp(c->pats[i], v) == 0;
	case PF_PATH:
		return pol_glob(c->pats[i], v, true);
	default:
		return pol_glob(c->pats[i], v, false);
	}
}

static void pol_pats_text(const struct pol_cond *c, char *out, size_t outlen)
{
	char q[64];
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < c->npats && o + 1 < outlen; i++) {
		int w = snprintf(out + o, outlen - o, "%s%s", i ? ", " : "",
				 pol_quote(q, c->pats[i], strlen(c->pats[i])));
		if (w < 0 || (size_t)w >= outlen - o) {
			snprintf(out + (outlen > 5 ? outlen - 5 : 0), outlen > 5 ? 5 : outlen, "...");
			return;
		}
		o += (size_t)w;
	}
}

bool pol_cond_match(const struct pol_cond *c, const struct pol_request *r, char *why,
		    size_t whylen)
{
	const struct pol_field *f = pol_field_def(r->domain, c->field);
	const char *v = f ? r->val[c->field] : NULL;
	char q[64], pats[200];
	long port = 0;
	bool hit = false;
	size_t i;

	if (v == NULL) {
		if (why)
			snprintf(why, whylen, "%s: not given in the request (line %zu needs it)",
				 f ? f->name : "?", c->line);
		return false;
	}
	if (f->type == PF_PORT && pol_port_parse(v, &port) != 0)
		return false;
	if (c->op == PO_REGEX) {
		if (c->re_ok && regexec(&c->re, v, 0, NULL, 0) == 0)
			return true;
		if (why)
			snprintf(why, whylen, "%s: %s does not match regex %s (line %zu)", f->name,
				 pol_quote(q, v, strlen(v)),
				 pol_quote(pats, c->re_src, strlen(c->re_src)), c->line);
		return false;
	}
	for (i = 0; i < c->npats && !hit; i++)
		hit = pol_pat_match(c, f->type, i, v, port);
	if (c->op == PO_ANY && hit)
		return true;
	if (c->op == PO_NOT && !hit)
		return true;
	if (why) {
		if (c->op == PO_ANY) {
			pol_pats_text(c, pats, sizeof(pats));
			snprintf(why, whylen, "%s: %s does not match %s%s (line %zu)", f->name,
				 pol_quote(q, v, strlen(v)), c->npats > 1 ? "any of " : "", pats,
				 c->line);
		} else {
			snprintf(why, whylen, "%s: %s matches %s, which `not` excludes (line %zu)",
				 f->name, pol_quote(q, v, strlen(v)),
				 pol_quote(pats, c->pats[i - 1], strlen(c->pats[i - 1])), c->line);
		}
	}
	return false;
}
