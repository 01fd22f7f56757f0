/*
 * main.c — securectl: the one command a person types. Holds only the subcommand table and the
 * dispatcher; each subcommand lives in its own file (up.c, status.c, audit.c, …).
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "securectl/securectl.h"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
    {"up", up_main, "start the appliance's daemons in the foreground on loopback"},
    {"status", status_main, "show each daemon's health"},
    {"audit", audit_main, "append to, verify, tail and prove the tamper-evident audit log"},
    {"gguf", gguf_main, "inspect and validate a GGUF model file; tokenize text with its vocabulary"},
    {"import", import_main, "copy a model file or folder into the quarantine for vetting"},
    {"quarantine", quarantine_main, "what the quarantine holds and decided: status, list, show"},
    {"models", models_main, "list the models the registry serves (promoted by the quarantine)"},
    {"policy", policy_main, "check, explain and test the default-deny policy"},
    {"scan", scan_main, "scan a model file or folder: format gate, structure, pickle imports"},
    {"verify-blob", verify_blob_main, "verify a cosign signature or Sigstore bundle over a file, offline"},
    {"verify-model", verify_model_main, "verify an OpenSSF model signature (model.sig) over a model, offline"},
    {"compartment", compartment_main, "list compartments (sandboxes); run a command inside one"},
    {"ask-agent", ask_agent_main, "answer the broker's `ask` prompts for calls between compartments"},
    {"chat", chat_main, "chat with a model in the terminal, through secai-infer or in-process"},
    {"run", run_main, "generate text from a GGUF model, one shot, streamed to the terminal"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: securectl COMMAND [ARGS...]\n\n"
		   "secai's command-line tool. Commands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\n'securectl COMMAND --help' describes a command.\n"
		   "Environment: SECAI_HOME (state directory), SECAI_CONFIG (appliance.yaml),\n"
		   "SECAI_LOG_LEVEL (debug|info|warn|error).\n");
}

int securectl_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	log_init("securectl");
	if (argc < 2) {
		usage(stderr);
		return SECURECTL_EX_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "securectl: unknown command '%s'; 'securectl --help' lists them\n", argv[1]);
	return SECURECTL_EX_USAGE;
}
