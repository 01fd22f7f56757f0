/*
 * audit_entry.c — build, parse and re-hash audit log lines (see audit_entry.h for the format).
 *
 * Owns: the canonical-form scanner (fast path) and the strict jansson path (slow path).
 * The fast scanner accepts only bytes that are already exactly canonical; anything else (floats,
 * escaped keys, deep nesting, other layouts) is handed to the slow path, never guessed at.
 */
#include "audit_entry.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "json.h"

#define FAST_MAX_DEPTH 64

enum { SCAN_OK = 0, SCAN_FALLBACK = 1 };

struct scan {
	const char *p, *end;
};

/* Lookup tables keep the hot loop branch-light: the verifier spends most of its time here. */
static const uint8_t hexlow_tab[256] = {['0' ... '9'] = 1, ['a' ... 'f'] = 1};
/* printable ASCII that a canonical string holds unescaped: all but '"' (0x22) and '\\' (0x5c) */
static const uint8_t plain_tab[256] = {[0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7e] = 1};

static int hexlow(char c) { return hexlow_tab[(unsigned char)c]; }

static unsigned hex4(const char *p)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++)
		v = v << 4 | (unsigned)(p[i] <= '9' ? p[i] - '0' : p[i] - 'a' + 10);
	return v;
}

/* A canonical string literal: printable ASCII, the short escapes, and lowercase \u escapes only
 * where Python's ensure_ascii would emit them. Sets *plain if it holds no escape at all. */
static int scan_string(struct scan *s, int *plain)
{
	const char *p = s->p;

	if (plain)
		*plain = 1;
	if (p >= s->end || *p != '"')
		return SCAN_FALLBACK;
	p++;
	for (;;) {
		if (p >= s->end)
			return SCAN_FALLBACK;
		while (p < s->end && plain_tab[(unsigned char)*p])
			p++;
		if (p >= s->end)
			return SCAN_FALLBACK;
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			break;
		if (c != '\\' || p + 1 >= s->end)
			return SCAN_FALLBACK;
		if (plain)
			*plain = 0;
		switch (p[1]) {
		case '"': case '\\': case 'b': case 'f': case 'n': case 'r': case 't':
			p += 2;
			continue;
		case 'u':
			break;
		default:
			return SCAN_FALLBACK;
		}
		if (p + 6 > s->end || !hexlow(p[2]) || !hexlow(p[3]) || !hexlow(p[4]) || !hexlow(p[5]))
			return SCAN_FALLBACK;
		unsigned cp = hex4(p + 2);
		p += 6;
		if (cp == 0 || cp == '\b' || cp == '\f' || cp == '\n' || cp == '\r' || cp == '\t')
			return SCAN_FALLBACK; /* NUL is refused; the rest have short forms */
		if (cp >= 0x20 && cp < 0x7f)
			return SCAN_FALLBACK; /* printable ASCII is never escaped */
		if (cp >= 0xDC00 && cp <= 0xDFFF)
			return SCAN_FALLBACK; /* lone low surrogate */
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			if (p + 6 > s->end || p[0] != '\\' || p[1] != 'u' || !hexlow(p[2]) ||
			    !hexlow(p[3]) || !hexlow(p[4]) || !hexlow(p[5]))
				return SCAN_FALLBACK;
			unsigned lo = hex4(p + 2);
			if (lo < 0xDC00 || lo > 0xDFFF)
				return SCAN_FALLBACK;
			p += 6;
		}
	}
	s->p = p + 1;
	return SCAN_OK;
}

static int scan_value(struct scan *s, int depth);

static int scan_number(struct scan *s)
{
	const char *p = s->p, *start;

	if (p < s->end && *p == '-')
		p++;
	start = p;
	if (p >= s->end || *p < '0' || *p > '9')
		return SCAN_FALLBACK;
	if (*p == '0') {
		p++;
	} else {
		while (p < s->end && *p >= '0' && *p <= '9')
			p++;
	}
	/* fractions, exponents (floats) and long integers go through the slow path */
	if (p - start > 18 || (p < s->end && (*p == '.' || *p == 'e' || *p == 'E')))
		return SCAN_FALLBACK;
	if (start[0] == '0' && s->p[0] == '-')
		return SCAN_FALLBACK; /* "-0" is printed "0" by Python */
	s->p = p;
	return SCAN_OK;
}

