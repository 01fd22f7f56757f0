/*
 * import.c — `securectl import PATH [--source URL] [--name NAME] [--wait SECONDS]`: copies a model
 * file or folder into STATE/quarantine/incoming/ for secai-quarantine to vet.
 *
 * Owns: the copy (under a hidden temporary name, fsync'ed, then renamed in, so the daemon never
 * sees a partial file), the sidecar NAME.source.json with the origin (written first), the
 * progress bar on stderr, and optionally waiting for the verdict in reports/.
 * Never: scans, opens or trusts the model itself (the quarantine does), follows a symlink
 * (symlinks inside a folder are copied as symlinks, for the folder scan to refuse), or writes
 * outside incoming/.
 * Exit: 0 copied (with --wait: promoted), 2 rejected (with --wait), 1 error, 64 usage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "json.h"
#include "quarantine/qr_policy.h"
#include "registry/reg_manifest.h"
#include "securectl/ctl.h"
#include "securectl/securectl.h"
#include "sha256.h"

struct progress {
	uint64_t total, done;
	int last;
	bool tty;
};

static void progress_show(struct progress *p, bool final)
{
	int pct = p->total ? (int)(p->done * 100 / p->total) : 100;

	if (!final && pct == p->last)
		return;
	p->last = pct;
	fprintf(stderr, "\rimport [");
	for (int i = 0; i < 40; i++)
		fputc(i < pct * 40 / 100 ? '#' : '.', stderr);
	fprintf(stderr, "] %3d%% %llu/%llu MiB%s", pct, (unsigned long long)(p->done >> 20),
		(unsigned long long)(p->total >> 20), final ? "\n" : "");
	fflush(stderr);
}

static int copy_file(const char *from, const char *to, struct progress *pg, struct sha256 *h)
{
	char buf[1 << 16];
	int in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out;
	ssize_t k;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((k = read(in, buf, sizeof(buf))) > 0) {
		if (fs_write_all(out, buf, (size_t)k) != 0)
			break;
		if (h != NULL)
			sha256_update(h, buf, (size_t)k);
		pg->done += (uint64_t)k;
		progress_show(pg, false);
	}
	if (k != 0 || fsync(out) != 0) {
		close(in);
		close(out);
		return -1;
	}
	close(in);
	return close(out);
}

static int tree_size(const char *path, uint64_t *size)
{
	struct stat st;
	struct dirent *de;
	DIR *d;

	if (lstat(path, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		*size += S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
		return 0;
	}
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char p[PATH_MAX];
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if (tree_size(p, size) != 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

static int copy_tree(const char *from, const char *to, struct progress *pg)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (lstat(from, &st) != 0)
		return -1;
	if (S_ISLNK(st.st_mode)) {
		char tgt[PATH_MAX];
		ssize_t k = readlink(from, tgt, sizeof(tgt) - 1);
		if (k < 0)
			return -1;
		tgt[k] = '\0';
		return symlink(tgt, to);
	}
	if (S_ISREG(st.st_mode))
		return copy_file(from, to, pg, NULL);
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "securectl import: %s: not a file or folder: skipped\n", from);
		return 0;
	}
	if (mkdir(to, 0700) != 0 || (d = opendir(from)) == NULL)
		return -1;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char a[PATH_MAX], b[PATH_MAX];
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(a, sizeof(a), "%s/%s", from, de->d_name);
		snprintf(b, sizeof(b), "%s/%s", to, de->d_name);
		rc = copy_tree(a, b, pg);
	}
	closedir(d);
	return rc == 0 ? fs_fsync_dir(to) : rc;
}

static void usage(FILE *fp)
{
	fprintf(fp, "usage: securectl import PATH [--source URL] [--name NAME] [--wait SECONDS]\n"
		    "Copies a model file or folder into the quarantine (STATE/quarantine/incoming/),\n"
		    "recording its origin in NAME.source.json. secai-quarantine vets it and promotes\n"
		    "it into the registry or rejects it (docs/quarantine.md).\n"
		    "  --source URL   where the model came from (checked against\n"
		    "                 sources.allowlist.yaml); without it the import is local\n"
		    "  --name NAME    name in the quarantine (default: PATH's base name)\n"
		    "  --wait S       wait up to S seconds for the verdict (files only); promoted\n"
		    "                 means listed by the registry's signed manifest\n"
		    "Exit: 0 copied (--wait: promoted), 2 rejected, 1 error, 64 usage.\n");
}

/* True once the registry's verified manifest lists sha (the report says "promoted" just before
 * the quarantine moves the model into the store and rewrites the manifest). */
