/*
 * fuzz_callproto.c — the broker's wire format on arbitrary bytes: frames read back from a
 * memfd until the stream ends or is refused, and each REQUEST parsed and its names checked as
 * the broker does.
 * Never: touches the file system beyond one memfd.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "callproto.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[CALL_FRAME_MAX];
	char err[200];
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (size > 0 && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	lseek(fd, 0, SEEK_SET);
	for (;;) {
		uint8_t type;
		size_t len;
		if (call_read_frame(fd, &type, buf, sizeof(buf), &len) != 0)
			break;
		if (len > CALL_FRAME_MAX || type < CALL_REQUEST || type > CALL_EXIT)
			abort();
		if (type != CALL_REQUEST)
			continue;
		json_t *o = json_parse_object((const char *)buf, len, CALL_FRAME_MAX, err, sizeof(err));
		const char *s = o ? json_get_string(o, "service") : NULL;
		const char *a = o ? json_get_string(o, "arg") : NULL;
		if (s != NULL && call_service_ok(s) && (strchr(s, '/') || strchr(s, '+')))
			abort();
		if (a != NULL && call_arg_ok(a) && (strchr(a, '/') || a[0] == '.'))
			abort();
		json_decref(o);
	}
	close(fd);
	return 0;
}
