/*
 * models.c — `securectl models [list] [--json]`: what the registry lists (only what the
 * quarantine promoted), asked from secai-registry, which verifies its signed manifest on every
 * request; `securectl models delete NAME|SHA256`: the admin's deletion, sent to secai-registry
 * with the admin token of STATE/registry/admin.token; `securectl models verify [NAME|SHA256]`:
 * secai-registry re-hashes one listed model or all of them.
 * Owns: the listing, resolving a name or hash prefix to one listed model, the DELETE and verify
 * requests.
 * Never: reads the manifest file itself (the registry is the one that verifies it), lists a
 * model the registry did not answer with, deletes files itself, prints the token, or guesses
 * between two models a name matches.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "registry/reg_admin.h"
#include "registry/reg_manifest.h"
#include "securectl/ctl.h"
#include "securectl/daemons.h"
#include "securectl/securectl.h"
#include "sha256.h"
#include <sodium.h>

static void models_usage(FILE *f)
{
	fprintf(f, "usage: securectl models [list] [--json]\n"
		   "       securectl models verify [NAME|SHA256] [--json]\n"
		   "       securectl models delete NAME|SHA256 [--json]\n"
		   "\n"
		   "list (the default) shows the models secai-registry serves: promoted by the\n"
		   "quarantine, listed in its signed manifest (checked on every request).\n"
		   "verify asks secai-registry to re-hash one model, or every listed model, and\n"
		   "compare with the signed manifest (audited as registry.verified); exit 1 when any\n"
		   "no longer matches.\n"
		   "delete removes one model from the registry: its manifest entry (the manifest is\n"
		   "re-signed) and then its files. NAME is a listed name (it must match one model), or\n"
		   "give the SHA-256 (or a unique prefix of at least 8 hex digits). Deleting needs the\n"
		   "registry's admin token, read from STATE/registry/admin.token (0600, created by\n"
		   "secai-registry at its first start); the registry records registry.deleted (or\n"
		   "registry.delete_refused) in the audit log.\n"
		   "Exit 0; 1 when the registry does not answer or refuses, or a model changed; 64\n"
		   "usage.\n");
}

static json_t *models_list(const struct secai_config *cfg)
{
	json_t *list = daemon_get_json(cfg, cfg->registry.port, "/v1/models");

	if (list == NULL)
		fprintf(stderr, "securectl models: secai-registry does not answer on %s:%d (is the "
				"appliance up? 'securectl status'), or its manifest does not verify\n",
			cfg->bind_address, cfg->registry.port);
	return list;
}

static int models_print(const struct secai_config *cfg, int json)
{
	json_t *list = models_list(cfg), *e;
	size_t i;

	if (list == NULL)
		return 1;
	if (json) {
		char *s = json_dumps(json_object_get(list, "data"), JSON_INDENT(2));
		printf("%s\n", s ? s : "[]");
		free(s);
		json_decref(list);
		return 0;
	}
	printf("%-28s %-8s %-10s %12s  %-16s  %s\n", "NAME", "FORMAT", "QUANT", "BYTES", "SHA256",
	       "PROMOTED");
	json_array_foreach(json_object_get(list, "data"), i, e) {
		long long size = 0;
		json_get_int(e, "size", &size);
		const char *sha = json_get_string(e, "sha256");
		printf("%-28s %-8s %-10s %12lld  %.16s  %s\n",
		       json_get_string(e, "name") ? json_get_string(e, "name") : "?",
		       json_get_string(e, "format") ? json_get_string(e, "format") : "?",
		       json_get_string(e, "quantization") ? json_get_string(e, "quantization") : "-",
		       size, sha ? sha : "?",
		       json_get_string(e, "promoted") ? json_get_string(e, "promoted") : "?");
	}
	if (json_array_size(json_object_get(list, "data")) == 0)
		printf("(none yet: drop a model into the quarantine with 'securectl import FILE')\n");
	json_decref(list);
	return 0;
}

static int is_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

/* The one listed model target names: a full sha256, a unique hex prefix (>= 8), or a name that
 * matches exactly one entry. Fills sha and name; prints why not and returns -1. */
