/* SPDX-License-Identifier: MIT */
/*
 * horizon: prefix-aware eviction that evicts the block least likely to be
 * reused, judged by what became of earlier blocks of the same kind at the
 * same age.  Everything it uses is known online; nothing is tuned to a trace.
 *
 * Unit of recency: the request.  A block's age is the logical time since the
 * start of the last request that touched it, so every block of a chain that
 * a request re-reads ages together (a conversation returns as a whole).
 *
 * Kind of block (its class), from the chain structure of that last request:
 *   - the prompt's partial last block (TIER_ACC_PARTIAL): matchable only by
 *     an exact repeat of the prompt;
 *   - whether the block was re-read (a hit) or appended (a miss) by it;
 *   - k, how many leading blocks of the request hit (log buckets): only a
 *     shared system prompt, or a conversation that came back;
 *   - m, how many blocks the request appended after its hits (log buckets):
 *     a short turn on top of a conversation is typically extended again, a
 *     long new document on top of a shared prefix typically is not (later
 *     requests branch off before it);
 *   - whether the request is a conversation's first turn or a later one
 *     (turn = 1 + the turn that appended the deepest block it re-read).
 * k and m are only known at the request's first miss (or its last block),
 * so the blocks it re-read get their final class then, by walking the parent
 * links back through the request: O(k) once per request, O(1) amortised.
 *
 * What it learns, per class and per age (log scale, 2 buckets an octave):
 * reuse events (a hit, or a miss whose key is in the ghost: the hit it would
 * have been) and death events (a key that leaves the ghost unused).  The
 * ghost is a FIFO of evicted keys as long as the cache (ARC's choice), so
 * the estimate sees reuses a little beyond the ages the cache happens to
 * keep blocks for, and what it estimates is the chance of a reuse within
 * about two residence times: the reuses a cache of this size can still win.
 * (Measured: a ghost 4-8 x longer, or an infinite-horizon estimate, ranks
 * worse: they value blocks for reuses that come too late to be kept for.)
 * From these, P(reused later | class, alive at age a) = reuses at ages >= a
 * over all events at ages >= a (a Kaplan-Meier style survival estimate);
 * sparse classes lean on the all-classes curve.  Counts decay slowly, so the
 * estimate follows a drifting workload.
 *
 * Eviction: one list per class, ordered by request age, and within one
 * request deepest block toward the tail.  pick_victim looks at the oldest
 * evictable block of each list (O(classes), a constant) and takes the one of
 * lowest reuse probability.  Within a class, then, a chain is evicted from its
 * leaf toward its head: a prefix lookup cannot use a child whose parent is
 * gone, and a returning conversation re-reads its prefix first.  Engine hints
 * scale the probability (h > 0: x (1 + h); h < 0: / (1 - h)).
 *
 * Cost: 27 bytes a slot (links 8, request stamp 4, parent 4, key 8, class,
 * turn and hint 1 each) plus the ghost, 22 bytes per remembered key (key 8,
 * stamp 4, class and uses 1 each, index 8), one key per block of capacity: 49 bytes a
 * block; fixed tables of HZ_CLASSES x HZ_AGES x 20 bytes (129 KB).  Every hook is
 * O(1) amortised; pick_victim is O(HZ_CLASSES) plus non-evictable skips.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keyring.h"
#include "policy.h"
#include "slist.h"

#define HZ_AGES 64
#define HZ_B 5                             /* log buckets of k and m */
#define HZ_D 2                             /* first turn of a conversation, or a later one */
#define HZ_CLASSES (1 + 2 * HZ_B * HZ_B * HZ_D) /* partial + {appended, re-read} x k x m x turn */
#define HZ_GHOST_FACTOR 1                  /* ghost keys per block of capacity */
#define HZ_FIT_PERIOD 1024u                /* accesses between refits */
#define HZ_PRIOR 2.0                       /* weight, in events, of the all-classes curve */
#define HZ_OUT 0xff                        /* cls of a slot that is not in */

