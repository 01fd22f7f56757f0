/*
 * pol_suite.c — policy test files: requests with the decisions they must get (like OPA tests).
 *
 *   policy: policy.yaml          # optional; relative to this file (ignored when one is given)
 *   tests:
 *     - name: api.github.com is allowed
 *       domain: egress
 *       request: {host: api.github.com, port: 443, scheme: https}
 *       expect: allow            # allow | deny | ask
 *       rule: github-api         # optional: the deciding rule's id, or `default` (no rule)
 *
 * YAML or JSON (JSON is read as YAML; duplicate keys are refused either way).
 * Owns: reading that file and comparing. Never: counts a case whose request is malformed as a
 * pass (it is a failure, reported with why), or reports success for a file with no cases.
 */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "policy/pol_impl.h"

static const struct pol_node *suite_get(const struct pol_node *map, const char *key)
{
	for (size_t i = 0; map && map->kind == PN_MAP && i + 1 < map->n; i += 2)
		if (strcmp(map->kids[i]->str, key) == 0)
			return map->kids[i + 1];
	return NULL;
}

/* Validates the file's shape before running anything: file:line errors like a policy. */
static int suite_check(const char *path, const struct pol_node *root, char *err, size_t errlen)
{
	const struct pol_node *tests;
	static const char *const top[] = {"policy", "tests", NULL};
	static const char *const tk[] = {"name", "domain", "request", "expect", "rule", NULL};

	if (root == NULL || root->kind != PN_MAP) {
		snprintf(err, errlen, "%s:%zu: a test file is a mapping with `tests:` (a list)",
			 path, root ? root->line : 1);
		return -1;
	}
	for (size_t i = 0; i + 1 < root->n; i += 2) {
		int ok = 0;
		for (int k = 0; top[k]; k++)
			ok |= strcmp(root->kids[i]->str, top[k]) == 0;
		if (!ok) {
			char q[64];
			snprintf(err, errlen, "%s:%zu: %s: unknown key (allowed: policy, tests)",
				 path, root->kids[i]->line,
				 pol_quote(q, root->kids[i]->str, root->kids[i]->len));
			return -1;
		}
	}
	tests = suite_get(root, "policy");
	if (tests != NULL && (tests->kind != PN_SCALAR || memchr(tests->str, '\0', tests->len))) {
		snprintf(err, errlen, "%s:%zu: policy: expected a file name", path, tests->line);
		return -1;
	}
	tests = suite_get(root, "tests");
	if (tests == NULL || tests->kind != PN_SEQ || tests->n == 0) {
		snprintf(err, errlen, "%s:%zu: tests: expected a non-empty list of cases", path,
			 tests ? tests->line : root->line);
		return -1;
	}
	for (size_t i = 0; i < tests->n; i++) {
		const struct pol_node *c = tests->kids[i], *v;
		enum pol_domain d;
		enum pol_verdict vd;

		if (c->kind != PN_MAP) {
			snprintf(err, errlen, "%s:%zu: tests[%zu]: expected a mapping", path,
				 c->line, i);
			return -1;
		}
		for (size_t j = 0; j + 1 < c->n; j += 2) {
			int ok = 0;
			for (int k = 0; tk[k]; k++)
				ok |= strcmp(c->kids[j]->str, tk[k]) == 0;
			if (!ok) {
				char q[64];
				snprintf(err, errlen,
					 "%s:%zu: tests[%zu].%s: unknown key (allowed: name, domain, "
					 "request, expect, rule)",
					 path, c->kids[j]->line, i,
					 pol_quote(q, c->kids[j]->str, c->kids[j]->len));
				return -1;
			}
			if (strcmp(c->kids[j]->str, "request") != 0 &&
			    c->kids[j + 1]->kind != PN_SCALAR) {
				snprintf(err, errlen, "%s:%zu: tests[%zu].%s: expected a string", path,
					 c->kids[j + 1]->line, i, c->kids[j]->str);
				return -1;
			}
		}
		v = suite_get(c, "domain");
		if (v == NULL || pol_domain_parse(v->str, &d) != 0) {
			snprintf(err, errlen,
				 "%s:%zu: tests[%zu].domain: required, one of rpc|tool|egress|model|"
				 "agent|mcp",
				 path, v ? v->line : c->line, i);
			return -1;
		}
		v = suite_get(c, "expect");
		if (v == NULL || pol_verdict_parse(v->str, &vd) != 0) {
			snprintf(err, errlen, "%s:%zu: tests[%zu].expect: required, one of allow|deny|ask",
				 path, v ? v->line : c->line, i);
			return -1;
		}
		v = suite_get(c, "request");
		if (v != NULL && !pol_node_is_null(v) && v->kind != PN_MAP) {
			snprintf(err, errlen, "%s:%zu: tests[%zu].request: expected a mapping of "
					      "field: value",
				 path, v->line, i);
			return -1;
		}
		for (size_t j = 0; v && v->kind == PN_MAP && j + 1 < v->n; j += 2) {
			if (v->kids[j + 1]->kind != PN_SCALAR) {
				snprintf(err, errlen, "%s:%zu: tests[%zu].request.%s: expected a value",
					 path, v->kids[j + 1]->line, i, v->kids[j]->str);
				return -1;
			}
		}
	}
	return 0;
}

