/* SPDX-License-Identifier: MIT */
/*
 * Moving blocks between tiers: host eviction, demotion to NVMe, promotion
 * back, NVMe eviction, and what happens when the I/O completes.
 *
 * Demotion is write-then-drop: a block that is only in host memory (dirty)
 * is written to NVMe first and leaves host memory only once its header and
 * data are on the device; a block already on NVMe (clean) leaves at once.
 * Host room is made in the host policy's order over all size classes.  A
 * request that needs room while demotions are in flight gets -EINPROGRESS
 * and is retried by the daemon when they complete; with nothing evictable and
 * nothing in flight it gets -ENOSPC at once, so nothing ever hangs.
 *
 * Every NVMe read is checked against the block's header (magic, checksum,
 * key, sequence, length) and the data against its XXH3: a block that fails
 * is dropped and counted, and the request that wanted it sees a miss.
 */
#include <errno.h>
#include <string.h>

#include <xxhash.h>

#include "store.h"

#define CLS_ANY UINT32_MAX

/* ---- host memory of a block ---------------------------------------- */

void store_host_attach(struct store *st, uint32_t s, uint64_t off)
{
	struct block *b = &st->blocks[s];
	uint64_t stride = store_host_stride(st, b);

	b->host_off = off;
	st->host_owner[off / SLAB_ALIGN] = s;
	st->used_bytes += stride;
	store_dom_of(st, b->ns)->used_bytes += stride;
	st->ns[b->ns].host_bytes += stride;
}

void store_host_free(struct store *st, uint32_t ns, uint64_t off)
{
	struct store_dom *d = store_dom_of(st, ns);

	slab_free(&d->slab, off - d->base);
}

/* Free s's host memory; a host-resident ready block also leaves the host policy. */
void store_host_detach(struct store *st, uint32_t s)
{
	struct block *b = &st->blocks[s];
	uint64_t stride = store_host_stride(st, b);

	/* T0 is inclusive of the host tier: the GPU copy goes with the host copy. */
	if (b->res & RES_GPU) {
		if (!(b->flags & BLOCK_DROPPED))
			st->gpu.demotions++;
		store_gpu_release(st, s);
	}
	/* A dropped block left the policy and the counts when it was dropped. */
	if (b->state == BLOCK_READY && (b->res & RES_HOST) && !(b->flags & BLOCK_DROPPED)) {
		st->evict->remove(store_evict_state(st, s), s);
		st->host_blocks--;
	}
	b->res &= (uint8_t)~RES_HOST;
	b->flags &= (uint8_t)~BLOCK_PREFETCHED;
	st->used_bytes -= stride;
	store_dom_of(st, b->ns)->used_bytes -= stride;
	st->ns[b->ns].host_bytes -= stride;
	st->host_owner[b->host_off / SLAB_ALIGN] = SLOT_NONE;
	store_host_free(st, b->ns, b->host_off);
}

/* ---- dirty lists (per namespace, in commit order) ------------------- */

void store_dirty_add(struct store *st, uint32_t s)
{
	struct block *b = &st->blocks[s];
	struct ns *n = &st->ns[b->ns];
	uint32_t after = n->dirty_tail;

	/* Usually the newest; a block that lost its NVMe copy goes back in order. */
	while (after != SLOT_NONE && st->blocks[after].seq > b->seq)
		after = st->blocks[after].dirty_prev;
	b->dirty_prev = after;
	b->dirty_next = after == SLOT_NONE ? n->dirty_head : st->blocks[after].dirty_next;
	if (b->dirty_next != SLOT_NONE)
		st->blocks[b->dirty_next].dirty_prev = s;
	else
		n->dirty_tail = s;
	if (after != SLOT_NONE)
		st->blocks[after].dirty_next = s;
	else
		n->dirty_head = s;
	n->dirty++;
}

void store_dirty_del(struct store *st, uint32_t s)
{
	struct block *b = &st->blocks[s];
	struct ns *n = &st->ns[b->ns];

	if (b->dirty_prev != SLOT_NONE)
		st->blocks[b->dirty_prev].dirty_next = b->dirty_next;
	else
		n->dirty_head = b->dirty_next;
	if (b->dirty_next != SLOT_NONE)
		st->blocks[b->dirty_next].dirty_prev = b->dirty_prev;
	else
		n->dirty_tail = b->dirty_prev;
	b->dirty_prev = b->dirty_next = SLOT_NONE;
	n->dirty--;
}

