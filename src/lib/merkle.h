/*
 * merkle.h — RFC 6962 Merkle tree hashing, compact ranges, inclusion and consistency proofs.
 *
 * Owns: the tree math the audit log's checkpoints sign (leaf = SHA-256(0x00 || data),
 * node = SHA-256(0x01 || left || right), empty tree = SHA-256("")). Proof generation and
 * verification follow RFC 6962 §2.1 and transparency-dev/merkle's verifier.
 * Never: allocates during append; accepts a proof of the wrong length.
 */
#ifndef SECAI_MERKLE_H
#define SECAI_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

#define MERKLE_MAX_PROOF 64

typedef uint8_t merkle_hash[SHA256_LEN];

/* Incremental root over an append-only sequence of leaves: log2(size) stored subtree roots. */
struct merkle_range {
	uint64_t size;
	int n;                    /* number of stored perfect-subtree roots */
	merkle_hash stack[64];    /* roots of the perfect subtrees, largest first */
};

void merkle_leaf_hash(const void *data, size_t len, merkle_hash out);
void merkle_node_hash(const merkle_hash left, const merkle_hash right, merkle_hash out);

void merkle_range_init(struct merkle_range *r);
void merkle_range_append(struct merkle_range *r, const merkle_hash leaf);
void merkle_range_root(const struct merkle_range *r, merkle_hash out);

/* Root over leaves[0..n). */
void merkle_root(const merkle_hash *leaves, uint64_t n, merkle_hash out);
/* Inclusion proof of leaf `index` in the tree of the first `size` leaves. Returns proof length
 * or -1 when index >= size. */
int merkle_inclusion_proof(const merkle_hash *leaves, uint64_t size, uint64_t index,
			   merkle_hash proof[MERKLE_MAX_PROOF]);
/* Consistency proof between the trees of the first size1 and size2 leaves (size1 <= size2). */
int merkle_consistency_proof(const merkle_hash *leaves, uint64_t size1, uint64_t size2,
			     merkle_hash proof[MERKLE_MAX_PROOF]);

/* Verifiers: 0 when the proof is valid, -1 otherwise. */
int merkle_verify_inclusion(uint64_t index, uint64_t size, const merkle_hash leaf,
			    const merkle_hash *proof, size_t plen, const merkle_hash root);
int merkle_verify_consistency(uint64_t size1, uint64_t size2, const merkle_hash root1,
			      const merkle_hash root2, const merkle_hash *proof, size_t plen);

#endif
