/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: client requests, through validation, into a real
 * in-process store (tierd/store.c via the op layer, tierd/op.c), to find
 * what validation lets through and the store does not survive.
 *
 * The input is a script of requests from three clients (holders).  Each
 * record starts with a tag byte: the client (tag & 3, mod 3) and the kind
 * ((tag >> 2) & 3):
 *   0  a socket message: type byte, body length byte (x 2), body bytes.
 *      The harness adds the header (magic, type) and runs validate_msg(),
 *      then does what session.c does with it (ns_open, hint, or an op_req
 *      as msg_to_op() builds it, through op_exec()).
 *   1  a ring entry: 64 bytes of struct tier_sqe, then a byte c and c * 16
 *      bytes for the data area at the entry's data_off; validate_sqe(), then
 *      op_exec() as ring.c does.
 *   2  the client hangs up: store_holder_release_all(), then it reconnects.
 *   3  open a namespace: a size byte (block size = (b + 1) * 16 KiB) and a
 *      name byte.
 * Keys are folded onto 32 values and a handle whose high word is all ones
 * names one of the last 16 handles the store returned, so that the fuzzer
 * reaches commits, releases and drops of real blocks instead of -ENOENT.
 *
 * After every request the store's books must balance: pinned_blocks is the
 * number of blocks with pins, the holders' pins add up to the blocks' pins,
 * used_bytes is the sum of the strides of the live blocks, ready_blocks the
 * sum of the namespaces' blocks.  At the end every client hangs up and every
 * key is dropped: nothing may be left pinned, used or ready.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op.h"
#include "store.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ARENA (8ULL << 20)
#define N_HOLDERS 3
#define DATA_BYTES (64 * 1024)

static struct store st;
static struct holder hold[N_HOLDERS];
static tier_handle seen[16];
static unsigned n_seen;
static uint8_t area[DATA_BYTES] __attribute__((aligned(8)));

struct cursor {
	const uint8_t *p;
	size_t left;
};

static bool take(struct cursor *c, void *out, size_t n)
{
	if (c->left < n)
		return false;
	memcpy(out, c->p, n);
	c->p += n;
	c->left -= n;
	return true;
}

static tier_key fold_key(tier_key k)
{
	return (tier_key){ .hi = k.hi & 3, .lo = k.lo & 7 };
}

static tier_handle fold_handle(tier_handle h)
{
	return (h >> 32) == 0xffffffffu ? seen[h & 15] : h;
}

static void remember(tier_handle h)
{
	seen[n_seen++ & 15] = h;
}

static void check_books(void)
{
	uint64_t pinned = 0, pins = 0, hpins = 0, used = 0, ready = 0;

	for (uint32_t s = 0; s < st.used_slots; s++) {
		const struct block *b = &st.blocks[s];

		if (b->state == BLOCK_FREE)
			continue;
		pinned += b->pins > 0;
		pins += b->pins;
		/* No NVMe tier here: every live block holds host memory. */
		used += st.slab.classes[b->cls].stride;
	}
	for (uint32_t i = 0; i < st.n_ns; i++)
		ready += st.ns[i].blocks;
	for (int i = 0; i < N_HOLDERS; i++)
		hpins += hold[i].pins;
	if (pinned != st.pinned_blocks || pins != hpins || used != st.used_bytes ||
	    ready != st.ready_blocks) {
		fprintf(stderr, "books: pinned %llu/%llu pins %llu/%llu used %llu/%llu ready %llu/%llu\n",
			(unsigned long long)pinned, (unsigned long long)st.pinned_blocks,
			(unsigned long long)pins, (unsigned long long)hpins,
			(unsigned long long)used, (unsigned long long)st.used_bytes,
			(unsigned long long)ready, (unsigned long long)st.ready_blocks);
		abort();
	}
}