static bool is_dirty(const struct store *st, const struct block *b)
{
	return st->nvme && b->state == BLOCK_READY && (b->res & RES_HOST) &&
	       !(b->res & RES_NVME) && !(b->flags & BLOCK_DROPPED);
}

/* ---- NVMe copy ------------------------------------------------------ */

void store_journal_put(struct store *st, uint32_t s, uint16_t type)
{
	const struct block *b = &st->blocks[s];
	struct jrec r = { .type = type, .seq = b->seq };

	r.u.blk.ns = b->ns;
	r.u.blk.dev = b->nv_dev;
	r.u.blk.key = b->key;
	r.u.blk.off = b->nv_off;
	r.u.blk.length = st->ns[b->ns].block_size;
	r.u.blk.data_csum = b->csum;
	jrec_seal(&r);
	/* Out of memory loses recoverability of this block after a restart, nothing else. */
	(void)journal_add(&st->nv.journal, &r);
}

/* Free s's NVMe space (a copy, or the slot reserved for a write). */
static void nv_free_space(struct store *st, uint32_t s)
{
	struct block *b = &st->blocks[s];
	struct store_nv *nv = &st->nv;

	nv->owner[b->nv_dev][b->nv_off / SLAB_ALIGN] = SLOT_NONE;
	slab_free(&nv->slab[b->nv_dev], b->nv_off);
}

/* s's NVMe copy goes away (evicted, dropped, found corrupt). */
void store_nv_release(struct store *st, uint32_t s)
{
	struct block *b = &st->blocks[s];
	struct store_nv *nv = &st->nv;

	if (!(b->res & RES_NVME))
		return;
	if (!(b->flags & BLOCK_DROPPED)) {
		nv->evict->remove(nv->evict_state, s);
		nv->blocks--;
	}
	store_journal_put(st, s, JREC_DEL);
	nv_free_space(st, s);
	nv->used_bytes -= nv->slab[b->nv_dev].classes[st->ns[b->ns].nv_cls].stride;
	st->ns[b->ns].nv_bytes -= nv->slab[b->nv_dev].classes[st->ns[b->ns].nv_cls].stride;
	b->res &= (uint8_t)~RES_NVME;
}

/* ---- forgetting a block --------------------------------------------- */

/* Free what is left of a dropped block once no pin and no I/O holds it. */
void store_reap_dropped(struct store *st, uint32_t s)
{
	struct block *b = &st->blocks[s];

	if (b->pins || b->io)
		return;
	if (b->res & RES_HOST)
		store_host_detach(st, s);
	store_gpu_release(st, s);
	store_nv_release(st, s);
	store_slot_free(st, s);
}

void store_forget(struct store *st, uint32_t s)
{
	struct block *b = &st->blocks[s];
	struct ns *n = &st->ns[b->ns];

	index_del(&n->index, b->key);
	n->blocks--;
	st->ready_blocks--;
	if (is_dirty(st, b))
		store_dirty_del(st, s);
	/* Out of both policies and counts now; the memory follows when nothing holds it. */
	if (b->res & RES_HOST) {
		st->evict->remove(store_evict_state(st, s), s);
		st->host_blocks--;
	}
	if (b->res & RES_NVME) {
		st->nv.evict->remove(st->nv.evict_state, s);
		st->nv.blocks--;
	}
	if (b->res & RES_GPU) {
		st->gpu.evict->remove(st->gpu.evict_state, s);
		st->gpu.blocks--;
	}
	b->flags |= BLOCK_DROPPED;
	store_reap_dropped(st, s);
}

bool store_block_intact(const struct store *st, uint32_t s)
{
	const struct block *b = &st->blocks[s];

	return XXH3_64bits(st->arena + b->host_off, st->ns[b->ns].block_size) == b->csum;
}

void store_tampered(struct store *st, uint32_t s)
{
	st->c.verify_failures++;
	store_forget(st, s);
}

/* ---- eviction from the host ----------------------------------------- */

