/*
 * status.c — `securectl status [--json]`: each daemon's health, asked of the daemon itself.
 * Exit 0 when every daemon is healthy, 1 otherwise.
 */
#include <stdio.h>
#include <string.h>

#include "securectl/ctl.h"
#include "securectl/daemons.h"
#include "securectl/securectl.h"

int status_main(int argc, char **argv)
{
	struct secai_config cfg;
	int json_out = 0, all = 1;
	json_t *arr;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json_out = 1;
		} else {
			FILE *f = securectl_wants_help(argc, argv) ? stdout : stderr;
			fprintf(f, "usage: securectl status [--json]\n"
				   "Asks each secai daemon whether it is up and healthy.\n"
				   "Exit 0 when all are, 1 when any is not.\n");
			return f == stdout ? 0 : SECURECTL_EX_USAGE;
		}
	}
	if (ctl_config(&cfg) != 0)
		return 1;
	arr = json_array();
	if (!json_out)
		printf("%-10s %-8s %-8s %s\n", "DAEMON", "STATE", "PID", "ENDPOINT / DETAIL");
	for (size_t i = 0; i < daemon_count; i++) {
		const struct daemon_desc *d = &daemon_table[i];
		char ep[4200];
		json_t *st = d->probe(&cfg);
		int healthy = json_is_true(json_object_get(st, "healthy"));

		d->endpoint(&cfg, ep, sizeof(ep));
		json_object_set_new(st, "name", json_string(d->name));
		json_object_set_new(st, "endpoint", json_string(ep));
		if (!healthy)
			all = 0;
		if (!json_out) {
			json_t *pid = json_object_get(st, "pid");
			char pidbuf[24] = "-";
			if (json_is_integer(pid))
				snprintf(pidbuf, sizeof(pidbuf), "%lld",
					 (long long)json_integer_value(pid));
			printf("%-10s %-8s %-8s %s", d->name, healthy ? "up" : "down", pidbuf, ep);
			if (healthy && strcmp(d->name, "audit") == 0)
				printf("  entries=%lld checkpoint=%lld",
				       (long long)json_integer_value(json_object_get(st, "entries")),
				       (long long)json_integer_value(json_object_get(st, "checkpoint_size")));
			if (healthy && strcmp(d->name, "infer") == 0)
				printf("  model=%s sha256=%.16s…",
				       json_string_value(json_object_get(st, "model")),
				       json_string_value(json_object_get(st, "sha256")));
			if (!healthy)
				printf("  (%s)", json_string_value(json_object_get(st, "error")));
			printf("\n");
		}
		json_array_append_new(arr, st);
	}
	if (json_out) {
		json_t *o = json_pack("{s:b, s:s, s:O}", "healthy", all, "state_dir", cfg.state_dir,
				      "daemons", arr);
		char *s = json_dumps(o, JSON_INDENT(2));
		printf("%s\n", s);
		free(s);
		json_decref(o);
	}
	json_decref(arr);
	return all ? 0 : 1;
}
