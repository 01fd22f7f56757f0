/*
 * test_config.c — appliance.yaml: defaults, a full file, every error class with its exact line,
 * range edges, the lookup order ($SECAI_CONFIG, state dir), config_finish and print round trip.
 *
 * Owns: temporary directories under /tmp it creates and removes. Never: touches the real state
 * directory (SECAI_HOME always points at a temp dir).
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

#include "config.h"
#include "fsutil.h"

static char errbuf[1024];

static int load(const char *yaml, struct secai_config *cfg)
{
	errbuf[0] = '\0';
	return config_load_buffer("appliance.yaml", yaml, strlen(yaml), cfg, errbuf,
				  sizeof(errbuf));
}

/* Asserts that yaml fails and the error is exactly want. */
static void expect_error(const char *yaml, const char *want)
{
	struct secai_config cfg;

	config_defaults(&cfg);
	if (load(yaml, &cfg) == 0)
		fail_msg("accepted:\n%s", yaml);
	if (strcmp(errbuf, want) != 0)
		fail_msg("error mismatch\n got: %s\nwant: %s", errbuf, want);
}

/* Asserts that yaml fails with an error starting with prefix. */
static void expect_error_prefix(const char *yaml, const char *prefix)
{
	struct secai_config cfg;

	if (load(yaml, &cfg) == 0)
		fail_msg("accepted:\n%s", yaml);
	if (strncmp(errbuf, prefix, strlen(prefix)) != 0)
		fail_msg("error mismatch\n got: %s\nwant prefix: %s", errbuf, prefix);
}

static void assert_defaults(const struct secai_config *cfg)
{
	assert_string_equal(cfg->state_dir, "");
	assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);
	assert_string_equal(cfg->bind_address, "127.0.0.1");
	assert_string_equal(cfg->audit.socket, "");
	assert_string_equal(cfg->audit.log_file, "");
	assert_string_equal(cfg->audit.origin, "secai.local/audit");
	assert_int_equal(cfg->audit.checkpoint_every, 1000);
	assert_int_equal(cfg->audit.checkpoint_interval, 10);
	assert_int_equal(cfg->audit.rotate_bytes, 67108864);
	assert_int_equal(cfg->audit.max_entry_bytes, 65536);
	assert_int_equal(cfg->infer.port, 8465);
	assert_int_equal(cfg->registry.port, 8470);
	assert_int_equal(cfg->ui.port, 8480);
	assert_int_equal(cfg->policy.port, 8500);
	assert_string_equal(cfg->policy.file, "");
	assert_string_equal(cfg->policy.socket, "");
}

static void test_defaults(void **state)
{
	struct secai_config cfg;

	(void)state;
	memset(&cfg, 0x5a, sizeof(cfg));
	config_defaults(&cfg);
	assert_defaults(&cfg);
	assert_string_equal(cfg.source, "(defaults)");

	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(load("", &cfg), 0);
	assert_defaults(&cfg);
	assert_string_equal(cfg.source, "appliance.yaml");

	assert_int_equal(load("# only a comment\n\n", &cfg), 0);
	assert_defaults(&cfg);
	assert_int_equal(load("---\n", &cfg), 0);
	assert_defaults(&cfg);
	assert_int_equal(load("{}\n", &cfg), 0);
	assert_defaults(&cfg);
	assert_int_equal(load("audit: {}\n", &cfg), 0);
	assert_defaults(&cfg);
}

static const char full_yaml[] = "# full\n"
				"state_dir: /srv/secai\n"
				"log_level: debug\n"
				"bind_address: \"::1\"\n"
				"audit:\n"
				"  socket: /run/secai/audit.sock\n"
				"  log_file: '/srv/secai/audit/a.jsonl'\n"
				"  origin: example.org/log-1\n"
				"  checkpoint_every: 5000\n"
				"  checkpoint_interval: 60\n"
				"  rotate_bytes: 0\n"
				"  max_entry_bytes: 1048576\n"
				"infer: { port: 9001 }\n"
				"registry:\n"
				"  port: 9002\n"
				"ui: {port: 9003}\n"
				"policy:\n"
				"  port: 65535\n"
				"  file: /etc/secai/policy.yaml\n"
				"  socket: \"/run/secai/policy.sock\"\n";