static int models_resolve(const json_t *data, const char *target, char sha[65], char *name,
			  size_t namelen)
{
	size_t i, by_name = 0, by_prefix = 0, tl = strlen(target);
	const json_t *hit_name = NULL, *hit_prefix = NULL, *e;

	json_array_foreach(data, i, e) {
		const char *h = json_get_string(e, "sha256"), *n = json_get_string(e, "name");
		if (h == NULL)
			continue;
		if (strcmp(h, target) == 0) {
			hit_prefix = e;
			by_prefix = 1;
			by_name = 0;
			break;
		}
		if (n != NULL && strcmp(n, target) == 0) {
			hit_name = e;
			by_name++;
		}
		if (tl >= 8 && is_hex(target) && strncmp(h, target, tl) == 0) {
			hit_prefix = e;
			by_prefix++;
		}
	}
	if (by_name > 1 || by_prefix > 1 || (by_name == 1 && by_prefix == 1 && hit_name != hit_prefix)) {
		fprintf(stderr, "securectl models: '%s' matches more than one model; give the "
				"SHA-256:\n", target);
		json_array_foreach(data, i, e) {
			const char *h = json_get_string(e, "sha256"), *n = json_get_string(e, "name");
			if (h != NULL && ((n != NULL && strcmp(n, target) == 0) ||
					  (tl >= 8 && is_hex(target) && strncmp(h, target, tl) == 0)))
				fprintf(stderr, "  %s  %s\n", h, n ? n : "?");
		}
		return -1;
	}
	e = by_prefix == 1 ? hit_prefix : hit_name;
	if (e == NULL) {
		fprintf(stderr, "securectl models: no listed model is named or hashed '%s' "
				"('securectl models' lists them)\n", target);
		return -1;
	}
	snprintf(sha, 65, "%s", json_get_string(e, "sha256"));
	snprintf(name, namelen, "%s", json_get_string(e, "name") ? json_get_string(e, "name") : "?");
	return 0;
}

/* The registry's answer, capped at 16 MiB (a listing of every model's verification). */
#define MODELS_REPLY_MAX (16u << 20)

static size_t reply_write(char *p, size_t sz, size_t nm, void *arg)
{
	struct buf *b = arg;
	size_t n = sz * nm;

	if (n > MODELS_REPLY_MAX - b->len || buf_append(b, p, n) != 0)
		return 0;
	return n;
}

/* METHOD path on secai-registry, with the admin token when tok is not NULL. Returns the HTTP
 * status (0: no answer); the body in b. */
static long models_send(const struct secai_config *cfg, const char *method, const char *path,
			const uint8_t *tok, struct buf *b)
{
	char url[512], auth[32 + 2 * REG_TOKEN_LEN];
	struct curl_slist *h = NULL;
	long status = 0;
	CURL *c = curl_easy_init();

	if (c == NULL)
		return 0;
	snprintf(url, sizeof(url), "http://%s%s%s:%d%s", strchr(cfg->bind_address, ':') ? "[" : "",
		 cfg->bind_address, strchr(cfg->bind_address, ':') ? "]" : "", cfg->registry.port,
		 path);
	if (tok != NULL) {
		memcpy(auth, "Authorization: Bearer ", 22);
		hex_encode(tok, REG_TOKEN_LEN, auth + 22);
		h = curl_slist_append(h, auth);
		sodium_memzero(auth, sizeof(auth));
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	/* re-hashing every model reads every byte of the store: no overall time limit, but the
	 * connection must come up */
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, reply_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h); /* the list holds a copy of the header: freed, not zeroed */
	curl_easy_cleanup(c);
	return status;
}

static void models_refused(const struct secai_config *cfg, const char *what, long status,
			   const json_t *rep)
{
	const char *msg = json_get_string(json_object_get(rep, "error"), "message");

	if (status == 0)
		fprintf(stderr, "securectl models %s: secai-registry does not answer on %s:%d\n",
			what, cfg->bind_address, cfg->registry.port);
	else
		fprintf(stderr, "securectl models %s: secai-registry answered %ld: %s%s\n", what,
			status, msg ? msg : "(no message)",
			status == 401 || status == 403
			    ? " (does STATE/registry/admin.token belong to the registry running on "
			      "that port?)"
			    : "");
}

/* securectl models verify [TARGET]: POST /v1/models/verify, or /v1/models/<sha>/verify. Exit 0
 * only when every re-hashed model still has its listed hash. */
