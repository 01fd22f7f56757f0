/*
 * qrexec_system.c — the "system information" a qrexec policy is evaluated against: each qube
 * (in secai, each compartment; dom0 is the host) with its type, tags, default_dispvm,
 * template_for_dispvms and power state.
 *
 * Owns: building it from Qubes' GetSystemInfo JSON shape and by hand, bounds on its size.
 * Never: accepts a name, type or tag that does not fit, or a qube twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/qrexec.h"

const struct qrx_qube *qrx_system_find(const struct qrx_system *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->q[i].name, name) == 0)
			return &s->q[i];
	return NULL;
}

int qrx_system_add(struct qrx_system *s, const struct qrx_qube *q, char *err, size_t errlen)
{
	struct qrx_qube *nq;

	if (q->name[0] == '\0' || memchr(q->name, '\0', sizeof(q->name)) == NULL) {
		snprintf(err, errlen, "a qube without a valid name");
		return -1;
	}
	if (qrx_system_find(s, q->name) != NULL) {
		snprintf(err, errlen, "qube '%s' given twice", q->name);
		return -1;
	}
	if (s->n >= QRX_MAX_DOMAINS) {
		snprintf(err, errlen, "more than %d qubes", QRX_MAX_DOMAINS);
		return -1;
	}
	nq = realloc(s->q, (s->n + 1) * sizeof(*nq));
	if (nq == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->q = nq;
	s->q[s->n++] = *q;
	return 0;
}

static int copy_name(char *dst, const char *src, const char *what, const char *qube, char *err,
		     size_t errlen)
{
	size_t n = strlen(src);

	if (n >= QRX_NAME_MAX) {
		snprintf(err, errlen, "qube '%s': %s longer than %d bytes", qube, what,
			 QRX_NAME_MAX - 1);
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int qrx_system_from_json(const json_t *sys, struct qrx_system *out, char *err, size_t errlen)
{
	const json_t *doms = json_object_get(sys, "domains");
	const char *name;
	json_t *v;
	struct qrx_system s = {0};

	if (!json_is_object(doms)) {
		snprintf(err, errlen, "system: \"domains\" must be an object");
		return -1;
	}
	json_object_foreach((json_t *)doms, name, v) {
		struct qrx_qube q;
		const json_t *tags = json_object_get(v, "tags"), *t;
		const json_t *type = json_object_get(v, "type");
		const json_t *dd = json_object_get(v, "default_dispvm");
		const json_t *ps = json_object_get(v, "power_state");
		size_t i;

		memset(&q, 0, sizeof(q));
		if (!json_is_object(v) || !json_is_string(type) || (tags && !json_is_array(tags)) ||
		    (dd && !json_is_null(dd) && !json_is_string(dd))) {
			snprintf(err, errlen, "system: qube '%s' is malformed", name);
			goto fail;
		}
		if (copy_name(q.name, name, "name", name, err, errlen) ||
		    copy_name(q.type, json_string_value(type), "type", name, err, errlen) ||
		    (json_is_string(dd) &&
		     copy_name(q.default_dispvm, json_string_value(dd), "default_dispvm", name, err,
			       errlen)))
			goto fail;
		json_array_foreach(tags, i, t) {
			if (!json_is_string(t) || q.ntags >= QRX_MAX_TAGS) {
				snprintf(err, errlen, "system: qube '%s': bad or too many tags", name);
				goto fail;
			}
			if (copy_name(q.tags[q.ntags++], json_string_value(t), "tag", name, err,
				      errlen))
				goto fail;
		}
		q.template_for_dispvms = json_is_true(json_object_get(v, "template_for_dispvms"));
		q.running = json_is_string(ps) && strcmp(json_string_value(ps), "Running") == 0;
		if (qrx_system_add(&s, &q, err, errlen) != 0)
			goto fail;
	}
	*out = s;
	return 0;
fail:
	qrx_system_free(&s);
	return -1;
}

void qrx_system_free(struct qrx_system *s)
{
	free(s->q);
	s->q = NULL;
	s->n = 0;
}