struct evict_ctx {
	struct store *st;
	uint32_t cls;
	uint32_t ns;  /* only this namespace's blocks (quota), or NS_ANY */
	uint32_t dom; /* only this host domain's blocks, or DOM_ANY */
	bool spare_prefetched; /* not blocks a prefetch brought up that nobody used yet */
};

#define NS_ANY UINT32_MAX
#define DOM_ANY UINT32_MAX

static bool host_evictable(void *arg, uint32_t slot)
{
	struct evict_ctx *x = arg;
	const struct block *b = &x->st->blocks[slot];

	return b->state == BLOCK_READY && (b->res & RES_HOST) && b->pins == 0 && b->io == 0 &&
	       !(b->flags & BLOCK_DROPPED) && (x->cls == CLS_ANY || b->cls == x->cls) &&
	       (x->ns == NS_ANY || b->ns == x->ns) &&
	       (x->dom == DOM_ANY || x->st->ns[b->ns].dom == x->dom) &&
	       !(x->spare_prefetched && (b->flags & BLOCK_PREFETCHED));
}

/* Write s to NVMe; with evict_after, its host copy goes once it is there. */
static int start_writeback(struct store *st, uint32_t s, bool evict_after);

/*
 * Make s leave host memory: at once when it is clean or there is no NVMe
 * tier (or the admission policy will not write it); else by a demotion.
 * Returns 0 when it left, -EINPROGRESS when a demotion started, -EBUSY when
 * too many demotions are in flight already.
 */
static int host_evict(struct store *st, uint32_t s)
{
	struct block *b = &st->blocks[s];
	struct store_nv *nv = &st->nv;
	int r;

	if (b->res & RES_NVME) {
		store_host_detach(st, s);
		nv->demotions++;
		st->c.evictions++;
		st->ns[b->ns].demotions++;
		st->ns[b->ns].evictions++;
		return 0;
	}
	if (st->nvme && (!nv->admit->demote ||
			 nv->admit->demote(nv->admit_state, s, key_fingerprint(b->key)))) {
		if (nv->demote_inflight >= nv->demote_max)
			return -EBUSY;
		r = start_writeback(st, s, true);
		if (r == 0)
			return -EINPROGRESS;
		if (r == -EBADMSG)
			return 0; /* failed verification: forgotten already */
	}
	/* Not written down: it leaves the cache. */
	st->c.evictions++;
	st->ns[b->ns].evictions++;
	store_forget(st, s);
	return 0;
}

/* Evict what can go of the slab holding s (another class needs the extents). */
static int reclaim_slab_of(struct store *st, uint32_t victim)
{
	uint32_t dom = st->ns[st->blocks[victim].ns].dom;
	struct store_dom *d = &st->dom[dom];
	struct evict_ctx any = { st, CLS_ANY, NS_ANY, dom, false };
	uint64_t offs[SLAB_EXTENT_BYTES / SLAB_ALIGN];
	uint32_t n = slab_blocks_of(&d->slab, st->blocks[victim].host_off - d->base, offs,
				    sizeof(offs) / sizeof(offs[0]));
	int r = host_evict(st, victim), r2;

	if (r == -EBUSY)
		return r;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t s;

		if (!slab_is_allocated(&d->slab, offs[i]))
			continue;
		s = st->host_owner[(d->base + offs[i]) / SLAB_ALIGN];
		if (s == SLOT_NONE || !host_evictable(&any, s))
			continue;
		r2 = host_evict(st, s);
		if (r2 == -EBUSY)
			break;
	}
	return r;
}

/*
 * A namespace over its host quota makes room among its own blocks, in its
 * policy order, never a neighbour's.  0, -EINPROGRESS or -ENOSPC.
 */
static int quota_room(struct store *st, uint32_t ns, bool for_prefetch)
{
	struct ns *n = &st->ns[ns];
	uint64_t stride = store_dom_of(st, ns)->slab.classes[n->cls].stride;

	while (n->quota_host && n->host_bytes + stride > n->quota_host) {
		struct evict_ctx own = { st, CLS_ANY, ns, DOM_ANY, for_prefetch };
		uint32_t v = st->evict->pick_victim(st->dom[n->dom].evict_state, host_evictable,
						    &own);
		int r;

		if (v == SLOT_NONE)
			return st->nv.demote_inflight ? -EINPROGRESS : -ENOSPC;
		r = host_evict(st, v);
		if (r == -EBUSY)
			return -EINPROGRESS;
		n->quota_evictions++;
	}
	return 0;
}

