/* SPDX-License-Identifier: MIT */
/*
 * duel: survival where it wins, LRU where it does not, decided by watching
 * both on a sample of the workload itself (set dueling).
 *
 * survival ranks well on the workloads its classes fit and can lose badly
 * where they do not (documents re-read by many one-off questions: at 1% of
 * the blocks, as an engine looks up, below LRU by three quarters of its
 * hits).  duel keeps two complete orders over the same resident blocks, an
 * exact LRU list and a survival instance (sized to fit: a compact ghost, a
 * thinner shadow sample, leaves before the blocks above them), and evicts
 * with the one that is winning.  Which one is winning is measured: two
 * miniature caches (Waldspurger et al.'s miniature simulations, ATC'17)
 * follow the same sample of keys, 1 in 2^shift by key bits, with 1/2^shift
 * of the capacity each; one evicts by LRU, the other by survival's own
 * index (its learned table, for the classes and ages survival gives the
 * same blocks) and from a chain's tail.  A cache of 1/2^shift of the
 * blocks over 1/2^shift of the keys sees the same reuse distances, scaled,
 * so each miniature's hit ratio estimates its policy's at full size.
 *
 * Both count hits as the caller does: as an engine looks up (a hit counts
 * only while the request has not missed in that miniature), unless the
 * caller is seen to count hits past a request's first miss (tiersim's
 * block mode), then every hit.  And both see the whole request: blocks the
 * caller does not report because its lookup stopped before them (cached,
 * past the first miss) are found through the chain links (du_reveal), or
 * the miniatures would see less of the workload the more the cache
 * strands, and judge the policy that strands more by a kinder sample.
 *
 * The choice: survival unless, over either window (DU_WINDOW and DU_LONG
 * miniature capacities of sampled accesses, counts halving at the end of
 * each), LRU's miniature is ahead by more than DU_TOLERANCE of hit ratio.
 * docs/POLICIES.md argues the bound this gives and measures it.
 *
 * Cost per block of capacity: LRU 8; survival 32 a slot (its 31 and the
 * children count), its compact ghost (3.5 capacities of keys, 4 bytes each:
 * 14), its shadow (1 key in 64 followed for 16 capacities, more keys below
 * 16,384 blocks: a quarter of a compact key ring entry, a 4-byte tag of the
 * key, stamp, class and an exact index, 16 bytes: 4); the two miniatures
 * over 2^shift, LRU's 21 bytes an entry, survival's 30 (shift 6 from 8192
 * blocks up: under 1).
 * Fixed: survival's tables (29 classes x 12 bytes an age bucket, as many
 * buckets as its shadow reaches: 42 at 1,828 blocks, 14 KB) and a shadow of
 * at least 1024 entries.  tiersim --memory counts every allocation: 59.5
 * bytes a block at a million blocks, 61.6 at 9,140, 86.6 at 1,828 (what
 * fits 64 there costs hit ratio: docs/POLICIES.md).  Hooks O(1) plus, for
 * a block saved after unreported ones, one step per block revealed (at
 * most DU_WALK); a miniature's LRU eviction scans it (1/2^shift of the
 * capacity, on 1/2^shift of the misses).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "duel.h"
#include "keyring.h"
#include "policy.h"
#include "survival.h"

#define DU_SHIFT_MAX 6   /* miniatures follow 1 key in 64 at most */
#define DU_MINI_MIN 128u /* and hold at least this many blocks, or follow more keys */
#define DU_PICK 64u      /* candidates a miniature's survival eviction samples */
#define DU_WALK 256u     /* child links it follows to a chain's tail */
#define DU_WINDOW 32u    /* hit counts halve every DU_WINDOW miniature capacities of accesses */
#define DU_LONG 1024u    /* the long window, likewise */
#define DU_TOLERANCE 0.001 /* LRU's lead, in hit ratio, that makes the cache follow LRU */
#define DU_SHADOW_SHIFT_MIN 3 /* survival's own: 1 key in 8 */
#define DU_NONE UINT32_MAX

/* survival as duel sizes it: 1 key in 64 followed, a compact ghost of 3.5 capacities */
static const struct survival_params du_survival = {.sample_shift = 6, .ghost_x4 = 14, .leaves = true};

