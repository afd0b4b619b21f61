/* SPDX-License-Identifier: MIT */
/*
 * Internal (never installed): what the learning policies (horizon,
 * survival) share.
 *
 * A key ring is a FIFO of block keys with a set-associative index, so a key
 * can be found in O(1): a ghost of evicted keys, or a sample of keys
 * followed over time.  Each entry carries the request stamp of the key's last
 * access, a class and a use count.  About 22 bytes an entry (key 8, stamp 4,
 * class and uses 1 each, index 8).
 */
#ifndef TIER_KEYRING_H
#define TIER_KEYRING_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define KEYRING_WAYS 4

struct keyring {
	uint64_t *fp;    /* 0 = taken (the key came back) */
	uint32_t *stamp;
	uint8_t *cls;
	uint8_t *uses;   /* NULL when not kept (keyring_init_sized): read as 0 */
	uint32_t *index; /* KEYRING_WAYS-way buckets of put sequence numbers + 1 (0 = empty) */
	uint32_t size, imask, seq;
	uint32_t nb;     /* buckets when not a power of two (keyring_init_sized exact); 0: imask + 1 */
};

struct keyring_entry {
	uint64_t fp;
	uint32_t stamp;
	uint8_t cls, uses;
};

static inline uint32_t keyring_hash(uint64_t k)
{
	k ^= k >> 29;
	k *= 0xbf58476d1ce4e5b9ULL;
	k ^= k >> 32;
	return (uint32_t)k;
}

static inline void keyring_deinit(struct keyring *g)
{
	free(g->fp);
	free(g->stamp);
	free(g->cls);
	free(g->uses);
	free(g->index);
}

/*
 * A ring of size entries (at most 2^30), its index 2 to 4 ways an entry (a
 * power of two of buckets); exact: 2 ways an entry (any count of buckets, 8
 * bytes an entry).  uses: keep each entry's use count (1 byte an entry).
 * 0 or -ENOMEM (then keyring_deinit).
 */
static inline int keyring_init_sized(struct keyring *g, uint64_t size, bool exact, bool uses)
{
	uint64_t nb = 16;

	if (size < 1)
		size = 1;
	if (size > (1u << 30))
		size = 1u << 30;
	if (exact)
		nb = (2 * size + KEYRING_WAYS - 1) / KEYRING_WAYS;
	else
		while (nb * KEYRING_WAYS < 2 * size)
			nb *= 2;
	g->fp = calloc(size, sizeof(*g->fp));
	g->stamp = calloc(size, sizeof(*g->stamp));
	g->cls = calloc(size, 1);
	g->uses = uses ? calloc(size, 1) : NULL;
	g->index = calloc(nb * KEYRING_WAYS, sizeof(*g->index));
	g->size = (uint32_t)size;
	g->imask = (uint32_t)(nb - 1);
	g->nb = exact ? (uint32_t)nb : 0;
	g->seq = 0;
	return g->fp && g->stamp && g->cls && (g->uses || !uses) && g->index ? 0 : -ENOMEM;
}

static inline int keyring_init(struct keyring *g, uint64_t size)
{
	return keyring_init_sized(g, size, false, true);
}

/* The first index slot of key's bucket. */
static inline uint32_t keyring_base(const struct keyring *g, uint64_t key)
{
	uint32_t h = keyring_hash(key);

	return (g->nb ? (uint32_t)(((uint64_t)h * g->nb) >> 32) : h & g->imask) * KEYRING_WAYS;
}

/*
 * Append e.  Returns true, with the entry it overwrote in *old, when that one
 * was still live: its key never came back while the ring remembered it.
 */
static inline bool keyring_put(struct keyring *g, const struct keyring_entry *e,
			       struct keyring_entry *old)
{
	uint32_t r = g->seq % g->size, base = keyring_base(g, e->fp);
	uint32_t v = base;
	bool live = g->fp[r] != 0;

	if (live)
		*old = (struct keyring_entry){g->fp[r], g->stamp[r], g->cls[r], g->uses ? g->uses[r] : 0};
	g->fp[r] = e->fp;
	g->stamp[r] = e->stamp;
	g->cls[r] = e->cls;
	if (g->uses)
		g->uses[r] = e->uses;
	g->seq++;
	for (uint32_t w = 0; w < KEYRING_WAYS; w++) {
		uint32_t i = base + w;

		/* an empty way or a stale one (older than the ring) first, else the oldest */
		if (!g->index[i] || g->seq - g->index[i] >= g->size) {
			v = i;
			break;
		}
		if (g->seq - g->index[i] > g->seq - g->index[v])
			v = i;
	}
	g->index[v] = g->seq; /* seq after the increment: put number + 1 */
	return live;
}

/* The ring position of key, or -1. */
static inline int64_t keyring_find(const struct keyring *g, uint64_t key)
{
	uint32_t base = keyring_base(g, key);

	for (uint32_t w = 0; w < KEYRING_WAYS; w++) {
		uint32_t s = g->index[base + w];

		if (s && g->seq - s < g->size) {
			uint32_t r = (s - 1) % g->size;

			if (g->fp[r] == key)
				return r;
		}
	}
	return -1;
}

/*
 * Age buckets of the learning policies: exact below 4, then two buckets an
 * octave: [2^e, 1.5 x 2^e) and [1.5 x 2^e, 2^(e+1)).  64 buckets cover 2^32.
 */
static inline unsigned policy_age_bucket(uint32_t age)
{
	unsigned e;

	if (age < 4)
		return age;
	e = 31u - (unsigned)__builtin_clz(age);
	return 2 * e + ((age >> (e - 1)) & 1);
}

/* How many ages policy_age_bucket() puts in bucket b. */
static inline uint32_t policy_age_width(unsigned b)
{
	return b < 4 ? 1u : 1u << (b / 2 - 1);
}

#endif /* TIER_KEYRING_H */
