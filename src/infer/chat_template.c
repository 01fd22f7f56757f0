/*
 * chat_template.c — chat templates recognised, never executed.
 *
 * Owns: the table of llama.cpp template names, the substring rules that recognise a GGUF
 * tokenizer.chat_template (in llama.cpp's llm_chat_detect_template order, so the same template
 * string picks the same formatter), and the formatters, which reproduce llama.cpp's
 * llm_chat_apply_template output byte for byte for system/user/assistant conversations.
 * Most templates are rows of one table (start text, per-role prefix and suffix, which roles are
 * trimmed, the assistant prefix); the few with state (Llama 2 / Mistral turns, Gemma and Orion
 * merging the system prompt into the next user turn, RWKV) have their own function.
 *
 * Never: interprets the template text beyond memmem() on fixed needles; copies a caller's role
 * string into the prompt (only our own literal role names are written); looks inside contents;
 * drops a message silently (a system message a template has no place for is an error); keeps
 * any state between calls.
 */
#include "infer/chat_template.h"

#include <stdint.h>
#include <string.h>

enum role { R_SYS = 0, R_USER = 1, R_ASST = 2, R_BAD = -1 };

static const char *const role_name[3] = {"system", "user", "assistant"};

/* Indexed by enum chat_template_id; the names llama.cpp's LLM_CHAT_TEMPLATES map accepts. */
static const char *const tmpl_names[CHAT_TMPL_COUNT] = {
    [CHAT_TMPL_CHATML] = "chatml",
    [CHAT_TMPL_LLAMA2] = "llama2",
    [CHAT_TMPL_LLAMA2_SYS] = "llama2-sys",
    [CHAT_TMPL_LLAMA2_SYS_BOS] = "llama2-sys-bos",
    [CHAT_TMPL_LLAMA2_SYS_STRIP] = "llama2-sys-strip",
    [CHAT_TMPL_MISTRAL_V1] = "mistral-v1",
    [CHAT_TMPL_MISTRAL_V3] = "mistral-v3",
    [CHAT_TMPL_MISTRAL_V3_TEKKEN] = "mistral-v3-tekken",
    [CHAT_TMPL_MISTRAL_V7] = "mistral-v7",
    [CHAT_TMPL_MISTRAL_V7_TEKKEN] = "mistral-v7-tekken",
    [CHAT_TMPL_PHI3] = "phi3",
    [CHAT_TMPL_PHI4] = "phi4",
    [CHAT_TMPL_FALCON3] = "falcon3",
    [CHAT_TMPL_ZEPHYR] = "zephyr",
    [CHAT_TMPL_MONARCH] = "monarch",
    [CHAT_TMPL_GEMMA] = "gemma",
    [CHAT_TMPL_ORION] = "orion",
    [CHAT_TMPL_OPENCHAT] = "openchat",
    [CHAT_TMPL_VICUNA] = "vicuna",
    [CHAT_TMPL_VICUNA_ORCA] = "vicuna-orca",
    [CHAT_TMPL_DEEPSEEK] = "deepseek",
    [CHAT_TMPL_DEEPSEEK2] = "deepseek2",
    [CHAT_TMPL_DEEPSEEK3] = "deepseek3",
    [CHAT_TMPL_DEEPSEEK4] = "deepseek4",
    [CHAT_TMPL_COMMAND_R] = "command-r",
    [CHAT_TMPL_LLAMA3] = "llama3",
    [CHAT_TMPL_CHATGLM3] = "chatglm3",
    [CHAT_TMPL_CHATGLM4] = "chatglm4",
    [CHAT_TMPL_GLMEDGE] = "glmedge",
    [CHAT_TMPL_MINICPM] = "minicpm",
    [CHAT_TMPL_EXAONE3] = "exaone3",
    [CHAT_TMPL_EXAONE4] = "exaone4",
    [CHAT_TMPL_EXAONE_MOE] = "exaone-moe",
    [CHAT_TMPL_RWKV_WORLD] = "rwkv-world",
    [CHAT_TMPL_GRANITE] = "granite",
    [CHAT_TMPL_GRANITE_4_0] = "granite-4.0",
    [CHAT_TMPL_GRANITE_4_1] = "granite-4.1",
    [CHAT_TMPL_GIGACHAT] = "gigachat",
    [CHAT_TMPL_MEGREZ] = "megrez",
    [CHAT_TMPL_YANDEX] = "yandex",
    [CHAT_TMPL_BAILING] = "bailing",
    [CHAT_TMPL_BAILING_THINK] = "bailing-think",
    [CHAT_TMPL_BAILING2] = "bailing2",
    [CHAT_TMPL_LLAMA4] = "llama4",
    [CHAT_TMPL_SMOLVLM] = "smolvlm",
    [CHAT_TMPL_DOTS1] = "dots1",
    [CHAT_TMPL_HUNYUAN_MOE] = "hunyuan-moe",
    [CHAT_TMPL_GPT_OSS] = "gpt-oss",
    [CHAT_TMPL_HUNYUAN_DENSE] = "hunyuan-dense",
    [CHAT_TMPL_HUNYUAN_VL] = "hunyuan-vl",
    [CHAT_TMPL_KIMI_K2] = "kimi-k2",
    [CHAT_TMPL_SEED_OSS] = "seed_oss",
    [CHAT_TMPL_GROK2] = "grok-2",
    [CHAT_TMPL_PANGU_EMBED] = "pangu-embedded",
    [CHAT_TMPL_SOLAR_OPEN] = "solar-open",
};