/* Each keeps only what its eviction reads: last (LRU's), or stamp, cls and the links. */
struct mini {
	uint64_t *fp;
	uint32_t *last;  /* logical time of the last access: LRU's order (LRU's only) */
	uint32_t *stamp; /* start of the last request that touched it: survival's age */
	uint8_t *cls;
	uint32_t *up, *down; /* the chain's links (survival's only, like stamp and cls) */
	uint32_t *tab;   /* open addressing by fp: entry + 1, 0 = empty */
	uint32_t tmask, cap, n;
	bool learned;
	uint32_t req;    /* the request being looked up, */
	uint32_t prev;   /* its last sampled block here, */
	bool missed;     /* and whether it missed here already */
	double hits[2];  /* counted over each window (DU_WINDOW, DU_LONG) */
};

struct duel {
	void *lru, *sv;
	struct mini mini[2]; /* [0] LRU, [1] survival */
	uint64_t smask;      /* a key is sampled when (key & smask) == 0 */
	double acc[2];       /* sampled accesses, counted and halved as the hits are */
	uint32_t events[2], window[2];
	uint32_t req, next_pos; /* the request the caller reports, the position it reports next */          /* sampled accesses, counted and halved as the hits are */
	bool block_caller;   /* the caller counts hits past a request's first miss */
	bool learned;        /* evicting by survival's choice */
	uint64_t rng;
	uint64_t switches;
};

static uint32_t mini_home(const struct mini *m, uint64_t fp)
{
	return (uint32_t)keyring_hash(fp) & m->tmask;
}

/* The table position of fp, or of the empty place where it would go. */
static uint32_t mini_find(const struct mini *m, uint64_t fp)
{
	uint32_t i = mini_home(m, fp);

	while (m->tab[i] && m->fp[m->tab[i] - 1] != fp)
		i = (i + 1) & m->tmask;
	return i;
}

/* Entry e leaves: backward-shift deletion in the table, the last entry moves into e. */
static void mini_delete(struct mini *m, uint32_t e)
{
	uint32_t i = mini_find(m, m->fp[e]), j = i, last = m->n - 1;

	m->tab[i] = 0;
	for (;;) {
		uint32_t k;

		j = (j + 1) & m->tmask;
		if (!m->tab[j])
			break;
		k = mini_home(m, m->fp[m->tab[j] - 1]);
		/* the entry at j may move to i when its home is not cyclically in (i, j] */
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			m->tab[i] = m->tab[j];
			m->tab[j] = 0;
			i = j;
		}
	}
	if (m->prev == e)
		m->prev = DU_NONE;
	if (e != last) {
		m->tab[mini_find(m, m->fp[last])] = e + 1;
		m->fp[e] = m->fp[last];
		if (!m->learned) {
			m->last[e] = m->last[last];
		} else {
			m->stamp[e] = m->stamp[last];
			m->cls[e] = m->cls[last];
			m->up[e] = m->up[last];
			m->down[e] = m->down[last];
			if (m->up[e] < last && m->down[m->up[e]] == last)
				m->down[m->up[e]] = e;
			if (m->down[e] < last && m->up[m->down[e]] == last)
				m->up[m->down[e]] = e;
		}
		if (m->prev == last)
			m->prev = e;
	}
	m->n--;
}

static uint32_t du_rand(struct duel *d)
{
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return (uint32_t)(d->rng >> 32);
}

/* The miniature's victim: LRU's oldest, or survival's lowest index, then its chain's tail. */
static uint32_t mini_victim(struct duel *d, struct mini *m)
{
	uint32_t best = 0;

	if (!m->learned) {
		for (uint32_t e = 1; e < m->n; e++)
			if ((int32_t)(m->last[e] - m->last[best]) < 0)
				best = e;
		return best;
	}
	{
		bool all = m->n <= DU_PICK;
		uint32_t tries = all ? m->n : DU_PICK;
		double best_v = 0;

		for (uint32_t i = 0; i < tries; i++) {
			uint32_t e = all ? i : du_rand(d) % m->n;
			double v = survival_value(d->sv, m->cls[e], m->stamp[e]);

			if (!i || v < best_v ||
			    (v == best_v && (int32_t)(m->stamp[e] - m->stamp[best]) < 0)) {
				best = e;
				best_v = v;
			}
		}
	}
	for (uint32_t i = 0; i < DU_WALK; i++) {
		uint32_t c = m->down[best];

		if (c >= m->n || m->up[c] != best)
			break;
		best = c;
	}
	return best;
}

/*
 * A sampled block of the request starting at req was looked up at time now
 * (a hit in the cache), saved (a miss there), or found stranded (du_reveal).
 */
