/*
 * audit_load.c — drives secai-audit with concurrent, pipelined appends; used by the crash test
 * (tests/e2e/test_audit_crash.py) and the bench (bench/audit/run.sh).
 *
 * usage: audit_load SOCKET CLIENTS PER_CLIENT [WINDOW] [ACKED_FILE] [TAG]
 * Each client thread connects, keeps up to WINDOW appends in flight, and records each
 * acknowledged (client, i). On a broken connection it stops. ACKED_FILE receives one line
 * "TAG c i" per acknowledged event. Prints {"sent","acked","seconds","appends_per_s"}.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_client.h"

struct worker {
	const char *sock;
	int id;
	long n, window;
	const char *tag;
	long sent, acked;
	long *acked_ids;
};

static void *run(void *arg)
{
	struct worker *w = arg;
	struct audit_client c;
	long inflight = 0;
	json_t *rep;

	w->acked_ids = calloc((size_t)w->n, sizeof(long));
	if (w->acked_ids == NULL || audit_client_connect(w->sock, &c) != 0)
		return NULL;
	while (w->acked < w->n) {
		while (w->sent < w->n && inflight < w->window) {
			json_t *d = json_pack("{s:s, s:i, s:I}", "tag", w->tag, "c", w->id, "i",
					      (json_int_t)w->sent);
			int rc = audit_client_send_append(&c, "load.test", d);
			json_decref(d);
			if (rc != 0)
				goto out;
			w->sent++;
			inflight++;
		}
		if (audit_client_recv(&c, &rep) != 0)
			goto out;
		if (!json_is_true(json_object_get(rep, "ok"))) {
			fprintf(stderr, "audit_load: refused: %s\n",
				json_string_value(json_object_get(rep, "error")));
			json_decref(rep);
			goto out;
		}
		json_decref(rep);
		w->acked_ids[w->acked] = w->acked; /* replies come in request order */
		w->acked++;
		inflight--;
	}
out:
	audit_client_close(&c);
	return NULL;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	long clients, per, window = 64, sent = 0, acked = 0;
	const char *ackfile = NULL, *tag = "t";

	if (argc < 4) {
		fprintf(stderr, "usage: audit_load SOCKET CLIENTS PER_CLIENT [WINDOW] [ACKED_FILE] "
				"[TAG]\n");
		return 64;
	}
	clients = atol(argv[2]);
	per = atol(argv[3]);
	if (argc > 4)
		window = atol(argv[4]);
	if (argc > 5 && strcmp(argv[5], "-") != 0)
		ackfile = argv[5];
	if (argc > 6)
		tag = argv[6];
	if (clients < 1 || clients > 1024 || per < 0 || window < 1) {
		fprintf(stderr, "audit_load: bad numbers\n");
		return 64;
	}
	struct worker *w = calloc((size_t)clients, sizeof(*w));
	pthread_t *th = calloc((size_t)clients, sizeof(*th));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < clients; i++) {
		w[i] = (struct worker){.sock = argv[1], .id = (int)i, .n = per, .window = window,
				       .tag = tag};
		pthread_create(&th[i], NULL, run, &w[i]);
	}
	for (long i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	FILE *f = ackfile ? fopen(ackfile, "w") : NULL;
	for (long i = 0; i < clients; i++) {
		sent += w[i].sent;
		acked += w[i].acked;
		for (long k = 0; f && k < w[i].acked; k++)
			fprintf(f, "%s %ld %ld\n", tag, i, w[i].acked_ids[k]);
		free(w[i].acked_ids);
	}
	if (f)
		fclose(f);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("{\"sent\":%ld,\"acked\":%ld,\"seconds\":%.4f,\"appends_per_s\":%.0f}\n", sent, acked,
	       secs, secs > 0 ? (double)acked / secs : 0.0);
	free(w);
	free(th);
	return 0;
}