const char *chat_template_name(enum chat_template_id id)
{
	if ((unsigned)id >= CHAT_TMPL_COUNT)
		return "?";
	return tmpl_names[id];
}

/*
 * Special tokens spelled with non-ASCII characters. The bars in DeepSeek and Hunyuan tokens are
 * U+FF5C FULLWIDTH VERTICAL LINE and the "spaces" U+2581 LOWER ONE EIGHTH BLOCK, as in the models'
 * vocabularies (never ASCII '|' or ' ').
 */
#define DS_USER "<｜User｜>"
#define DS_ASST "<｜Assistant｜>"
#define DS_EOS "<｜end▁of▁sentence｜>"
#define HY_USER "<｜hy_User｜>"
#define HY_ASST "<｜hy_Assistant｜>"
#define HY_BOS "<｜hy_begin▁of▁sentence｜>"
#define HY_PH2 "<｜hy_place▁holder▁no▁2｜>"
#define HY_PH3 "<｜hy_place▁holder▁no▁3｜>"
#define MINICPM_USER "<用户>"
#define YANDEX_USER " Пользователь:"
#define YANDEX_ASST " Ассистент:"
#define PANGU_SYS "[unused9]系统："
#define PANGU_USER "[unused9]用户："
#define PANGU_ASST "[unused9]助手："

/* ---- detection ---------------------------------------------------------------------------- */

struct hay {
	const char *p;
	size_t len;
};

static int has(const struct hay *h, const char *needle)
{
	size_t n = strlen(needle);

	return h->p != NULL && n <= h->len && memmem(h->p, h->len, needle, n) != NULL;
}

static enum chat_template_id detect_inst(const struct hay *h)
{
	if (has(h, "[SYSTEM_PROMPT]"))
		return CHAT_TMPL_MISTRAL_V7;
	/* official Mistral 'v1' ("' [INST] ' + system_message"), 'v3' and 'v3-tekken' templates */
	if (has(h, "' [INST] ' + system_message") || has(h, "[AVAILABLE_TOOLS]")) {
		if (has(h, " [INST]"))
			return CHAT_TMPL_MISTRAL_V1;
		if (has(h, "\"[INST]\""))
			return CHAT_TMPL_MISTRAL_V3_TEKKEN;
		return CHAT_TMPL_MISTRAL_V3;
	}
	/* Llama 2 and its variants, most specific first */
	if (has(h, "content.strip()"))
		return CHAT_TMPL_LLAMA2_SYS_STRIP;
	if (has(h, "bos_token + '[INST]"))
		return CHAT_TMPL_LLAMA2_SYS_BOS;
	if (has(h, "<<SYS>>"))
		return CHAT_TMPL_LLAMA2_SYS;
	return CHAT_TMPL_LLAMA2;
}

