/*
 * config.c — appliance.yaml: the key table, the libyaml event parser, defaults and printing.
 *
 * Owns: config_keys[], the single description of every key (dotted path, type, where it lives in
 * struct secai_config, default, range). Defaults, parsing, validation and printing all walk it.
 * Never: accepts anchors, aliases, tags, duplicate or unknown keys, or a value outside its row's
 * range; never recurses into a mapping that is not a known section (so nesting stays bounded by
 * the table); never modifies the caller's struct unless the whole file was valid.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <yaml.h>

#include "fsutil.h"
#include "statedir.h"

enum config_type { CFG_STRING, CFG_INT, CFG_BOOL, CFG_ENUM, CFG_ADDRESS };

#define CFG_ZERO_OK 0x1 /* integer: 0 is allowed besides min..max ("0 = never") */

typedef int (*config_check_fn)(const char *s, char *why, size_t whylen);

struct config_key {
	const char *path; /* dotted: "audit.checkpoint_every" */
	enum config_type type;
	size_t offset;	    /* in struct secai_config */
	size_t size;	    /* string buffer size, or integer width */
	const char *def;    /* default, as it would be written in the file */
	long long min, max; /* integers */
	unsigned flags;
	const char *const *names; /* enums: NULL-terminated */
	config_check_fn check;	  /* strings: extra validation, or NULL */
};

static int config_check_abs_path(const char *s, char *why, size_t whylen);
static int config_check_origin(const char *s, char *why, size_t whylen);
static int config_check_sha256(const char *s, char *why, size_t whylen);

static const char *const config_log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const config_ask_fallbacks[] = {"deny", "default_target", NULL};

#define CFG_AT(f) offsetof(struct secai_config, f), sizeof(((struct secai_config *)0)->f)
#define CFG_PORT(p, f, d)                                                                          \
	{                                                                                          \
		p, CFG_INT, CFG_AT(f), d, 1, 65535, 0, NULL, NULL                                  \
	}

/* Rows are grouped by section (config_print relies on it). */
static const struct config_key config_keys[] = {
    {"state_dir", CFG_STRING, CFG_AT(state_dir), "", 0, 0, 0, NULL, config_check_abs_path},
    {"log_level", CFG_ENUM, CFG_AT(log_level), "info", 0, 0, 0, config_log_levels, NULL},
    {"bind_address", CFG_ADDRESS, CFG_AT(bind_address), "127.0.0.1", 0, 0, 0, NULL, NULL},
    {"audit.socket", CFG_STRING, CFG_AT(audit.socket), "", 0, 0, 0, NULL, config_check_abs_path},
    {"audit.log_file", CFG_STRING, CFG_AT(audit.log_file), "", 0, 0, 0, NULL,
     config_check_abs_path},
    {"audit.origin", CFG_STRING, CFG_AT(audit.origin), "secai.local/audit", 0, 0, 0, NULL,
     config_check_origin},
    {"audit.checkpoint_every", CFG_INT, CFG_AT(audit.checkpoint_every), "1000", 1, 10000000, 0,
     NULL, NULL},
    {"audit.checkpoint_interval", CFG_INT, CFG_AT(audit.checkpoint_interval), "10", 1, 86400, 0,
     NULL, NULL},
    {"audit.rotate_bytes", CFG_INT, CFG_AT(audit.rotate_bytes), "67108864", 4096, 1LL << 40,
     CFG_ZERO_OK, NULL, NULL},
    {"audit.max_entry_bytes", CFG_INT, CFG_AT(audit.max_entry_bytes), "65536", 1024, 1048576, 0,
     NULL, NULL},
    CFG_PORT("infer.port", infer.port, "8465"),
    {"infer.model", CFG_STRING, CFG_AT(infer.model), "", 0, 0, 0, NULL, config_check_abs_path},
    {"infer.model_sha256", CFG_STRING, CFG_AT(infer.model_sha256), "", 0, 0, 0, NULL,
     config_check_sha256},
    {"infer.registry", CFG_STRING, CFG_AT(infer.registry), "", 0, 0, 0, NULL,
     config_check_abs_path},
    {"infer.registry_pub", CFG_STRING, CFG_AT(infer.registry_pub), "", 0, 0, 0, NULL,
     config_check_abs_path},
    {"infer.threads", CFG_INT, CFG_AT(infer.threads), "0", 1, 256, CFG_ZERO_OK, NULL, NULL},
    {"infer.ctx", CFG_INT, CFG_AT(infer.ctx), "0", 16, 1 << 20, CFG_ZERO_OK, NULL, NULL},
    {"infer.queue", CFG_INT, CFG_AT(infer.queue), "8", 1, 1024, 0, NULL, NULL},
    {"infer.socket", CFG_STRING, CFG_AT(infer.socket), "", 0, 0, 0, NULL, config_check_abs_path},
    CFG_PORT("registry.port", registry.port, "8470"),
    CFG_PORT("ui.port", ui.port, "8480"),
    CFG_PORT("policy.port", policy.port, "8500"),
    {"policy.file", CFG_STRING, CFG_AT(policy.file), "", 0, 0, 0, NULL, config_check_abs_path},
    {"policy.socket", CFG_STRING, CFG_AT(policy.socket), "", 0, 0, 0, NULL,
     config_check_abs_path},
    {"policy.qrexec_dir", CFG_STRING, CFG_AT(policy.qrexec_dir), "", 0, 0, 0, NULL,
     config_check_abs_path},
    {"policy.qrexec_compat_dir", CFG_STRING, CFG_AT(policy.qrexec_compat_dir), "", 0, 0, 0, NULL,
     config_check_abs_path},
    {"broker.ask_timeout", CFG_INT, CFG_AT(broker.ask_timeout), "60", 1, 3600, 0, NULL, NULL},
    {"broker.ask_fallback", CFG_ENUM, CFG_AT(broker.ask_fallback), "deny", 0, 0, 0,
     config_ask_fallbacks, NULL},
    {"quarantine.policy_dir", CFG_STRING, CFG_AT(quarantine.policy_dir), "", 0, 0, 0, NULL,
     config_check_abs_path},
    {"quarantine.prompts", CFG_STRING, CFG_AT(quarantine.prompts), "", 0, 0, 0, NULL,
     config_check_abs_path},
};

