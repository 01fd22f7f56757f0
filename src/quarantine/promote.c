/*
 * promote.c — moving a vetted model into the registry, a rejected one into rejected/, and
 * start-up recovery after a crash.
 *
 * Owns: the promotion sequence (processing/NAME -> registry/models/.tmp-SHA/NAME, read-only,
 * fsync, rename to models/SHA, fsync, signed manifest rewritten atomically) and its recovery
 * (a .tmp-SHA folder or a models/SHA folder the manifest does not list goes back to
 * processing/ and is vetted again), and the rejected/SHA/ folder with its report copy.
 * Both run under the registry lock (reg_store.h) after its sweep, so a deletion secai-registry
 * committed is finished first: its leftover folder is removed, never vetted and promoted again.
 * Never: lists a model in the manifest before its folder is complete and read-only, leaves a
 * model in two places a reader could mistake for promoted, follows a symlink while moving, or
 * rewrites the manifest without the registry lock.
 */
#define _XOPEN_SOURCE 700
#include "quarantine/qr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "registry/reg_manifest.h"
#include "registry/reg_store.h"

static const char *const sidecar_suffix[] = {".source.json", ".sig", ".sigstore.json"};

static int make_writable(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)f;
	if (flag == FTW_D || flag == FTW_DP)
		chmod(p, 0700);
	else if (flag == FTW_F && S_ISREG(st->st_mode))
		chmod(p, 0600);
	return 0;
}

