/*
 * srv_jobs.c — the bounded queue of completion jobs and the one worker thread that runs them.
 *
 * Owns: job lifetime (reference counted: the HTTP side and the worker each hold one) and the
 * queue bound (a full queue is a 429, never an unbounded backlog). The worker runs one job at a
 * time on the single engine context; a cancelled job stops at the next token.
 * Never: lets an HTTP thread call into the engine.
 */
#include <stdlib.h>
#include <string.h>

#include "infer/srv.h"
#include "log.h"

void srv_job_put(struct srv *s, struct job *j)
{
	int last;

	pthread_mutex_lock(&s->lock);
	last = --j->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (!last)
		return;
	oai_request_free(&j->req);
	buf_free(&j->prompt);
	tok_ids_free(&j->ids);
	buf_free(&j->out);
	free(j);
}

int srv_job_submit(struct srv *s, struct job *j)
{
	pthread_mutex_lock(&s->lock);
	if (s->draining || s->queued >= s->queue_max) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	j->refs++;
	j->state = JOB_QUEUED;
	j->next = NULL;
	if (s->tail)
		s->tail->next = j;
	else
		s->head = j;
	s->tail = j;
	s->queued++;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void *worker(void *arg)
{
	struct srv *s = arg;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&s->lock);
		while (s->head == NULL && !s->stop)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->head == NULL && s->stop) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		j = s->head;
		s->head = j->next;
		if (s->head == NULL)
			s->tail = NULL;
		s->queued--;
		s->running++;
		j->state = JOB_RUNNING;
		int cancelled = j->cancelled;
		pthread_mutex_unlock(&s->lock);

		if (!cancelled)
			srv_generate(s, j);

		pthread_mutex_lock(&s->lock);
		s->running--;
		j->state = JOB_DONE;
		if (j->cancelled)
			s->m.cancelled++;
		else if (j->failed)
			j->client_error ? s->m.requests_client_err++ : s->m.requests_server_err++;
		else
			s->m.requests_ok++;
		s->m.prompt_tokens += (uint64_t)j->usage.prompt_tokens;
		s->m.generated_tokens += (uint64_t)j->usage.completion_tokens;
		if (j->usage.predicted_ms > 0)
			s->m.last_tokens_per_s = j->usage.completion_tokens * 1000.0 / j->usage.predicted_ms;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		log_info("%s %s: %ld prompt + %ld generated tokens, %.1f tok/s, %s", j->id,
			 j->req.chat ? "chat" : "completion", j->usage.prompt_tokens,
			 j->usage.completion_tokens,
			 j->usage.predicted_ms > 0
			     ? j->usage.completion_tokens * 1000.0 / j->usage.predicted_ms
			     : 0.0,
			 j->cancelled ? "cancelled (client gone)"
				      : j->failed ? j->error : j->finish_reason);
		srv_job_put(s, j);
	}
	return NULL;
}

int srv_jobs_start(struct srv *s)
{
	return pthread_create(&s->worker, NULL, worker, s) == 0 ? 0 : -1;
}

void srv_jobs_stop(struct srv *s)
{
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->worker, NULL);
}
