/*
 * formatgate.c — the format gate (formatgate.h).
 *
 * Owns: sniffing by content, the per-format dispatch, disguise checks, zip member and .npy
 * handling for pickle-family files, the progress line for large files.
 * Never: picks a parser from a file name, runs anything, or reads outside the mapped file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "json.h"
#include "scan/formatgate.h"
#include "scan/metascan.h"
#include "scan/pickle.h"
#include "scan/safetensors.h"
#include "scan/wstats.h"
#include "scan/zip.h"

#define ZIP_DEPTH_MAX 2

static const char *const fmt_names[SCAN_FMT_COUNT] = {
    "unknown", "empty", "gguf", "safetensors", "pickle", "zip", "numpy", "7z", "json", "text",
    "code"};

const char *scan_format_name(enum scan_format f)
{
	return (unsigned)f < SCAN_FMT_COUNT ? fmt_names[f] : "?";
}

static bool st_sniff(const uint8_t *d, size_t len)
{
	uint64_t n = 0;
	size_t i;

	if (len < 10)
		return false;
	for (int k = 7; k >= 0; k--)
		n = n << 8 | d[k];
	if (n < 2 || n > len - 8)
		return false;
	for (i = 8; i < len && i < 8 + n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' ||
					     d[i] == '\r');
	     i++)
		;
	return i < len && d[i] == '{';
}

static bool is_text(const uint8_t *d, size_t len)
{
	if (!gguf_utf8_valid(d, len))
		return false;
	for (size_t i = 0; i < len; i++)
		if (d[i] < 0x20 && d[i] != '\n' && d[i] != '\r' && d[i] != '\t')
			return false;
	return true;
}

enum scan_format scan_detect(const uint8_t *d, size_t len)
{
	size_t i;

	if (len == 0)
		return SCAN_FMT_EMPTY;
	if (len >= 4 && memcmp(d, "GGUF", 4) == 0)
		return SCAN_FMT_GGUF;
	if (zip_sniff(d, len))
		return SCAN_FMT_ZIP;
	if (len >= 6 && memcmp(d, "\x93NUMPY", 6) == 0)
		return SCAN_FMT_NUMPY;
	if (len >= 6 && memcmp(d, "7z\xbc\xaf\x27\x1c", 6) == 0)
		return SCAN_FMT_7Z;
	if ((len >= 4 && memcmp(d, "\x7f" "ELF", 4) == 0) || (len >= 2 && memcmp(d, "MZ", 2) == 0) ||
	    (len >= 2 && memcmp(d, "#!", 2) == 0) ||
	    (len >= 4 && (memcmp(d, "\xcf\xfa\xed\xfe", 4) == 0 ||
			  memcmp(d, "\xca\xfe\xba\xbe", 4) == 0)))
		return SCAN_FMT_CODE;
	if (st_sniff(d, len))
		return SCAN_FMT_SAFETENSORS;
	if (pickle_sniff(d, len))
		return SCAN_FMT_PICKLE;
	for (i = 0; i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r'); i++)
		;
	if (i < len && (d[i] == '{' || d[i] == '[') && is_text(d, len))
		return SCAN_FMT_JSON;
	if (is_text(d, len))
		return SCAN_FMT_TEXT;
	return SCAN_FMT_UNKNOWN;
}

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && strcasecmp(s + a - b, suf) == 0;
}

static int scan_gguf(const uint8_t *d, size_t len, const char *file, struct scan_report *r,
		     struct wstats *keep)
{
	struct gguf_report gr = GGUF_REPORT_INIT;
	struct gguf_file *f = NULL;
	/* kept even when invalid: metadata and trailing bytes are still scanned for payloads */
	int rc = gguf_open_buffer_ex(d, len, GGUF_OPEN_KEEP_INVALID, &f, &gr);

	for (size_t i = 0; i < gr.n; i++) {
		char id[SCAN_REASON_MAX];
		enum scan_severity sev = SCAN_SEV_REJECT;

		if (gr.items[i].code == GGUF_E_IO || gr.items[i].code == GGUF_E_NOMEM)
			sev = SCAN_SEV_ERROR;
		snprintf(id, sizeof(id), "gguf.%s", gguf_err_id(gr.items[i].code));
		scan_report_add(r, id, sev, file, gr.items[i].offset, NULL, "%s", gr.items[i].msg);
	}
	if (gr.n_dropped)
		scan_report_add(r, "gguf.more", SCAN_SEV_REJECT, file, SCAN_OFFSET_NONE, NULL,
				"%zu more problems", gr.n_dropped);
	if (rc == 1 && gr.n == 0)
		scan_report_add(r, "gguf.invalid", SCAN_SEV_REJECT, file, SCAN_OFFSET_NONE, NULL,
				"the GGUF reader rejected the file");
	/* Static content scans: metadata and embedded payloads (metascan.c) on any handle, weight
	 * statistics (wstats.c) only on a valid file. */
	if (rc >= 0 && f != NULL) {
		struct wstats ws;
		int valid = rc == 0;

		rc = 0;
		if (metascan_gguf(f, NULL, r, file) < 0)
			rc = -1, errno = ENOMEM;
		memset(&ws, 0, sizeof(ws));
		if (rc == 0 && valid && wstats_scan_gguf(f, NULL, 0, &ws, r, file) < 0)
			rc = -1, errno = ENOMEM;
		if (keep != NULL && valid && rc == 0)
			*keep = ws;
		else
			wstats_free(&ws);
	}
	gguf_close(f);
	gguf_report_free(&gr);
	return rc < 0 && errno == ENOMEM ? -1 : 0;
}

