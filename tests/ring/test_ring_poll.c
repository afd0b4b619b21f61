/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the daemon's end of the rings (tierd/ring.c), driven
 * directly: a struct server with a real store, one session whose segment
 * comes from ring_create(), and this file playing a client that writes
 * entries into the shared memory by hand and calls ring_poll() as the
 * reactor would.  Covered: every opcode's completion, free-running indices
 * that wrap the ring thousands of times and cross UINT32_MAX, a full
 * completion ring (nothing lost, nothing consumed without a place for its
 * answer), impossible indices (the session must be cut off), garbage
 * entries and scribbled geometry (answered with errors, never acted on),
 * and batches placed anywhere in the data area.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "../helpers/testutil.h"
#include "server.h"

#define MiB (1ULL << 20)
#define ARENA (32 * MiB)
#define BS 4096
#define SQN TIER_RING_SQ_ENTRIES
#define CQN TIER_RING_CQ_ENTRIES

static struct server srv;
static struct session se;
static uint32_t ns;
/* The client's side: our own copies of the indices we produce/consume. */
static uint32_t sq_tail, cq_head;

static void setup(void)
{
	struct store_params p = {
		.arena_bytes = ARENA, .max_namespaces = 4, .evict = &tier_evict_lru, .seed = 7,
	};

	memset(&srv, 0, sizeof(srv));
	memset(&se, 0, sizeof(se));
	ck_assert_int_eq(store_init(&srv.store, &p), 0);
	ck_assert_int_eq(store_ns_open(&srv.store, "ring", BS, &ns), 0);
	store_holder_init(&se.holder, 1);
	se.id = 1;
	ck_assert_int_eq(ring_create(&se.ring, store_max_block_size(&srv.store)), 0);
	sq_tail = cq_head = 0;
}

static void teardown(void)
{
	store_holder_release_all(&srv.store, &se.holder);
	ring_destroy(&se.ring);
	store_deinit(&srv.store);
}

/* Start both rings at the given free-running indices (a fresh ring, nothing in flight). */
static void set_indices(uint32_t sq, uint32_t cq)
{
	struct tier_ring_seg *h = se.ring.seg;

	se.ring.sq_head = sq;
	se.ring.cq_tail = cq;
	h->sq_head = h->sq_tail = sq;
	h->cq_head = h->cq_tail = cq;
	sq_tail = sq;
	cq_head = cq;
}

/* Client: put e in the submission ring; false when it is full. */
static bool push(const struct tier_sqe *e)
{
	struct tier_ring_seg *h = se.ring.seg;

	/* The geometry is the daemon's own copy: tests scribble on the shared one. */
	if (sq_tail - __atomic_load_n(&h->sq_head, __ATOMIC_ACQUIRE) >= SQN)
		return false;
	se.ring.sq[sq_tail & (SQN - 1)] = *e;
	sq_tail++;
	__atomic_store_n(&h->sq_tail, sq_tail, __ATOMIC_RELEASE);
	return true;
}

/* Client: take one completion; false when there is none. */
static bool pop(struct tier_ring_cqe *ret)
{
	struct tier_ring_seg *h = se.ring.seg;

	if (__atomic_load_n(&h->cq_tail, __ATOMIC_ACQUIRE) == cq_head)
		return false;
	*ret = se.ring.cq[cq_head & (CQN - 1)];
	cq_head++;
	__atomic_store_n(&h->cq_head, cq_head, __ATOMIC_RELEASE);
	return true;
}

static uint8_t *data_area(void)
{
	return se.ring.data;
}

/* Submit one entry, let the daemon run, and return its completion. */
static struct tier_ring_cqe call(struct tier_sqe e)
{
	struct tier_ring_cqe c;

	t_check(push(&e));
	t_check(ring_poll(&srv, &se) == 1);
	t_check(pop(&c));
	t_check_eq(c.user_data, e.user_data);
	t_check(!pop(&(struct tier_ring_cqe){ 0 }));
	return c;
}

