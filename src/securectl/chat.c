/*
 * chat.c — `securectl chat [MODEL]`: a terminal conversation with secai-infer's OpenAI API,
 * or with the engine in this process when no server runs.
 *
 * Streams each reply as it is generated (Server-Sent Events over loopback with libcurl, or the
 * engine's text callback), keeps the history, and prints tokens/s after each reply. Commands:
 * /reset, /system TEXT, /quit. Model output reaches the terminal with control characters
 * escaped: a hostile model cannot send escape sequences to your terminal.
 * Owns: the conversation in memory. Never: sends anything anywhere but the configured
 * loopback server; stores the conversation on disk.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "gguf/gguf.h"
#include "infer/chat_prompt.h"
#include "infer/generate.h"
#include "infer/infer.h"
#include "json.h"
#include "securectl/ctl.h"
#include "securectl/securectl.h"

/* Writes model text with C0/C1 control characters (but newline and tab) shown as \xNN. */
static void print_safe(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
			printf("\\x%02x", c);
		} else if (c == 0xc2 && i + 1 < n && (unsigned char)p[i + 1] >= 0x80 &&
			   (unsigned char)p[i + 1] <= 0x9f) {
			printf("\\u%04x", (unsigned char)p[i + 1]);
			i++;
		} else {
			putchar(c);
		}
	}
	fflush(stdout);
}

struct sse {
	struct buf line;   /* partial line */
	struct buf reply;  /* assistant text so far */
	long completion_tokens;
	char error[512];
	int done;
};

static void sse_line(struct sse *st, const char *l)
{
	char err[160];
	json_t *o, *c;

	if (strncmp(l, "data: ", 6) != 0)
		return;
	l += 6;
	if (strcmp(l, "[DONE]") == 0) {
		st->done = 1;
		return;
	}
	o = json_parse_object(l, strlen(l), 1 << 22, err, sizeof(err));
	if (o == NULL)
		return;
	if ((c = json_object_get(o, "error")) != NULL) {
		snprintf(st->error, sizeof(st->error), "%s", json_get_string(c, "message"));
	} else {
		json_t *ch = json_array_get(json_object_get(o, "choices"), 0);
		const char *piece = json_get_string(json_object_get(ch, "delta"), "content");
		if (piece != NULL && piece[0]) {
			print_safe(piece, strlen(piece));
			buf_append_str(&st->reply, piece);
		}
		json_t *u = json_object_get(o, "usage");
		long long n;
		if (u != NULL && json_get_int(u, "completion_tokens", &n) == 0)
			st->completion_tokens = (long)n;
	}
	json_decref(o);
}

static size_t on_data(char *p, size_t sz, size_t nm, void *arg)
{
	struct sse *st = arg;
	size_t n = sz * nm;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			if (st->line.len > 0) {
				sse_line(st, st->line.data);
				buf_reset(&st->line);
			}
		} else if (p[i] != '\r') {
			if (buf_append_char(&st->line, p[i]) != 0)
				return 0;
		}
	}
	return n;
}

static int ask(const char *url, json_t *history, const char *system, double temp, int max_tokens,
	       struct buf *reply, long *ntok, char *err, size_t errlen)
{
	struct sse st;
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	json_t *msgs = json_array(), *req;
	char *body;
	long status = 0;
	CURLcode cr;

	memset(&st, 0, sizeof(st));
	if (system && system[0])
		json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "system", "content", system));
	json_array_extend(msgs, history);
	req = json_pack("{s:o, s:b, s:{s:b}, s:f, s:i}", "messages", msgs, "stream", 1,
			"stream_options", "include_usage", 1, "temperature", temp, "max_tokens",
			max_tokens);
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* loopback only: never through a proxy */
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	cr = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (st.line.len > 0)
		sse_line(&st, st.line.data);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(body);
	buf_free(&st.line);
	if (cr != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(cr));
		buf_free(&st.reply);
		return -1;
	}
	if (status != 200 || st.error[0]) {
		snprintf(err, errlen, "HTTP %ld%s%s", status, st.error[0] ? ": " : "", st.error);
		buf_free(&st.reply);
		return -1;
	}
	*reply = st.reply;
	*ntok = st.completion_tokens;
	return 0;
}

/* ---- in-process: the engine in this process ---- */

struct local {
	struct infer_model *m;
	struct infer_ctx *c;
	struct tok_vocab *v;
	enum chat_template_id tmpl;
};

