/* SPDX-License-Identifier: MIT */
/*
 * Eviction policies: a hand-made access sequence with a known victim order
 * for each policy, that pick_victim skips slots the caller cannot evict, and
 * invariants every registered policy must keep (a victim is resident and
 * evictable; nothing evictable gives TIER_SLOT_NONE).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define MAXS 64

struct env {
	const struct tier_evict_ops *ops;
	void *st;
	uint64_t now;
	bool in[MAXS];
	bool blocked[MAXS];
	uint64_t key[MAXS]; /* hz_request: the key each resident slot holds */
};

static bool ev_ok(void *arg, uint32_t s)
{
	struct env *e = arg;

	return !e->blocked[s];
}

static void env_init(struct env *e, const char *name, uint32_t cap)
{
	struct tier_policy_params p = {.max_slots = MAXS, .capacity = cap};

	memset(e, 0, sizeof(*e));
	e->ops = tier_evict_find(name);
	ck_assert_msg(e->ops, "policy %s not registered", name);
	ck_assert_int_eq(e->ops->create(&p, &e->st), 0);
}

static struct tier_access acc(struct env *e, uint32_t s, uint32_t parent)
{
	struct tier_access a = {
		.key = 1000 + s,
		.parent_key = parent == TIER_SLOT_NONE ? 0 : 1000 + parent,
		.parent = parent,
		.pos = parent == TIER_SLOT_NONE ? 0 : 1,
		.req_len = 4,
		.now = ++e->now,
	};
	return a;
}

static void ins(struct env *e, uint32_t s)
{
	struct tier_access a = acc(e, s, TIER_SLOT_NONE);

	e->ops->insert(e->st, s, &a);
	e->in[s] = true;
}

static void ins_child(struct env *e, uint32_t s, uint32_t parent)
{
	struct tier_access a = acc(e, s, parent);

	e->ops->insert(e->st, s, &a);
	e->in[s] = true;
}

static void hit(struct env *e, uint32_t s)
{
	struct tier_access a = acc(e, s, TIER_SLOT_NONE);

	e->ops->access(e->st, s, &a);
}

/* pick a victim, check it is valid, remove it, return it */
static uint32_t evict(struct env *e)
{
	uint32_t v = e->ops->pick_victim(e->st, ev_ok, e);

	if (v == TIER_SLOT_NONE)
		return v;
	ck_assert_uint_lt(v, MAXS);
	ck_assert_msg(e->in[v], "%s: victim %u is not resident", e->ops->name, v);
	ck_assert_msg(!e->blocked[v], "%s: victim %u is not evictable", e->ops->name, v);
	e->ops->remove(e->st, v);
	e->in[v] = false;
	return v;
}

static void env_done(struct env *e)
{
	e->ops->destroy(e->st);
}

/*
 * LRU, and survival before it has statistics (every block alike, so the
 * older request goes first; with fewer blocks than it samples it looks at
 * all of them).
 */
static const char *const lru_like[] = {"lru", "survival"};

START_TEST(lru_order)
{
	struct env e;

	env_init(&e, lru_like[_i], 4);
	for (uint32_t s = 0; s < 4; s++)
		ins(&e, s);
	hit(&e, 0);
	e.blocked[1] = true;
	ck_assert_uint_eq(evict(&e), 2);
	e.blocked[1] = false;
	ck_assert_uint_eq(evict(&e), 1);
	ck_assert_uint_eq(evict(&e), 3);
	ck_assert_uint_eq(evict(&e), 0);
	ck_assert_uint_eq(evict(&e), TIER_SLOT_NONE);
	env_done(&e);
}
END_TEST

