/*
 * store.c — the audit log's files as secai-audit writes them.
 *
 * Owns: start-up recovery (verify everything, set a torn last line aside), staging and
 * committing batches (one write + fdatasync per batch: group commit), checkpoints, rotation and
 * absorbing the spool. Never: acknowledges anything (server.c does, after store_commit returns),
 * rewrites an existing entry, or starts on a log that does not verify.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"

#define SPOOL_FILE_MAX (4 << 20)

static int collect_absorbed(void *ctx, uint64_t index, const char *line, size_t len,
			    const struct audit_line *al)
{
	struct audit_store *s = ctx;
	json_t *o;
	const char *h;

	(void)index;
	if (strcmp(al->event, "audit.spool_absorbed") != 0)
		return 0;
	o = json_parse_object(line, len, (size_t)1 << 30, NULL, 0);
	h = o ? json_get_string(json_object_get(o, "data"), "sha256") : NULL;
	if (h != NULL) {
		char **na = realloc(s->absorbed, (s->nabsorbed + 1) * sizeof(*na));
		if (na == NULL || (na[s->nabsorbed] = strdup(h)) == NULL) {
			if (na)
				s->absorbed = na;
			json_decref(o);
			return -1;
		}
		s->absorbed = na;
		s->nabsorbed++;
	}
	json_decref(o);
	return 0;
}

/* A crash while appending a checkpoint can leave a torn last line; drop it (the entries it
 * covered are still in the log, and the next checkpoint covers them again). */
