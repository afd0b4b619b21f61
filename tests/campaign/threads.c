/* SPDX-License-Identifier: MIT */
/*
 * Threads: the mixed workload in many threads of one process, each with its
 * own tier_client (tier.h: a client is not thread-safe; one per thread), plus
 * threads that share one client behind a mutex (the other pattern tier.h
 * allows).  Built with ThreadSanitizer in CI (tools/test), this checks that
 * libtier keeps no unsynchronised state shared between clients: key hashing,
 * error strings, ring set-up, the held-handle tables.  The daemon runs
 * without an NVMe tier here (see docs/RELIABILITY.md for why io_uring stays
 * out of the TSan run).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mixed.h"

#define THR_BS (16 * 1024)
#define THR_KEYS 2048
#define MAX_THREADS 32

struct thr {
	pthread_t t;
	const struct mixed_cfg *cfg;
	uint64_t seed;
	int ret;
};

static void *run_mixed(void *arg)
{
	struct thr *t = arg;

	t->ret = mixed_worker((void *)t->cfg, t->seed);
	return NULL;
}

/* Threads that share one client, one call at a time. */
struct shared {
	pthread_mutex_t lock;
	tier_client *c;
	uint32_t ns;
	const struct mixed_cfg *cfg;
	uint64_t wrong, ok;
};

struct sthr {
	pthread_t t;
	struct shared *sh;
	uint64_t seed;
};

static void *run_shared(void *arg)
{
	struct sthr *t = arg;
	struct shared *sh = t->sh;
	uint64_t rng = t->seed;

	while (!__atomic_load_n(&sh->cfg->cnt->stop, __ATOMIC_RELAXED) &&
	       camp_now() < sh->cfg->until) {
		tier_key k = ck_key(sh->cfg->space, camp_rand(&rng) % sh->cfg->n_keys);
		tier_handle h;

		pthread_mutex_lock(&sh->lock);
		if (camp_rand(&rng) & 1) {
			if (tier_alloc(sh->c, sh->ns, &h) == 0) {
				ck_fill(tier_data(sh->c, h), sh->cfg->bs, k);
				tier_commit(sh->c, h, k);
			}
		} else if (tier_acquire(sh->c, sh->ns, k, &h) == 0) {
			if (ck_check(tier_data(sh->c, h), sh->cfg->bs, k))
				sh->ok++;
			else
				sh->wrong++;
			tier_release(sh->c, h);
		}
		pthread_mutex_unlock(&sh->lock);
	}
	return NULL;
}

int camp_threads(const struct camp_opts *o)
{
	struct camp_counters *cnt = camp_counters_new();
	struct camp_daemon d;
	struct mixed_cfg cfg;
	struct thr th[MAX_THREADS];
	struct sthr sth[2];
	struct shared sh = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct tier_stats s;
	unsigned n = o->clients ? o->clients : 4, bad = 0;
	int failed = 0, st;
	double t0;

	if (n > MAX_THREADS)
		n = MAX_THREADS;
	cd_init(&d, "threads", o->tierd);
	d.host_size = "16M";
	if (cd_start(&d) < 0)
		return 1;
	t0 = camp_now();
	cfg = (struct mixed_cfg){ .cnt = cnt, .sock = d.sock, .ns_name = "threads", .bs = THR_BS,
				  .space = 19, .n_keys = THR_KEYS, .until = t0 + o->seconds,
				  .max_held = 4 };
	if (tier_connect(d.sock, &sh.c) < 0 || tier_namespace(sh.c, "threads", THR_BS, &sh.ns) < 0)
		return 1;
	sh.cfg = &cfg;
	for (unsigned i = 0; i < n; i++) {
		th[i] = (struct thr){ .cfg = &cfg, .seed = o->seed * 101 + i };
		pthread_create(&th[i].t, NULL, run_mixed, &th[i]);
	}
	for (int i = 0; i < 2; i++) {
		sth[i] = (struct sthr){ .sh = &sh, .seed = o->seed * 103 + (uint64_t)i };
		pthread_create(&sth[i].t, NULL, run_shared, &sth[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		pthread_join(th[i].t, NULL);
		bad += th[i].ret != 0;
	}
	for (int i = 0; i < 2; i++)
		pthread_join(sth[i].t, NULL);
	for (int i = 0; i < 500; i++) {
		s.size = sizeof(s);
		tier_stats_get(sh.c, &s, NULL, 0);
		if (s.clients == 1 && s.tiers[0].pinned_blocks == 0)
			break;
		camp_msleep(10);
	}
	if (s.clients != 1 || s.tiers[0].pinned_blocks)
		failed = 1;
	tier_close(sh.c);
	if (cnt->wrong || sh.wrong || cnt->errors || bad)
		failed = 1;
	st = cd_stop(&d, SIGTERM);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		failed = 1, fprintf(stderr, "threads: tierd exit status 0x%x\n", st);
	printf("threads: %.0f s, %u threads with a client each + 2 sharing one; %llu ops "
	       "(%llu ring entries, %llu batches), %llu puts, %llu + %llu blocks read "
	       "(%llu MiB verified), wrong %llu, unexpected errors %llu (last %d): %s\n",
	       camp_now() - t0, n, (unsigned long long)cnt->ops, (unsigned long long)cnt->ring_ops,
	       (unsigned long long)cnt->batch_ops, (unsigned long long)cnt->puts,
	       (unsigned long long)cnt->gets, (unsigned long long)sh.ok,
	       (unsigned long long)(cnt->bytes_verified >> 20),
	       (unsigned long long)(cnt->wrong + sh.wrong), (unsigned long long)cnt->errors,
	       cnt->last_unexpected, failed ? "FAILED" : "ok");
	if (failed)
		cd_log_tail(&d, 30);
	else
		cd_cleanup(&d);
	return failed;
}