START_TEST(clock_order)
{
	struct env e;

	env_init(&e, "clock", 4);
	for (uint32_t s = 0; s < 4; s++)
		ins(&e, s);
	hit(&e, 0);
	hit(&e, 2);
	/* 0 gets a second chance, 1 is the first unreferenced */
	ck_assert_uint_eq(evict(&e), 1);
	/* 2 referenced, 3 not */
	e.blocked[3] = true;
	/* 3 blocked: the hand passes it; 0 and 2 lost their bits on the first sweep */
	ck_assert_uint_eq(evict(&e), 0);
	e.blocked[3] = false;
	ck_assert_uint_eq(evict(&e), 2);
	ck_assert_uint_eq(evict(&e), 3);
	env_done(&e);
}
END_TEST

START_TEST(sieve_order)
{
	struct env e;

	env_init(&e, "sieve", 4);
	for (uint32_t s = 0; s < 4; s++)
		ins(&e, s);
	hit(&e, 0);
	hit(&e, 2);
	ck_assert_uint_eq(evict(&e), 1); /* 0 visited: bit cleared, kept in place */
	ck_assert_uint_eq(evict(&e), 3); /* hand: 2 visited (cleared), 3 not */
	ins(&e, 4);                       /* new blocks enter at the head */
	/* the hand had passed the head, so it wraps to the tail: 0, cleared earlier */
	ck_assert_uint_eq(evict(&e), 0);
	ck_assert_uint_eq(evict(&e), 2);
	ck_assert_uint_eq(evict(&e), 4);
	env_done(&e);
}
END_TEST

START_TEST(s3fifo_order)
{
	struct env e;

	env_init(&e, "s3fifo", 10); /* small FIFO holds 1 */
	for (uint32_t s = 0; s < 4; s++)
		ins(&e, s);
	hit(&e, 0);
	/* 0 was hit in S: promoted to M; 1 is the oldest unhit in S */
	ck_assert_uint_eq(evict(&e), 1);
	e.blocked[2] = true;
	ck_assert_uint_eq(evict(&e), 3);
	e.blocked[2] = false;
	ck_assert_uint_eq(evict(&e), 2);
	/* 1 comes back: its key is in the ghost, it goes to M behind 0 */
	ins(&e, 1);
	ck_assert_uint_eq(evict(&e), 0); /* M: 0 had its hit consumed on promotion */
	ck_assert_uint_eq(evict(&e), 1);
	env_done(&e);
}
END_TEST

START_TEST(wtinylfu_order)
{
	struct env e;

	env_init(&e, "wtinylfu", 100); /* window 1, main 99 */
	for (uint32_t s = 0; s < 3; s++)
		ins(&e, s);
	/* the window spills 0 and 1 into probation; 0 is main's oldest */
	ck_assert_uint_eq(evict(&e), 0);
	hit(&e, 1); /* probation -> protected */
	ins(&e, 3);
	/* the window spills 2 into probation (main has room); it is main's oldest */
	e.blocked[1] = true;
	ck_assert_uint_eq(evict(&e), 2);
	e.blocked[1] = false;
	ck_assert_uint_eq(evict(&e), 1);
	ck_assert_uint_eq(evict(&e), 3);
	env_done(&e);
}
END_TEST

START_TEST(chain_order)
{
	struct env e;

	env_init(&e, "chain", 8);
	for (uint32_t s = 0; s < 4; s++)
		ins(&e, s);
	hit(&e, 0);
	/* before any statistics: oldest unused first */
	ck_assert_uint_eq(evict(&e), 1);
	/* a leaf goes before its (slightly older) parent */
	ins(&e, 5);
	ins_child(&e, 6, 5);
	ins(&e, 7);
	hit(&e, 0);
	hit(&e, 2);
	hit(&e, 3);
	hit(&e, 7);
	ck_assert_uint_eq(evict(&e), 6);
	ck_assert_uint_eq(evict(&e), 5);
	e.blocked[0] = true;
	ck_assert_uint_eq(evict(&e), 2);
	env_done(&e);
}
END_TEST

/*
 * horizon: requests replayed as tiersim and the daemon present them (pos,
 * req_len, leading hits, parent slot when cached).  keys[i] == 0 means the
 * key 1000 + slot; a slot holding another key is dropped and refilled.
 * Returns the number of hits.
 */
