/*
 * qr_policy.h — the quarantine's outside-facing parsers: the URL canonicaliser and source
 * allow-list (sources.allowlist.yaml), the hash lock (models.lock.yaml) and the pipeline policy
 * (policy.yaml), all strict (pol_yaml: no anchors, aliases, tags or duplicate keys).
 *
 * Owns: what an acceptable origin URL is (canonical scheme, host and path; refused: userinfo,
 * percent-encoding, "." / ".." / empty segments, backslashes, non-ASCII or punycode hosts, ports
 * other than the scheme's default, control bytes), the allow-list match (exact host, path prefix
 * on a segment boundary), pins and blocked hashes, and the policy knobs with their tighten-only
 * rule (a value looser than the built-in default is a load error, never silently accepted).
 * Never: resolves a host name, touches the network, lowercases or decodes a path, or accepts a
 * file it did not understand completely.
 */
#ifndef SECAI_QR_POLICY_H
#define SECAI_QR_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#define QR_URL_MAX 2048
#define QR_NAME_MAX 256
#define QR_FILE_MAX (1u << 20) /* any of the policy files */

/* ---- URLs and the allow-list ---- */
struct qr_url {
	char scheme[8];	       /* "https" or "http" */
	char host[256];	       /* lowercase ASCII, no trailing dot */
	char path[QR_URL_MAX]; /* starts with '/', case kept */
	char canon[QR_URL_MAX + 300]; /* scheme://host/path (query and fragment dropped) */
};

/* Canonicalises url into *out. Returns 0, or -1 with why[] filled (the URL is refused). */
int qr_url_canon(const char *url, struct qr_url *out, char *why, size_t whylen);

struct qr_allowlist {
	struct qr_url *e;
	size_t n;
};
/* Loads sources.allowlist.yaml: `sources: [URL prefix, ...]` (an empty list allows nothing).
 * A missing file (ENOENT) is an empty list when missing_ok. -1 with "file:line: why". */
int qr_allowlist_load_buffer(const char *name, const char *buf, size_t len,
			     struct qr_allowlist *out, char *err, size_t errlen);
int qr_allowlist_load(const char *path, bool missing_ok, struct qr_allowlist *out, char *err,
		      size_t errlen);
void qr_allowlist_free(struct qr_allowlist *a);
/* Index of the first entry allowing u (same scheme, same host, path prefix at a '/' boundary),
 * or -1. */
long qr_allowlist_match(const struct qr_allowlist *a, const struct qr_url *u);

/* ---- the lock file ---- */
struct qr_pin {
	char name[QR_NAME_MAX];
	char sha256[65];
};
struct qr_lock {
	struct qr_pin *pins;
	size_t n_pins;
	struct qr_pin *blocked; /* name holds the reason */
	size_t n_blocked;
};
/* models.lock.yaml: `models: [{name, sha256}]`, `blocked: [{sha256, reason}]`. */
int qr_lock_load_buffer(const char *name, const char *buf, size_t len, struct qr_lock *out,
			char *err, size_t errlen);
int qr_lock_load(const char *path, bool missing_ok, struct qr_lock *out, char *err,
		 size_t errlen);
void qr_lock_free(struct qr_lock *l);
/* The pin for a name (NULL if none), whether a hash is pinned under any name, or blocked. */
const struct qr_pin *qr_lock_pin_for(const struct qr_lock *l, const char *name);
bool qr_lock_has_hash(const struct qr_lock *l, const char *sha256);
const struct qr_pin *qr_lock_blocked(const struct qr_lock *l, const char *sha256);
/* Adds a pin (in memory) and rewrites path atomically. Returns 0 or -1 (errno). */
int qr_lock_add_and_write(struct qr_lock *l, const char *name, const char *sha256,
			  const char *path);
/* The YAML text of a lock (what qr_lock_add_and_write writes; loads back to the same). */
int qr_lock_format(const struct qr_lock *l, char **out, size_t *len);

