/*
 * qrexec_load.c — reading a Qubes 4.2 policy: the *.policy files of policy.d in C-locale order,
 * directives spliced in place, the legacy per-service format, and all-or-nothing errors.
 *
 * Two sources of text: a real folder (qrx_load_dir: what secai-policy and secai-broker read)
 * and text held in memory (qrx_load_strings: Qubes' StringPolicy, used by the conformance
 * cases and the fuzz harness). Both go through the same line parser.
 * Owns: which files are policy (SPEC §1), file-name checks, !include / !include-dir /
 * !include-service / !compat-4.0 (SPEC §6), the per-service rewrite ($ -> @, ',' -> ' '),
 * the implicit denies after a legacy SERVICE+ARG file, the policy digest.
 * Never: keeps a single rule of a policy that had an error anywhere; reads a file bigger than
 * QRX_MAX_FILE_BYTES or holding a NUL; recurses deeper than QRX_MAX_DEPTH.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "policy/qrexec_impl.h"
#include "sha256.h"

#define QRX_DEFAULT_COMPAT_DIR "/etc/qubes-rpc/policy"
#define QRX_MAX_LINE_FIELDS 64
#define QRX_LINE_MAX 4096 /* longest line after stripping */

struct loader {
	struct qrx_policy *p;
	const char *policy_dir; /* folder mode */
	const char *compat_dir;
	const json_t *files; /* text mode */
	const json_t *compat;
	const char *main_text;
	int depth;
	struct sha256 h;
};

