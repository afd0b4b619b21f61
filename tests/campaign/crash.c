/* SPDX-License-Identifier: MIT */
/*
 * Daemon crash: a writer commits new blocks and flushes every few dozen, a
 * reader reads back blocks (sync and batched), and the campaign kill -9s the
 * daemon at a random instant, restarts it on the same files, and repeats.
 * Clients see -ECONNRESET and reconnect (cc_reconnect).  What must hold:
 * every block covered by a flush that returned 0 is there after every
 * restart, byte-exact (checked on a sample after each round and in full at
 * the end); no block is ever read with wrong bytes; the reader never misses
 * a durable block once reconnected.  The namespace has a private arena of its
 * own (-o ns.crash.arena=12M), so recovery after every kill puts its blocks
 * back into that arena's domain; the shared arena's crashes are the fault
 * tests' (nvme_crash: the crash loop and kill -9).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "campaign.h"

#define CRASH_BS (16 * 1024)
#define CRASH_SPACE 11
#define FLUSH_EVERY 48
#define MAX_KEYS 30000 /* ~600 MiB with headers on a 1 GiB NVMe tier */

struct crash_ctx {
	struct camp_counters *cnt;
	const char *sock;
	unsigned pace_us;  /* between puts, so that the key space lasts all rounds */
};

static int put(tier_client *c, uint32_t ns, uint64_t i)
{
	tier_key k = ck_key(CRASH_SPACE, i);
	tier_handle h;
	int r = tier_alloc(c, ns, &h);

	if (r < 0)
		return r;
	ck_fill(tier_data(c, h), CRASH_BS, k);
	r = tier_commit(c, h, k);
	return r == -EEXIST ? 0 : r; /* committed before the crash, reply lost */
}

static int writer(void *arg, uint64_t seed)
{
	struct crash_ctx *x = arg;
	struct camp_counters *cnt = x->cnt;
	struct camp_client cc = { .sock = x->sock, .ns_name = "crash", .bs = CRASH_BS };
	uint64_t i = cnt->committed_upto;
	int r;

	(void)seed;
	if (cc_connect(&cc, 30000) < 0)
		return 2;
	while (!__atomic_load_n(&cnt->stop, __ATOMIC_RELAXED)) {
		if (i < MAX_KEYS) {
			if (x->pace_us)
				usleep(x->pace_us);
			r = put(cc.c, cc.ns, i);
			if (r == 0) {
				i++;
				__atomic_store_n(&cnt->committed_upto, i, __ATOMIC_RELEASE);
				CADD(cnt, puts, 1);
			}
		} else {
			camp_msleep(5);
			r = 0;
		}
		if (r == 0 && (i % FLUSH_EVERY == 0 || i >= MAX_KEYS)) {
			uint64_t upto = i;

			CADD(cnt, flushes, 1);
			r = tier_flush(cc.c, TIER_NS_ALL);
			if (r == 0 && upto > cnt->durable_upto)
				__atomic_store_n(&cnt->durable_upto, upto, __ATOMIC_RELEASE);
			else if (r < 0 && r != -ECONNRESET)
				CADD(cnt, flush_errors, 1);
		}
		CADD(cnt, ops, 1);
		if (r == -ECONNRESET) {
			CADD(cnt, econnreset, 1);
			if (cc_reconnect(&cc, 60000) < 0)
				return 3;
			CADD(cnt, reconnects, 1);
			/*
			 * What was committed after the last flush may be gone with
			 * the daemon: write it again (-EEXIST where it survived), or
			 * the next flush would vouch for blocks that are not there.
			 */
			i = __atomic_load_n(&cnt->durable_upto, __ATOMIC_ACQUIRE);
			__atomic_store_n(&cnt->committed_upto, i, __ATOMIC_RELEASE);
		} else if (r < 0 && r != -ENOSPC) {
			CADD(cnt, errors, 1);
			__atomic_store_n(&cnt->last_unexpected, r, __ATOMIC_RELAXED);
		} else if (r == -ENOSPC) {
			CADD(cnt, err_enospc, 1);
			camp_msleep(10);
		}
	}
	cc_close(&cc);
	return 0;
}