static int local_open(const char *path, struct local *L, char *err, size_t errlen)
{
	struct infer_ctx_params cp;
	const struct gguf_kv *kv;
	const char *t = NULL;
	size_t tl = 0;
	int fallback = 0;

	memset(L, 0, sizeof(*L));
	if (infer_model_load(path, &L->m, err, errlen) != 0)
		return -1;
	if (tok_vocab_from_gguf(infer_model_gguf(L->m), &L->v, err, errlen) != 0)
		return -1;
	kv = gguf_find_kv(infer_model_gguf(L->m), "tokenizer.chat_template");
	if (kv != NULL)
		gguf_kv_get_str(kv, &t, &tl);
	L->tmpl = chat_template_detect(t, tl, &fallback);
	if (fallback)
		fprintf(stderr, "note: the model's chat template is not recognised; using ChatML\n");
	infer_ctx_params_default(&cp);
	return infer_ctx_new(L->m, &cp, &L->c, err, errlen);
}

static void local_close(struct local *L)
{
	infer_ctx_free(L->c);
	tok_vocab_free(L->v);
	infer_model_free(L->m);
}

struct local_out {
	struct buf *reply;
};

static int local_text(void *user, const char *text, size_t len)
{
	struct local_out *o = user;

	print_safe(text, len);
	return buf_append(o->reply, text, len) != 0;
}

