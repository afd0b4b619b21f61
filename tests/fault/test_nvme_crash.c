/* SPDX-License-Identifier: MIT */
/*
 * Crashes: the daemon is killed with SIGKILL, at a chosen point or at a
 * random instant while a writer commits and flushes, and restarted.  What a
 * user relies on: every block that tier_flush made durable comes back
 * byte-exact, and no key is ever served with wrong bytes.
 *
 * TIER_CRASH_ROUNDS sets the crash loop's rounds (8 by default; 50 for the
 * long form), TIER_CRASH_SEED its random seed (printed, for a replay).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define KiB 1024u
#define BS (64 * KiB)

/* With arena (an -o option or NULL): the namespace's blocks in a private arena. */
static void kill9_keeps_flushed(const char *name, const char *arena)
{
	const uint64_t n_flushed = 400, n_more = 300, n_dropped = 10;
	struct tierd d;
	struct tier_stats s;
	tier_client *c;
	uint32_t ns;

	td_init(&d, name);
	if (arena)
		td_opt(&d, "%s", arena);
	c = td_start_filled(&d, &ns, 1, n_flushed, BS);
	ck_assert_int_eq(tier_flush(c, TIER_NS_ALL), 0);
	/* After the flush: drops (their DEL may or may not reach the journal) and more blocks. */
	for (uint64_t i = 0; i < n_dropped; i++)
		ck_assert_int_eq(tier_drop(c, ns, tk_key(1, i)), 0);
	tk_put_range(c, ns, 2, 0, n_more, BS);
	h_stats(c, &s);
	ck_assert_uint_gt(h_tier(&s, "nvme")->demotions, 0);
	tier_close(c);

	/* Twice: the second crash hits a daemon that has just recovered. */
	for (int round = 0; round < 2; round++) {
		struct tk_tally flushed = { 0 }, other = { 0 };

		td_stop(&d, SIGKILL);
		td_start(&d);
		c = td_connect(&d);
		ck_assert_int_eq(tier_namespace(c, "kv", BS, &ns), 0);
		tk_get_range(c, ns, 1, n_dropped, n_flushed, BS, &flushed);
		tk_get_range(c, ns, 1, 0, n_dropped, BS, &other);
		tk_get_range(c, ns, 2, 0, n_more, BS, &other);
		ck_assert_uint_eq(flushed.ok, n_flushed - n_dropped);
		ck_assert_uint_eq(flushed.wrong + flushed.missing + flushed.errors, 0);
		ck_assert_uint_eq(other.wrong, 0);
		ck_assert_uint_eq(other.errors, 0);
		printf("# crash %d: %llu of %llu unflushed blocks came back\n", round,
		       (unsigned long long)other.ok, (unsigned long long)(n_more + n_dropped));
		tier_close(c);
	}
	td_stop_clean(&d);
	td_cleanup(&d);
}

START_TEST(test_kill9_keeps_flushed)
{
	kill9_keeps_flushed("kill9", NULL);
}
END_TEST

/* The same through a private arena: 4 MiB, so 700 blocks of 64 KiB go to NVMe. */
START_TEST(test_kill9_private_arena)
{
	kill9_keeps_flushed("kill9-arena", "ns.kv.arena=4M");
}
END_TEST

/* ---- compaction while running --------------------------------------- */

static struct tier_daemon_status status_of(tier_client *c)
{
	struct tier_daemon_status st = { .size = sizeof(st) };

	ck_assert_int_eq(tier_admin_status(c, &st), 0);
	return st;
}

/*
 * The journal does not grow without bound under churn: 30 rounds of 60
 * blocks written and flushed, the blocks of two rounds before dropped (a PUT
 * and a DEL record each: 3600 records, 450 KiB, for at most 180 live
 * blocks), with nvme.journal_compact_min=64K.  It is compacted while running
 * (the daemon says how often; the file's size is what it says), and a kill
 * -9 right after the churn loses no flushed block: the image and what was
 * appended after it are a complete journal.
 */
