/*
 * merkle.c — RFC 6962 tree hashing, compact range, proofs and their verification.
 *
 * Owns: the tree math only (no files, no signatures). Recursion depth is bounded by 64 because
 * sizes are uint64_t and each level at least halves the range.
 */
#include "merkle.h"

#include <string.h>

void merkle_leaf_hash(const void *data, size_t len, merkle_hash out)
{
	struct sha256 *h = sha256_thread_ctx();
	static const uint8_t prefix = 0x00;

	if (h == NULL)
		goto fail;
	if (sha256_update(h, &prefix, 1) != 0 || sha256_update(h, data, len) != 0 ||
	    sha256_final(h, out) != 0)
		goto fail;
	return;
fail:
	memset(out, 0, SHA256_LEN); /* only on OpenSSL failure; verification will then fail */
}

void merkle_node_hash(const merkle_hash left, const merkle_hash right, merkle_hash out)
{
	uint8_t buf[1 + 2 * SHA256_LEN];

	buf[0] = 0x01;
	memcpy(buf + 1, left, SHA256_LEN);
	memcpy(buf + 1 + SHA256_LEN, right, SHA256_LEN);
	if (sha256_digest(buf, sizeof(buf), out) != 0)
		memset(out, 0, SHA256_LEN);
}

void merkle_range_init(struct merkle_range *r)
{
	r->size = 0;
	r->n = 0;
}

void merkle_range_append(struct merkle_range *r, const merkle_hash leaf)
{
	merkle_hash cur;
	uint64_t s = r->size;

	memcpy(cur, leaf, SHA256_LEN);
	/* each trailing 1 bit of size is a perfect subtree of equal height to merge with */
	while (s & 1) {
		merkle_node_hash(r->stack[r->n - 1], cur, cur);
		r->n--;
		s >>= 1;
	}
	memcpy(r->stack[r->n++], cur, SHA256_LEN);
	r->size++;
}

void merkle_range_root(const struct merkle_range *r, merkle_hash out)
{
	merkle_hash cur;

	if (r->n == 0) {
		sha256_digest("", 0, out);
		return;
	}
	memcpy(cur, r->stack[r->n - 1], SHA256_LEN);
	for (int i = r->n - 2; i >= 0; i--)
		merkle_node_hash(r->stack[i], cur, cur);
	memcpy(out, cur, SHA256_LEN);
}

static uint64_t split_point(uint64_t n) /* largest power of two < n, for n >= 2 */
{
	uint64_t k = 1;
	while (k << 1 < n)
		k <<= 1;
	return k;
}

void merkle_root(const merkle_hash *leaves, uint64_t n, merkle_hash out)
{
	merkle_hash l, r;
	uint64_t k;

	if (n == 0) {
		sha256_digest("", 0, out);
		return;
	}
	if (n == 1) {
		memcpy(out, leaves[0], SHA256_LEN);
		return;
	}
	k = split_point(n);
	merkle_root(leaves, k, l);
	merkle_root(leaves + k, n - k, r);
	merkle_node_hash(l, r, out);
}

static int path(const merkle_hash *d, uint64_t n, uint64_t m, merkle_hash *proof, int at)
{
	uint64_t k;

	if (n <= 1)
		return at;
	k = split_point(n);
	if (m < k) {
		at = path(d, k, m, proof, at);
		merkle_root(d + k, n - k, proof[at]);
	} else {
		at = path(d + k, n - k, m - k, proof, at);
		merkle_root(d, k, proof[at]);
	}
	return at + 1;
}

int merkle_inclusion_proof(const merkle_hash *leaves, uint64_t size, uint64_t index,
			   merkle_hash proof[MERKLE_MAX_PROOF])
{
	if (index >= size)
		return -1;
	return path(leaves, size, index, proof, 0);
}

