/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the block store (tierd/store.c) with the LRU policy: the
 * semantics and errors of libtier/tier.h at the store's level (handles and
 * generations, first writer wins, pins, drop of a pinned block, -ENOSPC
 * without a hang), LRU eviction order, holders going away, two namespaces of
 * different block sizes sharing the arena, private arenas (access domains),
 * deleting namespaces, the counters, and what a hostile client reaches (issue 14): pins
 * bounded per hold and per block, per-client caps, host.verify.
 *
 * The arena is 32 MiB: 16 extents, 128 blocks of 256 KiB.
 */
#include <errno.h>
#include <string.h>

#include <xxhash.h>

#include "../helpers/testutil.h"
#include "store.h"

#define MiB (1ULL << 20)
#define ARENA (32 * MiB)
#define BS (256 * 1024)      /* block size of namespace "a" */
#define CAP (ARENA / BS)     /* blocks of "a" that fit */

static struct store st;
static struct holder h1, h2;
static uint32_t ns_a;

static void setup(void)
{
	struct store_params p = {
		.arena_bytes = ARENA, .max_namespaces = 4, .evict = &tier_evict_lru, .seed = 1,
	};

	ck_assert_int_eq(store_init(&st, &p), 0);
	store_holder_init(&h1, 1);
	store_holder_init(&h2, 2);
	ck_assert_int_eq(store_ns_open(&st, "a", BS, &ns_a), 0);
}

static void teardown(void)
{
	store_holder_release_all(&st, &h1);
	store_holder_release_all(&st, &h2);
	store_deinit(&st);
}

static tier_key K(uint64_t i)
{
	return (tier_key){ .hi = 0x1000 + i, .lo = i * 0x9E3779B97F4A7C15ULL };
}

/* Alloc and commit key in ns for holder h; returns the block's offset. */
static uint64_t put(struct holder *h, uint32_t ns, tier_key key)
{
	tier_handle hd;
	uint64_t off, size;

	ck_assert_int_eq(store_alloc(&st, h, ns, &hd, &off, &size), 0);
	ck_assert_int_eq(store_commit(&st, h, hd, key, NULL), 0);
	return off;
}

static bool present(uint32_t ns, tier_key key)
{
	return index_get(&st.ns[ns].index, key) != INDEX_NONE;
}

static tier_handle acquire(struct holder *h, uint32_t ns, tier_key key, uint64_t *ret_off)
{
	tier_handle hd;
	uint64_t off, size;

	ck_assert_int_eq(store_acquire(&st, h, ns, key, false, &hd, &off, &size), 0);
	if (ret_off)
		*ret_off = off;
	return hd;
}

START_TEST(test_life_cycle)
{
	tier_handle hd, hd2;
	uint64_t off, off2, size;
	tier_key k = K(1);

	ck_assert_int_eq(store_alloc(&st, &h1, ns_a, &hd, &off, &size), 0);
	ck_assert_uint_eq(size, BS);
	ck_assert_uint_eq(off % SLAB_ALIGN, 0);
	ck_assert_uint_le(off + size, ARENA);
	ck_assert_uint_eq(st.used_bytes, BS);
	ck_assert_uint_eq(st.ready_blocks, 0);
	/* Not visible before commit. */
	ck_assert_int_eq(store_lookup(&st, &h1, ns_a, &k, 1, 0, 1, TIER_KEY_ROOT, NULL), 0);
	ck_assert_int_eq(store_acquire(&st, &h1, ns_a, k, false, &hd2, &off2, &size), -ENOENT);

	ck_assert_int_eq(store_commit(&st, &h1, hd, k, NULL), 0);
	ck_assert_uint_eq(st.ready_blocks, 1);
	ck_assert_uint_eq(st.ns[ns_a].blocks, 1);
	ck_assert_int_eq(store_lookup(&st, &h2, ns_a, &k, 1, 0, 1, TIER_KEY_ROOT, NULL), 1);

	/* Another holder acquires it: the same block, same bytes. */
	ck_assert_int_eq(store_acquire(&st, &h2, ns_a, k, false, &hd2, &off2, &size), 0);
	ck_assert_uint_eq(hd2, hd);
	ck_assert_uint_eq(off2, off);
	ck_assert_uint_eq(size, BS);
	ck_assert_uint_eq(st.pinned_blocks, 1);
	ck_assert_uint_eq(h2.pins, 1);
	ck_assert_int_eq(store_release(&st, &h2, hd2), 0);
	ck_assert_uint_eq(st.pinned_blocks, 0);
	ck_assert_uint_eq(h2.pins, 0);
	ck_assert_int_eq(store_release(&st, &h2, hd2), -EINVAL);

	ck_assert_int_eq(store_drop(&st, ns_a, k), 0);
	ck_assert_int_eq(store_lookup(&st, &h1, ns_a, &k, 1, 0, 1, TIER_KEY_ROOT, NULL), 0);
	ck_assert_uint_eq(st.used_bytes, 0);
	ck_assert_uint_eq(st.ready_blocks, 0);
	ck_assert_uint_eq(st.ns[ns_a].blocks, 0);
	/* The handle outlived its block: stale, for every call. */
	ck_assert_int_eq(store_release(&st, &h2, hd), -ESTALE);
	ck_assert_int_eq(store_commit(&st, &h1, hd, k, NULL), -ESTALE);
	ck_assert_int_eq(store_drop(&st, ns_a, k), -ENOENT);

	/* Operation counts are the session layer's (integration tests check them). */
}
END_TEST

START_TEST(test_generations)
{
	tier_handle a, b;
	uint64_t off, size;

	ck_assert_int_eq(store_alloc(&st, &h1, ns_a, &a, &off, &size), 0);
	ck_assert_uint_ne(a >> 32, 0);
	ck_assert_int_eq(store_commit(&st, &h1, a, K(1), NULL), 0);
	ck_assert_int_eq(store_drop(&st, ns_a, K(1)), 0);
	/* The freed slot is reused with a new generation. */
	ck_assert_int_eq(store_alloc(&st, &h1, ns_a, &b, &off, &size), 0);
	ck_assert_uint_eq((uint32_t)a, (uint32_t)b);
	ck_assert_uint_ne(a, b);
	ck_assert_int_eq(store_commit(&st, &h1, a, K(2), NULL), -ESTALE);
	ck_assert_int_eq(store_release(&st, &h1, a), -ESTALE);
	/* Forged handles: a slot never used, generation 0. */
	ck_assert_int_eq(store_commit(&st, &h1, ((tier_handle)1 << 32) | 4000, K(2), NULL),
			 -EINVAL);
	ck_assert_int_eq(store_commit(&st, &h1, (uint32_t)b, K(2), NULL), -EINVAL);
	ck_assert_int_eq(store_release(&st, &h1, ~(tier_handle)0), -EINVAL);
	/* The right handle still works after all that. */
	ck_assert_int_eq(store_commit(&st, &h1, b, K(2), NULL), 0);
	ck_assert(present(ns_a, K(2)));
	ck_assert(!present(ns_a, K(1)));
}
END_TEST

