/*
 * srv_gen.c — one completion job on the engine: the prompt's tokens, the sampler settings from
 * the request, and the generation loop streaming text into the job.
 *
 * Owns: the mapping from an OpenAI request to gen_params, prompt tokenization that keeps
 * message contents from becoming control tokens, and finish_reason/usage.
 * Never: runs on an HTTP thread (srv_generate is the worker's), or holds the server lock while
 * the engine computes (only while appending text).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "infer/chat_prompt.h"
#include "infer/generate.h"
#include "infer/srv.h"
#include "log.h"

int srv_tokenize_prompt(const struct srv *s, struct job *j, const struct chat_span *spans,
			size_t n, char *err, size_t errlen)
{
	int injected = 0;

	tok_ids_free(&j->ids);
	if (chat_prompt_tokenize(s->vocab, j->prompt.data, j->prompt.len, spans, n, &j->ids,
				 &injected) != 0) {
		tok_ids_free(&j->ids);
		snprintf(err, errlen, "the prompt cannot be tokenized");
		return -1;
	}
	if (injected)
		log_warnx("%s: a message holds control-token text; it is kept as plain text", j->id);
	return 0;
}

static int on_text(void *user, const char *text, size_t len)
{
	struct job *j = user;
	struct srv *s = j->srv;
	int stop;

	pthread_mutex_lock(&s->lock);
	if (buf_append(&j->out, text, len) != 0)
		j->failed = 1;
	stop = j->cancelled || j->failed;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return stop;
}

static uint32_t fresh_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec * 2654435761u;
}

static void fail(struct job *j, int client, const char *msg)
{
	j->failed = 1;
	j->client_error = client;
	snprintf(j->error, sizeof(j->error), "%s", msg);
}

int srv_generate(struct srv *s, struct job *j)
{
	const struct oai_request *r = &j->req;
	struct gen_params gp;
	struct gen_result res;
	char err[256];
	int rc;

	gen_params_default(&gp);
	gp.max_tokens = r->max_tokens > 0 ? (uint32_t)r->max_tokens : 0;
	gp.ignore_eog = r->ignore_eos != 0;
	gp.sampling.greedy = r->temperature <= 0.0;
	gp.sampling.temp = (float)r->temperature;
	gp.sampling.top_k = (int32_t)r->top_k;
	gp.sampling.top_p = (float)r->top_p;
	gp.sampling.min_p = (float)r->min_p;
	gp.sampling.repeat_penalty = (float)r->repeat_penalty;
	gp.sampling.freq_penalty = (float)r->frequency_penalty;
	gp.sampling.presence_penalty = (float)r->presence_penalty;
	gp.sampling.seed = r->has_seed ? (uint32_t)r->seed : fresh_seed();
	for (size_t i = 0; i < r->nstop && i < GEN_MAX_STOP; i++)
		if (r->stop[i] != NULL && r->stop[i][0] != '\0')
			gp.stop[gp.n_stop++] = r->stop[i];
	if (sampler_params_check(&gp.sampling, err, sizeof(err)) != 0) {
		fail(j, 1, err);
		return -1;
	}
	if (j->ids.n >= s->n_ctx) {
		snprintf(err, sizeof(err),
			 "this model's context is %u tokens; the prompt has %zu (context_length_exceeded)",
			 s->n_ctx, j->ids.n);
		fail(j, 1, err);
		j->usage.prompt_tokens = (long)j->ids.n;
		return -1;
	}
	gp.on_text = on_text;
	gp.user = j;

	gen_result_init(&res);
	rc = gen_run_ids(s->model, s->ctx, s->vocab, &gp, j->ids.ids, j->ids.n, &res, err,
			 sizeof(err));
	j->usage.prompt_tokens = (long)res.t.n_prompt;
	j->usage.completion_tokens = (long)res.t.n_gen;
	j->usage.prompt_ms = res.t.prompt_ms;
	j->usage.predicted_ms = res.t.eval_ms + res.t.sample_ms;
	if (rc == 0 || res.stop == GEN_STOP_CONTEXT) {
		/* the end of the context is a "length" stop, as llama-server reports it */
		j->finish_reason = res.stop == GEN_STOP_MAX_TOKENS || res.stop == GEN_STOP_CONTEXT
				       ? "length"
				       : "stop";
		rc = 0;
	} else if (!j->cancelled) {
		log_warnx("%s: generation failed: %s", j->id, err);
		fail(j, 0, err);
	}
	gen_result_free(&res);
	return rc;
}
