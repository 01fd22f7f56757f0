/*
 * zip.h — a small, read-only zip reader for the scanners (PyTorch zips, .npz, .keras, any zip
 * found by content), over a caller's buffer.
 *
 * Owns: finding members — from the central directory (zip64 included) AND from every local
 * header signature in the file, so a member missing from (or renamed in) the central directory
 * is still seen — and giving a member's bytes (stored: a pointer into the buffer; deflate:
 * inflated with zlib into a bounded heap buffer).
 * Never: trusts a size, offset or count before bounding it by the buffer, inflates more than the
 * caller's cap (zip bombs), checks CRCs or honours flag bits (PyTorch ignores them; so must a
 * scanner), follows names onto the filesystem, or writes anything.
 */
#ifndef SECAI_SCAN_ZIP_H
#define SECAI_SCAN_ZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scan/scan.h"

#define ZIP_MAX_MEMBERS 65536u
#define ZIP_NAME_MAX 256 /* names are cut (with "...") beyond this */

struct zip_member {
	char name[ZIP_NAME_MAX];  /* bytes of the name, NUL-terminated, may be cut */
	uint16_t method;	  /* 0 stored, 8 deflate, others unsupported */
	uint16_t flags;		  /* general-purpose bits (bit 0: encrypted) */
	uint64_t csize, usize;	  /* compressed / uncompressed sizes */
	uint64_t lh_offset;	  /* local header offset */
	uint64_t data_offset;	  /* first byte of the member's data */
	bool in_cd;		  /* listed in the central directory */
	bool sizes_known;	  /* sizes come from the CD or a local header without bit 3 */
};

struct zip_archive {
	const uint8_t *data;
	size_t len;
	struct zip_member *m;
	size_t n, cap;
	bool cd_ok; /* an end-of-central-directory record was found and parsed */
};

/* True when the buffer starts with a zip local header or is an empty zip ("PK\x05\x06"). */
bool zip_sniff(const uint8_t *data, size_t len);

/*
 * Reads the members of data[0..len). Structural problems are added to r (reason ids "zip.*")
 * about file. Returns 0 (members in z, possibly none), or -1 out of memory.
 */
int zip_open_buffer(const uint8_t *data, size_t len, struct zip_archive *z, struct scan_report *r,
		    const char *file);
void zip_close(struct zip_archive *z);

/*
 * Gives member m's bytes, at most max_out of them (*cut set when there were more). Stored: *out
 * points into the buffer and *owned is NULL. Deflate: *owned is a heap buffer the caller frees.
 * Returns 0, 1 when the member cannot be read (unsupported method, out of bounds, corrupt
 * deflate: a finding is added to r), or -1 out of memory.
 */
int zip_member_data(const struct zip_archive *z, const struct zip_member *m, size_t max_out,
		    const uint8_t **out, size_t *outlen, uint8_t **owned, bool *cut,
		    struct scan_report *r, const char *file);

#endif
