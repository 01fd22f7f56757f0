/*
 * policy_test.c — `securectl policy test FILE…`: requests with expected decisions (like OPA's
 * tests), run against the policy; exit 0 only if every case gets its decision.
 *
 * Owns: the command line around pol_suite_run. Never: exits 0 when a case failed, a file was
 * invalid, or no case ran.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "policy/pol.h"
#include "securectl/policy_cmds.h"
#include "securectl/securectl.h"

static void test_usage(FILE *f)
{
	fprintf(f, "usage: securectl policy test [--policy FILE] [--quiet] TESTFILE...\n"
		   "\n"
		   "Runs each test file (YAML or JSON: `tests:` a list of {name, domain, request,\n"
		   "expect: allow|deny|ask, rule: ID|default}) against the policy: --policy FILE,\n"
		   "else the file's own `policy:` (relative to it), else policy.file.\n"
		   "Prints PASS/FAIL per case. Exit 0 all passed, 1 some failed, 2 invalid file.\n"
		   "See docs/policy-schema.md.\n");
}

/* Writes only FAIL lines (for --quiet). */
static ssize_t quiet_write(void *c, const char *buf, size_t n)
{
	if (n >= 4 && strncmp(buf, "FAIL", 4) == 0)
		fwrite(buf, 1, n, (FILE *)c);
	return (ssize_t)n;
}

int policy_test_main(int argc, char **argv)
{
	static const struct option opts[] = {{"policy", required_argument, NULL, 'p'},
					     {"quiet", no_argument, NULL, 'q'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct pol_policy *p = NULL;
	const char *pfile = NULL;
	char def[4096], err[1024];
	unsigned total = 0, failed = 0;
	int ch, quiet = 0, invalid = 0;
	FILE *out = stdout;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "p:qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': pfile = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': test_usage(stdout); return 0;
		default: test_usage(stderr); return SECURECTL_EX_USAGE;
		}
	}
	if (optind >= argc) {
		test_usage(stderr);
		return SECURECTL_EX_USAGE;
	}
	if (pfile != NULL) {
		p = pol_load_file(pfile, err, sizeof(err));
		if (p == NULL) {
			fprintf(stderr, "securectl policy test: %s\n", err);
			return POLICY_EX_INVALID;
		}
	} else if (policy_default_file(def, sizeof(def)) != 0) {
		return POLICY_EX_INVALID;
	}
	if (quiet) {
		cookie_io_functions_t io = {NULL, quiet_write, NULL, NULL};
		out = fopencookie(stdout, "w", io);
		if (out == NULL)
			out = stdout;
		else
			setvbuf(out, NULL, _IOLBF, 0);
	}
	for (int i = optind; i < argc; i++) {
		struct pol_suite_result res;
		if (pol_suite_run(argv[i], p, pfile ? NULL : def, out, &res, err, sizeof(err)) != 0) {
			fprintf(stderr, "securectl policy test: %s\n", err);
			invalid = 1;
			continue;
		}
		total += res.total;
		failed += res.failed;
	}
	if (out != stdout)
		fclose(out);
	pol_unref(p);
	printf("%u cases, %u passed, %u failed%s\n", total, total - failed, failed,
	       invalid ? " (and an invalid file)" : "");
	if (invalid)
		return POLICY_EX_INVALID;
	return failed == 0 && total > 0 ? 0 : 1;
}
