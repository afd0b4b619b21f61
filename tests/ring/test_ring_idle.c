/* SPDX-License-Identifier: MIT */
/*
 * Integration: the daemon does not burn a CPU for idle clients.  It spins
 * on the rings only briefly after ring activity, then sleeps until a
 * doorbell, a socket or an I/O completion wakes it.  Measured as the
 * daemon's CPU time (utime + stime from /proc/<pid>/stat) over about a
 * second, never as latency: a few idle clients, and a client whose
 * completion ring is full because it has not reaped (the daemon cannot
 * take its waiting entries, so there is nothing to spin for) and that then
 * reaps every completion.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "ring.h"
#include "testutil.h"

#define BS 4096
/* At most this share of one CPU while every client idles. */
#define IDLE_CPU_MAX 0.05
#define IDLE_MS 1000

static struct tdaemon d;

/* The daemon's CPU time so far, in seconds. */
static double daemon_cpu_s(void)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)d.pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* Fields after the command name, which may hold spaces: from the last ')'. */
	p = strrchr(buf, ')');
	ck_assert_ptr_nonnull(p);
	/* state(3) ... utime(14) stime(15): skip 11 fields after the state. */
	ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				&ut, &st), 2);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU share of one core the daemon used over ms milliseconds of wall time. */
static double daemon_cpu_share(int ms)
{
	double before = daemon_cpu_s();

	t_msleep(ms);
	return (daemon_cpu_s() - before) * 1000.0 / ms;
}

/* Some ring traffic, so that the daemon has just been busy when the clients go idle. */
static void some_ops(tier_client *c, uint32_t ns, uint32_t seed)
{
	for (uint32_t i = 0; i < 50; i++) {
		tier_key k = t_key(seed, i);
		tier_handle h;

		ck_assert_int_eq(tier_alloc(c, ns, &h), 0);
		t_fill(tier_data(c, h), BS, k);
		ck_assert_int_eq(tier_commit(c, h, k), 0);
		ck_assert_int_eq(tier_lookup(c, ns, &k, 1), 1);
	}
}

START_TEST(test_idle_clients)
{
	tier_client *c[4];
	uint32_t ns;
	double share;

	tdaemon_start(&d, "32M", NULL);
	for (int i = 0; i < 4; i++) {
		c[i] = t_connect(&d);
		ck_assert_int_eq(tier_namespace(c[i], "idle", BS, &ns), 0);
		some_ops(c[i], ns, (uint32_t)i);
	}
	share = daemon_cpu_share(IDLE_MS);
	ck_assert_msg(share < IDLE_CPU_MAX, "the daemon used %.0f%% of a CPU with 4 idle clients",
		      share * 100);
	/* Still serving, at once, after its sleep. */
	some_ops(c[0], ns, 100);
	for (int i = 0; i < 4; i++)
		tier_close(c[i]);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

/*
 * A client fills both rings (every completion unreaped, the submission ring
 * full behind them) and goes idle: the daemon must sleep, and every
 * operation must still complete once the client reaps.
 */
START_TEST(test_full_rings_idle)
{
	const size_t most = TIER_RING_SQ_ENTRIES + TIER_RING_CQ_ENTRIES;
	static struct tier_op ops[TIER_RING_SQ_ENTRIES + TIER_RING_CQ_ENTRIES];
	static struct tier_cqe cqe[TIER_RING_SQ_ENTRIES + TIER_RING_CQ_ENTRIES];
	static uint8_t seen[TIER_RING_SQ_ENTRIES + TIER_RING_CQ_ENTRIES];
	tier_client *c, *other;
	size_t queued = 0, reaped = 0;
	uint32_t ns;
	double share;

	tdaemon_start(&d, "32M", NULL);
	c = t_connect(&d);
	other = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "full", BS, &ns), 0);
	for (size_t i = 0; i < most; i++)
		ops[i] = (struct tier_op){ .opcode = TIER_OP_NOP, .user_data = 1000 + i };
	/* Queue until the rings hold all they can: the daemon answers into the CQ meanwhile. */
	for (int tries = 0; queued < most && tries < 5000; tries++) {
		int r = tier_submit(c, ops + queued, most - queued);

		ck_assert_int_ge(r, 0);
		queued += (size_t)r;
		if (!r)
			t_msleep(1);
	}
	ck_assert_uint_eq(queued, most);
	/* Nothing more fits: as many in flight as the rings hold. */
	ck_assert_int_eq(tier_submit(c, ops, 1), 0);
	t_msleep(20);
	share = daemon_cpu_share(IDLE_MS);
	ck_assert_msg(share < IDLE_CPU_MAX,
		      "the daemon used %.0f%% of a CPU waiting for a client to reap", share * 100);
	/* Another client is served meanwhile. */
	some_ops(other, ns, 7);
	/* Past the daemon's spin after that traffic: it is asleep when we reap. */
	t_msleep(20);
	/* Reap everything: each user_data once, all NOPs answered 0. */
	while (reaped < most) {
		int r = tier_reap(c, cqe, most, 2000);

		ck_assert_int_gt(r, 0);
		for (int i = 0; i < r; i++) {
			uint64_t u = cqe[i].user_data - 1000;

			ck_assert_uint_lt(u, most);
			ck_assert_uint_eq(seen[u], 0);
			seen[u] = 1;
			ck_assert_int_eq(cqe[i].res, 0);
		}
		reaped += (size_t)r;
	}
	ck_assert_int_eq(tier_reap(c, cqe, most, 0), 0);
	/* And the client can go on: a synchronous call right after. */
	some_ops(c, ns, 8);
	tier_close(c);
	tier_close(other);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

static Suite *ring_idle_suite(void)
{
	Suite *s = suite_create("ring_idle");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_idle_clients);
	tcase_add_test(tc, test_full_rings_idle);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	t_tierd_path();
	return t_run_suite(ring_idle_suite());
}
