/* SPDX-License-Identifier: MIT */
/*
 * Internal (never installed): what the learning policies (horizon,
 * survival) share.
 *
 * A key ring is a FIFO of block keys with a set-associative index, so a key
 * can be found in O(1): a ghost of evicted keys, or a sample of keys
 * followed over time.  Each entry carries the request stamp of the key's last
 * access, a class and a use count.  About 22 bytes an entry (key 8, stamp 4,
 * class and uses 1 each, index 8); a compact one 16 (a 4-byte tag of the key,
 * stamp 4, class 1, an exact index of 8; no use count).
 */
#ifndef TIER_KEYRING_H
#define TIER_KEYRING_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define KEYRING_WAYS 4

struct keyring {
	uint64_t *fp;    /* 0 = taken (the key came back); NULL in a compact ring, */
	uint32_t *tag;   /* which keeps keyring_tag(key) instead (0 = taken); else NULL */
	uint32_t *stamp;
	uint8_t *cls;
	uint8_t *uses;   /* NULL in a compact ring: read as 0 */
	uint32_t *index; /* KEYRING_WAYS-way buckets of put sequence numbers + 1 (0 = empty) */
	uint32_t size, imask, seq;
	uint32_t nb;     /* buckets when not a power of two (a compact ring); 0: imask + 1 */
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
	free(g->tag);
	free(g->stamp);
	free(g->cls);
	free(g->uses);
	free(g->index);
}

/*
 * A compact ring's 32-bit check of a key: its low bits, never 0.  The
 * bucket comes from a hash of every bit, so two keys of a bucket share a tag
 * about once in 2^31 comparisons.
 */
static inline uint32_t keyring_tag(uint64_t key)
{
	return (uint32_t)key | 1u;
}

/*
 * A ring of size entries (at most 2^30), its index 2 to 4 ways an entry (a
 * power of two of buckets).  compact: 2 ways an entry (any count of
 * buckets, 8 bytes an entry), a tag of the key instead of the key and no use
 * count (keyring_entry.fp of a compact ring's keyring_put old entry is the
 * tag, its uses 0).  0 or -ENOMEM (then keyring_deinit).
 */
static inline int keyring_init_sized(struct keyring *g, uint64_t size, bool compact)
{
	bool exact = compact;
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
	g->fp = compact ? NULL : calloc(size, sizeof(*g->fp));
	g->tag = compact ? calloc(size, sizeof(*g->tag)) : NULL;
	g->stamp = calloc(size, sizeof(*g->stamp));
	g->cls = calloc(size, 1);
	g->uses = compact ? NULL : calloc(size, 1);
	g->index = calloc(nb * KEYRING_WAYS, sizeof(*g->index));
	g->size = (uint32_t)size;
	g->imask = (uint32_t)(nb - 1);
	g->nb = exact ? (uint32_t)nb : 0;
	g->seq = 0;
	return (g->fp || g->tag) && g->stamp && g->cls && (g->uses || compact) && g->index ? 0
											   : -ENOMEM;
}

static inline int keyring_init(struct keyring *g, uint64_t size)
{
	return keyring_init_sized(g, size, false);
}

/* Whether ring position r holds a key still followed (not taken, not empty). */
static inline bool keyring_live(const struct keyring *g, uint32_t r)
{
	return g->tag ? g->tag[r] != 0 : g->fp[r] != 0;
}

/* The key at r came back: the ring no longer follows it. */
static inline void keyring_take(struct keyring *g, uint32_t r)
{
	if (g->tag)
		g->tag[r] = 0;
	else
		g->fp[r] = 0;
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
	bool live = keyring_live(g, r);

	if (live)
		*old = (struct keyring_entry){g->tag ? g->tag[r] : g->fp[r], g->stamp[r], g->cls[r],
					      g->uses ? g->uses[r] : 0};
	if (g->tag)
		g->tag[r] = keyring_tag(e->fp);
	else
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

			if (g->tag ? g->tag[r] == keyring_tag(key) : g->fp[r] == key)
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
