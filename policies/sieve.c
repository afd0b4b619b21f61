/* SPDX-License-Identifier: MIT */
/*
 * SIEVE (Zhang et al., NSDI'24): a FIFO queue, a visited bit per block and a
 * hand that moves from the oldest block toward the newest, wrapping.  Unlike
 * CLOCK, a visited block is not moved: it keeps its place and only loses its
 * bit, so new blocks (inserted at the head, behind the hand's path) are
 * examined soon and one-hit wonders leave quickly.  9 bytes a block.
 */
#include <errno.h>
#include <stdlib.h>

#include "slist.h"

struct sieve {
	struct slinks k;
	struct slist q;
	uint8_t *visited;
	uint32_t hand; /* next block to examine; TIER_SLOT_NONE: start at the tail */
};

static int sieve_create(const struct tier_policy_params *p, void **ret)
{
	struct sieve *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->visited = calloc(p->max_slots ? p->max_slots : 1, 1);
	if (!s->visited || slinks_init(&s->k, p->max_slots) < 0) {
		free(s->visited);
		free(s);
		return -ENOMEM;
	}
	slist_init(&s->q);
	s->hand = TIER_SLOT_NONE;
	*ret = s;
	return 0;
}

static void sieve_destroy(void *st)
{
	struct sieve *s = st;

	if (!s)
		return;
	slinks_deinit(&s->k);
	free(s->visited);
	free(s);
}

static void sieve_insert(void *st, uint32_t slot, const struct tier_access *a)
{
	struct sieve *s = st;

	(void)a;
	s->visited[slot] = 0;
	slist_push_head(&s->q, &s->k, slot);
}

static void sieve_access(void *st, uint32_t slot, const struct tier_access *a)
{
	(void)a;
	((struct sieve *)st)->visited[slot] = 1;
}

static void sieve_remove(void *st, uint32_t slot)
{
	struct sieve *s = st;

	if (s->hand == slot)
		s->hand = s->k.prev[slot];
	slist_unlink(&s->q, &s->k, slot);
}

static uint32_t sieve_pick_victim(void *st, tier_evictable_fn evictable, void *arg)
{
	struct sieve *s = st;
	uint64_t budget = 3ull * s->q.n;
	uint32_t h = s->hand;

	while (budget-- && s->q.n) {
		if (h == TIER_SLOT_NONE)
			h = s->q.tail;
		if (!evictable || evictable(arg, h)) {
			if (!s->visited[h]) {
				s->hand = h;
				return h;
			}
			s->visited[h] = 0;
		}
		h = s->k.prev[h];
	}
	s->hand = h;
	return TIER_SLOT_NONE;
}

const struct tier_evict_ops tier_evict_sieve = {
	.name = "sieve",
	.summary = "SIEVE: FIFO with a visited bit and a hand that does not move hits",
	.create = sieve_create,
	.destroy = sieve_destroy,
	.insert = sieve_insert,
	.access = sieve_access,
	.remove = sieve_remove,
	.pick_victim = sieve_pick_victim,
	.bytes_per_block = 2 * sizeof(uint32_t) + 1,
};
