/* SPDX-License-Identifier: MIT */
/*
 * Client chaos: many client processes run the mixed workload while the
 * campaign SIGKILLs one of them at random instants and starts a new one in
 * its place.  A killed client may hold pins, writing blocks and half-reaped
 * ring entries.  Afterwards the daemon must have let go of everything: no
 * pinned block, host bytes in use exactly the ready blocks' bytes, no client
 * left, its descriptor count back to where it was; and every block still
 * there must read back with its key's bytes.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mixed.h"

#define CHAOS_BS (16 * 1024)
#define CHAOS_KEYS 4096 /* 64 MiB of blocks through a 32 MiB host tier */
#define MAX_CLIENTS 64

/* Wait until the daemon has seen every hang-up: clients == 1 (us). */
static int settle(tier_client *c, struct tier_stats *s)
{
	for (int i = 0; i < 500; i++) {
		s->size = sizeof(*s);
		if (tier_stats_get(c, s, NULL, 0) < 0)
			return -1;
		if (s->clients == 1 && s->tiers[0].pinned_blocks == 0)
			return 0;
		camp_msleep(10);
	}
	return -1;
}

int camp_chaos(const struct camp_opts *o)
{
	struct camp_counters *cnt = camp_counters_new();
	struct camp_daemon d;
	struct mixed_cfg cfg, vcfg;
	struct tier_stats s;
	pid_t pids[MAX_CLIENTS];
	unsigned n = o->clients ? o->clients : 6, kills = 0, respawns = 0, bad_exits = 0;
	uint64_t rng = o->seed, seeds = o->seed * 1000003u, present = 0, wrong = 0;
	int fds0, fds1, failed = 0;
	double t0;
	tier_client *c;
	uint32_t ns, vns;

	if (n > MAX_CLIENTS)
		n = MAX_CLIENTS;
	cd_init(&d, "chaos", o->tierd);
	d.host_size = "32M";
	/* Odd clients work in "vault", a namespace with a private arena (its own memfd). */
	d.opt = "ns.vault.arena=8M";
	if (cd_start(&d) < 0)
		return 1;
	if (tier_connect(d.sock, &c) < 0 || tier_namespace(c, "chaos", CHAOS_BS, &ns) < 0 ||
	    tier_namespace(c, "vault", CHAOS_BS, &vns) < 0)
		return 1;
	fds0 = cd_fds(&d);
	t0 = camp_now();
	cfg = (struct mixed_cfg){ .cnt = cnt, .sock = d.sock, .ns_name = "chaos", .bs = CHAOS_BS,
				  .space = 7, .n_keys = CHAOS_KEYS, .socket_some = true,
				  .until = t0 + o->seconds, .max_held = 8 };
	vcfg = cfg;
	vcfg.ns_name = "vault";
	vcfg.space = 8;
	for (unsigned i = 0; i < n; i++)
		pids[i] = camp_fork(mixed_worker, i % 2 ? &vcfg : &cfg, ++seeds);
	while (camp_now() < t0 + o->seconds - 0.5) {
		unsigned v = (unsigned)(camp_rand(&rng) % n);
		int st;

		camp_msleep(20 + (unsigned)(camp_rand(&rng) % 200));
		if (kill(pids[v], SIGKILL) == 0)
			kills++;
		waitpid(pids[v], &st, 0);
		pids[v] = camp_fork(mixed_worker, v % 2 ? &vcfg : &cfg, ++seeds);
		respawns++;
	}
	__atomic_store_n(&cnt->stop, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < n; i++) {
		int st = camp_wait(pids[i]);

		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad_exits++;
	}

	if (settle(c, &s) < 0) {
		fprintf(stderr, "chaos: the daemon still counts %llu clients, %llu pinned blocks\n",
			(unsigned long long)s.clients, (unsigned long long)s.tiers[0].pinned_blocks);
		failed = 1;
	}
	if (s.tiers[0].used_bytes != s.tiers[0].blocks * CHAOS_BS) {
		fprintf(stderr, "chaos: host used_bytes %llu but %llu ready blocks of %u bytes\n",
			(unsigned long long)s.tiers[0].used_bytes,
			(unsigned long long)s.tiers[0].blocks, CHAOS_BS);
		failed = 1;
	}
	/* Every block still there, in either namespace, reads back right; then drop them all. */
	for (uint64_t i = 0; i < 2 * CHAOS_KEYS; i++) {
		uint32_t in = i < CHAOS_KEYS ? ns : vns;
		tier_key k = ck_key(i < CHAOS_KEYS ? 7 : 8, i % CHAOS_KEYS);
		tier_handle h;

		if (tier_acquire(c, in, k, &h) < 0)
			continue;
		present++;
		wrong += !ck_check(tier_data(c, h), CHAOS_BS, k);
		tier_release(c, h);
		if (tier_drop(c, in, k) < 0)
			failed = 1;
	}
	s.size = sizeof(s);
	tier_stats_get(c, &s, NULL, 0);
	if (s.tiers[0].used_bytes || s.tiers[0].blocks || s.tiers[0].pinned_blocks) {
		fprintf(stderr, "chaos: after dropping everything: used %llu blocks %llu pinned %llu\n",
			(unsigned long long)s.tiers[0].used_bytes,
			(unsigned long long)s.tiers[0].blocks,
			(unsigned long long)s.tiers[0].pinned_blocks);
		failed = 1;
	}
	fds1 = cd_fds(&d);
	tier_close(c);
	if (fds1 != fds0) {
		fprintf(stderr, "chaos: daemon descriptors %d before, %d after\n", fds0, fds1);
		failed = 1;
	}
	if (wrong || cnt->wrong || cnt->errors || bad_exits) {
		fprintf(stderr, "chaos: wrong %llu+%llu, unexpected errors %llu (last %d), "
			"clients that failed %u\n", (unsigned long long)wrong,
			(unsigned long long)cnt->wrong, (unsigned long long)cnt->errors,
			cnt->last_unexpected, bad_exits);
		failed = 1;
	}
	{
		int st = cd_stop(&d, SIGTERM);

		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "chaos: tierd exit status 0x%x\n", st);
			failed = 1;
		}
	}
	printf("chaos: %.0f s, %u clients (half in a private arena), %llu ops (%llu sync, %llu ring entries, %llu batches), "
	       "%u kills, %llu puts, %llu blocks read (%llu MiB verified), %llu at the end, "
	       "wrong %llu, unexpected errors %llu, enospc %llu, enoent %llu; "
	       "daemon fds %d -> %d: %s\n",
	       camp_now() - t0, n, (unsigned long long)cnt->ops, (unsigned long long)cnt->sync_ops,
	       (unsigned long long)cnt->ring_ops, (unsigned long long)cnt->batch_ops, kills,
	       (unsigned long long)cnt->puts, (unsigned long long)cnt->gets,
	       (unsigned long long)(cnt->bytes_verified >> 20), (unsigned long long)present,
	       (unsigned long long)(wrong + cnt->wrong), (unsigned long long)cnt->errors,
	       (unsigned long long)cnt->err_enospc, (unsigned long long)cnt->err_enoent, fds0, fds1,
	       failed ? "FAILED" : "ok");
	(void)respawns;
	if (failed)
		cd_log_tail(&d, 30);
	else
		cd_cleanup(&d);
	return failed;
}
