/* SPDX-License-Identifier: MIT */
/*
 * Integration-test helpers (see daemon.h).  The daemon and every client
 * process are children of the forked Check test; they die with it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "daemon.h"

#define MAX_DAEMONS 4
#define START_TIMEOUT_MS 15000
#define MAX_OPTS 16

static struct tdaemon *live[MAX_DAEMONS];
static pid_t owner;

void t_unlink_nvme(const char *path)
{
	char j[512];

	unlink(path);
	snprintf(j, sizeof(j), "%s.journal", path);
	unlink(j);
}

void t_msleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static const char *binary(const char *var)
{
	const char *p = getenv(var);

	if (!p || !*p || access(p, X_OK) < 0) {
		fprintf(stderr, "skip: $%s does not name the binary to test (run through meson test)\n",
			var);
		exit(77);
	}
	return p;
}

const char *t_tierd_path(void)
{
	return binary("TIERD");
}

const char *t_tierctl_path(void)
{
	return binary("TIERCTL");
}

static void print_log_tail(const struct tdaemon *d)
{
	char buf[4096];
	ssize_t n;
	off_t size;
	int fd = open(d->log, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		fprintf(stderr, "---- tail of %s ----\n%s---- end ----\n", d->log, buf);
	}
}

void tdaemon_cleanup(struct tdaemon *d)
{
	char cmd[128];

	if (!d->dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
	(void)!system(cmd);
	d->dir[0] = 0;
}

static void forget(struct tdaemon *d)
{
	for (int i = 0; i < MAX_DAEMONS; i++)
		if (live[i] == d)
			live[i] = NULL;
}

/* At exit of the test process: whatever is still running was not stopped by the test. */
static void at_exit(void)
{
	if (getpid() != owner)
		return;
	for (int i = 0; i < MAX_DAEMONS; i++) {
		struct tdaemon *d = live[i];

		if (!d)
			continue;
		if (d->pid > 0) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, NULL, 0);
			print_log_tail(d);
		}
		tdaemon_cleanup(d);
		live[i] = NULL;
	}
}

void tdaemon_start(struct tdaemon *d, const char *host_size, ...)
{
	const char *tierd = t_tierd_path();
	char *argv[8 + 2 * MAX_OPTS];
	char sockopt[160], sizeopt[64];
	int argc = 0, slot = -1;
	pid_t parent = getpid();
	const char *o;
	va_list ap;
	long deadline;

	memset(d, 0, sizeof(*d));
	if (!owner || owner != getpid()) {
		owner = getpid();
		memset(live, 0, sizeof(live));
		atexit(at_exit);
	}
	for (int i = 0; i < MAX_DAEMONS && slot < 0; i++)
		if (!live[i])
			slot = i;
	ck_assert_int_ge(slot, 0);
	snprintf(d->dir, sizeof(d->dir), "/tmp/tierd-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d->dir));
	live[slot] = d;
	snprintf(d->sock, sizeof(d->sock), "%s/tierd.sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/tierd.log", d->dir);
	snprintf(sockopt, sizeof(sockopt), "daemon.socket=%s", d->sock);
	snprintf(sizeopt, sizeof(sizeopt), "host.size=%s", host_size);

	argv[argc++] = (char *)tierd;
	argv[argc++] = (char *)"-f";
	argv[argc++] = (char *)"-o";
	argv[argc++] = sockopt;
	argv[argc++] = (char *)"-o";
	argv[argc++] = sizeopt;
	va_start(ap, host_size);
	while ((o = va_arg(ap, const char *)) != NULL) {
		ck_assert_int_lt(argc, 6 + 2 * MAX_OPTS);
		argv[argc++] = (char *)"-o";
		argv[argc++] = (char *)o;
	}
	va_end(ap);
	argv[argc] = NULL;

	d->pid = fork();
	ck_assert_int_ge(d->pid, 0);
	if (d->pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		/* Not under systemd, whatever the environment of the test run says. */
		unsetenv("NOTIFY_SOCKET");
		unsetenv("INVOCATION_ID");
		execv(tierd, argv);
		_exit(127);
	}

	deadline = now_ms() + START_TIMEOUT_MS;
	for (;;) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), st;

		memcpy(sa.sun_path, d->sock, strlen(d->sock) + 1); /* < 64 bytes: see mkdtemp */
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return;
		}
		close(fd);
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			print_log_tail(d);
			ck_abort_msg("tierd exited at start (status 0x%x)", st);
		}
		if (now_ms() > deadline)
			ck_abort_msg("tierd did not listen on %s within %d ms", d->sock,
				     START_TIMEOUT_MS);
		t_msleep(5);
	}
}

int tdaemon_wait(struct tdaemon *d, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	int st;

	if (d->pid <= 0)
		return -1;
	for (;;) {
		pid_t r = waitpid(d->pid, &st, WNOHANG);

		if (r == d->pid) {
			d->pid = 0;
			return st;
		}
		if (r < 0 || now_ms() > deadline)
			return -1;
		t_msleep(5);
	}
}