#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))
#define CONFIG_PATH_MAX 128 /* longest dotted path we look up; longer keys are unknown */
#define CONFIG_SEEN_MAX (2 * CONFIG_NKEYS)

_Static_assert(sizeof(enum log_level) == sizeof(int), "enums are stored as int");

struct config_parse {
	yaml_parser_t parser;
	const char *name;
	const char *buf;
	size_t len;
	char *err;
	size_t errlen;
	struct secai_config cfg;
	struct {
		char path[CONFIG_PATH_MAX];
		size_t line;
	} seen[CONFIG_SEEN_MAX];
	size_t nseen;
};

/* ---- value checks ---- */

static int config_check_abs_path(const char *s, char *why, size_t whylen)
{
	if (s[0] == '\0' || s[0] == '/')
		return 0;
	snprintf(why, whylen, "must be an absolute path, or \"\" for the default");
	return -1;
}

static int config_check_sha256(const char *s, char *why, size_t whylen)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			n = 0;
	if (s[0] == '\0' || n == 64)
		return 0;
	snprintf(why, whylen, "must be 64 lowercase hex digits (a SHA-256), or \"\"");
	return -1;
}

static int config_check_origin(const char *s, char *why, size_t whylen)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '\0')
		goto bad;
	for (; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '+')
			goto bad;
	return 0;
bad:
	snprintf(why, whylen, "must be 1..128 printable ASCII characters without spaces or '+'");
	return -1;
}

