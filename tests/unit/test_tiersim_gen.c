/* SPDX-License-Identifier: MIT */
/*
 * The generated workloads (tools/tiersim/gen.c) and the default policy on
 * them: the same seed gives the same trace; on every family, at 1/5/10/25%
 * of its unique blocks, as an engine looks up (prefix mode), the default
 * eviction policy is not below LRU by more than 0.002 of hit ratio; and its
 * state stays within 64 bytes per block of capacity.
 *
 * Seeds 1 to 3 (1 is the families' own, 2 and 3 held out).  A cell known to
 * lose by more than the tolerance is listed in known_losses with the loss
 * measured, so the test says so and fails if the loss grows, rather than
 * hiding the cell; there is none today.  The closest: docqa seed 3 at 1%
 * (112 blocks), 0.0008 below LRU.  Without the
 * miniatures shown the blocks the caller strands (duel.c, du_reveal),
 * docqa seed 3 at 1% is 0.0027 below LRU and this test fails.
 */
#include <check.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "sim.h"

#define TOLERANCE 0.002

/* Under ASan malloc is the sanitizer's, and mallinfo2() does not count it. */
#if defined(__SANITIZE_ADDRESS__)
#define MALLOC_COUNTED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MALLOC_COUNTED 0
#endif
#endif
#ifndef MALLOC_COUNTED
#define MALLOC_COUNTED 1
#endif
#define SEED 1
#define N_SEEDS 3 /* seed 1 is the families' own; 2 and 3 are held out */

static const double fracs[] = {0.01, 0.05, 0.10, 0.25};

/* family, seed, frac index, the loss to LRU measured (hit ratio) */
static const struct {
	const char *family;
	uint64_t seed;
	int frac;
	double loss;
} known_losses[] = {
	{NULL, 0, 0, 0}, /* none today */
};

static uint64_t trace_sum(const struct trace *t)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < t->n_acc; i++)
		h = (h ^ t->ids[i]) * 1099511628211ULL;
	for (size_t i = 0; i < t->n_req; i++)
		h = (h ^ t->req[i].timestamp_ms ^ (uint64_t)t->req[i].input_length << 32) *
		    1099511628211ULL;
	return h;
}

START_TEST(same_seed_same_trace)
{
	const char *f = gen_families[_i];
	struct trace *a, *b, *c;

	ck_assert_int_eq(gen_trace(f, SEED, &a), 0);
	ck_assert_int_eq(gen_trace(f, SEED, &b), 0);
	ck_assert_int_eq(gen_trace(f, SEED + 1, &c), 0);
	ck_assert_uint_gt(a->n_req, 1000);
	ck_assert_uint_eq(a->n_acc, b->n_acc);
	ck_assert_uint_eq(trace_sum(a), trace_sum(b));
	ck_assert_uint_ne(trace_sum(a), trace_sum(c));
	/* timestamps in order, within the hour, prompts of 512-token blocks */
	for (size_t i = 1; i < a->n_req; i++)
		ck_assert_uint_ge(a->req[i].timestamp_ms, a->req[i - 1].timestamp_ms);
	ck_assert_uint_lt(a->req[a->n_req - 1].timestamp_ms, 3600u * 1000u);
	for (size_t i = 0; i < a->n_req; i++) {
		ck_assert_uint_le(a->req[i].input_length, a->req[i].n * 512u);
		ck_assert_uint_gt(a->req[i].input_length, (a->req[i].n - 1) * 512u);
	}
	/* a real prefix cache's shape: blocks come back, but not all */
	ck_assert_double_gt(sim_infinite_hit_ratio(a), 0.5);
	ck_assert_double_lt(sim_infinite_hit_ratio(a), 0.98);
	trace_free(a);
	trace_free(b);
	trace_free(c);
}
END_TEST

START_TEST(unknown_family)
{
	struct trace *t;

	ck_assert_int_eq(gen_trace("nonesuch", SEED, &t), -2 /* -ENOENT */);
}
END_TEST

static struct trace *traces[8][N_SEEDS];

