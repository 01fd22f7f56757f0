/*
 * compart.c — compartments.yaml and the bubblewrap recipe of a compartment (see compart.h).
 *
 * Owns: the file format (a libyaml event walk, bounded: a fixed shape two mappings deep) and
 * the sandbox command line. Never: accepts a key it does not know, an anchor, alias or tag, or
 * binds any host path but /usr (read-only), the few /etc files a dynamic loader needs
 * (read-only) and the compartment's own folders.
 */
#include "compart.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "fsutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define COMPART_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COMPART_ASAN 1
#endif
#endif

static const char *const type_names[] = {"AppVM", "DispVM", "StandaloneVM", "TemplateVM"};

const char *compart_type_name(enum compart_type t)
{
	return (unsigned)t < 4 ? type_names[t] : "?";
}

struct cparse {
	yaml_parser_t y;
	const char *name;
	char *err;
	size_t errlen;
	struct compart_set *set;
};

__attribute__((format(printf, 3, 4))) static int cfail(struct cparse *p, size_t line,
						      const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->errlen, "%s:%zu: ", p->name, line);

	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* The next event; anchors, aliases and tags are refused. */
static int cnext(struct cparse *p, yaml_event_t *ev)
{
	const yaml_char_t *anchor = NULL, *tag = NULL;
	size_t line;

	if (!yaml_parser_parse(&p->y, ev))
		return cfail(p, p->y.problem_mark.line + 1, "YAML syntax error: %.100s",
			     p->y.problem ? p->y.problem : "unknown problem");
	line = ev->start_mark.line + 1;
	if (ev->type == YAML_ALIAS_EVENT) {
		yaml_event_delete(ev);
		return cfail(p, line, "aliases are not allowed");
	}
	if (ev->type == YAML_SCALAR_EVENT) {
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
	} else if (ev->type == YAML_MAPPING_START_EVENT) {
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
	} else if (ev->type == YAML_SEQUENCE_START_EVENT) {
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
	}
	if (anchor != NULL || tag != NULL) {
		yaml_event_delete(ev);
		return cfail(p, line, "anchors and tags are not allowed");
	}
	return 0;
}