int tdaemon_stop(struct tdaemon *d)
{
	int st;

	ck_assert_int_gt(d->pid, 0);
	ck_assert_int_eq(kill(d->pid, SIGTERM), 0);
	st = tdaemon_wait(d, 10000);
	ck_assert_msg(st != -1, "tierd did not exit within 10 s of SIGTERM");
	forget(d);
	tdaemon_cleanup(d);
	return st;
}

void tdaemon_kill(struct tdaemon *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
		d->pid = 0;
	}
}

bool tdaemon_alive(const struct tdaemon *d)
{
	int st;

	return d->pid > 0 && waitpid(d->pid, &st, WNOHANG) == 0;
}

int tdaemon_fd_count(const struct tdaemon *d)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)d->pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

tier_client *t_connect(const struct tdaemon *d)
{
	tier_client *c = NULL;
	int r = tier_connect(d->sock, &c);

	ck_assert_msg(r == 0, "tier_connect(%s): %s", d->sock, tier_strerror(r));
	return c;
}

void t_stats(tier_client *c, struct tier_stats *out, struct tier_ns_stats *ns, size_t max_ns)
{
	int r;

	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	r = tier_stats_get(c, out, ns, max_ns);
	ck_assert_msg(r >= 0, "tier_stats_get: %s", tier_strerror(r));
	ck_assert_uint_eq(out->n_tiers, 1);
	ck_assert_str_eq(out->tiers[0].name, "host");
}

pid_t t_fork(int (*fn)(void *arg), void *arg)
{
	pid_t parent = getpid(), pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		/* _exit: the test process's atexit handlers are not ours to run. */
		_exit(fn(arg));
	}
	return pid;
}

int t_wait(pid_t pid, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0)
			return -1;
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		t_msleep(2);
	}
}

void t_run_child(int (*fn)(void *arg), void *arg, int timeout_ms)
{
	int st = t_wait(t_fork(fn, arg), timeout_ms);

	ck_assert_msg(st != -1, "client process timed out");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "client process failed (status 0x%x; see its stderr)", st);
}

/* Read what is available on fd into buf[*len..cap) (NUL-terminated); false at EOF. */
static bool drain(int fd, char *buf, size_t cap, size_t *len)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n <= 0)
		return n < 0 && errno == EINTR;
	if (buf && cap > 1) {
		size_t k = (size_t)n < cap - 1 - *len ? (size_t)n : cap - 1 - *len;

		memcpy(buf + *len, tmp, k);
		*len += k;
		buf[*len] = 0;
	}
	return true;
}

int t_exec(char *const argv[], char *out, size_t outlen, char *err, size_t errlen,
	   int timeout_ms)
{
	int po[2], pe[2], st;
	size_t lo = 0, le = 0;
	bool open_o = true, open_e = true;
	long deadline = now_ms() + timeout_ms;
	pid_t pid, parent = getpid();

	if (out && outlen)
		out[0] = 0;
	if (err && errlen)
		err[0] = 0;
	ck_assert_int_eq(pipe2(po, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(pe, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		unsetenv("NOTIFY_SOCKET");
		unsetenv("INVOCATION_ID");
		execv(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	while (open_o || open_e) {
		struct pollfd p[2] = { { open_o ? po[0] : -1, POLLIN, 0 },
				       { open_e ? pe[0] : -1, POLLIN, 0 } };
		long left = deadline - now_ms();

		if (left <= 0)
			break;
		if (poll(p, 2, (int)left) <= 0)
			continue;
		if (p[0].revents)
			open_o = drain(po[0], out, outlen, &lo);
		if (p[1].revents)
			open_e = drain(pe[0], err, errlen, &le);
	}
	close(po[0]);
	close(pe[0]);
	if (open_o || open_e) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return -1;
	}
	st = t_wait(pid, (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 1));
	return st;
}

void t_fill(void *p, size_t len, tier_key key)
{
	uint64_t s = key.hi ^ (key.lo * 0x9E3779B97F4A7C15ULL), w;
	uint8_t *b = p;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		w = s ^ (s >> 29);
		memcpy(b + i, &w, 8);
	}
	s = s * 6364136223846793005ULL + 1442695040888963407ULL;
	for (; i < len; i++)
		b[i] = (uint8_t)(s >> (8 * (i % 8)));
}

bool t_verify(const void *p, size_t len, tier_key key)
{
	static uint8_t *want;
	static size_t want_len;

	if (want_len < len) {
		free(want);
		want = malloc(len);
		want_len = want ? len : 0;
		if (!want)
			return false;
	}
	t_fill(want, len, key);
	return memcmp(p, want, len) == 0;
}

tier_key t_key(uint32_t seed, uint32_t i)
{
	uint32_t d[2] = { seed, i };

	return tier_key_next(TIER_KEY_ROOT, d, sizeof(d));
}
