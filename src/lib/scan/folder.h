/*
 * folder.h — scanning a path: one file, or a model folder (Hugging Face config + weights,
 * sharded safetensors with model.safetensors.index.json, diffusers model_index.json).
 *
 * Owns: the walk (no symlinks, no special files, bounded depth and entry count), folder rules
 * (configs parse as strict JSON, no code, no remote-code hooks, model_index.json components are
 * existing sub-folders of allow-listed libraries, index files name plain shard files), and sending
 * every regular file through the format gate.
 * Never: follows a symlink, leaves the root (names with '/' or ".." from configs are refused, not
 * resolved), or writes anything.
 *
 * Reason ids: folder.symlink, folder.special_file, folder.too_deep, folder.too_many_files,
 * folder.bad_json, folder.remote_code, folder.model_index, folder.traversal,
 * folder.component_missing, folder.component_library, folder.no_weights, folder.io.
 */
#ifndef SECAI_SCAN_FOLDER_H
#define SECAI_SCAN_FOLDER_H

#include "scan/scan.h"

#define SCAN_FOLDER_MAX_DEPTH 8
#define SCAN_FOLDER_MAX_FILES 10000

/* Scans path (file or folder) into r. Returns 0, or -1 out of memory / I/O on the root (a
 * finding says which). */
int scan_path(const char *path, struct scan_report *r);

#endif