static int subproof(const merkle_hash *d, uint64_t n, uint64_t m, int b, merkle_hash *proof, int at)
{
	uint64_t k;

	if (m == n) {
		if (b)
			return at;
		merkle_root(d, n, proof[at]);
		return at + 1;
	}
	k = split_point(n);
	if (m <= k) {
		at = subproof(d, k, m, b, proof, at);
		merkle_root(d + k, n - k, proof[at]);
	} else {
		at = subproof(d + k, n - k, m - k, 0, proof, at);
		merkle_root(d, k, proof[at]);
	}
	return at + 1;
}

int merkle_consistency_proof(const merkle_hash *leaves, uint64_t size1, uint64_t size2,
			     merkle_hash proof[MERKLE_MAX_PROOF])
{
	if (size1 > size2)
		return -1;
	if (size1 == 0 || size1 == size2)
		return 0;
	return subproof(leaves, size2, size1, 1, proof, 0);
}

/* --- verification (transparency-dev/merkle proof.Verify* semantics) --- */

static int bit_len(uint64_t x) { return x == 0 ? 0 : 64 - __builtin_clzll(x); }

static void chain_inner(merkle_hash seed, const merkle_hash *proof, int n, uint64_t index)
{
	for (int i = 0; i < n; i++) {
		if (((index >> i) & 1) == 0)
			merkle_node_hash(seed, proof[i], seed);
		else
			merkle_node_hash(proof[i], seed, seed);
	}
}

static void chain_inner_right(merkle_hash seed, const merkle_hash *proof, int n, uint64_t index)
{
	for (int i = 0; i < n; i++)
		if (((index >> i) & 1) == 1)
			merkle_node_hash(proof[i], seed, seed);
}

static void chain_border_right(merkle_hash seed, const merkle_hash *proof, int n)
{
	for (int i = 0; i < n; i++)
		merkle_node_hash(proof[i], seed, seed);
}

int merkle_verify_inclusion(uint64_t index, uint64_t size, const merkle_hash leaf,
			    const merkle_hash *proof, size_t plen, const merkle_hash root)
{
	merkle_hash h;
	int inner, border;

	if (index >= size)
		return -1;
	inner = bit_len(index ^ (size - 1));
	border = __builtin_popcountll(index >> inner);
	if (plen != (size_t)(inner + border))
		return -1;
	memcpy(h, leaf, SHA256_LEN);
	chain_inner(h, proof, inner, index);
	chain_border_right(h, proof + inner, border);
	return memcmp(h, root, SHA256_LEN) == 0 ? 0 : -1;
}

int merkle_verify_consistency(uint64_t size1, uint64_t size2, const merkle_hash root1,
			      const merkle_hash root2, const merkle_hash *proof, size_t plen)
{
	merkle_hash seed, h1, h2;
	int inner, border, shift, start;
	uint64_t mask;

	if (size2 < size1 || size1 == 0) /* a proof from the empty tree proves nothing */
		return -1;
	if (size1 == size2)
		return (plen == 0 && memcmp(root1, root2, SHA256_LEN) == 0) ? 0 : -1;
	if (plen == 0)
		return -1;
	inner = bit_len((size1 - 1) ^ (size2 - 1));
	border = __builtin_popcountll((size1 - 1) >> inner);
	shift = __builtin_ctzll(size1);
	inner -= shift;
	if (size1 == (1ULL << shift)) {
		memcpy(seed, root1, SHA256_LEN);
		start = 0;
	} else {
		memcpy(seed, proof[0], SHA256_LEN);
		start = 1;
	}
	if (plen != (size_t)(start + inner + border))
		return -1;
	proof += start;
	mask = (size1 - 1) >> shift;
	memcpy(h1, seed, SHA256_LEN);
	chain_inner_right(h1, proof, inner, mask);
	chain_border_right(h1, proof + inner, border);
	if (memcmp(h1, root1, SHA256_LEN) != 0)
		return -1;
	memcpy(h2, seed, SHA256_LEN);
	chain_inner(h2, proof, inner, mask);
	chain_border_right(h2, proof + inner, border);
	return memcmp(h2, root2, SHA256_LEN) == 0 ? 0 : -1;
}
