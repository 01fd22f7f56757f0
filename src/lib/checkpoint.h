/*
 * checkpoint.h — C2SP signed-note checkpoints over the audit log's Merkle tree, Ed25519 keys.
 *
 * A checkpoint is a signed note (c2sp.org/signed-note, c2sp.org/tlog-checkpoint):
 *     <origin>\n<tree size>\n<base64 root>\n\n— <key name> <base64(key id || signature)>\n
 * signed with Ed25519 (libsodium) over the body (the three lines, final newline included), so
 * `openssl pkeyutl -verify -rawin` checks it against the PEM public key.
 * key id = SHA-256(name || 0x0A || 0x01 || public key)[:4].
 * Owns: key files, note text, signing and verification. Never: writes the seed anywhere but its
 * 0600 key file; accepts a note none of whose signatures verify.
 */
#ifndef SECAI_CHECKPOINT_H
#define SECAI_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "merkle.h"

#define CKPT_NAME_MAX 128
#define CKPT_NOTE_MAX 65536

struct ckpt_key {
	char name[CKPT_NAME_MAX + 1];
	uint8_t pk[32];
	uint8_t sk[64];
	uint8_t keyid[4];
	int has_secret;
};

struct ckpt {
	char origin[CKPT_NAME_MAX + 1];
	uint64_t size;
	merkle_hash root;
};

/* Key names: 1..128 printable ASCII, no space, no '+'. */
int ckpt_name_ok(const char *name);
int ckpt_key_generate(const char *name, struct ckpt_key *key);
/* Loads the 32-byte Ed25519 seed from path, or creates it (0600) when absent. */
int ckpt_key_load_or_create(const char *seed_path, const char *name, struct ckpt_key *key);
/* Loads a public key from a PEM SubjectPublicKeyInfo file. */
int ckpt_key_load_public(const char *pem_path, const char *name, struct ckpt_key *key);
/* PEM SubjectPublicKeyInfo of the key (OpenSSL), and the note verifier key string. */
int ckpt_key_pem(const struct ckpt_key *key, struct buf *out);
void ckpt_key_verifier(const struct ckpt_key *key, char *out, size_t outlen);
void ckpt_key_wipe(struct ckpt_key *key);

/* Appends a signed checkpoint note for (origin = key name, size, root). */
int ckpt_sign(const struct ckpt_key *key, uint64_t size, const merkle_hash root, struct buf *note);
/* Parses a note, checks its origin equals key->name and that key's signature verifies.
 * Returns 0, or -1 with the reason in err. */
int ckpt_verify(const char *note, size_t len, const struct ckpt_key *key, struct ckpt *out,
		char *err, size_t errlen);
/* Parses the body only (no signature check): for reading checkpoints without a key. */
int ckpt_parse_body(const char *note, size_t len, struct ckpt *out, char *err, size_t errlen);

#endif
