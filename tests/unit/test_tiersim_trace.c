/* SPDX-License-Identifier: MIT */
/*
 * The real trace (../shared/traces/conversation_trace.jsonl, outside the
 * project; the build passes its path): LRU and Belady must reproduce the
 * figures of the trace's README, and the default policy must not lose to LRU
 * at 1/5/10/25% of the unique blocks.  Skips (77) when the file is absent.
 *
 * The README rounds to 3 decimals; we check the 4-decimal values we measure
 * (0.0523 0.1954 0.2784 0.3535 / 0.2464 0.3664 x3), whose 3-decimal
 * roundings are the README's.  LRU at 25% is 101978 / 288500 = 0.35348: the
 * README's 0.354 is its 4-decimal value 0.3535 rounded half up.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim.h"

#ifndef CONVERSATION_TRACE
#error "CONVERSATION_TRACE must be defined by the build"
#endif

static struct trace *t;

START_TEST(facts)
{
	ck_assert_uint_eq(t->n_req, 12031);
	ck_assert_uint_eq(t->n_acc, 288500);
	ck_assert_uint_eq(t->n_unique, 182790);
	ck_assert_double_eq_tol(sim_infinite_hit_ratio(t), 0.3664, 0.00005);
	ck_assert_uint_eq(sim_capacity(t, 0.01), 1828);
	ck_assert_uint_eq(sim_capacity(t, 0.05), 9140);
	ck_assert_uint_eq(sim_capacity(t, 0.10), 18279);
	ck_assert_uint_eq(sim_capacity(t, 0.25), 45698);
}
END_TEST

static const double fracs[] = {0.01, 0.05, 0.10, 0.25};
static const double lru4[] = {0.0523, 0.1954, 0.2784, 0.3535};
static const double opt4[] = {0.2464, 0.3664, 0.3664, 0.3664};
static const double lru_readme[] = {0.052, 0.195, 0.278, 0.354};
static const double opt_readme[] = {0.246, 0.366, 0.366, 0.366};

START_TEST(lru_and_belady)
{
	uint32_t cap = sim_capacity(t, fracs[_i]);
	struct sim_config c = {.evict = tier_evict_find("lru"), .capacity = cap};
	struct sim_result lru, opt;

	ck_assert_int_eq(sim_run(t, &c, &lru), 0);
	ck_assert_int_eq(sim_belady(t, cap, &opt), 0);
	ck_assert_double_eq_tol(lru.hit_ratio, lru4[_i], 0.00005);
	ck_assert_double_eq_tol(opt.hit_ratio, opt4[_i], 0.00005);
	ck_assert_double_eq_tol(round(round(lru.hit_ratio * 1e4) / 10) / 1e3, lru_readme[_i], 1e-9);
	ck_assert_double_eq_tol(round(opt.hit_ratio * 1e3) / 1e3, opt_readme[_i], 1e-9);
}
END_TEST

/*
 * The default policy never loses to LRU at the four sizes; horizon's (the default before)
 * figures as measured (docs/POLICIES.md), so a change that moves them shows.
 */
static const double horizon4[] = {0.0739, 0.2136, 0.2913, 0.3540};

/*
 * survival's figures as measured, and what docs/POLICIES.md claims of it:
 * above every classic policy at 1, 5 and 10%.
 */
static const double survival4[] = {0.106790, 0.229480, 0.297231, 0.354083};
static const char *const classic[] = {"lru", "clock", "sieve", "s3fifo", "wtinylfu"};