static tier_key K(uint64_t i)
{
	return (tier_key){ .hi = 0xabc0000 + i, .lo = i * 0x9E3779B97F4A7C15ULL + 1 };
}

/* Every single-key opcode once, and what its completion carries. */
START_TEST(test_each_opcode)
{
	struct tier_ring_cqe c;
	tier_handle wh, rh;
	uint64_t woff;

	c = call((struct tier_sqe){ .opcode = TIER_OP_NOP, .user_data = 1 });
	ck_assert_int_eq(c.res, 0);
	c = call((struct tier_sqe){ .opcode = TIER_OP_ALLOC, .ns = ns, .user_data = 2 });
	ck_assert_int_eq(c.res, 0);
	ck_assert_uint_ne(c.handle, 0);
	ck_assert_uint_le(c.offset + BS, ARENA);
	wh = c.handle;
	woff = c.offset;
	c = call((struct tier_sqe){ .opcode = TIER_OP_LOOKUP, .ns = ns, .key = K(1), .user_data = 3 });
	ck_assert_int_eq(c.res, -ENOENT);
	c = call((struct tier_sqe){ .opcode = TIER_OP_COMMIT, .flags = TIER_OPF_PARENT,
				    .handle = wh, .key = K(1), .parent = TIER_KEY_ROOT,
				    .user_data = 4 });
	ck_assert_int_eq(c.res, 0);
	c = call((struct tier_sqe){ .opcode = TIER_OP_LOOKUP, .ns = ns, .key = K(1), .user_data = 5 });
	ck_assert_int_eq(c.res, TIER_HOST);
	c = call((struct tier_sqe){ .opcode = TIER_OP_ACQUIRE, .ns = ns, .key = K(1), .user_data = 6 });
	ck_assert_int_eq(c.res, 0);
	ck_assert_uint_eq(c.offset, woff);
	rh = c.handle;
	ck_assert_uint_eq(se.holder.pins, 1);
	/* No NVMe tier: nothing to bring up. */
	c = call((struct tier_sqe){ .opcode = TIER_OP_PREFETCH, .ns = ns, .key = K(1),
				    .user_data = 7 });
	ck_assert_int_eq(c.res, 0);
	c = call((struct tier_sqe){ .opcode = TIER_OP_RELEASE, .handle = rh, .user_data = 8 });
	ck_assert_int_eq(c.res, 0);
	ck_assert_uint_eq(se.holder.pins, 0);
	c = call((struct tier_sqe){ .opcode = TIER_OP_RELEASE, .handle = rh, .user_data = 9 });
	ck_assert_int_lt(c.res, 0);
	c = call((struct tier_sqe){ .opcode = TIER_OP_DROP, .ns = ns, .key = K(1), .user_data = 10 });
	ck_assert_int_eq(c.res, 0);
	c = call((struct tier_sqe){ .opcode = TIER_OP_DROP, .ns = ns, .key = K(1), .user_data = 11 });
	ck_assert_int_eq(c.res, -ENOENT);
	c = call((struct tier_sqe){ .opcode = TIER_OP_ACQUIRE, .ns = ns, .key = K(1),
				    .user_data = 12 });
	ck_assert_int_eq(c.res, -ENOENT);
	ck_assert_uint_eq(c.handle, 0);
	/* A namespace that does not exist. */
	c = call((struct tier_sqe){ .opcode = TIER_OP_ALLOC, .ns = 99, .user_data = 13 });
	ck_assert_int_eq(c.res, -ENOENT);
	ck_assert_uint_eq(srv.store.c.alloc, 2);
	ck_assert_uint_eq(srv.store.c.commit, 1);
	ck_assert_uint_eq(srv.store.c.release, 2);
	ck_assert_uint_eq(se.ops, 13);
	ck_assert_uint_eq(srv.protocol_errors, 0);
}
END_TEST