/* The substring rules, in llama.cpp's order; CHAT_TMPL_COUNT when nothing matches. */
static enum chat_template_id detect_markers(const struct hay *h)
{
	if (has(h, "<|im_start|>")) {
		if (has(h, "<|im_sep|>"))
			return CHAT_TMPL_PHI4;
		if (has(h, "<end_of_utterance>"))
			return CHAT_TMPL_SMOLVLM; /* <|im_start|> as BOS, but not ChatML */
		return CHAT_TMPL_CHATML;
	}
	if ((h->len >= 7 && memcmp(h->p, "mistral", 7) == 0) || has(h, "[INST]"))
		return detect_inst(h);
	if (has(h, "<|assistant|>") && has(h, "<|end|>"))
		return CHAT_TMPL_PHI3;
	if (has(h, "[gMASK]<sop>"))
		return CHAT_TMPL_CHATGLM4;
	if (has(h, "<|assistant|>") && has(h, "<|user|>")) {
		if (has(h, "<|tool_declare|>"))
			return CHAT_TMPL_EXAONE_MOE;
		return has(h, "</s>") ? CHAT_TMPL_FALCON3 : CHAT_TMPL_GLMEDGE;
	}
	if (has(h, "<|{{ item['role'] }}|>") && has(h, "<|begin_of_image|>"))
		return CHAT_TMPL_GLMEDGE;
	if (has(h, "<|user|>") && has(h, "<|endoftext|>"))
		return CHAT_TMPL_ZEPHYR;
	if (has(h, "bos_token + message['role']"))
		return CHAT_TMPL_MONARCH;
	if (has(h, "<start_of_turn>"))
		return CHAT_TMPL_GEMMA;
	if (has(h, "'\\n\\nAssistant: ' + eos_token"))
		return CHAT_TMPL_ORION;
	if (has(h, "GPT4 Correct "))
		return CHAT_TMPL_OPENCHAT;
	if (has(h, "USER: ") && has(h, "ASSISTANT: "))
		return has(h, "SYSTEM: ") ? CHAT_TMPL_VICUNA_ORCA : CHAT_TMPL_VICUNA;
	if (has(h, "### Instruction:") && has(h, "<|EOT|>"))
		return CHAT_TMPL_DEEPSEEK;
	if (has(h, "<|START_OF_TURN_TOKEN|>") && has(h, "<|USER_TOKEN|>"))
		return CHAT_TMPL_COMMAND_R;
	if (has(h, "<|start_header_id|>") && has(h, "<|end_header_id|>"))
		return CHAT_TMPL_LLAMA3;
	if (has(h, "[gMASK]sop"))
		return CHAT_TMPL_CHATGLM3;
	if (has(h, MINICPM_USER))
		return CHAT_TMPL_MINICPM;
	if (has(h, "'Assistant: ' + message['content'] + eos_token"))
		return CHAT_TMPL_DEEPSEEK2;
	if (has(h, DS_ASST) && has(h, DS_USER) && has(h, DS_EOS)) {
		if (has(h, "response_format_header") || has(h, "latest_reminder") ||
		    has(h, "reasoning_effort"))
			return CHAT_TMPL_DEEPSEEK4;
		return CHAT_TMPL_DEEPSEEK3;
	}
	if (has(h, "[|system|]") && has(h, "[|assistant|]") && has(h, "[|endofturn|]"))
		return has(h, "[|tool|]") ? CHAT_TMPL_EXAONE4 : CHAT_TMPL_EXAONE3;
	if (has(h, "rwkv-world") || has(h, "{{- 'User: ' + message['content']|trim + '\\n\\n' -}}"))
		return CHAT_TMPL_RWKV_WORLD;
	if (has(h, "<|start_of_role|>")) {
		if (has(h, "<tool_call>") || has(h, "<tools>"))
			return has(h, "g4_default_system_message") ? CHAT_TMPL_GRANITE_4_0
								   : CHAT_TMPL_GRANITE_4_1;
		return CHAT_TMPL_GRANITE;
	}
	if (has(h, "message['role'] + additional_special_tokens[0] + message['content'] + "
		   "additional_special_tokens[1]"))
		return CHAT_TMPL_GIGACHAT;
	if (has(h, "<|role_start|>"))
		return CHAT_TMPL_MEGREZ;
	if (has(h, YANDEX_ASST))
		return CHAT_TMPL_YANDEX;
	if (has(h, "<role>ASSISTANT</role>")) {
		if (has(h, "'HUMAN'"))
			return CHAT_TMPL_BAILING;
		if (has(h, "\"HUMAN\"") && has(h, "<think>"))
			return CHAT_TMPL_BAILING_THINK;
		if (has(h, "<role>HUMAN</role>") && has(h, "<|role_end|>"))
			return CHAT_TMPL_BAILING2;
	}
	if (has(h, "<|header_start|>") && has(h, "<|header_end|>"))
		return CHAT_TMPL_LLAMA4;
	if (has(h, "<|endofuserprompt|>"))
		return CHAT_TMPL_DOTS1;
	if (has(h, "<|extra_0|>") && has(h, "<|extra_4|>"))
		return CHAT_TMPL_HUNYUAN_MOE;
	if (has(h, "<|start|>") && has(h, "<|channel|>"))
		return CHAT_TMPL_GPT_OSS;
	if (has(h, HY_ASST)) {
		if (has(h, HY_BOS))
			return CHAT_TMPL_HUNYUAN_VL;
		if (has(h, HY_PH3))
			return CHAT_TMPL_HUNYUAN_DENSE;
	}
	if (has(h, "<|im_assistant|>assistant<|im_middle|>"))
		return CHAT_TMPL_KIMI_K2;
	if (has(h, "<seed:bos>"))
		return CHAT_TMPL_SEED_OSS;
	if (has(h, "'Assistant: '  + message['content'] + '<|separator|>"))
		return CHAT_TMPL_GROK2;
	if (has(h, PANGU_SYS "[unused10]"))
		return CHAT_TMPL_PANGU_EMBED;
	if (has(h, "<|begin|>") && has(h, "<|end|>") && has(h, "<|content|>"))
		return CHAT_TMPL_SOLAR_OPEN;
	return CHAT_TMPL_COUNT;
}

enum chat_template_id chat_template_detect(const char *tmpl, size_t len, int *fallback)
{
	struct hay h = {tmpl, tmpl != NULL ? len : 0};
	enum chat_template_id id;
	int i;

	if (fallback != NULL)
		*fallback = 0;
	for (i = 0; i < CHAT_TMPL_COUNT; i++) {
		if (h.len == strlen(tmpl_names[i]) && h.len > 0 &&
		    memcmp(h.p, tmpl_names[i], h.len) == 0)
			return (enum chat_template_id)i;
	}
	id = detect_markers(&h);
	if (id != CHAT_TMPL_COUNT)
		return id;
	if (fallback != NULL)
		*fallback = 1;
	return CHAT_TMPL_CHATML;
}

/* ---- formatting --------------------------------------------------------------------------- */

/* Appends with a sticky error, so a formatter is a straight list of puts. */
struct emit {
	struct buf *b;
	int err;
	const struct chat_message *msgs;
	struct chat_span *spans; /* NULL, or one per message */
};

