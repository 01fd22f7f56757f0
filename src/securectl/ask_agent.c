/*
 * ask_agent.c — `securectl ask-agent`: answers the broker's `ask` decisions at this terminal,
 * like Qubes' qrexec-policy-agent showing a confirmation dialog in the GUI qube.
 *
 * Listens on STATE/run/ask.sock (0600, only the owner can connect or answer); for each question
 * of the broker (one JSON line: source, service, argument, targets, default_target) prints who
 * wants what and the targets on offer, reads one line from stdin — a number, Enter for the
 * default target, or n — and answers "allow:TARGET" or "deny". One question at a time.
 * Owns: the prompt. Never: answers allow without an explicit choice (Enter counts only when the
 * policy named a default); prints a name from the question without escaping control bytes.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fsutil.h"
#include "json.h"
#include "securectl/ctl.h"
#include "securectl/securectl.h"

#define ASK_LINE_MAX 8192

static void usage(FILE *f)
{
	fprintf(f, "usage: securectl ask-agent [--socket PATH] [--once]\n"
		   "\n"
		   "Answers the broker's prompts: when the rpc policy says `ask` for a call between\n"
		   "compartments, secai-broker asks here (STATE/run/ask.sock). Each question shows\n"
		   "the caller, the service and the targets the policy offers; type a number, Enter\n"
		   "for the policy's default_target (when it has one), or n to deny. Without a running\n"
		   "agent, the broker denies (or takes the default, broker.ask_fallback), and an\n"
		   "unanswered prompt is denied after broker.ask_timeout seconds.\n"
		   "  --once   answer one question, then exit\n");
}

/* Prints s with control and non-ASCII bytes escaped. */
static void put_safe(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f)
			putchar(*p);
		else
			printf("\\x%02x", *p);
	}
}

static int listen_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	mode_t old = umask(077);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0 || chmod(path, 0600) != 0 || listen(fd, 8) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static ssize_t read_line(int fd, char *buf, size_t cap)
{
	size_t got = 0;

	while (got + 1 < cap) {
		ssize_t n = read(fd, buf + got, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (buf[got] == '\n') {
			buf[got] = '\0';
			return (ssize_t)got;
		}
		got++;
	}
	return -1;
}

/* Prompts for one question; returns the answer line to send (static). */
static const char *prompt(const json_t *q)
{
	static char answer[256];
	const char *src = json_string_value(json_object_get(q, "source"));
	const char *svc = json_string_value(json_object_get(q, "service"));
	const char *arg = json_string_value(json_object_get(q, "argument"));
	const char *def = json_string_value(json_object_get(q, "default_target"));
	const json_t *targets = json_object_get(q, "targets");
	char line[128];
	size_t n = json_array_size(targets), i;

	if (!src || !svc || !arg || !json_is_array(targets) || n == 0)
		return "deny";
	for (i = 0; i < n; i++)
		if (!json_is_string(json_array_get(targets, i)))
			return "deny";
	printf("\nsecai: compartment ");
	put_safe(src);
	printf(" asks to run ");
	put_safe(svc);
	if (strcmp(arg, "+") != 0)
		put_safe(arg);
	printf(" in:\n");
	for (i = 0; i < n; i++) {
		const char *t = json_string_value(json_array_get(targets, i));
		printf("  %zu) ", i + 1);
		put_safe(t);
		printf("%s\n", def && strcmp(def, t) == 0 ? "  (default)" : "");
	}
	printf("Allow? [1-%zu%s, n = deny]: ", n, def ? ", Enter = default" : "");
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return NULL; /* stdin closed: stop */
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0' && def != NULL) {
		snprintf(answer, sizeof(answer), "allow:%s", def);
	} else {
		char *end;
		long k = strtol(line, &end, 10);
		if (line[0] != '\0' && *end == '\0' && k >= 1 && (size_t)k <= n)
			snprintf(answer, sizeof(answer), "allow:%s",
				 json_string_value(json_array_get(targets, (size_t)k - 1)));
		else
			snprintf(answer, sizeof(answer), "deny");
	}
	printf("-> %s\n", answer);
	fflush(stdout);
	return answer;
}

int ask_agent_main(int argc, char **argv)
{
	static const struct option opts[] = {{"socket", required_argument, NULL, 's'},
					     {"once", no_argument, NULL, '1'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct secai_config cfg;
	char path[4200], line[ASK_LINE_MAX], err[200];
	const char *sock = NULL;
	int ch, once = 0, lfd;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "s:1h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': sock = optarg; break;
		case '1': once = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return SECURECTL_EX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return SECURECTL_EX_USAGE;
	}
	if (sock == NULL) {
		if (ctl_config(&cfg) != 0)
			return 1;
		snprintf(path, sizeof(path), "%s/run", cfg.state_dir);
		if (fs_mkdir_p(path, 0700) != 0) {
			fprintf(stderr, "securectl ask-agent: %s: %s\n", path, strerror(errno));
			return 1;
		}
		snprintf(path, sizeof(path), "%s/run/ask.sock", cfg.state_dir);
		sock = path;
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_socket(sock);
	if (lfd < 0) {
		fprintf(stderr, "securectl ask-agent: cannot listen on %s: %s\n", sock,
			strerror(errno));
		return 1;
	}
	printf("securectl ask-agent: answering the broker's prompts on %s (Ctrl-C to stop)\n", sock);
	fflush(stdout);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		const char *ans;
		json_t *q;

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		struct timeval tv = {5, 0};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (read_line(fd, line, sizeof(line)) < 0) {
			close(fd);
			continue;
		}
		q = json_parse_object(line, strlen(line), ASK_LINE_MAX, err, sizeof(err));
		ans = q ? prompt(q) : "deny";
		json_decref(q);
		if (ans == NULL) { /* no terminal any more: refuse and stop */
			fs_write_all(fd, "deny\n", 5);
			close(fd);
			break;
		}
		if (fs_write_all(fd, ans, strlen(ans)) != 0 || fs_write_all(fd, "\n", 1) != 0)
			printf("(the broker stopped waiting: the call was already refused)\n");
		close(fd);
		if (once)
			break;
	}
	close(lfd);
	unlink(sock);
	return 0;
}
