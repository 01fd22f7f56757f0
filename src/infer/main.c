/*
 * main.c — secai-infer: serve one model over the OpenAI API on loopback, sealed.
 *
 * Start-up, in order, each step logged: read appliance.yaml; check the model against the signed
 * registry manifest (reg_check.h: signature, inside the store, listed, listed hash = pin;
 * refuse otherwise, with an infer.refused audit event); load the model through the strict
 * GGUF reader; check its SHA-256 against the pin (refuse a mismatch); build the tokenizer
 * and chat template; start the engine worker and the HTTP server; record "infer.started" in the
 * audit log; then seal (seccomp: no new sockets, no exec, no writing files, no ptrace). Only
 * then are requests answered by the engine. SIGTERM/SIGINT: refuse new requests (503), let the
 * running and queued ones finish, stop.
 * Owns: the process lifecycle. Never: serves a model it has not hashed, a model the signed
 * registry does not list at the pinned hash (there is no switch to skip that check), or runs
 * unsealed.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit_client.h"
#include "config.h"
#include "gguf/gguf.h"
#include "http.h"
#include "infer/infer.h"
#include "infer/srv.h"
#include "log.h"
#include "fsutil.h"
#include "registry/reg_check.h"
#include "seal.h"
#include <sodium.h>
#include "sha256.h"
#include "statedir.h"
#include "tokenizer/tok.h"

#if defined(__SANITIZE_ADDRESS__)
#define SECAI_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SECAI_ASAN 1
#endif
#endif
#ifdef SECAI_ASAN
void __lsan_do_leak_check(void);
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: secai-infer [--config FILE] [--model PATH --sha256 HEX] [--port N]\n"
		"                   [--threads N] [--ctx N] [--queue N]\n"
		"                   [--registry DIR] [--registry-pub FILE]\n"
		"\n"
		"Serves one GGUF model over an OpenAI-compatible API on %s (loopback by default):\n"
		"POST /v1/chat/completions, POST /v1/completions (streaming with \"stream\":true),\n"
		"GET /v1/models, /health, /metrics; the same API on the Unix socket infer.socket\n"
		"(default STATE/run/infer.sock). The model is loaded only if the registry's signed\n"
		"manifest lists that very file (inside the registry store) at the pinned SHA-256 and the\n"
		"file's bytes hash to it; once loaded and listening the process seals itself (seccomp).\n"
		"  --model PATH   the model (default infer.model); --sha256 HEX its pinned hash\n"
		"  --registry DIR the registry folder: manifest.json, models/ (default infer.registry,\n"
		"                 STATE/registry); --registry-pub FILE its Ed25519 public key (default\n"
		"                 infer.registry_pub, DIR/registry.pub: keep a copy elsewhere and\n"
		"                 point here to catch a replaced key pair)\n"
		"  --port N       default infer.port (8465); 0 picks a free port (printed)\n"
		"  --threads N    engine threads (default: one per core)\n"
		"  --ctx N        context length (default: the model's, at most 4096)\n"
		"  --queue N      waiting requests allowed beyond the running one (default 8)\n"
		"Signals: SIGTERM/SIGINT finish running requests, refuse new ones, then exit.\n",
		"127.0.0.1:8465");
}

static int hash_model(struct srv *s, const struct gguf_file *g)
{
	uint8_t h[SHA256_LEN];
	const uint8_t *p = gguf_map(g);
	uint64_t n = gguf_file_size(g);

	if (p == NULL || sha256_digest(p, n, h) != 0)
		return -1;
	hex_encode(h, SHA256_LEN, s->model_sha256);
	s->model_bytes = n;
	return 0;
}

/* Records why the model is refused (appended, else spooled) and exits 1. */
static void refuse(const struct secai_config *cfg, const char *model, const char *pin,
		   const char *reason, const char *why) __attribute__((noreturn));
static void refuse(const struct secai_config *cfg, const char *model, const char *pin,
		   const char *reason, const char *why)
{
	char spool[4200], err[256];
	json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "model", model, "sha256", pin, "reason",
			      reason, "error", why);

	snprintf(spool, sizeof(spool), "%s/audit/spool", cfg->state_dir);
	if (d == NULL || audit_emit(cfg->audit.socket, spool, "infer.refused", d, err,
				    sizeof(err)) < 0)
		log_warnx("audit infer.refused: %s", d ? err : "out of memory");
	json_decref(d);
	fatalx("refusing %s (%s): %s", model, reason, why);
}

