/*
 * pickle.c — the opcode-level pickle scanner (pickle.h).
 *
 * Owns: decoding every opcode of protocols 0-5 with its argument, simulating the stack and the
 * memo (values are pointers into the buffer, never copies), reporting each import with its grade,
 * the grading tables, FRAME/PROTO checks, limits, stacked and nested pickles.
 * Never: trusts a length before checking it against the bytes left, allocates by a length from the
 * pickle (stack and memo grow by one entry per opcode, both capped), recurses deeper than
 * NEST_MAX, or stops at the first import (every import in every stacked pickle is listed).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "scan/pickle.h"

#define STACK_MAX (1u << 20)
#define MEMO_MAX (1u << 22)
#define OPS_MAX (1ull << 30)
#define NEST_MAX 3
#define NAME_MAX_LEN 200 /* module or name kept for the report */

enum vkind { V_OTHER = 0, V_STR, V_INT, V_MARK, V_UNKNOWN };

struct pval {
	uint8_t kind;
	const uint8_t *p; /* V_STR: bytes in the buffer */
	uint64_t len;	  /* V_STR: length; V_INT: value (two's complement) */
};

struct memo_ent {
	uint64_t key;
	struct pval v;
	bool used;
};

struct pstate {
	const uint8_t *d;
	size_t len;
	uint64_t base;
	const char *file;
	struct scan_report *r;
	struct pickle_stats *st;
	int depth;
	struct pval *stack;
	size_t sp, scap;
	struct memo_ent *memo;
	size_t mcount, mcap;
	size_t gets, puts, dups;
	bool oom;
};

/* ---- grading ---------------------------------------------------------------------------- */

/* Modules every member of which is dangerous (a parent entry covers its sub-modules). */
static const char *const danger_modules[] = {
    "os", "nt", "posix", "sys", "subprocess", "_posixsubprocess", "pty", "runpy", "socket",
    "ssl", "shutil", "asyncio", "aiohttp", "httplib", "http.client", "requests", "urllib",
    "urllib2", "urllib3", "ftplib", "smtplib", "telnetlib", "imaplib", "poplib", "xmlrpc",
    "socketserver", "webbrowser", "ctypes", "_ctypes", "pickle", "_pickle", "cPickle", "dill",
    "cloudpickle", "joblib", "marshal", "bdb", "pdb", "cProfile", "profile", "trace", "timeit",
    "pydoc", "pip", "venv", "ensurepip", "distutils", "setuptools", "commands", "popen2",
    "multiprocessing", "_thread", "thread", "threading", "signal", "importlib", "imp",
    "zipimport", "pkgutil", "code", "codeop", "compileall", "py_compile", "doctest", "idlelib",
    "lib2to3", "test", "uuid", "_osx_support", "_aix_support", "_pyrepl", "tempfile", "glob",
    "fileinput", "linecache", "mmap", "shelve", "sqlite3", "tarfile", "zipfile", "pexpect",
    "pipes", "select", "selectors", "atexit", "gc", "inspect", "site", "platform",
    "_interpreters", "_xxsubinterpreters", "numpy.f2py", "numpy.distutils",
    "numpy.testing._private.utils", "torch.hub", "torch._dynamo", "torch._inductor", "torch.jit",
    "torch.fx.experimental.symbolic_shapes", "torch.utils._config_module",
    "torch.utils.bottleneck", "torch.utils.collect_env", "torch.utils.data.datapipes.utils.decoder",
    "fickling", "picklescan", "modelscan", NULL};

/* (module, first name component) pairs that are dangerous. */
static const char *const danger_names[][2] = {
    {"builtins", "eval"},	    {"builtins", "exec"},	  {"builtins", "execfile"},
    {"builtins", "compile"},	    {"builtins", "getattr"},	  {"builtins", "setattr"},
    {"builtins", "delattr"},	    {"builtins", "apply"},	  {"builtins", "open"},
    {"builtins", "breakpoint"},	    {"builtins", "__import__"},	  {"builtins", "input"},
    {"builtins", "globals"},	    {"builtins", "locals"},	  {"builtins", "vars"},
    {"functools", "partial"},	    {"functools", "reduce"},	  {"logging", "FileHandler"},
    {"_io", "FileIO"},		    {"io", "FileIO"},		  {"io", "open"},
    {"_io", "open"},		    {"operator", "attrgetter"},	  {"operator", "itemgetter"},
    {"operator", "methodcaller"},   {"_operator", "attrgetter"},  {"_operator", "itemgetter"},
    {"_operator", "methodcaller"},  {"types", "CodeType"},	  {"types", "FunctionType"},
    {"types", "MethodType"},	    {"torch.serialization", "load"}, {"torch", "load"},
    {"torch", "compile"},	    {"torch.storage", "_load_from_bytes"},
    {"torch.jit.unsupported_tensor_ops", "execWrapper"},	  {"numpy", "load"},
    {"numpy.lib.npyio", "load"},    {"copyreg", "_reconstructor"}, {NULL, NULL}};

