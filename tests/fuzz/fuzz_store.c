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
 * used_bytes is the sum of the strides of the blocks holding host memory,
 * ready_blocks the sum of the namespaces' blocks.  At the end every client
 * hangs up and every key is dropped: nothing may be left pinned, used or
 * ready.
 *
 * Built with FUZZ_NVME (fuzz_store_nvme), the store has an NVMe tier on a
 * fake device in memory whose I/O completes only when the script says so,
 * in any order, successfully or not:
 *   4  complete one pending I/O (a byte picks which) successfully;
 *   5  complete one with -EIO, or with a corrupted header or data (a flip);
 *   6  start a flush (store_flush_start/kick), as tier_flush does;
 *   7  take the journal's pending records and finish their write (ok or not).
 * Requests that must wait (-EINPROGRESS) are parked and retried after each
 * completion, as session.c and ring.c do.  Committed blocks carry bytes
 * derived from their key; every acquire that succeeds, from host memory or
 * after a promotion, must see them: a corrupted read must be a miss, never
 * data.
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

#ifdef FUZZ_NVME
#define NV_BYTES (16ULL << 20)
#define MAX_PENDING 256
#define MAX_PARKED 4

/* The fake device: data, and the header written at each 4 KiB offset. */
static uint8_t *dev;
static struct nv_hdr *dev_hdr;

struct pending {
	bool write;
	tier_handle h;
	uint64_t dev_off, host_off, len;
	struct nv_hdr hdr;
};

static struct pending pend[MAX_PENDING];
static unsigned n_pend;

struct parked {
	struct op_req q;
	tier_key keys[64];
	tier_handle handles[64];
	tier_handle ret_h[64];
	uint64_t ret_off[64];
	bool check;          /* an acquire: check the bytes once it completes */
};

static struct parked parked[3][MAX_PARKED];
static unsigned n_parked[3];
static uint64_t flush_epoch;
static bool flushing;

static int fake_write(void *ctx, tier_handle h, uint32_t d, uint64_t off, const struct nv_hdr *hdr,
		      uint64_t host_off, uint64_t len)
{
	(void)ctx;
	assert(d == 0 && off + NVME_HDR_BYTES + len <= NV_BYTES && host_off + len <= ARENA);
	if (n_pend == MAX_PENDING)
		return -EAGAIN;
	pend[n_pend++] = (struct pending){ .write = true, .h = h, .dev_off = off,
					   .host_off = host_off, .len = len, .hdr = *hdr };
	return 0;
}

static int fake_read(void *ctx, tier_handle h, uint32_t d, uint64_t off, uint64_t host_off,
		     uint64_t len)
{
	(void)ctx;
	assert(d == 0 && off + NVME_HDR_BYTES + len <= NV_BYTES && host_off + len <= ARENA);
	if (n_pend == MAX_PENDING)
		return -EAGAIN;
	pend[n_pend++] = (struct pending){ .write = false, .h = h, .dev_off = off,
					   .host_off = host_off, .len = len };
	return 0;
}
#endif

static struct store st;
static uint8_t *arena;
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

/* Handle -> arena offset of the blocks this input allocated (for their bytes). */
static struct { tier_handle h; uint64_t off; } offs[64];
static unsigned n_offs;

static void note_off(tier_handle h, uint64_t off)
{
	offs[n_offs++ & 63] = (typeof(offs[0])){ h, off };
}

static bool find_off(tier_handle h, uint64_t *ret)
{
	for (unsigned i = 0; i < 64; i++)
		if (offs[i].h == h && h) {
			*ret = offs[i].off;
			return true;
		}
	return false;
}

/* Bytes derived from the key at the start, the middle and the end of a block. */
static void spots(uint64_t len, uint64_t at[3])
{
	at[0] = 0;
	at[1] = len / 2 - 16;
	at[2] = len - 32;
}

static void fill(uint64_t off, uint64_t len, tier_key k)
{
	uint64_t at[3];

	spots(len, at);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 4; j++) {
			uint64_t w = (k.hi * 0x9E3779B97F4A7C15ULL) ^ (k.lo + at[i] + (uint64_t)j);

			memcpy(arena + off + at[i] + 8 * j, &w, 8);
		}
}