static int scan_npy(const uint8_t *d, size_t len, uint64_t base, const char *file,
		    struct scan_report *r)
{
	size_t hl, start;

	if (len < 10)
		return 0;
	if (d[6] == 1) {
		hl = (size_t)d[8] | (size_t)d[9] << 8;
		start = 10;
	} else if (len >= 12 && (d[6] == 2 || d[6] == 3)) {
		hl = (size_t)d[8] | (size_t)d[9] << 8 | (size_t)d[10] << 16 | (size_t)d[11] << 24;
		start = 12;
	} else {
		scan_report_add(r, "gate.numpy", SCAN_SEV_WARN, file, base + 6, NULL,
				"unknown .npy version %u", d[6]);
		return 0;
	}
	if (hl > len - start) {
		scan_report_add(r, "gate.numpy", SCAN_SEV_WARN, file, base + 8, NULL,
				".npy header runs past the end of the data");
		return 0;
	}
	/* object arrays ('descr': '|O' or a structured dtype holding 'O') are pickles */
	if (memmem(d + start, hl, "O'", 2) || memmem(d + start, hl, "O\"", 2))
		return pickle_scan(d + start + hl, len - start - hl, base + start + hl, 0, file, r,
				   NULL);
	return 0;
}

static int scan_zip(const uint8_t *d, size_t len, const char *file, int depth,
		    struct scan_report *r);

/* A pickle-family payload (member or whole file): pickle, npy, nested zip. */
static int scan_payload(const uint8_t *d, size_t len, uint64_t base, const char *file, int depth,
			struct scan_report *r)
{
	enum scan_format f;

	if (len >= 2 && d[0] == 0x80 && d[1] <= 5)
		return pickle_scan(d, len, base, 0, file, r, NULL);
	f = scan_detect(d, len);
	if (f == SCAN_FMT_PICKLE)
		return pickle_scan(d, len, base, 0, file, r, NULL);
	if (f == SCAN_FMT_NUMPY)
		return scan_npy(d, len, base, file, r);
	if (f == SCAN_FMT_ZIP) {
		if (depth >= ZIP_DEPTH_MAX) {
			scan_report_add(r, "gate.zip", SCAN_SEV_REJECT, file, base, NULL,
					"zip nested too deep to scan");
			return 0;
		}
		return scan_zip(d, len, file, depth + 1, r);
	}
	return 0;
}