static int ask_local(struct local *L, json_t *history, const char *system, double temp,
		     int max_tokens, struct buf *reply, long *ntok, double *tps, char *err,
		     size_t errlen)
{
	size_t n = json_array_size(history) + (system && system[0] ? 1 : 0), k = 0, i;
	struct chat_message *msgs = calloc(n, sizeof(*msgs));
	struct chat_span *spans = calloc(n, sizeof(*spans));
	struct buf prompt = BUF_INIT;
	struct tok_ids ids = TOK_IDS_INIT;
	struct gen_params gp;
	struct gen_result res;
	struct local_out out = {reply};
	json_t *m;
	int rc = -1;

	if (msgs == NULL || spans == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (system && system[0])
		msgs[k++] = (struct chat_message){"system", system};
	json_array_foreach(history, i, m) {
		msgs[k].role = json_get_string(m, "role");
		msgs[k++].content = json_get_string(m, "content");
	}
	if ((rc = chat_apply_spans(L->tmpl, msgs, n, 1, &prompt, spans)) != 0) {
		snprintf(err, errlen, "%s", chat_strerror(rc));
		rc = -1;
		goto done;
	}
	if (chat_prompt_tokenize(L->v, prompt.data, prompt.len, spans, n, &ids, NULL) != 0) {
		snprintf(err, errlen, "the conversation cannot be tokenized");
		goto done;
	}
	gen_params_default(&gp);
	gp.max_tokens = (uint32_t)max_tokens;
	gp.sampling.greedy = temp <= 0;
	gp.sampling.temp = (float)temp;
	gp.sampling.seed = (uint32_t)time(NULL);
	gp.on_text = local_text;
	gp.user = &out;
	gen_result_init(&res);
	rc = gen_run_ids(L->m, L->c, L->v, &gp, ids.ids, ids.n, &res, err, errlen);
	if (rc != 0 && res.stop == GEN_STOP_CONTEXT)
		snprintf(err, errlen, "the conversation fills the model's context (%u tokens); /reset",
			 infer_ctx_n_ctx(L->c));
	*ntok = (long)res.t.n_gen;
	*tps = res.t.gen_tps;
	gen_result_free(&res);
done:
	free(msgs);
	free(spans);
	buf_free(&prompt);
	tok_ids_free(&ids);
	return rc;
}

/* Whether a secai-infer answers /health at base (1 s). */
static int server_up(const char *base)
{
	char url[600];
	long status = 0;
	CURL *c = curl_easy_init();

	if (c == NULL)
		return 0;
	snprintf(url, sizeof(url), "%s/health", base);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	return status == 200 || status == 405;
}

#define CHAT_USAGE                                                                         \
	"usage: securectl chat [MODEL.gguf] [--url URL] [--local] [--system TEXT] [--temp T]\n"   \
	"                      [--max-tokens N]\n"

int chat_main(int argc, char **argv)
{
	static const struct option longopts[] = {{"url", required_argument, NULL, 'u'},
						  {"system", required_argument, NULL, 's'},
						  {"temp", required_argument, NULL, 't'},
						  {"max-tokens", required_argument, NULL, 'n'},
						  {"local", no_argument, NULL, 'l'},
						  {"help", no_argument, NULL, 'h'},
						  {NULL, 0, NULL, 0}};
	struct secai_config cfg;
	char url[512] = "", base[512], system[4096] = "", *line = NULL, err[600];
	const char *model = NULL;
	double temp = 0.7;
	int max_tokens = 256, ch, local_only = 0, use_local;
	size_t cap = 0;
	json_t *history;
	struct local L;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "u:s:t:n:lh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u': snprintf(url, sizeof(url), "%s", optarg); break;
		case 's': snprintf(system, sizeof(system), "%s", optarg); break;
		case 't': temp = strtod(optarg, NULL); break;
		case 'n': max_tokens = atoi(optarg); break;
		case 'l': local_only = 1; break;
		case 'h':
			printf(CHAT_USAGE
			       "Talks with secai-infer (default http://127.0.0.1:infer.port). When none\n"
			       "answers, or with --local, runs MODEL (default infer.model) in this process.\n"
			       "Each reply streams as it is generated, followed by tokens/s; control\n"
			       "characters in model output are shown escaped. Lines starting with /:\n"
			       "  /reset          forget the conversation\n"
			       "  /system TEXT    set the system message (and reset)\n"
			       "  /quit           leave (or Ctrl-D)\n"
			       "  --temp T        sampling temperature, 0 = greedy (default 0.7)\n"
			       "  --max-tokens N  longest reply (default 256)\n");
			return 0;
		default: fputs(CHAT_USAGE, stderr); return SECURECTL_EX_USAGE;
		}
	}
	if (optind < argc)
		model = argv[optind++];
	if (optind != argc || max_tokens < 1 || temp < 0 || temp > 2) {
		fputs(CHAT_USAGE, stderr);
		return SECURECTL_EX_USAGE;
	}
	if (ctl_config(&cfg) != 0)
		return 1;
	if (!url[0])
		snprintf(url, sizeof(url), "http://%s%s%s:%d", strchr(cfg.bind_address, ':') ? "[" : "",
			 cfg.bind_address, strchr(cfg.bind_address, ':') ? "]" : "", cfg.infer.port);
	/* accept a base URL, ".../v1" or the full endpoint */
	snprintf(base, sizeof(base), "%s", url);
	char *cut = strstr(base, "/v1");
	if (cut != NULL)
		*cut = '\0';
	snprintf(url, sizeof(url), "%s/v1/chat/completions", base);
	if (model == NULL && cfg.infer.model[0])
		model = cfg.infer.model;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	use_local = local_only || !server_up(base);
	if (use_local) {
		if (model == NULL) {
			fprintf(stderr, "securectl chat: no secai-infer answers at %s and no MODEL was "
					"given: start the appliance ('securectl up') or name a GGUF file\n",
				base);
			curl_global_cleanup();
			return 1;
		}
		fprintf(stderr, "loading %s in this process%s...\n", model,
			local_only ? "" : " (no secai-infer answers)");
		if (local_open(model, &L, err, sizeof(err)) != 0) {
			fprintf(stderr, "securectl chat: cannot load %s: %s\n", model, err);
			local_close(&L);
			curl_global_cleanup();
			return 1;
		}
		fprintf(stderr, "chatting with %s in-process (template %s) — /reset, /system TEXT, "
				"/quit\n",
			model, chat_template_name(L.tmpl));
	} else {
		fprintf(stderr, "chatting with %s — /reset, /system TEXT, /quit\n", url);
	}
	history = json_array();
	for (;;) {
		fprintf(stderr, "> ");
		ssize_t n = getline(&line, &cap, stdin);
		if (n <= 0)
			break;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (strcmp(line, "/quit") == 0)
			break;
		if (strcmp(line, "/reset") == 0) {
			json_array_clear(history);
			fprintf(stderr, "(conversation reset)\n");
			continue;
		}
		if (strncmp(line, "/system", 7) == 0 && (line[7] == ' ' || line[7] == '\0')) {
			snprintf(system, sizeof(system), "%s", line[7] == ' ' ? line + 8 : "");
			json_array_clear(history);
			fprintf(stderr, "(system message set; conversation reset)\n");
			continue;
		}
		if (line[0] == '/') {
			fprintf(stderr, "unknown command %s (/reset, /system TEXT, /quit)\n", line);
			continue;
		}
		json_array_append_new(history, json_pack("{s:s, s:s}", "role", "user", "content", line));
		struct buf reply = BUF_INIT;
		struct timespec t0;
		long ntok = 0;
		double tps = 0;
		int rc;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = use_local ? ask_local(&L, history, system, temp, max_tokens, &reply, &ntok, &tps,
					   err, sizeof(err))
			       : ask(url, history, system, temp, max_tokens, &reply, &ntok, err,
				     sizeof(err));
		if (rc != 0) {
			fprintf(stderr, "\nsecurectl chat: %s%s\n", err,
				use_local ? "" : " (is secai-infer running? 'securectl status')");
			json_array_remove(history, json_array_size(history) - 1);
			buf_free(&reply);
			continue;
		}
		double secs = ctl_elapsed(&t0);
		if (!use_local)
			tps = secs > 0 ? ntok / secs : 0.0;
		printf("\n");
		fflush(stdout);
		fprintf(stderr, "[%ld tokens, %.1f tokens/s]\n", ntok, tps);
		json_array_append_new(history, json_pack("{s:s, s:s}", "role", "assistant", "content",
							 reply.data ? reply.data : ""));
		buf_free(&reply);
	}
	free(line);
	json_decref(history);
	if (use_local)
		local_close(&L);
	curl_global_cleanup();
	return 0;
}
