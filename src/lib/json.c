/*
 * json.c — strict JSON input (jansson) and Python-compatible canonical output.
 *
 * Owns: json_parse_strict(), the one entry point for JSON from outside, and the canonical encoder
 * whose bytes the audit chain hashes. The encoder must print exactly what Python's
 * json.dumps(v, sort_keys=True, separators=(',', ':')) prints (ensure_ascii on), because SecAI OS
 * computes the same hashes in Python. Never: accepts duplicate keys, NUL inside strings, more than
 * one top-level value, or a document longer than the caller's limit.
 *
 * Known difference from Python: integers beyond 64 bits are refused by jansson at parse time.
 */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void json_set_err(char *err, size_t errlen, const json_error_t *e, const char *why)
{
	if (err == NULL || errlen == 0)
		return;
	if (e != NULL)
		snprintf(err, errlen, "line %d col %d: %s", e->line, e->column, e->text);
	else
		snprintf(err, errlen, "%s", why);
}

json_t *json_parse_strict(const char *buf, size_t len, size_t max_len, char *err, size_t errlen)
{
	json_error_t e;
	json_t *v;

	if (len > max_len) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "document of %zu bytes exceeds the limit of %zu bytes", len,
				 max_len);
		return NULL;
	}
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
	if (v == NULL)
		json_set_err(err, errlen, &e, NULL);
	return v;
}

json_t *json_parse_object(const char *buf, size_t len, size_t max_len, char *err, size_t errlen)
{
	json_t *v = json_parse_strict(buf, len, max_len, err, errlen);

	if (v != NULL && !json_is_object(v)) {
		json_set_err(err, errlen, NULL, "expected a JSON object at the top level");
		json_decref(v);
		return NULL;
	}
	return v;
}

