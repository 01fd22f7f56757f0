/*
 * statedir.c — resolving and creating the state directory. See statedir.h for the rule.
 */
#include "statedir.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fsutil.h"

static int put(char *out, size_t outlen, const char *a, const char *b)
{
	int n = snprintf(out, outlen, "%s%s", a, b);
	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int statedir_resolve(char *out, size_t outlen)
{
	const char *v = getenv("SECAI_HOME");
	struct passwd *pw;

	if (v != NULL && v[0] != '\0')
		return put(out, outlen, v, "");
	if (geteuid() == 0)
		return put(out, outlen, "/var/lib/secai", "");
	v = getenv("XDG_DATA_HOME");
	if (v != NULL && v[0] == '/')
		return put(out, outlen, v, "/secai");
	v = getenv("HOME");
	if (v == NULL || v[0] != '/') {
		pw = getpwuid(geteuid());
		v = pw ? pw->pw_dir : NULL;
	}
	if (v == NULL) {
		errno = ENOENT;
		return -1;
	}
	return put(out, outlen, v, "/.local/share/secai");
}

int statedir_path(const char *statedir, const char *rel, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s", statedir, rel);
	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int statedir_ensure(const char *statedir)
{
	static const char *subdirs[] = {"audit", "audit/spool", "run", "logs"};
	char p[4096];

	if (fs_mkdir_p(statedir, 0700) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		if (statedir_path(statedir, subdirs[i], p, sizeof(p)) != 0 || fs_mkdir_p(p, 0700) != 0)
			return -1;
	}
	return 0;
}
