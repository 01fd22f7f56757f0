/*
 * reg_admin.h — who may change the registry over HTTP: the holder of the registry's admin token.
 *
 * The token is 32 random bytes, hex-encoded in STATE/registry/admin.token, created by
 * secai-registry at its first start, mode 0600 and owned by the user the registry runs as (in a
 * 0700 folder). A request proves admin rights with `Authorization: Bearer <64 hex>`. Any local
 * process can reach 127.0.0.1:8470; only processes of that user (or root) can read the token.
 *
 * Owns: the token file (exclusive creation, mode/owner checks on every load) and the check of an
 * Authorization header (constant-time comparison of the decoded bytes).
 * Never: accepts a token file that other users could read or that another user owns, logs or
 * returns the token in an error message, or compares tokens with memcmp/strcmp.
 */
#ifndef SECAI_REG_ADMIN_H
#define SECAI_REG_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#define REG_TOKEN_LEN 32

enum reg_auth {
	REG_AUTH_OK = 0,
	REG_AUTH_MISSING,   /* no Authorization header */
	REG_AUTH_MALFORMED, /* not "Bearer <64 hex digits>" */
	REG_AUTH_WRONG,	    /* well-formed, another token */
};

/* STATE/registry/admin.token. Returns 0, or -1 when the path does not fit. */
int reg_admin_token_path(const char *regdir, char *out, size_t outlen);

/* Loads the token. Returns 0, 1 when the file does not exist, -1 with err when it is not a
 * regular file, is owned by another user, is readable or writable by group/others, or does not
 * hold 64 hex digits. */
int reg_admin_token_load(const char *regdir, uint8_t tok[REG_TOKEN_LEN], char *err,
			 size_t errlen);

/* Loads the token, creating it first when there is none (random, 0600, written to a temporary
 * file, fsync'ed, then linked into place so two starts cannot both create one). *created = 1
 * when this call created it. Returns 0 or -1 with err. */
int reg_admin_token_ensure(const char *regdir, uint8_t tok[REG_TOKEN_LEN], int *created,
			   char *err, size_t errlen);

/* Checks an Authorization header value (NULL = absent) against tok. */
enum reg_auth reg_admin_check(const uint8_t tok[REG_TOKEN_LEN], const char *authorization);

/* "ok", "missing", "malformed", "wrong". */
const char *reg_auth_name(enum reg_auth a);

#endif
