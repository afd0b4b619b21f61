/* SPDX-License-Identifier: MIT */
/*
 * Integration: the asynchronous ring API and the batch calls against the
 * real daemon, as an engine uses them.  Each submitted op's user_data comes
 * back exactly once with the answer the synchronous call would give; a
 * handle from an async ACQUIRE or ALLOC is usable once reaped; the rings
 * fill (tier_submit queues fewer than asked) and drain with nothing lost,
 * far more often than they hold, while synchronous calls interleave; the
 * *_many calls span the library's internal chunks; and the ring and socket
 * transports answer the same questions the same way.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "ring.h"
#include "testutil.h"

#define BS 4096
#define INFLIGHT_MAX (TIER_RING_SQ_ENTRIES + TIER_RING_CQ_ENTRIES)

static struct tdaemon d;

static tier_client *connect_socket(void)
{
	tier_client *c;

	ck_assert_int_eq(setenv("TIER_TRANSPORT", "socket", 1), 0);
	c = t_connect(&d);
	ck_assert_int_eq(unsetenv("TIER_TRANSPORT"), 0);
	return c;
}

/* Write and commit block k (sync). */
static void put(tier_client *c, uint32_t ns, tier_key k)
{
	tier_handle h;

	ck_assert_int_eq(tier_alloc(c, ns, &h), 0);
	t_fill(tier_data(c, h), BS, k);
	ck_assert_int_eq(tier_commit(c, h, k), 0);
}

/* Submit ops[0..n) and reap until each is back; results in ret, indexed like ops. */
static void run_ops(tier_client *c, struct tier_op *ops, size_t n, struct tier_cqe *ret)
{
	struct tier_cqe cq[64];
	uint8_t *seen = calloc(n, 1);
	size_t queued = 0, reaped = 0;

	ck_assert_ptr_nonnull(seen);
	for (size_t i = 0; i < n; i++)
		ops[i].user_data = 0x5000000000ULL + i;
	while (reaped < n) {
		if (queued < n) {
			int r = tier_submit(c, ops + queued, n - queued);

			ck_assert_int_ge(r, 0);
			queued += (size_t)r;
		}
		int r = tier_reap(c, cq, 64, queued > reaped ? 2000 : 0);

		ck_assert_int_ge(r, 0);
		ck_assert_msg(r > 0 || queued == reaped, "ops in flight, none completed in 2 s");
		for (int i = 0; i < r; i++) {
			uint64_t u = cq[i].user_data - 0x5000000000ULL;

			t_check(u < n);
			t_check(!seen[u]);
			seen[u] = 1;
			ret[u] = cq[i];
		}
		reaped += (size_t)r;
	}
	free(seen);
}

