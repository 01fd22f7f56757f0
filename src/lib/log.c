/*
 * log.c — one line per event on stderr: `2026-11-22T07:32:39.123Z secai-audit[42] warn: text`.
 *
 * Owns: formatting and the level filter. Never: allocates, buffers across calls, or exits except
 * in fatal()/fatalx(). Each line is built in one buffer and written with one write(2), so lines
 * from several processes sharing a stderr never interleave mid-line.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "secai";
static enum log_level log_min = LOG_LEVEL_INFO;

void log_init(const char *progname)
{
	const char *env = getenv("SECAI_LOG_LEVEL");
	enum log_level lv;

	if (progname != NULL)
		log_prog = progname;
	if (env != NULL && log_level_parse(env, &lv) == 0)
		log_min = lv;
}

void log_set_level(enum log_level level) { log_min = level; }

const char *log_progname(void) { return log_prog; }

int log_level_parse(const char *name, enum log_level *out)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(name, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

__attribute__((format(printf, 3, 0))) static void log_vline(enum log_level lv, int errnum,
								 const char *fmt, va_list ap)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int r;

	if (lv < log_min)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s[%ld] %s: ", (long)tv.tv_usec / 1000,
		     log_prog, (long)getpid(), names[lv]);
	if (r > 0)
		n += (size_t)r;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n = (n + (size_t)r < sizeof(line)) ? n + (size_t)r : sizeof(line) - 1;
	if (errnum != 0 && n < sizeof(line) - 1) {
		r = snprintf(line + n, sizeof(line) - n, ": %s", strerror(errnum));
		if (r > 0)
			n = (n + (size_t)r < sizeof(line)) ? n + (size_t)r : sizeof(line) - 1;
	}
	/* one event, one line: fold embedded newlines */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

#define LOG_BODY(lv, e)                                                                            \
	va_list ap;                                                                                \
	va_start(ap, fmt);                                                                         \
	log_vline(lv, e, fmt, ap);                                                                 \
	va_end(ap)

void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_DEBUG, 0); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_INFO, 0); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_WARN, 0); }
void log_warn(const char *fmt, ...)
{
	int e = errno;
	LOG_BODY(LOG_LEVEL_WARN, e);
}
void fatal(const char *fmt, ...)
{
	int e = errno;
	LOG_BODY(LOG_LEVEL_ERROR, e);
	exit(1);
}
void fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, 0);
	exit(1);
}
