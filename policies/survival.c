/* SPDX-License-Identifier: MIT */
/*
 * survival: evicts the block that buys the fewest reuses for the cache it
 * holds, estimated from an unbiased sample of the workload rather than from
 * what the cache itself happened to keep.
 *
 * It learns what horizon learns: P(reused | kind of block, alive at age a).
 * horizon answers it from its ghost, which only sees reuses within about two
 * residence times and so restates the cache's own choices; survival follows a
 * fixed sample of keys (1 in 2^SV_SAMPLE_SHIFT, by key bits) for
 * SV_SPAN capacities' worth of accesses whether the cache holds them or not,
 * and estimates the reuse hazard per age bucket Kaplan-Meier style: reuses at
 * an age over every followed access that reached that age (reused later,
 * dead, or still followed: the still-followed ones are censored
 * observations, counted from a sample of the ring at each refit).  From the
 * hazards, each kind and age gets an index (sv_fit): the best, over how long
 * the block would still be kept, of the chance of a reuse in that time over
 * the time it holds its place.
 *
 * Kinds of block (sv_class): the prompt's partial last block
 * (TIER_ACC_PARTIAL); a block used before, by how often (1, 2-3, 4+;
 * remembered across an eviction by a ghost as long as the shadow's reach,
 * SV_SPAN capacities of evicted keys: the policy remembers as far back as it
 * learns); a block new to the cache, by how often the block it extends was
 * used and by how deep into the request's new blocks it is.  Measured: the
 * request's leading hits and appended blocks as classes rank worse online,
 * because they depend on what the cache held and split the sample thin; the
 * time since the parent was last used and the share of the request already
 * known, tried as classes, did not help.  Age is the logical time since the
 * start of the last request that touched the block, so a chain ages
 * together.
 *
 * Eviction samples SV_PICK resident blocks (all of them when fewer) and takes
 * the lowest index, the older request on ties; engine hints scale it
 * (h > 0: x (1 + h); h < 0: / (1 - h)).  The chosen block is then replaced
 * by the deepest block below it in its chain, down the last-child links
 * (at most SV_WALK of them, stopping above a block that may not be
 * evicted): an engine's prefix lookup stops at the first missing block, so
 * a head evicted before its tail wastes the tail.  (tiersim and tierbench
 * --trace --mode block count a hit after a miss; measured with --mode
 * prefix, as an engine looks up, the walk is worth a quarter of the hits at
 * 1% of the trace's blocks.)
 *
 * Cost: 27 bytes a slot (key 8, stamp 4, resident index 4, parent and last
 * child 4 each, class, uses and hint 1 each) plus 4 a resident block; a
 * ring entry (keyring.h: key 8, stamp 4, class and uses 1 each, index about
 * 8) is 22 bytes: the ghost has SV_SPAN per block of capacity, the shadow
 * SV_SPAN >> SV_SAMPLE_SHIFT: 427 bytes per block of capacity in all.
 * Tables: 29 classes x 12 bytes an age bucket (reuses and deaths as float,
 * the index), as many buckets as the shadow reaches (sv_ages: 42 at 1,828
 * blocks of capacity, 64 from about 2^26 entries).  Hooks are O(1); pick_victim is
 * O(SV_PICK + SV_WALK); a refit every 1024 accesses is O(classes x ages^2 +
 * SV_CENSUS).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keyring.h"
#include "policy.h"
#include "survival.h"
#include "tagghost.h"

#define SV_AGES 64
#define SV_U 4                        /* use-count buckets: 0, 1, 2-3, 4+ */
#define SV_D 6                        /* run-position buckets: 0, 1, 2-3, 4-7, 8-15, 16+ */
/* partial; re-read by uses; new by the parent's uses x run position */
#define SV_CLASSES (1 + SV_U + SV_U * SV_D)
#define SV_FIT_PERIOD 1024u           /* accesses between refits */
#define SV_PRIOR 256.0                /* weight, in events per age, of the class's prior hazard */
#define SV_SAMPLE_SHIFT 3             /* survival's shadow follows 1 key in 8 */
#define SV_SPAN 16                    /* the shadow's reach, in capacities of accesses */
#define SV_CENSUS 2048u               /* ring entries looked at per refit */
#define SV_PICK 64                    /* eviction candidates */
#define SV_WALK 256u                  /* most child links followed to a chain's tail */
#define SV_AGE_REACH 64u               /* ages kept: this many shadow spans (sv_ages) */
#define SV_OUT 0xff                   /* cls of a slot that is not in */