static unsigned hz_request(struct env *e, const uint32_t *slots, const uint64_t *keys, uint32_t n,
			   bool partial_last, uint32_t cap)
{
	uint32_t ph = 0, hits = 0;
	bool prefix = true;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t s = slots[i];
		struct tier_access a = {
			.key = keys && keys[i] ? keys[i] : 1000 + s,
			.parent = (i && e->in[slots[i - 1]]) ? slots[i - 1] : TIER_SLOT_NONE,
			.pos = i,
			.req_len = n,
			.prefix_hits = ph,
			.now = ++e->now,
			.flags = (partial_last && i == n - 1) ? TIER_ACC_PARTIAL : 0,
		};

		if (e->in[s] && e->key[s] == a.key) {
			hits++;
			if (prefix)
				ph++;
			e->ops->access(e->st, s, &a);
			continue;
		}
		if (e->in[s]) {
			/* the slot is reused for another key: the old block is dropped */
			e->ops->remove(e->st, s);
			e->in[s] = false;
		}
		prefix = false;
		for (uint32_t used = 0;;) {
			used = 0;
			for (uint32_t j = 0; j < MAXS; j++)
				used += e->in[j];
			if (used < cap)
				break;
			ck_assert_uint_ne(evict(e), TIER_SLOT_NONE);
		}
		e->ops->insert(e->st, s, &a);
		e->in[s] = true;
		e->key[s] = a.key;
	}
	return hits;
}

START_TEST(horizon_leaf_first)
{
	static const uint32_t ra[] = {0, 1, 2, 3}, rb[] = {0, 4, 5};
	struct env e;

	env_init(&e, "horizon", 32);
	hz_request(&e, ra, NULL, 4, false, 32);
	ck_assert_uint_eq(hz_request(&e, rb, NULL, 3, false, 32), 1);
	/*
	 * No statistics yet: every class alike, so the older request goes
	 * first, each chain from its leaf toward its head (LRU would take 1,
	 * 2, 3, then 0, 4, 5).  Block 0, re-read by the second request, ages
	 * with it and goes after that request's own blocks.
	 */
	e.blocked[3] = true; /* a pinned leaf is passed over, its parent goes */
	ck_assert_uint_eq(evict(&e), 2);
	e.blocked[3] = false;
	ck_assert_uint_eq(evict(&e), 3);
	ck_assert_uint_eq(evict(&e), 1);
	ck_assert_uint_eq(evict(&e), 5);
	ck_assert_uint_eq(evict(&e), 4);
	e.blocked[0] = true;
	ck_assert_uint_eq(evict(&e), TIER_SLOT_NONE);
	e.blocked[0] = false;
	ck_assert_uint_eq(evict(&e), 0);
	ck_assert_uint_eq(evict(&e), TIER_SLOT_NONE);
	env_done(&e);
}
END_TEST

/*
 * The learning policies find a dead class.  Conversations (slots 1..8) come
 * back every 8 requests; every request ends with a partial block under a
 * fresh key (slots 20..49), never seen again.  After a few refits the
 * partial class has a reuse probability near 0, so a partial block is
 * evicted although full blocks are older, and the conversations all hit.
 * (survival learns from keys with their top bits clear: 1000 + slot and
 * 100000 + r all are.)
 */
static const char *const learning[] = {"horizon", "survival"};

START_TEST(learns_dead_class)
{
	struct env e;
	uint32_t slots[3];
	uint64_t keys[3];

	env_init(&e, learning[_i], 16);
	for (uint32_t r = 0; r < 3000; r++) {
		slots[0] = 0;
		slots[1] = 1 + r % 8;
		slots[2] = 20 + r % 30;
		keys[0] = keys[1] = 0;
		keys[2] = 100000 + r;
		hz_request(&e, slots, keys, 3, true, 16);
	}
	ck_assert_uint_ge(evict(&e), 20);
	for (uint32_t r = 3000; r < 3008; r++)
		ck_assert_uint_eq(hz_request(&e, (uint32_t[]){0, 1 + r % 8}, NULL, 2, false, 16), 2);
	env_done(&e);
}
END_TEST

