/*
 * audit_log.c — listing the log's files and verifying chain, tree and checkpoints.
 *
 * Owns: the read side of the audit log. Files are mapped read-only and walked line by line;
 * each line is re-hashed (audit_entry.c), linked to the previous entry_hash, and appended to a
 * Merkle compact range so every checkpoint's root can be compared when its size is reached.
 * Never: writes, renames or truncates anything.
 */
#include "audit_log.h"

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "json.h"

#define CKPT_FILE_MAX ((size_t)1 << 30)

static int fmt(char *out, size_t outlen, const char *a, const char *b, const char *c)
{
	int n = snprintf(out, outlen, "%s%s%s", a, b, c);
	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

int audit_paths_init(const char *log_file, struct audit_paths *p)
{
	const char *slash = strrchr(log_file, '/');
	const char *base = slash ? slash + 1 : log_file;
	size_t blen = strlen(base);

	memset(p, 0, sizeof(*p));
	if (slash == NULL)
		strcpy(p->dir, ".");
	else if (slash == log_file)
		strcpy(p->dir, "/");
	else if ((size_t)(slash - log_file) < sizeof(p->dir))
		memcpy(p->dir, log_file, (size_t)(slash - log_file));
	else
		return -1;
	if (blen > 6 && strcmp(base + blen - 6, ".jsonl") == 0)
		blen -= 6;
	if (blen == 0 || blen >= sizeof(p->stem))
		return -1;
	memcpy(p->stem, base, blen);
	p->stem[blen] = '\0';
	if (fmt(p->live, sizeof(p->live), p->dir, "/", p->stem) ||
	    strlen(p->live) + 16 >= sizeof(p->live))
		return -1;
	snprintf(p->checkpoints, sizeof(p->checkpoints), "%s.checkpoints", p->live);
	snprintf(p->latest, sizeof(p->latest), "%s.checkpoint", p->live);
	snprintf(p->key, sizeof(p->key), "%s.key", p->live);
	snprintf(p->pubpem, sizeof(p->pubpem), "%s.pub.pem", p->live);
	snprintf(p->lock, sizeof(p->lock), "%s.lock", p->live);
	strcat(p->live, ".jsonl");
	return 0;
}

/* STEM.<digits and dashes>.jsonl — ours (NNNNNN) and SecAI OS's (YYYYmmdd-HHMMSS-ffffff). */
static int is_archive(const struct audit_paths *p, const char *name)
{
	size_t sl = strlen(p->stem), nl = strlen(name);

	if (nl < sl + 8 || strncmp(name, p->stem, sl) != 0 || name[sl] != '.' ||
	    strcmp(name + nl - 6, ".jsonl") != 0)
		return 0;
	for (size_t i = sl + 1; i < nl - 6; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
			return 0;
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int audit_log_files(const struct audit_paths *p, char ***files, size_t *n)
{
	DIR *d = opendir(p->dir);
	struct dirent *de;
	char **v = NULL, path[PATH_MAX];
	size_t cnt = 0, cap = 0;
	struct stat st;

	*files = NULL;
	*n = 0;
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (!is_archive(p, de->d_name))
			continue;
		if (cnt + 2 > cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
			if (nv == NULL)
				goto fail;
			v = nv;
		}
		if (fmt(path, sizeof(path), p->dir, "/", de->d_name) || !(v[cnt] = strdup(path)))
			goto fail;
		cnt++;
	}
	closedir(d);
	d = NULL;
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), cmp_str);
	if (stat(p->live, &st) == 0) {
		char **nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (nv == NULL)
			goto fail;
		v = nv;
		if (!(v[cnt] = strdup(p->live)))
			goto fail;
		cnt++;
	}
	*files = v;
	*n = cnt;
	return 0;
fail:
	if (d)
		closedir(d);
	audit_log_files_free(v, cnt);
	return -1;
}

void audit_log_files_free(char **files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
}

int audit_log_next_archive(const struct audit_paths *p, char *out, size_t outlen)
{
	char **files;
	size_t n;
	unsigned long max = 0;
	size_t sl = strlen(p->dir) + 1 + strlen(p->stem) + 1;

	if (audit_log_files(p, &files, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(files[i], p->live) == 0 || strlen(files[i]) <= sl)
			continue;
		char *end;
		unsigned long v = strtoul(files[i] + sl, &end, 10);
		if (strcmp(end, ".jsonl") == 0 && v > max)
			max = v;
	}
	audit_log_files_free(files, n);
	return snprintf(out, outlen, "%s/%s.%06lu.jsonl", p->dir, p->stem, max + 1) < (int)outlen
		   ? 0
		   : -1;
}

