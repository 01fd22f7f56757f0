/*
 * pickle.h — an opcode-level scanner for Python pickles (protocols 0-5): lists the imports a
 * pickle would perform when loaded and grades each one, like picklescan, without running it.
 *
 * Owns: the opcode table; a stack and memo simulation good enough to resolve STACK_GLOBAL
 * operands (through MEMOIZE/PUT/BINPUT/LONG_BINPUT and GET/BINGET/LONG_BINGET); the grading
 * tables (dangerous deny-list, innocuous allow-list, everything else suspicious); FRAME and PROTO
 * checks; limits against expansion attacks; scanning every pickle stacked in a buffer; nested
 * pickles inside bytes operands.
 * Never: executes, imports or unpickles anything; reads outside the buffer; allocates by a length
 * read from the pickle (strings stay pointers into the buffer); recurses without a depth bound.
 *
 * Findings (reason ids, see docs/scanning.md): pickle.global_dangerous (critical),
 * pickle.global_suspicious (warn), pickle.global_innocuous (info), pickle.ext_registry (warn),
 * pickle.frame_violation (reject), pickle.proto_misplaced (warn), pickle.parse_error (warn),
 * pickle.limits (reject), pickle.expansion (warn), pickle.nested (warn).
 * The subject of a global finding is "module.name" exactly as picklescan prints it.
 */
#ifndef SECAI_SCAN_PICKLE_H
#define SECAI_SCAN_PICKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scan/scan.h"

enum pickle_grade { PICKLE_INNOCUOUS = 0, PICKLE_SUSPICIOUS, PICKLE_DANGEROUS };

struct pickle_stats {
	size_t n_pickles;    /* complete pickles (ending in STOP) */
	size_t n_globals;    /* GLOBAL/INST/STACK_GLOBAL/EXT* seen */
	size_t n_dangerous;  /* graded dangerous */
	size_t n_suspicious; /* graded suspicious */
	size_t n_calls;	     /* REDUCE/BUILD/OBJ/NEWOBJ/NEWOBJ_EX/INST */
	size_t n_ops;
	bool parse_error;    /* scanning stopped at a malformed opcode */
	uint64_t end;	     /* offset where scanning stopped */
	uint64_t magic;	     /* legacy PyTorch: first pickle was the magic int (1) or not (0) */
};

/* True when data looks like a pickle: PROTO 2..5 first, or a protocol-0/1 opcode that a pickle
 * commonly starts with followed by a plausible second opcode. */
bool pickle_sniff(const uint8_t *data, size_t len);

/*
 * Scans every pickle stacked in data[0..len) (base = offset of data in file, for findings),
 * adding findings about file to r. max_pickles bounds how many stacked pickles are read (0: no
 * bound). stats may be NULL. Returns 0, or -1 out of memory (findings so far kept).
 */
int pickle_scan(const uint8_t *data, size_t len, uint64_t base, size_t max_pickles,
		const char *file, struct scan_report *r, struct pickle_stats *stats);

/* Grades an import module.name (module and name NUL-terminated). */
enum pickle_grade pickle_grade(const char *module, const char *name);
const char *pickle_grade_name(enum pickle_grade g); /* "innocuous", "suspicious", "dangerous" */

#endif
