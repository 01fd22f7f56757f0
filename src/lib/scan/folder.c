/*
 * folder.c — scanning a file or a model folder (folder.h).
 *
 * Owns: the walk (fstatat without following, openat of sub-folders with O_NOFOLLOW), the model
 * folder rules, and which files are configs (JSON, text) rather than weights.
 * Never: follows a symlink, resolves a name taken from a config, opens anything outside the root,
 * or recurses deeper than SCAN_FOLDER_MAX_DEPTH.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "json.h"
#include "scan/folder.h"
#include "scan/formatgate.h"
#include "scan/safetensors.h"

struct walk {
	struct scan_report *r;
	size_t n_files;
	size_t n_weights;
	int oom;
};

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && strcmp(s + a - b, suf) == 0;
}

static bool plain_name(const char *s)
{
	return s[0] && strcmp(s, ".") && strcmp(s, "..") && strchr(s, '/') == NULL &&
	       strchr(s, '\\') == NULL;
}

/* Source code and native libraries have no place in a model folder. */
static bool code_name(const char *name)
{
	static const char *const ext[] = {".py", ".pyc", ".pyo", ".so", ".dll", ".dylib", ".sh",
					  ".exe", ".bat", ".ps1", ".js", ".ipynb", NULL};

	for (size_t i = 0; ext[i]; i++)
		if (ends_with(name, ext[i]))
			return true;
	return false;
}

static json_t *read_json(const char *path, struct scan_report *r)
{
	char *text = NULL, err[160];
	size_t len;
	json_t *j;

	if (fs_read_file(path, 64u << 20, &text, &len) != 0)
		return NULL;
	j = json_parse_object(text, len, 64u << 20, err, sizeof(err));
	free(text);
	(void)r;
	return j;
}

static void check_config(const char *path, struct scan_report *r)
{
	json_t *j = read_json(path, r);

	if (j == NULL)
		return; /* the gate reports bad JSON */
	if (json_object_get(j, "auto_map"))
		scan_report_add(r, "folder.remote_code", SCAN_SEV_REJECT, path, SCAN_OFFSET_NONE,
				"auto_map", "config asks for custom code (auto_map: trust_remote_code)");
	json_decref(j);
}

static void check_model_index(const char *dir, const char *path, struct scan_report *r)
{
	static const char *const libs[] = {"diffusers", "transformers", NULL};
	json_t *j = read_json(path, r), *v;
	const char *key;

	if (j == NULL) {
		scan_report_add(r, "folder.model_index", SCAN_SEV_REJECT, path, SCAN_OFFSET_NONE, NULL,
				"model_index.json is not a JSON object");
		return;
	}
	json_object_foreach(j, key, v)
	{
		const char *lib;
		char sub[PATH_MAX];
		struct stat st;
		bool ok = false;

		if (key[0] == '_' || !json_is_array(v))
			continue;
		if (json_array_size(v) != 2) {
			scan_report_add(r, "folder.model_index", SCAN_SEV_REJECT, path,
					SCAN_OFFSET_NONE, key,
					"component is not [library, class]");
			continue;
		}
		if (json_is_null(json_array_get(v, 0)) && json_is_null(json_array_get(v, 1)))
			continue;
		lib = json_string_value(json_array_get(v, 0));
		if (!plain_name(key)) {
			scan_report_add(r, "folder.traversal", SCAN_SEV_REJECT, path, SCAN_OFFSET_NONE,
					key, "component name is not a plain folder name");
			continue;
		}
		for (size_t i = 0; lib && libs[i]; i++)
			ok |= strcmp(lib, libs[i]) == 0;
		if (!ok)
			scan_report_add(r, "folder.component_library", SCAN_SEV_REJECT, path,
					SCAN_OFFSET_NONE, key,
					"component library is not diffusers or transformers (custom "
					"code)");
		snprintf(sub, sizeof(sub), "%s/%s", dir, key);
		if (lstat(sub, &st) != 0 || !S_ISDIR(st.st_mode))
			scan_report_add(r, "folder.component_missing", SCAN_SEV_REJECT, path,
					SCAN_OFFSET_NONE, key, "component folder is missing");
	}
	json_decref(j);
}

static void walk_dir(struct walk *w, const char *dir, int depth);

