/*
 * policy_check.c — `securectl policy check [FILE]`: is this policy valid, and which is it?
 *
 * Prints the file, its digest (the SHA-256 every decision carries) and its rules per domain;
 * --canonical prints the canonical bytes the digest is computed over, --json one JSON object.
 * Owns: policy_default_file. Never: reports a file valid that secai-policy would refuse (both
 * call pol_load_file).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "policy/pol.h"
#include "securectl/ctl.h"
#include "securectl/policy_cmds.h"
#include "securectl/securectl.h"

int policy_default_file(char *out, size_t outlen)
{
	struct secai_config cfg;
	char err[512];

	if (ctl_config(&cfg) != 0)
		return -1;
	if (config_finish(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "securectl: %s\n", err);
		return -1;
	}
	snprintf(out, outlen, "%s", cfg.policy.file);
	return 0;
}

static void check_usage(FILE *f)
{
	fprintf(f, "usage: securectl policy check [--json] [--canonical] [FILE]\n"
		   "\n"
		   "Validates a YAML domain policy (default: policy.file, STATE/policy.yaml) and\n"
		   "prints its digest and rule counts. Exit 0 valid, 2 invalid (file:line: why).\n"
		   "  --canonical   print the canonical bytes the digest is the SHA-256 of\n"
		   "  --json        one JSON object: {file, valid, digest, rules, error}\n");
}

int policy_check_main(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					     {"canonical", no_argument, NULL, 'C'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	char file[4096], err[1024];
	struct pol_policy *p;
	int ch, json = 0, canon = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': json = 1; break;
		case 'C': canon = 1; break;
		case 'h': check_usage(stdout); return 0;
		default: check_usage(stderr); return SECURECTL_EX_USAGE;
		}
	}
	if (argc - optind > 1) {
		check_usage(stderr);
		return SECURECTL_EX_USAGE;
	}
	if (optind < argc)
		snprintf(file, sizeof(file), "%s", argv[optind]);
	else if (policy_default_file(file, sizeof(file)) != 0)
		return POLICY_EX_INVALID;
	p = pol_load_file(file, err, sizeof(err));
	if (json) {
		json_t *o = json_pack("{s:s, s:b}", "file", file, "valid", p != NULL), *r;
		char *s;
		if (o == NULL)
			return 1;
		if (p != NULL) {
			r = json_object();
			for (int d = 0; d < POL_NDOMAINS; d++)
				json_object_set_new(r, pol_domain_name((enum pol_domain)d),
						    json_integer((json_int_t)pol_rule_count(
							p, (enum pol_domain)d)));
			json_object_set_new(o, "digest", json_string(pol_digest(p)));
			json_object_set_new(o, "rules", r);
		} else {
			json_object_set_new(o, "error", json_string(err));
		}
		s = json_dumps(o, JSON_COMPACT);
		if (s != NULL)
			printf("%s\n", s);
		free(s);
		json_decref(o);
	} else if (p == NULL) {
		fprintf(stderr, "securectl policy check: %s\n", err);
	} else if (canon) {
		size_t n;
		const char *c = pol_canonical(p, &n);
		fwrite(c, 1, n, stdout);
		fputc('\n', stdout);
	} else {
		size_t total = 0;
		printf("%s: valid\ndigest: %s\nrules:", file, pol_digest(p));
		for (int d = 0; d < POL_NDOMAINS; d++) {
			size_t n = pol_rule_count(p, (enum pol_domain)d);
			total += n;
			printf("%s %s %zu", d ? "," : "", pol_domain_name((enum pol_domain)d), n);
		}
		printf(" (%zu in all; anything no rule allows is denied)\n", total);
	}
	if (p == NULL)
		return POLICY_EX_INVALID;
	pol_unref(p);
	return 0;
}