START_TEST(test_errors)
{
	tier_handle a, b, x;
	uint64_t off_a, off_b, off, size;

	ck_assert_int_eq(store_alloc(&st, &h1, 3, &x, &off, &size), -ENOENT);
	ck_assert_int_eq(store_alloc(&st, &h1, UINT32_MAX, &x, &off, &size), -ENOENT);
	ck_assert_int_eq(store_lookup(&st, &h1, 3, &(tier_key){ 1, 1 }, 1, 0, 1, TIER_KEY_ROOT, NULL),
			 -ENOENT);
	ck_assert_int_eq(store_acquire(&st, &h1, 3, K(1), false, &x, &off, &size), -ENOENT);
	ck_assert_int_eq(store_acquire(&st, &h1, ns_a, K(1), false, &x, &off, &size), -ENOENT);
	ck_assert_int_eq(store_drop(&st, 3, K(1)), -ENOENT);
	ck_assert_int_eq(store_drop(&st, ns_a, K(1)), -ENOENT);

	ck_assert_int_eq(store_alloc(&st, &h1, ns_a, &a, &off_a, &size), 0);
	ck_assert_int_eq(store_alloc(&st, &h2, ns_a, &b, &off_b, &size), 0);
	ck_assert_uint_ne(off_a, off_b);
	/* Only the writer commits its block; a writing block cannot be released. */
	ck_assert_int_eq(store_commit(&st, &h2, a, K(1), NULL), -EINVAL);
	ck_assert_int_eq(store_release(&st, &h1, a), -EINVAL);
	ck_assert_int_eq(store_acquire(&st, &h1, ns_a, K(1), false, &x, &off, &size), -ENOENT);
	ck_assert_int_eq(store_commit(&st, &h1, a, K(1), NULL), 0);
	/* Committed: no longer held as a writing block. */
	ck_assert_int_eq(store_commit(&st, &h1, a, K(9), NULL), -EINVAL);
	ck_assert_int_eq(store_release(&st, &h1, a), -EINVAL);

	/* Second writer of the same key loses and its block is freed. */
	ck_assert_uint_eq(st.used_bytes, 2 * BS);
	ck_assert_int_eq(store_commit(&st, &h2, b, K(1), NULL), -EEXIST);
	ck_assert_uint_eq(st.used_bytes, BS);
	ck_assert_uint_eq(st.ready_blocks, 1);
	ck_assert(!slab_is_allocated(&st.dom[0].slab, off_b));
	ck_assert_int_eq(store_commit(&st, &h2, b, K(2), NULL), -ESTALE);
	ck_assert_uint_eq(h2.holds.n, 0);
	ck_assert_int_eq(store_acquire(&st, &h2, ns_a, K(1), false, &x, &off, &size), 0);
	ck_assert_uint_eq(x, a);
	ck_assert_uint_eq(off, off_a);

	/* Releasing more pins than were taken. */
	ck_assert_int_eq(store_release(&st, &h1, x), -EINVAL); /* h1 holds no pin */
	ck_assert_int_eq(store_release(&st, &h2, x), 0);
	ck_assert_int_eq(store_release(&st, &h2, x), -EINVAL);
	ck_assert_uint_eq(st.pinned_blocks, 0);
}
END_TEST

START_TEST(test_double_acquire)
{
	tier_handle a, b;

	put(&h1, ns_a, K(1));
	a = acquire(&h1, ns_a, K(1), NULL);
	b = acquire(&h1, ns_a, K(1), NULL);
	ck_assert_uint_eq(a, b);
	ck_assert_uint_eq(st.pinned_blocks, 1);
	ck_assert_uint_eq(h1.pins, 2);
	ck_assert_uint_eq(st.blocks[(uint32_t)a].pins, 2);
	ck_assert_int_eq(store_release(&st, &h1, a), 0);
	ck_assert_uint_eq(st.pinned_blocks, 1);
	ck_assert_int_eq(store_release(&st, &h1, a), 0);
	ck_assert_uint_eq(st.pinned_blocks, 0);
	ck_assert_int_eq(store_release(&st, &h1, a), -EINVAL);
}
END_TEST

/* Everything being written: -ENOSPC, at once, and nothing is lost. */
START_TEST(test_enospc_writing)
{
	tier_handle hd[CAP], x;
	uint64_t off, size;

	for (unsigned i = 0; i < CAP; i++)
		ck_assert_int_eq(store_alloc(&st, &h1, ns_a, &hd[i], &off, &size), 0);
	ck_assert_uint_eq(st.used_bytes, ARENA);
	ck_assert_int_eq(store_alloc(&st, &h1, ns_a, &x, &off, &size), -ENOSPC);
	ck_assert_int_eq(store_alloc(&st, &h2, ns_a, &x, &off, &size), -ENOSPC);
	ck_assert_uint_eq(st.c.evictions, 0);
	/* One committed (unpinned) block can go: the next alloc evicts it. */
	ck_assert_int_eq(store_commit(&st, &h1, hd[0], K(0), NULL), 0);
	ck_assert_int_eq(store_alloc(&st, &h2, ns_a, &x, &off, &size), 0);
	ck_assert_uint_eq(st.c.evictions, 1);
	ck_assert(!present(ns_a, K(0)));
	ck_assert_int_eq(store_alloc(&st, &h2, ns_a, &x, &off, &size), -ENOSPC);
	for (unsigned i = 1; i < CAP; i++)
		ck_assert_int_eq(store_commit(&st, &h1, hd[i], K(i), NULL), 0);
	ck_assert_uint_eq(st.ready_blocks, CAP - 1);
}
END_TEST

START_TEST(test_enospc_pinned)
{
	tier_handle pins[CAP], x;
	uint64_t off, size, pinned_off[CAP];

	for (unsigned i = 0; i < CAP; i++) {
		put(&h1, ns_a, K(i));
		pins[i] = acquire(&h2, ns_a, K(i), &pinned_off[i]);
	}
	ck_assert_uint_eq(st.pinned_blocks, CAP);
	ck_assert_int_eq(store_alloc(&st, &h1, ns_a, &x, &off, &size), -ENOSPC);
	ck_assert_uint_eq(st.c.evictions, 0);
	ck_assert_uint_eq(st.ready_blocks, CAP);
	/* Unpin one: exactly that one is evicted for the next block. */
	ck_assert_int_eq(store_release(&st, &h2, pins[77]), 0);
	ck_assert_int_eq(store_alloc(&st, &h1, ns_a, &x, &off, &size), 0);
	ck_assert_uint_eq(off, pinned_off[77]);
	ck_assert_uint_eq(st.c.evictions, 1);
	ck_assert(!present(ns_a, K(77)));
	for (unsigned i = 0; i < CAP; i++)
		ck_assert(i == 77 || present(ns_a, K(i)));
}
END_TEST

