/*
 * models.c — `securectl models [--json]`: what the registry lists (only what the quarantine
 * promoted), asked from secai-registry, which verifies its signed manifest on every request.
 * Owns: the listing. Never: reads the manifest file itself (the registry is the one that
 * verifies it), or lists a model the registry did not answer with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "securectl/ctl.h"
#include "securectl/daemons.h"
#include "securectl/securectl.h"

int models_main(int argc, char **argv)
{
	struct secai_config cfg;
	int json = 0;
	size_t i;
	json_t *e;

	for (int k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--json") == 0) {
			json = 1;
		} else {
			FILE *f = securectl_wants_help(argc, argv) ? stdout : stderr;
			fprintf(f, "usage: securectl models [--json]\n"
				   "Lists the models secai-registry serves (promoted by the quarantine;\n"
				   "the registry checks its signed manifest on every request).\n"
				   "Exit 0, or 1 when the registry does not answer.\n");
			return f == stdout ? 0 : SECURECTL_EX_USAGE;
		}
	}
	if (ctl_config(&cfg) != 0)
		return 1;
	json_t *list = daemon_get_json(&cfg, cfg.registry.port, "/v1/models");
	if (list == NULL) {
		fprintf(stderr, "securectl models: secai-registry does not answer on %s:%d (is the "
				"appliance up? 'securectl status'), or its manifest does not verify\n",
			cfg.bind_address, cfg.registry.port);
		return 1;
	}
	if (json) {
		char *s = json_dumps(json_object_get(list, "data"), JSON_INDENT(2));
		printf("%s\n", s ? s : "[]");
		free(s);
		json_decref(list);
		return 0;
	}
	printf("%-28s %-8s %-10s %12s  %-16s  %s\n", "NAME", "FORMAT", "QUANT", "BYTES", "SHA256",
	       "PROMOTED");
	json_array_foreach(json_object_get(list, "data"), i, e) {
		long long size = 0;
		json_get_int(e, "size", &size);
		const char *sha = json_get_string(e, "sha256");
		printf("%-28s %-8s %-10s %12lld  %.16s  %s\n",
		       json_get_string(e, "name") ? json_get_string(e, "name") : "?",
		       json_get_string(e, "format") ? json_get_string(e, "format") : "?",
		       json_get_string(e, "quantization") ? json_get_string(e, "quantization") : "-",
		       size, sha ? sha : "?",
		       json_get_string(e, "promoted") ? json_get_string(e, "promoted") : "?");
	}
	if (json_array_size(json_object_get(list, "data")) == 0)
		printf("(none yet: drop a model into the quarantine with 'securectl import FILE')\n");
	json_decref(list);
	return 0;
}
