/*
 * generate.c — the generation loop (see generate.h).
 *
 * Owns: prompt processing in one infer_forward() call, the sample / accept / feed loop, stop
 * rules (end-of-generation ids, stop strings with hold-back, max_tokens, context end), the
 * UTF-8-safe stream to the callback, timings and the per-step top-K capture.
 * Never: emits a byte of a stop string or an incomplete UTF-8 sequence, calls the callback with
 * nothing, or calls it again once it asked to stop.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "infer/generate.h"

__attribute__((format(printf, 3, 4))) static int gen_fail(char *err, size_t errlen, const char *fmt,
							  ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

const char *gen_stop_name(enum gen_stop s)
{
	switch (s) {
	case GEN_STOP_EOG:
		return "eog";
	case GEN_STOP_STRING:
		return "stop_string";
	case GEN_STOP_MAX_TOKENS:
		return "max_tokens";
	case GEN_STOP_CALLBACK:
		return "callback";
	case GEN_STOP_CONTEXT:
		return "context_full";
	case GEN_STOP_ERROR:
		return "error";
	default:
		return "none";
	}
}

void gen_params_default(struct gen_params *p)
{
	memset(p, 0, sizeof(*p));
	sampler_params_default(&p->sampling);
	p->max_tokens = 128;
	p->add_special = true;
}

void gen_result_init(struct gen_result *r)
{
	memset(r, 0, sizeof(*r));
}

void gen_result_free(struct gen_result *r)
{
	tok_ids_free(&r->prompt);
	tok_ids_free(&r->tokens);
	buf_free(&r->text);
	free(r->top);
	gen_result_init(r);
}

bool gen_is_eog(const struct tok_vocab *v, int32_t id)
{
	static const enum tok_special eog[] = {TOK_SPECIAL_EOS, TOK_SPECIAL_EOT, TOK_SPECIAL_EOM};
	size_t i;

	if (id < 0)
		return false;
	for (i = 0; i < sizeof(eog) / sizeof(eog[0]); i++)
		if (tok_vocab_special(v, eog[i]) == id)
			return true;
	return false;
}

size_t gen_stop_scan(const char *text, size_t len, size_t sent, const char *const *stop,
		     size_t n_stop, int *hit)
{
	size_t i, k, sl, best = SIZE_MAX, hold = 0;
	const char *f;

	*hit = 0;
	if (sent > len)
		sent = len;
	for (i = 0; i < n_stop; i++) {
		sl = strlen(stop[i]);
		if (sl == 0)
			continue;
		f = memmem(text + sent, len - sent, stop[i], sl);
		if (f != NULL && (size_t)(f - text) < best)
			best = (size_t)(f - text);
	}
	if (best != SIZE_MAX) {
		*hit = 1;
		return best;
	}
	for (i = 0; i < n_stop; i++) {
		sl = strlen(stop[i]);
		for (k = sl ? sl - 1 : 0; k > hold; k--) {
			if (k <= len - sent && memcmp(text + len - k, stop[i], k) == 0) {
				hold = k;
				break;
			}
		}
	}
	return len - hold;
}

/* Keeps the k best (logit descending, then id ascending) of logits[0..n) in out[0..k). */
static void top_logits(const float *logits, size_t n, struct gen_top *out, uint32_t k)
{
	uint32_t have = 0, j;
	size_t i;

	for (i = 0; i < n; i++) {
		float l = logits[i];

		if (l != l) /* NaN never ranks */
			continue;
		if (have == k && !(l > out[k - 1].logit))
			continue;
		j = have < k ? have++ : k - 1;
		while (j > 0 && l > out[j - 1].logit) {
			out[j] = out[j - 1];
			j--;
		}
		out[j].id = (int32_t)i;
		out[j].logit = l;
	}
	for (j = have; j < k; j++) { /* fewer finite logits than k */
		out[j].id = -1;
		out[j].logit = 0.0f;
	}
}

struct gen_state {
	const struct gen_params *p;
	struct gen_result *r;
	size_t sent; /* bytes of r->text already given to the callback */
};

