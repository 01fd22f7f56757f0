/*
 * formatgate.h — the format gate: what a file is, by its content (never its name), and the static
 * scan that format calls for.
 *
 * Owns: content sniffing (GGUF, safetensors, pickle, zip, numpy .npy, 7z, JSON, text, code); the
 * verdict per format (GGUF and safetensors go on to their strict checkers; pickle-family files —
 * raw pickles, PyTorch zips and legacy files, .npy/.npz, joblib — are rejected, with every import
 * their pickles would run listed by the pickle scanner; anything else is rejected); disguise
 * checks (a name that claims a model format the content is not).
 * Never: trusts an extension to pick a parser, loads or runs anything, or passes a file it could
 * not identify.
 *
 * Reason ids: gate.pickle, gate.zip, gate.numpy, gate.7z, gate.unknown_format, gate.empty,
 * gate.disguised, gate.code, gate.io, gate.member_cut, gguf.<id> (the strict reader's reasons).
 */
#ifndef SECAI_SCAN_FORMATGATE_H
#define SECAI_SCAN_FORMATGATE_H

#include <stddef.h>
#include <stdint.h>

#include "scan/scan.h"

enum scan_format {
	SCAN_FMT_UNKNOWN = 0,
	SCAN_FMT_EMPTY,
	SCAN_FMT_GGUF,
	SCAN_FMT_SAFETENSORS,
	SCAN_FMT_PICKLE,
	SCAN_FMT_ZIP,
	SCAN_FMT_NUMPY,
	SCAN_FMT_7Z,
	SCAN_FMT_JSON,
	SCAN_FMT_TEXT,
	SCAN_FMT_CODE, /* ELF, PE, Mach-O, shebang scripts */
	SCAN_FMT_COUNT
};

/* Files allowed beside the weights of a model folder (JSON configs, text, tokenizer models). */
#define SCAN_GATE_AUX 0x1u
#define SCAN_MEMBER_MAX (256u << 20) /* bytes of a zip member inflated for scanning */

enum scan_format scan_detect(const uint8_t *data, size_t len);
const char *scan_format_name(enum scan_format f);

/*
 * Gate + static scan of data[0..len) named file (the name only serves disguise checks and the
 * report). flags: SCAN_GATE_AUX accepts configs and text (a model folder's other files).
 * *fmt (may be NULL) gets the format. Returns 0, or -1 out of memory.
 */
int scan_buffer(const uint8_t *data, size_t len, const char *file, unsigned flags,
		struct scan_report *r, enum scan_format *fmt);
/* The same on a file (mapped read-only; not followed if a symlink). */
int scan_file(const char *path, unsigned flags, struct scan_report *r, enum scan_format *fmt);
/* scan_file, also handing back the weight-statistics pass (per-tensor SHA-256 included) of a
 * valid GGUF or safetensors file in *keep (zeroed first; free with wstats_free; left empty
 * for other formats or invalid files). For `scan --manifest`: one pass hashes and scores. */
struct wstats;
int scan_file_stats(const char *path, unsigned flags, struct scan_report *r,
		    enum scan_format *fmt, struct wstats *keep);

#endif