/* ---- the pipeline policy ---- */
enum qr_unpinned { QR_UNPINNED_REJECT = 0, QR_UNPINNED_PIN_LOCAL };
enum qr_provenance { QR_PROV_OPTIONAL = 0, QR_PROV_REQUIRED };

#define QR_MAX_PATTERNS 128
#define QR_MAX_CATEGORIES 64
#define QR_BEHAV_THRESHOLD_DEFAULT 0.3
#define QR_STATIC_SCORE_DEFAULT 0.5

struct qr_policy {
	enum qr_unpinned unpinned;     /* default: pin on first use for local imports */
	enum qr_provenance provenance; /* default: optional */
	unsigned waive;		       /* bit per stage (1u << QR_STAGE_*) that may be unavailable */
	double static_max_score;       /* <= 0.5 */
	bool static_reject_warnings;   /* any WARN of the static scan fails the stage */
	double behav_threshold;	       /* <= 0.3 */
	unsigned behav_max_tokens;     /* 1..512 (default 48) */
	unsigned behav_timeout;	       /* seconds for the whole test, 1..3600 (default 300) */
	unsigned behav_req_timeout;    /* seconds for one endpoint request, 1..3600 (default 60;
					  never more than what is left of behav_timeout) */
	unsigned behav_seed;	       /* default 1234 */
	char behav_endpoint[64];       /* "" = the engine in a sealed child; else an OpenAI-
					  compatible server on loopback: http://127.0.0.1:PORT */
	char *danger[QR_MAX_PATTERNS]; /* lowercase substrings a reply must not contain */
	size_t n_danger;
	char *refusal[QR_MAX_PATTERNS]; /* lowercase substrings that mark a refusal */
	size_t n_refusal;
	char *critical[QR_MAX_CATEGORIES]; /* categories of which no prompt may be flagged */
	size_t n_critical;
	char digest[65]; /* SHA-256 of the file bytes ("" for the defaults) */
};

/* Stage numbers (1-based as in the issue) and reason ids. */
enum qr_stage {
	QR_STAGE_SOURCE = 1,
	QR_STAGE_FORMAT,
	QR_STAGE_INTEGRITY,
	QR_STAGE_PROVENANCE,
	QR_STAGE_STATIC,
	QR_STAGE_BEHAVIORAL,
	QR_STAGE_FOLDER,
	QR_NSTAGES = 7
};
/* "source_policy", "format_gate", "hash_mismatch", "provenance", "static_scan",
 * "behavioral_test", "folder_scan"; NULL when out of range. */
const char *qr_stage_reason(int stage);
/* Stage number for a reason id, or -1. */
int qr_stage_parse(const char *reason);

void qr_policy_defaults(struct qr_policy *p);
/* Loads policy.yaml over the defaults; refuses unknown keys and looser thresholds. */
int qr_policy_load_buffer(const char *name, const char *buf, size_t len, struct qr_policy *p,
			  char *err, size_t errlen);
int qr_policy_load(const char *path, bool missing_ok, struct qr_policy *p, char *err,
		   size_t errlen);
void qr_policy_free(struct qr_policy *p);

/* behavioral.endpoint: exactly http://127.0.0.1:PORT or http://[::1]:PORT (PORT 1..65535,
 * no leading zero, nothing after): the prompts never leave the machine, and no name is
 * resolved. 0, or -1 with err. */
int qr_endpoint_check(const char *s, char *err, size_t errlen);

/* The reply text of an OpenAI chat completion body: choices[0].message.content (a string), from
 * strict JSON (duplicate keys, trailing bytes, invalid UTF-8 refused; at most QR_REPLY_BODY_MAX
 * bytes). *content is a malloc'd copy. 0, or -1 with err saying what was wrong. */
#define QR_REPLY_BODY_MAX (1u << 20)
int qr_reply_content(const char *body, size_t len, char **content, char *err, size_t errlen);

/* Lowercase ASCII substring search (the reply-scoring primitive). */
bool qr_contains_ci(const char *hay, size_t hlen, const char *needle_lower);

#endif