static int scan_lit(struct scan *s, const char *lit, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
		return SCAN_FALLBACK;
	s->p += n;
	return SCAN_OK;
}

static int scan_object(struct scan *s, int depth)
{
	const char *prev = NULL;
	size_t prevlen = 0;

	s->p++; /* '{' */
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return SCAN_OK;
	}
	for (;;) {
		const char *k = s->p;
		int plain;
		size_t klen;

		if (scan_string(s, &plain) != SCAN_OK || !plain)
			return SCAN_FALLBACK; /* escaped keys: let the slow path order them */
		klen = (size_t)(s->p - k);
		if (prev != NULL) {
			/* compare the contents (without the quotes) by bytes = code points here */
			size_t a = prevlen - 2, b = klen - 2, m = a < b ? a : b;
			int c = memcmp(prev + 1, k + 1, m);
			if (c > 0 || (c == 0 && a >= b))
				return SCAN_FALLBACK; /* unsorted or duplicate */
		}
		prev = k;
		prevlen = klen;
		if (s->p >= s->end || *s->p != ':')
			return SCAN_FALLBACK;
		s->p++;
		if (scan_value(s, depth + 1) != SCAN_OK)
			return SCAN_FALLBACK;
		if (s->p >= s->end)
			return SCAN_FALLBACK;
		if (*s->p == '}') {
			s->p++;
			return SCAN_OK;
		}
		if (*s->p != ',')
			return SCAN_FALLBACK;
		s->p++;
	}
}

static int scan_array(struct scan *s, int depth)
{
	s->p++; /* '[' */
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		return SCAN_OK;
	}
	for (;;) {
		if (scan_value(s, depth + 1) != SCAN_OK || s->p >= s->end)
			return SCAN_FALLBACK;
		if (*s->p == ']') {
			s->p++;
			return SCAN_OK;
		}
		if (*s->p != ',')
			return SCAN_FALLBACK;
		s->p++;
	}
}

static int scan_value(struct scan *s, int depth)
{
	if (depth > FAST_MAX_DEPTH || s->p >= s->end)
		return SCAN_FALLBACK;
	switch (*s->p) {
	case '{': return scan_object(s, depth);
	case '[': return scan_array(s, depth);
	case '"': return scan_string(s, NULL);
	case 't': return scan_lit(s, "true", 4);
	case 'f': return scan_lit(s, "false", 5);
	case 'n': return scan_lit(s, "null", 4);
	default: return scan_number(s);
	}
}

