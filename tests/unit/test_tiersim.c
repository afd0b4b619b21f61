/* SPDX-License-Identifier: MIT */
/*
 * tiersim's replay core on a small hand-made trace (tests/data/small_trace.jsonl):
 * the reader, the capacity rounding, LRU hits worked out by hand, what the
 * policy is told online, admission, and Belady.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must be defined by the build"
#endif

static struct trace *load_small(void)
{
	struct trace *t = NULL;

	ck_assert_int_eq(trace_load(TEST_DATA_DIR "/small_trace.jsonl", &t, NULL), 0);
	return t;
}

START_TEST(reader)
{
	struct trace *t = load_small();
	struct trace *bad;
	size_t line = 0;

	ck_assert_uint_eq(t->n_req, 5); /* the empty line is skipped */
	ck_assert_uint_eq(t->n_acc, 17);
	ck_assert_uint_eq(t->n_unique, 8);
	ck_assert_uint_eq(t->req[1].timestamp_ms, 5);
	ck_assert_uint_eq(t->req[1].input_length, 1200);
	ck_assert_uint_eq(t->req[2].first, 6);
	ck_assert_uint_eq(t->block[8], 5); /* id 5 is the 6th new id */
	ck_assert_int_eq(trace_load(TEST_DATA_DIR "/absent.jsonl", &bad, NULL), -ENOENT);
	ck_assert_int_eq(trace_load(TEST_DATA_DIR "/bad_trace.jsonl", &bad, &line), -EINVAL);
	ck_assert_uint_eq(line, 2);
	trace_free(t);
}
END_TEST

START_TEST(lru_by_hand)
{
	struct trace *t = load_small();
	struct sim_config c = {.evict = tier_evict_find("lru"), .capacity = 4};
	struct sim_result r;

	ck_assert_int_eq(sim_run(t, &c, &r), 0);
	ck_assert_uint_eq(r.accesses, 17);
	ck_assert_uint_eq(r.hits, 5);
	ck_assert_uint_eq(r.inserts, 12);
	ck_assert_uint_eq(r.evictions, 8);
	c.capacity = 8;
	ck_assert_int_eq(sim_run(t, &c, &r), 0);
	ck_assert_uint_eq(r.hits, 9);
	ck_assert_double_eq_tol(sim_infinite_hit_ratio(t), 9.0 / 17, 1e-12);
	ck_assert_uint_eq(sim_capacity(t, 0.5), 4);
	ck_assert_uint_eq(sim_capacity(t, 0.01), 1);
	ck_assert_uint_eq(sim_capacity(t, 0.3125), 3); /* 2.5 rounds away from zero */
	trace_free(t);
}
END_TEST

START_TEST(belady_small)
{
	struct trace *t = load_small();
	struct sim_result r;

	ck_assert_int_eq(sim_belady(t, 8, &r), 0);
	ck_assert_uint_eq(r.hits, 9);
	/* by hand: 0, 1 and 2 wait for request 4 and 4 for request 5: 5 cannot stay too */
	ck_assert_int_eq(sim_belady(t, 4, &r), 0);
	ck_assert_uint_eq(r.hits, 8);
	ck_assert_int_eq(sim_belady(t, 1, &r), 0);
	ck_assert_uint_eq(r.hits, 4); /* block 0 only */
	trace_free(t);
}
END_TEST

/* A spy policy: LRU that records what it was told. */
static struct tier_access seen[32];
static int n_seen;
static void *lru_state;

static int spy_create(const struct tier_policy_params *p, void **ret)
{
	n_seen = 0;
	return tier_evict_lru.create(p, &lru_state) < 0 ? -ENOMEM : (*ret = lru_state, 0);
}

static void spy_insert(void *st, uint32_t s, const struct tier_access *a)
{
	seen[n_seen++] = *a;
	tier_evict_lru.insert(st, s, a);
}

static void spy_access(void *st, uint32_t s, const struct tier_access *a)
{
	seen[n_seen++] = *a;
	tier_evict_lru.access(st, s, a);
}

static const struct tier_evict_ops spy = {
	.name = "spy",
	.summary = "records accesses",
	.create = spy_create,
	.destroy = NULL,
	.insert = spy_insert,
	.access = spy_access,
	.bytes_per_block = 8,
};

START_TEST(online_info)
{
	struct trace *t = load_small();
	struct tier_evict_ops ops = spy;
	struct sim_config c = {.evict = &ops, .capacity = 8};
	struct sim_result r;

	ops.destroy = tier_evict_lru.destroy;
	ops.remove = tier_evict_lru.remove;
	ops.pick_victim = tier_evict_lru.pick_victim;
	ck_assert_int_eq(sim_run(t, &c, &r), 0);
	ck_assert_int_eq(n_seen, 17);
	/* request 2: [0 hit, 1 hit, 3 miss, partial (1200 < 3 x 512)] */
	ck_assert_uint_eq(seen[5].pos, 2);
	ck_assert_uint_eq(seen[5].req_len, 3);
	ck_assert_uint_eq(seen[5].prefix_hits, 2);
	ck_assert_uint_eq(seen[5].parent, 1);
	ck_assert_uint_eq(seen[5].parent_key, seen[1].key);
	ck_assert(seen[5].flags & TIER_ACC_PARTIAL);
	ck_assert(seen[5].flags & TIER_ACC_WRITE);
	ck_assert(seen[4].flags & TIER_ACC_LOOKUP);
	ck_assert(!(seen[2].flags & TIER_ACC_PARTIAL)); /* 1536 = 3 x 512: full */
	ck_assert_uint_eq(seen[5].now, 6);
	/* request 3: [0 hit, 4 miss, 5 miss, 6 miss]: prefix_hits stays 1 past the miss */
	ck_assert_uint_eq(seen[8].prefix_hits, 1);
	ck_assert_uint_eq(seen[6].parent, TIER_SLOT_NONE);
	ck_assert_uint_eq(seen[6].parent_key, 0);
	ck_assert(!(seen[9].flags & TIER_ACC_PARTIAL));
	ck_assert(seen[16].flags & TIER_ACC_PARTIAL);
	for (int i = 0; i < 17; i++)
		ck_assert_uint_ne(seen[i].key, 0);
	trace_free(t);
}
END_TEST

