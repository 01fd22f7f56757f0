/*
 * seal.h — drop a process to secai's sealed system-call allow-list (libseccomp).
 *
 * After seal_process() the process may still: read and write file descriptors it already has,
 * open files read-only, map memory (never executable), start threads (not processes), accept
 * connections on sockets it already listens on and talk over them, wait, sleep, and exit.
 * It may no longer: create sockets, connect, bind or listen; execute programs; fork; open,
 * create, rename or delete files for writing; ptrace or read other processes' memory; load
 * kernel modules; change its privileges. A forbidden call kills the whole process (SIGSYS),
 * except opening a file for writing, which fails with EACCES so the caller can report it.
 * Owns: the filter. Never: loosens an existing filter (seccomp filters only stack tighter).
 */
#ifndef SECAI_SEAL_H
#define SECAI_SEAL_H

#include <stddef.h>

/* Installs the filter on the calling process (all its threads). Returns 0, or -1 with err. */
int seal_process(char *err, size_t errlen);

#endif
