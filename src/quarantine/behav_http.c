/*
 * behav_http.c — stage 6 against an OpenAI-compatible server on loopback (policy
 * behavioral.endpoint) instead of the engine in a sealed child: the same prompts, each POSTed
 * to ENDPOINT/v1/chat/completions (system + user message, temperature 0, the policy's seed and
 * token budget), each reply written as the child's reply line would be, so scoring and the
 * decision are exactly the engine path's (behav.c).
 *
 * Owns: the HTTP exchange and its time budgets: behavioral.request_timeout_seconds per request
 * (connection included), never more than what is left of behavioral.timeout_seconds for the
 * stage; a request that runs out of either ends the exchange (the stage then fails).
 * Never: talks to anything but the loopback endpoint the policy names (http only, no proxy, no
 * redirects; the URL was checked at policy load); counts a prompt whose reply it could not read
 * as answered; reads more than QR_REPLY_BODY_MAX bytes of a reply.
 */
#include "quarantine/qr.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "json.h"
#include "log.h"

struct body {
	struct buf b;
	bool too_big;
};

static size_t body_write(char *p, size_t sz, size_t nm, void *arg)
{
	struct body *o = arg;
	size_t n = sz * nm;

	if (o->b.len + n > QR_REPLY_BODY_MAX) {
		o->too_big = true;
		return 0;
	}
	return buf_append(&o->b, p, n) == 0 ? n : 0;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int qr_behav_http(const char *endpoint, const char *model, const json_t *doc,
		  const struct qr_policy *pol, struct buf *lines, bool *timed_out,
		  size_t *failures, char *first_err, size_t errlen)
{
	const json_t *prompts = json_object_get(doc, "prompts"), *p;
	const char *sys = json_get_string(doc, "system");
	const double t0 = now_s();
	struct curl_slist *hdr = NULL;
	char url[128];
	size_t i;
	CURL *c;

	*timed_out = false;
	*failures = 0;
	first_err[0] = '\0';
	snprintf(url, sizeof(url), "%s/v1/chat/completions", endpoint);
	c = curl_easy_init();
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	if (c == NULL || hdr == NULL) {
		snprintf(first_err, errlen, "cannot initialise libcurl");
		curl_slist_free_all(hdr);
		if (c != NULL)
			curl_easy_cleanup(c);
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	json_array_foreach(prompts, i, p) {
		struct body o = {BUF_INIT, false};
		const double left = (double)pol->behav_timeout - (now_s() - t0);
		/* one request gets its own budget, but never more than the stage has left */
		const bool stage_binds = left <= (double)pol->behav_req_timeout;
		const long ms = (long)((stage_binds ? left : (double)pol->behav_req_timeout) * 1000.0);
		char why[256], perr[200], *content = NULL, *req_text;
		long status = 0;
		CURLcode cc;
		json_t *req;

		if (ms <= 0) {
			*timed_out = true;
			break;
		}
		req = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:f, s:I, s:I, s:b}", "model",
				model, "messages", "role", "system", "content", sys ? sys : "", "role",
				"user", "content", json_get_string(p, "prompt"), "temperature", 0.0,
				"seed", (json_int_t)pol->behav_seed, "max_tokens",
				(json_int_t)pol->behav_max_tokens, "stream", 0);
		req_text = req ? json_dumps(req, JSON_COMPACT) : NULL;
		json_decref(req);
		if (req_text == NULL) {
			(*failures)++;
			snprintf(first_err, errlen, "out of memory");
			break;
		}
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req_text);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &o);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
		cc = curl_easy_perform(c);
		free(req_text);
		if (cc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (cc == CURLE_OPERATION_TIMEDOUT && stage_binds) {
			*timed_out = true;
			buf_free(&o.b);
			log_warnx("behavioural test via %s: prompt %zu: the stage's %u s are used up",
				  endpoint, i + 1, pol->behav_timeout);
			break;
		}
		if (cc == CURLE_OPERATION_TIMEDOUT)
			snprintf(why, sizeof(why),
				 "prompt %zu: no reply within %u s (behavioral.request_timeout_seconds)",
				 i + 1, pol->behav_req_timeout);
		else if (cc != CURLE_OK)
			snprintf(why, sizeof(why), "prompt %zu: %s", i + 1,
				 o.too_big ? "reply larger than 1 MiB" : curl_easy_strerror(cc));
		else if (status != 200)
			snprintf(why, sizeof(why), "prompt %zu: HTTP status %ld", i + 1, status);
		else if (qr_reply_content((const char *)o.b.data, o.b.len, &content, perr,
					  sizeof(perr)) != 0)
			snprintf(why, sizeof(why), "prompt %zu: %s", i + 1, perr);
		else {
			json_t *line = json_pack("{s:I, s:s, s:b}", "i", (json_int_t)i, "reply",
						 content, "ok", 1);
			char *s = line ? json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

			if (s == NULL || buf_append(lines, s, strlen(s)) != 0 ||
			    buf_append(lines, "\n", 1) != 0)
				snprintf(why, sizeof(why), "prompt %zu: out of memory", i + 1);
			else
				why[0] = '\0';
			free(s);
			json_decref(line);
			free(content);
		}
		buf_free(&o.b);
		if (why[0] != '\0') {
			(*failures)++;
			if (first_err[0] == '\0')
				snprintf(first_err, errlen, "%s", why);
			log_warnx("behavioural test via %s: %s", endpoint, why);
			/* a server that hangs would only use up the stage's budget: stop here */
			if (cc == CURLE_OPERATION_TIMEDOUT)
				break;
		}
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return 0;
}