static bool listed_by_registry(const char *state, const char *sha)
{
	char regdir[PATH_MAX], mpath[PATH_MAX], err[256];
	uint8_t pk[REG_PK_LEN];
	json_t *models = NULL;
	bool yes;

	if (reg_paths(state, regdir, sizeof(regdir), mpath, sizeof(mpath)) != 0 ||
	    reg_pub_load(regdir, pk, err, sizeof(err)) != 0)
		return false;
	/* 1 (no manifest yet) still hands back an empty array */
	yes = reg_manifest_load(mpath, pk, &models, err, sizeof(err)) == 0 &&
	      reg_models_find(models, sha) != NULL;
	json_decref(models);
	return yes;
}

/* True once a rejected import is in rejected/SHA/: the quarantine saves the verdict just before
 * it moves the item and then its sidecars there, and the import's own sidecar goes right after
 * the item. */
static bool moved_to_rejected(const char *state, const char *sha, const char *name)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/quarantine/rejected/%s/%s.source.json", state, sha, name);
	return lstat(p, &st) == 0;
}

static int wait_verdict(const char *state, const char *sha, const char *name, long secs)
{
	char rp[PATH_MAX];
	time_t end = time(NULL) + secs;
	bool rejected_seen = false;

	snprintf(rp, sizeof(rp), "%s/quarantine/reports/%s.json", state, sha);
	while (time(NULL) <= end) {
		char *buf;
		size_t len;
		json_t *r;

		if (fs_read_file(rp, 64u << 20, &buf, &len) == 0) {
			r = json_parse_object(buf, len, 64u << 20, NULL, 0);
			free(buf);
			if (r != NULL) {
				const char *d = json_get_string(r, "decision");
				if (d != NULL && strcmp(d, "promoted") == 0 &&
				    !listed_by_registry(state, sha)) {
					json_decref(r);
					usleep(50 * 1000);
					continue;
				}
				if (d != NULL && strcmp(d, "rejected") == 0 &&
				    !moved_to_rejected(state, sha, name)) {
					rejected_seen = true;
					json_decref(r);
					usleep(50 * 1000);
					continue;
				}
				if (d != NULL && strcmp(d, "in_progress") != 0) {
					printf("%s: %s (%s)\n", sha, d, json_get_string(r, "reason"));
					int rc = strcmp(d, "promoted") == 0 ? 0 : 2;
					json_decref(r);
					return rc;
				}
				json_decref(r);
			}
		}
		usleep(100 * 1000);
	}
	if (rejected_seen) {
		printf("%s: rejected (see %s; the item is not in rejected/ yet: check the "
		       "quarantine's log)\n",
		       sha, rp);
		return 2;
	}
	fprintf(stderr, "securectl import: no verdict after %ld s (is secai-quarantine running?)\n",
		secs);
	return 1;
}

