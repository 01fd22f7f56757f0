/*
 * log.h — one line per event, to stderr, for every secai program.
 *
 * Owns: the line format `TIME PROG[PID] LEVEL: message` and the level filter.
 * Never: buffers lines, writes files, or talks to the audit daemon (audit.h does that).
 * log_warn() appends strerror(errno) like warn(3); the x variants do not.
 */
#ifndef SECAI_LOG_H
#define SECAI_LOG_H

#include <stdarg.h>

enum log_level { LOG_LEVEL_DEBUG = 0, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/* Sets the program name shown on each line; level from $SECAI_LOG_LEVEL if set. */
void log_init(const char *progname);
void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn", "error"; returns -1 if unknown. */
int log_level_parse(const char *name, enum log_level *out);
const char *log_progname(void);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
