/*
 * test_audit_entry.c — audit lines: building and re-hashing (fast canonical path and strict
 * slow path agree), every single-byte change to a line detected, SecAI OS's own layout
 * accepted, lines with unhashed keys or unsupported algorithms refused; and checkpoints:
 * sign/verify, wrong key, edited size/root, extra unknown signatures, malformed notes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_entry.h"
#include "checkpoint.h"
#include "json.h"

static void build(struct buf *out, const char *data_json, const char *prev, uint8_t h[32])
{
	char err[200];
	json_t *d = json_parse_strict(data_json, strlen(data_json), 1 << 20, err, sizeof(err));
	struct buf canon = BUF_INIT;

	assert_non_null(d);
	assert_int_equal(json_canon_append(&canon, d), 0);
	assert_int_equal(audit_line_build(out, "2026-11-22T07:32:39.123456+00:00", "test.event",
					  canon.data, canon.len, prev, h),
			 0);
	json_decref(d);
	buf_free(&canon);
}

static void test_build_parse_fast_and_slow_agree(void **state)
{
	static const char *datas[] = {
	    "{}",
	    "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}",
	    "{\"f\":1.5,\"big\":12345678901234567}",   /* float and long int: slow path */
	    "{\"s\":\"caf\\u00e9 \\ud83d\\ude00 \\n\\t\\u0001\"}",
	    "{\"\\u00e9\":1,\"a\":2}",                  /* escaped key: slow path */
	    "{\"n\":-5,\"z\":0,\"deep\":[[[[[[1]]]]]]}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(datas) / sizeof(datas[0]); i++) {
		struct buf line = BUF_INIT;
		struct audit_line fast, slow;
		uint8_t h[32];
		char err[256];

		build(&line, datas[i], "", h);
		assert_true(line.len > 0 && line.data[line.len - 1] == '\n');
		assert_int_equal(audit_line_parse(line.data, line.len - 1, &fast, err, sizeof(err)), 0);
		assert_int_equal(audit_line_parse_slow(line.data, line.len - 1, &slow, err, sizeof(err)),
				 0);
		assert_memory_equal(fast.computed, h, 32);
		assert_memory_equal(fast.stored, h, 32);
		assert_memory_equal(slow.computed, h, 32);
		assert_string_equal(fast.prev_hex, "");
		assert_string_equal(fast.event, "test.event");
		buf_free(&line);
	}
}

static void test_every_byte_change_detected(void **state)
{
	struct buf line = BUF_INIT;
	uint8_t h[32];
	char err[256];
	(void)state;

	build(&line, "{\"user\":\"alice\",\"action\":\"promote\",\"n\":3}",
	      "0000000000000000000000000000000000000000000000000000000000000000", h);
	for (size_t i = 0; i + 1 < line.len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			struct audit_line al;
			char *copy = malloc(line.len);
			memcpy(copy, line.data, line.len);
			copy[i] ^= (char)(1 << bit);
			int r = audit_line_parse(copy, line.len - 1, &al, err, sizeof(err));
			/* a changed line is either unreadable, or its hash no longer matches, or
			 * (prev_hash changed) it no longer links to the same predecessor */
			int detected = r != 0 || memcmp(al.computed, al.stored, 32) != 0 ||
				       strcmp(al.prev_hex, "0000000000000000000000000000000000000000"
							   "000000000000000000000000") != 0;
			if (!detected)
				fprintf(stderr, "undetected change at byte %zu bit %d: %s\n", i, bit, copy);
			assert_true(detected);
			free(copy);
		}
	}
	buf_free(&line);
}

