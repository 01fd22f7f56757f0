/*
 * gguf_tokenize.c — `securectl gguf tokenize MODEL [--ids|--json] [--bos] [--special] TEXT`.
 *
 * Owns: turning TEXT (or stdin with "-") into the model's token ids with llama.cpp's rules, and
 * printing them: `id 'piece'` per line (default), a space-separated id list (--ids), or
 * {"ids":[...],"pieces":[...]} (--json). No BOS/EOS unless --bos (add_special); --special parses
 * control-token text (parse_special). Never: prints piece bytes raw to the terminal (control
 * bytes and invalid UTF-8 become \xNN in text output, U+FFFD in JSON) or loads tensor data.
 * Options may come anywhere (GNU getopt); use "--" before a TEXT that starts with '-'.
 * Exit: 0 ok, 2 invalid/unsupported model, 1 other error, 64 usage.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gguf/gguf.h"
#include "securectl/securectl.h"
#include "tokenizer/tok.h"
#include "tokenizer/unicode.h"

#define STDIN_MAX (64u << 20)

static void usage(FILE *fp)
{
	fprintf(fp, "usage: securectl gguf tokenize MODEL [--ids|--json] [--bos] [--special] TEXT\n"
		    "Tokenizes TEXT (\"-\" reads stdin) with MODEL's vocabulary, like llama.cpp.\n"
		    "  --ids      print only the ids, space-separated\n"
		    "  --json     print {\"ids\":[...],\"pieces\":[...]}\n"
		    "  --bos      add BOS/EOS as the vocabulary says (add_special)\n"
		    "  --special  turn control-token text into its id (parse_special)\n"
		    "Exit status: 0 ok, 2 invalid or unsupported model, 1 error, 64 usage.\n");
}

/* Escapes a piece for a terminal: printable ASCII and valid UTF-8 as is, the rest \xNN. */
static int escape_piece(struct buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	int q, rc = 0;

	while (i < n && rc == 0) {
		q = unicode_utf8_seq(p + i, n - i);
		if (p[i] == '\\' || p[i] == '\'') {
			rc = buf_printf(b, "\\%c", p[i]);
			i++;
		} else if (p[i] == '\n') {
			rc = buf_append_str(b, "\\n");
			i++;
		} else if (p[i] == '\t') {
			rc = buf_append_str(b, "\\t");
			i++;
		} else if (q <= 0 || p[i] < 0x20 || p[i] == 0x7f ||
			   (p[i] == 0xc2 && p[i + 1] < 0xa0)) {
			rc = buf_printf(b, "\\x%02x", p[i]);
			i++;
		} else {
			rc = buf_append(b, p + i, (size_t)q);
			i += (size_t)q;
		}
	}
	return rc;
}

static int read_stdin(struct buf *b)
{
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		if (b->len + n > STDIN_MAX || buf_append(b, chunk, n) != 0)
			return -1;
	}
	return ferror(stdin) ? -1 : 0;
}

