/* SPDX-License-Identifier: MIT */
/*
 * LRU: the baseline every peer ships.  An intrusive doubly linked list over
 * slot indices (two uint32_t per slot, 8 bytes a block); the head is the most
 * recently used.  pick_victim walks from the tail past blocks the caller
 * cannot evict (pinned, being written), so a pinned block never blocks the
 * others and never moves.
 */
#include <errno.h>
#include <stdlib.h>

#include "policy.h"

struct lru {
	uint32_t *prev, *next; /* TIER_SLOT_NONE-terminated */
	uint32_t head, tail;
	uint32_t max_slots;
};

static int lru_create(const struct tier_policy_params *p, void **ret)
{
	struct lru *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	/* calloc of large arrays is lazily zeroed by the kernel: slots that
	 * are never used cost no memory. */
	l->prev = calloc(p->max_slots ? p->max_slots : 1, sizeof(uint32_t));
	l->next = calloc(p->max_slots ? p->max_slots : 1, sizeof(uint32_t));
	if (!l->prev || !l->next) {
		free(l->prev);
		free(l->next);
		free(l);
		return -ENOMEM;
	}
	l->head = l->tail = TIER_SLOT_NONE;
	l->max_slots = p->max_slots;
	*ret = l;
	return 0;
}

static void lru_destroy(void *st)
{
	struct lru *l = st;

	if (!l)
		return;
	free(l->prev);
	free(l->next);
	free(l);
}

static void lru_unlink(struct lru *l, uint32_t s)
{
	uint32_t p = l->prev[s], n = l->next[s];

	if (p != TIER_SLOT_NONE)
		l->next[p] = n;
	else
		l->head = n;
	if (n != TIER_SLOT_NONE)
		l->prev[n] = p;
	else
		l->tail = p;
}

static void lru_push_head(struct lru *l, uint32_t s)
{
	l->prev[s] = TIER_SLOT_NONE;
	l->next[s] = l->head;
	if (l->head != TIER_SLOT_NONE)
		l->prev[l->head] = s;
	else
		l->tail = s;
	l->head = s;
}

static void lru_insert(void *st, uint32_t slot, const struct tier_access *a)
{
	(void)a;
	lru_push_head(st, slot);
}

static void lru_access(void *st, uint32_t slot, const struct tier_access *a)
{
	struct lru *l = st;

	(void)a;
	if (l->head == slot)
		return;
	lru_unlink(l, slot);
	lru_push_head(l, slot);
}

static void lru_remove(void *st, uint32_t slot)
{
	lru_unlink(st, slot);
}

static uint32_t lru_pick_victim(void *st, tier_evictable_fn evictable, void *arg)
{
	struct lru *l = st;

	for (uint32_t s = l->tail; s != TIER_SLOT_NONE; s = l->prev[s])
		if (!evictable || evictable(arg, s))
			return s;
	return TIER_SLOT_NONE;
}

const struct tier_evict_ops tier_evict_lru = {
	.name = "lru",
	.summary = "least recently used (the baseline most KV-cache offloaders ship)",
	.create = lru_create,
	.destroy = lru_destroy,
	.insert = lru_insert,
	.access = lru_access,
	.remove = lru_remove,
	.pick_victim = lru_pick_victim,
	.bytes_per_block = 2 * sizeof(uint32_t),
};
