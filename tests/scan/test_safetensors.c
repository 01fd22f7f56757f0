/*
 * test_safetensors.c — one generated file per safetensors rule, each with its reason id, plus
 * valid files (empty, scalar, zero-sized, whitespace-padded) and the sharded index checks.
 * Never: reads shared data (test_samples.c does); fixtures are built here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/testutil.h"
#include "scan/safetensors.h"

/* 8-byte length + header + data_len zero bytes + extra (signed: negative truncates). */
static uint8_t *make(const char *hdr, size_t data_len, long extra, size_t *len)
{
	size_t n = strlen(hdr), total = 8 + n + data_len;
	uint8_t *b;

	if (extra < 0)
		total -= (size_t)-extra;
	else
		total += (size_t)extra;
	b = calloc(1, total + 8);
	assert_non_null(b);
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)((uint64_t)n >> (8 * i));
	memcpy(b + 8, hdr, n);
	*len = total;
	return b;
}

static void expect(const char *hdr, size_t data_len, long extra, const char *reason)
{
	struct scan_report r;
	size_t len;
	uint8_t *b = make(hdr, data_len, extra, &len);
	int rc;

	scan_report_init(&r);
	rc = st_check_buffer(b, len, "t.safetensors", &r);
	if (reason == NULL) {
		if (rc != 0)
			scan_report_print(&r, stdout);
		assert_int_equal(rc, 0);
		assert_int_equal(scan_report_verdict(&r), SCAN_CLEAN);
	} else {
		if (!scan_report_has(&r, reason, NULL)) {
			printf("expected %s for %s\n", reason, hdr);
			scan_report_print(&r, stdout);
		}
		assert_int_equal(rc, 1);
		assert_true(scan_report_has(&r, reason, NULL));
		assert_int_equal(scan_report_verdict(&r), SCAN_REJECTED);
	}
	scan_report_free(&r);
	free(b);
}

#define T2 "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," \
	   "\"b\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[8,16]}}"

static void test_valid(void **state)
{
	(void)state;
	expect(T2, 16, 0, NULL);
	expect("{}      ", 0, 0, NULL);
	expect("  {\"s\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}}\n", 8, 0, NULL);
	expect("{\"z\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
	       "\"__metadata__\":{\"format\":\"pt\"}}",
	       0, 0, NULL);
	expect("{\"f\":{\"dtype\":\"F4\",\"shape\":[4],\"data_offsets\":[0,2]}}", 2, 0, NULL);
}

static void test_rules(void **state)
{
	struct scan_report r;
	uint8_t small[4] = {0};
	uint8_t big[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
	uint8_t over[16] = {0x01, 0xe1, 0xf5, 0x05}; /* 100000001 */

	(void)state;
	scan_report_init(&r);
	assert_int_equal(st_check_buffer(small, sizeof(small), "t", &r), 1);
	assert_true(scan_report_has(&r, "st.too_small", NULL));
	assert_int_equal(st_check_buffer(big, sizeof(big), "t", &r), 1);
	assert_true(scan_report_has(&r, "st.header_too_large", NULL));
	assert_int_equal(st_check_buffer(over, sizeof(over), "t", &r), 1);
	scan_report_free(&r);
	expect("{\"a\":1}", 0, -2, "st.header_length");
	expect("{\"\xff\":1}", 0, 0, "st.header_utf8");
	expect("{\"a\":", 0, 0, "st.header_json");
	expect("[1,2]", 0, 0, "st.header_not_object");
	expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
	       "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
	       4, 0, "st.duplicate_key");
	expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, 0, "st.tensor_entry");
	expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4, 0,
	       "st.tensor_entry");
	expect("{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0, "st.dtype");
	expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, 0,
	       "st.shape");
	expect("{\"__metadata__\":{\"k\":1}}", 0, 0, "st.metadata");
	expect("{\"__metadata__\":{\"k\":{\"n\":\"x\"}}}", 0, 0, "st.metadata");
	expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
	       "\"data_offsets\":[0,4]}}",
	       4, 0, "st.overflow");
	expect("{\"a\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],"
	       "\"data_offsets\":[0,4]}}",
	       4, 0, "st.overflow");
	expect("{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2, 0,
	       "st.misaligned");
	expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, 0,
	       "st.invalid_offset");
	expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, 0,
	       "st.size_mismatch");
	/* gap, overlap, alias, non-zero start */
	expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
	       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
	       12, 0, "st.invalid_offset");
	expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
	       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
	       8, 0, "st.invalid_offset");
	expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
	       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
	       4, 0, "st.invalid_offset");
	expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, 0,
	       "st.invalid_offset");
	expect(T2, 16, 1, "st.file_size");
	expect(T2, 16, -1, "st.file_size");
}

static void write_st(const char *path, const char *hdr, size_t data_len)
{
	size_t len;
	uint8_t *b = make(hdr, data_len, 0, &len);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, len, f), len);
	fclose(f);
	free(b);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_index(void **state)
{
	char *dir = test_tmpdir(), p[PATH_MAX];
	struct scan_report r;

	(void)state;
	assert_non_null(dir);
	snprintf(p, sizeof(p), "%s/s1.safetensors", dir);
	write_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
	snprintf(p, sizeof(p), "%s/s2.safetensors", dir);
	write_st(p, "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
	snprintf(p, sizeof(p), "%s/model.safetensors.index.json", dir);
	write_text(p, "{\"metadata\":{},\"weight_map\":{\"a\":\"s1.safetensors\","
		      "\"b\":\"s2.safetensors\"}}");
	scan_report_init(&r);
	assert_int_equal(st_check_index(dir, "model.safetensors.index.json", &r), 0);
	scan_report_free(&r);
	write_text(p, "{\"weight_map\":{\"a\":\"s1.safetensors\",\"c\":\"s2.safetensors\"}}");
	scan_report_init(&r);
	assert_int_equal(st_check_index(dir, "model.safetensors.index.json", &r), 1);
	assert_true(scan_report_has(&r, "st.index_tensor", "c"));
	scan_report_free(&r);
	write_text(p, "{\"weight_map\":{\"a\":\"../s1.safetensors\"}}");
	scan_report_init(&r);
	assert_int_equal(st_check_index(dir, "model.safetensors.index.json", &r), 1);
	assert_true(scan_report_has(&r, "st.index_shard", "a"));
	scan_report_free(&r);
	write_text(p, "{\"weight_map\":{\"a\":\"s1.safetensors\",\"a\":\"s2.safetensors\"}}");
	scan_report_init(&r);
	assert_int_equal(st_check_index(dir, "model.safetensors.index.json", &r), 1);
	assert_true(scan_report_has(&r, "st.index_json", NULL));
	scan_report_free(&r);
	test_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_index),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
