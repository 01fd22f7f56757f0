/*
 * intake.c — claiming what lands in quarantine/incoming/.
 *
 * Owns: the sweep of incoming/ at start and the inotify watch (IN_CLOSE_WRITE for files written
 * in place, IN_MOVED_TO for files and folders renamed in), the names left alone (hidden,
 * temporary, partial downloads; sidecars travel with their model), the claim itself
 * (sidecars first, then the item, renamed into processing/ under a unique name) and the queue
 * the pipeline worker takes from.
 * Never: opens, reads or scans a claimed item (the pipeline does), claims a folder created in
 * place (writers build it under a hidden or temporary name and rename it in), or follows a
 * symlink.
 */
#include "quarantine/intake.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

int qr_queue_push(struct qr_queue *q, const char *name)
{
	char *d = strdup(name);

	if (d == NULL)
		return -1;
	pthread_mutex_lock(&q->mu);
	if (q->n == q->cap) {
		size_t nc = q->cap ? q->cap * 2 : 16;
		char **nv = realloc(q->names, nc * sizeof(*nv));
		if (nv == NULL) {
			pthread_mutex_unlock(&q->mu);
			free(d);
			return -1;
		}
		q->names = nv;
		q->cap = nc;
	}
	q->names[q->n++] = d;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

char *qr_queue_pop(struct qr_queue *q, const volatile int *stop)
{
	char *s = NULL;

	pthread_mutex_lock(&q->mu);
	while (q->n == 0 && !*stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&q->cv, &q->mu, &ts);
	}
	if (q->n > 0) {
		s = q->names[0];
		memmove(q->names, q->names + 1, (q->n - 1) * sizeof(*q->names));
		q->n--;
	}
	pthread_mutex_unlock(&q->mu);
	return s;
}

static const char *const sidecars[] = {".source.json", ".sig", ".sigstore.json"};

int qr_claim(const struct qr_env *env, const char *name, char *claimed, size_t clen)
{
	char from[QR_PATH_MAX + 300], to[QR_PATH_MAX + 320], base[300];
	struct stat st;
	int k;

	if (qr_is_ignored(name) || qr_is_sidecar(name) || strlen(name) > 250)
		return 1;
	snprintf(from, sizeof(from), "%s/incoming/%s", env->qdir, name);
	if (lstat(from, &st) != 0)
		return errno == ENOENT ? 1 : -1;
	/* a unique name in processing/ */
	snprintf(base, sizeof(base), "%s", name);
	for (k = 0; k < 1000; k++) {
		if (k > 0)
			snprintf(base, sizeof(base), "%s.%d", name, k);
		snprintf(to, sizeof(to), "%s/processing/%s", env->qdir, base);
		if (lstat(to, &st) != 0 && errno == ENOENT)
			break;
	}
	if (k == 1000)
		return -1;
	/* sidecars first so the pipeline sees them with the item */
	for (size_t i = 0; i < 3; i++) {
		char sf[QR_PATH_MAX + 320], stt[QR_PATH_MAX + 340];
		snprintf(sf, sizeof(sf), "%s/incoming/%s%s", env->qdir, name, sidecars[i]);
		snprintf(stt, sizeof(stt), "%s/processing/%s%s", env->qdir, base, sidecars[i]);
		if (rename(sf, stt) != 0 && errno != ENOENT)
			log_warn("claim: sidecar %s", sf);
	}
	if (rename(from, to) != 0) {
		log_warn("claim: rename %s", from);
		return -1;
	}
	snprintf(claimed, clen, "%s", base);
	return 0;
}

static void claim_and_push(struct qr_intake *in, const char *name)
{
	char claimed[300];
	int rc = qr_claim(in->env, name, claimed, sizeof(claimed));

	if (rc != 0)
		return;
	log_info("claimed incoming/%s as processing/%s", name, claimed);
	qr_audit(in->env, "quarantine.claimed",
		 json_pack("{s:s, s:s}", "name", name, "claimed_as", claimed));
	if (qr_queue_push(in->q, claimed) != 0)
		log_warnx("queue full: %s waits in processing/ for the next start", claimed);
}

int qr_sweep(struct qr_intake *in)
{
	char dir[QR_PATH_MAX + 16];
	struct dirent **names;
	int n;

	snprintf(dir, sizeof(dir), "%s/incoming", in->env->qdir);
	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0)
			claim_and_push(in, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	return 0;
}

int qr_intake_open(struct qr_intake *in)
{
	char dir[QR_PATH_MAX + 16];

	snprintf(dir, sizeof(dir), "%s/incoming", in->env->qdir);
	in->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (in->fd < 0)
		return -1;
	if (inotify_add_watch(in->fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR) < 0) {
		close(in->fd);
		in->fd = -1;
		return -1;
	}
	return 0;
}

void *qr_intake_thread(void *arg)
{
	struct qr_intake *in = arg;
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (!*in->stop) {
		ssize_t k;

		usleep(20 * 1000); /* events are batched: a claim within ~20 ms */
		k = read(in->fd, buf, sizeof(buf));
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			log_warn("inotify read");
			break;
		}
		for (char *p = buf; p < buf + k;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW) {
				log_warnx("inotify queue overflow: sweeping incoming/");
				qr_sweep(in);
			} else if (ev->len > 0) {
				/* a sidecar landing after its model is still moved by the claim of
				 * the model; a sidecar alone waits */
				claim_and_push(in, ev->name);
			}
			p += sizeof(*ev) + ev->len;
		}
	}
	return NULL;
}
