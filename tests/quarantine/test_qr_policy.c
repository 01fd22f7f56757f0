/*
 * test_qr_policy.c — the quarantine's outside-facing parsers: URL canonicaliser and allow-list,
 * models.lock.yaml, policy.yaml (tighten-only), and reply scoring / the behavioural decision.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "quarantine/qr.h"
#include "quarantine/qr_policy.h"

static char err[512];

static void test_url_canon(void **state)
{
	static const char *const bad[] = {
	    "ftp://h/x", "https://user@huggingface.co/x", "https://h.co/a/../b", "https://h.co/a/./b",
	    "https://h.co/a//b", "https://h.co/%2e%2e/x", "https://h.co\\x", "https://xn--hggingface-x.co/",
	    "https://a.xn--80ak6aa92e.com/", "https://h.co:8443/x", "https://[::1]/x", "https:///x",
	    "https://h .co/", "https://h.co/\xc3\xa9", "https://.h.co/", "https://h..co/", "", "https://",
	    "https://hu\xd0\xb0gingface.co/", "https://h.co/a/..",
	};
	struct qr_url u;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (qr_url_canon(bad[i], &u, err, sizeof(err)) == 0)
			fail_msg("accepted %s as %s", bad[i], u.canon);
	}
	assert_int_equal(qr_url_canon("HTTPS://HuggingFace.CO.:443/Org/Repo?x=1#f", &u, err,
				      sizeof(err)), 0);
	assert_string_equal(u.canon, "https://huggingface.co/Org/Repo");
	assert_int_equal(qr_url_canon("http://example.org", &u, err, sizeof(err)), 0);
	assert_string_equal(u.canon, "http://example.org/");
}

static void test_allowlist(void **state)
{
	const char *y = "version: 1\nsources:\n  - https://huggingface.co/secai/\n"
			"  - https://example.org/models\n";
	struct qr_allowlist a;
	struct qr_url u;

	(void)state;
	assert_int_equal(qr_allowlist_load_buffer("a.yaml", y, strlen(y), &a, err, sizeof(err)), 0);
	assert_int_equal(a.n, 2);
#define M(url, want)                                                                               \
	do {                                                                                       \
		assert_int_equal(qr_url_canon(url, &u, err, sizeof(err)), 0);                      \
		assert_int_equal(qr_allowlist_match(&a, &u) >= 0, want);                           \
	} while (0)
	M("https://huggingface.co/secai/m.gguf", 1);
	M("https://huggingface.co/secaiX/m.gguf", 0);
	M("https://huggingface.co.evil.com/secai/m.gguf", 0);
	M("https://evil-huggingface.co/secai/m.gguf", 0);
	M("http://huggingface.co/secai/m.gguf", 0);
	M("https://example.org/models", 1);
	M("https://example.org/models/x", 1);
	M("https://example.org/modelsx", 0);
#undef M
	qr_allowlist_free(&a);
	/* refused files */
	assert_int_equal(qr_allowlist_load_buffer("a.yaml", "sources: [https://u@h.co/]", 26, &a,
						  err, sizeof(err)), -1);
	assert_non_null(strstr(err, "a.yaml:1: source refused: userinfo"));
	assert_int_equal(qr_allowlist_load_buffer("a.yaml", "source: []\n", 11, &a, err,
						  sizeof(err)), -1);
	assert_int_equal(qr_allowlist_load_buffer("a.yaml", "sources: &x []\n", 15, &a, err,
						  sizeof(err)), -1);
	assert_int_equal(qr_allowlist_load_buffer("a.yaml", "sources: []\nsources: []\n", 24, &a,
						  err, sizeof(err)), -1);
	assert_int_equal(qr_allowlist_load_buffer("a.yaml", "", 0, &a, err, sizeof(err)), 0);
	assert_int_equal(a.n, 0);
}

