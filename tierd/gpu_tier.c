/* SPDX-License-Identifier: MIT */
/*
 * The device tier (T0) in the store: which blocks have a copy in the
 * daemon's GPU pool, where, and in what order they leave it.  Pure metadata,
 * like the rest of the store: copies are asked for through
 * store_io.gpu_copy_in and reported back through store_gpu_copy_done().
 *
 * The design choice that matters: T0 is inclusive of the host tier.  A block
 * is copied into the pool from its host copy and keeps that host copy; when
 * the host copy leaves (evicted, demoted to NVMe, dropped) the GPU copy goes
 * with it (store_host_detach).  So the pool never needs a write-back path of
 * its own (a GPU copy is never the only one), at the price of holding those
 * blocks twice.  Pool room is made in the T0 policy's order (LRU) among the
 * GPU copies of unpinned blocks; their host copies stay.
 *
 * A block gets into the pool only through tier_acquire_gpu, which pins it:
 * the pin keeps both copies where they are until the client releases it (or
 * goes away: its pins are released like any others).
 */
#include <errno.h>
#include <string.h>

#include "store.h"

/* T0 added no byte to the block table: the pool offset lives in former padding. */
_Static_assert(sizeof(struct block) == 96, "struct block grew");

int store_gpu_init(struct store *st, const struct store_params *p)
{
	struct store_gpu *g = &st->gpu;
	struct tier_policy_params pp = { .max_slots = st->max_slots };
	int r;

	if (!p->gpu_bytes)
		return 0;
	if (p->gpu_bytes / SLAB_ALIGN > UINT32_MAX)
		return -EINVAL; /* struct block keeps the offset in 32 bits of pages */
	r = slab_init(&g->slab, p->gpu_bytes, SLAB_EXTENT_BYTES);
	if (r < 0)
		return r;
	g->capacity = g->slab.arena_bytes;
	pp.capacity = (uint32_t)(g->capacity / SLAB_EXTENT_BYTES);
	r = p->gpu_evict->create(&pp, &g->evict_state);
	if (r < 0) {
		slab_deinit(&g->slab);
		return r;
	}
	g->evict = p->gpu_evict;
	g->on = true;
	return 0;
}

void store_gpu_deinit(struct store *st)
{
	struct store_gpu *g = &st->gpu;

	if (!g->on)
		return;
	g->evict->destroy(g->evict_state);
	slab_deinit(&g->slab);
	memset(g, 0, sizeof(*g));
}

static uint64_t gpu_off(const struct block *b)
{
	return (uint64_t)b->gpu_page * SLAB_ALIGN;
}

static uint64_t gpu_stride(const struct store *st, const struct block *b)
{
	return st->gpu.slab.classes[st->ns[b->ns].gpu_cls].stride;
}

static void gpu_free_space(struct store *st, uint32_t s)
{
	struct block *b = &st->blocks[s];

	st->gpu.used_bytes -= gpu_stride(st, b);
	slab_free(&st->gpu.slab, gpu_off(b));
}

void store_gpu_release(struct store *st, uint32_t s)
{
	struct block *b = &st->blocks[s];

	if (!(b->res & RES_GPU))
		return;
	/* A dropped block left the policy and the counts when it was dropped. */
	if (!(b->flags & BLOCK_DROPPED)) {
		st->gpu.evict->remove(st->gpu.evict_state, s);
		st->gpu.blocks--;
	}
	gpu_free_space(st, s);
	b->res &= (uint8_t)~RES_GPU;
}

static bool gpu_evictable(void *arg, uint32_t slot)
{
	const struct store *st = arg;
	const struct block *b = &st->blocks[slot];

	return b->state == BLOCK_READY && (b->res & RES_GPU) && b->pins == 0 &&
	       !(b->flags & BLOCK_DROPPED);
}

/*
 * Pool space for a block of namespace n: its offset, or -EINPROGRESS (copies
 * in flight will make GPU copies evictable) / -ENOSPC (everything pinned).
 * A victim of another size class frees space only once its whole slab is
 * empty; evicting in policy order gets there, as on NVMe.
 */
static int64_t gpu_room(struct store *st, const struct ns *n)
{
	struct store_gpu *g = &st->gpu;

	for (;;) {
		uint64_t off = slab_alloc(&g->slab, n->gpu_cls);
		uint32_t v;

		if (off != SLAB_OFF_NONE)
			return (int64_t)off;
		v = g->evict->pick_victim(g->evict_state, gpu_evictable, st);
		if (v == SLOT_NONE)
			return g->copies_inflight ? -EINPROGRESS : -ENOSPC;
		g->evictions++;
		store_gpu_release(st, v);
	}
}