START_TEST(default_vs_lru_prefix)
{
	size_t fam = (size_t)_i / (4 * N_SEEDS);
	uint64_t seed = 1 + (uint64_t)(_i / 4) % N_SEEDS;
	int fi = _i % 4;
	struct trace *t = traces[fam][seed - 1];
	uint32_t cap = sim_capacity(t, fracs[fi]);
	struct sim_config c = {.evict = tier_evict_find(TIER_EVICT_DEFAULT), .capacity = cap,
			       .prefix_mode = true};
	struct sim_config l = {.evict = tier_evict_find("lru"), .capacity = cap, .prefix_mode = true};
	struct sim_result def, lru;
	double allowed = TOLERANCE;

	ck_assert_int_eq(sim_run(t, &c, &def), 0);
	ck_assert_int_eq(sim_run(t, &l, &lru), 0);
	for (size_t k = 0; k < sizeof(known_losses) / sizeof(known_losses[0]); k++)
		if (known_losses[k].family && !strcmp(known_losses[k].family, gen_families[fam]) &&
		    known_losses[k].seed == seed &&
		    known_losses[k].frac == fi) {
			printf("KNOWN LOSS: %s seed %llu at %.0f%%: %s %.4f, lru %.4f (%+.4f; measured %.4f)\n",
			       gen_families[fam], (unsigned long long)seed, fracs[fi] * 100,
			       TIER_EVICT_DEFAULT, def.hit_ratio,
			       lru.hit_ratio, def.hit_ratio - lru.hit_ratio, -known_losses[k].loss);
			allowed = known_losses[k].loss + 0.0005;
		}
	ck_assert_msg(def.hit_ratio >= lru.hit_ratio - allowed,
		      "%s loses to lru on %s seed %llu at %.0f%% (prefix mode) by more than %.4f: "
		      "%.4f < %.4f",
		      TIER_EVICT_DEFAULT, gen_families[fam], (unsigned long long)seed, fracs[fi] * 100,
		      allowed,
		      def.hit_ratio, lru.hit_ratio);
}
END_TEST

/*
 * Everything the default keeps, as malloc counts it: a million blocks, and
 * the real trace's 10% and 5% of its blocks (docs/POLICIES.md: at 1%, 1,828
 * blocks, it keeps more, and why).
 */
static const uint32_t memory_blocks[] = {1000000, 18279, 9140};

START_TEST(default_memory)
{
	const struct tier_evict_ops *ev = tier_evict_find(TIER_EVICT_DEFAULT);
	uint32_t n = memory_blocks[_i];
	struct tier_policy_params p = {.max_slots = n, .capacity = n};
	struct mallinfo2 before = mallinfo2(), after;
	void *st = NULL;
	double bytes;

	ck_assert_int_eq(ev->create(&p, &st), 0);
	after = mallinfo2();
	bytes = (double)(after.uordblks + after.hblkhd) - (double)(before.uordblks + before.hblkhd);
	ev->destroy(st);
	if (!MALLOC_COUNTED) {
		printf("SKIP default_memory: malloc is the sanitizer's, mallinfo2 does not count it\n");
		return;
	}
	ck_assert_double_gt(bytes / p.capacity, 8); /* it counted something: at least an LRU list */
	ck_assert_msg(bytes / p.capacity <= 64, "%s keeps %.2f bytes per block at %u blocks",
		      ev->name, bytes / p.capacity, n);
	/* what it declares is the large-capacity cost, without the fixed tables */
	if (n >= 1000000)
		ck_assert_double_le(bytes / p.capacity, (double)ev->bytes_per_block + 0.5);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tiersim_gen");
	TCase *tc = tcase_create("gen");
	SRunner *sr;
	size_t nf = 0;
	int failed;

	while (gen_families[nf])
		nf++;
	for (size_t i = 0; i < nf; i++)
		for (unsigned k = 0; k < N_SEEDS; k++)
			if (gen_trace(gen_families[i], 1 + k, &traces[i][k]) < 0) {
				fprintf(stderr, "cannot generate %s\n", gen_families[i]);
				return EXIT_FAILURE;
			}
	tcase_add_loop_test(tc, same_seed_same_trace, 0, (int)nf);
	tcase_add_test(tc, unknown_family);
	tcase_add_loop_test(tc, default_vs_lru_prefix, 0, (int)nf * 4 * N_SEEDS);
	tcase_add_loop_test(tc, default_memory, 0,
			    (int)(sizeof(memory_blocks) / sizeof(memory_blocks[0])));
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (size_t i = 0; i < nf; i++)
		for (unsigned k = 0; k < N_SEEDS; k++)
			trace_free(traces[i][k]);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