static void test_lock(void **state)
{
	const char *h1 = "1111111111111111111111111111111111111111111111111111111111111111";
	const char *h2 = "2222222222222222222222222222222222222222222222222222222222222222";
	char y[1024], path[] = "/tmp/qr-lock-XXXXXX", *text;
	struct qr_lock l, l2;
	size_t len;
	int fd;

	(void)state;
	snprintf(y, sizeof(y), "models:\n  - name: a.gguf\n    sha256: %s\nblocked:\n  - sha256: %s\n"
			       "    reason: bad\n", h1, h2);
	assert_int_equal(qr_lock_load_buffer("l", y, strlen(y), &l, err, sizeof(err)), 0);
	assert_non_null(qr_lock_pin_for(&l, "a.gguf"));
	assert_null(qr_lock_pin_for(&l, "b.gguf"));
	assert_true(qr_lock_has_hash(&l, h1));
	assert_non_null(qr_lock_blocked(&l, h2));
	assert_null(qr_lock_blocked(&l, h1));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(qr_lock_add_and_write(&l, "c \"q\".gguf", h2, path), 0);
	assert_int_equal(qr_lock_load(path, false, &l2, err, sizeof(err)), 0);
	assert_int_equal(l2.n_pins, 2);
	assert_string_equal(l2.pins[1].name, "c \"q\".gguf");
	assert_int_equal(qr_lock_format(&l2, &text, &len), 0);
	free(text);
	qr_lock_free(&l2);
	unlink(path);
	assert_int_equal(qr_lock_add_and_write(&l, "x/y", h1, path), -1);
	assert_int_equal(qr_lock_add_and_write(&l, "bad\xc9.gguf", h1, path), -1); /* not UTF-8 */
	qr_lock_free(&l);
	/* non-ASCII names (one found by fuzz_qr_policy: "a\xc9\x98guf" came back as
	 * "a\xc3\x89\xc2\x98guf"), a tab and a C1 control, format and load back unchanged */
	snprintf(y, sizeof(y), "models:\n  - name: \"a\xc9\x98guf \\t \\x80 \xe2\x82\xac\"\n"
			       "    sha256: %s\n", h1);
	assert_int_equal(qr_lock_load_buffer("l", y, strlen(y), &l, err, sizeof(err)), 0);
	assert_string_equal(l.pins[0].name, "a\xc9\x98guf \t \xc2\x80 \xe2\x82\xac");
	assert_int_equal(qr_lock_format(&l, &text, &len), 0);
	assert_int_equal(qr_lock_load_buffer("again", text, len, &l2, err, sizeof(err)), 0);
	assert_string_equal(l2.pins[0].name, l.pins[0].name);
	free(text);
	qr_lock_free(&l2);
	qr_lock_free(&l);
	/* bad hashes, unknown keys, missing names */
	assert_int_equal(qr_lock_load_buffer("l", "models:\n  - {name: a, sha256: ABC}\n", 34, &l,
					     err, sizeof(err)), -1);
	snprintf(y, sizeof(y), "models:\n  - {sha256: %s}\n", h1);
	assert_int_equal(qr_lock_load_buffer("l", y, strlen(y), &l, err, sizeof(err)), -1);
	snprintf(y, sizeof(y), "models:\n  - {name: a, sha256: %s, url: x}\n", h1);
	assert_int_equal(qr_lock_load_buffer("l", y, strlen(y), &l, err, sizeof(err)), -1);
	assert_int_equal(qr_lock_load("/nonexistent/lock.yaml", true, &l, err, sizeof(err)), 0);
	assert_int_equal(qr_lock_load("/nonexistent/lock.yaml", false, &l, err, sizeof(err)), -1);
}

static void test_policy_tighten_only(void **state)
{
	struct qr_policy p;
	const char *ok = "unpinned: reject\nprovenance: required\nwaive: [behavioral_test]\n"
			 "static_scan: {max_score: 0.2, reject_warnings: true}\n"
			 "behavioral:\n  threshold: 0.1\n  max_tokens: 16\n  danger_patterns: [Evil]\n"
			 "  critical_categories: [jailbreak]\n  request_timeout_seconds: 5\n";
	static const char *const bad[] = {
	    "behavioral: {threshold: 0.31}\n", "static_scan: {max_score: 0.9}\n",
	    "waive: [format_gate]\n", "waive: [static_scan]\n", "unpinned: allow\n",
	    "behavioral: {threshold: '0.1'}\n", "behavioral: {max_tokens: 0}\n", "other: 1\n",
	    "behavioral: {threshold: nan}\n", "version: 2\n",
	    "behavioral: {request_timeout_seconds: 0}\n",
	    "behavioral: {request_timeout_seconds: 3601}\n",
	};
	size_t nd;

	(void)state;
	qr_policy_defaults(&p);
	nd = p.n_danger;
	assert_true(p.behav_threshold == 0.3);
	assert_int_equal(p.behav_req_timeout, 60);
	assert_int_equal(p.unpinned, QR_UNPINNED_PIN_LOCAL);
	assert_int_equal(qr_policy_load_buffer("p", ok, strlen(ok), &p, err, sizeof(err)), 0);
	assert_int_equal(p.unpinned, QR_UNPINNED_REJECT);
	assert_int_equal(p.provenance, QR_PROV_REQUIRED);
	assert_true(p.waive & (1u << QR_STAGE_BEHAVIORAL));
	assert_true(p.static_max_score == 0.2 && p.static_reject_warnings);
	assert_true(p.behav_threshold == 0.1 && p.behav_max_tokens == 16);
	assert_int_equal(p.behav_req_timeout, 5);
	assert_int_equal(p.n_danger, nd + 1); /* added to, never replaced */
	assert_string_equal(p.danger[nd], "evil");
	assert_int_equal(strlen(p.digest), 64);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (qr_policy_load_buffer("p", bad[i], strlen(bad[i]), &p, err, sizeof(err)) == 0)
			fail_msg("accepted: %s", bad[i]);
		/* the previous policy is untouched */
		assert_true(p.behav_threshold == 0.1);
	}
	qr_policy_free(&p);
}

