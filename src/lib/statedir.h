/*
 * statedir.h — where secai keeps its state.
 *
 * Owns: the rule `$SECAI_HOME`, else /var/lib/secai for root (the installed service), else
 * `$XDG_DATA_HOME/secai` or `~/.local/share/secai` for a user; and the layout under it.
 * Never: writes outside the state directory; creates anything world-readable (0700 dirs).
 */
#ifndef SECAI_STATEDIR_H
#define SECAI_STATEDIR_H

#include <stddef.h>

/* Writes the state directory path into out. Returns 0, or -1 if no rule applies or too long. */
int statedir_resolve(char *out, size_t outlen);
/* Joins the state directory and a relative path ("audit/audit.jsonl"). */
int statedir_path(const char *statedir, const char *rel, char *out, size_t outlen);
/* Creates the state directory and its standard subfolders (mode 0700). */
int statedir_ensure(const char *statedir);

#endif
