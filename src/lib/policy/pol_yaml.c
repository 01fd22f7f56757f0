/*
 * pol_yaml.c — strict YAML (and JSON, which it reads as YAML) into a small tree with lines.
 *
 * Owns: the libyaml event loop for policy and policy-test files, and the limits that keep a
 * hostile file cheap (depth, node count, the caller's byte cap).
 * Never: accepts an anchor, alias, tag, %TAG directive, duplicate key, non-scalar key or a second
 * document; never recurses deeper than POL_YAML_MAX_DEPTH.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "policy/pol_impl.h"

struct pol_yp {
	yaml_parser_t y;
	const char *name;
	const char *buf;
	size_t len;
	char *err;
	size_t errlen;
	size_t nodes;
};

static int yp_fail(struct pol_yp *p, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int yp_fail(struct pol_yp *p, size_t line, const char *fmt, ...)
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

const char *pol_quote(char out[64], const char *v, size_t n)
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

const char *pol_node_kind_name(const struct pol_node *n)
{
	if (n == NULL)
		return "nothing";
	switch (n->kind) {
	case PN_MAP:
		return "a mapping";
	case PN_SEQ:
		return "a sequence";
	case PN_SCALAR:
		return "a scalar";
	}
	return "something else";
}

bool pol_node_is_null(const struct pol_node *n)
{
	if (n == NULL)
		return true;
	if (n->kind != PN_SCALAR || !n->plain)
		return false;
	return n->len == 0 || (n->len == 1 && n->str[0] == '~') ||
	       (n->len == 4 && (!memcmp(n->str, "null", 4) || !memcmp(n->str, "Null", 4) ||
				!memcmp(n->str, "NULL", 4)));
}

void pol_node_free(struct pol_node *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; i++)
		pol_node_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

static size_t yp_line_of(const struct pol_yp *p, size_t offset)
{
	size_t line = 1;

	for (size_t i = 0; i < offset && i < p->len; i++)
		if (p->buf[i] == '\n')
			line++;
	return line;
}

/* Next event, refusing aliases, anchors and tags. On error nothing needs deleting. */
static int yp_next(struct pol_yp *p, yaml_event_t *ev)
{
	yaml_parser_t *y = &p->y;
	const yaml_char_t *anchor = NULL, *tag = NULL;
	size_t line;

	if (!yaml_parser_parse(y, ev)) {
		if (y->error == YAML_MEMORY_ERROR)
			return yp_fail(p, 1, "out of memory while parsing");
		if (y->error == YAML_READER_ERROR)
			line = yp_line_of(p, y->problem_offset);
		else
			line = y->problem_mark.line + 1;
		return yp_fail(p, line, "YAML syntax error: %.100s%s%.100s",
			       y->problem ? y->problem : "unknown problem", y->context ? " " : "",
			       y->context ? y->context : "");
	}
	line = ev->start_mark.line + 1;
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		yp_fail(p, line, "aliases (*%.40s) are not allowed", ev->data.alias.anchor);
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
			yp_fail(p, line, "%%TAG directives are not allowed");
			goto bad;
		}
		break;
	default:
		break;
	}
	if (anchor != NULL) {
		yp_fail(p, line, "anchors (&%.40s) are not allowed", anchor);
		goto bad;
	}
	if (tag != NULL) {
		yp_fail(p, line, "tags (%.60s) are not allowed", tag);
		goto bad;
	}
	return 0;
bad:
	yaml_event_delete(ev);
	return -1;
}

static int yp_push(struct pol_node *parent, struct pol_node *kid)
{
	if (parent->n == 0 || (parent->n >= 4 && (parent->n & (parent->n - 1)) == 0)) {
		size_t cap = parent->n ? parent->n * 2 : 4;
		struct pol_node **k = realloc(parent->kids, cap * sizeof(*k));
		if (k == NULL)
			return -1;
		parent->kids = k;
	}
	parent->kids[parent->n++] = kid;
	return 0;
}

static int yp_keycmp(const void *a, const void *b)
{
	const struct pol_node *x = *(struct pol_node *const *)a, *y = *(struct pol_node *const *)b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->str, y->str, n);

	if (c != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->line < y->line ? -1 : (x->line > y->line);
}

/* Duplicate keys: sort a copy of the keys (n log n even for a huge hostile mapping). */
static int yp_check_dups(struct pol_yp *p, const struct pol_node *map)
{
	size_t nk = map->n / 2;
	struct pol_node **keys;
	char q[64];

	if (nk < 2)
		return 0;
	keys = malloc(nk * sizeof(*keys));
	if (keys == NULL)
		return yp_fail(p, map->line, "out of memory");
	for (size_t i = 0; i < nk; i++)
		keys[i] = map->kids[2 * i];
	qsort(keys, nk, sizeof(*keys), yp_keycmp);
	for (size_t i = 1; i < nk; i++) {
		if (keys[i]->len == keys[i - 1]->len &&
		    memcmp(keys[i]->str, keys[i - 1]->str, keys[i]->len) == 0) {
			size_t line = keys[i]->line, first = keys[i - 1]->line;
			pol_quote(q, keys[i]->str, keys[i]->len);
			free(keys);
			return yp_fail(p, line, "%s: duplicate key (first at line %zu)", q, first);
		}
	}
	free(keys);
	return 0;
}

