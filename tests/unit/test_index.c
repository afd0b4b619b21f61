/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the key index (tierd/index.c): put/get/del, -EEXIST,
 * growth, and many thousand random operations against a reference, with the
 * linear-probing invariant (no hole between an entry and its home bucket)
 * checked after every deletion, which is what backward shift must keep.
 */
#include <errno.h>
#include <string.h>

#include "../helpers/testutil.h"
#include "index.h"

static tier_key key_of(uint64_t i)
{
	return (tier_key){ .hi = i * 0x9E3779B97F4A7C15ULL, .lo = ~i };
}

/* Every entry is reachable from its home bucket through occupied buckets only. */
static void check_invariants(const struct key_index *x)
{
	size_t mask = x->cap - 1, used = 0;

	for (size_t i = 0; i < x->cap; i++) {
		const struct index_entry *e = &x->e[i];

		if (e->slot == INDEX_NONE)
			continue;
		used++;
		for (size_t j = e->hash & mask; j != i; j = (j + 1) & mask)
			if (x->e[j].slot == INDEX_NONE)
				ck_abort_msg("entry at %zu (home %zu) cut off by a hole at %zu", i,
					     (size_t)(e->hash & mask), j);
	}
	t_check_eq(used, x->n);
	t_check(x->n * 2 <= x->cap);
}

START_TEST(test_basic)
{
	struct key_index x;
	tier_key a = key_of(1), b = key_of(2), zero = { 0, 0 };

	ck_assert_int_eq(index_init(&x, 0, 42), 0);
	ck_assert_uint_eq(index_get(&x, a), INDEX_NONE);
	ck_assert_uint_eq(index_del(&x, a), INDEX_NONE);
	ck_assert_int_eq(index_put(&x, a, 7), 0);
	ck_assert_int_eq(index_put(&x, b, 8), 0);
	ck_assert_int_eq(index_put(&x, zero, 9), 0); /* the root key is a key like any other */
	ck_assert_uint_eq(index_get(&x, a), 7);
	ck_assert_uint_eq(index_get(&x, b), 8);
	ck_assert_uint_eq(index_get(&x, zero), 9);
	ck_assert_int_eq(index_put(&x, a, 10), -EEXIST);
	ck_assert_uint_eq(index_get(&x, a), 7); /* first put wins */
	ck_assert_uint_eq(x.n, 3);
	/* Keys differing only in hi or only in lo are different keys. */
	ck_assert_uint_eq(index_get(&x, (tier_key){ a.hi, b.lo }), INDEX_NONE);
	ck_assert_uint_eq(index_get(&x, (tier_key){ b.hi, a.lo }), INDEX_NONE);
	ck_assert_uint_eq(index_del(&x, a), 7);
	ck_assert_uint_eq(index_get(&x, a), INDEX_NONE);
	ck_assert_uint_eq(index_del(&x, a), INDEX_NONE);
	ck_assert_uint_eq(index_get(&x, b), 8);
	ck_assert_uint_eq(x.n, 2);
	ck_assert_int_eq(index_put(&x, a, 11), 0);
	ck_assert_uint_eq(index_get(&x, a), 11);
	check_invariants(&x);
	index_deinit(&x);
}
END_TEST

START_TEST(test_growth)
{
	enum { N = 100000 };
	struct key_index x;
	size_t cap0;

	t_check_eq(index_init(&x, 16, 1), 0);
	cap0 = x.cap;
	t_check(cap0 >= 32);
	for (uint32_t i = 0; i < N; i++)
		t_check_eq(index_put(&x, key_of(i), i), 0);
	t_check_eq(x.n, N);
	ck_assert_uint_gt(x.cap, cap0);
	t_check(x.n * 2 <= x.cap);
	for (uint32_t i = 0; i < N; i++)
		t_check_eq(index_get(&x, key_of(i)), i);
	t_check_eq(index_get(&x, key_of(N)), INDEX_NONE);
	check_invariants(&x);
	for (uint32_t i = 0; i < N; i += 2)
		t_check_eq(index_del(&x, key_of(i)), i);
	for (uint32_t i = 0; i < N; i++)
		t_check_eq(index_get(&x, key_of(i)), i % 2 ? i : INDEX_NONE);
	check_invariants(&x);
	index_deinit(&x);
}
END_TEST

