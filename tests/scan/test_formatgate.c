/*
 * test_formatgate.c — the format gate and the folder walker on generated files: a PyTorch zip
 * with data.pkl, a zip named .gguf, a member hidden from the central directory, a deflated
 * member, a .npy with an object dtype, a pickle named .safetensors, unknown formats, model folders
 * (clean; symlinked; diffusers model_index.json with ../ traversal, missing components and custom
 * libraries; remote code in config.json; code files).
 * Never: reads shared data; fixtures are built in a temp dir and removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../lib/testutil.h"
#include "buf.h"
#include "scan/folder.h"
#include "scan/formatgate.h"

static const char evil_pickle[] = "\x80\x02" "cposix\nsystem\nX\x02\x00\x00\x00idq\x01\x85R.";
#define EVIL_LEN (sizeof(evil_pickle) - 1)

static void put16(struct buf *b, unsigned v)
{
	uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	assert_int_equal(buf_append(b, x, 2), 0);
}

static void put32(struct buf *b, uint32_t v)
{
	put16(b, v & 0xffff);
	put16(b, v >> 16);
}

/* A one-member zip; method 0 (stored) or 8 (deflate); in_cd false leaves it out of the CD. */
static void make_zip(struct buf *b, const char *name, const void *data, size_t len, int method,
		     bool in_cd)
{
	uint8_t comp[4096];
	uLongf clen = sizeof(comp);
	const void *payload = data;
	size_t plen = len;
	size_t lh = b->len, cd;
	uint32_t crc = (uint32_t)crc32(0, data, (uInt)len);

	if (method == 8) {
		z_stream zs;

		memset(&zs, 0, sizeof(zs));
		assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
		zs.next_in = (Bytef *)(uintptr_t)data;
		zs.avail_in = (uInt)len;
		zs.next_out = comp;
		zs.avail_out = sizeof(comp);
		assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
		clen = zs.total_out;
		deflateEnd(&zs);
		payload = comp;
		plen = clen;
	}
	put32(b, 0x04034b50);
	put16(b, 20), put16(b, 0), put16(b, (unsigned)method), put16(b, 0), put16(b, 0);
	put32(b, crc), put32(b, (uint32_t)plen), put32(b, (uint32_t)len);
	put16(b, (unsigned)strlen(name)), put16(b, 0);
	buf_append_str(b, name);
	buf_append(b, payload, plen);
	cd = b->len;
	if (in_cd) {
		put32(b, 0x02014b50);
		put16(b, 20), put16(b, 20), put16(b, 0), put16(b, (unsigned)method);
		put16(b, 0), put16(b, 0);
		put32(b, crc), put32(b, (uint32_t)plen), put32(b, (uint32_t)len);
		put16(b, (unsigned)strlen(name)), put16(b, 0), put16(b, 0), put16(b, 0), put16(b, 0);
		put32(b, 0), put32(b, (uint32_t)lh);
		buf_append_str(b, name);
	}
	put32(b, 0x06054b50);
	put16(b, 0), put16(b, 0), put16(b, in_cd), put16(b, in_cd);
	put32(b, (uint32_t)(b->len - cd - 12)), put32(b, (uint32_t)cd), put16(b, 0);
}

static void scan_buf(const void *d, size_t len, const char *name, struct scan_report *r)
{
	scan_report_init(r);
	assert_int_equal(scan_buffer(d, len, name, 0, r, NULL), 0);
}

