/* gguf.c — placeholder: `securectl gguf inspect|tokenize` (being written). */
#include <string.h>

#include "securectl/securectl.h"

int gguf_main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "tokenize") == 0)
		return gguf_tokenize_main(argc - 1, argv + 1);
	fprintf(stderr, "securectl gguf: not built yet\n");
	return 1;
}
