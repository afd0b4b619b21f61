/* SPDX-License-Identifier: MIT */
/*
 * The block store: block table, namespaces, and the operations clients ask
 * for.  One reactor thread owns it: no locks.
 *
 * A block is a slot in one table; its handle is generation << 32 | slot and
 * the generation moves on every time the slot is freed, so a handle outlives
 * its block only as -ESTALE, never as someone else's bytes.  Slots move
 * FREE -> WRITING (one holder) -> READY (in the namespace index) -> FREE.  A
 * READY block lives in one or both tiers (residency RES_HOST, RES_NVME); the
 * host policy holds the host-resident ones, the NVMe policy the NVMe ones.
 * Moving blocks between tiers is move.c's business.
 *
 * A ready block that is pinned, or has I/O in flight, is never evicted;
 * dropping such a block takes it out of the index at once and frees it when
 * the last pin is released and the I/O is done.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xxhash.h>

#include "store.h"

/* The key under which a namespace indexes a client's key: salted when configured. */
static tier_key ns_key(const struct ns *n, tier_key k)
{
	uint8_t buf[32];
	XXH128_hash_t h;

	if (!n->salted)
		return k;
	memcpy(buf, n->salt, 16);
	memcpy(buf + 16, &k, 16);
	h = XXH3_128bits(buf, sizeof(buf));
	return (tier_key){ .hi = h.high64, .lo = h.low64 };
}

/* keys[0..count) as the namespace indexes them (a static copy when salted). */
static const tier_key *ns_keys(const struct ns *n, const tier_key *keys, uint32_t count)
{
	static tier_key buf[65536];

	if (!n->salted)
		return keys;
	if (count > sizeof(buf) / sizeof(buf[0]))
		count = sizeof(buf) / sizeof(buf[0]);
	for (uint32_t i = 0; i < count; i++)
		buf[i] = ns_key(n, keys[i]);
	return buf;
}

uint64_t key_fingerprint(tier_key k)
{
	uint64_t f = k.lo ^ (k.hi * 0x9E3779B97F4A7C15ULL);

	return f ? f : 1;
}

/* ---- slots --------------------------------------------------------- */

uint32_t store_slot_alloc(struct store *st)
{
	uint32_t s;

	if (st->free_slot != SLOT_NONE) {
		s = st->free_slot;
		st->free_slot = st->blocks[s].next_free;
		st->blocks[s].next_free = 0;
		return s;
	}
	if (st->used_slots == st->max_slots)
		return SLOT_NONE;
	s = st->used_slots++;
	st->blocks[s].gen = 1;
	return s;
}

void store_slot_free(struct store *st, uint32_t s)
{
	struct block *b = &st->blocks[s];
	uint32_t gen = b->gen + 1;

	memset(b, 0, sizeof(*b));
	b->gen = gen ? gen : 1;
	b->next_free = st->free_slot;
	st->free_slot = s;
	if (st->prefetch && st->prefetch->remove)
		st->prefetch->remove(st->prefetch_state, s);
}

/* Decode a handle: the slot, or -EINVAL (no such slot) / -ESTALE (old generation). */
static int handle_slot(struct store *st, tier_handle h, uint32_t *ret)
{
	uint32_t slot = (uint32_t)h, gen = (uint32_t)(h >> 32);

	if (slot >= st->used_slots || gen == 0) {
		st->c.refused_handles++;
		return -EINVAL;
	}
	if (st->blocks[slot].gen != gen) {
		st->c.refused_handles++;
		return -ESTALE;
	}
	*ret = slot;
	return 0;
}

static struct ns *ns_get(struct store *st, uint32_t id)
{
	return id < st->n_ns && !st->ns[id].deleted ? &st->ns[id] : NULL;
}

bool store_ns_exists(const struct store *st, uint32_t id)
{
	return id < st->n_ns && !st->ns[id].deleted;
}

/* ---- life cycle ---------------------------------------------------- */

/*
 * NVMe extents: a block there is its data plus a 4 KiB header, so a
 * power-of-two block would waste most of a 2 MiB extent.  A 64th of the
 * device, between 2 MiB and 256 MiB, keeps the waste a few percent while
 * leaving room for several size classes.
 */
static uint64_t nv_extent_bytes(uint64_t dev_bytes)
{
	uint64_t e = SLAB_EXTENT_BYTES;

	while (e < (256ULL << 20) && e * 2 * 64 <= dev_bytes)
		e *= 2;
	return e;
}

/* Domains: the shared arena at 0, then the private arenas where they were mapped. */
static int doms_init(struct store *st, const struct store_params *p)
{
	int r;

	if (p->n_arenas > STORE_DOMS_MAX - 1)
		return -EINVAL;
	st->n_dom = 1 + p->n_arenas;
	for (uint32_t d = 0; d < st->n_dom; d++) {
		struct store_dom *dom = &st->dom[d];
		uint64_t bytes = d ? p->arenas[d - 1].bytes : p->arena_bytes;

		if (d) {
			memcpy(dom->ns, p->arenas[d - 1].ns, sizeof(dom->ns));
			dom->base = p->arenas[d - 1].start;
			if (dom->base < st->span_bytes || dom->base % SLAB_EXTENT_BYTES)
				return -EINVAL; /* overlapping or misaligned */
		}
		r = slab_init(&dom->slab, bytes, SLAB_EXTENT_BYTES);
		if (r < 0)
			return r;
		st->span_bytes = dom->base + dom->slab.arena_bytes;
		st->host_capacity += dom->slab.arena_bytes;
	}
	return 0;
}