static void copy_event(char dst[129], const char *src, size_t n)
{
	if (n > 128)
		n = 128;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* {"algorithm":"sha256","data":D,"entry_hash":"H","event":E,"prev_hash":P,"timestamp":T} */
static int parse_fast(const char *line, size_t len, struct audit_line *out)
{
	static const char k_alg[] = "{\"algorithm\":\"sha256\",\"data\":";
	static const char k_hash[] = ",\"entry_hash\":\"";
	static const char k_event[] = "\",\"event\":";
	static const char k_prev[] = ",\"prev_hash\":";
	static const char k_ts[] = ",\"timestamp\":";
	struct scan s = {line, line + len};
	const char *d, *d_end, *h, *e, *e_end, *pv, *pv_end, *t, *t_end;
	struct sha256 *ctx;

	if (scan_lit(&s, k_alg, sizeof(k_alg) - 1) != SCAN_OK)
		return SCAN_FALLBACK;
	d = s.p;
	if (scan_value(&s, 0) != SCAN_OK)
		return SCAN_FALLBACK;
	d_end = s.p;
	if (scan_lit(&s, k_hash, sizeof(k_hash) - 1) != SCAN_OK || s.end - s.p < 64)
		return SCAN_FALLBACK;
	h = s.p;
	for (int i = 0; i < 64; i++)
		if (!hexlow(h[i]))
			return SCAN_FALLBACK;
	s.p += 64;
	if (scan_lit(&s, k_event, sizeof(k_event) - 1) != SCAN_OK)
		return SCAN_FALLBACK;
	e = s.p;
	if (scan_string(&s, NULL) != SCAN_OK)
		return SCAN_FALLBACK;
	e_end = s.p;
	if (scan_lit(&s, k_prev, sizeof(k_prev) - 1) != SCAN_OK)
		return SCAN_FALLBACK;
	pv = s.p;
	if (scan_string(&s, NULL) != SCAN_OK)
		return SCAN_FALLBACK;
	pv_end = s.p;
	if (scan_lit(&s, k_ts, sizeof(k_ts) - 1) != SCAN_OK)
		return SCAN_FALLBACK;
	t = s.p;
	if (scan_string(&s, NULL) != SCAN_OK)
		return SCAN_FALLBACK;
	t_end = s.p;
	if (s.p + 1 != s.end || *s.p != '}')
		return SCAN_FALLBACK;
	/* prev_hash: "" or 64 lowercase hex (anything else: slow path decides) */
	if (pv_end - pv != 2 && pv_end - pv != 66)
		return SCAN_FALLBACK;
	for (const char *q = pv + 1; q < pv_end - 1; q++)
		if (!hexlow(*q))
			return SCAN_FALLBACK;

	if ((ctx = sha256_thread_ctx()) == NULL)
		return SCAN_FALLBACK;
	if (sha256_update(ctx, "{\"data\":", 8) != 0 || sha256_update(ctx, d, (size_t)(d_end - d)) ||
	    sha256_update(ctx, ",\"event\":", 9) || sha256_update(ctx, e, (size_t)(e_end - e)) ||
	    sha256_update(ctx, ",\"prev_hash\":", 13) ||
	    sha256_update(ctx, pv, (size_t)(pv_end - pv)) ||
	    sha256_update(ctx, ",\"timestamp\":", 13) || sha256_update(ctx, t, (size_t)(t_end - t)) ||
	    sha256_update(ctx, "}", 1) || sha256_final(ctx, out->computed))
		return SCAN_FALLBACK;
	hex_decode(h, 64, out->stored, SHA256_LEN);
	memcpy(out->prev_hex, pv + 1, (size_t)(pv_end - pv - 2));
	out->prev_hex[pv_end - pv - 2] = '\0';
	copy_event(out->event, e + 1, (size_t)(e_end - e - 2));
	out->fast = 1;
	return SCAN_OK;
}

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen,
							   const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* SecAI OS compares hashes as lowercase hex strings; so do we. */
static int lower_hex64(const char *s)
{
	if (strlen(s) != 64)
		return 0;
	for (int i = 0; i < 64; i++)
		if (!hexlow(s[i]))
			return 0;
	return 1;
}

int audit_line_parse_slow(const char *line, size_t len, struct audit_line *out, char *err,
			  size_t errlen)
{
	static const char *allowed[] = {"timestamp", "event", "data", "prev_hash", "entry_hash",
					"algorithm"};
	char jerr[160];
	struct buf canon = BUF_INIT;
	json_t *o, *v;
	const char *k, *alg, *eh, *prev, *ev;
	int rc = -1;

	o = json_parse_object(line, len, (size_t)1 << 30, jerr, sizeof(jerr));
	if (o == NULL) {
		set_err(err, errlen, "invalid JSON (%s)", jerr);
		return -1;
	}
	json_object_foreach(o, k, v) {
		size_t i;
		for (i = 0; i < 6; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (i == 6) {
			set_err(err, errlen, "unexpected key \"%.64s\" (not covered by the hash)", k);
			goto done;
		}
	}
	alg = json_get_string(o, "algorithm");
	eh = json_get_string(o, "entry_hash");
	prev = json_get_string(o, "prev_hash");
	ev = json_get_string(o, "event");
	if (alg == NULL || eh == NULL || prev == NULL || ev == NULL ||
	    !json_is_string(json_object_get(o, "timestamp")) || json_object_get(o, "data") == NULL) {
		set_err(err, errlen, "%s", "missing or mistyped key (need timestamp, event, data, "
					   "prev_hash, entry_hash, algorithm)");
		goto done;
	}
	if (strcmp(alg, "sha256") != 0) {
		set_err(err, errlen,
			"algorithm \"%.32s\" is not supported (only sha256; keyed hmac-sha256 "
			"chains need their key)",
			alg);
		goto done;
	}
	if (!lower_hex64(eh) || hex_decode(eh, 64, out->stored, SHA256_LEN) != 0) {
		set_err(err, errlen, "%s", "entry_hash is not 64 lowercase hex digits");
		goto done;
	}
	if (strlen(prev) != 0 && !lower_hex64(prev)) {
		set_err(err, errlen, "%s", "prev_hash is neither empty nor 64 lowercase hex digits");
		goto done;
	}
	/* canonical JSON of {data, event, prev_hash, timestamp} (keys already in sorted order) */
	if (buf_append_str(&canon, "{\"data\":") || json_canon_append(&canon, json_object_get(o, "data")) ||
	    buf_append_str(&canon, ",\"event\":") || json_canon_append(&canon, json_object_get(o, "event")) ||
	    buf_append_str(&canon, ",\"prev_hash\":") ||
	    json_canon_append(&canon, json_object_get(o, "prev_hash")) ||
	    buf_append_str(&canon, ",\"timestamp\":") ||
	    json_canon_append(&canon, json_object_get(o, "timestamp")) || buf_append_char(&canon, '}')) {
		set_err(err, errlen, "%s", "value cannot be encoded canonically (NaN or Infinity?)");
		goto done;
	}
	if (sha256_digest(canon.data, canon.len, out->computed) != 0) {
		set_err(err, errlen, "%s", "SHA-256 failed");
		goto done;
	}
	strcpy(out->prev_hex, prev);
	copy_event(out->event, ev, strlen(ev));
	out->fast = 0;
	rc = 0;
done:
	buf_free(&canon);
	json_decref(o);
	return rc;
}

int audit_line_parse(const char *line, size_t len, struct audit_line *out, char *err, size_t errlen)
{
	if (parse_fast(line, len, out) == SCAN_OK)
		return 0;
	return audit_line_parse_slow(line, len, out, err, errlen);
}

int audit_line_build(struct buf *out, const char *timestamp, const char *event,
		     const char *data_canon, size_t data_len, const char *prev_hex,
		     uint8_t entry_hash[SHA256_LEN])
{
	struct buf tail = BUF_INIT; /* `,"event":E,"prev_hash":P,"timestamp":T}` shared by both */
	struct sha256 *ctx = sha256_thread_ctx();
	char hex[SHA256_HEX_LEN + 1];
	int rc = -1;

	if (ctx == NULL)
		return -1;
	if (buf_append_str(&tail, ",\"event\":") ||
	    json_canon_string(&tail, event, strlen(event)) ||
	    buf_printf(&tail, ",\"prev_hash\":\"%s\",\"timestamp\":", prev_hex) ||
	    json_canon_string(&tail, timestamp, strlen(timestamp)) || buf_append_char(&tail, '}'))
		goto done;
	if (sha256_update(ctx, "{\"data\":", 8) || sha256_update(ctx, data_canon, data_len) ||
	    sha256_update(ctx, tail.data, tail.len) || sha256_final(ctx, entry_hash))
		goto done;
	hex_encode(entry_hash, SHA256_LEN, hex);
	if (buf_append_str(out, "{\"algorithm\":\"sha256\",\"data\":") ||
	    buf_append(out, data_canon, data_len) ||
	    buf_printf(out, ",\"entry_hash\":\"%s\"", hex) ||
	    buf_append(out, tail.data, tail.len) || buf_append_char(out, '\n'))
		goto done;
	rc = 0;
done:
	buf_free(&tail);
	return rc;
}

void audit_timestamp_now(char out[AUDIT_TS_LEN])
{
	struct timeval tv;
	struct tm tm;
	size_t n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(out, AUDIT_TS_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, AUDIT_TS_LEN - n, ".%06ld+00:00", (long)tv.tv_usec);
}

int audit_event_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == ':'))
			return 0;
	}
	return 1;
}
