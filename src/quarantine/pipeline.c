/*
 * pipeline.c — the seven stages, in order, and the report they write.
 *
 * Owns: qr_process(): hashing the item, running source policy, format gate, integrity,
 * provenance, static scan, behavioural test and folder scan, rewriting
 * reports/<sha256>.json atomically after every stage, one audit event per stage, then promotion
 * or rejection.
 * Never: continues past a failing stage, treats an error or an unavailable stage as a pass
 * (unless policy waives that stage), loosens a threshold, or follows a symlink.
 */
#include "quarantine/qr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit_client.h"
#include "buf.h"
#include "config.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "scan/folder.h"
#include "scan/formatgate.h"
#include "scan/scan.h"
#include "scan/sig.h"
#include "scan/wstats.h"
#include "sha256.h"

const char *qr_status_name(enum qr_status s)
{
	static const char *const n[] = {"pass", "fail", "waived", "not_applicable"};
	return (unsigned)s < 4 ? n[s] : "?";
}

void qr_crashpoint(const char *step)
{
	const char *at = getenv("SECAI_QR_CRASH_AT");

	if (at != NULL && strcmp(at, step) == 0)
		kill(getpid(), SIGKILL);
}

void qr_audit(const struct qr_env *env, const char *event, json_t *data)
{
	char err[256];

	if (data == NULL)
		log_warnx("audit %s: out of memory building the event", event);
	else if (audit_emit(env->audit_sock, env->audit_spool, event, data, err, sizeof(err)) < 0)
		log_warnx("audit %s: %s", event, err);
	json_decref(data);
}

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

bool qr_is_sidecar(const char *name)
{
	return ends_with(name, ".source.json") || ends_with(name, ".sig") ||
	       ends_with(name, ".sigstore.json");
}

bool qr_is_ignored(const char *name)
{
	static const char *const tmp_suffixes[] = {".tmp", ".part", ".partial", ".crdownload",
						   ".download", "~", NULL};
	if (name[0] == '.' || name[0] == '\0' || strstr(name, ".tmp.") != NULL)
		return true;
	for (size_t i = 0; tmp_suffixes[i]; i++)
		if (ends_with(name, tmp_suffixes[i]))
			return true;
	return false;
}

