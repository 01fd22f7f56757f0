/*
 * fuzz_gguf.c — libFuzzer harness for the GGUF reader: gguf_open_buffer on arbitrary bytes,
 * then every accessor over every KV, array element (bounded) and tensor.
 *
 * Owns: exercising the reader's bounds on hostile input, with and without KEEP_INVALID.
 * Never: writes files or keeps state between inputs.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gguf/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void touch(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		sink += b[i];
}

static void walk(const struct gguf_file *f)
{
	size_t i, n, len;
	const char *s;

	sink += gguf_version(f) + gguf_alignment(f) + gguf_file_size(f) + gguf_data_offset(f);
	if (gguf_architecture(f, &len))
		sink += len;
	for (i = 0; i < gguf_n_kv(f); i++) {
		const struct gguf_kv *kv = gguf_kv_at(f, i);
		enum gguf_value_type et;
		uint64_t cnt, j, u64;
		union {
			uint8_t u8;
			int8_t i8;
			uint16_t u16;
			int16_t i16;
			uint32_t u32;
			int32_t i32;
			int64_t i64;
			float f32;
			double f64;
			bool b;
		} v;
		char key[80];

		s = gguf_kv_key(kv, &len);
		touch(s, len);
		/* Lookup by key must find a KV with that key (the first one of duplicates). */
		if (len < sizeof(key) && memchr(s, 0, len) == NULL) {
			memcpy(key, s, len);
			key[len] = '\0';
			if (gguf_find_kv(f, key) == NULL)
				__builtin_trap();
		}
		sink += gguf_kv_type(kv) + gguf_kv_offset(kv);
		sink += (uint64_t)gguf_kv_get_u8(kv, &v.u8) + (uint64_t)gguf_kv_get_i8(kv, &v.i8);
		sink +=
		    (uint64_t)gguf_kv_get_u16(kv, &v.u16) + (uint64_t)gguf_kv_get_i16(kv, &v.i16);
		sink +=
		    (uint64_t)gguf_kv_get_u32(kv, &v.u32) + (uint64_t)gguf_kv_get_i32(kv, &v.i32);
		sink += (uint64_t)gguf_kv_get_u64(kv, &u64) + (uint64_t)gguf_kv_get_i64(kv, &v.i64);
		sink +=
		    (uint64_t)gguf_kv_get_f32(kv, &v.f32) + (uint64_t)gguf_kv_get_f64(kv, &v.f64);
		sink += (uint64_t)gguf_kv_get_bool(kv, &v.b) + (uint64_t)gguf_kv_get_uint(kv, &u64);
		if (gguf_kv_get_str(kv, &s, &len) == 0)
			touch(s, len);
		if (gguf_kv_array_info(kv, &et, &cnt) != 0)
			continue;
		for (j = 0; j < cnt && j < 64; j++) {
			if (gguf_kv_array_str(kv, j, &s, &len) == 0)
				touch(s, len);
			sink += (uint64_t)gguf_kv_array_get_u32(kv, j, &v.u32);
			sink += (uint64_t)gguf_kv_array_get_i32(kv, j, &v.i32);
			sink += (uint64_t)gguf_kv_array_get_f32(kv, j, &v.f32);
		}
		if (cnt && gguf_kv_array_str(kv, cnt - 1, &s, &len) == 0)
			touch(s, len);
		if (gguf_kv_array_data(kv))
			touch(gguf_kv_array_data(kv),
			      (size_t)(cnt < 64 ? cnt : 64) * gguf_value_type_size(et));
	}
	n = gguf_n_tensors(f);
	for (i = 0; i < n; i++) {
		const struct gguf_tensor_info *t = gguf_tensor_at(f, i);

		sink += strlen(t->name) + t->type + t->n_dims + t->ne[0] + t->offset + t->nbytes;
		sink += gguf_type_info(t->type)->block_size;
		if (gguf_find_tensor(f, t->name) == NULL)
			__builtin_trap();
		if (t->data) {
			if (!gguf_is_valid(f))
				__builtin_trap();
			touch(t->data, t->nbytes < 64 ? t->nbytes : 64);
			touch((const uint8_t *)t->data + t->nbytes - (t->nbytes ? 1 : 0),
			      t->nbytes ? 1 : 0);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gguf_report r = GGUF_REPORT_INIT;
	struct gguf_file *f = NULL;
	size_t i;
	int rc;

	rc = gguf_open_buffer(data, size, &f, &r);
	if (rc == 0) {
		walk(f);
		gguf_close(f);
	} else if (f != NULL) {
		__builtin_trap();
	}
	for (i = 0; i < r.n; i++)
		sink += strlen(r.items[i].msg) + strlen(gguf_err_id(r.items[i].code));
	gguf_report_free(&r);
	if (gguf_open_buffer_ex(data, size, GGUF_OPEN_KEEP_INVALID, &f, NULL) >= 0 && f) {
		walk(f);
		gguf_close(f);
	}
	return 0;
}
