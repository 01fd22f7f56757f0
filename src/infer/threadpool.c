/*
 * threadpool.c — a fixed pool of pthreads running one data-parallel job at a time.
 *
 * Owns: worker threads, the job slot, range hand-out (an atomic counter), spin-then-sleep waits.
 * Never: runs two jobs at once, keeps global state, or lets a job's result depend on which
 * thread ran which range (ranges are fixed by n and chunk, only their assignment varies).
 *
 * A job is posted by bumping `gen`. Workers spin briefly on it (a forward pass posts hundreds of
 * short jobs per token, and a futex wake-up costs more than the job), then sleep on a condition
 * variable. The caller takes ranges too, then waits for `pending` (workers still busy) to drop to
 * 0.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "infer/threadpool.h"

#define TP_SPIN 20000
#define TP_YIELD_EVERY 64 /* on a loaded machine, let the thread we wait for have the core */

struct tp_worker {
	struct tp_pool *pool;
	pthread_t tid;
	int index;
};

struct tp_pool {
	int n_threads;
	struct tp_worker *workers; /* n_threads - 1 */
	pthread_mutex_t mu;
	pthread_cond_t wake; /* workers: a new job or quit */
	pthread_cond_t done; /* caller: pending reached 0 */
	atomic_uint gen;     /* job generation */
	atomic_int pending;  /* workers that have not finished the current job */
	atomic_int quit;
	atomic_llong next; /* next item to hand out */
	/* The current job; written before gen is bumped, read after it is seen. */
	tp_task_fn fn;
	void *arg;
	int64_t n, chunk;
};

static inline void cpu_relax(int spin)
{
	if (spin % TP_YIELD_EVERY == TP_YIELD_EVERY - 1) {
		sched_yield();
		return;
	}
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void tp_take(struct tp_pool *p, int thread)
{
	for (;;) {
		int64_t i0 = atomic_fetch_add(&p->next, p->chunk);
		int64_t i1;

		if (i0 >= p->n)
			break;
		i1 = i0 + p->chunk < p->n ? i0 + p->chunk : p->n;
		p->fn(p->arg, i0, i1, thread);
	}
}

static void *tp_main(void *v)
{
	struct tp_worker *w = v;
	struct tp_pool *p = w->pool;
	unsigned seen = 0;

	for (;;) {
		unsigned g;
		int spin;

		for (spin = 0; spin < TP_SPIN; spin++) {
			if (atomic_load(&p->gen) != seen || atomic_load(&p->quit))
				break;
			cpu_relax(spin);
		}
		if (spin == TP_SPIN) {
			pthread_mutex_lock(&p->mu);
			while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit))
				pthread_cond_wait(&p->wake, &p->mu);
			pthread_mutex_unlock(&p->mu);
		}
		if (atomic_load(&p->quit))
			break;
		g = atomic_load(&p->gen);
		seen = g;
		tp_take(p, w->index);
		if (atomic_fetch_sub(&p->pending, 1) == 1) {
			pthread_mutex_lock(&p->mu);
			pthread_cond_signal(&p->done);
			pthread_mutex_unlock(&p->mu);
		}
	}
	return NULL;
}

int tp_new(int n_threads, struct tp_pool **out)
{
	struct tp_pool *p;
	int i, err;

	*out = NULL;
	if (n_threads < 1 || n_threads > 1024) {
		errno = EINVAL;
		return -1;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -1;
	p->n_threads = n_threads;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->wake, NULL);
	pthread_cond_init(&p->done, NULL);
	atomic_init(&p->gen, 0);
	atomic_init(&p->pending, 0);
	atomic_init(&p->quit, 0);
	atomic_init(&p->next, 0);
	if (n_threads > 1) {
		p->workers = calloc((size_t)n_threads - 1, sizeof(*p->workers));
		if (p->workers == NULL) {
			tp_free(p);
			return -1;
		}
	}
	for (i = 0; i < n_threads - 1; i++) {
		p->workers[i].pool = p;
		p->workers[i].index = i + 1;
		err = pthread_create(&p->workers[i].tid, NULL, tp_main, &p->workers[i]);
		if (err != 0) {
			p->n_threads = i + 1; /* join only the ones started */
			tp_free(p);
			errno = err;
			return -1;
		}
	}
	*out = p;
	return 0;
}

void tp_free(struct tp_pool *p)
{
	int i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	atomic_store(&p->quit, 1);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->n_threads - 1 && p->workers != NULL; i++)
		pthread_join(p->workers[i].tid, NULL);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->mu);
	free(p->workers);
	free(p);
}

int tp_n_threads(const struct tp_pool *p)
{
	return p->n_threads;
}

void tp_run(struct tp_pool *p, int64_t n, int64_t chunk, tp_task_fn fn, void *arg)
{
	int spin;

	if (n <= 0)
		return;
	if (chunk < 1)
		chunk = 1;
	if (p->n_threads == 1 || n <= chunk) {
		fn(arg, 0, n, 0);
		return;
	}
	p->fn = fn;
	p->arg = arg;
	p->n = n;
	p->chunk = chunk;
	atomic_store(&p->next, 0);
	atomic_store(&p->pending, p->n_threads - 1);
	pthread_mutex_lock(&p->mu);
	atomic_fetch_add(&p->gen, 1);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->mu);

	tp_take(p, 0);

	for (spin = 0; spin < TP_SPIN && atomic_load(&p->pending) > 0; spin++)
		cpu_relax(spin);
	if (atomic_load(&p->pending) > 0) {
		pthread_mutex_lock(&p->mu);
		while (atomic_load(&p->pending) > 0)
			pthread_cond_wait(&p->done, &p->mu);
		pthread_mutex_unlock(&p->mu);
	}
}
