/*
 * chat_template.h — turning a chat (system/user/assistant messages) into a model's prompt text.
 *
 * Owns: recognising a model's tokenizer.chat_template (an untrusted Jinja string from the GGUF
 * file) or a template name by fixed substrings, exactly as llama.cpp's llm_chat_detect_template
 * does, and a hand-written formatter per recognised template, byte for byte the output of
 * llama.cpp's llm_chat_apply_template. Unknown templates fall back to ChatML and say so.
 * Never: evaluates, parses or interprets the template (no Jinja), looks inside message contents
 * (they are copied verbatim; the caller must tokenize them with special-token parsing OFF), or
 * emits a role string it did not write itself.
 */
#ifndef SECAI_CHAT_TEMPLATE_H
#define SECAI_CHAT_TEMPLATE_H

#include <stddef.h>

#include "buf.h"

enum chat_template_id {
	CHAT_TMPL_CHATML = 0,
	CHAT_TMPL_LLAMA2,
	CHAT_TMPL_LLAMA2_SYS,
	CHAT_TMPL_LLAMA2_SYS_BOS,
	CHAT_TMPL_LLAMA2_SYS_STRIP,
	CHAT_TMPL_MISTRAL_V1,
	CHAT_TMPL_MISTRAL_V3,
	CHAT_TMPL_MISTRAL_V3_TEKKEN,
	CHAT_TMPL_MISTRAL_V7,
	CHAT_TMPL_MISTRAL_V7_TEKKEN,
	CHAT_TMPL_PHI3,
	CHAT_TMPL_PHI4,
	CHAT_TMPL_FALCON3,
	CHAT_TMPL_ZEPHYR,
	CHAT_TMPL_MONARCH,
	CHAT_TMPL_GEMMA,
	CHAT_TMPL_ORION,
	CHAT_TMPL_OPENCHAT,
	CHAT_TMPL_VICUNA,
	CHAT_TMPL_VICUNA_ORCA,
	CHAT_TMPL_DEEPSEEK,
	CHAT_TMPL_DEEPSEEK2,
	CHAT_TMPL_DEEPSEEK3,
	CHAT_TMPL_DEEPSEEK4,
	CHAT_TMPL_COMMAND_R,
	CHAT_TMPL_LLAMA3,
	CHAT_TMPL_CHATGLM3,
	CHAT_TMPL_CHATGLM4,
	CHAT_TMPL_GLMEDGE,
	CHAT_TMPL_MINICPM,
	CHAT_TMPL_EXAONE3,
	CHAT_TMPL_EXAONE4,
	CHAT_TMPL_EXAONE_MOE,
	CHAT_TMPL_RWKV_WORLD,
	CHAT_TMPL_GRANITE,
	CHAT_TMPL_GRANITE_4_0,
	CHAT_TMPL_GRANITE_4_1,
	CHAT_TMPL_GIGACHAT,
	CHAT_TMPL_MEGREZ,
	CHAT_TMPL_YANDEX,
	CHAT_TMPL_BAILING,
	CHAT_TMPL_BAILING_THINK,
	CHAT_TMPL_BAILING2,
	CHAT_TMPL_LLAMA4,
	CHAT_TMPL_SMOLVLM,
	CHAT_TMPL_DOTS1,
	CHAT_TMPL_HUNYUAN_MOE,
	CHAT_TMPL_GPT_OSS,
	CHAT_TMPL_HUNYUAN_DENSE,
	CHAT_TMPL_HUNYUAN_VL,
	CHAT_TMPL_KIMI_K2,
	CHAT_TMPL_SEED_OSS,
	CHAT_TMPL_GROK2,
	CHAT_TMPL_PANGU_EMBED,
	CHAT_TMPL_SOLAR_OPEN,
	CHAT_TMPL_COUNT
};

/* chat_apply's errors (all negative; 0 is success). */
enum chat_err {
	CHAT_ENOMEM = -1,  /* out of memory (or the prompt would exceed SIZE_MAX/2) */
	CHAT_EINVAL = -2,  /* bad arguments: no messages, NULL role/content/out, id out of range */
	CHAT_EROLE = -3,   /* a role other than system, user, assistant */
	CHAT_ESYSTEM = -4, /* a system message this template would silently drop (see the docs) */
};

/*
 * Every formatter writes at most this many bytes per message beyond its content, plus at most
 * CHAT_MAX_OVERHEAD_FIXED once (start of prompt and assistant prefix): a prompt is never longer
 * than sum(strlen(content)) + n * CHAT_MAX_OVERHEAD_PER_MSG + CHAT_MAX_OVERHEAD_FIXED.
 */
#define CHAT_MAX_OVERHEAD_PER_MSG 128
#define CHAT_MAX_OVERHEAD_FIXED 128

struct chat_message {
	const char *role;    /* "system", "user" or "assistant" */
	const char *content; /* text, inserted verbatim (some templates trim ASCII whitespace) */
};

/*
 * Recognises tmpl[0..len) — a template name ("chatml", "llama3", … as llama.cpp names them,
 * whole string, case-sensitive) or a tokenizer.chat_template — by fixed substrings, in
 * llama.cpp's order. tmpl may be NULL or hold NULs. Anything unrecognised (and no template at
 * all) gives CHAT_TMPL_CHATML with *fallback = 1, else *fallback = 0; fallback may be NULL.
 */
enum chat_template_id chat_template_detect(const char *tmpl, size_t len, int *fallback);

/* The llama.cpp name of a template ("chatml", "llama2-sys", …); "?" if id is out of range. */
const char *chat_template_name(enum chat_template_id id);

/* Where a message's content landed in the prompt: out->data[off .. off + len). */
struct chat_span {
	size_t off;
	size_t len;
};

/*
 * Appends the prompt for msgs[0..n) to out. add_assistant: end with the assistant prefix so the
 * model writes the next reply (templates whose last user turn already ends in it, like Llama 2's
 * "[/INST]", ignore the flag, as llama.cpp does). Returns 0, or a chat_err with out unchanged.
 */
int chat_apply(enum chat_template_id id, const struct chat_message *msgs, size_t n,
	       int add_assistant, struct buf *out);

/*
 * chat_apply, also filling spans[0..n) with where each message's content (after the template's
 * trimming, if any) sits in out — offsets from out->data, counting what out held before. Every
 * content is written exactly once, contiguously; spans never overlap (they are in message order
 * except where Gemma and Orion move a system text into the next user turn). The bytes outside
 * the spans are the template's own text: the caller tokenizes those with special-token parsing
 * and the spans without it, so a user cannot type a control token.
 */
int chat_apply_spans(enum chat_template_id id, const struct chat_message *msgs, size_t n,
		     int add_assistant, struct buf *out, struct chat_span *spans);

/* A message for a chat_err, fit for an API client ("unknown error" for anything else). */
const char *chat_strerror(int err);

#endif