static void put_n(struct emit *e, const char *s, size_t n)
{
	if (e->err == 0 && buf_append(e->b, s, n) != 0)
		e->err = CHAT_ENOMEM;
}

static void put(struct emit *e, const char *s)
{
	put_n(e, s, strlen(s));
}

/* ASCII whitespace, as isspace() in the C locale (llama.cpp's trim()); UTF-8 bytes never are. */
static int is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Message i's content, trimmed or not; the only place contents are written (once each). */
static void put_content(struct emit *e, size_t i, int trim)
{
	const char *s = e->msgs[i].content;
	size_t a = 0, z = strlen(s);

	if (trim) {
		while (a < z && is_ws((unsigned char)s[a]))
			a++;
		while (z > a && is_ws((unsigned char)s[z - 1]))
			z--;
	}
	if (e->spans != NULL) {
		e->spans[i].off = e->b->len;
		e->spans[i].len = z - a;
	}
	put_n(e, s + a, z - a);
}

static enum role role_of(const char *r)
{
	if (strcmp(r, "system") == 0)
		return R_SYS;
	if (strcmp(r, "user") == 0)
		return R_USER;
	if (strcmp(r, "assistant") == 0)
		return R_ASST;
	return R_BAD;
}

/* Table rows: flags */
#define SYS_NONE 0x1	 /* the template has no place for a system message at all (Yandex) */
#define SYS_FIRST 0x2	 /* a system message only as the first message (GigaChat, Hunyuan) */
#define SYS_MERGE 0x4	 /* system text goes into the next user turn, so one must follow */
#define T(r) (1u << (r)) /* trim bit for role r */

struct simple {
	const char *start;	 /* once, before everything */
	const char *start_nosys; /* once, before everything, when msgs[0] is not system */
	const char *pre[3];	 /* per role (R_SYS, R_USER, R_ASST) */
	const char *suf[3];
	unsigned trim;	 /* T(role) bits: content trimmed of ASCII whitespace */
	const char *add; /* the assistant prefix; NULL: add_assistant is ignored */
};

