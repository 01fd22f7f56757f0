/*
 * securectl.h — the subcommands of securectl, one file each (like wg(8)).
 *
 * Each subcommand is `int NAME_main(int argc, char **argv)` with argv[0] = the subcommand name;
 * it returns the process exit code. Conventions: `--help` prints usage to stdout and returns 0;
 * a usage error prints usage to stderr and returns 64 (EX_USAGE).
 */
#ifndef SECAI_SECURECTL_H
#define SECAI_SECURECTL_H

#include <stdio.h>

#define SECURECTL_EX_USAGE 64

int up_main(int argc, char **argv);
int status_main(int argc, char **argv);
int audit_main(int argc, char **argv);
int gguf_main(int argc, char **argv);          /* gguf.c: inspect, and dispatch of tokenize */
int gguf_tokenize_main(int argc, char **argv); /* gguf_tokenize.c */
int scan_main(int argc, char **argv);          /* scan.c: model scanners */
int verify_blob_main(int argc, char **argv);   /* verify_blob.c: cosign signature / bundle */
int verify_model_main(int argc, char **argv);  /* verify_model.c: OpenSSF model signing */
int run_main(int argc, char **argv);           /* run.c */
int chat_main(int argc, char **argv);          /* chat.c */
int compartment_main(int argc, char **argv);   /* compartment.c: sandboxes */
int import_main(int argc, char **argv);        /* import.c: copy a model into the quarantine */
int quarantine_main(int argc, char **argv);    /* quarantine.c: status, list, show */
int policy_main(int argc, char **argv);        /* policy.c: check, explain, test */
int models_main(int argc, char **argv);        /* models.c: what the registry lists */
int ask_agent_main(int argc, char **argv);     /* ask_agent.c: answers the broker's prompts */

/* verify_blob.c: prints a signature report and verdict line (or the JSON report); returns st
 * (an enum sig_status, which is also the exit code). Used by verify-blob and verify-model. */
struct scan_report;
int verify_print_result(const struct scan_report *r, int st, const char *target, int json);

/* True when argv holds -h or --help (before any "--"). */
int securectl_wants_help(int argc, char **argv);

#endif