int import_main(int argc, char **argv)
{
	static const struct option opts[] = {{"source", required_argument, NULL, 's'},
					     {"name", required_argument, NULL, 'n'},
					     {"wait", required_argument, NULL, 'w'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *source = NULL, *name = NULL, *path;
	char inc[PATH_MAX], tmp[PATH_MAX], dst[PATH_MAX], side[PATH_MAX], abspath[PATH_MAX],
	    hex[65] = "", why[200], nm[256];
	struct secai_config cfg;
	struct progress pg = {0, 0, -1, false};
	struct sha256 h;
	struct stat st;
	long wait_s = -1;
	json_t *sc;
	char *text;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:n:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			source = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'w':
			wait_s = atol(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return SECURECTL_EX_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return SECURECTL_EX_USAGE;
	}
	path = argv[optind];
	if (lstat(path, &st) != 0) {
		fprintf(stderr, "securectl import: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "securectl import: %s: not a regular file or folder (symlinks are "
				"not followed)\n", path);
		return 1;
	}
	if (name == NULL) {
		size_t l = strlen(path);
		while (l > 1 && path[l - 1] == '/')
			l--;
		snprintf(tmp, sizeof(tmp), "%.*s", (int)l, path);
		name = strrchr(tmp, '/') ? strrchr(tmp, '/') + 1 : tmp;
		snprintf(dst, sizeof(dst), "%s", name);
		name = dst;
	}
	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') || strlen(name) > 200 ||
	    strstr(name, ".tmp") || strstr(name, ".source.json") ||
	    (strlen(name) > 4 && strcmp(name + strlen(name) - 4, ".sig") == 0)) {
		fprintf(stderr, "securectl import: \"%s\" cannot be a quarantine name (hidden, "
				"temporary or sidecar name); use --name\n", name);
		return SECURECTL_EX_USAGE;
	}
	if (source != NULL) {
		struct qr_url u;
		if (qr_url_canon(source, &u, why, sizeof(why)) != 0)
			fprintf(stderr, "securectl import: warning: --source will be refused by the "
					"quarantine: %s\n", why);
	}
	if (ctl_config(&cfg) != 0)
		return 1;
	snprintf(inc, sizeof(inc), "%s/quarantine/incoming", cfg.state_dir);
	if (fs_mkdir_p(inc, 0700) != 0) {
		fprintf(stderr, "securectl import: %s: %s\n", inc, strerror(errno));
		return 1;
	}
	if (realpath(path, abspath) == NULL)
		snprintf(abspath, sizeof(abspath), "%s", path);
	snprintf(nm, sizeof(nm), "%s", name); /* name may point into dst, rewritten next */
	snprintf(dst, sizeof(dst), "%s/%s", inc, nm);
	snprintf(tmp, sizeof(tmp), "%s/.%s.import.%ld", inc, nm, (long)getpid());
	snprintf(side, sizeof(side), "%s/%s.source.json", inc, nm);
	if (lstat(dst, &st) == 0) {
		fprintf(stderr, "securectl import: %s already waits in incoming/\n", dst);
		return 1;
	}
	/* the sidecar first: the daemon claims it together with the model */
	sc = source ? json_pack("{s:s, s:s, s:s, s:I}", "kind", "url", "url", source, "path",
				abspath, "time", (json_int_t)time(NULL))
		    : json_pack("{s:s, s:s, s:I}", "kind", "local", "path", abspath, "time",
				(json_int_t)time(NULL));
	text = sc ? json_dumps(sc, JSON_INDENT(1)) : NULL;
	json_decref(sc);
	if (text == NULL || fs_atomic_write(side, text, strlen(text), 0600) != 0) {
		fprintf(stderr, "securectl import: %s: %s\n", side, strerror(errno));
		free(text);
		return 1;
	}
	free(text);
	lstat(path, &st);
	if (S_ISREG(st.st_mode)) {
		pg.total = (uint64_t)st.st_size;
		sha256_init(&h);
		rc = copy_file(path, tmp, &pg, &h);
		if (rc == 0) {
			uint8_t d[32];
			sha256_final(&h, d);
			hex_encode(d, 32, hex);
		}
		sha256_free(&h);
	} else {
		tree_size(path, &pg.total);
		rc = copy_tree(path, tmp, &pg);
	}
	progress_show(&pg, true);
	if (rc != 0 || rename(tmp, dst) != 0 || fs_fsync_dir(inc) != 0) {
		fprintf(stderr, "securectl import: copy into %s failed: %s\n", inc, strerror(errno));
		unlink(tmp);
		unlink(side);
		return 1;
	}
	printf("imported %s -> %s%s%s\n", path, dst, hex[0] ? " sha256 " : "", hex);
	fflush(stdout);
	if (wait_s >= 0 && hex[0])
		return wait_verdict(cfg.state_dir, hex, nm, wait_s);
	return 0;
}