static const struct simple simple_tmpl[CHAT_TMPL_COUNT] = {
    [CHAT_TMPL_CHATML] = {NULL,
			  NULL,
			  {"<|im_start|>system\n", "<|im_start|>user\n", "<|im_start|>assistant\n"},
			  {"<|im_end|>\n", "<|im_end|>\n", "<|im_end|>\n"},
			  0,
			  "<|im_start|>assistant\n"},
    [CHAT_TMPL_MISTRAL_V7] = {NULL,
			      NULL,
			      {"[SYSTEM_PROMPT] ", "[INST] ", " "},
			      {"[/SYSTEM_PROMPT]", "[/INST]", "</s>"},
			      0,
			      NULL},
    [CHAT_TMPL_MISTRAL_V7_TEKKEN] = {NULL,
				     NULL,
				     {"[SYSTEM_PROMPT]", "[INST]", ""},
				     {"[/SYSTEM_PROMPT]", "[/INST]", "</s>"},
				     0,
				     NULL},
    [CHAT_TMPL_PHI3] = {NULL,
			NULL,
			{"<|system|>\n", "<|user|>\n", "<|assistant|>\n"},
			{"<|end|>\n", "<|end|>\n", "<|end|>\n"},
			0,
			"<|assistant|>\n"},
    [CHAT_TMPL_PHI4] = {NULL,
			NULL,
			{"<|im_start|>system<|im_sep|>", "<|im_start|>user<|im_sep|>",
			 "<|im_start|>assistant<|im_sep|>"},
			{"<|im_end|>", "<|im_end|>", "<|im_end|>"},
			0,
			"<|im_start|>assistant<|im_sep|>"},
    [CHAT_TMPL_FALCON3] = {NULL,
			   NULL,
			   {"<|system|>\n", "<|user|>\n", "<|assistant|>\n"},
			   {"\n", "\n", "\n"},
			   0,
			   "<|assistant|>\n"},
    [CHAT_TMPL_ZEPHYR] = {NULL,
			  NULL,
			  {"<|system|>\n", "<|user|>\n", "<|assistant|>\n"},
			  {"<|endoftext|>\n", "<|endoftext|>\n", "<|endoftext|>\n"},
			  0,
			  "<|assistant|>\n"},
    [CHAT_TMPL_OPENCHAT] = {NULL,
			    NULL,
			    {"", "GPT4 Correct User: ", "GPT4 Correct Assistant: "},
			    {"<|end_of_turn|>", "<|end_of_turn|>", "<|end_of_turn|>"},
			    0,
			    "GPT4 Correct Assistant:"},
    [CHAT_TMPL_VICUNA] =
	{NULL, NULL, {"", "USER: ", "ASSISTANT: "}, {"\n\n", "\n", "</s>\n"}, 0, "ASSISTANT:"},
    [CHAT_TMPL_VICUNA_ORCA] = {NULL,
			       NULL,
			       {"SYSTEM: ", "USER: ", "ASSISTANT: "},
			       {"\n", "\n", "</s>\n"},
			       0,
			       "ASSISTANT:"},
    [CHAT_TMPL_DEEPSEEK] = {NULL,
			    NULL,
			    {"", "### Instruction:\n", "### Response:\n"},
			    {"", "\n", "\n<|EOT|>\n"},
			    0,
			    "### Response:\n"},
    [CHAT_TMPL_COMMAND_R] = {NULL,
			     NULL,
			     {"<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>",
			      "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>",
			      "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>"},
			     {"<|END_OF_TURN_TOKEN|>", "<|END_OF_TURN_TOKEN|>",
			      "<|END_OF_TURN_TOKEN|>"},
			     T(R_SYS) | T(R_USER) | T(R_ASST),
			     "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>"},
    [CHAT_TMPL_LLAMA3] = {NULL,
			  NULL,
			  {"<|start_header_id|>system<|end_header_id|>\n\n",
			   "<|start_header_id|>user<|end_header_id|>\n\n",
			   "<|start_header_id|>assistant<|end_header_id|>\n\n"},
			  {"<|eot_id|>", "<|eot_id|>", "<|eot_id|>"},
			  T(R_SYS) | T(R_USER) | T(R_ASST),
			  "<|start_header_id|>assistant<|end_header_id|>\n\n"},
    [CHAT_TMPL_CHATGLM3] = {"[gMASK]sop",
			    NULL,
			    {"<|system|>\n ", "<|user|>\n ", "<|assistant|>\n "},
			    {"", "", ""},
			    0,
			    "<|assistant|>"},
    [CHAT_TMPL_CHATGLM4] = {"[gMASK]<sop>",
			    NULL,
			    {"<|system|>\n", "<|user|>\n", "<|assistant|>\n"},
			    {"", "", ""},
			    0,
			    "<|assistant|>\n"},
    [CHAT_TMPL_GLMEDGE] = {NULL,
			   NULL,
			   {"<|system|>\n", "<|user|>\n", "<|assistant|>\n"},
			   {"", "", ""},
			   0,
			   "<|assistant|>"},
    [CHAT_TMPL_MINICPM] = {NULL,
			   NULL,
			   {"", MINICPM_USER, ""},
			   {"", "<AI>", ""},
			   T(R_SYS) | T(R_USER) | T(R_ASST),
			   NULL},
    [CHAT_TMPL_DEEPSEEK2] =
	{NULL, NULL, {"", "User: ", "Assistant: "}, {"\n\n", "\n\n", DS_EOS}, 0, "Assistant:"},
    [CHAT_TMPL_DEEPSEEK3] = {NULL, NULL, {"", DS_USER, DS_ASST}, {"\n\n", "", DS_EOS}, 0, DS_ASST},
    [CHAT_TMPL_DEEPSEEK4] = {NULL, NULL, {"", DS_USER, DS_ASST}, {"\n\n", "", DS_EOS}, 0, DS_ASST},
    [CHAT_TMPL_EXAONE3] = {NULL,
			   NULL,
			   {"[|system|]", "[|user|]", "[|assistant|]"},
			   {"[|endofturn|]\n", "\n", "[|endofturn|]\n"},
			   T(R_SYS) | T(R_USER) | T(R_ASST),
			   "[|assistant|]"},
    [CHAT_TMPL_EXAONE4] = {NULL,
			   NULL,
			   {"[|system|]", "[|user|]", "[|assistant|]"},
			   {"[|endofturn|]\n", "\n", "[|endofturn|]\n"},
			   T(R_SYS) | T(R_USER) | T(R_ASST),
			   "[|assistant|]"},
    [CHAT_TMPL_EXAONE_MOE] = {NULL,
			      NULL,
			      {"<|system|>\n", "<|user|>\n", "<|assistant|>\n"},
			      {"<|endofturn|>\n", "<|endofturn|>\n", "<|endofturn|>\n"},
			      T(R_SYS) | T(R_USER) | T(R_ASST),
			      "<|assistant|>\n"},
    [CHAT_TMPL_GRANITE] = {NULL,
			   NULL,
			   {"<|start_of_role|>system<|end_of_role|>",
			    "<|start_of_role|>user<|end_of_role|>",
			    "<|start_of_role|>assistant<|end_of_role|>"},
			   {"<|end_of_text|>\n", "<|end_of_text|>\n", "<|end_of_text|>\n"},
			   0,
			   "<|start_of_role|>assistant<|end_of_role|>"},
    [CHAT_TMPL_GRANITE_4_0] = {NULL,
			       NULL,
			       {"<|start_of_role|>system<|end_of_role|>",
				"<|start_of_role|>user<|end_of_role|>",
				"<|start_of_role|>assistant<|end_of_role|>"},
			       {"<|end_of_text|>\n", "<|end_of_text|>\n", "<|end_of_text|>\n"},
			       0,
			       "<|start_of_role|>assistant<|end_of_role|>"},
    [CHAT_TMPL_GRANITE_4_1] = {NULL,
			       NULL,
			       {"<|start_of_role|>system<|end_of_role|>",
				"<|start_of_role|>user<|end_of_role|>",
				"<|start_of_role|>assistant<|end_of_role|>"},
			       {"<|end_of_text|>\n", "<|end_of_text|>\n", "<|end_of_text|>\n"},
			       0,
			       "<|start_of_role|>assistant<|end_of_role|>"},
    [CHAT_TMPL_GIGACHAT] = {"<s>",
			    NULL,
			    {"", "user<|role_sep|>", "assistant<|role_sep|>"},
			    {"<|message_sep|>",
			     "<|message_sep|>available functions<|role_sep|>[]<|message_sep|>",
			     "<|message_sep|>"},
			    0,
			    "assistant<|role_sep|>"},
    [CHAT_TMPL_MEGREZ] = {NULL,
			  NULL,
			  {"<|role_start|>system<|role_end|>", "<|role_start|>user<|role_end|>",
			   "<|role_start|>assistant<|role_end|>"},
			  {"<|turn_end|>", "<|turn_end|>", "<|turn_end|>"},
			  0,
			  "<|role_start|>assistant<|role_end|>"},
    [CHAT_TMPL_YANDEX] = {NULL,
			  NULL,
			  {"", YANDEX_USER " ", YANDEX_ASST " "},
			  {"", "\n\n", "\n\n"},
			  0,
			  YANDEX_ASST "[SEP]"},
    [CHAT_TMPL_BAILING] = {NULL,
			   NULL,
			   {"<role>SYSTEM</role>", "<role>HUMAN</role>", "<role>ASSISTANT</role>"},
			   {"", "", ""},
			   0,
			   "<role>ASSISTANT</role>"},
    [CHAT_TMPL_BAILING_THINK] = {NULL,
				 NULL,
				 {"<role>SYSTEM</role>", "<role>HUMAN</role>",
				  "<role>ASSISTANT</role>"},
				 {"", "", ""},
				 0,
				 "<role>ASSISTANT</role><think>"},
    [CHAT_TMPL_BAILING2] = {NULL,
			    "<role>SYSTEM</role>detailed thinking off<|role_end|>",
			    {"<role>SYSTEM</role>", "<role>HUMAN</role>", "<role>ASSISTANT</role>"},
			    {"<|role_end|>", "<|role_end|>", "<|role_end|>"},
			    0,
			    "<role>ASSISTANT</role>"},
    [CHAT_TMPL_LLAMA4] = {NULL,
			  NULL,
			  {"<|header_start|>system<|header_end|>\n\n",
			   "<|header_start|>user<|header_end|>\n\n",
			   "<|header_start|>assistant<|header_end|>\n\n"},
			  {"<|eot|>", "<|eot|>", "<|eot|>"},
			  T(R_SYS) | T(R_USER) | T(R_ASST),
			  "<|header_start|>assistant<|header_end|>\n\n"},
    [CHAT_TMPL_SMOLVLM] = {"<|im_start|>",
			   NULL,
			   {"", "User: ", "Assistant: "},
			   {"\n\n", "<end_of_utterance>\n", "<end_of_utterance>\n"},
			   0,
			   "Assistant:"},
    [CHAT_TMPL_DOTS1] = {NULL,
			 NULL,
			 {"<|system|>", "<|userprompt|>", "<|response|>"},
			 {"<|endofsystem|>", "<|endofuserprompt|>", "<|endofresponse|>"},
			 0,
			 "<|response|>"},
    [CHAT_TMPL_HUNYUAN_MOE] = {NULL,
			       NULL,
			       {"<|startoftext|>", "<|startoftext|>", ""},
			       {"<|extra_4|>", "<|extra_0|>", "<|eos|>"},
			       0,
			       NULL},
    [CHAT_TMPL_GPT_OSS] = {NULL,
			   NULL,
			   {"<|start|>system<|message|>", "<|start|>user<|message|>",
			    "<|start|>assistant<|message|>"},
			   {"<|end|>", "<|end|>", "<|return|>"},
			   0,
			   "<|start|>assistant"},
    [CHAT_TMPL_HUNYUAN_DENSE] =
	{NULL, NULL, {"", HY_USER, HY_ASST}, {HY_PH3, HY_ASST, HY_PH2}, 0, NULL},
    [CHAT_TMPL_HUNYUAN_VL] = {HY_BOS, NULL, {"", "", ""}, {HY_PH3, HY_USER, HY_ASST}, 0, NULL},
    [CHAT_TMPL_KIMI_K2] = {NULL,
			   NULL,
			   {"<|im_system|>system<|im_middle|>", "<|im_user|>user<|im_middle|>",
			    "<|im_assistant|>assistant<|im_middle|>"},
			   {"<|im_end|>", "<|im_end|>", "<|im_end|>"},
			   0,
			   "<|im_assistant|>assistant<|im_middle|>"},
    [CHAT_TMPL_SEED_OSS] = {NULL,
			    NULL,
			    {"<seed:bos>system\n", "<seed:bos>user\n", "<seed:bos>assistant\n"},
			    {"<seed:eos>", "<seed:eos>", "<seed:eos>"},
			    T(R_ASST),
			    "<seed:bos>assistant\n"},
    [CHAT_TMPL_GROK2] = {NULL,
			 NULL,
			 {"System: ", "Human: ", "Assistant: "},
			 {"<|separator|>\n\n", "<|separator|>\n\n", "<|separator|>\n\n"},
			 T(R_SYS) | T(R_USER),
			 "Assistant:"},
    [CHAT_TMPL_PANGU_EMBED] = {NULL,
			       PANGU_SYS "[unused10]",
			       {PANGU_SYS, PANGU_USER, PANGU_ASST},
			       {"[unused10]", "[unused10]", "[unused10]"},
			       0,
			       PANGU_ASST},
    [CHAT_TMPL_SOLAR_OPEN] = {NULL,
			      NULL,
			      {"<|begin|>system<|content|>", "<|begin|>user<|content|>",
			       "<|begin|>assistant<|content|>"},
			      {"<|end|>", "<|end|>", "<|end|>"},
			      0,
			      "<|begin|>assistant"},
};

