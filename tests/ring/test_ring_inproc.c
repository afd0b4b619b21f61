/* SPDX-License-Identifier: MIT */
/*
 * The real client library against the real daemon-side ring code, in one
 * process, with both rings' free-running indices started just below
 * UINT32_MAX — a state a live daemon reaches only after four billion
 * operations.  A thread plays the reactor (ring_poll on a real store); the
 * test calls libtier's public API (its sources are built into this test,
 * attached to the segment by ring_attach, as the handshake would).  Every
 * kind of call crosses the wrap: synchronous ops, batches, and async ops
 * filling the rings with synchronous calls between.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../helpers/testutil.h"
#include "client.h"
#include "server.h"

#define MiB (1ULL << 20)
#define ARENA (32 * MiB)
#define BS 4096
#define SQN TIER_RING_SQ_ENTRIES
#define CQN TIER_RING_CQ_ENTRIES

static struct server srv;
static struct session se;
static uint8_t *arena;
static uint32_t ns;
static pthread_t reactor;
static volatile bool stop;
static int sp[2];
static tier_client *c;

static void *reactor_main(void *p)
{
	(void)p;
	for (unsigned idle = 0; !__atomic_load_n(&stop, __ATOMIC_RELAXED);) {
		if (ring_poll(&srv, &se) > 0)
			idle = 0;
		else if (++idle > 1000)
			usleep(20);
	}
	return NULL;
}

/* A daemon whose rings start at sq0/cq0, and a client attached to them. */
static void start(uint32_t sq0, uint32_t cq0)
{
	struct store_params p = {
		.arena_bytes = ARENA, .max_namespaces = 4, .evict = &tier_evict_lru, .seed = 3,
	};
	struct tier_ring_seg *h;

	arena = aligned_alloc(4096, ARENA);
	ck_assert_ptr_nonnull(arena);
	p.arena = arena;
	memset(&srv, 0, sizeof(srv));
	memset(&se, 0, sizeof(se));
	ck_assert_int_eq(store_init(&srv.store, &p), 0);
	ck_assert_int_eq(store_ns_open(&srv.store, "inproc", BS, &ns), 0);
	store_holder_init(&se.holder, 1);
	ck_assert_int_eq(ring_create(&se.ring, store_max_block_size(&srv.store)), 0);
	h = se.ring.seg;
	se.ring.sq_head = h->sq_head = h->sq_tail = sq0;
	se.ring.cq_tail = h->cq_head = h->cq_tail = cq0;

	/* The client as tier_connect leaves it; the socket only says the daemon is alive. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	c = calloc(1, sizeof(*c));
	ck_assert_ptr_nonnull(c);
	c->fd = sp[0];
	c->base = arena;
	c->arena_bytes = ARENA;
	c->max_block_size = store_max_block_size(&srv.store);
	ck_assert_int_eq(ring_attach(c, se.ring.memfd, dup(se.ring.doorbell)), 0);
	stop = false;
	ck_assert_int_eq(pthread_create(&reactor, NULL, reactor_main, NULL), 0);
}

static void finish(void)
{
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	pthread_join(reactor, NULL);
	/* As tier_close, less what the socket would do. */
	ring_detach(c);
	free(c->held);
	free(c);
	close(sp[0]);
	close(sp[1]);
	store_holder_release_all(&srv.store, &se.holder);
	ring_destroy(&se.ring);
	store_deinit(&srv.store);
	free(arena);
}

static tier_key K(uint32_t i)
{
	return tier_key_next(TIER_KEY_ROOT, &i, sizeof(i));
}

static void fill(void *p, tier_key k)
{
	uint64_t *w = p;

	for (size_t i = 0; i < BS / 8; i++)
		w[i] = k.hi ^ (k.lo + i);
}

static bool verify(const void *p, tier_key k)
{
	const uint64_t *w = p;

	for (size_t i = 0; i < BS / 8; i++)
		if (w[i] != (k.hi ^ (k.lo + i)))
			return false;
	return true;
}

static const uint32_t starts[][2] = {
	{ UINT32_MAX - 50, UINT32_MAX - 50 },
	{ UINT32_MAX - 300, UINT32_MAX - 700 },
	{ UINT32_MAX, 0x7fffffffu },
};

#define NKEYS 400

