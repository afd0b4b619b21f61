/* SPDX-License-Identifier: MIT */
/*
 * The handles a client holds (handle -> arena offset, pins), so tier_data()
 * is a local lookup that returns NULL for anything not held.  The daemon
 * checks every handle again on every use: this table is a convenience, not
 * the protection.
 */
#include <errno.h>
#include <stdlib.h>

#include "client.h"

/* ---- held-handle table: open addressing, linear probing ------------ */

static size_t held_hash(tier_handle h, size_t cap)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h & (cap - 1);
}

struct held *held_find(tier_client *c, tier_handle h)
{
	if (!c->held_cap || h == HELD_EMPTY || h == HELD_TOMB)
		return NULL;
	for (size_t i = held_hash(h, c->held_cap);; i = (i + 1) & (c->held_cap - 1)) {
		struct held *e = &c->held[i];

		if (e->h == h)
			return e;
		if (e->h == HELD_EMPTY)
			return NULL;
	}
}

/*
 * Rehash into a table with room for the live entries, dropping tombstones.
 * The size follows what is held, not how many handles were ever added: a
 * client that allocates and commits forever keeps a small table.
 */
static int held_grow(tier_client *c)
{
	size_t ncap = c->held_cap ? c->held_cap : 64, live = 0;
	struct held *old = c->held, *n;

	for (size_t i = 0; i < c->held_cap; i++)
		if (old[i].h != HELD_EMPTY && old[i].h != HELD_TOMB)
			live++;
	/* At most a quarter full afterwards, so rehashes stay amortised O(1). */
	while ((live + 1) * 4 > ncap)
		ncap *= 2;
	n = calloc(ncap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	live = 0;
	for (size_t i = 0; i < c->held_cap; i++) {
		if (old[i].h == HELD_EMPTY || old[i].h == HELD_TOMB)
			continue;
		size_t j = held_hash(old[i].h, ncap);

		while (n[j].h != HELD_EMPTY)
			j = (j + 1) & (ncap - 1);
		n[j] = old[i];
		live++;
	}
	free(old);
	c->held = n;
	c->held_cap = ncap;
	c->held_used = live;
	return 0;
}

/* Record one more hold of h at off. */
int held_add(tier_client *c, tier_handle h, uint64_t off, bool writing)
{
	struct held *e = held_find(c, h);

	if (e) {
		e->refs++;
		return 0;
	}
	if ((c->held_used + 1) * 2 > c->held_cap) {
		int r = held_grow(c);

		if (r < 0)
			return r;
	}
	for (size_t i = held_hash(h, c->held_cap);; i = (i + 1) & (c->held_cap - 1)) {
		e = &c->held[i];
		if (e->h == HELD_EMPTY || e->h == HELD_TOMB) {
			if (e->h == HELD_EMPTY)
				c->held_used++;
			*e = (struct held){ .h = h, .off = off, .refs = 1, .writing = writing };
			return 0;
		}
	}
}

void held_put(tier_client *c, struct held *e)
{
	if (--e->refs == 0)
		e->h = HELD_TOMB;
}

/* A writing block's hold ends (committed, or lost the race). */
void held_end_writing(tier_client *c, tier_handle h)
{
	struct held *e = held_find(c, h);

	if (e && e->writing)
		e->h = HELD_TOMB;
}