/*
 * Host memory for a block of namespace ns, size class cls: free, or made by
 * evicting in policy order.  Room for a prefetch is not made from blocks an
 * earlier prefetch brought up that have not been used yet: a window of
 * prefetches larger than host memory would evict its own blocks before
 * their acquires came (measured: 2 MiB blocks through 128 MiB of host
 * memory with 64 prefetches ahead read at a quarter of the speed).  The
 * prefetch is skipped instead; demand (alloc, acquire) evicts anything.
 */
int64_t store_host_room(struct store *st, uint32_t ns, uint32_t cls, bool for_prefetch)
{
	int r = quota_room(st, ns, for_prefetch);

	if (r < 0)
		return r;
	for (;;) {
		/* Room in the namespace's own domain, made from that domain's blocks only. */
		struct store_dom *d = store_dom_of(st, ns);
		struct evict_ctx same = { st, CLS_ANY, NS_ANY, st->ns[ns].dom, for_prefetch };
		uint64_t off = slab_alloc(&d->slab, cls);
		uint32_t v;

		if (off != SLAB_OFF_NONE)
			return (int64_t)(d->base + off);
		v = st->evict->pick_victim(d->evict_state, host_evictable, &same);
		if (v == SLOT_NONE)
			return st->nv.demote_inflight ? -EINPROGRESS : -ENOSPC;
		r = st->blocks[v].cls == cls ? host_evict(st, v) : reclaim_slab_of(st, v);
		if (r == -EBUSY)
			return -EINPROGRESS;
	}
}

void store_balance(struct store *st)
{
	struct store_nv *nv = &st->nv;

	if (!st->nvme)
		return;
	/* Each domain against its own watermarks: a full private arena is its own business. */
	for (uint32_t dom = 0; dom < st->n_dom; dom++) {
		struct store_dom *d = &st->dom[dom];
		/* Watermarks are a target, not a need: unused prefetches stay (store_host_room). */
		struct evict_ctx same = { st, CLS_ANY, NS_ANY, dom, true };

		if (d->used_bytes <= d->high_bytes)
			continue;
		/* Demote in policy order until what stays is under the low watermark. */
		while (d->used_bytes - d->demote_bytes > d->low_bytes &&
		       nv->demote_inflight < nv->demote_max) {
			uint32_t v = st->evict->pick_victim(d->evict_state, host_evictable, &same);

			if (v == SLOT_NONE || host_evict(st, v) == -EBUSY)
				break;
		}
	}
}

/* ---- NVMe room ------------------------------------------------------ */

struct nv_evict_ctx {
	struct store *st;
	bool keep_host; /* spare blocks that also have a host copy */
	uint32_t ns;    /* only this namespace's (quota), or NS_ANY */
};

static bool nv_evictable(void *arg, uint32_t slot)
{
	const struct nv_evict_ctx *x = arg;
	const struct block *b = &x->st->blocks[slot];

	return b->state == BLOCK_READY && (b->res & RES_NVME) && !(b->io & IO_READ) &&
	       !(b->flags & BLOCK_DROPPED) && !(x->keep_host && (b->res & RES_HOST)) &&
	       (x->ns == NS_ANY || b->ns == x->ns);
}

/* s leaves NVMe to make room there; if it was nowhere else, it is gone. */
static void nv_evict(struct store *st, uint32_t s)
{
	struct block *b = &st->blocks[s];

	st->nv.evictions++;
	if (!(b->res & RES_HOST)) {
		store_forget(st, s);
		return;
	}
	store_nv_release(st, s);
	store_dirty_add(st, s); /* only in host memory again */
}

/*
 * NVMe space for a block of namespace n: 0 with ret_dev and ret_off set, or
 * -ENOSPC.  With keep_host (a flush), a victim that also has a host copy is
 * not taken: evicting it only makes it dirty again, and a flush larger than
 * the device would chase its own tail forever.
 */