/*
 * survival classes a new block by how often the block it extends was used.
 * A conversation re-reads its previous turn's block (pos 0) and appends one
 * (slots 1, 2 in turn), which the next turn re-reads; between turns come
 * three one-off requests of a single new block (slots 10..39), never seen
 * again.  Both kinds of new block have been used 0 times; only the block they
 * extend tells them apart.  After learning, the newest turn's block outlives
 * six evictions although five resident blocks are younger (LRU would take it
 * fifth), and the next turn finds it.
 */
START_TEST(survival_new_block_by_parent)
{
	struct env e;
	uint32_t r, conv = 0;

	env_init(&e, "survival", 8);
	for (r = 1; r < 3000; r++) {
		conv = 1 + r % 2;
		hz_request(&e, (uint32_t[]){1 + (r - 1) % 2, conv},
			   (uint64_t[]){200000 + r - 1, 200000 + r}, 2, false, 8);
		for (uint32_t j = 0; j < 3; j++)
			hz_request(&e, (uint32_t[]){10 + (3 * r + j) % 30},
				   (uint64_t[]){300000 + 3 * r + j}, 1, false, 8);
	}
	for (int i = 0; i < 6; i++)
		ck_assert_uint_ne(evict(&e), conv);
	ck_assert(e.in[conv]);
	ck_assert_uint_eq(hz_request(&e, (uint32_t[]){conv, 1 + r % 2},
				     (uint64_t[]){200000 + r - 1, 200000 + r}, 2, false, 8),
			  1);
	env_done(&e);
}
END_TEST

/*
 * survival ranks by reuses per unit of time held, not by the chance of a
 * reuse alone.  Two kinds of one-block request, each with a fresh key:
 * partial blocks (slots 10..13), every other one read again two requests
 * later (chance 1/2, soon), and full blocks (slots 20..51), every one read
 * again 20 rounds later (chance 1, late).  The shadow follows both whatever
 * the cache holds.  Then a fresh partial block and, after it, a fresh full
 * one: the full block goes first, although it is the more likely to come
 * back and the younger (ranking by the chance of a reuse, or by age, takes
 * the partial block first; measured with the former).
 */
START_TEST(survival_soon_before_sure)
{
	struct env e;
	uint32_t r;
	uint64_t k;

	env_init(&e, "survival", 8);
	for (r = 0; r < 3000; r++) {
		hz_request(&e, (uint32_t[]){10 + r % 4}, (uint64_t[]){400000 + r}, 1, true, 8);
		hz_request(&e, (uint32_t[]){20 + r % 32}, (uint64_t[]){500000 + r}, 1, false, 8);
		if (r && (r - 1) % 2 == 0)
			hz_request(&e, (uint32_t[]){10 + (r - 1) % 4}, (uint64_t[]){400000 + r - 1},
				   1, true, 8);
		if (r >= 20)
			hz_request(&e, (uint32_t[]){20 + (r - 20) % 32},
				   (uint64_t[]){500000 + r - 20}, 1, false, 8);
	}
	k = 400000 + r;
	hz_request(&e, (uint32_t[]){14}, &k, 1, true, 8);
	k = 500000 + r;
	hz_request(&e, (uint32_t[]){52}, &k, 1, false, 8);
	while (e.in[14] && e.in[52])
		ck_assert_uint_ne(evict(&e), TIER_SLOT_NONE);
	ck_assert_msg(e.in[14], "the soon-but-unsure partial block went before the late one");
	env_done(&e);
}
END_TEST

/*
 * survival evicts a chain from its tail: the block it chooses is replaced by
 * the deepest block below it along the last-child links (an engine's prefix
 * lookup stops at the first missing block, so a head evicted before its tail
 * wastes the tail).  No statistics yet: the older request goes first.
 */
