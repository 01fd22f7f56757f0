/*
 * audit.c — `securectl audit`: append, pubkey, checkpoint, and dispatch of verify, tail and
 * proof (audit_verify.c, audit_tail.c, audit_proof.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "audit_client.h"
#include "json.h"
#include "securectl/ctl.h"
#include "securectl/securectl.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: securectl audit COMMAND [ARGS]\n"
		"\n"
		"The tamper-evident audit log (secai-audit). Commands:\n"
		"  append EVENT [JSON]     append one event (JSON object data, default {}), like\n"
		"                          logger(1); spooled if the daemon is not running\n"
		"  verify [--json] [--log FILE] [--pubkey PEM] [--checkpoint NOTE]\n"
		"                          recompute chain, Merkle tree and checkpoints; name the\n"
		"                          first bad entry. Exit 0 intact, 2 not, 1 error\n"
		"  tail [-n N] [-f] [--log FILE]\n"
		"                          print the last N entries (10); -f follows new ones\n"
		"  proof INDEX [--size N] [--consistency OLD] [--log FILE]\n"
		"                          inclusion proof of entry INDEX (0-based) in the latest\n"
		"                          checkpoint, and optionally a consistency proof from OLD\n"
		"  checkpoint              ask the daemon to sign a checkpoint now\n"
		"  pubkey [--log FILE]     print the checkpoint public key (PEM and note verifier)\n"
		"\n"
		"The log lives at audit.log_file (default STATE/audit/audit.jsonl); docs/audit.md\n"
		"describes the format and how to check a checkpoint with openssl.\n");
}

static int append_main(int argc, char **argv)
{
	struct secai_config cfg;
	struct audit_paths p;
	char err[512], spool[PATH_MAX + 8];
	json_t *data = NULL;
	int rc;

	if (securectl_wants_help(argc, argv) || argc < 2 || argc > 3) {
		fprintf(argc < 2 || argc > 3 ? stderr : stdout,
			"usage: securectl audit append EVENT [JSON-OBJECT]\n"
			"Appends one event to the audit log and waits until it is on disk.\n"
			"EVENT: 1-128 of [A-Za-z0-9._:-]. If secai-audit is not running the event is\n"
			"spooled (STATE/audit/spool/) and absorbed, in order, when it starts.\n");
		return (argc < 2 || argc > 3) ? SECURECTL_EX_USAGE : 0;
	}
	if (!audit_event_name_ok(argv[1])) {
		fprintf(stderr, "securectl audit append: invalid event name '%s' (use 1-128 of "
				"[A-Za-z0-9._:-])\n", argv[1]);
		return SECURECTL_EX_USAGE;
	}
	if (argc == 3) {
		data = json_parse_object(argv[2], strlen(argv[2]), 1 << 20, err, sizeof(err));
		if (data == NULL) {
			fprintf(stderr, "securectl audit append: data must be a JSON object: %s\n",
				err);
			return SECURECTL_EX_USAGE;
		}
	}
	if (ctl_config(&cfg) != 0 || ctl_audit_paths(&cfg, NULL, &p) != 0) {
		json_decref(data);
		return 1;
	}
	snprintf(spool, sizeof(spool), "%s/spool", p.dir);
	rc = audit_emit(cfg.audit.socket, spool, argv[1], data, err, sizeof(err));
	json_decref(data);
	if (rc < 0) {
		fprintf(stderr, "securectl audit append: %s\n", err);
		return 1;
	}
	if (rc == 1)
		fprintf(stderr, "securectl audit append: secai-audit is not running at %s; the event "
				"was spooled to %s and will be appended when it starts\n",
			cfg.audit.socket, spool);
	return 0;
}

static int pubkey_main(int argc, char **argv)
{
	struct secai_config cfg;
	struct audit_paths p;
	struct ckpt_key key;
	struct buf pem = BUF_INIT;
	const char *log_override = NULL;
	char verifier[256];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--log") == 0 && i + 1 < argc) {
			log_override = argv[++i];
		} else {
			fprintf(strcmp(argv[i], "--help") ? stderr : stdout,
				"usage: securectl audit pubkey [--log FILE]\n"
				"Prints the checkpoint public key as PEM (for openssl) and as a signed-note\n"
				"verifier key (name+keyid+key).\n");
			return strcmp(argv[i], "--help") ? SECURECTL_EX_USAGE : 0;
		}
	}
	if (ctl_config(&cfg) != 0 || ctl_audit_paths(&cfg, log_override, &p) != 0)
		return 1;
	if (ckpt_key_load_public(p.pubpem, cfg.audit.origin, &key) != 0) {
		fprintf(stderr, "securectl audit pubkey: cannot read %s: %s (has secai-audit run?)\n",
			p.pubpem, strerror(errno));
		return 1;
	}
	if (ckpt_key_pem(&key, &pem) != 0)
		return 1;
	ckpt_key_verifier(&key, verifier, sizeof(verifier));
	printf("%s# note verifier key:\n%s\n", pem.data, verifier);
	buf_free(&pem);
	return 0;
}

static int checkpoint_main(int argc, char **argv)
{
	struct secai_config cfg;
	struct audit_client c;
	json_t *req, *rep = NULL;

	if (argc != 1) {
		fprintf(securectl_wants_help(argc, argv) ? stdout : stderr,
			"usage: securectl audit checkpoint\nAsks secai-audit to sign a checkpoint of "
			"the log now and prints it.\n");
		return securectl_wants_help(argc, argv) ? 0 : SECURECTL_EX_USAGE;
	}
	if (ctl_config(&cfg) != 0)
		return 1;
	if (audit_client_connect(cfg.audit.socket, &c) != 0) {
		fprintf(stderr, "securectl audit checkpoint: secai-audit is not reachable at %s: %s\n",
			cfg.audit.socket, strerror(errno));
		return 1;
	}
	req = json_pack("{s:s}", "op", "checkpoint");
	if (audit_client_send(&c, req) != 0 || audit_client_recv(&c, &rep) != 0 ||
	    !json_is_true(json_object_get(rep, "ok"))) {
		fprintf(stderr, "securectl audit checkpoint: the daemon did not sign one\n");
		json_decref(req);
		json_decref(rep);
		audit_client_close(&c);
		return 1;
	}
	printf("%s", json_get_string(rep, "note"));
	json_decref(req);
	json_decref(rep);
	audit_client_close(&c);
	return 0;
}

int audit_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {{"append", append_main},   {"verify", audit_verify_main},
		    {"tail", audit_tail_main},     {"proof", audit_proof_main},
		    {"pubkey", pubkey_main},       {"checkpoint", checkpoint_main}};

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? SECURECTL_EX_USAGE : 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "securectl audit: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return SECURECTL_EX_USAGE;
}
