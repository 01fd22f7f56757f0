/*
 * main.c — secai-registry: serves the signed list of promoted models on 127.0.0.1:8470.
 *
 * Owns: the command line (--config FILE, --port N; 0 = ephemeral), start-up (the sweep that
 * finishes deletions a crash interrupted, the admin token created at first start), binding
 * (bind_address, loopback by default), the "listening on" line on stdout, shutdown on
 * SIGINT/SIGTERM.
 * Never: starts with an admin token other users could read, writes to the registry except
 * through the sweep and an admin's DELETE, or binds anything but the configured address.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_client.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "registry/reg_store.h"
#include "registry/registry.h"

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"port", required_argument, NULL, 'p'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *config_path = NULL;
	struct secai_config cfg;
	struct http_options ho;
	struct reg_server s;
	struct http_server *srv;
	sigset_t set;
	char err[1024], addr[64];
	int c, port = -1, sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_init("secai-registry");
	while ((c = getopt_long(argc, argv, "c:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			if (port < 0 || port > 65535)
				fatalx("--port: 0..65535");
			break;
		case 'h':
			printf("usage: secai-registry [--config FILE] [--port N]\n"
			       "\n"
			       "Serves the models the quarantine promoted (the signed manifest\n"
			       "STATE/registry/manifest.json, verified on every request) on\n"
			       "bind_address:registry.port (127.0.0.1:8470): GET /v1/models[/SHA256],\n"
			       "GET /v1/models/SHA256/report, POST /v1/models/SHA256/verify, and\n"
			       "DELETE /v1/models/SHA256 with 'Authorization: Bearer' and the admin\n"
			       "token of STATE/registry/admin.token (created 0600 at first start).\n"
			       "  --config FILE  appliance.yaml (default $SECAI_CONFIG, STATE/appliance.yaml)\n"
			       "  --port N       override registry.port; 0 picks a free port (printed)\n");
			return 0;
		default:
			fprintf(stderr, "usage: secai-registry [--config FILE] [--port N]\n");
			return 64;
		}
	}
	if (config_load(config_path, &cfg, err, sizeof(err)) != 0 ||
	    config_finish(&cfg, err, sizeof(err)) != 0)
		fatalx("%s", err);
	log_set_level(cfg.log_level);
	if (reg_server_init(&s, cfg.state_dir) != 0)
		fatalx("state dir path too long");
	snprintf(s.audit_sock, sizeof(s.audit_sock), "%s", cfg.audit.socket);
	{
		json_t *done = json_array(), *unlisted = json_array();
		size_t i;
		json_t *v;
		int created;

		if (done == NULL || unlisted == NULL)
			fatalx("out of memory");
		/* a deletion a crash interrupted: finished (or forgotten) before anything is served */
		if (reg_sweep(cfg.state_dir, done, err, sizeof(err)) != 0)
			log_warnx("sweep skipped: %s", err);
		if (json_array_size(done) > 0) {
			json_t *d = json_pack("{s:O}", "sha256", done);
			char e2[256];
			if (d == NULL || audit_emit(s.audit_sock, s.audit_spool, "registry.swept", d,
						    e2, sizeof(e2)) < 0)
				log_warnx("audit registry.swept: %s", d ? e2 : "out of memory");
			json_decref(d);
		}
		if (reg_store_unlisted(cfg.state_dir, unlisted, err, sizeof(err)) == 0)
			json_array_foreach(unlisted, i, v)
				log_warnx("models/%s is not in the manifest: a promotion that did not "
					  "commit; secai-quarantine vets it again at its next start",
					  json_string_value(v));
		json_decref(done);
		json_decref(unlisted);
		if (reg_admin_token_ensure(s.regdir, s.admin_token, &created, err, sizeof(err)) != 0)
			fatalx("admin token: %s (remove the file to have a new one created)", err);
		s.have_token = 1;
		reg_admin_token_path(s.regdir, err, sizeof(err));
		log_info("admin token %s %s (mode 0600; DELETE needs it)",
			 created ? "created in" : "in", err);
	}
	memset(&ho, 0, sizeof(ho));
	ho.address = cfg.bind_address;
	ho.port = port >= 0 ? port : cfg.registry.port;
	ho.threads = 2;
	srv = http_server_start(&ho, reg_handle, &s);
	if (srv == NULL)
		fatalx("cannot listen on %s:%d", ho.address, ho.port);
	http_server_address(srv, addr, sizeof(addr));
	log_info("serving %s", s.manifest);
	printf("secai-registry: listening on http://%s:%d\n", addr, http_server_port(srv));
	fflush(stdout);
	sigwait(&set, &sig);
	log_info("signal %d: stopping", sig);
	http_server_stop(srv);
	return 0;
}