/*
 * Blocks domain d holds when full, in the size of its first namespace.  1
 * while it has none: its policy instance is then a placeholder that holds no
 * block and is replaced at that first namespace, so it need not size its
 * ghosts, shadows and tables by every slot (per block of capacity the
 * default, duel, keeps about 60 bytes and survival about 434: tiersim
 * --memory, docs/POLICIES.md).
 */
static uint32_t dom_capacity_blocks(const struct store *st, uint32_t d)
{
	for (uint32_t i = 0; i < st->n_ns; i++)
		if (!st->ns[i].deleted && st->ns[i].dom == d)
			return (uint32_t)(st->dom[d].slab.arena_bytes /
					  st->dom[d].slab.classes[st->ns[i].cls].stride);
	return 1;
}

int store_init(struct store *st, const struct store_params *p)
{
	struct tier_policy_params pp;
	uint64_t slots;
	int r;

	memset(st, 0, sizeof(*st));
	st->free_slot = SLOT_NONE;
	st->arena = p->arena;
	st->io = p->io;
	st->verify = p->verify && p->arena;
	store_set_client_caps(st, p->client_max_writing, p->client_max_pinned);
	r = doms_init(st, p);
	if (r < 0)
		goto fail;
	/*
	 * Every host block spans at least SLAB_ALIGN bytes and every NVMe block
	 * a header and a page: this many slots never run out.
	 */
	slots = st->host_capacity / SLAB_ALIGN;
	if (p->nv_devs)
		slots += (uint64_t)p->nv_devs * (p->nv_dev_bytes / (NVME_HDR_BYTES + SLAB_ALIGN));
	if (slots >= SLOT_NONE)
		slots = SLOT_NONE - 1;
	st->max_slots = (uint32_t)slots;
	/* Reserved, not committed: untouched slots cost no memory. */
	st->blocks = mmap(NULL, (size_t)st->max_slots * sizeof(struct block),
			  PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (st->blocks == MAP_FAILED) {
		st->blocks = NULL;
		r = -ENOMEM;
		goto fail;
	}
	st->host_owner = malloc((st->span_bytes / SLAB_ALIGN) * sizeof(uint32_t));
	st->ns = calloc(p->max_namespaces, sizeof(struct ns));
	if (!st->host_owner || !st->ns) {
		r = -ENOMEM;
		goto fail;
	}
	memset(st->host_owner, 0xff, (st->span_bytes / SLAB_ALIGN) * sizeof(uint32_t));
	st->max_ns = p->max_namespaces;
	st->seed = p->seed;
	pp = (struct tier_policy_params){ .max_slots = st->max_slots };
	st->evict = p->evict;
	for (uint32_t d = 0; d < st->n_dom; d++) {
		struct tier_policy_params dp = pp;

		dp.capacity = dom_capacity_blocks(st, d);
		r = p->evict->create(&dp, &st->dom[d].evict_state);
		if (r < 0)
			goto fail;
	}
	if (p->prefetch) {
		r = p->prefetch->create(&pp, &st->prefetch_state);
		if (r < 0)
			goto fail;
		st->prefetch = p->prefetch;
	}

	if (p->nv_devs) {
		struct store_nv *nv = &st->nv;

		nv->n_devs = p->nv_devs;
		for (uint32_t d = 0; d < nv->n_devs; d++) {
			r = slab_init(&nv->slab[d], p->nv_dev_bytes, nv_extent_bytes(p->nv_dev_bytes));
			if (r < 0)
				goto fail;
			nv->capacity += nv->slab[d].arena_bytes;
			nv->owner[d] = malloc((nv->slab[d].arena_bytes / SLAB_ALIGN) *
					      sizeof(uint32_t));
			if (!nv->owner[d]) {
				r = -ENOMEM;
				goto fail;
			}
			memset(nv->owner[d], 0xff,
			       (nv->slab[d].arena_bytes / SLAB_ALIGN) * sizeof(uint32_t));
		}
		r = p->nv_evict->create(&pp, &nv->evict_state);
		if (r < 0)
			goto fail;
		nv->evict = p->nv_evict;
		if (p->nv_admit->create) {
			r = p->nv_admit->create(&pp, &nv->admit_state);
			if (r < 0)
				goto fail;
		}
		nv->admit = p->nv_admit;
		nv->demote_max = p->nv_demote_max ? p->nv_demote_max : 32;
		store_set_watermarks(st, p->high_pct, p->low_pct);
		r = journal_init(&nv->journal, 0);
		if (r < 0)
			goto fail;
		st->nvme = true;
	}
	r = store_gpu_init(st, p);
	if (r < 0)
		goto fail;
	return 0;
fail:
	store_deinit(st);
	return r;
}

void store_deinit(struct store *st)
{
	struct store_nv *nv = &st->nv;

	store_gpu_deinit(st);
	for (uint32_t d = 0; d < st->n_dom; d++)
		if (st->evict && st->dom[d].evict_state)
			st->evict->destroy(st->dom[d].evict_state);
	if (st->prefetch)
		st->prefetch->destroy(st->prefetch_state);
	if (nv->evict)
		nv->evict->destroy(nv->evict_state);
	if (nv->admit && nv->admit->destroy)
		nv->admit->destroy(nv->admit_state);
	for (uint32_t d = 0; d < nv->n_devs; d++) {
		slab_deinit(&nv->slab[d]);
		free(nv->owner[d]);
	}
	journal_deinit(&nv->journal);
	for (uint32_t i = 0; i < st->n_ns; i++)
		index_deinit(&st->ns[i].index);
	free(st->ns);
	free(st->host_owner);
	if (st->blocks)
		munmap(st->blocks, (size_t)st->max_slots * sizeof(struct block));
	for (uint32_t d = 0; d < st->n_dom; d++)
		slab_deinit(&st->dom[d].slab);
	memset(st, 0, sizeof(*st));
}

/*
 * New instances of ops for the domains whose bit is set in mask, each handed
 * the domain's host-resident blocks (recency starts afresh); the old ones go.
 * Any failure leaves every old instance in place.
 */
static int evict_replace_doms(struct store *st, const struct tier_evict_ops *ops, uint32_t mask)
{
	void *state[STORE_DOMS_MAX] = { 0 };
	int r = 0;

	for (uint32_t d = 0; d < st->n_dom && r >= 0; d++) {
		struct tier_policy_params pp = { .max_slots = st->max_slots,
						 .capacity = dom_capacity_blocks(st, d) };

		if (mask & (1u << d))
			r = ops->create(&pp, &state[d]);
	}
	if (r < 0) {
		for (uint32_t d = 0; d < st->n_dom; d++)
			if (state[d])
				ops->destroy(state[d]);
		return r; /* the old policy stays */
	}
	for (uint32_t s = 0; s < st->used_slots; s++) {
		const struct block *b = &st->blocks[s];
		uint32_t d;
		struct tier_access a = { .key = key_fingerprint(b->key), .parent = SLOT_NONE,
					 .ns = b->ns, .now = st->now };

		if (b->state != BLOCK_READY || (b->flags & BLOCK_DROPPED) || !(b->res & RES_HOST))
			continue;
		d = st->ns[b->ns].dom;
		if (state[d])
			ops->insert(state[d], s, &a);
	}
	for (uint32_t d = 0; d < st->n_dom; d++)
		if (state[d]) {
			st->evict->destroy(st->dom[d].evict_state);
			st->dom[d].evict_state = state[d];
		}
	st->evict = ops;
	return 0;
}

int store_set_evict(struct store *st, const struct tier_evict_ops *ops)
{
	return ops == st->evict ? 0 : evict_replace_doms(st, ops, (1u << st->n_dom) - 1);
}

/* ---- namespaces ---------------------------------------------------- */

void store_ns_configure(struct store *st, uint32_t id, bool restricted, uint64_t quota_host,
			uint64_t quota_nvme, const char *salt, bool at_start)
{
	struct ns *n = ns_get(st, id);

	if (!n)
		return;
	n->restricted = restricted;
	n->quota_host = quota_host;
	n->quota_nvme = quota_nvme;
	/* At start-up, blocks recovered from NVMe were stored under this salt. */
	if (at_start || (n->blocks == 0 && n->host_bytes == 0)) {
		XXH128_hash_t h;

		n->salted = salt && *salt;
		if (n->salted) {
			h = XXH3_128bits(salt, strlen(salt));
			memcpy(n->salt, &h, sizeof(n->salt));
		}
	}
}

static uint64_t dom_max_block_size(const struct store_dom *d)
{
	/* A quarter of the arena: eviction always has other blocks to work with. */
	uint64_t m = d->slab.arena_bytes / 4;

	return m > STORE_BLOCK_MAX ? STORE_BLOCK_MAX : m;
}

uint64_t store_max_block_size(const struct store *st)
{
	return dom_max_block_size(&st->dom[0]);
}

uint32_t store_dom_find(const struct store *st, const char *name)
{
	for (uint32_t d = 1; d < st->n_dom; d++)
		if (strcmp(st->dom[d].ns, name) == 0)
			return d;
	return 0;
}

int store_ns_class_room(const struct store *st, const char *name, uint64_t block_size,
			uint32_t kept)
{
	const struct slab_alloc *host = &st->dom[0].slab;

	if (!kept)
		return 0;
	if (store_dom_find(st, name) == 0 && !slab_has_class(host, block_size) &&
	    host->n_classes + kept >= SLAB_MAX_CLASSES)
		return -ENOSPC;
	/* Classes are made in the same order on every device: the first says it for all. */
	if (st->nv.n_devs && !slab_has_class(&st->nv.slab[0], NVME_HDR_BYTES + block_size) &&
	    st->nv.slab[0].n_classes + kept >= SLAB_MAX_CLASSES)
		return -ENOSPC;
	return 0;
}

uint32_t store_ns_count_by(const struct store *st, uint32_t uid)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < st->n_ns; i++)
		n += !st->ns[i].deleted && st->ns[i].creator == uid;
	return n;
}