static int models_verify(const struct secai_config *cfg, const char *target, int json)
{
	char path[128], sha[65], name[512], jerr[128];
	struct buf b = BUF_INIT;
	json_t *rep, *list, *e;
	long status;
	size_t i, bad = 0;

	if (target != NULL) {
		if ((list = models_list(cfg)) == NULL)
			return 1;
		int rc = models_resolve(json_object_get(list, "data"), target, sha, name,
					sizeof(name));
		json_decref(list);
		if (rc != 0)
			return 1;
		snprintf(path, sizeof(path), "/v1/models/%s/verify", sha);
	} else {
		snprintf(path, sizeof(path), "/v1/models/verify");
		fprintf(stderr, "re-hashing every model the registry lists…\n");
	}
	status = models_send(cfg, "POST", path, NULL, &b);
	rep = b.len ? json_parse_object(b.data, b.len, MODELS_REPLY_MAX, jerr, sizeof(jerr)) : NULL;
	if (status != 200 || rep == NULL) {
		models_refused(cfg, "verify", status, rep);
		json_decref(rep);
		buf_free(&b);
		return 1;
	}
	if (json)
		printf("%s\n", b.data);
	buf_free(&b);
	json_t *one = target != NULL ? json_pack("[O]", rep) : NULL;
	json_t *data = target != NULL ? one : json_object_get(rep, "data");
	json_array_foreach(data, i, e) {
		int ok = json_is_true(json_object_get(e, "ok"));
		const char *err = json_get_string(e, "error"), *got = json_get_string(e, "actual");
		bad += !ok;
		if (json)
			continue;
		printf("%-8s %-28s %.16s", ok ? "ok" : "CHANGED",
		       json_get_string(e, "name") ? json_get_string(e, "name") : "?",
		       json_get_string(e, "sha256") ? json_get_string(e, "sha256") : "?");
		if (err != NULL)
			printf("  %s", err);
		else if (!ok && got != NULL)
			printf("  now %.16s", got);
		printf("\n");
	}
	if (!json) {
		if (json_array_size(data) == 0)
			printf("(no models listed)\n");
		if (bad)
			printf("%zu of %zu models no longer match what the quarantine vetted: do not "
			       "serve them; delete them ('securectl models delete') and import them "
			       "again\n",
			       bad, json_array_size(data));
		else if (json_array_size(data) > 0)
			printf("%zu model%s re-hashed: all match the signed manifest\n",
			       json_array_size(data), json_array_size(data) == 1 ? "" : "s");
	}
	json_decref(one);
	json_decref(rep);
	return bad ? 1 : 0;
}

static int models_delete(const struct secai_config *cfg, const char *target, int json)
{
	char regdir[4200], mpath[4200], sha[65], name[512], err[600], jerr[128];
	uint8_t tok[REG_TOKEN_LEN];
	struct buf b = BUF_INIT;
	json_t *list, *rep;
	long status;
	int rc;

	if (reg_paths(cfg->state_dir, regdir, sizeof(regdir), mpath, sizeof(mpath)) != 0) {
		fprintf(stderr, "securectl models delete: state directory path too long\n");
		return 1;
	}
	rc = reg_admin_token_load(regdir, tok, err, sizeof(err));
	if (rc != 0) {
		if (rc == 1)
			reg_admin_token_path(regdir, err, sizeof(err));
		fprintf(stderr, "securectl models delete: %s%s\n", rc == 1 ? "no admin token at " : "",
			err);
		if (rc == 1)
			fprintf(stderr, "  secai-registry creates it at its first start ('securectl "
					"up'); only its owner can read it\n");
		return 1;
	}
	if ((list = models_list(cfg)) == NULL) {
		sodium_memzero(tok, sizeof(tok));
		return 1;
	}
	rc = models_resolve(json_object_get(list, "data"), target, sha, name, sizeof(name));
	json_decref(list);
	if (rc != 0) {
		sodium_memzero(tok, sizeof(tok));
		return 1;
	}
	snprintf(err, sizeof(err), "/v1/models/%s", sha);
	status = models_send(cfg, "DELETE", err, tok, &b);
	sodium_memzero(tok, sizeof(tok));
	rep = b.len ? json_parse_object(b.data, b.len, MODELS_REPLY_MAX, jerr, sizeof(jerr)) : NULL;
	if (status == 200) {
		if (json)
			printf("%s\n", b.data);
		else
			printf("deleted %s (sha256 %s) from the registry: manifest re-signed, files "
			       "removed\n",
			       name, sha);
		json_decref(rep);
		buf_free(&b);
		return 0;
	}
	models_refused(cfg, "delete", status, rep);
	json_decref(rep);
	buf_free(&b);
	return 1;
}

int models_main(int argc, char **argv)
{
	struct secai_config cfg;
	const char *target = NULL;
	int json = 0, del = 0, verify = 0, k = 1;

	if (securectl_wants_help(argc, argv)) {
		models_usage(stdout);
		return 0;
	}
	if (k < argc && strcmp(argv[k], "list") == 0) {
		k++;
	} else if (k < argc && strcmp(argv[k], "delete") == 0) {
		del = 1;
		k++;
	} else if (k < argc && strcmp(argv[k], "verify") == 0) {
		verify = 1;
		k++;
	}
	for (; k < argc; k++) {
		if (strcmp(argv[k], "--json") == 0) {
			json = 1;
		} else if ((del || verify) && target == NULL && argv[k][0] != '-') {
			target = argv[k];
		} else {
			models_usage(stderr);
			return SECURECTL_EX_USAGE;
		}
	}
	if (del && target == NULL) {
		models_usage(stderr);
		return SECURECTL_EX_USAGE;
	}
	if (ctl_config(&cfg) != 0)
		return 1;
	if (verify)
		return models_verify(&cfg, target, json);
	return del ? models_delete(&cfg, target, json) : models_print(&cfg, json);
}
