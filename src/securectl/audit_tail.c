/*
 * audit_tail.c — `securectl audit tail [-n N] [-f]`: the last entries, and new ones as they
 * are appended (following rotation). Prints entry lines as stored. Read-only.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "securectl/ctl.h"
#include "securectl/securectl.h"

static volatile sig_atomic_t tail_stop;

static void on_signal(int sig)
{
	(void)sig;
	tail_stop = 1;
}

/* Prints the last n lines of the files (newest file last). */
static int print_last(char **files, size_t nfiles, long n)
{
	long need = n;
	size_t first = nfiles;
	off_t start_off = 0;

	/* walk back through files counting newlines until n lines are covered */
	for (size_t i = nfiles; i-- > 0 && need > 0;) {
		int fd = open(files[i], O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) != 0) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		off_t pos = st.st_size;
		char buf[65536];
		first = i;
		start_off = 0;
		int skip_last_nl = 1;
		while (pos > 0 && need >= 0) {
			size_t chunk = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
			pos -= (off_t)chunk;
			if (pread(fd, buf, chunk, pos) != (ssize_t)chunk) {
				close(fd);
				return -1;
			}
			for (size_t k = chunk; k-- > 0;) {
				if (buf[k] != '\n')
					continue;
				if (skip_last_nl && pos + (off_t)k == st.st_size - 1) {
					skip_last_nl = 0;
					continue;
				}
				if (--need == 0) {
					start_off = pos + (off_t)k + 1;
					pos = 0;
					break;
				}
			}
		}
		if (need > 0 && st.st_size > 0)
			need--; /* the file's first line has no newline before it */
		close(fd);
	}
	for (size_t i = first; i < nfiles; i++) {
		FILE *f = fopen(files[i], "re");
		char buf[65536];
		size_t r;
		if (f == NULL)
			return -1;
		if (i == first && fseeko(f, start_off, SEEK_SET) != 0) {
			fclose(f);
			return -1;
		}
		while ((r = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, r, stdout);
		fclose(f);
	}
	fflush(stdout);
	return 0;
}

static int follow(const char *live)
{
	struct stat st;
	ino_t ino = 0;
	off_t off = 0;
	int fd = -1;
	char buf[65536];

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (stat(live, &st) == 0) {
		ino = st.st_ino;
		off = st.st_size;
	}
	while (!tail_stop) {
		if (fd < 0) {
			fd = open(live, O_RDONLY | O_CLOEXEC);
			if (fd >= 0 && fstat(fd, &st) == 0 && st.st_ino != ino) {
				ino = st.st_ino; /* rotated: the new file is read from its start */
				off = 0;
			}
		}
		if (fd >= 0) {
			ssize_t r;
			while ((r = pread(fd, buf, sizeof(buf), off)) > 0) {
				fwrite(buf, 1, (size_t)r, stdout);
				off += r;
			}
			fflush(stdout);
			if (stat(live, &st) != 0 || st.st_ino != ino) {
				/* drain what is left in the old file, then switch */
				while ((r = pread(fd, buf, sizeof(buf), off)) > 0) {
					fwrite(buf, 1, (size_t)r, stdout);
					off += r;
				}
				close(fd);
				fd = -1;
				continue;
			}
		}
		usleep(100000);
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

int audit_tail_main(int argc, char **argv)
{
	static const struct option longopts[] = {{"follow", no_argument, NULL, 'f'},
						  {"lines", required_argument, NULL, 'n'},
						  {"log", required_argument, NULL, 'l'},
						  {"help", no_argument, NULL, 'h'},
						  {NULL, 0, NULL, 0}};
	const char *log_override = NULL;
	struct secai_config cfg;
	struct audit_paths p;
	char **files, *end;
	size_t nfiles;
	long n = 10;
	int ch, f = 0, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "fn:l:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': f = 1; break;
		case 'n':
			n = strtol(optarg, &end, 10);
			if (*end || n < 0 || n > 100000000) {
				fprintf(stderr, "securectl audit tail: -n takes 0..100000000\n");
				return SECURECTL_EX_USAGE;
			}
			break;
		case 'l': log_override = optarg; break;
		case 'h':
			printf("usage: securectl audit tail [-n N] [-f] [--log FILE]\n"
			       "Prints the last N entries (default 10) as stored; -f keeps printing new\n"
			       "ones, across rotation, until Ctrl-C.\n");
			return 0;
		default: return SECURECTL_EX_USAGE;
		}
	}
	if (ctl_config(&cfg) != 0 || ctl_audit_paths(&cfg, log_override, &p) != 0)
		return 1;
	if (audit_log_files(&p, &files, &nfiles) != 0) {
		fprintf(stderr, "securectl audit tail: cannot list %s: %s\n", p.dir, strerror(errno));
		return 1;
	}
	rc = n > 0 ? print_last(files, nfiles, n) : 0;
	audit_log_files_free(files, nfiles);
	if (rc != 0) {
		fprintf(stderr, "securectl audit tail: reading the log failed: %s\n", strerror(errno));
		return 1;
	}
	return f ? follow(p.live) : 0;
}