/* Writes v[0..n) quoted for an error message: non-printable bytes as '?', at most 40 shown. */
static const char *config_quote(char out[64], const char *v, size_t n)
{
	size_t o = 0;

	out[o++] = '"';
	for (size_t i = 0; i < n && o < 58; i++) {
		unsigned char c = (unsigned char)v[i];
		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
		if (i == 39 && n > 40) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

static void config_range_text(const struct config_key *k, char *out, size_t outlen)
{
	if (k->flags & CFG_ZERO_OK)
		snprintf(out, outlen, "0 or %lld..%lld", k->min, k->max);
	else
		snprintf(out, outlen, "%lld..%lld", k->min, k->max);
}

static bool config_is_null(const char *v, size_t n)
{
	return n == 0 || (n == 1 && v[0] == '~') ||
	       (n == 4 &&
		(!memcmp(v, "null", 4) || !memcmp(v, "Null", 4) || !memcmp(v, "NULL", 4)));
}

static int config_set_int(struct secai_config *cfg, const struct config_key *k, const char *v,
			  size_t n, bool plain, char *why, size_t whylen)
{
	char range[64], q[64], tmp[24];
	long long x;
	char *end;
	size_t i = 0;

	config_range_text(k, range, sizeof(range));
	if (!plain || n == 0 || n >= sizeof(tmp))
		goto notint;
	if (v[0] == '-')
		i = 1;
	if (i == n)
		goto notint;
	for (size_t j = i; j < n; j++)
		if (v[j] < '0' || v[j] > '9')
			goto notint;
	if (v[i] == '0' && n - i > 1) {
		snprintf(why, whylen, "%s has a leading zero (write a decimal integer in %s)",
			 config_quote(q, v, n), range);
		return -1;
	}
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	errno = 0;
	x = strtoll(tmp, &end, 10);
	if (errno == ERANGE ||
	    !((x == 0 && (k->flags & CFG_ZERO_OK)) || (x >= k->min && x <= k->max))) {
		snprintf(why, whylen, "%s is out of range (%s)", tmp, range);
		return -1;
	}
	if (k->size == sizeof(int)) {
		int y = (int)x;
		memcpy((char *)cfg + k->offset, &y, sizeof(y));
	} else {
		memcpy((char *)cfg + k->offset, &x, sizeof(x));
	}
	return 0;
notint:
	snprintf(why, whylen, "expected a decimal integer in %s, got %s%s", range,
		 plain ? "" : "the quoted string ", config_quote(q, v, n));
	return -1;
}

static int config_set_string(struct secai_config *cfg, const struct config_key *k, const char *v,
			     size_t n, bool plain, char *why, size_t whylen)
{
	char *dst = (char *)cfg + k->offset;

	if (plain && config_is_null(v, n))
		n = 0;
	if (n >= k->size) {
		snprintf(why, whylen, "value is %zu bytes, longer than the maximum %zu", n,
			 k->size - 1);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 0x20 || c == 0x7f) {
			snprintf(why, whylen, "control characters (byte 0x%02x) are not allowed",
				 c);
			return -1;
		}
	}
	if (k->type == CFG_ADDRESS) {
		unsigned char a[sizeof(struct in6_addr)];
		char tmp[64], q[64];

		memcpy(tmp, v, n);
		tmp[n] = '\0';
		if (inet_pton(AF_INET, tmp, a) != 1 && inet_pton(AF_INET6, tmp, a) != 1) {
			snprintf(
			    why, whylen,
			    "%s is not an IPv4 or IPv6 address literal (e.g. 127.0.0.1 or ::1)",
			    config_quote(q, v, n));
			return -1;
		}
		memcpy(dst, tmp, n + 1);
		return 0;
	}
	if (k->check != NULL) {
		char tmp[4096];
		if (n >= sizeof(tmp))
			return -1;
		memcpy(tmp, v, n);
		tmp[n] = '\0';
		if (k->check(tmp, why, whylen) != 0)
			return -1;
	}
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

/* Sets one key from the text of a scalar; on error writes why (without the key name). */
static int config_set(struct secai_config *cfg, const struct config_key *k, const char *v, size_t n,
		      bool plain, char *why, size_t whylen)
{
	char q[64];

	switch (k->type) {
	case CFG_INT:
		return config_set_int(cfg, k, v, n, plain, why, whylen);
	case CFG_STRING:
	case CFG_ADDRESS:
		return config_set_string(cfg, k, v, n, plain, why, whylen);
	case CFG_BOOL: {
		bool b;
		if (plain && n == 4 && memcmp(v, "true", 4) == 0)
			b = true;
		else if (plain && n == 5 && memcmp(v, "false", 5) == 0)
			b = false;
		else {
			snprintf(why, whylen, "expected true or false, got %s",
				 config_quote(q, v, n));
			return -1;
		}
		memcpy((char *)cfg + k->offset, &b, sizeof(b));
		return 0;
	}
	case CFG_ENUM:
		for (int i = 0; k->names[i] != NULL; i++) {
			if (strlen(k->names[i]) == n && memcmp(k->names[i], v, n) == 0) {
				memcpy((char *)cfg + k->offset, &i, sizeof(i));
				return 0;
			}
		}
		snprintf(why, whylen, "%s is not one of ", config_quote(q, v, n));
		for (int i = 0; k->names[i] != NULL; i++) {
			size_t w = strlen(why);
			snprintf(why + w, whylen - w, "%s%s", i ? "|" : "", k->names[i]);
		}
		return -1;
	}
	return -1;
}

void config_defaults(struct secai_config *cfg)
{
	char why[256];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		if (config_set(cfg, k, k->def, strlen(k->def), true, why, sizeof(why)) != 0)
			log_warnx("config: bad built-in default for %s: %s", k->path, why);
	}
	snprintf(cfg->source, sizeof(cfg->source), "(defaults)");
}

/* ---- the table as a tree ---- */

static const struct config_key *config_find(const char *path)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++)
		if (strcmp(config_keys[i].path, path) == 0)
			return &config_keys[i];
	return NULL;
}