static void emit_audit(struct audit_client *ac, const char *event, json_t *data)
{
	char err[256];

	if (ac->fd >= 0 && audit_client_append(ac, event, data, NULL, err, sizeof(err)) != 0)
		log_warnx("audit: %s", err);
	json_decref(data);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'}, {"model", required_argument, NULL, 'm'},
	    {"sha256", required_argument, NULL, 's'}, {"port", required_argument, NULL, 'p'},
	    {"threads", required_argument, NULL, 't'}, {"ctx", required_argument, NULL, 'x'},
	    {"queue", required_argument, NULL, 'q'},   {"help", no_argument, NULL, 'h'},
	    {"registry", required_argument, NULL, 'r'},
	    {"registry-pub", required_argument, NULL, 'k'},
	    {NULL, 0, NULL, 0}};
	const char *config_path = NULL, *model = NULL, *sha = NULL, *regdir = NULL, *regpub = NULL;
	char regpub_buf[4200], canon[4096];
	long port = -1, threads = -1, ctxlen = -1, queue = -1;
	struct secai_config cfg;
	struct srv s;
	struct http_options ho;
	struct http_server *hs, *hs_unix;
	struct audit_client ac = {.fd = -1};
	char err[512], addr[128];
	sigset_t sigs;
	int ch, sig;

	/* signals are taken by sigwait in main only: block them before any thread exists */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_init("secai-infer");
	while ((ch = getopt_long(argc, argv, "c:m:s:p:t:x:q:r:k:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'm': model = optarg; break;
		case 's': sha = optarg; break;
		case 'p': port = strtol(optarg, NULL, 10); break;
		case 't': threads = strtol(optarg, NULL, 10); break;
		case 'x': ctxlen = strtol(optarg, NULL, 10); break;
		case 'q': queue = strtol(optarg, NULL, 10); break;
		case 'r': regdir = optarg; break;
		case 'k': regpub = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 64;
		}
	}
	if (optind != argc || port < -1 || port > 65535 || threads < -1 || threads > 256 ||
	    ctxlen < -1 || queue < -1 || queue > 1024 || queue == 0) {
		usage(stderr);
		return 64;
	}
	if (config_load(config_path, &cfg, err, sizeof(err)) != 0 ||
	    config_finish(&cfg, err, sizeof(err)) != 0)
		fatalx("configuration: %s", err);
	log_set_level(cfg.log_level);
	log_init("secai-infer");
	if (model == NULL && cfg.infer.model[0])
		model = cfg.infer.model;
	if (sha == NULL && cfg.infer.model_sha256[0])
		sha = cfg.infer.model_sha256;
	if (sha != NULL && sha[0] == '\0')
		sha = NULL;
	if (model == NULL || sha == NULL)
		fatalx("no model to serve: give --model PATH --sha256 HEX (or infer.model and "
		       "infer.model_sha256 in appliance.yaml); secai-infer loads only pinned models");

	/* 0. the registry: only a model its signed manifest lists, at the pin, is loaded */
	if (regpub == NULL && regdir != NULL) {
		snprintf(regpub_buf, sizeof(regpub_buf), "%s/registry.pub", regdir);
		regpub = regpub_buf;
	}
	if (regdir == NULL)
		regdir = cfg.infer.registry;
	if (regpub == NULL)
		regpub = cfg.infer.registry_pub;
	{
		enum reg_check rc = reg_check_model(regdir, regpub, model, sha, canon,
						    sizeof(canon), err, sizeof(err));
		if (rc != REG_CHECK_OK)
			refuse(&cfg, model, sha, reg_check_reason(rc), err);
		log_info("registry %s lists %s at the pinned sha256 (manifest signature verified "
			 "with %s)",
			 regdir, canon, regpub);
		model = canon;
	}

	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	s.queue_max = (int)(queue > 0 ? queue : cfg.infer.queue);
	s.n_threads = (int)(threads >= 0 ? threads : cfg.infer.threads);
	if (s.n_threads == 0)
		s.n_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);

	/* 1. the model, through the strict reader, and its pinned hash */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (infer_model_load(model, &s.model, err, sizeof(err)) != 0)
		fatalx("cannot load %s: %s", model, err);
	if (hash_model(&s, infer_model_gguf(s.model)) != 0)
		fatalx("cannot hash %s", model);
	if (strcmp(s.model_sha256, sha) != 0) {
		char why[512];
		snprintf(why, sizeof(why),
			 "its SHA-256 is %s but the registry lists (and the pin is) %s: the file "
			 "changed after promotion; delete it ('securectl models delete %.12s') and "
			 "import a good copy",
			 s.model_sha256, sha, sha);
		refuse(&cfg, model, sha, "hash_mismatch", why);
	}
	const char *base = strrchr(model, '/');
	snprintf(s.model_name, sizeof(s.model_name), "%s", base ? base + 1 : model);
	if (tok_vocab_from_gguf(infer_model_gguf(s.model), &s.vocab, err, sizeof(err)) != 0)
		fatalx("tokenizer of %s: %s", model, err);
	{
		const struct gguf_kv *kv = gguf_find_kv(infer_model_gguf(s.model),
							"tokenizer.chat_template");
		const char *t = NULL;
		size_t tl = 0;
		int fallback = 0;
		if (kv != NULL)
			gguf_kv_get_str(kv, &t, &tl);
		s.tmpl = chat_template_detect(t, tl, &fallback);
		if (fallback)
			log_warnx("chat template of %s not recognised%s: using ChatML", s.model_name,
				  t ? "" : " (none in the file)");
	}
	struct infer_ctx_params cp;
	infer_ctx_params_default(&cp);
	cp.n_threads = s.n_threads;
	long want_ctx = ctxlen >= 0 ? ctxlen : cfg.infer.ctx;
	if (want_ctx > 0)
		cp.n_ctx = (uint32_t)want_ctx;
	if (infer_ctx_new(s.model, &cp, &s.ctx, err, sizeof(err)) != 0)
		fatalx("cannot create a context: %s", err);
	s.n_ctx = infer_ctx_n_ctx(s.ctx);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("model %s (sha256 %s, %llu bytes) loaded in %.2f s; template %s, context %u, "
		 "%d threads",
		 s.model_name, s.model_sha256, (unsigned long long)s.model_bytes,
		 (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		 chat_template_name(s.tmpl), s.n_ctx, s.n_threads);

	/* 2. the worker and the listening socket */
	if (srv_jobs_start(&s) != 0)
		fatalx("cannot start the engine worker");
	memset(&ho, 0, sizeof(ho));
	ho.address = cfg.bind_address;
	ho.port = (int)(port >= 0 ? port : cfg.infer.port);
	ho.threads = (unsigned)(s.queue_max + 4 > 64 ? 64 : s.queue_max + 4);
	ho.max_connections = 256;
	ho.max_body_bytes = 8u << 20;
	ho.timeout_seconds = 600;
	hs = http_server_start(&ho, srv_handle, &s);
	if (hs == NULL)
		fatalx("cannot listen on %s:%d", ho.address, ho.port);
	/* the same API on a Unix socket: compartments without any network reach the model here */
	ho.unix_path = cfg.infer.socket;
	{
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s", cfg.infer.socket);
		if (strrchr(dir, '/') != NULL)
			*strrchr(dir, '/') = '\0';
		hs_unix = dir[0] && fs_mkdir_p(dir, 0700) != 0 ? NULL
								: http_server_start(&ho, srv_handle, &s);
	}
	if (hs_unix == NULL)
		log_warnx("no Unix socket at %s (infer.socket): compartments without a network "
			  "cannot reach the model; the TCP API is unaffected",
			  cfg.infer.socket);
	{
		char host[96];
		http_server_address(hs, host, sizeof(host));
		snprintf(addr, sizeof(addr), "%s:%d", host, http_server_port(hs));
	}

	/* 3. the audit record, over a connection opened before the seal */
	if (audit_client_connect(cfg.audit.socket, &ac) != 0) {
		char spool[4200];
		snprintf(spool, sizeof(spool), "%s/audit/spool", cfg.state_dir);
		json_t *d = json_pack("{s:s, s:s, s:s}", "model", model, "sha256", s.model_sha256,
				      "listen", addr);
		if (audit_spool_write(spool, "infer.started", d, err, sizeof(err)) != 0)
			log_warnx("audit unreachable and spooling failed: %s", err);
		json_decref(d);
		log_warnx("audit daemon unreachable at %s: infer.started spooled", cfg.audit.socket);
	} else {
		emit_audit(&ac, "infer.started",
			   json_pack("{s:s, s:s, s:s}", "model", model, "sha256", s.model_sha256,
				     "listen", addr));
	}

	/* 4. the seal (libsodium initialised first: request ids come from randombytes) */
	if (sodium_init() < 0)
		fatalx("cannot initialise libsodium");
#ifdef SECAI_ASAN
	__lsan_do_leak_check(); /* LeakSanitizer's exit-time check needs ptrace, which the seal forbids */
#endif
	if (seal_process(err, sizeof(err)) != 0)
		fatalx("cannot seal the process: %s", err);
	log_info("sealed (seccomp: no sockets, connect, exec, file writes or ptrace from here on); "
		 "serving %s on http://%s/v1",
		 s.model_name, addr);
	emit_audit(&ac, "infer.sealed", json_pack("{s:s}", "listen", addr));
	printf("secai-infer: listening on http://%s\n", addr);
	fflush(stdout);

	/* 5. until SIGTERM: then drain */
	while (sigwait(&sigs, &sig) != 0)
		;
	log_info("signal %d: draining (new requests get 503)", sig);
	pthread_mutex_lock(&s.lock);
	s.draining = 1;
	for (int i = 0; i < 600 && (s.queued > 0 || s.running > 0); i++) {
		pthread_mutex_unlock(&s.lock);
		usleep(100000);
		pthread_mutex_lock(&s.lock);
	}
	pthread_mutex_unlock(&s.lock);
	http_server_stop(hs);
	http_server_stop(hs_unix);
	srv_jobs_stop(&s);
	emit_audit(&ac, "infer.stopped",
		   json_pack("{s:I, s:I}", "requests", (json_int_t)s.m.requests_ok,
			     "generated_tokens", (json_int_t)s.m.generated_tokens));
	audit_client_close(&ac);
	log_info("stopped: %llu requests served, %llu tokens generated",
		 (unsigned long long)s.m.requests_ok, (unsigned long long)s.m.generated_tokens);
	infer_ctx_free(s.ctx);
	tok_vocab_free(s.vocab);
	infer_model_free(s.model);
	return 0;
}