struct survival {
	uint64_t *key;
	uint32_t *stamp; /* slot -> start time of the last request that touched it */
	uint32_t *where; /* slot -> index in res */
	uint8_t *cls;
	uint8_t *uses;   /* slot -> uses before this one, capped */
	int8_t *hint;
	uint32_t *up;    /* slot -> its parent's slot when it was last told it (may be stale) */
	uint32_t *down;  /* slot -> the last child it was told of (may be stale) */
	uint8_t *kids;   /* slot -> cached children, saturating (survival_params.leaves; else NULL) */
	uint32_t *res;   /* resident slots, dense */
	uint32_t n_res, max_slots;
	uint32_t now, req, since_fit;
	uint32_t depth_req;            /* the request depth was taken for */
	unsigned depth;                /* 1 + uses of its new blocks' parent, 0: none */
	uint32_t run_pos;              /* position of that request's first new full block */
	uint64_t rng;
	double decay;
	/*
	 * Per class and age bucket (row c at c * ages): reuses and deaths seen
	 * (float: decayed counts, far below float's 2^24 exact integers), and
	 * the index, reuses per unit of time held (sv_fit).  ages: the
	 * buckets the shadow can reach (sv_ages), the last one holding every
	 * older age.
	 */
	float *reuse, *dead;
	float *index;
	unsigned ages;
	struct keyring ghost;  /* evicted keys, to remember their use count */
	struct tagghost tghost; /* the same, compact (survival_params.ghost_x4) */
	bool compact;
	unsigned shift;        /* the shadow follows 1 key in 2^shift */
	struct keyring shadow; /* the sample it learns from */
};

static unsigned sv_bucket(unsigned n)
{
	return n == 0 ? 0 : n == 1 ? 1 : n < 4 ? 2 : 3;
}

/*
 * The partial last block; a block used before, by its use count; a block
 * new to the cache, by the use count of the block its request appended it
 * to (the deepest block the request re-read): a conversation's k-th turn
 * appends blocks whose chance to come back is that of a k-turn
 * conversation, not that of a first sighting.  depth = 1 + that count, 0
 * when the request re-read nothing that is still cached.  And by where in
 * the request's run of new blocks it is, d blocks past the first (octaves):
 * the first blocks past what is known are more often a template other
 * requests share than the tail of a one-off prompt (in the Mooncake trace,
 * 40% of first new blocks come back, 23% of those 16 or more deep).
 */
static unsigned sv_dbucket(uint32_t d)
{
	unsigned b = 0;

	while (d && b < SV_D - 1) {
		d >>= 1;
		b++;
	}
	return b;
}

static unsigned sv_class(bool partial, unsigned uses, unsigned depth, uint32_t d)
{
	if (partial)
		return 0;
	if (uses)
		return 1 + sv_bucket(uses);
	return 1 + SV_U + sv_bucket(depth) * SV_D + sv_dbucket(d);
}

/* ---- learning ---- */

/* The bucket of age: policy_age_bucket's, the older ones in the last. */
static unsigned sv_age(const struct survival *v, uint32_t age)
{
	unsigned b = policy_age_bucket(age);

	return b < v->ages ? b : v->ages - 1;
}

static void sv_event(struct survival *v, float *t, unsigned cls, uint32_t stamp)
{
	t[cls * v->ages + sv_age(v, v->now - stamp)] += 1;
}

/*
 * A block was accessed.  When its key is in the sample, the shadow's previous
 * access of it (if it still follows it) ends in a reuse at its age, and this
 * access starts to be followed.
 */
static void shadow_access(struct survival *v, uint32_t s)
{
	struct keyring_entry e = {v->key[s], v->req, v->cls[s], v->uses[s]}, old;
	int64_t r;

	if (e.fp >> (64 - v->shift))
		return;
	r = keyring_find(&v->shadow, e.fp);
	if (r >= 0) {
		if (v->shadow.stamp[r] != v->req)
			sv_event(v, v->reuse, v->shadow.cls[r], v->shadow.stamp[r]);
		keyring_take(&v->shadow, (uint32_t)r);
	}
	if (keyring_put(&v->shadow, &e, &old))
		/* followed for the whole span and never reused */
		sv_event(v, v->dead, old.cls, old.stamp);
}