/* Emits text[sent..to); returns 1 when the callback asked to stop. */
static int emit(struct gen_state *g, size_t to)
{
	int rc = 0;

	if (to > g->sent && g->p->on_text != NULL)
		rc = g->p->on_text(g->p->user, g->r->text.data + g->sent, to - g->sent);
	if (to > g->sent)
		g->sent = to;
	return rc != 0;
}

/* After new text: stop string found (1), callback stop (2), or go on (0). */
static int advance(struct gen_state *g)
{
	struct gen_result *r = g->r;
	size_t to;
	int hit;

	to = gen_stop_scan(r->text.data ? r->text.data : "", r->text.len, g->sent, g->p->stop,
			   g->p->n_stop, &hit);
	if (hit) {
		emit(g, to); /* stopping anyway: the callback's answer does not matter */
		r->text.len = to;
		if (r->text.data)
			r->text.data[to] = '\0';
		return 1;
	}
	return emit(g, to) ? 2 : 0;
}

static int check_params(const struct gen_params *p, char *err, size_t errlen)
{
	size_t i;

	if (sampler_params_check(&p->sampling, err, errlen) != 0)
		return -1;
	if (p->n_stop > GEN_MAX_STOP)
		return gen_fail(err, errlen, "at most %d stop strings", GEN_MAX_STOP);
	for (i = 0; i < p->n_stop; i++)
		if (p->stop[i] == NULL || p->stop[i][0] == '\0')
			return gen_fail(err, errlen, "stop strings must not be empty");
	if (p->top_logits > GEN_MAX_TOP_LOGITS)
		return gen_fail(err, errlen, "top logits: at most %d", GEN_MAX_TOP_LOGITS);
	return 0;
}

