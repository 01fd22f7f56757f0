/*
 * metascan.h — static checks of model metadata and embedded payloads: Jinja chat templates with
 * sandbox-escape / code-execution patterns, oversized or control-character strings, and
 * executables, archives, pickles or scripts hidden in metadata strings, byte arrays or after the
 * tensor data.
 *
 * Owns: the pattern lists, the payload signatures (each checked beyond its magic so random
 * weight bytes do not match), the "meta.*" and "payload.*" findings.
 * Never: renders or evaluates a template, decodes base64 it finds (it names the signature),
 * prints a metadata byte unescaped (scan_report does the escaping), or reads outside the
 * buffers it is given.
 */
#ifndef SECAI_METASCAN_H
#define SECAI_METASCAN_H

#include <stddef.h>
#include <stdint.h>

#include "gguf/gguf.h"
#include "scan/scan.h"

struct metascan_limits {
	size_t string_max;   /* any metadata string above: WARN meta.string_oversized (1 MiB) */
	size_t template_max; /* a chat template above: WARN meta.template_oversized (256 KiB) */
};

void metascan_limits_default(struct metascan_limits *l);

/*
 * Every metadata value of a GGUF (strings, string arrays but the vocabulary's tokens/merges,
 * u8/i8 arrays) and the bytes after the last tensor. Works on a handle opened with
 * GGUF_OPEN_KEEP_INVALID too. l NULL = defaults. Returns the number of REJECT-or-worse findings
 * added, or -1 on out of memory.
 */
int metascan_gguf(const struct gguf_file *f, const struct metascan_limits *l,
		  struct scan_report *r, const char *file);

/* One metadata string s[0..len) at file offset off under key (chat templates recognised by
 * key "tokenizer.chat_template" or "tokenizer.chat_template.*", or any key when
 * is_template != 0 — safetensors __metadata__ or tokenizer_config.json callers). Returns the
 * number of REJECT-or-worse findings added. */
int metascan_string(const char *key, const char *s, size_t len, uint64_t off, int is_template,
		    const struct metascan_limits *l, struct scan_report *r, const char *file);

/* The chat-template rules alone (meta.template_injection, CRITICAL). Returns findings added. */
int metascan_template(const char *key, const char *s, size_t len, uint64_t off,
		      struct scan_report *r, const char *file);

/*
 * Embedded payload signatures in data[0..len) (base = its file offset, where = subject, e.g.
 * the key or "after tensor data"): ELF, PE, Mach-O, zip, pickle (protocol 2-5 with an import
 * opcode), shebang scripts at the start or after a newline, and base64 of pickle/ELF/PE/zip.
 * Reasons "payload.elf", "payload.pe", "payload.macho", "payload.zip", "payload.pickle",
 * "payload.script", "payload.base64" (CRITICAL). At most one finding per kind per call.
 * Returns the number of findings added.
 */
int scan_payloads(const void *data, size_t len, uint64_t base, const char *where,
		  struct scan_report *r, const char *file);

#endif
