/* SPDX-License-Identifier: MIT */
/*
 * chain: a prefix-aware policy that learns, online, which KV blocks are dead.
 *
 * Idea.  The value of keeping a block is the hits it will still get divided
 * by the cache space-time it will still use up: its hit density (the
 * quantity Beckmann et al. rank by in LHD, NSDI'18).  Both depend on what
 * kind of block it is and on how long it has gone unused.  We estimate them
 * per class of block from what happened to earlier blocks of that class at
 * each age, and evict, among a random sample of resident blocks, the one of
 * lowest estimated hit density.  Nothing is tuned to a workload: every class
 * learns its own curve, and the curves follow the workload as it drifts.
 *
 * Classes come from the chain structure of KV keys, all known online:
 *   - reuse count of the block (0, 1, 2-3, 4+): a block many chains or many
 *     turns share is worth more than a one-off suffix;
 *   - partial last block of a prompt: matchable only by an exact repeat;
 *   - distance to the end of its request (0, 1, 2+): the tail of a prompt is
 *     the part the next turn of a conversation rewrites or never reaches;
 *   - how much of the request's prefix hit (0, 1, 2-7, 8+ blocks): a request
 *     that only shares a system prompt versus a conversation that came back.
 * Age is logical time since the block's last access, on a log scale with
 * four buckets per octave.
 *
 * Censoring.  A cache only sees hits at ages it keeps blocks for, so a class
 * that is evicted young would never show the hits it would have had.  A
 * ghost remembers evicted keys (4 x capacity of them) with their class,
 * last-access time and eviction age; a miss that finds its key in the ghost
 * turns that eviction into the hit it would have been.  That is what makes
 * the estimate a dead-block predictor rather than a restatement of the
 * policy's own choices.
 *
 * Chains.  A block whose parent is gone can no longer be matched by a
 * prefix lookup, so among sampled candidates of near-equal density the
 * policy takes a leaf (a block with no cached child) first; a parent is
 * never chosen over one of its own cached children.  Engine hints scale the
 * density (hint h > 0 multiplies it by 1 + h).
 *
 * Cost: 37 bytes a slot, plus the ghost (18 bytes an entry, 8 entries
 * per block of capacity) and fixed tables (96 classes x 128 ages x 20 B).
 * Eviction samples 32 blocks: O(1), no allocation after create.
 *
 * Status: measured on the Mooncake conversation trace (docs/POLICIES.md),
 * it beats LRU at 1% of the unique blocks only, and loses from 10% up: the
 * class features separate live from dead blocks too weakly there.  It is
 * not the default.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define CH_AGES 128
#define CH_CLASSES 96
#ifndef CH_SAMPLES
#define CH_SAMPLES 32
#endif
#ifndef CH_GHOST_FACTOR
#define CH_GHOST_FACTOR 4      /* ghost keys per block of capacity */
#endif
#ifndef CH_PERIOD
#define CH_PERIOD 4096u        /* accesses between two refits of the density curves */
#endif
#ifndef CH_DECAY
#define CH_DECAY 0.95          /* weight of the past at each refit */
#endif
#ifndef CH_PRIOR_EVENTS
#define CH_PRIOR_EVENTS 32.0   /* strength of the all-classes prior for a sparse class */
#endif
#define CH_GHOST_WAYS 4


struct chain_ghost {
	uint64_t *fp;
	uint32_t *last;       /* logical time of the block's last access */
	uint32_t *stamp;      /* eviction counter when it entered */
	uint16_t *meta;       /* class << 7 | eviction age bucket */
	uint32_t mask, size, clock;
};

struct chain {
	uint32_t now;         /* logical time of the last access seen */
	uint32_t *last;       /* slot -> time of last access */
	uint64_t *key;
	uint32_t *parent;     /* slot -> parent slot when inserted, or NONE */
	uint32_t *pgen;       /* generation of that parent then */
	uint32_t *gen;        /* slot -> bumped at every insert */
	uint16_t *children;   /* cached children */
	uint8_t *cls, *hits;
	int8_t *hint;
	uint32_t *res, *respos; /* the resident slots, densely, for sampling */
	uint32_t n_res, max_slots;
	uint64_t rng;
	uint32_t since_fit;
	double hit_ev[CH_CLASSES][CH_AGES];
	double evict_ev[CH_CLASSES][CH_AGES];
	float density[CH_CLASSES][CH_AGES];
	struct chain_ghost g;
};