int json_format_double(char out[32], double d)
{
	char digits[40], tmp[40];
	int prec, exp10, ndig, n = 0;
	char *e;

	if (isnan(d) || isinf(d))
		return -1;
	if (d == 0) {
		return snprintf(out, 32, "%s", signbit(d) ? "-0.0" : "0.0");
	}
	/* Shortest correctly rounded digit string that reads back as d (what repr() prints). */
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	/* tmp = [-]D[.DDD]e[+-]XX */
	ndig = 0;
	for (const char *p = tmp; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[ndig++] = *p;
	digits[ndig] = '\0';
	e = strchr(tmp, 'e');
	exp10 = atoi(e + 1); /* value = D.DDD × 10^exp10, so Python's decpt = exp10 + 1 */
	while (ndig > 1 && digits[ndig - 1] == '0')
		digits[--ndig] = '\0';
	if (d < 0)
		out[n++] = '-';
	if (exp10 + 1 <= -4 || exp10 + 1 > 16) {
		out[n++] = digits[0];
		if (ndig > 1) {
			out[n++] = '.';
			memcpy(out + n, digits + 1, (size_t)ndig - 1);
			n += ndig - 1;
		}
		n += snprintf(out + n, 32 - (size_t)n, "e%c%02d", exp10 < 0 ? '-' : '+',
			      exp10 < 0 ? -exp10 : exp10);
	} else if (exp10 < 0) {
		out[n++] = '0';
		out[n++] = '.';
		for (int i = 0; i < -exp10 - 1; i++)
			out[n++] = '0';
		memcpy(out + n, digits, (size_t)ndig);
		n += ndig;
	} else {
		int intdig = exp10 + 1;
		for (int i = 0; i < intdig; i++)
			out[n++] = i < ndig ? digits[i] : '0';
		out[n++] = '.';
		if (ndig > intdig) {
			memcpy(out + n, digits + intdig, (size_t)(ndig - intdig));
			n += ndig - intdig;
		} else {
			out[n++] = '0';
		}
	}
	out[n] = '\0';
	return n;
}

/* Decodes one UTF-8 sequence (input already validated by jansson, but checked again). */
static int utf8_next(const unsigned char *s, size_t len, size_t *i, unsigned *cp)
{
	unsigned c = s[*i];
	int n;

	if (c < 0x80) {
		*cp = c;
		n = 1;
	} else if ((c & 0xE0) == 0xC0) {
		*cp = c & 0x1F;
		n = 2;
	} else if ((c & 0xF0) == 0xE0) {
		*cp = c & 0x0F;
		n = 3;
	} else if ((c & 0xF8) == 0xF0) {
		*cp = c & 0x07;
		n = 4;
	} else {
		return -1;
	}
	if (*i + (size_t)n > len)
		return -1;
	for (int k = 1; k < n; k++) {
		unsigned cc = s[*i + (size_t)k];
		if ((cc & 0xC0) != 0x80)
			return -1;
		*cp = (*cp << 6) | (cc & 0x3F);
	}
	if ((n == 2 && *cp < 0x80) || (n == 3 && *cp < 0x800) || (n == 4 && *cp < 0x10000) ||
	    *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
		return -1;
	*i += (size_t)n;
	return 0;
}

int json_canon_string(struct buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run;

	if (buf_reserve(out, len + 2) != 0 || buf_append_char(out, '"') != 0)
		return -1;
	while (i < len) {
		unsigned cp;
		char esc[12];
		size_t elen;

		/* copy runs of plain printable ASCII in one go */
		run = i;
		while (run < len && u[run] >= 0x20 && u[run] <= 0x7e && u[run] != '"' && u[run] != '\\')
			run++;
		if (run > i) {
			if (buf_append(out, s + i, run - i) != 0)
				return -1;
			i = run;
			continue;
		}
		if (utf8_next(u, len, &i, &cp) != 0)
			return -1;
		switch (cp) {
		case '"': memcpy(esc, "\\\"", 2); elen = 2; break;
		case '\\': memcpy(esc, "\\\\", 2); elen = 2; break;
		case '\b': memcpy(esc, "\\b", 2); elen = 2; break;
		case '\f': memcpy(esc, "\\f", 2); elen = 2; break;
		case '\n': memcpy(esc, "\\n", 2); elen = 2; break;
		case '\r': memcpy(esc, "\\r", 2); elen = 2; break;
		case '\t': memcpy(esc, "\\t", 2); elen = 2; break;
		default:
			if (cp >= 0x10000) {
				unsigned v = cp - 0x10000, hi = 0xD800 | (v >> 10), lo = 0xDC00 | (v & 0x3FF);
				esc[0] = '\\'; esc[1] = 'u';
				for (int k = 0; k < 4; k++)
					esc[2 + k] = hex[(hi >> (12 - 4 * k)) & 0xF];
				esc[6] = '\\'; esc[7] = 'u';
				for (int k = 0; k < 4; k++)
					esc[8 + k] = hex[(lo >> (12 - 4 * k)) & 0xF];
				elen = 12;
			} else {
				esc[0] = '\\'; esc[1] = 'u';
				for (int k = 0; k < 4; k++)
					esc[2 + k] = hex[(cp >> (12 - 4 * k)) & 0xF];
				elen = 6;
			}
		}
		if (buf_append(out, esc, elen) != 0)
			return -1;
	}
	return buf_append_char(out, '"');
}

static int key_cmp(const void *a, const void *b)
{
	/* UTF-8 byte order is code point order, which is how Python sorts str keys. */
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int json_canon_append(struct buf *out, const json_t *v)
{
	char num[40];
	int n;

	switch (json_typeof(v)) {
	case JSON_NULL:
		return buf_append(out, "null", 4);
	case JSON_TRUE:
		return buf_append(out, "true", 4);
	case JSON_FALSE:
		return buf_append(out, "false", 5);
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf_append(out, num, (size_t)n);
	case JSON_REAL:
		n = json_format_double(num, json_real_value(v));
		return n < 0 ? -1 : buf_append(out, num, (size_t)n);
	case JSON_STRING:
		return json_canon_string(out, json_string_value(v), json_string_length(v));
	case JSON_ARRAY: {
		size_t i;
		json_t *e;
		if (buf_append_char(out, '[') != 0)
			return -1;
		json_array_foreach(v, i, e) {
			if ((i > 0 && buf_append_char(out, ',') != 0) || json_canon_append(out, e) != 0)
				return -1;
		}
		return buf_append_char(out, ']');
	}
	case JSON_OBJECT: {
		size_t nkeys = json_object_size(v), i = 0;
		const char **keys;
		const char *k;
		json_t *e;
		int rc = 0;

		if (buf_append_char(out, '{') != 0)
			return -1;
		if (nkeys == 0)
			return buf_append_char(out, '}');
		keys = calloc(nkeys, sizeof(*keys));
		if (keys == NULL)
			return -1;
		json_object_foreach((json_t *)v, k, e) keys[i++] = k;
		qsort(keys, nkeys, sizeof(*keys), key_cmp);
		for (i = 0; i < nkeys && rc == 0; i++) {
			if (i > 0 && buf_append_char(out, ',') != 0)
				rc = -1;
			else if (json_canon_string(out, keys[i], strlen(keys[i])) != 0 ||
				 buf_append_char(out, ':') != 0 ||
				 json_canon_append(out, json_object_get(v, keys[i])) != 0)
				rc = -1;
		}
		free(keys);
		return rc == 0 ? buf_append_char(out, '}') : -1;
	}
	}
	return -1;
}

const char *json_get_string(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

int json_get_int(const json_t *obj, const char *key, long long *out)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return 0;
}
