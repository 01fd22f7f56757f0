/*
 * reg_store.c — deletion from the registry and the start-up sweep (see reg_store.h).
 *
 * Owns: the registry lock, the tombstones in STATE/registry/deleting/, the deletion sequence
 * (tombstone, signed manifest without the entry, files, tombstone removed) and its recovery.
 * Never: removes a path it did not build from a validated sha256, removes a model the signed
 * manifest lists, or rewrites the manifest without holding the lock.
 */
#define _XOPEN_SOURCE 700
#include "registry/reg_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "registry/reg_manifest.h"

#define RS_PATH 4400

void reg_crashpoint(const char *step)
{
	const char *at = getenv("SECAI_REG_CRASH_AT");

	if (at != NULL && strcmp(at, step) == 0)
		kill(getpid(), SIGKILL);
}

int reg_lock(const char *regdir, char *err, size_t errlen)
{
	char path[RS_PATH];
	int fd;

	if (fs_mkdir_p(regdir, 0700) != 0) {
		snprintf(err, errlen, "%s: %s", regdir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/registry.lock", regdir);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			snprintf(err, errlen, "lock %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

void reg_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

static int make_removable(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_D)
		chmod(p, 0700); /* a 0555 folder must be writable before its entries can go */
	return 0;
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return (flag == FTW_DP ? rmdir(p) : unlink(p)) == 0 || errno == ENOENT ? 0 : -1;
}

/* Removes STATE/registry/models/<sha256> and fsyncs models/. 0 also when it is already gone. */
static int remove_model_dir(const char *regdir, const char *sha256, char *err, size_t errlen)
{
	char models[RS_PATH], dir[RS_PATH + 80];
	struct stat st;

	if (!reg_is_sha256(sha256)) {
		snprintf(err, errlen, "not a sha256: refusing to remove anything");
		return -1;
	}
	snprintf(models, sizeof(models), "%s/models", regdir);
	snprintf(dir, sizeof(dir), "%s/%s", models, sha256);
	if (lstat(dir, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		nftw(dir, make_removable, 16, FTW_PHYS);
		if (nftw(dir, remove_one, 16, FTW_PHYS | FTW_DEPTH) != 0) {
			snprintf(err, errlen, "cannot remove %s: %s", dir, strerror(errno));
			return -1;
		}
	} else if (unlink(dir) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove %s: %s", dir, strerror(errno));
		return -1;
	}
	if (fs_fsync_dir(models) != 0) {
		snprintf(err, errlen, "fsync %s: %s", models, strerror(errno));
		return -1;
	}
	return 0;
}

/* The verified models array (an empty one when nothing was ever promoted). */
static int load_models(const char *regdir, const char *mpath, json_t **models, char *err,
		       size_t errlen)
{
	uint8_t pk[REG_PK_LEN];
	int rc = reg_pub_load(regdir, pk, err, errlen);

	*models = NULL;
	if (rc < 0)
		return -1;
	if (rc == 1) {
		if (access(mpath, F_OK) == 0) {
			snprintf(err, errlen, "manifest present but no registry.pub to verify it");
			return -1;
		}
		*models = json_array();
		return *models != NULL ? 0 : -1;
	}
	return reg_manifest_load(mpath, pk, models, err, errlen) < 0 ? -1 : 0;
}

static int tombstone_path(const char *regdir, const char *sha256, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/deleting/%s.json", regdir, sha256);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int reg_delete(const char *state_dir, const char *sha256, const json_t *who, json_t **entry,
	       char *err, size_t errlen)
{
	char regdir[4200], mpath[4200], tomb[RS_PATH], deleting[RS_PATH], ts[32];
	uint8_t sk[REG_SK_LEN], pk[REG_PK_LEN];
	json_t *models = NULL, *found, *t = NULL;
	char *text = NULL;
	time_t now = time(NULL);
	struct tm tm;
	int lock, rc = -1;

	if (entry != NULL)
		*entry = NULL;
	if (!reg_is_sha256(sha256)) {
		snprintf(err, errlen, "not a sha256 (64 lowercase hex digits)");
		return -1;
	}
	if (reg_paths(state_dir, regdir, sizeof(regdir), mpath, sizeof(mpath)) != 0 ||
	    tombstone_path(regdir, sha256, tomb, sizeof(tomb)) != 0) {
		snprintf(err, errlen, "registry path too long");
		return -1;
	}
	snprintf(deleting, sizeof(deleting), "%s/deleting", regdir);
	if ((lock = reg_lock(regdir, err, errlen)) < 0)
		return -1;
	if (load_models(regdir, mpath, &models, err, errlen) != 0)
		goto done;
	found = reg_models_find(models, sha256);
	if (found == NULL) {
		rc = 1;
		goto done;
	}
	if (entry != NULL)
		*entry = json_deep_copy(found);
	if (reg_key_load_or_create(regdir, sk, pk, err, errlen) != 0)
		goto done;
	/* 1. the tombstone */
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	t = json_pack("{s:s, s:O, s:s, s:O}", "sha256", sha256, "entry", found, "time", ts, "who",
		      who != NULL ? (json_t *)who : json_null());
	text = t != NULL ? json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (fs_mkdir_p(deleting, 0700) != 0 || fs_atomic_write(tomb, text, strlen(text), 0600) != 0) {
		snprintf(err, errlen, "%s: %s", tomb, strerror(errno));
		goto done;
	}
	reg_crashpoint("delete.tombstone");
	/* 2. the commit: the signed manifest without the entry */
	if (reg_models_remove(models, sha256) < 1) {
		snprintf(err, errlen, "out of memory");
		goto undo;
	}
	if (reg_manifest_write(mpath, sk, pk, models, err, errlen) != 0)
		goto undo;
	reg_crashpoint("delete.manifest");
	/* 3. the files; 4. the tombstone */
	rc = 0; /* committed: the registry no longer lists it, whatever happens to the files */
	if (remove_model_dir(regdir, sha256, err, errlen) != 0) {
		/* the tombstone stays: the next sweep (either daemon's start) removes the rest */
		log_warnx("deleted %.12s from the manifest, but %s: its tombstone stays for the "
			  "next sweep",
			  sha256, err);
		goto done;
	}
	reg_crashpoint("delete.files");
	if (unlink(tomb) != 0 || fs_fsync_dir(deleting) != 0)
		log_warn("deleted %.12s, but its tombstone %s stays until the next sweep", sha256,
			 tomb);
	goto done;
undo:
	/* nothing committed: the tombstone would only make the sweep look at a listed model */
	if (unlink(tomb) == 0)
		fs_fsync_dir(deleting);
done:
	sodium_memzero(sk, sizeof(sk));
	free(text);
	json_decref(t);
	json_decref(models);
	reg_unlock(lock);
	if (rc != 0 && entry != NULL) {
		json_decref(*entry);
		*entry = NULL;
	}
	return rc;
}

int reg_sweep_locked(const char *state_dir, json_t *done, char *err, size_t errlen)
{
	char regdir[4200], mpath[4200], deleting[RS_PATH];
	json_t *models = NULL;
	struct dirent *de;
	DIR *d;

	if (reg_paths(state_dir, regdir, sizeof(regdir), mpath, sizeof(mpath)) != 0) {
		snprintf(err, errlen, "registry path too long");
		return -1;
	}
	snprintf(deleting, sizeof(deleting), "%s/deleting", regdir);
	if (load_models(regdir, mpath, &models, err, errlen) != 0)
		return -1;
	if ((d = opendir(deleting)) == NULL) {
		int e = errno;
		json_decref(models);
		if (e == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", deleting, strerror(e));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char sha[65], tomb[RS_PATH + 300], e2[300];
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		snprintf(tomb, sizeof(tomb), "%s/%s", deleting, de->d_name);
		if (n != 64 + 5 || strcmp(de->d_name + 64, ".json") != 0) {
			/* a temporary file of an interrupted fs_atomic_write: never a commit */
			if (strstr(de->d_name, ".tmp.") != NULL && unlink(tomb) == 0)
				log_info("sweep: removed the stray %s", tomb);
			continue;
		}
		memcpy(sha, de->d_name, 64);
		sha[64] = '\0';
		if (!reg_is_sha256(sha))
			continue;
		if (reg_models_find(models, sha) != NULL) {
			log_info("sweep: the deletion of %.12s did not commit (the manifest still "
				 "lists it): kept",
				 sha);
		} else if (remove_model_dir(regdir, sha, e2, sizeof(e2)) != 0) {
			log_warnx("sweep: %s", e2);
			continue;
		} else {
			log_info("sweep: finished deleting %.12s (its files are gone)", sha);
			if (done != NULL)
				json_array_append_new(done, json_string(sha));
		}
		if (unlink(tomb) != 0)
			log_warn("sweep: cannot remove %s", tomb);
	}
	closedir(d);
	fs_fsync_dir(deleting);
	json_decref(models);
	return 0;
}

int reg_sweep(const char *state_dir, json_t *done, char *err, size_t errlen)
{
	char regdir[4200], mpath[4200];
	int lock, rc;

	if (reg_paths(state_dir, regdir, sizeof(regdir), mpath, sizeof(mpath)) != 0) {
		snprintf(err, errlen, "registry path too long");
		return -1;
	}
	if ((lock = reg_lock(regdir, err, errlen)) < 0)
		return -1;
	rc = reg_sweep_locked(state_dir, done, err, errlen);
	reg_unlock(lock);
	return rc;
}

int reg_store_unlisted(const char *state_dir, json_t *out, char *err, size_t errlen)
{
	char regdir[4200], mpath[4200], dir[RS_PATH];
	json_t *models = NULL;
	struct dirent *de;
	DIR *d;

	if (reg_paths(state_dir, regdir, sizeof(regdir), mpath, sizeof(mpath)) != 0) {
		snprintf(err, errlen, "registry path too long");
		return -1;
	}
	if (load_models(regdir, mpath, &models, err, errlen) != 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/models", regdir);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (reg_is_sha256(de->d_name) && reg_models_find(models, de->d_name) == NULL)
				json_array_append_new(out, json_string(de->d_name));
		closedir(d);
	}
	json_decref(models);
	return 0;
}