static unsigned age_bucket(uint32_t age)
{
	unsigned e, b;

	if (age < 8)
		return age;
	e = 31u - (unsigned)__builtin_clz(age);
	b = 8 + (e - 3) * 4 + ((age >> (e - 2)) & 3);
	return b < CH_AGES ? b : CH_AGES - 1;
}

static double age_lo(unsigned b)
{
	unsigned e;

	if (b < 8)
		return b;
	e = (b - 8) / 4 + 3;
	return (double)((4u + (b - 8) % 4) << (e - 2));
}

static double age_mid(unsigned b)
{
	if (b < 8)
		return b + 0.5;
	return age_lo(b) + (double)(1u << ((b - 8) / 4 + 1)) / 2;
}

static unsigned chain_class(const struct tier_access *a, unsigned hits)
{
	unsigned h = hits == 0 ? 0 : hits == 1 ? 1 : hits < 4 ? 2 : 3;
	unsigned partial = (a->flags & TIER_ACC_PARTIAL) ? 1 : 0;
	unsigned tail = 2, ph;

	if (a->req_len > a->pos) {
		uint32_t d = a->req_len - 1 - a->pos;

		tail = d == 0 ? 0 : d == 1 ? 1 : 2;
	}
	ph = a->prefix_hits == 0 ? 0 : a->prefix_hits < 2 ? 1 : a->prefix_hits < 8 ? 2 : 3;
	return ((h * 2 + partial) * 3 + tail) * 4 + ph;
}

/*
 * Refit: hit density at age a = expected further hits / expected further
 * lifetime, over the blocks of the class that reached age a.  A sparse class
 * borrows the all-classes curve with the weight of CH_PRIOR_EVENTS events.
 */
static void chain_fit(struct chain *c)
{
	double gh[CH_AGES] = {0}, ge[CH_AGES] = {0}, gtot = 0;

	for (unsigned k = 0; k < CH_CLASSES; k++)
		for (unsigned b = 0; b < CH_AGES; b++) {
			gh[b] += c->hit_ev[k][b];
			ge[b] += c->evict_ev[k][b];
			gtot += c->hit_ev[k][b] + c->evict_ev[k][b];
		}
	for (unsigned k = 0; k < CH_CLASSES; k++) {
		double tot = 0, w, hits = 0, events = 0, life = 0;

		for (unsigned b = 0; b < CH_AGES; b++)
			tot += c->hit_ev[k][b] + c->evict_ev[k][b];
		w = gtot > 0 ? CH_PRIOR_EVENTS / gtot : 0;
		for (unsigned b = CH_AGES; b-- > 0;) {
			double h = c->hit_ev[k][b] + w * gh[b];
			double e = c->evict_ev[k][b] + w * ge[b];
			double rest;

			hits += h;
			events += h + e;
			life += (h + e) * age_mid(b);
			rest = life - events * age_lo(b);
			c->density[k][b] = rest > 0 ? (float)(hits / rest) : 0.0f;
		}
		(void)tot;
	}
	for (unsigned k = 0; k < CH_CLASSES; k++)
		for (unsigned b = 0; b < CH_AGES; b++) {
			c->hit_ev[k][b] *= CH_DECAY;
			c->evict_ev[k][b] *= CH_DECAY;
		}
}

static uint64_t chain_rand(struct chain *c)
{
	/* xorshift64*: deterministic, so replays are repeatable */
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 0x2545f4914f6cdd1dULL;
}

static uint32_t ghost_hash(uint64_t k)
{
	k ^= k >> 29;
	k *= 0xbf58476d1ce4e5b9ULL;
	k ^= k >> 32;
	return (uint32_t)k;
}

static bool ghost_live(const struct chain_ghost *g, uint32_t i)
{
	return g->fp[i] && g->clock - g->stamp[i] < g->size;
}

static void ghost_put(struct chain *c, uint64_t key, uint32_t last, uint16_t meta)
{
	struct chain_ghost *g = &c->g;
	uint32_t base = ghost_hash(key) & g->mask, v = base;

	g->clock++;
	for (uint32_t w = 0; w < CH_GHOST_WAYS; w++) {
		uint32_t i = (base + w) & g->mask;

		if (!ghost_live(g, i)) {
			v = i;
			break;
		}
		if (g->clock - g->stamp[i] > g->clock - g->stamp[v])
			v = i;
	}
	if (g->fp[v]) {
		/* it never came back while we remembered it: a dead block, whose
		 * lifetime counts up to now (it would still be taking room) */
		unsigned k = g->meta[v] >> 7;

		c->evict_ev[k][age_bucket(c->now - g->last[v])] += 1;
	}
	g->fp[v] = key;
	g->last[v] = last;
	g->stamp[v] = g->clock;
	g->meta[v] = meta;
}