static void mini_access(struct duel *d, struct mini *m, uint64_t key, uint32_t req, uint32_t now,
			uint8_t cls, uint32_t stamp)
{
	uint32_t i = mini_find(m, key), e;

	if (req != m->req) {
		m->req = req;
		m->missed = false;
		m->prev = DU_NONE;
	}
	if (m->tab[i]) {
		e = m->tab[i] - 1;
		if (!m->missed || d->block_caller) {
			m->hits[0] += 1;
			m->hits[1] += 1;
		}
	} else {
		m->missed = true;
		if (m->n >= m->cap) {
			mini_delete(m, mini_victim(d, m));
			i = mini_find(m, key);
		}
		e = m->n++;
		m->tab[i] = e + 1;
		m->fp[e] = key;
		if (m->learned)
			m->up[e] = m->down[e] = DU_NONE;
	}
	if (!m->learned) {
		m->last[e] = now;
	} else {
		m->stamp[e] = stamp;
		m->cls[e] = cls;
	}
	if (m->learned && m->prev < m->n && m->prev != e) {
		m->up[e] = m->prev;
		m->down[m->prev] = e;
	}
	m->prev = e;
}

/* A block of the request: to both miniatures when sampled, then who is winning. */
static void du_sample(struct duel *d, uint64_t key, uint32_t req, uint32_t now,
		      const struct survival_block *b)
{
	bool learned;

	if (key & d->smask)
		return;
	mini_access(d, &d->mini[0], key, req, now, b->cls, b->stamp);
	mini_access(d, &d->mini[1], key, req, now, b->cls, b->stamp);
	for (unsigned w = 0; w < 2; w++) {
		d->acc[w] += 1;
		if (++d->events[w] >= d->window[w]) {
			d->events[w] = 0;
			d->mini[0].hits[w] /= 2;
			d->mini[1].hits[w] /= 2;
			d->acc[w] /= 2;
		}
	}
	/*
	 * survival while neither window has LRU ahead by more than
	 * DU_TOLERANCE of hit ratio: a difference the miniatures cannot resolve
	 * is no evidence against the better-ranked policy, and the long window
	 * keeps short spells of luck from paying for a switch.
	 */
	learned = true;
	for (unsigned w = 0; w < 2; w++)
		if (d->mini[1].hits[w] - d->mini[0].hits[w] <= -DU_TOLERANCE * d->acc[w])
			learned = false;
	if (learned != d->learned) {
		d->learned = learned;
		d->switches++;
	}
}

/*
 * Blocks of this request the caller did not report: cached, but past the
 * request's first miss, so an engine's lookup never reached them (they are
 * saved again and found there).  The miniatures must see them, or what
 * they see depends on what the cache holds: a cache that strands more
 * hides more of the workload from them.  A block saved at pos whose parent
 * is cached, right after a run of unreported positions, names that run:
 * its parent, the parent's parent and so on, as many as the positions
 * missing.  Reported in order, before the block itself.
 */
static void du_reveal(struct duel *d, uint32_t req, const struct tier_access *a)
{
	uint32_t run[DU_WALK], k, s = a->parent;
	struct survival_block b;

	if (req != d->req) {
		d->req = req;
		d->next_pos = 0;
	}
	k = a->pos > d->next_pos ? a->pos - d->next_pos : 0;
	d->next_pos = a->pos + 1;
	if (!k || k > DU_WALK)
		return;
	for (uint32_t i = 0; i < k; i++) {
		if (!survival_block(d->sv, s, &b) || b.stamp == req)
			return; /* not a run of cached blocks after all: a stale link */
		run[i] = s;
		s = b.up;
	}
	for (uint32_t i = k; i-- > 0;) {
		survival_block(d->sv, run[i], &b);
		du_sample(d, b.key, req, (uint32_t)a->now, &b);
	}
}

/* After the cache's own hooks. */
static void du_observe(struct duel *d, uint32_t slot, const struct tier_access *a)
{
	uint32_t req = (uint32_t)(a->now - a->pos);
	struct survival_block b;

	du_reveal(d, req, a);
	if (survival_block(d->sv, slot, &b))
		du_sample(d, a->key, req, (uint32_t)a->now, &b);
}

static void mini_deinit(struct mini *m)
{
	free(m->fp);
	free(m->last);
	free(m->stamp);
	free(m->cls);
	free(m->up);
	free(m->down);
	free(m->tab);
}