/*
 * Many more operations than the rings hold, submitted in bursts of varied
 * size, from several starting points including just below UINT32_MAX: every
 * completion comes back once, in order, with the right answer.
 */
static const uint32_t starts[][2] = {
	{ 0, 0 },
	{ UINT32_MAX - 100, UINT32_MAX - 300 },
	{ UINT32_MAX, UINT32_MAX },
	{ UINT32_MAX - SQN + 1, UINT32_MAX - CQN + 3 },
	{ 0x80000000u - 7, 0x7fffffffu },
};

START_TEST(test_wrap)
{
	uint32_t sq0 = starts[_i][0], cq0 = starts[_i][1];
	uint64_t rng = 42 + (uint64_t)_i, next_ud = 1, want_ud = 1;
	uint32_t rounds = 20000, done = 0;
	/* What each in-flight user_data expects, by user_data modulo a window. */
	static struct { uint8_t op; uint64_t key; } expect[4096];
	static tier_handle writing[4096];

	set_indices(sq0, cq0);
	while (done < rounds) {
		uint32_t burst = 1 + (uint32_t)t_rand_below(&rng, SQN), pushed = 0;
		struct tier_ring_cqe c;

		/* Each op is an alloc, a commit of that alloc, or a lookup of a committed key. */
		for (uint32_t i = 0; i < burst && next_ud - want_ud < 4000; i++) {
			struct tier_sqe e = { .user_data = next_ud, .ns = ns };
			uint64_t slot = next_ud % 4096;

			switch (next_ud % 3) {
			case 1:
				e.opcode = TIER_OP_ALLOC;
				break;
			case 2:
				/* Commit the alloc one before (its handle is known once it is reaped). */
				e.opcode = TIER_OP_NOP;
				break;
			default:
				e.opcode = TIER_OP_LOOKUP;
				e.key = K(next_ud / 3 % 50);
				break;
			}
			if (!push(&e))
				break;
			expect[slot].op = e.opcode;
			expect[slot].key = next_ud / 3 % 50;
			next_ud++;
			pushed++;
		}
		/* Let the daemon run until it has consumed everything it can. */
		while (ring_poll(&srv, &se) > 0)
			;
		while (pop(&c)) {
			uint64_t slot = want_ud % 4096;

			t_check_eq(c.user_data, want_ud);
			switch (expect[slot].op) {
			case TIER_OP_ALLOC:
				t_check_eq(c.res, 0);
				writing[slot] = c.handle;
				break;
			case TIER_OP_NOP:
				t_check_eq(c.res, 0);
				break;
			default:
				/* Keys K(0..49) are committed as the test goes (below). */
				t_check(c.res == TIER_HOST || c.res == -ENOENT);
				break;
			}
			want_ud++;
			done++;
		}
		/* Commit the reaped allocs synchronously under their keys (first writer wins). */
		for (uint64_t u = want_ud - (want_ud - 1 < 4000 ? want_ud - 1 : 4000); u < want_ud; u++) {
			uint64_t slot = u % 4096;

			if (expect[slot].op == TIER_OP_ALLOC && writing[slot]) {
				struct tier_sqe e = { .opcode = TIER_OP_COMMIT, .handle = writing[slot],
						      .key = K(u % 50), .user_data = 1ULL << 63 };
				struct tier_ring_cqe cc;

				writing[slot] = 0;
				t_check(push(&e));
				t_check(ring_poll(&srv, &se) == 1);
				t_check(pop(&cc));
				t_check_eq(cc.user_data, 1ULL << 63);
				t_check(cc.res == 0 || cc.res == -EEXIST);
			}
		}
		(void)pushed;
	}
	t_check_eq(next_ud, want_ud);
	/* The indices went far past their start: across 0 for the starts near the top. */
	ck_assert_uint_gt(se.ring.sq_head - sq0, 20000);
	ck_assert_uint_eq(se.ring.seg->sq_head, sq_tail);
	ck_assert_uint_eq(se.ring.cq_tail, cq_head);
	if (sq0 > UINT32_MAX - 1000)
		ck_assert_uint_lt(se.ring.sq_head, sq0);
	ck_assert_uint_eq(srv.protocol_errors, 0);
	/* Every alloc was committed or freed: nothing is left held. */
	ck_assert_uint_eq(se.holder.pins, 0);
}
END_TEST