/* Followed accesses not yet ended, by class and current age (a sample, scaled). */
static void sv_census(struct survival *v, double (*census)[SV_AGES])
{
	const struct keyring *g = &v->shadow;
	uint32_t filled = g->seq < g->size ? g->seq : g->size, step;

	memset(census, 0, sizeof(double) * SV_CLASSES * SV_AGES);
	if (!filled)
		return;
	step = filled > SV_CENSUS ? filled / SV_CENSUS : 1;
	for (uint32_t i = 0; i < filled; i += step) {
		uint32_t r = (g->seq - 1 - i) % g->size;

		if (keyring_live(g, r))
			census[g->cls[r]][sv_age(v, v->now - g->stamp[r])] += step;
	}
}

/*
 * Hazard per class and age: reuses at that age over every followed access
 * that reached it, shrunk towards a prior with the weight of SV_PRIOR
 * events at each age.  The prior is proportional hazards: the all-classes
 * hazard at that age times the class's level (its reuses over what the
 * all-classes hazards would give its accesses).  Classes differ far more in
 * how often their blocks come back than in when (the time to a
 * conversation's next turn is the same for all), and the level is learned
 * from every age at once, so a class's old ages, where followed accesses are
 * few, borrow the common shape rather than their own noise.  Counts then
 * decay (half-life about one shadow span), to follow drift.
 *
 * What a block is worth at age bucket b is not its chance of ever coming
 * back but the reuses it buys per unit of cache it holds: over a horizon of
 * buckets b..e, the chance of a reuse in them over the expected time it
 * stays in them (a block reused in bucket j counts half of j's width), and
 * the best horizon e.  This is the Gittins index of the renewal model; a
 * block likely to come back only much later holds its place for long and
 * ranks below one likely to come back soon.  O(SV_AGES^2) per class.
 */
static void sv_fit(struct survival *v)
{
	/* scratch of each refit, on the stack: 15 KB the instance need not keep */
	double census[SV_CLASSES][SV_AGES];
	double gr[SV_AGES] = {0}, gn[SV_AGES] = {0}, hg[SV_AGES], n = 0;

	sv_census(v, census);
	for (unsigned c = 0; c < SV_CLASSES; c++)
		for (unsigned b = 0; b < v->ages; b++) {
			gr[b] += v->reuse[c * v->ages + b];
			gn[b] += v->reuse[c * v->ages + b] + v->dead[c * v->ages + b] + census[c][b];
		}
	for (unsigned b = v->ages; b-- > 0;) {
		n += gn[b];
		hg[b] = n > 0 ? gr[b] / n : 0;
	}
	for (unsigned c = 0; c < SV_CLASSES; c++) {
		double at_risk = 0, seen = 0, expect = 0, level, risk[SV_AGES], h[SV_AGES];

		for (unsigned b = v->ages; b-- > 0;) {
			at_risk += v->reuse[c * v->ages + b] + v->dead[c * v->ages + b] + census[c][b];
			risk[b] = at_risk;
			seen += v->reuse[c * v->ages + b];
			expect += at_risk * hg[b];
		}
		level = (seen + 1) / (expect + 1);
		for (unsigned b = 0; b < v->ages; b++) {
			double prior = level * hg[b] < 0.999 ? level * hg[b] : 0.999;

			h[b] = (v->reuse[c * v->ages + b] + SV_PRIOR * prior) / (risk[b] + SV_PRIOR);
		}
		for (unsigned b = 0; b < v->ages; b++) {
			double alive = 1, got = 0, held = 0, best = 0;

			for (unsigned e = b; e < v->ages && alive > 1e-9; e++) {
				got += alive * h[e];
				held += alive * (1 - h[e] / 2) * (double)policy_age_width(e);
				alive *= 1 - h[e];
				if (held > 0 && got / held > best)
					best = got / held;
			}
			v->index[c * v->ages + b] = (float)best;
		}
	}
	for (unsigned c = 0; c < SV_CLASSES; c++)
		for (unsigned b = 0; b < v->ages; b++) {
			v->reuse[c * v->ages + b] *= v->decay;
			v->dead[c * v->ages + b] *= v->decay;
		}
}

static void sv_tick(struct survival *v, const struct tier_access *a)
{
	v->now = (uint32_t)a->now;
	v->req = (uint32_t)(a->now - a->pos);
	if (++v->since_fit >= SV_FIT_PERIOD) {
		v->since_fit = 0;
		sv_fit(v);
	}
}

