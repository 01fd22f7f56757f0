/*
 * test_compart.c — compartments.yaml: a full file, every error with its file:line, limits, and
 * the sandbox recipe (namespaces, read-only /usr, the compartment's own folders only, network
 * only when asked, the seccomp filter installed).
 * Never: starts a sandbox (tests/e2e/test_compartments.py does, with the real bwrap).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "compart.h"

static char err[1024];

static int parse(const char *yaml, struct compart_set *set)
{
	err[0] = '\0';
	return compart_parse("c.yaml", yaml, strlen(yaml), set, err, sizeof(err));
}

static void expect_error(const char *yaml, const char *want)
{
	static struct compart_set set;

	if (parse(yaml, &set) == 0)
		fail_msg("accepted:\n%s", yaml);
	if (strstr(err, want) == NULL)
		fail_msg("error mismatch\n got: %s\nwant (part): %s", err, want);
}

static void test_full_file(void **state)
{
	static struct compart_set set;
	const char *y = "# the AI router's qubes\n"
			"compartments:\n"
			"  ai:\n"
			"    type: AppVM\n"
			"    tags: [ai, llm]\n"
			"  work:\n"
			"    type: DispVM\n"
			"    tags:\n"
			"      - workspace\n"
			"    network: false\n"
			"  sys-net:\n"
			"    type: StandaloneVM\n"
			"    network: true\n";
	(void)state;
	assert_int_equal(parse(y, &set), 0);
	assert_int_equal(set.n, 3);
	assert_string_equal(set.c[0].name, "ai");
	assert_int_equal(set.c[0].type, COMPART_APPVM);
	assert_int_equal(set.c[0].ntags, 2);
	assert_string_equal(set.c[0].tags[1], "llm");
	assert_false(set.c[0].network);
	assert_int_equal(set.c[0].line, 3);
	assert_int_equal(set.c[1].type, COMPART_DISPVM);
	assert_string_equal(set.c[1].tags[0], "workspace");
	assert_true(set.c[2].network);
	assert_string_equal(compart_type_name(set.c[2].type), "StandaloneVM");
	assert_non_null(compart_find(&set, "work"));
	assert_null(compart_find(&set, "dom0"));
}

static void test_empty_files(void **state)
{
	static struct compart_set set;
	(void)state;
	assert_int_equal(parse("", &set), 0);
	assert_int_equal(set.n, 0);
	assert_int_equal(parse("compartments:\n", &set), 0);
	assert_int_equal(set.n, 0);
	assert_int_equal(parse("# nothing\n", &set), 0);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("compartment:\n  a: {}\n", "c.yaml:1: unknown key \"compartment\"");
	expect_error("compartments:\n  a:\n    type: AppVM\n    color: red\n",
		     "c.yaml:4: a: unknown key \"color\"");
	expect_error("compartments:\n  a:\n    type: HVM\n", "c.yaml:3: a: type \"HVM\" is not");
	expect_error("compartments:\n  a: {}\n  a: {}\n", "c.yaml:3: compartment a is defined twice");
	expect_error("compartments:\n  dom0: {}\n", "c.yaml:2: compartment name \"dom0\"");
	expect_error("compartments:\n  '@anyvm': {}\n", "c.yaml:2: compartment name \"@anyvm\"");
	expect_error("compartments:\n  9lives: {}\n", "c.yaml:2: compartment name");
	expect_error("compartments:\n  a/b: {}\n", "c.yaml:2: compartment name");
	expect_error("compartments:\n  a:\n    network: yes\n", "c.yaml:3: a: network must be true");
	expect_error("compartments:\n  a:\n    tags: ai\n", "c.yaml:3: a: tags must be a list");
	expect_error("compartments:\n  a:\n    tags: [\"x y\"]\n", "c.yaml:3: a: tag \"x y\"");
	expect_error("compartments:\n  a:\n    type: AppVM\n    type: DispVM\n",
		     "c.yaml:4: a: duplicate key type");
	expect_error("compartments:\n  a: &x {}\n  b: *x\n", "anchors and tags are not allowed");
	expect_error("compartments:\n  a: !!map {}\n", "c.yaml:2: anchors and tags");
	expect_error("compartments: [a, b]\n", "c.yaml:1: compartments must be a mapping");
	expect_error("compartments:\n  a: 3\n", "c.yaml:2: a: must be a mapping");
	expect_error("- a\n", "c.yaml:1: the file must be a mapping");
	expect_error("compartments: {}\n---\ncompartments: {}\n", "only one YAML document");
	expect_error("compartments:\n  a: {\n", "YAML syntax error");
	expect_error("compartments: {}\ncompartments: {}\n", "c.yaml:2: duplicate key compartments");
}

static void test_limits(void **state)
{
	static struct compart_set set;
	static char y[65536];
	size_t n = 0;
	(void)state;
	n += (size_t)snprintf(y + n, sizeof(y) - n, "compartments:\n");
	for (int i = 0; i <= COMPART_MAX; i++)
		n += (size_t)snprintf(y + n, sizeof(y) - n, "  c%d: {}\n", i);
	assert_int_equal(parse(y, &set), -1);
	assert_non_null(strstr(err, "c.yaml:66: more than 64 compartments"));
	n = (size_t)snprintf(y, sizeof(y), "compartments:\n  a:\n    tags: [");
	for (int i = 0; i <= COMPART_MAX_TAGS; i++)
		n += (size_t)snprintf(y + n, sizeof(y) - n, "%st%d", i ? ", " : "", i);
	snprintf(y + n, sizeof(y) - n, "]\n");
	assert_int_equal(parse(y, &set), -1);
	assert_non_null(strstr(err, "more than 16 tags"));
	/* a 32-character name is one too long */
	assert_int_equal(parse("compartments:\n  abcdefghijabcdefghijabcdefghijab: {}\n", &set), -1);
	assert_int_equal(parse("compartments:\n  abcdefghijabcdefghijabcdefghija: {}\n", &set), 0);
}