/* Exact (module, name) pairs ML frameworks legitimately emit. */
static const char *const safe_names[][2] = {
    {"collections", "OrderedDict"},
    {"torch._utils", "_rebuild_tensor_v2"},
    {"torch._utils", "_rebuild_parameter"},
    {"torch", "Size"},
    {"torch", "LongStorage"},
    {"torch", "FloatStorage"},
    {"torch", "HalfStorage"},
    {"torch", "QUInt2x4Storage"},
    {"torch", "QUInt4x2Storage"},
    {"torch", "QInt32Storage"},
    {"torch", "QInt8Storage"},
    {"torch", "QUInt8Storage"},
    {"torch", "ComplexFloatStorage"},
    {"torch", "ComplexDoubleStorage"},
    {"torch", "DoubleStorage"},
    {"torch", "BFloat16Storage"},
    {"torch", "BoolStorage"},
    {"torch", "CharStorage"},
    {"torch", "ShortStorage"},
    {"torch", "IntStorage"},
    {"torch", "ByteStorage"},
    {"numpy", "dtype"},
    {"numpy", "ndarray"},
    {"numpy.core.multiarray", "_reconstruct"},
    {"numpy._core.multiarray", "_reconstruct"},
    {"numpy.core.multiarray", "scalar"},
    {"numpy._core.multiarray", "scalar"},
    {"_codecs", "encode"},
    {NULL, NULL}};

static bool in_star(const char *mod, size_t n)
{
	for (size_t i = 0; danger_modules[i]; i++)
		if (strlen(danger_modules[i]) == n && memcmp(danger_modules[i], mod, n) == 0)
			return true;
	return false;
}

static bool in_named(const char *mod, size_t mn, const char *name, size_t nn)
{
	for (size_t i = 0; danger_names[i][0]; i++)
		if (strlen(danger_names[i][0]) == mn && memcmp(danger_names[i][0], mod, mn) == 0 &&
		    strlen(danger_names[i][1]) == nn && memcmp(danger_names[i][1], name, nn) == 0)
			return true;
	return false;
}

enum pickle_grade pickle_grade(const char *module, const char *name)
{
	char full[2 * NAME_MAX_LEN + 16];
	const char *mod = module;
	size_t n, comps[64], nc = 0;

	if (strstr(module, "unknown") || strstr(name, "unknown"))
		return PICKLE_DANGEROUS;
	/* Protocol-2 names map to Python 3's (the unpickler does the same). */
	if (strcmp(mod, "__builtin__") == 0)
		mod = "builtins";
	else if (strcmp(mod, "copy_reg") == 0)
		mod = "copyreg";
	for (size_t i = 0; safe_names[i][0]; i++)
		if (strcmp(safe_names[i][0], mod) == 0 && strcmp(safe_names[i][1], name) == 0)
			return PICKLE_INNOCUOUS;
	n = (size_t)snprintf(full, sizeof(full), "%s.%s", mod, name);
	if (n >= sizeof(full))
		return PICKLE_DANGEROUS;
	/* Component ends in full: every dotted prefix is a module path the import may touch. */
	for (size_t i = 0; i <= n && nc < 64; i++)
		if (full[i] == '.' || full[i] == '\0')
			comps[nc++] = i;
	for (size_t k = 0; k < nc; k++) {
		size_t start = k ? comps[k - 1] + 1 : 0;

		/* any prefix a dangerous module; any single component a dangerous module */
		if (in_star(full, comps[k]) || in_star(full + start, comps[k] - start))
			return PICKLE_DANGEROUS;
		if (k + 1 < nc &&
		    in_named(full, comps[k], full + comps[k] + 1, comps[k + 1] - comps[k] - 1))
			return PICKLE_DANGEROUS;
	}
	/* builtins reached through another name: "builtins" anywhere in the path */
	for (size_t k = 0; k + 1 < nc; k++) {
		size_t start = k ? comps[k - 1] + 1 : 0;

		if ((comps[k] - start == 8 && memcmp(full + start, "builtins", 8) == 0) ||
		    (comps[k] - start == 11 && memcmp(full + start, "__builtin__", 11) == 0))
			if (in_named("builtins", 8, full + comps[k] + 1,
				     comps[k + 1] - comps[k] - 1))
				return PICKLE_DANGEROUS;
	}
	return PICKLE_SUSPICIOUS;
}

