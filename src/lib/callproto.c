/*
 * callproto.c — framing for secai-call <-> secai-broker (see callproto.h).
 */
#include "callproto.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

int call_write_frame(int fd, enum call_frame type, const void *data, size_t len)
{
	uint8_t h[5];

	if (len > CALL_FRAME_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	h[0] = (uint8_t)type;
	h[1] = (uint8_t)len;
	h[2] = (uint8_t)(len >> 8);
	h[3] = (uint8_t)(len >> 16);
	h[4] = (uint8_t)(len >> 24);
	if (fs_write_all(fd, h, sizeof(h)) != 0)
		return -1;
	return len ? fs_write_all(fd, data, len) : 0;
}

/* Reads exactly n bytes. 0, 1 on EOF before the first byte, -1 otherwise. */
static int read_exact(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			if (got == 0)
				return 1;
			errno = EPROTO;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

int call_read_frame(int fd, uint8_t *type, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t h[5];
	uint32_t n;
	int r = read_exact(fd, h, sizeof(h));

	if (r != 0)
		return r;
	n = (uint32_t)h[1] | (uint32_t)h[2] << 8 | (uint32_t)h[3] << 16 | (uint32_t)h[4] << 24;
	if (h[0] < CALL_REQUEST || h[0] > CALL_EXIT || n > CALL_FRAME_MAX || n > cap) {
		errno = EPROTO;
		return -1;
	}
	if (n > 0 && read_exact(fd, buf, n) != 0) {
		errno = errno ? errno : EPROTO;
		return -1;
	}
	*type = h[0];
	*len = n;
	return 0;
}

static int name_ok(const char *s, size_t min, int plus)
{
	size_t n = strlen(s);

	if (n < min || n > 64)
		return 0;
	if (n > 0 && s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-' || (plus && c == '+')))
			return 0;
	}
	return 1;
}

int call_service_ok(const char *s)
{
	return name_ok(s, 1, 0);
}

int call_arg_ok(const char *s)
{
	return name_ok(s, 0, 1);
}
