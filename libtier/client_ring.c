/* SPDX-License-Identifier: MIT */
/*
 * The client's end of the shared-memory rings (layout and protocol:
 * ring.h).  Operations go into the submission ring with no system call; the
 * doorbell eventfd is written only when the daemon said it is going idle.
 * Waiting for a completion spins for a few microseconds (the daemon answers
 * within that while it is busy), then sleeps on a futex on the completion
 * tail, checking now and then that the daemon is still there.  It spins
 * only while the spin gate (spin.c) says every runnable task has a CPU;
 * otherwise it sleeps at once, so that the daemon gets the CPU.
 *
 * Each ring entry's user_data is an index into our table of pending
 * operations, which remembers the caller's user_data and what the
 * completion means for the handles we hold.
 */
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

#define SPIN_NS 100000        /* spin this long before sleeping */
#define SLEEP_SLICE_MS 100   /* futex sleeps this long between liveness checks */
#define PEND_NONE UINT32_MAX

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int ring_attach(tier_client *c, int memfd, int doorbell)
{
	struct tier_ring_seg *h;
	struct stat st;
	void *p;
	uint32_t n;

	if (fstat(memfd, &st) < 0 || (size_t)st.st_size < sizeof(*h))
		return -EPROTO;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (p == MAP_FAILED)
		return -errno;
	h = p;
	/* Check the geometry before trusting any offset in it. */
	if (h->magic != TIER_RING_MAGIC || h->abi != TIER_RING_ABI ||
	    h->seg_bytes != (uint64_t)st.st_size || h->sq_entries == 0 ||
	    (h->sq_entries & (h->sq_entries - 1)) || h->cq_entries == 0 ||
	    (h->cq_entries & (h->cq_entries - 1)) ||
	    h->sq_off + (uint64_t)h->sq_entries * sizeof(struct tier_sqe) > h->seg_bytes ||
	    h->cq_off + (uint64_t)h->cq_entries * sizeof(struct tier_ring_cqe) > h->seg_bytes ||
	    h->data_off + h->data_bytes > h->seg_bytes) {
		munmap(p, (size_t)st.st_size);
		return -EPROTO;
	}
	/* As many as the rings hold, plus one kept for synchronous calls (tier_submit). */
	n = h->sq_entries + h->cq_entries + 1;
	c->pend = calloc(n, sizeof(*c->pend));
	if (!c->pend) {
		munmap(p, (size_t)st.st_size);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++)
		c->pend[i].next_free = i + 1 < n ? i + 1 : PEND_NONE;
	c->n_pend = n;
	c->free_pend = 0;
	c->seg = h;
	c->seg_bytes = (size_t)st.st_size;
	c->sq = (struct tier_sqe *)((uint8_t *)p + h->sq_off);
	c->cq = (struct tier_ring_cqe *)((uint8_t *)p + h->cq_off);
	c->data = (uint8_t *)p + h->data_off;
	c->data_bytes = h->data_bytes;
	c->doorbell = doorbell;
	spin_gate_init(&c->gate);
	c->sq_tail = __atomic_load_n(&h->sq_tail, __ATOMIC_RELAXED);
	c->cq_head = __atomic_load_n(&h->cq_head, __ATOMIC_RELAXED);
	return 0;
}

void ring_detach(tier_client *c)
{
	if (!c->seg)
		return;
	munmap(c->seg, c->seg_bytes);
	close(c->doorbell);
	spin_gate_deinit(&c->gate);
	free(c->pend);
	free(c->stash);
	c->seg = NULL;
	c->pend = NULL;
	c->stash = NULL;
	c->stash_n = c->stash_cap = c->stash_head = 0;
	c->n_pend = 0;
}

static uint32_t pend_get(tier_client *c)
{
	uint32_t i = c->free_pend;

	if (i != PEND_NONE) {
		c->free_pend = c->pend[i].next_free;
		c->pend[i].used = 1;
	}
	return i;
}

