/* SPDX-License-Identifier: MIT */
/*
 * The block store.  One reactor thread owns it: no locks.
 *
 * A block is a slot in one table; its handle is generation << 32 | slot and
 * the generation moves on every time the slot is freed, so a handle outlives
 * its block only as -ESTALE, never as someone else's bytes.  Slots move
 * FREE -> WRITING (one holder) -> READY (in the namespace index and in the
 * eviction policy) -> FREE.  A ready block that is pinned is never handed to
 * the policy as evictable; dropping a pinned block takes it out of the index
 * at once and frees it on its last release.
 *
 * Room for a new block comes, in order, from a free block of its size
 * class, free extents, the policy's victim within the class, and finally
 * from reclaiming the whole slab of the policy's victim in another class (so
 * namespaces of different block sizes rebalance the arena between them).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "store.h"

#define CLS_ANY UINT32_MAX

static uint64_t key_fingerprint(tier_key k)
{
	uint64_t f = k.lo ^ (k.hi * 0x9E3779B97F4A7C15ULL);

	return f ? f : 1;
}

/* ---- slots --------------------------------------------------------- */

static uint32_t slot_alloc(struct store *st)
{
	uint32_t s;

	if (st->free_slot != TIER_SLOT_NONE) {
		s = st->free_slot;
		st->free_slot = st->blocks[s].next_free;
		return s;
	}
	if (st->used_slots == st->max_slots)
		return TIER_SLOT_NONE;
	s = st->used_slots++;
	st->blocks[s].gen = 1;
	return s;
}

static void slot_free(struct store *st, uint32_t s)
{
	struct block *b = &st->blocks[s];
	uint32_t gen = b->gen + 1;

	memset(b, 0, sizeof(*b));
	b->gen = gen ? gen : 1;
	b->next_free = st->free_slot;
	st->free_slot = s;
}

static inline uint32_t *host_owner(struct store *st, uint64_t off)
{
	return &st->host_owner[off / SLAB_ALIGN];
}

/* Release a block's host memory and its slot (it is in no index or policy). */
static void block_free(struct store *st, uint32_t s)
{
	struct block *b = &st->blocks[s];

	st->used_bytes -= st->slab.classes[b->cls].stride;
	*host_owner(st, b->host_off) = TIER_SLOT_NONE;
	slab_free(&st->slab, b->host_off);
	slot_free(st, s);
}

/* Decode a handle: the slot, or -EINVAL (no such slot) / -ESTALE (old generation). */
static int handle_slot(const struct store *st, tier_handle h, uint32_t *ret)
{
	uint32_t slot = (uint32_t)h, gen = (uint32_t)(h >> 32);

	if (slot >= st->used_slots || gen == 0)
		return -EINVAL;
	if (st->blocks[slot].gen != gen)
		return -ESTALE;
	*ret = slot;
	return 0;
}

static struct ns *ns_get(struct store *st, uint32_t id)
{
	return id < st->n_ns ? &st->ns[id] : NULL;
}

/* ---- eviction ------------------------------------------------------ */

struct evict_ctx {
	struct store *st;
	uint32_t cls;
};

static bool evictable(void *arg, uint32_t slot)
{
	struct evict_ctx *x = arg;
	const struct block *b = &x->st->blocks[slot];

	return b->state == BLOCK_READY && b->pins == 0 && !(b->flags & BLOCK_DROPPED) &&
	       (x->cls == CLS_ANY || b->cls == x->cls);
}

static void evict_block(struct store *st, uint32_t s)
{
	struct block *b = &st->blocks[s];
	struct ns *n = &st->ns[b->ns];

	st->evict->remove(st->evict_state, s);
	index_del(&n->index, b->key);
	n->blocks--;
	st->ready_blocks--;
	st->c.evictions++;
	block_free(st, s);
}

/*
 * Evict every block of the slab that holds victim, if all of them can go;
 * otherwise just the victim.  Either way at least one block is evicted.
 */
