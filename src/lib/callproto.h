/*
 * callproto.h — the wire format between secai-call (inside a compartment) and secai-broker,
 * qrexec's data phase in miniature.
 *
 * A frame is u8 type, u32 little-endian length, then that many bytes (at most CALL_FRAME_MAX).
 * caller -> broker: REQUEST (JSON {"target","service","arg"}), then STDIN frames (an empty one
 *                   is end of input).
 * broker -> caller: DECISION (JSON {"allow": bool, "reason", "target"}); on allow, STDOUT and
 *                   STDERR frames (empty = closed) and finally EXIT (u32 status).
 * Owns: framing, bounds and the names a call may use. Never: trusts a length before checking
 * it against CALL_FRAME_MAX, or blocks forever on a short read (errors end the call).
 */
#ifndef SECAI_CALLPROTO_H
#define SECAI_CALLPROTO_H

#include <stddef.h>
#include <stdint.h>

#define CALL_FRAME_MAX 65536u

enum call_frame {
	CALL_REQUEST = 1,
	CALL_DECISION = 2,
	CALL_STDIN = 3,
	CALL_STDOUT = 4,
	CALL_STDERR = 5,
	CALL_EXIT = 6,
};

/* Writes one frame (all of it). Returns 0 or -1 (errno). */
int call_write_frame(int fd, enum call_frame type, const void *data, size_t len);
/* Reads one frame into buf (cap >= CALL_FRAME_MAX). Returns 0, 1 at a clean end of stream
 * before any byte of a frame, or -1 (I/O error, or a malformed frame: errno EPROTO). */
int call_read_frame(int fd, uint8_t *type, uint8_t *buf, size_t cap, size_t *len);

/* qrexec's rules: a service name is 1..64 of [A-Za-z0-9_.-] (no '+'); an argument 0..64 of
 * [A-Za-z0-9_.+-], not starting with '.' (so "..": never a path). */
int call_service_ok(const char *s);
int call_arg_ok(const char *s);

#endif
