/*
 * audit.h — secai-audit, the daemon that owns the tamper-evident log.
 *
 * store.c   the log files: recovery at start, appending batches, checkpoints, rotation, spool
 * server.c  the Unix socket: requests, group commit, acknowledgements after fsync
 * main.c    options, config, signals, start and stop
 * Only this process writes the log and holds the checkpoint signing key.
 */
#ifndef SECAI_AUDITD_H
#define SECAI_AUDITD_H

#include <limits.h>
#include <stdint.h>
#include <time.h>

#include "audit_log.h"
#include "buf.h"
#include "checkpoint.h"

struct audit_opts {
	char log_file[PATH_MAX];
	char socket[PATH_MAX];
	char origin[CKPT_NAME_MAX + 1];
	long long checkpoint_every;
	long long checkpoint_interval;
	long long rotate_bytes;
	long long max_entry_bytes;
};

struct audit_store {
	struct audit_paths paths;
	char spool_dir[PATH_MAX];
	int fd;       /* live file, O_APPEND */
	int lockfd;   /* flock held for the daemon's lifetime */
	uint64_t entries;
	uint64_t live_bytes;
	char head_hex[SHA256_HEX_LEN + 1];
	struct merkle_range range;
	struct ckpt_key key;
	uint64_t ckpt_size;   /* size of the last checkpoint written */
	time_t ckpt_time;
	long long rotate_bytes;
	char **absorbed;      /* sha256 hex of spool files already in the log */
	size_t nabsorbed;
	struct buf batch;     /* staged lines not yet written */
	uint64_t batch_entries;
};

/* store.c */
int store_open(struct audit_store *s, const struct audit_opts *o);
void store_close(struct audit_store *s);
/* Stages one entry (not durable until store_commit). timestamp NULL = now. */
int store_stage(struct audit_store *s, const char *timestamp, const char *event,
		const char *data_canon, size_t data_len, uint64_t *index, char hash_hex[65]);
/* Writes and fsyncs the staged batch. On failure the daemon must exit (state is unknown). */
int store_commit(struct audit_store *s);
int store_checkpoint(struct audit_store *s, struct buf *note_out);
int store_rotate_if_needed(struct audit_store *s);
int store_absorb_spool(struct audit_store *s);

/* server.c */
int server_run(struct audit_store *s, const struct audit_opts *o);

#endif
