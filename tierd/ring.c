/* SPDX-License-Identifier: MIT */
/*
 * The daemon's end of a client's shared-memory rings (layout: libtier/ring.h).
 *
 * The reactor polls every client's submission ring each turn; an entry is
 * copied out of shared memory before any field is read, validated, carried
 * out by op_exec(), and answered with a completion.  A client's indices are
 * checked on every read: a producer index more than a ring ahead of ours,
 * or a consumer index we have not produced, means the client corrupted its
 * ring and it is disconnected.  An entry is consumed only when its
 * completion has a place reserved in the completion ring (parked entries
 * hold their place), so the daemon never waits for a client.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "op.h"
#include "proto.h"
#include "server.h"
#include "validate.h"

/* Entries handled per client per turn: one busy client cannot starve the rest. */
#define RING_BUDGET 128
/* Parked entries (waiting for I/O) per client at most; more wait in the ring. */
#define RING_MAX_PARKED 64
/* Keys of one batch, copied out of the shared data area. */
#define RING_MAX_KEYS (TIER_RING_DATA_BYTES / sizeof(tier_key))

int ring_create(struct ring *r, uint64_t block_max)
{
	struct tier_ring_seg *h;
	uint64_t bytes = tier_ring_seg_bytes(), hdr = (sizeof(*h) + 4095) & ~4095ULL;
	void *p;

	memset(r, 0, sizeof(*r));
	r->memfd = r->doorbell = -1;
	/* Sealed against size changes: a client's ftruncate would SIGBUS our polls. */
	r->memfd = tier_memfd_sealed("tierd-ring", MFD_CLOEXEC, bytes);
	if (r->memfd < 0) {
		int e = r->memfd;

		r->memfd = -1;
		return e;
	}
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, r->memfd, 0);
	if (p == MAP_FAILED)
		goto fail;
	r->seg = p;
	r->bytes = bytes;
	h = r->seg;
	h->magic = TIER_RING_MAGIC;
	h->abi = TIER_RING_ABI;
	h->sq_entries = TIER_RING_SQ_ENTRIES;
	h->cq_entries = TIER_RING_CQ_ENTRIES;
	h->sq_off = hdr;
	h->cq_off = hdr + (uint64_t)TIER_RING_SQ_ENTRIES * sizeof(struct tier_sqe);
	h->data_off = bytes - TIER_RING_DATA_BYTES;
	h->data_bytes = TIER_RING_DATA_BYTES;
	h->seg_bytes = bytes;
	h->block_max = block_max;
	/* The daemon uses its own copies of the geometry, never the shared ones. */
	r->sq = (struct tier_sqe *)((uint8_t *)p + h->sq_off);
	r->cq = (struct tier_ring_cqe *)((uint8_t *)p + h->cq_off);
	r->data = (uint8_t *)p + h->data_off;
	r->doorbell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->doorbell < 0)
		goto fail;
	return 0;
fail:
	{
		int e = -errno;

		ring_destroy(r);
		return e;
	}
}

void ring_destroy(struct ring *r)
{
	if (r->seg)
		munmap(r->seg, r->bytes);
	if (r->memfd >= 0)
		close(r->memfd);
	if (r->doorbell >= 0)
		close(r->doorbell);
	free(r->parked);
	free(r->parked_at);
	memset(r, 0, sizeof(*r));
	r->memfd = r->doorbell = -1;
}

/* Whether the completion ring has a place for one more entry's answer. */
static bool cq_room(const struct ring *r, uint32_t cq_head)
{
	return r->cq_tail - cq_head + r->n_parked < TIER_RING_CQ_ENTRIES &&
	       r->n_parked < RING_MAX_PARKED;
}

