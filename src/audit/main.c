/* main.c — secai-audit placeholder until written this session. */
#include "log.h"
int main(void)
{
	log_init("secai-audit");
	fatalx("not built yet");
}
