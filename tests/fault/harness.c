/* SPDX-License-Identifier: MIT */
/*
 * The fault tests' harness: a real tierd per test, blocks that carry their
 * key in their bytes, and counter helpers.  Readiness is "a client can
 * connect", never "the socket file exists": after a kill -9 the old file
 * stays until the new daemon replaces it.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

const char *h_tierd_path;
const char *h_tierctl_path;

/* Bounds that turn a hang into a failure; generous for sanitizer builds. */
#define READY_TRIES 6000   /* x 10 ms */
#define QUIESCE_TRIES 6000 /* x 10 ms */

void h_msleep(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int h_main(int argc, char **argv, Suite *suite)
{
	SRunner *sr;
	int failed;

	if (argc < 3) {
		fprintf(stderr, "usage: %s TIERD TIERCTL\n", argv[0]);
		return 2;
	}
	h_tierd_path = argv[1];
	h_tierctl_path = argv[2];
	/* A test's output should not mix with the next one's buffered leftovers. */
	setvbuf(stdout, NULL, _IONBF, 0);
	sr = srunner_create(suite);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

/* ---- the daemon ------------------------------------------------------ */

void td_init(struct tierd *d, const char *name)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/var/tmp/tierd-fault-%s.XXXXXX", name);
	ck_assert_msg(mkdtemp(d->dir), "mkdtemp %s: %s", d->dir, strerror(errno));
	snprintf(d->sock, sizeof(d->sock), "%s/tierd.sock", d->dir);
	snprintf(d->img, sizeof(d->img), "%s/nvme.img", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/tierd.log", d->dir);
	printf("# %s: %s\n", name, d->dir);
	td_opt(d, "host.size=16M");
	td_opt(d, "nvme.size=256M");
}

void td_opt(struct tierd *d, const char *fmt, ...)
{
	char buf[128];
	size_t klen;
	va_list ap;
	int i;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	klen = strcspn(buf, "=");
	for (i = 0; i < d->n_opts; i++)
		if (strncmp(d->opts[i], buf, klen + 1) == 0)
			break;
	ck_assert_int_lt(i, TD_MAX_OPTS);
	memcpy(d->opts[i], buf, sizeof(buf));
	if (i == d->n_opts)
		d->n_opts++;
}

static void exec_daemon(const struct tierd *d)
{
	char *argv[4 + 2 * (TD_MAX_OPTS + 2)];
	char sock[PATH_MAX + 32], path[PATH_MAX + 32];
	int n = 0;

	argv[n++] = (char *)h_tierd_path;
	argv[n++] = (char *)"-f";
	snprintf(sock, sizeof(sock), "daemon.socket=%s", d->sock);
	argv[n++] = (char *)"-o";
	argv[n++] = sock;
	if (!d->no_nvme) {
		snprintf(path, sizeof(path), "nvme.path=%s", d->img);
		argv[n++] = (char *)"-o";
		argv[n++] = path;
	}
	for (int i = 0; i < d->n_opts; i++) {
		argv[n++] = (char *)"-o";
		argv[n++] = (char *)d->opts[i];
	}
	argv[n] = NULL;
	if (d->fault[0])
		setenv("TIERD_FAULT_INJECT", d->fault, 1);
	else
		unsetenv("TIERD_FAULT_INJECT");
	if (d->log_to_file) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
	}
	execv(h_tierd_path, argv);
	fprintf(stderr, "exec %s: %s\n", h_tierd_path, strerror(errno));
	_exit(127);
}

void td_start(struct tierd *d)
{
	pid_t parent = getpid();
	int status;

	ck_assert_int_eq(d->pid, 0);
	d->pid = fork();
	ck_assert_int_ge(d->pid, 0);
	if (d->pid == 0) {
		/* The daemon must not outlive a test that fails or times out. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		exec_daemon(d);
	}
	for (int i = 0; i < READY_TRIES; i++) {
		tier_client *c;

		if (tier_connect(d->sock, &c) == 0) {
			tier_close(c);
			return;
		}
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			ck_abort_msg("tierd exited during start-up (status 0x%x)", status);
		}
		h_msleep(10);
	}
	ck_abort_msg("tierd did not become ready at %s", d->sock);
}

int td_stop(struct tierd *d, int sig)
{
	int status = 0;

	if (!d->pid)
		return 0;
	kill(d->pid, sig);
	while (waitpid(d->pid, &status, 0) < 0 && errno == EINTR)
		;
	d->pid = 0;
	return status;
}

void td_stop_clean(struct tierd *d)
{
	int status = td_stop(d, SIGTERM);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "tierd did not stop cleanly on SIGTERM (status 0x%x)", status);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

void td_cleanup(struct tierd *d)
{
	td_stop(d, SIGKILL);
	nftw(d->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

tier_client *td_connect(const struct tierd *d)
{
	tier_client *c = NULL;
	int r = tier_connect(d->sock, &c);

	ck_assert_msg(r == 0, "tier_connect %s: %s", d->sock, tier_strerror(r));
	return c;
}

/* ---- blocks ---------------------------------------------------------- */

tier_key tk_key(uint64_t salt, uint64_t i)
{
	uint64_t tokens[2] = { salt, i };

	return tier_key_next(TIER_KEY_ROOT, tokens, sizeof(tokens));
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Block sizes here are multiples of 8; the stream starts with the key itself. */
void tk_fill(void *p, size_t len, tier_key k)
{
	uint64_t *w = p, x = k.hi ^ k.lo;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = i < 2 ? (i ? k.lo : k.hi) : splitmix64(&x);
}

bool tk_check(const void *p, size_t len, tier_key k)
{
	const uint64_t *w = p;
	uint64_t x = k.hi ^ k.lo;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != (i < 2 ? (i ? k.lo : k.hi) : splitmix64(&x)))
			return false;
	return true;
}

int tk_put(tier_client *c, uint32_t ns, tier_key k, size_t bs)
{
	tier_handle h;
	void *p;
	int r = tier_alloc(c, ns, &h);

	if (r < 0)
		return r;
	p = tier_data(c, h);
	if (!p)
		return -EFAULT;
	tk_fill(p, bs, k);
	return tier_commit(c, h, k);
}

int tk_get(tier_client *c, uint32_t ns, tier_key k, size_t bs, struct tk_tally *t)
{
	tier_handle h;
	const void *p;
	int r = tier_acquire(c, ns, k, &h);

	if (r < 0) {
		if (r == -ENOENT) {
			t->missing++;
		} else {
			t->errors++;
			t->last_error = r;
		}
		return r;
	}
	p = tier_data(c, h);
	if (p && tk_check(p, bs, k))
		t->ok++;
	else
		t->wrong++;
	ck_assert_int_eq(tier_release(c, h), 0);
	return 0;
}

void tk_put_range(tier_client *c, uint32_t ns, uint64_t salt, uint64_t from, uint64_t to,
		  size_t bs)
{
	for (uint64_t i = from; i < to; i++) {
		int r = tk_put(c, ns, tk_key(salt, i), bs);

		ck_assert_msg(r == 0, "put block %llu: %s", (unsigned long long)i,
			      tier_strerror(r));
	}
}

tier_client *td_start_filled(struct tierd *d, uint32_t *ret_ns, uint64_t salt, uint64_t n,
			     size_t bs)
{
	tier_client *c;

	td_start(d);
	c = td_connect(d);
	ck_assert_int_eq(tier_namespace(c, "kv", bs, ret_ns), 0);
	tk_put_range(c, *ret_ns, salt, 0, n, bs);
	return c;
}

void tk_get_range(tier_client *c, uint32_t ns, uint64_t salt, uint64_t from, uint64_t to,
		  size_t bs, struct tk_tally *t)
{
	for (uint64_t i = from; i < to; i++)
		tk_get(c, ns, tk_key(salt, i), bs, t);
}

/* ---- counters -------------------------------------------------------- */

void h_stats(tier_client *c, struct tier_stats *s)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	r = tier_stats_get(c, s, NULL, 0);
	ck_assert_msg(r >= 0, "tier_stats_get: %s", tier_strerror(r));
}

const struct tier_tier_stats *h_tier(const struct tier_stats *s, const char *name)
{
	for (uint32_t i = 0; i < s->n_tiers && i < TIER_COUNT; i++)
		if (strcmp(s->tiers[i].name, name) == 0)
			return &s->tiers[i];
	ck_abort_msg("no tier '%s' in the stats", name);
	return NULL;
}

static bool same_nvme(const struct tier_tier_stats *a, const struct tier_tier_stats *b)
{
	return a->read_bytes == b->read_bytes && a->write_bytes == b->write_bytes &&
	       a->promotions == b->promotions && a->demotions == b->demotions &&
	       a->io_errors == b->io_errors && a->blocks == b->blocks &&
	       a->used_bytes == b->used_bytes;
}

void h_quiesce(tier_client *c, struct tier_stats *ret)
{
	struct tier_stats prev;

	h_stats(c, &prev);
	for (int i = 0; i < QUIESCE_TRIES; i++) {
		h_msleep(10);
		h_stats(c, ret);
		if (h_tier(ret, "nvme")->queue_depth == 0 &&
		    same_nvme(h_tier(ret, "nvme"), h_tier(&prev, "nvme")))
			return;
		prev = *ret;
	}
	ck_abort_msg("the NVMe tier never went idle");
}