bool ring_pending(const struct ring *r)
{
	uint32_t cq_head;

	/* Acquire: pairs with the client's release of sq_tail. */
	if (!r->seg || __atomic_load_n(&r->seg->sq_tail, __ATOMIC_ACQUIRE) == r->sq_head)
		return false;
	/*
	 * Entries wait, but while their answers have no place (the client has
	 * not reaped) there is nothing to do: not pending, or the reactor would
	 * spin until the client reaps.  The client rings the doorbell when it
	 * reaps with entries still waiting.  An impossible cq_head is pending,
	 * so that ring_poll sees it and cuts the client off.
	 */
	cq_head = __atomic_load_n(&r->seg->cq_head, __ATOMIC_ACQUIRE);
	return r->cq_tail - cq_head > TIER_RING_CQ_ENTRIES || cq_room(r, cq_head);
}

void ring_set_idle(struct ring *r, bool idle)
{
	if (r->seg)
		__atomic_store_n(&r->seg->daemon_idle, idle ? 1u : 0u, __ATOMIC_RELAXED);
}

/* Post one completion.  Space was reserved when its entry was consumed. */
static void post(struct ring *r, const struct tier_sqe *e, int res, const struct op_res *o)
{
	struct tier_ring_cqe *c = &r->cq[r->cq_tail & (TIER_RING_CQ_ENTRIES - 1)];

	c->user_data = e->user_data;
	c->res = res;
	c->flags = 0;
	c->handle = o ? o->handle : 0;
	c->offset = o ? o->offset : 0;
	r->cq_tail++;
	/* Release: the entry's bytes are visible before the new tail. */
	__atomic_store_n(&r->seg->cq_tail, r->cq_tail, __ATOMIC_RELEASE);
	r->posted = true;
}