uint32_t store_ns_live(const struct store *st)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < st->n_ns; i++)
		n += !st->ns[i].deleted;
	return n;
}

/*
 * An id for a new namespace: the next unused one, else a tombstone nothing
 * refers to any more (no session has it open, no block is left of it: a
 * pinned block of a deleted namespace keeps its id until its last release).
 */
static int ns_new_id(struct store *st, uint32_t *ret)
{
	if (st->n_ns < st->max_ns) {
		*ret = st->n_ns;
		return 0;
	}
	for (uint32_t i = 0; i < st->n_ns; i++) {
		bool used = false;

		if (!st->ns[i].deleted || st->ns[i].opens)
			continue;
		for (uint32_t s = 0; s < st->used_slots && !used; s++)
			used = st->blocks[s].state != BLOCK_FREE && st->blocks[s].ns == i;
		if (!used) {
			index_deinit(&st->ns[i].index);
			*ret = i;
			return 0;
		}
	}
	return -ENOSPC;
}

int store_ns_open(struct store *st, const char *name, uint64_t block_size, uint32_t *ret_ns)
{
	return store_ns_open_as(st, name, block_size, 0, ret_ns);
}

int store_ns_open_as(struct store *st, const char *name, uint64_t block_size, uint32_t creator,
		     uint32_t *ret_ns)
{
	size_t len = strnlen(name, TIER_NAME_MAX + 1);
	struct ns *n;
	uint32_t dom, id;
	bool first = true;
	int cls, nv_cls = 0, r;

	if (len == 0 || len > TIER_NAME_MAX)
		return -EINVAL;
	for (id = 0; id < st->n_ns; id++)
		if (!st->ns[id].deleted && strcmp(st->ns[id].name, name) == 0) {
			if (st->ns[id].block_size != block_size)
				return -EINVAL;
			*ret_ns = id;
			return 0;
		}
	dom = store_dom_find(st, name);
	if (block_size == 0 || block_size > dom_max_block_size(&st->dom[dom]))
		return -EINVAL;
	r = ns_new_id(st, &id);
	if (r < 0)
		return r;
	cls = slab_class_for(&st->dom[dom].slab, block_size);
	if (cls < 0)
		return cls;
	/* Classes are created in the same order on every device: one id for all. */
	for (uint32_t d = 0; d < st->nv.n_devs; d++) {
		nv_cls = slab_class_for(&st->nv.slab[d], NVME_HDR_BYTES + block_size);
		if (nv_cls < 0)
			return nv_cls;
	}
	for (uint32_t i = 0; i < st->n_ns; i++)
		first &= st->ns[i].deleted || st->ns[i].dom != dom;
	n = &st->ns[id];
	memset(n, 0, sizeof(*n));
	r = index_init(&n->index, 1024, st->seed ^ id);
	if (r < 0) {
		n->deleted = true; /* a tombstone again (when it was one); its index is empty */
		return r;
	}
	memcpy(n->name, name, len);
	n->creator = creator;
	n->block_size = block_size;
	n->dom = dom;
	n->cls = (uint32_t)cls;
	n->nv_cls = (uint32_t)nv_cls;
	/*
	 * A block the pool cannot hold only means no GPU copies for this
	 * namespace.  Every client may import the pool: a namespace with a
	 * private arena keeps its blocks out of it.
	 */
	n->gpu_cls = SLAB_NONE;
	if (st->gpu.on && dom == 0 && block_size <= st->gpu.slab.arena_bytes / 4) {
		int gc = slab_class_for(&st->gpu.slab, block_size);

		if (gc >= 0)
			n->gpu_cls = (uint32_t)gc;
	}
	n->dirty_head = n->dirty_tail = SLOT_NONE;
	*ret_ns = id;
	if (id == st->n_ns)
		st->n_ns++;
	/*
	 * Policies size themselves (ghost lists, decay) by their domain's
	 * capacity in blocks, known once a block size is: the domain's first
	 * namespace's.  Nothing of the domain is cached yet, so starting its
	 * policy again costs nothing.
	 */
	if (st->dom[dom].used_bytes == 0 && first)
		(void)evict_replace_doms(st, st->evict, 1u << dom);
	if (st->nvme) {
		struct jrec r2 = { .type = JREC_NS, .seq = st->seq };

		r2.u.ns.id = *ret_ns;
		r2.u.ns.creator = creator;
		r2.u.ns.block_size = block_size;
		memcpy(r2.u.ns.name, name, len);
		jrec_seal(&r2);
		journal_add(&st->nv.journal, &r2);
	}
	return 0;
}