/*
 * A full completion ring: the daemon consumes no entry it cannot answer,
 * leaves the rest in the submission ring, and nothing is lost once the
 * client reaps.  Such a ring is not "pending" for the reactor: there is
 * nothing it can do until the client reaps (else it would spin).
 */
START_TEST(test_full_cq)
{
	uint32_t sq0 = _i ? UINT32_MAX - 200 : 0, cq0 = _i ? UINT32_MAX - 5 : 0;
	uint64_t next = 0, want = 0;
	struct tier_ring_cqe c;
	int r;

	set_indices(sq0, cq0);
	/* Fill: the daemon takes entries until the CQ is full; the SQ then fills too. */
	for (;;) {
		while (push(&(struct tier_sqe){ .opcode = TIER_OP_NOP, .user_data = next }))
			next++;
		r = ring_poll(&srv, &se);
		ck_assert_int_ge(r, 0);
		if (r == 0)
			break;
	}
	ck_assert_uint_eq(next, SQN + CQN);
	ck_assert_uint_eq(se.ring.cq_tail - cq0, CQN);
	ck_assert_uint_eq(se.ring.sq_head - sq0, CQN);
	ck_assert_msg(!ring_pending(&se.ring),
		      "a ring whose completions are all unreaped must not keep the reactor busy");
	/* Reap a few: exactly that many more are taken. */
	for (int i = 0; i < 10; i++) {
		ck_assert(pop(&c));
		ck_assert_uint_eq(c.user_data, want++);
	}
	ck_assert(ring_pending(&se.ring));
	ck_assert_int_eq(ring_poll(&srv, &se), 10);
	ck_assert_int_eq(ring_poll(&srv, &se), 0);
	/* Reap everything, in order, nothing lost or doubled. */
	for (;;) {
		while (pop(&c)) {
			t_check_eq(c.user_data, want);
			t_check_eq(c.res, 0);
			want++;
		}
		if (ring_poll(&srv, &se) == 0)
			break;
	}
	ck_assert_uint_eq(want, next);
	ck_assert(!ring_pending(&se.ring));
	ck_assert_uint_eq(se.ops, next);
}
END_TEST

/*
 * Indices a client cannot have produced: -EBADMSG (the caller disconnects).
 * The limits themselves (a full SQ, a full CQ) are fine.
 */
struct bad_case {
	const char *what;
	int64_t sq_tail, cq_head; /* relative to the daemon's sq_head / cq_tail */
	bool bad;
};

static const struct bad_case bad_cases[] = {
	{ "sq_tail one ring ahead (full)", SQN, 0, false },
	{ "sq_tail more than a ring ahead", SQN + 1, 0, true },
	{ "sq_tail far ahead", 1 << 30, 0, true },
	{ "sq_tail behind the head", -1, 0, true },
	{ "cq_head a whole ring behind (full)", 0, -CQN, false },
	{ "cq_head more than a ring behind", 0, -CQN - 1, true },
	{ "cq_head ahead of cq_tail", 0, 1, true },
	{ "cq_head far ahead", 0, 1 << 30, true },
	{ "both impossible", -5, 7, true },
};

