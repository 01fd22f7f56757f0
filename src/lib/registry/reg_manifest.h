/*
 * reg_manifest.h — the model registry's manifest: STATE/registry/manifest.json, the one list of
 * promoted models, signed with the registry's Ed25519 key (libsodium).
 *
 * Owns: the manifest's format ({"version":1,"updated":T,"models":[...],"key_id":..,
 * "signature":..}; the signature covers the canonical JSON (json_canon_append) of the object
 * without "signature"), the key files (registry.key 0600 secret, registry.pub), loading with
 * the signature checked every time, and atomic rewriting (fs_atomic_write).
 * Never: returns the models of a manifest whose signature does not verify, writes a manifest in
 * place, or creates a key anywhere but the registry folder.
 */
#ifndef SECAI_REG_MANIFEST_H
#define SECAI_REG_MANIFEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define REG_MANIFEST_MAX (64u << 20)
#define REG_PK_LEN 32
#define REG_SK_LEN 64

/* Paths under STATE/registry. */
int reg_paths(const char *state_dir, char *regdir, size_t n1, char *manifest, size_t n2);

/* Loads registry.key / registry.pub from regdir, creating the pair (0600 / 0644) when neither
 * exists. Returns 0 or -1 with err. */
int reg_key_load_or_create(const char *regdir, uint8_t sk[REG_SK_LEN], uint8_t pk[REG_PK_LEN],
			   char *err, size_t errlen);
/* Loads only the public key. Returns 0, 1 when there is none yet, -1 on error. */
int reg_pub_load(const char *regdir, uint8_t pk[REG_PK_LEN], char *err, size_t errlen);
/* The same from a given file (a copy of registry.pub kept elsewhere). 0, 1 missing, -1. */
int reg_pub_load_file(const char *path, uint8_t pk[REG_PK_LEN], char *err, size_t errlen);

/*
 * Loads and verifies manifest_path. *models gets a new reference to the models array.
 * A missing manifest is an empty registry (returns 1, *models = []). A bad signature, a manifest
 * without a key, or malformed JSON: -1 with err (and *models NULL).
 */
int reg_manifest_load(const char *manifest_path, const uint8_t pk[REG_PK_LEN], json_t **models,
		      char *err, size_t errlen);
/* Verifies a manifest document already parsed. 0 ok, -1 with err. */
int reg_manifest_verify(const json_t *doc, const uint8_t pk[REG_PK_LEN], char *err,
			size_t errlen);
/* Signs {"version":1,"updated":now,"models":models} and replaces manifest_path atomically. */
int reg_manifest_write(const char *manifest_path, const uint8_t sk[REG_SK_LEN],
		       const uint8_t pk[REG_PK_LEN], const json_t *models, char *err,
		       size_t errlen);
/* The entry with this sha256 in models, or NULL (borrowed). */
json_t *reg_models_find(const json_t *models, const char *sha256);
/* Removes every entry with this sha256 from models (in place, order of the others kept).
 * Returns how many were removed (0 when not listed), -1 when models is not an array. */
int reg_models_remove(json_t *models, const char *sha256);

/* True when s is 64 lowercase hex digits. */
int reg_is_sha256(const char *s);

#endif