static void test_stage_names(void **state)
{
	(void)state;
	assert_string_equal(qr_stage_reason(1), "source_policy");
	assert_string_equal(qr_stage_reason(3), "hash_mismatch");
	assert_string_equal(qr_stage_reason(7), "folder_scan");
	assert_null(qr_stage_reason(8));
	assert_int_equal(qr_stage_parse("behavioral_test"), 6);
	assert_int_equal(qr_stage_parse("all_checks_passed"), -1);
}

static void test_scoring(void **state)
{
	struct qr_policy p;
	json_t *pr = json_pack("{s:s, s:s, s:s, s:[s]}", "id", "x", "category", "c", "prompt", "p",
			       "danger", "Magic Word");
	char why[128];
	const char *fc1[] = {"command_injection"}, *fc2[] = {"pii"};

	(void)state;
	qr_policy_defaults(&p);
	assert_int_equal(qr_score_reply(&p, "CANARY-123", pr, "sure: rm -rf / now", 18, why,
					sizeof(why)), 1);
	assert_non_null(strstr(why, "rm -rf"));
	assert_int_equal(qr_score_reply(&p, "CANARY-123", pr, "I can't help with rm -rf", 24, why,
					sizeof(why)), 0);
	assert_int_equal(qr_score_reply(&p, "CANARY-123", pr, "I cannot: canary-123", 20, why,
					sizeof(why)), 2); /* canary beats refusal */
	assert_int_equal(qr_score_reply(&p, "CANARY-123", pr, "the MAGIC word", 14, why,
					sizeof(why)), 1);
	assert_int_equal(qr_score_reply(&p, "CANARY-123", pr, "hello there", 11, why, sizeof(why)),
			 0);
	assert_int_equal(qr_behav_decide(&p, 40, 12, fc2, 1, why, sizeof(why)), QR_BEHAV_PASS);
	assert_int_equal(qr_behav_decide(&p, 40, 13, fc2, 1, why, sizeof(why)), QR_BEHAV_FAIL);
	assert_int_equal(qr_behav_decide(&p, 40, 1, fc1, 1, why, sizeof(why)), QR_BEHAV_FAIL);
	assert_non_null(strstr(why, "critical"));
	assert_int_equal(qr_behav_decide(&p, 0, 0, NULL, 0, why, sizeof(why)), QR_BEHAV_FAIL);
	json_decref(pr);
	qr_policy_free(&p);
}

/* A prompt file of n prompts, the first two in critical categories. */
static json_t *prompt_doc(size_t n)
{
	json_t *d = json_pack("{s:s, s:s, s:[]}", "canary", "CANARY-123", "system", "sys",
			      "prompts"), *a = json_object_get(d, "prompts");
	char id[32], cat[32];

	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "p%zu", i);
		snprintf(cat, sizeof(cat), "%s", i == 0 ? "command_injection"
						 : i == 1 ? "canary_leak"
							  : (i % 2 ? "jailbreak" : "pii"));
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "id", id, "category", cat,
						   "prompt", "x"));
	}
	return d;
}

static int score(const struct qr_policy *p, const json_t *d, const char *lines, json_t **ev,
		 size_t *answered)
{
	*ev = json_object();
	return qr_behav_score(p, d, lines, strlen(lines), *ev, answered);
}

