/*
 * broker.h — secai-broker: calls between compartments, only when the rpc policy allows.
 *
 * main.c     options, compartments, one listening socket per compartment, the accept loop
 * call.c     one call: request, decision, the service in the target's sandbox, streaming
 * ask.c      an ask answered by a person through `securectl ask-agent`
 * decide.c   the decision (the rpc domain of src/lib/policy: policy.yaml's rpc rules, then the
 *            Qubes qrexec policy.d through the qrexec delegate; both re-read on change)
 * The caller is identified by the socket it connected to (each compartment sees only its own),
 * never by what it says.
 */
#ifndef SECAI_BROKER_H
#define SECAI_BROKER_H

#include <pthread.h>

#include "compart.h"

struct broker {
	char state_dir[4096];
	char bin_dir[4096];	/* mounted at /run/secai/bin in every sandbox (secai-call) */
	char audit_socket[4200];
	char audit_spool[4200];
	char policy_dir[4200];	/* Qubes qrexec policy.d (the rpc delegate reads it) */
	char compat_dir[4200];	/* its !compat-4.0 folder (Qubes: /etc/qubes-rpc/policy) */
	char policy_file[4200]; /* policy.yaml (appliance.yaml policy.file) */
	char ask_socket[4200];	/* the prompt agent (securectl ask-agent): STATE/run/ask.sock */
	long long ask_timeout;	/* seconds it has to answer */
	int ask_fallback_default; /* no agent: take the policy's default_target (else deny) */
	struct compart_set *set;
	pthread_mutex_t lock;
	int active;		/* calls in progress */
	int stopping;
};

enum broker_verdict { BROKER_DENY = 0, BROKER_ALLOW, BROKER_ASK };

struct broker_decision {
	enum broker_verdict verdict;
	char target[COMPART_NAME_MAX]; /* where the service runs (policy may redirect) */
	char reason[256];	       /* for the caller, the log and the audit */
	char rule[320];		       /* the deciding rule (file:line), when one decided */
	char digest[65];	       /* the policy's digest */
	char choices[1024];	       /* ask: the targets on offer (space-separated) */
	char default_target[96];       /* ask: the pre-selected one, "" = none */
	int asked;		       /* a person (or the ask fallback) decided */
};

/* decide.c: the rpc policy's answer for one call. Never fails open. */
void broker_decide(struct broker *b, const char *source, const char *target, const char *service,
		   const char *arg, struct broker_decision *d);

/* ask.c: turns an ask into allow (d->target = the chosen one) or deny, through the prompt
 * agent or broker.ask_fallback. */
void broker_ask(struct broker *b, const char *source, const char *service, const char *arg,
		struct broker_decision *d);

/* call.c: serves one accepted connection from compartment source (takes the fd). */
void broker_call(struct broker *b, int fd, const struct compart *source);

#endif
