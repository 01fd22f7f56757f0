/*
 * policy_qrexec_test.c — `securectl policy qrexec-test CASES.json`: runs Qubes 4.2 qrexec policy
 * conformance cases (the format of ../shared/conformance/qrexec/cases.json: policy, system,
 * query, expected result and the exact policy-daemon reply) through secai's qrexec engine.
 *
 * A `string` case is loaded from memory (Qubes' StringPolicy: includes looked up by name);
 * a `directory` case is written into a fresh temporary policy.d and loaded from disk, so the
 * real folder loader (file selection, name checks, order, relative includes) is what runs.
 * Owns: the case format and the comparison. Never: exits 0 when a case failed, the file was
 * invalid or held no case; writes a case file outside its temporary folder.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "json.h"
#include "policy/qrexec.h"
#include "securectl/policy_cmds.h"
#include "securectl/securectl.h"

#define CASES_MAX_BYTES (64 * 1024 * 1024)

static void usage(FILE *f)
{
	fprintf(f, "usage: securectl policy qrexec-test [--verbose] [--only ID] CASES.json\n"
		   "\n"
		   "Runs Qubes OS 4.2 qrexec policy cases (a JSON array of {id, policy_mode,\n"
		   "policy, compat_files?, system, query, expect}; the format of\n"
		   "../shared/conformance/qrexec/README.md) through secai's qrexec engine and\n"
		   "compares result, target, user, requested_target, ask choices and default,\n"
		   "notify, autostart, deny reason and stage, load errors, the exact\n"
		   "qrexec-policy-daemon reply and policy.EvalSimple's verdict.\n"
		   "Prints FAIL lines (all lines with --verbose) and a summary.\n"
		   "Exit 0 every case passed, 1 some failed, 2 invalid case file, 64 usage.\n"
		   "See docs/qrexec.md.\n");
}

/* A relative path with no "." / ".." component and no empty one. */
static int safe_rel(const char *p)
{
	if (p[0] == '\0' || p[0] == '/')
		return 0;
	for (const char *s = p; *s;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		s += n + (e != NULL);
	}
	return 1;
}

