/*
 * audit_entry.h — one audit log line: building it, parsing it, and recomputing its hash.
 *
 * The format is SecAI OS's hash chain: a JSON object per line with keys
 *   timestamp (ISO-8601 UTC), event, data, prev_hash ("" first), entry_hash, algorithm ("sha256")
 * where entry_hash = hex(SHA-256(canonical JSON of {data, event, prev_hash, timestamp})) and
 * canonical = Python's json.dumps(sort_keys=True, separators=(',', ':')).
 *
 * secai writes each line itself in canonical form (keys sorted), which lets the verifier hash the
 * line's own bytes without re-encoding (the fast path). Lines in any other valid layout — SecAI
 * OS's Python writes `", "` separators — take the slow path: strict parse, then re-encode.
 * Both paths must agree on every line (fuzz/fuzz_audit_log.c checks it).
 * Never: accepts a line with keys the hash does not cover, a duplicate key, or NUL in a string.
 */
#ifndef SECAI_AUDIT_ENTRY_H
#define SECAI_AUDIT_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "sha256.h"

#define AUDIT_TS_LEN 40 /* "2026-11-22T07:32:39.123456+00:00" is 32 + NUL */

struct audit_line {
	uint8_t computed[SHA256_LEN]; /* hash recomputed from the line's content */
	uint8_t stored[SHA256_LEN];   /* entry_hash as written */
	char prev_hex[SHA256_HEX_LEN + 1]; /* prev_hash as written ("" for the first entry) */
	char event[129];              /* event name (truncated copy, for messages) */
	int fast;                     /* 1 if the canonical fast path was taken */
};

/* Parses and re-hashes one line (without its '\n'). Returns 0, or -1 with a reason in err. */
int audit_line_parse(const char *line, size_t len, struct audit_line *out, char *err, size_t errlen);
/* The same using only the slow path (strict parse + re-encode); for tests and fuzzing. */
int audit_line_parse_slow(const char *line, size_t len, struct audit_line *out, char *err,
			  size_t errlen);

/* Appends a complete canonical entry line (with '\n') to out. data_canon must already be
 * canonical JSON (json_canon_append), event a valid event name. Writes the new entry hash. */
int audit_line_build(struct buf *out, const char *timestamp, const char *event,
		     const char *data_canon, size_t data_len, const char *prev_hex,
		     uint8_t entry_hash[SHA256_LEN]);

/* Current time as Python's datetime.now(timezone.utc).isoformat(). */
void audit_timestamp_now(char out[AUDIT_TS_LEN]);
/* Event names: 1..128 bytes of [A-Za-z0-9._:-]. */
int audit_event_name_ok(const char *s);

#endif