static int print_ids(const struct tok_vocab *v, const struct tok_ids *ids, int mode)
{
	struct buf out = BUF_INIT, piece = BUF_INIT, safe = BUF_INIT;
	json_t *root = NULL, *jids = NULL, *jpieces = NULL;
	struct tok_decoder d;
	size_t i;
	int rc = 0;

	if (mode == 'j') {
		root = json_object();
		jids = json_array();
		jpieces = json_array();
		if (root == NULL || jids == NULL || jpieces == NULL)
			rc = -1;
	}
	for (i = 0; i < ids->n && rc == 0; i++) {
		piece.len = 0;
		if (mode == 'i') {
			rc = buf_printf(&out, "%s%d", i ? " " : "", ids->ids[i]);
			continue;
		}
		if (tok_piece(v, ids->ids[i], true, &piece) != 0) {
			rc = -1;
			break;
		}
		if (mode == 'j') {
			/* JSON strings must be UTF-8: a partial piece shows U+FFFD. */
			safe.len = 0;
			tok_decoder_init(&d);
			if (tok_decoder_feed(&d, piece.data, piece.len, &safe) != 0 ||
			    tok_decoder_flush(&d, &safe) != 0 ||
			    json_array_append_new(jids, json_integer(ids->ids[i])) != 0 ||
			    json_array_append_new(
				jpieces, json_stringn(safe.data ? safe.data : "", safe.len)) != 0)
				rc = -1;
			continue;
		}
		rc = buf_printf(&out, "%d '", ids->ids[i]);
		if (rc == 0)
			rc = escape_piece(&out, piece.data ? piece.data : "", piece.len);
		if (rc == 0)
			rc = buf_append_str(&out, "'\n");
	}
	if (rc == 0 && mode == 'j') {
		char *s;

		json_object_set(root, "ids", jids);
		json_object_set(root, "pieces", jpieces);
		s = json_dumps(root, JSON_COMPACT);
		if (s == NULL || buf_append_str(&out, s) != 0)
			rc = -1;
		free(s);
	}
	if (rc == 0 && mode != 0 && buf_append_char(&out, '\n') != 0)
		rc = -1;
	if (rc == 0 && out.len > 0 && fwrite(out.data, 1, out.len, stdout) != out.len)
		rc = -1;
	json_decref(jids);
	json_decref(jpieces);
	json_decref(root);
	buf_free(&out);
	buf_free(&piece);
	buf_free(&safe);
	return rc;
}

int gguf_tokenize_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"ids", no_argument, NULL, 'i'},  {"json", no_argument, NULL, 'j'},
	    {"bos", no_argument, NULL, 'b'},  {"special", no_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	struct gguf_report rep = GGUF_REPORT_INIT;
	struct gguf_file *f = NULL;
	struct tok_vocab *v = NULL;
	struct tok_ids ids = TOK_IDS_INIT;
	struct buf in = BUF_INIT;
	bool bos = false, special = false;
	int mode = 0, c, r, ret = 1;
	const char *text;
	size_t len;
	char err[256];

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
		case 'j':
			if (mode != 0 && mode != c) {
				fprintf(stderr,
					"securectl gguf tokenize: --ids and --json conflict\n");
				return SECURECTL_EX_USAGE;
			}
			mode = c;
			break;
		case 'b':
			bos = true;
			break;
		case 's':
			special = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return SECURECTL_EX_USAGE;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return SECURECTL_EX_USAGE;
	}
	text = argv[optind + 1];
	len = strlen(text);
	if (strcmp(text, "-") == 0) {
		if (read_stdin(&in) != 0) {
			fprintf(stderr,
				"securectl gguf tokenize: cannot read stdin (max %u bytes)\n",
				STDIN_MAX);
			goto out;
		}
		text = in.data ? in.data : "";
		len = in.len;
	}
	r = gguf_open(argv[optind], &f, &rep);
	if (r != 0) {
		fprintf(stderr, "securectl gguf tokenize: %s: %s\n", argv[optind],
			r < 0 ? "cannot open" : "invalid GGUF");
		gguf_report_print(&rep, stderr);
		ret = r < 0 ? 1 : 2;
		goto out;
	}
	r = tok_vocab_from_gguf(f, &v, err, sizeof(err));
	if (r != 0) {
		fprintf(stderr, "securectl gguf tokenize: %s: %s%s%s\n", argv[optind],
			tok_strerror(r), err[0] ? ": " : "", err);
		ret = (r == TOK_E_MODEL || r == TOK_E_UNSUPPORTED) ? 2 : 1;
		goto out;
	}
	r = tok_tokenize(v, text, len, bos, special, &ids);
	if (r != 0) {
		fprintf(stderr, "securectl gguf tokenize: %s\n", tok_strerror(r));
		goto out;
	}
	if (print_ids(v, &ids, mode) != 0) {
		fprintf(stderr, "securectl gguf tokenize: output failed\n");
		goto out;
	}
	ret = 0;
out:
	tok_ids_free(&ids);
	tok_vocab_free(v);
	gguf_close(f);
	gguf_report_free(&rep);
	buf_free(&in);
	return ret;
}
