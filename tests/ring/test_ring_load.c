/* SPDX-License-Identifier: MIT */
/*
 * Integration: many clients at once against one daemon — 4 processes of 4
 * threads, each thread its own tier_client — mixing synchronous calls,
 * batches and async ops (with sync calls made while async ones are in
 * flight).  Every submitted op's user_data comes back exactly once with the
 * answer expected for it, every acquired block's bytes are checked, and at
 * the end nothing is pinned and every block written is there.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "ring.h"
#include "testutil.h"

#define BS 4096
#define NPROC 4
#define NTHREAD 4
#define POOL 256          /* written by the test before the clients start */
#define OWN 48            /* written by each thread, asynchronously */
#define ROUNDS 80
#define BATCH_MAX 400   /* some batches queue only in part: the SQ holds 256 */

static struct tdaemon d;

/* t_verify keeps one buffer for the process: not for threads. */
static bool verify(const void *p, tier_key key)
{
	uint8_t want[BS];

	t_fill(want, BS, key);
	return memcmp(p, want, BS) == 0;
}

static tier_key pool_key(uint32_t i) { return t_key(500, i); }
static tier_key own_key(uint32_t id, uint32_t i) { return t_key(1000 + id, i); }
static tier_key absent_key(uint32_t id, uint32_t i) { return t_key(9000 + id, i); }

/* What one async op expects; kept per user_data (an index into the thread's table). */
struct want {
	uint8_t op;
	bool present;     /* LOOKUP/ACQUIRE: the key is there */
	bool done;
	uint32_t own;     /* ALLOC/COMMIT: which own key */
	tier_key key;
	tier_handle handle;
};

struct worker {
	uint32_t id;
	uint64_t rng;
	tier_client *c;
	uint32_t ns;
	struct want w[INT16_MAX];
	uint32_t n_w;
	uint32_t own_written;
	tier_handle allocated[OWN]; /* reaped ALLOCs waiting for their COMMIT */
	uint32_t n_alloc_pending;
	uint64_t answered;
};

/* Check one completion against what its op expects; 0 or 1 (failed). */
static int check_cqe(struct worker *k, const struct tier_cqe *e, struct tier_op *release,
		     size_t *n_release)
{
	struct want *w;

	T_CHILD_CHECK(e->user_data < k->n_w);
	w = &k->w[e->user_data];
	T_CHILD_CHECK(!w->done);
	w->done = true;
	k->answered++;
	switch (w->op) {
	case TIER_OP_NOP:
		T_CHILD_CHECK(e->res == 0);
		break;
	case TIER_OP_LOOKUP:
		T_CHILD_CHECK(e->res == (w->present ? TIER_HOST : -ENOENT));
		break;
	case TIER_OP_ACQUIRE:
		T_CHILD_CHECK(e->res == (w->present ? 0 : -ENOENT));
		if (e->res == 0) {
			void *p = tier_data(k->c, e->handle);

			T_CHILD_CHECK(p != NULL);
			T_CHILD_CHECK(verify(p, w->key));
			release[(*n_release)++] = (struct tier_op){ .opcode = TIER_OP_RELEASE,
								    .handle = e->handle };
		}
		break;
	case TIER_OP_RELEASE:
		T_CHILD_CHECK(e->res == 0);
		break;
	case TIER_OP_ALLOC: {
		void *p;

		T_CHILD_CHECK(e->res == 0);
		p = tier_data(k->c, e->handle);
		T_CHILD_CHECK(p != NULL);
		t_fill(p, BS, own_key(k->id, w->own));
		k->allocated[k->n_alloc_pending++] = e->handle;
		break;
	}
	case TIER_OP_COMMIT:
		T_CHILD_CHECK(e->res == 0);
		T_CHILD_CHECK(tier_data(k->c, w->handle) == NULL);
		break;
	default:
		T_CHILD_CHECK(!"unexpected op");
	}
	return 0;
}

