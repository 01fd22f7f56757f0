/*
 * json.h — strict JSON input through jansson, and Python-compatible canonical output.
 *
 * Owns: the one way secai parses JSON from outside (duplicate keys rejected, size bounded,
 * NUL in strings refused, one value only) and the canonical encoder the audit chain hashes
 * (sorted keys, ',' and ':' separators, non-ASCII as \uXXXX, floats as Python's repr).
 * Never: accepts a duplicate key, trailing garbage, or a document over the caller's limit.
 */
#ifndef SECAI_JSON_H
#define SECAI_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

/* Parses exactly one JSON value from buf[0..len). Rejects duplicate keys, len > max_len,
 * trailing data other than whitespace. On error returns NULL and writes "line L col C: why"
 * into err (if err != NULL). */
json_t *json_parse_strict(const char *buf, size_t len, size_t max_len, char *err, size_t errlen);

/* Like json_parse_strict but the top level must be an object. */
json_t *json_parse_object(const char *buf, size_t len, size_t max_len, char *err, size_t errlen);

/* Appends the canonical encoding of v to out: exactly Python's
 * json.dumps(v, sort_keys=True, separators=(',', ':'), ensure_ascii=True).
 * Returns 0, or -1 for a value Python would not print as JSON (NaN, Infinity) or out of memory. */
int json_canon_append(struct buf *out, const json_t *v);

/* Appends s[0..len) as a canonical JSON string literal (with quotes); s must be valid UTF-8. */
int json_canon_string(struct buf *out, const char *s, size_t len);

/* Formats d as Python's repr(float) does ("1.0", "1e-05", "1.5e+16", "-0.0").
 * Returns chars written (excluding NUL) or -1 for NaN/Inf. out must hold 32 bytes. */
int json_format_double(char out[32], double d);

/* Convenience getters: return NULL/-1 when the key is absent or of another type. */
const char *json_get_string(const json_t *obj, const char *key);
int json_get_int(const json_t *obj, const char *key, long long *out);

#endif