START_TEST(test_wrap_through_libtier)
{
	uint32_t sq0 = starts[_i][0], cq0 = starts[_i][1];
	static tier_key keys[NKEYS + 1];
	static tier_handle hs[NKEYS + 1];
	static struct tier_op ops[SQN + CQN];
	static struct tier_cqe cqe[SQN + CQN];
	static uint8_t tiers[NKEYS + 1], seen[SQN + CQN];
	tier_handle h;

	start(sq0, cq0);
	/* Synchronous calls, one at a time. */
	for (uint32_t i = 0; i < NKEYS; i++) {
		keys[i] = K(i);
		t_check(tier_alloc(c, ns, &h) == 0);
		fill(tier_data(c, h), keys[i]);
		t_check(tier_commit(c, h, keys[i]) == 0);
		t_check(tier_lookup(c, ns, &keys[i], 1) == 1);
		t_check(tier_acquire(c, ns, keys[i], &h) == 0);
		t_check(verify(tier_data(c, h), keys[i]));
		t_check(tier_release(c, h) == 0);
	}
	keys[NKEYS] = K(NKEYS + 1); /* absent */
	/* Batches. */
	for (int round = 0; round < 10; round++) {
		t_check(tier_lookup_many(c, ns, keys, NKEYS + 1, tiers) == NKEYS);
		t_check(tiers[NKEYS] == TIER_NONE && tiers[0] == TIER_HOST);
		t_check(tier_acquire_many(c, ns, keys, NKEYS + 1, hs) == NKEYS);
		for (uint32_t i = 0; i < NKEYS; i++)
			t_check(verify(tier_data(c, hs[i]), keys[i]));
		t_check(tier_release_many(c, hs, NKEYS) == NKEYS);
	}
	/* Async ops filling the rings, with synchronous calls while they are full. */
	for (int round = 0; round < 8; round++) {
		size_t most = SQN + CQN, queued = 0, reaped = 0;

		memset(seen, 0, sizeof(seen));
		for (size_t i = 0; i < most; i++)
			ops[i] = (struct tier_op){ .opcode = TIER_OP_ACQUIRE, .ns = ns,
						   .key = keys[i % (NKEYS + 1)], .user_data = i };
		for (int tries = 0; queued < most && tries < 100000; tries++) {
			int r = tier_submit(c, ops + queued, most - queued);

			ck_assert_int_ge(r, 0);
			queued += (size_t)r;
			if (!r)
				usleep(10);
		}
		ck_assert_uint_eq(queued, most);
		ck_assert_int_eq(tier_lookup(c, ns, keys, NKEYS), NKEYS);
		ck_assert_int_eq(tier_acquire(c, ns, keys[3], &h), 0);
		ck_assert_int_eq(tier_release(c, h), 0);
		while (reaped < most) {
			int r = tier_reap(c, cqe, most, 5000);

			ck_assert_int_gt(r, 0);
			for (int i = 0; i < r; i++) {
				uint64_t u = cqe[i].user_data;

				t_check(u < most && !seen[u]);
				seen[u] = 1;
				if (u % (NKEYS + 1) == NKEYS) {
					t_check(cqe[i].res == -ENOENT);
					continue;
				}
				t_check(cqe[i].res == 0);
				t_check(verify(tier_data(c, cqe[i].handle), keys[u % (NKEYS + 1)]));
				t_check(tier_release(c, cqe[i].handle) == 0);
			}
			reaped += (size_t)r;
		}
	}
	/* Both rings went past UINT32_MAX and on. */
	ck_assert_uint_gt(c->sq_tail - sq0, 8000);
	ck_assert_uint_lt(c->sq_tail, sq0);
	ck_assert_uint_eq(c->cq_head, se.ring.cq_tail);
	if (cq0 > UINT32_MAX - 1000)
		ck_assert_uint_lt(c->cq_head, cq0);
	ck_assert_uint_eq(se.holder.pins, 0);
	ck_assert_uint_eq(srv.protocol_errors, 0);
	finish();
}
END_TEST

static Suite *ring_inproc_suite(void)
{
	Suite *s = suite_create("ring_inproc");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_wrap_through_libtier, 0,
			    (int)(sizeof(starts) / sizeof(starts[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(ring_inproc_suite());
}