/* Submit ops[0..n) (recording what each expects) and reap them all, with sync calls between. */
static int run_batch(struct worker *k, struct tier_op *ops, const struct want *wants, size_t n)
{
	static __thread struct tier_op release[BATCH_MAX * 2];
	static __thread struct tier_cqe cq[64];
	size_t queued = 0, reaped = 0, n_release = 0;
	uint32_t base = k->n_w;

	T_CHILD_CHECK(k->n_w + n < INT16_MAX);
	for (size_t i = 0; i < n; i++) {
		k->w[base + i] = wants[i];
		ops[i].user_data = base + i;
	}
	k->n_w += (uint32_t)n;
	while (reaped < n) {
		if (queued < n) {
			int r = tier_submit(k->c, ops + queued, n - queued);

			T_CHILD_CHECK(r >= 0);
			queued += (size_t)r;
		}
		/* A synchronous call while async ones are in flight. */
		if (t_rand_below(&k->rng, 4) == 0) {
			uint32_t i = (uint32_t)t_rand_below(&k->rng, POOL);
			tier_handle h;

			T_CHILD_CHECK(tier_acquire(k->c, k->ns, pool_key(i), &h) == 0);
			T_CHILD_CHECK(verify(tier_data(k->c, h), pool_key(i)));
			T_CHILD_CHECK(tier_release(k->c, h) == 0);
		}
		int r = tier_reap(k->c, cq, 64, 5000);

		T_CHILD_CHECK(r > 0);
		for (int i = 0; i < r; i++)
			if (check_cqe(k, &cq[i], release, &n_release))
				return 1;
		reaped += (size_t)r;
	}
	/* The pins taken by this batch, released by the next async round. */
	if (n_release) {
		struct want rw[BATCH_MAX * 2];

		for (size_t i = 0; i < n_release; i++)
			rw[i] = (struct want){ .op = TIER_OP_RELEASE, .handle = release[i].handle };
		return run_batch(k, release, rw, n_release);
	}
	return 0;
}

static int worker_run(struct worker *k)
{
	static __thread struct tier_op ops[BATCH_MAX + OWN];
	static __thread struct want wants[BATCH_MAX + OWN];
	tier_key list[64];
	tier_handle hs[64];
	uint8_t tiers[64];

	T_CHILD_CHECK(tier_connect(d.sock, &k->c) == 0);
	T_CHILD_CHECK(tier_namespace(k->c, "load", BS, &k->ns) == 0);
	for (int round = 0; round < ROUNDS; round++) {
		size_t n = 1 + (size_t)t_rand_below(&k->rng, BATCH_MAX), m = 0;

		/* Commits of the blocks allocated last round. */
		for (uint32_t i = 0; i < k->n_alloc_pending; i++) {
			uint32_t own = k->own_written++;

			ops[m] = (struct tier_op){ .opcode = TIER_OP_COMMIT,
						   .flags = TIER_OPF_PARENT,
						   .handle = k->allocated[i],
						   .key = own_key(k->id, own),
						   .parent = TIER_KEY_ROOT };
			wants[m++] = (struct want){ .op = TIER_OP_COMMIT, .handle = k->allocated[i] };
		}
		k->n_alloc_pending = 0;
		for (size_t i = 0; i < n; i++) {
			uint32_t x = (uint32_t)t_rand_below(&k->rng, POOL);
			bool present = t_rand_below(&k->rng, 3) != 0;
			tier_key key = present ? pool_key(x) : absent_key(k->id, x);
			uint64_t kind = t_rand_below(&k->rng, 10);

			if (kind < 4) {
				ops[m] = (struct tier_op){ .opcode = TIER_OP_LOOKUP, .ns = k->ns,
							   .key = key };
				wants[m++] = (struct want){ .op = TIER_OP_LOOKUP,
							    .present = present, .key = key };
			} else if (kind < 8) {
				ops[m] = (struct tier_op){ .opcode = TIER_OP_ACQUIRE, .ns = k->ns,
							   .key = key };
				wants[m++] = (struct want){ .op = TIER_OP_ACQUIRE,
							    .present = present, .key = key };
			} else if (kind < 9 && k->own_written + k->n_alloc_pending + m < OWN &&
				   m < BATCH_MAX) {
				ops[m] = (struct tier_op){ .opcode = TIER_OP_ALLOC, .ns = k->ns };
				wants[m++] = (struct want){ .op = TIER_OP_ALLOC };
			} else {
				ops[m] = (struct tier_op){ .opcode = TIER_OP_NOP };
				wants[m++] = (struct want){ .op = TIER_OP_NOP };
			}
		}
		/* ALLOC fills its block with the own key of the order it is reaped in. */
		{
			uint32_t next_own = k->own_written + k->n_alloc_pending;

			for (size_t i = 0; i < m; i++)
				if (wants[i].op == TIER_OP_ALLOC)
					wants[i].own = next_own++;
		}
		if (run_batch(k, ops, wants, m))
			return 1;
		/* Batches, synchronously: the leading count and every block's bytes. */
		{
			size_t ln = 1 + (size_t)t_rand_below(&k->rng, 64), gap = (size_t)t_rand_below(&k->rng, 80);
			int got;

			for (size_t i = 0; i < ln; i++)
				list[i] = i == gap ? absent_key(k->id, 7) : pool_key((uint32_t)t_rand_below(&k->rng, POOL));
			size_t lead = gap < ln ? gap : ln;

			T_CHILD_CHECK(tier_lookup_many(k->c, k->ns, list, ln, tiers) == (int)lead);
			for (size_t i = 0; i < ln; i++)
				T_CHILD_CHECK(tiers[i] == (i == gap ? TIER_NONE : TIER_HOST));
			got = tier_acquire_many(k->c, k->ns, list, ln, hs);
			T_CHILD_CHECK(got == (int)lead);
			for (int i = 0; i < got; i++)
				T_CHILD_CHECK(verify(tier_data(k->c, hs[i]), list[i]));
			T_CHILD_CHECK(tier_release_many(k->c, hs, (size_t)got) == got);
		}
	}
	/* Every block this thread wrote is there, with its bytes. */
	for (uint32_t i = 0; i < k->own_written; i++) {
		tier_handle h;

		T_CHILD_CHECK(tier_acquire(k->c, k->ns, own_key(k->id, i), &h) == 0);
		T_CHILD_CHECK(verify(tier_data(k->c, h), own_key(k->id, i)));
		T_CHILD_CHECK(tier_release(k->c, h) == 0);
	}
	T_CHILD_CHECK(k->n_alloc_pending == 0);
	for (uint32_t i = 0; i < k->n_w; i++)
		T_CHILD_CHECK(k->w[i].done);
	T_CHILD_CHECK(k->answered == k->n_w);
	tier_close(k->c);
	return 0;
}