int qr_env_init(struct qr_env *env, const struct secai_config *cfg, char *err, size_t errlen)
{
	static const char *const sub[] = {"incoming", "processing", "reports", "rejected"};
	char p[QR_PATH_MAX + 32];

	memset(env, 0, sizeof(*env));
	snprintf(env->state, sizeof(env->state), "%s", cfg->state_dir);
	snprintf(env->qdir, sizeof(env->qdir), "%s/quarantine", cfg->state_dir);
	snprintf(env->policy_dir, sizeof(env->policy_dir), "%s", cfg->quarantine.policy_dir);
	snprintf(env->prompts, sizeof(env->prompts), "%s", cfg->quarantine.prompts);
	snprintf(env->audit_sock, sizeof(env->audit_sock), "%s", cfg->audit.socket);
	snprintf(env->audit_spool, sizeof(env->audit_spool), "%s/audit/spool", cfg->state_dir);
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", env->qdir, sub[i]);
		if (fs_mkdir_p(p, 0700) != 0) {
			snprintf(err, errlen, "%s: %s", p, strerror(errno));
			return -1;
		}
	}
	snprintf(p, sizeof(p), "%s/registry/models", cfg->state_dir);
	if (fs_mkdir_p(p, 0700) != 0) {
		snprintf(err, errlen, "%s: %s", p, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- the report ---- */

struct run {
	const struct qr_env *env;
	const char *name;
	char path[QR_PATH_MAX];
	char report_path[QR_PATH_MAX];
	bool folder;
	char sha256[65];
	uint64_t size;
	size_t nfiles;
	json_t *report; /* the document */
	json_t *source; /* sidecar, or {"kind":"local"} */
	struct qr_policy pol;
	struct qr_allowlist allow;
	struct qr_lock lock;
	char policy_err[512];
	struct scan_report sr;
	bool scanned;
	char format[32];
	struct wstats ws;
};

static void now_iso(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int report_save(struct run *R)
{
	char *text = json_dumps(R->report, JSON_INDENT(1));
	int rc;

	if (text == NULL)
		return -1;
	rc = fs_atomic_write(R->report_path, text, strlen(text), 0644);
	free(text);
	if (rc != 0)
		log_warn("report %s", R->report_path);
	return rc;
}

/* Records a stage: status, evidence (stolen), its hash; saves the report; one audit event. */
static int stage_done(struct run *R, int stage, enum qr_status st, json_t *evidence, double ms)
{
	struct buf b = BUF_INIT;
	uint8_t d[32];
	char hex[65] = "";
	json_t *s;

	if (evidence == NULL)
		evidence = json_object();
	if (json_canon_append(&b, evidence) == 0 && sha256_digest(b.data, b.len, d) == 0)
		hex_encode(d, 32, hex);
	buf_free(&b);
	s = json_pack("{s:i, s:s, s:s, s:o, s:s, s:f}", "index", stage, "stage",
		      qr_stage_reason(stage), "status", qr_status_name(st), "evidence", evidence,
		      "evidence_sha256", hex, "ms", ms);
	if (s == NULL || json_array_append_new(json_object_get(R->report, "stages"), s) != 0)
		return -1;
	log_info("%s %.12s stage %d %s: %s", R->name, R->sha256, stage, qr_stage_reason(stage),
		 qr_status_name(st));
	qr_audit(R->env, "quarantine.stage",
		 json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "sha256", R->sha256, "name", R->name,
			   "index", stage, "stage", qr_stage_reason(stage), "status",
			   qr_status_name(st), "evidence_sha256", hex));
	return report_save(R);
}

static json_t *findings_json(const struct scan_report *r, bool (*pick)(const char *reason),
			     size_t max)
{
	json_t *a = json_array();
	size_t k = 0;

	for (size_t i = 0; a && i < r->n && k < max; i++) {
		const struct scan_finding *f = &r->items[i];
		if (!pick(f->reason))
			continue;
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:s, s:s, s:s}", "reason", f->reason, "severity",
				 scan_severity_name(f->severity), "file", f->file, "subject",
				 f->subject, "message", f->message));
		k++;
	}
	return a;
}

static bool is_static_reason(const char *r)
{
	return strncmp(r, "wstats.", 7) == 0 || strncmp(r, "meta.", 5) == 0 ||
	       strncmp(r, "payload.", 8) == 0;
}
static bool is_folder_reason(const char *r)
{
	return strncmp(r, "folder.", 7) == 0;
}
static bool is_gate_reason(const char *r)
{
	return !is_static_reason(r) && !is_folder_reason(r);
}

static bool any_at_least(const struct scan_report *r, bool (*pick)(const char *),
			 enum scan_severity sev)
{
	for (size_t i = 0; i < r->n; i++)
		if (pick(r->items[i].reason) && r->items[i].severity >= sev)
			return true;
	return false;
}