static void sv_set_hint(struct survival *v, uint32_t s, int32_t h)
{
	v->hint[s] = (int8_t)(h > 100 ? 100 : h < -100 ? -100 : h);
}

/* s was reached from a->parent: the chain's link, both ways. */
static void sv_link(struct survival *v, uint32_t s, const struct tier_access *a)
{
	uint32_t p = a->parent;

	uint32_t old = v->up[s];

	if (!(p < v->max_slots && p != s && v->cls[p] != SV_OUT))
		p = TIER_SLOT_NONE;
	if (v->kids && old != p) {
		if (old < v->max_slots && v->cls[old] != SV_OUT && v->kids[old] && v->kids[old] < 255)
			v->kids[old]--;
		if (p != TIER_SLOT_NONE && v->kids[p] < 255)
			v->kids[p]++;
	}
	v->up[s] = p;
	if (p != TIER_SLOT_NONE)
		v->down[p] = s;
}

/* ---- hooks ---- */

static void survival_destroy(void *st)
{
	struct survival *v = st;

	if (!v)
		return;
	free(v->key);
	free(v->stamp);
	free(v->where);
	free(v->cls);
	free(v->uses);
	free(v->hint);
	free(v->up);
	free(v->down);
	free(v->kids);
	free(v->res);
	keyring_deinit(&v->ghost);
	tagghost_deinit(&v->tghost);
	keyring_deinit(&v->shadow);
	free(v->reuse);
	free(v->dead);
	free(v->index);
	free(v);
}

/*
 * Age buckets worth keeping: every age up to SV_AGE_REACH times the
 * shadow's span in accesses (its entries times the keys per one followed).
 * A followed access ends, reused or dead, within about one span; older ages
 * have no events and an index of 0 (nothing is learned of them), so they
 * can share the last bucket.  64 (every age) from about 2^26 entries'
 * worth of span; at 1,828 blocks of capacity 42.
 */
static unsigned sv_ages(const struct survival *v)
{
	uint64_t reach = ((uint64_t)v->shadow.size << v->shift) * SV_AGE_REACH;

	unsigned b = reach > UINT32_MAX ? SV_AGES : policy_age_bucket((uint32_t)reach) + 2;

	return b < SV_AGES ? b : SV_AGES;
}

int survival_new(const struct tier_policy_params *p, const struct survival_params *sp, void **ret)
{
	struct survival *v = calloc(1, sizeof(*v));
	size_t n = p->max_slots ? p->max_slots : 1;
	uint64_t cap = p->capacity ? p->capacity : n;
	uint64_t shadow = (SV_SPAN * cap) >> sp->sample_shift;

	if (!v)
		return -ENOMEM;
	v->max_slots = (uint32_t)n;
	v->shift = sp->sample_shift;
	v->compact = sp->ghost_x4 != 0;
	if (sp->leaves && !(v->kids = calloc(n, 1))) {
		survival_destroy(v);
		return -ENOMEM;
	}
	v->key = calloc(n, sizeof(*v->key));
	v->stamp = calloc(n, sizeof(*v->stamp));
	v->where = calloc(n, sizeof(*v->where));
	v->cls = malloc(n);
	v->uses = calloc(n, 1);
	v->hint = calloc(n, 1);
	v->up = malloc(n * sizeof(*v->up));
	v->down = malloc(n * sizeof(*v->down));
	v->res = calloc(n, sizeof(*v->res));
	if (!v->key || !v->stamp || !v->where || !v->cls || !v->uses || !v->hint || !v->up ||
	    !v->down || !v->res ||
	    (v->compact ? tagghost_init(&v->tghost, sp->ghost_x4 * cap / 4 + 1)
			: keyring_init(&v->ghost, SV_SPAN * cap + 1)) < 0 ||
	    keyring_init_sized(&v->shadow, shadow < 1024 ? 1024 : shadow, v->compact) < 0) {
		survival_destroy(v);
		return -ENOMEM;
	}
	v->ages = sv_ages(v);
	v->reuse = calloc(SV_CLASSES * v->ages, sizeof(*v->reuse));
	v->dead = calloc(SV_CLASSES * v->ages, sizeof(*v->dead));
	v->index = calloc(SV_CLASSES * v->ages, sizeof(*v->index));
	if (!v->reuse || !v->dead || !v->index) {
		survival_destroy(v);
		return -ENOMEM;
	}
	memset(v->cls, SV_OUT, n);
	v->decay = 1.0 - (double)SV_FIT_PERIOD * 0.69 /
			     ((double)v->shadow.size * (double)(1u << v->shift));
	if (v->decay < 0.5)
		v->decay = 0.5;
	/* before any evidence: every block alike, the older request first (LRU) */
	for (unsigned c = 0; c < SV_CLASSES; c++)
		for (unsigned b = 0; b < v->ages; b++)
			v->index[c * v->ages + b] = 1.0f;
	v->rng = 0x9e3779b97f4a7c15ULL;
	v->depth_req = UINT32_MAX;
	*ret = v;
	return 0;
}