static int ghost_find(struct chain_ghost *g, uint64_t key)
{
	uint32_t base = ghost_hash(key) & g->mask;

	for (uint32_t w = 0; w < CH_GHOST_WAYS; w++) {
		uint32_t i = (base + w) & g->mask;

		if (g->fp[i] == key && ghost_live(g, i))
			return (int)i;
	}
	return -1;
}

static void chain_destroy(void *st)
{
	struct chain *c = st;

	if (!c)
		return;
	free(c->last);
	free(c->key);
	free(c->parent);
	free(c->pgen);
	free(c->gen);
	free(c->children);
	free(c->cls);
	free(c->hits);
	free(c->hint);
	free(c->res);
	free(c->respos);
	free(c->g.fp);
	free(c->g.last);
	free(c->g.stamp);
	free(c->g.meta);
	free(c);
}

static int chain_create(const struct tier_policy_params *p, void **ret)
{
	struct chain *c = calloc(1, sizeof(*c));
	size_t n = p->max_slots ? p->max_slots : 1;
	uint64_t cap = p->capacity ? p->capacity : n, gs = 64;

	if (!c)
		return -ENOMEM;
	c->max_slots = (uint32_t)n;
	c->last = calloc(n, sizeof(*c->last));
	c->key = calloc(n, sizeof(*c->key));
	c->parent = calloc(n, sizeof(*c->parent));
	c->pgen = calloc(n, sizeof(*c->pgen));
	c->gen = calloc(n, sizeof(*c->gen));
	c->children = calloc(n, sizeof(*c->children));
	c->cls = calloc(n, 1);
	c->hits = calloc(n, 1);
	c->hint = calloc(n, 1);
	c->res = calloc(n, sizeof(*c->res));
	c->respos = calloc(n, sizeof(*c->respos));
	while (gs < 2 * CH_GHOST_FACTOR * cap && gs < (1ull << 31))
		gs *= 2;
	c->g.fp = calloc(gs, sizeof(*c->g.fp));
	c->g.last = calloc(gs, sizeof(*c->g.last));
	c->g.stamp = calloc(gs, sizeof(*c->g.stamp));
	c->g.meta = calloc(gs, sizeof(*c->g.meta));
	if (!c->last || !c->key || !c->parent || !c->pgen || !c->gen || !c->children || !c->cls ||
	    !c->hits || !c->hint || !c->res || !c->respos || !c->g.fp || !c->g.last || !c->g.stamp ||
	    !c->g.meta) {
		chain_destroy(c);
		return -ENOMEM;
	}
	c->g.mask = (uint32_t)(gs - 1);
	c->g.size = (uint32_t)(CH_GHOST_FACTOR * cap);
	c->rng = 0x9e3779b97f4a7c15ULL;
	/* before the first fit: plain recency (density falls with age) */
	for (unsigned k = 0; k < CH_CLASSES; k++)
		for (unsigned b = 0; b < CH_AGES; b++)
			c->density[k][b] = 1.0f / (float)(1 + age_mid(b));
	*ret = c;
	return 0;
}

static void chain_tick(struct chain *c, const struct tier_access *a)
{
	c->now = (uint32_t)a->now;
	if (++c->since_fit >= CH_PERIOD) {
		c->since_fit = 0;
		chain_fit(c);
	}
}

