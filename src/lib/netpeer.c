/*
 * netpeer.c — the uid behind the other end of a local TCP connection (see netpeer.h).
 *
 * The kernel prints each socket as "sl: LOCAL REMOTE st ... uid ...", addresses as the raw
 * 32-bit words of the address in hex (%08X of the value in host order) and ports in hex
 * (%04X). The client's socket is the line whose LOCAL is our peer and whose REMOTE is us.
 * Owns: that formatting and the lookup. Never: returns a uid from a line that does not match
 * both ends exactly.
 */
#include "netpeer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* "0100007F:D406" or the 32-hex-digit IPv6 form, as /proc/net/tcp* prints it. */
static int netpeer_format(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ss;
		snprintf(out, outlen, "%08X:%04X", (unsigned)a->sin_addr.s_addr,
			 (unsigned)ntohs(a->sin_port));
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ss;
		uint32_t w[4];
		memcpy(w, &a->sin6_addr, sizeof(w));
		snprintf(out, outlen, "%08X%08X%08X%08X:%04X", (unsigned)w[0], (unsigned)w[1],
			 (unsigned)w[2], (unsigned)w[3], (unsigned)ntohs(a->sin6_port));
		return 0;
	}
	errno = EAFNOSUPPORT;
	return -1;
}

static void netpeer_text(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(out, outlen, "%s:%u", a, (unsigned)ntohs(s4->sin_port));
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(out, outlen, "[%s]:%u", a, (unsigned)ntohs(s6->sin6_port));
	}
}

int netpeer_uid(int fd, uid_t *uid, char *peer, size_t peerlen)
{
	struct sockaddr_storage me, them;
	socklen_t ml = sizeof(me), tl = sizeof(them);
	char want_local[64], want_remote[64], line[512];
	FILE *f;

	if (getsockname(fd, (struct sockaddr *)&me, &ml) != 0 ||
	    getpeername(fd, (struct sockaddr *)&them, &tl) != 0)
		return -1;
	if (peer != NULL && peerlen > 0)
		netpeer_text(&them, peer, peerlen);
	if (netpeer_format(&them, want_local, sizeof(want_local)) != 0 ||
	    netpeer_format(&me, want_remote, sizeof(want_remote)) != 0)
		return -1;
	f = fopen(them.ss_family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6", "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char local[64], remote[64];
		unsigned long u;
		/* sl: local remote st tx:rx tr:tm retrnsmt uid */
		if (sscanf(line, " %*[^:]: %63s %63s %*s %*s %*s %*s %lu", local, remote, &u) != 3)
			continue;
		if (strcmp(local, want_local) == 0 && strcmp(remote, want_remote) == 0) {
			fclose(f);
			*uid = (uid_t)u;
			return 0;
		}
	}
	fclose(f);
	errno = ENOENT;
	return -1;
}
