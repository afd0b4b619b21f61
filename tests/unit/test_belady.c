/* SPDX-License-Identifier: MIT */
/* Belady (MIN with bypass) against exhaustive search on small random traces. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define LEN 12
#define KINDS 5

/* The most hits any offline policy gets: try every choice at every miss. */
static int best_hits(const uint32_t *acc, int n, int i, uint32_t cached, int cap)
{
	int best, used = __builtin_popcount(cached);

	if (i == n)
		return 0;
	if (cached & (1u << acc[i]))
		return 1 + best_hits(acc, n, i + 1, cached, cap);
	best = best_hits(acc, n, i + 1, cached, cap); /* bypass */
	if (used < cap) {
		int h = best_hits(acc, n, i + 1, cached | 1u << acc[i], cap);

		if (h > best)
			best = h;
	} else {
		for (uint32_t v = 0; v < KINDS; v++)
			if (cached & (1u << v)) {
				int h = best_hits(acc, n, i + 1, (cached & ~(1u << v)) | 1u << acc[i], cap);

				if (h > best)
					best = h;
			}
	}
	return best;
}

START_TEST(belady_vs_exhaustive)
{
	uint32_t r = 777;

	for (int round = 0; round < 300; round++) {
		uint64_t ids[LEN];
		uint32_t blocks[LEN], first_seen[KINDS];
		struct trace_req rq = {.first = 0, .n = LEN};
		struct trace t = {.req = &rq, .n_req = 1, .ids = ids, .block = blocks, .n_acc = LEN};
		int cap;
		struct sim_result res;

		memset(first_seen, 0xff, sizeof(first_seen));
		for (int i = 0; i < LEN; i++) {
			r = r * 1103515245u + 12345u;
			ids[i] = (r >> 16) % KINDS;
		}
		/* dense block indices in order of first appearance, as trace_load makes them */
		t.n_unique = 0;
		for (int i = 0; i < LEN; i++) {
			if (first_seen[ids[i]] == UINT32_MAX)
				first_seen[ids[i]] = (uint32_t)t.n_unique++;
			blocks[i] = first_seen[ids[i]];
		}
		cap = 1 + round % 3;
		ck_assert_int_eq(sim_belady(&t, (uint32_t)cap, &res), 0);
		ck_assert_int_eq((int)res.hits, best_hits(blocks, LEN, 0, 0, cap));
		ck_assert_uint_eq(res.accesses, LEN);
	}
}
END_TEST

START_TEST(belady_bounds_lru)
{
	uint32_t r = 99;
	enum { N = 2000 };
	uint64_t *ids = malloc(N * sizeof(*ids));
	uint32_t *blocks = malloc(N * sizeof(*blocks));
	struct trace_req rq = {.first = 0, .n = N};
	struct trace t = {.req = &rq, .n_req = 1, .ids = ids, .block = blocks, .n_acc = N, .n_unique = 64};
	struct sim_result opt, lru;
	struct sim_config c = {.evict = tier_evict_find("lru")};

	for (int i = 0; i < N; i++) {
		r = r * 1103515245u + 12345u;
		/* skewed: low ids far more often */
		ids[i] = ((r >> 16) % 64) * ((r >> 8) % 64) / 64;
		blocks[i] = (uint32_t)ids[i];
	}
	for (uint32_t cap = 1; cap <= 64; cap *= 2) {
		c.capacity = cap;
		ck_assert_int_eq(sim_belady(&t, cap, &opt), 0);
		ck_assert_int_eq(sim_run(&t, &c, &lru), 0);
		ck_assert_uint_ge(opt.hits, lru.hits);
	}
	free(ids);
	free(blocks);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("belady");
	TCase *tc = tcase_create("belady");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, belady_vs_exhaustive);
	tcase_add_test(tc, belady_bounds_lru);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
