/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the uint32 -> uint32 map (tierd/u32map.c) that records a
 * client's holds: get/upsert/del, growth, and random operations against a
 * reference array, with the probing invariant checked as in test_index.
 */
#include <string.h>

#include "../helpers/testutil.h"
#include "u32map.h"

/* The map's bucket function, restated: the invariant check needs homes. */
static size_t home_of(uint32_t k, size_t cap)
{
	return (size_t)(((uint64_t)k * 0x9E3779B97F4A7C15ULL) >> 32) & (cap - 1);
}

static void check_invariants(const struct u32map *m)
{
	size_t used = 0, mask = m->cap - 1;

	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == U32MAP_EMPTY)
			continue;
		used++;
		for (size_t j = home_of(m->keys[i], m->cap); j != i; j = (j + 1) & mask)
			if (m->keys[j] == U32MAP_EMPTY)
				ck_abort_msg("key %u at %zu cut off at %zu", m->keys[i], i, j);
	}
	t_check_eq(used, m->n);
	t_check(m->n * 2 <= m->cap);
}

START_TEST(test_basic)
{
	struct u32map m;
	uint32_t *v;

	u32map_init(&m);
	ck_assert_ptr_null(u32map_get(&m, 1));
	u32map_del(&m, 1); /* on an empty map: nothing happens */
	v = u32map_upsert(&m, 1);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(*v, 0); /* inserted as 0 */
	*v = 5;
	ck_assert_uint_eq(*u32map_get(&m, 1), 5);
	v = u32map_upsert(&m, 1);
	ck_assert_uint_eq(*v, 5); /* existing value, not reset */
	ck_assert_uint_eq(m.n, 1);
	*u32map_upsert(&m, 0) = 9; /* key 0 is a key like any other */
	ck_assert_uint_eq(*u32map_get(&m, 0), 9);
	ck_assert_ptr_null(u32map_upsert(&m, U32MAP_EMPTY));
	ck_assert_ptr_null(u32map_get(&m, U32MAP_EMPTY));
	ck_assert_uint_eq(m.n, 2);
	u32map_del(&m, 1);
	ck_assert_ptr_null(u32map_get(&m, 1));
	ck_assert_uint_eq(*u32map_get(&m, 0), 9);
	u32map_del(&m, 1);
	u32map_del(&m, U32MAP_EMPTY);
	ck_assert_uint_eq(m.n, 1);
	check_invariants(&m);
	u32map_deinit(&m);
	ck_assert_ptr_null(u32map_get(&m, 0));
}
END_TEST

START_TEST(test_growth)
{
	enum { N = 50000 };
	struct u32map m;

	u32map_init(&m);
	for (uint32_t i = 0; i < N; i++)
		*u32map_upsert(&m, i * 7) = i;
	t_check_eq(m.n, N);
	check_invariants(&m);
	for (uint32_t i = 0; i < N; i++) {
		t_check(u32map_get(&m, i * 7));
		t_check_eq(*u32map_get(&m, i * 7), i);
		t_check(!u32map_get(&m, i * 7 + 1));
	}
	for (uint32_t i = 0; i < N; i++)
		u32map_del(&m, i * 7);
	t_check_eq(m.n, 0);
	for (size_t i = 0; i < m.cap; i++)
		t_check_eq(m.keys[i], U32MAP_EMPTY);
	u32map_deinit(&m);
}
END_TEST

/*
 * Random upsert/del/get against a reference.  Even loop indexes use dense
 * keys (slot numbers, as in the daemon), odd ones random 32-bit keys.
 */
START_TEST(test_random_vs_reference)
{
	enum { NKEYS = 2000, OPS = 60000, ABSENT = 0xdeadbeef };
	uint32_t keys[NKEYS], ref[NKEYS];
	uint64_t rng = 0x4321 + (uint64_t)_i;
	struct u32map m;
	size_t count = 0;

	for (uint32_t i = 0; i < NKEYS; i++) {
		if (_i % 2) {
			do
				keys[i] = (uint32_t)t_rand(&rng);
			while (keys[i] == U32MAP_EMPTY);
		} else {
			keys[i] = i;
		}
		ref[i] = ABSENT;
	}
	/* Random keys may repeat: keep the first of each. */
	for (uint32_t i = 0; i < NKEYS; i++)
		for (uint32_t j = 0; j < i; j++)
			if (keys[i] == keys[j])
				keys[i] = j; /* dense keys below NKEYS are not random ones */
	u32map_init(&m);
	for (int op = 0; op < OPS; op++) {
		uint32_t k = (uint32_t)t_rand_below(&rng, _i < 2 ? NKEYS : 50);
		uint64_t what = t_rand_below(&rng, 10);
		uint32_t *v;

		if (what < 4) {
			v = u32map_upsert(&m, keys[k]);
			t_check(v);
			if (ref[k] == ABSENT) {
				t_check_eq(*v, 0);
				count++;
			} else {
				t_check_eq(*v, ref[k]);
			}
			*v = ref[k] = (uint32_t)op;
		} else if (what < 8) {
			u32map_del(&m, keys[k]);
			if (ref[k] != ABSENT)
				count--;
			ref[k] = ABSENT;
			if (op % 50 == 0)
				check_invariants(&m);
		} else {
			v = u32map_get(&m, keys[k]);
			if (ref[k] == ABSENT)
				t_check(!v);
			else
				t_check_eq(*v, ref[k]);
		}
		t_check_eq(m.n, count);
	}
	check_invariants(&m);
	for (uint32_t i = 0; i < NKEYS; i++) {
		uint32_t *v = u32map_get(&m, keys[i]);

		if (ref[i] == ABSENT)
			t_check(!v);
		else
			t_check_eq(*v, ref[i]);
	}
	u32map_deinit(&m);
}
END_TEST

static Suite *u32map_suite(void)
{
	Suite *s = suite_create("u32map");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_basic);
	tcase_add_test(tc, test_growth);
	tcase_add_loop_test(tc, test_random_vs_reference, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(u32map_suite());
}