/* Builds the node that starts with ev (consumed). */
static int yp_node(struct pol_yp *p, yaml_event_t *ev, int depth, struct pol_node **out)
{
	struct pol_node *n;
	yaml_event_t kev;
	size_t line = ev->start_mark.line + 1;

	*out = NULL;
	if (depth > POL_YAML_MAX_DEPTH) {
		yaml_event_delete(ev);
		return yp_fail(p, line, "nested deeper than %d levels", POL_YAML_MAX_DEPTH);
	}
	if (++p->nodes > POL_YAML_MAX_NODES) {
		yaml_event_delete(ev);
		return yp_fail(p, line, "more than %d nodes", POL_YAML_MAX_NODES);
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		yaml_event_delete(ev);
		return yp_fail(p, line, "out of memory");
	}
	n->line = line;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n->kind = PN_SCALAR;
		n->len = ev->data.scalar.length;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		n->str = malloc(n->len + 1);
		if (n->str == NULL) {
			yaml_event_delete(ev);
			free(n);
			return yp_fail(p, line, "out of memory");
		}
		memcpy(n->str, ev->data.scalar.value, n->len);
		n->str[n->len] = '\0';
		yaml_event_delete(ev);
		if (memchr(n->str, '\0', n->len) != NULL) {
			pol_node_free(n);
			return yp_fail(p, line, "NUL characters are not allowed");
		}
		*out = n;
		return 0;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool map = ev->type == YAML_MAPPING_START_EVENT;
		yaml_event_type_t end = map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;

		n->kind = map ? PN_MAP : PN_SEQ;
		yaml_event_delete(ev);
		for (;;) {
			struct pol_node *kid;

			if (yp_next(p, &kev) != 0)
				goto fail;
			if (kev.type == end) {
				yaml_event_delete(&kev);
				break;
			}
			if (map && n->n % 2 == 0 && kev.type != YAML_SCALAR_EVENT) {
				size_t kl = kev.start_mark.line + 1;
				yaml_event_delete(&kev);
				yp_fail(p, kl, "keys must be plain strings");
				goto fail;
			}
			if (yp_node(p, &kev, depth + 1, &kid) != 0)
				goto fail;
			if (yp_push(n, kid) != 0) {
				pol_node_free(kid);
				yp_fail(p, line, "out of memory");
				goto fail;
			}
		}
		if (map && yp_check_dups(p, n) != 0)
			goto fail;
		*out = n;
		return 0;
	}
	default:
		yaml_event_delete(ev);
		free(n);
		return yp_fail(p, line, "unexpected YAML event");
	}
fail:
	pol_node_free(n);
	return -1;
}

static int yp_expect(struct pol_yp *p, yaml_event_type_t type, const char *what)
{
	yaml_event_t ev;
	size_t line;

	if (yp_next(p, &ev) != 0)
		return -1;
	line = ev.start_mark.line + 1;
	if (ev.type == type) {
		yaml_event_delete(&ev);
		return 0;
	}
	yaml_event_delete(&ev);
	return yp_fail(p, line, "%s", what);
}

static int yp_document(struct pol_yp *p, struct pol_node **out)
{
	yaml_event_t ev;

	if (yp_expect(p, YAML_STREAM_START_EVENT, "expected the start of a YAML stream") != 0)
		return -1;
	if (yp_next(p, &ev) != 0)
		return -1;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		return 0;
	}
	yaml_event_delete(&ev); /* DOCUMENT_START */
	if (yp_next(p, &ev) != 0)
		return -1;
	if (yp_node(p, &ev, 0, out) != 0)
		return -1;
	if (yp_expect(p, YAML_DOCUMENT_END_EVENT, "expected the end of the document") != 0 ||
	    yp_expect(p, YAML_STREAM_END_EVENT, "only one YAML document is allowed") != 0) {
		pol_node_free(*out);
		*out = NULL;
		return -1;
	}
	if (pol_node_is_null(*out)) { /* "---" alone */
		pol_node_free(*out);
		*out = NULL;
	}
	return 0;
}

int pol_yaml_parse(const char *name, const char *buf, size_t len, struct pol_node **out, char *err,
		   size_t errlen)
{
	struct pol_yp p;
	int r;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(&p, 0, sizeof(p));
	p.name = name ? name : "(buffer)";
	p.buf = buf;
	p.len = len;
	p.err = err;
	p.errlen = errlen;
	if (len > POL_MAX_BYTES) {
		if (err != NULL)
			snprintf(err, errlen, "%s: file is %zu bytes, larger than the limit %d",
				 p.name, len, POL_MAX_BYTES);
		return -1;
	}
	if (!yaml_parser_initialize(&p.y)) {
		if (err != NULL)
			snprintf(err, errlen, "%s: out of memory", p.name);
		return -1;
	}
	yaml_parser_set_input_string(&p.y, (const unsigned char *)buf, len);
	r = yp_document(&p, out);
	yaml_parser_delete(&p.y);
	return r;
}