static int reader(void *arg, uint64_t seed)
{
	struct crash_ctx *x = arg;
	struct camp_counters *cnt = x->cnt;
	struct camp_client cc = { .sock = x->sock, .ns_name = "crash", .bs = CRASH_BS };
	uint64_t rng = seed;

	if (cc_connect(&cc, 30000) < 0)
		return 2;
	while (!__atomic_load_n(&cnt->stop, __ATOMIC_RELAXED)) {
		uint64_t dur = __atomic_load_n(&cnt->durable_upto, __ATOMIC_ACQUIRE);
		uint64_t com = __atomic_load_n(&cnt->committed_upto, __ATOMIC_ACQUIRE);
		tier_key keys[8];
		tier_handle hs[8];
		size_t n = 1 + camp_rand(&rng) % 8;
		uint64_t base;
		bool durable;
		int r;

		if (com == 0) {
			camp_msleep(5);
			continue;
		}
		/* Mostly durable keys (which must be there), some merely committed. */
		durable = dur > 0 && camp_rand(&rng) % 4 != 0;
		base = camp_rand(&rng) % (durable ? dur : com);
		if (base + n > (durable ? dur : com))
			n = (size_t)((durable ? dur : com) - base);
		for (size_t i = 0; i < n; i++)
			keys[i] = ck_key(CRASH_SPACE, base + i);
		r = tier_acquire_many(cc.c, cc.ns, keys, n, hs);
		CADD(cnt, ops, 1);
		CADD(cnt, batch_ops, 1);
		if (r >= 0) {
			for (int i = 0; i < r; i++) {
				if (!ck_check(tier_data(cc.c, hs[i]), CRASH_BS, keys[i])) {
					CADD(cnt, wrong, 1);
					fprintf(stderr, "crash: WRONG BYTES for block %llu\n",
						(unsigned long long)(base + (uint64_t)i));
				} else {
					CADD(cnt, bytes_verified, CRASH_BS);
				}
				CADD(cnt, gets, 1);
			}
			if (durable && (size_t)r < n) {
				CADD(cnt, err_enoent, 1); /* a durable block missing */
				fprintf(stderr, "crash: durable block %llu missing (durable up to %llu)\n",
					(unsigned long long)(base + (uint64_t)r),
					(unsigned long long)dur);
			}
			r = tier_release_many(cc.c, hs, (size_t)r);
		}
		if (r == -ECONNRESET) {
			CADD(cnt, econnreset, 1);
			if (cc_reconnect(&cc, 60000) < 0)
				return 3;
			CADD(cnt, reconnects, 1);
		} else if (r < 0) {
			CADD(cnt, errors, 1);
			__atomic_store_n(&cnt->last_unexpected, r, __ATOMIC_RELAXED);
		}
	}
	cc_close(&cc);
	return 0;
}

/* Acquire keys [from, to); counts into ok/missing/wrong (misses named when durable). */
static int check_range(const char *sock, uint64_t from, uint64_t to, uint64_t *ok,
		       uint64_t *missing, uint64_t *wrong, bool durable)
{
	struct camp_client cc = { .sock = sock, .ns_name = "crash", .bs = CRASH_BS };

	if (cc_connect(&cc, 30000) < 0)
		return -1;
	for (uint64_t i = from; i < to; i++) {
		tier_key k = ck_key(CRASH_SPACE, i);
		tier_handle h;
		int r = tier_acquire(cc.c, cc.ns, k, &h);

		if (r < 0) {
			if (durable && *missing < 5)
				fprintf(stderr, "crash: durable block %llu: %s\n",
					(unsigned long long)i, tier_strerror(r));
			(*missing)++;
			continue;
		}
		if (ck_check(tier_data(cc.c, h), CRASH_BS, k))
			(*ok)++;
		else
			(*wrong)++;
		tier_release(cc.c, h);
	}
	cc_close(&cc);
	return 0;
}