static void test_zips(void **state)
{
	struct buf b = BUF_INIT;
	struct scan_report r;

	(void)state;
	make_zip(&b, "archive/data.pkl", evil_pickle, EVIL_LEN, 0, true);
	scan_buf(b.data, b.len, "model.pt", &r);
	assert_true(scan_report_has(&r, "gate.zip", NULL));
	assert_true(scan_report_has(&r, "pickle.global_dangerous", "posix.system"));
	scan_report_free(&r);
	/* the same zip named .gguf: disguised */
	scan_buf(b.data, b.len, "model.gguf", &r);
	assert_true(scan_report_has(&r, "gate.disguised", NULL));
	assert_true(scan_report_has(&r, "pickle.global_dangerous", "posix.system"));
	scan_report_free(&r);
	buf_reset(&b);
	/* deflate member with a harmless name: found by content */
	make_zip(&b, "notes.txt", evil_pickle, EVIL_LEN, 8, true);
	scan_buf(b.data, b.len, "x.npz", &r);
	assert_true(scan_report_has(&r, "pickle.global_dangerous", "posix.system"));
	scan_report_free(&r);
	buf_reset(&b);
	/* a member only in a local header */
	make_zip(&b, "a.txt", "hello", 5, 0, true);
	{
		struct buf z = BUF_INIT;

		make_zip(&z, "hidden.pkl", evil_pickle, EVIL_LEN, 0, false);
		/* prepend the hidden member: the first zip's offsets shift, so rebuild */
		buf_reset(&b);
		assert_int_equal(buf_append(&b, z.data, 30 + strlen("hidden.pkl") + EVIL_LEN), 0);
		buf_free(&z);
		make_zip(&z, "a.txt", "hello", 5, 0, true);
		/* fix the CD offset of a.txt: it starts after the hidden member */
		{
			size_t base = b.len;

			assert_int_equal(buf_append(&b, z.data, z.len), 0);
			/* CD local-header offset field and EOCD CD offset */
			uint8_t *cdh = (uint8_t *)b.data + base + 30 + 5 + 5;
			uint32_t cdoff = (uint32_t)(base + 30 + 5 + 5);

			cdh[42] = (uint8_t)base, cdh[43] = (uint8_t)(base >> 8);
			memcpy(b.data + b.len - 6, &cdoff, 4);
		}
		buf_free(&z);
	}
	scan_buf(b.data, b.len, "x.zip", &r);
	assert_true(scan_report_has(&r, "zip.hidden_member", "hidden.pkl"));
	assert_true(scan_report_has(&r, "pickle.global_dangerous", "posix.system"));
	scan_report_free(&r);
	buf_free(&b);
}

static void test_npy_and_disguise(void **state)
{
	struct buf b = BUF_INIT;
	struct scan_report r;
	const char *hdr = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }";

	(void)state;
	buf_append(&b, "\x93NUMPY\x01\x00", 8);
	put16(&b, (unsigned)strlen(hdr));
	buf_append_str(&b, hdr);
	buf_append(&b, evil_pickle, EVIL_LEN);
	scan_buf(b.data, b.len, "x.npy", &r);
	assert_true(scan_report_has(&r, "gate.numpy", NULL));
	assert_true(scan_report_has(&r, "pickle.global_dangerous", "posix.system"));
	scan_report_free(&r);
	buf_free(&b);
	scan_buf(evil_pickle, EVIL_LEN, "model.safetensors", &r);
	assert_true(scan_report_has(&r, "gate.disguised", NULL));
	assert_true(scan_report_has(&r, "gate.pickle", NULL));
	scan_report_free(&r);
	scan_buf("hello", 5, "model.bin", &r);
	assert_true(scan_report_has(&r, "gate.unknown_format", NULL));
	scan_report_free(&r);
	scan_buf("\x7f" "ELF\x02\x01", 6, "model.bin", &r);
	assert_true(scan_report_has(&r, "gate.code", NULL));
	scan_report_free(&r);
	scan_buf("GGUF\x03\x00\x00\x00", 8, "m.gguf", &r);
	assert_true(scan_report_has(&r, "gguf.truncated", NULL));
	scan_report_free(&r);
}

static void write_file(const char *dir, const char *name, const void *d, size_t n)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(d, 1, n, f), n);
	fclose(f);
}

static void write_str(const char *dir, const char *name, const char *s)
{
	write_file(dir, name, s, strlen(s));
}

#define ST                                                                                 \
	"\x36\x00\x00\x00\x00\x00\x00\x00"                                                  \
	"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}\0\0\0\0"