/* What session.c's msg_to_op() makes of a validated message. */
static bool msg_op(uint16_t type, const uint8_t *body, struct op_req *q, tier_key *keys)
{
	memset(q, 0, sizeof(*q));
	switch (type) {
	case TIER_MSG_ALLOC: {
		struct tier_msg_alloc m;

		memcpy(&m, body, sizeof(m));
		q->code = TIER_OP_ALLOC;
		q->ns = m.ns;
		return true;
	}
	case TIER_MSG_COMMIT: {
		struct tier_msg_commit m;

		memcpy(&m, body, sizeof(m));
		q->code = TIER_OP_COMMIT;
		q->handle = fold_handle(m.handle);
		q->key = fold_key(m.key);
		q->parent = fold_key(m.parent);
		q->flags = (m.flags & TIER_COMMIT_HAS_PARENT) ? TIER_OPF_PARENT : 0;
		return true;
	}
	case TIER_MSG_LOOKUP:
	case TIER_MSG_PREFETCH: {
		struct tier_msg_lookup m;

		memcpy(&m, body, sizeof(m));
		memcpy(keys, body + sizeof(m), (size_t)m.n * sizeof(tier_key));
		for (uint32_t i = 0; i < m.n; i++)
			keys[i] = fold_key(keys[i]);
		q->code = type == TIER_MSG_LOOKUP ? TIER_OP_LOOKUP : TIER_OP_PREFETCH;
		q->ns = m.ns;
		q->keys = keys;
		q->n = m.n;
		q->first_pos = m.first_pos;
		q->total = m.total;
		q->list_parent = fold_key(m.parent);
		return true;
	}
	case TIER_MSG_ACQUIRE:
	case TIER_MSG_DROP: {
		struct tier_msg_key m;

		memcpy(&m, body, sizeof(m));
		q->code = type == TIER_MSG_ACQUIRE ? TIER_OP_ACQUIRE : TIER_OP_DROP;
		q->ns = m.ns;
		q->key = fold_key(m.key);
		return true;
	}
	case TIER_MSG_RELEASE: {
		struct tier_msg_handle m;

		memcpy(&m, body, sizeof(m));
		q->code = TIER_OP_RELEASE;
		q->handle = fold_handle(m.handle);
		return true;
	}
	default:
		return false;
	}
}

static void do_msg(struct holder *h, struct cursor *c)
{
	static tier_key keys[TIER_LOOKUP_BATCH];
	static uint8_t buf[sizeof(struct tier_msg_hdr) + 512];
	struct tier_msg_hdr hdr = { .magic = TIER_PROTO_MAGIC };
	const void *body;
	size_t blen;
	uint8_t type, len;
	struct op_req q;
	struct op_res res;
	int r;

	if (!take(c, &type, 1) || !take(c, &len, 1))
		return;
	hdr.type = type % (TIER_MSG__MAX + 1);
	blen = (size_t)len * 2;
	if (c->left < blen)
		blen = c->left;
	memcpy(buf, &hdr, sizeof(hdr));
	take(c, buf + sizeof(hdr), blen);
	r = validate_msg(buf, sizeof(hdr) + blen, 1, &hdr, &body, &blen);
	if (r < 0)
		return;
	if (hdr.type == TIER_MSG_NS_OPEN) {
		struct tier_msg_ns_open m;
		uint32_t ns;

		memcpy(&m, body, sizeof(m));
		store_ns_open(&st, m.name, m.block_size, &ns);
		return;
	}
	if (hdr.type == TIER_MSG_HINT) {
		struct tier_msg_hint m;

		memcpy(&m, body, sizeof(m));
		memcpy(keys, (const uint8_t *)body + sizeof(m), (size_t)m.n * sizeof(tier_key));
		for (uint32_t i = 0; i < m.n; i++)
			keys[i] = fold_key(keys[i]);
		r = store_hint(&st, m.ns, keys, m.n, m.priority);
		assert(r >= 0 || r == -ENOENT || r == -EINVAL);
		return;
	}
	if (!msg_op(hdr.type, body, &q, keys))
		return;
	r = op_exec(&st, h, &q, false, &res);
	assert(r != -EINPROGRESS); /* no NVMe tier: nothing ever waits */
	if (r >= 0 && (q.code == TIER_OP_ALLOC || q.code == TIER_OP_ACQUIRE)) {
		assert(res.offset + res.size <= ARENA);
		remember(res.handle);
	}
}