static void assert_full(const struct secai_config *cfg)
{
	assert_string_equal(cfg->state_dir, "/srv/secai");
	assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(cfg->bind_address, "::1");
	assert_string_equal(cfg->audit.socket, "/run/secai/audit.sock");
	assert_string_equal(cfg->audit.log_file, "/srv/secai/audit/a.jsonl");
	assert_string_equal(cfg->audit.origin, "example.org/log-1");
	assert_int_equal(cfg->audit.checkpoint_every, 5000);
	assert_int_equal(cfg->audit.checkpoint_interval, 60);
	assert_int_equal(cfg->audit.rotate_bytes, 0);
	assert_int_equal(cfg->audit.max_entry_bytes, 1048576);
	assert_int_equal(cfg->infer.port, 9001);
	assert_int_equal(cfg->registry.port, 9002);
	assert_int_equal(cfg->ui.port, 9003);
	assert_int_equal(cfg->policy.port, 65535);
	assert_string_equal(cfg->policy.file, "/etc/secai/policy.yaml");
	assert_string_equal(cfg->policy.socket, "/run/secai/policy.sock");
}

static void test_full_file(void **state)
{
	struct secai_config cfg;

	(void)state;
	if (load(full_yaml, &cfg) != 0)
		fail_msg("%s", errbuf);
	assert_full(&cfg);
	/* the other log levels and an IPv4 address */
	assert_int_equal(load("log_level: warn\nbind_address: 0.0.0.0\n", &cfg), 0);
	assert_int_equal(cfg.log_level, LOG_LEVEL_WARN);
	assert_string_equal(cfg.bind_address, "0.0.0.0");
	assert_int_equal(load("log_level: \"error\"\n", &cfg), 0);
	assert_int_equal(cfg.log_level, LOG_LEVEL_ERROR);
	/* null / empty strings mean "derive the default" */
	assert_int_equal(load("state_dir:\naudit:\n  socket: ~\n  log_file: \"\"\n", &cfg), 0);
	assert_string_equal(cfg.state_dir, "");
	assert_string_equal(cfg.audit.socket, "");
}

static void test_error_leaves_cfg(void **state)
{
	struct secai_config cfg, before;

	(void)state;
	assert_int_equal(load(full_yaml, &cfg), 0);
	before = cfg;
	assert_int_equal(load("log_level: info\ninfer:\n  port: 0\n", &cfg), -1);
	assert_memory_equal(&cfg, &before, sizeof(cfg));
}

static void test_error_unknown_key(void **state)
{
	(void)state;
	expect_error("log_level: info\n\nlogging: debug\n",
		     "appliance.yaml:3: \"logging\": unknown key (allowed at the top level: "
		     "state_dir, log_level, bind_address, audit, infer, registry, ui, policy, broker, quarantine)");
	expect_error("audit:\n  origin: a\n  checkpoint: 5\n",
		     "appliance.yaml:3: audit.\"checkpoint\": unknown key (allowed in audit: "
		     "socket, log_file, origin, checkpoint_every, checkpoint_interval, "
		     "rotate_bytes, max_entry_bytes)");
	expect_error("registry:\n  port: 1\n  host: x\n",
		     "appliance.yaml:3: registry.\"host\": unknown key (allowed in registry: port)");
	expect_error("infer:\n  port: 1\n  model_sha256: ABC\n",
		     "appliance.yaml:3: infer.model_sha256: must be 64 lowercase hex digits (a "
		     "SHA-256), or \"\"");
	/* an unknown key with a nested value is refused without descending into it */
	expect_error_prefix("x:\n  y:\n    z: 1\n", "appliance.yaml:1: \"x\": unknown key");
	/* a merge key is just an unknown key */
	expect_error_prefix("audit:\n  <<: {origin: a}\n", "appliance.yaml:2: audit.\"<<\"");
	/* a non-scalar key */
	expect_error("audit:\n  ? [a, b]\n  : 1\n",
		     "appliance.yaml:2: audit: keys must be plain strings");
	/* a leaf is not a section */
	expect_error_prefix("log_level:\n  x: 1\n", "appliance.yaml:2: log_level: expected a "
						    "single value, got a mapping");
}

