/*
 * reg_store.h — changes to the registry's store other than promotion: deleting a promoted model,
 * and the sweep at start-up that finishes a deletion a crash interrupted.
 *
 * Every writer of STATE/registry (promotion in secai-quarantine, deletion in secai-registry, the
 * sweeps of both) holds the registry lock, STATE/registry/registry.lock (flock), around its
 * read-modify-write of the manifest, so two writers never lose each other's change.
 *
 * Deletion, in order (a SIGKILL anywhere leaves the old registry or the new one):
 *   1. the tombstone STATE/registry/deleting/<sha256>.json (written atomically) says a deletion
 *      is under way;
 *   2. the manifest is rewritten without the entry and re-signed (atomic replace) — the commit;
 *   3. STATE/registry/models/<sha256>/ is removed (its files are read-only: the folders are made
 *      writable first), the models folder fsync'ed;
 *   4. the tombstone is removed.
 * The sweep (reg_sweep_locked) reads each tombstone: still listed → the deletion never committed,
 * the tombstone goes; not listed → step 3 is finished, then the tombstone goes. Without a
 * tombstone, an unlisted models/<sha256>/ is a promotion that did not commit: secai-quarantine's
 * recovery vets it again (docs/quarantine.md), so a committed deletion must never leave a folder
 * without its tombstone — step 4 comes after step 3.
 *
 * Never: removes anything but STATE/registry/models/<sha256>/ (built from a validated sha256,
 * not from a path a manifest names) and tombstones; removes a model the signed manifest lists;
 * rewrites the manifest without the lock.
 */
#ifndef SECAI_REG_STORE_H
#define SECAI_REG_STORE_H

#include <jansson.h>
#include <stddef.h>

/* Takes the registry lock (blocking), creating regdir (0700) and the lock file if needed.
 * Returns the lock's file descriptor, or -1 with err. */
int reg_lock(const char *regdir, char *err, size_t errlen);
/* Releases it (closes fd; -1 is a no-op). */
void reg_unlock(int fd);

/*
 * Deletes the model with this sha256 (sequence above), under the lock. who (may be NULL) is
 * recorded in the tombstone. *entry (may be NULL) gets the removed manifest entry.
 * Returns 0 deleted (committed: the manifest no longer lists it; if its files could not all be
 * removed, that is logged and the tombstone stays for the sweep), 1 not listed (nothing
 * changed), -1 with err (manifest does not verify, no signing key, I/O before the commit:
 * nothing changed).
 */
int reg_delete(const char *state_dir, const char *sha256, const json_t *who, json_t **entry,
	       char *err, size_t errlen);

/* Finishes or forgets interrupted deletions (see above); the caller holds the lock. The sha256
 * of each model whose leftover files were removed is appended to done (may be NULL). Logs one
 * line per tombstone handled. Returns 0, or -1 with err when the manifest does not verify
 * (then nothing is touched). */
int reg_sweep_locked(const char *state_dir, json_t *done, char *err, size_t errlen);
/* The same, taking the lock itself. */
int reg_sweep(const char *state_dir, json_t *done, char *err, size_t errlen);

/* Appends to out the sha256 of each STATE/registry/models/<sha256>/ the manifest does not list
 * (for a log line at start: after the sweep, such a folder is a promotion that did not commit,
 * which secai-quarantine vets again). Touches nothing. 0, or -1 with err. */
int reg_store_unlisted(const char *state_dir, json_t *out, char *err, size_t errlen);

/* Test hook: SIGKILLs the process when $SECAI_REG_CRASH_AT equals step
 * ("delete.tombstone", "delete.manifest", "delete.files"). */
void reg_crashpoint(const char *step);

#endif
