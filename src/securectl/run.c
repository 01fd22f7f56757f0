/*
 * run.c — `securectl run MODEL [OPTIONS] PROMPT`: one-shot generation with the built-in engine,
 * streamed to stdout as it is produced, speeds on stderr at the end; or one JSON object with
 * --json (prompt and generated ids, text, stop reason, timings, optional per-step top logits).
 *
 * Owns: the command line of a generation and its printing. Never: writes anything but stdout
 * and stderr, opens the network, prints bytes that are not valid UTF-8 (the generator only
 * hands out complete characters), or control characters to a terminal.
 * Exit: 0 ok, 2 invalid or unsupported model, 1 other error (context full included), 64 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "buf.h"
#include "infer/generate.h"
#include "infer/infer.h"
#include "securectl/securectl.h"
#include "tokenizer/tok.h"

#define RUN_STDIN_MAX (16u << 20)

static void usage(FILE *fp)
{
	fprintf(
	    fp,
	    "usage: securectl run MODEL [OPTIONS] PROMPT\n"
	    "Generates text from PROMPT (\"-\" reads stdin) with the GGUF model MODEL and streams\n"
	    "it to stdout; prompt and generation speeds go to stderr at the end.\n"
	    "Sampling (llama.cpp's chain and defaults):\n"
	    "  --greedy              argmax, ties to the lowest id (no sampling)\n"
	    "  --temp T              temperature (0.8; 0 = best token)\n"
	    "  --top-k N             (40; 0 = off)\n"
	    "  --top-p P             (0.95; 1 = off)\n"
	    "  --min-p P             (0.05; 0 = off)\n"
	    "  --repeat-penalty R    (1.0 = off)\n"
	    "  --repeat-last-n N     tokens the penalties look back over (64; -1 = all)\n"
	    "  --presence-penalty P  --frequency-penalty F   (0 = off)\n"
	    "  --seed N              PRNG seed (default: random; printed with --json)\n"
	    "Generation:\n"
	    "  --max-tokens N        stop after N tokens (128; 0 = until end of generation)\n"
	    "  --stop STR            stop before STR (repeatable, up to %d)\n"
	    "  --ignore-eos          do not stop at end-of-generation tokens\n"
	    "  --special             control-token text in PROMPT becomes its token\n"
	    "Engine:\n"
	    "  --ctx N               context length (default: the model's, at most 4096)\n"
	    "  --kv f16|f32          KV cache type (f16)\n"
	    "  --threads N           (default: online cores)\n"
	    "Output:\n"
	    "  --json                one JSON object: prompt_tokens, generated_tokens, text, "
	    "stop,\n"
	    "                        seed, timings\n"
	    "  --top-logits K        with --json: the top-K (id, logit) of every step (K <= %d)\n"
	    "Exit status: 0 ok, 2 invalid or unsupported model, 1 error (context full too),\n"
	    "64 usage.\n",
	    GEN_MAX_STOP, GEN_MAX_TOP_LOGITS);
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_float(const char *s, float *out)
{
	char *end;
	float v;

	errno = 0;
	v = strtof(s, &end);
	if (errno || end == s || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

static int read_stdin(struct buf *b)
{
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (b->len + n > RUN_STDIN_MAX || buf_append(b, chunk, n) != 0)
			return -1;
	return ferror(stdin) ? -1 : 0;
}

/* A terminal gets no control characters from a model (escape sequences could rewrite the
 * screen): C0 but tab and newline, DEL and C1 become U+FFFD. Pipes get the text as is. */
static int on_text(void *user, const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;
	bool tty = *(const bool *)user;
	size_t i, start = 0;

	for (i = 0; tty && i < len; i++) {
		size_t n = 0;

		if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\t') || p[i] == 0x7f)
			n = 1;
		else if (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] < 0xa0)
			n = 2;
		if (n == 0)
			continue;
		if (fwrite(p + start, 1, i - start, stdout) != i - start ||
		    fputs("\xef\xbf\xbd", stdout) == EOF)
			return 1;
		i += n - 1;
		start = i + 1;
	}
	if (fwrite(p + start, 1, len - start, stdout) != len - start)
		return 1;
	fflush(stdout);
	return 0;
}