/* Where a template can put a system message (checked before anything is written). */
static unsigned sys_rule(enum chat_template_id id)
{
	switch (id) {
	case CHAT_TMPL_YANDEX:
		return SYS_NONE;
	case CHAT_TMPL_GIGACHAT:
	case CHAT_TMPL_HUNYUAN_DENSE:
	case CHAT_TMPL_HUNYUAN_VL:
		return SYS_FIRST;
	case CHAT_TMPL_GEMMA:
	case CHAT_TMPL_ORION:
		return SYS_MERGE;
	default:
		return 0;
	}
}

static int check_messages(enum chat_template_id id, const struct chat_message *msgs, size_t n)
{
	unsigned rule = sys_rule(id);
	size_t i, last_user = SIZE_MAX;

	for (i = 0; i < n; i++) {
		if (msgs[i].role == NULL || msgs[i].content == NULL)
			return CHAT_EINVAL;
		switch (role_of(msgs[i].role)) {
		case R_BAD:
			return CHAT_EROLE;
		case R_USER:
			last_user = i;
			break;
		case R_SYS:
			if ((rule & SYS_NONE) || ((rule & SYS_FIRST) && i != 0))
				return CHAT_ESYSTEM;
			break;
		case R_ASST:
			break;
		}
	}
	for (i = 0; (rule & SYS_MERGE) && i < n; i++)
		if (role_of(msgs[i].role) == R_SYS && (last_user == SIZE_MAX || i > last_user))
			return CHAT_ESYSTEM;
	return 0;
}