static void chain_insert(void *st, uint32_t slot, const struct tier_access *a)
{
	struct chain *c = st;
	int gi;

	chain_tick(c, a);
	gi = ghost_find(&c->g, a->key);
	if (gi >= 0) {
		/* it was evicted and came back: count the hit it would have been */
		uint16_t m = c->g.meta[gi];
		unsigned k = m >> 7, eb = m & 127;

		(void)eb;
		c->hit_ev[k][age_bucket(c->now - c->g.last[gi])] += 1;
		c->g.fp[gi] = 0;
	}
	c->key[slot] = a->key;
	c->last[slot] = c->now;
	c->hits[slot] = 0;
	c->hint[slot] = (int8_t)(a->hint > 100 ? 100 : a->hint < -100 ? -100 : a->hint);
	c->cls[slot] = (uint8_t)chain_class(a, 0);
	c->gen[slot]++;
	c->children[slot] = 0;
	c->parent[slot] = TIER_SLOT_NONE;
	if (a->parent != TIER_SLOT_NONE && a->parent < c->max_slots) {
		c->parent[slot] = a->parent;
		c->pgen[slot] = c->gen[a->parent];
		if (c->children[a->parent] < UINT16_MAX)
			c->children[a->parent]++;
	}
	c->respos[slot] = c->n_res;
	c->res[c->n_res++] = slot;
}

static void chain_access(void *st, uint32_t slot, const struct tier_access *a)
{
	struct chain *c = st;

	chain_tick(c, a);
	c->hit_ev[c->cls[slot]][age_bucket(c->now - c->last[slot])] += 1;
	if (c->hits[slot] < UINT8_MAX)
		c->hits[slot]++;
	c->last[slot] = c->now;
	c->cls[slot] = (uint8_t)chain_class(a, c->hits[slot]);
	if (a->hint)
		c->hint[slot] = (int8_t)(a->hint > 100 ? 100 : a->hint < -100 ? -100 : a->hint);
}

static void chain_remove(void *st, uint32_t slot)
{
	struct chain *c = st;
	uint32_t age = c->now - c->last[slot], p = c->parent[slot], i = c->respos[slot];
	unsigned eb = age_bucket(age);

	ghost_put(c, c->key[slot], c->last[slot], (uint16_t)(c->cls[slot] << 7 | eb));
	if (p != TIER_SLOT_NONE && c->gen[p] == c->pgen[slot] && c->children[p])
		c->children[p]--;
	c->gen[slot]++;
	c->res[i] = c->res[--c->n_res];
	c->respos[c->res[i]] = i;
}

static void chain_hint(void *st, uint32_t slot, int32_t prio)
{
	struct chain *c = st;

	c->hint[slot] = (int8_t)(prio > 100 ? 100 : prio < -100 ? -100 : prio);
}

static double chain_score(const struct chain *c, uint32_t s)
{
	double d = c->density[c->cls[s]][age_bucket(c->now - c->last[s])];

	if (c->hint[s] > 0)
		d *= 1 + c->hint[s];
	else if (c->hint[s] < 0)
		d /= 1 - c->hint[s];
	return d;
}

static uint32_t chain_pick_victim(void *st, tier_evictable_fn evictable, void *arg)
{
	struct chain *c = st;
	uint32_t best = TIER_SLOT_NONE;
	double best_d = 0;
	bool best_leaf = false;

	if (!c->n_res)
		return TIER_SLOT_NONE;
	for (unsigned i = 0; i < CH_SAMPLES; i++) {
		uint32_t s = c->res[chain_rand(c) % c->n_res];
		bool leaf = c->children[s] == 0;
		double d;

		if (evictable && !evictable(arg, s))
			continue;
		d = chain_score(c, s);
		/* leaves first: a parent only goes when no sampled leaf is near as cheap */
		if (best == TIER_SLOT_NONE || (leaf && !best_leaf && d <= 2 * best_d) ||
		    (leaf == best_leaf && d < best_d) || (!leaf && best_leaf && 2 * d < best_d)) {
			best = s;
			best_d = d;
			best_leaf = leaf;
		}
	}
	if (best != TIER_SLOT_NONE)
		return best;
	for (uint32_t i = 0; i < c->n_res; i++)
		if (!evictable || evictable(arg, c->res[i]))
			return c->res[i];
	return TIER_SLOT_NONE;
}

const struct tier_evict_ops tier_evict_chain = {
	.name = "chain",
	.summary = "prefix-aware: learned hit density per chain class and age, ghost-corrected, leaves first",
	.create = chain_create,
	.destroy = chain_destroy,
	.insert = chain_insert,
	.access = chain_access,
	.remove = chain_remove,
	.pick_victim = chain_pick_victim,
	.hint = chain_hint,
	/* 37 bytes of slot state; the ghost table holds 2 x CH_GHOST_FACTOR entries of 18 bytes per block */
	.bytes_per_block = 37 + 2 * CH_GHOST_FACTOR * 18,
};
