/*
 * chat_prompt.h — a chat prompt's tokens, with message contents kept as plain text.
 *
 * Owns: tokenizing the text chat_apply_spans wrote so that only the template's own text can
 * become control tokens. Used by the server (srv_gen.c) and `securectl chat` in-process.
 * Never: formats the prompt (chat_template.c does) or runs the engine.
 */
#ifndef SECAI_CHAT_PROMPT_H
#define SECAI_CHAT_PROMPT_H

#include <stddef.h>

#include "infer/chat_template.h"
#include "tokenizer/tok.h"

/*
 * Appends the tokens of prompt[0..len) to out. spans[0..n) (from chat_apply_spans; NULL/0 for
 * a raw prompt) are where message contents sit. When no content holds the text of a control
 * token, the prompt is tokenized whole with special tokens parsed — exactly as llama-server
 * does, so the tokens match it. Otherwise (*injected = 1) the template's text is tokenized with
 * special tokens parsed and each content without, segment by segment, after a BOS if the
 * vocabulary adds one. Returns 0, or -1 (tokenizer failure; out unchanged).
 */
int chat_prompt_tokenize(const struct tok_vocab *v, const char *prompt, size_t len,
			 const struct chat_span *spans, size_t n, struct tok_ids *out,
			 int *injected);

#endif