static void test_folders(void **state)
{
	char *dir = test_tmpdir(), p[PATH_MAX], q[PATH_MAX];
	struct scan_report r;
	const char *mi = "{\"_class_name\":\"X\",\"unet\":[\"diffusers\",\"UNet2DConditionModel\"],"
			 "\"safety_checker\":[null,null]}";

	(void)state;
	assert_non_null(dir);
	write_file(dir, "model.safetensors", ST, sizeof(ST) - 1);
	write_str(dir, "config.json", "{\"model_type\":\"llama\"}");
	write_str(dir, "README.md", "# model\n");
	scan_report_init(&r);
	assert_int_equal(scan_path(dir, &r), 0);
	if (scan_report_verdict(&r) != SCAN_CLEAN)
		scan_report_print(&r, stdout);
	assert_int_equal(scan_report_verdict(&r), SCAN_CLEAN);
	scan_report_free(&r);

	/* remote code, code files, bad JSON */
	write_str(dir, "config.json", "{\"auto_map\":{\"AutoModel\":\"m.M\"}}");
	write_str(dir, "modeling.py", "import os\n");
	write_str(dir, "tokenizer_config.json", "{\"a\":1,\"a\":2}");
	scan_report_init(&r);
	scan_path(dir, &r);
	assert_true(scan_report_has(&r, "folder.remote_code", NULL));
	assert_true(scan_report_has(&r, "gate.code", NULL));
	assert_true(scan_report_has(&r, "folder.bad_json", NULL));
	scan_report_free(&r);
	snprintf(p, sizeof(p), "%s/modeling.py", dir);
	unlink(p);
	write_str(dir, "config.json", "{}");
	write_str(dir, "tokenizer_config.json", "{}");

	/* symlinks: to a file outside, and a ../ one */
	snprintf(p, sizeof(p), "%s/evil.safetensors", dir);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	snprintf(q, sizeof(q), "%s/up", dir);
	assert_int_equal(symlink("../..", q), 0);
	scan_report_init(&r);
	scan_path(dir, &r);
	assert_true(scan_report_has(&r, "folder.symlink", "/etc/passwd"));
	assert_true(scan_report_has(&r, "folder.symlink", "../.."));
	assert_int_equal(scan_report_verdict(&r), SCAN_REJECTED);
	scan_report_free(&r);
	unlink(p);
	unlink(q);
	/* the root itself a symlink */
	snprintf(q, sizeof(q), "%s.link", dir);
	assert_int_equal(symlink(dir, q), 0);
	scan_report_init(&r);
	scan_path(q, &r);
	assert_true(scan_report_has(&r, "folder.symlink", NULL));
	scan_report_free(&r);
	unlink(q);

	/* diffusers model_index.json */
	write_file(dir, "model_index.json", mi, strlen(mi));
	scan_report_init(&r);
	scan_path(dir, &r);
	assert_true(scan_report_has(&r, "folder.component_missing", "unet"));
	scan_report_free(&r);
	snprintf(p, sizeof(p), "%s/unet", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	scan_report_init(&r);
	scan_path(dir, &r);
	assert_int_equal(scan_report_verdict(&r), SCAN_CLEAN);
	scan_report_free(&r);
	mi = "{\"../unet\":[\"diffusers\",\"X\"],\"vae\":[\"evil_lib\",\"X\"]}";
	write_file(dir, "model_index.json", mi, strlen(mi));
	scan_report_init(&r);
	scan_path(dir, &r);
	assert_true(scan_report_has(&r, "folder.traversal", "../unet"));
	assert_true(scan_report_has(&r, "folder.component_library", "vae"));
	scan_report_free(&r);

	/* a folder with no weights */
	snprintf(p, sizeof(p), "%s/unet", dir);
	scan_report_init(&r);
	scan_path(p, &r);
	assert_true(scan_report_has(&r, "folder.no_weights", NULL));
	scan_report_free(&r);
	test_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_zips),
	    cmocka_unit_test(test_npy_and_disguise),
	    cmocka_unit_test(test_folders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