START_TEST(test_impossible_indices)
{
	const struct bad_case *bc = &bad_cases[_i % (int)(sizeof(bad_cases) / sizeof(bad_cases[0]))];
	bool top = _i >= (int)(sizeof(bad_cases) / sizeof(bad_cases[0]));
	uint32_t sq0 = top ? UINT32_MAX - 3 : 0, cq0 = top ? 2 : 0;
	struct tier_ring_seg *h;
	int r;

	set_indices(sq0, cq0);
	h = se.ring.seg;
	/* A valid NOP in every slot, so a non-corrupt case has something real to consume. */
	for (uint32_t i = 0; i < SQN; i++)
		se.ring.sq[i] = (struct tier_sqe){ .opcode = TIER_OP_NOP, .user_data = i };
	if (bc->cq_head < 0) {
		/* The daemon has posted that many completions the client has not reaped. */
		se.ring.cq_tail = cq0 + (uint32_t)(-bc->cq_head);
		h->cq_tail = se.ring.cq_tail;
	} else {
		h->cq_head = cq0 + (uint32_t)bc->cq_head;
	}
	h->sq_tail = sq0 + (uint32_t)bc->sq_tail;
	r = ring_poll(&srv, &se);
	if (bc->bad) {
		ck_assert_msg(r == -EBADMSG, "%s: ring_poll %d, want -EBADMSG", bc->what, r);
		/* It acted on nothing. */
		ck_assert_uint_eq(se.ops, 0);
	} else {
		ck_assert_msg(r >= 0, "%s: ring_poll %d", bc->what, r);
	}
}
END_TEST

/*
 * Garbage: random bytes in every entry, in the data area and in the
 * geometry the client can scribble on.  Every entry is answered once with
 * its own user_data, the answers to invalid ones are -EINVAL and counted as
 * protocol errors, and the store stays consistent (ASan/UBSan watch the rest).
 */
START_TEST(test_garbage_entries)
{
	uint64_t rng = 0xdead + (uint64_t)_i;
	struct tier_ring_seg *h = se.ring.seg;
	uint64_t answered = 0, submitted = 0, einval = 0;
	uint8_t *data = data_area();

	/* Some real blocks, so that random handles and batches sometimes meet one. */
	for (int i = 0; i < 20; i++) {
		struct tier_ring_cqe c = call((struct tier_sqe){ .opcode = TIER_OP_ALLOC, .ns = ns,
								 .user_data = 1000 + (uint64_t)i });

		ck_assert_int_eq(c.res, 0);
		c = call((struct tier_sqe){ .opcode = TIER_OP_COMMIT, .handle = c.handle,
					    .key = K((uint64_t)i), .user_data = 2000 + (uint64_t)i });
		ck_assert_int_eq(c.res, 0);
	}
	/* The daemon keeps its own geometry: scribbling on the shared copy changes nothing. */
	h->sq_entries = 3;
	h->cq_entries = 0;
	h->sq_off = UINT64_MAX;
	h->cq_off = 1;
	h->data_off = 12345;
	h->data_bytes = UINT64_MAX;
	h->magic = 0;
	/* sq_head and cq_tail are the daemon's to write: it does not read them back. */
	h->sq_head = 77;
	h->cq_tail = 99;

	for (int round = 0; round < 300; round++) {
		uint32_t k = 1 + (uint32_t)t_rand_below(&rng, SQN);
		struct tier_ring_cqe c;

		for (size_t i = 0; i < 4096; i++)
			data[t_rand_below(&rng, TIER_RING_DATA_BYTES)] = (uint8_t)t_rand(&rng);
		for (uint32_t i = 0; i < k; i++) {
			struct tier_sqe e;
			uint64_t w[8];

			for (int j = 0; j < 8; j++)
				w[j] = t_rand(&rng);
			memcpy(&e, w, sizeof(e));
			switch (t_rand_below(&rng, 4)) {
			case 0: /* a known opcode, otherwise garbage */
				e.opcode = (uint8_t)t_rand_below(&rng, 8);
				e.pad = 0;
				e.flags = 0;
				e.n = e.data_off = 0;
				e.ns = (uint32_t)t_rand_below(&rng, 3);
				break;
			case 1: /* a batch with a valid range of random keys/handles */
				e.opcode = (uint8_t)(TIER_SQE_LOOKUP_MANY + t_rand_below(&rng, 4));
				e.pad = 0;
				e.flags = 0;
				e.n = 1 + (uint32_t)t_rand_below(&rng, 2000);
				e.data_off = (uint32_t)t_rand_below(&rng, 1000) * 8;
				e.ns = (uint32_t)t_rand_below(&rng, 2);
				break;
			default: /* as random as it comes */
				break;
			}
			e.user_data = submitted;
			/* Written straight into the ring, past the client's view of the head. */
			se.ring.sq[sq_tail & (SQN - 1)] = e;
			sq_tail++;
			submitted++;
		}
		__atomic_store_n(&h->sq_tail, sq_tail, __ATOMIC_RELEASE);
		for (;;) {
			int r = ring_poll(&srv, &se);

			ck_assert_int_ge(r, 0);
			while (pop(&c)) {
				t_check_eq(c.user_data, answered);
				einval += c.res == -EINVAL;
				answered++;
			}
			if (r == 0)
				break;
		}
		ck_assert_uint_eq(answered, submitted);
		/* Release what random acquires pinned, so the store does not fill up. */
		store_holder_release_all(&srv.store, &se.holder);
		store_holder_init(&se.holder, 1);
	}
	ck_assert_uint_gt(einval, submitted / 4);
	ck_assert_uint_ge(srv.protocol_errors, einval / 2);
	ck_assert_uint_eq(se.ring.sq_head, sq_tail);
	/* The real blocks are all still there, and a normal entry still works. */
	for (int i = 0; i < 20; i++) {
		struct tier_ring_cqe c = call((struct tier_sqe){ .opcode = TIER_OP_LOOKUP, .ns = ns,
								 .key = K((uint64_t)i),
								 .user_data = 5000 });

		ck_assert_int_eq(c.res, TIER_HOST);
	}
}
END_TEST