static void test_secai_os_layout_and_refusals(void **state)
{
	/* SecAI OS's Python writes json.dumps(entry) with default separators and its own key
	 * order; the hash is over the canonical form. This line was produced by
	 * bench/audit/secai_verify.py --write (CPython 3.11). */
	static const char secai[] =
	    "{\"timestamp\": \"2026-11-22T07:40:00.000001+00:00\", \"event\": \"secai_os.test\", "
	    "\"data\": {\"i\": 0, \"f\": 0.0}, \"prev_hash\": \"\", \"entry_hash\": "
	    "\"HASH\", \"algorithm\": \"sha256\"}";
	char line[1024], err[256], hex[65];
	struct audit_line al;
	uint8_t h[32];
	const char *canon = "{\"data\":{\"f\":0.0,\"i\":0},\"event\":\"secai_os.test\",\"prev_hash\":"
			    "\"\",\"timestamp\":\"2026-11-22T07:40:00.000001+00:00\"}";
	(void)state;

	sha256_digest(canon, strlen(canon), h);
	hex_encode(h, 32, hex);
	const char *at = strstr(secai, "HASH");
	snprintf(line, sizeof(line), "%.*s%s%s", (int)(at - secai), secai, hex, at + 4);
	assert_int_equal(audit_line_parse(line, strlen(line), &al, err, sizeof(err)), 0);
	assert_int_equal(al.fast, 0);
	assert_memory_equal(al.computed, h, 32);

	static const char *bad[] = {
	    "{\"algorithm\":\"sha256\",\"data\":{},\"entry_hash\":\"00\",\"event\":\"e\","
	    "\"prev_hash\":\"\",\"timestamp\":\"t\"}",
	    "{\"algorithm\":\"hmac-sha256\",\"data\":{},\"entry_hash\":\"0000000000000000000000000000"
	    "000000000000000000000000000000000000\",\"event\":\"e\",\"prev_hash\":\"\",\"timestamp\":"
	    "\"t\"}",
	    "{\"algorithm\":\"sha256\",\"data\":{},\"entry_hash\":\"000000000000000000000000000000000"
	    "0000000000000000000000000000000\",\"event\":\"e\",\"extra\":1,\"prev_hash\":\"\","
	    "\"timestamp\":\"t\"}",
	    "{\"algorithm\":\"sha256\",\"data\":{},\"data\":{},\"entry_hash\":\"0000000000000000000000"
	    "000000000000000000000000000000000000000000\",\"event\":\"e\",\"prev_hash\":\"\","
	    "\"timestamp\":\"t\"}",
	    "not json",
	    "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(audit_line_parse(bad[i], strlen(bad[i]), &al, err, sizeof(err)), 0);
		assert_true(strlen(err) > 0);
	}
}

static void test_checkpoint_sign_verify(void **state)
{
	struct ckpt_key k, other, pub;
	struct buf note = BUF_INIT;
	merkle_hash root;
	struct ckpt c;
	char err[256];
	(void)state;

	memset(root, 0x42, sizeof(root));
	assert_int_equal(ckpt_key_generate("secai.test/log", &k), 0);
	assert_int_equal(ckpt_key_generate("secai.test/log", &other), 0);
	assert_int_equal(ckpt_sign(&k, 12345, root, &note), 0);
	assert_int_equal(ckpt_verify(note.data, note.len, &k, &c, err, sizeof(err)), 0);
	assert_int_equal(c.size, 12345);
	assert_memory_equal(c.root, root, 32);
	assert_string_equal(c.origin, "secai.test/log");
	/* public key only (what verifiers hold) */
	pub = k;
	memset(pub.sk, 0, sizeof(pub.sk));
	pub.has_secret = 0;
	assert_int_equal(ckpt_verify(note.data, note.len, &pub, &c, err, sizeof(err)), 0);
	assert_int_not_equal(ckpt_sign(&pub, 1, root, &note), 0);
	/* another key with the same name: the key id differs, so no signature of ours */
	assert_int_not_equal(ckpt_verify(note.data, note.len, &other, &c, err, sizeof(err)), 0);

	/* edit the size line: signature fails */
	char *edited = strdup(note.data);
	char *nl = strchr(edited, '\n');
	nl[1] = '2';
	assert_int_not_equal(ckpt_verify(edited, note.len, &k, &c, err, sizeof(err)), 0);
	free(edited);

	/* an extra signature by an unknown key is ignored */
	struct buf two = BUF_INIT;
	buf_append(&two, note.data, note.len);
	buf_append_str(&two, "\xe2\x80\x94 witness.example/w AAAAAAAA\n");
	assert_int_equal(ckpt_verify(two.data, two.len, &k, &c, err, sizeof(err)), 0);
	buf_free(&two);

	static const char *bad[] = {
	    "",
	    "secai.test/log\n1\n",
	    "secai.test/log\n01\nQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=\n\n",
	    "secai.test/log\nx\nQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=\n\n",
	    "secai.test/log\n1\nQkJC\n\n\xe2\x80\x94 secai.test/log AAAA\n",
	    "secai.test/log\n1\nQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=\n\n- bad line\n",
	    "secai.test/log\n1\nQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=\n\n",
	    "secai.test/log\n99999999999999999999999\nQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=\n\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(ckpt_verify(bad[i], strlen(bad[i]), &k, &c, err, sizeof(err)), 0);
	assert_false(ckpt_name_ok("has space"));
	assert_false(ckpt_name_ok("a+b"));
	assert_false(ckpt_name_ok(""));
	assert_true(ckpt_name_ok("example.com/log42"));
	buf_free(&note);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_parse_fast_and_slow_agree),
	    cmocka_unit_test(test_every_byte_change_detected),
	    cmocka_unit_test(test_secai_os_layout_and_refusals),
	    cmocka_unit_test(test_checkpoint_sign_verify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