/* True when path is a section: some key starts with "path.". */
static bool config_is_section(const char *path)
{
	size_t n = strlen(path);

	for (size_t i = 0; i < CONFIG_NKEYS; i++)
		if (strncmp(config_keys[i].path, path, n) == 0 && config_keys[i].path[n] == '.')
			return true;
	return false;
}

/* Writes the keys allowed directly under prefix ("" = top level) as "a, b, c". */
static void config_children(const char *prefix, char *out, size_t outlen)
{
	size_t pn = strlen(prefix), o = 0;
	const char *last = NULL;
	size_t lastn = 0;

	out[0] = '\0';
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const char *p = config_keys[i].path, *c, *dot;
		size_t cn;
		int r;

		if (pn > 0 && (strncmp(p, prefix, pn) != 0 || p[pn] != '.'))
			continue;
		c = pn > 0 ? p + pn + 1 : p;
		dot = strchr(c, '.');
		cn = dot ? (size_t)(dot - c) : strlen(c);
		if (last != NULL && cn == lastn && memcmp(c, last, cn) == 0)
			continue;
		last = c;
		lastn = cn;
		r = snprintf(out + o, outlen - o, "%s%.*s", o ? ", " : "", (int)cn, c);
		if (r < 0 || (size_t)r >= outlen - o)
			return;
		o += (size_t)r;
	}
}

/* ---- parsing ---- */

static int config_fail(struct config_parse *p, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int config_fail(struct config_parse *p, size_t line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err == NULL || p->errlen == 0)
		return -1;
	n = snprintf(p->err, p->errlen, "%s:%zu: ", p->name, line);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static size_t config_line_of(const struct config_parse *p, size_t offset)
{
	size_t line = 1;

	for (size_t i = 0; i < offset && i < p->len; i++)
		if (p->buf[i] == '\n')
			line++;
	return line;
}

static size_t config_line(const yaml_event_t *ev)
{
	return ev->start_mark.line + 1;
}

static const char *config_node_kind(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_SEQUENCE_START_EVENT:
		return "a sequence";
	case YAML_SCALAR_EVENT:
		return "a scalar";
	default:
		return "something else";
	}
}

