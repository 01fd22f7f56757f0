/*
 * buf.h — a growable byte buffer (always NUL-terminated after its length).
 *
 * Owns: memory for text being built (JSON, lines, reports). Never: caps size silently — every
 * append can fail with -1 (out of memory or over SIZE_MAX/2) and callers check it.
 */
#ifndef SECAI_BUF_H
#define SECAI_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_append_char(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

#endif
