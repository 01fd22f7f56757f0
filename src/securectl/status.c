/* status.c — placeholder until written this session. */
#include "securectl/securectl.h"
int status_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "securectl status: not built yet\n");
	return 1;
}