/* ---- checkpoints ---- */

struct ckpt_list {
	struct ckpt *v;
	size_t n;
};

static int load_checkpoints(const struct audit_paths *p, struct audit_verify *v,
			    struct ckpt_list *cl)
{
	char *data = NULL, err[256], jerr[160];
	size_t len, line = 0;
	const char *s, *end;

	cl->v = NULL;
	cl->n = 0;
	if (fs_read_file(p->checkpoints, CKPT_FILE_MAX, &data, &len) != 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(v->error, sizeof(v->error), "%s: cannot read: %s", p->checkpoints,
			 strerror(errno));
		return -1;
	}
	s = data;
	end = data + len;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		json_t *o;
		const char *note;
		struct ckpt c;

		line++;
		if (nl == NULL) {
			snprintf(v->error, sizeof(v->error),
				 "%s:%zu: torn last checkpoint line (no newline)", p->checkpoints, line);
			goto bad;
		}
		o = json_parse_object(s, (size_t)(nl - s), CKPT_NOTE_MAX * 2, jerr, sizeof(jerr));
		note = o ? json_get_string(o, "note") : NULL;
		if (note == NULL) {
			snprintf(v->error, sizeof(v->error), "%s:%zu: not a checkpoint record (%s)",
				 p->checkpoints, line, o ? "no \"note\" string" : jerr);
			json_decref(o);
			goto bad;
		}
		if (v->key != NULL) {
			if (ckpt_verify(note, strlen(note), v->key, &c, err, sizeof(err)) != 0) {
				snprintf(v->error, sizeof(v->error), "%s:%zu: %s", p->checkpoints, line,
					 err);
				json_decref(o);
				goto bad;
			}
		} else if (ckpt_parse_body(note, strlen(note), &c, err, sizeof(err)) != 0) {
			snprintf(v->error, sizeof(v->error), "%s:%zu: %s", p->checkpoints, line, err);
			json_decref(o);
			goto bad;
		}
		json_decref(o);
		if (cl->n > 0 && c.size < cl->v[cl->n - 1].size) {
			snprintf(v->error, sizeof(v->error),
				 "%s:%zu: checkpoint size %llu is below the previous one (%llu)",
				 p->checkpoints, line, (unsigned long long)c.size,
				 (unsigned long long)cl->v[cl->n - 1].size);
			goto bad;
		}
		struct ckpt *nv = realloc(cl->v, (cl->n + 1) * sizeof(*nv));
		if (nv == NULL) {
			snprintf(v->error, sizeof(v->error), "out of memory");
			free(data);
			return -1;
		}
		cl->v = nv;
		cl->v[cl->n++] = c;
		s = nl + 1;
	}
	free(data);
	return 0;
bad:
	free(data);
	return 1;
}

/* Compares checkpoints whose size equals the current tree size. */
static int check_ckpts_at(struct audit_verify *v, const struct ckpt_list *cl, size_t *next)
{
	merkle_hash root;
	int have_root = 0;

	while (*next < cl->n && cl->v[*next].size == v->range.size) {
		if (!have_root) {
			merkle_range_root(&v->range, root);
			have_root = 1;
		}
		if (memcmp(root, cl->v[*next].root, SHA256_LEN) != 0) {
			snprintf(v->error, sizeof(v->error),
				 "checkpoint %zu (tree size %llu) does not match the log: its root "
				 "differs from the one recomputed over entries 0..%llu (entries were "
				 "changed, or the log was rewritten)",
				 *next + 1, (unsigned long long)cl->v[*next].size,
				 (unsigned long long)v->range.size - 1);
			v->bad_index = v->range.size ? v->range.size - 1 : 0;
			return 1;
		}
		v->ckpt_checked++;
		(*next)++;
	}
	return 0;
}

static int keep_leaf(struct audit_verify *v, const merkle_hash leaf)
{
	if (v->nleaves == v->leaves_cap) {
		uint64_t cap = v->leaves_cap ? v->leaves_cap * 2 : 4096;
		merkle_hash *nl = realloc(v->leaves, cap * sizeof(*nl));
		if (nl == NULL)
			return -1;
		v->leaves = nl;
		v->leaves_cap = cap;
	}
	memcpy(v->leaves[v->nleaves++], leaf, SHA256_LEN);
	return 0;
}