static int nv_room(struct store *st, const struct ns *n, bool keep_host, uint32_t *ret_dev,
		   uint64_t *ret_off)
{
	struct store_nv *nv = &st->nv;
	struct nv_evict_ctx x = { st, keep_host, NS_ANY };

	for (;;) {
		uint32_t v;

		for (uint32_t i = 0; i < nv->n_devs; i++) {
			uint32_t d = (nv->next_dev + i) % nv->n_devs;
			uint64_t off = slab_alloc(&nv->slab[d], n->nv_cls);

			if (off != SLAB_OFF_NONE) {
				/* Stripe: the next block goes to the next device. */
				nv->next_dev = (d + 1) % nv->n_devs;
				*ret_dev = d;
				*ret_off = off;
				return 0;
			}
		}
		v = nv->evict->pick_victim(nv->evict_state, nv_evictable, &x);
		if (v == SLOT_NONE)
			return -ENOSPC;
		/*
		 * A victim of another size class frees space only once its whole
		 * NVMe slab is empty; evicting in policy order gets there.
		 */
		nv_evict(st, v);
	}
}

/* A namespace over its NVMe quota makes room among its own NVMe blocks. */
static int nv_quota_room(struct store *st, uint32_t ns)
{
	struct ns *n = &st->ns[ns];
	uint64_t stride = st->nv.n_devs ? st->nv.slab[0].classes[n->nv_cls].stride : 0;

	while (n->quota_nvme && n->nv_bytes + stride > n->quota_nvme) {
		struct nv_evict_ctx own = { .st = st, .keep_host = false, .ns = ns };
		uint32_t v = st->nv.evict->pick_victim(st->nv.evict_state, nv_evictable, &own);

		if (v == SLOT_NONE)
			return -ENOSPC;
		nv_evict(st, v);
		n->quota_evictions++;
	}
	return 0;
}

static int start_writeback(struct store *st, uint32_t s, bool evict_after)
{
	struct block *b = &st->blocks[s];
	struct ns *n = &st->ns[b->ns];
	struct store_nv *nv = &st->nv;
	struct nv_hdr hdr = { .seq = b->seq, .key = b->key, .length = n->block_size,
			      .block_size = n->block_size };
	uint32_t dev;
	uint64_t off;
	int r;

	if (b->io & IO_WRITE) {
		if (evict_after && !(b->io & IO_EVICT_AFTER)) {
			b->io |= IO_EVICT_AFTER;
			nv->demote_inflight++;
			store_dom_of(st, b->ns)->demote_bytes += store_host_stride(st, b);
		}
		return 0;
	}
	if (st->verify && !store_block_intact(st, s)) {
		store_tampered(st, s);
		return -EBADMSG;
	}
	r = nv_quota_room(st, b->ns);
	if (r < 0)
		return r;
	r = nv_room(st, n, !evict_after, &dev, &off);
	if (r < 0)
		return r;
	/*
	 * With host.verify the checksum written is the one taken at commit: bytes
	 * changed since are not written at all, and bytes changed while the
	 * write reads them fail the read-back check.  Either way what comes
	 * back from NVMe as this block is what was committed, or nothing.
	 */
	if (!st->verify)
		b->csum = XXH3_64bits(st->arena + b->host_off, n->block_size);
	hdr.data_csum = b->csum;
	memcpy(hdr.ns_name, n->name, sizeof(hdr.ns_name));
	nv_hdr_seal(&hdr);
	b->nv_dev = (uint16_t)dev;
	b->nv_off = off;
	nv->owner[dev][off / SLAB_ALIGN] = s;
	r = st->io.write_block(st->io.ctx, store_handle(st, s), dev, off, &hdr, b->host_off,
			       n->block_size);
	if (r < 0) {
		nv_free_space(st, s);
		return r;
	}
	b->io |= IO_WRITE | (evict_after ? IO_EVICT_AFTER : 0);
	nv->writes_inflight++;
	if (evict_after) {
		nv->demote_inflight++;
		store_dom_of(st, b->ns)->demote_bytes += store_host_stride(st, b);
	}
	return 0;
}

/* ---- completions ---------------------------------------------------- */

/* The block of a completion, or SLOT_NONE if the handle is no longer its. */
static uint32_t io_slot(const struct store *st, tier_handle h)
{
	uint32_t s = (uint32_t)h;

	if (s >= st->used_slots || st->blocks[s].gen != (uint32_t)(h >> 32))
		return SLOT_NONE;
	return s;
}