static void fmt_simple(struct emit *e, const struct simple *t, const struct chat_message *msgs,
		       size_t n, int add_assistant)
{
	size_t i;

	if (t->start != NULL)
		put(e, t->start);
	if (t->start_nosys != NULL && role_of(msgs[0].role) != R_SYS)
		put(e, t->start_nosys);
	for (i = 0; i < n; i++) {
		enum role r = role_of(msgs[i].role);

		put(e, t->pre[r]);
		put_content(e, i, (t->trim & T(r)) != 0);
		put(e, t->suf[r]);
	}
	if (add_assistant && t->add != NULL)
		put(e, t->add);
}

/* Llama 2 and its system / BOS / strip variants; the last user turn ends in " [/INST]". */
static void fmt_llama2(struct emit *e, enum chat_template_id id, const struct chat_message *msgs,
		       size_t n)
{
	int sys_ok = id != CHAT_TMPL_LLAMA2, bos = id == CHAT_TMPL_LLAMA2_SYS_BOS;
	int strip = id == CHAT_TMPL_LLAMA2_SYS_STRIP, inside = 1;
	size_t i;

	put(e, "[INST] ");
	for (i = 0; i < n; i++) {
		enum role r = role_of(msgs[i].role);

		if (!inside) {
			inside = 1;
			put(e, bos ? "<s>[INST] " : "[INST] ");
		}
		if (r == R_SYS && sys_ok)
			put(e, "<<SYS>>\n");
		put_content(e, i, strip);
		if (r == R_SYS) {
			put(e, sys_ok ? "\n<</SYS>>\n\n" : "\n");
		} else if (r == R_USER) {
			put(e, " [/INST]");
		} else {
			put(e, "</s>");
			inside = 0;
		}
	}
}

/* Mistral 'v1', 'v3', 'v3-tekken': the system text opens the first [INST] turn. */
static void fmt_mistral(struct emit *e, enum chat_template_id id, const struct chat_message *msgs,
			size_t n)
{
	const char *lead = id == CHAT_TMPL_MISTRAL_V1 ? " " : "";
	const char *trail = id == CHAT_TMPL_MISTRAL_V3_TEKKEN ? "" : " ";
	int trim_asst = id == CHAT_TMPL_MISTRAL_V3, inside = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		enum role r = role_of(msgs[i].role);

		if (!inside) {
			put(e, lead);
			put(e, "[INST]");
			put(e, trail);
			inside = 1;
		}
		if (r == R_SYS) {
			put_content(e, i, 0);
			put(e, "\n\n");
		} else if (r == R_USER) {
			put_content(e, i, 0);
			put(e, lead);
			put(e, "[/INST]");
		} else {
			put(e, trail);
			put_content(e, i, trim_asst);
			put(e, "</s>");
			inside = 0;
		}
	}
}

