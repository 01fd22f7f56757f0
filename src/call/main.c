/*
 * main.c — secai-call: asks the broker, from inside a compartment, to run a service in another
 * (qrexec-client-vm's job).
 *
 *   secai-call TARGET SERVICE[+ARG]
 *
 * Connects to the broker's socket for this compartment ($SECAI_CALL_SOCKET, set by the sandbox:
 * /run/secai/call.sock); the broker knows who is calling by the socket, not by anything said
 * here. Refused: "Request refused" on stderr, exit 126. Allowed: stdin goes to the service,
 * its stdout/stderr come back, and its exit status is ours.
 * Owns: one call. Never: names its own compartment, or retries a refused call.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "callproto.h"
#include "fsutil.h"
#include "json.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: secai-call TARGET SERVICE[+ARG]\n"
		   "Runs SERVICE (with ARG) in compartment TARGET through secai-broker, if the rpc\n"
		   "policy allows: stdin is sent to it, its output printed, its exit status returned.\n"
		   "Exit 126 when the call is refused. Socket: $SECAI_CALL_SOCKET\n"
		   "(default /run/secai/call.sock, inside a compartment).\n");
}

int main(int argc, char **argv)
{
	static uint8_t buf[CALL_FRAME_MAX];
	const char *sock = getenv("SECAI_CALL_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char service[80], err[200];
	const char *arg = "";
	int fd, in_open = 1;

	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc != 3) {
		usage(stderr);
		return 64;
	}
	snprintf(service, sizeof(service), "%s", argv[2]);
	char *plus = strchr(service, '+');
	if (plus != NULL) {
		*plus = '\0';
		arg = plus + 1;
	}
	if (strlen(argv[2]) > 64 + 1 + 64 || !call_service_ok(service) || !call_arg_ok(arg)) {
		fprintf(stderr, "secai-call: \"%s\" is not SERVICE[+ARG] (letters, digits, '_', '.', "
				"'-'; at most 64 each)\n",
			argv[2]);
		return 64;
	}
	if (sock == NULL || !sock[0])
		sock = "/run/secai/call.sock";
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "secai-call: socket path too long\n");
		return 1;
	}
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "secai-call: cannot reach the broker at %s: %s (is secai-broker "
				"running, and is this a compartment?)\n",
			sock, strerror(errno));
		return 1;
	}
	json_t *req = json_pack("{s:s, s:s, s:s}", "target", argv[1], "service", service, "arg", arg);
	char *txt = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (txt == NULL || call_write_frame(fd, CALL_REQUEST, txt, strlen(txt)) != 0) {
		fprintf(stderr, "secai-call: cannot send the request: %s\n", strerror(errno));
		free(txt);
		return 1;
	}
	free(txt);
	uint8_t type;
	size_t len;
	if (call_read_frame(fd, &type, buf, sizeof(buf), &len) != 0 || type != CALL_DECISION) {
		fprintf(stderr, "secai-call: no decision from the broker\n");
		return 1;
	}
	json_t *d = json_parse_object((const char *)buf, len, CALL_FRAME_MAX, err, sizeof(err));
	if (d == NULL || !json_is_true(json_object_get(d, "allow"))) {
		const char *why = d ? json_get_string(d, "reason") : NULL;
		fprintf(stderr, "secai-call: Request refused%s%s%s\n", why ? " (" : "", why ? why : "",
			why ? ")" : "");
		json_decref(d);
		return 126;
	}
	json_decref(d);
	for (;;) {
		struct pollfd p[2] = {{fd, POLLIN, 0}, {0, POLLIN, 0}};
		int np = in_open ? 2 : 1;
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (np == 2 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(0, buf, sizeof(buf));
			if (n <= 0) {
				in_open = 0;
				if (call_write_frame(fd, CALL_STDIN, NULL, 0) != 0)
					return 1;
			} else if (call_write_frame(fd, CALL_STDIN, buf, (size_t)n) != 0) {
				in_open = 0; /* the service stopped reading: keep its output coming */
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			int r = call_read_frame(fd, &type, buf, sizeof(buf), &len);
			if (r != 0) {
				fprintf(stderr, "secai-call: the broker closed the call without an exit "
						"status\n");
				return 1;
			}
			if (type == CALL_STDOUT && len > 0)
				fs_write_all(1, buf, len);
			else if (type == CALL_STDERR && len > 0)
				fs_write_all(2, buf, len);
			else if (type == CALL_EXIT && len == 4)
				return (int)(buf[0] | buf[1] << 8 | buf[2] << 16 | (uint32_t)buf[3] << 24);
		}
	}
}
