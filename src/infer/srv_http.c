/*
 * srv_http.c — secai-infer's HTTP routes (OpenAI API, health, models, metrics).
 *
 * Owns: turning requests into jobs and jobs into responses (whole JSON or Server-Sent Events).
 * Never: runs the engine (srv_jobs.c's worker does), answers 500 for a client's mistake, or
 * keeps generating for a client that has gone (a dropped stream cancels its job).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "infer/infer.h"
#include "infer/srv.h"
#include "json.h"
#include "log.h"

#define MAX_PROMPT_BYTES (4u << 20)

static int reply_oai_error(struct srv *s, struct http_response *resp, int status,
			   const char *type, const char *msg, const char *param)
{
	json_t *e = oai_error(msg, type, param, NULL);
	int rc = http_reply_json(resp, status, e);

	json_decref(e);
	pthread_mutex_lock(&s->lock);
	if (status == 429 || status == 503)
		s->m.requests_rejected++;
	else if (status >= 500)
		s->m.requests_server_err++;
	else
		s->m.requests_client_err++;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int handle_models(struct srv *s, struct http_response *resp)
{
	const struct infer_hparams *hp = infer_model_hparams(s->model);
	json_t *o = json_pack(
	    "{s:s, s:[{s:s, s:s, s:I, s:s, s:{s:s, s:I, s:I, s:I, s:I, s:I, s:s}}]}", "object",
	    "list", "data", "id", s->model_name, "object", "model", "created", (json_int_t)0,
	    "owned_by", "secai", "meta", "sha256", s->model_sha256, "n_vocab",
	    (json_int_t)hp->n_vocab, "n_ctx_train", (json_int_t)hp->n_ctx_train, "n_embd",
	    (json_int_t)hp->n_embd, "n_params", (json_int_t)hp->n_params, "size",
	    (json_int_t)s->model_bytes, "chat_template", chat_template_name(s->tmpl));
	int rc = http_reply_json(resp, 200, o);
	json_decref(o);
	return rc;
}

static int handle_metrics(struct srv *s, struct http_response *resp)
{
	struct buf b = BUF_INIT;
	struct srv_metrics m;
	int queued, running;

	pthread_mutex_lock(&s->lock);
	m = s->m;
	queued = s->queued;
	running = s->running;
	pthread_mutex_unlock(&s->lock);
	buf_printf(&b,
		   "# HELP secai_infer_requests_total Completion requests by outcome.\n"
		   "# TYPE secai_infer_requests_total counter\n"
		   "secai_infer_requests_total{outcome=\"ok\"} %" PRIu64 "\n"
		   "secai_infer_requests_total{outcome=\"client_error\"} %" PRIu64 "\n"
		   "secai_infer_requests_total{outcome=\"server_error\"} %" PRIu64 "\n"
		   "secai_infer_requests_total{outcome=\"rejected\"} %" PRIu64 "\n"
		   "secai_infer_requests_total{outcome=\"cancelled\"} %" PRIu64 "\n"
		   "# HELP secai_infer_prompt_tokens_total Prompt tokens processed.\n"
		   "# TYPE secai_infer_prompt_tokens_total counter\n"
		   "secai_infer_prompt_tokens_total %" PRIu64 "\n"
		   "# HELP secai_infer_generated_tokens_total Tokens generated.\n"
		   "# TYPE secai_infer_generated_tokens_total counter\n"
		   "secai_infer_generated_tokens_total %" PRIu64 "\n"
		   "# HELP secai_infer_tokens_per_second Generation speed of the last request.\n"
		   "# TYPE secai_infer_tokens_per_second gauge\n"
		   "secai_infer_tokens_per_second %.3f\n"
		   "# HELP secai_infer_queue_depth Requests waiting for the engine.\n"
		   "# TYPE secai_infer_queue_depth gauge\n"
		   "secai_infer_queue_depth %d\n"
		   "# HELP secai_infer_busy Requests being generated now.\n"
		   "# TYPE secai_infer_busy gauge\n"
		   "secai_infer_busy %d\n",
		   m.requests_ok, m.requests_client_err, m.requests_server_err, m.requests_rejected,
		   m.cancelled, m.prompt_tokens, m.generated_tokens, m.last_tokens_per_s, queued,
		   running);
	int rc = http_reply(resp, 200, "text/plain; version=0.0.4", b.data, b.len);
	buf_free(&b);
	return rc;
}

/* ---- streaming ---- */

struct stream {
	struct srv *s;
	struct job *j;
	int stage; /* 0 role chunk (chat), 1 content, 2 done */
	struct buf pending;
	size_t off;
};