/* Batches at the start, in the middle and at the very end of the data area. */
START_TEST(test_batches)
{
	static const uint32_t offs[] = { 0, 8, 4096, 0 /* end: set below */ };
	uint32_t n = 100, off = offs[_i];
	uint8_t *d = data_area();
	tier_handle wh[100], ah[100];
	tier_key keys[100];
	struct tier_ring_cqe c;

	if (_i == 3)
		off = (uint32_t)((TIER_RING_DATA_BYTES - (uint64_t)n * 32) & ~7ULL);
	for (uint32_t i = 0; i < n; i++) {
		c = call((struct tier_sqe){ .opcode = TIER_OP_ALLOC, .ns = ns, .user_data = i });
		ck_assert_int_eq(c.res, 0);
		wh[i] = c.handle;
		keys[i] = K(i);
	}
	/* COMMIT_MANY: n handles then n keys; one forged handle among them is skipped. */
	wh[50] ^= 1ULL << 40;
	memcpy(d + off, wh, n * 8);
	memcpy(d + off + n * 8, keys, n * 16);
	c = call((struct tier_sqe){ .opcode = TIER_SQE_COMMIT_MANY, .n = n, .data_off = off,
				    .user_data = 777 });
	ck_assert_int_eq(c.res, (int)n - 1);
	wh[50] ^= 1ULL << 40;
	/* LOOKUP_MANY: leading count 50, per-key tiers after the gap too. */
	memcpy(d + off, keys, n * 16);
	memset(d + off + n * 16, 0xee, n);
	c = call((struct tier_sqe){ .opcode = TIER_SQE_LOOKUP_MANY, .ns = ns, .n = n,
				    .data_off = off, .user_data = 778 });
	ck_assert_int_eq(c.res, 50);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_uint_eq(d[off + n * 16 + i], i == 50 ? TIER_NONE : TIER_HOST);
	/* ACQUIRE_MANY: the leading 50, (handle, offset) pairs after the keys. */
	memcpy(d + off, keys, n * 16);
	c = call((struct tier_sqe){ .opcode = TIER_SQE_ACQUIRE_MANY, .ns = ns, .n = n,
				    .data_off = off, .user_data = 779 });
	ck_assert_int_eq(c.res, 50);
	ck_assert_uint_eq(se.holder.pins, 50);
	for (uint32_t i = 0; i < 50; i++) {
		uint64_t o;

		memcpy(&ah[i], d + off + n * 16 + i * 16, 8);
		memcpy(&o, d + off + n * 16 + i * 16 + 8, 8);
		ck_assert_uint_ne(ah[i], 0);
		ck_assert_uint_le(o + BS, ARENA);
	}
	/* RELEASE_MANY: each pin once; the second time none. */
	memcpy(d + off, ah, 50 * 8);
	c = call((struct tier_sqe){ .opcode = TIER_SQE_RELEASE_MANY, .n = 50, .data_off = off,
				    .user_data = 780 });
	ck_assert_int_eq(c.res, 50);
	ck_assert_uint_eq(se.holder.pins, 0);
	c = call((struct tier_sqe){ .opcode = TIER_SQE_RELEASE_MANY, .n = 50, .data_off = off,
				    .user_data = 781 });
	ck_assert_int_eq(c.res, 0);
	/* A batch one byte too long for the area: -EINVAL, nothing done. */
	c = call((struct tier_sqe){ .opcode = TIER_SQE_LOOKUP_MANY, .ns = ns,
				    .n = (TIER_RING_DATA_BYTES - off) / 17 + 1, .data_off = off,
				    .user_data = 782 });
	ck_assert_int_eq(c.res, -EINVAL);
	/* The forged handle's block (still writing, ours) is freed when the holder goes. */
}
END_TEST

