/* SPDX-License-Identifier: MIT */
/* Helpers shared by tierbench's parts. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void die(const char *what, int r)
{
	fprintf(stderr, "tierbench: %s: %s\n", what, tier_strerror(r));
	exit(1);
}

void fill_block(void *p, size_t len, tier_key k)
{
	uint64_t x = k.lo ^ (k.hi << 1), *w = p;
	size_t n = len / 8;

	for (size_t i = 0; i < n; i++) {
		x += 0x9E3779B97F4A7C15ULL;
		w[i] = x ^ (x >> 29);
	}
	memset((uint8_t *)p + n * 8, (int)(k.lo & 0xff), len - n * 8);
}

bool check_block(const void *p, size_t len, tier_key k)
{
	uint64_t x = k.lo ^ (k.hi << 1), w;
	size_t n = len / 8;
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		x += 0x9E3779B97F4A7C15ULL;
		memcpy(&w, b + i * 8, 8);
		if (w != (x ^ (x >> 29)))
			return false;
	}
	for (size_t i = n * 8; i < len; i++)
		if (b[i] != (uint8_t)(k.lo & 0xff))
			return false;
	return true;
}

int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

tier_key bench_key(uint64_t size, uint64_t i)
{
	uint64_t d[2] = { size, i };

	return tier_key_next(TIER_KEY_ROOT, d, sizeof(d));
}

json_object *latency_json(double *us, int n)
{
	json_object *o = json_object_new_object();

	qsort(us, (size_t)n, sizeof(*us), cmp_double);
	json_object_object_add(o, "ops_per_s", json_object_new_double(0));
	json_object_object_add(o, "p50_us", json_object_new_double(us[n / 2]));
	json_object_object_add(o, "p99_us", json_object_new_double(us[(int)(n * 0.99)]));
	json_object_object_add(o, "p999_us", json_object_new_double(us[(int)(n * 0.999)]));
	return o;
}

/* ---- background load ------------------------------------------------ */

#define LOAD_MAX 64

static pid_t load_pids[LOAD_MAX];
static volatile sig_atomic_t load_n;

static void load_kill(void)
{
	for (sig_atomic_t i = 0; i < load_n; i++)
		if (load_pids[i] > 0)
			kill(load_pids[i], SIGKILL);
}

void bench_load_stop(void)
{
	load_kill();
	for (sig_atomic_t i = 0; i < load_n; i++)
		if (load_pids[i] > 0)
			waitpid(load_pids[i], NULL, 0);
	load_n = 0;
}

static void load_on_signal(int sig)
{
	load_kill();
	signal(sig, SIG_DFL);
	raise(sig);
}

unsigned bench_load_count(void)
{
	return (unsigned)load_n;
}

int bench_load_start(unsigned n, unsigned max_s)
{
	static bool hooked;
	pid_t parent = getpid();

	if (n > LOAD_MAX)
		return -E2BIG;
	if (!hooked) {
		atexit(bench_load_stop);
		signal(SIGINT, load_on_signal);
		signal(SIGTERM, load_on_signal);
		signal(SIGHUP, load_on_signal);
		hooked = true;
	}
	for (unsigned i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			int e = -errno;

			bench_load_stop();
			return e;
		}
		if (pid == 0) {
			/* Bounded in time whatever happens to us: an alarm and our parent's death. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			alarm(max_s);
			execl("/bin/sh", "sh", "-c", "while :; do :; done", (char *)NULL);
			_exit(127);
		}
		load_pids[load_n] = pid;
		load_n = load_n + 1;
	}
	return 0;
}