/* Fill past capacity: the least recently used blocks go first. */
START_TEST(test_lru_order)
{
	tier_key touched[10];

	for (unsigned i = 0; i < CAP; i++)
		put(&h1, ns_a, K(i));
	ck_assert_uint_eq(st.c.evictions, 0);
	/* Touch k0..k9 through a lookup: they become the most recent. */
	for (unsigned i = 0; i < 10; i++)
		touched[i] = K(i);
	ck_assert_int_eq(store_lookup(&st, &h1, ns_a, touched, 10, 0, 10, TIER_KEY_ROOT, NULL), 10);
	for (unsigned i = 0; i < 20; i++)
		put(&h1, ns_a, K(1000 + i));
	ck_assert_uint_eq(st.c.evictions, 20);
	for (unsigned i = 0; i < CAP; i++)
		ck_assert_msg(present(ns_a, K(i)) == (i < 10 || i >= 30),
			      "k%u %s", i, present(ns_a, K(i)) ? "survived" : "evicted");
	for (unsigned i = 0; i < 20; i++)
		ck_assert(present(ns_a, K(1000 + i)));
	ck_assert_uint_eq(st.ready_blocks, CAP);
	ck_assert_uint_eq(st.ns[ns_a].blocks, CAP);
	ck_assert_uint_eq(st.used_bytes, ARENA);
	/* Next in line: k30. */
	put(&h1, ns_a, K(2000));
	ck_assert(!present(ns_a, K(30)));
	ck_assert(present(ns_a, K(31)));
}
END_TEST

/*
 * An acquire is an access: a block acquired (and released) by a client that
 * never called lookup becomes the most recently used and is not the next
 * victim.
 */
START_TEST(test_acquire_refreshes_lru)
{
	tier_handle hd;

	for (unsigned i = 0; i < CAP; i++)
		put(&h1, ns_a, K(i));
	hd = acquire(&h2, ns_a, K(0), NULL);
	ck_assert_int_eq(store_release(&st, &h2, hd), 0);
	ck_assert_uint_eq(st.c.hits, 1);
	ck_assert_uint_eq(st.ns[ns_a].hits, 1);
	put(&h1, ns_a, K(1000));
	ck_assert_msg(present(ns_a, K(0)), "the block just acquired was evicted");
	ck_assert(!present(ns_a, K(1)));

	/* After a lookup by the same holder, the acquire of a hit is the same access. */
	tier_key k2 = K(2);

	ck_assert_int_eq(store_lookup(&st, &h2, ns_a, &k2, 1, 0, 1, TIER_KEY_ROOT, NULL), 1);
	ck_assert_uint_eq(st.c.hits, 2);
	hd = acquire(&h2, ns_a, K(2), NULL);
	ck_assert_uint_eq(st.c.hits, 2);
	ck_assert_int_eq(store_release(&st, &h2, hd), 0);
	put(&h1, ns_a, K(1001));
	ck_assert(present(ns_a, K(2)));
	ck_assert(!present(ns_a, K(3)));
}
END_TEST

START_TEST(test_pinned_never_evicted)
{
	uint64_t pinned_off, off, size;
	tier_handle pin, hd;

	put(&h1, ns_a, K(0));
	pin = acquire(&h2, ns_a, K(0), &pinned_off);
	for (unsigned i = 1; i < CAP; i++)
		put(&h1, ns_a, K(i));
	/* k0 is the least recently used, and pinned: it must stay through churn. */
	for (unsigned i = 0; i < 3 * CAP; i++) {
		ck_assert_int_eq(store_alloc(&st, &h1, ns_a, &hd, &off, &size), 0);
		ck_assert_uint_ne(off, pinned_off);
		ck_assert_int_eq(store_commit(&st, &h1, hd, K(1000 + i), NULL), 0);
	}
	ck_assert_uint_eq(st.c.evictions, 3 * CAP);
	ck_assert(present(ns_a, K(0)));
	ck_assert_uint_eq(st.pinned_blocks, 1);
	ck_assert(slab_is_allocated(&st.dom[0].slab, pinned_off));
	/* Unpinned, it is the oldest again and goes next. */
	ck_assert_int_eq(store_release(&st, &h2, pin), 0);
	ck_assert_int_eq(store_alloc(&st, &h1, ns_a, &hd, &off, &size), 0);
	ck_assert_uint_eq(off, pinned_off);
	ck_assert(!present(ns_a, K(0)));
}
END_TEST

START_TEST(test_drop_pinned)
{
	uint64_t off, off2, size, used;
	tier_handle p1, p2, hd;
	tier_key k = K(5);

	put(&h1, ns_a, k);
	p1 = acquire(&h1, ns_a, k, &off);
	p2 = acquire(&h2, ns_a, k, NULL);
	ck_assert_int_eq(store_drop(&st, ns_a, k), 0);
	/* Gone from lookups at once... */
	ck_assert_int_eq(store_lookup(&st, &h1, ns_a, &k, 1, 0, 1, TIER_KEY_ROOT, NULL), 0);
	ck_assert_int_eq(store_acquire(&st, &h1, ns_a, k, false, &hd, &off2, &size), -ENOENT);
	ck_assert_int_eq(store_drop(&st, ns_a, k), -ENOENT);
	ck_assert_uint_eq(st.ready_blocks, 0);
	ck_assert_uint_eq(st.ns[ns_a].blocks, 0);
	/* ...but its memory stays for the pins. */
	ck_assert_uint_eq(st.pinned_blocks, 1);
	ck_assert_uint_eq(st.used_bytes, BS);
	ck_assert(slab_is_allocated(&st.dom[0].slab, off));
	/* Churn: the dropped, pinned block's bytes are never handed out. */
	for (unsigned i = 0; i < 2 * CAP; i++) {
		ck_assert_int_eq(store_alloc(&st, &h1, ns_a, &hd, &off2, &size), 0);
		ck_assert_uint_ne(off2, off);
		ck_assert_int_eq(store_commit(&st, &h1, hd, K(100 + i), NULL), 0);
	}
	/* The key can be committed anew while the old copy is still pinned. */
	ck_assert_uint_ne(put(&h2, ns_a, k), off);
	ck_assert(present(ns_a, k));
	ck_assert_int_eq(store_release(&st, &h1, p1), 0);
	ck_assert(slab_is_allocated(&st.dom[0].slab, off));
	used = st.used_bytes;
	ck_assert_int_eq(store_release(&st, &h2, p2), 0);
	/* Last pin gone: freed. */
	ck_assert_uint_eq(st.pinned_blocks, 0);
	ck_assert_uint_eq(st.used_bytes, used - BS);
	ck_assert(!slab_is_allocated(&st.dom[0].slab, off));
	ck_assert_int_eq(store_release(&st, &h2, p2), -ESTALE);
	/* The new copy is unaffected. */
	ck_assert(present(ns_a, k));
}
END_TEST