static int fail(struct loader *L, enum qrx_error_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct loader *L, enum qrx_error_kind kind, const char *fmt, ...)
{
	va_list ap;

	if (L->p->error_kind == QRX_OK) { /* the first error is the one reported */
		L->p->error_kind = kind;
		va_start(ap, fmt);
		vsnprintf(L->p->error, sizeof(L->p->error), fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int add_rule(struct loader *L, struct qrx_rule *r, const char *text)
{
	if (L->p->n == L->p->cap) {
		size_t cap = L->p->cap ? L->p->cap * 2 : 64;
		struct qrx_rule *nr;

		if (L->p->n >= QRX_MAX_RULES) {
			qrx_rule_free(r);
			return fail(L, QRX_ACCESS_DENIED, "%s: more than %d rules", r->loc,
				    QRX_MAX_RULES);
		}
		nr = realloc(L->p->rules, cap * sizeof(*nr));
		if (nr == NULL) {
			qrx_rule_free(r);
			return fail(L, QRX_ACCESS_DENIED, "out of memory");
		}
		L->p->rules = nr;
		L->p->cap = cap;
	}
	L->p->rules[L->p->n++] = *r;
	sha256_update(&L->h, r->loc, strlen(r->loc));
	sha256_update(&L->h, "\t", 1);
	sha256_update(&L->h, text, strlen(text));
	sha256_update(&L->h, "\n", 1);
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
	       c == '\x1c' || c == '\x1d' || c == '\x1e' || c == '\x1f';
}

/* Splits s in place on runs of whitespace (Python's str.split()). Returns the field count, or
 * QRX_MAX_LINE_FIELDS + 1 when there are more. */
static size_t split(char *s, char **f)
{
	size_t n = 0;

	for (;;) {
		while (*s && is_space(*s))
			s++;
		if (*s == '\0')
			return n;
		if (n == QRX_MAX_LINE_FIELDS)
			return n + 1;
		f[n++] = s;
		while (*s && !is_space(*s))
			s++;
		if (*s)
			*s++ = '\0';
	}
}

/* Strips leading and trailing whitespace in place. */
static char *strip(char *s)
{
	size_t n;

	while (*s && is_space(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Relative paths are resolved against the policy folder, whoever includes them (SPEC §6). */
static void resolve(const struct loader *L, const char *path, char *out, size_t len)
{
	if (path[0] == '/' || L->policy_dir == NULL)
		snprintf(out, len, "%s", path);
	else
		snprintf(out, len, "%s/%s", L->policy_dir, path);
}

/* The text of an included file: a regular file in folder mode, a key in text mode. */
static int read_included(struct loader *L, const char *where, const char *path, char **text)
{
	char full[4096];
	struct stat st;
	size_t len;

	if (L->files != NULL || L->policy_dir == NULL) {
		const json_t *v = L->files ? json_object_get(L->files, path) : NULL;

		if (!json_is_string(v))
			return fail(L, QRX_SYNTAX_ERROR, "%s: no such policy file: '%s'", where,
				    path);
		if ((*text = strdup(json_string_value(v))) == NULL)
			return fail(L, QRX_ACCESS_DENIED, "out of memory");
		return 0;
	}
	resolve(L, path, full, sizeof(full));
	if (stat(full, &st) != 0 || !S_ISREG(st.st_mode))
		return fail(L, QRX_SYNTAX_ERROR, "%s: not a file: %s", where, full);
	if (fs_read_file(full, QRX_MAX_FILE_BYTES, text, &len) != 0)
		return fail(L, QRX_ACCESS_DENIED, "failed to load %s file: %s", full,
			    strerror(errno));
	if (strlen(*text) != len) {
		free(*text);
		return fail(L, QRX_ACCESS_DENIED, "failed to load %s file: it holds a NUL byte",
			    full);
	}
	return 0;
}

static int load_text(struct loader *L, const char *name, char *text);

/* Qubes reads policy as UTF-8 and splits on Unicode whitespace; we split on ASCII whitespace
 * only, so a file holding invalid UTF-8 or a non-ASCII space is refused rather than read
 * differently from Qubes. Returns 0, or -1 after failing with the line. */
static int check_text(struct loader *L, const char *name, const unsigned char *s)
{
	unsigned line = 1;

	for (; *s; s++) {
		size_t n;

		if (*s == '\n')
			line++;
		if (*s < 0x80)
			continue;
		n = (*s & 0xe0) == 0xc0 ? 2 : (*s & 0xf0) == 0xe0 ? 3 : (*s & 0xf8) == 0xf0 ? 4 : 0;
		for (size_t i = 1; i < n; i++)
			if ((s[i] & 0xc0) != 0x80)
				n = 0;
		if (n == 0 || (n == 2 && *s < 0xc2) || (n == 3 && *s == 0xe0 && s[1] < 0xa0) ||
		    (n == 3 && *s == 0xed && s[1] >= 0xa0) || (n == 4 && *s == 0xf0 && s[1] < 0x90) ||
		    (n == 4 && (*s > 0xf4 || (*s == 0xf4 && s[1] >= 0x90))))
			return fail(L, QRX_ACCESS_DENIED, "failed to load %s file: invalid UTF-8 at line %u",
				    name, line);
		unsigned cp = n == 2 ? ((s[0] & 0x1fu) << 6) | (s[1] & 0x3fu)
			    : n == 3 ? ((s[0] & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu)
				     : 0;
		if (cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
		    cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000)
			return fail(L, QRX_SYNTAX_ERROR,
				    "%s:%u: non-ASCII white space (U+%04X) is not supported", name,
				    line, cp);
		s += n - 1;
	}
	return 0;
}
static int load_service_text(struct loader *L, const char *name, char *text, const char *svc,
			     const char *arg);
static int load_folder(struct loader *L, const char *where, const char *dir);
static int load_compat(struct loader *L, const char *where);

static int enter(struct loader *L, const char *where)
{
	if (++L->depth > QRX_MAX_DEPTH) {
		L->depth--;
		return fail(L, QRX_SYNTAX_ERROR, "%s: includes nested deeper than %d (a loop?)",
			    where, QRX_MAX_DEPTH);
	}
	return 0;
}

static int include_file(struct loader *L, const char *where, const char *path, const char *svc,
			const char *arg)
{
	char *text = NULL, full[4096];
	int rc;

	if (enter(L, where) != 0)
		return -1;
	rc = read_included(L, where, path, &text);
	if (rc == 0) {
		resolve(L, path, full, sizeof(full));
		rc = svc ? load_service_text(L, full, text, svc, arg) : load_text(L, full, text);
		free(text);
	}
	L->depth--;
	return rc;
}

static int directive(struct loader *L, const char *where, char **f, size_t n)
{
	size_t want;

	if (strcmp(f[0], "!include") == 0 || strcmp(f[0], "!include-dir") == 0)
		want = 1;
	else if (strcmp(f[0], "!include-service") == 0)
		want = 3;
	else if (strcmp(f[0], "!compat-4.0") == 0)
		want = 0;
	else
		return fail(L, QRX_SYNTAX_ERROR, "%s: invalid directive", where);
	if (n - 1 != want)
		return fail(L, QRX_SYNTAX_ERROR, "%s: invalid number of params", where);
	if (strcmp(f[0], "!include") == 0)
		return include_file(L, where, f[1], NULL, NULL);
	if (strcmp(f[0], "!include-dir") == 0)
		return load_folder(L, where, f[1]);
	if (strcmp(f[0], "!compat-4.0") == 0)
		return load_compat(L, where);
	char err[QRX_MSG_MAX];
	if (qrx_check_service_arg(f[1], f[2], err, sizeof(err)) != 0)
		return fail(L, QRX_SYNTAX_ERROR, "%s: %s", where, err);
	return include_file(L, where, f[3], f[1], f[2]);
}

/* One file in the 4.2 format. text is modified. */
static int load_text(struct loader *L, const char *name, char *text)
{
	char *line = text, *next, *f[QRX_MAX_LINE_FIELDS + 1], where[QRX_LOC_MAX];
	char err[QRX_MSG_MAX], copy[QRX_LINE_MAX + 1];
	unsigned lineno = 0;

	if (check_text(L, name, (const unsigned char *)text) != 0)
		return -1;
	for (; line != NULL; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		char *s = strip(line);
		if (s[0] == '\0' || s[0] == '#')
			continue;
		snprintf(where, sizeof(where), "%s:%u", name, lineno);
		if (strlen(s) > QRX_LINE_MAX)
			return fail(L, QRX_SYNTAX_ERROR, "%s: line longer than %d bytes", where,
				    QRX_LINE_MAX);
		snprintf(copy, sizeof(copy), "%s", s);
		size_t n = split(s, f);
		if (n > QRX_MAX_LINE_FIELDS)
			return fail(L, QRX_SYNTAX_ERROR, "%s: too many fields", where);
		if (f[0][0] == '!') {
			if (directive(L, where, f, n) != 0)
				return -1;
			continue;
		}
		struct qrx_rule r;
		if (qrx_rule_parse(f, n, &r, err, sizeof(err)) != 0)
			return fail(L, QRX_SYNTAX_ERROR, "%s: %s", where, err);
		snprintf(r.loc, sizeof(r.loc), "%s", where);
		if (add_rule(L, &r, copy) != 0)
			return -1;
	}
	return 0;
}

/* One file in the per-service (4.0) format, every rule bound to svc/arg (SPEC §6.1). */
static int load_service_text(struct loader *L, const char *name, char *text, const char *svc,
			     const char *arg)
{
	char *line = text, *next, *f[QRX_MAX_LINE_FIELDS + 3], where[QRX_LOC_MAX];
	char err[QRX_MSG_MAX], rw[QRX_LINE_MAX + 16];
	unsigned lineno = 0;

	if (check_text(L, name, (const unsigned char *)text) != 0)
		return -1;
	for (; line != NULL; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		char *s = strip(line);
		if (s[0] == '\0' || s[0] == '#')
			continue;
		snprintf(where, sizeof(where), "%s:%u", name, lineno);
		if (strlen(s) > QRX_LINE_MAX)
			return fail(L, QRX_SYNTAX_ERROR, "%s: line longer than %d bytes", where,
				    QRX_LINE_MAX);
		/* $include: -> "!include ", then every $ -> @ and every ',' -> ' ' */
		size_t o = 0;
		for (const char *p = s; *p && o + 10 < sizeof(rw); p++) {
			if (strncmp(p, "$include:", 9) == 0) {
				memcpy(rw + o, "!include ", 9);
				o += 9;
				p += 8;
			} else {
				rw[o++] = *p == '$' ? '@' : *p == ',' ? ' ' : *p;
			}
		}
		rw[o] = '\0';
		char copy[2 * QRX_LINE_MAX + 32];
		snprintf(copy, sizeof(copy), "%s %s %s", svc, arg, rw);
		size_t n = split(rw, f + 2);
		if (n > QRX_MAX_LINE_FIELDS)
			return fail(L, QRX_SYNTAX_ERROR, "%s: too many fields", where);
		if (n == 0) /* only commas and spaces */
			return fail(L, QRX_SYNTAX_ERROR, "%s: wrong number of fields", where);
		if (f[2][0] == '!') {
			if (strcmp(f[2], "!include") != 0)
				return fail(L, QRX_SYNTAX_ERROR, "%s: invalid directive", where);
			if (n != 2)
				return fail(L, QRX_SYNTAX_ERROR, "%s: invalid number of params",
					    where);
			if (include_file(L, where, f[3], svc, arg) != 0)
				return -1;
			continue;
		}
		if (n < 3)
			return fail(L, QRX_SYNTAX_ERROR, "%s: wrong number of fields", where);
		char svc_copy[QRX_LINE_MAX + 1], arg_copy[QRX_LINE_MAX + 1];
		snprintf(svc_copy, sizeof(svc_copy), "%s", svc);
		snprintf(arg_copy, sizeof(arg_copy), "%s", arg);
		f[0] = svc_copy;
		f[1] = arg_copy;
		struct qrx_rule r;
		if (qrx_rule_parse(f, n + 2, &r, err, sizeof(err)) != 0)
			return fail(L, QRX_SYNTAX_ERROR, "%s: %s", where, err);
		snprintf(r.loc, sizeof(r.loc), "%s", where);
		if (add_rule(L, &r, copy) != 0)
			return -1;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool policy_name_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || *s == '_' ||
		      *s == '.' || *s == '-'))
			return false;
	return true;
}

/* The *.policy files of dir (SPEC §1): regular (after symlinks), not hidden, valid names
 * (else the whole policy is refused), in C-locale order. */
static int load_folder(struct loader *L, const char *where, const char *dirpath)
{
	char dir[4096], full[8192];
	struct dirent *e;
	struct stat st;
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *d;
	int rc = 0;

	if (L->policy_dir == NULL) /* text mode has no folders */
		return fail(L, QRX_SYNTAX_ERROR, "%s: not a directory: %s", where, dirpath);
	if (where != NULL)
		resolve(L, dirpath, dir, sizeof(dir));
	else
		snprintf(dir, sizeof(dir), "%s", dirpath);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		if (where != NULL)
			return fail(L, QRX_SYNTAX_ERROR, "%s: not a directory: %s", where, dir);
		return fail(L, QRX_ACCESS_DENIED, "policy folder %s: %s", dir,
			    errno ? strerror(errno) : "not a directory");
	}
	if ((d = opendir(dir)) == NULL)
		return fail(L, QRX_ACCESS_DENIED, "failed to load %s: %s", dir, strerror(errno));
	if (where != NULL && enter(L, where) != 0) {
		closedir(d);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t nl = strlen(e->d_name);

		if (e->d_name[0] == '.' || nl < 7 || strcmp(e->d_name + nl - 7, ".policy") != 0)
			continue;
		snprintf(full, sizeof(full), "%s/%s", dir, e->d_name);
		if (stat(full, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*nn));
			if (nn == NULL) {
				rc = fail(L, QRX_ACCESS_DENIED, "out of memory");
				goto out;
			}
			names = nn;
		}
		if ((names[n] = strdup(e->d_name)) == NULL) {
			rc = fail(L, QRX_ACCESS_DENIED, "out of memory");
			goto out;
		}
		n++;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) { /* every name is checked before any file is read */
		if (!policy_name_ok(names[i])) {
			snprintf(full, sizeof(full), "%s/%s", dir, names[i]);
			rc = fail(L, QRX_ACCESS_DENIED, "invalid filename: %s", full);
			goto out;
		}
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *text;
		size_t len;

		snprintf(full, sizeof(full), "%s/%s", dir, names[i]);
		if (fs_read_file(full, QRX_MAX_FILE_BYTES, &text, &len) != 0) {
			rc = fail(L, QRX_ACCESS_DENIED, "failed to load %s file: %s", full,
				  strerror(errno));
			break;
		}
		if (strlen(text) != len)
			rc = fail(L, QRX_ACCESS_DENIED,
				  "failed to load %s file: it holds a NUL byte", full);
		else
			rc = load_text(L, full, text);
		free(text);
	}
out:
	if (where != NULL)
		L->depth--;
	closedir(d);
	free_names(names, n);
	return rc;
}

/* ---- !compat-4.0: the legacy /etc/qubes-rpc/policy folder (SPEC §6.2) ---- */

static bool legacy_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (s[0] == '.' || n == 0)
		return false;
	if ((n >= 8 && !strcmp(s + n - 8, ".rpmsave")) || (n >= 7 && !strcmp(s + n - 7, ".rpmnew")) ||
	    (n >= 4 && !strcmp(s + n - 4, ".swp")))
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || *s == '_' || *s == '.' || *s == '-' || *s == '+'))
			return false;
	return true;
}

struct legacy {
	char *name, *svc, *arg; /* arg "*" for a file without '+' */
};

static int cmp_legacy(const void *a, const void *b)
{
	const struct legacy *x = a, *y = b;
	int c = strcmp(x->svc, y->svc);
	bool xs = strcmp(x->arg, "*") == 0, ys = strcmp(y->arg, "*") == 0;

	if (c != 0)
		return c;
	if (xs != ys) /* the generic file comes after the specific ones */
		return xs ? 1 : -1;
	return strcmp(x->arg, y->arg);
}

static int load_compat(struct loader *L, const char *where)
{
	struct legacy *v = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	const char *cdir = L->compat_dir ? L->compat_dir : QRX_DEFAULT_COMPAT_DIR;
	DIR *d = NULL;
	void *it = NULL;

	if (L->policy_dir == NULL) {
		if (L->compat != NULL)
			it = json_object_iter((json_t *)L->compat);
	} else if ((d = opendir(cdir)) == NULL && errno != ENOENT) {
		return fail(L, QRX_ACCESS_DENIED, "%s: failed to load %s: %s", where, cdir,
			    strerror(errno));
	}
	for (;;) {
		const char *name;
		char full[8192];
		struct stat st;

		if (L->policy_dir == NULL) {
			if (it == NULL)
				break;
			name = json_object_iter_key(it);
			it = json_object_iter_next((json_t *)L->compat, it);
		} else {
			struct dirent *e = d ? readdir(d) : NULL;
			if (e == NULL)
				break;
			name = e->d_name;
			snprintf(full, sizeof(full), "%s/%s", cdir, name);
			if (stat(full, &st) != 0 || !S_ISREG(st.st_mode))
				continue;
		}
		if (!legacy_name_ok(name))
			continue;
		if (n == cap) {
			struct legacy *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*nv));
			if (nv == NULL) {
				rc = fail(L, QRX_ACCESS_DENIED, "out of memory");
				goto out;
			}
			v = nv;
		}
		const char *plus = strchr(name, '+');
		size_t sl = plus ? (size_t)(plus - name) : strlen(name);
		v[n].name = strdup(name);
		v[n].svc = strndup(name, sl);
		v[n].arg = strdup(plus ? plus : "*");
		n++;
		if (!v[n - 1].name || !v[n - 1].svc || !v[n - 1].arg) {
			rc = fail(L, QRX_ACCESS_DENIED, "out of memory");
			goto out;
		}
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_legacy);
	if (enter(L, where) != 0) {
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		char path[8192], err[QRX_MSG_MAX];
		char *text = NULL;
		size_t len;

		if (qrx_check_service_arg(v[i].svc, v[i].arg, err, sizeof(err)) != 0) {
			rc = fail(L, QRX_SYNTAX_ERROR, "%s: %s: %s", where, v[i].name, err);
			break;
		}
		if (L->policy_dir == NULL) {
			snprintf(path, sizeof(path), "%s", v[i].name);
			text = strdup(json_string_value(json_object_get(L->compat, v[i].name))
					  ? json_string_value(json_object_get(L->compat, v[i].name))
					  : "");
			if (text == NULL) {
				rc = fail(L, QRX_ACCESS_DENIED, "out of memory");
				break;
			}
		} else {
			snprintf(path, sizeof(path), "%s/%s", cdir, v[i].name);
			if (fs_read_file(path, QRX_MAX_FILE_BYTES, &text, &len) != 0) {
				rc = fail(L, QRX_ACCESS_DENIED, "failed to load %s file: %s", path,
					  strerror(errno));
				break;
			}
		}
		rc = load_service_text(L, path, text, v[i].svc, v[i].arg);
		free(text);
		if (rc != 0 || strcmp(v[i].arg, "*") == 0)
			continue;
		/* 4.0's implicit deny at the end of a SERVICE+ARG file */
		static const char *const tgt[2] = {"@anyvm", "@adminvm"};
		for (int k = 0; k < 2 && rc == 0; k++) {
			char sv[QRX_MSG_MAX], ar[QRX_MSG_MAX], s1[] = "@anyvm", t1[16], act[] = "deny";
			char *f[5] = {sv, ar, s1, t1, act}, text2[QRX_MSG_MAX * 3];
			struct qrx_rule r;

			snprintf(sv, sizeof(sv), "%s", v[i].svc);
			snprintf(ar, sizeof(ar), "%s", v[i].arg);
			snprintf(t1, sizeof(t1), "%s", tgt[k]);
			snprintf(text2, sizeof(text2), "%s %s @anyvm %s deny", sv, ar, t1);
			if (qrx_rule_parse(f, 5, &r, err, sizeof(err)) != 0) {
				rc = fail(L, QRX_SYNTAX_ERROR, "%s: %s", path, err);
				break;
			}
			snprintf(r.loc, sizeof(r.loc), "%s:(implicit deny)", path);
			rc = add_rule(L, &r, text2);
		}
	}
	L->depth--;
