/*
 * fuzz_qrexec.c — libFuzzer harness for the Qubes qrexec policy engine (src/lib/policy/qrexec*).
 *
 * Input: up to four NUL-separated texts: the main policy, then files named "a", "b" and "c"
 * (reachable with !include, !include-service, and as the legacy files "svc+a", "svc" and
 * "svc+c" of !compat-4.0). Loading must not crash, leak or hang; an error must name a line
 * inside its file. When it loads, a set of requests is decided: the verdict is in range, an
 * allow names a target and has a daemon reply, an ask offers sorted, distinct choices.
 * Never: writes files or talks to any daemon.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/qrexec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct qrx_system sys;
static struct qrx_decision dec;

static void init_system(void)
{
	struct qrx_qube q[5] = {
	    {.name = "dom0", .type = "AdminVM", .running = true, .ntags = 1, .tags = {"t0"}},
	    {.name = "work", .type = "AppVM", .default_dispvm = "dvm", .running = true, .ntags = 2,
	     .tags = {"t1", "t2"}},
	    {.name = "dvm", .type = "AppVM", .template_for_dispvms = true, .ntags = 1, .tags = {"t2"}},
	    {.name = "vault", .type = "StandaloneVM", .default_dispvm = "work"},
	    {.name = "tpl", .type = "TemplateVM", .ntags = 1, .tags = {"t1"}},
	};
	char err[128];

	for (int i = 0; i < 5; i++)
		if (qrx_system_add(&sys, &q[i], err, sizeof(err)) != 0)
			abort();
}

static size_t lines_of(const char *s)
{
	size_t n = 1;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[4] = {"__main__", "a", "b", "c"};
	static const char *const legacy[4] = {NULL, "svc+a", "svc", "svc+c"};
	static const char *const targets[] = {"",	   "dom0",	 "@adminvm",   "@default",
					      "@dispvm",   "@dispvm:dvm", "@dispvm:work", "work",
					      "dvm",	   "vault",	 "tpl",	       "nope",
					      "@anyvm",	   "@tag:t1",	 "@dispvm:",    "*"};
	static const char *const sources[] = {"work", "dvm", "vault", "tpl", "ghost"};
	char *texts[4] = {NULL, NULL, NULL, NULL};
	size_t nt = 0, start = 0;
	json_t *files, *compat;
	struct qrx_policy *p;

	if (size > (64 << 10))
		return 0;
	if (sys.n == 0)
		init_system();
	for (size_t i = 0; i <= size && nt < 4; i++) {
		if (i == size || data[i] == 0) {
			texts[nt] = strndup((const char *)data + start, i - start);
			if (texts[nt] == NULL)
				abort();
			nt++;
			start = i + 1;
		}
	}
	files = json_object();
	compat = json_object();
	for (size_t i = 0; i < nt; i++) {
		json_object_set_new_nocheck(files, names[i], json_string_nocheck(texts[i]));
		if (legacy[i] != NULL)
			json_object_set_new_nocheck(compat, legacy[i], json_string_nocheck(texts[i]));
	}
	p = qrx_load_strings(NULL, files, compat);
	if (p == NULL)
		abort();
	if (!qrx_policy_ok(p)) {
		const char *e = qrx_policy_error(p);
		for (size_t i = 0; i < nt; i++) {
			size_t nl = strlen(names[i]);
			unsigned long line;
			/* "NAME:LINE: why": the line must exist in that file */
			if (strncmp(e, names[i], nl) == 0 && e[nl] == ':' &&
			    sscanf(e + nl + 1, "%lu:", &line) == 1 &&
			    (line < 1 || line > lines_of(texts[i])))
				abort();
		}
		if (qrx_policy_rule_count(p) != 0)
			abort(); /* all or nothing */
	} else {
		for (size_t s = 0; s < sizeof(sources) / sizeof(*sources); s++) {
			for (size_t t = 0; t < sizeof(targets) / sizeof(*targets); t++) {
				struct qrx_request r = {"svc", "+a", sources[s], targets[t]};
				char buf[1024];

				qrx_evaluate(p, &sys, &r, &dec);
				if (dec.result == QRX_ERROR || dec.result > QRX_ASK)
					abort();
				if (dec.result == QRX_ALLOW &&
				    (dec.target[0] == '\0' ||
				     qrx_daemon_response(&dec, buf, sizeof(buf)) == NULL ||
				     strcmp(dec.target, sources[s]) == 0))
					abort();
				if (dec.result == QRX_ASK) {
					if (dec.nchoices == 0)
						abort();
					for (size_t i = 1; i < dec.nchoices; i++)
						if (strcmp(dec.choices[i - 1], dec.choices[i]) >= 0)
							abort();
				}
				(void)qrx_eval_simple(&dec);
			}
		}
	}
	qrx_policy_free(p);
	json_decref(files);
	json_decref(compat);
	for (size_t i = 0; i < nt; i++)
		free(texts[i]);
	return 0;
}