/* ---- operations ---------------------------------------------------- */

/* ---- the request a holder is serving -------------------------------- */

/* Heap a holder's remembered request holds: its key list and position map. */
static size_t req_bytes(const struct holder *h)
{
	return (size_t)h->req_cap * sizeof(tier_key) + h->req_pos.cap * 2 * sizeof(uint32_t);
}

/* Free what a request much smaller than the last one does not need. */
static void req_trim(struct store *st, struct holder *h, uint32_t n)
{
	size_t before = req_bytes(h);

	if (h->req_cap > 8 * (n > 256 ? n : 256)) {
		free(h->req_keys);
		h->req_keys = NULL;
		h->req_cap = 0;
	}
	/* Every lookup starts a request: keep the table, not its contents. */
	u32map_clear(&h->req_pos, n);
	st->req_bytes -= before - req_bytes(h);
}

static void req_remember(struct store *st, struct holder *h, uint32_t ns, const tier_key *keys,
			 uint32_t n, uint32_t first_pos)
{
	size_t before;

	if (first_pos == 0) {
		h->req_n = 0;
		h->req_leading = 0;
		h->req_ns = ns;
		req_trim(st, h, n);
	}
	if (h->req_ns != ns || first_pos != h->req_n || h->req_n + n > STORE_REQ_MAX_KEYS)
		return;
	before = req_bytes(h);
	if (h->req_n + n > h->req_cap) {
		uint32_t cap = (h->req_n + n) * 2;
		size_t map_after = (size_t)(h->req_n + n) * 4 * sizeof(uint32_t); /* half full */
		tier_key *p;

		if (cap > STORE_REQ_MAX_KEYS)
			cap = STORE_REQ_MAX_KEYS;
		/* Over the daemon-wide budget: this request goes unremembered from here on. */
		if (st->req_bytes - before + (size_t)cap * sizeof(tier_key) + map_after >
		    STORE_REQ_BUDGET_BYTES)
			return;
		p = realloc(h->req_keys, (size_t)cap * sizeof(*p));
		if (!p)
			return;
		h->req_keys = p;
		h->req_cap = cap;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t *v = u32map_upsert(&h->req_pos, (uint32_t)key_fingerprint(keys[i]));

		if (v && *v == 0)
			*v = h->req_n + i + 1; /* position + 1: 0 means unset */
		h->req_keys[h->req_n + i] = keys[i];
	}
	h->req_n += n;
	st->req_bytes += req_bytes(h) - before;
}

