/*
 * decide.c — the broker's one question to the policy: may SOURCE run SERVICE+ARG in TARGET?
 *
 * The answer comes from the rpc domain of the policy engine (src/lib/policy: policy.yaml's rpc
 * rules first, then the Qubes qrexec policy.d files, plugged in as the rpc delegate by main.c;
 * a redirect there (target=) decides where the service runs). The policy file is re-read when it changes; a new file that does not load keeps
 * the old policy (and says so); no policy, or a broken one from the start, denies everything.
 * Owns: the broker's loaded policy and turning a pol_decision into a broker_decision.
 * Never: allows a call no policy rule allowed, or lets an error turn into an allow.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "broker/broker.h"
#include "log.h"
#include "policy/pol.h"

static struct pol_policy *loaded;
static struct timespec loaded_mtime;
static int loaded_exists = -1;

/* (Re)loads b->policy_file when it appeared, changed or vanished. Called under b->lock. */
static void refresh(struct broker *b)
{
	struct stat st;
	char err[1024];
	int exists = stat(b->policy_file, &st) == 0;

	if (exists == loaded_exists &&
	    (!exists || (st.st_mtim.tv_sec == loaded_mtime.tv_sec &&
			 st.st_mtim.tv_nsec == loaded_mtime.tv_nsec)))
		return;
	loaded_exists = exists;
	if (exists)
		loaded_mtime = st.st_mtim;
	struct pol_policy *p = exists ? pol_load_file(b->policy_file, err, sizeof(err)) : NULL;
	if (p == NULL && loaded != NULL && pol_ok(loaded) && exists) {
		log_warnx("rpc policy %s does not load (%s): keeping the previous one", b->policy_file,
			  err);
		return;
	}
	if (p == NULL) {
		if (!exists)
			snprintf(err, sizeof(err), "%s does not exist", b->policy_file);
		log_warnx("NO VALID POLICY: %s — every call is refused", err);
		p = pol_broken(b->policy_file, err);
	} else {
		log_info("rpc policy %s loaded (digest %s, %zu rpc rules)", b->policy_file,
			 pol_digest(p), pol_rule_count(p, POL_RPC));
	}
	pol_unref(loaded);
	loaded = p;
}

void broker_decide(struct broker *b, const char *source, const char *target, const char *service,
		   const char *arg, struct broker_decision *d)
{
	struct pol_request r;
	struct pol_decision pd;
	struct pol_policy *p;
	char err[256];

	memset(d, 0, sizeof(*d));
	d->verdict = BROKER_DENY;
	snprintf(d->target, sizeof(d->target), "%s", target);
	pthread_mutex_lock(&b->lock);
	refresh(b);
	p = pol_ref(loaded);
	pthread_mutex_unlock(&b->lock);
	char plus_arg[80];
	/* qrexec's form: the argument with its '+' ("+" alone when there is none) */
	snprintf(plus_arg, sizeof(plus_arg), "+%s", arg);
	pol_request_init(&r, POL_RPC);
	if (pol_request_set(&r, "service", service, err, sizeof(err)) != 0 ||
	    pol_request_set(&r, "argument", plus_arg, err, sizeof(err)) != 0 ||
	    pol_request_set(&r, "source", source, err, sizeof(err)) != 0 ||
	    /* like qrexec-client-vm: an empty target asks for the default one */
	    pol_request_set(&r, "target", target[0] ? target : "@default", err, sizeof(err)) != 0) {
		snprintf(d->reason, sizeof(d->reason), "request not understood by the policy: %s",
			 err);
		goto out;
	}
	pol_decide(p, &r, &pd);
	d->verdict = pd.verdict == POL_ALLOW ? BROKER_ALLOW
		     : pd.verdict == POL_ASK ? BROKER_ASK
					     : BROKER_DENY;
	snprintf(d->rule, sizeof(d->rule), "%s", pd.rule);
	snprintf(d->reason, sizeof(d->reason), "%s", pd.reason[0] ? pd.reason
						    : d->verdict == BROKER_ALLOW ? "allowed"
										: "denied");
	snprintf(d->digest, sizeof(d->digest), "%s", pd.digest);
	snprintf(d->choices, sizeof(d->choices), "%s", pd.rpc_choices);
	snprintf(d->default_target, sizeof(d->default_target), "%s", pd.rpc_default);
	if (d->verdict == BROKER_ALLOW && pd.rpc_target[0] != '\0') {
		/* the qrexec policy resolved the target (a redirect, @default -> target=) */
		if (pd.rpc_target[0] == '@' || strcmp(pd.rpc_target, "dom0") == 0 ||
		    strlen(pd.rpc_target) >= sizeof(d->target)) {
			d->verdict = BROKER_DENY;
			snprintf(d->reason, sizeof(d->reason),
				 "the policy sends this call to %s, which is not a compartment (secai "
				 "runs no services in dom0 and has no disposables)",
				 pd.rpc_target);
		} else {
			snprintf(d->target, sizeof(d->target), "%s", pd.rpc_target);
		}
	}
out:
	pol_request_free(&r);
	pol_unref(p);
}