START_TEST(test_holder_release_all)
{
	tier_handle w[3], p, shared, dropped, x;
	uint64_t off, size, used0;

	for (unsigned i = 0; i < 5; i++)
		put(&h1, ns_a, K(i));
	used0 = st.used_bytes;
	for (unsigned i = 0; i < 3; i++)
		ck_assert_int_eq(store_alloc(&st, &h2, ns_a, &w[i], &off, &size), 0);
	p = acquire(&h2, ns_a, K(0), NULL);
	acquire(&h2, ns_a, K(0), NULL);
	acquire(&h2, ns_a, K(1), NULL);
	shared = acquire(&h2, ns_a, K(2), NULL);
	acquire(&h1, ns_a, K(2), NULL);
	dropped = acquire(&h2, ns_a, K(3), NULL);
	ck_assert_int_eq(store_drop(&st, ns_a, K(3)), 0);
	ck_assert_uint_eq(st.pinned_blocks, 4);
	ck_assert_uint_eq(st.used_bytes, used0 + 3 * BS);

	store_holder_release_all(&st, &h2);
	ck_assert_uint_eq(h2.pins, 0);
	/* Only h1's pin on k2 is left. */
	ck_assert_uint_eq(st.pinned_blocks, 1);
	ck_assert_uint_eq(st.blocks[(uint32_t)shared].pins, 1);
	ck_assert_uint_eq(st.blocks[(uint32_t)p].pins, 0);
	/* Writing blocks freed, and the dropped block with its last pin. */
	ck_assert_uint_eq(st.used_bytes, used0 - BS);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_int_eq(store_commit(&st, &h2, w[i], K(50 + i), NULL), -ESTALE);
	ck_assert_int_eq(store_release(&st, &h2, dropped), -ESTALE);
	/* Ready blocks stay. */
	ck_assert_uint_eq(st.ready_blocks, 4);
	ck_assert(present(ns_a, K(0)) && present(ns_a, K(1)) && present(ns_a, K(4)));
	/* The holder can be used again (a fresh one in the daemon, but it must not crash). */
	store_holder_init(&h2, 2);
	ck_assert_int_eq(store_alloc(&st, &h2, ns_a, &x, &off, &size), 0);
}
END_TEST

/*
 * Namespaces of different block sizes take slabs from each other.  Room for
 * a block comes first from its own class's victims, so a namespace takes a
 * slab from another when it has nothing of its own to evict: here, when it
 * has no blocks yet, when its blocks are all being written, or all pinned.
 */
START_TEST(test_two_namespaces)
{
	const uint64_t bs_b = 64 * 1024, per_b = SLAB_EXTENT_BYTES / bs_b;
	const uint64_t per_a = SLAB_EXTENT_BYTES / BS;
	tier_handle wb[4 * SLAB_EXTENT_BYTES / (64 * 1024)], x;
	uint64_t off, size;
	uint32_t ns_b;

	ck_assert_int_eq(store_ns_open(&st, "b", bs_b, &ns_b), 0);
	ck_assert_uint_ne(ns_b, ns_a);
	for (unsigned i = 0; i < CAP; i++)
		put(&h1, ns_a, K(i));
	ck_assert_uint_eq(st.dom[0].slab.free_extents, 0);
	/* B's first block takes A's least recently used slab, all of it. */
	ck_assert_int_eq(store_alloc(&st, &h2, ns_b, &wb[0], &off, &size), 0);
	ck_assert_uint_eq(size, bs_b);
	ck_assert_uint_eq(st.c.evictions, per_a);
	ck_assert_uint_eq(st.ns[ns_a].blocks, CAP - per_a);
	for (unsigned i = 0; i < per_a; i++)
		ck_assert(!present(ns_a, K(i)));
	ck_assert(present(ns_a, K(per_a)));
	/* Three more slabs' worth of B, all being written: each takes one A slab. */
	for (unsigned i = 1; i < 4 * per_b; i++)
		ck_assert_int_eq(store_alloc(&st, &h2, ns_b, &wb[i], &off, &size), 0);
	ck_assert_uint_eq(st.c.evictions, 4 * per_a);
	ck_assert_uint_eq(st.ns[ns_a].blocks, CAP - 4 * per_a);
	for (unsigned i = 0; i < 4 * per_a; i++)
		ck_assert(!present(ns_a, K(i)));
	for (unsigned i = 4 * per_a; i < CAP; i++)
		ck_assert(present(ns_a, K(i)));
	for (unsigned i = 0; i < 4 * per_b; i++)
		ck_assert_int_eq(store_commit(&st, &h2, wb[i], K(5000 + i), NULL), 0);
	ck_assert_uint_eq(st.ns[ns_b].blocks, 4 * per_b);
	ck_assert_uint_eq(st.used_bytes, ARENA);
	ck_assert_uint_eq(st.ready_blocks, CAP - 4 * per_a + 4 * per_b);

	/* With every A block pinned, A gets room back from B's oldest slab. */
	for (unsigned i = 4 * per_a; i < CAP; i++)
		acquire(&h2, ns_a, K(i), NULL);
	put(&h1, ns_a, K(9000));
	ck_assert_uint_eq(st.ns[ns_b].blocks, 3 * per_b);
	ck_assert_uint_eq(st.c.evictions, 4 * per_a + per_b);
	for (unsigned i = 0; i < per_b; i++)
		ck_assert(!present(ns_b, K(5000 + i)));
	for (unsigned i = per_b; i < 4 * per_b; i++)
		ck_assert(present(ns_b, K(5000 + i)));
	ck_assert(present(ns_a, K(9000)));
	for (unsigned i = 1; i < per_a; i++)
		put(&h1, ns_a, K(9000 + i)); /* the rest of A's new slab */
	ck_assert_uint_eq(st.ns[ns_b].blocks, 3 * per_b);

	/*
	 * All of A pinned, and one B block pinned in each B slab: no slab can be
	 * freed for A.  -ENOSPC, no hang, and no pinned block lost.
	 */
	for (unsigned i = 0; i < per_a; i++)
		acquire(&h2, ns_a, K(9000 + i), NULL);
	for (unsigned s = 1; s < 4; s++)
		acquire(&h2, ns_b, K(5000 + s * per_b), NULL);
	ck_assert_int_eq(store_alloc(&st, &h1, ns_a, &x, &off, &size), -ENOSPC);
	for (unsigned s = 1; s < 4; s++)
		ck_assert(present(ns_b, K(5000 + s * per_b)));
	for (unsigned i = 4 * per_a; i < CAP; i++)
		ck_assert(present(ns_a, K(i)));
	ck_assert_uint_le(st.used_bytes, ARENA);
	/* B itself still gets blocks where its slabs have room. */
	ck_assert_int_eq(store_alloc(&st, &h1, ns_b, &x, &off, &size), 0);
}
END_TEST

