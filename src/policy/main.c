/*
 * main.c — secai-policy: options, configuration, start-up and orderly stop.
 *
 * Start-up order: read appliance.yaml, create the state directory, load the policy (a missing
 * or broken one installs deny-all, loudly), start HTTP on bind_address:policy.port, then serve
 * the Unix socket until SIGTERM/SIGINT. Prints "secai-policy: listening on http://ADDR:PORT
 * and unix:PATH" on stdout once both listen.
 * Owns: turning config into struct policyd. Never: starts serving before a policy (or the
 * deny-all stand-in) is in force.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compart.h"
#include "config.h"
#include "policy/pol.h"
#include "policy/qrexec.h"
#include "http.h"
#include "log.h"
#include "policy/policyd.h"
#include "statedir.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: secai-policy [--config FILE] [--policy FILE] [--socket PATH] [--port N]\n"
		"\n"
		"The default-deny decision point for the domains rpc, tool, egress, model, agent\n"
		"and mcp. Reads the YAML domain policy (docs/policy-schema.md); answers on a Unix\n"
		"socket (line-delimited JSON) and on HTTP (POST /v1/decide, GET /health). Every\n"
		"decision is an audit event. No policy, or a broken one, denies everything.\n"
		"\n"
		"  --config FILE   appliance.yaml to read (default: $SECAI_CONFIG, else\n"
		"                  STATE/appliance.yaml when present, else built-in defaults)\n"
		"  --policy FILE   override policy.file (default STATE/policy.yaml)\n"
		"  --socket PATH   override policy.socket (default STATE/run/policy.sock)\n"
		"  --port N        override policy.port (0 = any free port)\n"
		"  -h, --help      this text\n"
		"\n"
		"Signals: SIGHUP reloads the policy (so does a change to the file); an invalid new\n"
		"file is refused and the policy in force stays. SIGTERM/SIGINT stop.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
						  {"policy", required_argument, NULL, 'p'},
						  {"socket", required_argument, NULL, 's'},
						  {"port", required_argument, NULL, 'P'},
						  {"help", no_argument, NULL, 'h'},
						  {NULL, 0, NULL, 0}};
	const char *config_path = NULL, *pol_override = NULL, *sock_override = NULL;
	struct secai_config cfg;
	struct http_options ho;
	struct http_server *hs;
	struct policyd *pd;
	char err[512], host[96];
	sigset_t mask;
	long port = -1;
	int ch, rc;

	log_init("secai-policy");
	while ((ch = getopt_long(argc, argv, "c:p:s:P:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'p': pol_override = optarg; break;
		case 's': sock_override = optarg; break;
		case 'P': {
			char *end;
			port = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || port < 0 || port > 65535) {
				fprintf(stderr, "secai-policy: --port must be 0..65535\n");
				return 64;
			}
			break;
		}
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
	log_init("secai-policy"); /* $SECAI_LOG_LEVEL still wins over the file */
	if (statedir_ensure(cfg.state_dir) != 0)
		fatal("cannot create the state directory %s", cfg.state_dir);
	umask(077);

	/* signals go to the signalfd in server.c: block them before any thread starts */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);

	pd = calloc(1, sizeof(*pd));
	if (pd == NULL || policyd_init(pd) != 0)
		fatalx("out of memory");
	snprintf(pd->policy_file, sizeof(pd->policy_file), "%s",
		 pol_override ? pol_override : cfg.policy.file);
	snprintf(pd->socket_path, sizeof(pd->socket_path), "%s",
		 sock_override ? sock_override : cfg.policy.socket);
	snprintf(pd->audit_socket, sizeof(pd->audit_socket), "%s", cfg.audit.socket);
	snprintf(pd->audit_spool, sizeof(pd->audit_spool), "%s/audit/spool", cfg.state_dir);

	log_info("starting: config %s, policy %s", cfg.source, pd->policy_file);
	policyd_load(pd, 1);

	/* rpc requests no policy.yaml rule decides go to the Qubes qrexec policy.d, evaluated
	 * against the compartments (STATE/compartments.yaml; none = only dom0 is known) */
	{
		static struct qrx_rpc qrx;
		static struct compart_set cs;
		char cpath[4200];
		struct stat st;

		snprintf(cpath, sizeof(cpath), "%s/compartments.yaml", cfg.state_dir);
		if (stat(cpath, &st) == 0 && compart_load(cpath, &cs, err, sizeof(err)) != 0)
			fatalx("compartments: %s", err);
		if (qrx_rpc_init(&qrx, cfg.policy.qrexec_dir, cfg.policy.qrexec_compat_dir, &cs, err,
				 sizeof(err)) != 0)
			fatalx("qrexec policy: %s", err);
		pol_set_rpc_delegate(qrx_rpc_delegate, &qrx);
	}

	if (policyd_open_socket(pd) != 0)
		fatalx("cannot listen on %s", pd->socket_path);
	memset(&ho, 0, sizeof(ho));
	ho.address = cfg.bind_address;
	ho.port = (int)(port >= 0 ? port : cfg.policy.port);
	ho.max_body_bytes = POLICYD_MAX_LINE;
	hs = http_server_start(&ho, policyd_http, pd);
	if (hs == NULL)
		fatalx("cannot listen on %s:%d", ho.address, ho.port);
	http_server_address(hs, host, sizeof(host));
	printf("secai-policy: listening on http://%s%s%s:%d and unix:%s\n",
	       strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
	       http_server_port(hs), pd->socket_path);
	fflush(stdout);

	rc = policyd_serve(pd);
	http_server_stop(hs);
	log_info("stopped after %llu decisions", (unsigned long long)pd->decisions);
	policyd_fini(pd);
	free(pd);
	return rc == 0 ? 0 : 1;
}