/* Start copying host-resident block s into the pool: -EINPROGRESS, or an error. */
static int gpu_copy_in(struct store *st, uint32_t s)
{
	struct block *b = &st->blocks[s];
	const struct ns *n = &st->ns[b->ns];
	struct store_gpu *g = &st->gpu;
	int64_t off = gpu_room(st, n);
	int r;

	if (off < 0)
		return (int)off;
	b->gpu_page = (uint32_t)((uint64_t)off / SLAB_ALIGN);
	g->used_bytes += gpu_stride(st, b);
	r = st->io.gpu_copy_in(st->io.ctx, store_handle(st, s), gpu_off(b), b->host_off,
			       n->block_size);
	if (r < 0) {
		gpu_free_space(st, s);
		/* The back end's queue is full: wait for what is in flight. */
		return r == -EAGAIN && g->copies_inflight ? -EINPROGRESS : r;
	}
	/* IO_GPU keeps the host copy in place (nothing evicts a block with I/O). */
	b->io |= IO_GPU;
	g->copies_inflight++;
	return -EINPROGRESS;
}

int store_acquire_gpu(struct store *st, struct holder *h, uint32_t ns, tier_key key, bool retry,
		      tier_handle *ret, uint64_t *ret_off, uint64_t *ret_size,
		      uint64_t *ret_pool_off)
{
	struct store_gpu *g = &st->gpu;
	struct ns *n = store_ns_exists(st, ns) ? &st->ns[ns] : NULL;
	struct block *b;
	uint32_t s;
	int r;

	if (!g->on)
		return -ENODEV;
	if (!n)
		return -ENOENT;
	/* Every client may import the pool: a private arena's bytes never go there. */
	if (n->dom != 0)
		return -EPERM;
	key = store_ns_key(n, key);
	s = index_get(&n->index, key);
	if (s == INDEX_NONE) {
		if (!retry) {
			store_count_misses(st, n, 1);
			g->misses++;
		}
		return -ENOENT;
	}
	b = &st->blocks[s];
	if (!retry) {
		if (b->res & RES_GPU)
			g->hits++;
		else
			g->misses++;
		store_acquire_note(st, h, ns, s, key);
	}
	if (n->gpu_cls == SLAB_NONE)
		return -ENOSPC;
	/* Host memory first: the copy into the pool is made from there. */
	if (!(b->res & RES_HOST))
		return (b->io & IO_READ) ? -EINPROGRESS : store_promote(st, s, false);
	if (!(b->res & RES_GPU))
		return (b->io & IO_GPU) ? -EINPROGRESS : gpu_copy_in(st, s);
	r = store_acquire_key(st, h, ns, key, true, ret, ret_off, ret_size);
	if (r == 0)
		*ret_pool_off = gpu_off(b);
	return r;
}

void store_gpu_copy_done(struct store *st, tier_handle h, int res)
{
	struct store_gpu *g = &st->gpu;
	uint32_t s = (uint32_t)h;
	struct block *b;

	if (s >= st->used_slots || st->blocks[s].gen != (uint32_t)(h >> 32))
		return; /* cannot happen: a block with a copy in flight is never freed */
	b = &st->blocks[s];
	b->io &= (uint8_t)~IO_GPU;
	g->copies_inflight--;
	if (b->flags & BLOCK_DROPPED) {
		gpu_free_space(st, s);
		store_reap_dropped(st, s);
		return;
	}
	if (res < 0) {
		g->copy_errors++;
		gpu_free_space(st, s);
		return;
	}
	b->res |= RES_GPU;
	g->blocks++;
	g->promotions++;

	struct tier_access a = { .key = key_fingerprint(b->key), .parent = SLOT_NONE,
				 .ns = b->ns, .now = st->now };
	g->evict->insert(g->evict_state, s, &a);
}

uint64_t store_gpu_pinned(const struct store *st)
{
	uint64_t n = 0;

	if (!st->gpu.on)
		return 0;
	for (uint32_t s = 0; s < st->used_slots; s++) {
		const struct block *b = &st->blocks[s];

		n += b->state == BLOCK_READY && (b->res & RES_GPU) && b->pins > 0;
	}
	return n;
}