static const char *short_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* ---- entry lines: parsed in parallel chunks, then checked in order ---- */

#define CHUNK_BYTES ((size_t)8 << 20)
#define MAX_THREADS 8

struct line_result {
	size_t off, len;
	struct audit_line al;
	merkle_hash leaf;
};

struct segment {
	const char *base; /* file map */
	size_t start, end; /* byte range, ends after a '\n' (or at a torn tail) */
	struct line_result *res;
	size_t n, cap;
	int failed;        /* res[n] is the line that failed to parse */
	size_t fail_off, fail_len;
	char err[512];
	int torn;          /* the range ends with bytes that have no '\n' */
	size_t torn_off;
};

static void *parse_segment(void *arg)
{
	struct segment *sg = arg;
	const char *s = sg->base + sg->start, *end = sg->base + sg->end;

	sg->n = 0;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		if (nl == NULL) {
			sg->torn = 1;
			sg->torn_off = (size_t)(s - sg->base);
			break;
		}
		if (sg->n == sg->cap) {
			size_t cap = sg->cap ? sg->cap * 2 : 1024;
			struct line_result *nr = realloc(sg->res, cap * sizeof(*nr));
			if (nr == NULL) {
				sg->failed = 1;
				sg->fail_off = (size_t)(s - sg->base);
				sg->fail_len = (size_t)(nl - s);
				snprintf(sg->err, sizeof(sg->err), "out of memory");
				break;
			}
			sg->res = nr;
			sg->cap = cap;
		}
		struct line_result *r = &sg->res[sg->n];
		r->off = (size_t)(s - sg->base);
		r->len = (size_t)(nl - s);
		if (audit_line_parse(s, r->len, &r->al, sg->err, sizeof(sg->err)) != 0) {
			sg->failed = 1;
			sg->fail_off = r->off;
			sg->fail_len = r->len;
			break;
		}
		merkle_leaf_hash(r->al.stored, SHA256_LEN, r->leaf);
		sg->n++;
		s = nl + 1;
	}
	return NULL;
}

static void *parse_segment_thread(void *arg)
{
	parse_segment(arg);
	sha256_thread_cleanup();
	return NULL;
}

static int verify_threads(void)
{
	const char *env = getenv("SECAI_VERIFY_THREADS");
	long n = env ? atol(env) : sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

/* Checks one parsed line in log order: hash, link, tree, checkpoints, callback. */
static int apply_line(struct audit_verify *v, const char *path, size_t lineno, const char *base,
		      const struct line_result *r, const struct ckpt_list *cl, size_t *next_ckpt)
{
	const struct audit_line *al = &r->al;
	char hex[SHA256_HEX_LEN + 1];

	if (al->fast)
		v->fast_lines++;
	else
		v->slow_lines++;
	if (memcmp(al->computed, al->stored, SHA256_LEN) != 0) {
		snprintf(v->error, sizeof(v->error),
			 "%s:%zu (entry %llu, event %s): entry_hash does not match the entry's "
			 "content (the entry was changed)",
			 short_name(path), lineno, (unsigned long long)v->entries, al->event);
		v->bad_index = v->entries;
		return 1;
	}
	if (strcmp(al->prev_hex, v->head_hex) != 0) {
		if (v->entries == 0)
			snprintf(v->error, sizeof(v->error),
				 "%s:%zu (entry 0): the first entry's prev_hash is not empty (entries "
				 "at the start of the log were removed)",
				 short_name(path), lineno);
		else
			snprintf(v->error, sizeof(v->error),
				 "%s:%zu (entry %llu, event %s): prev_hash does not match the "
				 "entry_hash of entry %llu (an entry was removed, inserted or reordered "
				 "here)",
				 short_name(path), lineno, (unsigned long long)v->entries, al->event,
				 (unsigned long long)v->entries - 1);
		v->bad_index = v->entries;
		return 1;
	}
	hex_encode(al->stored, SHA256_LEN, hex);
	memcpy(v->head_hex, hex, sizeof(hex));
	merkle_range_append(&v->range, r->leaf);
	if (v->keep_leaves && keep_leaf(v, r->leaf) != 0) {
		snprintf(v->error, sizeof(v->error), "out of memory keeping leaf hashes");
		return -1;
	}
	if (v->on_entry && v->on_entry(v->on_entry_ctx, v->entries, base + r->off, r->len, al)) {
		snprintf(v->error, sizeof(v->error), "%s:%zu: entry callback failed", short_name(path),
			 lineno);
		return -1;
	}
	v->entries++;
	return check_ckpts_at(v, cl, next_ckpt);
}

/* Splits [start, end) at line boundaries into n ranges; returns how many are non-empty. */
static int split_ranges(const char *base, size_t start, size_t end, int n, struct segment *sg)
{
	size_t pos = start;
	int k = 0;

	for (int i = 0; i < n && pos < end; i++) {
		size_t stop = i == n - 1 ? end : start + (end - start) * (size_t)(i + 1) / (size_t)n;
		if (stop <= pos)
			continue;
		if (stop < end) {
			const char *nl = memchr(base + stop - 1, '\n', end - (stop - 1));
			stop = nl ? (size_t)(nl - base) + 1 : end;
		}
		sg[k].base = base;
		sg[k].start = pos;
		sg[k].end = stop;
		sg[k].failed = sg[k].torn = 0;
		k++;
		pos = stop;
	}
	return k;
}

/* The next chunk of the file from *pos (at most CHUNK_BYTES, ending after a newline), split
 * into segments for nthreads parsers. Returns the number of segments (0 at the end). */
static int next_chunk(const char *map, size_t size, size_t *pos, int nthreads, struct segment *sg)
{
	size_t cend;
	int nrun;

	if (*pos >= size)
		return 0;
	cend = *pos + CHUNK_BYTES < size ? *pos + CHUNK_BYTES : size;
	if (cend < size) { /* end the chunk after a newline */
		const char *nl = memchr(map + cend - 1, '\n', size - (cend - 1));
		cend = nl ? (size_t)(nl - map) + 1 : size;
	}
	nrun = (cend - *pos) < ((size_t)1 << 20) ? 1 : nthreads;
	int n = split_ranges(map, *pos, cend, nrun, sg);
	*pos = cend;
	return n;
}

/* Starts a parser thread per segment (parsing inline when a thread cannot start). */
static void parse_start(struct segment *sg, int n, pthread_t *th)
{
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, parse_segment_thread, &sg[i]) != 0)
			parse_segment(&sg[i]), th[i] = 0;
}

