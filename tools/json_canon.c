/*
 * json_canon.c — reads JSON documents, one per line, from stdin and prints each one's
 * canonical encoding (json_canon_append) on its own line, or "ERROR: reason". Used by
 * tests/e2e/test_canonical_json.py to compare byte for byte with Python's json.dumps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		char err[256];
		struct buf out = BUF_INIT;
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		json_t *v = json_parse_strict(line, (size_t)n, 1 << 24, err, sizeof(err));
		if (v == NULL)
			printf("ERROR: %s\n", err);
		else if (json_canon_append(&out, v) != 0)
			printf("ERROR: cannot encode\n");
		else
			printf("%s\n", out.data);
		json_decref(v);
		buf_free(&out);
	}
	free(line);
	return 0;
}
