/*
 * audit_log.h — the audit log on disk: its files, and verifying all of them.
 *
 * Files for a log `DIR/STEM.jsonl`:
 *   DIR/STEM.NNNNNN.jsonl   rotated archives (read-only, 0440), oldest first by name
 *   DIR/STEM.jsonl          the live file (entry lines only)
 *   DIR/STEM.checkpoints    every signed checkpoint, one JSON line {"note": "..."} each
 *   DIR/STEM.checkpoint     the latest checkpoint note, as plain text (for openssl / witnesses)
 *   DIR/STEM.key            Ed25519 seed (0600);  DIR/STEM.pub.pem  public key (SPKI PEM)
 *   DIR/STEM.torn-TIME      a torn last line the daemon set aside at start
 *   DIR/STEM.lock           held by the one daemon writing the log
 * Verification recomputes every entry hash, the chain across files, the Merkle tree, and checks
 * every checkpoint's signature and root against the recomputed tree.
 * Never: modifies a file (verification is read-only; setting aside is the daemon's job).
 */
#ifndef SECAI_AUDIT_LOG_H
#define SECAI_AUDIT_LOG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "audit_entry.h"
#include "checkpoint.h"
#include "merkle.h"

struct audit_paths {
	char dir[PATH_MAX];
	char stem[256];
	char live[PATH_MAX];
	char checkpoints[PATH_MAX];
	char latest[PATH_MAX];
	char key[PATH_MAX];
	char pubpem[PATH_MAX];
	char lock[PATH_MAX];
};

int audit_paths_init(const char *log_file, struct audit_paths *p);
/* Archives in order, then the live file if it exists. */
int audit_log_files(const struct audit_paths *p, char ***files, size_t *n);
void audit_log_files_free(char **files, size_t n);
/* Next archive name STEM.NNNNNN.jsonl (one above the highest present). */
int audit_log_next_archive(const struct audit_paths *p, char *out, size_t outlen);

typedef int (*audit_entry_fn)(void *ctx, uint64_t index, const char *line, size_t len,
			      const struct audit_line *al);

struct audit_verify {
	/* inputs */
	const struct ckpt_key *key; /* NULL: checkpoint signatures are not checked (warned) */
	int keep_leaves;            /* keep every leaf hash (for proofs) */
	int torn_ok;                /* a torn last line is reported but not a failure (daemon) */
	audit_entry_fn on_entry;    /* optional, called for each verified entry */
	void *on_entry_ctx;
	/* outputs */
	int ok;
	char error[1024]; /* the first problem, naming file:line and entry index */
	uint64_t bad_index;
	uint64_t entries, bytes, fast_lines, slow_lines;
	size_t nfiles;
	char head_hex[SHA256_HEX_LEN + 1]; /* entry_hash of the last entry ("" when empty) */
	struct merkle_range range;
	merkle_hash *leaves;
	uint64_t nleaves, leaves_cap;
	int torn;
	char torn_file[PATH_MAX];
	uint64_t torn_offset, torn_bytes;
	uint64_t ckpt_count, ckpt_checked;
	int have_ckpt;
	struct ckpt ckpt_last;
	char warning[512];
};

/* Returns 0 when the log verifies (v->ok = 1), 1 when it does not (v->error says why),
 * -1 on an I/O error (v->error says which). */
int audit_log_verify(const struct audit_paths *p, struct audit_verify *v);
void audit_verify_free(struct audit_verify *v);

#endif
