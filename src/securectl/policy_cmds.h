/*
 * policy_cmds.h — `securectl policy check|explain|test|qrexec-test`: the policies from the shell.
 *
 * policy.c (the `policy` dispatcher) calls these with argv[0] = the
 * subcommand name ("check", "explain", "test"). Exit codes: 0 success, 1 a test failed (test),
 * 2 the policy or test file is invalid, 64 usage.
 * Never: loads a policy these commands were not pointed at (FILE, --policy, else policy.file).
 */
#ifndef SECAI_POLICY_CMDS_H
#define SECAI_POLICY_CMDS_H

#include <stddef.h>

#define POLICY_EX_INVALID 2

int policy_check_main(int argc, char **argv);	/* policy_check.c: check [FILE] */
int policy_explain_main(int argc, char **argv); /* policy_explain.c: explain DOMAIN k=v... */
int policy_test_main(int argc, char **argv);	/* policy_test.c: test FILE */
/* policy_qrexec_test.c: qrexec-test CASES.json (Qubes 4.2 conformance cases) */
int policy_qrexec_test_main(int argc, char **argv);

/* policy_check.c: the configured policy.file (appliance.yaml, else STATE/policy.yaml). */
int policy_default_file(char *out, size_t outlen);

#endif
