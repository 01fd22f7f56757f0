/*
 * scan.h — the model scanners' shared report: findings (reason id, severity, human message,
 * file, byte offset, subject) and the verdict they add up to.
 *
 * Owns: struct scan_finding / struct scan_report, adding findings, the verdict rule, text and
 * JSON output of a report. Every scanner (format gate, pickle, safetensors, folder walker,
 * signatures, tensor manifest, weight statistics) appends to the same report type.
 * Never: reads files, decides what a finding means beyond its severity, or drops a finding
 * silently (past SCAN_REPORT_MAX findings are counted in n_dropped, and the worst severity of
 * dropped findings still counts towards the verdict).
 *
 * Reason ids are stable, lower-case, dotted: "<module>.<what>", e.g. "gate.pickle",
 * "pickle.global_dangerous", "st.invalid_offset", "gguf.truncated", "folder.symlink".
 * docs/scanning.md lists every id. Add new ids there when you add them here or in a scanner.
 *
 * Verdict rule: any finding of severity >= SCAN_SEV_REJECT makes the verdict SCAN_REJECTED;
 * otherwise any SCAN_SEV_ERROR (could not read/scan) makes it SCAN_ERROR; else SCAN_CLEAN.
 * SCAN_SEV_INFO and SCAN_SEV_WARN never change the verdict (a "suspicious" pickle global inside
 * a file that is rejected anyway is a WARN; the file is rejected by its gate finding).
 */
#ifndef SECAI_SCAN_H
#define SECAI_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"

#define SCAN_REASON_MAX 48   /* reason id, NUL included */
#define SCAN_MESSAGE_MAX 256 /* human message, NUL included (longer is cut with "...") */
#define SCAN_FILE_MAX 1024   /* file path (and "archive.zip:member"), NUL included */
#define SCAN_SUBJECT_MAX 256 /* e.g. pickle global "module.name", tensor name, metadata key */
#define SCAN_REPORT_MAX 1024 /* findings kept; more are only counted */
#define SCAN_OFFSET_NONE UINT64_MAX

enum scan_severity {
	SCAN_SEV_INFO = 0, /* a fact worth showing (format found, innocuous global) */
	SCAN_SEV_WARN,	   /* suspicious, does not reject on its own */
	SCAN_SEV_ERROR,	   /* the scan could not complete (I/O, out of memory) */
	SCAN_SEV_REJECT,   /* the file breaks a rule: rejected */
	SCAN_SEV_CRITICAL, /* the file would run code or is crafted to attack: rejected */
	SCAN_SEV_COUNT
};

enum scan_verdict {
	SCAN_CLEAN = 0,	   /* exit 0 */
	SCAN_ERROR = 1,	   /* exit 1: something could not be scanned, nothing rejected */
	SCAN_REJECTED = 2, /* exit 2 */
};

struct scan_finding {
	char reason[SCAN_REASON_MAX];
	enum scan_severity severity;
	char file[SCAN_FILE_MAX];	/* "" when the report is about one unnamed buffer */
	uint64_t offset;		/* byte offset in that file (member), or SCAN_OFFSET_NONE */
	char subject[SCAN_SUBJECT_MAX]; /* "" when none */
	char message[SCAN_MESSAGE_MAX];
};

/* A scanned file and the format the gate found in it (for the report's "files" list). */
struct scan_file {
	char path[SCAN_FILE_MAX];
	char format[32]; /* "gguf", "safetensors", "pickle", "zip", "json", "unknown", ... */
	uint64_t size;
};

struct scan_report {
	struct scan_finding *items;
	size_t n, cap;
	size_t n_dropped;
	enum scan_severity worst; /* over kept and dropped findings; SCAN_SEV_INFO when none */
	bool any;		  /* at least one finding (kept or dropped) */
	struct scan_file *files;
	size_t n_files, files_cap;
	/* Progress on stderr for files larger than this (0 = never); securectl sets 64 MiB. */
	uint64_t progress_min;
};

void scan_report_init(struct scan_report *r);
void scan_report_free(struct scan_report *r);

/*
 * Appends a finding. file and subject may be NULL. Strings are copied (cut to fit); the message
 * is printf-formatted. Returns 0, or -1 when out of memory (the severity is still counted).
 */
int scan_report_add(struct scan_report *r, const char *reason, enum scan_severity sev,
		    const char *file, uint64_t offset, const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
/* Records a scanned file and its format. Returns 0 or -1 (out of memory). */
int scan_report_file(struct scan_report *r, const char *path, const char *format, uint64_t size);

enum scan_verdict scan_report_verdict(const struct scan_report *r);
/* True when a kept finding has this reason id (and, when subject != NULL, this subject). */
bool scan_report_has(const struct scan_report *r, const char *reason, const char *subject);
/* Number of kept findings with this reason id. */
size_t scan_report_count(const struct scan_report *r, const char *reason);

const char *scan_severity_name(enum scan_severity sev); /* "info", "warn", ..., "critical" */
const char *scan_verdict_name(enum scan_verdict v);	/* "clean", "error", "rejected" */

/* One line per finding: "SEVERITY reason file@offset [subject]: message". Control bytes in any
 * string are shown as \xNN. */
void scan_report_print(const struct scan_report *r, FILE *fp);
/*
 * Appends the stable JSON report: {"verdict": "...", "files": [{"path","format","size"}],
 * "findings": [{"reason","severity","file","offset"(null when none),"subject","message"}],
 * "dropped": N}. Keys in this order; strings escaped as JSON. Returns 0 or -1.
 */
int scan_report_json(const struct scan_report *r, const char *target, struct buf *out);

#endif
