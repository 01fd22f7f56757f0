/*
 * netpeer.h — who is on the other end of a local TCP connection: the uid owning the client's
 * socket, as the kernel's socket table says (/proc/net/tcp, /proc/net/tcp6). Loopback TCP has no
 * SO_PEERCRED; the table is the kernel's own record, so a client cannot fake it — but it only
 * knows sockets of this machine (network namespace), so a remote peer has no answer.
 *
 * Owns: matching a connection (its two address:port ends) to a line of that table.
 * Never: trusts anything the client sent, or guesses: no matching line is an error.
 */
#ifndef SECAI_NETPEER_H
#define SECAI_NETPEER_H

#include <stddef.h>
#include <sys/types.h>

/* fd: a connected TCP socket (the server's side). Sets *uid to the owner of the other end and
 * writes "ADDR:PORT" of that end into peer (may be NULL). Returns 0, or -1 (errno set; ENOENT
 * when the kernel's table has no such socket, e.g. a remote peer). */
int netpeer_uid(int fd, uid_t *uid, char *peer, size_t peerlen);

#endif
