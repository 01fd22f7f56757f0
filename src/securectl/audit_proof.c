/*
 * audit_proof.c — `securectl audit proof INDEX`: an RFC 6962 inclusion proof of one entry in
 * the tree of the latest checkpoint (or of the first --size N entries), and with
 * --consistency OLD a consistency proof from the tree of OLD entries. Each proof is checked with
 * the verifier before it is printed. Output: JSON, hashes in base64 (transparency-dev style).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "json.h"
#include "securectl/ctl.h"
#include "securectl/securectl.h"

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || s[0] == '-' || s[0] == '\0')
		return -1;
	*out = v;
	return 0;
}

static json_t *b64_array(const merkle_hash *h, int n)
{
	json_t *a = json_array();
	char b[64];
	for (int i = 0; i < n; i++) {
		b64_encode(h[i], SHA256_LEN, b);
		json_array_append_new(a, json_string(b));
	}
	return a;
}

static json_t *b64_str(const merkle_hash h)
{
	char b[64];
	b64_encode(h, SHA256_LEN, b);
	return json_string(b);
}

int audit_proof_main(int argc, char **argv)
{
	static const struct option longopts[] = {{"size", required_argument, NULL, 's'},
						  {"consistency", required_argument, NULL, 'c'},
						  {"log", required_argument, NULL, 'l'},
						  {"help", no_argument, NULL, 'h'},
						  {NULL, 0, NULL, 0}};
	const char *log_override = NULL;
	uint64_t index, size = 0, old = 0;
	int have_size = 0, have_old = 0, ch, rc = 1, pl;
	struct secai_config cfg;
	struct audit_paths p;
	struct audit_verify v;
	struct ckpt_key key;
	merkle_hash root, proof[MERKLE_MAX_PROOF];
	char *note = NULL;
	size_t notelen = 0;
	json_t *out;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "s:c:l:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (parse_u64(optarg, &size) != 0)
				goto usage;
			have_size = 1;
			break;
		case 'c':
			if (parse_u64(optarg, &old) != 0)
				goto usage;
			have_old = 1;
			break;
		case 'l': log_override = optarg; break;
		case 'h':
			printf("usage: securectl audit proof INDEX [--size N] [--consistency OLD] [--log "
			       "FILE]\n"
			       "Prints an inclusion proof of entry INDEX (0-based) in the tree of the latest\n"
			       "checkpoint (or of the first N entries with --size), checked before it is\n"
			       "printed; --consistency OLD adds a consistency proof from the tree of the\n"
			       "first OLD entries. Hashes are base64, as in RFC 6962 / transparency-dev.\n");
			return 0;
		default: goto usage;
		}
	}
	if (optind + 1 != argc || parse_u64(argv[optind], &index) != 0)
		goto usage;
	if (ctl_config(&cfg) != 0 || ctl_audit_paths(&cfg, log_override, &p) != 0)
		return 1;
	memset(&v, 0, sizeof(v));
	struct stat st;
	if (stat(p.pubpem, &st) == 0 && ckpt_key_load_public(p.pubpem, cfg.audit.origin, &key) == 0)
		v.key = &key;
	v.keep_leaves = 1;
	if (audit_log_verify(&p, &v) != 0) {
		fprintf(stderr, "securectl audit proof: the log does not verify: %s\n", v.error);
		audit_verify_free(&v);
		return 2;
	}
	if (!have_size) {
		if (!v.have_ckpt) {
			fprintf(stderr, "securectl audit proof: the log has no checkpoint yet; give "
					"--size N or run 'securectl audit checkpoint'\n");
			goto done;
		}
		size = v.ckpt_last.size;
		if (fs_read_file(p.latest, CKPT_NOTE_MAX, &note, &notelen) != 0)
			note = NULL;
	}
	if (size > v.entries || index >= size || (have_old && (old == 0 || old > size))) {
		fprintf(stderr, "securectl audit proof: need INDEX < SIZE <= %llu entries (and 0 < "
				"OLD <= SIZE); got INDEX %llu, SIZE %llu\n",
			(unsigned long long)v.entries, (unsigned long long)index,
			(unsigned long long)size);
		goto done;
	}
	merkle_root(v.leaves, size, root);
	pl = merkle_inclusion_proof(v.leaves, size, index, proof);
	if (pl < 0 || merkle_verify_inclusion(index, size, v.leaves[index], proof, (size_t)pl, root)) {
		fprintf(stderr, "securectl audit proof: internal error: the proof does not verify\n");
		goto done;
	}
	out = json_pack("{s:I, s:I, s:o, s:o, s:o}", "leafIdx", (json_int_t)index, "treeSize",
			(json_int_t)size, "leafHash", b64_str(v.leaves[index]), "root", b64_str(root),
			"proof", b64_array(proof, pl));
	if (note != NULL)
		json_object_set_new(out, "checkpoint", json_string(note));
	if (have_old) {
		merkle_hash oldroot, cproof[MERKLE_MAX_PROOF];
		merkle_root(v.leaves, old, oldroot);
		int cl = merkle_consistency_proof(v.leaves, old, size, cproof);
		if (cl < 0 || (old < size && merkle_verify_consistency(old, size, oldroot, root, cproof,
								       (size_t)cl))) {
			fprintf(stderr, "securectl audit proof: internal error: consistency proof\n");
			json_decref(out);
			goto done;
		}
		json_object_set_new(out, "consistency",
				    json_pack("{s:I, s:I, s:o, s:o, s:o}", "size1", (json_int_t)old,
					      "size2", (json_int_t)size, "root1", b64_str(oldroot),
					      "root2", b64_str(root), "proof", b64_array(cproof, cl)));
	}
	char *s = json_dumps(out, JSON_INDENT(2));
	printf("%s\n", s);
	free(s);
	json_decref(out);
	rc = 0;
done:
	free(note);
	audit_verify_free(&v);
	return rc;
usage:
	fprintf(stderr, "usage: securectl audit proof INDEX [--size N] [--consistency OLD] [--log "
			"FILE]\n");
	return SECURECTL_EX_USAGE;
}