/* Next event, refusing aliases, anchors, tags. On error nothing needs deleting. */
static int config_next(struct config_parse *p, yaml_event_t *ev)
{
	yaml_parser_t *y = &p->parser;
	const yaml_char_t *anchor = NULL, *tag = NULL;
	size_t line;

	if (!yaml_parser_parse(y, ev)) {
		if (y->error == YAML_MEMORY_ERROR)
			return config_fail(p, 1, "out of memory while parsing");
		if (y->error == YAML_READER_ERROR)
			line = config_line_of(p, y->problem_offset);
		else
			line = y->problem_mark.line + 1;
		return config_fail(p, line, "YAML syntax error: %.100s%s%.100s",
				   y->problem ? y->problem : "unknown problem",
				   y->context ? " " : "", y->context ? y->context : "");
	}
	line = config_line(ev);
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		config_fail(p, line, "aliases (*%.40s) are not allowed", ev->data.alias.anchor);
		goto bad;
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	case YAML_DOCUMENT_START_EVENT:
		if (ev->data.document_start.tag_directives.start !=
		    ev->data.document_start.tag_directives.end) {
			config_fail(p, line, "%%TAG directives are not allowed");
			goto bad;
		}
		break;
	default:
		break;
	}
	if (anchor != NULL) {
		config_fail(p, line, "anchors (&%.40s) are not allowed", anchor);
		goto bad;
	}
	if (tag != NULL) {
		config_fail(p, line, "tags (%.60s) are not allowed", tag);
		goto bad;
	}
	return 0;
bad:
	yaml_event_delete(ev);
	return -1;
}

static int config_mark_seen(struct config_parse *p, const char *path, size_t line)
{
	for (size_t i = 0; i < p->nseen; i++) {
		if (strcmp(p->seen[i].path, path) == 0)
			return config_fail(p, line, "%s: duplicate key (first set at line %zu)",
					   path, p->seen[i].line);
	}
	if (p->nseen >= CONFIG_SEEN_MAX) /* cannot happen: every seen path is a known one */
		return config_fail(p, line, "too many keys");
	snprintf(p->seen[p->nseen].path, CONFIG_PATH_MAX, "%s", path);
	p->seen[p->nseen].line = line;
	p->nseen++;
	return 0;
}

static int config_mapping(struct config_parse *p, const char *prefix);

/* One "key: value" pair whose key event is kev (consumed here). */
static int config_pair(struct config_parse *p, const char *prefix, yaml_event_t *kev)
{
	const struct config_key *k;
	char path[CONFIG_PATH_MAX], allowed[512], q[64], why[512];
	const char *key = (const char *)kev->data.scalar.value;
	size_t klen = kev->data.scalar.length, line = config_line(kev);
	yaml_event_t ev;
	int r, n;

	n = -1;
	if (klen < 64 && memchr(key, '\0', klen) == NULL)
		n = snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", key);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		path[0] = '\0';
		k = NULL;
	} else {
		k = config_find(path);
	}
	if (k == NULL && (path[0] == '\0' || !config_is_section(path))) {
		config_children(prefix, allowed, sizeof(allowed));
		r = config_fail(p, line, "%s%s%s: unknown key (allowed%s%s: %s)", prefix,
				prefix[0] ? "." : "", config_quote(q, key, klen),
				prefix[0] ? " in " : " at the top level", prefix, allowed);
		yaml_event_delete(kev);
		return r;
	}
	yaml_event_delete(kev);
	if (config_mark_seen(p, path, line) != 0)
		return -1;
	if (config_next(p, &ev) != 0)
		return -1;
	line = config_line(&ev);
	if (k == NULL) {
		if (ev.type == YAML_MAPPING_START_EVENT) {
			yaml_event_delete(&ev);
			return config_mapping(p, path);
		}
		config_children(path, allowed, sizeof(allowed));
		r = config_fail(p, line, "%s: expected a mapping (keys: %s), got %s", path, allowed,
				config_node_kind(&ev));
		yaml_event_delete(&ev);
		return r;
	}
	if (ev.type != YAML_SCALAR_EVENT) {
		r = config_fail(p, line, "%s: expected a single value, got %s", path,
				config_node_kind(&ev));
		yaml_event_delete(&ev);
		return r;
	}
	r = config_set(&p->cfg, k, (const char *)ev.data.scalar.value, ev.data.scalar.length,
		       ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE, why, sizeof(why));
	yaml_event_delete(&ev);
	if (r != 0)
		return config_fail(p, line, "%s: %s", path, why);
	return 0;
}

