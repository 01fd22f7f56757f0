/*
 * decide.c — the broker's one question to the policy: may SOURCE run SERVICE+ARG in TARGET?
 *
 * The rpc domain reads Qubes OS qrexec policy files (issue 7/7, item 3). Until that engine is
 * wired in here, every call is refused, and the refusal says why: default deny is the only
 * answer a missing policy may give.
 * Owns: turning a policy answer into a broker_decision. Never: allows a call no policy rule
 * allowed, or lets an error turn into an allow.
 */
#include <stdio.h>
#include <string.h>

#include "broker/broker.h"

void broker_decide(struct broker *b, const char *source, const char *target, const char *service,
		   const char *arg, struct broker_decision *d)
{
	(void)b;
	(void)source;
	(void)service;
	(void)arg;
	memset(d, 0, sizeof(*d));
	d->verdict = BROKER_DENY;
	snprintf(d->target, sizeof(d->target), "%s", target);
	snprintf(d->reason, sizeof(d->reason), "no rpc policy is loaded (default deny)");
}