const char *pickle_grade_name(enum pickle_grade g)
{
	switch (g) {
	case PICKLE_INNOCUOUS:
		return "innocuous";
	case PICKLE_SUSPICIOUS:
		return "suspicious";
	case PICKLE_DANGEROUS:
		return "dangerous";
	}
	return "?";
}

/* ---- simulation ------------------------------------------------------------------------- */

static void add(struct pstate *s, const char *reason, enum scan_severity sev, uint64_t off,
		const char *subject, const char *msg)
{
	if (s->r && scan_report_add(s->r, reason, sev, s->file, s->base + off, subject, "%s", msg))
		s->oom = true;
}

/* Copies a value's text into out (for reports and grading): strings as bytes (NUL -> '?'),
 * ints in decimal, anything else "unknown". */
static void val_text(const struct pval *v, char *out, size_t cap)
{
	if (v->kind == V_STR) {
		size_t n = v->len < cap - 1 ? (size_t)v->len : cap - 1;

		memcpy(out, v->p, n);
		out[n] = '\0';
		for (size_t i = 0; i < n; i++)
			if (out[i] == '\0')
				out[i] = '?';
	} else if (v->kind == V_INT) {
		snprintf(out, cap, "%" PRId64, (int64_t)v->len);
	} else {
		snprintf(out, cap, "unknown");
	}
}

static void report_global(struct pstate *s, uint64_t off, const struct pval *mod,
			  const struct pval *name, const char *how)
{
	char m[NAME_MAX_LEN], n[NAME_MAX_LEN], subj[2 * NAME_MAX_LEN + 2], msg[2 * NAME_MAX_LEN + 80];
	enum pickle_grade g;

	val_text(mod, m, sizeof(m));
	val_text(name, n, sizeof(n));
	g = pickle_grade(m, n);
	snprintf(subj, sizeof(subj), "%s.%s", m, n);
	s->st->n_globals++;
	if (g == PICKLE_DANGEROUS) {
		s->st->n_dangerous++;
		snprintf(msg, sizeof(msg), "%s imports %s: dangerous (runs code or touches the system)",
			 how, subj);
		add(s, "pickle.global_dangerous", SCAN_SEV_CRITICAL, off, subj, msg);
	} else if (g == PICKLE_SUSPICIOUS) {
		s->st->n_suspicious++;
		snprintf(msg, sizeof(msg), "%s imports %s: suspicious (not on the allow-list)", how,
			 subj);
		add(s, "pickle.global_suspicious", SCAN_SEV_WARN, off, subj, msg);
	} else {
		snprintf(msg, sizeof(msg), "%s imports %s: innocuous (allow-listed)", how, subj);
		add(s, "pickle.global_innocuous", SCAN_SEV_INFO, off, subj, msg);
	}
}

static int push(struct pstate *s, struct pval v)
{
	if (s->sp == s->scap) {
		size_t ncap = s->scap ? s->scap * 2 : 64;
		struct pval *p;

		if (ncap > STACK_MAX)
			return 1;
		p = realloc(s->stack, ncap * sizeof(*p));
		if (p == NULL) {
			s->oom = true;
			return -1;
		}
		s->stack = p;
		s->scap = ncap;
	}
	s->stack[s->sp++] = v;
	return 0;
}

static int pop(struct pstate *s, size_t n)
{
	if (s->sp < n)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (s->stack[s->sp - 1 - i].kind == V_MARK)
			return -1;
	s->sp -= n;
	return 0;
}

static int pop_mark(struct pstate *s)
{
	while (s->sp > 0)
		if (s->stack[--s->sp].kind == V_MARK)
			return 0;
	return -1;
}

static size_t mslot(const struct pstate *s, uint64_t key)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ull;
	size_t i = (size_t)(h >> 20) & (s->mcap - 1);

	while (s->memo[i].used && s->memo[i].key != key)
		i = (i + 1) & (s->mcap - 1);
	return i;
}

