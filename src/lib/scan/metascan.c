/*
 * metascan.c — chat-template injection patterns, string hygiene and embedded payload signatures
 * in model metadata and after the tensor data.
 *
 * Owns: the pattern tables and the payload recognisers (magic plus a structural check each).
 * Never: evaluates a template, trusts an offset from the file before bounding it, or reports
 * a payload kind more than once per region (one finding says enough; the file is rejected).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "scan/metascan.h"

void metascan_limits_default(struct metascan_limits *l)
{
	l->string_max = 1u << 20;
	l->template_max = 256u << 10;
}

/* Jinja sandbox escapes and code execution (CVE-2024-34359 and its kind). */
static const char *const tmpl_patterns[] = {
    "__class__",     "__mro__",	     "__subclasses__", "__globals__",  "__builtins__",
    "__import__",    "__init__",     "__base__",       "__bases__",    "__getattribute__",
    "__dict__",	     "__code__",     "__reduce__",     "__loader__",   "__spec__",
    "func_globals",  "f_globals",    "popen",	       "subprocess",   "os.system",
    "os.popen",	     "eval(",	     "exec(",	       "compile(",     "getattr(",
    "|attr(",	     "| attr(",	     "\\x5f\\x5f",     "\\u005f",      "\\137\\137",
    "import os",     "lipsum.",	     "cycler.",	       "joiner.",      "namespace.__",
    "self._",	     "request.application", "config.items", "{% import", "{%- import",
    "{% include",    "{%- include", "{% extends",     "{%- extends",  "{% from",
    "{%- from",	     "system(",	     "/bin/sh",	       "/bin/bash",
};

static bool word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

int metascan_template(const char *key, const char *s, size_t len, uint64_t off,
		      struct scan_report *r, const char *file)
{
	const char *hit = NULL, *p;
	size_t at = 0;

	for (size_t i = 0; i < sizeof(tmpl_patterns) / sizeof(tmpl_patterns[0]) && !hit; i++) {
		p = memmem(s, len, tmpl_patterns[i], strlen(tmpl_patterns[i]));
		if (p != NULL) {
			hit = tmpl_patterns[i];
			at = (size_t)(p - s);
		}
	}
	/* "os." as a word: os.environ, os.listdir (not "pos.", "photos."). */
	for (p = s; !hit && (p = memmem(p, len - (size_t)(p - s), "os.", 3)) != NULL; p += 3) {
		if (p == s || !word_char((unsigned char)p[-1])) {
			hit = "os.";
			at = (size_t)(p - s);
		}
	}
	if (!hit)
		return 0;
	scan_report_add(r, "meta.template_injection", SCAN_SEV_CRITICAL, file, off, key,
			"chat template contains '%s' at byte %zu: Jinja sandbox escape / code "
			"execution pattern",
			hit, at);
	return 1;
}

static bool is_template_key(const char *key)
{
	return strcmp(key, "tokenizer.chat_template") == 0 ||
	       strncmp(key, "tokenizer.chat_template.", 24) == 0;
}

int metascan_string(const char *key, const char *s, size_t len, uint64_t off, int is_template,
		    const struct metascan_limits *l, struct scan_report *r, const char *file)
{
	struct metascan_limits def;
	const unsigned char *u = (const unsigned char *)s;
	bool tmpl = is_template || is_template_key(key);
	int bad = 0;
	size_t i;

	if (l == NULL) {
		metascan_limits_default(&def);
		l = &def;
	}
	if (len > l->string_max)
		scan_report_add(r, "meta.string_oversized", SCAN_SEV_WARN, file, off, key,
				"metadata string of %zu bytes (limit %zu)", len, l->string_max);
	else if (tmpl && len > l->template_max)
		scan_report_add(r, "meta.template_oversized", SCAN_SEV_WARN, file, off, key,
				"chat template of %zu bytes (limit %zu)", len, l->template_max);
	for (i = 0; i < len; i++) {
		if ((u[i] < 0x20 && u[i] != '\t' && u[i] != '\n' && u[i] != '\r') || u[i] == 0x7f) {
			scan_report_add(r, "meta.control_chars", SCAN_SEV_WARN, file, off, key,
					"control character 0x%02x at byte %zu (terminal/log "
					"injection)",
					u[i], i);
			break;
		}
		/* U+202A..U+202E, U+2066..U+2069: bidirectional overrides (Trojan Source). */
		if (u[i] == 0xe2 && i + 2 < len && u[i + 1] == 0x80 && u[i + 2] >= 0xaa &&
		    u[i + 2] <= 0xae) {
			scan_report_add(r, "meta.bidi_chars", SCAN_SEV_WARN, file, off, key,
					"bidirectional override character at byte %zu", i);
			break;
		}
		if (u[i] == 0xe2 && i + 2 < len && u[i + 1] == 0x81 && u[i + 2] >= 0xa6 &&
		    u[i + 2] <= 0xa9) {
			scan_report_add(r, "meta.bidi_chars", SCAN_SEV_WARN, file, off, key,
					"bidirectional isolate character at byte %zu", i);
			break;
		}
	}
	if (tmpl)
		bad += metascan_template(key, s, len, off, r, file);
	bad += scan_payloads(s, len, off, key, r, file);
	return bad;
}