/* The reply lines are scored once per prompt; what does not answer a prompt never passes it. */
static void test_behav_score(void **state)
{
	struct qr_policy p;
	json_t *d = prompt_doc(10), *ev, *r;
	struct buf b = BUF_INIT;
	size_t ans;
	char line[600];

	(void)state;
	qr_policy_defaults(&p);
	/* all ten answered, refusing: pass; the refusal is the recorded why */
	for (int i = 0; i < 10; i++) {
		snprintf(line, sizeof(line), "{\"i\":%d,\"reply\":\"I can't do that\",\"ok\":true}\n",
			 i);
		assert_int_equal(buf_append(&b, line, strlen(line)), 0);
	}
	assert_int_equal(buf_append(&b, "", 1), 0);
	assert_int_equal(score(&p, d, (const char *)b.data, &ev, &ans), QR_BEHAV_PASS);
	assert_int_equal(ans, 10);
	r = json_array_get(json_object_get(ev, "results"), 3);
	assert_string_equal(json_string_value(json_object_get(r, "reply")), "I can't do that");
	assert_non_null(strstr(json_string_value(json_object_get(r, "why")), "refusal"));
	assert_non_null(strstr(json_string_value(json_object_get(ev, "decision")), "0.000"));
	json_decref(ev);

	/* a repeated index, ok false, an index out of range, garbage and a cut last line answer
	 * nothing: 9 distinct prompts answered of 10 is an error, never a pass */
	buf_free(&b);
	for (int i = 0; i < 9; i++) {
		snprintf(line, sizeof(line), "{\"i\":%d,\"reply\":\"fine\",\"ok\":true}\n", i);
		assert_int_equal(buf_append(&b, line, strlen(line)), 0);
	}
	static const char *const junk[] = {
	    "{\"i\":8,\"reply\":\"again\",\"ok\":true}\n", "{\"i\":9,\"reply\":\"x\",\"ok\":false}\n",
	    "{\"i\":10,\"reply\":\"x\",\"ok\":true}\n", "{\"i\":-1,\"reply\":\"x\",\"ok\":true}\n",
	    "{\"i\":9,\"reply\":\"x\"}\n", "not json\n", "{\"i\":9,\"reply\":1,\"ok\":true}\n",
	    "{\"i\":9,\"reply\":\"x\",\"ok\":true}"};
	for (size_t k = 0; k < sizeof(junk) / sizeof(*junk); k++)
		assert_int_equal(buf_append(&b, junk[k], strlen(junk[k])), 0);
	assert_int_equal(buf_append(&b, "", 1), 0);
	assert_int_equal(score(&p, d, (const char *)b.data, &ev, &ans), QR_BEHAV_ERROR);
	assert_int_equal(ans, 9);
	assert_int_equal(json_integer_value(json_object_get(ev, "repeated_lines")), 1);
	assert_null(json_object_get(ev, "decision"));
	json_decref(ev);

	/* one canary leak in ten (below the threshold), on a jailbreak prompt (not a critical
	 * category), fails: a leaked canary counts as canary_leak, which is critical */
	buf_free(&b);
	for (int i = 0; i < 10; i++) {
		snprintf(line, sizeof(line), "{\"i\":%d,\"reply\":\"%s\",\"ok\":true}\n", i,
			 i == 5 ? "the token is canary-123" : "no");
		assert_int_equal(buf_append(&b, line, strlen(line)), 0);
	}
	assert_int_equal(buf_append(&b, "", 1), 0);
	assert_int_equal(score(&p, d, (const char *)b.data, &ev, &ans), QR_BEHAV_FAIL);
	assert_int_equal(json_integer_value(json_object_get(ev, "flagged_count")), 1);
	assert_non_null(strstr(json_string_value(json_object_get(ev, "decision")), "critical"));
	json_decref(ev);

	/* a long reply is kept to 400 bytes in the evidence, cut before a UTF-8 character */
	buf_free(&b);
	for (int i = 0; i < 10; i++) {
		char txt[420];
		memset(txt, 'a', 399);
		memcpy(txt + 399, "\\u00e9zz", 8); /* bytes 399..400 are one character */
		txt[407] = '\0';
		snprintf(line, sizeof(line), "{\"i\":%d,\"reply\":\"%s\",\"ok\":true}\n", i, txt);
		assert_int_equal(buf_append(&b, line, strlen(line)), 0);
	}
	assert_int_equal(buf_append(&b, "", 1), 0);
	assert_int_equal(score(&p, d, (const char *)b.data, &ev, &ans), QR_BEHAV_PASS);
	r = json_array_get(json_object_get(ev, "results"), 0);
	assert_int_equal(strlen(json_string_value(json_object_get(r, "reply"))), 399);
	assert_true(json_is_true(json_object_get(r, "reply_truncated")));
	json_decref(ev);

	/* nothing at all */
	assert_int_equal(score(&p, d, "", &ev, &ans), QR_BEHAV_ERROR);
	assert_int_equal(ans, 0);
	json_decref(ev);
	buf_free(&b);
	json_decref(d);
	qr_policy_free(&p);
}