static void test_error_wrong_type(void **state)
{
	(void)state;
	expect_error("audit:\n  checkpoint_every: many\n",
		     "appliance.yaml:2: audit.checkpoint_every: expected a decimal integer in "
		     "1..10000000, got \"many\"");
	expect_error("ui:\n  port: \"8080\"\n",
		     "appliance.yaml:2: ui.port: expected a decimal integer in 1..65535, got the "
		     "quoted string \"8080\"");
	expect_error("ui:\n  port: 0x50\n", "appliance.yaml:2: ui.port: expected a decimal "
					    "integer in 1..65535, got \"0x50\"");
	expect_error("ui:\n  port: 1.5\n", "appliance.yaml:2: ui.port: expected a decimal "
					   "integer in 1..65535, got \"1.5\"");
	expect_error("ui:\n  port: 080\n",
		     "appliance.yaml:2: ui.port: \"080\" has a leading zero (write a decimal "
		     "integer in 1..65535)");
	expect_error("ui:\n  port:\n", "appliance.yaml:2: ui.port: expected a decimal integer "
				       "in 1..65535, got \"\"");
	expect_error("\n\nui:\n  port: [1, 2]\n",
		     "appliance.yaml:4: ui.port: expected a single value, got a sequence");
	expect_error("log_level: verbose\n", "appliance.yaml:1: log_level: \"verbose\" is not one "
					     "of debug|info|warn|error");
	expect_error("log_level: INFO\n", "appliance.yaml:1: log_level: \"INFO\" is not one of "
					  "debug|info|warn|error");
	expect_error("bind_address: localhost\n",
		     "appliance.yaml:1: bind_address: \"localhost\" is not an IPv4 or IPv6 address "
		     "literal (e.g. 127.0.0.1 or ::1)");
	expect_error("bind_address: 127.0.0.1:80\n",
		     "appliance.yaml:1: bind_address: \"127.0.0.1:80\" is not an IPv4 or IPv6 "
		     "address literal (e.g. 127.0.0.1 or ::1)");
	expect_error("state_dir: var/lib/secai\n",
		     "appliance.yaml:1: state_dir: must be an absolute path, or \"\" for the "
		     "default");
	expect_error("audit:\n  origin: a b\n",
		     "appliance.yaml:2: audit.origin: must be 1..128 printable ASCII characters "
		     "without spaces or '+'");
	expect_error_prefix("audit:\n  origin: a+b\n", "appliance.yaml:2: audit.origin: must be");
	expect_error_prefix("audit:\n  origin: \"\"\n", "appliance.yaml:2: audit.origin: must be");
	expect_error_prefix("audit:\n  origin: \"caf\xc3\xa9\"\n",
			    "appliance.yaml:2: audit.origin: must be");
	expect_error("audit:\n  log_file: \"/a\\tb\"\n",
		     "appliance.yaml:2: audit.log_file: control characters (byte 0x09) are not "
		     "allowed");
	expect_error("audit:\n  log_file: \"/a\\0b\"\n",
		     "appliance.yaml:2: audit.log_file: control characters (byte 0x00) are not "
		     "allowed");
}

static void test_error_not_mapping(void **state)
{
	(void)state;
	expect_error("log_level: info\naudit: 5\n",
		     "appliance.yaml:2: audit: expected a mapping (keys: socket, log_file, origin, "
		     "checkpoint_every, checkpoint_interval, rotate_bytes, max_entry_bytes), got a "
		     "scalar");
	expect_error("registry:\n  - port\n",
		     "appliance.yaml:2: registry: expected a mapping (keys: port), got a sequence");
	expect_error(
	    "- a\n- b\n",
	    "appliance.yaml:1: the document must be a mapping (keys: state_dir, log_level, "
	    "bind_address, audit, infer, registry, ui, policy, broker, quarantine), got a sequence");
	expect_error_prefix("hello\n", "appliance.yaml:1: the document must be a mapping");
}

