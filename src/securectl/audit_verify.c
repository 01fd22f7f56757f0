/*
 * audit_verify.c — `securectl audit verify`: recompute the chain, the Merkle tree and every
 * checkpoint, and name the first bad entry and why. Read-only.
 *
 * Exit: 0 the log is intact, 2 it is not (tampered, truncated, torn), 1 it could not be read.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fsutil.h"
#include "json.h"
#include "securectl/ctl.h"
#include "securectl/securectl.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: securectl audit verify [--json] [--log FILE] [--pubkey PEM] [--checkpoint NOTE]\n"
		"\n"
		"Recomputes every entry hash, the chain across rotated files, the RFC 6962 tree and\n"
		"every signed checkpoint. Names the first bad entry (file:line, index) and why.\n"
		"  --log FILE         the log to check (default: audit.log_file); SecAI OS logs work\n"
		"  --pubkey PEM       checkpoint public key (default: the log's STEM.pub.pem); keep a\n"
		"                     copy off the machine: a local attacker can replace the local one\n"
		"  --checkpoint NOTE  a checkpoint saved elsewhere earlier (e.g. `securectl audit\n"
		"                     checkpoint > saved`): the log must still contain that tree\n"
		"  --json             machine-readable result\n"
		"Exit 0 intact, 2 not intact, 1 error.\n");
}

/* Checks an anchored checkpoint against the recomputed leaves. Returns 0 ok, 1 mismatch. */
static int check_anchor(const char *path, const struct ckpt_key *key, struct audit_verify *v,
			char *msg, size_t msglen)
{
	char *note = NULL, err[256];
	size_t len;
	struct ckpt c;
	merkle_hash root;

	if (fs_read_file(path, CKPT_NOTE_MAX, &note, &len) != 0) {
		snprintf(msg, msglen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	if ((key ? ckpt_verify(note, len, key, &c, err, sizeof(err))
		 : ckpt_parse_body(note, len, &c, err, sizeof(err))) != 0) {
		snprintf(msg, msglen, "saved checkpoint %s: %s", path, err);
		free(note);
		return 1;
	}
	free(note);
	if (c.size > v->entries) {
		snprintf(msg, msglen,
			 "saved checkpoint %s covers %llu entries but the log holds %llu: entries "
			 "%llu..%llu were removed (truncated)",
			 path, (unsigned long long)c.size, (unsigned long long)v->entries,
			 (unsigned long long)v->entries, (unsigned long long)c.size - 1);
		return 1;
	}
	merkle_root(v->leaves, c.size, root);
	if (memcmp(root, c.root, SHA256_LEN) != 0) {
		snprintf(msg, msglen,
			 "saved checkpoint %s (size %llu) does not match the log: the first %llu "
			 "entries were rewritten",
			 path, (unsigned long long)c.size, (unsigned long long)c.size);
		return 1;
	}
	snprintf(msg, msglen, "saved checkpoint %s (size %llu) matches", path,
		 (unsigned long long)c.size);
	return 0;
}

int audit_verify_main(int argc, char **argv)
{
	static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
						  {"log", required_argument, NULL, 'l'},
						  {"pubkey", required_argument, NULL, 'p'},
						  {"checkpoint", required_argument, NULL, 'c'},
						  {"help", no_argument, NULL, 'h'},
						  {NULL, 0, NULL, 0}};
	const char *log_override = NULL, *pubkey = NULL, *anchor = NULL;
	struct secai_config cfg;
	struct audit_paths p;
	struct audit_verify v;
	struct ckpt_key key;
	struct timespec t0;
	char anchor_msg[1024] = "", rootb64[64] = "", verifier[256] = "";
	int json_out = 0, ch, rc, have_key = 0, anchor_rc = 0;
	struct stat st;
	double secs;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "jl:p:c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j': json_out = 1; break;
		case 'l': log_override = optarg; break;
		case 'p': pubkey = optarg; break;
		case 'c': anchor = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return SECURECTL_EX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return SECURECTL_EX_USAGE;
	}
	if (ctl_config(&cfg) != 0 || ctl_audit_paths(&cfg, log_override, &p) != 0)
		return 1;
	if (pubkey != NULL || stat(p.pubpem, &st) == 0) {
		if (ckpt_key_load_public(pubkey ? pubkey : p.pubpem, cfg.audit.origin, &key) != 0) {
			fprintf(stderr, "securectl audit verify: cannot load public key %s: %s\n",
				pubkey ? pubkey : p.pubpem, strerror(errno));
			return 1;
		}
		have_key = 1;
		ckpt_key_verifier(&key, verifier, sizeof(verifier));
	}

	memset(&v, 0, sizeof(v));
	v.key = have_key ? &key : NULL;
	v.keep_leaves = anchor != NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = audit_log_verify(&p, &v);
	secs = ctl_elapsed(&t0);
	if (rc == 0 && anchor != NULL) {
		anchor_rc = check_anchor(anchor, v.key, &v, anchor_msg, sizeof(anchor_msg));
		if (anchor_rc != 0) {
			snprintf(v.error, sizeof(v.error), "%s", anchor_msg);
			rc = anchor_rc < 0 ? -1 : 1;
			v.ok = 0;
		}
	}
	if (v.ok) {
		merkle_hash root;
		merkle_range_root(&v.range, root);
		b64_encode(root, SHA256_LEN, rootb64);
	}
	if (json_out) {
		json_t *o = json_pack(
		    "{s:b, s:s, s:I, s:I, s:I, s:s, s:s, s:I, s:I, s:f}", "valid", v.ok, "log", p.live,
		    "entries", (json_int_t)v.entries, "files", (json_int_t)v.nfiles, "bytes",
		    (json_int_t)v.bytes, "head", v.head_hex, "root", rootb64, "checkpoints",
		    (json_int_t)v.ckpt_count, "checkpoints_matched", (json_int_t)v.ckpt_checked,
		    "seconds", secs);
		json_object_set_new(o, "broken_at", v.ok ? json_null() : json_integer((json_int_t)v.bad_index));
		json_object_set_new(o, "detail", json_string(v.ok ? "" : v.error));
		json_object_set_new(o, "warning", json_string(v.warning));
		json_object_set_new(o, "key", json_string(verifier));
		json_object_set_new(o, "torn_tail", json_boolean(v.torn));
		char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("%s\n", s);
		free(s);
		json_decref(o);
	} else if (rc < 0) {
		fprintf(stderr, "securectl audit verify: %s\n", v.error);
	} else {
		printf("audit log %s: %s\n", p.live, v.ok ? "INTACT" : "NOT INTACT");
		if (!v.ok)
			printf("  first problem  %s\n", v.error);
		printf("  entries        %llu verified in %zu file%s (%.1f MB)%s\n",
		       (unsigned long long)v.entries, v.nfiles, v.nfiles == 1 ? "" : "s",
		       (double)v.bytes / 1e6, v.ok ? ", chain intact" : " before the problem");
		if (v.ok)
			printf("  tree root      %s (size %llu)\n", rootb64,
			       (unsigned long long)v.entries);
		if (v.ckpt_count > 0)
			printf("  checkpoints    %llu %s, %llu matched the tree; the last covers %llu "
			       "entries\n",
			       (unsigned long long)v.ckpt_count,
			       have_key ? "signatures verified" : "(signatures NOT checked)",
			       (unsigned long long)v.ckpt_checked,
			       (unsigned long long)(v.have_ckpt ? v.ckpt_last.size : 0));
		if (have_key)
			printf("  key            %s\n", verifier);
		if (anchor_msg[0] && anchor_rc == 0)
			printf("  anchor         %s\n", anchor_msg);
		if (v.warning[0])
			printf("  warning        %s\n", v.warning);
		printf("  took           %.3f s (%.0f MB/s)\n", secs,
		       secs > 0 ? (double)v.bytes / 1e6 / secs : 0.0);
	}
	audit_verify_free(&v);
	return rc < 0 ? 1 : rc == 0 ? 0 : 2;
}
