/* SPDX-License-Identifier: MIT */
/*
 * Integration: eviction and pins across processes.  Filling the host tier
 * past capacity evicts in LRU order and never a pinned block (checked by
 * which keys survive, by the pinning process reading its bytes after the
 * churn, and by the evictions counter); a client killed with SIGKILL while
 * holding pins and writing blocks leaves nothing behind.
 *
 * host.size 32M with 256 KiB blocks: 128 blocks fill the tier.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "testutil.h"

#define BS (256 * 1024)
#define CAP 128

static struct tdaemon d;
static int to_child[2], to_parent[2];

static void put(tier_client *c, uint32_t ns, tier_key k)
{
	tier_handle h;
	int r = tier_alloc(c, ns, &h);

	ck_assert_msg(r == 0, "tier_alloc: %s", tier_strerror(r));
	t_fill(tier_data(c, h), BS, k);
	ck_assert_int_eq(tier_commit(c, h, k), 0);
}

static bool present(tier_client *c, uint32_t ns, tier_key k)
{
	int r = tier_lookup(c, ns, &k, 1);

	ck_assert_int_ge(r, 0);
	return r == 1;
}

static void wait_byte(int fd)
{
	char b;

	ck_assert_int_eq(read(fd, &b, 1), 1);
}

/* Pins k0 of chain 1, says so, waits, checks the bytes, releases. */
static int pinner(void *arg)
{
	tier_key k0 = t_key(1, 0);
	tier_client *c;
	tier_handle h;
	uint32_t ns;
	char b = 'p';

	(void)arg;
	T_CHILD_CHECK(tier_connect(d.sock, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "ev", BS, &ns) == 0);
	T_CHILD_CHECK(tier_acquire(c, ns, k0, &h) == 0);
	T_CHILD_CHECK(t_verify(tier_data(c, h), BS, k0));
	T_CHILD_CHECK(write(to_parent[1], &b, 1) == 1);
	T_CHILD_CHECK(read(to_child[0], &b, 1) == 1);
	/* After the churn: still our bytes. */
	T_CHILD_CHECK(t_verify(tier_data(c, h), BS, k0));
	T_CHILD_CHECK(tier_release(c, h) == 0);
	tier_close(c);
	return 0;
}

/* Acquires and releases k41 and k42 without any lookup (an acquire is an access). */
static int toucher(void *arg)
{
	tier_client *c;
	tier_handle h;
	uint32_t ns;

	(void)arg;
	T_CHILD_CHECK(tier_connect(d.sock, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "ev", BS, &ns) == 0);
	for (uint32_t i = 41; i <= 42; i++) {
		T_CHILD_CHECK(tier_acquire(c, ns, t_key(1, i), &h) == 0);
		T_CHILD_CHECK(t_verify(tier_data(c, h), BS, t_key(1, i)));
		T_CHILD_CHECK(tier_release(c, h) == 0);
	}
	tier_close(c);
	return 0;
}

/* 2. LRU order, pinned blocks never evicted, the evictions counter. */
START_TEST(test_lru_order_and_pins)
{
	tier_key touched[10];
	struct tier_stats s;
	tier_client *c;
	pid_t pin;
	uint32_t ns;
	char b = 'r';

	ck_assert_int_eq(pipe(to_child), 0);
	ck_assert_int_eq(pipe(to_parent), 0);
	tdaemon_start(&d, "32M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "ev", BS, &ns), 0);
	put(c, ns, t_key(1, 0));
	pin = t_fork(pinner, NULL);
	wait_byte(to_parent[0]);
	for (uint32_t i = 1; i < CAP; i++)
		put(c, ns, t_key(1, i));
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].blocks, CAP);
	ck_assert_uint_eq(s.tiers[0].used_bytes, s.tiers[0].capacity_bytes);
	ck_assert_uint_eq(s.tiers[0].evictions, 0);
	ck_assert_uint_eq(s.tiers[0].pinned_blocks, 1);

	/* Recency: k1..k10 looked up, then k41, k42 acquired by another process. */
	for (uint32_t i = 0; i < 10; i++)
		touched[i] = t_key(1, i + 1);
	ck_assert_int_eq(tier_lookup(c, ns, touched, 10), 10);
	t_run_child(toucher, NULL, 10000);

	/* 30 new blocks: the 30 least recently used unpinned blocks go, k11..k40. */
	for (uint32_t i = 0; i < 30; i++)
		put(c, ns, t_key(2, i));
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].evictions, 30);
	ck_assert_uint_eq(s.tiers[0].blocks, CAP);
	ck_assert_uint_eq(s.tiers[0].pinned_blocks, 1);
	for (uint32_t i = 0; i < CAP; i++) {
		bool want = i == 0 || i < 11 || i > 40;

		ck_assert_msg(present(c, ns, t_key(1, i)) == want, "k%u %s", i,
			      want ? "was evicted" : "survived");
	}
	for (uint32_t i = 0; i < 30; i++)
		ck_assert(present(c, ns, t_key(2, i)));

	/* The pinner finds its bytes intact and lets go. */
	ck_assert_int_eq(write(to_child[1], &b, 1), 1);
	ck_assert_int_eq(t_wait(pin, 10000), 0);
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].pinned_blocks, 0);
	/* Unpinned, k0 is again the oldest (the lookups above touched the others): next out. */
	put(c, ns, t_key(3, 0));
	ck_assert(!present(c, ns, t_key(1, 0)));
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].evictions, 31);

	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

