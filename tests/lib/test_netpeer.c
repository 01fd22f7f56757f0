/*
 * test_netpeer.c — the uid behind a loopback TCP connection, from the kernel's socket table:
 * IPv4 and IPv6 pairs made in this process must answer this process's uid and the client's
 * address:port; as root, a client running as nobody must answer 65534; a listening socket (no
 * peer) and a Unix socket have no answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netpeer.h"

/* A connected pair over loopback: *srv is the accepted (server) side. Returns 0, or -1 when the
 * family is not available here (IPv6 disabled). */
static int pair(int family, int *cli, int *srv, unsigned *cli_port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int l = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (l < 0)
		return -1;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		sl = sizeof(*a);
	}
	if (bind(l, (struct sockaddr *)&ss, sl) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&ss, &sl) != 0) {
		close(l);
		return -1;
	}
	*cli = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(*cli >= 0);
	assert_int_equal(connect(*cli, (struct sockaddr *)&ss, sl), 0);
	*srv = accept(l, NULL, NULL);
	assert_true(*srv >= 0);
	{
		uid_t u;
		assert_int_equal(netpeer_uid(l, &u, NULL, 0), -1); /* a listener has no peer */
	}
	close(l);
	sl = sizeof(ss);
	assert_int_equal(getsockname(*cli, (struct sockaddr *)&ss, &sl), 0);
	*cli_port = family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
				      : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

static void test_ipv4(void **state)
{
	int cli, srv;
	unsigned port;
	uid_t uid = (uid_t)-1;
	char peer[128], want[64];

	(void)state;
	assert_int_equal(pair(AF_INET, &cli, &srv, &port), 0);
	assert_int_equal(netpeer_uid(srv, &uid, peer, sizeof(peer)), 0);
	assert_int_equal(uid, geteuid());
	snprintf(want, sizeof(want), "127.0.0.1:%u", port);
	assert_string_equal(peer, want);
	/* the client's side too: its peer is the server socket, also ours */
	assert_int_equal(netpeer_uid(cli, &uid, NULL, 0), 0);
	assert_int_equal(uid, geteuid());
	close(cli);
	close(srv);
}

static void test_ipv6(void **state)
{
	int cli, srv;
	unsigned port;
	uid_t uid = (uid_t)-1;
	char peer[128], want[64];

	(void)state;
	if (pair(AF_INET6, &cli, &srv, &port) != 0)
		skip(); /* no IPv6 loopback here */
	assert_int_equal(netpeer_uid(srv, &uid, peer, sizeof(peer)), 0);
	assert_int_equal(uid, geteuid());
	snprintf(want, sizeof(want), "[::1]:%u", port);
	assert_string_equal(peer, want);
	close(cli);
	close(srv);
}

/* As root: a client in a child that switched to uid 65534 (nobody) must be told apart from us —
 * the uid read is the client socket's owner, not a column that happens to hold ours. */
static void test_other_user(void **state)
{
	struct sockaddr_in a;
	socklen_t sl = sizeof(a);
	int l, srv, go[2];
	uid_t uid = 0;
	pid_t pid;
	char c;

	(void)state;
	if (geteuid() != 0)
		skip(); /* not root: test_ipv4 already checks a uid other than 0 */
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &sl), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int cfd;
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		cfd = socket(AF_INET, SOCK_STREAM, 0);
		if (cfd < 0 || connect(cfd, (struct sockaddr *)&a, sizeof(a)) != 0)
			_exit(3);
		close(go[1]);
		if (read(go[0], &c, 1) < 0) /* hold the connection until the parent looked */
			_exit(4);
		_exit(0);
	}
	close(go[0]);
	srv = accept(l, NULL, NULL);
	assert_true(srv >= 0);
	assert_int_equal(netpeer_uid(srv, &uid, NULL, 0), 0);
	assert_int_equal(uid, 65534);
	close(go[1]);
	close(srv);
	close(l);
	{
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
}

static void test_not_tcp(void **state)
{
	int sv[2];
	uid_t uid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(netpeer_uid(sv[0], &uid, NULL, 0), -1);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(netpeer_uid(-1, &uid, NULL, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv4),
	    cmocka_unit_test(test_ipv6),
	    cmocka_unit_test(test_other_user),
	    cmocka_unit_test(test_not_tcp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