/* Every opcode asynchronously, with user data round-tripped and each answer checked. */
START_TEST(test_async_each_opcode)
{
	tier_client *c, *sock;
	tier_key k1 = t_key(1, 1), k2 = t_key(1, 2), nokey = t_key(1, 99);
	struct tier_op ops[8];
	struct tier_cqe r[8], one;
	tier_handle w;
	uint32_t ns;

	tdaemon_start(&d, "32M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "async", BS, &ns), 0);
	put(c, ns, k1);

	/* ALLOC, NOP, LOOKUP hit and miss, ACQUIRE hit and miss, PREFETCH, DROP miss. */
	ops[0] = (struct tier_op){ .opcode = TIER_OP_ALLOC, .ns = ns };
	ops[1] = (struct tier_op){ .opcode = TIER_OP_NOP };
	ops[2] = (struct tier_op){ .opcode = TIER_OP_LOOKUP, .ns = ns, .key = k1 };
	ops[3] = (struct tier_op){ .opcode = TIER_OP_LOOKUP, .ns = ns, .key = nokey };
	ops[4] = (struct tier_op){ .opcode = TIER_OP_ACQUIRE, .ns = ns, .key = k1 };
	ops[5] = (struct tier_op){ .opcode = TIER_OP_ACQUIRE, .ns = ns, .key = nokey };
	ops[6] = (struct tier_op){ .opcode = TIER_OP_PREFETCH, .ns = ns, .key = k1 };
	ops[7] = (struct tier_op){ .opcode = TIER_OP_DROP, .ns = ns, .key = nokey };
	run_ops(c, ops, 8, r);
	ck_assert_int_eq(r[0].res, 0);
	ck_assert_uint_ne(r[0].handle, 0);
	ck_assert_int_eq(r[1].res, 0);
	ck_assert_int_eq(r[2].res, TIER_HOST);
	ck_assert_int_eq(r[3].res, -ENOENT);
	ck_assert_int_eq(r[4].res, 0);
	ck_assert_int_eq(r[5].res, -ENOENT);
	ck_assert_uint_eq(r[5].handle, 0);
	ck_assert_int_eq(r[6].res, 0); /* host-resident already: no promotion */
	ck_assert_int_eq(r[7].res, -ENOENT);
	for (int i = 0; i < 8; i++)
		ck_assert_uint_eq(r[i].reserved, 0);

	/* The acquired block's bytes, valid once reaped. */
	ck_assert_ptr_nonnull(tier_data(c, r[4].handle));
	ck_assert(t_verify(tier_data(c, r[4].handle), BS, k1));
	/* The allocated block: write it, commit it async with its parent. */
	w = r[0].handle;
	ck_assert_ptr_nonnull(tier_data(c, w));
	t_fill(tier_data(c, w), BS, k2);
	ops[0] = (struct tier_op){ .opcode = TIER_OP_COMMIT, .flags = TIER_OPF_PARENT,
				   .handle = w, .key = k2, .parent = k1 };
	/* Release the pin async; a second release of it fails. */
	ops[1] = (struct tier_op){ .opcode = TIER_OP_RELEASE, .handle = r[4].handle };
	run_ops(c, ops, 2, r);
	ck_assert_int_eq(r[0].res, 0);
	ck_assert_int_eq(r[1].res, 0);
	ck_assert_ptr_null(tier_data(c, w));         /* committed: no longer ours */
	ck_assert_ptr_null(tier_data(c, ops[1].handle)); /* released */
	ops[0] = (struct tier_op){ .opcode = TIER_OP_RELEASE, .handle = ops[1].handle };
	run_ops(c, ops, 1, r);
	ck_assert_int_lt(r[0].res, 0);

	/* Another client, over the socket, sees the async commit's bytes. */
	sock = connect_socket();
	ck_assert_int_eq(tier_acquire(sock, ns, k2, &w), 0);
	ck_assert(t_verify(tier_data(sock, w), BS, k2));
	ck_assert_int_eq(tier_release(sock, w), 0);
	/* The socket transport has no async API. */
	ck_assert_int_eq(tier_submit(sock, ops, 1), -EOPNOTSUPP);
	ck_assert_int_eq(tier_reap(sock, &one, 1, 0), -EOPNOTSUPP);
	tier_close(sock);

	/* DROP hit, then the key is gone. */
	ops[0] = (struct tier_op){ .opcode = TIER_OP_DROP, .ns = ns, .key = k1 };
	ops[1] = (struct tier_op){ .opcode = TIER_OP_LOOKUP, .ns = ns, .key = k1 };
	run_ops(c, ops, 2, r);
	ck_assert_int_eq(r[0].res, 0);
	ck_assert_int_eq(r[1].res, -ENOENT);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

/* tier_reap's timeouts with nothing in flight, and tier_submit's argument checks. */
START_TEST(test_reap_timeouts_and_bad_ops)
{
	struct tier_op ops[3] = {
		{ .opcode = TIER_OP_NOP, .user_data = 1 },
		{ .opcode = TIER_OP_NOP, .user_data = 2 },
		{ .opcode = TIER_OP_PREFETCH + 1, .user_data = 3 },
	};
	struct tier_cqe cq[4];
	tier_client *c;

	tdaemon_start(&d, "32M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_reap(c, cq, 4, 0), 0);
	ck_assert_int_eq(tier_reap(c, cq, 4, 50), 0);
	ck_assert_int_eq(tier_reap(c, cq, 0, 0), 0);
	ck_assert_int_eq(tier_reap(c, NULL, 4, 0), -EINVAL);
	ck_assert_int_eq(tier_reap(NULL, cq, 4, 0), -EINVAL);
	ck_assert_int_eq(tier_submit(c, NULL, 1), -EINVAL);
	ck_assert_int_eq(tier_submit(NULL, ops, 1), -EINVAL);
	ck_assert_int_eq(tier_submit(c, ops, 0), 0);
	/* A bad op first: -EINVAL; after good ones: those are queued, the bad one is not. */
	ck_assert_int_eq(tier_submit(c, ops + 2, 1), -EINVAL);
	ck_assert_int_eq(tier_submit(c, ops, 3), 2);
	ops[2] = (struct tier_op){ .opcode = TIER_OP_NOP, .reserved = 1 };
	ck_assert_int_eq(tier_submit(c, ops + 2, 1), -EINVAL);
	ops[2] = (struct tier_op){ .opcode = TIER_OP_NOP, .flags = 0x80 };
	ck_assert_int_eq(tier_submit(c, ops + 2, 1), -EINVAL);
	/* Exactly the two queued come back, then nothing. */
	{
		uint64_t got = 0;

		for (int n = 0; n < 2;) {
			int r = tier_reap(c, cq, 4, -1);

			ck_assert_int_ge(r, 1);
			for (int i = 0; i < r; i++) {
				ck_assert(cq[i].user_data == 1 || cq[i].user_data == 2);
				ck_assert_int_eq(cq[i].res, 0);
				got |= 1ULL << cq[i].user_data;
			}
			n += r;
			ck_assert_int_le(n, 2);
		}
		ck_assert_uint_eq(got, 6);
	}
	ck_assert_int_eq(tier_reap(c, cq, 4, 50), 0);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

/*
 * Many more operations than the rings hold, pushed until tier_submit
 * queues fewer than asked, then reaped, round after round; synchronous
 * calls in between while async ones are in flight (their completions are
 * kept aside for tier_reap).  Every user_data once, every answer right,
 * every acquired block's bytes right.
 */
#define POOL 200
#define TOTAL_OPS 60000

START_TEST(test_fill_drain_many_wraps)
{
	static struct tier_op ops[INFLIGHT_MAX];
	static struct tier_cqe cq[INFLIGHT_MAX];
	static uint8_t state[TOTAL_OPS];
	static uint16_t kidx[TOTAL_OPS];
	tier_client *c;
	tier_key keys[POOL];
	uint64_t next = 0, done = 0;
	uint32_t ns, short_submits = 0;
	uint64_t rng = 99;
	size_t pending = 0;

	tdaemon_start(&d, "32M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "wrap", BS, &ns), 0);
	for (uint32_t i = 0; i < POOL; i++) {
		keys[i] = t_key(2, i);
		put(c, ns, keys[i]);
	}
	while (done < TOTAL_OPS) {
		size_t want = 0, got;
		int r;

		/* Ask for more than fits: lookups (half of them misses) and acquires. */
		while (next + want < TOTAL_OPS && want < INFLIGHT_MAX) {
			uint64_t u = next + want;
			uint32_t k = (uint32_t)t_rand_below(&rng, 2 * POOL);

			ops[want] = (struct tier_op){
				.opcode = u % 4 == 3 ? TIER_OP_ACQUIRE : TIER_OP_LOOKUP, .ns = ns,
				.key = k < POOL ? keys[k] : t_key(3, k), .user_data = u,
			};
			state[u] = (uint8_t)((k < POOL) | (ops[want].opcode == TIER_OP_ACQUIRE) << 1);
			kidx[u] = (uint16_t)k;
			want++;
		}
		r = tier_submit(c, ops, want);
		ck_assert_int_ge(r, 0);
		got = (size_t)r;
		short_submits += got < want;
		next += got;
		pending += got;
		/* A synchronous call while async ones are in flight. */
		if (next % 7 == 0)
			ck_assert_int_eq(tier_lookup(c, ns, keys, POOL), POOL);
		/* Reap about half of what is in flight (all at the end). */
		size_t reap_now = next == TOTAL_OPS ? pending : (pending + 1) / 2;

		while (reap_now) {
			r = tier_reap(c, cq, reap_now, 2000);
			ck_assert_int_gt(r, 0);
			for (int i = 0; i < r; i++) {
				uint64_t u = cq[i].user_data;
				uint8_t st;

				t_check(u < next);
				st = state[u];
				t_check(st != 0xff); /* not seen before */
				state[u] = 0xff;
				if (st & 2) {
					t_check_eq(cq[i].res, (st & 1) ? 0 : -ENOENT);
					if (st & 1) {
						void *p = tier_data(c, cq[i].handle);

						t_check(p != NULL);
						t_check(t_verify(p, BS, keys[kidx[u]]));
						t_check(tier_release(c, cq[i].handle) == 0);
					}
				} else {
					t_check_eq(cq[i].res, (st & 1) ? TIER_HOST : -ENOENT);
				}
			}
			reap_now -= (size_t)r;
			pending -= (size_t)r;
			done += (size_t)r;
		}
	}
	ck_assert_uint_eq(done, TOTAL_OPS);
	ck_assert_int_eq(tier_reap(c, cq, 1, 0), 0);
	/* The rings filled many times over: tier_submit said so. */
	ck_assert_uint_gt(short_submits, 10);
	/* Every pin was given back. */
	{
		struct tier_stats s;

		t_stats(c, &s, NULL, 0);
		ck_assert_uint_eq(s.tiers[0].pinned_blocks, 0);
	}
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

/* n blocks allocated asynchronously; their handles in ret. */
static void alloc_async(tier_client *c, uint32_t ns, size_t n, tier_handle *ret)
{
	struct tier_op *ops = calloc(n, sizeof(*ops));
	struct tier_cqe *r = calloc(n, sizeof(*r));

	ck_assert(ops && r);
	for (size_t i = 0; i < n; i++)
		ops[i] = (struct tier_op){ .opcode = TIER_OP_ALLOC, .ns = ns };
	run_ops(c, ops, n, r);
	for (size_t i = 0; i < n; i++) {
		t_check_eq(r[i].res, 0);
		t_check(tier_data(c, r[i].handle) != NULL);
		ret[i] = r[i].handle;
	}
	free(ops);
	free(r);
}

#define MPOOL 3000
#define NLOOK 100000
#define NACQ 50000
#define NCOMMIT 45000

/*
 * The batch calls with more keys than one internal chunk holds, against
 * the socket transport's answers to the same questions.
 */
START_TEST(test_many_large_vs_socket)
{
	tier_client *c, *sock;
	tier_key *pool = calloc(MPOOL, sizeof(tier_key));
	tier_key *L = calloc(NLOOK, sizeof(tier_key)), *K = calloc(NCOMMIT, sizeof(tier_key));
	tier_handle *H = calloc(NCOMMIT > NACQ ? NCOMMIT : NACQ, sizeof(tier_handle));
	tier_handle *real = calloc(MPOOL, sizeof(tier_handle));
	uint8_t *tiers = malloc(NLOOK);
	bool *present = calloc(NLOOK, sizeof(bool));
	struct tier_stats s0, s;
	uint64_t rng = 5;
	uint32_t ns, ns2;

	ck_assert(pool && L && K && H && real && tiers && present);
	tdaemon_start(&d, "32M", NULL);
	c = t_connect(&d);
	sock = connect_socket();
	ck_assert_int_eq(tier_namespace(c, "many", BS, &ns), 0);
	ck_assert_int_eq(tier_namespace(sock, "many", BS, &ns2), 0);
	ck_assert_uint_eq(ns, ns2);

	/* commit_many: the real handles scattered among forged ones, across two chunks. */
	alloc_async(c, ns, MPOOL, real);
	for (uint32_t i = 0; i < MPOOL; i++) {
		pool[i] = t_key(4, i);
		t_fill(tier_data(c, real[i]), BS, pool[i]);
	}
	for (uint32_t i = 0; i < NCOMMIT; i++) {
		H[i] = (uint64_t)t_rand(&rng) | 1ULL << 62; /* no handle of ours */
		K[i] = t_key(5, i);
	}
	for (uint32_t i = 0; i < MPOOL; i++) {
		H[i * (NCOMMIT / MPOOL)] = real[i];
		K[i * (NCOMMIT / MPOOL)] = pool[i];
	}
	t_stats(c, &s0, NULL, 0);
	ck_assert_int_eq(tier_commit_many(c, H, K, NCOMMIT), MPOOL);
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].blocks, s0.tiers[0].blocks + MPOOL);
	for (uint32_t i = 0; i < MPOOL; i++)
		t_check(tier_data(c, real[i]) == NULL);
	/* Committing the same keys again (new blocks): first writer won, each one freed. */
	alloc_async(c, ns, 10, real);
	ck_assert_int_eq(tier_commit_many(c, real, pool, 10), 0);
	for (int i = 0; i < 10; i++)
		ck_assert_ptr_null(tier_data(c, real[i]));
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].blocks, s0.tiers[0].blocks + MPOOL);
	/* The writing blocks counted already; the duplicates' blocks were freed. */
	ck_assert_uint_eq(s.tiers[0].used_bytes, s0.tiers[0].used_bytes);
	/* Over the socket, the same count for new keys. */
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(tier_alloc(sock, ns, &real[i]), 0);
	ck_assert_int_eq(tier_commit_many(sock, real, K + 1, 10), 10);
	ck_assert_int_eq(tier_commit_many(c, real, K + 1, 0), 0);

	/* lookup_many: first miss at 40,000 (first chunk), per-key tiers past it. */
	for (uint32_t i = 0; i < NLOOK; i++) {
		bool p = i < 40000 || t_rand_below(&rng, 2);

		if (i == 40000)
			p = false;
		L[i] = p ? pool[t_rand_below(&rng, MPOOL)] : t_key(6, i);
		present[i] = p;
	}
	memset(tiers, 0xee, NLOOK);
	ck_assert_int_eq(tier_lookup_many(c, ns, L, NLOOK, tiers), 40000);
	for (uint32_t i = 0; i < NLOOK; i++)
		t_check_eq(tiers[i], present[i] ? TIER_HOST : TIER_NONE);
	ck_assert_int_eq(tier_lookup_many(c, ns, L, NLOOK, NULL), 40000);
	ck_assert_int_eq(tier_lookup(c, ns, L, NLOOK), 40000);
	ck_assert_int_eq(tier_lookup(sock, ns, L, NLOOK), 40000);
	ck_assert_int_eq(tier_lookup_many(sock, ns, L, NLOOK, NULL), 40000);
	/* The socket's per-key answer for a sample of them, past the miss too. */
	for (uint32_t i = 0; i < NLOOK; i += 331)
		t_check_eq(tier_lookup(sock, ns, &L[i], 1), present[i]);
	/* First miss in the second chunk: the leading counts add up across chunks. */
	L[70000] = t_key(6, 0);
	for (uint32_t i = 40000; i < 70000; i++)
		L[i] = pool[i % MPOOL];
	ck_assert_int_eq(tier_lookup_many(c, ns, L, NLOOK, tiers), 70000);
	ck_assert_int_eq(tier_lookup(c, ns, L, NLOOK), 70000);
	ck_assert_int_eq(tier_lookup(sock, ns, L, NLOOK), 70000);
	ck_assert_uint_eq(tiers[70000], TIER_NONE);
	/* Everything present: n; none present: 0 with every tier NONE. */
	ck_assert_int_eq(tier_lookup_many(c, ns, L, 70000, tiers), 70000);
	ck_assert_int_eq(tier_lookup_many(c, ns, L + 70000, 1, tiers), 0);
	ck_assert_uint_eq(tiers[0], TIER_NONE);
	ck_assert_int_eq(tier_lookup_many(c, ns, L, 0, tiers), 0);

	/* acquire_many: 50,000 leading keys (each pool block many times), then a miss. */
	for (uint32_t i = 0; i < NACQ; i++)
		L[i] = pool[(i * 7) % MPOOL];
	L[NACQ] = t_key(6, 1);
	L[NACQ + 1] = pool[0];
	ck_assert_int_eq(tier_acquire_many(c, ns, L, NACQ + 2, H), NACQ);
	for (uint32_t i = 0; i < NACQ; i++) {
		void *p = tier_data(c, H[i]);

		t_check(p != NULL);
		t_check(t_verify(p, BS, L[i]));
	}
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].pinned_blocks, MPOOL);
	/* The socket transport pins the same leading count (a smaller list: one call per key). */
	{
		tier_handle *sh = calloc(5002, sizeof(*sh));

		ck_assert_ptr_nonnull(sh);
		memcpy(&L[5000], &L[NACQ], 2 * sizeof(tier_key));
		ck_assert_int_eq(tier_acquire_many(sock, ns, L, 5002, sh), 5000);
		for (uint32_t i = 0; i < 5000; i++)
			t_check(t_verify(tier_data(sock, sh[i]), BS, L[i]));
		ck_assert_int_eq(tier_release_many(sock, sh, 5000), 5000);
		ck_assert_int_eq(tier_release_many(sock, sh, 5000), 0);
		free(sh);
	}
	/* Nothing is pinned past an absent first key. */
	ck_assert_int_eq(tier_acquire_many(c, ns, &L[5000], 2, real), 0);
	/* release_many: every pin once (spanning chunks is cheap here: 8 bytes each). */
	ck_assert_int_eq(tier_release_many(c, H, NACQ), NACQ);
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].pinned_blocks, 0);
	ck_assert_ptr_null(tier_data(c, H[0]));
	ck_assert_int_eq(tier_release_many(c, H, NACQ), 0);
	ck_assert_int_eq(tier_release_many(c, H, 0), 0);

	tier_close(sock);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
	free(pool);
	free(L);
	free(K);
	free(H);
	free(real);
	free(tiers);
	free(present);
}
END_TEST

