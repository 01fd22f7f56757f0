/*
 * test_seal.c — the seccomp seal (seal.c), tried for real: each case forks a child that seals
 * itself and then attempts one thing. Forbidden things must kill the child with SIGSYS (or, for
 * opening a file for writing, fail with EACCES); allowed things must still work afterwards.
 * The shipped daemons have no such trigger; this test program is the only caller of these paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "seal.h"

enum outcome { KILLED, REFUSED, WORKED };

static int listen_fd = -1;
static struct sockaddr_in listen_addr;

static void sealed(void)
{
	char err[256];
	if (seal_process(err, sizeof(err)) != 0) {
		fprintf(stderr, "seal failed: %s\n", err);
		_exit(90);
	}
}

/* Runs fn in a sealed child; reports how the child ended. fn returns 0 when the action
 * succeeded and 1 when the call returned an error (refused). */
static enum outcome run_sealed(int (*fn)(void), const char *what)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		sealed();
		_exit(fn() == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st)) {
		printf("  %-40s killed by signal %d\n", what, WTERMSIG(st));
		return WTERMSIG(st) == SIGSYS ? KILLED : WORKED; /* another signal is a bug */
	}
	assert_true(WIFEXITED(st));
	assert_int_not_equal(WEXITSTATUS(st), 90);
	printf("  %-40s %s\n", what, WEXITSTATUS(st) == 0 ? "worked" : "refused");
	return WEXITSTATUS(st) == 0 ? WORKED : REFUSED;
}

static int do_socket_inet(void) { return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 1; }
static int do_socket_unix(void) { return socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 0 : 1; }
static int do_connect(void)
{
	/* a socket made before sealing cannot connect afterwards */
	int fd = dup(listen_fd);
	return connect(fd, (struct sockaddr *)&listen_addr, sizeof(listen_addr)) == 0 ? 0 : 1;
}
static int do_bind(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	return bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) == 0 ? 0 : 1;
}
static int do_listen(void) { return listen(listen_fd, 1) == 0 ? 0 : 1; }
static int do_exec(void)
{
	char *argv[] = {"true", NULL};
	execv("/bin/true", argv);
	return 1;
}
static int do_fork(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	return p > 0 ? 0 : 1;
}
static int do_open_write(void) { return open("/tmp/secai-seal-test", O_WRONLY | O_CREAT, 0600) >= 0 ? 0 : (errno == EACCES ? 1 : 2); }
static int do_open_rdwr(void) { return open("/etc/hostname", O_RDWR) >= 0 ? 0 : (errno == EACCES ? 1 : 2); }
static int do_open_append(void) { return open("/dev/null", O_RDONLY | O_APPEND) >= 0 ? 0 : 1; }
static int do_unlink(void) { return unlink("/tmp/secai-seal-test-nonexistent") == 0 ? 0 : 1; }
static int do_rename(void) { return rename("/tmp/a-secai", "/tmp/b-secai") == 0 ? 0 : 1; }
static int do_ptrace(void) { return ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0 ? 0 : 1; }
static int do_mmap_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p != MAP_FAILED ? 0 : 1;
}
static int do_mprotect_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return (p != MAP_FAILED && mprotect(p, 4096, PROT_READ | PROT_EXEC) == 0) ? 0 : 1;
}
static int do_kill_parent(void) { return kill(getppid(), 0) == 0 ? 0 : 1; }
static int do_vm_read(void)
{
	char buf[8];
	struct iovec l = {buf, 8}, r = {(void *)&listen_fd, 8};
	return process_vm_readv(getppid(), &l, 1, &r, 1, 0) >= 0 ? 0 : 1;
}

static void test_forbidden_calls_kill_or_refuse(void **state)
{
	(void)state;
	assert_int_equal(run_sealed(do_socket_inet, "socket(AF_INET)"), KILLED);
	assert_int_equal(run_sealed(do_socket_unix, "socket(AF_UNIX)"), KILLED);
	assert_int_equal(run_sealed(do_connect, "connect on an existing socket"), KILLED);
	assert_int_equal(run_sealed(do_bind, "bind"), KILLED);
	assert_int_equal(run_sealed(do_listen, "listen"), KILLED);
	assert_int_equal(run_sealed(do_exec, "execve /bin/true"), KILLED);
	assert_int_equal(run_sealed(do_fork, "fork"), KILLED);
	assert_int_equal(run_sealed(do_open_write, "open for writing (O_CREAT)"), REFUSED);
	assert_int_equal(run_sealed(do_open_rdwr, "open read-write"), REFUSED);
	assert_int_not_equal(run_sealed(do_open_append, "open O_APPEND"), WORKED);
	assert_int_equal(run_sealed(do_unlink, "unlink"), KILLED);
	assert_int_equal(run_sealed(do_rename, "rename"), KILLED);
	assert_int_equal(run_sealed(do_ptrace, "ptrace(TRACEME)"), KILLED);
	assert_int_equal(run_sealed(do_mmap_exec, "mmap PROT_EXEC"), KILLED);
	assert_int_equal(run_sealed(do_mprotect_exec, "mprotect PROT_EXEC"), KILLED);
	assert_int_equal(run_sealed(do_kill_parent, "kill another process"), KILLED);
	assert_int_equal(run_sealed(do_vm_read, "process_vm_readv"), KILLED);
}

static void *thread_fn(void *arg) { return arg; }

static int do_allowed(void)
{
	char buf[64], rnd[16];
	pthread_t t;
	void *ret = NULL;
	struct timespec ts;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL || fgets(buf, sizeof(buf), f) == NULL)
		return 1;
	fclose(f);
	if (pthread_create(&t, NULL, thread_fn, (void *)buf) != 0 || pthread_join(t, &ret) != 0 ||
	    ret != buf)
		return 2;
	char *big = malloc(64 << 20);
	if (big == NULL)
		return 3;
	memset(big, 1, 64 << 20);
	free(big);
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0 || getrandom(rnd, sizeof(rnd), 0) != 16)
		return 4;
	/* accept a connection on a socket that was listening before the seal, and answer */
	int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0 || send(c, "sealed-ok", 9, MSG_NOSIGNAL) != 9)
		return 5;
	close(c);
	return 0;
}

static void test_allowed_calls_still_work(void **state)
{
	int cfd;
	char buf[16] = {0};
	(void)state;

	/* connect first: the sealed child accepts the already-queued connection */
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&listen_addr, sizeof(listen_addr)), 0);
	assert_int_equal(run_sealed(do_allowed, "read-only files, threads, memory, accept"), WORKED);
	assert_int_equal(recv(cfd, buf, sizeof(buf) - 1, 0), 9);
	assert_string_equal(buf, "sealed-ok");
	close(cfd);
}

static int setup(void **state)
{
	socklen_t len = sizeof(listen_addr);
	(void)state;
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&listen_addr, 0, sizeof(listen_addr));
	listen_addr.sin_family = AF_INET;
	listen_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(listen_fd, (struct sockaddr *)&listen_addr, sizeof(listen_addr)) != 0 ||
	    listen(listen_fd, 8) != 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&listen_addr, &len) != 0)
		return -1;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forbidden_calls_kill_or_refuse),
	    cmocka_unit_test(test_allowed_calls_still_work),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