/* Fill a's place in the holder's current request, if key is part of it. */
static void req_place(struct store *st, const struct holder *h, uint32_t ns, tier_key key,
		      struct tier_access *a)
{
	const uint32_t *v;
	uint32_t pos;

	if (h->req_ns != ns || !h->req_n)
		return;
	v = u32map_get(&h->req_pos, (uint32_t)key_fingerprint(key));
	if (!v || !*v)
		return;
	pos = *v - 1;
	if (pos >= h->req_n || h->req_keys[pos].hi != key.hi || h->req_keys[pos].lo != key.lo)
		return;
	a->pos = pos;
	a->req_len = h->req_n;
	a->prefix_hits = pos < h->req_leading ? pos : h->req_leading;
	if (pos) {
		uint32_t ps = index_get(&st->ns[ns].index, h->req_keys[pos - 1]);

		a->parent_key = key_fingerprint(h->req_keys[pos - 1]);
		a->parent = ps == INDEX_NONE ? SLOT_NONE : ps;
	}
}

int store_alloc(struct store *st, struct holder *h, uint32_t ns, tier_handle *ret,
		uint64_t *ret_off, uint64_t *ret_size)
{
	struct ns *n = ns_get(st, ns);
	uint32_t *hold, s;
	int64_t off;

	if (!n)
		return -ENOENT;
	/* Before making room: a refused alloc evicts nothing. */
	if ((st->client_max_writing && h->writing >= st->client_max_writing) ||
	    (st->client_max_pinned && h->pinned_bytes + n->block_size > st->client_max_pinned)) {
		st->c.refused_caps++;
		return -EDQUOT;
	}
	off = store_host_room(st, ns, n->cls, false);
	if (off < 0)
		return (int)off;
	s = store_slot_alloc(st);
	hold = s == SLOT_NONE ? NULL : u32map_upsert(&h->holds, s);
	if (!hold) {
		if (s != SLOT_NONE)
			store_slot_free(st, s);
		store_host_free(st, ns, (uint64_t)off);
		return s == SLOT_NONE ? -ENOSPC : -ENOMEM;
	}
	*hold = HOLD_WRITING;
	h->writing++;
	h->pinned_bytes += n->block_size;
	st->blocks[s].state = BLOCK_WRITING;
	st->blocks[s].cls = (uint16_t)n->cls;
	st->blocks[s].ns = ns;
	st->blocks[s].writer = h->id;
	store_host_attach(st, s, (uint64_t)off);
	*ret = store_handle(st, s);
	*ret_off = (uint64_t)off;
	*ret_size = n->block_size;
	return 0;
}

int store_commit(struct store *st, struct holder *h, tier_handle handle, tier_key key,
		 const tier_key *parent)
{
	tier_key salted_parent;
	uint32_t s, *hold;
	struct block *b;
	struct ns *n;
	int r;

	r = handle_slot(st, handle, &s);
	if (r < 0)
		return r;
	hold = u32map_get(&h->holds, s);
	b = &st->blocks[s];
	if (!hold || !(*hold & HOLD_WRITING) || b->state != BLOCK_WRITING || b->writer != h->id) {
		st->c.refused_handles++; /* a current handle, but not one this client writes */
		return -EINVAL;
	}
	u32map_del(&h->holds, s);
	n = &st->ns[b->ns];
	h->writing--;
	h->pinned_bytes -= n->block_size;
	if (n->deleted) { /* deleted while it was being written */
		store_host_detach(st, s);
		store_slot_free(st, s);
		return -ENOENT;
	}
	key = ns_key(n, key);
	if (parent)
		salted_parent = ns_key(n, *parent), parent = &salted_parent;
	r = index_put(&n->index, key, s);
	if (r < 0) {
		/* -EEXIST: the first writer won; this copy is not needed. */
		store_host_detach(st, s);
		store_slot_free(st, s);
		return r;
	}
	b->state = BLOCK_READY;
	b->res = RES_HOST;
	b->key = key;
	/* The bytes as committed: what acquires and the writeback check against. */
	if (st->verify)
		b->csum = XXH3_64bits(st->arena + b->host_off, n->block_size);
	b->seq = ++st->seq;
	b->touched = ++st->now;
	n->blocks++;
	st->ready_blocks++;
	st->host_blocks++;
	if (st->nvme)
		store_dirty_add(st, s);

	struct tier_access a = {
		.key = key_fingerprint(key),
		.parent_key = parent ? key_fingerprint(*parent) : 0,
		.parent = parent ? index_get(&n->index, *parent) : SLOT_NONE,
		.ns = b->ns,
		.now = st->now,
		.flags = TIER_ACC_WRITE,
	};
	req_place(st, h, b->ns, key, &a);
	if (a.parent == INDEX_NONE)
		a.parent = SLOT_NONE;
	st->evict->insert(store_evict_state(st, s), s, &a);
	return 0;
}

