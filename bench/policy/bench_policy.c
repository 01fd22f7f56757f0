/*
 * bench_policy.c — in-process decisions per second of the YAML domain policy with a 1,000-rule
 * egress policy: the request matched by the last rule (every rule tried), by the first, and by
 * none (default deny); the same three for a 1,000-rule Qubes qrexec policy (docs/qrexec.md).
 * Baseline in the same run: the same number of calls to a function that
 * only compares two strings (what a decision costs at the least).
 * usage: bench_policy [SECONDS per figure, default 1] [--write-policy FILE]
 * Never fails: prints figures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "policy/pol.h"
#include "policy/qrexec.h"

#define NRULES 1000

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int policy_text(struct buf *b)
{
	int r = buf_printf(b, "version: 1\negress:\n");
	for (int i = 0; i < NRULES && r == 0; i++)
		r = buf_printf(b,
			       "  - id: r%d\n    match: {host: \"h%d.example.com\", port: %d, method: "
			       "[GET, POST]}\n    decision: %s\n",
			       i, i, 1000 + i, i % 2 ? "allow" : "deny");
	return r;
}

static double rate(const struct pol_policy *p, const char *host, const char *port, double secs,
		   const char **verdict)
{
	struct pol_request r;
	struct pol_decision d;
	char err[256];
	unsigned long n = 0;
	double t0 = now(), t;

	pol_request_init(&r, POL_EGRESS);
	if (pol_request_set(&r, "host", host, err, sizeof(err)) || pol_request_set(&r, "port", port,
									 err, sizeof(err)) ||
	    pol_request_set(&r, "method", "GET", err, sizeof(err))) {
		fprintf(stderr, "bench_policy: %s\n", err);
		exit(0);
	}
	do {
		for (int k = 0; k < 1000; k++)
			pol_decide(p, &r, &d);
		n += 1000;
		t = now();
	} while (t - t0 < secs);
	*verdict = pol_verdict_name(d.verdict);
	pol_request_free(&r);
	return (double)n / (t - t0);
}

static volatile int sink;

/* A 1,000-rule qrexec policy: one service per rule, alternating allow/deny. */
static double qrexec_rate(const struct qrx_policy *p, const struct qrx_system *s,
			  const char *service, double secs, const char **verdict)
{
	struct qrx_request r = {service, "+", "work", "sys-ai"};
	struct qrx_decision *d = malloc(sizeof(*d));
	unsigned long n = 0;
	double t0 = now(), t;

	if (d == NULL)
		exit(0);
	do {
		for (int k = 0; k < 1000; k++)
			qrx_evaluate(p, s, &r, d);
		n += 1000;
		t = now();
	} while (t - t0 < secs);
	*verdict = d->result == QRX_ALLOW ? "allow" : d->result == QRX_ASK ? "ask" : "deny";
	free(d);
	return (double)n / (t - t0);
}

static void bench_qrexec(double secs)
{
	struct buf t = BUF_INIT;
	struct qrx_system s = {0};
	struct qrx_qube q[3] = {{.name = "dom0", .type = "AdminVM", .running = true},
				{.name = "work", .type = "AppVM", .running = true},
				{.name = "sys-ai", .type = "AppVM", .running = true}};
	const char *verdict;
	char err[128], svc[64];

	for (int i = 0; i < 3; i++)
		if (qrx_system_add(&s, &q[i], err, sizeof(err)) != 0)
			return;
	for (int i = 0; i < NRULES; i++)
		if (buf_printf(&t, "svc.S%d * @tag:ws%d sys-ai %s\n", i, i, i % 2 ? "allow" : "deny"))
			return;
	if (buf_printf(&t, "svc.S%d * work sys-ai allow\n", NRULES - 1))
		return;
	double t0 = now();
	struct qrx_policy *p = qrx_load_strings(t.data, NULL, NULL);
	double load = now() - t0;
	if (p == NULL || !qrx_policy_ok(p)) {
		fprintf(stderr, "bench_policy: qrexec policy: %s\n", qrx_policy_error(p));
		qrx_policy_free(p);
		return;
	}
	printf("qrexec policy: %zu rules, loaded in %.1f ms\n", qrx_policy_rule_count(p),
	       load * 1e3);
	snprintf(svc, sizeof(svc), "svc.S%d", NRULES - 1);
	double last = qrexec_rate(p, &s, svc, secs, &verdict);
	printf("  last rule matches:              %10.0f decisions/s  %s\n", last, verdict);
	double first = qrexec_rate(p, &s, "svc.S0", secs, &verdict);
	printf("  first rule's service:           %10.0f decisions/s  %s\n", first, verdict);
	double none = qrexec_rate(p, &s, "svc.Nothing", secs, &verdict);
	printf("  no rule (default deny):         %10.0f decisions/s  %s\n", none, verdict);
	qrx_policy_free(p);
	qrx_system_free(&s);
	buf_free(&t);
}

int main(int argc, char **argv)
{
	struct buf b = BUF_INIT;
	char err[1024];
	double secs = argc > 1 && argv[1][0] != '-' ? atof(argv[1]) : 1.0;
	const char *verdict;

	if (policy_text(&b) != 0)
		return 0;
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--write-policy") == 0) {
			FILE *f = fopen(argv[i + 1], "w");
			if (f) {
				fwrite(b.data, 1, b.len, f);
				fclose(f);
			}
			return 0;
		}
	double t0 = now();
	struct pol_policy *p = pol_load_buffer("bench.yaml", b.data, b.len, err, sizeof(err));
	double load = now() - t0;
	if (p == NULL) {
		fprintf(stderr, "bench_policy: %s\n", err);
		return 0;
	}
	/* baseline: one string comparison per "decision" */
	unsigned long n = 0;
	t0 = now();
	double t;
	do {
		for (int k = 0; k < 1000; k++)
			sink += strcmp(k & 1 ? "h999.example.com" : "h998.example.com", "h999.example.com");
		n += 1000;
		t = now();
	} while (t - t0 < secs);
	double base = (double)n / (t - t0);
	printf("policy: %d egress rules, %zu bytes, loaded in %.1f ms (digest %.16s...)\n", NRULES,
	       b.len, load * 1e3, pol_digest(p));
	double last = rate(p, "h999.example.com", "1999", secs, &verdict);
	printf("  last rule matches (1000 tried): %10.0f decisions/s  %s  (target >= 1,000,000)\n",
	       last, verdict);
	double first = rate(p, "h0.example.com", "1000", secs, &verdict);
	printf("  first rule matches:             %10.0f decisions/s  %s\n", first, verdict);
	double none = rate(p, "nowhere.example.org", "443", secs, &verdict);
	printf("  no rule (default deny):         %10.0f decisions/s  %s\n", none, verdict);
	printf("  baseline, one strcmp per call:  %10.0f calls/s (last-rule decision = %.0fx its "
	       "cost)\n",
	       base, base / last);
	bench_qrexec(secs);
	pol_unref(p);
	buf_free(&b);
	return 0;
}