out:
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].svc);
		free(v[i].arg);
	}
	free(v);
	if (d != NULL)
		closedir(d);
	return rc;
}

/* ---- entry points ---- */

static int cmp_by_service(const void *a, const void *b, void *arg)
{
	const struct qrx_rule *rules = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(rules[x].service, rules[y].service);
	return c ? c : (x > y) - (x < y);
}

/* Builds the first-match index (see qrexec_impl.h). -1 when out of memory. */
static int build_index(struct qrx_policy *p)
{
	size_t nsvc = 0;

	p->by_service = malloc((p->n + 1) * sizeof(size_t));
	p->any_service = malloc((p->n + 1) * sizeof(size_t));
	if (p->by_service == NULL || p->any_service == NULL)
		return -1;
	for (size_t i = 0; i < p->n; i++) {
		if (p->rules[i].service == NULL)
			p->any_service[p->n_any++] = i;
		else
			p->by_service[nsvc++] = i;
	}
	qsort_r(p->by_service, nsvc, sizeof(size_t), cmp_by_service, p->rules);
	return 0;
}

static struct qrx_policy *finish(struct loader *L)
{
	uint8_t md[SHA256_LEN];

	if (L->p->error_kind == QRX_OK && build_index(L->p) != 0)
		fail(L, QRX_ACCESS_DENIED, "out of memory");