START_TEST(test_counters)
{
	tier_key keys[4] = { K(0), K(1), K(99), K(2) };
	tier_handle hd, x;
	uint64_t off, size;

	for (unsigned i = 0; i < 3; i++)
		put(&h1, ns_a, K(i));
	ck_assert_int_eq(store_lookup(&st, &h1, ns_a, keys, 4, 0, 4, TIER_KEY_ROOT, NULL), 2);
	/*
	 * One hit per key found; every key from the first absent one on is a
	 * miss (the caller cannot use a block without its prefix).
	 */
	ck_assert_uint_eq(st.c.hits, 2);
	ck_assert_uint_eq(st.c.misses, 2);
	ck_assert_uint_eq(st.ns[ns_a].hits, 2);
	ck_assert_uint_eq(st.ns[ns_a].misses, 2);
	ck_assert_int_eq(store_acquire(&st, &h1, ns_a, K(99), false, &x, &off, &size), -ENOENT);
	ck_assert_uint_eq(st.c.misses, 3);
	ck_assert_uint_eq(st.ns[ns_a].misses, 3);
	/* A batch that continues a list (first_pos > 0). */
	ck_assert_int_eq(store_lookup(&st, &h1, ns_a, &keys[1], 1, 1, 2, keys[0], NULL), 1);
	ck_assert_uint_eq(st.c.hits, 3);

	hd = acquire(&h2, ns_a, K(0), NULL);
	ck_assert_uint_eq(st.pinned_blocks, 1);
	ck_assert_uint_eq(st.used_bytes, 3 * BS);
	ck_assert_uint_eq(st.ready_blocks, 3);
	ck_assert_int_eq(store_release(&st, &h2, hd), 0);
	ck_assert_uint_eq(st.pinned_blocks, 0);
	ck_assert_uint_eq(st.c.evictions, 0);
	for (unsigned i = 3; i < CAP + 5; i++)
		put(&h1, ns_a, K(i));
	ck_assert_uint_eq(st.c.evictions, 5);
	ck_assert_uint_eq(st.ready_blocks, CAP);
	ck_assert_uint_eq(st.used_bytes, ARENA);
}
END_TEST

START_TEST(test_namespaces)
{
	char name[TIER_NAME_MAX + 2];
	uint32_t id, id2;

	ck_assert_uint_eq(store_max_block_size(&st), ARENA / 4);
	ck_assert_int_eq(store_ns_open(&st, "a", BS, &id), 0);
	ck_assert_uint_eq(id, ns_a);
	ck_assert_int_eq(store_ns_open(&st, "a", BS + 1, &id), -EINVAL);
	ck_assert_int_eq(store_ns_open(&st, "a", 4096, &id), -EINVAL);
	ck_assert_int_eq(store_ns_open(&st, "", 4096, &id), -EINVAL);
	ck_assert_int_eq(store_ns_open(&st, "z", 0, &id), -EINVAL);
	ck_assert_int_eq(store_ns_open(&st, "z", ARENA / 4 + 1, &id), -EINVAL);
	memset(name, 'n', sizeof(name));
	name[TIER_NAME_MAX + 1] = 0;
	ck_assert_int_eq(store_ns_open(&st, name, 4096, &id), -EINVAL);
	name[TIER_NAME_MAX] = 0;
	ck_assert_int_eq(store_ns_open(&st, name, ARENA / 4, &id), 0);
	ck_assert_int_eq(store_ns_open(&st, name, ARENA / 4, &id2), 0);
	ck_assert_uint_eq(id, id2);
	ck_assert_int_eq(store_ns_open(&st, "c", 100, &id), 0);
	ck_assert_int_eq(store_ns_open(&st, "d", 100, &id2), 0);
	ck_assert_uint_ne(id, id2);
	/* max_namespaces is 4. */
	ck_assert_int_eq(store_ns_open(&st, "e", 100, &id), -ENOSPC);
	ck_assert_int_eq(store_ns_open(&st, "c", 100, &id), 0);
	/* Two namespaces of one class keep their keys apart. */
	put(&h1, id, K(1));
	ck_assert(present(id, K(1)));
	ck_assert(!present(id2, K(1)));
}
END_TEST

/*
 * Deleting a namespace: its blocks go, its name is free at once, every
 * operation on its id is -ENOENT, and the id is reused for a new namespace
 * only once no block of it is left (a pinned one keeps it) and no session has
 * it open.  Idle namespaces (no block, nobody has them open) are forgotten.
 */
START_TEST(test_ns_delete)
{
	tier_handle hd, w;
	uint64_t off, size;
	uint32_t b, c, d, id;

	ck_assert_int_eq(store_ns_open_as(&st, "b", 4096, 1000, &b), 0);
	ck_assert_int_eq(store_ns_open(&st, "c", 4096, &c), 0);
	ck_assert_int_eq(store_ns_open(&st, "d", 4096, &d), 0);
	ck_assert_uint_eq(store_ns_count_by(&st, 1000), 1);
	ck_assert_uint_eq(store_ns_live(&st), 4);
	put(&h1, b, K(1));
	put(&h1, b, K(2));
	hd = acquire(&h2, b, K(1), NULL);                  /* a reader holds one */
	ck_assert_int_eq(store_alloc(&st, &h1, b, &w, &off, &size), 0); /* a writer another */
	ck_assert_int_eq(store_ns_delete(&st, b), 2);
	ck_assert(!store_ns_exists(&st, b));
	ck_assert_uint_eq(store_ns_count_by(&st, 1000), 0);
	ck_assert_int_eq(store_ns_find(&st, "b", &id), -ENOENT);
	ck_assert_int_eq(store_lookup(&st, &h1, b, (tier_key[]){ K(2) }, 1, 0, 1, TIER_KEY_ROOT,
				      NULL), -ENOENT);
	ck_assert_int_eq(store_alloc(&st, &h1, b, &w, &off, &size) < 0, 1);
	ck_assert_int_eq(store_ns_delete(&st, b), -ENOENT);
	ck_assert_uint_eq(st.ready_blocks, 0);
	/* The writer's commit is refused and frees its block. */
	ck_assert_int_eq(store_commit(&st, &h1, w, K(3), NULL), -ENOENT);
	/* The table is full (4) and b's tombstone still has a pinned block: no room. */
	ck_assert_int_eq(store_ns_open(&st, "e", 8192, &id), -ENOSPC);
	ck_assert_int_eq(store_release(&st, &h2, hd), 0);
	ck_assert_uint_eq(st.used_bytes, 0);
	/* Nothing refers to it now: the id goes to the new namespace, empty. */
	ck_assert_int_eq(store_ns_open(&st, "e", 8192, &id), 0);
	ck_assert_uint_eq(id, b);
	ck_assert_uint_eq(st.ns[id].blocks, 0);
	ck_assert_uint_eq(st.ns[id].creator, 0);
	ck_assert(!present(id, K(1)));
	/* The deleted name can be made again (with another size), when there is room. */
	ck_assert_int_eq(store_ns_open(&st, "b", 4096, &id), -ENOSPC);
	/* A session holds c open; d is idle; a (ns_a) holds a block. */
	put(&h1, ns_a, K(9));
	st.ns[c].opens = 1;
	ck_assert_uint_eq(store_ns_forget_idle(&st), 2); /* d and e */
	ck_assert(store_ns_exists(&st, c) && store_ns_exists(&st, ns_a));
	ck_assert(!store_ns_exists(&st, d));
	st.ns[c].opens = 0;
	ck_assert_int_eq(store_ns_open(&st, "b", 4096, &id), 0);
}
END_TEST