static bool any_error(const struct scan_report *r, bool (*pick)(const char *))
{
	for (size_t i = 0; i < r->n; i++)
		if (pick(r->items[i].reason) && r->items[i].severity == SCAN_SEV_ERROR)
			return true;
	return false;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ---- stages ---- */

static bool is_local(const struct run *R)
{
	const char *k = json_get_string(R->source, "kind");
	return k != NULL && strcmp(k, "local") == 0;
}

static enum qr_status st_source(struct run *R, json_t **ev)
{
	const char *url = json_get_string(R->source, "url");
	struct qr_url u;
	char why[256];
	long m;

	*ev = json_pack("{s:O}", "source", R->source);
	if (R->policy_err[0]) {
		json_object_set_new(*ev, "error", json_string(R->policy_err));
		return QR_FAIL;
	}
	if (is_local(R) && url == NULL) {
		json_object_set_new(*ev, "decision", json_string("local import: no URL to check"));
		return QR_PASS;
	}
	if (url == NULL) {
		json_object_set_new(*ev, "error", json_string("the source sidecar has no url"));
		return QR_FAIL;
	}
	if (qr_url_canon(url, &u, why, sizeof(why)) != 0) {
		json_object_set_new(*ev, "error", json_string(why));
		return QR_FAIL;
	}
	json_object_set_new(*ev, "canonical", json_string(u.canon));
	m = qr_allowlist_match(&R->allow, &u);
	if (m < 0) {
		json_object_set_new(*ev, "error",
				    json_string("origin is not in sources.allowlist.yaml"));
		return QR_FAIL;
	}
	json_object_set_new(*ev, "allowed_by", json_string(R->allow.e[m].canon));
	return QR_PASS;
}

static enum qr_status st_format(struct run *R, json_t **ev)
{
	enum scan_format fmt = SCAN_FMT_UNKNOWN;
	struct stat st;
	int rc;

	scan_report_init(&R->sr);
	memset(&R->ws, 0, sizeof(R->ws));
	R->scanned = true;
	if (lstat(R->path, &st) == 0 && S_ISREG(st.st_mode)) {
		rc = scan_file_stats(R->path, 0, &R->sr, &fmt, &R->ws);
		snprintf(R->format, sizeof(R->format), "%s", scan_format_name(fmt));
	} else {
		rc = scan_path(R->path, &R->sr);
		snprintf(R->format, sizeof(R->format), "%s", S_ISDIR(st.st_mode) ? "folder" : "special");
	}
	*ev = json_pack("{s:s, s:I, s:o}", "format", R->format, "files", (json_int_t)R->sr.n_files,
			"findings", findings_json(&R->sr, is_gate_reason, 64));
	if (rc < 0 && !R->sr.any) {
		json_object_set_new(*ev, "error", json_string("scan failed (out of memory or I/O)"));
		return QR_FAIL;
	}
	if (any_at_least(&R->sr, is_gate_reason, SCAN_SEV_REJECT) ||
	    any_error(&R->sr, is_gate_reason) || R->sr.n_dropped > 0)
		return QR_FAIL;
	if (!R->folder && fmt != SCAN_FMT_GGUF && fmt != SCAN_FMT_SAFETENSORS)
		return QR_FAIL;
	return QR_PASS;
}

static enum qr_status st_integrity(struct run *R, json_t **ev)
{
	const struct qr_pin *b = qr_lock_blocked(&R->lock, R->sha256);
	const struct qr_pin *p = qr_lock_pin_for(&R->lock, R->name);
	char lockpath[QR_PATH_MAX];

	*ev = json_pack("{s:s, s:I}", "sha256", R->sha256, "size", (json_int_t)R->size);
	if (b != NULL) {
		json_object_set_new(*ev, "error", json_string("hash is blocked in models.lock.yaml"));
		json_object_set_new(*ev, "blocked_reason", json_string(b->name));
		return QR_FAIL;
	}
	if (p != NULL && strcmp(p->sha256, R->sha256) != 0) {
		json_object_set_new(*ev, "error", json_string("hash differs from the pin"));
		json_object_set_new(*ev, "pinned", json_string(p->sha256));
		return QR_FAIL;
	}
	if (p != NULL || qr_lock_has_hash(&R->lock, R->sha256)) {
		json_object_set_new(*ev, "pin", json_string("matches models.lock.yaml"));
		return QR_PASS;
	}
	if (R->pol.unpinned != QR_UNPINNED_PIN_LOCAL || !is_local(R)) {
		json_object_set_new(*ev, "error",
				    json_string(is_local(R) ? "unpinned and policy says reject"
							    : "unpinned remote model (pin on first "
							      "use is for local imports only)"));
		return QR_FAIL;
	}
	snprintf(lockpath, sizeof(lockpath), "%s/models.lock.yaml", R->env->policy_dir);
	if (fs_mkdir_p(R->env->policy_dir, 0700) != 0 ||
	    qr_lock_add_and_write(&R->lock, R->name, R->sha256, lockpath) != 0) {
		json_object_set_new(*ev, "error", json_string("cannot write models.lock.yaml"));
		return QR_FAIL;
	}
	json_object_set_new(*ev, "pin", json_string("pinned on first use (local import)"));
	return QR_PASS;
}

static enum qr_status st_provenance(struct run *R, json_t **ev)
{
	char trust[QR_PATH_MAX], sigp[QR_PATH_MAX], bundlep[QR_PATH_MAX], folder_sig[QR_PATH_MAX];
	const char *kind = NULL, *sig = NULL;
	struct dirent **names = NULL;
	json_t *tried = json_array();
	enum qr_status out = QR_FAIL;
	int n;

	*ev = json_pack("{s:s, s:o}", "policy",
			R->pol.provenance == QR_PROV_REQUIRED ? "required" : "optional", "tried",
			tried);
	snprintf(sigp, sizeof(sigp), "%s/processing/%s.sig", R->env->qdir, R->name);
	snprintf(bundlep, sizeof(bundlep), "%s/processing/%s.sigstore.json", R->env->qdir, R->name);
	snprintf(folder_sig, sizeof(folder_sig), "%s/model.sig", R->path);
	if (R->folder && access(folder_sig, F_OK) == 0)
		kind = "openssf-model-signing", sig = folder_sig;
	else if (!R->folder && access(bundlep, F_OK) == 0)
		kind = "sigstore-bundle", sig = bundlep;
	else if (!R->folder && access(sigp, F_OK) == 0)
		kind = "cosign-blob", sig = sigp;
	if (sig == NULL) {
		json_object_set_new(*ev, "signed", json_false());
		if (R->pol.provenance == QR_PROV_REQUIRED) {
			json_object_set_new(*ev, "error",
					    json_string("no signature and policy requires one"));
			return QR_FAIL;
		}
		return QR_PASS;
	}
	json_object_set_new(*ev, "signed", json_true());
	json_object_set_new(*ev, "method", json_string(kind));
	snprintf(trust, sizeof(trust), "%s/trust", R->env->policy_dir);
	n = scandir(trust, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char key[QR_PATH_MAX + 256];
		struct scan_report r;
		enum sig_status s = SIG_ERROR;

		if (out == QR_PASS || !ends_with(names[i]->d_name, ".pub")) {
			free(names[i]);
			continue;
		}
		snprintf(key, sizeof(key), "%s/%s", trust, names[i]->d_name);
		scan_report_init(&r);
		if (strcmp(kind, "cosign-blob") == 0)
			s = sig_verify_blob(key, sig, R->path, &r);
		else if (strcmp(kind, "sigstore-bundle") == 0)
			s = sig_verify_bundle(key, sig, R->path, &r);
		else {
			struct sig_model_opts o = {.key_path = key, .sig_path = sig,
						   .model_path = R->path};
			s = sig_verify_model(&o, &r);
		}
		json_array_append_new(tried, json_pack("{s:s, s:s}", "key", names[i]->d_name,
						       "result",
						       s == SIG_VERIFIED ? "verified"
						       : s == SIG_ERROR	 ? "error"
									 : "not_verified"));
		if (s == SIG_VERIFIED) {
			out = QR_PASS;
			json_object_set_new(*ev, "verified_by", json_string(names[i]->d_name));
		}
		scan_report_free(&r);
		free(names[i]);
	}
	free(names);
	if (out != QR_PASS)
		json_object_set_new(*ev, "error",
				    json_string(n < 0 ? "no trust folder: the signature cannot be "
							"checked"
						      : "no trusted key verifies the signature"));
	return out;
}

static enum qr_status st_static(struct run *R, json_t **ev)
{
	enum qr_status st = QR_PASS;

	*ev = json_pack("{s:o, s:f}", "findings", findings_json(&R->sr, is_static_reason, 64),
			"max_score", R->pol.static_max_score);
	if (R->ws.n > 0) {
		json_object_set_new(*ev, "score", json_real(R->ws.score));
		json_object_set_new(*ev, "tensors", json_integer((json_int_t)R->ws.n));
		if (R->ws.score > R->pol.static_max_score)
			st = QR_FAIL;
	} else if (!R->folder) {
		json_object_set_new(*ev, "error", json_string("no weight statistics were computed"));
		st = QR_FAIL;
	}
	if (any_at_least(&R->sr, is_static_reason, SCAN_SEV_REJECT) ||
	    any_error(&R->sr, is_static_reason))
		st = QR_FAIL;
	if (R->pol.static_reject_warnings && any_at_least(&R->sr, is_static_reason, SCAN_SEV_WARN))
		st = QR_FAIL;
	return st;
}

static enum qr_status st_behav(struct run *R, json_t **ev)
{
	int rc;

	if (R->env->behav == NULL) {
		*ev = json_pack("{s:s}", "error", "behavioural test not available in this build");
		rc = QR_BEHAV_UNAVAILABLE;
	} else {
		*ev = NULL;
		rc = R->env->behav(R->env, R->path, R->folder ? "folder" : R->format, &R->pol, ev);
		if (*ev == NULL)
			*ev = json_object();
	}
	if (rc == QR_BEHAV_PASS)
		return QR_PASS;
	if (rc == QR_BEHAV_UNAVAILABLE) {
		json_object_set_new(*ev, "available", json_false());
		if (R->pol.waive & (1u << QR_STAGE_BEHAVIORAL)) {
			json_object_set_new(*ev, "waived_by", json_string("policy.yaml waive"));
			return QR_WAIVED;
		}
	}
	return QR_FAIL;
}

static enum qr_status st_folder(struct run *R, json_t **ev)
{
	json_t *weights;

	if (!R->folder) {
		*ev = json_pack("{s:s}", "note", "single file: no folder to scan");
		return QR_NOT_APPLICABLE;
	}
	weights = json_array();
	*ev = json_pack("{s:o, s:o}", "findings", findings_json(&R->sr, is_folder_reason, 64),
			"weights", weights);
	/* every weight file: its own hash against the blocked list (stages 2 and 5 covered it in
	 * the folder scan above) */
	for (size_t i = 0; i < R->sr.n_files; i++) {
		const struct scan_file *f = &R->sr.files[i];
		uint8_t d[32];
		char hex[65];
		uint64_t sz = 0;

		if (strcmp(f->format, "gguf") != 0 && strcmp(f->format, "safetensors") != 0)
			continue;
		if (qr_hash_file(f->path, d, &sz) != 0) {
			json_object_set_new(*ev, "error", json_string("cannot hash a weight file"));
			return QR_FAIL;
		}
		hex_encode(d, 32, hex);
		json_array_append_new(weights, json_pack("{s:s, s:s, s:s}", "file", f->path,
							 "format", f->format, "sha256", hex));
		if (qr_lock_blocked(&R->lock, hex) != NULL) {
			json_object_set_new(*ev, "error", json_string("a weight file is blocked"));
			return QR_FAIL;
		}
	}
	if (json_array_size(weights) == 0 ||
	    any_at_least(&R->sr, is_folder_reason, SCAN_SEV_REJECT) ||
	    any_error(&R->sr, is_folder_reason))
		return QR_FAIL;
	return QR_PASS;
}

/* ---- the run ---- */

static json_t *load_source(const struct qr_env *env, const char *name)
{
	char p[QR_PATH_MAX], *buf, err[160];
	size_t len;
	json_t *j;

	snprintf(p, sizeof(p), "%s/processing/%s.source.json", env->qdir, name);
	if (fs_read_file(p, 64 * 1024, &buf, &len) != 0)
		return errno == ENOENT ? json_pack("{s:s}", "kind", "local")
				       : json_pack("{s:s, s:s}", "kind", "unreadable", "error",
						   strerror(errno));
	j = json_parse_object(buf, len, 64 * 1024, err, sizeof(err));
	free(buf);
	if (j == NULL)
		return json_pack("{s:s, s:s}", "kind", "invalid", "error", err);
	return j;
}

static void load_policies(struct run *R)
{
	char p[QR_PATH_MAX], err[400];

	qr_policy_defaults(&R->pol);
	snprintf(p, sizeof(p), "%s/policy.yaml", R->env->policy_dir);
	if (qr_policy_load(p, true, &R->pol, err, sizeof(err)) != 0) {
		snprintf(R->policy_err, sizeof(R->policy_err), "policy.yaml: %s", err);
		return;
	}
	snprintf(p, sizeof(p), "%s/sources.allowlist.yaml", R->env->policy_dir);
	if (qr_allowlist_load(p, true, &R->allow, err, sizeof(err)) != 0) {
		snprintf(R->policy_err, sizeof(R->policy_err), "%s", err);
		return;
	}
	snprintf(p, sizeof(p), "%s/models.lock.yaml", R->env->policy_dir);
	if (qr_lock_load(p, true, &R->lock, err, sizeof(err)) != 0)
		snprintf(R->policy_err, sizeof(R->policy_err), "%s", err);
}

static json_t *registry_entry(struct run *R, const char *report_sha)
{
	char ts[32];
	json_t *stages = json_array(), *s;
	size_t i;
	const char *quant = "";
	char qbuf[32] = "";

	now_iso(ts);
	json_array_foreach(json_object_get(R->report, "stages"), i, s)
		json_array_append_new(stages, json_pack("{s:s, s:s, s:O}", "stage",
							json_get_string(s, "stage"), "status",
							json_get_string(s, "status"), "evidence_sha256",
							json_object_get(s, "evidence_sha256")));
	/* quantisation: the most common tensor type of the weights */
	if (R->ws.n > 0) {
		size_t best = 0;
		for (size_t a = 0; a < R->ws.n; a++) {
			size_t c = 0;
			for (size_t b2 = 0; b2 < R->ws.n; b2++)
				c += strcmp(R->ws.t[a].type, R->ws.t[b2].type) == 0;
			if (c > best) {
				best = c;
				snprintf(qbuf, sizeof(qbuf), "%s", R->ws.t[a].type);
			}
		}
		quant = qbuf;
	}
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:O}", "name", R->name,
			 "sha256", R->sha256, "size", (json_int_t)R->size, "format", R->format,
			 "kind", R->folder ? "folder" : "file", "quantization", quant, "stages",
			 stages, "report", R->report_path, "report_sha256", report_sha, "promoted",
			 ts, "source", R->source);
}