static void do_sqe(struct holder *h, struct cursor *c)
{
	static tier_key keys[DATA_BYTES / sizeof(tier_key)];
	static tier_handle handles[DATA_BYTES / sizeof(tier_handle)];
	static tier_handle ret_h[DATA_BYTES / sizeof(tier_key)];
	static uint64_t ret_off[DATA_BYTES / sizeof(tier_key)];
	struct tier_sqe e;
	struct op_req q;
	struct op_res res;
	uint8_t cnt;
	int r;

	if (!take(c, &e, sizeof(e)))
		return;
	if (take(c, &cnt, 1)) {
		size_t n = (size_t)cnt * 16;

		if (n > c->left)
			n = c->left;
		if (e.data_off < DATA_BYTES && n > DATA_BYTES - e.data_off)
			n = DATA_BYTES - e.data_off;
		if (e.data_off < DATA_BYTES)
			take(c, area + e.data_off, n);
	}
	if (validate_sqe(&e, DATA_BYTES) < 0)
		return;
	/* What ring.c's sqe_to_op() does, with keys and handles folded. */
	memset(&q, 0, sizeof(q));
	q.code = e.opcode;
	q.flags = e.flags;
	q.ns = e.ns;
	q.key = fold_key(e.key);
	q.parent = fold_key(e.parent);
	q.handle = fold_handle(e.handle);
	q.n = e.n;
	switch (e.opcode) {
	case TIER_SQE_LOOKUP_MANY:
	case TIER_SQE_ACQUIRE_MANY:
		memcpy(keys, area + e.data_off, (size_t)e.n * sizeof(tier_key));
		q.keys = keys;
		q.ret_tier = area + e.data_off + (size_t)e.n * sizeof(tier_key);
		if (e.opcode == TIER_SQE_ACQUIRE_MANY) {
			q.ret_tier = NULL;
			q.ret_handles = ret_h;
			q.ret_offs = ret_off;
		}
		break;
	case TIER_SQE_RELEASE_MANY:
		memcpy(handles, area + e.data_off, (size_t)e.n * sizeof(tier_handle));
		q.handles = handles;
		break;
	case TIER_SQE_COMMIT_MANY:
		memcpy(handles, area + e.data_off, (size_t)e.n * sizeof(tier_handle));
		memcpy(keys, area + e.data_off + (size_t)e.n * sizeof(tier_handle),
		       (size_t)e.n * sizeof(tier_key));
		q.handles = handles;
		q.keys = keys;
		break;
	default:
		break;
	}
	for (uint32_t i = 0; q.keys && i < e.n; i++)
		keys[i] = fold_key(keys[i]);
	for (uint32_t i = 0; q.handles && i < e.n; i++)
		handles[i] = fold_handle(handles[i]);
	r = op_exec(&st, h, &q, false, &res);
	assert(r != -EINPROGRESS);
	if (r >= 0 && (e.opcode == TIER_OP_ALLOC || e.opcode == TIER_OP_ACQUIRE))
		remember(res.handle);
	if (e.opcode == TIER_SQE_ACQUIRE_MANY && r > 0) {
		assert((uint32_t)r <= e.n);
		for (int i = 0; i < r; i++)
			remember(ret_h[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_params p = {
		.arena_bytes = ARENA, .max_namespaces = 4, .evict = &tier_evict_lru, .seed = 1,
	};
	struct cursor c = { data, size };
	uint32_t ns;
	uint8_t tag;

	if (store_init(&st, &p) < 0)
		abort();
	for (int i = 0; i < N_HOLDERS; i++)
		store_holder_init(&hold[i], (uint32_t)i + 1);
	memset(seen, 0, sizeof(seen));
	n_seen = 0;
	/* Two namespaces to begin with, so the first records can use them. */
	store_ns_open(&st, "a", 64 * 1024, &ns);
	store_ns_open(&st, "b", 1024 * 1024, &ns);
	while (take(&c, &tag, 1)) {
		struct holder *h = &hold[(tag & 3) % N_HOLDERS];

		switch ((tag >> 2) & 3) {
		case 0:
			do_msg(h, &c);
			break;
		case 1:
			do_sqe(h, &c);
			break;
		case 2:
			store_holder_release_all(&st, h);
			store_holder_init(h, h->id);
			break;
		case 3: {
			uint8_t b[2];
			char name[2];

			if (!take(&c, b, 2))
				break;
			name[0] = (char)('a' + b[1] % 6);
			name[1] = 0;
			store_ns_open(&st, name, ((uint64_t)b[0] + 1) * 16 * 1024, &ns);
			break;
		}
		}
		check_books();
	}
	for (int i = 0; i < N_HOLDERS; i++)
		store_holder_release_all(&st, &hold[i]);
	check_books();
	assert(st.pinned_blocks == 0);
	for (uint32_t n = 0; n < st.n_ns; n++)
		for (uint64_t hi = 0; hi < 4; hi++)
			for (uint64_t lo = 0; lo < 8; lo++)
				store_drop(&st, n, (tier_key){ hi, lo });
	check_books();
	if (st.used_bytes || st.ready_blocks || st.pinned_blocks) {
		fprintf(stderr, "left over: used %llu ready %llu pinned %llu\n",
			(unsigned long long)st.used_bytes, (unsigned long long)st.ready_blocks,
			(unsigned long long)st.pinned_blocks);
		abort();
	}
	store_deinit(&st);
	return 0;
}