int camp_crash(const struct camp_opts *o)
{
	struct camp_counters *cnt = camp_counters_new();
	struct camp_daemon d;
	struct crash_ctx x;
	unsigned rounds = o->rounds ? o->rounds : 10;
	uint64_t rng = o->seed, ok = 0, missing = 0, wrong = 0, sampled = 0;
	uint64_t fin_ok = 0, fin_missing = 0, fin_wrong = 0, extra = 0;
	pid_t w, r;
	int failed = 0, st;
	double t0 = camp_now();

	cd_init(&d, "crash", o->tierd);
	d.host_size = "16M";
	d.nvme_size = "1G";
	d.opt = "ns.crash.arena=12M";
	if (cd_start(&d) < 0)
		return 1;
	/* Rounds last 0.65 s on average (plus restarts): spread the keys over them. */
	x = (struct crash_ctx){ .cnt = cnt, .sock = d.sock,
				.pace_us = (unsigned)(rounds * 650000ULL / MAX_KEYS) };
	w = camp_fork(writer, &x, o->seed + 1);
	r = camp_fork(reader, &x, o->seed + 2);
	for (unsigned round = 0; round < rounds && !failed; round++) {
		uint64_t dur;

		camp_msleep(200 + (unsigned)(camp_rand(&rng) % 900));
		cd_stop(&d, SIGKILL);
		/* A flush answered just before the kill may still be on its way to us. */
		camp_msleep(20);
		dur = __atomic_load_n(&cnt->durable_upto, __ATOMIC_ACQUIRE);
		if (cd_start(&d) < 0) {
			failed = 1;
			break;
		}
		/* A sample of the durable blocks: the newest and some at random. */
		if (dur) {
			uint64_t from = dur > 64 ? dur - 64 : 0;

			check_range(d.sock, from, dur, &ok, &missing, &wrong, true);
			sampled += dur - from;
			for (int i = 0; i < 64; i++) {
				uint64_t k = camp_rand(&rng) % dur;

				check_range(d.sock, k, k + 1, &ok, &missing, &wrong, true);
				sampled++;
			}
		}
		if (o->verbose)
			printf("crash: round %u: durable %llu, committed %llu\n", round,
			       (unsigned long long)dur,
			       (unsigned long long)cnt->committed_upto);
		if (missing || wrong)
			failed = 1;
	}
	__atomic_store_n(&cnt->stop, 1, __ATOMIC_RELAXED);
	st = camp_wait(w);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		failed = 1, fprintf(stderr, "crash: writer exit status 0x%x\n", st);
	st = camp_wait(r);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		failed = 1, fprintf(stderr, "crash: reader exit status 0x%x\n", st);
	/* One more crash with nobody connected, then everything durable, in full. */
	{
		uint64_t dur = cnt->durable_upto, com = cnt->committed_upto;

		cd_stop(&d, SIGKILL);
		if (cd_start(&d) < 0)
			return 1;
		check_range(d.sock, 0, dur, &fin_ok, &fin_missing, &fin_wrong, true);
		/* Committed after the last flush: may or may not be back, never wrong. */
		{
			uint64_t m = 0;

			check_range(d.sock, dur, com, &extra, &m, &fin_wrong, false);
		}
		if (fin_missing || fin_wrong || fin_ok != dur)
			failed = 1;
		st = cd_stop(&d, SIGTERM);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed = 1, fprintf(stderr, "crash: tierd exit status 0x%x\n", st);
		if (cnt->wrong || cnt->errors || cnt->err_enoent)
			failed = 1;
		printf("crash: %.0f s, %u kill -9 rounds, %llu blocks committed, %llu durable "
		       "(all %llu back after the last crash, %llu of %llu unflushed too), "
		       "%llu flushes, %llu sampled per round checks (missing %llu, wrong %llu), "
		       "client ops %llu, blocks read %llu (%llu MiB verified), wrong %llu, "
		       "durable misses seen by the reader %llu, -ECONNRESET seen %llu, "
		       "reconnects %llu, unexpected errors %llu (last %d): %s\n",
		       camp_now() - t0, rounds, (unsigned long long)com, (unsigned long long)dur,
		       (unsigned long long)fin_ok, (unsigned long long)extra,
		       (unsigned long long)(com - dur), (unsigned long long)cnt->flushes,
		       (unsigned long long)sampled, (unsigned long long)(missing + fin_missing),
		       (unsigned long long)(wrong + fin_wrong), (unsigned long long)cnt->ops,
		       (unsigned long long)cnt->gets,
		       (unsigned long long)((cnt->bytes_verified + (fin_ok + ok) * CRASH_BS) >> 20),
		       (unsigned long long)cnt->wrong, (unsigned long long)cnt->err_enoent,
		       (unsigned long long)cnt->econnreset, (unsigned long long)cnt->reconnects,
		       (unsigned long long)cnt->errors, cnt->last_unexpected,
		       failed ? "FAILED" : "ok");
	}
	if (failed)
		cd_log_tail(&d, 30);
	else
		cd_cleanup(&d);
	return failed;
}
