/*
 * test_registry.c — the signed manifest (sign, verify, tamper, wrong key, missing) and the
 * registry routes answered from it.
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
#include "fsutil.h"
#include "registry/reg_manifest.h"
#include "registry/registry.h"

static char dir[] = "/tmp/reg-test-XXXXXX";
static char err[512];

static int get(struct reg_server *s, const char *method, const char *path, json_t **body)
{
	struct http_request rq = {.method = method, .path = path, .query = "",
				  .body = (const unsigned char *)"", .peer = "127.0.0.1"};
	struct http_response rs;
	int st;

	memset(&rs, 0, sizeof(rs));
	assert_int_equal(reg_handle(s, &rq, &rs), 0);
	st = rs.status;
	if (body)
		*body = json_loadb((const char *)rs.body.data, rs.body.len, 0, NULL);
	buf_free(&rs.body);
	for (size_t i = 0; i < rs.nheaders; i++) { /* 401 carries WWW-Authenticate */
		free(rs.headers[i].name);
		free(rs.headers[i].value);
	}
	return st;
}

static void test_manifest_and_routes(void **state)
{
	char regdir[4200], mpath[4200], model[4300], *text;
	const char *sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	uint8_t sk[REG_SK_LEN], pk[REG_PK_LEN], pk2[REG_PK_LEN], sk2[REG_SK_LEN];
	struct reg_server s;
	json_t *models, *got, *b;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(reg_paths(dir, regdir, sizeof(regdir), mpath, sizeof(mpath)), 0);
	assert_int_equal(reg_server_init(&s, dir), 0);
	/* empty registry */
	assert_int_equal(get(&s, "GET", "/v1/models", &b), 200);
	assert_int_equal(json_array_size(json_object_get(b, "data")), 0);
	json_decref(b);
	assert_int_equal(reg_key_load_or_create(regdir, sk, pk, err, sizeof(err)), 0);
	assert_int_equal(reg_key_load_or_create(regdir, sk2, pk2, err, sizeof(err)), 0);
	assert_memory_equal(pk, pk2, REG_PK_LEN); /* loaded, not replaced */
	snprintf(model, sizeof(model), "%s/m.bin", dir);
	assert_int_equal(fs_atomic_write(model, "abc", 3, 0444), 0);
	models = json_pack("[{s:s, s:s, s:s, s:s}]", "name", "m.bin", "sha256", sha, "path", model,
			   "kind", "file");
	assert_int_equal(reg_manifest_write(mpath, sk, pk, models, err, sizeof(err)), 0);
	assert_int_equal(reg_manifest_load(mpath, pk, &got, err, sizeof(err)), 0);
	assert_true(json_equal(got, models));
	assert_non_null(reg_models_find(got, sha));
	json_decref(got);
	/* routes */
	assert_int_equal(get(&s, "GET", "/health", &b), 200);
	json_decref(b);
	assert_int_equal(get(&s, "GET", "/v1/models", &b), 200);
	assert_int_equal(json_array_size(json_object_get(b, "data")), 1);
	json_decref(b);
	{
		char p[128];
		snprintf(p, sizeof(p), "/v1/models/%s", sha);
		assert_int_equal(get(&s, "GET", p, &b), 200);
		assert_string_equal(json_string_value(json_object_get(b, "name")), "m.bin");
		json_decref(b);
		snprintf(p, sizeof(p), "/v1/models/%s/verify", sha);
		assert_int_equal(get(&s, "POST", p, &b), 200); /* sha of "abc" */
		assert_true(json_is_true(json_object_get(b, "ok")));
		json_decref(b);
		snprintf(p, sizeof(p), "/v1/models/%s", sha);
		assert_int_equal(get(&s, "DELETE", p, NULL), 401); /* no admin token */
	}
	assert_int_equal(get(&s, "GET", "/v1/models/abc", NULL), 404);
	assert_int_equal(get(&s, "GET", "/v1/modelsX", NULL), 404);
	/* wrong key */
	reg_key_load_or_create(dir, sk2, pk2, err, sizeof(err));
	assert_int_equal(reg_manifest_load(mpath, pk2, &got, err, sizeof(err)), -1);
	/* tampered: one byte of a name */
	assert_int_equal(fs_read_file(mpath, 1 << 20, &text, &len), 0);
	*strstr(text, "m.bin") = 'n';
	assert_int_equal(fs_atomic_write(mpath, text, len, 0644), 0);
	free(text);
	assert_int_equal(reg_manifest_load(mpath, pk, &got, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not verify"));
	assert_int_equal(get(&s, "GET", "/v1/models", NULL), 503);
	assert_int_equal(get(&s, "GET", "/health", NULL), 503);
	json_decref(models);
	{
		char cmd[4400];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_manifest_and_routes)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
