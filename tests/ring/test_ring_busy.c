/* SPDX-License-Identifier: MIT */
/*
 * Integration: the rings while busy processes occupy every CPU.  With more
 * runnable tasks than CPUs neither end of a ring spins (libtier/spin.c): the
 * daemon sleeps in epoll right after its work and a client sleeps on its
 * futex right after submitting, so every operation depends on the wake-up
 * paths (the edge-triggered doorbell, the futex wake after a post).  Two
 * client processes run synchronous calls, batches and asynchronous ops
 * through them beside CPUs+1 busy loops; every operation must complete with
 * the answer expected, every user_data come back exactly once, every block's
 * bytes be right, and at the end nothing be pinned and every block be there.
 * No timing is asserted: only that nothing is lost or stuck.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "testutil.h"

#define BS 4096
#define NCLIENT 2
#define OWN 128           /* blocks each client writes */
#define ROUNDS 40
#define ASYNC 96          /* async ops per round */
#define BUSY_MAX 64
#define BUSY_LIFE_S 60    /* the busy loops die by then whatever happens */

static struct tdaemon d;
static pid_t busy[BUSY_MAX];
static int n_busy;

static tier_key own_key(uint32_t id, uint32_t i) { return t_key(3000 + id, i); }
static tier_key absent_key(uint32_t id, uint32_t i) { return t_key(7000 + id, i); }

static void busy_start(int n)
{
	pid_t parent = getpid();

	ck_assert_int_le(n, BUSY_MAX);
	for (n_busy = 0; n_busy < n; n_busy++) {
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			alarm(BUSY_LIFE_S);
			for (;;)
				__asm__ volatile("" ::: "memory");
		}
		busy[n_busy] = pid;
	}
}

static void busy_stop(void)
{
	for (int i = 0; i < n_busy; i++)
		kill(busy[i], SIGKILL);
	for (int i = 0; i < n_busy; i++)
		waitpid(busy[i], NULL, 0);
	n_busy = 0;
}

/* Async ops: lookups and acquires of own and absent keys, NOPs; each answered once. */
static int async_round(tier_client *c, uint32_t ns, uint32_t id, uint32_t round)
{
	static struct tier_op ops[ASYNC], rel[ASYNC];
	static struct tier_cqe cq[ASYNC];
	static uint8_t seen[ASYNC];
	size_t queued = 0, reaped = 0, n_rel = 0, rel_reaped = 0;

	for (uint32_t i = 0; i < ASYNC; i++) {
		uint32_t kind = (i + round) % 4;
		tier_key k = kind == 3 ? absent_key(id, i) : own_key(id, (i * 7 + round) % OWN);

		ops[i] = (struct tier_op){ .opcode = kind == 0 ? TIER_OP_NOP
					   : kind == 1 ? TIER_OP_ACQUIRE : TIER_OP_LOOKUP,
					   .ns = ns, .key = k, .user_data = i };
		seen[i] = 0;
	}
	while (reaped < ASYNC) {
		int r;

		if (queued < ASYNC) {
			r = tier_submit(c, ops + queued, ASYNC - queued);
			T_CHILD_CHECK(r >= 0);
			queued += (size_t)r;
		}
		/* A synchronous call with async ones in flight. */
		{
			tier_key k = own_key(id, round % OWN);

			T_CHILD_CHECK(tier_lookup(c, ns, &k, 1) == 1);
		}
		r = tier_reap(c, cq, ASYNC, 10000);
		T_CHILD_CHECK(r > 0);
		for (int i = 0; i < r; i++) {
			uint64_t u = cq[i].user_data;
			const struct tier_op *o;

			T_CHILD_CHECK(u < ASYNC && !seen[u]);
			seen[u] = 1;
			o = &ops[u];
			if (o->opcode == TIER_OP_NOP) {
				T_CHILD_CHECK(cq[i].res == 0);
			} else if (o->opcode == TIER_OP_LOOKUP) {
				T_CHILD_CHECK(cq[i].res == ((u + round) % 4 == 3 ? -ENOENT : TIER_HOST));
			} else {
				T_CHILD_CHECK(cq[i].res == 0);
				T_CHILD_CHECK(t_verify(tier_data(c, cq[i].handle), BS, o->key));
				rel[n_rel] = (struct tier_op){ .opcode = TIER_OP_RELEASE,
							       .handle = cq[i].handle,
							       .user_data = 1000 + n_rel };
				n_rel++;
			}
		}
		reaped += (size_t)r;
	}
	/* Release what the acquires pinned, asynchronously too. */
	for (size_t queued_rel = 0; rel_reaped < n_rel;) {
		int r;

		if (queued_rel < n_rel) {
			r = tier_submit(c, rel + queued_rel, n_rel - queued_rel);
			T_CHILD_CHECK(r >= 0);
			queued_rel += (size_t)r;
		}
		r = tier_reap(c, cq, ASYNC, 10000);
		T_CHILD_CHECK(r > 0);
		for (int i = 0; i < r; i++)
			T_CHILD_CHECK(cq[i].res == 0 && cq[i].user_data >= 1000);
		rel_reaped += (size_t)r;
	}
	return 0;
}