static int repair_checkpoints_tail(const struct audit_store *s)
{
	int fd = open(s->paths.checkpoints, O_RDWR | O_CLOEXEC);
	struct stat st;
	off_t keep;
	char c;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) != 0 || st.st_size == 0) {
		close(fd);
		return 0;
	}
	keep = st.st_size;
	while (keep > 0) {
		if (pread(fd, &c, 1, keep - 1) != 1) {
			close(fd);
			return -1;
		}
		if (c == '\n')
			break;
		keep--;
	}
	if (keep != st.st_size) {
		log_warnx("%s: dropping a torn last checkpoint line (%lld bytes, an interrupted "
			  "write)",
			  s->paths.checkpoints, (long long)(st.st_size - keep));
		if (ftruncate(fd, keep) != 0 || fsync(fd) != 0) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

static int set_aside_torn(struct audit_store *s, const struct audit_verify *v, json_t **event)
{
	char aside[PATH_MAX + 64], ts[AUDIT_TS_LEN], hex[SHA256_HEX_LEN + 1];
	uint8_t h[SHA256_LEN];
	char *data = NULL;
	int fd = -1, rc = -1;

	if (v->torn_bytes > ((uint64_t)1 << 30))
		return -1;
	data = malloc(v->torn_bytes + 1);
	fd = open(v->torn_file, O_RDWR | O_CLOEXEC);
	if (data == NULL || fd < 0 ||
	    pread(fd, data, v->torn_bytes, (off_t)v->torn_offset) != (ssize_t)v->torn_bytes)
		goto done;
	audit_timestamp_now(ts);
	snprintf(aside, sizeof(aside), "%s/%s.torn-%.26s", s->paths.dir, s->paths.stem, ts);
	for (char *p = aside + strlen(s->paths.dir); *p; p++)
		if (*p == ':' || *p == '+')
			*p = '-';
	if (fs_atomic_write(aside, data, v->torn_bytes, 0400) != 0)
		goto done;
	if (ftruncate(fd, (off_t)v->torn_offset) != 0 || fsync(fd) != 0)
		goto done;
	sha256_digest(data, v->torn_bytes, h);
	hex_encode(h, SHA256_LEN, hex);
	log_warnx("%s: torn last line (%llu bytes at offset %llu, an interrupted write that was "
		  "never acknowledged) set aside to %s",
		  v->torn_file, (unsigned long long)v->torn_bytes,
		  (unsigned long long)v->torn_offset, aside);
	*event = json_pack("{s:s, s:s, s:I, s:I, s:s}", "file", v->torn_file, "set_aside_to", aside,
			   "offset", (json_int_t)v->torn_offset, "bytes", (json_int_t)v->torn_bytes,
			   "sha256", hex);
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	free(data);
	return rc;
}

static int write_pubkey(const struct audit_store *s)
{
	struct buf pem = BUF_INIT;
	char *old = NULL;
	size_t oldlen;
	int rc = 0;

	if (ckpt_key_pem(&s->key, &pem) != 0) {
		buf_free(&pem);
		return -1;
	}
	if (fs_read_file(s->paths.pubpem, 1 << 16, &old, &oldlen) != 0 || oldlen != pem.len ||
	    memcmp(old, pem.data, pem.len) != 0)
		rc = fs_atomic_write(s->paths.pubpem, pem.data, pem.len, 0644);
	free(old);
	buf_free(&pem);
	return rc;
}

static int stage_json(struct audit_store *s, const char *ts, const char *event, json_t *data)
{
	struct buf canon = BUF_INIT;
	char hex[SHA256_HEX_LEN + 1];
	int rc;

	rc = json_canon_append(&canon, data);
	if (rc == 0)
		rc = store_stage(s, ts, event, canon.data, canon.len, NULL, hex);
	buf_free(&canon);
	return rc;
}

int store_open(struct audit_store *s, const struct audit_opts *o)
{
	struct audit_verify v;
	json_t *torn_event = NULL;
	struct stat st;
	int rc;

	memset(s, 0, sizeof(*s));
	s->fd = s->lockfd = -1;
	s->rotate_bytes = o->rotate_bytes;
	if (audit_paths_init(o->log_file, &s->paths) != 0) {
		log_warnx("audit.log_file %s: not a usable path", o->log_file);
		return -1;
	}
	snprintf(s->spool_dir, sizeof(s->spool_dir), "%s/spool", s->paths.dir);
	if (fs_mkdir_p(s->paths.dir, 0700) != 0 || fs_mkdir_p(s->spool_dir, 0700) != 0) {
		log_warn("cannot create %s", s->paths.dir);
		return -1;
	}
	s->lockfd = open(s->paths.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd < 0 || flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
		log_warn("cannot lock %s (is another secai-audit writing this log?)", s->paths.lock);
		return -1;
	}
	if (ckpt_key_load_or_create(s->paths.key, o->origin, &s->key) != 0) {
		log_warn("checkpoint key %s", s->paths.key);
		return -1;
	}
	if (write_pubkey(s) != 0) {
		log_warn("cannot write %s", s->paths.pubpem);
		return -1;
	}
	if (repair_checkpoints_tail(s) != 0) {
		log_warn("cannot repair %s", s->paths.checkpoints);
		return -1;
	}

	memset(&v, 0, sizeof(v));
	v.key = &s->key;
	v.torn_ok = 1;
	v.on_entry = collect_absorbed;
	v.on_entry_ctx = s;
	rc = audit_log_verify(&s->paths, &v);
	if (rc != 0) {
		log_warnx("audit log %s does not verify: %s — refusing to append to it. Run "
			  "'securectl audit verify' to see the damage; to start a new log, move the "
			  "log's files aside.",
			  s->paths.live, v.error);
		audit_verify_free(&v);
		return -1;
	}
	if (v.torn && set_aside_torn(s, &v, &torn_event) != 0) {
		log_warn("cannot set aside the torn last line of %s", v.torn_file);
		audit_verify_free(&v);
		return -1;
	}
	s->entries = v.entries;
	memcpy(s->head_hex, v.head_hex, sizeof(s->head_hex));
	s->range = v.range;
	s->ckpt_size = v.have_ckpt ? v.ckpt_last.size : 0;
	s->ckpt_time = time(NULL);
	audit_verify_free(&v);

	s->fd = open(s->paths.live, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (s->fd < 0 || fstat(s->fd, &st) != 0) {
		log_warn("cannot open %s", s->paths.live);
		json_decref(torn_event);
		return -1;
	}
	fs_fsync_dir(s->paths.dir);
	s->live_bytes = (uint64_t)st.st_size;
	log_info("log %s verified: %llu entries, %llu checkpoints; key %s", s->paths.live,
		 (unsigned long long)s->entries, (unsigned long long)v.ckpt_count, s->paths.pubpem);
	if (torn_event != NULL) {
		rc = stage_json(s, NULL, "audit.torn_tail_set_aside", torn_event);
		json_decref(torn_event);
		if (rc != 0 || store_commit(s) != 0)
			return -1;
	}
	return 0;
}

void store_close(struct audit_store *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->lockfd >= 0)
		close(s->lockfd);
	for (size_t i = 0; i < s->nabsorbed; i++)
		free(s->absorbed[i]);
	free(s->absorbed);
	buf_free(&s->batch);
	ckpt_key_wipe(&s->key);
	s->fd = s->lockfd = -1;
}

int store_stage(struct audit_store *s, const char *timestamp, const char *event,
		const char *data_canon, size_t data_len, uint64_t *index, char hash_hex[65])
{
	char ts[AUDIT_TS_LEN];
	uint8_t h[SHA256_LEN];
	merkle_hash leaf;

	if (timestamp == NULL) {
		audit_timestamp_now(ts);
		timestamp = ts;
	}
	if (audit_line_build(&s->batch, timestamp, event, data_canon, data_len, s->head_hex, h) != 0)
		return -1;
	hex_encode(h, SHA256_LEN, s->head_hex);
	if (hash_hex)
		memcpy(hash_hex, s->head_hex, SHA256_HEX_LEN + 1);
	merkle_leaf_hash(h, SHA256_LEN, leaf);
	merkle_range_append(&s->range, leaf);
	if (index)
		*index = s->entries;
	s->entries++;
	s->batch_entries++;
	return 0;
}

int store_commit(struct audit_store *s)
{
	if (s->batch.len == 0)
		return 0;
	if (fs_write_all(s->fd, s->batch.data, s->batch.len) != 0 || fdatasync(s->fd) != 0) {
		log_warn("writing %zu bytes to %s", s->batch.len, s->paths.live);
		return -1;
	}
	s->live_bytes += s->batch.len;
	buf_reset(&s->batch);
	s->batch_entries = 0;
	return 0;
}

int store_checkpoint(struct audit_store *s, struct buf *note_out)
{
	struct buf note = BUF_INIT;
	merkle_hash root;
	json_t *rec = NULL;
	char *line = NULL;
	int fd = -1, rc = -1;

	if (s->batch.len != 0 && store_commit(s) != 0)
		return -1;
	merkle_range_root(&s->range, root);
	if (ckpt_sign(&s->key, s->entries, root, &note) != 0)
		goto done;
	rec = json_pack("{s:s}", "note", note.data);
	line = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	if (line == NULL)
		goto done;
	size_t n = strlen(line);
	line[n] = '\n';
	fd = open(s->paths.checkpoints, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || fs_write_all(fd, line, n + 1) != 0 || fsync(fd) != 0) {
		log_warn("appending a checkpoint to %s", s->paths.checkpoints);
		goto done;
	}
	if (fs_atomic_write(s->paths.latest, note.data, note.len, 0644) != 0) {
		log_warn("writing %s", s->paths.latest);
		goto done;
	}
	s->ckpt_size = s->entries;
	s->ckpt_time = time(NULL);
	log_debug("checkpoint at tree size %llu", (unsigned long long)s->entries);
	if (note_out)
		buf_append(note_out, note.data, note.len);
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	free(line);
	json_decref(rec);
	buf_free(&note);
	return rc;
}

int store_rotate_if_needed(struct audit_store *s)
{
	char archive[PATH_MAX];
	int fd;

	if (s->rotate_bytes <= 0 || s->live_bytes < (uint64_t)s->rotate_bytes)
		return 0;
	if (store_commit(s) != 0 || fsync(s->fd) != 0)
		return -1;
	if (audit_log_next_archive(&s->paths, archive, sizeof(archive)) != 0)
		return -1;
	if (rename(s->paths.live, archive) != 0) {
		log_warn("rotating %s to %s", s->paths.live, archive);
		return -1;
	}
	chmod(archive, 0440);
	fd = open(s->paths.live, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_warn("creating %s after rotation", s->paths.live);
		return -1;
	}
	close(s->fd);
	s->fd = fd;
	s->live_bytes = 0;
	if (fs_fsync_dir(s->paths.dir) != 0)
		return -1;
	log_info("rotated the log to %s (%llu entries so far; the chain continues)", archive,
		 (unsigned long long)s->entries);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int absorb_one(struct audit_store *s, const char *name)
{
	char path[PATH_MAX + 256], hex[SHA256_HEX_LEN + 1], jerr[160];
	uint8_t h[SHA256_LEN];
	char *data = NULL;
	size_t len, count = 0, lineno = 0;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/%s", s->spool_dir, name);
	if (fs_read_file(path, SPOOL_FILE_MAX, &data, &len) != 0) {
		log_warn("spool file %s", path);
		return -1;
	}
	sha256_digest(data, len, h);
	hex_encode(h, SHA256_LEN, hex);
	for (size_t i = 0; i < s->nabsorbed; i++) {
		if (strcmp(s->absorbed[i], hex) == 0) {
			log_info("spool file %s was already absorbed; removing it", name);
			free(data);
			return unlink(path) == 0 ? 0 : -1;
		}
	}
	for (char *p = data, *end = data + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_t *o = json_parse_object(p, ll, SPOOL_FILE_MAX, jerr, sizeof(jerr));
		const char *ev = o ? json_get_string(o, "event") : NULL;
		const char *ts = o ? json_get_string(o, "timestamp") : NULL;
		json_t *d = o ? json_object_get(o, "data") : NULL;

		lineno++;
		if (ev == NULL || ts == NULL || d == NULL || !audit_event_name_ok(ev) ||
		    strlen(ts) >= AUDIT_TS_LEN) {
			json_t *bad = json_pack("{s:s, s:I, s:s}", "file", name, "line",
						(json_int_t)lineno, "error",
						o ? "missing or invalid event, timestamp or data" : jerr);
			log_warnx("spool file %s line %zu is not a valid event; recording that",
				  name, lineno);
			if (bad == NULL || stage_json(s, NULL, "audit.spool_line_rejected", bad) != 0) {
				json_decref(bad);
				json_decref(o);
				goto done;
			}
			json_decref(bad);
		} else {
			if (stage_json(s, ts, ev, d) != 0) {
				json_decref(o);
				goto done;
			}
			count++;
		}
		json_decref(o);
		p = nl ? nl + 1 : end;
	}
	json_t *mark = json_pack("{s:s, s:s, s:I}", "file", name, "sha256", hex, "entries",
				 (json_int_t)count);
	rc = mark ? stage_json(s, NULL, "audit.spool_absorbed", mark) : -1;
	json_decref(mark);
	if (rc == 0 && (rc = store_commit(s)) == 0) {
		if (unlink(path) != 0 || fs_fsync_dir(s->spool_dir) != 0)
			log_warn("removing absorbed spool file %s", path);
		log_info("absorbed %zu spooled events from %s", count, name);
	}
done:
	free(data);
	return rc;
}

int store_absorb_spool(struct audit_store *s)
{
	DIR *d = opendir(s->spool_dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 7 || strcmp(de->d_name + l - 6, ".jsonl") != 0)
			continue;
		char **nn = realloc(names, (n + 1) * sizeof(*nn));
		if (nn == NULL || (nn[n] = strdup(de->d_name)) == NULL) {
			if (nn)
				names = nn;
			rc = -1;
			break;
		}
		names = nn;
		n++;
	}
	closedir(d);
	if (rc == 0 && n > 0)
		qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = absorb_one(s, names[i]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