static void reclaim_slab_of(struct store *st, uint32_t victim)
{
	struct evict_ctx any = { st, CLS_ANY };
	uint64_t offs[SLAB_EXTENT_BYTES / SLAB_ALIGN];
	uint32_t n = slab_blocks_of(&st->slab, st->blocks[victim].host_off, offs,
				    sizeof(offs) / sizeof(offs[0]));
	bool all = true;

	for (uint32_t i = 0; i < n && all; i++) {
		if (!slab_is_allocated(&st->slab, offs[i]))
			continue;
		all = evictable(&any, *host_owner(st, offs[i]));
	}
	if (!all) {
		evict_block(st, victim);
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		if (slab_is_allocated(&st->slab, offs[i]))
			evict_block(st, *host_owner(st, offs[i]));
}

/* Host memory for a block of class cls, evicting as needed, or SLAB_OFF_NONE. */
static uint64_t make_room(struct store *st, uint32_t cls)
{
	for (;;) {
		struct evict_ctx same = { st, cls }, any = { st, CLS_ANY };
		uint64_t off = slab_alloc(&st->slab, cls);
		uint32_t v;

		if (off != SLAB_OFF_NONE)
			return off;
		v = st->evict->pick_victim(st->evict_state, evictable, &same);
		if (v != TIER_SLOT_NONE) {
			evict_block(st, v);
			continue;
		}
		v = st->evict->pick_victim(st->evict_state, evictable, &any);
		if (v == TIER_SLOT_NONE)
			return SLAB_OFF_NONE;
		reclaim_slab_of(st, v);
	}
}

/* ---- life cycle ---------------------------------------------------- */

int store_init(struct store *st, const struct store_params *p)
{
	struct tier_policy_params pp;
	size_t table_bytes;
	int r;

	memset(st, 0, sizeof(*st));
	st->free_slot = TIER_SLOT_NONE;
	r = slab_init(&st->slab, p->arena_bytes);
	if (r < 0)
		return r;
	/* Every block spans at least SLAB_ALIGN bytes: this many slots never run out. */
	st->max_slots = (uint32_t)(st->slab.arena_bytes / SLAB_ALIGN);
	table_bytes = (size_t)st->max_slots * sizeof(struct block);
	/* Reserved, not committed: untouched slots cost no memory. */
	st->blocks = mmap(NULL, table_bytes, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (st->blocks == MAP_FAILED) {
		st->blocks = NULL;
		r = -ENOMEM;
		goto fail;
	}
	st->host_owner = malloc((size_t)st->max_slots * sizeof(uint32_t));
	st->ns = calloc(p->max_namespaces, sizeof(struct ns));
	if (!st->host_owner || !st->ns) {
		r = -ENOMEM;
		goto fail;
	}
	memset(st->host_owner, 0xff, (size_t)st->max_slots * sizeof(uint32_t));
	st->max_ns = p->max_namespaces;
	st->seed = p->seed;
	st->evict = p->evict;
	pp = (struct tier_policy_params){ .max_slots = st->max_slots };
	r = st->evict->create(&pp, &st->evict_state);
	if (r < 0)
		goto fail;
	return 0;
fail:
	st->evict = NULL;
	store_deinit(st);
	return r;
}

void store_deinit(struct store *st)
{
	if (st->evict)
		st->evict->destroy(st->evict_state);
	for (uint32_t i = 0; i < st->n_ns; i++)
		index_deinit(&st->ns[i].index);
	free(st->ns);
	free(st->host_owner);
	if (st->blocks)
		munmap(st->blocks, (size_t)st->max_slots * sizeof(struct block));
	slab_deinit(&st->slab);
	memset(st, 0, sizeof(*st));
}

int store_set_evict(struct store *st, const struct tier_evict_ops *ops)
{
	struct tier_policy_params pp = { .max_slots = st->max_slots };
	void *state;
	int r;

	if (ops == st->evict)
		return 0;
	r = ops->create(&pp, &state);
	if (r < 0)
		return r; /* the old policy stays */
	/* Hand the new policy every cached block; recency history starts afresh. */
	for (uint32_t s = 0; s < st->used_slots; s++) {
		const struct block *b = &st->blocks[s];
		struct tier_access a = { .key = key_fingerprint(b->key), .parent = TIER_SLOT_NONE,
					 .ns = b->ns, .now = st->now };

		if (b->state == BLOCK_READY && !(b->flags & BLOCK_DROPPED))
			ops->insert(state, s, &a);
	}
	st->evict->destroy(st->evict_state);
	st->evict = ops;
	st->evict_state = state;
	return 0;
}

/* ---- namespaces ---------------------------------------------------- */

int store_ns_open(struct store *st, const char *name, uint64_t block_size, uint32_t *ret_ns)
{
	size_t len = strnlen(name, TIER_NAME_MAX + 1);
	struct ns *n;
	int cls, r;

	if (len == 0 || len > TIER_NAME_MAX)
		return -EINVAL;
	for (uint32_t i = 0; i < st->n_ns; i++)
		if (strcmp(st->ns[i].name, name) == 0) {
			if (st->ns[i].block_size != block_size)
				return -EINVAL;
			*ret_ns = i;
			return 0;
		}
	if (block_size == 0 || block_size > store_max_block_size(st))
		return -EINVAL;
	if (st->n_ns == st->max_ns)
		return -ENOSPC;
	cls = slab_class_for(&st->slab, block_size);
	if (cls < 0)
		return cls;
	n = &st->ns[st->n_ns];
	memset(n, 0, sizeof(*n));
	r = index_init(&n->index, 1024, st->seed ^ st->n_ns);
	if (r < 0)
		return r;
	memcpy(n->name, name, len);
	n->block_size = block_size;
	n->cls = (uint32_t)cls;
	*ret_ns = st->n_ns++;
	return 0;
}

uint64_t store_max_block_size(const struct store *st)
{
	/* A quarter of the arena: eviction always has other blocks to work with. */
	uint64_t m = st->slab.arena_bytes / 4;

	return m > STORE_BLOCK_MAX ? STORE_BLOCK_MAX : m;
}

/* ---- operations ---------------------------------------------------- */

int store_alloc(struct store *st, struct holder *h, uint32_t ns, tier_handle *ret,
		uint64_t *ret_off, uint64_t *ret_size)
{
	struct ns *n = ns_get(st, ns);
	uint32_t *hold, s;
	uint64_t off;

	st->c.alloc++;
	if (!n)
		return -ENOENT;
	off = make_room(st, n->cls);
	if (off == SLAB_OFF_NONE)
		return -ENOSPC;
	s = slot_alloc(st);
	hold = s == TIER_SLOT_NONE ? NULL : u32map_upsert(&h->holds, s);
	if (!hold) {
		if (s != TIER_SLOT_NONE)
			slot_free(st, s);
		slab_free(&st->slab, off);
		return s == TIER_SLOT_NONE ? -ENOSPC : -ENOMEM;
	}
	*hold = HOLD_WRITING;
	st->blocks[s].state = BLOCK_WRITING;
	st->blocks[s].cls = (uint16_t)n->cls;
	st->blocks[s].ns = ns;
	st->blocks[s].writer = h->id;
	st->blocks[s].host_off = off;
	*host_owner(st, off) = s;
	st->used_bytes += st->slab.classes[n->cls].stride;
	*ret = store_handle(st, s);
	*ret_off = off;
	*ret_size = n->block_size;
	return 0;
}

int store_commit(struct store *st, struct holder *h, tier_handle handle, tier_key key,
		 const tier_key *parent)
{
	uint32_t s, *hold;
	struct block *b;
	struct ns *n;
	int r;

	st->c.commit++;
	r = handle_slot(st, handle, &s);
	if (r < 0)
		return r;
	hold = u32map_get(&h->holds, s);
	b = &st->blocks[s];
	if (!hold || *hold != HOLD_WRITING || b->state != BLOCK_WRITING)
		return -EINVAL;
	u32map_del(&h->holds, s);
	n = &st->ns[b->ns];
	r = index_put(&n->index, key, s);
	if (r < 0) {
		/* -EEXIST: the first writer won; this copy is not needed. */
		block_free(st, s);
		return r;
	}
	b->state = BLOCK_READY;
	b->key = key;
	b->touched = ++st->now;
	n->blocks++;
	st->ready_blocks++;

	struct tier_access a = {
		.key = key_fingerprint(key),
		.parent_key = parent ? key_fingerprint(*parent) : 0,
		.parent = parent ? index_get(&n->index, *parent) : TIER_SLOT_NONE,
		.ns = b->ns,
		.now = st->now,
		.flags = TIER_ACC_WRITE,
	};
	st->evict->insert(st->evict_state, s, &a);
	return 0;
}

int store_lookup(struct store *st, struct holder *h, uint32_t ns, const tier_key *keys,
		 uint32_t n_keys, uint32_t first_pos, uint32_t total, tier_key parent)
{
	struct ns *n = ns_get(st, ns);
	uint32_t prev;
	uint32_t i;

	st->c.lookup++;
	if (!n)
		return -ENOENT;
	if (first_pos == 0)
		h->lookup_start = st->now + 1;
	prev = first_pos ? index_get(&n->index, parent) : TIER_SLOT_NONE;
	for (i = 0; i < n_keys; i++) {
		uint32_t s = index_get(&n->index, keys[i]);
		const tier_key *pk = i ? &keys[i - 1] : (first_pos ? &parent : NULL);

		if (s == INDEX_NONE) {
			n->misses++;
			st->c.misses++;
			break;
		}
		n->hits++;
		st->c.hits++;
		st->blocks[s].touched = ++st->now;

		struct tier_access a = {
			.key = key_fingerprint(keys[i]),
			.parent_key = pk ? key_fingerprint(*pk) : 0,
			.parent = prev,
			.ns = ns,
			.pos = first_pos + i,
			.req_len = total,
			.prefix_hits = first_pos + i,
			.now = st->now,
			.flags = TIER_ACC_LOOKUP,
		};
		st->evict->access(st->evict_state, s, &a);
		prev = s;
	}
	return (int)i;
}

int store_acquire(struct store *st, struct holder *h, uint32_t ns, tier_key key,
		  tier_handle *ret, uint64_t *ret_off, uint64_t *ret_size)
{
	struct ns *n = ns_get(st, ns);
	uint32_t s, *hold;
	struct block *b;

	st->c.acquire++;
	if (!n)
		return -ENOENT;
	s = index_get(&n->index, key);
	if (s == INDEX_NONE) {
		n->misses++;
		st->c.misses++;
		return -ENOENT;
	}
	b = &st->blocks[s];
	hold = u32map_upsert(&h->holds, s);
	if (!hold)
		return -ENOMEM;
	(*hold)++;
	h->pins++;
	if (b->pins++ == 0)
		st->pinned_blocks++;
	/*
	 * An engine looks a request's keys up and then acquires the hits: that
	 * is one access, which the lookup already told the policy and counted.
	 * An acquire of a block not touched since this holder's last lookup is
	 * an access of its own.
	 */
	if (b->touched < h->lookup_start) {
		struct tier_access a = { .key = key_fingerprint(key), .parent = TIER_SLOT_NONE,
					 .ns = ns, .now = ++st->now, .flags = TIER_ACC_PIN };

		n->hits++;
		st->c.hits++;
		b->touched = st->now;
		st->evict->access(st->evict_state, s, &a);
	}
	*ret = store_handle(st, s);
	*ret_off = b->host_off;
	*ret_size = n->block_size;
	return 0;
}

/* Take one pin off slot s for holder h, whose hold entry is *hold. */
static void unpin(struct store *st, struct holder *h, uint32_t s, uint32_t count)
{
	struct block *b = &st->blocks[s];

	h->pins -= count;
	b->pins -= count;
	if (b->pins == 0) {
		st->pinned_blocks--;
		if (b->flags & BLOCK_DROPPED)
			block_free(st, s);
	}
}

int store_release(struct store *st, struct holder *h, tier_handle handle)
{
	uint32_t s, *hold;
	int r;

	st->c.release++;
	r = handle_slot(st, handle, &s);
	if (r < 0)
		return r;
	hold = u32map_get(&h->holds, s);
	if (!hold || *hold == HOLD_WRITING || *hold == 0)
		return -EINVAL;
	if (--*hold == 0)
		u32map_del(&h->holds, s);
	unpin(st, h, s, 1);
	return 0;
}

int store_drop(struct store *st, uint32_t ns, tier_key key)
{
	struct ns *n = ns_get(st, ns);
	struct block *b;
	uint32_t s;

	st->c.drop++;
	if (!n)
		return -ENOENT;
	s = index_del(&n->index, key);
	if (s == INDEX_NONE)
		return -ENOENT;
	b = &st->blocks[s];
	st->evict->remove(st->evict_state, s);
	n->blocks--;
	st->ready_blocks--;
	if (b->pins)
		b->flags |= BLOCK_DROPPED;
	else
		block_free(st, s);
	return 0;
}

void store_holder_init(struct holder *h, uint32_t id)
{
	memset(h, 0, sizeof(*h));
	h->id = id;
	/* No lookup yet: every acquire is an access of its own (see store_acquire). */
	h->lookup_start = UINT64_MAX;
	u32map_init(&h->holds);
}

void store_holder_release_all(struct store *st, struct holder *h)
{
	for (size_t i = 0; i < h->holds.cap; i++) {
		uint32_t s = h->holds.keys[i], v = h->holds.vals[i];

		if (s == U32MAP_EMPTY)
			continue;
		if (v == HOLD_WRITING)
			block_free(st, s);
		else if (v)
			unpin(st, h, s, v);
	}
	u32map_deinit(&h->holds);
	h->pins = 0;
}
