/*
 * policy_explain.c — `securectl policy explain DOMAIN field=value…`: which rule decides, and
 * why every rule before it did not match.
 *
 * Owns: the human (and --json) rendering of pol_explain. Never: decides differently from
 * secai-policy (the same pol_explain/pol_decide run); treats a policy that does not load as
 * anything but deny-all (it says so, and exits 2).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "policy/pol.h"
#include "securectl/policy_cmds.h"
#include "securectl/securectl.h"

static void explain_usage(FILE *f)
{
	fprintf(f, "usage: securectl policy explain [--policy FILE] [--json] DOMAIN FIELD=VALUE...\n"
		   "\n"
		   "Evaluates one request against the YAML domain policy and shows every rule tried:\n"
		   "why each earlier rule did not match, and the rule that decided (first match;\n"
		   "no match = deny). DOMAIN: rpc, tool, egress, model, agent, mcp.\n"
		   "Fields: rpc service argument source target | tool name args caller |\n"
		   "egress host port scheme method path caller | model sha256 name format source |\n"
		   "agent action path caller | mcp server tool args caller.\n"
		   "Example: securectl policy explain egress host=api.github.com port=443 scheme=https\n"
		   "Exit 0 explained, 2 the policy is invalid (everything is denied), 64 usage.\n");
}

struct explain_out {
	int json;
	json_t *trace;
};

static void explain_step(void *arg, const struct pol_trace_step *s)
{
	struct explain_out *o = arg;

	if (o->json) {
		json_array_append_new(o->trace,
				      json_pack("{s:s, s:s?, s:s, s:b, s:s}", "rule", s->loc, "id",
						s->id[0] ? s->id : NULL, "decision",
						pol_verdict_name(s->decision), "matched", s->matched,
						"why", s->why));
		return;
	}
	printf("  %-5s %s%s%s%s [%s]: %s\n", s->matched ? "MATCH" : "skip", s->loc,
	       s->id[0] ? " (" : "", s->id, s->id[0] ? ")" : "", pol_verdict_name(s->decision),
	       s->why);
}

int policy_explain_main(int argc, char **argv)
{
	static const struct option opts[] = {{"policy", required_argument, NULL, 'p'},
					     {"json", no_argument, NULL, 'j'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct explain_out out = {0, NULL};
	struct pol_policy *p;
	struct pol_request r;
	struct pol_decision d;
	enum pol_domain dom;
	char file[4096] = "", err[1024];
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+p:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': snprintf(file, sizeof(file), "%s", optarg); break;
		case 'j': out.json = 1; break;
		case 'h': explain_usage(stdout); return 0;
		default: explain_usage(stderr); return SECURECTL_EX_USAGE;
		}
	}
	if (optind >= argc) {
		explain_usage(stderr);
		return SECURECTL_EX_USAGE;
	}
	if (pol_domain_parse(argv[optind], &dom) != 0) {
		fprintf(stderr, "securectl policy explain: %s: not a domain (rpc, tool, egress, "
				"model, agent, mcp)\n",
			argv[optind]);
		return SECURECTL_EX_USAGE;
	}
	if (pol_request_from_args(&r, dom, argc - optind - 1, argv + optind + 1, err,
				  sizeof(err)) != 0) {
		fprintf(stderr, "securectl policy explain: %s\n", err);
		return SECURECTL_EX_USAGE;
	}
	if (file[0] == '\0' && policy_default_file(file, sizeof(file)) != 0) {
		pol_request_free(&r);
		return POLICY_EX_INVALID;
	}
	p = pol_load_file(file, err, sizeof(err));
	if (p == NULL) {
		fprintf(stderr, "securectl policy explain: POLICY INVALID, everything is denied: %s\n",
			err);
		p = pol_broken(file, err);
	}
	if (out.json) {
		out.trace = json_array();
	} else {
		printf("policy %s (%s%s)\n", file, pol_ok(p) ? "digest " : "",
		       pol_ok(p) ? pol_digest(p) : "INVALID: deny-all");
		printf("%s rules, in order (first match decides):\n", pol_domain_name(dom));
	}
	pol_explain(p, &r, &d, explain_step, &out);
	if (out.json) {
		json_t *o = pol_decision_json(&d);
		char *s;
		if (o != NULL) {
			json_object_set_new(o, "request", pol_request_json(&r));
			json_object_set_new(o, "trace", out.trace);
			out.trace = NULL;
			s = json_dumps(o, JSON_COMPACT);
			if (s != NULL)
				printf("%s\n", s);
			free(s);
		}
		json_decref(o);
		json_decref(out.trace);
	} else {
		if (!d.by_rule && pol_ok(p) && pol_rule_count(p, dom) == 0)
			printf("  (no %s rules)\n", pol_domain_name(dom));
		printf("decision: %s\n", pol_verdict_name(d.verdict));
		printf("rule: %s%s%s%s\n", d.by_rule ? d.rule : "none (default deny)",
		       d.rule_id[0] ? " (" : "", d.rule_id, d.rule_id[0] ? ")" : "");
		printf("reason: %s\n", d.reason);
		printf("evidence:");
		for (unsigned i = 0; i < d.nevidence; i++)
			printf(" %s=%s", d.evidence[i].field, d.evidence[i].value);
		printf("%s\n", d.nevidence ? "" : " (none)");
	}
	pol_request_free(&r);
	ch = pol_ok(p) ? 0 : POLICY_EX_INVALID;
	pol_unref(p);
	return ch;
}
