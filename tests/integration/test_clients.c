/* SPDX-License-Identifier: MIT */
/*
 * Integration: the data path between real processes.  One process writes
 * blocks into the shared arena and another reads every byte back; handles
 * that are forged, stale or someone else's are refused and never lead to
 * another block's bytes; namespace mismatches; -ECONNRESET once the daemon
 * is gone.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "testutil.h"

#define NBLOCKS 1000
#define BS 12000 /* not a multiple of 4 KiB on purpose */

static struct tdaemon d;

/* Block i of the test's chain: keys chained as an engine chains a prompt. */
static void chain_keys(tier_key *keys, uint32_t n)
{
	tier_key parent = TIER_KEY_ROOT;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t tokens[4] = { i, i * 7, i * 13, 0xc0ffee };

		keys[i] = tier_key_next(parent, tokens, sizeof(tokens));
		parent = keys[i];
	}
}

static int writer(void *arg)
{
	static tier_key keys[NBLOCKS];
	tier_client *c;
	uint32_t ns;

	(void)arg;
	chain_keys(keys, NBLOCKS);
	T_CHILD_CHECK(tier_connect(d.sock, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "model-a", BS, &ns) == 0);
	for (uint32_t i = 0; i < NBLOCKS; i++) {
		tier_handle h;
		void *p;

		T_CHILD_CHECK(tier_alloc(c, ns, &h) == 0);
		p = tier_data(c, h);
		T_CHILD_CHECK(p != NULL);
		t_fill(p, BS, keys[i]);
		T_CHILD_CHECK(tier_commit(c, h, keys[i]) == 0);
		/* Committed: the writer's hold has ended. */
		T_CHILD_CHECK(tier_data(c, h) == NULL);
	}
	tier_close(c);
	return 0;
}

static int reader(void *arg)
{
	static tier_key keys[NBLOCKS];
	static tier_handle held[NBLOCKS];
	tier_client *c;
	uint32_t ns;
	int bad = 0;

	(void)arg;
	chain_keys(keys, NBLOCKS);
	T_CHILD_CHECK(tier_connect(d.sock, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "model-a", BS, &ns) == 0);
	T_CHILD_CHECK(tier_lookup(c, ns, keys, NBLOCKS) == NBLOCKS);
	/* All 1,000 held at once (the library's table of holds grows), then read. */
	for (uint32_t i = 0; i < NBLOCKS; i++)
		T_CHILD_CHECK(tier_acquire(c, ns, keys[i], &held[i]) == 0);
	for (uint32_t i = 0; i < NBLOCKS; i++) {
		const void *p = tier_data(c, held[i]);

		T_CHILD_CHECK(p != NULL);
		if (!t_verify(p, BS, keys[i])) {
			fprintf(stderr, "reader: block %u has wrong bytes\n", i);
			bad++;
		}
	}
	for (uint32_t i = 0; i < NBLOCKS; i++) {
		T_CHILD_CHECK(tier_release(c, held[i]) == 0);
		T_CHILD_CHECK(tier_data(c, held[i]) == NULL);
	}
	T_CHILD_CHECK(bad == 0);
	/* A key that was never written, and a prefix that stops at it. */
	tier_key probe[3] = { keys[0], keys[1], tier_key_next(keys[1], "x", 1) };

	T_CHILD_CHECK(tier_lookup(c, ns, probe, 3) == 2);
	tier_close(c);
	return 0;
}

