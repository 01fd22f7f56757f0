/*
 * main.c — secai-registry: serves the signed list of promoted models on 127.0.0.1:8470.
 *
 * Owns: the command line (--config FILE, --port N; 0 = ephemeral), binding (bind_address,
 * loopback by default), the "listening on" line on stdout, shutdown on SIGINT/SIGTERM.
 * Never: writes to the registry or binds anything but the configured address.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"
#include "log.h"
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
			printf("usage: secai-registry [--config FILE] [--port N]\n");
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
