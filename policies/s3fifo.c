/* SPDX-License-Identifier: MIT */
/*
 * S3-FIFO (Yang et al., SOSP'23): a small FIFO S (10% of the capacity) that
 * filters one-hit wonders, a main FIFO M with reinsertion, and a ghost G of
 * keys recently dropped from S (as many as M holds).  A new block enters S,
 * or M when its key is in G.  Evicting from S: a block hit while in S moves
 * to M (we use one hit, not two: KV chains are typically re-read once per
 * conversation turn), else it is the victim and its key goes to G.  Evicting
 * from M: a block with hits left is reinserted with one hit less.  A block
 * the caller cannot evict is rotated to the head of its queue.
 * Per block: links 8, key 8, freq 1, queue 1 = 18 bytes, plus the ghost
 * (2 x 16 bytes per remembered key).
 */
#include <errno.h>
#include <stdlib.h>

#include "sketch.h"
#include "slist.h"

enum { Q_NONE, Q_SMALL, Q_MAIN };

struct s3fifo {
	struct slinks k;
	struct slist s, m;
	uint64_t *key;
	uint8_t *freq, *q;
	struct ghost g;
	uint32_t small_cap;
};

static void s3fifo_destroy(void *st)
{
	struct s3fifo *f = st;

	if (!f)
		return;
	slinks_deinit(&f->k);
	free(f->key);
	free(f->freq);
	free(f->q);
	ghost_deinit(&f->g);
	free(f);
}

static int s3fifo_create(const struct tier_policy_params *p, void **ret)
{
	struct s3fifo *f = calloc(1, sizeof(*f));
	size_t n = p->max_slots ? p->max_slots : 1;
	uint32_t cap = p->capacity ? p->capacity : p->max_slots;

	if (!f)
		return -ENOMEM;
	if (slinks_init(&f->k, p->max_slots) < 0) {
		free(f);
		return -ENOMEM;
	}
	f->key = calloc(n, sizeof(*f->key));
	f->freq = calloc(n, 1);
	f->q = calloc(n, 1);
	if (!f->key || !f->freq || !f->q || ghost_init(&f->g, cap - cap / 10 + 1) < 0) {
		s3fifo_destroy(f);
		return -ENOMEM;
	}
	slist_init(&f->s);
	slist_init(&f->m);
	f->small_cap = cap / 10 ? cap / 10 : 1;
	*ret = f;
	return 0;
}

static void s3fifo_insert(void *st, uint32_t slot, const struct tier_access *a)
{
	struct s3fifo *f = st;

	f->key[slot] = a->key;
	f->freq[slot] = 0;
	if (ghost_take(&f->g, a->key)) {
		f->q[slot] = Q_MAIN;
		slist_push_head(&f->m, &f->k, slot);
	} else {
		f->q[slot] = Q_SMALL;
		slist_push_head(&f->s, &f->k, slot);
	}
}

static void s3fifo_access(void *st, uint32_t slot, const struct tier_access *a)
{
	struct s3fifo *f = st;

	(void)a;
	if (f->freq[slot] < 3)
		f->freq[slot]++;
}

static void s3fifo_remove(void *st, uint32_t slot)
{
	struct s3fifo *f = st;

	if (f->q[slot] == Q_SMALL) {
		slist_unlink(&f->s, &f->k, slot);
		ghost_add(&f->g, f->key[slot]);
	} else {
		slist_unlink(&f->m, &f->k, slot);
	}
	f->q[slot] = Q_NONE;
}

static uint32_t s3fifo_pick_victim(void *st, tier_evictable_fn evictable, void *arg)
{
	struct s3fifo *f = st;
	uint64_t budget = 8ull * (f->s.n + f->m.n) + 8;

	while (budget-- && f->s.n + f->m.n) {
		if (f->s.n && (f->s.n >= f->small_cap || !f->m.n)) {
			uint32_t x = f->s.tail;

			if (evictable && !evictable(arg, x)) {
				slist_unlink(&f->s, &f->k, x);
				slist_push_head(&f->s, &f->k, x);
			} else if (f->freq[x]) {
				slist_unlink(&f->s, &f->k, x);
				f->freq[x] = 0;
				f->q[x] = Q_MAIN;
				slist_push_head(&f->m, &f->k, x);
			} else {
				return x;
			}
		} else {
			uint32_t x = f->m.tail;
			bool ok = !evictable || evictable(arg, x);

			if (ok && !f->freq[x])
				return x;
			if (ok)
				f->freq[x]--;
			slist_unlink(&f->m, &f->k, x);
			slist_push_head(&f->m, &f->k, x);
		}
	}
	return TIER_SLOT_NONE;
}

const struct tier_evict_ops tier_evict_s3fifo = {
	.name = "s3fifo",
	.summary = "S3-FIFO: small probationary FIFO, main FIFO with reinsertion, ghost of keys",
	.create = s3fifo_create,
	.destroy = s3fifo_destroy,
	.insert = s3fifo_insert,
	.access = s3fifo_access,
	.remove = s3fifo_remove,
	.pick_victim = s3fifo_pick_victim,
	.bytes_per_block = 2 * sizeof(uint32_t) + sizeof(uint64_t) + 2 + 32,
};
