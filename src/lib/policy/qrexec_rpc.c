/*
 * qrexec_rpc.c — the qrexec engine as the rpc domain's delegate (pol_set_rpc_delegate): Qubes
 * policy.d files decide calls between compartments, which play the part of qubes.
 *
 * The system information comes from compartments.yaml: each compartment is a qube of its type
 * with its tags, always "Running" (the broker starts a sandbox per call, so nothing ever needs
 * autostart), no dispvm template; dom0 is the host (AdminVM). The folder is re-read when any
 * entry in it, in a folder directly under it (include/), or in the compat folder changes; like
 * Qubes 4.2, a policy that no longer loads denies every call until it is fixed (and says so
 * once in the log per change).
 * Owns: the reload check, the translation of a qrx_decision into a pol_decision.
 * Never: decides with a half-read policy; turns an error into anything but deny.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compart.h"
#include "log.h"
#include "policy/pol.h"
#include "policy/qrexec.h"
#include "sha256.h"

/* Hashes name, inode, size and mtime of every entry of dir (and of its sub-folders, one level
 * down when depth > 0). A missing folder hashes as such. */
static void fp_dir(struct sha256 *h, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[8192];
	struct stat st;

	sha256_update(h, dir, strlen(dir) + 1);
	if (d == NULL) {
		sha256_update(h, "-", 1);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0)
			continue;
		long long rec[5] = {(long long)st.st_ino, (long long)st.st_size,
				    (long long)st.st_mtim.tv_sec, (long long)st.st_mtim.tv_nsec,
				    (long long)st.st_mode};
		sha256_update(h, e->d_name, strlen(e->d_name) + 1);
		sha256_update(h, rec, sizeof(rec));
		if (depth > 0 && S_ISDIR(st.st_mode))
			fp_dir(h, path, depth - 1);
	}
	closedir(d);
}

static void fingerprint(const struct qrx_rpc *q, char out[65])
{
	struct sha256 h;
	uint8_t md[SHA256_LEN];

	out[0] = '\0';
	if (sha256_init(&h) != 0)
		return;
	fp_dir(&h, q->policy_dir, 1);
	fp_dir(&h, q->compat_dir, 0);
	if (sha256_final(&h, md) == 0)
		hex_encode(md, SHA256_LEN, out);
	sha256_free(&h);
}

/* (Re)loads when the folder changed. Called with the lock held. */
static void refresh(struct qrx_rpc *q)
{
	char fp[65];
	struct qrx_policy *np;

	fingerprint(q, fp);
	if (q->policy != NULL && fp[0] != '\0' && strcmp(fp, q->fingerprint) == 0)
		return;
	np = qrx_load_dir(q->policy_dir, q->compat_dir);
	if (np == NULL) {
		log_warnx("qrexec policy %s: out of memory; keeping nothing, every call is denied",
			  q->policy_dir);
		qrx_policy_free(q->policy);
		q->policy = NULL;
		return;
	}
	if (qrx_policy_ok(np))
		log_info("qrexec policy %s loaded: %zu rules, digest %s", q->policy_dir,
			 qrx_policy_rule_count(np), qrx_policy_digest(np));
	else
		log_warnx("QREXEC POLICY %s DOES NOT LOAD, every rpc call is denied: %s: %s",
			  q->policy_dir, qrx_error_kind_name(qrx_policy_error_kind(np)),
			  qrx_policy_error(np));
	qrx_policy_free(q->policy);
	q->policy = np;
	memcpy(q->fingerprint, fp, sizeof(q->fingerprint));
}

