/*
 * fuzz_qr_policy.c — libFuzzer harness for the quarantine's outside-facing parsers: the URL
 * canonicaliser, sources.allowlist.yaml, models.lock.yaml and policy.yaml.
 *
 * Input: bytes used four ways. A canonical URL must canonicalise to itself (idempotent) and hold
 * no '%', '@', "/../" or "/./"; a loaded allow-list must match each of its own entries; a loaded
 * lock must format and load back to the same pins; a loaded policy never has thresholds looser
 * than the defaults. Nothing may crash, leak or hang.
 * Never: writes files or talks to any daemon.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quarantine/qr_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct qr_url u, u2;
	char err[512], *s, *text;
	struct qr_allowlist a;
	struct qr_lock l, l2;
	struct qr_policy p;
	size_t len;

	if (size > (64 << 10))
		return 0;
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (qr_url_canon(s, &u, err, sizeof(err)) == 0) {
		if (qr_url_canon(u.canon, &u2, err, sizeof(err)) != 0 ||
		    strcmp(u.canon, u2.canon) != 0)
			abort();
		if (strchr(u.canon, '%') || strchr(u.canon, '@') || strstr(u.canon, "/../") ||
		    strstr(u.canon, "/./"))
			abort();
	}
	if (qr_allowlist_load_buffer("(fuzz)", (const char *)data, size, &a, err, sizeof(err)) ==
	    0) {
		for (size_t i = 0; i < a.n; i++)
			if (qr_allowlist_match(&a, &a.e[i]) < 0)
				abort();
		qr_allowlist_free(&a);
	}
	if (qr_lock_load_buffer("(fuzz)", (const char *)data, size, &l, err, sizeof(err)) == 0) {
		if (qr_lock_format(&l, &text, &len) == 0) {
			if (qr_lock_load_buffer("(again)", text, len, &l2, err, sizeof(err)) != 0 ||
			    l2.n_pins != l.n_pins || l2.n_blocked != l.n_blocked)
				abort();
			for (size_t i = 0; i < l.n_pins; i++)
				if (strcmp(l.pins[i].name, l2.pins[i].name) != 0 ||
				    strcmp(l.pins[i].sha256, l2.pins[i].sha256) != 0)
					abort();
			qr_lock_free(&l2);
			free(text);
		}
		qr_lock_free(&l);
	}
	qr_policy_defaults(&p);
	if (qr_policy_load_buffer("(fuzz)", (const char *)data, size, &p, err, sizeof(err)) == 0) {
		if (!(p.behav_threshold <= QR_BEHAV_THRESHOLD_DEFAULT) ||
		    !(p.static_max_score <= QR_STATIC_SCORE_DEFAULT))
			abort();
	}
	qr_policy_free(&p);
	free(s);
	return 0;
}
