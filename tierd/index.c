/* SPDX-License-Identifier: MIT */
/*
 * Key index: open addressing with linear probing and backward-shift deletion
 * (no tombstones, so a cache that churns forever never degrades).  Keys come
 * from clients, who could choose them to collide, so buckets are picked by
 * XXH3 with a per-daemon random seed rather than by the key bits themselves.
 * The table doubles at 1/2 load and never shrinks below its start size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "index.h"

static uint64_t key_hash(const struct key_index *x, tier_key k)
{
	return XXH3_64bits_withSeed(&k, sizeof(k), x->seed);
}

static int alloc_table(struct key_index *x, size_t cap)
{
	x->e = malloc(cap * sizeof(*x->e));
	if (!x->e)
		return -ENOMEM;
	for (size_t i = 0; i < cap; i++)
		x->e[i].slot = INDEX_NONE;
	x->cap = cap;
	return 0;
}

int index_init(struct key_index *x, size_t initial, uint64_t seed)
{
	size_t cap = 64;

	memset(x, 0, sizeof(*x));
	x->seed = seed;
	while (cap < initial * 2)
		cap <<= 1;
	return alloc_table(x, cap);
}

void index_deinit(struct key_index *x)
{
	free(x->e);
	memset(x, 0, sizeof(*x));
}

static int key_eq(tier_key a, tier_key b)
{
	return a.hi == b.hi && a.lo == b.lo;
}

uint32_t index_get(const struct key_index *x, tier_key key)
{
	uint64_t h = key_hash(x, key);
	size_t mask = x->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		const struct index_entry *e = &x->e[i];

		if (e->slot == INDEX_NONE)
			return INDEX_NONE;
		if (e->hash == h && key_eq(e->key, key))
			return e->slot;
	}
}

static void raw_put(struct key_index *x, tier_key key, uint64_t h, uint32_t slot)
{
	size_t mask = x->cap - 1, i = h & mask;

	while (x->e[i].slot != INDEX_NONE)
		i = (i + 1) & mask;
	x->e[i] = (struct index_entry){ .key = key, .slot = slot, .hash = h };
}

static int grow(struct key_index *x)
{
	struct index_entry *old = x->e;
	size_t ocap = x->cap;
	int r = alloc_table(x, ocap * 2);

	if (r < 0) {
		x->e = old;
		x->cap = ocap;
		return r;
	}
	for (size_t i = 0; i < ocap; i++)
		if (old[i].slot != INDEX_NONE)
			raw_put(x, old[i].key, old[i].hash, old[i].slot);
	free(old);
	return 0;
}

int index_put(struct key_index *x, tier_key key, uint32_t slot)
{
	if (index_get(x, key) != INDEX_NONE)
		return -EEXIST;
	if ((x->n + 1) * 2 > x->cap) {
		int r = grow(x);

		if (r < 0)
			return r;
	}
	raw_put(x, key, key_hash(x, key), slot);
	x->n++;
	return 0;
}

uint32_t index_del(struct key_index *x, tier_key key)
{
	uint64_t h = key_hash(x, key);
	size_t mask = x->cap - 1, i, j;
	uint32_t slot;

	for (i = h & mask;; i = (i + 1) & mask) {
		if (x->e[i].slot == INDEX_NONE)
			return INDEX_NONE;
		if (x->e[i].hash == h && key_eq(x->e[i].key, key))
			break;
	}
	slot = x->e[i].slot;
	/* Backward shift: pull later members of the probe run into the hole. */
	for (j = (i + 1) & mask; x->e[j].slot != INDEX_NONE; j = (j + 1) & mask) {
		size_t home = x->e[j].hash & mask;

		/* Move e[j] to i unless its home lies cyclically in (i, j]. */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			x->e[i] = x->e[j];
			i = j;
		}
	}
	x->e[i].slot = INDEX_NONE;
	x->n--;
	return slot;
}