void store_write_done(struct store *st, tier_handle h, int res)
{
	uint32_t s = io_slot(st, h);
	struct store_nv *nv = &st->nv;
	struct block *b;
	bool evict_after;

	if (s == SLOT_NONE)
		return; /* cannot happen: a block with I/O in flight is never freed */
	b = &st->blocks[s];
	evict_after = b->io & IO_EVICT_AFTER;
	b->io &= (uint8_t) ~(IO_WRITE | IO_EVICT_AFTER);
	nv->writes_inflight--;
	if (evict_after) {
		nv->demote_inflight--;
		store_dom_of(st, b->ns)->demote_bytes -= store_host_stride(st, b);
	}
	if (res < 0) {
		nv->io_errors++;
		nv_free_space(st, s);
		if (b->flags & BLOCK_DROPPED) {
			store_reap_dropped(st, s);
		} else if (evict_after && b->pins == 0 && !b->io) {
			/* Could not keep it on NVMe and it must leave memory: a cache miss later. */
			st->c.evictions++;
			st->ns[b->ns].evictions++;
			store_forget(st, s);
		}
		return;
	}
	nv->writebacks++;
	if (b->flags & BLOCK_DROPPED) {
		/* Dropped while being written: the copy is not wanted. */
		nv_free_space(st, s);
		store_reap_dropped(st, s);
		return;
	}
	b->res |= RES_NVME;
	nv->blocks++;
	nv->used_bytes += nv->slab[b->nv_dev].classes[st->ns[b->ns].nv_cls].stride;
	st->ns[b->ns].nv_bytes += nv->slab[b->nv_dev].classes[st->ns[b->ns].nv_cls].stride;
	store_dirty_del(st, s);
	store_journal_put(st, s, JREC_PUT);

	struct tier_access a = { .key = key_fingerprint(b->key), .parent = SLOT_NONE,
				 .ns = b->ns, .now = st->now };
	nv->evict->insert(nv->evict_state, s, &a);
	if (evict_after && b->pins == 0 && !b->io) {
		store_host_detach(st, s);
		nv->demotions++;
		st->c.evictions++;
		st->ns[b->ns].demotions++;
		st->ns[b->ns].evictions++;
	}
}

void store_read_done(struct store *st, tier_handle h, int res, const struct nv_hdr *hdr)
{
	uint32_t s = io_slot(st, h);
	struct store_nv *nv = &st->nv;
	struct block *b;
	const struct ns *n;
	bool prefetch, retried, ok;

	if (s == SLOT_NONE)
		return;
	b = &st->blocks[s];
	n = &st->ns[b->ns];
	prefetch = b->io & IO_PREFETCH;
	retried = b->io & IO_RETRY;
	b->io &= (uint8_t) ~(IO_READ | IO_PREFETCH | IO_RETRY);
	if (b->flags & BLOCK_DROPPED) {
		store_host_detach(st, s);
		store_reap_dropped(st, s);
		return;
	}
	ok = res == 0 && hdr && nv_hdr_valid(hdr) && hdr->key.hi == b->key.hi &&
	     hdr->key.lo == b->key.lo && hdr->seq == b->seq && hdr->length == n->block_size &&
	     hdr->data_csum == b->csum &&
	     XXH3_64bits(st->arena + b->host_off, n->block_size) == b->csum;
	if (!ok) {
		if (res < 0)
			nv->io_errors++;
		else
			nv->checksum_failures++;
		/*
		 * Read it once more, into the same host memory: a transient error
		 * (a short transfer, -EAGAIN, a bit flipped on the way) passes, and
		 * whoever waits for the block still waits on IO_READ.
		 */
		if (!retried) {
			b->io |= (uint8_t)(IO_READ | IO_RETRY | (prefetch ? IO_PREFETCH : 0));
			nv->read_retries++;
			if (st->io.read_block(st->io.ctx, store_handle(st, s), b->nv_dev, b->nv_off,
					      b->host_off, n->block_size) >= 0)
				return;
			b->io &= (uint8_t) ~(IO_READ | IO_RETRY | IO_PREFETCH);
		}
		/* Never data: the block is a miss from now on. */
		nv->read_losses++;
		store_host_detach(st, s);
		store_forget(st, s);
		return;
	}
	b->res |= RES_HOST;
	if (prefetch)
		b->flags |= BLOCK_PREFETCHED;
	st->host_blocks++;
	nv->promotions++;
	st->ns[b->ns].promotions++;

	struct tier_access a = { .key = key_fingerprint(b->key), .parent = SLOT_NONE,
				 .ns = b->ns, .now = st->now,
				 .flags = prefetch ? TIER_ACC_PREFETCH : 0 };
	st->evict->insert(store_evict_state(st, s), s, &a);
}

