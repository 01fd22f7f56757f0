/*
 * test_threadpool.c — the engine's thread pool: every item of a job runs exactly once, on a
 * thread index below the pool's size, for any n, chunk and thread count; jobs follow each
 * other back to back and after the workers have gone to sleep; bad sizes are refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "infer/threadpool.h"

struct count_job {
	atomic_int *hits;
	int64_t n;
	int n_threads;
	int64_t work; /* busy-loop iterations per item */
	atomic_int bad_range, bad_thread;
	atomic_int threads_seen[8];
};

static void count_task(void *arg, int64_t i0, int64_t i1, int thread)
{
	struct count_job *j = arg;
	volatile int64_t spin;
	int64_t i;

	for (spin = 0; spin < j->work * (i1 - i0); spin++) /* some work per item */
		;
	if (i0 < 0 || i1 > j->n || i0 >= i1)
		atomic_fetch_add(&j->bad_range, 1);
	if (thread < 0 || thread >= j->n_threads)
		atomic_fetch_add(&j->bad_thread, 1);
	else
		atomic_fetch_add(&j->threads_seen[thread], 1);
	for (i = i0; i < i1 && i < j->n; i++)
		atomic_fetch_add(&j->hits[i], 1);
}

static void run_and_check(struct tp_pool *p, int n_threads, int64_t n, int64_t chunk)
{
	struct count_job j;
	int64_t i;

	memset(&j, 0, sizeof(j));
	j.n = n;
	j.n_threads = n_threads;
	j.hits = calloc((size_t)(n > 0 ? n : 1), sizeof(*j.hits));
	assert_non_null(j.hits);
	tp_run(p, n, chunk, count_task, &j);
	assert_int_equal(atomic_load(&j.bad_range), 0);
	assert_int_equal(atomic_load(&j.bad_thread), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(atomic_load(&j.hits[i]), 1);
	free(j.hits);
}

static void test_every_item_once(void **state)
{
	static const int64_t ns[] = {0, 1, 2, 15, 16, 17, 255, 1000, 5632};
	static const int64_t chunks[] = {0, 1, 3, 16, 100, 5633};
	int t;
	size_t a, b;
	(void)state;

	for (t = 1; t <= 4; t++) {
		struct tp_pool *p = NULL;

		assert_int_equal(tp_new(t, &p), 0);
		assert_non_null(p);
		assert_int_equal(tp_n_threads(p), t);
		for (a = 0; a < sizeof(ns) / sizeof(ns[0]); a++)
			for (b = 0; b < sizeof(chunks) / sizeof(chunks[0]); b++)
				run_and_check(p, t, ns[a], chunks[b]);
		tp_free(p);
	}
}

/* Many short jobs back to back (workers spinning), then jobs after a pause long enough for
 * the workers to sleep on their condition variable. */
static void test_back_to_back_and_after_sleep(void **state)
{
	struct tp_pool *p = NULL;
	int i;
	(void)state;

	assert_int_equal(tp_new(3, &p), 0);
	for (i = 0; i < 2000; i++)
		run_and_check(p, 3, 64, 4);
	for (i = 0; i < 3; i++) {
		usleep(200 * 1000);
		run_and_check(p, 3, 1000, 7);
	}
	tp_free(p);
}

/* With more ranges than threads and items that take some time, every thread takes part (the
 * caller included). Not necessarily at once: on a 2-vCPU VM a new worker was seen to share the
 * caller's CPU for its first ~30 jobs (~35 ms), until the scheduler moved it. */
static void test_workers_take_part(void **state)
{
	struct tp_pool *p = NULL;
	struct count_job j;
	int i, seen = 0;
	(void)state;

	assert_int_equal(tp_new(2, &p), 0);
	memset(&j, 0, sizeof(j));
	j.n = 4096;
	j.n_threads = 2;
	j.work = 200;
	j.hits = calloc((size_t)j.n, sizeof(*j.hits));
	assert_non_null(j.hits);
	for (i = 0; i < 1000 && seen < 2; i++) {
		tp_run(p, j.n, 1, count_task, &j);
		seen =
		    (atomic_load(&j.threads_seen[0]) > 0) + (atomic_load(&j.threads_seen[1]) > 0);
	}
	assert_int_equal(seen, 2);
	free(j.hits);
	tp_free(p);
}

static void test_bad_sizes(void **state)
{
	struct tp_pool *p = (struct tp_pool *)1;
	(void)state;

	errno = 0;
	assert_int_equal(tp_new(0, &p), -1);
	assert_int_equal(errno, EINVAL);
	assert_null(p);
	p = (struct tp_pool *)1;
	assert_int_equal(tp_new(1025, &p), -1);
	assert_null(p);
	tp_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_item_once),
	    cmocka_unit_test(test_back_to_back_and_after_sleep),
	    cmocka_unit_test(test_workers_take_part),
	    cmocka_unit_test(test_bad_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