int qrx_rpc_init(struct qrx_rpc *q, const char *policy_dir, const char *compat_dir,
		 const struct compart_set *cs, char *err, size_t errlen)
{
	struct qrx_qube dom0 = {.name = "dom0", .type = "AdminVM", .running = true};
	pthread_mutex_t *m;

	memset(q, 0, sizeof(*q));
	snprintf(q->policy_dir, sizeof(q->policy_dir), "%s", policy_dir);
	snprintf(q->compat_dir, sizeof(q->compat_dir), "%s", compat_dir);
	if (qrx_system_add(&q->sys, &dom0, err, errlen) != 0)
		return -1;
	for (size_t i = 0; cs != NULL && i < cs->n; i++) {
		struct qrx_qube c;

		memset(&c, 0, sizeof(c));
		snprintf(c.name, sizeof(c.name), "%s", cs->c[i].name);
		snprintf(c.type, sizeof(c.type), "%s", compart_type_name(cs->c[i].type));
		for (size_t t = 0; t < cs->c[i].ntags && t < QRX_MAX_TAGS; t++)
			snprintf(c.tags[c.ntags++], QRX_NAME_MAX, "%s", cs->c[i].tags[t]);
		c.running = true;
		if (qrx_system_add(&q->sys, &c, err, errlen) != 0) {
			qrx_system_free(&q->sys);
			return -1;
		}
	}
	if ((m = malloc(sizeof(*m))) == NULL || pthread_mutex_init(m, NULL) != 0) {
		free(m);
		qrx_system_free(&q->sys);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	q->lock = m;
	refresh(q);
	return 0;
}

void qrx_rpc_fini(struct qrx_rpc *q)
{
	if (q->lock != NULL) {
		pthread_mutex_destroy(q->lock);
		free(q->lock);
	}
	qrx_policy_free(q->policy);
	qrx_system_free(&q->sys);
	memset(q, 0, sizeof(*q));
}

static const char *field(const struct pol_request *r, const char *name)
{
	int i = pol_field_index(POL_RPC, name);
	return i >= 0 ? r->val[i] : NULL;
}

int qrx_rpc_delegate(void *arg, const struct pol_request *r, struct pol_decision *d)
{
	struct qrx_rpc *q = arg;
	struct qrx_request req = {field(r, "service"), field(r, "argument"), field(r, "source"),
				  field(r, "target")};
	struct qrx_decision *qd;
	const char *arg_text = req.argument ? req.argument : "+";

	if (req.target == NULL)
		req.target = "";
	req.argument = arg_text;
	if ((qd = malloc(sizeof(*qd))) == NULL) {
		snprintf(d->reason, sizeof(d->reason), "deny: out of memory in the qrexec engine");
		return -1;
	}
	pthread_mutex_lock(q->lock);
	refresh(q);
	if (q->policy == NULL) {
		pthread_mutex_unlock(q->lock);
		free(qd);
		snprintf(d->reason, sizeof(d->reason), "deny: no qrexec policy is loaded");
		return -1;
	}
	qrx_evaluate(q->policy, &q->sys, &req, qd);
	pthread_mutex_unlock(q->lock);

	d->verdict = qd->result == QRX_ALLOW ? POL_ALLOW : qd->result == QRX_ASK ? POL_ASK : POL_DENY;
	snprintf(d->rule, sizeof(d->rule), "%s", qd->rule);
	switch (qd->result) {
	case QRX_ERROR:
		snprintf(d->reason, sizeof(d->reason),
			 "deny: the qrexec policy in %s does not load, so every call is denied (%s)",
			 q->policy_dir, qd->message);
		break;
	case QRX_DENY:
		snprintf(d->reason, sizeof(d->reason), "deny (%s): %s",
			 qrx_deny_reason_name(qd->deny_reason), qd->message);
		break;
	case QRX_ALLOW:
		snprintf(d->reason, sizeof(d->reason), "allow to %s by the qrexec rule at %s",
			 qd->target, qd->rule);
		snprintf(d->rpc_target, sizeof(d->rpc_target), "%s", qd->target);
		snprintf(d->rpc_user, sizeof(d->rpc_user), "%s", qd->user);
		break;
	case QRX_ASK: {
		size_t o = 0;

		for (size_t i = 0; i < qd->nchoices && o < sizeof(d->rpc_choices); i++)
			o += (size_t)snprintf(d->rpc_choices + o, sizeof(d->rpc_choices) - o, "%s%s",
					      i ? " " : "", qd->choices[i]);
		snprintf(d->rpc_default, sizeof(d->rpc_default), "%s", qd->default_target);
		snprintf(d->rpc_user, sizeof(d->rpc_user), "%s", qd->user);
		snprintf(d->reason, sizeof(d->reason), "ask by the qrexec rule at %s (choices: %s)",
			 qd->rule, d->rpc_choices);
		break;
	}
	}
	free(qd);
	return 0;
}