/* ---- payload signatures -------------------------------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool is_elf(const uint8_t *p, size_t n)
{
	return n >= 20 && memcmp(p, "\x7f" "ELF", 4) == 0 && (p[4] == 1 || p[4] == 2) &&
	       (p[5] == 1 || p[5] == 2) && p[6] == 1;
}

static bool is_pe(const uint8_t *p, size_t n)
{
	uint32_t lfa;

	if (n < 0x40 || p[0] != 'M' || p[1] != 'Z')
		return false;
	lfa = le32(p + 0x3c);
	return lfa >= 0x40 && lfa <= n - 6 && memcmp(p + lfa, "PE\0\0", 4) == 0;
}

static bool is_macho(const uint8_t *p, size_t n)
{
	static const uint8_t m[][4] = {{0xfe, 0xed, 0xfa, 0xce}, {0xfe, 0xed, 0xfa, 0xcf},
				       {0xce, 0xfa, 0xed, 0xfe}, {0xcf, 0xfa, 0xed, 0xfe}};
	uint32_t ft;

	if (n < 28)
		return false;
	for (size_t i = 0; i < 4; i++) {
		if (memcmp(p, m[i], 4) != 0)
			continue;
		/* filetype: MH_OBJECT..MH_FILESET (1..12), either byte order. */
		ft = i < 2 ? (uint32_t)p[12] << 24 | (uint32_t)p[13] << 16 | (uint32_t)p[14] << 8 | p[15]
			   : le32(p + 12);
		return ft >= 1 && ft <= 12;
	}
	/* Fat binary: 0xcafebabe + a small arch count (Java classes have a version >= 45 here). */
	return memcmp(p, "\xca\xfe\xba\xbe", 4) == 0 && p[4] == 0 && p[5] == 0 && p[6] == 0 &&
	       p[7] >= 1 && p[7] <= 16;
}

static bool is_zip(const uint8_t *p, size_t n)
{
	uint16_t ver, method, nlen;

	if (n < 30 || memcmp(p, "PK\x03\x04", 4) != 0)
		return false;
	ver = (uint16_t)(p[4] | p[5] << 8);
	method = (uint16_t)(p[8] | p[9] << 8);
	nlen = (uint16_t)(p[26] | p[27] << 8);
	return ver <= 63 && (method == 0 || method == 8 || method == 12 || method == 14 ||
			     method == 93 || method == 99) &&
	       nlen > 0 && nlen <= 1024;
}