START_TEST(survival_tail_first)
{
	static const uint32_t ra[] = {0, 1, 2, 3}, rb[] = {0, 4, 5}, rc[] = {6, 7, 8};
	static const uint32_t order[] = {3, 2, 1, 5, 4, 0};
	struct env e;

	env_init(&e, "survival", 32);
	hz_request(&e, ra, NULL, 4, false, 32);
	ck_assert_uint_eq(hz_request(&e, rb, NULL, 3, false, 32), 1);
	for (unsigned i = 0; i < 6; i++)
		ck_assert_uint_eq(evict(&e), order[i]);
	ck_assert_uint_eq(evict(&e), TIER_SLOT_NONE);
	/* A pinned tail is passed over: the block above it goes. */
	hz_request(&e, rc, NULL, 3, false, 32);
	e.blocked[8] = true;
	ck_assert_uint_eq(evict(&e), 7);
	e.blocked[8] = false;
	while (evict(&e) != TIER_SLOT_NONE)
		;
	env_done(&e);
}
END_TEST

/* Every registered policy: random operations keep the contract. */
START_TEST(contract)
{
	size_t n;
	const struct tier_evict_ops *const *l = tier_evict_list(&n);
	struct env e;
	uint32_t resident = 0, r = 12345;

	ck_assert_uint_lt((size_t)_i, n);
	env_init(&e, l[_i]->name, 16);
	ck_assert_ptr_nonnull(l[_i]->summary);
	ck_assert_uint_gt(l[_i]->bytes_per_block, 0);
	for (int step = 0; step < 5000; step++) {
		uint32_t s;

		r = r * 1103515245u + 12345u;
		s = (r >> 16) % 40;
		e.blocked[(r >> 8) % 40] = ((r >> 4) & 7) == 0;
		if (e.in[s]) {
			hit(&e, s);
			continue;
		}
		while (resident >= 16) {
			uint32_t v = evict(&e);

			if (v == TIER_SLOT_NONE)
				break;
			resident--;
		}
		if (resident < 16) {
			ins(&e, s);
			resident++;
		}
	}
	/* nothing evictable: NONE */
	for (uint32_t s = 0; s < MAXS; s++)
		e.blocked[s] = true;
	ck_assert_uint_eq(e.ops->pick_victim(e.st, ev_ok, &e), TIER_SLOT_NONE);
	/* drain */
	memset(e.blocked, 0, sizeof(e.blocked));
	while (evict(&e) != TIER_SLOT_NONE)
		resident--;
	ck_assert_uint_eq(resident, 0);
	env_done(&e);
}
END_TEST

START_TEST(registry)
{
	size_t n;
	const struct tier_evict_ops *const *l = tier_evict_list(&n);

	ck_assert_ptr_nonnull(tier_evict_find(TIER_EVICT_DEFAULT));
	ck_assert_ptr_nonnull(tier_evict_find("lru"));
	ck_assert_ptr_null(tier_evict_find("nope"));
	ck_assert_ptr_null(tier_evict_find(NULL));
	for (size_t i = 0; i < n; i++)
		ck_assert_ptr_eq(tier_evict_find(l[i]->name), l[i]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy_evict");
	TCase *tc = tcase_create("evict");
	size_t n;
	SRunner *sr;
	int failed;

	tier_evict_list(&n);
	tcase_add_loop_test(tc, lru_order, 0, 2);
	tcase_add_test(tc, clock_order);
	tcase_add_test(tc, sieve_order);
	tcase_add_test(tc, s3fifo_order);
	tcase_add_test(tc, wtinylfu_order);
	tcase_add_test(tc, chain_order);
	tcase_add_test(tc, horizon_leaf_first);
	tcase_add_loop_test(tc, learns_dead_class, 0, 2);
	tcase_add_test(tc, survival_new_block_by_parent);
	tcase_add_test(tc, survival_soon_before_sure);
	tcase_add_test(tc, survival_tail_first);
	tcase_add_test(tc, registry);
	tcase_add_loop_test(tc, contract, 0, (int)n);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
