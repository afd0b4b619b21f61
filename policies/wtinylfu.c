/* SPDX-License-Identifier: MIT */
/*
 * W-TinyLFU (Einziger et al., ToS'17, as in Caffeine): a small LRU window
 * (1% of the capacity) in front of a segmented LRU main area (probation,
 * and protected = 80% of main), with a frequency sketch as the main area's
 * doorkeeper.  When the window is over its share, its oldest block
 * (candidate) duels the main area's next victim: the one the sketch has
 * seen less often is evicted, the winner stays in (or enters) probation.
 * A hit in probation promotes to protected; protected overflow falls back
 * to probation.  Per block: links 8, key 8, segment 1 = 17 bytes, plus the
 * sketch (8 bytes per block of capacity).
 */
#include <errno.h>
#include <stdlib.h>

#include "sketch.h"
#include "slist.h"

enum { SEG_NONE, SEG_WINDOW, SEG_PROBATION, SEG_PROTECTED };

struct wtlfu {
	struct slinks k;
	struct slist seg[4];
	uint64_t *key;
	uint8_t *where;
	struct sketch sk;
	uint32_t window_cap, main_cap, protected_cap;
};

static void wtlfu_destroy(void *st)
{
	struct wtlfu *w = st;

	if (!w)
		return;
	slinks_deinit(&w->k);
	free(w->key);
	free(w->where);
	sketch_deinit(&w->sk);
	free(w);
}

static int wtlfu_create(const struct tier_policy_params *p, void **ret)
{
	struct wtlfu *w = calloc(1, sizeof(*w));
	size_t n = p->max_slots ? p->max_slots : 1;
	uint32_t cap = p->capacity ? p->capacity : p->max_slots;

	if (!w)
		return -ENOMEM;
	if (slinks_init(&w->k, p->max_slots) < 0) {
		free(w);
		return -ENOMEM;
	}
	w->key = calloc(n, sizeof(*w->key));
	w->where = calloc(n, 1);
	if (!w->key || !w->where || sketch_init(&w->sk, cap) < 0) {
		wtlfu_destroy(w);
		return -ENOMEM;
	}
	for (int i = 0; i < 4; i++)
		slist_init(&w->seg[i]);
	w->window_cap = cap / 100 ? cap / 100 : 1;
	w->main_cap = cap > w->window_cap ? cap - w->window_cap : 1;
	w->protected_cap = (uint32_t)((uint64_t)w->main_cap * 8 / 10);
	*ret = w;
	return 0;
}

static void wtlfu_move(struct wtlfu *w, uint32_t s, int to)
{
	slist_unlink(&w->seg[w->where[s]], &w->k, s);
	w->where[s] = (uint8_t)to;
	slist_push_head(&w->seg[to], &w->k, s);
}

static void wtlfu_insert(void *st, uint32_t slot, const struct tier_access *a)
{
	struct wtlfu *w = st;

	w->key[slot] = a->key;
	sketch_add(&w->sk, a->key);
	w->where[slot] = SEG_WINDOW;
	slist_push_head(&w->seg[SEG_WINDOW], &w->k, slot);
}

static void wtlfu_access(void *st, uint32_t slot, const struct tier_access *a)
{
	struct wtlfu *w = st;

	sketch_add(&w->sk, a->key);
	if (w->where[slot] == SEG_PROBATION) {
		wtlfu_move(w, slot, SEG_PROTECTED);
		if (w->seg[SEG_PROTECTED].n > w->protected_cap)
			wtlfu_move(w, w->seg[SEG_PROTECTED].tail, SEG_PROBATION);
	} else {
		wtlfu_move(w, slot, w->where[slot]);
	}
}

static void wtlfu_remove(void *st, uint32_t slot)
{
	struct wtlfu *w = st;

	slist_unlink(&w->seg[w->where[slot]], &w->k, slot);
	w->where[slot] = SEG_NONE;
}

/* The oldest evictable block of a segment, or TIER_SLOT_NONE. */
static uint32_t wtlfu_oldest(struct wtlfu *w, int seg, tier_evictable_fn evictable, void *arg)
{
	for (uint32_t s = w->seg[seg].tail; s != TIER_SLOT_NONE; s = w->k.prev[s])
		if (!evictable || evictable(arg, s))
			return s;
	return TIER_SLOT_NONE;
}

static uint32_t wtlfu_pick_victim(void *st, tier_evictable_fn evictable, void *arg)
{
	struct wtlfu *w = st;
	uint32_t cand = TIER_SLOT_NONE, vict;

	/* while the main area has room, the window spills into it for free */
	while (w->seg[SEG_WINDOW].n > w->window_cap &&
	       w->seg[SEG_PROBATION].n + w->seg[SEG_PROTECTED].n < w->main_cap)
		wtlfu_move(w, w->seg[SEG_WINDOW].tail, SEG_PROBATION);
	if (w->seg[SEG_WINDOW].n > w->window_cap)
		cand = wtlfu_oldest(w, SEG_WINDOW, evictable, arg);
	vict = wtlfu_oldest(w, SEG_PROBATION, evictable, arg);
	if (vict == TIER_SLOT_NONE)
		vict = wtlfu_oldest(w, SEG_PROTECTED, evictable, arg);
	if (cand == TIER_SLOT_NONE)
		return vict != TIER_SLOT_NONE ? vict : wtlfu_oldest(w, SEG_WINDOW, evictable, arg);
	if (vict == TIER_SLOT_NONE)
		return cand;
	if (sketch_estimate(&w->sk, w->key[cand]) > sketch_estimate(&w->sk, w->key[vict])) {
		wtlfu_move(w, cand, SEG_PROBATION);
		return vict;
	}
	return cand;
}

const struct tier_evict_ops tier_evict_wtinylfu = {
	.name = "wtinylfu",
	.summary = "W-TinyLFU: LRU window, segmented LRU main, frequency-sketch admission duel",
	.create = wtlfu_create,
	.destroy = wtlfu_destroy,
	.insert = wtlfu_insert,
	.access = wtlfu_access,
	.remove = wtlfu_remove,
	.pick_victim = wtlfu_pick_victim,
	.bytes_per_block = 2 * sizeof(uint32_t) + sizeof(uint64_t) + 1 + 8,
};