/* 1. Process A commits 1,000 blocks; process B reads every byte back. */
START_TEST(test_write_then_read_other_process)
{
	struct tier_stats s;
	struct tier_ns_stats ns[4];
	tier_client *c;

	tdaemon_start(&d, "32M", NULL);
	t_run_child(writer, NULL, 30000);
	t_run_child(reader, NULL, 30000);

	c = t_connect(&d);
	t_stats(c, &s, ns, 4);
	ck_assert_uint_eq(s.tiers[0].blocks, NBLOCKS);
	ck_assert_uint_eq(s.tiers[0].pinned_blocks, 0);
	ck_assert_uint_eq(s.tiers[0].used_bytes, NBLOCKS * 12288ULL);
	ck_assert_uint_eq(s.tiers[0].evictions, 0);
	ck_assert_uint_eq(s.n_namespaces, 1);
	ck_assert_str_eq(ns[0].name, "model-a");
	ck_assert_uint_eq(ns[0].block_size, BS);
	ck_assert_uint_eq(ns[0].blocks, NBLOCKS);
	ck_assert_uint_eq(s.ops.alloc, NBLOCKS);
	ck_assert_uint_eq(s.ops.commit, NBLOCKS);
	ck_assert_uint_eq(s.ops.acquire, NBLOCKS);
	ck_assert_uint_eq(s.ops.release, NBLOCKS);
	ck_assert_uint_eq(s.ops.errors, 0);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

/* Two writers race on the same keys: first writer wins, the bytes are whole. */
static int racer(void *arg)
{
	static tier_key keys[200];
	uint32_t me = (uint32_t)(uintptr_t)arg, ns;
	int won = 0, lost = 0;
	tier_client *c;

	chain_keys(keys, 200);
	T_CHILD_CHECK(tier_connect(d.sock, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "model-a", BS, &ns) == 0);
	for (uint32_t k = 0; k < 200; k++) {
		uint32_t i = me ? 199 - k : k; /* the two walk towards each other */
		tier_handle h;
		int r;

		T_CHILD_CHECK(tier_alloc(c, ns, &h) == 0);
		t_fill(tier_data(c, h), BS, keys[i]);
		r = tier_commit(c, h, keys[i]);
		T_CHILD_CHECK(r == 0 || r == -EEXIST);
		if (r == 0)
			won++;
		else
			lost++;
		T_CHILD_CHECK(tier_data(c, h) == NULL);
		T_CHILD_CHECK(tier_commit(c, h, keys[i]) == -EINVAL || r == -EEXIST);
	}
	tier_close(c);
	fprintf(stderr, "racer %u: won %d lost %d\n", me, won, lost);
	return 0;
}

START_TEST(test_first_writer_wins)
{
	struct tier_stats s;
	pid_t a, b;
	tier_client *c;
	uint32_t ns;
	static tier_key keys[200];

	tdaemon_start(&d, "32M", NULL);
	a = t_fork(racer, (void *)0);
	b = t_fork(racer, (void *)1);
	ck_assert_int_eq(t_wait(a, 30000), 0);
	ck_assert_int_eq(t_wait(b, 30000), 0);
	c = t_connect(&d);
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].blocks, 200);
	/* The losing copies were freed. */
	ck_assert_uint_eq(s.tiers[0].used_bytes, 200 * 12288ULL);
	/* Each racer commits every key twice: the second is refused (-EINVAL or -ESTALE). */
	ck_assert_uint_eq(s.ops.commit, 800);
	ck_assert_uint_eq(s.ops.errors, 200 + 400);
	chain_keys(keys, 200);
	ck_assert_int_eq(tier_namespace(c, "model-a", BS, &ns), 0);
	for (uint32_t i = 0; i < 200; i++) {
		tier_handle h;

		ck_assert_int_eq(tier_acquire(c, ns, keys[i], &h), 0);
		ck_assert(t_verify(tier_data(c, h), BS, keys[i]));
		ck_assert_int_eq(tier_release(c, h), 0);
	}
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

