/* SPDX-License-Identifier: MIT */
/* Admission and prefetch policies: registry, all, second-hit, full-only, chain lookahead. */
#include <check.h>
#include <stdlib.h>

#include "policy.h"

static struct tier_access key_access(uint64_t key, uint32_t flags)
{
	struct tier_access a = {.key = key, .parent = TIER_SLOT_NONE, .flags = flags};

	return a;
}

START_TEST(admit_registry)
{
	size_t n;
	const struct tier_admit_ops *const *l = tier_admit_list(&n);

	ck_assert_ptr_nonnull(tier_admit_find(TIER_ADMIT_DEFAULT));
	ck_assert_ptr_null(tier_admit_find("nope"));
	for (size_t i = 0; i < n; i++) {
		ck_assert_ptr_eq(tier_admit_find(l[i]->name), l[i]);
		ck_assert_ptr_nonnull(l[i]->admit);
		ck_assert_ptr_nonnull(l[i]->summary);
		ck_assert(!l[i]->create == !l[i]->destroy);
	}
	ck_assert_ptr_nonnull(tier_prefetch_find(TIER_PREFETCH_DEFAULT));
	ck_assert_ptr_nonnull(tier_prefetch_find("chain"));
	ck_assert_ptr_null(tier_prefetch_find("nope"));
}
END_TEST

START_TEST(admit_all_and_full_only)
{
	const struct tier_admit_ops *all = tier_admit_find("all"), *fo = tier_admit_find("full-only");
	struct tier_access a = key_access(7, TIER_ACC_WRITE), p = key_access(8, TIER_ACC_PARTIAL);

	ck_assert(all->admit(NULL, &a));
	ck_assert(all->admit(NULL, &p));
	ck_assert(!all->demote);
	ck_assert(fo->admit(NULL, &a));
	ck_assert(!fo->admit(NULL, &p));
}
END_TEST

START_TEST(second_hit)
{
	const struct tier_admit_ops *o = tier_admit_find("second-hit");
	struct tier_policy_params pp = {.max_slots = 1000, .capacity = 100};
	void *st;

	ck_assert_int_eq(o->create(&pp, &st), 0);
	for (uint64_t k = 1; k <= 200; k++) {
		struct tier_access a = key_access(k * 0x9e3779b97f4a7c15ULL, 0);

		o->access(st, &a);
		/* one-hit wonders stay off flash */
		ck_assert(!o->demote(st, 0, a.key));
		if (k % 2 == 0) {
			o->access(st, &a);
			ck_assert(o->admit(st, &a));
			ck_assert(o->demote(st, 0, a.key));
		}
	}
	/* counters halve with time: a key seen twice long ago is forgotten */
	{
		struct tier_access a = key_access(42, 0);

		o->access(st, &a);
		o->access(st, &a);
		ck_assert(o->demote(st, 0, 42));
		for (uint64_t k = 0; k < 100000; k++) {
			struct tier_access b = key_access(7 + k % 4, 0);

			o->access(st, &b);
		}
		ck_assert(!o->demote(st, 0, 42));
	}
	o->destroy(st);
}
END_TEST

START_TEST(prefetch_chain)
{
	const struct tier_prefetch_ops *o = tier_prefetch_find("chain");
	struct tier_policy_params pp = {.max_slots = 16, .lookahead = 3};
	uint32_t slots[8];
	uint64_t keys[8];
	void *st;

	ck_assert_int_eq(o->create(&pp, &st), 0);
	/* a request walks 0 -> 1 -> 2 -> 3 -> 4 */
	for (uint32_t s = 0; s < 5; s++) {
		struct tier_access a = {
			.key = 100 + s,
			.parent = s ? s - 1 : TIER_SLOT_NONE,
			.pos = s,
			.prefix_hits = 0,
		};

		o->access(st, s, &a);
	}
	{
		/* the next request hits its head: bring up 1, 2, 3 (lookahead 3) */
		struct tier_access a = {.key = 100, .parent = TIER_SLOT_NONE, .pos = 0, .prefix_hits = 0};
		size_t n = o->suggest(st, 0, &a, slots, keys, 8);

		ck_assert_uint_eq(n, 3);
		for (uint32_t i = 0; i < 3; i++) {
			ck_assert_uint_eq(slots[i], i + 1);
			ck_assert_uint_eq(keys[i], 101 + i);
		}
		/* the engine hint doubles the depth; max bounds it */
		a.hint = 1;
		ck_assert_uint_eq(o->suggest(st, 0, &a, slots, keys, 8), 4);
		ck_assert_uint_eq(o->suggest(st, 0, &a, slots, keys, 2), 2);
		a.hint = 0;
		/* a block past a miss is not on a known chain walk */
		a.pos = 2;
		a.prefix_hits = 1;
		ck_assert_uint_eq(o->suggest(st, 2, &a, slots, keys, 8), 0);
	}
	/* slot 2 leaves: the chain stops at 2 */
	o->remove(st, 2);
	{
		struct tier_access a = {.key = 100, .parent = TIER_SLOT_NONE};

		ck_assert_uint_eq(o->suggest(st, 0, &a, slots, keys, 8), 2);
	}
	o->destroy(st);

	o = tier_prefetch_find("none");
	ck_assert_int_eq(o->create(&pp, &st), 0);
	{
		struct tier_access a = {.key = 100, .parent = TIER_SLOT_NONE};

		ck_assert_uint_eq(o->suggest(st, 0, &a, slots, keys, 8), 0);
	}
	o->destroy(st);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy_admit");
	TCase *tc = tcase_create("admit");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, admit_registry);
	tcase_add_test(tc, admit_all_and_full_only);
	tcase_add_test(tc, second_hit);
	tcase_add_test(tc, prefetch_chain);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