static int survival_create(const struct tier_policy_params *p, void **ret)
{
	static const struct survival_params sp = {.sample_shift = SV_SAMPLE_SHIFT};

	return survival_new(p, &sp, ret);
}

static void survival_insert(void *st, uint32_t s, const struct tier_access *a)
{
	struct survival *v = st;
	int64_t gi;

	if (s >= v->max_slots || v->cls[s] != SV_OUT)
		return;
	sv_tick(v, a);
	if (v->compact) {
		uint8_t u;

		v->uses[s] = tagghost_take(&v->tghost, a->key, &u) ? (u < 255 ? u + 1 : 255) : 0;
	} else if ((gi = keyring_find(&v->ghost, a->key)) >= 0) {
		/* evicted, and back: it keeps its use count */
		v->ghost.fp[gi] = 0;
		v->uses[s] = v->ghost.uses[gi] < 255 ? v->ghost.uses[gi] + 1 : 255;
	} else {
		v->uses[s] = 0;
	}
	if (!v->uses[s] && !(a->flags & TIER_ACC_PARTIAL) && v->depth_req != v->req) {
		/*
		 * The request's first new full block: its parent is the deepest
		 * block the request re-read (cached, or back from the ghost).
		 */
		v->depth_req = v->req;
		v->run_pos = a->pos;
		v->depth = a->parent < v->max_slots && v->cls[a->parent] != SV_OUT
				   ? 1u + v->uses[a->parent] : 0;
	}
	v->key[s] = a->key;
	v->down[s] = TIER_SLOT_NONE;
	v->up[s] = TIER_SLOT_NONE; /* the slot's last block's link is not this one's */
	if (v->kids)
		v->kids[s] = 0;
	sv_link(v, s, a);
	v->stamp[s] = v->req;
	v->cls[s] = (uint8_t)sv_class(a->flags & TIER_ACC_PARTIAL, v->uses[s], v->depth,
				       a->pos > v->run_pos ? a->pos - v->run_pos : 0);
	sv_set_hint(v, s, a->hint);
	v->where[s] = v->n_res;
	v->res[v->n_res++] = s;
	shadow_access(v, s);
}

static void survival_access(void *st, uint32_t s, const struct tier_access *a)
{
	struct survival *v = st;

	if (s >= v->max_slots || v->cls[s] == SV_OUT)
		return;
	sv_tick(v, a);
	if (v->stamp[s] != v->req && v->uses[s] < 255)
		v->uses[s]++;
	v->stamp[s] = v->req;
	v->cls[s] = (uint8_t)sv_class(a->flags & TIER_ACC_PARTIAL, v->uses[s], 0, 0);
	if (a->hint)
		sv_set_hint(v, s, a->hint);
	sv_link(v, s, a);
	shadow_access(v, s);
}

static void survival_remove(void *st, uint32_t s)
{
	struct survival *v = st;
	struct keyring_entry e, old;
	uint32_t last;

	if (s >= v->max_slots || v->cls[s] == SV_OUT)
		return;
	e = (struct keyring_entry){v->key[s], v->stamp[s], v->cls[s], v->uses[s]};
	if (v->kids) {
		uint32_t p = v->up[s];

		if (p < v->max_slots && v->cls[p] != SV_OUT && v->kids[p] && v->kids[p] < 255)
			v->kids[p]--;
	}
	last = v->res[--v->n_res];
	v->res[v->where[s]] = last;
	v->where[last] = v->where[s];
	if (v->compact)
		tagghost_put(&v->tghost, e.fp, e.uses);
	else
		keyring_put(&v->ghost, &e, &old);
	v->cls[s] = SV_OUT;
}

static void survival_hint(void *st, uint32_t s, int32_t prio)
{
	struct survival *v = st;

	if (s < v->max_slots)
		sv_set_hint(v, s, prio);
}