/* Everything pinned by another process: -ENOSPC, promptly, and the daemon still answers. */
static int pin_all(void *arg)
{
	tier_client *c;
	tier_handle h;
	uint32_t ns;
	char b = 'p';

	(void)arg;
	T_CHILD_CHECK(tier_connect(d.sock, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "ev", BS, &ns) == 0);
	for (uint32_t i = 0; i < CAP; i++)
		T_CHILD_CHECK(tier_acquire(c, ns, t_key(1, i), &h) == 0);
	T_CHILD_CHECK(write(to_parent[1], &b, 1) == 1);
	T_CHILD_CHECK(read(to_child[0], &b, 1) == 1);
	tier_close(c); /* releases all 128 pins */
	return 0;
}

START_TEST(test_enospc_when_all_pinned)
{
	struct tier_stats s;
	tier_client *c;
	tier_handle h;
	uint32_t ns;
	pid_t p;
	char b = 'r';

	ck_assert_int_eq(pipe(to_child), 0);
	ck_assert_int_eq(pipe(to_parent), 0);
	/* One client pins it all: above its default daemon.client_max_pinned (3/4). */
	tdaemon_start(&d, "32M", "daemon.client_max_pinned=32M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "ev", BS, &ns), 0);
	for (uint32_t i = 0; i < CAP; i++)
		put(c, ns, t_key(1, i));
	p = t_fork(pin_all, NULL);
	wait_byte(to_parent[0]);
	ck_assert_int_eq(tier_alloc(c, ns, &h), -ENOSPC);
	ck_assert_int_eq(tier_alloc(c, ns, &h), -ENOSPC);
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].pinned_blocks, CAP);
	ck_assert_uint_eq(s.tiers[0].evictions, 0);
	ck_assert_uint_eq(s.ops.errors, 2);
	ck_assert_int_eq(write(to_child[1], &b, 1), 1);
	ck_assert_int_eq(t_wait(p, 10000), 0);
	/* The pins went with tier_close; room again. */
	for (int tries = 0; tries < 500; tries++) {
		t_stats(c, &s, NULL, 0);
		if (s.tiers[0].pinned_blocks == 0)
			break;
		t_msleep(10);
	}
	ck_assert_uint_eq(s.tiers[0].pinned_blocks, 0);
	put(c, ns, t_key(2, 0));
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

/* Holds pins (one twice) and writing blocks, then waits to be killed. */
static int victim(void *arg)
{
	tier_client *c;
	tier_handle h;
	uint32_t ns;
	char b = 'v';

	(void)arg;
	T_CHILD_CHECK(tier_connect(d.sock, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "ev", BS, &ns) == 0);
	for (uint32_t i = 0; i < 5; i++)
		T_CHILD_CHECK(tier_acquire(c, ns, t_key(1, i), &h) == 0);
	T_CHILD_CHECK(tier_acquire(c, ns, t_key(1, 0), &h) == 0);
	for (uint32_t i = 0; i < 3; i++) {
		T_CHILD_CHECK(tier_alloc(c, ns, &h) == 0);
		memset(tier_data(c, h), 0xee, BS);
	}
	T_CHILD_CHECK(write(to_parent[1], &b, 1) == 1);
	for (;;)
		pause();
	return 1;
}

/* 4. SIGKILL while holding pins and writing blocks: nothing stays behind. */
START_TEST(test_killed_client_leaves_nothing)
{
	struct tier_stats s, base;
	tier_client *c;
	tier_handle h;
	uint32_t ns;
	pid_t v;
	int st;

	ck_assert_int_eq(pipe(to_parent), 0);
	tdaemon_start(&d, "32M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "ev", BS, &ns), 0);
	for (uint32_t i = 0; i < 10; i++)
		put(c, ns, t_key(1, i));
	t_stats(c, &base, NULL, 0);
	ck_assert_uint_eq(base.clients, 1);

	v = t_fork(victim, NULL);
	wait_byte(to_parent[0]);
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.clients, 2);
	ck_assert_uint_eq(s.tiers[0].pinned_blocks, 5);
	ck_assert_uint_eq(s.tiers[0].used_bytes, base.tiers[0].used_bytes + 3 * BS);
	/* k4 dropped while the victim pins it: freed only when the pin goes. */
	ck_assert_int_eq(tier_drop(c, ns, t_key(1, 4)), 0);
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].used_bytes, base.tiers[0].used_bytes + 3 * BS);

	ck_assert_int_eq(kill(v, SIGKILL), 0);
	st = t_wait(v, 5000);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	for (int tries = 0; tries < 500; tries++) {
		t_stats(c, &s, NULL, 0);
		if (s.clients == 1)
			break;
		t_msleep(10);
	}
	ck_assert_uint_eq(s.clients, 1);
	ck_assert_uint_eq(s.tiers[0].pinned_blocks, 0);
	ck_assert_uint_eq(s.tiers[0].used_bytes, base.tiers[0].used_bytes - BS);
	ck_assert_uint_eq(s.tiers[0].blocks, 9);

	/* Still serving: the formerly pinned blocks are readable and evictable. */
	for (uint32_t i = 0; i < 4; i++) {
		ck_assert_int_eq(tier_acquire(c, ns, t_key(1, i), &h), 0);
		ck_assert(t_verify(tier_data(c, h), BS, t_key(1, i)));
		ck_assert_int_eq(tier_release(c, h), 0);
	}
	for (uint32_t i = 0; i < CAP; i++)
		put(c, ns, t_key(5, i));
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].blocks, CAP);
	ck_assert(!present(c, ns, t_key(1, 0)));
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

static Suite *evict_suite(void)
{
	Suite *s = suite_create("evict");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_lru_order_and_pins);
	tcase_add_test(tc, test_enospc_when_all_pinned);
	tcase_add_test(tc, test_killed_client_leaves_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	t_tierd_path();
	return t_run_suite(evict_suite());
}