static void test_error_duplicate(void **state)
{
	(void)state;
	expect_error("log_level: info\nui:\n  port: 1\nlog_level: debug\n",
		     "appliance.yaml:4: log_level: duplicate key (first set at line 1)");
	expect_error("audit:\n  origin: a\n  checkpoint_every: 5\n  origin: b\n",
		     "appliance.yaml:4: audit.origin: duplicate key (first set at line 2)");
	expect_error("audit:\n  origin: a\nui: {port: 1}\naudit:\n  rotate_bytes: 0\n",
		     "appliance.yaml:4: audit: duplicate key (first set at line 1)");
	expect_error("infer: {port: 1, port: 2}\n",
		     "appliance.yaml:1: infer.port: duplicate key (first set at line 1)");
}

static void test_error_syntax(void **state)
{
	(void)state;
	expect_error_prefix("log_level: info\naudit:\n  checkpoint_every: 5\n  origin: \"x\" y\n",
			    "appliance.yaml:4: YAML syntax error: ");
	expect_error_prefix("log_level: info\n\"unterminated\n",
			    "appliance.yaml:3: YAML syntax error: ");
	expect_error_prefix("ui:\n  port: 1\n port: 2\n", "appliance.yaml:3: YAML syntax error: ");
	expect_error_prefix("log_level: info\n\tui: 1\n", "appliance.yaml:2: YAML syntax error: ");
	/* invalid UTF-8 (a reader error) gets its line from the byte offset */
	expect_error_prefix("log_level: info\n\naudit:\n  origin: \xff\xfe\n",
			    "appliance.yaml:4: YAML syntax error: ");
	expect_error("log_level: info\n---\nlog_level: debug\n",
		     "appliance.yaml:2: only one YAML document is allowed");
}

static void test_error_anchor_alias_tag(void **state)
{
	(void)state;
	expect_error("audit:\n  origin: &o abc\n", "appliance.yaml:2: anchors (&o) are not "
						   "allowed");
	expect_error("audit: &a\n  origin: abc\n", "appliance.yaml:1: anchors (&a) are not "
						   "allowed");
	expect_error("ui:\n  port: 1\ninfer:\n  port: *p\n",
		     "appliance.yaml:4: aliases (*p) are not allowed");
	expect_error("log_level: !!str info\n",
		     "appliance.yaml:1: tags (tag:yaml.org,2002:str) are not allowed");
	expect_error("\n\ninfer: !custom\n  port: 1\n",
		     "appliance.yaml:3: tags (!custom) are not allowed");
	expect_error("%TAG ! tag:example.com,2000:\n---\nlog_level: info\n",
		     "appliance.yaml:1: %TAG directives are not allowed");
}