/* Tell the policies about a demand access to s (a hit in some tier). */
static void note_access(struct store *st, uint32_t s, const struct tier_access *a)
{
	struct block *b = &st->blocks[s];

	if (!(a->flags & TIER_ACC_PREFETCH))
		b->flags &= (uint8_t)~BLOCK_PREFETCHED;
	if (b->res & RES_HOST)
		st->evict->access(store_evict_state(st, s), s, a);
	if (b->res & RES_NVME)
		st->nv.evict->access(st->nv.evict_state, s, a);
	if (b->res & RES_GPU)
		st->gpu.evict->access(st->gpu.evict_state, s, a);
	if (st->nvme && st->nv.admit->access)
		st->nv.admit->access(st->nv.admit_state, a);
	if (st->prefetch && st->prefetch->access)
		st->prefetch->access(st->prefetch_state, s, a);
}

static int promote(struct store *st, uint32_t s, bool prefetch);

/* Ask the prefetch policy what follows the access a to s; bring those up. */
static void prefetch_after(struct store *st, uint32_t s, const struct tier_access *a)
{
	uint32_t slots[16];
	uint64_t keys[16];
	size_t n;

	if (!st->prefetch || !st->nvme)
		return;
	n = st->prefetch->suggest(st->prefetch_state, s, a, slots, keys, 16);
	for (size_t i = 0; i < n && i < 16; i++) {
		const struct block *b = slots[i] < st->used_slots ? &st->blocks[slots[i]] : NULL;

		/* Slots are reused: only the block the policy saw, and only if on NVMe alone. */
		if (!b || b->state != BLOCK_READY || (b->flags & BLOCK_DROPPED) ||
		    key_fingerprint(b->key) != keys[i] || (b->res & RES_HOST) || (b->io & IO_READ))
			continue;
		if (promote(st, slots[i], true) == -EINPROGRESS)
			st->prefetches++;
	}
}

/* Count a hit in the tier that serves s. */
static void count_hit(struct store *st, struct ns *n, const struct block *b)
{
	n->hits++;
	if (b->res & RES_HOST) {
		st->c.hits++;
	} else {
		st->c.misses++;
		st->nv.hits++;
	}
}

static void count_misses(struct store *st, struct ns *n, uint64_t k)
{
	n->misses += k;
	st->c.misses += k;
	if (st->nvme)
		st->nv.misses += k;
}

static uint8_t tier_of(const struct block *b)
{
	return (b->res & RES_HOST) ? TIER_HOST : (b->res & RES_NVME) ? TIER_NVME : TIER_NONE;
}

int store_lookup(struct store *st, struct holder *h, uint32_t ns, const tier_key *keys,
		 uint32_t n_keys, uint32_t first_pos, uint32_t total, tier_key parent,
		 uint8_t *ret_tier)
{
	struct ns *n = ns_get(st, ns);
	uint32_t prev, i;

	if (!n)
		return -ENOENT;
	if (n->salted) {
		keys = ns_keys(n, keys, n_keys);
		parent = ns_key(n, parent);
	}
	if (first_pos == 0)
		h->lookup_start = st->now + 1;
	req_remember(st, h, ns, keys, n_keys, first_pos);
	prev = first_pos ? index_get(&n->index, parent) : SLOT_NONE;
	for (i = 0; i < n_keys; i++) {
		uint32_t s = index_get(&n->index, keys[i]);
		const tier_key *pk = i ? &keys[i - 1] : (first_pos ? &parent : NULL);

		if (s == INDEX_NONE) {
			/* The rest of the caller's list is of no use without this block. */
			count_misses(st, n, total - (first_pos + i));
			break;
		}
		if (ret_tier)
			ret_tier[i] = tier_of(&st->blocks[s]);
		count_hit(st, n, &st->blocks[s]);
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
		note_access(st, s, &a);
		if (i == 0 && first_pos == 0)
			prefetch_after(st, s, &a);
		prev = s;
	}
	h->lookup_end = st->now;
	if (first_pos == 0 || h->req_leading == first_pos)
		h->req_leading = first_pos + i;
	/* Per-key answers past the prefix, for callers that want them (no policy effect). */
	if (ret_tier)
		for (uint32_t j = i; j < n_keys; j++) {
			uint32_t s = index_get(&n->index, keys[j]);

			ret_tier[j] = s == INDEX_NONE ? TIER_NONE : tier_of(&st->blocks[s]);
		}
	return (int)i;
}

