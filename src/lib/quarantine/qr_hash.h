/*
 * qr_hash.h — the SHA-256 that names a model item (file or folder); see qr_hash.c.
 */
#ifndef SECAI_QR_HASH_H
#define SECAI_QR_HASH_H

#include <stddef.h>
#include <stdint.h>

/* SHA-256 of a file (O_NOFOLLOW) or of a folder: SHA-256 over the sorted lines
 * "<hex sha256 of file>  <relative path>\n" (symlinks as "symlink:<target>"). Also the total
 * size and file count. 0, or -1 with err. */
int qr_hash_item(const char *path, char hex[65], uint64_t *size, size_t *nfiles, char *err,
		 size_t errlen);

/* SHA-256 of one regular file opened O_NOFOLLOW; its size is added to *size. 0, or -1 (errno:
 * ELOOP for a symlink, EINVAL for anything but a regular file). */
int qr_hash_file(const char *path, uint8_t d[32], uint64_t *size);

#endif