static int good_name(const char *s, size_t n)
{
	if (n == 0 || n >= COMPART_NAME_MAX)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

/* A scalar's text (NUL-terminated by libyaml) or NULL with an error. */
static const char *scalar(struct cparse *p, yaml_event_t *ev, const char *what)
{
	if (ev->type != YAML_SCALAR_EVENT) {
		cfail(p, ev->start_mark.line + 1, "%s must be a plain value", what);
		return NULL;
	}
	return (const char *)ev->data.scalar.value;
}

static int parse_tags(struct cparse *p, struct compart *c)
{
	yaml_event_t ev;

	for (;;) {
		if (cnext(p, &ev) != 0)
			return -1;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		const char *t = scalar(p, &ev, "a tag");
		size_t line = ev.start_mark.line + 1;
		if (t == NULL || !good_name(t, strlen(t))) {
			if (t != NULL)
				cfail(p, line, "%s: tag \"%.40s\" is not a plain name", c->name, t);
			yaml_event_delete(&ev);
			return -1;
		}
		if (c->ntags >= COMPART_MAX_TAGS) {
			yaml_event_delete(&ev);
			return cfail(p, line, "%s: more than %d tags", c->name, COMPART_MAX_TAGS);
		}
		snprintf(c->tags[c->ntags++], COMPART_NAME_MAX, "%s", t);
		yaml_event_delete(&ev);
	}
}

/* NAME: {type: T, tags: [..], network: BOOL} — the key event was already read. */
static int parse_one(struct cparse *p, struct compart *c)
{
	yaml_event_t ev;
	int seen_type = 0, seen_tags = 0, seen_net = 0, seen_infer = 0;

	if (cnext(p, &ev) != 0)
		return -1;
	if (ev.type != YAML_MAPPING_START_EVENT) {
		size_t line = ev.start_mark.line + 1;
		yaml_event_delete(&ev);
		return cfail(p, line, "%s: must be a mapping (type, tags, network)", c->name);
	}
	yaml_event_delete(&ev);
	for (;;) {
		if (cnext(p, &ev) != 0)
			return -1;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		size_t line = ev.start_mark.line + 1;
		const char *k = scalar(p, &ev, "a key");
		char key[32];
		if (k == NULL) {
			yaml_event_delete(&ev);
			return -1;
		}
		snprintf(key, sizeof(key), "%s", k);
		yaml_event_delete(&ev);
		if (strcmp(key, "tags") == 0) {
			if (seen_tags++)
				return cfail(p, line, "%s: duplicate key tags", c->name);
			if (cnext(p, &ev) != 0)
				return -1;
			int is_seq = ev.type == YAML_SEQUENCE_START_EVENT;
			yaml_event_delete(&ev);
			if (!is_seq)
				return cfail(p, line, "%s: tags must be a list", c->name);
			if (parse_tags(p, c) != 0)
				return -1;
			continue;
		}
		if (cnext(p, &ev) != 0)
			return -1;
		const char *v = scalar(p, &ev, key);
		int rc = 0;
		if (v == NULL) {
			rc = -1;
		} else if (strcmp(key, "type") == 0) {
			size_t i;
			for (i = 0; i < 4 && strcmp(v, type_names[i]) != 0; i++)
				;
			if (seen_type++)
				rc = cfail(p, line, "%s: duplicate key type", c->name);
			else if (i == 4)
				rc = cfail(p, line,
					   "%s: type \"%.40s\" is not AppVM, DispVM, StandaloneVM or "
					   "TemplateVM",
					   c->name, v);
			else
				c->type = (enum compart_type)i;
		} else if (strcmp(key, "infer") == 0) {
			if (seen_infer++)
				rc = cfail(p, line, "%s: duplicate key infer", c->name);
			else if (strcmp(v, "true") == 0)
				c->infer = true;
			else if (strcmp(v, "false") == 0)
				c->infer = false;
			else
				rc = cfail(p, line, "%s: infer must be true or false", c->name);
		} else if (strcmp(key, "network") == 0) {
			if (seen_net++)
				rc = cfail(p, line, "%s: duplicate key network", c->name);
			else if (strcmp(v, "true") == 0)
				c->network = true;
			else if (strcmp(v, "false") == 0)
				c->network = false;
			else
				rc = cfail(p, line, "%s: network must be true or false", c->name);
		} else {
			rc = cfail(p, line, "%s: unknown key \"%.40s\" (allowed: type, tags, network, infer)",
				   c->name, key);
		}
		yaml_event_delete(&ev);
		if (rc != 0)
			return -1;
	}
}

static int parse_doc(struct cparse *p)
{
	yaml_event_t ev;
	int seen = 0;

	/* stream start, document start, top mapping */
	for (int i = 0; i < 2; i++) {
		if (cnext(p, &ev) != 0)
			return -1;
		if (ev.type == YAML_STREAM_END_EVENT) { /* an empty file: no compartments */
			yaml_event_delete(&ev);
			return 0;
		}
		yaml_event_delete(&ev);
	}
	if (cnext(p, &ev) != 0)
		return -1;
	if (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.length == 0) {
		yaml_event_delete(&ev);
		return 0;
	}
	if (ev.type != YAML_MAPPING_START_EVENT) {
		size_t line = ev.start_mark.line + 1;
		yaml_event_delete(&ev);
		return cfail(p, line, "the file must be a mapping with one key, compartments");
	}
	yaml_event_delete(&ev);
	for (;;) {
		if (cnext(p, &ev) != 0)
			return -1;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		size_t line = ev.start_mark.line + 1;
		const char *k = scalar(p, &ev, "a key");
		int ok = k != NULL && strcmp(k, "compartments") == 0;
		if (k != NULL && !ok)
			cfail(p, line, "unknown key \"%.40s\" (allowed: compartments)", k);
		yaml_event_delete(&ev);
		if (!ok)
			return -1;
		if (seen++)
			return cfail(p, line, "duplicate key compartments");
		if (cnext(p, &ev) != 0)
			return -1;
		int is_map = ev.type == YAML_MAPPING_START_EVENT;
		int empty = ev.type == YAML_SCALAR_EVENT && ev.data.scalar.length == 0;
		yaml_event_delete(&ev);
		if (empty)
			continue;
		if (!is_map)
			return cfail(p, line, "compartments must be a mapping of name: {...}");
		for (;;) {
			if (cnext(p, &ev) != 0)
				return -1;
			if (ev.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&ev);
				break;
			}
			size_t l2 = ev.start_mark.line + 1;
			const char *n = scalar(p, &ev, "a compartment name");
			if (n == NULL || !good_name(n, strlen(n)) || strcmp(n, "dom0") == 0) {
				if (n != NULL)
					cfail(p, l2,
					      "compartment name \"%.40s\" is not allowed (a letter, then "
					      "letters, digits, '-', '_' or '.'; at most %d; not dom0)",
					      n, COMPART_NAME_MAX - 1);
				yaml_event_delete(&ev);
				return -1;
			}
			if (compart_find(p->set, n) != NULL) {
				cfail(p, l2, "compartment %s is defined twice", n);
				yaml_event_delete(&ev);
				return -1;
			}
			if (p->set->n >= COMPART_MAX) {
				yaml_event_delete(&ev);
				return cfail(p, l2, "more than %d compartments", COMPART_MAX);
			}
			struct compart *c = &p->set->c[p->set->n++];
			memset(c, 0, sizeof(*c));
			snprintf(c->name, sizeof(c->name), "%s", n);
			c->line = l2;
			yaml_event_delete(&ev);
			if (parse_one(p, c) != 0)
				return -1;
		}
	}
	if (cnext(p, &ev) != 0) /* document end */
		return -1;
	yaml_event_delete(&ev);
	if (cnext(p, &ev) != 0)
		return -1;
	int more = ev.type != YAML_STREAM_END_EVENT;
	size_t line = ev.start_mark.line + 1;
	yaml_event_delete(&ev);
	return more ? cfail(p, line, "only one YAML document is allowed") : 0;
}

