/*
 * test_landlock.c — the Landlock ruleset in a child process: listed paths work as granted,
 * everything else is refused; TCP refused with deny_tcp (ABI >= 4); skipped (loudly) on a
 * kernel without Landlock.
 *
 * Owns: its temporary folder. Never: confines the test process itself (only forked children).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "landlock.h"

/* Runs body in a child confined to paths; returns the child's exit code. */
static int in_child(const struct landlock_path *paths, size_t n, bool no_tcp,
		    int (*body)(const char *), const char *arg)
{
	pid_t pid = fork();
	int status;
	char err[256];

	assert_true(pid >= 0);
	if (pid == 0) {
		if (landlock_confine(paths, n, no_tcp, err, sizeof(err)) <= 0)
			_exit(100);
		_exit(body(arg));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

static int fs_body(const char *dir)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/ok", dir);
	if ((fd = open(p, O_CREAT | O_WRONLY, 0600)) < 0)
		return 1; /* rw folder: must work */
	close(fd);
	if ((fd = open("/usr/bin/env", O_RDONLY)) < 0)
		return 2; /* ro folder: reading works */
	close(fd);
	if (open("/usr/landlock-test", O_CREAT | O_WRONLY, 0600) >= 0 || errno != EACCES)
		return 3; /* ro folder: no writing */
	if (open("/etc/hostname", O_RDONLY) >= 0 || errno != EACCES)
		return 4; /* unlisted: nothing */
	return 0;
}

static int tcp_body(const char *unused)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(1)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)unused;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return 1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno != EACCES)
		return 2;
	return 0;
}

static void test_paths(void **state)
{
	char dir[] = "/tmp/test_landlock.XXXXXX", cmd[128];
	(void)state;

	if (landlock_abi() == 0) {
		printf("SKIPPED: this kernel has no Landlock\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	struct landlock_path paths[] = {{dir, true, false}, {"/usr", false, false}};
	assert_int_equal(in_child(paths, 2, false, fs_body, dir), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_tcp(void **state)
{
	(void)state;
	if (landlock_abi() < 4) {
		printf("SKIPPED: this kernel's Landlock has no TCP rules (ABI < 4)\n");
		skip();
	}
	struct landlock_path paths[] = {{"/usr", false, false}};
	assert_int_equal(in_child(paths, 1, true, tcp_body, NULL), 0);
}

static void test_missing_paths_are_skipped(void **state)
{
	char err[256];
	(void)state;
	if (landlock_abi() == 0)
		skip();
	pid_t pid = fork();
	int status;
	if (pid == 0) {
		struct landlock_path p[] = {{"/nonexistent/x", true, false}};
		_exit(landlock_confine(p, 1, false, err, sizeof(err)) > 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_tcp),
	    cmocka_unit_test(test_missing_paths_are_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