START_TEST(admission)
{
	struct trace *t = load_small();
	struct sim_config c = {
		.evict = tier_evict_find("lru"),
		.admit = tier_admit_find("full-only"),
		.capacity = 8,
	};
	struct sim_result r;

	ck_assert_int_eq(sim_run(t, &c, &r), 0);
	ck_assert_uint_eq(r.rejected, 2); /* the partial blocks 3 and 7 */
	ck_assert_uint_eq(r.hits, 9);
	c.admit = tier_admit_find("second-hit");
	ck_assert_int_eq(sim_run(t, &c, &r), 0);
	/* only block 0 (seen twice at request 2) and 1 get in, on their second sight */
	ck_assert_uint_lt(r.hits, 9);
	c.capacity = 0;
	ck_assert_int_eq(sim_run(t, &c, &r), -EINVAL);
	trace_free(t);
}
END_TEST

/* Every policy replays the small trace at every capacity without breaking the contract. */
START_TEST(all_policies)
{
	struct trace *t = load_small();
	size_t n;
	const struct tier_evict_ops *const *l = tier_evict_list(&n);

	for (size_t i = 0; i < n; i++)
		for (uint32_t cap = 1; cap <= 9; cap++) {
			struct sim_config c = {.evict = l[i], .capacity = cap};
			struct sim_result r, opt;

			ck_assert_int_eq(sim_run(t, &c, &r), 0);
			ck_assert_int_eq(sim_belady(t, cap, &opt), 0);
			ck_assert_uint_le(r.hits, opt.hits);
			ck_assert_uint_eq(r.rejected, 0);
			ck_assert_uint_eq(r.stranded, 0);
			/* prefix mode: every access is a hit, stranded or a save */
			c.prefix_mode = true;
			ck_assert_int_eq(sim_run(t, &c, &r), 0);
			ck_assert_uint_le(r.hits, opt.hits);
			ck_assert_uint_eq(r.hits + r.stranded + r.inserts + r.rejected, r.accesses);
		}
	trace_free(t);
}
END_TEST

/*
 * Prefix mode by hand (capacity 4, LRU): request [0, 9, 2] finds 0 cached,
 * misses 9, and 2, cached, is past the miss: not a hit, and not touched, so
 * LRU then evicts it before 0 and 9.  Block mode counts it a hit and keeps it.
 */
START_TEST(prefix_mode_by_hand)
{
	static const char *const lines =
		"{\"timestamp\": 0, \"input_length\": 1536, \"hash_ids\": [0, 1, 2]}\n"
		"{\"timestamp\": 1, \"input_length\": 1536, \"hash_ids\": [0, 9, 2]}\n"
		"{\"timestamp\": 2, \"input_length\": 1024, \"hash_ids\": [5, 6]}\n"
		"{\"timestamp\": 3, \"input_length\": 1536, \"hash_ids\": [0, 9, 2]}\n";
	char path[] = "/tmp/tiersim-prefix-XXXXXX";
	int fd = mkstemp(path);
	struct trace *t = NULL;
	struct sim_config c = {.evict = tier_evict_find("lru"), .capacity = 4};
	struct sim_result b, p;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, lines, strlen(lines)), (int)strlen(lines));
	close(fd);
	ck_assert_int_eq(trace_load(path, &t, NULL), 0);
	unlink(path);
	ck_assert_int_eq(sim_run(t, &c, &b), 0);
	c.prefix_mode = true;
	ck_assert_int_eq(sim_run(t, &c, &p), 0);
	/*
	 * Block: the second request hits 0 and 2 (cache, oldest first: 1 0 9
	 * 2); [5, 6] evicts 1 and 0; the last request misses 0, whose insert
	 * evicts 9, and so on: 2 hits, 9 inserts.  Prefix: the second request
	 * hits 0 and strands 2 (cache 1 2 0 9); [5, 6] evicts 1 and 2; the last
	 * request hits 0 and 9 and misses 2: 3 hits, 1 stranded, 7 inserts.
	 */
	ck_assert_uint_eq(b.hits, 2);
	ck_assert_uint_eq(b.stranded, 0);
	ck_assert_uint_eq(b.inserts, 9);
	ck_assert_uint_eq(p.hits, 3);
	ck_assert_uint_eq(p.stranded, 1);
	ck_assert_uint_eq(p.inserts, 7);
	ck_assert_uint_eq(p.hits + p.stranded + p.inserts, p.accesses);
	trace_free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tiersim");
	TCase *tc = tcase_create("tiersim");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, reader);
	tcase_add_test(tc, lru_by_hand);
	tcase_add_test(tc, belady_small);
	tcase_add_test(tc, online_info);
	tcase_add_test(tc, admission);
	tcase_add_test(tc, all_policies);
	tcase_add_test(tc, prefix_mode_by_hand);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
