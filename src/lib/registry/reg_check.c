/*
 * reg_check.c — is a model file one the signed registry lists at its pin? (see reg_check.h)
 *
 * Owns: the order of the checks (key, signature, store, listing, kind, pin) and their messages.
 * Never: passes a model when any check fails, or reads the model's bytes (the caller hashes
 * what it maps).
 */
#include "registry/reg_check.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "registry/reg_manifest.h"

const char *reg_check_reason(enum reg_check c)
{
	switch (c) {
	case REG_CHECK_OK: return "ok";
	case REG_CHECK_NO_KEY: return "registry_key";
	case REG_CHECK_MANIFEST: return "manifest_invalid";
	case REG_CHECK_MISSING: return "model_missing";
	case REG_CHECK_OUTSIDE: return "outside_store";
	case REG_CHECK_NOT_LISTED: return "not_listed";
	case REG_CHECK_NOT_FILE: return "not_a_file";
	case REG_CHECK_PIN: return "pin_mismatch";
	}
	return "?";
}

enum reg_check reg_check_model(const char *regdir, const char *pubfile, const char *model,
			       const char *pin, char *canon, size_t canonlen, char *err,
			       size_t errlen)
{
	char mpath[4200], store[4200], real[PATH_MAX], rstore[PATH_MAX], why[512];
	uint8_t pk[REG_PK_LEN];
	json_t *models = NULL, *e, *hit = NULL;
	enum reg_check rc;
	size_t i, sl;
	int k;

	snprintf(mpath, sizeof(mpath), "%s/manifest.json", regdir);
	snprintf(store, sizeof(store), "%s/models", regdir);
	k = reg_pub_load_file(pubfile, pk, why, sizeof(why));
	if (k != 0) {
		snprintf(err, errlen,
			 "no registry public key: %s (the registry has promoted nothing yet, or "
			 "--registry/--registry-pub point elsewhere): import the model with "
			 "'securectl import FILE' and serve the path the registry lists",
			 k == 1 ? pubfile : why);
		return REG_CHECK_NO_KEY;
	}
	k = reg_manifest_load(mpath, pk, &models, why, sizeof(why));
	if (k != 0) {
		json_decref(models);
		if (k == 1)
			snprintf(err, errlen,
				 "the registry manifest %s does not exist: nothing is promoted; "
				 "import the model with 'securectl import FILE'",
				 mpath);
		else
			snprintf(err, errlen,
				 "the registry manifest does not verify (%s): every model is refused "
				 "until it does; restore the manifest (or registry.pub) that the "
				 "registry signed",
				 why);
		return REG_CHECK_MANIFEST;
	}
	if (realpath(model, real) == NULL) {
		snprintf(err, errlen, "%s: %s", model, strerror(errno));
		rc = REG_CHECK_MISSING;
		goto out;
	}
	if (realpath(store, rstore) == NULL) {
		snprintf(err, errlen, "the registry store %s: %s: nothing is promoted; import the "
				      "model with 'securectl import FILE'",
			 store, strerror(errno));
		rc = REG_CHECK_OUTSIDE;
		goto out;
	}
	sl = strlen(rstore);
	if (strncmp(real, rstore, sl) != 0 || real[sl] != '/') {
		snprintf(err, errlen,
			 "%s is not inside the registry store %s: secai-infer serves only models the "
			 "quarantine promoted; import it with 'securectl import %s' and serve the "
			 "path the registry lists",
			 real, rstore, model);
		rc = REG_CHECK_OUTSIDE;
		goto out;
	}
	json_array_foreach(models, i, e) {
		const char *p = json_get_string(e, "path");
		char rp[PATH_MAX];
		if (p != NULL && realpath(p, rp) != NULL && strcmp(rp, real) == 0) {
			hit = e;
			break;
		}
	}
	if (hit == NULL) {
		snprintf(err, errlen,
			 "%s is in the registry store but the signed manifest does not list it "
			 "(deleted, or never promoted): import it again with 'securectl import'",
			 real);
		rc = REG_CHECK_NOT_LISTED;
		goto out;
	}
	if (json_get_string(hit, "kind") == NULL ||
	    strcmp(json_get_string(hit, "kind"), "file") != 0) {
		snprintf(err, errlen, "%s is listed as part of a folder model: secai-infer serves "
				      "single GGUF files",
			 real);
		rc = REG_CHECK_NOT_FILE;
		goto out;
	}
	if (json_get_string(hit, "sha256") == NULL || strcmp(json_get_string(hit, "sha256"), pin)) {
		snprintf(err, errlen,
			 "the registry lists sha256 %s for %s, but %s was pinned (--sha256 or "
			 "infer.model_sha256): pin the listed hash, or serve the model you pinned",
			 json_get_string(hit, "sha256") ? json_get_string(hit, "sha256") : "(none)",
			 real, pin);
		rc = REG_CHECK_PIN;
		goto out;
	}
	if (strlen(real) >= canonlen) {
		snprintf(err, errlen, "%s: path too long", real);
		rc = REG_CHECK_MISSING;
		goto out;
	}
	memcpy(canon, real, strlen(real) + 1);
	rc = REG_CHECK_OK;
out:
	json_decref(models);
	return rc;
}