static int make_readonly(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	int fd;

	(void)f;
	if (flag == FTW_F && S_ISREG(st->st_mode)) {
		if (chmod(p, 0444) != 0)
			return -1;
		if ((fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
			fsync(fd);
			close(fd);
		}
	} else if (flag == FTW_DP) {
		if ((fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			fsync(fd);
			close(fd);
		}
		if (chmod(p, 0555) != 0)
			return -1;
	}
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return (flag == FTW_DP ? rmdir(p) : unlink(p)) == 0 || errno == ENOENT ? 0 : -1;
}

static int rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	/* FTW_D pre-order so each directory is writable before its entries are removed */
	nftw(path, make_writable, 16, FTW_PHYS);
	return nftw(path, rm_one, 16, FTW_PHYS | FTW_DEPTH);
}

/* Moves processing/NAME and its sidecars into dir (which exists). */
static int move_item(const struct qr_env *env, const char *name, const char *dir, char *err,
		     size_t errlen)
{
	char from[QR_PATH_MAX + 64], to[QR_PATH_MAX + 300];

	snprintf(from, sizeof(from), "%s/processing/%s", env->qdir, name);
	snprintf(to, sizeof(to), "%s/%s", dir, name);
	if (rename(from, to) != 0) {
		snprintf(err, errlen, "rename %s -> %s: %s", from, to, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < 3; i++) {
		snprintf(from, sizeof(from), "%s/processing/%s%s", env->qdir, name,
			 sidecar_suffix[i]);
		snprintf(to, sizeof(to), "%s/%s%s", dir, name, sidecar_suffix[i]);
		if (rename(from, to) != 0 && errno != ENOENT) {
			snprintf(err, errlen, "rename %s: %s", from, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int manifest_add(const struct qr_env *env, const char *sha256, json_t *entry, char *err,
			size_t errlen)
{
	char regdir[QR_PATH_MAX], mpath[QR_PATH_MAX];
	uint8_t sk[REG_SK_LEN], pk[REG_PK_LEN];
	json_t *models = NULL;
	int rc = -1;

	if (reg_paths(env->state, regdir, sizeof(regdir), mpath, sizeof(mpath)) != 0) {
		snprintf(err, errlen, "registry path too long");
		return -1;
	}
	if (reg_key_load_or_create(regdir, sk, pk, err, errlen) != 0)
		return -1;
	if (reg_manifest_load(mpath, pk, &models, err, errlen) < 0)
		goto done;
	if (reg_models_find(models, sha256) == NULL && json_array_append(models, entry) != 0) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	rc = reg_manifest_write(mpath, sk, pk, models, err, errlen);
done:
	memset(sk, 0, sizeof(sk));
	json_decref(models);
	return rc;
}

static int promote_locked(const struct qr_env *env, const char *name, const char *sha256,
			  json_t *entry, char *where, size_t wlen, char *err, size_t errlen)
{
	char models[QR_PATH_MAX], tmp[QR_PATH_MAX + 80], fin[QR_PATH_MAX + 80],
	    path[QR_PATH_MAX + 400];
	struct stat st;

	snprintf(models, sizeof(models), "%s/registry/models", env->state);
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", models, sha256);
	snprintf(fin, sizeof(fin), "%s/%s", models, sha256);
	snprintf(path, sizeof(path), "%s/%s", fin, name);
	snprintf(where, wlen, "%s", fin);
	if (fs_mkdir_p(models, 0700) != 0) {
		snprintf(err, errlen, "%s: %s", models, strerror(errno));
		return -1;
	}
	json_object_set_new(entry, "path", json_string(path));
	if (lstat(fin, &st) == 0) {
		/* The same bytes were promoted before: keep that copy, drop this one. */
		char dup[QR_PATH_MAX + 64];
		snprintf(dup, sizeof(dup), "%s/processing/%s", env->qdir, name);
		log_info("%s: already in the registry as %.12s; dropping the duplicate", name,
			 sha256);
		if (manifest_add(env, sha256, entry, err, errlen) != 0)
			return -1;
		rm_rf(dup);
		for (size_t i = 0; i < 3; i++) {
			snprintf(dup, sizeof(dup), "%s/processing/%s%s", env->qdir, name,
				 sidecar_suffix[i]);
			unlink(dup);
		}
		return 0;
	}
	if (rm_rf(tmp) != 0 || mkdir(tmp, 0700) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (move_item(env, name, tmp, err, errlen) != 0)
		return -1;
	qr_crashpoint("promote.moved");
	if (nftw(tmp, make_readonly, 16, FTW_PHYS | FTW_DEPTH) != 0) {
		snprintf(err, errlen, "%s: cannot make read-only: %s", tmp, strerror(errno));
		return -1;
	}
	qr_crashpoint("promote.readonly");
	if (rename(tmp, fin) != 0 || fs_fsync_dir(models) != 0) {
		snprintf(err, errlen, "rename %s: %s", tmp, strerror(errno));
		return -1;
	}
	qr_crashpoint("promote.renamed");
	if (manifest_add(env, sha256, entry, err, errlen) != 0)
		return -1;
	qr_crashpoint("promote.manifest");
	return 0;
}

int qr_promote(const struct qr_env *env, const char *name, const char *sha256, json_t *entry,
	       char *where, size_t wlen, char *err, size_t errlen)
{
	char regdir[QR_PATH_MAX], mpath[QR_PATH_MAX];
	int lock, rc;

	if (reg_paths(env->state, regdir, sizeof(regdir), mpath, sizeof(mpath)) != 0) {
		snprintf(err, errlen, "registry path too long");
		return -1;
	}
	if ((lock = reg_lock(regdir, err, errlen)) < 0)
		return -1;
	/* a deletion of these same bytes a crash interrupted must finish before they return */
	if (reg_sweep_locked(env->state, NULL, err, errlen) != 0) {
		reg_unlock(lock);
		return -1;
	}
	rc = promote_locked(env, name, sha256, entry, where, wlen, err, errlen);
	reg_unlock(lock);
	return rc;
}

int qr_reject_move(const struct qr_env *env, const char *name, const char *sha256,
		   char *where, size_t wlen, char *err, size_t errlen)
{
	char dir[QR_PATH_MAX + 80], rep[QR_PATH_MAX + 80], dst[QR_PATH_MAX + 120], *buf;
	size_t len;

	snprintf(dir, sizeof(dir), "%s/rejected/%s", env->qdir, sha256);
	snprintf(where, wlen, "%s", dir);
	if (rm_rf(dir) != 0 || fs_mkdir_p(dir, 0700) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(rep, sizeof(rep), "%s/reports/%s.json", env->qdir, sha256);
	snprintf(dst, sizeof(dst), "%s/report.json", dir);
	if (fs_read_file(rep, 64u << 20, &buf, &len) == 0) {
		int rc = fs_atomic_write(dst, buf, len, 0600);
		free(buf);
		if (rc != 0) {
			snprintf(err, errlen, "%s: %s", dst, strerror(errno));
			return -1;
		}
	}
	if (move_item(env, name, dir, err, errlen) != 0)
		return -1;
	nftw(dir, make_writable, 16, FTW_PHYS); /* keep rejected files removable, not runnable */
	return fs_fsync_dir(dir);
}

/* Moves every entry of dir back into processing/ and removes dir. */
static int requeue(const struct qr_env *env, const char *dir)
{
	struct dirent *de;
	DIR *d;

	nftw(dir, make_writable, 16, FTW_PHYS);
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char from[QR_PATH_MAX + 300], to[QR_PATH_MAX + 300];
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(from, sizeof(from), "%s/%s", dir, de->d_name);
		snprintf(to, sizeof(to), "%s/processing/%s", env->qdir, de->d_name);
		if (rename(from, to) != 0)
			log_warn("recover: rename %s", from);
		else
			log_info("recover: %s back to processing/", de->d_name);
	}
	closedir(d);
	return rm_rf(dir);
}

static int recover_locked(const struct qr_env *env, const char *regdir, const char *mpath);

int qr_recover(const struct qr_env *env)
{
	char regdir[QR_PATH_MAX], mpath[QR_PATH_MAX], err[300];
	int lock, rc;

	if (reg_paths(env->state, regdir, sizeof(regdir), mpath, sizeof(mpath)) != 0)
		return -1;
	if ((lock = reg_lock(regdir, err, sizeof(err))) < 0) {
		log_warnx("recover: %s", err);
		return -1;
	}
	/* first finish deletions a crash interrupted, so their folders are not vetted again */
	if (reg_sweep_locked(env->state, NULL, err, sizeof(err)) != 0)
		log_warnx("recover: sweep: %s", err);
	rc = recover_locked(env, regdir, mpath);
	reg_unlock(lock);
	return rc;
}

static int recover_locked(const struct qr_env *env, const char *regdir, const char *mpath)
{
	char models[QR_PATH_MAX], err[300];
	uint8_t pk[REG_PK_LEN];
	json_t *listed = NULL;
	struct dirent *de;
	bool have_pk;
	DIR *d;

	snprintf(models, sizeof(models), "%s/registry/models", env->state);
	have_pk = reg_pub_load(regdir, pk, err, sizeof(err)) == 0;
	if (have_pk && reg_manifest_load(mpath, pk, &listed, err, sizeof(err)) < 0) {
		log_warnx("recover: registry manifest does not verify (%s): nothing is moved", err);
		return -1;
	}
	if ((d = opendir(models)) == NULL) {
		json_decref(listed);
		return errno == ENOENT ? 0 : -1;
	}
	while ((de = readdir(d)) != NULL) {
		char p[QR_PATH_MAX + 300];
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", models, de->d_name);
		if (strncmp(de->d_name, ".tmp-", 5) == 0) {
			log_info("recover: half-promoted %s", de->d_name);
			requeue(env, p);
		} else if (reg_is_sha256(de->d_name) &&
			   (listed == NULL || reg_models_find(listed, de->d_name) == NULL)) {
			log_info("recover: %s is not in the manifest; vetting it again",
				 de->d_name);
			requeue(env, p);
		}
	}
	closedir(d);
	json_decref(listed);
	return 0;
}
