/*
 * landlock.c — the Landlock ruleset of a compartment (see landlock.h).
 *
 * Debian 12's <linux/landlock.h> knows ABI 1-2; newer kernels have more (truncate, device
 * ioctls, TCP, scoping). The kernel's ABI is stable and its struct may be passed shorter, so
 * the later fields and bits are defined here from the kernel's UAPI and used only when the
 * running kernel reports that ABI.
 * Owns: mapping read-only / read-write paths onto access rights per ABI. Never: adds a right a
 * path's type does not take (a file gets only file rights); enforces a ruleset with a rule that
 * failed to add.
 */
#include "landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* from the kernel UAPI, newer than Debian 12's header */
#define LL_FS_TRUNCATE (1ULL << 14)		 /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ULL << 15)		 /* ABI 5 */
#define LL_NET_BIND_TCP (1ULL << 0)		 /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1)		 /* ABI 4 */
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)		 /* ABI 6 */

struct ll_ruleset_attr { /* struct landlock_ruleset_attr as of ABI 6 */
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define LL_FS_READ (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_FS_FILE_ONLY                                                                           \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
	 LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)

int landlock_abi(void)
{
	long v = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	return v < 0 ? 0 : (int)v;
}

static uint64_t fs_rights(int abi)
{
	uint64_t r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0..12 */
	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LL_FS_TRUNCATE;
	if (abi >= 5)
		r |= LL_FS_IOCTL_DEV;
	return r;
}

int landlock_confine(const struct landlock_path *paths, size_t n, bool deny_tcp, char *err,
		     size_t errlen)
{
	int abi = landlock_abi(), rfd;
	struct ll_ruleset_attr attr = {0};
	size_t attr_size;
	uint64_t all;

	if (abi <= 0)
		return 0;
	all = fs_rights(abi);
	attr.handled_access_fs = all;
	attr_size = sizeof(uint64_t);
	if (abi >= 4) {
		attr.handled_access_net = deny_tcp ? LL_NET_BIND_TCP | LL_NET_CONNECT_TCP : 0;
		attr_size = 2 * sizeof(uint64_t);
	}
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
		attr_size = sizeof(attr);
	}
	rfd = (int)syscall(__NR_landlock_create_ruleset, &attr, attr_size, 0);
	if (rfd < 0) {
		snprintf(err, errlen, "landlock_create_ruleset (ABI %d): %s", abi, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct landlock_path_beneath_attr pb = {0};
		struct stat st;
		int fd = open(paths[i].path, O_PATH | O_CLOEXEC);

		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			snprintf(err, errlen, "%s: %s", paths[i].path, strerror(errno));
			close(rfd);
			return -1;
		}
		if (fstat(fd, &st) != 0) {
			snprintf(err, errlen, "%s: %s", paths[i].path, strerror(errno));
			close(fd);
			close(rfd);
			return -1;
		}
		pb.parent_fd = fd;
		pb.allowed_access = paths[i].list    ? LANDLOCK_ACCESS_FS_READ_DIR
				    : paths[i].write ? all & ~(LANDLOCK_ACCESS_FS_MAKE_CHAR |
							       LANDLOCK_ACCESS_FS_MAKE_BLOCK)
						     : LL_FS_READ;
		if (!S_ISDIR(st.st_mode))
			pb.allowed_access &= LL_FS_FILE_ONLY;
		pb.allowed_access &= all;
		if (syscall(__NR_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0) {
			snprintf(err, errlen, "landlock_add_rule %s: %s", paths[i].path,
				 strerror(errno));
			close(fd);
			close(rfd);
			return -1;
		}
		close(fd);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(__NR_landlock_restrict_self, rfd, 0) != 0) {
		snprintf(err, errlen, "landlock_restrict_self: %s", strerror(errno));
		close(rfd);
		return -1;
	}
	close(rfd);
	return abi;
}
