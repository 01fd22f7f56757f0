/*
 * test_merkle.c — RFC 6962 tree hashing and proofs: the classic CT vectors (built in), every
 * transparency-dev/merkle proof vector in $SECAI_SHARED/reference/merkle-vectors, and
 * generate-then-verify round trips for every index and size up to 70.
 */
#include <dirent.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "merkle.h"
#include "testutil.h"

static const char *ct_leaves[] = {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
				  "606162636465666768696a6b6c6d6e6f"};
static const char *ct_roots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

static void test_ct_roots(void **state)
{
	merkle_hash leaves[8], root, r2;
	struct merkle_range range;
	char hex[65];

	(void)state;
	merkle_range_init(&range);
	for (int n = 0; n <= 8; n++) {
		merkle_root(leaves, (uint64_t)n, root);
		hex_encode(root, 32, hex);
		assert_string_equal(hex, ct_roots[n]);
		merkle_range_root(&range, r2);
		assert_memory_equal(root, r2, 32);
		if (n < 8) {
			uint8_t raw[16];
			size_t l = strlen(ct_leaves[n]) / 2;
			assert_int_equal(hex_decode(ct_leaves[n], 2 * l, raw, l), 0);
			merkle_leaf_hash(raw, l, leaves[n]);
			merkle_range_append(&range, leaves[n]);
		}
	}
}

static void test_roundtrip_proofs(void **state)
{
	enum { N = 70 };
	merkle_hash leaves[N], proof[MERKLE_MAX_PROOF], roots[N + 1];
	(void)state;

	for (int i = 0; i < N; i++) {
		uint32_t v = (uint32_t)i * 2654435761u;
		merkle_leaf_hash(&v, sizeof(v), leaves[i]);
	}
	for (int n = 0; n <= N; n++)
		merkle_root(leaves, (uint64_t)n, roots[n]);
	for (int n = 1; n <= N; n++) {
		for (int i = 0; i < n; i++) {
			int pl = merkle_inclusion_proof(leaves, (uint64_t)n, (uint64_t)i, proof);
			assert_true(pl >= 0);
			assert_int_equal(merkle_verify_inclusion((uint64_t)i, (uint64_t)n, leaves[i],
								 proof, (size_t)pl, roots[n]), 0);
			/* the proof must fail for another leaf, index or a flipped bit */
			assert_int_not_equal(merkle_verify_inclusion((uint64_t)i, (uint64_t)n,
								     leaves[(i + 1) % N], proof,
								     (size_t)pl, roots[n]), 0);
			if (pl > 0) {
				proof[pl - 1][5] ^= 1;
				assert_int_not_equal(
				    merkle_verify_inclusion((uint64_t)i, (uint64_t)n, leaves[i],
							    proof, (size_t)pl, roots[n]), 0);
			}
		}
		for (int m = 1; m <= n; m++) {
			int pl = merkle_consistency_proof(leaves, (uint64_t)m, (uint64_t)n, proof);
			assert_true(pl >= 0);
			assert_int_equal(merkle_verify_consistency((uint64_t)m, (uint64_t)n, roots[m],
								   roots[n], proof, (size_t)pl), 0);
			if (m < n)
				assert_int_not_equal(
				    merkle_verify_consistency((uint64_t)m, (uint64_t)n, roots[m - 1],
							      roots[n], proof, (size_t)pl), 0);
		}
	}
}

/* Decodes a base64 hash; returns 0 only for exactly 32 bytes. */
static int b64_hash(json_t *v, merkle_hash out)
{
	uint8_t tmp[64];
	const char *s = json_string_value(v);
	return (s && b64_decode(s, strlen(s), tmp, sizeof(tmp)) == 32) ? (memcpy(out, tmp, 32), 0)
									   : -1;
}

/* Sizes and indices as uint64; the vectors hold 2^64-1, which jansson reads only as a real. */
static uint64_t get_u64(json_t *v)
{
	if (json_is_integer(v))
		return (uint64_t)json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) >= 18446744073709551615.0)
		return UINT64_MAX;
	return json_is_real(v) ? (uint64_t)json_real_value(v) : 0;
}

/* Runs one vector; returns 1 if our verdict equals wantErr's, 0 if not, -1 if skipped. */
static int run_vector(const char *path, int consistency)
{
	json_error_t e;
	json_t *d = json_load_file(path, JSON_REJECT_DUPLICATES, &e), *p;
	if (d == NULL) /* integers above 2^63-1 */
		d = json_load_file(path, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &e);
	merkle_hash r1, r2, proof[MERKLE_MAX_PROOF + 8];
	size_t plen = 0, i;
	int want_err, ok = 1, got_err;

	assert_non_null(d);
	want_err = json_is_true(json_object_get(d, "wantErr"));
	p = json_object_get(d, "proof");
	if (json_is_array(p)) {
		json_t *h;
		if (json_array_size(p) > MERKLE_MAX_PROOF + 8) {
			json_decref(d);
			return want_err ? 1 : 0;
		}
		json_array_foreach(p, i, h) {
			if (b64_hash(h, proof[i]) != 0)
				ok = 0;
		}
		plen = json_array_size(p);
	}
	if (consistency) {
		if (b64_hash(json_object_get(d, "root1"), r1) || b64_hash(json_object_get(d, "root2"), r2))
			ok = 0;
		got_err = !ok || merkle_verify_consistency(
				     get_u64(json_object_get(d, "size1")),
				     get_u64(json_object_get(d, "size2")), r1, r2,
				     proof, plen) != 0;
	} else {
		if (b64_hash(json_object_get(d, "root"), r1) ||
		    b64_hash(json_object_get(d, "leafHash"), r2))
			ok = 0;
		got_err = !ok || merkle_verify_inclusion(
				     get_u64(json_object_get(d, "leafIdx")),
				     get_u64(json_object_get(d, "treeSize")), r2,
				     proof, plen, r1) != 0;
	}
	json_decref(d);
	/* secai refuses hashes that are not 32 bytes when it parses them; Go's verifier compares
	 * such "roots" as opaque bytes, so one vector (equal sizes, equal 12-byte roots) expects
	 * success there. That vector is counted as skipped. */
	if (!ok && !want_err)
		return -1;
	return got_err == want_err;
}

static void walk(const char *dir, int consistency, int *pass, int *fail, int *skip)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[PATH_MAX];

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		size_t l = strlen(de->d_name);
		if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0) {
			int r = run_vector(path, consistency);
			if (r == 1)
				(*pass)++;
			else if (r < 0)
				(*skip)++;
			else {
				(*fail)++;
				fprintf(stderr, "vector failed: %s\n", path);
			}
		} else if (de->d_type == DT_DIR) {
			walk(path, consistency, pass, fail, skip);
		}
	}
	closedir(d);
}

static void test_transparency_dev_vectors(void **state)
{
	const char *shared = test_shared_dir();
	char dir[PATH_MAX];
	int pass = 0, fail = 0, skip = 0;

	(void)state;
	if (shared == NULL)
		skip();
	snprintf(dir, sizeof(dir), "%s/reference/merkle-vectors/inclusion", shared);
	walk(dir, 0, &pass, &fail, &skip);
	snprintf(dir, sizeof(dir), "%s/reference/merkle-vectors/consistency", shared);
	walk(dir, 1, &pass, &fail, &skip);
	printf("merkle vectors: %d passed, %d failed, %d skipped (non-SHA-256 roots)\n", pass, fail,
	       skip);
	assert_int_equal(fail, 0);
	assert_true(pass >= 190);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ct_roots),
	    cmocka_unit_test(test_roundtrip_proofs),
	    cmocka_unit_test(test_transparency_dev_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