static void pend_put(tier_client *c, uint32_t i)
{
	c->pend[i].used = 0;
	c->pend[i].next_free = c->free_pend;
	c->free_pend = i;
}

/* Put e in the submission ring; -EAGAIN when it is full. */
static int push(tier_client *c, const struct tier_sqe *e)
{
	/* Acquire: the daemon has finished reading the entries before its head. */
	uint32_t head = __atomic_load_n(&c->seg->sq_head, __ATOMIC_ACQUIRE);

	if (c->sq_tail - head >= c->seg->sq_entries)
		return -EAGAIN;
	c->sq[c->sq_tail & (c->seg->sq_entries - 1)] = *e;
	c->sq_tail++;
	/* Release: the entry is written before the daemon can see the new tail. */
	__atomic_store_n(&c->seg->sq_tail, c->sq_tail, __ATOMIC_RELEASE);
	return 0;
}

/* Ring the doorbell if the daemon is going to sleep. */
static void kick(tier_client *c)
{
	uint64_t one = 1;

	/* Full fence: our tail store before reading its idle flag (it does the mirror). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&c->seg->daemon_idle, __ATOMIC_RELAXED))
		(void)!write(c->doorbell, &one, sizeof(one));
}

static bool cq_ready(tier_client *c)
{
	/* Acquire: pairs with the daemon's release of cq_tail. */
	return __atomic_load_n(&c->seg->cq_tail, __ATOMIC_ACQUIRE) != c->cq_head;
}

static bool daemon_gone(tier_client *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLRDHUP));
}

/*
 * Wait until a completion is there: 0, -ETIMEDOUT after timeout_ms (< 0:
 * forever), or -ECONNRESET when the daemon is gone.
 */
static int wait_cq(tier_client *c, int timeout_ms)
{
	uint64_t start = now_ns(), deadline = timeout_ms < 0 ? UINT64_MAX
							  : start + (uint64_t)timeout_ms * 1000000ULL;

	for (unsigned i = 0;; i++) {
		if (cq_ready(c))
			return 0;
		/*
		 * The clock is read now and then: it costs more than a poll.  The
		 * gate is asked before the first pause: with more runnable tasks
		 * than CPUs, each pause delays the daemon that is queued for ours.
		 */
		if ((i & 63) == 0) {
			uint64_t now = i ? now_ns() : start;

			if (now - start >= SPIN_NS || !spin_gate_open(&c->gate, now))
				break;
		}
		__builtin_ia32_pause();
	}
	for (;;) {
		uint32_t tail;
		uint64_t now = now_ns();
		struct timespec ts;
		uint64_t slice = (uint64_t)SLEEP_SLICE_MS * 1000000ULL;

		if (cq_ready(c))
			return 0;
		if (now >= deadline)
			return -ETIMEDOUT;
		if (daemon_gone(c))
			return -ECONNRESET;
		if (deadline - now < slice)
			slice = deadline - now;
		ts.tv_sec = (time_t)(slice / 1000000000ULL);
		ts.tv_nsec = (long)(slice % 1000000000ULL);
		__atomic_store_n(&c->seg->client_wait, 1u, __ATOMIC_RELAXED);
		/* Full fence: our flag before re-reading its tail (it does the mirror). */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		tail = __atomic_load_n(&c->seg->cq_tail, __ATOMIC_ACQUIRE);
		if (tail == c->cq_head)
			syscall(SYS_futex, &c->seg->cq_tail, FUTEX_WAIT, tail, &ts, NULL, 0);
		__atomic_store_n(&c->seg->client_wait, 0u, __ATOMIC_RELAXED);
	}
}