static int scan_zip(const uint8_t *d, size_t len, const char *file, int depth,
		    struct scan_report *r)
{
	struct zip_archive z;
	int rc = 0;

	if (zip_open_buffer(d, len, &z, r, file) != 0)
		return -1;
	for (size_t i = 0; i < z.n && rc == 0; i++) {
		const struct zip_member *m = &z.m[i];
		char mf[SCAN_FILE_MAX];
		const uint8_t *md;
		size_t ml;
		uint8_t *owned;
		bool cut;
		int k;

		snprintf(mf, sizeof(mf), "%s:%s", file ? file : "", m->name);
		if (m->flags & 1)
			scan_report_add(r, "zip.encrypted", SCAN_SEV_REJECT, file, m->lh_offset,
					m->name, "encrypted member cannot be scanned (scanned as is)");
		k = zip_member_data(&z, m, SCAN_MEMBER_MAX, &md, &ml, &owned, &cut, r, file);
		if (k < 0) {
			rc = -1;
			break;
		}
		if (k > 0)
			continue;
		if (cut)
			scan_report_add(r, "gate.member_cut", SCAN_SEV_WARN, file, m->lh_offset,
					m->name, "only the first %u MiB were scanned",
					SCAN_MEMBER_MAX >> 20);
		/* offsets of stored members are file offsets; inflated ones are member offsets */
		rc = scan_payload(md, ml, owned ? 0 : m->data_offset, mf, depth, r);
		free(owned);
	}
	zip_close(&z);
	return rc;
}

static void disguise(const char *file, enum scan_format f, struct scan_report *r)
{
	static const struct {
		const char *ext;
		enum scan_format fmt;
	} claims[] = {{".gguf", SCAN_FMT_GGUF},
		      {".safetensors", SCAN_FMT_SAFETENSORS},
		      {".json", SCAN_FMT_JSON}};

	if (file == NULL)
		return;
	for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++)
		if (ends_with(file, claims[i].ext) && f != claims[i].fmt)
			scan_report_add(r, "gate.disguised", SCAN_SEV_REJECT, file, 0, NULL,
					"named %s but the content is %s", claims[i].ext,
					scan_format_name(f));
}

static int scan_buffer_keep(const uint8_t *d, size_t len, const char *file, unsigned flags,
			    struct scan_report *r, enum scan_format *fmtp, struct wstats *keep)
{
	enum scan_format f = scan_detect(d, len);
	char err[160];
	json_t *j;
	int rc = 0;