struct horizon {
	struct slinks k;
	struct slist list[HZ_CLASSES];
	uint32_t cursor[HZ_CLASSES]; /* last block the current request placed on each list */
	uint32_t *stamp;             /* slot -> start time of the last request that touched it */
	uint32_t *parent;            /* slot -> parent slot as last seen, or NONE */
	uint64_t *key;
	uint8_t *cls;
	uint8_t *turn;               /* slot -> turn of the conversation that appended it */
	int8_t *hint;
	uint32_t max_slots;
	uint32_t now, req, walked, since_fit;
	unsigned req_turn;
	double decay;
	double reuse[HZ_CLASSES][HZ_AGES], dead[HZ_CLASSES][HZ_AGES];
	float prob[HZ_CLASSES][HZ_AGES];
	struct keyring g;
};

static unsigned hz_log(uint32_t x)
{
	/* 0, 1-2, 3-6, 7-14, 15+ : floor(log2(x + 1)) capped */
	unsigned b = 31u - (unsigned)__builtin_clz(x + 1);

	return b < HZ_B ? b : HZ_B - 1;
}

static unsigned hz_class(bool partial, bool reread, uint32_t k, uint32_t m, unsigned turn)
{
	if (partial)
		return 0;
	if (turn >= HZ_D)
		turn = HZ_D - 1;
	return 1 + (((reread ? 1u : 0u) * HZ_B + hz_log(k)) * HZ_B + hz_log(m)) * HZ_D + turn;
}

/* ---- ghost: a FIFO ring of evicted keys with a set-associative index ---- */

static void hz_event(struct horizon *h, double (*t)[HZ_AGES], unsigned cls, uint32_t stamp)
{
	t[cls][policy_age_bucket(h->now - stamp)] += 1;
}

static void ghost_put(struct horizon *h, uint64_t key, uint32_t stamp, uint8_t cls)
{
	struct keyring_entry e = {key, stamp, cls, 0}, old;

	if (keyring_put(&h->g, &e, &old))
		/* it never came back while we remembered it */
		hz_event(h, h->dead, old.cls, old.stamp);
}

/* ---- the estimate ---- */

static void hz_fit(struct horizon *h)
{
	double gr[HZ_AGES] = {0}, gn[HZ_AGES] = {0}, pg[HZ_AGES];
	double sr = 0, sn = 0;

	for (unsigned c = 0; c < HZ_CLASSES; c++)
		for (unsigned b = 0; b < HZ_AGES; b++) {
			gr[b] += h->reuse[c][b];
			gn[b] += h->reuse[c][b] + h->dead[c][b];
		}
	for (unsigned b = HZ_AGES; b-- > 0;) {
		sr += gr[b];
		sn += gn[b];
		pg[b] = sn > 0 ? sr / sn : 0;
	}
	for (unsigned c = 0; c < HZ_CLASSES; c++) {
		double r = 0, n = 0;

		for (unsigned b = HZ_AGES; b-- > 0;) {
			r += h->reuse[c][b];
			n += h->reuse[c][b] + h->dead[c][b];
			h->prob[c][b] = (float)((r + HZ_PRIOR * pg[b]) / (n + HZ_PRIOR));
		}
	}
	for (unsigned c = 0; c < HZ_CLASSES; c++)
		for (unsigned b = 0; b < HZ_AGES; b++) {
			h->reuse[c][b] *= h->decay;
			h->dead[c][b] *= h->decay;
		}
}

/* ---- lists ---- */

static void slist_insert_after(struct slist *l, struct slinks *k, uint32_t at, uint32_t s)
{
	uint32_t n = k->next[at];

	k->prev[s] = at;
	k->next[s] = n;
	k->next[at] = s;
	if (n != TIER_SLOT_NONE)
		k->prev[n] = s;
	else
		l->tail = s;
	l->n++;
}

static void hz_unlink(struct horizon *h, uint32_t s)
{
	unsigned c = h->cls[s];

	if (h->cursor[c] == s)
		h->cursor[c] = h->k.prev[s];
	slist_unlink(&h->list[c], &h->k, s);
}

/*
 * Put s on its class list: the first block of a request goes to the head,
 * the next ones of the same request right behind the previous one, so a
 * request's chain lies head to leaf toward the tail.
 */
static void hz_place(struct horizon *h, uint32_t s)
{
	unsigned c = h->cls[s];
	uint32_t at = h->cursor[c];

	if (at != TIER_SLOT_NONE && h->stamp[at] == h->stamp[s])
		slist_insert_after(&h->list[c], &h->k, at, s);
	else
		slist_push_head(&h->list[c], &h->k, s);
	h->cursor[c] = s;
}

