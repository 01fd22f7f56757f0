/*
 * safetensors.h — the strict safetensors checker (single files, and sharded models through
 * model.safetensors.index.json).
 *
 * Owns: the safetensors rules (docs/scanning.md): 8-byte header length <= 100 MB and inside the
 * file; header UTF-8 JSON object with no duplicate key; each tensor entry exactly {dtype, shape,
 * data_offsets} with a known dtype; __metadata__ string-to-string; offsets one contiguous run
 * from 0 (no gap, overlap or alias); byte sizes = shape x dtype bits / 8 with overflow checks;
 * file size exactly 8 + N + last end. The index rules: weight_map maps names to plain file names
 * in the same folder, every shard exists and passes, every tensor of the map is in its shard.
 * Never: reads tensor data, allocates by the header length before checking it against the file
 * size, or accepts what the reference parser rejects (it is stricter: duplicates, unknown fields).
 *
 * Reason ids: st.too_small, st.header_too_large, st.header_length, st.header_utf8,
 * st.header_json, st.duplicate_key, st.header_not_object, st.tensor_entry, st.dtype, st.shape,
 * st.metadata, st.overflow, st.misaligned, st.invalid_offset, st.size_mismatch, st.file_size,
 * st.index_json, st.index_shard, st.index_tensor, st.io.
 */
#ifndef SECAI_SCAN_SAFETENSORS_H
#define SECAI_SCAN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "scan/scan.h"

#define ST_MAX_HEADER 100000000ull /* the reference's MAX_HEADER_SIZE */

/* Bits per element of a dtype name ("F16" -> 16), or 0 when unknown (case-sensitive). */
unsigned st_dtype_bits(const char *dtype);

/*
 * Checks a safetensors file given its first bytes head[0..head_len) — at least
 * min(file_size, 8 + N) of them — and its total size. Findings about file go to r. When names
 * is not NULL it receives a jansson array of the tensor names (caller json_decref's it).
 * Returns 0 valid, 1 invalid (findings added), -1 out of memory.
 */
int st_check(const uint8_t *head, size_t head_len, uint64_t file_size, const char *file,
	     struct scan_report *r, void **names);
/* The same on a whole buffer (tests, fuzzing). */
int st_check_buffer(const uint8_t *data, size_t len, const char *file, struct scan_report *r);
/* Opens path (reading only its header). Returns 0, 1 or -1 (I/O: an "st.io" error finding). */
int st_check_file(const char *path, struct scan_report *r);
/* Checks dir/index_name (model.safetensors.index.json) and the shards it names.
 * Returns as above. */
int st_check_index(const char *dir, const char *index_name, struct scan_report *r);

#endif