/* The body of a mapping whose MAPPING_START was consumed; consumes its MAPPING_END. */
static int config_mapping(struct config_parse *p, const char *prefix)
{
	yaml_event_t ev;
	size_t line;

	for (;;) {
		if (config_next(p, &ev) != 0)
			return -1;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (ev.type != YAML_SCALAR_EVENT) {
			line = config_line(&ev);
			yaml_event_delete(&ev);
			return config_fail(p, line, "%s%skeys must be plain strings", prefix,
					   prefix[0] ? ": " : "");
		}
		if (config_pair(p, prefix, &ev) != 0)
			return -1;
	}
}

static int config_expect(struct config_parse *p, yaml_event_type_t type, const char *what)
{
	yaml_event_t ev;
	size_t line;

	if (config_next(p, &ev) != 0)
		return -1;
	line = config_line(&ev);
	if (ev.type == type) {
		yaml_event_delete(&ev);
		return 0;
	}
	yaml_event_delete(&ev);
	return config_fail(p, line, "%s", what);
}

static int config_document(struct config_parse *p)
{
	char allowed[512];
	yaml_event_t ev;
	size_t line;
	int r;

	if (config_expect(p, YAML_STREAM_START_EVENT, "expected the start of a YAML stream") != 0)
		return -1;
	if (config_next(p, &ev) != 0)
		return -1;
	if (ev.type == YAML_STREAM_END_EVENT) { /* empty file, or only comments */
		yaml_event_delete(&ev);
		return 0;
	}
	yaml_event_delete(&ev); /* DOCUMENT_START */
	if (config_next(p, &ev) != 0)
		return -1;
	line = config_line(&ev);
	if (ev.type == YAML_MAPPING_START_EVENT) {
		yaml_event_delete(&ev);
		r = config_mapping(p, "");
	} else if (ev.type == YAML_SCALAR_EVENT &&
		   ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		   config_is_null((const char *)ev.data.scalar.value, ev.data.scalar.length)) {
		yaml_event_delete(&ev); /* "---" alone: an empty document */
		r = 0;
	} else {
		config_children("", allowed, sizeof(allowed));
		r = config_fail(p, line, "the document must be a mapping (keys: %s), got %s",
				allowed, config_node_kind(&ev));
		yaml_event_delete(&ev);
	}
	if (r != 0)
		return -1;
	if (config_expect(p, YAML_DOCUMENT_END_EVENT, "expected the end of the document") != 0)
		return -1;
	return config_expect(p, YAML_STREAM_END_EVENT, "only one YAML document is allowed");
}

