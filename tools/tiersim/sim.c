/* SPDX-License-Identifier: MIT */
/*
 * Replay core of tiersim.  A trace's dense block index is used directly as
 * the policy slot, so the policy sees exactly the slot discipline of the
 * daemon (dense indices below max_slots) without an index in between.
 *
 * What a policy is told is limited to what the daemon knows when the access
 * happens: the key and its parent's key, whether the parent is cached, the
 * block's position in the request and the request's length (a lookup carries
 * all the request's keys), how many leading blocks hit, whether the block is
 * the prompt's partial last block (the token count is known at save time),
 * and a logical clock.  Nothing from the future: Belady alone looks ahead.
 * In prefix mode a request is what an engine makes of it: its leading cached
 * blocks are hits, the rest are computed and saved (sim.h).
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "sim.h"

uint32_t sim_capacity(const struct trace *t, double frac)
{
	double c = round(frac * (double)t->n_unique);

	if (c < 1)
		return 1;
	if (c > UINT32_MAX - 1)
		return UINT32_MAX - 1;
	return (uint32_t)c;
}

double sim_infinite_hit_ratio(const struct trace *t)
{
	if (!t->n_acc)
		return 0;
	return 1.0 - (double)t->n_unique / (double)t->n_acc;
}

/* A fingerprint like the daemon's: a 64-bit hash of the key, never 0. */
static uint64_t sim_fingerprint(uint64_t id)
{
	uint64_t x = id + 0x9e3779b97f4a7c15ULL;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x ? x : 1;
}

/* The replay pins nothing, so every resident block may be evicted. */
static bool sim_evictable(void *arg, uint32_t slot)
{
	(void)arg;
	(void)slot;
	return true;
}

static void sim_finish(const struct trace *t, struct sim_result *r)
{
	r->accesses = t->n_acc;
	r->hit_ratio = t->n_acc ? (double)r->hits / (double)t->n_acc : 0;
}

int sim_run(const struct trace *t, const struct sim_config *c, struct sim_result *ret)
{
	const struct tier_evict_ops *ev = c->evict;
	const struct tier_admit_ops *ad = c->admit;
	struct tier_policy_params p = {
		.max_slots = t->n_unique ? (uint32_t)t->n_unique : 1,
		.capacity = c->capacity,
	};
	uint32_t bt = c->block_tokens ? c->block_tokens : SIM_DEFAULT_BLOCK_TOKENS;
	struct sim_result res = {0};
	void *es = NULL, *as = NULL;
	uint64_t now = 0;
	uint32_t used = 0;
	bool *in;
	int r;

	if (!ev || !c->capacity || (ad && !ad->admit))
		return -EINVAL;
	in = calloc(p.max_slots, sizeof(*in));
	if (!in)
		return -ENOMEM;
	r = ev->create(&p, &es);
	if (r < 0)
		goto out;
	if (ad && ad->create) {
		r = ad->create(&p, &as);
		if (r < 0)
			goto out;
	}

	for (size_t q = 0; q < t->n_req; q++) {
		const struct trace_req *rq = &t->req[q];
		bool prefix = true;
		uint32_t ph = 0;
		bool partial_last = rq->input_length && (uint64_t)rq->input_length < (uint64_t)rq->n * bt;

		for (uint32_t i = 0; i < rq->n; i++) {
			size_t k = rq->first + i;
			uint32_t b = t->block[k];
			struct tier_access a = {
				.key = sim_fingerprint(t->ids[k]),
				.parent_key = i ? sim_fingerprint(t->ids[k - 1]) : 0,
				.parent = (i && in[t->block[k - 1]]) ? t->block[k - 1] : TIER_SLOT_NONE,
				.pos = i,
				.req_len = rq->n,
				.prefix_hits = ph,
				.now = ++now,
				.flags = TIER_ACC_LOOKUP,
			};

			if (partial_last && i == rq->n - 1)
				a.flags |= TIER_ACC_PARTIAL;
			if (in[b] && c->prefix_mode && !prefix) {
				/*
				 * Cached, but the lookup stopped before it: of no use
				 * to this request, and its save finds it there.
				 */
				res.stranded++;
				continue;
			}
			if (ad && ad->access)
				ad->access(as, &a);
			if (in[b]) {
				res.hits++;
				if (prefix)
					ph++;
				ev->access(es, b, &a);
				continue;
			}
			prefix = false;
			a.flags = (a.flags & ~(uint32_t)TIER_ACC_LOOKUP) | TIER_ACC_WRITE;
			if (ad && !ad->admit(as, &a)) {
				res.rejected++;
				continue;
			}
			while (used >= c->capacity) {
				uint32_t v = ev->pick_victim(es, sim_evictable, NULL);

				if (v == TIER_SLOT_NONE || v >= p.max_slots || !in[v])
					break;
				ev->remove(es, v);
				in[v] = false;
				used--;
				res.evictions++;
			}
			if (used >= c->capacity) {
				/* the policy gave no valid victim: a bug, but not ours to crash on */
				res.rejected++;
				continue;
			}
			ev->insert(es, b, &a);
			in[b] = true;
			used++;
			res.inserts++;
		}
	}
	sim_finish(t, &res);
	*ret = res;
	r = 0;
out:
	if (es)
		ev->destroy(es);
	if (as && ad->destroy)
		ad->destroy(as);
	free(in);
	return r;
}

