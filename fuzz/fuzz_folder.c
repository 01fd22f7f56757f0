/*
 * fuzz_folder.c — libFuzzer harness for the folder walker: the input describes a small tree
 * built in a fresh temp dir, then scan_path() walks it.
 *
 * Input: records of [kind][name length][name][content length (2 bytes LE)][content]. kind % 4:
 * 0 file, 1 folder, 2 symlink (content = target), 3 file in the last folder made. Names are cut
 * to [A-Za-z0-9._-] (no '/', so nothing is created outside the temp dir); at most 16 records.
 * Never: writes outside its temp dir; removes the dir after each input.
 */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan/folder.h"

static void rmrf(const char *dir)
{
	char cmd[PATH_MAX + 16];

	if (strncmp(dir, "/tmp/secai-fuzz.", 16) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_folder: cannot remove %s\n", dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char tmpl[] = "/tmp/secai-fuzz.XXXXXX", sub[PATH_MAX] = "";
	struct scan_report r;
	size_t pos = 0;
	char *dir = mkdtemp(tmpl);

	if (dir == NULL)
		return 0;
	snprintf(sub, sizeof(sub), "%s", dir);
	for (int rec = 0; rec < 16 && pos + 2 <= size; rec++) {
		unsigned kind = data[pos] % 4, nl = data[pos + 1] % 32;
		char name[40], path[PATH_MAX];
		size_t cl, k = 0;
		FILE *f;

		pos += 2;
		if (pos + nl + 2 > size)
			break;
		for (unsigned i = 0; i < nl; i++) {
			char c = (char)data[pos + i];

			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			    c == '.' || c == '_' || c == '-')
				name[k++] = c;
		}
		name[k] = '\0';
		pos += nl;
		cl = (size_t)data[pos] | (size_t)data[pos + 1] << 8;
		pos += 2;
		if (cl > size - pos)
			cl = size - pos;
		if (k == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
			pos += cl;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", kind == 3 ? sub : dir, name);
		if (kind == 1) {
			if (mkdir(path, 0700) == 0)
				snprintf(sub, sizeof(sub), "%s", path);
		} else if (kind == 2) {
			char target[64];
			size_t tl = cl < sizeof(target) - 1 ? cl : sizeof(target) - 1;

			memcpy(target, data + pos, tl);
			target[tl] = '\0';
			if (strlen(target) && symlink(target, path) != 0)
				(void)0;
		} else if ((f = fopen(path, "wbx")) != NULL) {
			fwrite(data + pos, 1, cl, f);
			fclose(f);
		}
		pos += cl;
	}
	scan_report_init(&r);
	(void)scan_path(dir, &r);
	scan_report_free(&r);
	rmrf(dir);
	return 0;
}