	if (fmtp)
		*fmtp = f;
	if (scan_report_file(r, file ? file : "", scan_format_name(f), len))
		return -1;
	disguise(file, f, r);
	switch (f) {
	case SCAN_FMT_GGUF:
		return scan_gguf(d, len, file, r, keep);
	case SCAN_FMT_SAFETENSORS: {
		struct wstats ws;

		rc = st_check(d, len, len, file, r, NULL);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
		memset(&ws, 0, sizeof(ws));
		rc = wstats_scan_safetensors(d, len, NULL, 0, &ws, r, file);
		if (keep != NULL && rc == 0)
			*keep = ws;
		else
			wstats_free(&ws);
		return rc < 0 ? -1 : 0;
	}
	case SCAN_FMT_PICKLE:
		scan_report_add(r, "gate.pickle", SCAN_SEV_REJECT, file, 0, NULL,
				"pickle (loading it runs code): only GGUF and safetensors are accepted");
		return pickle_scan(d, len, 0, 0, file, r, NULL);
	case SCAN_FMT_ZIP:
		scan_report_add(r, "gate.zip", SCAN_SEV_REJECT, file, 0, NULL,
				"zip archive (PyTorch, .npz, .keras, ...): only GGUF and safetensors "
				"are accepted");
		return scan_zip(d, len, file, 0, r);
	case SCAN_FMT_NUMPY:
		scan_report_add(r, "gate.numpy", SCAN_SEV_REJECT, file, 0, NULL,
				"numpy .npy (object arrays are pickles): not a model format");
		return scan_npy(d, len, 0, file, r);
	case SCAN_FMT_7Z:
		scan_report_add(r, "gate.7z", SCAN_SEV_REJECT, file, 0, NULL,
				"7z archive: cannot be scanned and is not a model format");
		return 0;
	case SCAN_FMT_CODE:
		scan_report_add(r, "gate.code", SCAN_SEV_REJECT, file, 0, NULL,
				"executable or script (ELF, PE, Mach-O, #!)");
		return 0;
	case SCAN_FMT_JSON:
		if (!(flags & SCAN_GATE_AUX))
			break;
		j = json_parse_strict((const char *)d, len, 64u << 20, err, sizeof(err));
		if (j == NULL)
			scan_report_add(r, "folder.bad_json", SCAN_SEV_REJECT, file, SCAN_OFFSET_NONE,
					NULL, "not strict JSON: %s", err);
		json_decref(j);
		return 0;
	case SCAN_FMT_TEXT:
	case SCAN_FMT_EMPTY:
		if (flags & SCAN_GATE_AUX)
			return 0;
		break;
	case SCAN_FMT_UNKNOWN:
	case SCAN_FMT_COUNT:
		/* a tokenizer model (sentencepiece protobuf) beside the weights */
		if ((flags & SCAN_GATE_AUX) && file &&
		    (ends_with(file, "/tokenizer.model") || ends_with(file, "/spiece.model") ||
		     strcmp(file, "tokenizer.model") == 0))
			return 0;
		break;
	}
	if (f == SCAN_FMT_EMPTY)
		scan_report_add(r, "gate.empty", SCAN_SEV_REJECT, file, 0, NULL, "empty file");
	else
		scan_report_add(r, "gate.unknown_format", SCAN_SEV_REJECT, file, 0, NULL,
				"%s: not GGUF or safetensors", scan_format_name(f));
	(void)rc;
	return 0;
}

int scan_buffer(const uint8_t *d, size_t len, const char *file, unsigned flags,
		struct scan_report *r, enum scan_format *fmtp)
{
	return scan_buffer_keep(d, len, file, flags, r, fmtp, NULL);
}

int scan_file_stats(const char *path, unsigned flags, struct scan_report *r,
		    enum scan_format *fmt, struct wstats *keep)
{
	if (keep != NULL)
		memset(keep, 0, sizeof(*keep));
	struct stat st;
	void *map = NULL;
	int fd, rc;
	bool progress;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) != 0) {
		scan_report_add(r, "gate.io", SCAN_SEV_ERROR, path, SCAN_OFFSET_NONE, NULL, "open: %s",
				strerror(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		scan_report_add(r, "gate.io", SCAN_SEV_ERROR, path, SCAN_OFFSET_NONE, NULL,
				"not a regular file");
		return 0;
	}
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			scan_report_add(r, "gate.io", SCAN_SEV_ERROR, path, SCAN_OFFSET_NONE, NULL,
					"mmap: %s", strerror(errno));
			close(fd);
			return 0;
		}
	}
	close(fd);
	progress = r->progress_min && (uint64_t)st.st_size > r->progress_min;
	if (progress)
		fprintf(stderr, "scan: %s (%" PRIu64 " MiB)...\n", path,
			(uint64_t)st.st_size >> 20);
	rc = scan_buffer_keep(map ? map : "", (size_t)st.st_size, path, flags, r, fmt, keep);
	if (progress)
		fprintf(stderr, "scan: %s done\n", path);
	if (map)
		munmap(map, (size_t)st.st_size);
	return rc;
}

int scan_file(const char *path, unsigned flags, struct scan_report *r, enum scan_format *fmt)
{
	return scan_file_stats(path, flags, r, fmt, NULL);
}