/* ---- Belady: an indexed max-heap of resident blocks keyed by next use ---- */

#define NEVER UINT32_MAX

struct bheap {
	uint32_t *heap; /* blocks */
	uint32_t *pos;  /* block -> index in heap, NEVER when not resident */
	uint32_t *key;  /* block -> next use (access index) */
	uint32_t n;
};

static void bheap_swap(struct bheap *h, uint32_t i, uint32_t j)
{
	uint32_t a = h->heap[i], b = h->heap[j];

	h->heap[i] = b;
	h->heap[j] = a;
	h->pos[b] = i;
	h->pos[a] = j;
}

static void bheap_up(struct bheap *h, uint32_t i)
{
	while (i > 0) {
		uint32_t p = (i - 1) / 2;

		if (h->key[h->heap[p]] >= h->key[h->heap[i]])
			break;
		bheap_swap(h, i, p);
		i = p;
	}
}

static void bheap_down(struct bheap *h, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < h->n && h->key[h->heap[l]] > h->key[h->heap[m]])
			m = l;
		if (r < h->n && h->key[h->heap[r]] > h->key[h->heap[m]])
			m = r;
		if (m == i)
			return;
		bheap_swap(h, i, m);
		i = m;
	}
}

static void bheap_remove(struct bheap *h, uint32_t b)
{
	uint32_t i = h->pos[b], moved;

	h->pos[b] = NEVER;
	if (i == --h->n)
		return;
	moved = h->heap[h->n];
	h->heap[i] = moved;
	h->pos[moved] = i;
	bheap_up(h, i);
	bheap_down(h, h->pos[moved]);
}

static void bheap_push(struct bheap *h, uint32_t b, uint32_t next)
{
	h->key[b] = next;
	h->heap[h->n] = b;
	h->pos[b] = h->n;
	bheap_up(h, h->n++);
}

int sim_belady(const struct trace *t, uint32_t capacity, struct sim_result *ret)
{
	struct sim_result res = {0};
	size_t nb = t->n_unique ? t->n_unique : 1;
	uint32_t *next = malloc((t->n_acc ? t->n_acc : 1) * sizeof(*next));
	uint32_t *last = malloc(nb * sizeof(*last));
	struct bheap h = {
		.heap = malloc(((size_t)capacity + 1) * sizeof(uint32_t)),
		.pos = malloc(nb * sizeof(uint32_t)),
		.key = malloc(nb * sizeof(uint32_t)),
	};
	int r = -ENOMEM;

	if (!capacity) {
		r = -EINVAL;
		goto out;
	}
	if (!next || !last || !h.heap || !h.pos || !h.key)
		goto out;
	for (size_t b = 0; b < nb; b++)
		last[b] = h.pos[b] = NEVER;
	for (size_t i = t->n_acc; i-- > 0;) {
		next[i] = last[t->block[i]];
		last[t->block[i]] = (uint32_t)i;
	}
	for (size_t i = 0; i < t->n_acc; i++) {
		uint32_t b = t->block[i];

		if (h.pos[b] != NEVER) {
			res.hits++;
			if (next[i] == NEVER) {
				/* dead: drop it now, its room is worth more to others */
				bheap_remove(&h, b);
				res.evictions++;
				continue;
			}
			h.key[b] = next[i];
			bheap_up(&h, h.pos[b]); /* next use only grows: moves toward the root */
			continue;
		}
		if (next[i] == NEVER) {
			res.rejected++;
			continue;
		}
		if (h.n >= capacity) {
			uint32_t top = h.heap[0];

			if (h.key[top] <= next[i]) {
				res.rejected++;
				continue;
			}
			bheap_remove(&h, top);
			res.evictions++;
		}
		bheap_push(&h, b, next[i]);
		res.inserts++;
	}
	sim_finish(t, &res);
	*ret = res;
	r = 0;
out:
	free(next);
	free(last);
	free(h.heap);
	free(h.pos);
	free(h.key);
	return r;
}