/* Start reading NVMe-only block s into host memory.  -EINPROGRESS, or -ENOSPC. */
static int promote(struct store *st, uint32_t s, bool prefetch)
{
	struct block *b = &st->blocks[s];
	struct ns *n = &st->ns[b->ns];
	int64_t off = store_host_room(st, b->ns, n->cls, prefetch);
	int r;

	/* -EINPROGRESS here means demotions making room, not this read: no prefetch. */
	if (off < 0)
		return prefetch && off == -EINPROGRESS ? -ENOSPC : (int)off;
	/* b may have been evicted from NVMe to make host room: check again. */
	if (b->state != BLOCK_READY || !(b->res & RES_NVME) || (b->flags & BLOCK_DROPPED)) {
		store_host_free(st, b->ns, (uint64_t)off);
		return -ENOENT;
	}
	store_host_attach(st, s, (uint64_t)off);
	b->io |= IO_READ | (prefetch ? IO_PREFETCH : 0);
	r = st->io.read_block(st->io.ctx, store_handle(st, s), b->nv_dev, b->nv_off,
			      (uint64_t)off, n->block_size);
	if (r < 0) {
		b->io &= (uint8_t) ~(IO_READ | IO_PREFETCH);
		store_host_detach(st, s);
		return r;
	}
	return -EINPROGRESS;
}

void store_acquire_note(struct store *st, struct holder *h, uint32_t ns, uint32_t s, tier_key key)
{
	struct block *b = &st->blocks[s];

	if (h->lookup_start && b->touched >= h->lookup_start && b->touched <= h->lookup_end)
		return;

	struct tier_access a = { .key = key_fingerprint(key), .parent = SLOT_NONE,
				 .ns = ns, .now = ++st->now, .flags = TIER_ACC_PIN };

	req_place(st, h, ns, key, &a);
	count_hit(st, &st->ns[ns], b);
	b->touched = st->now;
	note_access(st, s, &a);
}

/* store_acquire of a key as the namespace indexes it (already salted). */
static int acquire_key(struct store *st, struct holder *h, uint32_t ns, tier_key key, bool retry,
		       tier_handle *ret, uint64_t *ret_off, uint64_t *ret_size)
{
	struct ns *n = ns_get(st, ns);
	uint32_t s, *hold, held;
	struct block *b;

	if (!n)
		return -ENOENT;
	s = index_get(&n->index, key);
	if (s == INDEX_NONE) {
		if (!retry)
			count_misses(st, n, 1);
		return -ENOENT;
	}
	b = &st->blocks[s];
	/*
	 * An engine looks a request's keys up and then acquires the hits: that
	 * is one access, which the lookup already told the policy and counted.
	 * An acquire of a block that this holder's latest lookup did not touch
	 * last is an access of its own.
	 */
	if (!retry)
		store_acquire_note(st, h, ns, s, key);
	if (!(b->res & RES_HOST)) {
		if (b->io & IO_READ)
			return -EINPROGRESS;
		return promote(st, s, false);
	}
	if (st->verify && !store_block_intact(st, s)) {
		/* Changed since its commit: never served as that block; a miss now. */
		store_tampered(st, s);
		return -ENOENT;
	}
	hold = u32map_get(&h->holds, s);
	held = hold ? *hold & HOLD_PINS : 0;
	if (held >= STORE_HOLD_PINS_MAX || b->pins >= STORE_BLOCK_PINS_MAX)
		return -EOVERFLOW;
	if (!held && st->client_max_pinned &&
	    h->pinned_bytes + n->block_size > st->client_max_pinned) {
		st->c.refused_caps++;
		return -EDQUOT;
	}
	if (!hold) {
		hold = u32map_upsert(&h->holds, s);
		if (!hold)
			return -ENOMEM;
	}
	(*hold)++;
	if (!held)
		h->pinned_bytes += n->block_size;
	h->pins++;
	if (b->pins++ == 0)
		st->pinned_blocks++;
	*ret = store_handle(st, s);
	*ret_off = b->host_off;
	*ret_size = n->block_size;
	return 0;
}

int store_acquire(struct store *st, struct holder *h, uint32_t ns, tier_key key, bool retry,
		  tier_handle *ret, uint64_t *ret_off, uint64_t *ret_size)
{
	struct ns *n = ns_get(st, ns);

	if (!n)
		return -ENOENT;
	return acquire_key(st, h, ns, ns_key(n, key), retry, ret, ret_off, ret_size);
}

int store_acquire_many(struct store *st, struct holder *h, uint32_t ns, const tier_key *keys,
		       uint32_t n_keys, bool retry, tier_handle *ret, uint64_t *ret_off)
{
	uint32_t want = n_keys;
	bool waiting = false;
	uint64_t size;

	if (!ns_get(st, ns))
		return -ENOENT;
	keys = ns_keys(&st->ns[ns], keys, n_keys);
	/*
	 * First every key is looked at (counted once, on the first pass) and
	 * every one only on NVMe is sent for; only when all are in host memory
	 * are they pinned, so a parked batch holds nothing while it waits.
	 */
	for (uint32_t i = 0; i < n_keys; i++) {
		uint32_t s = index_get(&st->ns[ns].index, keys[i]);
		const struct block *b;
		int r;

		if (s == INDEX_NONE) {
			if (!retry)
				count_misses(st, &st->ns[ns], n_keys - i);
			want = i;
			break;
		}
		b = &st->blocks[s];
		if (!retry) {
			struct tier_access a = { .key = key_fingerprint(keys[i]), .parent = SLOT_NONE,
						 .ns = ns, .pos = i, .req_len = n_keys,
						 .prefix_hits = i, .now = ++st->now,
						 .flags = TIER_ACC_PIN };

			count_hit(st, &st->ns[ns], b);
			st->blocks[s].touched = st->now;
			note_access(st, s, &a);
		}
		if (b->res & RES_HOST)
			continue;
		r = (b->io & IO_READ) ? -EINPROGRESS : promote(st, s, false);
		if (r == -EINPROGRESS) {
			waiting = true;
		} else if (r < 0) {
			want = i; /* no room or gone: the batch ends here */
			break;
		}
	}
	if (waiting)
		return -EINPROGRESS;
	for (uint32_t i = 0; i < want; i++) {
		int r = acquire_key(st, h, ns, keys[i], true, &ret[i], &ret_off[i], &size);

		if (r == -EINPROGRESS) {
			/* Cannot happen after the pass above; stay consistent if it does. */
			for (uint32_t j = 0; j < i; j++)
				store_release(st, h, ret[j]);
			return r;
		}
		/* A cap, a pin bound or a block that failed verification ends the batch. */
		if (r < 0)
			return i ? (int)i : r;
	}
	return (int)want;
}