int compart_parse(const char *name, const char *buf, size_t len, struct compart_set *set,
		  char *err, size_t errlen)
{
	struct compart_set *tmp = calloc(1, sizeof(*tmp));
	struct cparse p = {.name = name, .err = err, .errlen = errlen, .set = tmp};
	int rc;

	if (tmp == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	if (!yaml_parser_initialize(&p.y)) {
		free(tmp);
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	yaml_parser_set_input_string(&p.y, (const unsigned char *)buf, len);
	rc = parse_doc(&p);
	yaml_parser_delete(&p.y);
	if (rc == 0) {
		snprintf(tmp->source, sizeof(tmp->source), "%s", name);
		*set = *tmp;
	}
	free(tmp);
	return rc;
}

int compart_load(const char *path, struct compart_set *set, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (fs_read_file(path, 1u << 20, &buf, &len) != 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
		return -1;
	}
	rc = compart_parse(path, buf, len, set, err, errlen);
	free(buf);
	return rc;
}

const struct compart *compart_find(const struct compart_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->c[i].name, name) == 0)
			return &set->c[i];
	return NULL;
}

int compart_paths(const char *state_dir, const char *name, struct compart_paths *p)
{
	if (snprintf(p->home, sizeof(p->home), "%s/compartments/%s/home", state_dir, name) >=
		(int)sizeof(p->home) ||
	    snprintf(p->rpc, sizeof(p->rpc), "%s/compartments/%s/rpc", state_dir, name) >=
		(int)sizeof(p->rpc) ||
	    snprintf(p->sockdir, sizeof(p->sockdir), "%s/run/broker/%s", state_dir, name) >=
		(int)sizeof(p->sockdir) ||
	    snprintf(p->infer_socket, sizeof(p->infer_socket), "%s/run/infer.sock", state_dir) >=
		(int)sizeof(p->infer_socket)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int compart_prepare(const char *state_dir, const struct compart *c, struct compart_paths *p)
{
	if (compart_paths(state_dir, c->name, p) != 0)
		return -1;
	if (fs_mkdir_p(p->home, 0700) != 0 || fs_mkdir_p(p->rpc, 0700) != 0 ||
	    fs_mkdir_p(p->sockdir, 0700) != 0)
		return -1;
	return 0;
}

/* Calls no sandboxed program needs, and that would let it reach past its walls. */
static const int denied_calls[] = {
    SCMP_SYS(ptrace),	     SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
    SCMP_SYS(mount),	     SCMP_SYS(umount2),		 SCMP_SYS(pivot_root),
    SCMP_SYS(chroot),	     SCMP_SYS(unshare),		 SCMP_SYS(setns),
    SCMP_SYS(kexec_load),    SCMP_SYS(kexec_file_load),	 SCMP_SYS(init_module),
    SCMP_SYS(finit_module),  SCMP_SYS(delete_module),	 SCMP_SYS(bpf),
    SCMP_SYS(perf_event_open), SCMP_SYS(keyctl),	 SCMP_SYS(add_key),
    SCMP_SYS(request_key),   SCMP_SYS(userfaultfd),	 SCMP_SYS(open_by_handle_at),
    SCMP_SYS(name_to_handle_at), SCMP_SYS(swapon),	 SCMP_SYS(swapoff),
    SCMP_SYS(reboot),	     SCMP_SYS(acct),		 SCMP_SYS(quotactl),
    SCMP_SYS(syslog),	     SCMP_SYS(iopl),		 SCMP_SYS(ioperm),
    SCMP_SYS(settimeofday),  SCMP_SYS(clock_settime),	 SCMP_SYS(fanotify_init),
    SCMP_SYS(mount_setattr), SCMP_SYS(fsopen),		 SCMP_SYS(fsmount),
    SCMP_SYS(move_mount),    SCMP_SYS(open_tree),
};

int compart_seccomp_fd(const struct compart *c)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int fd = -1, rc = 0;

	if (ctx == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(denied_calls) / sizeof(denied_calls[0]) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied_calls[i], 0);
	/* no network: only local (AF_UNIX) sockets, on top of the empty network namespace */
	if (rc == 0 && !c->network)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_NE, AF_UNIX, 0));
	if (rc == 0)
		fd = memfd_create("secai-seccomp", MFD_CLOEXEC);
	if (fd >= 0 && (seccomp_export_bpf(ctx, fd) != 0 || lseek(fd, 0, SEEK_SET) != 0)) {
		close(fd);
		fd = -1;
	}
	seccomp_release(ctx);
	if (fd >= 0) {
		/* bwrap reads it after exec: the descriptor must survive exec */
		int fl = fcntl(fd, F_GETFD);
		fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
	}
	return fd;
}