/* Wake a client that sleeps on its completion ring (after a turn's posts). */
static void wake_client(struct ring *r)
{
	if (!r->posted)
		return;
	r->posted = false;
	/* Full fence: our tail store before reading its flag (it does the mirror). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->seg->client_wait, __ATOMIC_RELAXED))
		syscall(SYS_futex, &r->seg->cq_tail, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Turn a validated entry into an op_req, copying its batch out of shared memory. */
static void sqe_to_op(struct ring *r, const struct tier_sqe *e, struct op_req *q)
{
	static tier_key keys[RING_MAX_KEYS];
	static tier_handle handles[TIER_RING_DATA_BYTES / sizeof(tier_handle)];
	const uint8_t *d = r->data + e->data_off;

	memset(q, 0, sizeof(*q));
	q->code = e->opcode;
	q->flags = e->flags;
	q->ns = e->ns;
	q->key = e->key;
	q->parent = e->parent;
	q->handle = e->handle;
	q->n = e->n;
	switch (e->opcode) {
	case TIER_SQE_LOOKUP_MANY:
		memcpy(keys, d, (size_t)e->n * sizeof(tier_key));
		q->keys = keys;
		q->ret_tier = r->data + e->data_off + (size_t)e->n * sizeof(tier_key);
		break;
	case TIER_SQE_ACQUIRE_MANY:
		memcpy(keys, d, (size_t)e->n * sizeof(tier_key));
		q->keys = keys;
		q->ret_handles = handles;
		break;
	case TIER_SQE_RELEASE_MANY:
		memcpy(handles, d, (size_t)e->n * sizeof(tier_handle));
		q->handles = handles;
		break;
	case TIER_SQE_COMMIT_MANY:
		memcpy(handles, d, (size_t)e->n * sizeof(tier_handle));
		memcpy(keys, d + (size_t)e->n * sizeof(tier_handle), (size_t)e->n * sizeof(tier_key));
		q->handles = handles;
		q->keys = keys;
		break;
	default:
		break;
	}
}

/* Carry out e; false when it must wait (parked by the caller). */
static bool run(struct server *s, struct session *se, struct ring *r, const struct tier_sqe *e,
		bool retry)
{
	struct op_req q;
	struct op_res o;
	int res;

	sqe_to_op(r, e, &q);
	if (e->opcode == TIER_SQE_ACQUIRE_MANY) {
		/* Offsets land beside the handles in the caller's data area. */
		static uint64_t offs[RING_MAX_KEYS];

		q.ret_offs = offs;
	}
	res = op_exec(&s->store, &se->holder, &q, retry, &o);
	if (res == -EINPROGRESS)
		return false;
	if (e->opcode == TIER_SQE_ACQUIRE_MANY && res > 0) {
		uint8_t *out = r->data + e->data_off + (size_t)e->n * sizeof(tier_key);

		for (int i = 0; i < res; i++) {
			memcpy(out + (size_t)i * 16, &q.ret_handles[i], 8);
			memcpy(out + (size_t)i * 16 + 8, &q.ret_offs[i], 8);
		}
	}
	if (res < 0)
		s->store.c.errors++;
	post(r, e, res, (e->opcode == TIER_OP_ACQUIRE || e->opcode == TIER_OP_ALLOC) && res == 0
				? &o : NULL);
	return true;
}

static int park(struct ring *r, const struct tier_sqe *e)
{
	if (r->n_parked == r->cap_parked) {
		uint32_t ncap = r->cap_parked ? r->cap_parked * 2 : 8;
		struct tier_sqe *p = realloc(r->parked, ncap * sizeof(*p));
		uint64_t *t;

		if (!p)
			return -ENOMEM;
		r->parked = p;
		t = realloc(r->parked_at, ncap * sizeof(*t));
		if (!t)
			return -ENOMEM;
		r->parked_at = t;
		r->cap_parked = ncap;
	}
	r->parked_at[r->n_parked] = server_now_ns();
	r->parked[r->n_parked++] = *e;
	return 0;
}

void ring_expire(struct server *s, struct session *se, uint64_t deadline_ns)
{
	struct ring *r = &se->ring;
	uint32_t keep = 0;

	for (uint32_t i = 0; i < r->n_parked; i++) {
		if (r->parked_at[i] < deadline_ns) {
			s->store.c.io_timeouts++;
			s->store.c.errors++;
			post(r, &r->parked[i], -ETIMEDOUT, NULL);
			continue;
		}
		r->parked[keep] = r->parked[i];
		r->parked_at[keep++] = r->parked_at[i];
	}
	r->n_parked = keep;
	wake_client(r);
}

int ring_poll(struct server *s, struct session *se)
{
	struct ring *r = &se->ring;
	uint32_t tail, cq_head, done = 0;

	if (!r->seg)
		return 0;
	/* Acquire: the entries before the tail are written. */
	tail = __atomic_load_n(&r->seg->sq_tail, __ATOMIC_ACQUIRE);
	cq_head = __atomic_load_n(&r->seg->cq_head, __ATOMIC_ACQUIRE);
	if (tail - r->sq_head > TIER_RING_SQ_ENTRIES || r->cq_tail - cq_head > TIER_RING_CQ_ENTRIES)
		return -EBADMSG;
	while (r->sq_head != tail && done < RING_BUDGET) {
		struct tier_sqe e;
		int v;

		/* Room for its completion, counting the parked ones' places. */
		if (!cq_room(r, cq_head))
			break;
		memcpy(&e, &r->sq[r->sq_head & (TIER_RING_SQ_ENTRIES - 1)], sizeof(e));
		r->sq_head++;
		done++;
		se->ops++;
		if (done == 1)
			se->last_active_ns = server_now_ns();
		v = validate_sqe(&e, TIER_RING_DATA_BYTES);
		if (v < 0) {
			s->store.c.errors++;
			s->protocol_errors++;
			post(r, &e, v, NULL);
			continue;
		}
		if (!run(s, se, r, &e, false)) {
			if (park(r, &e) < 0)
				return -ENOMEM;
			s->timers_dirty = true;
		}
	}
	/* Release: we are done reading the entries before our head. */
	__atomic_store_n(&r->seg->sq_head, r->sq_head, __ATOMIC_RELEASE);
	wake_client(r);
	return (int)done;
}

void ring_retry(struct server *s, struct session *se)
{
	struct ring *r = &se->ring;
	uint32_t keep = 0;

	for (uint32_t i = 0; i < r->n_parked; i++) {
		struct tier_sqe e = r->parked[i];

		if (!run(s, se, r, &e, true)) {
			r->parked_at[keep] = r->parked_at[i];
			r->parked[keep++] = e;
		}
	}
	r->n_parked = keep;
	wake_client(r);
}
