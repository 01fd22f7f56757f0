/*
 * main.c — secai-audit: options, configuration, start-up and orderly stop.
 *
 * Start-up order: read appliance.yaml, create the state directory, open and verify the log
 * (store_open refuses a log that does not verify), absorb the spool, then serve the socket.
 * Owns: turning config into audit_opts. Never: starts serving before recovery has finished.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit/audit.h"
#include "config.h"
#include "log.h"
#include "statedir.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: secai-audit [--config FILE] [--log FILE] [--socket PATH]\n"
		"\n"
		"The tamper-evident audit log daemon. Appends events sent over a Unix socket to a\n"
		"SHA-256 hash chain (one JSON line each), acknowledging each only after fsync;\n"
		"signs C2SP checkpoints over an RFC 6962 Merkle tree of the entries.\n"
		"\n"
		"  --config FILE   appliance.yaml to read (default: $SECAI_CONFIG, else\n"
		"                  STATE/appliance.yaml when present, else built-in defaults)\n"
		"  --log FILE      override audit.log_file\n"
		"  --socket PATH   override audit.socket\n"
		"  -h, --help      this text\n"
		"\n"
		"Signals: SIGTERM/SIGINT stop after a final checkpoint; SIGHUP writes a checkpoint.\n"
		"See docs/audit.md for the log format and verification.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
						  {"log", required_argument, NULL, 'l'},
						  {"socket", required_argument, NULL, 's'},
						  {"help", no_argument, NULL, 'h'},
						  {NULL, 0, NULL, 0}};
	const char *config_path = NULL, *log_override = NULL, *sock_override = NULL;
	struct secai_config cfg;
	struct audit_opts o;
	struct audit_store store;
	char err[512];
	int ch, rc;

	log_init("secai-audit");
	while ((ch = getopt_long(argc, argv, "c:l:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'l': log_override = optarg; break;
		case 's': sock_override = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 64;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 64;
	}
	if (config_load(config_path, &cfg, err, sizeof(err)) != 0 ||
	    config_finish(&cfg, err, sizeof(err)) != 0)
		fatalx("configuration: %s", err);
	log_set_level(cfg.log_level);
	log_init("secai-audit"); /* $SECAI_LOG_LEVEL still wins over the file */
	if (statedir_ensure(cfg.state_dir) != 0)
		fatal("cannot create the state directory %s", cfg.state_dir);

	memset(&o, 0, sizeof(o));
	snprintf(o.log_file, sizeof(o.log_file), "%s", log_override ? log_override : cfg.audit.log_file);
	snprintf(o.socket, sizeof(o.socket), "%s", sock_override ? sock_override : cfg.audit.socket);
	snprintf(o.origin, sizeof(o.origin), "%s", cfg.audit.origin);
	o.checkpoint_every = cfg.audit.checkpoint_every;
	o.checkpoint_interval = cfg.audit.checkpoint_interval;
	o.rotate_bytes = cfg.audit.rotate_bytes;
	o.max_entry_bytes = cfg.audit.max_entry_bytes;
	umask(077);

	log_info("starting: config %s, log %s", cfg.source, o.log_file);
	if (store_open(&store, &o) != 0)
		fatalx("cannot open the audit log %s (see the lines above)", o.log_file);
	if (store_absorb_spool(&store) != 0)
		fatalx("absorbing the spool in %s failed", store.spool_dir);
	rc = server_run(&store, &o);
	store_close(&store);
	return rc == 0 ? 0 : 1;
}