/*
 * A namespace with a private arena: its blocks come only from that arena, a
 * full private arena evicts only its own blocks, and a full shared arena
 * never evicts into or out of the private one.
 */
START_TEST(test_private_arena)
{
	static const struct store_arena ar[] = { { .ns = "vault", .start = ARENA + 2 * MiB,
						   .bytes = 4 * MiB } };
	struct store_params p = {
		.arena_bytes = ARENA, .max_namespaces = 4, .evict = &tier_evict_lru, .seed = 1,
		.arenas = ar, .n_arenas = 1,
	};
	uint32_t vault, cap_v = (uint32_t)(4 * MiB / BS);
	uint64_t off;

	/* The fixture's store has no private arena: this test builds its own. */
	store_deinit(&st);
	ck_assert_int_eq(store_init(&st, &p), 0);
	ck_assert_uint_eq(st.n_dom, 2);
	ck_assert_uint_eq(st.host_capacity, ARENA + 4 * MiB);
	ck_assert_uint_eq(st.span_bytes, ARENA + 6 * MiB);
	ck_assert_int_eq(store_ns_open(&st, "a", BS, &ns_a), 0);
	ck_assert_int_eq(store_ns_open(&st, "vault", BS, &vault), 0);
	ck_assert_uint_eq(st.ns[ns_a].dom, 0);
	ck_assert_uint_eq(st.ns[vault].dom, 1);
	/* A quarter of its own arena is the largest block it may have. */
	ck_assert_int_eq(store_ns_open(&st, "vault", 2 * MiB, &vault), -EINVAL);

	/* Half the shared arena for "a" (the oldest of it first in LRU order). */
	for (uint32_t i = 0; i < CAP / 2; i++) {
		off = put(&h1, ns_a, K(i));
		ck_assert_uint_lt(off + BS, ARENA + 1);
	}
	/* Twice what the vault holds: each block inside the vault's arena. */
	for (uint32_t i = 0; i < 2 * cap_v; i++) {
		off = put(&h1, vault, K(1000 + i));
		ck_assert_uint_ge(off, ar[0].start);
		ck_assert_uint_le(off + BS, ar[0].start + ar[0].bytes);
	}
	/* It evicted its own oldest blocks, not one of "a" (older in LRU order). */
	for (uint32_t i = 0; i < CAP / 2; i++)
		ck_assert(present(ns_a, K(i)));
	for (uint32_t i = 0; i < cap_v; i++)
		ck_assert(!present(vault, K(1000 + i)));
	for (uint32_t i = cap_v; i < 2 * cap_v; i++)
		ck_assert(present(vault, K(1000 + i)));
	ck_assert_uint_eq(st.dom[1].used_bytes, 4 * MiB);
	ck_assert_uint_eq(st.dom[0].used_bytes, (CAP / 2) * BS);
	ck_assert_uint_eq(st.used_bytes, 4 * MiB + (CAP / 2) * BS);
	ck_assert_uint_eq(st.ns[vault].evictions, cap_v);
	ck_assert_uint_eq(st.ns[ns_a].evictions, 0);

	/* Now fill the shared arena past full: only "a" gives way; the vault is untouched. */
	for (uint32_t i = CAP / 2; i < CAP + 8; i++) {
		off = put(&h1, ns_a, K(i));
		ck_assert_uint_lt(off, ARENA);
	}
	for (uint32_t i = cap_v; i < 2 * cap_v; i++)
		ck_assert(present(vault, K(1000 + i)));
	ck_assert_uint_eq(st.ns[ns_a].evictions, 8);
	ck_assert_uint_eq(st.ns[vault].evictions, cap_v);
	ck_assert_uint_eq(st.dom[1].used_bytes, 4 * MiB);

	/* A vault block pinned in every slot: its next allocation has no room, "a" still does. */
	{
		tier_handle hd[16], x;
		uint64_t size;

		for (uint32_t i = 0; i < cap_v; i++)
			hd[i] = acquire(&h2, vault, K(1000 + cap_v + i), NULL);
		ck_assert_int_eq(store_alloc(&st, &h1, vault, &x, &off, &size), -ENOSPC);
		put(&h1, ns_a, K(5000));
		for (uint32_t i = 0; i < cap_v; i++)
			ck_assert_int_eq(store_release(&st, &h2, hd[i]), 0);
	}
}
END_TEST

/*
 * Issue 14 item 3: a pin count never reaches the writing marker.  One
 * holder's pins of one block stop at STORE_HOLD_PINS_MAX (-EOVERFLOW, far
 * below HOLD_WRITING), and its disconnect then unpins and frees nothing the
 * index points to.  Without the bound the count went on to 0x80000000 (2^31
 * acquires) and read as "writing".
 */
START_TEST(test_pin_bound_per_hold)
{
	tier_handle hd;
	uint64_t off, size;
	uint32_t slot, gen;

	put(&h1, ns_a, K(0));
	slot = index_get(&st.ns[ns_a].index, K(0));
	gen = st.blocks[slot].gen;
	for (uint32_t i = 0; i < STORE_HOLD_PINS_MAX; i++)
		ck_assert_int_eq(store_acquire(&st, &h2, ns_a, K(0), false, &hd, &off, &size), 0);
	ck_assert_int_eq(store_acquire(&st, &h2, ns_a, K(0), false, &hd, &off, &size),
			 -EOVERFLOW);
	ck_assert_uint_eq(*u32map_get(&h2.holds, slot), STORE_HOLD_PINS_MAX);
	ck_assert_uint_eq(st.blocks[slot].pins, STORE_HOLD_PINS_MAX);
	/* Another holder still may; the refused one released a pin may again. */
	acquire(&h1, ns_a, K(0), NULL);
	ck_assert_int_eq(store_release(&st, &h2, hd), 0);
	ck_assert_int_eq(store_acquire(&st, &h2, ns_a, K(0), false, &hd, &off, &size), 0);

	store_holder_release_all(&st, &h2);
	/* The block is READY, indexed, same generation, h1's pin alone on it. */
	ck_assert(present(ns_a, K(0)));
	ck_assert_uint_eq(st.blocks[slot].state, BLOCK_READY);
	ck_assert_uint_eq(st.blocks[slot].gen, gen);
	ck_assert_uint_eq(st.blocks[slot].pins, 1);
	ck_assert_uint_eq(st.ready_blocks, 1);
	store_holder_init(&h2, 2);
}
END_TEST

