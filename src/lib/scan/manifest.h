/*
 * manifest.h — the per-tensor integrity manifest of a model file: every tensor's SHA-256, an
 * RFC 6962 Merkle root over them, and a structure hash that ignores tensor order.
 *
 * Owns: building a manifest from the weight-statistics pass (which hashes each tensor), its JSON
 * form ("secai-tensor-manifest/1", docs/signatures.md), reading it back strictly, and comparing
 * a model with a manifest tensor by tensor ("manifest.*" findings).
 * Never: hashes model bytes itself (wstats does, in the same pass as the statistics), trusts a
 * manifest's roots without recomputing them from its tensor list, or accepts unknown fields.
 *
 * Merkle leaf i (file order) = RFC 6962 leaf hash of: u32le(len(name)) || name || sha256(tensor).
 * Structure hash = SHA-256 over the tensors sorted by name (bytewise) of:
 * u32le(len(name)) || name || u32le(len(type)) || type || u32le(n_dims) || u64le(ne[i])...
 */
#ifndef SECAI_MANIFEST_H
#define SECAI_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "scan/scan.h"
#include "scan/wstats.h"

#define MANIFEST_FORMAT "secai-tensor-manifest/1"
#define MANIFEST_MAX_BYTES (256u << 20)
#define MANIFEST_MAX_TENSORS (1u << 20)

struct manifest_tensor {
	char name[WSTATS_NAME_MAX];
	char type[16];
	uint32_t n_dims;
	uint64_t ne[WSTATS_MAX_DIMS];
	uint64_t offset, nbytes;
	uint8_t sha256[32];
};

struct manifest {
	char file_format[16]; /* "gguf", "safetensors" */
	struct manifest_tensor *t; /* file order */
	size_t n;
	uint8_t merkle_root[32];
	uint8_t structure[32];
};

/* Copies the tensors of a wstats pass and computes both roots. Returns 0 or -1 (memory). */
int manifest_from_wstats(const struct wstats *w, struct manifest *m);
/* Recomputes merkle_root and structure from m->t. Returns 0 or -1. */
int manifest_compute(struct manifest *m);
/* JSON (indented, keys in a fixed order) appended to out; label = the model's file name. */
int manifest_to_json(const struct manifest *m, const char *label, struct buf *out);
/* Writes the JSON to path atomically (0644). Returns 0 or -1 (errno). */
int manifest_write(const struct manifest *m, const char *label, const char *path);
/* Strict read; the roots written in the file must equal the ones recomputed from its tensors.
 * Returns 0, or -1 with err filled. */
int manifest_parse(const char *json, size_t len, struct manifest *m, char *err, size_t errlen);
int manifest_load(const char *path, struct manifest *m, char *err, size_t errlen);
/*
 * Compares the model (actual) with a manifest (expected): each tensor changed
 * ("manifest.tensor_changed"), reshaped or retyped ("manifest.tensor_reshaped"), missing
 * ("manifest.tensor_missing") or added ("manifest.tensor_added") is named (REJECT); the same
 * tensors in another order give "manifest.reordered" (WARN). An INFO "manifest.verified" when
 * equal. Returns 0 when equal (order aside), 1 when not.
 */
int manifest_verify(const struct manifest *expected, const struct manifest *actual,
		    struct scan_report *r, const char *file);
void manifest_free(struct manifest *m);

#endif
