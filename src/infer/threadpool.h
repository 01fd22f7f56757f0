/*
 * threadpool.h — the engine's worker threads: a fixed set of pthreads that help the calling
 * thread run one data-parallel job at a time (matrix rows, attention heads).
 *
 * Owns: the threads, handing out [i0, i1) ranges of a job, waiting for the job to end.
 * Never: decides how results are combined — every range must write disjoint outputs, so the
 * result cannot depend on which thread ran which range (1..N threads give the same bits).
 */
#ifndef SECAI_INFER_THREADPOOL_H
#define SECAI_INFER_THREADPOOL_H

#include <stdint.h>

struct tp_pool;

/* Runs items [i0, i1) of a job on thread `thread` (0 = the caller, 1..n-1 = workers). */
typedef void (*tp_task_fn)(void *arg, int64_t i0, int64_t i1, int thread);

/* n_threads >= 1 (the caller counts as one). Returns 0, or -1 with errno set. */
int tp_new(int n_threads, struct tp_pool **out);
void tp_free(struct tp_pool *p);
int tp_n_threads(const struct tp_pool *p);

/*
 * Runs fn over [0, n) in ranges of at most chunk items (the last may be shorter; chunk >= 1),
 * with every thread taking ranges until none are left. Returns when all have finished. Not
 * reentrant: one job at a time, from one caller thread.
 */
void tp_run(struct tp_pool *p, int64_t n, int64_t chunk, tp_task_fn fn, void *arg);

#endif