static int client(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg, ns;
	static tier_key keys[OWN];
	static tier_handle h[OWN];
	static uint8_t tiers[OWN];
	tier_client *c;

	T_CHILD_CHECK(tier_connect(d.sock, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "busy", BS, &ns) == 0);
	for (uint32_t i = 0; i < OWN; i++) {
		tier_handle a;

		keys[i] = own_key(id, i);
		T_CHILD_CHECK(tier_alloc(c, ns, &a) == 0);
		t_fill(tier_data(c, a), BS, keys[i]);
		T_CHILD_CHECK(tier_commit(c, a, keys[i]) == 0);
	}
	for (uint32_t round = 0; round < ROUNDS; round++) {
		tier_key k = own_key(id, round);
		tier_handle one;

		/* Synchronous round trips, one at a time. */
		T_CHILD_CHECK(tier_acquire(c, ns, k, &one) == 0);
		T_CHILD_CHECK(t_verify(tier_data(c, one), BS, k));
		T_CHILD_CHECK(tier_release(c, one) == 0);
		k = absent_key(id, round);
		T_CHILD_CHECK(tier_lookup(c, ns, &k, 1) == 0);
		/* Batches. */
		memset(tiers, 0xff, sizeof(tiers));
		T_CHILD_CHECK(tier_lookup_many(c, ns, keys, OWN, tiers) == OWN);
		for (uint32_t i = 0; i < OWN; i++)
			T_CHILD_CHECK(tiers[i] == TIER_HOST);
		T_CHILD_CHECK(tier_acquire_many(c, ns, keys, OWN, h) == OWN);
		for (uint32_t i = 0; i < OWN; i++)
			T_CHILD_CHECK(t_verify(tier_data(c, h[i]), BS, keys[i]));
		T_CHILD_CHECK(tier_release_many(c, h, OWN) == OWN);
		if (async_round(c, ns, id, round))
			return 1;
	}
	tier_close(c);
	return 0;
}

START_TEST(test_every_cpu_busy)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	pid_t pids[NCLIENT];
	struct tier_stats s;
	tier_client *c;
	uint32_t ns;

	tdaemon_start(&d, "32M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "busy", BS, &ns), 0);
	/* One more busy loop than CPUs: every CPU taken, and a queue behind them. */
	busy_start((int)(ncpu > 0 ? ncpu : 1) + 1);
	for (uint32_t i = 0; i < NCLIENT; i++)
		pids[i] = t_fork(client, (void *)(uintptr_t)i);
	for (uint32_t i = 0; i < NCLIENT; i++) {
		int st = t_wait(pids[i], 60000);

		ck_assert_msg(st != -1, "client process %u timed out", i);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			      "client process %u failed (status 0x%x)", i, st);
	}
	busy_stop();
	/* Nothing pinned, nothing lost: every block each client wrote is there. */
	for (uint32_t id = 0; id < NCLIENT; id++)
		for (uint32_t i = 0; i < OWN; i++) {
			tier_key k = own_key(id, i);

			ck_assert_int_eq(tier_lookup(c, ns, &k, 1), 1);
		}
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].pinned_blocks, 0);
	ck_assert_uint_eq(s.tiers[0].blocks, NCLIENT * OWN);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

static Suite *ring_busy_suite(void)
{
	Suite *s = suite_create("ring_busy");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_every_cpu_busy);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	t_tierd_path();
	return t_run_suite(ring_busy_suite());
}