/*
 * Random put/get/del over a small universe of keys (so that runs are long
 * and deletions hit the middle of them) against a plain array.  The loop
 * index varies seed, universe and start size.
 */
START_TEST(test_random_vs_reference)
{
	static const uint32_t universes[] = { 40, 300, 3000, 20000 };
	uint32_t nkeys = universes[_i % 4];
	uint64_t rng = 0xabc0 + (uint64_t)_i;
	uint32_t *ref = malloc(nkeys * sizeof(uint32_t));
	tier_key *keys = malloc(nkeys * sizeof(tier_key));
	struct key_index x;
	size_t count = 0;
	int ops = 40000;

	t_check(ref);
	t_check(keys);
	for (uint32_t i = 0; i < nkeys; i++) {
		keys[i] = (tier_key){ t_rand(&rng), t_rand(&rng) };
		ref[i] = INDEX_NONE;
	}
	t_check_eq(index_init(&x, _i < 4 ? 0 : 4096, t_rand(&rng)), 0);
	for (int op = 0; op < ops; op++) {
		uint32_t k = (uint32_t)t_rand_below(&rng, nkeys);
		uint64_t what = t_rand_below(&rng, 10);

		if (what < 4) {
			uint32_t slot = (uint32_t)t_rand_below(&rng, 1u << 30);
			int r = index_put(&x, keys[k], slot);

			if (ref[k] == INDEX_NONE) {
				t_check_eq(r, 0);
				ref[k] = slot;
				count++;
			} else {
				t_check_eq(r, -EEXIST);
			}
		} else if (what < 8) {
			t_check_eq(index_del(&x, keys[k]), ref[k]);
			if (ref[k] != INDEX_NONE)
				count--;
			ref[k] = INDEX_NONE;
			if (op % 64 == 0)
				check_invariants(&x);
		} else {
			t_check_eq(index_get(&x, keys[k]), ref[k]);
		}
		t_check_eq(x.n, count);
	}
	check_invariants(&x);
	for (uint32_t i = 0; i < nkeys; i++)
		t_check_eq(index_get(&x, keys[i]), ref[i]);
	/* Drain: everything comes out exactly once, leaving an empty table. */
	for (uint32_t i = 0; i < nkeys; i++)
		t_check_eq(index_del(&x, keys[i]), ref[i]);
	t_check_eq(x.n, 0);
	for (size_t i = 0; i < x.cap; i++)
		t_check_eq(x.e[i].slot, INDEX_NONE);
	index_deinit(&x);
	free(ref);
	free(keys);
}
END_TEST

/*
 * Deletion inside a run that wraps around the end of the table: fill a
 * small table until some run crosses the last bucket, then delete its
 * members one by one, checking after each.
 */
START_TEST(test_wraparound_delete)
{
	uint64_t rng = 77;
	int found = 0;

	for (int attempt = 0; attempt < 200 && !found; attempt++) {
		struct key_index x;
		tier_key keys[31];

		t_check_eq(index_init(&x, 0, t_rand(&rng)), 0);
		t_check_eq(x.cap, 64);
		for (int i = 0; i < 31; i++) {
			keys[i] = (tier_key){ t_rand(&rng), t_rand(&rng) };
			t_check_eq(index_put(&x, keys[i], (uint32_t)i), 0);
		}
		t_check_eq(x.cap, 64); /* 31 entries: no growth yet */
		if (x.e[x.cap - 1].slot != INDEX_NONE && x.e[0].slot != INDEX_NONE) {
			found = 1;
			for (int i = 0; i < 31; i++) {
				t_check_eq(index_del(&x, keys[i]), (uint32_t)i);
				check_invariants(&x);
				for (int j = i + 1; j < 31; j++)
					t_check_eq(index_get(&x, keys[j]), (uint32_t)j);
			}
		}
		index_deinit(&x);
	}
	ck_assert_msg(found, "no wrapping run produced");
}
END_TEST

static Suite *index_suite(void)
{
	Suite *s = suite_create("index");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_basic);
	tcase_add_test(tc, test_growth);
	tcase_add_loop_test(tc, test_random_vs_reference, 0, 8);
	tcase_add_test(tc, test_wraparound_delete);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(index_suite());
}
