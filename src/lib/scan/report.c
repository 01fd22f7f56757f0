/*
 * report.c — the scanners' shared report (scan.h): adding findings, the verdict, text and JSON.
 *
 * Owns: memory of findings and of the scanned-files list; escaping of every string it prints.
 * Never: reads files, or prints a byte from a scanned file unescaped (names and subjects come
 * from untrusted files: control bytes and invalid UTF-8 are shown as \xNN).
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "scan/scan.h"

static const char *const sev_names[SCAN_SEV_COUNT] = {"info", "warn", "error", "reject",
						      "critical"};

void scan_report_init(struct scan_report *r)
{
	memset(r, 0, sizeof(*r));
	r->worst = SCAN_SEV_INFO;
}

void scan_report_free(struct scan_report *r)
{
	free(r->items);
	free(r->files);
	scan_report_init(r);
}

static void copy_cut(char *dst, size_t cap, const char *src)
{
	size_t n;

	if (src == NULL) {
		dst[0] = '\0';
		return;
	}
	n = strlen(src);
	if (n < cap) {
		memcpy(dst, src, n + 1);
		return;
	}
	memcpy(dst, src, cap - 4);
	memcpy(dst + cap - 4, "...", 4);
}

int scan_report_add(struct scan_report *r, const char *reason, enum scan_severity sev,
		    const char *file, uint64_t offset, const char *subject, const char *fmt, ...)
{
	struct scan_finding *f;
	va_list ap;
	int n;

	if ((unsigned)sev >= SCAN_SEV_COUNT)
		sev = SCAN_SEV_CRITICAL;
	if (!r->any || sev > r->worst)
		r->worst = sev;
	r->any = true;
	if (r->n >= SCAN_REPORT_MAX) {
		r->n_dropped++;
		return 0;
	}
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 16;
		struct scan_finding *p;

		if (ncap > SCAN_REPORT_MAX)
			ncap = SCAN_REPORT_MAX;
		p = realloc(r->items, ncap * sizeof(*p));
		if (p == NULL) {
			r->n_dropped++;
			return -1;
		}
		r->items = p;
		r->cap = ncap;
	}
	f = &r->items[r->n++];
	memset(f, 0, sizeof(*f));
	copy_cut(f->reason, sizeof(f->reason), reason);
	f->severity = sev;
	copy_cut(f->file, sizeof(f->file), file);
	f->offset = offset;
	copy_cut(f->subject, sizeof(f->subject), subject);
	va_start(ap, fmt);
	n = vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(f->message))
		memcpy(f->message + sizeof(f->message) - 4, "...", 4);
	return 0;
}

int scan_report_file(struct scan_report *r, const char *path, const char *format, uint64_t size)
{
	struct scan_file *sf;

	if (r->n_files >= SCAN_REPORT_MAX)
		return 0;
	if (r->n_files == r->files_cap) {
		size_t ncap = r->files_cap ? r->files_cap * 2 : 8;
		struct scan_file *p = realloc(r->files, ncap * sizeof(*p));

		if (p == NULL)
			return -1;
		r->files = p;
		r->files_cap = ncap;
	}
	sf = &r->files[r->n_files++];
	copy_cut(sf->path, sizeof(sf->path), path);
	copy_cut(sf->format, sizeof(sf->format), format);
	sf->size = size;
	return 0;
}

enum scan_verdict scan_report_verdict(const struct scan_report *r)
{
	if (!r->any)
		return SCAN_CLEAN;
	if (r->worst >= SCAN_SEV_REJECT)
		return SCAN_REJECTED;
	if (r->worst == SCAN_SEV_ERROR)
		return SCAN_ERROR;
	return SCAN_CLEAN;
}

bool scan_report_has(const struct scan_report *r, const char *reason, const char *subject)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->items[i].reason, reason) == 0 &&
		    (subject == NULL || strcmp(r->items[i].subject, subject) == 0))
			return true;
	return false;
}

size_t scan_report_count(const struct scan_report *r, const char *reason)
{
	size_t c = 0;

	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->items[i].reason, reason) == 0)
			c++;
	return c;
}

const char *scan_severity_name(enum scan_severity sev)
{
	return (unsigned)sev < SCAN_SEV_COUNT ? sev_names[sev] : "?";
}

const char *scan_verdict_name(enum scan_verdict v)
{
	switch (v) {
	case SCAN_CLEAN:
		return "clean";
	case SCAN_ERROR:
		return "error";
	case SCAN_REJECTED:
		return "rejected";
	}
	return "?";
}

/* Prints s with bytes outside printable ASCII as \xNN (no terminal injection). */
static void print_safe(FILE *fp, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c >= 0x7f || c == '\\')
			fprintf(fp, "\\x%02x", c);
		else
			fputc(c, fp);
	}
}

