/*
 * reg_admin.c — the registry's admin token (see reg_admin.h).
 *
 * Owns: creating, loading and checking STATE/registry/admin.token.
 * Never: accepts a token file other users could read or that another user owns, puts the token
 * into an error message, or compares it in variable time.
 */
#include "registry/reg_admin.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "sha256.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int reg_admin_token_path(const char *regdir, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/admin.token", regdir);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int reg_admin_token_load(const char *regdir, uint8_t tok[REG_TOKEN_LEN], char *err,
			 size_t errlen)
{
	char path[4200], text[2 * REG_TOKEN_LEN + 8];
	struct stat st;
	ssize_t n;
	size_t len;
	int fd, rc;

	if (reg_admin_token_path(regdir, path, sizeof(path)) != 0)
		return fail(err, errlen, "registry path too long");
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 1 : fail(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = fail(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		rc = !S_ISREG(st.st_mode)
			 ? fail(err, errlen, "%s is not a regular file", path)
		     : st.st_uid != geteuid()
			 ? fail(err, errlen, "%s is owned by uid %u, not by this user (uid %u)",
				path, (unsigned)st.st_uid, (unsigned)geteuid())
			 : fail(err, errlen,
				"%s has mode %04o: the admin token must be readable by its owner "
				"only (chmod 600 %s)",
				path, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return rc;
	}
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 0)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	len = (size_t)n;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	rc = len == 2 * REG_TOKEN_LEN && hex_decode(text, len, tok, REG_TOKEN_LEN) == 0
		 ? 0
		 : fail(err, errlen, "%s does not hold %d hex digits", path, 2 * REG_TOKEN_LEN);
	sodium_memzero(text, sizeof(text));
	return rc;
}

int reg_admin_token_ensure(const char *regdir, uint8_t tok[REG_TOKEN_LEN], int *created,
			   char *err, size_t errlen)
{
	char path[4200], tmp[4300], hex[2 * REG_TOKEN_LEN + 2];
	int rc, fd;

	*created = 0;
	rc = reg_admin_token_load(regdir, tok, err, errlen);
	if (rc <= 0)
		return rc;
	if (sodium_init() < 0)
		return fail(err, errlen, "libsodium init failed");
	if (fs_mkdir_p(regdir, 0700) != 0)
		return fail(err, errlen, "%s: %s", regdir, strerror(errno));
	reg_admin_token_path(regdir, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	randombytes_buf(tok, REG_TOKEN_LEN);
	hex_encode(tok, REG_TOKEN_LEN, hex);
	strcat(hex, "\n");
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		sodium_memzero(hex, sizeof(hex));
		return fail(err, errlen, "%s: %s", tmp, strerror(errno));
	}
	rc = fs_write_all(fd, hex, strlen(hex)) != 0 || fchmod(fd, 0600) != 0 || fsync(fd) != 0;
	sodium_memzero(hex, sizeof(hex));
	close(fd);
	if (rc != 0) {
		unlink(tmp);
		return fail(err, errlen, "%s: %s", tmp, strerror(errno));
	}
	/* link() fails with EEXIST when another start created the token first: use that one */
	if (link(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		if (e != EEXIST)
			return fail(err, errlen, "%s: %s", path, strerror(e));
		return reg_admin_token_load(regdir, tok, err, errlen) == 0 ? 0 : -1;
	}
	unlink(tmp);
	if (fs_fsync_dir(regdir) != 0)
		return fail(err, errlen, "%s: %s", regdir, strerror(errno));
	*created = 1;
	return 0;
}

enum reg_auth reg_admin_check(const uint8_t tok[REG_TOKEN_LEN], const char *authorization)
{
	uint8_t got[REG_TOKEN_LEN];
	const char *p;
	size_t len;
	int same;

	if (authorization == NULL)
		return REG_AUTH_MISSING;
	p = authorization;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
		return REG_AUTH_MALFORMED;
	p += 6;
	while (*p == ' ' || *p == '\t')
		p++;
	len = strlen(p);
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len != 2 * REG_TOKEN_LEN || hex_decode(p, len, got, REG_TOKEN_LEN) != 0)
		return REG_AUTH_MALFORMED;
	same = sodium_memcmp(got, tok, REG_TOKEN_LEN) == 0;
	sodium_memzero(got, sizeof(got));
	return same ? REG_AUTH_OK : REG_AUTH_WRONG;
}

const char *reg_auth_name(enum reg_auth a)
{
	switch (a) {
	case REG_AUTH_OK: return "ok";
	case REG_AUTH_MISSING: return "missing";
	case REG_AUTH_MALFORMED: return "malformed";
	case REG_AUTH_WRONG: return "wrong";
	}
	return "?";
}