static void visit(struct walk *w, const char *dir, const char *name, int depth)
{
	char path[PATH_MAX];
	struct stat st;
	enum scan_format f = SCAN_FMT_UNKNOWN;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		scan_report_add(w->r, "folder.io", SCAN_SEV_REJECT, dir, SCAN_OFFSET_NONE, NULL,
				"path too long");
		return;
	}
	if (lstat(path, &st) != 0) {
		scan_report_add(w->r, "folder.io", SCAN_SEV_ERROR, path, SCAN_OFFSET_NONE, NULL,
				"lstat: %s", strerror(errno));
		return;
	}
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(path, target, sizeof(target) - 1);

		target[n > 0 ? n : 0] = '\0';
		scan_report_add(w->r, "folder.symlink", SCAN_SEV_REJECT, path, SCAN_OFFSET_NONE,
				target, "symbolic link%s (never followed)",
				strstr(target, "..") || target[0] == '/' ? " leaving the folder" : "");
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		if (strcmp(name, ".git") == 0)
			return;
		walk_dir(w, path, depth + 1);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		scan_report_add(w->r, "folder.special_file", SCAN_SEV_REJECT, path, SCAN_OFFSET_NONE,
				NULL, "not a regular file (fifo, socket or device)");
		return;
	}
	if (++w->n_files > SCAN_FOLDER_MAX_FILES) {
		if (w->n_files == SCAN_FOLDER_MAX_FILES + 1)
			scan_report_add(w->r, "folder.too_many_files", SCAN_SEV_REJECT, dir,
					SCAN_OFFSET_NONE, NULL, "more than %u files",
					SCAN_FOLDER_MAX_FILES);
		return;
	}
	if (code_name(name))
		scan_report_add(w->r, "gate.code", SCAN_SEV_REJECT, path, SCAN_OFFSET_NONE, NULL,
				"source code or native library in a model folder");
	if (scan_file(path, SCAN_GATE_AUX, w->r, &f) < 0)
		w->oom = 1;
	if (f == SCAN_FMT_GGUF || f == SCAN_FMT_SAFETENSORS)
		w->n_weights++;
	if (f == SCAN_FMT_JSON) {
		if (strcmp(name, "model_index.json") == 0)
			check_model_index(dir, path, w->r);
		else if (ends_with(name, ".safetensors.index.json")) {
			(void)st_check_index(dir, name, w->r);
		} else
			check_config(path, w->r);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk_dir(struct walk *w, const char *dir, int depth)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (depth > SCAN_FOLDER_MAX_DEPTH) {
		scan_report_add(w->r, "folder.too_deep", SCAN_SEV_REJECT, dir, SCAN_OFFSET_NONE, NULL,
				"folders nested deeper than %d", SCAN_FOLDER_MAX_DEPTH);
		return;
	}
	d = opendir(dir);
	if (d == NULL) {
		scan_report_add(w->r, "folder.io", SCAN_SEV_ERROR, dir, SCAN_OFFSET_NONE, NULL,
				"opendir: %s", strerror(errno));
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n > SCAN_FOLDER_MAX_FILES)
			break;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 32;
			char **p = realloc(names, nc * sizeof(*p));

			if (p == NULL) {
				w->oom = 1;
				break;
			}
			names = p;
			cap = nc;
		}
		names[n] = strdup(e->d_name);
		if (names[n] == NULL) {
			w->oom = 1;
			break;
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (!w->oom)
			visit(w, dir, names[i], depth);
		free(names[i]);
	}
	free(names);
}

int scan_path(const char *path, struct scan_report *r)
{
	struct walk w = {r, 0, 0, 0};
	struct stat st;

	if (lstat(path, &st) != 0) {
		scan_report_add(r, "folder.io", SCAN_SEV_ERROR, path, SCAN_OFFSET_NONE, NULL,
				"%s", strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		scan_report_add(r, "folder.symlink", SCAN_SEV_REJECT, path, SCAN_OFFSET_NONE, NULL,
				"the path is a symbolic link (never followed)");
		return 0;
	}
	if (S_ISREG(st.st_mode))
		return scan_file(path, 0, r, NULL);
	if (!S_ISDIR(st.st_mode)) {
		scan_report_add(r, "folder.special_file", SCAN_SEV_REJECT, path, SCAN_OFFSET_NONE,
				NULL, "not a regular file or folder");
		return 0;
	}
	walk_dir(&w, path, 0);
	if (w.n_weights == 0)
		scan_report_add(r, "folder.no_weights", SCAN_SEV_REJECT, path, SCAN_OFFSET_NONE, NULL,
				"no GGUF or safetensors weights in the folder");
	return w.oom ? -1 : 0;
}