	if (L->p->error_kind != QRX_OK) { /* all or nothing */
		for (size_t i = 0; i < L->p->n; i++)
			qrx_rule_free(&L->p->rules[i]);
		L->p->n = 0;
	} else if (sha256_final(&L->h, md) == 0) {
		hex_encode(md, SHA256_LEN, L->p->digest);
	}
	sha256_free(&L->h);
	return L->p;
}

static int loader_init(struct loader *L)
{
	memset(L, 0, sizeof(*L));
	if ((L->p = calloc(1, sizeof(*L->p))) == NULL)
		return -1;
	if (sha256_init(&L->h) != 0) {
		free(L->p);
		return -1;
	}
	return 0;
}

struct qrx_policy *qrx_load_dir(const char *policy_dir, const char *compat_dir)
{
	struct loader L;

	if (loader_init(&L) != 0)
		return NULL;
	L.policy_dir = policy_dir;
	L.compat_dir = compat_dir;
	load_folder(&L, NULL, policy_dir);
	return finish(&L);
}

struct qrx_policy *qrx_load_strings(const char *main_text, const json_t *files,
				    const json_t *compat)
{
	struct loader L;
	const char *text = main_text;
	char *copy;

	if (loader_init(&L) != 0)
		return NULL;
	L.files = files;
	L.compat = compat;
	if (files != NULL)
		text = json_string_value(json_object_get(files, "__main__"));
	if (text == NULL) {
		fail(&L, QRX_ACCESS_DENIED, "no policy text (__main__)");
		return finish(&L);
	}
	if ((copy = strdup(text)) == NULL) {
		fail(&L, QRX_ACCESS_DENIED, "out of memory");
		return finish(&L);
	}
	load_text(&L, "__main__", copy);
	free(copy);
	return finish(&L);
}

void qrx_policy_free(struct qrx_policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		qrx_rule_free(&p->rules[i]);
	free(p->rules);
	free(p->by_service);
	free(p->any_service);
	free(p);
}

bool qrx_policy_ok(const struct qrx_policy *p)
{
	return p != NULL && p->error_kind == QRX_OK;
}

enum qrx_error_kind qrx_policy_error_kind(const struct qrx_policy *p)
{
	return p == NULL ? QRX_ACCESS_DENIED : p->error_kind;
}

const char *qrx_error_kind_name(enum qrx_error_kind k)
{
	return k == QRX_SYNTAX_ERROR ? "PolicySyntaxError" : k == QRX_ACCESS_DENIED ? "AccessDenied"
										    : "";
}

const char *qrx_policy_error(const struct qrx_policy *p)
{
	return p == NULL ? "no policy" : p->error;
}

size_t qrx_policy_rule_count(const struct qrx_policy *p)
{
	return p == NULL ? 0 : p->n;
}

const char *qrx_policy_digest(const struct qrx_policy *p)
{
	return p == NULL ? "" : p->digest;
}