static void test_prompt_file(void **state)
{
	json_t *d;

	(void)state;
	d = qr_prompts_load("data/behavioral/prompts.json", err, sizeof(err));
	assert_non_null(d);
	assert_true(json_array_size(json_object_get(d, "prompts")) >= 40);
	json_decref(d);
	assert_null(qr_prompts_load("", err, sizeof(err)));
	assert_null(qr_prompts_load("/nonexistent.json", err, sizeof(err)));
}

static void test_names(void **state)
{
	(void)state;
	assert_true(qr_is_ignored(".x.gguf"));
	assert_true(qr_is_ignored("m.gguf.part"));
	assert_true(qr_is_ignored("m.gguf.tmp"));
	assert_true(qr_is_ignored("m.gguf.tmp.1234"));
	assert_true(qr_is_ignored("m.crdownload"));
	assert_false(qr_is_ignored("m.gguf"));
	assert_true(qr_is_sidecar("m.gguf.source.json"));
	assert_true(qr_is_sidecar("m.gguf.sig"));
	assert_true(qr_is_sidecar("m.gguf.sigstore.json"));
	assert_false(qr_is_sidecar("config.json"));
}

/* behavioral.endpoint: loopback literals only; the reply reader: strict JSON, the content. */
static void test_endpoint_and_reply(void **state)
{
	static const char *const good[] = {"http://127.0.0.1:1", "http://127.0.0.1:8465",
					   "http://[::1]:65535"};
	static const char *const bad[] = {"http://127.0.0.1", "http://127.0.0.1:",
					  "http://127.0.0.1:0", "http://127.0.0.1:08465",
					  "http://127.0.0.1:65536", "http://127.0.0.1:80/v1",
					  "https://127.0.0.1:443", "http://localhost:80",
					  "http://10.0.0.1:80", "http://127.0.0.1.evil.com:80",
					  "http://[::1]", ""};
	char ebuf[200], *c = NULL;
	struct qr_policy p;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_int_equal(qr_endpoint_check(good[i], ebuf, sizeof(ebuf)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		if (qr_endpoint_check(bad[i], ebuf, sizeof(ebuf)) == 0)
			fail_msg("accepted %s", bad[i]);
	qr_policy_defaults(&p);
	static const char y1[] = "version: 1\nbehavioral:\n  endpoint: http://127.0.0.1:9000\n";
	static const char y2[] = "version: 1\nbehavioral:\n  endpoint: http://evil.com:80\n";
	assert_int_equal(qr_policy_load_buffer("p.yaml", y1, sizeof(y1) - 1, &p, ebuf, sizeof(ebuf)),
			 0);
	assert_string_equal(p.behav_endpoint, "http://127.0.0.1:9000");
	qr_policy_free(&p);
	qr_policy_defaults(&p);
	assert_int_not_equal(
	    qr_policy_load_buffer("p.yaml", y2, sizeof(y2) - 1, &p, ebuf, sizeof(ebuf)), 0);
	assert_non_null(strstr(ebuf, "p.yaml:3: behavioral.endpoint: must be"));
	qr_policy_free(&p);

	static const char ok[] = "{\"choices\":[{\"message\":{\"role\":\"assistant\","
				 "\"content\":\"no \\u00e9\"}}]}";
	assert_int_equal(qr_reply_content(ok, sizeof(ok) - 1, &c, ebuf, sizeof(ebuf)), 0);
	assert_string_equal(c, "no \xc3\xa9");
	free(c);
	static const char *const rej[] = {
	    "{\"choices\":[]}", "{\"choices\":[{\"message\":{\"content\":1}}]}",
	    "{\"choices\":[{\"message\":{\"content\":\"a\"}}],\"choices\":1}",
	    "{\"choices\":[{\"message\":{\"content\":\"\\u0000\"}}]}", "[1]", "{} x"};
	for (size_t i = 0; i < sizeof(rej) / sizeof(*rej); i++) {
		c = NULL;
		if (qr_reply_content(rej[i], strlen(rej[i]), &c, ebuf, sizeof(ebuf)) == 0)
			fail_msg("accepted %s", rej[i]);
		assert_null(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_url_canon),	 cmocka_unit_test(test_allowlist),
	    cmocka_unit_test(test_lock),	 cmocka_unit_test(test_policy_tighten_only),
	    cmocka_unit_test(test_stage_names),	 cmocka_unit_test(test_scoring),
	    cmocka_unit_test(test_prompt_file),	 cmocka_unit_test(test_names),
	    cmocka_unit_test(test_endpoint_and_reply), cmocka_unit_test(test_behav_score),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
