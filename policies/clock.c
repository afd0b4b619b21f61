/* SPDX-License-Identifier: MIT */
/*
 * CLOCK: second-chance FIFO.  A ring of slots (the slist, read from tail to
 * head and wrapping) and one reference bit per slot; a hit only sets the bit,
 * so the hot path never touches the ring.  The hand sweeps from the oldest
 * block: a referenced block loses its bit and moves to the newest end (the
 * same as the hand passing it in a circular buffer); the first unreferenced,
 * evictable block is the victim.  A block the caller cannot evict is passed
 * over like a referenced one, but keeps its bit.  9 bytes a block.
 */
#include <errno.h>
#include <stdlib.h>

#include "slist.h"

struct clock {
	struct slinks k;
	struct slist ring;
	uint8_t *ref;
};

static int clock_create(const struct tier_policy_params *p, void **ret)
{
	struct clock *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->ref = calloc(p->max_slots ? p->max_slots : 1, 1);
	if (!c->ref || slinks_init(&c->k, p->max_slots) < 0) {
		free(c->ref);
		free(c);
		return -ENOMEM;
	}
	slist_init(&c->ring);
	*ret = c;
	return 0;
}

static void clock_destroy(void *st)
{
	struct clock *c = st;

	if (!c)
		return;
	slinks_deinit(&c->k);
	free(c->ref);
	free(c);
}

static void clock_insert(void *st, uint32_t slot, const struct tier_access *a)
{
	struct clock *c = st;

	(void)a;
	c->ref[slot] = 0;
	slist_push_head(&c->ring, &c->k, slot);
}

static void clock_access(void *st, uint32_t slot, const struct tier_access *a)
{
	(void)a;
	((struct clock *)st)->ref[slot] = 1;
}

static void clock_remove(void *st, uint32_t slot)
{
	struct clock *c = st;

	slist_unlink(&c->ring, &c->k, slot);
}

static uint32_t clock_pick_victim(void *st, tier_evictable_fn evictable, void *arg)
{
	struct clock *c = st;
	/* two sweeps clear every bit; a third finds nothing only if nothing is evictable */
	uint64_t budget = 3ull * c->ring.n;

	while (budget-- && c->ring.tail != TIER_SLOT_NONE) {
		uint32_t s = c->ring.tail;
		bool ok = !evictable || evictable(arg, s);

		if (ok && !c->ref[s])
			return s;
		if (ok)
			c->ref[s] = 0;
		slist_unlink(&c->ring, &c->k, s);
		slist_push_head(&c->ring, &c->k, s);
	}
	return TIER_SLOT_NONE;
}

const struct tier_evict_ops tier_evict_clock = {
	.name = "clock",
	.summary = "CLOCK (second chance): FIFO with a reference bit",
	.create = clock_create,
	.destroy = clock_destroy,
	.insert = clock_insert,
	.access = clock_access,
	.remove = clock_remove,
	.pick_victim = clock_pick_victim,
	.bytes_per_block = 2 * sizeof(uint32_t) + 1,
};