static int has_seq(const struct compart_argv *a, const char *x, const char *y, const char *z)
{
	for (int i = 0; i + 2 < a->argc; i++)
		if (strcmp(a->argv[i], x) == 0 && strcmp(a->argv[i + 1], y) == 0 &&
		    (z == NULL || strcmp(a->argv[i + 2], z) == 0))
			return 1;
	return 0;
}

static int has(const struct compart_argv *a, const char *x)
{
	for (int i = 0; i < a->argc; i++)
		if (strcmp(a->argv[i], x) == 0)
			return 1;
	return 0;
}

static void test_sandbox_recipe(void **state)
{
	static struct compart_set set;
	static struct compart_argv av;
	struct compart_paths p;
	const char *cmd[] = {"/bin/true", "x", NULL};
	const char *env[] = {"QREXEC_REMOTE_DOMAIN=work", NULL};
	const char *badenv[] = {"NOEQUALS", NULL};
	(void)state;
	assert_int_equal(parse("compartments:\n  ai: {}\n  net:\n    network: true\n", &set), 0);
	assert_int_equal(compart_paths("/st", "ai", &p), 0);
	assert_string_equal(p.home, "/st/compartments/ai/home");
	assert_string_equal(p.sockdir, "/st/run/broker/ai");
	assert_int_equal(compart_sandbox_argv(&set.c[0], &p, "/opt/bin", 7, env, cmd, &av), 0);
	assert_string_equal(av.argv[0], "bwrap");
	assert_true(has(&av, "--unshare-net") && has(&av, "--unshare-pid") &&
		    has(&av, "--unshare-ipc") && has(&av, "--die-with-parent") &&
		    has(&av, "--new-session") && has(&av, "--clearenv"));
	assert_true(has_seq(&av, "--ro-bind", "/usr", "/usr"));
	assert_true(has_seq(&av, "--bind", "/st/compartments/ai/home", "/home/user"));
	assert_true(has_seq(&av, "--ro-bind", "/st/compartments/ai/rpc", "/rpc"));
	assert_true(has_seq(&av, "--bind", "/st/run/broker/ai", "/run/secai"));
	assert_true(has_seq(&av, "--ro-bind", "/opt/bin", "/run/secai/bin"));
	assert_true(has_seq(&av, "--seccomp", "7", NULL));
	assert_true(has_seq(&av, "--setenv", "QREXEC_REMOTE_DOMAIN", "work"));
	assert_true(has_seq(&av, "--cap-drop", "ALL", NULL));
	assert_false(has_seq(&av, "--bind", "/", "/") || has_seq(&av, "--ro-bind", "/", "/"));
	assert_string_equal(av.argv[av.argc - 3], "--");
	assert_string_equal(av.argv[av.argc - 1], "x");
	assert_null(av.argv[av.argc]);
	/* network: true keeps the host's network namespace */
	assert_int_equal(compart_sandbox_argv(&set.c[1], &p, NULL, -1, NULL, cmd, &av), 0);
	assert_false(has(&av, "--unshare-net") || has(&av, "--seccomp"));
	assert_int_equal(compart_sandbox_argv(&set.c[0], &p, NULL, -1, badenv, cmd, &av), -1);
}

static void test_seccomp_program(void **state)
{
	static struct compart_set set;
	char buf[8];
	(void)state;
	assert_int_equal(parse("compartments:\n  ai: {}\n", &set), 0);
	int fd = compart_seccomp_fd(&set.c[0]);
	assert_true(fd >= 0);
	/* a BPF program: 8-byte instructions, at least one */
	off_t len = lseek(fd, 0, SEEK_END);
	assert_true(len >= 8 && len % 8 == 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(read(fd, buf, 8), 8);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_file),	    cmocka_unit_test(test_empty_files),
	    cmocka_unit_test(test_errors),	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_sandbox_recipe), cmocka_unit_test(test_seccomp_program),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
