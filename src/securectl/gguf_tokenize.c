/* gguf_tokenize.c — placeholder: `securectl gguf tokenize` (being written). */
#include "securectl/securectl.h"

int gguf_tokenize_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "securectl gguf tokenize: not built yet\n");
	return 1;
}