int gen_run_ids(struct infer_model *m, struct infer_ctx *c, const struct tok_vocab *v,
		const struct gen_params *p, const int32_t *ids, size_t n, struct gen_result *r,
		char *err, size_t errlen)
{
	const struct infer_hparams *hp = infer_model_hparams(m);
	struct gen_state g = {p, r, 0};
	struct sampler *smp = NULL;
	struct tok_decoder dec;
	size_t n_vocab = hp->n_vocab, i;
	uint32_t n_ctx = infer_ctx_n_ctx(c);
	float *logits = NULL;
	double t0 = now_ms(), t;
	int rc = -1, s;

	r->stop = GEN_STOP_ERROR;
	if (check_params(p, err, errlen) != 0)
		return -1;
	if (n == 0)
		return gen_fail(err, errlen, "the prompt has no tokens");
	r->prompt.n = 0;
	for (i = 0; i < n; i++) {
		if (ids[i] < 0 || (size_t)ids[i] >= n_vocab)
			return gen_fail(err, errlen, "prompt token %d is outside the vocabulary",
					ids[i]);
		if (tok_ids_push(&r->prompt, ids[i]) != 0)
			return gen_fail(err, errlen, "out of memory");
	}
	if (n > n_ctx) {
		r->stop = GEN_STOP_CONTEXT;
		return gen_fail(
		    err, errlen,
		    "the prompt has %zu tokens; the context holds %u (context length %u "
		    "reached)",
		    n, n_ctx, n_ctx);
	}
	r->top_k = p->top_logits < n_vocab ? p->top_logits : (uint32_t)n_vocab;
	logits = malloc(n_vocab * sizeof(*logits));
	if (logits == NULL || sampler_new(&p->sampling, n_vocab, &smp, err, errlen) != 0) {
		if (logits == NULL)
			gen_fail(err, errlen, "out of memory");
		goto out;
	}
	infer_ctx_truncate(c, 0);
	t = now_ms();
	if (infer_forward(c, ids, (uint32_t)n, logits, err, errlen) != 0)
		goto out;
	r->t.prompt_ms = now_ms() - t;
	r->t.n_prompt = (uint32_t)n;
	for (i = 0; i < n; i++)
		sampler_accept(smp, ids[i]);
	tok_decoder_init(&dec);
	r->stop = GEN_STOP_NONE;
	for (;;) {
		int32_t id;

		t = now_ms();
		if (r->top_k > 0) {
			struct gen_top *nt =
			    realloc(r->top, (r->tokens.n + 1) * r->top_k * sizeof(*nt));

			if (nt == NULL) {
				gen_fail(err, errlen, "out of memory");
				r->stop = GEN_STOP_ERROR;
				goto out;
			}
			r->top = nt;
			top_logits(logits, n_vocab, r->top + r->tokens.n * r->top_k, r->top_k);
		}
		id = sampler_sample(smp, logits);
		sampler_accept(smp, id);
		r->t.sample_ms += now_ms() - t;
		if (tok_ids_push(&r->tokens, id) != 0) {
			gen_fail(err, errlen, "out of memory");
			r->stop = GEN_STOP_ERROR;
			goto out;
		}
		r->t.n_gen++;
		if (!p->ignore_eog && gen_is_eog(v, id)) {
			r->stop = GEN_STOP_EOG;
			break;
		}
		if (tok_decoder_push(&dec, v, id, false, &r->text) != 0) {
			gen_fail(err, errlen, "cannot decode token %d", id);
			r->stop = GEN_STOP_ERROR;
			goto out;
		}
		if ((s = advance(&g)) != 0) {
			r->stop = s == 1 ? GEN_STOP_STRING : GEN_STOP_CALLBACK;
			break;
		}
		if (p->max_tokens && r->t.n_gen >= p->max_tokens) {
			r->stop = GEN_STOP_MAX_TOKENS;
			break;
		}
		if (infer_ctx_n_past(c) >= n_ctx) {
			r->stop = GEN_STOP_CONTEXT;
			break;
		}
		t = now_ms();
		if (infer_forward(c, &id, 1, logits, err, errlen) != 0) {
			r->stop = GEN_STOP_ERROR;
			goto out;
		}
		r->t.eval_ms += now_ms() - t;
		r->t.n_eval++;
	}
	if (r->stop == GEN_STOP_CALLBACK) {
		r->text.len = g.sent; /* what the caller has seen */
	} else if (r->stop != GEN_STOP_STRING) {
		/* the end: an incomplete UTF-8 tail becomes U+FFFD; held-back text goes out */
		if (tok_decoder_flush(&dec, &r->text) != 0) {
			gen_fail(err, errlen, "out of memory");
			r->stop = GEN_STOP_ERROR;
			goto out;
		}
		s = advance(&g);
		if (s == 1)
			r->stop = GEN_STOP_STRING;
		else if (s == 0)
			emit(&g, r->text.len);
	}
	if (r->text.data)
		r->text.data[r->text.len] = '\0';
	if (r->stop == GEN_STOP_CONTEXT) {
		gen_fail(err, errlen, "context length %u reached after %u generated tokens", n_ctx,
			 r->t.n_gen);
		goto out;
	}
	rc = 0;
out:
	r->t.total_ms = now_ms() - t0;
	r->t.prompt_tps = r->t.prompt_ms > 0 ? r->t.n_prompt * 1e3 / r->t.prompt_ms : 0.0;
	r->t.gen_tps = r->t.eval_ms > 0 ? r->t.n_eval * 1e3 / r->t.eval_ms : 0.0;
	sampler_free(smp);
	free(logits);
	return rc;
}

int gen_run(struct infer_model *m, struct infer_ctx *c, const struct tok_vocab *v,
	    const struct gen_params *p, const char *prompt, size_t len, struct gen_result *r,
	    char *err, size_t errlen)
{
	struct tok_ids ids = TOK_IDS_INIT;
	double t0 = now_ms();
	int rc;

	r->stop = GEN_STOP_ERROR;
	rc = tok_tokenize(v, prompt, len, p->add_special, p->parse_special, &ids);
	if (rc != 0) {
		tok_ids_free(&ids);
		return gen_fail(err, errlen, "tokenizing the prompt: %s", tok_strerror(rc));
	}
	rc = gen_run_ids(m, c, v, p, ids.ids, ids.n, r, err, errlen);
	r->t.total_ms = now_ms() - t0;
	tok_ids_free(&ids);
	return rc;
}