static int add(struct compart_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int add(struct compart_argv *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (a->argc >= COMPART_ARGV_MAX)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(a->store[a->argc], sizeof(a->store[0]), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(a->store[0]))
		return -1;
	a->argv[a->argc] = a->store[a->argc];
	a->argc++;
	a->argv[a->argc] = NULL;
	return 0;
}

int compart_sandbox_argv(const struct compart *c, const struct compart_paths *p,
			 const char *bin_dir, int seccomp_fd, const char *const *env,
			 const char *const *cmd, struct compart_argv *out)
{
	static const char *const etc_files[] = {"/etc/ld.so.cache", "/etc/nsswitch.conf",
						"/etc/alternatives", NULL};
	struct stat st;
	int r = 0;

	memset(out, 0, sizeof(*out));
	r |= add(out, "bwrap");
	r |= add(out, "--die-with-parent");
	r |= add(out, "--new-session"); /* no TIOCSTI into the caller's terminal */
	r |= add(out, "--unshare-user-try");
	r |= add(out, "--unshare-ipc");
	r |= add(out, "--unshare-pid");
	r |= add(out, "--unshare-uts");
	r |= add(out, "--unshare-cgroup-try");
	if (!c->network)
		r |= add(out, "--unshare-net");
	r |= add(out, "--hostname") | add(out, "%s", c->name);
	r |= add(out, "--cap-drop") | add(out, "ALL");
	r |= add(out, "--ro-bind") | add(out, "/usr") | add(out, "/usr");
	/* Debian's merged /usr: /bin, /lib, /lib64, /sbin are symlinks into it */
	static const char *const links[][2] = {
	    {"usr/bin", "/bin"}, {"usr/sbin", "/sbin"}, {"usr/lib", "/lib"}, {"usr/lib64", "/lib64"}};
	for (size_t i = 0; i < 4; i++)
		if (lstat(links[i][1], &st) == 0 && S_ISLNK(st.st_mode))
			r |= add(out, "--symlink") | add(out, "%s", links[i][0]) |
			     add(out, "%s", links[i][1]);
		else if (lstat(links[i][1], &st) == 0 && S_ISDIR(st.st_mode))
			r |= add(out, "--ro-bind") | add(out, "%s", links[i][1]) |
			     add(out, "%s", links[i][1]);
	for (size_t i = 0; etc_files[i]; i++)
		if (stat(etc_files[i], &st) == 0)
			r |= add(out, "--ro-bind") | add(out, "%s", etc_files[i]) |
			     add(out, "%s", etc_files[i]);
	r |= add(out, "--proc") | add(out, "/proc");
	r |= add(out, "--dev") | add(out, "/dev");
	r |= add(out, "--tmpfs") | add(out, "/tmp");
	r |= add(out, "--bind") | add(out, "%s", p->home) | add(out, "/home/user");
	r |= add(out, "--ro-bind") | add(out, "%s", p->rpc) | add(out, "/rpc");
	r |= add(out, "--bind") | add(out, "%s", p->sockdir) | add(out, "/run/secai");
	if (bin_dir != NULL)
		r |= add(out, "--ro-bind") | add(out, "%s", bin_dir) | add(out, "/run/secai/bin");
	/* infer: true — secai-infer's Unix socket, the one way to the model without a network */
	int with_infer = c->infer && p->infer_socket[0] != '\0' && stat(p->infer_socket, &st) == 0 &&
			 S_ISSOCK(st.st_mode);
	if (with_infer)
		r |= add(out, "--bind") | add(out, "%s", p->infer_socket) | add(out, "/run/infer.sock");
	r |= add(out, "--chdir") | add(out, "/home/user");
	r |= add(out, "--clearenv");
	r |= add(out, "--setenv") | add(out, "HOME") | add(out, "/home/user");
	r |= add(out, "--setenv") | add(out, "PATH") |
	     add(out, "/run/secai/bin:/usr/local/bin:/usr/bin:/bin");
	r |= add(out, "--setenv") | add(out, "SECAI_COMPARTMENT") | add(out, "%s", c->name);
	r |= add(out, "--setenv") | add(out, "SECAI_CALL_SOCKET") | add(out, "/run/secai/call.sock");
	if (with_infer)
		r |= add(out, "--setenv") | add(out, "SECAI_INFER_SOCKET") | add(out, "/run/infer.sock");
#ifdef COMPART_ASAN
	/* sanitizer builds (make check): LeakSanitizer needs ptrace, which the filter refuses */
	r |= add(out, "--setenv") | add(out, "ASAN_OPTIONS") | add(out, "detect_leaks=0");
#endif
	for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
		const char *eq = strchr(env[i], '=');
		if (eq == NULL || eq == env[i])
			return -1;
		r |= add(out, "--setenv") | add(out, "%.*s", (int)(eq - env[i]), env[i]) |
		     add(out, "%s", eq + 1);
	}
	if (seccomp_fd >= 0)
		r |= add(out, "--seccomp") | add(out, "%d", seccomp_fd);
	r |= add(out, "--");
	/* Landlock on top, after bwrap's mounts (a Landlock domain may not mount) */
	if (bin_dir != NULL) {
		static const char *const ro[] = {"/usr", "/etc", "/proc", "/rpc", "/run/secai/bin"};
		static const char *const rw[] = {"/home/user", "/tmp", "/dev", "/run/secai"};

		r |= add(out, "/run/secai/bin/secai-confine");
		if (!c->network)
			r |= add(out, "--no-tcp");
		r |= add(out, "--list") | add(out, "/");
		for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
			r |= add(out, "--ro") | add(out, "%s", ro[i]);
		for (size_t i = 0; i < sizeof(rw) / sizeof(rw[0]); i++)
			r |= add(out, "--rw") | add(out, "%s", rw[i]);
		if (with_infer)
			r |= add(out, "--rw") | add(out, "/run/infer.sock");
		r |= add(out, "--");
	}
	for (size_t i = 0; cmd[i] != NULL; i++)
		r |= add(out, "%s", cmd[i]);
	return r ? -1 : 0;
}
