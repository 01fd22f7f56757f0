/* audit.c — placeholder until written this session. */
#include "securectl/securectl.h"
int audit_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "securectl audit: not built yet\n");
	return 1;
}