/* All holders' pins of one block stop at STORE_BLOCK_PINS_MAX; nothing wraps. */
START_TEST(test_pin_bound_per_block)
{
	enum { N = STORE_BLOCK_PINS_MAX / STORE_HOLD_PINS_MAX };
	static struct holder hs[N + 1];
	tier_handle hd;
	uint64_t off, size;
	uint32_t slot;

	put(&h1, ns_a, K(0));
	slot = index_get(&st.ns[ns_a].index, K(0));
	for (uint32_t j = 0; j < N; j++) {
		store_holder_init(&hs[j], 100 + j);
		for (uint32_t i = 0; i < STORE_HOLD_PINS_MAX; i++)
			ck_assert_int_eq(
				store_acquire(&st, &hs[j], ns_a, K(0), false, &hd, &off, &size), 0);
	}
	ck_assert_uint_eq(st.blocks[slot].pins, STORE_BLOCK_PINS_MAX);
	store_holder_init(&hs[N], 100 + N);
	ck_assert_int_eq(store_acquire(&st, &hs[N], ns_a, K(0), false, &hd, &off, &size),
			 -EOVERFLOW);
	ck_assert_int_eq(store_acquire_many(&st, &hs[N], ns_a, &(tier_key){ K(0).hi, K(0).lo },
					    1, false, &hd, &off),
			 -EOVERFLOW);
	for (uint32_t j = 0; j <= N; j++)
		store_holder_release_all(&st, &hs[j]);
	ck_assert_uint_eq(st.blocks[slot].pins, 0);
	ck_assert_uint_eq(st.pinned_blocks, 0);
	ck_assert(present(ns_a, K(0)));
}
END_TEST

/*
 * A holder's release frees a slot only while it is that holder's unfinished
 * write.  A WRITING mark on a READY block (what a wrapped pin count used to
 * look like) or on another holder's write frees nothing.
 */
START_TEST(test_release_frees_only_own_write)
{
	tier_handle w;
	uint64_t off, size, used;
	uint32_t ready, other;

	put(&h1, ns_a, K(0));
	ready = index_get(&st.ns[ns_a].index, K(0));
	ck_assert_int_eq(store_alloc(&st, &h1, ns_a, &w, &off, &size), 0);
	other = (uint32_t)w;
	*u32map_upsert(&h2.holds, ready) = HOLD_WRITING;
	*u32map_upsert(&h2.holds, other) = HOLD_WRITING;
	used = st.used_bytes;
	store_holder_release_all(&st, &h2);
	ck_assert(present(ns_a, K(0)));
	ck_assert_uint_eq(st.blocks[ready].state, BLOCK_READY);
	ck_assert_uint_eq(st.blocks[other].state, BLOCK_WRITING);
	ck_assert_uint_eq(st.used_bytes, used);
	/* h2 cannot commit h1's block either; h1 can. */
	store_holder_init(&h2, 2);
	*u32map_upsert(&h2.holds, other) = HOLD_WRITING;
	ck_assert_int_eq(store_commit(&st, &h2, w, K(1), NULL), -EINVAL);
	store_holder_release_all(&st, &h2);
	store_holder_init(&h2, 2);
	ck_assert_int_eq(store_commit(&st, &h1, w, K(1), NULL), 0);
	ck_assert(present(ns_a, K(1)));
}
END_TEST