static void *thread_main(void *p)
{
	return (void *)(intptr_t)worker_run(p);
}

/* One client process: NTHREAD threads, each its own client; exits 0 if all passed. */
static int process_main(void *arg)
{
	uint32_t proc = (uint32_t)(uintptr_t)arg;
	struct worker *k = calloc(NTHREAD, sizeof(*k));
	pthread_t t[NTHREAD];
	int failed = 0;

	T_CHILD_CHECK(k != NULL);
	for (uint32_t i = 0; i < NTHREAD; i++) {
		k[i].id = proc * NTHREAD + i;
		k[i].rng = 0x10ad + k[i].id;
		T_CHILD_CHECK(pthread_create(&t[i], NULL, thread_main, &k[i]) == 0);
	}
	for (uint32_t i = 0; i < NTHREAD; i++) {
		void *r;

		pthread_join(t[i], &r);
		failed |= r != NULL;
	}
	for (uint32_t i = 0; i < NTHREAD; i++)
		fprintf(stderr, "client %u: %u async ops, %u blocks written\n", k[i].id, k[i].n_w,
			k[i].own_written);
	free(k);
	return failed;
}

START_TEST(test_processes_and_threads)
{
	pid_t pids[NPROC];
	tier_client *c;
	struct tier_stats s;
	uint32_t ns, written = 0;

	tdaemon_start(&d, "64M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "load", BS, &ns), 0);
	for (uint32_t i = 0; i < POOL; i++) {
		tier_handle h;

		ck_assert_int_eq(tier_alloc(c, ns, &h), 0);
		t_fill(tier_data(c, h), BS, pool_key(i));
		ck_assert_int_eq(tier_commit(c, h, pool_key(i)), 0);
	}
	for (uint32_t p = 0; p < NPROC; p++)
		pids[p] = t_fork(process_main, (void *)(uintptr_t)p);
	for (uint32_t p = 0; p < NPROC; p++) {
		int st = t_wait(pids[p], 60000);

		ck_assert_msg(st != -1, "client process %u timed out", p);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			      "client process %u failed (status 0x%x)", p, st);
	}
	/* Nothing pinned; the pool and every own block are there. */
	for (uint32_t id = 0; id < NPROC * NTHREAD; id++)
		for (uint32_t i = 0; i < OWN; i++) {
			tier_key k = own_key(id, i);

			if (tier_lookup(c, ns, &k, 1) != 1)
				break;
			written++;
		}
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].pinned_blocks, 0);
	ck_assert_uint_eq(s.tiers[0].blocks, POOL + written);
	ck_assert_uint_gt(written, NPROC * NTHREAD);
	ck_assert_uint_eq(s.clients, 1);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

static Suite *ring_load_suite(void)
{
	Suite *s = suite_create("ring_load");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_processes_and_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	t_tierd_path();
	return t_run_suite(ring_load_suite());
}