/* 3. Forged, stale and foreign handles. */
START_TEST(test_bad_handles)
{
	tier_client *a, *b;
	tier_handle h, hb, h1, h2, forged;
	tier_key k1 = t_key(3, 1), k2 = t_key(3, 2), k3 = t_key(3, 3);
	uint32_t ns, nsb;
	struct tier_stats s;
	uint8_t *p1;

	tdaemon_start(&d, "32M", NULL);
	a = t_connect(&d);
	b = t_connect(&d);
	ck_assert_int_eq(tier_namespace(a, "n", 8192, &ns), 0);
	ck_assert_int_eq(tier_namespace(b, "n", 8192, &nsb), 0);
	ck_assert_uint_eq(ns, nsb);

	/* Someone else's writing block: not ours to commit, read or release. */
	ck_assert_int_eq(tier_alloc(b, ns, &hb), 0);
	t_fill(tier_data(b, hb), 8192, k3);
	ck_assert_ptr_null(tier_data(a, hb));
	ck_assert_int_eq(tier_commit(a, hb, k3), -EINVAL);
	ck_assert_int_eq(tier_release(a, hb), -EINVAL);
	ck_assert_int_eq(tier_lookup(a, ns, &k3, 1), 0);

	/* Forged: other generations of a real slot, slots never used. */
	ck_assert_int_eq(tier_alloc(a, ns, &h), 0);
	forged = h + (1ULL << 32);
	ck_assert_ptr_null(tier_data(a, forged));
	ck_assert_int_eq(tier_commit(a, forged, k1), -ESTALE);
	ck_assert_int_eq(tier_release(a, forged), -ESTALE);
	ck_assert_int_eq(tier_commit(a, (1ULL << 32) | 999999, k1), -EINVAL);
	ck_assert_int_eq(tier_release(a, (uint32_t)h), -EINVAL); /* generation 0 */
	ck_assert_int_eq(tier_release(a, ~0ULL), -EINVAL);
	ck_assert_ptr_null(tier_data(a, 0));
	/* A writing block cannot be released. */
	ck_assert_int_eq(tier_release(a, h), -EINVAL);
	t_fill(tier_data(a, h), 8192, k1);
	ck_assert_int_eq(tier_commit(a, h, k1), 0);
	ck_assert_int_eq(tier_commit(b, hb, k3), 0);

	/* Stale: a handle whose block was freed, its slot reused for another block. */
	ck_assert_int_eq(tier_acquire(a, ns, k1, &h1), 0);
	p1 = tier_data(a, h1);
	ck_assert(t_verify(p1, 8192, k1));
	ck_assert_int_eq(tier_release(a, h1), 0);
	ck_assert_ptr_null(tier_data(a, h1));
	ck_assert_int_eq(tier_drop(a, ns, k1), 0);
	ck_assert_int_eq(tier_alloc(b, ns, &h2), 0);
	ck_assert_uint_eq((uint32_t)h2, (uint32_t)h1); /* the slot was reused... */
	ck_assert_uint_ne(h2, h1);                     /* ...under a new generation */
	t_fill(tier_data(b, h2), 8192, k2);
	ck_assert_int_eq(tier_commit(b, h2, k2), 0);
	ck_assert_ptr_null(tier_data(a, h1));
	ck_assert_int_eq(tier_release(a, h1), -ESTALE);
	ck_assert_int_eq(tier_commit(a, h1, k1), -ESTALE);
	ck_assert_int_eq(tier_acquire(a, ns, k1, &h), -ENOENT);
	/* Reading k2 through a's own handle gets k2's bytes, and only through it. */
	ck_assert_int_eq(tier_acquire(a, ns, k2, &h), 0);
	ck_assert_uint_eq(h, h2);
	ck_assert(t_verify(tier_data(a, h), 8192, k2));
	ck_assert_int_eq(tier_release(a, h), 0);

	/* A block that lost the race to commit: its handle is dead at once. */
	ck_assert_int_eq(tier_alloc(a, ns, &h), 0);
	ck_assert_int_eq(tier_commit(a, h, k2), -EEXIST);
	ck_assert_ptr_null(tier_data(a, h));
	ck_assert_int_eq(tier_release(a, h), -ESTALE);
	ck_assert_int_eq(tier_commit(a, h, k1), -ESTALE);

	/* A dropped block that is pinned stays readable until released. */
	ck_assert_int_eq(tier_acquire(a, ns, k3, &h), 0);
	ck_assert_int_eq(tier_drop(b, ns, k3), 0);
	ck_assert_int_eq(tier_lookup(b, ns, &k3, 1), 0);
	ck_assert(t_verify(tier_data(a, h), 8192, k3));
	t_stats(a, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].pinned_blocks, 1);
	ck_assert_uint_eq(s.tiers[0].blocks, 1); /* k2 */
	ck_assert_int_eq(tier_release(a, h), 0);
	ck_assert_int_eq(tier_release(a, h), -ESTALE);
	t_stats(a, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].pinned_blocks, 0);
	ck_assert_uint_eq(s.tiers[0].used_bytes, 8192);

	tier_close(a);
	tier_close(b);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

