/* SPDX-License-Identifier: MIT */
/*
 * Soak: the mixed workload with an NVMe tier for a long time, plus a client
 * that connects, works a little and disconnects over and over (sessions,
 * rings and passed descriptors come and go).  The daemon's VmRSS and open
 * descriptors are sampled every second: after a warm-up (a fifth of the run,
 * at least 5 s) RSS may grow by at most --rss-growth KiB, and with only the
 * campaign's own client connected, the descriptor count at the end must be
 * what it was at the start.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mixed.h"

#define SOAK_BS (32 * 1024)
#define SOAK_KEYS 2048 /* 64 MiB through a 32 MiB host tier */

static int churner(void *arg, uint64_t seed)
{
	const struct mixed_cfg *cfg = arg;
	uint64_t rng = seed;

	while (!__atomic_load_n(&cfg->cnt->stop, __ATOMIC_RELAXED) &&
	       camp_now() < cfg->until) {
		struct camp_client cc = { .sock = cfg->sock, .ns_name = cfg->ns_name,
					  .bs = cfg->bs };
		tier_key k = ck_key(cfg->space, camp_rand(&rng) % cfg->n_keys);
		tier_handle h;

		if (camp_rand(&rng) & 1)
			setenv("TIER_TRANSPORT", "socket", 1);
		else
			unsetenv("TIER_TRANSPORT");
		if (cc_connect(&cc, 10000) < 0)
			return 2;
		if (tier_acquire(cc.c, cc.ns, k, &h) == 0) {
			if (!ck_check(tier_data(cc.c, h), cfg->bs, k))
				CADD(cfg->cnt, wrong, 1);
			/* Leave half of them pinned: the hang-up must release them. */
			if (camp_rand(&rng) & 1)
				tier_release(cc.c, h);
		}
		cc_close(&cc);
		CADD(cfg->cnt, reconnects, 1);
		camp_msleep(5);
	}
	return 0;
}

int camp_soak(const struct camp_opts *o)
{
	struct camp_counters *cnt = camp_counters_new();
	struct camp_daemon d;
	struct mixed_cfg cfg;
	struct tier_stats s;
	pid_t pids[8], ch;
	unsigned n = o->clients ? o->clients : 3, bad = 0, samples = 0;
	double t0, warm, bound = o->rss_growth_kib > 0 ? o->rss_growth_kib : 8192;
	long rss_warm = -1, rss_max = 0, rss_end = 0, rss_start;
	int fds0, fds_max = 0, fds1, failed = 0, st;
	tier_client *c;
	uint32_t ns;

	if (n > 8)
		n = 8;
	cd_init(&d, "soak", o->tierd);
	d.host_size = "32M";
	d.nvme_size = "512M";
	if (cd_start(&d) < 0)
		return 1;
	if (tier_connect(d.sock, &c) < 0 || tier_namespace(c, "soak", SOAK_BS, &ns) < 0)
		return 1;
	fds0 = cd_fds(&d);
	rss_start = cd_rss_kib(&d);
	t0 = camp_now();
	warm = o->seconds / 5 > 5 ? o->seconds / 5 : 5;
	cfg = (struct mixed_cfg){ .cnt = cnt, .sock = d.sock, .ns_name = "soak", .bs = SOAK_BS,
				  .space = 17, .n_keys = SOAK_KEYS, .nvme = true,
				  .socket_some = true, .until = t0 + o->seconds, .max_held = 4 };
	for (unsigned i = 0; i < n; i++)
		pids[i] = camp_fork(mixed_worker, &cfg, o->seed * 31 + i);
	ch = camp_fork(churner, &cfg, o->seed * 37);
	while (camp_now() < t0 + o->seconds) {
		long rss;
		int fds;

		camp_msleep(1000);
		rss = cd_rss_kib(&d);
		fds = cd_fds(&d);
		samples++;
		if (rss > rss_max)
			rss_max = rss;
		if (fds > fds_max)
			fds_max = fds;
		if (rss_warm < 0 && camp_now() - t0 >= warm)
			rss_warm = rss;
		rss_end = rss;
		if (o->verbose)
			printf("soak: t=%.0f rss %ld KiB fds %d\n", camp_now() - t0, rss, fds);
	}
	for (unsigned i = 0; i < n; i++) {
		st = camp_wait(pids[i]);
		bad += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	}
	st = camp_wait(ch);
	bad += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	for (int i = 0; i < 500; i++) {
		s.size = sizeof(s);
		tier_stats_get(c, &s, NULL, 0);
		if (s.clients == 1)
			break;
		camp_msleep(10);
	}
	fds1 = cd_fds(&d);
	if (s.clients != 1 || s.tiers[0].pinned_blocks != 0) {
		fprintf(stderr, "soak: %llu clients, %llu pinned blocks left\n",
			(unsigned long long)s.clients, (unsigned long long)s.tiers[0].pinned_blocks);
		failed = 1;
	}
	if (fds1 != fds0) {
		fprintf(stderr, "soak: daemon descriptors %d at the start, %d at the end\n", fds0,
			fds1);
		failed = 1;
	}
	if (rss_warm < 0 || (double)(rss_end - rss_warm) > bound) {
		fprintf(stderr, "soak: VmRSS %ld KiB after warm-up, %ld KiB at the end (bound +%.0f)\n",
			rss_warm, rss_end, bound);
		failed = 1;
	}
	if (cnt->wrong || cnt->errors || bad)
		failed = 1;
	tier_close(c);
	st = cd_stop(&d, SIGTERM);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		failed = 1, fprintf(stderr, "soak: tierd exit status 0x%x\n", st);
	printf("soak: %.0f s, %u clients + 1 reconnecting (%llu connections), %llu ops "
	       "(%llu ring entries, %llu batches), %llu puts, %llu blocks read (%llu MiB verified), "
	       "wrong %llu, unexpected errors %llu (last %d), flushes %llu; daemon VmRSS KiB: "
	       "start %ld, after %.0f s warm-up %ld, max %ld, end %ld (growth %ld, bound %.0f); "
	       "fds start %d max %d end %d; %u samples: %s\n",
	       camp_now() - t0, n, (unsigned long long)cnt->reconnects, (unsigned long long)cnt->ops,
	       (unsigned long long)cnt->ring_ops, (unsigned long long)cnt->batch_ops,
	       (unsigned long long)cnt->puts, (unsigned long long)cnt->gets,
	       (unsigned long long)(cnt->bytes_verified >> 20), (unsigned long long)cnt->wrong,
	       (unsigned long long)cnt->errors, cnt->last_unexpected,
	       (unsigned long long)cnt->flushes, rss_start, warm, rss_warm, rss_max, rss_end,
	       rss_end - rss_warm, bound, fds0, fds_max, fds1, samples,
	       failed ? "FAILED" : "ok");
	if (failed)
		cd_log_tail(&d, 30);
	else
		cd_cleanup(&d);
	return failed;
}