static void test_range_edges(void **state)
{
	static const struct {
		const char *yaml;
		int ok;
		long long want;
	} cases[] = {
	    {"audit: {checkpoint_every: 0}", 0, 0},
	    {"audit: {checkpoint_every: 1}", 1, 1},
	    {"audit: {checkpoint_every: 10000000}", 1, 10000000},
	    {"audit: {checkpoint_every: 10000001}", 0, 0},
	    {"audit: {checkpoint_every: -1}", 0, 0},
	    {"audit: {checkpoint_every: 99999999999999999999}", 0, 0},
	    {"audit: {checkpoint_interval: 86400}", 1, 86400},
	    {"audit: {checkpoint_interval: 86401}", 0, 0},
	    {"audit: {rotate_bytes: 0}", 1, 0},
	    {"audit: {rotate_bytes: 1}", 0, 0},
	    {"audit: {rotate_bytes: 4095}", 0, 0},
	    {"audit: {rotate_bytes: 4096}", 1, 4096},
	    {"audit: {rotate_bytes: 1099511627776}", 1, 1099511627776LL},
	    {"audit: {rotate_bytes: 1099511627777}", 0, 0},
	    {"audit: {max_entry_bytes: 1023}", 0, 0},
	    {"audit: {max_entry_bytes: 1024}", 1, 1024},
	    {"audit: {max_entry_bytes: 1048577}", 0, 0},
	    {"ui: {port: 0}", 0, 0},
	    {"ui: {port: 1}", 1, 1},
	    {"ui: {port: 65535}", 1, 65535},
	    {"ui: {port: 65536}", 0, 0},
	    {"ui: {port: 4294967297}", 0, 0},
	};
	struct secai_config cfg;
	char origin[200];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = load(cases[i].yaml, &cfg);
		long long got;

		if (cases[i].ok && r != 0)
			fail_msg("%s: %s", cases[i].yaml, errbuf);
		if (!cases[i].ok && r == 0)
			fail_msg("accepted %s", cases[i].yaml);
		if (!cases[i].ok) {
			assert_non_null(strstr(errbuf, "is out of range ("));
			continue;
		}
		if (strstr(cases[i].yaml, "checkpoint_every"))
			got = cfg.audit.checkpoint_every;
		else if (strstr(cases[i].yaml, "checkpoint_interval"))
			got = cfg.audit.checkpoint_interval;
		else if (strstr(cases[i].yaml, "rotate_bytes"))
			got = cfg.audit.rotate_bytes;
		else if (strstr(cases[i].yaml, "max_entry_bytes"))
			got = cfg.audit.max_entry_bytes;
		else
			got = cfg.ui.port;
		assert_int_equal(got, cases[i].want);
	}
	/* the message from the spec, verbatim */
	expect_error(
	    "log_level: info\nui:\n  port: 8480\n\n# audit\naudit:\n  checkpoint_every: 0\n",
	    "appliance.yaml:7: audit.checkpoint_every: 0 is out of range (1..10000000)");
	expect_error("audit:\n  rotate_bytes: 100\n",
		     "appliance.yaml:2: audit.rotate_bytes: 100 is out of range (0 or "
		     "4096..1099511627776)");
	/* origin: 128 characters allowed, 129 not */
	memset(origin, 'o', sizeof(origin));
	snprintf(
	    origin, sizeof(origin), "audit:\n  origin: %.128s\n",
	    "oooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooo"
	    "oooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooo");
	if (load(origin, &cfg) != 0)
		fail_msg("%s", errbuf);
	assert_int_equal(strlen(cfg.audit.origin), 128);
	snprintf(origin, sizeof(origin), "audit:\n  origin: %.128sX\n", cfg.audit.origin);
	expect_error(origin, "appliance.yaml:2: audit.origin: value is 129 bytes, longer than the "
			     "maximum 128");
}

static void test_size_cap(void **state)
{
	struct secai_config cfg;
	char tmpl[] = "/tmp/hA_cfg_big.XXXXXX";
	size_t n = CONFIG_MAX_BYTES + 1;
	char *big = malloc(n);
	int fd;

	(void)state;
	assert_non_null(big);
	memset(big, '#', n);
	big[n - 1] = '\n';
	assert_int_equal(config_load_buffer("big.yaml", big, n, &cfg, errbuf, sizeof(errbuf)), -1);
	assert_string_equal(errbuf, "big.yaml: file is 1048577 bytes, larger than the limit "
				    "1048576");
	fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	assert_int_equal(fs_write_all(fd, big, n), 0);
	close(fd);
	assert_int_equal(config_load(tmpl, &cfg, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "larger than the limit of 1048576 bytes"));
	/* exactly at the cap is parsed (a file of comments) */
	assert_int_equal(config_load_buffer("big.yaml", big, n - 1, &cfg, errbuf, sizeof(errbuf)),
			 0);
	unlink(tmpl);
	free(big);
}

static void write_file(const char *path, const char *text)
{
	assert_int_equal(fs_atomic_write(path, text, strlen(text), 0600), 0);
}