/* mlabonne/AlphaMonarch: BOS inside the history, except before the first message. */
static void fmt_monarch(struct emit *e, const struct chat_message *msgs, size_t n,
			int add_assistant)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			put(e, "<s>");
		put(e, role_name[role_of(msgs[i].role)]);
		put(e, "\n");
		put_content(e, i, 0);
		put(e, "</s>\n");
	}
	if (add_assistant)
		put(e, "<s>assistant\n");
}

/*
 * Gemma and Orion have no system role: the system texts (concatenated; Gemma trims each) open
 * the next user turn. check_messages made sure a user message follows every system message.
 */
static void put_pending_system(struct emit *e, const struct chat_message *msgs, size_t from,
			       size_t to, int trim)
{
	size_t i, start = e->b->len;

	for (i = from; i < to; i++)
		if (role_of(msgs[i].role) == R_SYS)
			put_content(e, i, trim);
	if (e->err == 0 && e->b->len > start)
		put(e, "\n\n");
}

static void fmt_gemma(struct emit *e, const struct chat_message *msgs, size_t n, int add_assistant)
{
	size_t i, sys_from = 0;

	for (i = 0; i < n; i++) {
		enum role r = role_of(msgs[i].role);

		if (r == R_SYS)
			continue;
		put(e, r == R_ASST ? "<start_of_turn>model\n" : "<start_of_turn>user\n");
		if (r == R_USER) {
			put_pending_system(e, msgs, sys_from, i, 1);
			sys_from = i + 1;
		}
		put_content(e, i, 1);
		put(e, "<end_of_turn>\n");
	}
	if (add_assistant)
		put(e, "<start_of_turn>model\n");
}

static void fmt_orion(struct emit *e, const struct chat_message *msgs, size_t n)
{
	size_t i, sys_from = 0;

	for (i = 0; i < n; i++) {
		enum role r = role_of(msgs[i].role);

		if (r == R_SYS)
			continue;
		if (r == R_USER) {
			put(e, "Human: ");
			put_pending_system(e, msgs, sys_from, i, 0);
			sys_from = i + 1;
			put_content(e, i, 0);
			put(e, "\n\nAssistant: </s>");
		} else {
			put_content(e, i, 0);
			put(e, "</s>");
		}
	}
}

/* RWKV World: "\n\n" is the end of turn; a final user turn is followed by "Assistant:". */
static void fmt_rwkv(struct emit *e, const struct chat_message *msgs, size_t n)
{
	static const char *const pre[3] = {"System: ", "User: ", "Assistant: "};
	size_t i;

	for (i = 0; i < n; i++) {
		enum role r = role_of(msgs[i].role);

		put(e, pre[r]);
		put_content(e, i, 1);
		put(e, "\n\n");
		if (r == R_USER && i == n - 1)
			put(e, "Assistant:");
	}
}

int chat_apply_spans(enum chat_template_id id, const struct chat_message *msgs, size_t n,
		     int add_assistant, struct buf *out, struct chat_span *spans)
{
	struct emit e = {out, 0, msgs, spans};
	size_t start;
	int rc;

	if (out == NULL || msgs == NULL || n == 0 || (unsigned)id >= CHAT_TMPL_COUNT)
		return CHAT_EINVAL;
	rc = check_messages(id, msgs, n);
	if (rc != 0)
		return rc;
	start = out->len;
	switch (id) {
	case CHAT_TMPL_LLAMA2:
	case CHAT_TMPL_LLAMA2_SYS:
	case CHAT_TMPL_LLAMA2_SYS_BOS:
	case CHAT_TMPL_LLAMA2_SYS_STRIP:
		fmt_llama2(&e, id, msgs, n);
		break;
	case CHAT_TMPL_MISTRAL_V1:
	case CHAT_TMPL_MISTRAL_V3:
	case CHAT_TMPL_MISTRAL_V3_TEKKEN:
		fmt_mistral(&e, id, msgs, n);
		break;
	case CHAT_TMPL_MONARCH:
		fmt_monarch(&e, msgs, n, add_assistant);
		break;
	case CHAT_TMPL_GEMMA:
		fmt_gemma(&e, msgs, n, add_assistant);
		break;
	case CHAT_TMPL_ORION:
		fmt_orion(&e, msgs, n);
		break;
	case CHAT_TMPL_RWKV_WORLD:
		fmt_rwkv(&e, msgs, n);
		break;
	default:
		fmt_simple(&e, &simple_tmpl[id], msgs, n, add_assistant);
		break;
	}
	if (e.err != 0) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		return e.err;
	}
	return 0;
}

int chat_apply(enum chat_template_id id, const struct chat_message *msgs, size_t n,
	       int add_assistant, struct buf *out)
{
	return chat_apply_spans(id, msgs, n, add_assistant, out, NULL);
}

const char *chat_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case CHAT_ENOMEM:
		return "out of memory building the prompt";
	case CHAT_EINVAL:
		return "messages must be a non-empty list of {role, content} strings";
	case CHAT_EROLE:
		return "message role must be system, user or assistant";
	case CHAT_ESYSTEM:
		return "the model's chat template has no place for this system message";
	default:
		return "unknown error";
	}
}