static int memo_put(struct pstate *s, uint64_t key, struct pval v)
{
	size_t i;

	if (s->mcount + 1 > s->mcap / 2) {
		size_t ncap = s->mcap ? s->mcap * 2 : 64, oc = s->mcap;
		struct memo_ent *old = s->memo;

		if (s->mcount >= MEMO_MAX)
			return 1;
		s->memo = calloc(ncap, sizeof(*s->memo));
		if (s->memo == NULL) {
			s->memo = old;
			s->oom = true;
			return -1;
		}
		s->mcap = ncap;
		for (size_t k = 0; k < oc; k++)
			if (old[k].used)
				s->memo[mslot(s, old[k].key)] = old[k];
		free(old);
	}
	i = mslot(s, key);
	if (!s->memo[i].used)
		s->mcount++;
	s->memo[i].used = true;
	s->memo[i].key = key;
	s->memo[i].v = v;
	s->puts++;
	return 0;
}

static struct pval memo_get(struct pstate *s, uint64_t key)
{
	struct pval unk = {V_UNKNOWN, NULL, 0};
	size_t i;

	s->gets++;
	if (s->mcap == 0)
		return unk;
	i = mslot(s, key);
	return s->memo[i].used ? s->memo[i].v : unk;
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Parses a decimal line argument (GET/PUT/INT). -1 when not a number. */
static int parse_dec(const uint8_t *p, size_t n, uint64_t *out, bool *neg)
{
	uint64_t v = 0;
	size_t i = 0;

	*neg = false;
	if (n && (p[0] == '-' || p[0] == '+'))
		*neg = p[0] == '-', i = 1;
	if (i == n)
		return -1;
	for (; i < n; i++) {
		if (p[i] == 'L' && i == n - 1)
			break;
		if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return 0;
}

enum { R_OK = 0, R_STOP, R_ERR, R_LIMIT, R_FRAME };

/* Scans one pickle from *pos. Returns R_STOP at STOP, or R_ERR/R_LIMIT with *pos at the bad op. */
static int scan_one(struct pstate *s, size_t *pos, const char **why)
{
	const uint8_t *d = s->d;
	size_t len = s->len, start = *pos;
	uint64_t frame_end = 0;
	bool in_frame = false;

	s->sp = 0;
	free(s->memo);
	s->memo = NULL;
	s->mcount = s->mcap = 0;
	s->gets = s->puts = s->dups = 0;
	*why = "truncated";
	while (*pos < len) {
		size_t p = *pos, a = p + 1, left = len - a, arglen = 0, end;
		uint8_t op = d[p];
		const uint8_t *nl = NULL, *nl2 = NULL;
		struct pval v = {V_OTHER, NULL, 0};
		uint64_t n64;
		int rc = 0;

		if (++s->st->n_ops > OPS_MAX) {
			*why = "more opcodes than the scanner's limit";
			return R_LIMIT;
		}
		if (in_frame && p >= frame_end)
			in_frame = false;
		/* argument length */
		switch (op) {
		case 'F': case 'I': case 'L': case 'P': case 'S': case 'V': case 'g': case 'p':
			nl = memchr(d + a, '\n', left);
			if (nl == NULL)
				return R_ERR;
			arglen = (size_t)(nl - (d + a)) + 1;
			break;
		case 'c': case 'i':
			nl = memchr(d + a, '\n', left);
			if (nl == NULL)
				return R_ERR;
			nl2 = memchr(nl + 1, '\n', len - (size_t)(nl + 1 - d));
			if (nl2 == NULL)
				return R_ERR;
			arglen = (size_t)(nl2 - (d + a)) + 1;
			break;
		case 'K': case 'h': case 'q': case 0x80: case 0x82:
			arglen = 1;
			break;
		case 'M': case 0x83:
			arglen = 2;
			break;
		case 'J': case 'j': case 'r': case 0x84:
			arglen = 4;
			break;
		case 'G': case 0x95:
			arglen = 8;
			break;
		case 'U': case 'C': case 0x8c: case 0x8a:
			if (left < 1)
				return R_ERR;
			arglen = 1 + (size_t)d[a];
			break;
		case 'T': case 'X': case 'B': case 0x8b:
			if (left < 4)
				return R_ERR;
			n64 = le(d + a, 4);
			if ((op == 'T' || op == 0x8b) && (n64 & 0x80000000u)) {
				*why = "negative length";
				return R_ERR;
			}
			if (n64 > left - 4)
				return R_ERR;
			arglen = 4 + (size_t)n64;
			break;
		case 0x8d: case 0x8e: case 0x96:
			if (left < 8)
				return R_ERR;
			n64 = le(d + a, 8);
			if (n64 > left - 8)
				return R_ERR;
			arglen = 8 + (size_t)n64;
			break;
		case '(': case '.': case '0': case '1': case '2': case 'N': case 'Q': case 'R':
		case 'a': case 'b': case 'd': case '}': case 'e': case 'l': case ']': case 'o':
		case 's': case 't': case ')': case 'u': case 0x81: case 0x85: case 0x86: case 0x87:
		case 0x88: case 0x89: case 0x8f: case 0x90: case 0x91: case 0x92: case 0x93:
		case 0x94: case 0x97: case 0x98:
			break;
		default:
			*why = "unknown opcode";
			return R_ERR;
		}
		if (arglen > left)
			return R_ERR;
		end = a + arglen;
		if (in_frame && end > frame_end) {
			add(s, "pickle.frame_violation", SCAN_SEV_REJECT, p, NULL,
			    "an opcode straddles the end of its FRAME (a framing-unaware reader and "
			    "pickle.load would disagree)");
			in_frame = false;
		}
		*why = "stack underflow";
		switch (op) {
		case '(':
			v.kind = V_MARK;
			rc = push(s, v);
			break;
		case '.':
			*pos = end;
			if (s->gets > 10000 && s->gets > 50 * (s->puts + 1))
				add(s, "pickle.expansion", SCAN_SEV_WARN, start, NULL,
				    "many more memo reads than writes (expansion attack)");
			if (s->dups > 10000)
				add(s, "pickle.expansion", SCAN_SEV_WARN, start, NULL,
				    "over 10000 DUP opcodes (expansion attack)");
			return R_STOP;
		case '0':
			if (s->sp && s->stack[s->sp - 1].kind == V_MARK)
				s->sp--;
			else if (pop(s, 1))
				return R_ERR;
			break;
		case '1': case 'e': case 'u': case 0x90:
			if (pop_mark(s))
				return R_ERR;
			break;
		case '2':
			if (s->sp == 0)
				return R_ERR;
			s->dups++;
			rc = push(s, s->stack[s->sp - 1]);
			break;
		case 'I': case 'L': {
			bool neg;

			if (parse_dec(d + a, arglen - 1, &n64, &neg) == 0) {
				v.kind = V_INT;
				v.len = neg ? (uint64_t)0 - n64 : n64;
			}
			rc = push(s, v);
			break;
		}
		case 'J':
			v.kind = V_INT;
			v.len = (uint64_t)(int64_t)(int32_t)(uint32_t)le(d + a, 4);
			rc = push(s, v);
			break;
		case 'K': case 'M':
			v.kind = V_INT;
			v.len = le(d + a, (int)arglen);
			rc = push(s, v);
			break;
		case 'F': case 'G': case 'N': case 'P': case 0x88: case 0x89: case 0x8a: case 0x8b:
		case '}': case ']': case ')': case 0x8f: case 0x97:
			rc = push(s, v);
			break;
		case 'Q':
			if (pop(s, 1))
				return R_ERR;
			rc = push(s, v);
			break;
		case 'R': case 0x81:
			s->st->n_calls++;
			if (pop(s, 2))
				return R_ERR;
			rc = push(s, v);
			break;
		case 0x92:
			s->st->n_calls++;
			if (pop(s, 3))
				return R_ERR;
			rc = push(s, v);
			break;
		case 'b':
			s->st->n_calls++;
			if (pop(s, 1))
				return R_ERR;
			break;
		case 'a': case 's':
			if (pop(s, op == 'a' ? 1 : 2))
				return R_ERR;
			break;
		case 'S': {
			/* 'text' or "text": the quotes are not part of the string */
			size_t n = arglen - 1;

			v.kind = V_STR;
			v.p = d + a;
			v.len = n;
			if (n >= 2 && (d[a] == '\'' || d[a] == '"') && d[a + n - 1] == d[a]) {
				v.p = d + a + 1;
				v.len = n - 2;
			}
			rc = push(s, v);
			break;
		}
		case 'V':
			v.kind = V_STR;
			v.p = d + a;
			v.len = arglen - 1;
			rc = push(s, v);
			break;
		case 'U': case 0x8c:
			v.kind = V_STR;
			v.p = d + a + 1;
			v.len = arglen - 1;
			rc = push(s, v);
			break;
		case 'T': case 'X':
			v.kind = V_STR;
			v.p = d + a + 4;
			v.len = arglen - 4;
			rc = push(s, v);
			break;
		case 0x8d:
			v.kind = V_STR;
			v.p = d + a + 8;
			v.len = arglen - 8;
			rc = push(s, v);
			break;
		case 'B': case 'C': case 0x8e: case 0x96: {
			size_t hl = op == 'C' ? 1 : op == 'B' ? 4 : 8;
			const uint8_t *bp = d + a + hl;
			size_t bl = arglen - hl;

			if (bl >= 3 && bp[0] == 0x80 && bp[1] <= 5 && s->depth < NEST_MAX) {
				struct pstate sub;
				struct pickle_stats sst;
				size_t before = s->st->n_globals;

				memset(&sub, 0, sizeof(sub));
				memset(&sst, 0, sizeof(sst));
				sub.d = bp;
				sub.len = bl;
				sub.base = s->base + (uint64_t)(bp - d);
				sub.file = s->file;
				sub.r = s->r;
				sub.st = &sst;
				sub.depth = s->depth + 1;
				add(s, "pickle.nested", SCAN_SEV_WARN, p, NULL,
				    "a bytes operand holds another pickle (scanned too)");
				/* nested findings carry their own offsets */
				{
					size_t q = 0;
					const char *w;

					while (q < sub.len && scan_one(&sub, &q, &w) == R_STOP)
						sst.n_pickles++;
				}
				free(sub.stack);
				free(sub.memo);
				s->oom |= sub.oom;
				s->st->n_globals = before + sst.n_globals;
				s->st->n_dangerous += sst.n_dangerous;
				s->st->n_suspicious += sst.n_suspicious;
			}
			rc = push(s, v);
			break;
		}
		case 'c': case 'i': {
			struct pval m = {V_STR, d + a, (uint64_t)(nl - (d + a))};
			struct pval nm = {V_STR, nl + 1, (uint64_t)(nl2 - (nl + 1))};

			report_global(s, p, &m, &nm, op == 'c' ? "GLOBAL" : "INST");
			if (op == 'i') {
				s->st->n_calls++;
				if (pop_mark(s))
					return R_ERR;
			}
			rc = push(s, v);
			break;
		}
		case 0x93: {
			struct pval m, nm;

			if (s->sp < 2 || s->stack[s->sp - 1].kind == V_MARK ||
			    s->stack[s->sp - 2].kind == V_MARK)
				return R_ERR;
			nm = s->stack[s->sp - 1];
			m = s->stack[s->sp - 2];
			s->sp -= 2;
			report_global(s, p, &m, &nm, "STACK_GLOBAL");
			rc = push(s, v);
			break;
		}
		case 0x82: case 0x83: case 0x84: {
			char subj[32], msg[128];

			snprintf(subj, sizeof(subj), "ext:%" PRIu64, le(d + a, (int)arglen));
			snprintf(msg, sizeof(msg),
				 "EXT%d imports extension code %s from the copyreg registry "
				 "(unresolvable statically)",
				 op == 0x82 ? 1 : op == 0x83 ? 2 : 4, subj + 4);
			s->st->n_globals++;
			s->st->n_suspicious++;
			add(s, "pickle.ext_registry", SCAN_SEV_WARN, p, subj, msg);
			rc = push(s, v);
			break;
		}
		case 'd': case 'l': case 't': case 0x91:
			if (pop_mark(s))
				return R_ERR;
			rc = push(s, v);
			break;
		case 'o':
			s->st->n_calls++;
			if (pop_mark(s))
				return R_ERR;
			rc = push(s, v);
			break;
		case 'g': case 'h': case 'j': {
			bool neg = false;

			if (op == 'g') {
				if (parse_dec(d + a, arglen - 1, &n64, &neg) || neg) {
					*why = "bad GET index";
					return R_ERR;
				}
			} else {
				n64 = le(d + a, (int)arglen);
			}
			rc = push(s, memo_get(s, n64));
			break;
		}
		case 'p': case 'q': case 'r': case 0x94: {
			bool neg = false;

			if (s->sp == 0 || s->stack[s->sp - 1].kind == V_MARK)
				return R_ERR;
			if (op == 'p') {
				if (parse_dec(d + a, arglen - 1, &n64, &neg) || neg) {
					*why = "bad PUT index";
					return R_ERR;
				}
			} else if (op == 0x94) {
				n64 = s->mcount;
			} else {
				n64 = le(d + a, (int)arglen);
			}
			rc = memo_put(s, n64, s->stack[s->sp - 1]);
			break;
		}
		case 0x80:
			if (d[a] > 5) {
				*why = "unsupported protocol";
				return R_ERR;
			}
			if (p != start)
				add(s, "pickle.proto_misplaced", SCAN_SEV_WARN, p, NULL,
				    "PROTO is not the first opcode of its pickle");
			break;
		case 0x85: case 0x86: case 0x87:
			if (pop(s, (size_t)(op - 0x84)))
				return R_ERR;
			rc = push(s, v);
			break;
		case 0x95:
			n64 = le(d + a, 8);
			if (in_frame && p < frame_end)
				add(s, "pickle.frame_violation", SCAN_SEV_REJECT, p, NULL,
				    "a FRAME starts before the previous frame ends");
			if (n64 > len - end)
				add(s, "pickle.frame_violation", SCAN_SEV_REJECT, p, NULL,
				    "a FRAME is longer than the data left");
			in_frame = true;
			frame_end = n64 > len - end ? len : end + n64;
			break;
		case 0x98:
			break;
		}
		if (rc < 0)
			return R_ERR;
		if (rc > 0) {
			*why = "stack or memo beyond the scanner's limit";
			return R_LIMIT;
		}
		*pos = end;
	}
	return R_ERR;
}

static int scan_depth(const uint8_t *data, size_t len, uint64_t base, size_t max_pickles,
		      const char *file, struct scan_report *r, struct pickle_stats *st)
{
	struct pstate s;
	size_t pos = 0;
	static const uint8_t magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
					0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

	memset(&s, 0, sizeof(s));
	s.d = data;
	s.len = len;
	s.base = base;
	s.file = file;
	s.r = r;
	s.st = st;
	st->magic = len >= sizeof(magic) && memcmp(data, magic, sizeof(magic)) == 0;
	while (pos < len && (max_pickles == 0 || st->n_pickles < max_pickles)) {
		size_t at = pos;
		const char *why;
		int rc = scan_one(&s, &pos, &why);
		char msg[160];

		if (rc == R_STOP) {
			st->n_pickles++;
			continue;
		}
		st->parse_error = true;
		if (rc == R_LIMIT) {
			snprintf(msg, sizeof(msg), "scanning stopped: %s", why);
			add(&s, "pickle.limits", SCAN_SEV_REJECT, pos, NULL, msg);
		} else if (st->n_pickles > 0 && pos == at) {
			snprintf(msg, sizeof(msg), "%zu bytes after pickle %zu are not a pickle",
				 len - at, st->n_pickles);
			add(&s, "pickle.trailing_data", SCAN_SEV_INFO, at, NULL, msg);
		} else {
			snprintf(msg, sizeof(msg), "malformed pickle at opcode 0x%02x: %s",
				 pos < len ? data[pos] : 0, why);
			add(&s, "pickle.parse_error", SCAN_SEV_WARN, pos, NULL, msg);
		}
		break;
	}
	st->end = pos;
	free(s.stack);
	free(s.memo);
	return s.oom ? -1 : 0;
}

int pickle_scan(const uint8_t *data, size_t len, uint64_t base, size_t max_pickles,
		const char *file, struct scan_report *r, struct pickle_stats *stats)
{
	struct pickle_stats local;

	if (stats == NULL)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	return scan_depth(data, len, base, max_pickles, file, r, stats);
}

bool pickle_sniff(const uint8_t *data, size_t len)
{
	struct pickle_stats st;

	if (len >= 2 && data[0] == 0x80 && data[1] <= 5)
		return true;
	if (len < 2 || strchr("(c]}lNdiI)KJMUTXSV", data[0]) == NULL || data[0] == '\0')
		return false;
	memset(&st, 0, sizeof(st));
	if (scan_depth(data, len, 0, 1, NULL, NULL, &st) != 0)
		return false;
	/* a complete pickle, or a broken one that already imports something */
	return st.n_pickles == 1 || st.n_globals > 0;
}