/* 8. Namespace reopened with another block size; calls after the daemon is gone. */
START_TEST(test_namespace_and_connreset)
{
	tier_client *a, *b, *c2;
	uint32_t ns, ns2, ns3;
	tier_handle h;
	tier_key k = t_key(8, 0);
	struct tier_stats s = { .size = sizeof(s) };
	char longname[TIER_NAME_MAX + 2];

	tdaemon_start(&d, "32M", NULL);
	a = t_connect(&d);
	b = t_connect(&d);
	ck_assert_int_eq(tier_namespace(a, "llama", 65536, &ns), 0);
	ck_assert_int_eq(tier_namespace(b, "llama", 32768, &ns2), -EINVAL);
	ck_assert_int_eq(tier_namespace(b, "llama", 65537, &ns2), -EINVAL);
	ck_assert_int_eq(tier_namespace(b, "llama", 65536, &ns2), 0);
	ck_assert_uint_eq(ns, ns2);
	ck_assert_int_eq(tier_namespace(b, "mistral", 32768, &ns3), 0);
	ck_assert_uint_ne(ns3, ns);
	ck_assert_int_eq(tier_namespace(b, "", 4096, &ns3), -EINVAL);
	ck_assert_int_eq(tier_namespace(b, "big", 9 << 20, &ns3), -EINVAL); /* > 32M / 4 */
	ck_assert_int_eq(tier_namespace(b, "zero", 0, &ns3), -EINVAL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	ck_assert_int_eq(tier_namespace(b, longname, 4096, &ns3), -EINVAL);
	ck_assert_int_eq(tier_alloc(a, 999, &h), -ENOENT);
	ck_assert_int_eq(tier_lookup(a, 999, &k, 1), -ENOENT);

	ck_assert_int_eq(tier_alloc(a, ns, &h), 0);
	ck_assert_int_eq(tier_commit(a, h, k), 0);

	/* The daemon dies. */
	tdaemon_kill(&d);
	ck_assert_int_eq(tier_lookup(a, ns, &k, 1), -ECONNRESET);
	ck_assert_int_eq(tier_alloc(a, ns, &h), -ECONNRESET);
	ck_assert_int_eq(tier_acquire(b, ns, k, &h), -ECONNRESET);
	ck_assert_int_eq(tier_stats_get(b, &s, NULL, 0), -ECONNRESET);
	ck_assert_int_eq(tier_namespace(b, "llama", 65536, &ns2), -ECONNRESET);
	/* And stays so; reconnecting fails cleanly. */
	ck_assert_int_eq(tier_lookup(a, ns, &k, 1), -ECONNRESET);
	int r = tier_connect(d.sock, &c2);

	ck_assert_msg(r == -ECONNREFUSED || r == -ENOENT, "tier_connect: %d", r);
	tier_close(a);
	tier_close(b);
	tdaemon_cleanup(&d);
}
END_TEST

/*
 * A long-lived client's memory follows what it holds, not how many calls it
 * has made: 20,000 alloc/commit cycles holding at most one block at a time.
 */
START_TEST(test_client_memory_bounded)
{
	tier_key k = t_key(11, 0);
	struct mallinfo2 m0, m1;
	tier_client *c;
	tier_handle h;
	uint32_t ns;

	tdaemon_start(&d, "32M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "n", 4096, &ns), 0);
	ck_assert_int_eq(tier_alloc(c, ns, &h), 0);
	ck_assert_int_eq(tier_commit(c, h, k), 0);
	m0 = mallinfo2();
	for (int i = 0; i < 20000; i++) {
		ck_assert_int_eq(tier_alloc(c, ns, &h), 0);
		if (tier_commit(c, h, k) != -EEXIST)
			ck_abort_msg("commit %d did not lose to the first writer", i);
	}
	m1 = mallinfo2();
	/* Large allocations are mmapped (hblkhd), small ones are in the heap (uordblks). */
	ck_assert_msg(m1.uordblks + m1.hblkhd < m0.uordblks + m0.hblkhd + 64 * 1024,
		      "client memory grew by %zu bytes over 20000 calls holding one block",
		      m1.uordblks + m1.hblkhd - m0.uordblks - m0.hblkhd);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

static Suite *clients_suite(void)
{
	Suite *s = suite_create("clients");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_write_then_read_other_process);
	tcase_add_test(tc, test_first_writer_wins);
	tcase_add_test(tc, test_bad_handles);
	tcase_add_test(tc, test_namespace_and_connreset);
	tcase_add_test(tc, test_client_memory_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	t_tierd_path(); /* skip early when not configured */
	return t_run_suite(clients_suite());
}
