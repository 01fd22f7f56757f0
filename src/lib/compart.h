/*
 * compart.h — compartments: the sandboxes that play the part of Qubes OS qubes.
 *
 * compartments.yaml names them with a Qubes type and tags (what qrexec policy matches on) and
 * says whether each may reach a network. compart_sandbox_argv() turns one into a bubblewrap
 * command line: its own mount, PID, IPC, UTS, cgroup and (unless network: true) network
 * namespaces, a read-only /usr, a private home, its rpc/ folder read-only, the broker's socket
 * for it and nothing else of the host; compart_seccomp_fd() adds a seccomp filter (no ptrace,
 * mount, namespaces, kernel modules, bpf, keyrings; no sockets but AF_UNIX without network).
 *
 * Owns: the compartments file format and the sandbox recipe. Never: starts anything itself,
 * follows symlinks out of a compartment's folder, or shares a compartment's home or socket
 * with another.
 */
#ifndef SECAI_COMPART_H
#define SECAI_COMPART_H

#include <stdbool.h>
#include <stddef.h>

#define COMPART_MAX 64
#define COMPART_MAX_TAGS 16
#define COMPART_NAME_MAX 32

enum compart_type { COMPART_APPVM, COMPART_DISPVM, COMPART_STANDALONEVM, COMPART_TEMPLATEVM };

struct compart {
	char name[COMPART_NAME_MAX];
	enum compart_type type;
	char tags[COMPART_MAX_TAGS][COMPART_NAME_MAX];
	size_t ntags;
	bool network;
	bool infer; /* secai-infer's Unix socket is bound in (SECAI_INFER_SOCKET=/run/infer.sock) */
	size_t line; /* where it is defined, for messages */
};

struct compart_set {
	struct compart c[COMPART_MAX];
	size_t n;
	char source[4096];
};

/* "AppVM", "DispVM", "StandaloneVM", "TemplateVM" (Qubes' class names). */
const char *compart_type_name(enum compart_type t);

/*
 * Parses compartments.yaml text (name is used in messages). Errors name file:line: unknown
 * keys, bad names (letters, digits, '-', '_', '.'; a letter first; not "dom0"), duplicates,
 * unknown types, too many compartments or tags, YAML anchors/aliases/tags. Returns 0, or -1
 * with err; set is only written on success.
 */
int compart_parse(const char *name, const char *buf, size_t len, struct compart_set *set,
		  char *err, size_t errlen);
int compart_load(const char *path, struct compart_set *set, char *err, size_t errlen);
const struct compart *compart_find(const struct compart_set *set, const char *name);

/* Where a compartment lives on the host: STATE/compartments/NAME/{home,rpc} and the broker's
 * socket folder STATE/run/broker/NAME (mounted at /run/secai inside). */
struct compart_paths {
	char home[4200];
	char rpc[4200];
	char sockdir[4200];
	char infer_socket[4200]; /* secai-infer's Unix socket (STATE/run/infer.sock) */
};
int compart_paths(const char *state_dir, const char *name, struct compart_paths *p);
/* Creates home, rpc and sockdir (0700). */
int compart_prepare(const char *state_dir, const struct compart *c, struct compart_paths *p);

/* A seccomp BPF program for a sandbox, in a memfd ready for bwrap --seccomp FD. -1 on error. */
int compart_seccomp_fd(const struct compart *c);

/* A bwrap argv (argv[0] = "bwrap"), then cmd[0..]; at most COMPART_ARGV_MAX entries. */
#define COMPART_ARGV_MAX 128
struct compart_argv {
	char *argv[COMPART_ARGV_MAX + 1];
	int argc;
	char store[COMPART_ARGV_MAX][4300];
};
/*
 * bin_dir: a host folder bound read-only at /run/secai/bin (secai-call lives there). seccomp_fd:
 * from compart_seccomp_fd (must stay open and be inherited by bwrap), or -1 for none.
 * env: extra NAME=VALUE strings (may be NULL). Returns 0, or -1 when it does not fit.
 */
int compart_sandbox_argv(const struct compart *c, const struct compart_paths *p,
			 const char *bin_dir, int seccomp_fd, const char *const *env,
			 const char *const *cmd, struct compart_argv *out);

#endif