/*
 * The request's leading hits are known only now: give the blocks it re-read
 * (s and its parents back to the chain head, all touched by this request)
 * their final class.  Walking from the deepest, each goes to the head of its
 * list, so the head of the chain ends up nearest the list head.
 */
static void hz_settle(struct horizon *h, uint32_t s, const struct tier_access *a, uint32_t k,
		      uint32_t m)
{
	uint32_t steps = a->pos + 1;

	h->walked = h->req;
	/* a conversation's turn: one more than the turn that appended the deepest block hit */
	h->req_turn = 0;
	if (k >= 2 && s != TIER_SLOT_NONE && s < h->max_slots && h->cls[s] != HZ_OUT)
		h->req_turn = h->turn[s] + 1u < 255 ? h->turn[s] + 1u : 254;
	while (s != TIER_SLOT_NONE && s < h->max_slots && steps-- > 0 && h->stamp[s] == h->req &&
	       h->cls[s] != 0 && h->cls[s] != HZ_OUT) {
		hz_unlink(h, s);
		h->cls[s] = (uint8_t)hz_class(false, true, k, m, h->req_turn);
		slist_push_head(&h->list[h->cls[s]], &h->k, s);
		s = h->parent[s];
	}
}

static void hz_tick(struct horizon *h, const struct tier_access *a)
{
	uint32_t req = (uint32_t)(a->now - a->pos);

	h->now = (uint32_t)a->now;
	if (req != h->req) {
		h->req = req;
		for (unsigned c = 0; c < HZ_CLASSES; c++)
			h->cursor[c] = TIER_SLOT_NONE;
	}
	if (++h->since_fit >= HZ_FIT_PERIOD) {
		h->since_fit = 0;
		hz_fit(h);
	}
}

static void hz_set_hint(struct horizon *h, uint32_t s, int32_t v)
{
	h->hint[s] = (int8_t)(v > 100 ? 100 : v < -100 ? -100 : v);
}

/* ---- hooks ---- */

static void horizon_destroy(void *st)
{
	struct horizon *h = st;

	if (!h)
		return;
	slinks_deinit(&h->k);
	free(h->stamp);
	free(h->parent);
	free(h->key);
	free(h->cls);
	free(h->turn);
	free(h->hint);
	keyring_deinit(&h->g);
	free(h);
}

static int horizon_create(const struct tier_policy_params *p, void **ret)
{
	struct horizon *h = calloc(1, sizeof(*h));
	size_t n = p->max_slots ? p->max_slots : 1;
	uint64_t cap = p->capacity ? p->capacity : n, gs;

	if (!h)
		return -ENOMEM;
	gs = HZ_GHOST_FACTOR * cap + 1;
	h->max_slots = (uint32_t)n;
	if (slinks_init(&h->k, (uint32_t)n) < 0) {
		free(h);
		return -ENOMEM;
	}
	h->stamp = calloc(n, sizeof(*h->stamp));
	h->parent = calloc(n, sizeof(*h->parent));
	h->key = calloc(n, sizeof(*h->key));
	h->cls = malloc(n);
	h->turn = calloc(n, 1);
	h->hint = calloc(n, 1);
	if (!h->stamp || !h->parent || !h->key || !h->cls || !h->turn || !h->hint ||
	    keyring_init(&h->g, gs) < 0) {
		horizon_destroy(h);
		return -ENOMEM;
	}
	memset(h->cls, HZ_OUT, n);
	/* counts halve over ~ 4 x (capacity + ghost) accesses: slow, but they follow drift */
	h->decay = 1.0 - (double)HZ_FIT_PERIOD / (4.0 * (double)(cap + h->g.size) / 0.69);
	if (h->decay < 0.5)
		h->decay = 0.5;
	for (unsigned c = 0; c < HZ_CLASSES; c++) {
		slist_init(&h->list[c]);
		h->cursor[c] = TIER_SLOT_NONE;
		/* before any evidence: every class alike, oldest first (LRU) */
		for (unsigned b = 0; b < HZ_AGES; b++)
			h->prob[c][b] = 1.0f;
	}
	h->req = h->walked = UINT32_MAX;
	*ret = h;
	return 0;
}