static void parse_join(int n, pthread_t *th)
{
	for (int i = 0; i < n; i++)
		if (th[i])
			pthread_join(th[i], NULL);
}

/* Checks the parsed lines of one chunk in order. Returns 0, 1 (the log is bad) or -1. */
static int apply_chunk(const char *path, int is_last, struct audit_verify *v,
		       const struct ckpt_list *cl, size_t *next_ckpt, const char *map, size_t size,
		       struct segment *sg, int nseg, size_t *lineno)
{
	int rc = 0;

	for (int i = 0; i < nseg && rc == 0; i++) {
		for (size_t k = 0; k < sg[i].n && rc == 0; k++)
			rc = apply_line(v, path, ++*lineno, map, &sg[i].res[k], cl, next_ckpt);
		if (rc != 0)
			break;
		if (sg[i].failed) {
			snprintf(v->error, sizeof(v->error), "%s:%zu (entry %llu): %s",
				 short_name(path), *lineno + 1, (unsigned long long)v->entries,
				 sg[i].err);
			v->bad_index = v->entries;
			rc = 1;
		} else if (sg[i].torn) {
			/* a last line without its newline: an interrupted write */
			if (!is_last) {
				snprintf(v->error, sizeof(v->error),
					 "%s:%zu (entry %llu): archive ends without a newline",
					 short_name(path), *lineno + 1, (unsigned long long)v->entries);
				v->bad_index = v->entries;
				return 1;
			}
			v->torn = 1;
			snprintf(v->torn_file, sizeof(v->torn_file), "%s", path);
			v->torn_offset = sg[i].torn_off;
			v->torn_bytes = size - sg[i].torn_off;
			if (!v->torn_ok) {
				snprintf(v->error, sizeof(v->error),
					 "%s:%zu (entry %llu): torn last line: %llu bytes without a "
					 "newline at offset %llu (an interrupted write; secai-audit sets "
					 "it aside when it starts)",
					 short_name(path), *lineno + 1, (unsigned long long)v->entries,
					 (unsigned long long)v->torn_bytes,
					 (unsigned long long)v->torn_offset);
				v->bad_index = v->entries;
				rc = 1;
			}
		}
	}
	return rc;
}

/*
 * One log file, mapped, in chunks: the lines of a chunk are parsed and hashed in parallel
 * (entry hash, leaf hash), then checked in order on this thread (links, tree, checkpoints).
 * Pipelined: while this thread checks chunk k, the parsers already work on chunk k+1, so the
 * in-order part does not leave the other cores idle.
 */