START_TEST(test_compaction_while_running)
{
	const uint64_t rounds = 30, per = 60;
	struct tier_daemon_status st;
	struct tk_tally live = { 0 }, dropped = { 0 };
	struct tierd d;
	struct stat sb;
	char jpath[PATH_MAX + 16];
	tier_client *c;
	uint32_t ns;

	td_init(&d, "compact");
	d.log_to_file = true;
	td_opt(&d, "host.size=4M");
	td_opt(&d, "nvme.size=16M");
	td_opt(&d, "nvme.journal_compact_min=64K");
	td_start(&d);
	c = td_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kv", BS, &ns), 0);
	for (uint64_t r = 0; r < rounds; r++) {
		tk_put_range(c, ns, 100 + r, 0, per, BS);
		ck_assert_int_eq(tier_flush(c, TIER_NS_ALL), 0);
		for (uint64_t i = 0; r >= 2 && i < per; i++)
			ck_assert_int_eq(tier_drop(c, ns, tk_key(100 + r - 2, i)), 0);
	}
	ck_assert_int_eq(tier_flush(c, TIER_NS_ALL), 0);
	st = status_of(c);
	snprintf(jpath, sizeof(jpath), "%s.journal", d.img);
	ck_assert_int_eq(stat(jpath, &sb), 0);
	printf("# %llu compactions while running; journal %llu bytes\n",
	       (unsigned long long)st.journal_compactions, (unsigned long long)st.journal_bytes);
	ck_assert_uint_ge(st.journal_compactions, 2);
	ck_assert_uint_eq((uint64_t)sb.st_size, st.journal_bytes);
	/* 64 KiB, or twice the live records, plus what arrived since the last one */
	ck_assert_uint_lt(st.journal_bytes, 192 * 1024);
	tier_close(c);

	td_stop(&d, SIGKILL);
	td_start(&d);
	c = td_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kv", BS, &ns), 0);
	for (uint64_t r = rounds - 2; r < rounds; r++)
		tk_get_range(c, ns, 100 + r, 0, per, BS, &live);
	for (uint64_t r = 0; r < rounds - 2; r++)
		tk_get_range(c, ns, 100 + r, 0, per, BS, &dropped);
	ck_assert_uint_eq(live.ok, 2 * per);
	ck_assert_uint_eq(live.wrong + live.missing + live.errors, 0);
	/* a drop's DEL need not be durable, but nothing comes back wrong */
	ck_assert_uint_eq(dropped.wrong + dropped.errors, 0);
	tier_close(c);
	td_stop_clean(&d);
	td_cleanup(&d);
}
END_TEST

/* ---- the crash loop ------------------------------------------------- */

/*
 * Per round: 48 blocks, alternately 64 KiB and 192 KiB (two namespaces, so
 * NVMe slabs of two size classes), 6 MiB through 4 MiB of host memory; a
 * flush every 12 blocks, and after each flush a drop of an earlier block, so
 * NVMe space is freed and reused across classes.
 */
#define LOOP_BLOCKS 48
#define LOOP_FLUSH_EVERY 12
#define LOOP_MAX_ROUNDS 1000
#define BIG_BS (192 * KiB)

/* What the writer of each round achieved, in memory shared with the test. */
struct loop_shared {
	uint64_t started[LOOP_MAX_ROUNDS];
	uint64_t committed[LOOP_MAX_ROUNDS]; /* commits answered 0 */
	uint64_t flushed[LOOP_MAX_ROUNDS];   /* blocks before the last flush answered 0 */
	uint8_t dropped[LOOP_MAX_ROUNDS][LOOP_BLOCKS]; /* set before the drop is sent */
};

struct loop_ns {
	uint32_t id[2];
};

static uint64_t salt_of(int round)
{
	return 1000 + (uint64_t)round;
}

static size_t bs_of(uint64_t i)
{
	return i % 2 ? BIG_BS : BS;
}

static int open_loop_ns(tier_client *c, struct loop_ns *ns)
{
	int r = tier_namespace(c, "crash", BS, &ns->id[0]);

	return r < 0 ? r : tier_namespace(c, "crash-big", BIG_BS, &ns->id[1]);
}

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void writer(const struct tierd *d, struct loop_shared *sh, int round, pid_t parent,
		   uint64_t rng)
{
	struct loop_ns ns;
	tier_client *c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent || tier_connect(d->sock, &c) < 0 || open_loop_ns(c, &ns) < 0)
		_exit(1);
	__atomic_store_n(&sh->started[round], 1, __ATOMIC_RELEASE);
	for (uint64_t i = 0; i < LOOP_BLOCKS; i++) {
		uint64_t j;

		if (tk_put(c, ns.id[i % 2], tk_key(salt_of(round), i), bs_of(i)) < 0)
			_exit(0); /* the daemon is gone */
		__atomic_store_n(&sh->committed[round], i + 1, __ATOMIC_RELEASE);
		if ((i + 1) % LOOP_FLUSH_EVERY && i + 1 != LOOP_BLOCKS)
			continue;
		if (tier_flush(c, TIER_NS_ALL) < 0)
			_exit(0);
		__atomic_store_n(&sh->flushed[round], i + 1, __ATOMIC_RELEASE);
		j = rng_next(&rng) % (i + 1);
		if (!sh->dropped[round][j]) {
			__atomic_store_n(&sh->dropped[round][j], 1, __ATOMIC_RELEASE);
			if (tier_drop(c, ns.id[j % 2], tk_key(salt_of(round), j)) < 0)
				_exit(0);
		}
	}
	/* Done: wait to be killed, connected, like an idle engine. */
	for (;;)
		pause();
}

