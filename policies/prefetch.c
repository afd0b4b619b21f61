/* SPDX-License-Identifier: MIT */
/*
 * Prefetch policies.
 *
 * none:  never prefetches.
 * chain: chain lookahead.  KV keys form chains (a block's key depends on
 *        its parent's), and a conversation that comes back re-reads its
 *        chain from the head.  The policy remembers, for each block, the
 *        child that most recently extended it (slot and key fingerprint,
 *        12 bytes a block), learned from the parent slot of every access.
 *        When a request's leading blocks hit (the access is on the hit
 *        prefix), it suggests the next blocks down the remembered chain,
 *        so lower-tier copies are promoted while the engine loads the head.
 *        Depth: params.lookahead (default 8), doubled for blocks the engine
 *        hinted as important.
 */
#include <errno.h>
#include <stdlib.h>

#include "policy.h"

#define CHAIN_DEFAULT_LOOKAHEAD 8u

struct chain_pf {
	uint32_t *child;
	uint64_t *child_key;
	uint32_t max_slots, depth;
};

static int chain_create(const struct tier_policy_params *p, void **ret)
{
	struct chain_pf *c = calloc(1, sizeof(*c));
	size_t n = p->max_slots ? p->max_slots : 1;

	if (!c)
		return -ENOMEM;
	c->child = malloc(n * sizeof(*c->child));
	c->child_key = calloc(n, sizeof(*c->child_key));
	if (!c->child || !c->child_key) {
		free(c->child);
		free(c->child_key);
		free(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		c->child[i] = TIER_SLOT_NONE;
	c->max_slots = (uint32_t)n;
	c->depth = p->lookahead ? p->lookahead : CHAIN_DEFAULT_LOOKAHEAD;
	*ret = c;
	return 0;
}

static void chain_destroy(void *st)
{
	struct chain_pf *c = st;

	if (!c)
		return;
	free(c->child);
	free(c->child_key);
	free(c);
}

static void chain_access(void *st, uint32_t slot, const struct tier_access *a)
{
	struct chain_pf *c = st;

	if (a->parent != TIER_SLOT_NONE && a->parent < c->max_slots && slot < c->max_slots) {
		c->child[a->parent] = slot;
		c->child_key[a->parent] = a->key;
	}
}

static void chain_remove(void *st, uint32_t slot)
{
	struct chain_pf *c = st;

	if (slot < c->max_slots) {
		c->child[slot] = TIER_SLOT_NONE;
		c->child_key[slot] = 0;
	}
}

static size_t chain_suggest(void *st, uint32_t slot, const struct tier_access *a, uint32_t *ret_slots,
			    uint64_t *ret_keys, size_t max)
{
	struct chain_pf *c = st;
	size_t n = 0, depth = c->depth;

	/* only a request whose head hits is walking a known chain */
	if (a->prefix_hits != a->pos || slot >= c->max_slots)
		return 0;
	if (a->hint > 0)
		depth *= 2;
	if (depth > max)
		depth = max;
	for (uint32_t s = c->child[slot]; s != TIER_SLOT_NONE && n < depth; s = c->child[s]) {
		/* a cycle can only come from reused slots; the caller's key check
		 * catches stale entries, the depth bound ends the walk */
		ret_slots[n] = s;
		ret_keys[n] = c->child_key[n ? ret_slots[n - 1] : slot];
		n++;
	}
	return n;
}

const struct tier_prefetch_ops tier_prefetch_chain = {
	.name = "chain",
	.summary = "on a hit on a request's leading blocks, bring up the chain that last extended it",
	.create = chain_create,
	.destroy = chain_destroy,
	.access = chain_access,
	.remove = chain_remove,
	.suggest = chain_suggest,
	.bytes_per_block = sizeof(uint32_t) + sizeof(uint64_t),
};

static int none_create(const struct tier_policy_params *p, void **ret)
{
	(void)p;
	*ret = NULL;
	return 0;
}

static void none_destroy(void *st)
{
	(void)st;
}

static size_t none_suggest(void *st, uint32_t slot, const struct tier_access *a, uint32_t *ret_slots,
			   uint64_t *ret_keys, size_t max)
{
	(void)st;
	(void)slot;
	(void)a;
	(void)ret_slots;
	(void)ret_keys;
	(void)max;
	return 0;
}

const struct tier_prefetch_ops tier_prefetch_none = {
	.name = "none",
	.summary = "no prefetch (the default)",
	.create = none_create,
	.destroy = none_destroy,
	.suggest = none_suggest,
};