static int verify_file(const char *path, int is_last, struct audit_verify *v,
		       const struct ckpt_list *cl, size_t *next_ckpt)
{
	static struct segment zero;
	struct segment sg[2][MAX_THREADS];
	pthread_t th[MAX_THREADS];
	int nthreads = v->on_entry ? 1 : verify_threads();
	struct stat st;
	const char *map;
	size_t lineno = 0, pos = 0, size;
	int fd, rc = 0, cur = 0, ncur, nnext;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(v->error, sizeof(v->error), "%s: cannot open: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_size == 0) {
		close(fd);
		return 0;
	}
	size = (size_t)st.st_size;
	map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		snprintf(v->error, sizeof(v->error), "%s: cannot map: %s", path, strerror(errno));
		return -1;
	}
	madvise((void *)map, size, MADV_SEQUENTIAL);
	v->bytes += size;
	for (int b = 0; b < 2; b++)
		for (int i = 0; i < MAX_THREADS; i++)
			sg[b][i] = zero;
	ncur = next_chunk(map, size, &pos, nthreads, sg[cur]);
	parse_start(sg[cur], ncur, th);
	parse_join(ncur, th);
	while (ncur > 0 && rc == 0) {
		nnext = next_chunk(map, size, &pos, nthreads, sg[!cur]);
		parse_start(sg[!cur], nnext, th); /* chunk k+1, while chunk k is checked */
		rc = apply_chunk(path, is_last, v, cl, next_ckpt, map, size, sg[cur], ncur, &lineno);
		parse_join(nnext, th);
		cur = !cur;
		ncur = nnext;
	}
	for (int b = 0; b < 2; b++)
		for (int i = 0; i < MAX_THREADS; i++)
			free(sg[b][i].res);
	munmap((void *)map, size);
	return rc;
}

int audit_log_verify(const struct audit_paths *p, struct audit_verify *v)
{
	struct ckpt_list cl;
	char **files = NULL;
	size_t nfiles = 0, next = 0;
	int rc;

	v->ok = 0;
	v->error[0] = v->warning[0] = '\0';
	v->head_hex[0] = '\0';
	v->entries = v->bytes = v->fast_lines = v->slow_lines = 0;
	v->nleaves = 0;
	v->torn = 0;
	v->ckpt_count = v->ckpt_checked = 0;
	v->have_ckpt = 0;
	merkle_range_init(&v->range);

	rc = load_checkpoints(p, v, &cl);
	if (rc != 0)
		return rc;
	v->ckpt_count = cl.n;
	if (cl.n > 0) {
		v->have_ckpt = 1;
		v->ckpt_last = cl.v[cl.n - 1];
	}
	if (audit_log_files(p, &files, &nfiles) != 0) {
		snprintf(v->error, sizeof(v->error), "%s: cannot list: %s", p->dir, strerror(errno));
		free(cl.v);
		return -1;
	}
	v->nfiles = nfiles;
	rc = check_ckpts_at(v, &cl, &next); /* checkpoints of the empty tree */
	for (size_t i = 0; i < nfiles && rc == 0; i++)
		rc = verify_file(files[i], i + 1 == nfiles, v, &cl, &next);
	if (rc == 0 && next < cl.n) {
		snprintf(v->error, sizeof(v->error),
			 "the log holds %llu entries but checkpoint %zu covers %llu: entries %llu.."
			 "%llu were removed (the log was truncated)",
			 (unsigned long long)v->entries, next + 1,
			 (unsigned long long)cl.v[next].size, (unsigned long long)v->entries,
			 (unsigned long long)cl.v[next].size - 1);
		v->bad_index = v->entries;
		rc = 1;
	}
	if (rc == 0) {
		v->ok = 1;
		if (v->key == NULL && cl.n > 0)
			snprintf(v->warning, sizeof(v->warning),
				 "no public key given: checkpoint signatures were not checked");
		else if (cl.n == 0 && v->entries > 0)
			snprintf(v->warning, sizeof(v->warning),
				 "no checkpoints: the chain verifies, but removal of its last "
				 "entries could not be detected");
	}
	audit_log_files_free(files, nfiles);
	free(cl.v);
	return rc;
}

void audit_verify_free(struct audit_verify *v)
{
	free(v->leaves);
	v->leaves = NULL;
	v->nleaves = v->leaves_cap = 0;
}