/* Take the next completion off the ring (one must be there). */
static void pop(tier_client *c, struct tier_ring_cqe *ret)
{
	*ret = c->cq[c->cq_head & (c->seg->cq_entries - 1)];
	c->cq_head++;
	/* Release: we are done with the entry before the daemon may reuse it. */
	__atomic_store_n(&c->seg->cq_head, c->cq_head, __ATOMIC_RELEASE);
	/*
	 * The daemon takes no entry it has no place to answer, and sleeps while
	 * all that waits is such entries: if some wait, tell it there is room.
	 */
	if (c->sq_tail != __atomic_load_n(&c->seg->sq_head, __ATOMIC_RELAXED))
		kick(c);
}

static int stash_push(tier_client *c, const struct tier_ring_cqe *e)
{
	if (c->stash_head == c->stash_n) {
		c->stash_head = c->stash_n = 0;
	}
	if (c->stash_n == c->stash_cap) {
		size_t ncap = c->stash_cap ? c->stash_cap * 2 : 64;
		struct tier_ring_cqe *p = realloc(c->stash, ncap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		c->stash = p;
		c->stash_cap = ncap;
	}
	c->stash[c->stash_n++] = *e;
	return 0;
}

/* A completion came from the daemon: is it a valid pending index? */
static bool pend_valid(tier_client *c, uint64_t ud)
{
	return ud < c->n_pend && c->pend[ud].used;
}

/* Get the completion of entry idx, keeping others for tier_reap. */
static int wait_for(tier_client *c, uint32_t idx, struct tier_ring_cqe *ret)
{
	for (;;) {
		struct tier_ring_cqe e;
		int r = wait_cq(c, -1);

		if (r < 0)
			return r;
		pop(c, &e);
		if (!pend_valid(c, e.user_data))
			return -EPROTO;
		if (e.user_data == idx) {
			*ret = e;
			return 0;
		}
		if (stash_push(c, &e) < 0)
			return -ENOMEM;
	}
}

int ring_call(tier_client *c, struct tier_sqe *e, struct tier_ring_cqe *ret)
{
	uint32_t idx = pend_get(c);
	int r;

	if (idx == PEND_NONE)
		return -EBUSY; /* cannot happen: tier_submit leaves one entry for us */
	c->pend[idx].opcode = e->opcode;
	e->user_data = idx;
	while (push(c, e) == -EAGAIN) {
		struct tier_ring_cqe other;

		/* Full: make room by taking a completion (kept for tier_reap). */
		kick(c);
		r = wait_cq(c, -1);
		if (r < 0)
			goto out;
		pop(c, &other);
		if (!pend_valid(c, other.user_data)) {
			r = -EPROTO;
			goto out;
		}
		stash_push(c, &other);
	}
	kick(c);
	r = wait_for(c, idx, ret);
out:
	pend_put(c, idx);
	return r;
}

/* ---- asynchronous API ---------------------------------------------- */

int tier_submit(tier_client *c, struct tier_op *ops, size_t n)
{
	size_t i;

	if (!c || (!ops && n))
		return -EINVAL;
	if (!c->seg)
		return -EOPNOTSUPP;
	for (i = 0; i < n && i < INT32_MAX; i++) {
		const struct tier_op *o = &ops[i];
		struct tier_sqe e = {
			.opcode = o->opcode, .flags = o->flags, .ns = o->ns, .key = o->key,
			.parent = o->parent, .handle = o->handle,
		};
		uint32_t idx;

		if (o->opcode > TIER_OP_PREFETCH || o->reserved || (o->flags & ~TIER_OPF_PARENT)) {
			if (i == 0)
				return -EINVAL;
			break;
		}
		/*
		 * The last free entry is not for us: a synchronous call made while
		 * the rings are full of async ops must still find one.
		 */
		if (c->free_pend == PEND_NONE || c->pend[c->free_pend].next_free == PEND_NONE)
			break;
		idx = pend_get(c);
		c->pend[idx].opcode = o->opcode;
		c->pend[idx].user_data = o->user_data;
		c->pend[idx].handle = o->handle;
		e.user_data = idx;
		if (push(c, &e) < 0) {
			pend_put(c, idx);
			break;
		}
	}
	if (i)
		kick(c);
	return (int)i;
}

/* What a completion means for the handles we hold; then the caller's view of it. */
static void finish(tier_client *c, const struct tier_ring_cqe *e, struct tier_cqe *ret)
{
	struct pending *p = &c->pend[e->user_data];
	struct held *hd;

	switch (p->opcode) {
	case TIER_OP_ACQUIRE:
	case TIER_OP_ALLOC:
		if (e->res == 0 && (e->offset > c->arena_bytes ||
				    held_add(c, e->handle, e->offset, p->opcode == TIER_OP_ALLOC) < 0)) {
			ret->res = -EPROTO;
			ret->handle = 0;
			return;
		}
		break;
	case TIER_OP_RELEASE:
		hd = e->res == 0 ? held_find(c, p->handle) : NULL;
		if (hd && !hd->writing)
			held_put(c, hd);
		break;
	case TIER_OP_COMMIT:
		if (e->res == 0 || e->res == -EEXIST)
			held_end_writing(c, p->handle);
		break;
	default:
		break;
	}
	ret->user_data = p->user_data;
	ret->res = e->res;
	ret->reserved = 0;
	ret->handle = e->res == 0 ? e->handle : 0;
}

int tier_reap(tier_client *c, struct tier_cqe *ret, size_t max, int timeout_ms)
{
	size_t n = 0;

	if (!c || (!ret && max))
		return -EINVAL;
	if (!c->seg)
		return -EOPNOTSUPP;
	if (max > INT32_MAX)
		max = INT32_MAX;
	while (n < max) {
		struct tier_ring_cqe e;

		if (c->stash_head < c->stash_n) {
			e = c->stash[c->stash_head++];
		} else if (cq_ready(c)) {
			pop(c, &e);
			if (!pend_valid(c, e.user_data))
				return -EPROTO;
		} else if (n == 0 && timeout_ms != 0) {
			int r = wait_cq(c, timeout_ms);

			if (r == -ETIMEDOUT)
				return 0;
			if (r < 0)
				return r;
			continue;
		} else {
			break;
		}
		finish(c, &e, &ret[n++]);
		pend_put(c, (uint32_t)e.user_data);
	}
	return (int)n;
}

/* ---- batches ------------------------------------------------------- */

/* One batch entry over the ring; its result. */
static int batch(tier_client *c, uint8_t opcode, uint32_t ns, uint32_t n)
{
	struct tier_sqe e = { .opcode = opcode, .ns = ns, .n = n, .data_off = 0 };
	struct tier_ring_cqe ret;
	int r = ring_call(c, &e, &ret);

	return r < 0 ? r : ret.res;
}

int tier_lookup_many(tier_client *c, uint32_t ns, const tier_key *keys, size_t n,
		     uint8_t *ret_tier)
{
	size_t per, done = 0, leading = 0;
	bool short_seen = false;

	if (!c || (!keys && n))
		return -EINVAL;
	if (n > INT32_MAX)
		n = INT32_MAX;
	if (!c->seg) {
		if (ret_tier)
			return -EOPNOTSUPP;
		return tier_lookup(c, ns, keys, n);
	}
	per = c->data_bytes / (sizeof(tier_key) + 1);
	while (done < n) {
		size_t k = n - done < per ? n - done : per;
		int r;

		memcpy(c->data, keys + done, k * sizeof(tier_key));
		r = batch(c, TIER_SQE_LOOKUP_MANY, ns, (uint32_t)k);
		if (r < 0)
			return r;
		if ((size_t)r > k)
			return -EPROTO;
		if (ret_tier)
			memcpy(ret_tier + done, c->data + k * sizeof(tier_key), k);
		if (!short_seen)
			leading += (size_t)r;
		short_seen |= (size_t)r < k;
		done += k;
		if (short_seen && !ret_tier)
			break;
	}
	return (int)leading;
}

int tier_acquire_many(tier_client *c, uint32_t ns, const tier_key *keys, size_t n,
		      tier_handle *ret)
{
	size_t per, done = 0;

	if (!c || (n && (!keys || !ret)))
		return -EINVAL;
	if (n > INT32_MAX)
		n = INT32_MAX;
	if (!c->seg) {
		for (done = 0; done < n; done++) {
			int r = tier_acquire(c, ns, keys[done], &ret[done]);

			if (r == -ENOENT)
				break;
			if (r < 0)
				return done ? (int)done : r;
		}
		return (int)done;
	}
	per = c->data_bytes / (sizeof(tier_key) + 2 * sizeof(uint64_t));
	while (done < n) {
		size_t k = n - done < per ? n - done : per;
		const uint8_t *out = c->data + k * sizeof(tier_key);
		int r;

		memcpy(c->data, keys + done, k * sizeof(tier_key));
		r = batch(c, TIER_SQE_ACQUIRE_MANY, ns, (uint32_t)k);
		if (r < 0)
			return done ? (int)done : r;
		if ((size_t)r > k)
			return -EPROTO;
		for (int i = 0; i < r; i++) {
			tier_handle h;
			uint64_t off;

			memcpy(&h, out + (size_t)i * 16, 8);
			memcpy(&off, out + (size_t)i * 16 + 8, 8);
			if (off > c->arena_bytes || held_add(c, h, off, false) < 0)
				return -EPROTO;
			ret[done + (size_t)i] = h;
		}
		done += (size_t)r;
		if ((size_t)r < k)
			break;
	}
	return (int)done;
}

int tier_release_many(tier_client *c, const tier_handle *h, size_t n)
{
	size_t per, done = 0, released = 0;

	if (!c || (!h && n))
		return -EINVAL;
	if (n > INT32_MAX)
		n = INT32_MAX;
	if (!c->seg) {
		for (size_t i = 0; i < n; i++)
			released += tier_release(c, h[i]) == 0;
		return (int)released;
	}
	per = c->data_bytes / sizeof(tier_handle);
	while (done < n) {
		size_t k = n - done < per ? n - done : per;
		int r;

		memcpy(c->data, h + done, k * sizeof(tier_handle));
		r = batch(c, TIER_SQE_RELEASE_MANY, 0, (uint32_t)k);
		if (r < 0)
			return r;
		released += (size_t)r;
		/* Our side of the holds: whatever the daemon refused was not ours anyway. */
		for (size_t i = 0; i < k; i++) {
			struct held *e = held_find(c, h[done + i]);

			if (e && !e->writing)
				held_put(c, e);
		}
		done += k;
	}
	return (int)released;
}

int tier_commit_many(tier_client *c, const tier_handle *h, const tier_key *keys, size_t n)
{
	size_t per, done = 0, committed = 0;

	if (!c || (n && (!h || !keys)))
		return -EINVAL;
	if (n > INT32_MAX)
		n = INT32_MAX;
	if (!c->seg) {
		for (size_t i = 0; i < n; i++)
			committed += tier_commit(c, h[i], keys[i]) == 0;
		return (int)committed;
	}
	per = c->data_bytes / (sizeof(tier_handle) + sizeof(tier_key));
	while (done < n) {
		size_t k = n - done < per ? n - done : per;
		int r;

		memcpy(c->data, h + done, k * sizeof(tier_handle));
		memcpy(c->data + k * sizeof(tier_handle), keys + done, k * sizeof(tier_key));
		r = batch(c, TIER_SQE_COMMIT_MANY, 0, (uint32_t)k);
		if (r < 0)
			return r;
		committed += (size_t)r;
		/* Every block given is the daemon's now: committed, or freed as a duplicate. */
		for (size_t i = 0; i < k; i++)
			held_end_writing(c, h[done + i]);
		done += k;
	}
	return (int)committed;
}