static void check_bytes(uint64_t off, uint64_t len, tier_key k)
{
	uint64_t at[3];

	spots(len, at);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 4; j++) {
			uint64_t w = (k.hi * 0x9E3779B97F4A7C15ULL) ^ (k.lo + at[i] + (uint64_t)j), v;

			memcpy(&v, arena + off + at[i] + 8 * j, 8);
			if (v != w) {
				fprintf(stderr, "WRONG BYTES: key %llx:%llx at offset %llu+%llu\n",
					(unsigned long long)k.hi, (unsigned long long)k.lo,
					(unsigned long long)off, (unsigned long long)at[i]);
				abort();
			}
		}
}

/* Before a commit: the block gets its key's bytes (when we know where it is). */
static void fill_for_commit(tier_handle h, tier_key k)
{
	uint64_t off;
	uint32_t s = (uint32_t)h;

	if (!find_off(h, &off) || s >= st.used_slots || st.blocks[s].gen != (uint32_t)(h >> 32) ||
	    st.blocks[s].state != BLOCK_WRITING || st.blocks[s].host_off != off)
		return;
	fill(off, st.ns[st.blocks[s].ns].block_size, k);
}

/* After an op: record allocations, check every acquired block's bytes. */
static void after_op(const struct op_req *q, int r, const struct op_res *res)
{
	if (r < 0)
		return;
	if (q->code == TIER_OP_ALLOC) {
		assert(res->offset + res->size <= ARENA);
		remember(res->handle);
		note_off(res->handle, res->offset);
	} else if (q->code == TIER_OP_ACQUIRE) {
		assert(res->offset + res->size <= ARENA);
		remember(res->handle);
		check_bytes(res->offset, res->size, q->key);
	} else if (q->code == TIER_SQE_ACQUIRE_MANY) {
		assert((uint32_t)r <= q->n);
		for (int i = 0; i < r; i++) {
			uint32_t s = (uint32_t)q->ret_handles[i];

			remember(q->ret_handles[i]);
			assert(s < st.used_slots);
			check_bytes(q->ret_offs[i], st.ns[st.blocks[s].ns].block_size, q->keys[i]);
		}
	}
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
		/* Host memory: writing, host-resident, or being promoted into it. */
		if (b->state == BLOCK_WRITING || (b->res & RES_HOST) || (b->io & IO_READ))
			used += store_host_stride(&st, b);
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

#ifdef FUZZ_NVME
static int holder_index(const struct holder *h)
{
	return (int)(h - hold);
}

/* Park q (copying what it points to), as the transports do; false when full. */
static bool park(struct holder *h, const struct op_req *q)
{
	int hi = holder_index(h);
	struct parked *p;

	if (n_parked[hi] == MAX_PARKED || q->n > 64)
		return false;
	p = &parked[hi][n_parked[hi]++];
	p->q = *q;
	if (q->keys) {
		memcpy(p->keys, q->keys, (size_t)q->n * sizeof(tier_key));
		p->q.keys = p->keys;
	}
	if (q->handles) {
		memcpy(p->handles, q->handles, (size_t)q->n * sizeof(tier_handle));
		p->q.handles = p->handles;
	}
	p->q.ret_tier = NULL;
	p->q.ret_handles = p->ret_h;
	p->q.ret_offs = p->ret_off;
	return true;
}

/* After completions: every parked request runs again, with retry set. */
static void retry_parked(void)
{
	for (int hi = 0; hi < N_HOLDERS; hi++) {
		unsigned keep = 0;

		for (unsigned i = 0; i < n_parked[hi]; i++) {
			struct parked *p = &parked[hi][i];
			struct op_res res;
			int r = op_exec(&st, &hold[hi], &p->q, true, &res);

			if (r == -EINPROGRESS) {
				if (keep != i)
					parked[hi][keep] = *p;
				/* The copy moved: its pointers must follow it. */
				parked[hi][keep].q.keys = parked[hi][keep].keys;
				parked[hi][keep].q.handles = parked[hi][keep].handles;
				parked[hi][keep].q.ret_handles = parked[hi][keep].ret_h;
				parked[hi][keep].q.ret_offs = parked[hi][keep].ret_off;
				if (!p->q.keys)
					parked[hi][keep].q.keys = NULL;
				if (!p->q.handles)
					parked[hi][keep].q.handles = NULL;
				keep++;
				continue;
			}
			after_op(&p->q, r, &res);
		}
		n_parked[hi] = keep;
	}
}

/* Complete pending I/O number i, with how: 0 ok, 1 -EIO, 2 bad header, 3 bad data. */
static void complete(unsigned i, unsigned how)
{
	struct pending p = pend[i];

	pend[i] = pend[--n_pend];
	if (p.write) {
		if (how == 0) {
			dev_hdr[p.dev_off / NVME_HDR_BYTES] = p.hdr;
			memcpy(dev + p.dev_off + NVME_HDR_BYTES, arena + p.host_off, p.len);
		}
		store_write_done(&st, p.h, how == 0 ? 0 : -EIO);
	} else {
		struct nv_hdr hdr = dev_hdr[p.dev_off / NVME_HDR_BYTES];

		memcpy(arena + p.host_off, dev + p.dev_off + NVME_HDR_BYTES, p.len);
		if (how == 2)
			hdr.seq ^= 1;
		if (how == 3)
			arena[p.host_off + p.len / 2] ^= 0x5a;
		store_read_done(&st, p.h, how == 1 ? -EIO : 0, how == 1 ? NULL : &hdr);
	}
	retry_parked();
}

static void flush_step(uint8_t b)
{
	int r;

	if (!flushing || (b & 1)) {
		uint32_t ns = b & 2 ? UINT32_MAX : (uint32_t)(b >> 2) % (st.n_ns + 1);

		r = store_flush_start(&st, ns, &flush_epoch);
		assert(r == 0 || r == -ENOENT);
		flushing = r == 0;
		return;
	}
	r = store_flush_kick(&st, UINT32_MAX, flush_epoch);
	assert(r == 0 || r == -EINPROGRESS || r == -ENOSPC);
	if (r != -EINPROGRESS)
		flushing = false;
}

static void journal_step(uint8_t b)
{
	const void *buf;
	size_t len;
	uint64_t off;

	if (journal_take(&st.nv.journal, &buf, &len, &off))
		journal_written(&st.nv.journal, !(b & 1));
}
#endif

/* op_exec as a transport does it: a request that must wait is parked. */
static int exec(struct holder *h, const struct op_req *q, struct op_res *res)
{
	int r = op_exec(&st, h, q, false, res);

#ifdef FUZZ_NVME
	if (r == -EINPROGRESS && !park(h, q)) {
		/* No room to park: the harness forgets it, as a client hanging up would. */
		return r;
	}
#else
	assert(r != -EINPROGRESS); /* no NVMe tier: nothing ever waits */
#endif
	after_op(q, r, res);
	return r;
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
	if (q.code == TIER_OP_COMMIT)
		fill_for_commit(q.handle, q.key);
	exec(h, &q, &res);
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
		memcpy(keys, area + e.data_off, (size_t)e.n * sizeof(tier_key));
		q.keys = keys;
		q.ret_tier = area + e.data_off + (size_t)e.n * sizeof(tier_key);
		break;
	case TIER_SQE_ACQUIRE_MANY:
		memcpy(keys, area + e.data_off, (size_t)e.n * sizeof(tier_key));
		q.keys = keys;
		q.ret_handles = ret_h;
		q.ret_offs = ret_off;
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
	if (q.code == TIER_OP_COMMIT)
		fill_for_commit(q.handle, q.key);
	/*
	 * Only the first entry of a handle can commit it (the block is no
	 * longer being written after that one, whatever its outcome), so only
	 * that one's key gives the bytes: filling for every entry left the
	 * last duplicate's bytes under the first one's key, a false WRONG
	 * BYTES (seed commit-many-one-handle-twice).
	 */
	if (q.code == TIER_SQE_COMMIT_MANY)
		for (uint32_t i = 0; i < e.n; i++) {
			bool first = true;

			for (uint32_t j = 0; j < i && first; j++)
				first = handles[j] != handles[i];
			if (first)
				fill_for_commit(handles[i], keys[i]);
		}
	exec(h, &q, &res);
}

static void hang_up(struct holder *h)
{
#ifdef FUZZ_NVME
	n_parked[holder_index(h)] = 0; /* session_close forgets what was parked */
#endif
	store_holder_release_all(&st, h);
	store_holder_init(h, h->id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_params p = {
		.arena_bytes = ARENA, .max_namespaces = 4, .evict = &tier_evict_lru, .seed = 1,
	};
	struct cursor c = { data, size };
	uint32_t ns;
	uint8_t tag;

	if (!arena) {
		arena = calloc(1, ARENA);
		assert(arena);
#ifdef FUZZ_NVME
		dev = calloc(1, NV_BYTES);
		dev_hdr = calloc(NV_BYTES / NVME_HDR_BYTES, sizeof(*dev_hdr));
		assert(dev && dev_hdr);
#endif
	}
	/*
	 * Every input starts from the same memory: a finding reproduces from its
	 * input alone.  That includes the ring's data area, which an entry reads
	 * beyond the bytes its record supplies.
	 */
	memset(arena, 0, ARENA);
	memset(area, 0, sizeof(area));
	p.arena = arena;
#ifdef FUZZ_NVME
	p.nv_devs = 1;
	p.nv_dev_bytes = NV_BYTES;
	p.nv_evict = &tier_evict_lru;
	p.nv_admit = &tier_admit_all;
	p.nv_demote_max = 8;
	p.high_pct = 90;
	p.low_pct = 80;
	p.io = (struct store_io){ .write_block = fake_write, .read_block = fake_read };
	n_pend = 0;
	memset(n_parked, 0, sizeof(n_parked));
	memset(dev_hdr, 0, NV_BYTES / NVME_HDR_BYTES * sizeof(*dev_hdr));
	memset(dev, 0, NV_BYTES);
	flushing = false;
#endif
	if (store_init(&st, &p) < 0)
		abort();
	for (int i = 0; i < N_HOLDERS; i++)
		store_holder_init(&hold[i], (uint32_t)i + 1);
	memset(seen, 0, sizeof(seen));
	n_seen = 0;
	memset(offs, 0, sizeof(offs));
	n_offs = 0;
	/* Two namespaces to begin with, so the first records can use them. */
	store_ns_open(&st, "a", 64 * 1024, &ns);
	store_ns_open(&st, "b", 1024 * 1024, &ns);
	while (take(&c, &tag, 1)) {
		struct holder *h = &hold[(tag & 3) % N_HOLDERS];
		uint8_t b = 0;

		(void)b;
		switch ((tag >> 2) & 7) {
		case 0:
			do_msg(h, &c);
			break;
		case 1:
			do_sqe(h, &c);
			break;
		case 2:
			hang_up(h);
			break;
		case 3: {
			uint8_t nb[2];
			char name[2];

			if (!take(&c, nb, 2))
				break;
			name[0] = (char)('a' + nb[1] % 6);
			name[1] = 0;
			store_ns_open(&st, name, ((uint64_t)nb[0] + 1) * 16 * 1024, &ns);
			break;
		}
#ifdef FUZZ_NVME
		case 4:
		case 5:
			if (n_pend && take(&c, &b, 1))
				complete(b % n_pend, ((tag >> 2) & 7) == 4 ? 0 : 1 + (b >> 6) % 3);
			break;
		case 6:
			if (take(&c, &b, 1))
				flush_step(b);
			break;
		case 7:
			if (take(&c, &b, 1))
				journal_step(b);
			break;
#endif
		default:
			break;
		}
#ifdef FUZZ_NVME
		store_balance(&st); /* what the reactor does every turn */
#endif
		check_books();
	}
#ifdef FUZZ_NVME
	/* Let all I/O finish, in order, successfully; then the parked requests. */
	while (n_pend)
		complete(0, 0);
#endif
	for (int i = 0; i < N_HOLDERS; i++)
		hang_up(&hold[i]);
	check_books();
	assert(st.pinned_blocks == 0);
	for (uint32_t n = 0; n < st.n_ns; n++)
		for (uint64_t hi = 0; hi < 4; hi++)
			for (uint64_t lo = 0; lo < 8; lo++)
				store_drop(&st, n, (tier_key){ hi, lo });
#ifdef FUZZ_NVME
	while (n_pend)
		complete(0, 0);
#endif
	check_books();
	if (st.used_bytes || st.ready_blocks || st.pinned_blocks
#ifdef FUZZ_NVME
	    || st.nv.used_bytes || st.nv.blocks
#endif
	) {
		fprintf(stderr, "left over: used %llu ready %llu pinned %llu\n",
			(unsigned long long)st.used_bytes, (unsigned long long)st.ready_blocks,
			(unsigned long long)st.pinned_blocks);
		abort();
	}
	store_deinit(&st);
	return 0;
}