static int write_tree(const char *root, const json_t *files, char *err, size_t errlen)
{
	const char *name;
	json_t *v;

	json_object_foreach((json_t *)files, name, v) {
		char path[8192], dir[8192];

		if (!json_is_string(v) || !safe_rel(name)) {
			snprintf(err, errlen, "file '%s': bad name or content", name);
			return -1;
		}
		snprintf(path, sizeof(path), "%s/%s", root, name);
		snprintf(dir, sizeof(dir), "%s", path);
		*strrchr(dir, '/') = '\0';
		if (fs_mkdir_p(dir, 0700) != 0 ||
		    fs_atomic_write(path, json_string_value(v), strlen(json_string_value(v)), 0600)) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int rm_tree(const char *path)
{
	char cmd[8400];
	/* the folder is our own mkdtemp; its name has no shell metacharacters */
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", path);
	return system(cmd);
}

/* Loads the case's policy. *tmp is set when a folder was written (caller removes it). */
static struct qrx_policy *load_case(const json_t *c, char *tmp, size_t tmplen, char *err,
				    size_t errlen)
{
	const json_t *pol = json_object_get(c, "policy"), *compat = json_object_get(c, "compat_files");
	const char *mode = json_string_value(json_object_get(c, "policy_mode"));
	char pd[8192], cd[8192];

	tmp[0] = '\0';
	if (compat != NULL && !json_is_object(compat)) {
		snprintf(err, errlen, "compat_files must be an object");
		return NULL;
	}
	if (mode != NULL && strcmp(mode, "directory") == 0) {
		const char *base = getenv("TMPDIR");
		if (!json_is_object(pol)) {
			snprintf(err, errlen, "a directory case needs a policy object");
			return NULL;
		}
		snprintf(tmp, tmplen, "%s/secai-qrexec-XXXXXX", base && *base ? base : "/tmp");
		if (mkdtemp(tmp) == NULL) {
			snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
			tmp[0] = '\0';
			return NULL;
		}
		snprintf(pd, sizeof(pd), "%s/policy.d", tmp);
		snprintf(cd, sizeof(cd), "%s/qubes-rpc-policy", tmp);
		if (fs_mkdir_p(pd, 0700) != 0 || write_tree(pd, pol, err, errlen) != 0 ||
		    (compat != NULL && write_tree(cd, compat, err, errlen) != 0))
			return NULL;
		return qrx_load_dir(pd, cd);
	}
	if (mode == NULL || strcmp(mode, "string") != 0) {
		snprintf(err, errlen, "policy_mode must be \"string\" or \"directory\"");
		return NULL;
	}
	if (json_is_string(pol))
		return qrx_load_strings(json_string_value(pol), NULL, compat);
	if (json_is_object(pol))
		return qrx_load_strings(NULL, pol, compat);
	snprintf(err, errlen, "policy must be a string or an object");
	return NULL;
}

struct cmp {
	char why[2048];
	size_t o;
};

static void mismatch(struct cmp *m, const char *key, const json_t *want, const json_t *got)
{
	char *w = json_dumps(want, JSON_ENCODE_ANY | JSON_COMPACT);
	char *g = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT);

	if (m->o < sizeof(m->why))
		m->o += (size_t)snprintf(m->why + m->o, sizeof(m->why) - m->o,
					 "%s%s: want %s, got %s", m->o ? "; " : "", key,
					 w ? w : "?", g ? g : "?");
	free(w);
	free(g);
}

static json_t *str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *tri(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

/* Our decision as the case's expect fields. */
static json_t *as_expect(const struct qrx_policy *p, const struct qrx_decision *d)
{
	char buf[4096];
	const char *resp = qrx_daemon_response(d, buf, sizeof(buf));
	json_t *o = json_object(), *ch = json_array();

	for (size_t i = 0; i < d->nchoices; i++)
		json_array_append_new(ch, json_string(d->choices[i]));
	json_object_set_new(o, "result", json_string(qrx_result_name(d->result)));
	json_object_set_new(o, "target", str_or_null(d->result == QRX_ALLOW ? d->target : NULL));
	json_object_set_new(o, "user", str_or_null(d->user));
	json_object_set_new(o, "requested_target",
			    d->has_requested ? json_string(d->requested) : json_null());
	json_object_set_new(o, "targets_for_ask", d->result == QRX_ASK ? ch : json_null());
	if (d->result != QRX_ASK)
		json_decref(ch);
	json_object_set_new(o, "default_target", str_or_null(d->default_target));
	json_object_set_new(o, "notify", tri(d->notify));
	json_object_set_new(o, "autostart", tri(d->autostart));
	json_object_set_new(o, "deny_reason",
			    str_or_null(d->result == QRX_DENY ? qrx_deny_reason_name(d->deny_reason)
							      : NULL));
	json_object_set_new(o, "stage",
			    str_or_null(d->result == QRX_DENY ? qrx_stage_name(d->stage) : NULL));
	json_object_set_new(o, "error",
			    str_or_null(qrx_error_kind_name(qrx_policy_error_kind(p))));
	json_object_set_new(o, "error_message", json_string(qrx_policy_error(p)));
	json_object_set_new(o, "daemon_response", str_or_null(resp));
	json_object_set_new(o, "eval_simple", json_string(qrx_eval_simple(d)));
	json_object_set_new(o, "evaluate_result",
			    d->evaluate_allowed ? json_string("allow") : json_null());
	return o;
}

/* 0 pass, 1 fail (why in m), -1 invalid case (why in err). */
static int run_case(const json_t *c, struct qrx_decision *d, struct cmp *m, char *err,
		    size_t errlen)
{
	const json_t *q = json_object_get(c, "query"), *exp = json_object_get(c, "expect");
	struct qrx_system sys = {0};
	struct qrx_policy *p;
	char tmp[4096];
	const char *key;
	json_t *want, *got;
	int rc = 0;

	if (!json_is_object(q) || !json_is_object(exp)) {
		snprintf(err, errlen, "query and expect must be objects");
		return -1;
	}
	struct qrx_request r = {json_string_value(json_object_get(q, "service")),
				json_string_value(json_object_get(q, "argument")),
				json_string_value(json_object_get(q, "source")),
				json_string_value(json_object_get(q, "target"))};
	if (!r.service || !r.argument || !r.source || !r.target) {
		snprintf(err, errlen, "query needs service, argument, source and target strings");
		return -1;
	}
	if (qrx_system_from_json(json_object_get(c, "system"), &sys, err, errlen) != 0)
		return -1;
	p = load_case(c, tmp, sizeof(tmp), err, errlen);
	if (tmp[0] != '\0')
		rm_tree(tmp);
	if (p == NULL) {
		qrx_system_free(&sys);
		return -1;
	}
	qrx_evaluate(p, &sys, &r, d);
	got = as_expect(p, d);
	json_object_foreach((json_t *)exp, key, want) {
		json_t *g;

		if (strcmp(key, "message_contains") == 0) {
			const char *msg = json_string_value(json_object_get(got, "error_message"));
			if (!json_is_string(want) || msg == NULL ||
			    strstr(msg, json_string_value(want)) == NULL)
				mismatch(m, key, want, json_object_get(got, "error_message"));
			continue;
		}
		g = json_object_get(got, key);
		if (g == NULL) {
			snprintf(err, errlen, "unknown expect field '%s'", key);
			rc = -1;
			break;
		}
		if (strcmp(key, "targets_for_ask") == 0 && json_is_array(want)) {
			/* the order is not significant: compare sorted copies */
			json_t *ws = json_deep_copy(want);
			size_t n = json_array_size(ws);
			const char **v = calloc(n + 1, sizeof(*v));
			for (size_t i = 0; v && i < n; i++)
				v[i] = json_string_value(json_array_get(ws, i));
			int same = v != NULL && json_array_size(g) == n;
			for (size_t i = 0; same && i < n; i++) {
				same = 0;
				for (size_t j = 0; j < n && !same; j++)
					same = v[i] && !strcmp(v[i], json_string_value(
									 json_array_get(g, j)));
			}
			if (!same)
				mismatch(m, key, want, g);
			free(v);
			json_decref(ws);
			continue;
		}
		if (!json_equal(want, g))
			mismatch(m, key, want, g);
	}
	if (rc == 0 && m->o > 0)
		rc = 1;
	json_decref(got);
	qrx_policy_free(p);
	qrx_system_free(&sys);
	return rc;
}

int policy_qrexec_test_main(int argc, char **argv)
{
	static const struct option opts[] = {{"verbose", no_argument, NULL, 'v'},
					     {"only", required_argument, NULL, 'o'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int ch, verbose = 0;
	const char *only = NULL;
	char *buf, err[1024];
	size_t len, i;
	unsigned passed = 0, failed = 0, ran = 0;
	json_t *cases, *c;
	struct qrx_decision *d;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "vo:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'v': verbose = 1; break;
		case 'o': only = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return SECURECTL_EX_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return SECURECTL_EX_USAGE;
	}
	if (fs_read_file(argv[optind], CASES_MAX_BYTES, &buf, &len) != 0) {
		fprintf(stderr, "securectl policy qrexec-test: %s: %s\n", argv[optind],
			strerror(errno));
		return POLICY_EX_INVALID;
	}
	cases = json_parse_strict(buf, len, CASES_MAX_BYTES, err, sizeof(err));
	free(buf);
	if (!json_is_array(cases) || json_array_size(cases) == 0) {
		fprintf(stderr, "securectl policy qrexec-test: %s: %s\n", argv[optind],
			cases ? "must be a non-empty JSON array of cases" : err);
		json_decref(cases);
		return POLICY_EX_INVALID;
	}
	if ((d = malloc(sizeof(*d))) == NULL) {
		json_decref(cases);
		return POLICY_EX_INVALID;
	}
	json_array_foreach(cases, i, c) {
		const char *id = json_string_value(json_object_get(c, "id"));
		struct cmp m = {.o = 0};
		int rc;

		if (id == NULL) {
			fprintf(stderr, "securectl policy qrexec-test: case %zu has no id\n", i);
			failed = ~0u;
			break;
		}
		if (only != NULL && strcmp(only, id) != 0)
			continue;
		ran++;
		rc = run_case(c, d, &m, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "securectl policy qrexec-test: case %s is invalid: %s\n", id,
				err);
			failed = ~0u;
			break;
		}
		if (rc == 0) {
			passed++;
			if (verbose)
				printf("PASS %s\n", id);
		} else {
			failed++;
			printf("FAIL %s: %s\n", id, m.why);
		}
	}
	free(d);
	json_decref(cases);
	if (failed == ~0u)
		return POLICY_EX_INVALID;
	printf("qrexec cases: %u passed, %u failed (%s)\n", passed, failed, argv[optind]);
	if (ran == 0) {
		fprintf(stderr, "securectl policy qrexec-test: no case ran\n");
		return 1;
	}
	return failed ? 1 : 0;
}
