/*
 * quarantine.c — `securectl quarantine status|list|show`: what the quarantine holds and what it
 * decided, read from STATE/quarantine/ and the registry manifest.
 *
 * Owns: the counts (incoming, processing, rejected, reports, promoted), the list of reports
 * (newest first) and one report shown as text or JSON.
 * Never: writes anything, opens a model file, or prints report strings with control bytes
 * (names come from outside: they are escaped).
 * Exit: 0, 1 error (including a registry manifest that does not verify), 2 no such report,
 * 64 usage.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "json.h"
#include "registry/reg_manifest.h"
#include "securectl/ctl.h"
#include "securectl/securectl.h"

static void usage(FILE *fp)
{
	fprintf(fp, "usage: securectl quarantine status [--json]\n"
		    "       securectl quarantine list [--json]\n"
		    "       securectl quarantine show SHA256|PREFIX|NAME [--json]\n"
		    "What secai-quarantine holds and decided (docs/quarantine.md).\n");
}

static void put_safe(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			printf("\\x%02x", (unsigned char)*s);
		else
			putchar(*s);
}

static long count_dir(const char *dir, bool models_only)
{
	struct dirent *de;
	long n = 0;
	DIR *d = opendir(dir);

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		const char *nm = de->d_name;
		size_t l = strlen(nm);
		if (nm[0] == '.')
			continue;
		if (models_only && ((l > 12 && strcmp(nm + l - 12, ".source.json") == 0) ||
				    (l > 4 && strcmp(nm + l - 4, ".sig") == 0) ||
				    (l > 14 && strcmp(nm + l - 14, ".sigstore.json") == 0)))
			continue;
		n++;
	}
	closedir(d);
	return n;
}

static json_t *load_report(const char *path)
{
	char *buf;
	size_t len;
	json_t *r;

	if (fs_read_file(path, 64u << 20, &buf, &len) != 0)
		return NULL;
	r = json_parse_object(buf, len, 64u << 20, NULL, 0);
	free(buf);
	return r;
}

static json_t *all_reports(const char *qdir)
{
	char dir[4200];
	struct dirent **names;
	json_t *a = json_array();
	int n;

	snprintf(dir, sizeof(dir), "%s/reports", qdir);
	n = scandir(dir, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		size_t l = strlen(names[i]->d_name);
		if (l == 69 && strcmp(names[i]->d_name + 64, ".json") == 0) {
			char p[4300];
			json_t *r;
			snprintf(p, sizeof(p), "%s/%s", dir, names[i]->d_name);
			if ((r = load_report(p)) != NULL)
				json_array_append_new(a, r);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	return a;
}

static int cmp_started(const void *a, const void *b)
{
	const char *x = json_get_string(*(json_t *const *)a, "started");
	const char *y = json_get_string(*(json_t *const *)b, "started");
	return strcmp(y ? y : "", x ? x : "");
}

static int status(const struct secai_config *cfg, const char *q, bool json)
{
	char p[4300], regdir[4200], mpath[4200], err[300];
	long inc, proc, rej, reps;
	uint8_t pk[REG_PK_LEN];
	json_t *models = NULL, *o;
	const char *mstate = "empty";
	int prc;

	snprintf(p, sizeof(p), "%s/incoming", q);
	inc = count_dir(p, true);
	snprintf(p, sizeof(p), "%s/processing", q);
	proc = count_dir(p, true);
	snprintf(p, sizeof(p), "%s/rejected", q);
	rej = count_dir(p, false);
	snprintf(p, sizeof(p), "%s/reports", q);
	reps = count_dir(p, false);
	reg_paths(cfg->state_dir, regdir, sizeof(regdir), mpath, sizeof(mpath));
	prc = reg_pub_load(regdir, pk, err, sizeof(err));
	if (prc == 0)
		mstate = reg_manifest_load(mpath, pk, &models, err, sizeof(err)) < 0 ? "invalid"
										    : "verified";
	else if (prc < 0 || access(mpath, F_OK) == 0)
		mstate = "invalid";
	o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s}", "quarantine", q, "incoming",
		      (json_int_t)inc, "processing", (json_int_t)proc, "rejected",
		      (json_int_t)rej, "reports", (json_int_t)reps, "promoted",
		      (json_int_t)json_array_size(models), "manifest", mstate);
	if (json) {
		char *s = json_dumps(o, JSON_INDENT(1));
		printf("%s\n", s ? s : "{}");
		free(s);
	} else {
		printf("quarantine  %s\nincoming    %ld\nprocessing  %ld\nrejected    %ld\n"
		       "reports     %ld\npromoted    %zu (manifest %s)\n",
		       q, inc, proc, rej, reps, json_array_size(models), mstate);
		if (strcmp(mstate, "invalid") == 0)
			printf("manifest error: %s\n", err);
	}
	json_decref(o);
	json_decref(models);
	return strcmp(mstate, "invalid") == 0 ? 1 : 0;
}

static int list(const char *q, bool json)
{
	json_t *a = all_reports(q), *r;
	size_t i, n = json_array_size(a);
	json_t **v = calloc(n ? n : 1, sizeof(*v));

	if (v == NULL) {
		json_decref(a);
		return 1;
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(a, i);
	qsort(v, n, sizeof(*v), cmp_started);
	if (json) {
		json_t *out = json_array();
		for (i = 0; i < n; i++) {
			r = v[i];
			json_array_append_new(out, json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?}", "sha256",
							     json_object_get(r, "sha256"), "name",
							     json_object_get(r, "name"), "decision",
							     json_object_get(r, "decision"), "reason",
							     json_object_get(r, "reason"), "started",
							     json_object_get(r, "started")));
		}
		char *s = json_dumps(out, JSON_INDENT(1));
		printf("%s\n", s ? s : "[]");
		free(s);
		json_decref(out);
	} else {
		printf("%-12s  %-11s  %-18s  %-20s  %s\n", "SHA256", "DECISION", "REASON", "STARTED",
		       "NAME");
		for (i = 0; i < n; i++) {
			const char *h = json_get_string(v[i], "sha256"), *d, *rs, *st;
			d = json_get_string(v[i], "decision");
			rs = json_get_string(v[i], "reason");
			st = json_get_string(v[i], "started");
			printf("%-12.12s  %-11s  %-18s  %-20s  ", h ? h : "?", d ? d : "?",
			       rs ? rs : "-", st ? st : "?");
			put_safe(json_get_string(v[i], "name"));
			putchar('\n');
		}
	}
	free(v);
	json_decref(a);
	return 0;
}

static int show(const char *q, const char *key, bool json)
{
	json_t *a = all_reports(q), *r, *found = NULL, *s;
	size_t i, nmatch = 0;

	json_array_foreach(a, i, r) {
		const char *h = json_get_string(r, "sha256"), *nm = json_get_string(r, "name");
		if ((h && strlen(key) >= 4 && strncmp(h, key, strlen(key)) == 0) ||
		    (nm && strcmp(nm, key) == 0)) {
			found = r;
			nmatch++;
		}
	}
	if (nmatch != 1) {
		fprintf(stderr, "securectl quarantine show: %s report matches \"%s\"\n",
			nmatch ? "more than one" : "no", key);
		json_decref(a);
		return 2;
	}
	if (json) {
		char *t = json_dumps(found, JSON_INDENT(1));
		printf("%s\n", t ? t : "{}");
		free(t);
	} else {
		printf("name      ");
		put_safe(json_get_string(found, "name"));
		printf("\nsha256    %s\ndecision  %s\nreason    %s\nstarted   %s\n",
		       json_get_string(found, "sha256"), json_get_string(found, "decision"),
		       json_get_string(found, "reason") ? json_get_string(found, "reason") : "-",
		       json_get_string(found, "started"));
		json_array_foreach(json_object_get(found, "stages"), i, s) {
			const char *e = json_get_string(json_object_get(s, "evidence"), "error");
			long long idx = 0;
			json_get_int(s, "index", &idx);
			printf("  %lld %-16s %-14s", idx, json_get_string(s, "stage"),
			       json_get_string(s, "status"));
			if (e) {
				printf(" ");
				put_safe(e);
			}
			putchar('\n');
		}
	}
	json_decref(a);
	return 0;
}

int quarantine_main(int argc, char **argv)
{
	struct secai_config cfg;
	char q[4200];
	bool json = false;
	int nargs = 0;
	const char *args[3] = {NULL, NULL, NULL};

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (nargs < 3)
			args[nargs++] = argv[i];
		else
			nargs++;
	}
	if (nargs < 1 || nargs > 2) {
		usage(stderr);
		return SECURECTL_EX_USAGE;
	}
	if (ctl_config(&cfg) != 0)
		return 1;
	snprintf(q, sizeof(q), "%s/quarantine", cfg.state_dir);
	if (strcmp(args[0], "status") == 0 && nargs == 1)
		return status(&cfg, q, json);
	if (strcmp(args[0], "list") == 0 && nargs == 1)
		return list(q, json);
	if (strcmp(args[0], "show") == 0 && nargs == 2)
		return show(q, args[1], json);
	usage(stderr);
	return SECURECTL_EX_USAGE;
}