static int sse_append(struct buf *b, json_t *o)
{
	char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int rc = -1;

	if (txt != NULL)
		rc = buf_printf(b, "data: %s\n\n", txt);
	free(txt);
	json_decref(o);
	return rc;
}

/* Fills st->pending with the next SSE events; returns 0 when there is more, 1 at the end,
 * -1 when the client went away. */
static int stream_next(struct stream *st, struct http_stream *hs)
{
	struct srv *s = st->s;
	struct job *j = st->j;
	const char *model = s->model_name;

	if (st->stage == 0) {
		st->stage = 1;
		if (j->req.chat)
			return sse_append(&st->pending, oai_chat_chunk(j->id, j->created, model,
								       "assistant", "", NULL, NULL));
	}
	if (st->stage == 2)
		return 1;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (j->out.len > j->sent || j->state == JOB_DONE)
			break;
		if (http_stream_cancelled(hs)) {
			j->cancelled = 1;
			pthread_cond_broadcast(&s->cond);
			pthread_mutex_unlock(&s->lock);
			return -1;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	char *piece = NULL;
	if (j->out.len > j->sent) {
		piece = strndup(j->out.data + j->sent, j->out.len - j->sent);
		j->sent = j->out.len;
	}
	int done = j->state == JOB_DONE && j->sent == j->out.len;
	pthread_mutex_unlock(&s->lock);
	if (piece != NULL) {
		int rc = sse_append(&st->pending,
				    j->req.chat ? oai_chat_chunk(j->id, j->created, model, NULL,
								 piece, NULL, NULL)
						: oai_text_chunk(j->id, j->created, model, piece, NULL,
								 NULL));
		free(piece);
		if (rc != 0)
			return -1;
	}
	if (done) {
		st->stage = 2;
		if (j->failed) {
			json_t *e = oai_error(j->error, "server_error", NULL, NULL);
			sse_append(&st->pending, e);
		} else {
			const struct oai_usage *u = j->req.include_usage ? &j->usage : NULL;
			sse_append(&st->pending,
				   j->req.chat ? oai_chat_chunk(j->id, j->created, model, NULL, NULL,
								j->finish_reason, u)
					       : oai_text_chunk(j->id, j->created, model, NULL,
								j->finish_reason, u));
		}
		buf_append_str(&st->pending, "data: [DONE]\n\n");
	}
	return 0;
}

static ssize_t stream_fn(void *arg, struct http_stream *hs, char *out, size_t max)
{
	struct stream *st = arg;

	while (st->off == st->pending.len) {
		buf_reset(&st->pending);
		st->off = 0;
		int r = stream_next(st, hs);
		if (r < 0)
			return -1;
		if (r > 0 && st->pending.len == 0)
			return 0;
	}
	size_t n = st->pending.len - st->off;
	if (n > max)
		n = max;
	memcpy(out, st->pending.data + st->off, n);
	st->off += n;
	return (ssize_t)n;
}

static void stream_done(void *arg, int complete)
{
	struct stream *st = arg;

	pthread_mutex_lock(&st->s->lock);
	if (!complete && st->j->state != JOB_DONE) {
		st->j->cancelled = 1;
		pthread_cond_broadcast(&st->s->cond);
	}
	pthread_mutex_unlock(&st->s->lock);
	srv_job_put(st->s, st->j);
	buf_free(&st->pending);
	free(st);
}

/* ---- completions ---- */

static int build_prompt(struct srv *s, struct job *j, char *err, size_t errlen)
{
	struct chat_message *msgs;
	struct chat_span *spans;
	int rc;

	if (!j->req.chat) {
		/* a raw completion: the client writes the whole prompt, control tokens included,
		 * as llama-server takes it */
		if (buf_append_str(&j->prompt, j->req.prompt) != 0 || j->prompt.len > MAX_PROMPT_BYTES) {
			snprintf(err, errlen, "prompt too long");
			return -1;
		}
		return srv_tokenize_prompt(s, j, NULL, 0, err, errlen);
	}
	msgs = calloc(j->req.nmsgs, sizeof(*msgs));
	spans = calloc(j->req.nmsgs, sizeof(*spans));
	if (msgs == NULL || spans == NULL) {
		free(msgs);
		free(spans);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < j->req.nmsgs; i++) {
		msgs[i].role = j->req.msgs[i].role;
		msgs[i].content = j->req.msgs[i].content;
	}
	rc = chat_apply_spans(s->tmpl, msgs, j->req.nmsgs, 1, &j->prompt, spans);
	if (rc != 0)
		snprintf(err, errlen, "%s", chat_strerror(rc));
	else if (j->prompt.len > MAX_PROMPT_BYTES)
		snprintf(err, errlen, "prompt too long"), rc = -1;
	else
		rc = srv_tokenize_prompt(s, j, spans, j->req.nmsgs, err, errlen);
	free(msgs);
	free(spans);
	return rc == 0 ? 0 : -1;
}

static int handle_completion(struct srv *s, const struct http_request *req,
			     struct http_response *resp, int chat)
{
	char err[256];
	const char *param = NULL;
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return reply_oai_error(s, resp, 500, "server_error", "out of memory", NULL);
	j->refs = 1;
	j->srv = s;
	oai_new_id(j->id);
	if (!chat) /* OpenAI names text completions cmpl-... */
		memmove(j->id, j->id + 4, strlen(j->id + 4) + 1);
	j->created = (long)time(NULL);
	if (oai_parse_request((const char *)req->body, req->body_len, chat, &j->req, err,
			      sizeof(err), &param) != 0) {
		srv_job_put(s, j);
		return reply_oai_error(s, resp, 400, "invalid_request_error", err, param);
	}
	if (build_prompt(s, j, err, sizeof(err)) != 0) {
		srv_job_put(s, j);
		return reply_oai_error(s, resp, 400, "invalid_request_error", err,
				       chat ? "messages" : "prompt");
	}
	if (j->ids.n >= s->n_ctx) {
		snprintf(err, sizeof(err),
			 "this model's maximum context length is %u tokens, but the prompt has %zu "
			 "tokens; shorten the messages or start secai-infer with a larger --ctx",
			 s->n_ctx, j->ids.n);
		srv_job_put(s, j);
		return reply_oai_error(s, resp, 400, "invalid_request_error", err,
				       chat ? "messages" : "prompt");
	}
	if (srv_job_submit(s, j) != 0) {
		int draining = s->draining;
		srv_job_put(s, j);
		return draining ? reply_oai_error(s, resp, 503, "server_error",
						  "the server is shutting down", NULL)
				: reply_oai_error(s, resp, 429, "rate_limit_error",
						  "too many requests are waiting; retry later", NULL);
	}
	if (j->req.stream) {
		struct stream *st = calloc(1, sizeof(*st));
		if (st == NULL) {
			srv_job_put(s, j);
			return reply_oai_error(s, resp, 500, "server_error", "out of memory", NULL);
		}
		st->s = s;
		st->j = j; /* the reference passes to the stream */
		return http_reply_stream(resp, 200, "text/event-stream", stream_fn, stream_done, st);
	}
	pthread_mutex_lock(&s->lock);
	while (j->state != JOB_DONE)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	int rc;
	if (j->failed) {
		rc = reply_oai_error(s, resp, j->client_error ? 400 : 500,
				     j->client_error ? "invalid_request_error" : "server_error",
				     j->error, NULL);
	} else {
		json_t *o = chat ? oai_chat_completion(j->id, j->created, s->model_name, j->out.data
									       ? j->out.data : "",
						       j->finish_reason, &j->usage)
				 : oai_text_completion(j->id, j->created, s->model_name,
						       j->out.data ? j->out.data : "",
						       j->finish_reason, &j->usage);
		rc = http_reply_json(resp, 200, o);
		json_decref(o);
	}
	srv_job_put(s, j);
	return rc;
}

int srv_handle(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct srv *s = arg;
	int get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;

	if (strcmp(req->path, "/health") == 0 && get)
		return http_reply(resp, 200, "application/json", "{\"status\":\"ok\"}", 15);
	if (strcmp(req->path, "/v1/models") == 0 && get)
		return handle_models(s, resp);
	if (strcmp(req->path, "/metrics") == 0 && get)
		return handle_metrics(s, resp);
	if (strcmp(req->path, "/v1/chat/completions") == 0 && post)
		return handle_completion(s, req, resp, 1);
	if (strcmp(req->path, "/v1/completions") == 0 && post)
		return handle_completion(s, req, resp, 0);
	if (!strcmp(req->path, "/health") || !strcmp(req->path, "/v1/models") ||
	    !strcmp(req->path, "/metrics") || !strcmp(req->path, "/v1/chat/completions") ||
	    !strcmp(req->path, "/v1/completions"))
		return reply_oai_error(s, resp, 405, "invalid_request_error",
				       "method not allowed on this path", NULL);
	return reply_oai_error(s, resp, 404, "invalid_request_error", "no such endpoint", NULL);
}