/*
 * Small lists, each call over the ring and the socket side by side: the
 * same answers, whatever the mix of present and absent keys.
 */
START_TEST(test_many_small_same_answers)
{
	tier_client *c, *sock;
	tier_key pool[64], list[32];
	tier_handle h1[32], h2[32];
	uint64_t rng = 11;
	uint32_t ns;

	tdaemon_start(&d, "32M", NULL);
	c = t_connect(&d);
	sock = connect_socket();
	ck_assert_int_eq(tier_namespace(c, "small", BS, &ns), 0);
	for (uint32_t i = 0; i < 64; i++) {
		pool[i] = t_key(7, i);
		if (i % 2 == 0)
			put(i % 4 ? sock : c, ns, pool[i]);
	}
	for (int round = 0; round < 300; round++) {
		size_t n = (size_t)t_rand_below(&rng, 33);
		int a, b;

		for (size_t i = 0; i < n; i++)
			list[i] = pool[t_rand_below(&rng, 64) & (round % 3 ? ~1ULL : ~0ULL)];
		a = tier_lookup(c, ns, list, n);
		b = tier_lookup(sock, ns, list, n);
		t_check(a == b);
		t_check(tier_lookup_many(c, ns, list, n, NULL) == a);
		a = tier_acquire_many(c, ns, list, n, h1);
		b = tier_acquire_many(sock, ns, list, n, h2);
		t_check(a == b);
		for (int i = 0; i < a; i++) {
			t_check(t_verify(tier_data(c, h1[i]), BS, list[i]));
			t_check(tier_data(c, h1[i]) == (uint8_t *)tier_data(c, h1[i]));
		}
		t_check(tier_release_many(c, h1, (size_t)a) == a);
		t_check(tier_release_many(sock, h2, (size_t)b) == b);
	}
	tier_close(sock);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

static Suite *ring_async_suite(void)
{
	Suite *s = suite_create("ring_async");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_async_each_opcode);
	tcase_add_test(tc, test_reap_timeouts_and_bad_ops);
	tcase_add_test(tc, test_fill_drain_many_wraps);
	tcase_add_test(tc, test_many_large_vs_socket);
	tcase_add_test(tc, test_many_small_same_answers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	t_tierd_path();
	return t_run_suite(ring_async_suite());
}
