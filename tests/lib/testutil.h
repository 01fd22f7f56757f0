/*
 * testutil.h — shared helpers for cmocka tests: where the reference data is, temp dirs.
 * Header-only so each test binary stays one file.
 */
#ifndef SECAI_TESTUTIL_H
#define SECAI_TESTUTIL_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* $SECAI_SHARED, else ../shared from the repo root (tests run from the repo root). NULL and a
 * loud line when absent. */
static inline const char *test_shared_dir(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("SECAI_SHARED");
	struct stat st;

	snprintf(path, sizeof(path), "%s", env && env[0] ? env : "../shared");
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stdout, "SKIP: reference data not found at %s (set SECAI_SHARED)\n", path);
		return NULL;
	}
	return path;
}

static inline char *test_tmpdir(void)
{
	char tmpl[] = "/tmp/secai-test.XXXXXX";
	char *d = mkdtemp(tmpl);
	return d ? strdup(d) : NULL;
}

static inline void test_rmrf(const char *dir)
{
	char cmd[PATH_MAX + 16];
	if (dir == NULL || strncmp(dir, "/tmp/secai-test.", 16) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", dir);
}

/* xorshift64: the next value of a test's own reproducible random sequence (*state != 0). */
static inline uint64_t test_rng(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/* A float in [lo, hi) from the sequence's top 24 bits. */
static inline float test_frand(uint64_t *state, float lo, float hi)
{
	return lo + (hi - lo) * (float)(test_rng(state) >> 40) / 16777216.0f;
}

#endif