double survival_value(const void *st, uint8_t cls, uint32_t stamp)
{
	const struct survival *v = st;

	return v->index[(cls < SV_CLASSES ? cls : 0) * v->ages + sv_age(v, v->now - stamp)];
}

bool survival_block(const void *st, uint32_t s, struct survival_block *ret)
{
	const struct survival *v = st;

	if (s >= v->max_slots || v->cls[s] == SV_OUT)
		return false;
	*ret = (struct survival_block){.key = v->key[s], .up = v->up[s], .stamp = v->stamp[s],
				       .cls = v->cls[s]};
	return true;
}

/* Per slot 27 + 4 resident; the shadow's ring and the ghost: key rings or the compact ones. */
double survival_bytes_per_block(const struct survival_params *sp)
{
	double ghost = sp->ghost_x4 ? 4.0 * sp->ghost_x4 / 4 : 22.0 * SV_SPAN;
	double entry = sp->ghost_x4 ? 16.0 : 22.0; /* the shadow's: compact with the ghost */

	return 27 + 4 + (sp->leaves ? 1 : 0) + ghost + entry * SV_SPAN / (double)(1u << sp->sample_shift);
}

static double sv_score(const struct survival *v, uint32_t s)
{
	double p = survival_value(v, v->cls[s], v->stamp[s]);
	int8_t h = v->hint[s];

	if (h > 0)
		p *= 1 + h;
	else if (h < 0)
		p /= 1 - h;
	return p;
}

static uint32_t sv_rand(struct survival *v)
{
	v->rng ^= v->rng << 13;
	v->rng ^= v->rng >> 7;
	v->rng ^= v->rng << 17;
	return (uint32_t)(v->rng >> 32);
}

static uint32_t survival_pick_victim(void *st, tier_evictable_fn evictable, void *arg)
{
	struct survival *v = st;
	bool all = v->n_res <= SV_PICK;
	uint32_t best = TIER_SLOT_NONE, leaf = TIER_SLOT_NONE, tries = all ? v->n_res : SV_PICK;
	double best_p = 0, leaf_p = 0;

	for (uint32_t i = 0; i < tries; i++) {
		uint32_t s = all ? v->res[i] : v->res[sv_rand(v) % v->n_res];
		double p;

		if (evictable && !evictable(arg, s))
			continue;
		p = sv_score(v, s);
		if (best == TIER_SLOT_NONE || p < best_p ||
		    (p == best_p && (int32_t)(v->stamp[s] - v->stamp[best]) < 0)) {
			best = s;
			best_p = p;
		}
		if (v->kids && !v->kids[s] &&
		    (leaf == TIER_SLOT_NONE || p < leaf_p ||
		     (p == leaf_p && (int32_t)(v->stamp[s] - v->stamp[leaf]) < 0))) {
			leaf = s;
			leaf_p = p;
		}
	}
	/* every sample pinned: the first evictable block, if any */
	for (uint32_t i = 0; best == TIER_SLOT_NONE && !all && i < v->n_res; i++)
		if (!evictable || evictable(arg, v->res[i]))
			best = v->res[i];
	/*
	 * A prefix lookup stops at the first missing block, so the chain goes
	 * from its tail: down the last child links to the deepest block still
	 * cached (and evictable) below the one chosen.
	 */
	for (uint32_t i = 0; best != TIER_SLOT_NONE && i < SV_WALK; i++) {
		uint32_t c = v->down[best];

		if (c >= v->max_slots || v->cls[c] == SV_OUT || v->up[c] != best ||
		    (evictable && !evictable(arg, c)))
			break;
		best = c;
	}
	/*
	 * Still above cached children (its last-child link went stale): a
	 * leaf instead, when the sample had one (survival_params.leaves).
	 */
	if (v->kids && best != TIER_SLOT_NONE && v->kids[best] && leaf != TIER_SLOT_NONE)
		best = leaf;
	return best;
}

const struct tier_evict_ops tier_evict_survival = {
	.name = "survival",
	.summary = "fewest reuses per unit of time held, per use count, run position and request age, learned from an unbiased sample of keys (Kaplan-Meier); sampled eviction, a chain from its tail",
	.create = survival_create,
	.destroy = survival_destroy,
	.insert = survival_insert,
	.access = survival_access,
	.remove = survival_remove,
	.pick_victim = survival_pick_victim,
	.hint = survival_hint,
	.bytes_per_block = 27 + 4 + 22 * SV_SPAN + 22 * (SV_SPAN >> SV_SAMPLE_SHIFT),
};