START_TEST(default_vs_lru)
{
	uint32_t cap = sim_capacity(t, fracs[_i]);
	struct sim_config c = {.evict = tier_evict_find(TIER_EVICT_DEFAULT), .capacity = cap};
	struct sim_config l = {.evict = tier_evict_find("lru"), .capacity = cap};
	struct sim_result def, lru;

	ck_assert_ptr_nonnull(c.evict);
	ck_assert_int_eq(sim_run(t, &c, &def), 0);
	ck_assert_int_eq(sim_run(t, &l, &lru), 0);
	ck_assert_msg(def.hits >= lru.hits, "%s loses to lru at %.2f: %llu < %llu hits",
		      TIER_EVICT_DEFAULT, fracs[_i], (unsigned long long)def.hits,
		      (unsigned long long)lru.hits);
	c.evict = tier_evict_find("horizon");
	ck_assert_int_eq(sim_run(t, &c, &def), 0);
	ck_assert_double_eq_tol(def.hit_ratio, horizon4[_i], 0.00005);
}
END_TEST

START_TEST(survival_vs_classic)
{
	uint32_t cap = sim_capacity(t, fracs[_i]);
	struct sim_config c = {.evict = tier_evict_find("survival"), .capacity = cap};
	struct sim_result sv, other;

	ck_assert_int_eq(sim_run(t, &c, &sv), 0);
	ck_assert_double_eq_tol(sv.hit_ratio, survival4[_i], 0.00005);
	if (fracs[_i] > 0.2)
		return; /* the claim is for 1, 5 and 10% */
	for (size_t i = 0; i < sizeof(classic) / sizeof(classic[0]); i++) {
		c.evict = tier_evict_find(classic[i]);
		ck_assert_int_eq(sim_run(t, &c, &other), 0);
		ck_assert_msg(sv.hits > other.hits, "survival below %s at %.2f", classic[i],
			      fracs[_i]);
	}
}
END_TEST

/*
 * As an engine looks blocks up (a request's lookup stops at its first
 * miss), the default is above LRU and horizon at the four sizes too
 * (docs/POLICIES.md, "A chain goes from its tail"), and LRU, which never
 * evicts a chain's head before its tail here, is what it is in block mode.
 */
START_TEST(default_prefix_mode)
{
	uint32_t cap = sim_capacity(t, fracs[_i]);
	struct sim_config c = {.evict = tier_evict_find(TIER_EVICT_DEFAULT), .capacity = cap,
			       .prefix_mode = true};
	struct sim_result def, lru, hz, lru_block;

	ck_assert_int_eq(sim_run(t, &c, &def), 0);
	c.evict = tier_evict_find("lru");
	ck_assert_int_eq(sim_run(t, &c, &lru), 0);
	c.evict = tier_evict_find("horizon");
	ck_assert_int_eq(sim_run(t, &c, &hz), 0);
	c.evict = tier_evict_find("lru");
	c.prefix_mode = false;
	ck_assert_int_eq(sim_run(t, &c, &lru_block), 0);
	ck_assert_uint_eq(lru.hits, lru_block.hits);
	ck_assert_uint_eq(lru.stranded, 0);
	ck_assert_msg(def.hits > lru.hits && def.hits > hz.hits,
		      "prefix mode at %.2f: %s %llu, lru %llu, horizon %llu hits", fracs[_i],
		      TIER_EVICT_DEFAULT, (unsigned long long)def.hits, (unsigned long long)lru.hits,
		      (unsigned long long)hz.hits);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tiersim_trace");
	TCase *tc = tcase_create("conversation");
	SRunner *sr;
	size_t line = 0;
	int failed, r;

	r = trace_load(CONVERSATION_TRACE, &t, &line);
	if (r == -ENOENT) {
		printf("SKIP: %s is absent (the shared traces live next to the source tree)\n",
		       CONVERSATION_TRACE);
		return 77;
	}
	if (r < 0) {
		fprintf(stderr, "%s:%zu: cannot load: %d\n", CONVERSATION_TRACE, line, r);
		return EXIT_FAILURE;
	}
	tcase_add_test(tc, facts);
	tcase_add_loop_test(tc, lru_and_belady, 0, 4);
	tcase_add_loop_test(tc, default_vs_lru, 0, 4);
	tcase_add_loop_test(tc, survival_vs_classic, 0, 4);
	tcase_add_loop_test(tc, default_prefix_mode, 0, 4);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	trace_free(t);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
