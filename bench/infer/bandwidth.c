/*
 * bandwidth.c — `bandwidth [THREADS] [MIB]`: STREAM-style memory read bandwidth, the ceiling
 * of token generation (every weight is read once per token).
 *
 * Owns: one array of MIB MiB (default 1024), filled once, then read THREADS ways (each thread
 * its own contiguous slice, SSE2 loads into four accumulators) five times; prints the best pass
 * as `read_gbs=X threads=N mib=M` (GB = 1e9 bytes). Never: writes anything but stdout, or takes
 * more memory than the array.
 */
#include <emmintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PASSES 5
#define MAX_THREADS 64

struct slice {
	const __m128i *p;
	size_t n; /* 16-byte vectors */
	uint64_t sum;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *reader(void *arg)
{
	struct slice *s = arg;
	__m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
	uint64_t out[2];
	size_t i;

	for (i = 0; i + 4 <= s->n; i += 4) {
		a0 = _mm_add_epi64(a0, _mm_load_si128(s->p + i));
		a1 = _mm_add_epi64(a1, _mm_load_si128(s->p + i + 1));
		a2 = _mm_add_epi64(a2, _mm_load_si128(s->p + i + 2));
		a3 = _mm_add_epi64(a3, _mm_load_si128(s->p + i + 3));
	}
	a0 = _mm_add_epi64(_mm_add_epi64(a0, a1), _mm_add_epi64(a2, a3));
	_mm_storeu_si128((__m128i *)out, a0);
	s->sum = out[0] + out[1];
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[MAX_THREADS];
	struct slice sl[MAX_THREADS];
	int nt = argc > 1 ? atoi(argv[1]) : 1, t, pass;
	size_t mib = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 1024, bytes, nvec, per;
	double best = 0.0, t0, dt;
	uint64_t check = 0;
	void *mem;

	if (nt < 1 || nt > MAX_THREADS || mib < 16 || mib > (1u << 16)) {
		fprintf(stderr, "usage: bandwidth [THREADS 1..%d] [MIB 16..65536]\n", MAX_THREADS);
		return 64;
	}
	bytes = mib << 20;
	if (posix_memalign(&mem, 64, bytes) != 0) {
		fprintf(stderr, "bandwidth: cannot allocate %zu MiB\n", mib);
		return 1;
	}
	memset(mem, 1, bytes); /* fault every page in before timing */
	nvec = bytes / sizeof(__m128i);
	per = nvec / (size_t)nt / 4 * 4;
	for (pass = 0; pass < PASSES; pass++) {
		t0 = now_s();
		for (t = 0; t < nt; t++) {
			sl[t].p = (const __m128i *)mem + (size_t)t * per;
			sl[t].n = per;
			if (pthread_create(&th[t], NULL, reader, &sl[t]) != 0) {
				fprintf(stderr, "bandwidth: pthread_create failed\n");
				return 1;
			}
		}
		for (t = 0; t < nt; t++) {
			pthread_join(th[t], NULL);
			check += sl[t].sum;
		}
		dt = now_s() - t0;
		if ((double)(per * (size_t)nt * sizeof(__m128i)) / dt > best)
			best = (double)(per * (size_t)nt * sizeof(__m128i)) / dt;
	}
	printf("read_gbs=%.2f threads=%d mib=%zu check=%llu\n", best / 1e9, nt, mib,
	       (unsigned long long)(check & 0xff));
	free(mem);
	return 0;
}