static int suite_case(const char *path, size_t i, const struct pol_node *c,
		      const struct pol_policy *p, FILE *out)
{
	const struct pol_node *nm = suite_get(c, "name"), *req = suite_get(c, "request");
	const struct pol_node *rule = suite_get(c, "rule");
	struct pol_request r;
	struct pol_decision d;
	enum pol_domain dom;
	enum pol_verdict want;
	char name[160], err[512];
	int pass;

	pol_domain_parse(suite_get(c, "domain")->str, &dom);
	pol_verdict_parse(suite_get(c, "expect")->str, &want);
	if (nm != NULL)
		snprintf(name, sizeof(name), "%s", nm->str);
	else
		snprintf(name, sizeof(name), "%s:%zu (tests[%zu])", path, c->line, i);
	pol_request_init(&r, dom);
	for (size_t j = 0; req && req->kind == PN_MAP && j + 1 < req->n; j += 2) {
		if (pol_request_set(&r, req->kids[j]->str, req->kids[j + 1]->str, err,
				    sizeof(err)) != 0) {
			fprintf(out, "FAIL %s: bad request at %s:%zu: %s\n", name, path,
				req->kids[j]->line, err);
			pol_request_free(&r);
			return 0;
		}
	}
	pol_decide(p, &r, &d);
	pol_request_free(&r);
	pass = d.verdict == want;
	if (pass && rule != NULL) {
		if (strcmp(rule->str, "default") == 0)
			pass = !d.by_rule;
		else
			pass = d.by_rule && strcmp(d.rule_id, rule->str) == 0;
	}
	if (pass) {
		fprintf(out, "PASS %s\n", name);
		return 1;
	}
	fprintf(out, "FAIL %s: want %s%s%s, got %s by %s%s%s%s (%s)\n", name,
		pol_verdict_name(want), rule ? " by " : "", rule ? rule->str : "",
		pol_verdict_name(d.verdict), d.by_rule ? d.rule : "default",
		d.rule_id[0] ? " (" : "", d.rule_id, d.rule_id[0] ? ")" : "", d.reason);
	return 0;
}

int pol_suite_run(const char *path, const struct pol_policy *p, const char *default_policy,
		  FILE *out,
		  struct pol_suite_result *res, char *err, size_t errlen)
{
	struct pol_node *root = NULL;
	struct pol_policy *own = NULL;
	const struct pol_node *tests, *pf;
	char *data = NULL;
	size_t len = 0;

	memset(res, 0, sizeof(*res));
	if (fs_read_file(path, POL_MAX_BYTES, &data, &len) != 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	if (pol_yaml_parse(path, data, len, &root, err, errlen) != 0) {
		free(data);
		return -1;
	}
	free(data);
	if (suite_check(path, root, err, errlen) != 0) {
		pol_node_free(root);
		return -1;
	}
	pf = suite_get(root, "policy");
	if (p == NULL) {
		char dir[4096], full[8192];
		if ((pf == NULL || pol_node_is_null(pf)) && default_policy == NULL) {
			snprintf(err, errlen, "%s: no policy given (add `policy: FILE` or --policy)",
				 path);
			pol_node_free(root);
			return -1;
		}
		snprintf(dir, sizeof(dir), "%s", path);
		if (pf == NULL || pol_node_is_null(pf))
			snprintf(full, sizeof(full), "%s", default_policy);
		else if (pf->str[0] == '/')
			snprintf(full, sizeof(full), "%s", pf->str);
		else
			snprintf(full, sizeof(full), "%s/%s", dirname(dir), pf->str);
		own = pol_load_file(full, err, errlen);
		if (own == NULL) {
			pol_node_free(root);
			return -1;
		}
		p = own;
	}
	tests = suite_get(root, "tests");
	for (size_t i = 0; i < tests->n; i++) {
		res->total++;
		if (suite_case(path, i, tests->kids[i], p, out))
			res->passed++;
		else
			res->failed++;
	}
	pol_unref(own);
	pol_node_free(root);
	return 0;
}
