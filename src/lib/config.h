/*
 * config.h — the appliance configuration, appliance.yaml.
 *
 * Owns: the one table of configuration keys (dotted path, type, default, range), reading
 * appliance.yaml into struct secai_config with errors that name `file:line`, and printing the
 * effective configuration back as YAML.
 * Never: accepts an unknown key, a duplicate key, a value of the wrong type or out of range, or a
 * YAML anchor, alias or tag; never leaves a half-applied file in the caller's struct (on error
 * the caller's struct is untouched); never reads more than CONFIG_MAX_BYTES.
 * Adding a key: one field below plus one row in config_keys[] in config.c.
 */
#ifndef SECAI_CONFIG_H
#define SECAI_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "log.h"

#define CONFIG_MAX_BYTES (1024 * 1024)
#define CONFIG_FILE_NAME "appliance.yaml"

enum { CONFIG_ASK_DENY = 0, CONFIG_ASK_DEFAULT_TARGET = 1 };

struct secai_config {
	char state_dir[4096]; /* "" = the statedir.h rule (resolved by config_finish) */
	enum log_level log_level;
	char bind_address[64]; /* IPv4 or IPv6 literal */
	struct {
		char socket[4096];   /* "" = <state_dir>/run/audit.sock */
		char log_file[4096]; /* "" = <state_dir>/audit/audit.jsonl */
		char origin[129];    /* checkpoint origin / key name */
		long long checkpoint_every;
		long long checkpoint_interval;
		long long rotate_bytes; /* 0 = never rotate */
		long long max_entry_bytes;
	} audit;
	struct {
		int port;
		char model[4096];      /* GGUF file to serve; "" = none given */
		char model_sha256[65]; /* expected SHA-256 (hex) of that file; required with it */
		char registry[4096];     /* registry folder infer checks; "" = <state_dir>/registry */
		char registry_pub[4096]; /* its public key; "" = <infer.registry>/registry.pub */
		long long threads;     /* 0 = one per online core */
		long long ctx;         /* context length; 0 = the model's, at most 4096 */
		long long queue;       /* requests waiting beyond the running one (429 past it) */
		char socket[4096];     /* the same API on a Unix socket; "" = <state_dir>/run/infer.sock */
	} infer;
	struct {
		int port;
	} registry, ui;
	struct {
		int port;
		char file[4096];   /* the YAML domain policy; "" = <state_dir>/policy.yaml */
		char socket[4096]; /* secai-policy's Unix socket; "" = <state_dir>/run/policy.sock */
		char qrexec_dir[4096];	      /* Qubes qrexec policy.d; "" = <state_dir>/policy.d */
		char qrexec_compat_dir[4096]; /* its !compat-4.0 folder; "" = <state_dir>/qubes-rpc-policy */
	} policy;
	struct {
		long long ask_timeout; /* seconds the prompt agent has to answer an ask */
		int ask_fallback;      /* with no agent: CONFIG_ASK_DENY or CONFIG_ASK_DEFAULT_TARGET */
	} broker;
	struct {
		char policy_dir[4096]; /* quarantine policy folder (policy.yaml, sources.allowlist.yaml,
					  models.lock.yaml, trust/); "" = <state_dir>/quarantine */
		char prompts[4096];    /* behavioural-test prompt file; "" = the installed data file */
	} quarantine;
	char source[4096]; /* file the values came from, or "(defaults)" */
};

/* Every key at its default; source = "(defaults)". */
void config_defaults(struct secai_config *cfg);

/* Loads defaults overlaid with a file. path NULL: $SECAI_CONFIG if set (it must exist), else
 * <state dir>/appliance.yaml if it exists, else defaults only. Does not call config_finish.
 * On error returns -1, writes "file:line: what was wrong (what is allowed)" into err and leaves
 * cfg untouched. */
int config_load(const char *path, struct secai_config *cfg, char *err, size_t errlen);

/* Like config_load on buf[0..len) (need not be NUL-terminated); name is used in errors. */
int config_load_buffer(const char *name, const char *buf, size_t len, struct secai_config *cfg,
		       char *err, size_t errlen);

/* Resolves state_dir ("" = statedir.h rule) and fills the "" paths that derive from it
 * (audit.socket, audit.log_file, infer.registry, infer.registry_pub, policy.file, policy.socket,
 * quarantine.policy_dir). Checks the socket paths fit a sockaddr_un. Idempotent. */
int config_finish(struct secai_config *cfg, char *err, size_t errlen);

/* Prints the effective config as YAML that config_load_buffer reads back to the same values. */
int config_print(const struct secai_config *cfg, FILE *f);

#endif
