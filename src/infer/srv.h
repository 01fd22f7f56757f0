/*
 * srv.h — secai-infer, the OpenAI-compatible server around the engine.
 *
 * main.c         options, model load + SHA-256 pin, start, seal, SIGTERM drain
 * srv_http.c     routes: /v1/chat/completions, /v1/completions, /v1/models, /health, /metrics
 * srv_jobs.c     the bounded job queue and the worker that runs generation
 * The HTTP threads never touch the engine; the one worker thread does, one job at a time.
 */
#ifndef SECAI_SRV_H
#define SECAI_SRV_H

#include <pthread.h>
#include <stdint.h>

#include "buf.h"
#include "infer/chat_template.h"
#include "infer/openai.h"
#include "tokenizer/tok.h"

struct infer_model;
struct infer_ctx;

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct job {
	struct srv *srv;
	struct oai_request req;
	struct buf prompt;        /* templated prompt text */
	struct tok_ids ids;       /* the prompt's tokens (control tokens only where the template put them) */
	char id[40];
	long created;
	/* produced by the worker, read by the HTTP thread; guarded by srv.lock */
	struct buf out;           /* generated text (valid UTF-8) */
	size_t sent;              /* bytes of out already streamed */
	enum job_state state;
	int cancelled;            /* client gone: stop generating */
	int failed;
	int client_error;         /* failed because of the request (e.g. prompt too long): 400 */
	char error[256];
	const char *finish_reason;
	struct oai_usage usage;
	int refs;                 /* HTTP side + worker */
	struct job *next;
};

struct srv_metrics {
	uint64_t requests_ok, requests_client_err, requests_server_err, requests_rejected;
	uint64_t prompt_tokens, generated_tokens, cancelled;
	double last_tokens_per_s;
};

struct srv {
	struct infer_model *model;
	struct infer_ctx *ctx;
	struct tok_vocab *vocab;
	enum chat_template_id tmpl;
	char model_name[256];
	char model_sha256[65];
	uint64_t model_bytes;
	int n_threads;
	uint32_t n_ctx;
	int queue_max;
	pthread_mutex_t lock;
	pthread_cond_t cond;      /* job queued / job progressed */
	struct job *head, *tail;  /* queued jobs */
	int queued, running;
	int draining, stop;
	pthread_t worker;
	struct srv_metrics m;
};

/* srv_jobs.c */
int srv_jobs_start(struct srv *s);
void srv_jobs_stop(struct srv *s);
/* Queues a job (takes a reference). Returns 0, or -1 when the queue is full or draining. */
int srv_job_submit(struct srv *s, struct job *j);
void srv_job_put(struct srv *s, struct job *j);

/* srv_gen.c: runs one job on the engine (worker thread only); fills out, usage, finish_reason
 * or failed/error. */
int srv_generate(struct srv *s, struct job *j);
/* srv_gen.c: tokenizes the job's prompt into j->ids. spans (chat: where each message's content
 * sits in j->prompt, n of them; NULL for plain completions) are tokenized with special-token
 * parsing off, so no message can smuggle in a control token. Returns 0 or -1 with err. */
int srv_tokenize_prompt(const struct srv *s, struct job *j, const struct chat_span *spans,
			size_t n, char *err, size_t errlen);

/* srv_http.c */
struct http_server;
struct http_request;
struct http_response;
int srv_handle(void *arg, const struct http_request *req, struct http_response *resp);

#endif
