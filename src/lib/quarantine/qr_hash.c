/*
 * qr_hash.c — the identity of a model item: SHA-256 of a file, or of a folder's sorted tree.
 *
 * Owns: qr_hash_item(), shared by secai-quarantine (naming what it vets) and secai-registry
 * (re-hashing what it lists), so both compute the same identity the same way.
 * Never: follows a symlink (O_NOFOLLOW; a symlink inside a folder is hashed as its target's
 * name, not its contents), or descends more than 16 folders deep.
 */
#include "quarantine/qr_hash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "sha256.h"

#define QR_HASH_PATH_MAX 4200

struct tree_line {
	char *rel;
	char line[QR_HASH_PATH_MAX + 80];
};

static int tl_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tree_line *)a)->rel, ((const struct tree_line *)b)->rel);
}

int qr_hash_file(const char *path, uint8_t d[32], uint64_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	rc = sha256_fd(fd, d);
	close(fd);
	*size += (uint64_t)st.st_size;
	return rc;
}

static int walk(const char *root, const char *rel, int depth, struct tree_line **v, size_t *n,
		size_t *cap, uint64_t *size)
{
	char dpath[QR_HASH_PATH_MAX];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (depth > 16)
		return -1;
	snprintf(dpath, sizeof(dpath), "%s%s%s", root, rel[0] ? "/" : "", rel);
	if ((d = opendir(dpath)) == NULL)
		return -1;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char full[QR_HASH_PATH_MAX], r[QR_HASH_PATH_MAX];
		struct stat st;
		uint8_t h[32];
		char hex[65];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(r, sizeof(r), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
		snprintf(full, sizeof(full), "%s/%s", root, r);
		if (lstat(full, &st) != 0) {
			rc = -1;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			rc = walk(root, r, depth + 1, v, n, cap, size);
			continue;
		}
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 64;
			struct tree_line *nv = realloc(*v, nc * sizeof(*nv));
			if (nv == NULL || nc > 100000) {
				free(nv == *v ? NULL : nv);
				rc = -1;
				break;
			}
			*v = nv;
			*cap = nc;
		}
		if (S_ISLNK(st.st_mode)) {
			char tgt[1024];
			ssize_t k = readlink(full, tgt, sizeof(tgt) - 1);
			tgt[k < 0 ? 0 : k] = '\0';
			snprintf((*v)[*n].line, sizeof((*v)[*n].line), "symlink:%s  %s\n", tgt, r);
		} else if (S_ISREG(st.st_mode)) {
			if (qr_hash_file(full, h, size) != 0) {
				rc = -1;
				break;
			}
			hex_encode(h, 32, hex);
			snprintf((*v)[*n].line, sizeof((*v)[*n].line), "%s  %s\n", hex, r);
		} else {
			snprintf((*v)[*n].line, sizeof((*v)[*n].line), "special  %s\n", r);
		}
		(*v)[*n].rel = strdup(r);
		if ((*v)[*n].rel == NULL) {
			rc = -1;
			break;
		}
		(*n)++;
	}
	closedir(d);
	return rc;
}

int qr_hash_item(const char *path, char hex[65], uint64_t *size, size_t *nfiles, char *err,
		 size_t errlen)
{
	struct stat st;
	uint8_t d[32];

	*size = 0;
	*nfiles = 0;
	if (lstat(path, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		if (qr_hash_file(path, d, size) != 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		*nfiles = 1;
	} else if (S_ISDIR(st.st_mode)) {
		struct tree_line *v = NULL;
		size_t n = 0, cap = 0;
		struct sha256 h;
		int rc = walk(path, "", 0, &v, &n, &cap, size);

		if (rc == 0) {
			qsort(v, n, sizeof(*v), tl_cmp);
			rc = sha256_init(&h);
			for (size_t i = 0; rc == 0 && i < n; i++)
				rc = sha256_update(&h, v[i].line, strlen(v[i].line));
			if (rc == 0)
				rc = sha256_final(&h, d);
			sha256_free(&h);
		}
		for (size_t i = 0; i < n; i++)
			free(v[i].rel);
		free(v);
		if (rc != 0) {
			snprintf(err, errlen, "%s: cannot walk the folder", path);
			return -1;
		}
		*nfiles = n;
	} else {
		/* A symlink or special file: named by what it is, rejected at the format gate. */
		char what[QR_HASH_PATH_MAX + 16];
		snprintf(what, sizeof(what), "special:%s", path);
		if (sha256_digest(what, strlen(what), d) != 0)
			return -1;
	}
	hex_encode(d, 32, hex);
	return 0;
}