/* Check round q's keys: flushed ones must all be there, every served one right. */
static void verify_round(tier_client *c, const struct loop_ns *ns, const struct loop_shared *sh,
			 int q, uint64_t stride, uint64_t offset)
{
	struct tk_tally must = { 0 }, may = { 0 };

	for (uint64_t i = offset % stride; i < LOOP_BLOCKS; i += stride) {
		bool durable = i < sh->flushed[q] && !sh->dropped[q][i];

		tk_get(c, ns->id[i % 2], tk_key(salt_of(q), i), bs_of(i), durable ? &must : &may);
	}
	ck_assert_msg(must.wrong + must.missing + must.errors == 0,
		      "round %d: flushed blocks: %llu wrong, %llu missing, %llu errors (last %d)",
		      q, (unsigned long long)must.wrong, (unsigned long long)must.missing,
		      (unsigned long long)must.errors, must.last_error);
	ck_assert_msg(may.wrong == 0 && may.errors == 0,
		      "round %d: unflushed blocks: %llu wrong, %llu errors (last %d)", q,
		      (unsigned long long)may.wrong, (unsigned long long)may.errors,
		      may.last_error);
}

START_TEST(test_crash_loop)
{
	const char *env_rounds = getenv("TIER_CRASH_ROUNDS");
	const char *env_seed = getenv("TIER_CRASH_SEED");
	int rounds = env_rounds ? atoi(env_rounds) : 8;
	uint64_t seed = env_seed ? strtoull(env_seed, NULL, 0)
				 : ((uint64_t)time(NULL) << 16) ^ (uint64_t)getpid();
	uint64_t rng = seed ? seed : 1;
	struct loop_shared *sh;
	struct loop_ns ns;
	struct tierd d;
	int mid_write = 0;

	if (rounds < 1 || rounds > LOOP_MAX_ROUNDS)
		rounds = 8;
	printf("# crash loop: %d rounds, TIER_CRASH_SEED=%llu\n", rounds,
	       (unsigned long long)seed);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(sh, MAP_FAILED);
	memset(sh, 0, sizeof(*sh));

	td_init(&d, "crash-loop");
	td_opt(&d, "host.size=4M");
	/* Room for every round's blocks: NVMe never has to evict a flushed one. */
	td_opt(&d, "nvme.size=%dM", 32 + 7 * rounds);
	td_start(&d);
	for (int r = 0; r < rounds; r++) {
		/* The writer needs ~10-20 ms for its round: most kills land in the middle. */
		unsigned delay_us = (unsigned)(rng_next(&rng) % 20000);
		pid_t parent = getpid(), w;
		tier_client *c;
		int status;

		w = fork();
		ck_assert_int_ge(w, 0);
		if (w == 0)
			writer(&d, sh, r, parent, rng_next(&rng));
		for (int i = 0; i < 6000 && !__atomic_load_n(&sh->started[r], __ATOMIC_ACQUIRE);
		     i++) {
			if (waitpid(w, &status, WNOHANG) == w)
				ck_abort_msg("round %d: writer could not start", r);
			h_msleep(1);
		}
		ck_assert_msg(__atomic_load_n(&sh->started[r], __ATOMIC_ACQUIRE),
			      "round %d: writer did not start", r);
		usleep(delay_us);
		td_stop(&d, SIGKILL);
		kill(w, SIGKILL);
		ck_assert_int_eq(waitpid(w, &status, 0), w);
		if (sh->committed[r] < LOOP_BLOCKS)
			mid_write++;
		printf("# round %d: killed after %u us: %llu committed, %llu flushed\n", r,
		       delay_us, (unsigned long long)sh->committed[r],
		       (unsigned long long)sh->flushed[r]);

		td_start(&d);
		c = td_connect(&d);
		ck_assert_int_eq(open_loop_ns(c, &ns), 0);
		for (int q = 0; q <= r; q++)
			verify_round(c, &ns, sh, q, q + 1 >= r ? 1 : 8, (uint64_t)r);
		tier_close(c);
	}
	printf("# %d of %d kills landed while the writer was writing\n", mid_write, rounds);

	/* The end: a clean restart, and every round checked in full. */
	td_stop_clean(&d);
	td_start(&d);
	{
		tier_client *c = td_connect(&d);
		struct tier_stats s;

		ck_assert_int_eq(open_loop_ns(c, &ns), 0);
		for (int q = 0; q < rounds; q++)
			verify_round(c, &ns, sh, q, 1, 0);
		h_stats(c, &s);
		ck_assert_uint_eq(h_tier(&s, "nvme")->io_errors, 0);
		tier_close(c);
	}
	td_stop_clean(&d);
	td_cleanup(&d);
	munmap(sh, sizeof(*sh));
}
END_TEST

static Suite *nvme_crash_suite(void)
{
	Suite *s = suite_create("nvme_crash");
	TCase *tc = tcase_create("crash");

	/* The long form (TIER_CRASH_ROUNDS=50) takes a few minutes. */
	tcase_set_timeout(tc, 1200);
	h_add_test(tc, test_kill9_keeps_flushed);
	h_add_test(tc, test_kill9_private_arena);
	h_add_test(tc, test_crash_loop);
	h_add_test(tc, test_compaction_while_running);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	return h_main(argc, argv, nvme_crash_suite());
}