int config_load_buffer(const char *name, const char *buf, size_t len, struct secai_config *cfg,
		       char *err, size_t errlen)
{
	struct config_parse *p;
	int r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (name == NULL)
		name = "(buffer)";
	if (len > CONFIG_MAX_BYTES) {
		if (err != NULL)
			snprintf(err, errlen, "%s: file is %zu bytes, larger than the limit %d",
				 name, len, CONFIG_MAX_BYTES);
		return -1;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		if (err != NULL)
			snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	p->name = name;
	p->buf = buf;
	p->len = len;
	p->err = err;
	p->errlen = errlen;
	config_defaults(&p->cfg);
	if (!yaml_parser_initialize(&p->parser)) {
		free(p);
		if (err != NULL)
			snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	yaml_parser_set_input_string(&p->parser, (const unsigned char *)buf, len);
	r = config_document(p);
	yaml_parser_delete(&p->parser);
	if (r == 0) {
		snprintf(p->cfg.source, sizeof(p->cfg.source), "%s", name);
		*cfg = p->cfg;
	}
	free(p);
	return r;
}

int config_load(const char *path, struct secai_config *cfg, char *err, size_t errlen)
{
	char sd[4096], def[4096];
	const char *env = getenv("SECAI_CONFIG");
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int r;

	if (path == NULL && env != NULL && env[0] != '\0')
		path = env;
	if (path == NULL) {
		if (statedir_resolve(sd, sizeof(sd)) != 0 ||
		    statedir_path(sd, CONFIG_FILE_NAME, def, sizeof(def)) != 0 ||
		    (stat(def, &st) != 0 && errno == ENOENT)) {
			config_defaults(cfg);
			return 0;
		}
		path = def;
	}
	if (fs_read_file(path, CONFIG_MAX_BYTES, &data, &len) != 0) {
		if (err != NULL && errno == EFBIG)
			snprintf(err, errlen, "%s: file is larger than the limit of %d bytes", path,
				 CONFIG_MAX_BYTES);
		else if (err != NULL)
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	r = config_load_buffer(path, data, len, cfg, err, errlen);
	free(data);
	return r;
}

int config_finish(struct secai_config *cfg, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	char tmp[4096];

	if (cfg->state_dir[0] == '\0') {
		if (statedir_resolve(tmp, sizeof(tmp)) != 0 ||
		    strlen(tmp) >= sizeof(cfg->state_dir)) {
			snprintf(err, errlen,
				 "%s: state_dir: cannot find a state directory (set state_dir or "
				 "$SECAI_HOME)",
				 cfg->source);
			return -1;
		}
		memcpy(cfg->state_dir, tmp, strlen(tmp) + 1);
	}
	if (cfg->audit.socket[0] == '\0' &&
	    statedir_path(cfg->state_dir, "run/audit.sock", cfg->audit.socket,
			  sizeof(cfg->audit.socket)) != 0) {
		cfg->audit.socket[0] = '\0';
		snprintf(err, errlen, "%s: audit.socket: path under state_dir is too long",
			 cfg->source);
		return -1;
	}
	if (cfg->audit.log_file[0] == '\0' &&
	    statedir_path(cfg->state_dir, "audit/audit.jsonl", cfg->audit.log_file,
			  sizeof(cfg->audit.log_file)) != 0) {
		cfg->audit.log_file[0] = '\0';
		snprintf(err, errlen, "%s: audit.log_file: path under state_dir is too long",
			 cfg->source);
		return -1;
	}
	if (cfg->infer.registry[0] == '\0' &&
	    statedir_path(cfg->state_dir, "registry", cfg->infer.registry,
			  sizeof(cfg->infer.registry)) != 0) {
		cfg->infer.registry[0] = '\0';
		snprintf(err, errlen, "%s: infer.registry: path under state_dir is too long",
			 cfg->source);
		return -1;
	}
	if (cfg->infer.registry_pub[0] == '\0' &&
	    statedir_path(cfg->infer.registry, "registry.pub", cfg->infer.registry_pub,
			  sizeof(cfg->infer.registry_pub)) != 0) {
		cfg->infer.registry_pub[0] = '\0';
		snprintf(err, errlen, "%s: infer.registry_pub: path under infer.registry is too long",
			 cfg->source);
		return -1;
	}
	if (cfg->policy.file[0] == '\0' &&
	    statedir_path(cfg->state_dir, "policy.yaml", cfg->policy.file,
			  sizeof(cfg->policy.file)) != 0) {
		cfg->policy.file[0] = '\0';
		snprintf(err, errlen, "%s: policy.file: path under state_dir is too long",
			 cfg->source);
		return -1;
	}
	if (cfg->policy.socket[0] == '\0' &&
	    statedir_path(cfg->state_dir, "run/policy.sock", cfg->policy.socket,
			  sizeof(cfg->policy.socket)) != 0) {
		cfg->policy.socket[0] = '\0';
		snprintf(err, errlen, "%s: policy.socket: path under state_dir is too long",
			 cfg->source);
		return -1;
	}
	if (cfg->infer.socket[0] == '\0' &&
	    statedir_path(cfg->state_dir, "run/infer.sock", cfg->infer.socket,
			  sizeof(cfg->infer.socket)) != 0) {
		cfg->infer.socket[0] = '\0';
		snprintf(err, errlen, "%s: infer.socket: path under state_dir is too long", cfg->source);
		return -1;
	}
	if (cfg->policy.qrexec_dir[0] == '\0' &&
	    statedir_path(cfg->state_dir, "policy.d", cfg->policy.qrexec_dir,
			  sizeof(cfg->policy.qrexec_dir)) != 0) {
		cfg->policy.qrexec_dir[0] = '\0';
		snprintf(err, errlen, "%s: policy.qrexec_dir: path under state_dir is too long",
			 cfg->source);
		return -1;
	}
	if (cfg->policy.qrexec_compat_dir[0] == '\0' &&
	    statedir_path(cfg->state_dir, "qubes-rpc-policy", cfg->policy.qrexec_compat_dir,
			  sizeof(cfg->policy.qrexec_compat_dir)) != 0) {
		cfg->policy.qrexec_compat_dir[0] = '\0';
		snprintf(err, errlen, "%s: policy.qrexec_compat_dir: path under state_dir is too long",
			 cfg->source);
		return -1;
	}
	if (cfg->quarantine.policy_dir[0] == '\0' &&
	    statedir_path(cfg->state_dir, "quarantine", cfg->quarantine.policy_dir,
			  sizeof(cfg->quarantine.policy_dir)) != 0) {
		cfg->quarantine.policy_dir[0] = '\0';
		snprintf(err, errlen, "%s: quarantine.policy_dir: path under state_dir is too long",
			 cfg->source);
		return -1;
	}
	if (strlen(cfg->audit.socket) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen,
			 "%s: audit.socket: path is %zu bytes, longer than a Unix socket path "
			 "allows (%zu)",
			 cfg->source, strlen(cfg->audit.socket), sizeof(sun.sun_path) - 1);
		return -1;
	}
	if (strlen(cfg->policy.socket) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen,
			 "%s: policy.socket: path is %zu bytes, longer than a Unix socket path "
			 "allows (%zu)",
			 cfg->source, strlen(cfg->policy.socket), sizeof(sun.sun_path) - 1);
		return -1;
	}
	return 0;
}

/* ---- printing ---- */

static void config_print_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(f, "\\x%02x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

/* Number of components shared by the section parts a[0..an) and b[0..bn) ("x.y" vs "x.z": 1). */
static size_t config_common_sections(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, shared = 0;

	if (an == 0 || bn == 0)
		return 0;
	for (;; i++) {
		bool ea = i == an || a[i] == '.', eb = i == bn || b[i] == '.';
		if (ea || eb) {
			if (!(ea && eb))
				return shared;
			shared++;
			if (i == an || i == bn)
				return shared;
		} else if (a[i] != b[i]) {
			return shared;
		}
	}
}

int config_print(const struct secai_config *cfg, FILE *f)
{
	const char *prev = "";
	size_t prevn = 0;

	fprintf(f, "# secai effective configuration (source: ");
	config_print_string(f, cfg->source);
	fprintf(f, ")\n");
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		const char *base = (const char *)cfg + k->offset, *leaf = strrchr(k->path, '.');
		size_t secn = leaf ? (size_t)(leaf - k->path) : 0, shared, depth = 0, s = 0;
		int iv, nnames = 0;
		long long lv;
		bool bv;

		leaf = leaf ? leaf + 1 : k->path;
		shared = config_common_sections(k->path, secn, prev, prevn);
		/* skip the shared sections, then open the others */
		while (s < secn) {
			const char *dot = memchr(k->path + s, '.', secn - s);
			size_t e = dot ? (size_t)(dot - k->path) : secn;
			if (depth >= shared)
				fprintf(f, "%*s%.*s:\n", (int)(2 * depth), "", (int)(e - s),
					k->path + s);
			depth++;
			s = e + 1;
		}
		fprintf(f, "%*s%s: ", (int)(2 * depth), "", leaf);
		switch (k->type) {
		case CFG_STRING:
		case CFG_ADDRESS:
			config_print_string(f, base);
			break;
		case CFG_INT:
			if (k->size == sizeof(int)) {
				memcpy(&iv, base, sizeof(iv));
				lv = iv;
			} else {
				memcpy(&lv, base, sizeof(lv));
			}
			fprintf(f, "%lld", lv);
			break;
		case CFG_BOOL:
			memcpy(&bv, base, sizeof(bv));
			fputs(bv ? "true" : "false", f);
			break;
		case CFG_ENUM:
			memcpy(&iv, base, sizeof(iv));
			while (k->names[nnames] != NULL)
				nnames++;
			fputs(iv >= 0 && iv < nnames ? k->names[iv] : "?", f);
			break;
		}
		fputc('\n', f);
		prev = k->path;
		prevn = secn;
	}
	return ferror(f) ? -1 : 0;
}