/* Take count pins off slot s for holder h. */
static void unpin(struct store *st, struct holder *h, uint32_t s, uint32_t count)
{
	struct block *b = &st->blocks[s];

	h->pins -= count;
	b->pins -= count;
	if (b->pins == 0) {
		st->pinned_blocks--;
		if (b->flags & BLOCK_DROPPED)
			store_reap_dropped(st, s);
	}
}

int store_release(struct store *st, struct holder *h, tier_handle handle)
{
	uint32_t s, *hold;
	int r;

	r = handle_slot(st, handle, &s);
	if (r < 0)
		return r;
	hold = u32map_get(&h->holds, s);
	if (!hold || !(*hold & HOLD_PINS)) {
		st->c.refused_handles++;
		return -EINVAL;
	}
	if ((--*hold & HOLD_PINS) == 0) {
		h->pinned_bytes -= st->ns[st->blocks[s].ns].block_size;
		if (*hold == 0)
			u32map_del(&h->holds, s);
	}
	unpin(st, h, s, 1);
	return 0;
}

int store_drop(struct store *st, uint32_t ns, tier_key key)
{
	struct ns *n = ns_get(st, ns);
	uint32_t s;

	if (!n)
		return -ENOENT;
	key = ns_key(n, key);
	s = index_get(&n->index, key);
	if (s == INDEX_NONE)
		return -ENOENT;
	store_forget(st, s);
	return 0;
}

int store_hint(struct store *st, uint32_t ns, const tier_key *keys, uint32_t n_keys,
	       int32_t priority)
{
	struct ns *n = ns_get(st, ns);
	int found = 0;

	if (!n)
		return -ENOENT;
	keys = ns_keys(n, keys, n_keys);
	for (uint32_t i = 0; i < n_keys; i++) {
		uint32_t s = index_get(&n->index, keys[i]);
		const struct block *b;

		if (s == INDEX_NONE)
			continue;
		b = &st->blocks[s];
		found++;
		if ((b->res & RES_HOST) && st->evict->hint)
			st->evict->hint(store_evict_state(st, s), s, priority);
		if ((b->res & RES_NVME) && st->nv.evict->hint)
			st->nv.evict->hint(st->nv.evict_state, s, priority);
	}
	return found;
}

int store_prefetch(struct store *st, uint32_t ns, const tier_key *keys, uint32_t n_keys)
{
	struct ns *n = ns_get(st, ns);
	int started = 0;

	if (!n)
		return -ENOENT;
	keys = ns_keys(n, keys, n_keys);
	for (uint32_t i = 0; i < n_keys; i++) {
		uint32_t s = index_get(&n->index, keys[i]);
		const struct block *b;

		if (s == INDEX_NONE)
			continue;
		b = &st->blocks[s];
		if ((b->res & RES_HOST) || (b->io & IO_READ))
			continue;
		/* A prefetch never waits: no room now means no prefetch. */
		if (promote(st, s, true) == -EINPROGRESS)
			started++;
	}
	return started;
}

void store_set_client_caps(struct store *st, uint32_t max_writing, uint64_t max_pinned)
{
	st->client_max_writing = max_writing;
	st->client_max_pinned = max_pinned;
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
		if (v & HOLD_PINS)
			unpin(st, h, s, v & HOLD_PINS);
		/* Only its own unfinished write: never a block the index points to. */
		if ((v & HOLD_WRITING) && st->blocks[s].state == BLOCK_WRITING &&
		    st->blocks[s].writer == h->id) {
			store_host_detach(st, s);
			store_slot_free(st, s);
		}
	}
	u32map_deinit(&h->holds);
	h->pins = 0;
	h->writing = 0;
	h->pinned_bytes = 0;
	st->req_bytes -= req_bytes(h);
	u32map_deinit(&h->req_pos);
	free(h->req_keys);
	h->req_keys = NULL;
	h->req_n = h->req_cap = 0;
}

/* ---- shared with gpu_tier.c ---------------------------------------- */

tier_key store_ns_key(const struct ns *n, tier_key k)
{
	return ns_key(n, k);
}

int store_promote(struct store *st, uint32_t s, bool prefetch)
{
	return promote(st, s, prefetch);
}

void store_count_misses(struct store *st, struct ns *n, uint64_t k)
{
	count_misses(st, n, k);
}

int store_acquire_key(struct store *st, struct holder *h, uint32_t ns, tier_key key, bool retry,
		      tier_handle *ret, uint64_t *ret_off, uint64_t *ret_size)
{
	return acquire_key(st, h, ns, key, retry, ret, ret_off, ret_size);
}
