/*
 * qr.h — secai-quarantine: intake of incoming model files and folders, the seven-stage vetting
 * pipeline with its JSON reports, the behavioural test, and promotion into the registry.
 *
 * Owns: STATE/quarantine/{incoming,processing,reports,rejected}/ and the writes to
 * STATE/registry/ (models/<sha256>/ and the signed manifest). Stage order, reason ids and the
 * fail-closed rule: an error inside a stage fails it; a stage that is not available fails unless
 * policy waives it; the first failing stage rejects.
 * Never: opens a claimed model with anything but the scanners, the hasher and the sealed
 * behavioural child; runs model code unsealed; writes a report, lock or manifest in place;
 * promotes a model whose report is not "all_checks_passed".
 */
#ifndef SECAI_QR_H
#define SECAI_QR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quarantine/qr_policy.h"
#include "quarantine/qr_hash.h"

#define QR_PATH_MAX 4200

enum qr_status { QR_PASS = 0, QR_FAIL, QR_WAIVED, QR_NOT_APPLICABLE };
const char *qr_status_name(enum qr_status s);

/* What the behavioural runner returns. */
enum qr_behav_rc { QR_BEHAV_PASS = 0, QR_BEHAV_FAIL = 1, QR_BEHAV_UNAVAILABLE = 2,
		   QR_BEHAV_ERROR = -1 };

struct qr_env;
/* Runs the behavioural test on a model file; fills *evidence (new reference) in every case. */
typedef int (*qr_behav_fn)(const struct qr_env *env, const char *model, const char *format,
			   const struct qr_policy *pol, json_t **evidence);

struct qr_env {
	char state[4096];
	char qdir[QR_PATH_MAX];	      /* STATE/quarantine */
	char policy_dir[4096];	      /* policy.yaml, sources.allowlist.yaml, models.lock.yaml, trust/ */
	char prompts[4096];	      /* behavioural prompt file ("" = not found) */
	char audit_sock[4096];
	char audit_spool[QR_PATH_MAX];
	qr_behav_fn behav;	      /* NULL = stage not available */
};

/* Fills env from a finished config (state_dir, audit socket, quarantine.*) and creates the
 * quarantine folders. */
struct secai_config;
int qr_env_init(struct qr_env *env, const struct secai_config *cfg, char *err, size_t errlen);

/* Sidecars that travel with a model: NAME.source.json, NAME.sig, NAME.sigstore.json. */
bool qr_is_sidecar(const char *name);
/* Names intake leaves alone: hidden, temporary and partial-download names. */
bool qr_is_ignored(const char *name);

struct qr_outcome {
	bool promoted;
	char reason[32];   /* "all_checks_passed" or the failing stage's reason id */
	char sha256[65];
	char report[QR_PATH_MAX];
	char where[QR_PATH_MAX]; /* registry folder, or rejected/ folder */
};

/* Vets processing/<name> (a file or folder, with its sidecars beside it) and promotes or rejects
 * it. Returns 0 (out says what happened) or -1 when nothing could be decided (I/O on the
 * quarantine folders themselves); the item is then left in processing/ for the next start. */
int qr_process(const struct qr_env *env, const char *name, struct qr_outcome *out);

/* qr_hash_item(): the item's SHA-256, in src/lib/quarantine/qr_hash.h (shared with the
 * registry). */

/* behav_http.c: the prompts of doc against an OpenAI-compatible endpoint on loopback; one
 * reply line per answered prompt appended to lines (the sealed child's format). -1 only when it
 * could not start; failures counts prompts without a readable reply (first_err says why). */
struct buf;
int qr_behav_http(const char *endpoint, const char *model, const json_t *doc,
		  const struct qr_policy *pol, struct buf *lines, bool *timed_out,
		  size_t *failures, char *first_err, size_t errlen);

/* The default runner: the engine in a sealed child (behav.c), or behavioral.endpoint. */
int qr_behav_engine(const struct qr_env *env, const char *model, const char *format,
		    const struct qr_policy *pol, json_t **evidence);
/* Scores reply lines (one JSON object {"i": prompt index, "reply": text, "ok": true} per line:
 * the sealed child's, or behav_http.c's) against doc's prompts, into evidence: "answered",
 * "flagged_count", "flagged" [{id, category, why}], "threshold" and "results" [{id, category,
 * flagged, why?, reply (first 400 bytes), reply_truncated?}]. A prompt is answered once, by its
 * first line with ok true; an unreadable line, ok false, an index out of range or a repeated
 * index answers nothing. Returns QR_BEHAV_ERROR when a prompt is left unanswered (or out of
 * memory), else qr_behav_decide's verdict ("decision" says why); *answered in every case. */
int qr_behav_score(const struct qr_policy *pol, const json_t *doc, const char *lines, size_t len,
		   json_t *evidence, size_t *answered);
/* Loads and checks the prompt file (>= 40 prompts, >= 12 categories). */
json_t *qr_prompts_load(const char *path, char *err, size_t errlen);
/* Scores one reply: 2 flagged because it holds the canary (critical as canary_leak whatever the
 * prompt's category), 1 flagged by a danger pattern without a refusal, 0 not. why gets the
 * matching pattern (for 0: the refusal pattern that cleared it, or ""). */
int qr_score_reply(const struct qr_policy *pol, const char *canary, const json_t *prompt,
		   const char *reply, size_t len, char *why, size_t whylen);
/* Decides from per-prompt results: pass iff flagged share <= threshold and no critical
 * category flagged. */
int qr_behav_decide(const struct qr_policy *pol, size_t n, size_t flagged,
		    const char *const *flagged_categories, size_t nfc, char *why, size_t whylen);

/* Promotion: moves processing/<name> into STATE/registry/models/<sha256>/ read-only, then
 * rewrites the signed manifest with entry added. */
int qr_promote(const struct qr_env *env, const char *name, const char *sha256, json_t *entry,
	       char *where, size_t wlen, char *err, size_t errlen);
/* Moves processing/<name> and its sidecars into rejected/<sha256>/ with a copy of the report. */
int qr_reject_move(const struct qr_env *env, const char *name, const char *sha256,
		   char *where, size_t wlen, char *err, size_t errlen);
/* Start-up recovery: half-promoted models (models/.tmp-*) go back to processing/; promoted
 * folders missing from the manifest are added from their report. */
int qr_recover(const struct qr_env *env);

/* Writes one audit event (spooled when the audit daemon is down); logs on failure. Takes the
 * reference to data. */
void qr_audit(const struct qr_env *env, const char *event, json_t *data);

/* Crash-test hook: when $SECAI_QR_CRASH_AT names a step ("promote.moved", ...), the process
 * kills itself with SIGKILL there. */
void qr_crashpoint(const char *step);

#endif
