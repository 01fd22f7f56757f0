/*
 * fuzz_chat_template.c — libFuzzer harness for chat templates: arbitrary template bytes are
 * detected (always a valid id; a fallback is always ChatML) and arbitrary messages formatted with
 * the detected template or any other. No crash; a refusal leaves the output untouched; a prompt
 * is NUL-free, within the documented size bound, and the add_assistant=0 prompt is a prefix of
 * the add_assistant=1 one; each content (or its trimmed middle) is at its span, and no two
 * spans overlap.
 *
 * Input: byte 0 bit 7 set: format with template (byte 0 & 0x7f) % CHAT_TMPL_COUNT, else with the
 * detected one; byte 1 is the template length L; then L template bytes; the rest is messages
 * separated by NUL bytes, each one role byte (% 4: system, user, assistant, "tool") and its
 * content. Never: keeps state across inputs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "infer/chat_template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSGS 64

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const roles[4] = {"system", "user", "assistant", "tool"};
	struct chat_message msgs[MAX_MSGS];
	struct chat_span sp[MAX_MSGS];
	char *text, *p, *end;
	struct buf a = BUF_INIT, b = BUF_INIT;
	enum chat_template_id id;
	size_t tlen, n = 0, nbytes = 0, i;
	int fb = -1, ra, rb;

	if (size < 2)
		return 0;
	tlen = data[1];
	if (tlen > size - 2)
		tlen = size - 2;
	id = chat_template_detect((const char *)data + 2, tlen, &fb);
	check((unsigned)id < CHAT_TMPL_COUNT && (fb == 0 || fb == 1));
	check(fb == 0 || id == CHAT_TMPL_CHATML);
	check(strcmp(chat_template_name(id), "?") != 0);
	if (data[0] & 0x80)
		id = (enum chat_template_id)((data[0] & 0x7f) % CHAT_TMPL_COUNT);

	/* the messages: a NUL-terminated copy split at NULs */
	text = malloc(size - 2 - tlen + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data + 2 + tlen, size - 2 - tlen);
	end = text + (size - 2 - tlen);
	*end = '\0';
	for (p = text; p < end && n < MAX_MSGS; p += strlen(p) + 1) {
		msgs[n].role = roles[(unsigned char)*p % 4];
		msgs[n].content = *p != '\0' ? p + 1 : p;
		nbytes += strlen(msgs[n].content);
		n++;
	}

	check(buf_append_str(&a, "pre") == 0 && buf_append_str(&b, "pre") == 0);
	ra = chat_apply(id, msgs, n, 0, &a);
	rb = chat_apply_spans(id, msgs, n, 1, &b, sp);
	check(ra == rb);
	if (ra != 0) {
		check(ra == CHAT_EINVAL || ra == CHAT_EROLE || ra == CHAT_ESYSTEM);
		check(n == 0 || ra != CHAT_EINVAL);
		check(a.len == 3 && strcmp(a.data, "pre") == 0 && b.len == 3);
		check(strcmp(chat_strerror(ra), "unknown error") != 0);
	} else {
		for (i = 0; i < n; i++)
			check(strcmp(msgs[i].role, "tool") != 0);
		check(strlen(a.data) == a.len && strlen(b.data) == b.len);
		check(b.len - 3 <=
		      nbytes + n * CHAT_MAX_OVERHEAD_PER_MSG + CHAT_MAX_OVERHEAD_FIXED);
		check(a.len <= b.len && memcmp(a.data, b.data, a.len) == 0);
		for (i = 0; i < n; i++) { /* each content (maybe trimmed) at its span, no overlap */
			size_t j, clen = strlen(msgs[i].content);

			check(sp[i].off >= 3 && sp[i].off <= b.len &&
			      sp[i].len <= b.len - sp[i].off);
			check(sp[i].len <= clen);
			check(sp[i].len == 0 ||
			      memmem(msgs[i].content, clen, b.data + sp[i].off, sp[i].len) != NULL);
			for (j = 0; j < i; j++)
				check(sp[j].off + sp[j].len <= sp[i].off ||
				      sp[i].off + sp[i].len <= sp[j].off);
		}
	}
	buf_free(&a);
	buf_free(&b);
	free(text);
	return 0;
}