typedef enum qr_status (*stage_fn)(struct run *R, json_t **ev);

int qr_process(const struct qr_env *env, const char *name, struct qr_outcome *out)
{
	static const stage_fn stages[QR_NSTAGES + 1] = {
	    NULL, st_source, st_format, st_integrity, st_provenance, st_static, st_behav, st_folder};
	struct run R;
	struct stat st;
	char err[512], ts[32];
	int failed = 0, rc = 0;

	memset(&R, 0, sizeof(R));
	memset(out, 0, sizeof(*out));
	R.env = env;
	R.name = name;
	snprintf(R.path, sizeof(R.path), "%s/processing/%s", env->qdir, name);
	if (lstat(R.path, &st) != 0) {
		log_warn("processing/%s", name);
		return -1;
	}
	R.folder = S_ISDIR(st.st_mode);
	if (qr_hash_item(R.path, R.sha256, &R.size, &R.nfiles, err, sizeof(err)) != 0) {
		/* The item cannot even be read: name the report by its path and reject it. */
		uint8_t d[32];
		log_warnx("%s: %s", name, err);
		sha256_digest(R.path, strlen(R.path), d);
		hex_encode(d, 32, R.sha256);
	}
	snprintf(out->sha256, sizeof(out->sha256), "%s", R.sha256);
	snprintf(R.report_path, sizeof(R.report_path), "%s/reports/%s.json", env->qdir, R.sha256);
	R.source = load_source(env, name);
	load_policies(&R);
	now_iso(ts);
	R.report = json_pack("{s:i, s:s, s:s, s:s, s:I, s:I, s:O, s:s, s:s, s:s, s:[]}", "version",
			     1, "name", name, "sha256", R.sha256, "kind",
			     R.folder ? "folder" : "file", "size", (json_int_t)R.size, "files",
			     (json_int_t)R.nfiles, "source", R.source, "policy_sha256",
			     R.pol.digest[0] ? R.pol.digest : "defaults", "started", ts,
			     "decision", "in_progress", "stages");
	if (R.report == NULL || report_save(&R) != 0) {
		rc = -1;
		goto done;
	}
	qr_audit(env, "quarantine.started",
		 json_pack("{s:s, s:s, s:s}", "sha256", R.sha256, "name", name, "kind",
			   R.folder ? "folder" : "file"));
	for (int i = 1; i <= QR_NSTAGES && !failed; i++) {
		struct timespec t0;
		json_t *ev = NULL;
		enum qr_status s;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		s = stages[i](&R, &ev);
		if (stage_done(&R, i, s, ev, ms_since(&t0)) != 0) {
			rc = -1;
			goto done;
		}
		if (s == QR_FAIL) {
			failed = i;
			snprintf(out->reason, sizeof(out->reason), "%s", qr_stage_reason(i));
		}
	}
	if (!failed)
		snprintf(out->reason, sizeof(out->reason), "all_checks_passed");
	now_iso(ts);
	json_object_set_new(R.report, "reason", json_string(out->reason));
	json_object_set_new(R.report, "finished", json_string(ts));
	json_object_set_new(R.report, "decision", json_string(failed ? "rejected" : "promoted"));
	if (report_save(&R) != 0) {
		rc = -1;
		goto done;
	}
	snprintf(out->report, sizeof(out->report), "%s", R.report_path);
	if (!failed) {
		char *buf;
		size_t len;
		uint8_t d[32];
		char rhex[65] = "";
		json_t *entry;

		if (fs_read_file(R.report_path, 64u << 20, &buf, &len) == 0) {
			sha256_digest(buf, len, d);
			hex_encode(d, 32, rhex);
			free(buf);
		}
		entry = registry_entry(&R, rhex);
		if (entry == NULL ||
		    qr_promote(env, name, R.sha256, entry, out->where, sizeof(out->where), err,
			       sizeof(err)) != 0) {
			log_warnx("%s: promotion failed: %s", name, entry ? err : "out of memory");
			json_decref(entry);
			rc = -1;
			goto done;
		}
		json_decref(entry);
		out->promoted = true;
		log_info("%s %.12s promoted: all_checks_passed -> %s", name, R.sha256, out->where);
		qr_audit(env, "quarantine.promoted",
			 json_pack("{s:s, s:s, s:s, s:s}", "sha256", R.sha256, "name", name,
				   "reason", "all_checks_passed", "report_sha256", rhex));
	} else {
		if (qr_reject_move(env, name, R.sha256, out->where, sizeof(out->where), err,
				   sizeof(err)) != 0) {
			log_warnx("%s: cannot move to rejected/: %s", name, err);
			rc = -1;
			goto done;
		}
		log_info("%s %.12s rejected: %s", name, R.sha256, out->reason);
		qr_audit(env, "quarantine.rejected",
			 json_pack("{s:s, s:s, s:s, s:i}", "sha256", R.sha256, "name", name,
				   "reason", out->reason, "stage", failed));
	}
done:
	if (R.scanned) {
		scan_report_free(&R.sr);
		wstats_free(&R.ws);
	}
	json_decref(R.report);
	json_decref(R.source);
	qr_policy_free(&R.pol);
	qr_allowlist_free(&R.allow);
	qr_lock_free(&R.lock);
	return rc;
}