static int mini_init(struct mini *m, uint32_t cap, bool learned)
{
	uint32_t t = 16;

	while (t < 2 * cap)
		t *= 2;
	m->cap = cap;
	m->tmask = t - 1;
	m->learned = learned;
	m->req = UINT32_MAX;
	m->prev = DU_NONE;
	m->fp = calloc(cap, sizeof(*m->fp));
	m->tab = calloc(t, sizeof(*m->tab));
	if (!m->fp || !m->tab)
		return -ENOMEM;
	if (!learned)
		return (m->last = calloc(cap, sizeof(*m->last))) ? 0 : -ENOMEM;
	m->stamp = calloc(cap, sizeof(*m->stamp));
	m->cls = calloc(cap, 1);
	m->up = calloc(cap, sizeof(*m->up));
	m->down = calloc(cap, sizeof(*m->down));
	return m->stamp && m->cls && m->up && m->down ? 0 : -ENOMEM;
}

static void duel_destroy(void *st)
{
	struct duel *d = st;

	if (!d)
		return;
	if (d->lru)
		tier_evict_lru.destroy(d->lru);
	if (d->sv)
		tier_evict_survival.destroy(d->sv);
	mini_deinit(&d->mini[0]);
	mini_deinit(&d->mini[1]);
	free(d);
}

static int duel_create(const struct tier_policy_params *p, void **ret)
{
	struct duel *d = calloc(1, sizeof(*d));
	uint64_t cap = p->capacity ? p->capacity : (p->max_slots ? p->max_slots : 1);
	unsigned shift = DU_SHIFT_MAX;
	uint32_t mcap;
	int r;

	if (!d)
		return -ENOMEM;
	while (shift && (cap >> shift) < DU_MINI_MIN)
		shift--;
	mcap = (uint32_t)(cap >> shift);
	if (!mcap)
		mcap = 1;
	d->smask = (1ULL << shift) - 1;
	d->window[0] = DU_WINDOW * mcap;
	d->window[1] = DU_LONG * mcap;
	d->req = UINT32_MAX;
	d->rng = 0x2545f4914f6cdd1dULL;
	r = tier_evict_lru.create(p, &d->lru);
	{
		struct survival_params sp = du_survival;

		/* a shadow of fewer than SV's 1024-entry floor follows more keys instead */
		while (sp.sample_shift > DU_SHADOW_SHIFT_MIN && ((16 * cap) >> sp.sample_shift) < 1024)
			sp.sample_shift--;
		if (r >= 0)
			r = survival_new(p, &sp, &d->sv);
	}
	if (r >= 0)
		r = mini_init(&d->mini[0], mcap, false);
	if (r >= 0)
		r = mini_init(&d->mini[1], mcap, true);
	if (r < 0) {
		duel_destroy(d);
		return r;
	}
	*ret = d;
	return 0;
}

static void duel_insert(void *st, uint32_t slot, const struct tier_access *a)
{
	struct duel *d = st;

	tier_evict_lru.insert(d->lru, slot, a);
	tier_evict_survival.insert(d->sv, slot, a);
	du_observe(d, slot, a);
}

static void duel_access(void *st, uint32_t slot, const struct tier_access *a)
{
	struct duel *d = st;

	/* a hit past the request's first miss: the caller counts those */
	if (a->pos > a->prefix_hits)
		d->block_caller = true;
	tier_evict_lru.access(d->lru, slot, a);
	tier_evict_survival.access(d->sv, slot, a);
	du_observe(d, slot, a);
}

static void duel_remove(void *st, uint32_t slot)
{
	struct duel *d = st;

	tier_evict_lru.remove(d->lru, slot);
	tier_evict_survival.remove(d->sv, slot);
}

static uint32_t duel_pick_victim(void *st, tier_evictable_fn evictable, void *arg)
{
	struct duel *d = st;

	if (d->learned)
		return tier_evict_survival.pick_victim(d->sv, evictable, arg);
	return tier_evict_lru.pick_victim(d->lru, evictable, arg);
}

static void duel_hint(void *st, uint32_t slot, int32_t prio)
{
	struct duel *d = st;

	tier_evict_survival.hint(d->sv, slot, prio);
}

bool duel_following_survival(const void *st, uint64_t *ret_switches)
{
	const struct duel *d = st;

	if (ret_switches)
		*ret_switches = d->switches;
	return d->learned;
}

const struct tier_evict_ops tier_evict_duel = {
	.name = "duel",
	.summary = "survival or LRU, whichever wins on two miniature caches of a 1-in-64 key sample (set dueling), counted as an engine looks up",
	.create = duel_create,
	.destroy = duel_destroy,
	.insert = duel_insert,
	.access = duel_access,
	.remove = duel_remove,
	.pick_victim = duel_pick_victim,
	.hint = duel_hint,
	.bytes_per_block = 60,
};