/* A name of a GLOBAL operand: [A-Za-z_][A-Za-z0-9_.]* then '\n'; returns its length + 1. */
static size_t global_name(const uint8_t *p, size_t n)
{
	size_t j = 0;

	if (n == 0 || !((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z') || p[0] == '_'))
		return 0;
	while (j < n && j < 128 && (word_char(p[j]) || p[j] == '.'))
		j++;
	return j < n && p[j] == '\n' ? j + 1 : 0;
}

/*
 * PROTO 2/3 then, within 64 bytes, GLOBAL "module\nname\n"; or PROTO 4/5 + FRAME with a
 * length below 4 GiB followed by an opcode that starts a real pickle. Random bytes match this
 * with a probability far below 2^-40 per position.
 */
static bool is_pickle(const uint8_t *p, size_t n)
{
	size_t lim, a, b;

	if (n < 12 || p[0] != 0x80 || p[1] < 2 || p[1] > 5)
		return false;
	if (p[1] >= 4)
		return p[2] == 0x95 && p[7] == 0 && p[8] == 0 && p[9] == 0 && p[10] == 0 &&
		       (p[11] == 0x8c || p[11] == 'c' || p[11] == '}' || p[11] == ']' ||
			p[11] == '(' || p[11] == 0x8d || p[11] == 'X');
	lim = n < 64 ? n : 64;
	for (size_t i = 2; i + 4 < lim; i++) {
		if (p[i] != 'c')
			continue;
		a = global_name(p + i + 1, n - i - 1);
		b = a ? global_name(p + i + 1 + a, n - i - 1 - a) : 0;
		if (a > 1 && b > 1)
			return true;
	}
	return false;
}

static bool is_script(const uint8_t *p, size_t n)
{
	return n >= 4 && p[0] == '#' && p[1] == '!' && (p[2] == '/' || (p[2] == ' ' && p[3] == '/'));
}

static const char *const b64_magic[] = {"gASV", "gAJj", "gANj", "gAR9", "f0VMRg", "TVqQAA",
					"UEsDBB", "IyEvYmluL"};

int scan_payloads(const void *data, size_t len, uint64_t base, const char *where,
		  struct scan_report *r, const char *file)
{
	const uint8_t *d = data;
	enum { K_ELF, K_PE, K_MACHO, K_ZIP, K_PICKLE, K_SCRIPT, K_B64, K_N };
	static const char *const ids[K_N] = {"payload.elf",    "payload.pe",	 "payload.macho",
					     "payload.zip",    "payload.pickle", "payload.script",
					     "payload.base64"};
	static const char *const what[K_N] = {"ELF executable", "PE (Windows) executable",
					      "Mach-O executable", "zip archive",
					      "pickle with an import", "shebang script",
					      "base64 of a pickle, executable, archive or script"};
	bool seen[K_N] = {false};
	uint64_t at[K_N] = {0};
	int found = 0;

	for (size_t i = 0; i < len; i++) {
		const uint8_t *p = d + i;
		size_t n = len - i;
		int k = -1;
		switch (p[0]) {
		case 0x7f:
			k = is_elf(p, n) ? K_ELF : -1;
			break;
		case 'M':
			k = is_pe(p, n) ? K_PE : -1;
			break;
		case 0xfe:
		case 0xce:
		case 0xcf:
		case 0xca:
			k = is_macho(p, n) ? K_MACHO : -1;
			break;
		case 'P':
			k = is_zip(p, n) ? K_ZIP : -1;
			break;
		case 0x80:
			k = is_pickle(p, n) ? K_PICKLE : -1;
			break;
		case '#':
			k = (i == 0 || d[i - 1] == '\n') && is_script(p, n) ? K_SCRIPT : -1;
			break;
		case 'g':
		case 'f':
		case 'T':
		case 'U':
		case 'I':
			for (size_t m = 0; m < sizeof(b64_magic) / sizeof(b64_magic[0]); m++) {
				size_t ml = strlen(b64_magic[m]);
				if (n >= ml && memcmp(p, b64_magic[m], ml) == 0 &&
				    (i == 0 || !word_char(d[i - 1]))) {
					k = K_B64;
					break;
				}
			}
			break;
		default:
			break;
		}
		if (k >= 0 && !seen[k]) {
			seen[k] = true;
			at[k] = base + i;
		}
	}
	for (int k = 0; k < K_N; k++) {
		if (!seen[k])
			continue;
		scan_report_add(r, ids[k], SCAN_SEV_CRITICAL, file, at[k], where,
				"%s embedded in %s", what[k], where ? where : "data");
		found++;
	}
	return found;
}

/* ---- GGUF ---------------------------------------------------------------------------------- */

static bool vocab_key(const char *key)
{
	return strcmp(key, "tokenizer.ggml.tokens") == 0 ||
	       strcmp(key, "tokenizer.ggml.merges") == 0;
}

int metascan_gguf(const struct gguf_file *f, const struct metascan_limits *l,
		  struct scan_report *r, const char *file)
{
	struct metascan_limits def;
	uint64_t end, size = gguf_file_size(f), align = gguf_alignment(f);
	const uint8_t *map = gguf_map(f);
	char key[256];
	int bad = 0;

	if (l == NULL) {
		metascan_limits_default(&def);
		l = &def;
	}
	for (size_t i = 0; i < gguf_n_kv(f); i++) {
		const struct gguf_kv *kv = gguf_kv_at(f, i);
		enum gguf_value_type et;
		const char *k, *s;
		size_t klen, slen;
		uint64_t cnt;
		k = gguf_kv_key(kv, &klen);
		snprintf(key, sizeof(key), "%.*s", (int)(klen < 255 ? klen : 255), k);
		if (gguf_kv_type(kv) == GGUF_TYPE_STRING && gguf_kv_get_str(kv, &s, &slen) == 0) {
			bad += metascan_string(key, s, slen, gguf_kv_offset(kv), 0, l, r, file);
			continue;
		}
		if (gguf_kv_array_info(kv, &et, &cnt) != 0)
			continue;
		if (et == GGUF_TYPE_STRING && !vocab_key(key)) {
			for (uint64_t j = 0; j < cnt; j++)
				if (gguf_kv_array_str(kv, j, &s, &slen) == 0)
					bad += metascan_string(key, s, slen, gguf_kv_offset(kv),
							       0, l, r, file);
		} else if ((et == GGUF_TYPE_UINT8 || et == GGUF_TYPE_INT8) && cnt > 0 &&
			   gguf_kv_array_data(kv) != NULL && cnt <= size) {
			bad += scan_payloads(gguf_kv_array_data(kv), (size_t)cnt,
					     gguf_kv_offset(kv), key, r, file);
		}
	}
	/* After the last tensor's padded end (or the data start when there is no tensor). */
	end = gguf_data_offset(f);
	for (size_t i = 0; i < gguf_n_tensors(f); i++) {
		const struct gguf_tensor_info *t = gguf_tensor_at(f, i);
		uint64_t e;
		if (__builtin_add_overflow(t->file_offset, t->nbytes, &e) || e > size)
			continue;
		if (e > end)
			end = e;
	}
	if (align > 0 && end % align != 0 && end + (align - end % align) <= size)
		end += align - end % align;
	if (map != NULL && end < size && end > 0)
		bad += scan_payloads(map + end, (size_t)(size - end), end, "after tensor data", r,
				     file);
	return bad;
}
