/*
 * policy.c — `securectl policy check|explain|test`: the dispatcher of the policy subcommands.
 *
 * Each subcommand lives in its own file (policy_check.c, policy_explain.c, policy_test.c) and
 * gets argv with argv[0] = its name; qrexec-test (policy_qrexec_test.c) runs Qubes qrexec
 * conformance cases through the rpc domain's qrexec engine.
 * Owns: the command line of `policy`. Never: decides anything itself.
 */
#include <stdio.h>
#include <string.h>

#include "securectl/policy_cmds.h"
#include "securectl/securectl.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: securectl policy check [--json] [--canonical] [FILE]\n"
		   "       securectl policy explain DOMAIN KEY=VALUE...\n"
		   "       securectl policy test FILE\n"
		   "       securectl policy qrexec-test CASES.json\n"
		   "The YAML domain policy (docs/policy-schema.md): check validates a file and prints\n"
		   "its digest and rules per domain; explain prints the deciding rule for a request and\n"
		   "why each earlier rule did not match; test runs a file of requests with expected\n"
		   "decisions; qrexec-test runs Qubes 4.2 qrexec policy cases (docs/qrexec.md).\n"
		   "Exit: 0 ok, 1 a test case failed, 2 invalid policy or test file,\n"
		   "64 usage.\n");
}

int policy_main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? SECURECTL_EX_USAGE : 0;
	}
	if (strcmp(argv[1], "check") == 0)
		return policy_check_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "explain") == 0)
		return policy_explain_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "test") == 0)
		return policy_test_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "qrexec-test") == 0)
		return policy_qrexec_test_main(argc - 1, argv + 1);
	fprintf(stderr, "securectl policy: unknown policy subcommand '%s'\n", argv[1]);
	usage(stderr);
	return SECURECTL_EX_USAGE;
}
