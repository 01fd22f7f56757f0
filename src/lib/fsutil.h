/*
 * fsutil.h — files the way secai's state needs them: atomic replace, bounded reads, mkdir -p.
 *
 * Owns: the write-fsync-rename-fsync(dir) sequence every piece of state goes through.
 * Never: leaves a half-written file at the destination path — a crash at any point leaves the
 * old content or the new, and at worst a stray "NAME.tmp.PID" beside it.
 */
#ifndef SECAI_FSUTIL_H
#define SECAI_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Replaces path with data atomically (temp file in the same dir, fsync, rename, fsync dir). */
int fs_atomic_write(const char *path, const void *data, size_t len, mode_t mode);
/* fsync()s the directory that holds path. */
int fs_fsync_parent(const char *path);
int fs_fsync_dir(const char *dir);
/* Reads a whole file of at most max bytes into a malloc'd NUL-terminated buffer.
 * errno = EFBIG when larger. */
int fs_read_file(const char *path, size_t max, char **out, size_t *len);
/* mkdir -p with mode for each created component. */
int fs_mkdir_p(const char *path, mode_t mode);
/* Writes all of buf to fd, retrying on EINTR and short writes. */
int fs_write_all(int fd, const void *buf, size_t len);

#endif
