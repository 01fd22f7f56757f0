/* up.c — placeholder until written this session. */
#include "securectl/securectl.h"
int up_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "securectl up: not built yet\n");
	return 1;
}
