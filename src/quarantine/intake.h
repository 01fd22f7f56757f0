/*
 * intake.h — the intake side of secai-quarantine: claiming from incoming/ and the work queue.
 *
 * Owns: struct qr_queue (names in processing/ waiting for the pipeline, FIFO, thread-safe) and
 * struct qr_intake (the inotify watch on incoming/).
 * Never: opens a claimed item; see intake.c.
 */
#ifndef SECAI_QR_INTAKE_H
#define SECAI_QR_INTAKE_H

#include <pthread.h>

#include "quarantine/qr.h"

struct qr_queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char **names;
	size_t n, cap;
};
#define QR_QUEUE_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0}

int qr_queue_push(struct qr_queue *q, const char *name);
/* Blocks until a name is queued or *stop; returns a malloc'd name or NULL. */
char *qr_queue_pop(struct qr_queue *q, const volatile int *stop);

struct qr_intake {
	const struct qr_env *env;
	struct qr_queue *q;
	const volatile int *stop;
	int fd; /* inotify */
};

/* Claims incoming/NAME (and its sidecars) into processing/. 0 claimed (claimed[] = the name in
 * processing/), 1 left alone (ignored name, sidecar, gone), -1 error. */
int qr_claim(const struct qr_env *env, const char *name, char *claimed, size_t clen);
/* Claims everything in incoming/ now. */
int qr_sweep(struct qr_intake *in);
/* Starts watching incoming/ (before the sweep, so nothing slips between). */
int qr_intake_open(struct qr_intake *in);
/* Thread body: claims as events arrive until *stop. */
void *qr_intake_thread(void *arg);

#endif
