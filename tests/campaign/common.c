/* SPDX-License-Identifier: MIT */
/*
 * What the campaigns share (see campaign.h): the daemon's life cycle, the
 * reconnecting client, key-derived block bytes, shared counters.  Readiness
 * is "a client can connect", never "the socket file exists": after a kill -9
 * the old socket file stays until the new daemon replaces it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "campaign.h"

double camp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void camp_msleep(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

uint64_t camp_rand(uint64_t *s)
{
	/* splitmix64: any seed, including 0, is fine */
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* ---- the daemon ---------------------------------------------------------------- */

void cd_init(struct camp_daemon *d, const char *name, const char *tierd)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/var/tmp/tierd-camp-%s.XXXXXX", name);
	if (!mkdtemp(d->dir)) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(d->sock, sizeof(d->sock), "%s/tierd.sock", d->dir);
	snprintf(d->img, sizeof(d->img), "%s/nvme.img", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/tierd.log", d->dir);
	d->tierd = tierd;
	d->host_size = "32M";
}

int cd_start(struct camp_daemon *d)
{
	char o_sock[256], o_host[64], o_path[256], o_nsize[64];
	char *argv[16];
	int n = 0;
	pid_t pid;

	argv[n++] = (char *)d->tierd;
	argv[n++] = (char *)"-f";
	snprintf(o_sock, sizeof(o_sock), "daemon.socket=%s", d->sock);
	argv[n++] = (char *)"-o";
	argv[n++] = o_sock;
	snprintf(o_host, sizeof(o_host), "host.size=%s", d->host_size);
	argv[n++] = (char *)"-o";
	argv[n++] = o_host;
	argv[n++] = (char *)"-o";
	argv[n++] = (char *)"host.hugepages=off";
	if (d->nvme_size) {
		snprintf(o_path, sizeof(o_path), "nvme.path=%s", d->img);
		snprintf(o_nsize, sizeof(o_nsize), "nvme.size=%s", d->nvme_size);
		argv[n++] = (char *)"-o";
		argv[n++] = o_path;
		argv[n++] = (char *)"-o";
		argv[n++] = o_nsize;
	}
	if (d->opt) {
		argv[n++] = (char *)"-o";
		argv[n++] = (char *)d->opt;
	}
	argv[n] = NULL;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (d->faults)
			setenv("TIERD_FAULT_INJECT", d->faults, 1);
		else
			unsetenv("TIERD_FAULT_INJECT");
		execv(d->tierd, argv);
		_exit(127);
	}
	d->pid = pid;
	for (int i = 0; i < 3000; i++) {
		tier_client *c;
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid) {
			fprintf(stderr, "campaign: tierd exited at start (status 0x%x)\n", st);
			d->pid = 0;
			cd_log_tail(d, 20);
			return -1;
		}
		if (tier_connect(d->sock, &c) == 0) {
			tier_close(c);
			return 0;
		}
		camp_msleep(10);
	}
	fprintf(stderr, "campaign: tierd did not come up in 30 s\n");
	return -1;
}

int cd_stop(struct camp_daemon *d, int sig)
{
	int st = -1;

	if (!d->pid)
		return -1;
	kill(d->pid, sig);
	while (waitpid(d->pid, &st, 0) < 0 && errno == EINTR)
		;
	d->pid = 0;
	return st;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

void cd_cleanup(struct camp_daemon *d)
{
	if (d->pid)
		cd_stop(d, SIGKILL);
	nftw(d->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

long cd_rss_kib(const struct camp_daemon *d)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)d->pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int cd_fds(const struct camp_daemon *d)
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
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

void cd_log_tail(const struct camp_daemon *d, int lines)
{
	char cmd[300];

	fprintf(stderr, "---- tail of %s\n", d->log);
	snprintf(cmd, sizeof(cmd), "tail -n %d '%s' >&2", lines, d->log);
	if (system(cmd) != 0)
		fprintf(stderr, "(no log)\n");
}

/* ---- clients ----------------------------------------------------------------------- */

int cc_connect(struct camp_client *cc, int timeout_ms)
{
	double until = camp_now() + timeout_ms / 1000.0;
	int r;

	for (;;) {
		r = tier_connect(cc->sock, &cc->c);
		if (r == 0) {
			r = tier_namespace(cc->c, cc->ns_name, cc->bs, &cc->ns);
			if (r == 0)
				return 0;
			tier_close(cc->c);
		}
		cc->c = NULL;
		if (camp_now() > until)
			return r;
		camp_msleep(20);
	}
}

int cc_reconnect(struct camp_client *cc, int timeout_ms)
{
	cc_close(cc);
	cc->reconnects++;
	return cc_connect(cc, timeout_ms);
}

void cc_close(struct camp_client *cc)
{
	tier_close(cc->c);
	cc->c = NULL;
}

/* ---- blocks ----------------------------------------------------------------------- */

tier_key ck_key(uint64_t space, uint64_t i)
{
	uint64_t b[2] = { space, i };

	return tier_key_next(TIER_KEY_ROOT, b, sizeof(b));
}

/* Word j of block k: cheap, and different for every key and offset. */
static inline uint64_t word(tier_key k, uint64_t j)
{
	uint64_t z = k.hi ^ (k.lo * 0x9E3779B97F4A7C15ULL) ^ (j * 0xD6E8FEB86659FD93ULL);

	z ^= z >> 32;
	return z * 0x94D049BB133111EBULL;
}

void ck_fill(void *p, size_t len, tier_key k)
{
	uint64_t *w = p;

	for (size_t j = 0; j < len / 8; j++)
		w[j] = word(k, j);
}

bool ck_check(const void *p, size_t len, tier_key k)
{
	const uint64_t *w = p;

	for (size_t j = 0; j < len / 8; j++)
		if (w[j] != word(k, j))
			return false;
	return true;
}

/* ---- shared counters and processes --------------------------------------------------- */

struct camp_counters *camp_counters_new(void)
{
	void *p = mmap(NULL, sizeof(struct camp_counters), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return p;
}

pid_t camp_fork(int (*fn)(void *arg, uint64_t seed), void *arg, uint64_t seed)
{
	pid_t pid = fork();

	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fn(arg, seed));
	}
	return pid;
}

int camp_wait(pid_t pid)
{
	double until = camp_now() + 60;
	int st = -1;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return st;
		if (camp_now() > until) {
			fprintf(stderr, "campaign: client %d did not finish in 60 s: killed\n",
				(int)pid);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		camp_msleep(5);
	}
}