/* The largest batches the data area allows, on every batch opcode. */
START_TEST(test_largest_batches)
{
	uint8_t *d = data_area();
	uint32_t nl = TIER_RING_DATA_BYTES / 17, na = TIER_RING_DATA_BYTES / 32;
	uint32_t nr = TIER_RING_DATA_BYTES / 8, nc = TIER_RING_DATA_BYTES / 24;
	struct tier_ring_cqe c;

	for (uint32_t i = 0; i < nl; i++) {
		tier_key k = K(i % 3 ? 1u << 20 : i); /* mostly absent */

		memcpy(d + (size_t)i * 16, &k, 16);
	}
	c = call((struct tier_sqe){ .opcode = TIER_SQE_LOOKUP_MANY, .ns = ns, .n = nl,
				    .user_data = 1 });
	ck_assert_int_eq(c.res, 0);
	c = call((struct tier_sqe){ .opcode = TIER_SQE_ACQUIRE_MANY, .ns = ns, .n = na,
				    .user_data = 2 });
	ck_assert_int_eq(c.res, 0);
	memset(d, 0x5a, TIER_RING_DATA_BYTES);
	c = call((struct tier_sqe){ .opcode = TIER_SQE_RELEASE_MANY, .n = nr, .user_data = 3 });
	ck_assert_int_eq(c.res, 0);
	c = call((struct tier_sqe){ .opcode = TIER_SQE_COMMIT_MANY, .n = nc, .user_data = 4 });
	ck_assert_int_eq(c.res, 0);
	ck_assert_uint_eq(srv.store.c.errors, 0);
}
END_TEST

static Suite *ring_poll_suite(void)
{
	Suite *s = suite_create("ring_poll");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_each_opcode);
	tcase_add_loop_test(tc, test_wrap, 0, (int)(sizeof(starts) / sizeof(starts[0])));
	tcase_add_loop_test(tc, test_full_cq, 0, 2);
	tcase_add_loop_test(tc, test_impossible_indices, 0,
			    2 * (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_loop_test(tc, test_garbage_entries, 0, 3);
	tcase_add_loop_test(tc, test_batches, 0, 4);
	tcase_add_test(tc, test_largest_batches);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(ring_poll_suite());
}