static json_t *ids_json(const struct tok_ids *ids)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < ids->n; i++)
		if (json_array_append_new(a, json_integer(ids->ids[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static long peak_rss_kb(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

static int print_json(const struct gen_result *r, uint32_t seed, const char *error)
{
	const struct gen_timings *t = &r->t;
	json_t *root, *tim, *top;
	size_t i, k;
	char *s;
	int rc = -1;

	root = json_object();
	tim = json_object();
	if (root == NULL || tim == NULL)
		goto out;
	json_object_set_new(root, "prompt_tokens", ids_json(&r->prompt));
	json_object_set_new(root, "generated_tokens", ids_json(&r->tokens));
	json_object_set_new(root, "text",
			    json_stringn(r->text.data ? r->text.data : "", r->text.len));
	json_object_set_new(root, "stop", json_string(gen_stop_name(r->stop)));
	json_object_set_new(root, "seed", json_integer(seed));
	if (error != NULL)
		json_object_set_new(root, "error", json_string(error));
	json_object_set_new(tim, "prompt_n", json_integer(t->n_prompt));
	json_object_set_new(tim, "prompt_ms", json_real(t->prompt_ms));
	json_object_set_new(tim, "prompt_per_second", json_real(t->prompt_tps));
	json_object_set_new(tim, "predicted_n", json_integer(t->n_gen));
	json_object_set_new(tim, "eval_n", json_integer(t->n_eval));
	json_object_set_new(tim, "eval_ms", json_real(t->eval_ms));
	json_object_set_new(tim, "predicted_per_second", json_real(t->gen_tps));
	json_object_set_new(tim, "sample_ms", json_real(t->sample_ms));
	json_object_set_new(tim, "total_ms", json_real(t->total_ms));
	json_object_set_new(tim, "peak_rss_kb", json_integer(peak_rss_kb()));
	json_object_set_new(root, "timings", tim);
	tim = NULL;
	if (r->top_k > 0) {
		top = json_array();
		for (i = 0; top != NULL && i < r->tokens.n; i++) {
			json_t *step = json_array();

			for (k = 0; step != NULL && k < r->top_k; k++) {
				const struct gen_top *e = &r->top[i * r->top_k + k];

				if (e->id < 0)
					continue;
				json_array_append_new(step, json_pack("{s:i,s:f}", "id", (int)e->id,
								      "logit", (double)e->logit));
			}
			json_array_append_new(top, step);
		}
		json_object_set_new(root, "top_logits", top);
	}
	s = json_dumps(root, JSON_COMPACT);
	if (s != NULL) {
		rc = printf("%s\n", s) < 0 ? -1 : 0;
		free(s);
	}
out:
	json_decref(tim);
	json_decref(root);
	return rc;
}

int run_main(int argc, char **argv)
{
	enum {
		O_GREEDY = 256,
		O_TEMP,
		O_TOPK,
		O_TOPP,
		O_MINP,
		O_REP,
		O_REPN,
		O_PRES,
		O_FREQ,
		O_SEED,
		O_MAX,
		O_STOP,
		O_IGNEOS,
		O_SPECIAL,
		O_CTX,
		O_KV,
		O_THREADS,
		O_JSON,
		O_TOPLOG
	};
	static const struct option opts[] = {
	    {"greedy", no_argument, NULL, O_GREEDY},
	    {"temp", required_argument, NULL, O_TEMP},
	    {"top-k", required_argument, NULL, O_TOPK},
	    {"top-p", required_argument, NULL, O_TOPP},
	    {"min-p", required_argument, NULL, O_MINP},
	    {"repeat-penalty", required_argument, NULL, O_REP},
	    {"repeat-last-n", required_argument, NULL, O_REPN},
	    {"presence-penalty", required_argument, NULL, O_PRES},
	    {"frequency-penalty", required_argument, NULL, O_FREQ},
	    {"seed", required_argument, NULL, O_SEED},
	    {"max-tokens", required_argument, NULL, O_MAX},
	    {"stop", required_argument, NULL, O_STOP},
	    {"ignore-eos", no_argument, NULL, O_IGNEOS},
	    {"special", no_argument, NULL, O_SPECIAL},
	    {"ctx", required_argument, NULL, O_CTX},
	    {"kv", required_argument, NULL, O_KV},
	    {"threads", required_argument, NULL, O_THREADS},
	    {"json", no_argument, NULL, O_JSON},
	    {"top-logits", required_argument, NULL, O_TOPLOG},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct infer_ctx_params cp;
	struct gen_params gp;
	struct gen_result res;
	struct infer_model *m = NULL;
	struct infer_ctx *c = NULL;
	struct tok_vocab *v = NULL;
	struct buf prompt = BUF_INIT;
	bool json = false, seeded = false, tty = false;
	char err[512] = "";
	long n = 0;
	int ch, bad = 0, rc = 1, r;

	if (securectl_wants_help(argc, argv)) {
		usage(stdout);
		return 0;
	}
	gen_params_default(&gp);
	infer_ctx_params_default(&cp);
	gen_result_init(&res);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		struct sampler_params *sp = &gp.sampling;

		switch (ch) {
		case O_GREEDY:
			sp->greedy = true;
			break;
		case O_TEMP:
			bad |= parse_float(optarg, &sp->temp);
			break;
		case O_TOPK:
			bad |= parse_long(optarg, 0, INT32_MAX, &n);
			sp->top_k = (int32_t)n;
			break;
		case O_TOPP:
			bad |= parse_float(optarg, &sp->top_p);
			break;
		case O_MINP:
			bad |= parse_float(optarg, &sp->min_p);
			break;
		case O_REP:
			bad |= parse_float(optarg, &sp->repeat_penalty);
			break;
		case O_REPN:
			bad |= parse_long(optarg, -1, INT32_MAX, &n);
			sp->penalty_last_n = (int32_t)n;
			break;
		case O_PRES:
			bad |= parse_float(optarg, &sp->presence_penalty);
			break;
		case O_FREQ:
			bad |= parse_float(optarg, &sp->freq_penalty);
			break;
		case O_SEED:
			bad |= parse_long(optarg, 0, UINT32_MAX, &n);
			sp->seed = (uint32_t)n;
			seeded = true;
			break;
		case O_MAX:
			bad |= parse_long(optarg, 0, UINT32_MAX, &n);
			gp.max_tokens = (uint32_t)n;
			break;
		case O_STOP:
			if (gp.n_stop == GEN_MAX_STOP || optarg[0] == '\0')
				bad = 1;
			else
				gp.stop[gp.n_stop++] = optarg;
			break;
		case O_IGNEOS:
			gp.ignore_eog = true;
			break;
		case O_SPECIAL:
			gp.parse_special = true;
			break;
		case O_CTX:
			bad |= parse_long(optarg, 1, UINT32_MAX, &n);
			cp.n_ctx = (uint32_t)n;
			break;
		case O_KV:
			if (strcmp(optarg, "f16") == 0)
				cp.kv = INFER_KV_F16;
			else if (strcmp(optarg, "f32") == 0)
				cp.kv = INFER_KV_F32;
			else
				bad = 1;
			break;
		case O_THREADS:
			bad |= parse_long(optarg, 1, 1024, &n);
			cp.n_threads = (int)n;
			break;
		case O_JSON:
			json = true;
			break;
		case O_TOPLOG:
			bad |= parse_long(optarg, 0, GEN_MAX_TOP_LOGITS, &n);
			gp.top_logits = (uint32_t)n;
			break;
		default:
			bad = 1;
			break;
		}
	}
	if (bad || argc - optind != 2 || (gp.top_logits && !json) ||
	    sampler_params_check(&gp.sampling, err, sizeof(err)) != 0) {
		if (err[0])
			fprintf(stderr, "securectl run: %s\n", err);
		usage(stderr);
		return SECURECTL_EX_USAGE;
	}
	if (strcmp(argv[optind + 1], "-") == 0) {
		if (read_stdin(&prompt) != 0) {
			fprintf(stderr, "securectl run: cannot read the prompt from stdin\n");
			goto out;
		}
	} else if (buf_append_str(&prompt, argv[optind + 1]) != 0) {
		goto out;
	}
	if (!seeded && getrandom(&gp.sampling.seed, sizeof(gp.sampling.seed), 0) !=
			   (ssize_t)sizeof(gp.sampling.seed))
		gp.sampling.seed = 0;
	if (infer_model_load(argv[optind], &m, err, sizeof(err)) != 0) {
		fprintf(stderr, "securectl run: %s: %s\n", argv[optind], err);
		rc = 2;
		goto out;
	}
	r = tok_vocab_from_gguf(infer_model_gguf(m), &v, err, sizeof(err));
	if (r != 0) {
		fprintf(stderr, "securectl run: %s: tokenizer: %s\n", argv[optind],
			err[0] ? err : tok_strerror(r));
		rc = r == TOK_E_NOMEM ? 1 : 2;
		goto out;
	}
	if (infer_ctx_new(m, &cp, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "securectl run: %s\n", err);
		goto out;
	}
	if (!json) {
		tty = isatty(STDOUT_FILENO) == 1;
		gp.on_text = on_text;
		gp.user = &tty;
	}
	r = gen_run(m, c, v, &gp, prompt.data ? prompt.data : "", prompt.len, &res, err,
		    sizeof(err));
	if (json) {
		if (print_json(&res, gp.sampling.seed, r ? err : NULL) != 0)
			r = -1;
	} else {
		if (res.text.len > 0 && res.text.data[res.text.len - 1] != '\n')
			putchar('\n');
		fflush(stdout);
		fprintf(stderr,
			"prompt: %u tokens, %.2f tokens/s; generation: %u tokens, %.2f tokens/s; "
			"stop: %s\n",
			res.t.n_prompt, res.t.prompt_tps, res.t.n_gen, res.t.gen_tps,
			gen_stop_name(res.stop));
	}
	if (r != 0) {
		fprintf(stderr, "securectl run: %s\n", err);
		goto out;
	}
	rc = 0;
out:
	gen_result_free(&res);
	infer_ctx_free(c);
	tok_vocab_free(v);
	infer_model_free(m);
	buf_free(&prompt);
	return rc;
}