static void horizon_insert(void *st, uint32_t s, const struct tier_access *a)
{
	struct horizon *h = st;
	bool partial = a->flags & TIER_ACC_PARTIAL;
	uint32_t m = a->req_len > a->prefix_hits ? a->req_len - a->prefix_hits : 0;
	int64_t gi;


	hz_tick(h, a);
	gi = keyring_find(&h->g, a->key);
	if (gi >= 0) {
		/* evicted, and back: the hit it would have been */
		hz_event(h, h->reuse, h->g.cls[gi], h->g.stamp[gi]);
		h->g.fp[gi] = 0;
	}
	if (h->walked != h->req) {
		/* the request's first miss: its leading hits are known now */
		if (a->pos == a->prefix_hits && a->pos > 0)
			hz_settle(h, a->parent, a, a->prefix_hits, m);
		else
			h->req_turn = 0;
		h->walked = h->req;
	}
	h->key[s] = a->key;
	h->stamp[s] = h->req;
	h->parent[s] = a->parent;
	h->turn[s] = (uint8_t)h->req_turn;
	h->cls[s] = (uint8_t)hz_class(partial, false, a->prefix_hits, m, h->req_turn);
	hz_set_hint(h, s, a->hint);
	hz_place(h, s);
}

static void horizon_access(void *st, uint32_t s, const struct tier_access *a)
{
	struct horizon *h = st;
	bool partial = a->flags & TIER_ACC_PARTIAL;
	bool leading = a->pos == a->prefix_hits;
	uint32_t k = a->prefix_hits + (leading ? 1 : 0);

	hz_tick(h, a);
	hz_event(h, h->reuse, h->cls[s], h->stamp[s]);
	hz_unlink(h, s);
	h->stamp[s] = h->req;
	h->parent[s] = a->parent;
	/*
	 * A leading hit: provisional class, as if the rest of the request hit
	 * too; settled at the first miss.  A hit after a miss: k and m are final.
	 */
	h->cls[s] = (uint8_t)hz_class(partial, true, leading ? k : a->prefix_hits,
				     leading ? 0 : a->req_len - a->prefix_hits,
				     leading ? 0 : h->req_turn);
	if (a->hint)
		hz_set_hint(h, s, a->hint);
	hz_place(h, s);
	if (leading && a->req_len && a->pos + 1 == a->req_len && h->walked != h->req)
		hz_settle(h, s, a, k, 0); /* every block hit: settled at the last one */
}

static void horizon_remove(void *st, uint32_t s)
{
	struct horizon *h = st;

	hz_unlink(h, s);
	ghost_put(h, h->key[s], h->stamp[s], h->cls[s]);
	h->cls[s] = HZ_OUT;
}

static void horizon_hint(void *st, uint32_t s, int32_t prio)
{
	hz_set_hint(st, s, prio);
}

static double hz_score(const struct horizon *h, uint32_t s)
{
	double p = h->prob[h->cls[s]][policy_age_bucket(h->now - h->stamp[s])];
	int8_t v = h->hint[s];

	if (v > 0)
		p *= 1 + v;
	else if (v < 0)
		p /= 1 - v;
	return p;
}

static uint32_t horizon_pick_victim(void *st, tier_evictable_fn evictable, void *arg)
{
	struct horizon *h = st;
	uint32_t best = TIER_SLOT_NONE;
	double best_p = 0;

	for (unsigned c = 0; c < HZ_CLASSES; c++) {
		uint32_t s = h->list[c].tail;
		double p;

		while (s != TIER_SLOT_NONE && evictable && !evictable(arg, s))
			s = h->k.prev[s];
		if (s == TIER_SLOT_NONE)
			continue;
		p = hz_score(h, s);
		/* ties: the older request, then the deeper block */
		if (best == TIER_SLOT_NONE || p < best_p ||
		    (p == best_p && (int32_t)(h->stamp[s] - h->stamp[best]) < 0)) {
			best = s;
			best_p = p;
		}
	}
	return best;
}

const struct tier_evict_ops tier_evict_horizon = {
	.name = "horizon",
	.summary = "prefix-aware: evicts the least likely reuse, learned per chain class and request age, ghost-corrected, leaves first",
	.create = horizon_create,
	.destroy = horizon_destroy,
	.insert = horizon_insert,
	.access = horizon_access,
	.remove = horizon_remove,
	.pick_victim = horizon_pick_victim,
	.hint = horizon_hint,
	/* slot state 27 bytes; ghost 22 bytes per key (keyring.h), HZ_GHOST_FACTOR per block of capacity */
	.bytes_per_block = 27 + HZ_GHOST_FACTOR * 22,
};