static void test_lookup_order(void **state)
{
	char dir[] = "/tmp/hA_cfg_home.XXXXXX", p[512], q[256];
	struct secai_config cfg;

	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("SECAI_HOME", dir, 1);
	unsetenv("SECAI_CONFIG");

	/* nothing anywhere: defaults */
	assert_int_equal(config_load(NULL, &cfg, errbuf, sizeof(errbuf)), 0);
	assert_defaults(&cfg);
	assert_string_equal(cfg.source, "(defaults)");

	/* <state dir>/appliance.yaml */
	snprintf(p, sizeof(p), "%s/appliance.yaml", dir);
	write_file(p, "ui:\n  port: 1234\n");
	assert_int_equal(config_load(NULL, &cfg, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(cfg.ui.port, 1234);
	assert_string_equal(cfg.source, p);

	/* $SECAI_CONFIG wins over the state dir */
	snprintf(q, sizeof(q), "%s/other.yaml", dir);
	write_file(q, "ui:\n  port: 4321\naudit:\n  checkpoint_every: x\n");
	setenv("SECAI_CONFIG", q, 1);
	assert_int_equal(config_load(NULL, &cfg, errbuf, sizeof(errbuf)), -1);
	snprintf(p, sizeof(p), "%s:4: audit.checkpoint_every: expected", q);
	assert_memory_equal(errbuf, p, strlen(p));
	write_file(q, "ui:\n  port: 4321\n");
	assert_int_equal(config_load(NULL, &cfg, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(cfg.ui.port, 4321);
	assert_string_equal(cfg.source, q);

	/* an explicit path wins over $SECAI_CONFIG */
	snprintf(p, sizeof(p), "%s/appliance.yaml", dir);
	assert_int_equal(config_load(p, &cfg, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(cfg.ui.port, 1234);

	/* $SECAI_CONFIG naming a missing file is an error, not silently the defaults */
	snprintf(p, sizeof(p), "%s/missing.yaml", dir);
	setenv("SECAI_CONFIG", p, 1);
	assert_int_equal(config_load(NULL, &cfg, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "missing.yaml: cannot read: No such file"));
	unsetenv("SECAI_CONFIG");

	unlink(q);
	snprintf(p, sizeof(p), "%s/appliance.yaml", dir);
	unlink(p);
	rmdir(dir);
	unsetenv("SECAI_HOME");
}

static void test_finish(void **state)
{
	struct secai_config cfg;
	char dir[300];

	(void)state;
	setenv("SECAI_HOME", "/tmp/hA-secai-home", 1);
	config_defaults(&cfg);
	assert_int_equal(config_finish(&cfg, errbuf, sizeof(errbuf)), 0);
	assert_string_equal(cfg.state_dir, "/tmp/hA-secai-home");
	assert_string_equal(cfg.audit.socket, "/tmp/hA-secai-home/run/audit.sock");
	assert_string_equal(cfg.audit.log_file, "/tmp/hA-secai-home/audit/audit.jsonl");
	assert_int_equal(config_finish(&cfg, errbuf, sizeof(errbuf)), 0); /* idempotent */
	assert_string_equal(cfg.audit.socket, "/tmp/hA-secai-home/run/audit.sock");

	/* explicit values are kept */
	assert_int_equal(load(full_yaml, &cfg), 0);
	assert_int_equal(config_finish(&cfg, errbuf, sizeof(errbuf)), 0);
	assert_string_equal(cfg.state_dir, "/srv/secai");
	assert_string_equal(cfg.audit.socket, "/run/secai/audit.sock");

	/* a socket path that cannot fit a sockaddr_un */
	memset(dir, 'd', sizeof(dir));
	dir[0] = '/';
	dir[120] = '\0';
	config_defaults(&cfg);
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", dir);
	assert_int_equal(config_finish(&cfg, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "audit.socket: path is 135 bytes, longer than a Unix "
				       "socket path allows (107)"));
	unsetenv("SECAI_HOME");
}

static void test_print_roundtrip(void **state)
{
	struct secai_config a, b;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(load(full_yaml, &a), 0);
	snprintf(a.audit.log_file, sizeof(a.audit.log_file), "/path with \"quotes\" and \\ and é");
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(config_print(&a, f), 0);
	fclose(f);
	assert_non_null(strstr(text, "\naudit:\n  socket: \"/run/secai/audit.sock\"\n"));
	assert_non_null(strstr(text, "\nlog_level: debug\n"));
	assert_non_null(strstr(text, "\n  rotate_bytes: 0\n"));
	assert_non_null(strstr(text, "\ninfer:\n  port: 9001\n"));
	assert_non_null(strstr(text, "\n  queue: 8\n  socket: "));
	assert_non_null(strstr(text, "\nregistry:\n  port: 9002\n"));
	if (config_load_buffer("printed", text, len, &b, errbuf, sizeof(errbuf)) != 0)
		fail_msg("%s\n%s", errbuf, text);
	assert_string_equal(b.audit.log_file, a.audit.log_file);
	snprintf(b.source, sizeof(b.source), "%s", a.source);
	assert_memory_equal(&a, &b, sizeof(a));
	free(text);

	/* the defaults print and read back too */
	config_defaults(&a);
	text = NULL;
	f = open_memstream(&text, &len);
	assert_int_equal(config_print(&a, f), 0);
	fclose(f);
	assert_int_equal(config_load_buffer("printed", text, len, &b, errbuf, sizeof(errbuf)), 0);
	snprintf(b.source, sizeof(b.source), "%s", a.source);
	assert_memory_equal(&a, &b, sizeof(a));
	free(text);
}

static void test_quarantine_keys(void **state)
{
	struct secai_config cfg;

	(void)state;
	expect_error("quarantine:\n  policy_dir: q\n",
		     "appliance.yaml:2: quarantine.policy_dir: must be an absolute path, or \"\" "
		     "for the default");
	expect_error("quarantine:\n  threshold: 1\n",
		     "appliance.yaml:2: quarantine.\"threshold\": unknown key (allowed in "
		     "quarantine: policy_dir, prompts)");
	assert_int_equal(load("quarantine: {policy_dir: /etc/q, prompts: /p.json}\n", &cfg), 0);
	assert_string_equal(cfg.quarantine.policy_dir, "/etc/q");
	assert_string_equal(cfg.quarantine.prompts, "/p.json");
	assert_int_equal(config_finish(&cfg, errbuf, sizeof(errbuf)), 0);
	assert_string_equal(cfg.quarantine.policy_dir, "/etc/q");
	setenv("SECAI_HOME", "/tmp/hQ-secai-home", 1);
	config_defaults(&cfg);
	assert_int_equal(config_finish(&cfg, errbuf, sizeof(errbuf)), 0);
	assert_string_equal(cfg.quarantine.policy_dir, "/tmp/hQ-secai-home/quarantine");
	assert_string_equal(cfg.quarantine.prompts, "");
	unsetenv("SECAI_HOME");
}

static void test_broker_and_qrexec_keys(void **state)
{
	struct secai_config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(cfg.broker.ask_timeout, 60);
	assert_int_equal(cfg.broker.ask_fallback, CONFIG_ASK_DENY);
	assert_int_equal(load("broker:\n  ask_timeout: 5\n  ask_fallback: default_target\n"
			      "policy:\n  qrexec_dir: /etc/qubes/policy.d\n",
			      &cfg),
			 0);
	assert_int_equal(cfg.broker.ask_timeout, 5);
	assert_int_equal(cfg.broker.ask_fallback, CONFIG_ASK_DEFAULT_TARGET);
	assert_string_equal(cfg.policy.qrexec_dir, "/etc/qubes/policy.d");
	expect_error_prefix("broker:\n  ask_timeout: 0\n", "appliance.yaml:2: broker.ask_timeout:");
	expect_error_prefix("broker:\n  ask_fallback: allow\n",
			    "appliance.yaml:2: broker.ask_fallback:");
	expect_error_prefix("policy:\n  qrexec_dir: policy.d\n", "appliance.yaml:2: policy.qrexec_dir:");
	setenv("SECAI_HOME", "/tmp/hQ-secai-home", 1);
	config_defaults(&cfg);
	assert_int_equal(config_finish(&cfg, errbuf, sizeof(errbuf)), 0);
	assert_string_equal(cfg.policy.qrexec_dir, "/tmp/hQ-secai-home/policy.d");
	assert_string_equal(cfg.policy.qrexec_compat_dir, "/tmp/hQ-secai-home/qubes-rpc-policy");
	assert_string_equal(cfg.infer.socket, "/tmp/hQ-secai-home/run/infer.sock");
	unsetenv("SECAI_HOME");
}

static void test_policy_keys(void **state)
{
	struct secai_config cfg;
	char dir[300];

	(void)state;
	expect_error("policy:\n  file: policy.yaml\n",
		     "appliance.yaml:2: policy.file: must be an absolute path, or \"\" for the "
		     "default");
	expect_error("policy:\n  socket: run/p.sock\n",
		     "appliance.yaml:2: policy.socket: must be an absolute path, or \"\" for the "
		     "default");
	expect_error("policy:\n  rules: []\n",
		     "appliance.yaml:2: policy.\"rules\": unknown key (allowed in policy: port, "
		     "file, socket, qrexec_dir, qrexec_compat_dir)");
	expect_error("policy: {file: [a]}\n",
		     "appliance.yaml:1: policy.file: expected a single value, got a sequence");
	expect_error("policy:\n  file: /a\n  file: /b\n",
		     "appliance.yaml:3: policy.file: duplicate key (first set at line 2)");
	assert_int_equal(load("policy: {file: ~, socket: \"\"}\n", &cfg), 0);
	assert_string_equal(cfg.policy.file, "");
	assert_string_equal(cfg.policy.socket, "");

	/* config_finish derives both from the state directory, and keeps explicit ones */
	setenv("SECAI_HOME", "/tmp/hP-secai-home", 1);
	config_defaults(&cfg);
	assert_int_equal(config_finish(&cfg, errbuf, sizeof(errbuf)), 0);
	assert_string_equal(cfg.policy.file, "/tmp/hP-secai-home/policy.yaml");
	assert_string_equal(cfg.policy.socket, "/tmp/hP-secai-home/run/policy.sock");
	assert_int_equal(load(full_yaml, &cfg), 0);
	assert_int_equal(config_finish(&cfg, errbuf, sizeof(errbuf)), 0);
	assert_string_equal(cfg.policy.file, "/etc/secai/policy.yaml");
	assert_string_equal(cfg.policy.socket, "/run/secai/policy.sock");

	/* an explicit policy socket that cannot fit a sockaddr_un */
	memset(dir, 's', sizeof(dir));
	dir[0] = '/';
	dir[200] = '\0';
	config_defaults(&cfg);
	snprintf(cfg.policy.socket, sizeof(cfg.policy.socket), "%s", dir);
	assert_int_equal(config_finish(&cfg, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "policy.socket: path is 200 bytes, longer than a Unix "
				       "socket path allows (107)"));
	unsetenv("SECAI_HOME");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_full_file),
	    cmocka_unit_test(test_error_leaves_cfg),
	    cmocka_unit_test(test_error_unknown_key),
	    cmocka_unit_test(test_error_wrong_type),
	    cmocka_unit_test(test_error_not_mapping),
	    cmocka_unit_test(test_error_duplicate),
	    cmocka_unit_test(test_error_syntax),
	    cmocka_unit_test(test_error_anchor_alias_tag),
	    cmocka_unit_test(test_range_edges),
	    cmocka_unit_test(test_size_cap),
	    cmocka_unit_test(test_lookup_order),
	    cmocka_unit_test(test_finish),
	    cmocka_unit_test(test_print_roundtrip),
	    cmocka_unit_test(test_policy_keys),
	    cmocka_unit_test(test_broker_and_qrexec_keys),
	    cmocka_unit_test(test_quarantine_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