/* Issue 14 item 6: per-client caps on unfinished blocks and on pinned bytes. */
START_TEST(test_client_caps)
{
	tier_handle w[4], hd, p1;
	uint64_t off, size;

	store_set_client_caps(&st, 3, 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(store_alloc(&st, &h1, ns_a, &w[i], &off, &size), 0);
	ck_assert_int_eq(store_alloc(&st, &h1, ns_a, &w[3], &off, &size), -EDQUOT);
	ck_assert_uint_eq(st.c.refused_caps, 1);
	/* Another client is not affected; a commit makes room again. */
	ck_assert_int_eq(store_alloc(&st, &h2, ns_a, &hd, &off, &size), 0);
	ck_assert_int_eq(store_commit(&st, &h2, hd, K(9), NULL), 0);
	ck_assert_int_eq(store_commit(&st, &h1, w[0], K(0), NULL), 0);
	ck_assert_int_eq(store_alloc(&st, &h1, ns_a, &w[3], &off, &size), 0);
	store_holder_release_all(&st, &h1);
	store_holder_init(&h1, 1);
	ck_assert_uint_eq(h1.writing, 0);

	/* Bytes: two blocks of BS, each counted once however often pinned. */
	store_set_client_caps(&st, 0, 2 * BS);
	put(&h2, ns_a, K(1));
	put(&h2, ns_a, K(2));
	acquire(&h1, ns_a, K(0), NULL);
	acquire(&h1, ns_a, K(0), NULL);
	p1 = acquire(&h1, ns_a, K(1), NULL);
	ck_assert_uint_eq(h1.pinned_bytes, 2 * BS);
	ck_assert_int_eq(store_acquire(&st, &h1, ns_a, K(2), false, &hd, &off, &size), -EDQUOT);
	ck_assert_int_eq(store_alloc(&st, &h1, ns_a, &hd, &off, &size), -EDQUOT);
	acquire(&h1, ns_a, K(1), NULL); /* already pinned: no new bytes */
	acquire(&h2, ns_a, K(2), NULL); /* h2 is under its own cap */
	/* A batch stops at the cap and returns what it pinned. */
	{
		tier_key ks[2] = { K(0), K(2) };
		tier_handle hs[2];
		uint64_t offs[2];

		ck_assert_int_eq(store_acquire_many(&st, &h1, ns_a, ks, 2, false, hs, offs), 1);
		ck_assert_int_eq(store_release(&st, &h1, hs[0]), 0);
	}
	ck_assert_int_eq(store_release(&st, &h1, p1), 0);
	ck_assert_uint_eq(h1.pinned_bytes, 2 * BS); /* K(1) still pinned once */
	ck_assert_int_eq(store_release(&st, &h1, p1), 0);
	ck_assert_uint_eq(h1.pinned_bytes, BS);
	acquire(&h1, ns_a, K(2), NULL);
	store_holder_release_all(&st, &h1);
	ck_assert_uint_eq(h1.pinned_bytes, 0);
	store_holder_init(&h1, 1);
}
END_TEST

/*
 * Issue 14 item 2 (host.verify): a block whose bytes changed after commit is
 * never served: its acquire is a miss and it leaves the index.  A pin taken
 * before the change stays valid and its release frees the block.
 */
START_TEST(test_verify)
{
	static uint8_t arena[ARENA];
	struct store_params p = { .arena_bytes = ARENA, .max_namespaces = 4, .arena = arena,
				  .evict = &tier_evict_lru, .seed = 1, .verify = true };
	struct store vs;
	struct holder a, b;
	tier_handle w, hd, held;
	uint64_t off, o2, size;
	uint32_t ns;

	ck_assert_int_eq(store_init(&vs, &p), 0);
	store_holder_init(&a, 1);
	store_holder_init(&b, 2);
	ck_assert_int_eq(store_ns_open(&vs, "v", BS, &ns), 0);
	ck_assert_int_eq(store_alloc(&vs, &a, ns, &w, &off, &size), 0);
	memset(arena + off, 0x5a, BS);
	ck_assert_int_eq(store_commit(&vs, &a, w, K(0), NULL), 0);
	ck_assert_int_eq(store_acquire(&vs, &b, ns, K(0), false, &held, &o2, &size), 0);
	ck_assert_uint_eq(o2, off);
	/* Another client rewrites one byte of the committed block. */
	arena[off + BS / 2] ^= 1;
	ck_assert_int_eq(store_acquire(&vs, &a, ns, K(0), false, &hd, &o2, &size), -ENOENT);
	ck_assert_uint_eq(vs.c.verify_failures, 1);
	ck_assert_uint_eq(index_get(&vs.ns[ns].index, K(0)), INDEX_NONE);
	ck_assert_int_eq(store_release(&vs, &b, held), 0);
	ck_assert_uint_eq(vs.used_bytes, 0);
	/* The key can be written again, and an intact block is served. */
	ck_assert_int_eq(store_alloc(&vs, &a, ns, &w, &off, &size), 0);
	memset(arena + off, 0x33, BS);
	ck_assert_int_eq(store_commit(&vs, &a, w, K(0), NULL), 0);
	ck_assert_int_eq(store_acquire(&vs, &b, ns, K(0), false, &hd, &o2, &size), 0);
	store_holder_release_all(&vs, &a);
	store_holder_release_all(&vs, &b);
	store_deinit(&vs);
}
END_TEST

/* NVMe writes test_verify_flush asks for: refused while wb_refuse, else recorded. */
static int wb_refuse, wb_count;
static uint64_t wb_csum;

static int wb_write(void *ctx, tier_handle h, uint32_t dev, uint64_t dev_off,
		    const struct nv_hdr *hdr, uint64_t host_off, uint64_t len)
{
	(void)ctx, (void)h, (void)dev, (void)dev_off, (void)host_off, (void)len;
	if (wb_refuse)
		return -EAGAIN;
	wb_count++;
	wb_csum = hdr->data_csum;
	return 0;
}

/*
 * host.verify at writeback: a block changed since commit is dropped, not
 * written; an intact one is written with its commit-time checksum.  A flush
 * whose last waiting block is dropped so is done (0), not -ENOSPC.
 */
START_TEST(test_verify_flush)
{
	static uint8_t arena[ARENA];
	struct store_params p = {
		.arena_bytes = ARENA, .max_namespaces = 4, .arena = arena,
		.evict = &tier_evict_lru, .seed = 1, .verify = true,
		.nv_devs = 1, .nv_dev_bytes = 64 * MiB, .nv_evict = &tier_evict_lru,
		.nv_admit = &tier_admit_all, .nv_demote_max = 8, .high_pct = 90, .low_pct = 80,
		.io = { .write_block = wb_write },
	};
	struct store vs;
	struct holder a;
	tier_handle w;
	uint64_t off[2], size, epoch;
	uint32_t ns;

	ck_assert_int_eq(store_init(&vs, &p), 0);
	store_holder_init(&a, 1);
	ck_assert_int_eq(store_ns_open(&vs, "v", BS, &ns), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(store_alloc(&vs, &a, ns, &w, &off[i], &size), 0);
		memset(arena + off[i], 0x40 + i, BS);
		ck_assert_int_eq(store_commit(&vs, &a, w, K(i), NULL), 0);
	}
	/* Block 0 is changed before its writeback: not written, dropped. */
	arena[off[0]] ^= 0xff;
	ck_assert_int_eq(store_flush_start(&vs, ns, &epoch), 0);
	ck_assert_int_eq(wb_count, 1);
	ck_assert_uint_eq(wb_csum, XXH3_64bits(arena + off[1], BS));
	ck_assert_uint_eq(vs.c.verify_failures, 1);
	ck_assert_uint_eq(index_get(&vs.ns[ns].index, K(0)), INDEX_NONE);
	store_write_done(&vs, (tier_handle)w, 0);
	ck_assert(!store_flush_pending(&vs, ns, epoch));

	/* A block whose writeback could not start, changed before the flush's next kick. */
	ck_assert_int_eq(store_alloc(&vs, &a, ns, &w, &off[0], &size), 0);
	memset(arena + off[0], 0x55, BS);
	ck_assert_int_eq(store_commit(&vs, &a, w, K(5), NULL), 0);
	wb_refuse = 1;
	ck_assert_int_eq(store_flush_start(&vs, ns, &epoch), 0);
	ck_assert(store_flush_pending(&vs, ns, epoch));
	arena[off[0] + 7] ^= 1;
	wb_refuse = 0;
	ck_assert_int_eq(store_flush_kick(&vs, ns, epoch), 0);
	ck_assert_int_eq(wb_count, 1);
	ck_assert_uint_eq(vs.c.verify_failures, 2);
	store_holder_release_all(&vs, &a);
	store_deinit(&vs);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_life_cycle);
	tcase_add_test(tc, test_generations);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_double_acquire);
	tcase_add_test(tc, test_enospc_writing);
	tcase_add_test(tc, test_enospc_pinned);
	tcase_add_test(tc, test_lru_order);
	tcase_add_test(tc, test_acquire_refreshes_lru);
	tcase_add_test(tc, test_pinned_never_evicted);
	tcase_add_test(tc, test_drop_pinned);
	tcase_add_test(tc, test_holder_release_all);
	tcase_add_test(tc, test_two_namespaces);
	tcase_add_test(tc, test_counters);
	tcase_add_test(tc, test_namespaces);
	tcase_add_test(tc, test_ns_delete);
	tcase_add_test(tc, test_private_arena);
	tcase_add_test(tc, test_pin_bound_per_hold);
	tcase_add_test(tc, test_pin_bound_per_block);
	tcase_add_test(tc, test_release_frees_only_own_write);
	tcase_add_test(tc, test_client_caps);
	tcase_add_test(tc, test_verify);
	tcase_add_test(tc, test_verify_flush);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(store_suite());
}