void scan_report_print(const struct scan_report *r, FILE *fp)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct scan_finding *f = &r->items[i];

		fprintf(fp, "%-8s %s ", scan_severity_name(f->severity), f->reason);
		print_safe(fp, f->file[0] ? f->file : "-");
		if (f->offset != SCAN_OFFSET_NONE)
			fprintf(fp, "@%" PRIu64, f->offset);
		if (f->subject[0]) {
			fputs(" [", fp);
			print_safe(fp, f->subject);
			fputc(']', fp);
		}
		fputs(": ", fp);
		print_safe(fp, f->message);
		fputc('\n', fp);
	}
	if (r->n_dropped)
		fprintf(fp, "(%zu more findings not shown)\n", r->n_dropped);
}

/* A JSON string from bytes that may not be UTF-8: invalid bytes become \xNN text. */
static json_t *jstr(const char *s)
{
	json_t *v = json_string(s);
	struct buf b = BUF_INIT;

	if (v != NULL)
		return v;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x80 ? buf_printf(&b, "\\x%02x", c) : buf_append_char(&b, (char)c)) {
			buf_free(&b);
			return NULL;
		}
	}
	v = json_string(b.data ? b.data : "");
	buf_free(&b);
	return v;
}

static int set_new(json_t *o, const char *k, json_t *v)
{
	return v == NULL ? -1 : json_object_set_new(o, k, v);
}

int scan_report_json(const struct scan_report *r, const char *target, struct buf *out)
{
	json_t *root = json_object(), *files = json_array(), *finds = json_array();
	char *text = NULL;
	int rc = -1;

	if (root == NULL || files == NULL || finds == NULL)
		goto done;
	if (set_new(root, "target", jstr(target ? target : "")) ||
	    set_new(root, "verdict", json_string(scan_verdict_name(scan_report_verdict(r)))) ||
	    set_new(root, "worst_severity",
		    json_string(r->any ? scan_severity_name(r->worst) : "none")))
		goto done;
	for (size_t i = 0; i < r->n_files; i++) {
		json_t *o = json_object();

		if (o == NULL || json_array_append_new(files, o) ||
		    set_new(o, "path", jstr(r->files[i].path)) ||
		    set_new(o, "format", jstr(r->files[i].format)) ||
		    set_new(o, "size", json_integer((json_int_t)r->files[i].size)))
			goto done;
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct scan_finding *f = &r->items[i];
		json_t *o = json_object();

		if (o == NULL || json_array_append_new(finds, o) ||
		    set_new(o, "reason", json_string(f->reason)) ||
		    set_new(o, "severity", json_string(scan_severity_name(f->severity))) ||
		    set_new(o, "file", jstr(f->file)) ||
		    set_new(o, "offset", f->offset == SCAN_OFFSET_NONE
					     ? json_null()
					     : json_integer((json_int_t)f->offset)) ||
		    set_new(o, "subject", jstr(f->subject)) ||
		    set_new(o, "message", jstr(f->message)))
			goto done;
	}
	if (json_object_set(root, "files", files) || json_object_set(root, "findings", finds) ||
	    set_new(root, "dropped", json_integer((json_int_t)r->n_dropped)))
		goto done;
	text = json_dumps(root, JSON_PRESERVE_ORDER | JSON_INDENT(1) | JSON_ENSURE_ASCII);
	if (text == NULL || buf_append_str(out, text) || buf_append_char(out, '\n'))
		goto done;
	rc = 0;
done:
	free(text);
	json_decref(files);
	json_decref(finds);
	json_decref(root);
	return rc;
}
