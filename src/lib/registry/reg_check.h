/*
 * reg_check.h — may this model file be served? secai-infer's question to the registry, answered
 * from the signed manifest on disk (no daemon involved, so a stopped or impersonated
 * secai-registry cannot answer it wrongly).
 *
 * A model passes when: the registry's public key loads; the manifest's Ed25519 signature
 * verifies with it; the model's real path (symlinks resolved) is inside STATE/registry/models/;
 * a manifest entry names that same file; the entry is a single file; and the entry's sha256
 * equals the pin. The caller must still hash the bytes it loads and compare them with the pin
 * (the file may have changed since promotion).
 *
 * Owns: those checks and a message for each failure saying what failed and what to do.
 * Never: accepts a manifest whose signature does not verify, a path outside the store, or a
 * pin other than the listed hash.
 */
#ifndef SECAI_REG_CHECK_H
#define SECAI_REG_CHECK_H

#include <stddef.h>

enum reg_check {
	REG_CHECK_OK = 0,
	REG_CHECK_NO_KEY,	/* registry.pub missing or unreadable */
	REG_CHECK_MANIFEST,	/* manifest missing, malformed, or its signature fails */
	REG_CHECK_MISSING,	/* the model file does not exist */
	REG_CHECK_OUTSIDE,	/* not inside STATE/registry/models/ */
	REG_CHECK_NOT_LISTED,	/* in the store, but no manifest entry names it */
	REG_CHECK_NOT_FILE,	/* listed as a folder model */
	REG_CHECK_PIN,		/* listed with another sha256 than the pin */
};

/*
 * regdir: the registry folder (manifest.json, models/); pubfile: the public key file (hex;
 * normally regdir/registry.pub, or a copy kept elsewhere); model: the path to serve; pin: its
 * pinned sha256. On REG_CHECK_OK, canon gets the model's real path (load that one).
 * Otherwise err explains the failure and what to do.
 */
enum reg_check reg_check_model(const char *regdir, const char *pubfile, const char *model,
			       const char *pin, char *canon, size_t canonlen, char *err,
			       size_t errlen);

/* A short reason id for logs and audit events: "ok", "registry_key", "manifest_invalid",
 * "model_missing", "outside_store", "not_listed", "not_a_file", "pin_mismatch". */
const char *reg_check_reason(enum reg_check c);

#endif