/* ---- eviction on demand (tierctl evict) ------------------------------ */

int store_evict_bytes(struct store *st, int tier, uint64_t bytes, uint64_t *ret_bytes,
		      uint64_t *ret_blocks)
{
	struct evict_ctx any = { st, CLS_ANY, NS_ANY, DOM_ANY, false };
	uint64_t done = 0, blocks = 0;
	uint32_t dom = 0; /* host: the shared arena's blocks first, then each private arena's */

	if (tier == TIER_NVME && !st->nvme)
		return -ENODEV;
	if (tier != TIER_HOST && tier != TIER_NVME)
		return -ENODEV;
	while (done < bytes) {
		uint32_t v;
		uint64_t size;

		if (tier == TIER_HOST) {
			v = st->evict->pick_victim(st->dom[dom].evict_state, host_evictable, &any);
			if (v == SLOT_NONE) {
				if (++dom == st->n_dom)
					break;
				continue;
			}
			size = store_host_stride(st, &st->blocks[v]);
			/* -EBUSY: as many demotions in flight as allowed; stop here. */
			if (host_evict(st, v) == -EBUSY)
				break;
		} else {
			const struct block *b;

			struct nv_evict_ctx x = { .st = st, .keep_host = false, .ns = NS_ANY };

			v = st->nv.evict->pick_victim(st->nv.evict_state, nv_evictable, &x);
			if (v == SLOT_NONE)
				break;
			b = &st->blocks[v];
			size = st->nv.slab[b->nv_dev].classes[st->ns[b->ns].nv_cls].stride;
			nv_evict(st, v);
		}
		done += size;
		blocks++;
	}
	*ret_bytes = done;
	*ret_blocks = blocks;
	return 0;
}

/* ---- flush ---------------------------------------------------------- */

static void flush_ns(struct store *st, struct ns *n)
{
	for (uint32_t s = n->dirty_head; s != SLOT_NONE;) {
		uint32_t next = st->blocks[s].dirty_next;

		/* -EBADMSG (failed host.verify) took s off the dirty list: the flush ends. */
		if (!(st->blocks[s].io & IO_WRITE))
			(void)start_writeback(st, s, false);
		s = next;
	}
}

int store_flush_start(struct store *st, uint32_t ns, uint64_t *ret_epoch)
{
	if (!st->nvme)
		return -ENODEV;
	if (ns != UINT32_MAX && !store_ns_exists(st, ns))
		return -ENOENT;
	*ret_epoch = st->seq;
	for (uint32_t i = 0; i < st->n_ns; i++)
		if (ns == UINT32_MAX || ns == i)
			flush_ns(st, &st->ns[i]);
	return 0;
}

int store_flush_kick(struct store *st, uint32_t ns, uint64_t epoch)
{
	if (!store_flush_pending(st, ns, epoch))
		return 0;
	if (st->nv.writes_inflight)
		return -EINPROGRESS;
	/* Nothing on its way: start what could not start before, once more. */
	for (uint32_t i = 0; i < st->n_ns; i++)
		if (ns == UINT32_MAX || ns == i)
			flush_ns(st, &st->ns[i]);
	if (st->nv.writes_inflight)
		return -EINPROGRESS;
	/* What waited may have failed host.verify and left: then the flush is done. */
	return store_flush_pending(st, ns, epoch) ? -ENOSPC : 0;
}

bool store_flush_pending(const struct store *st, uint32_t ns, uint64_t epoch)
{
	for (uint32_t i = 0; i < st->n_ns; i++) {
		uint32_t head = st->ns[i].dirty_head;

		if ((ns == UINT32_MAX || ns == i) && head != SLOT_NONE &&
		    st->blocks[head].seq <= epoch)
			return true;
	}
	return false;
}
