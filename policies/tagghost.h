/* SPDX-License-Identifier: MIT */
/*
 * Internal (never installed): a compact ghost of evicted keys, 4 bytes an
 * entry, for a policy that only needs to know whether a key was evicted
 * lately and how often it had been used (survival's use count across an
 * eviction), not when or in which class.
 *
 * Buckets of TAGGHOST_WAYS entries, a key's bucket chosen by its hash; an
 * entry is a 24-bit tag from other bits of the hash and an 8-bit use count.
 * A put replaces the bucket's oldest entry (a hand per bucket), so each
 * bucket is a FIFO and the whole is a FIFO of about its size while keys
 * spread evenly.  A false match needs an equal bucket and tag: about
 * TAGGHOST_WAYS / 2^24 a lookup.  keyring.h is the full ring (key, stamp,
 * class, uses: 22 bytes) when those are needed.
 */
#ifndef TIER_TAGGHOST_H
#define TIER_TAGGHOST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define TAGGHOST_WAYS 8

struct tagghost {
	uint32_t *way;  /* tag << 8 | uses; 0 = empty */
	uint8_t *hand;  /* per bucket: the next way to replace */
	uint32_t nb;    /* buckets */
};

static inline uint64_t tagghost_mix(uint64_t k)
{
	k ^= k >> 31;
	k *= 0x7fb5d329728ea185ULL;
	k ^= k >> 27;
	k *= 0x81dadef4bc2dd44dULL;
	return k ^ (k >> 33);
}

/* Room for about n keys (at least one bucket).  0 or -ENOMEM (then tagghost_deinit). */
static inline int tagghost_init(struct tagghost *g, uint64_t n)
{
	uint64_t nb = (n + TAGGHOST_WAYS - 1) / TAGGHOST_WAYS;

	if (nb < 1)
		nb = 1;
	if (nb > (1u << 28))
		nb = 1u << 28;
	g->way = calloc(nb * TAGGHOST_WAYS, sizeof(*g->way));
	g->hand = calloc(nb, 1);
	g->nb = (uint32_t)nb;
	return g->way && g->hand ? 0 : -ENOMEM;
}

static inline void tagghost_deinit(struct tagghost *g)
{
	free(g->way);
	free(g->hand);
}

/* The bucket of hash h: its low 32 bits scaled to the bucket count (any count, no power of 2). */
static inline uint32_t tagghost_bucket(const struct tagghost *g, uint64_t h)
{
	return (uint32_t)(((h & 0xffffffffu) * g->nb) >> 32);
}

static inline uint32_t tagghost_tag(uint64_t h)
{
	uint32_t t = (uint32_t)(h >> 40) & 0xffffffu;

	return t ? t : 1;
}

static inline void tagghost_put(struct tagghost *g, uint64_t key, uint8_t uses)
{
	uint64_t h = tagghost_mix(key);
	uint32_t b = tagghost_bucket(g, h);

	g->way[b * TAGGHOST_WAYS + g->hand[b]] = tagghost_tag(h) << 8 | uses;
	g->hand[b] = (uint8_t)((g->hand[b] + 1) % TAGGHOST_WAYS);
}

/* Whether key is remembered; if so it is forgotten and its use count is in *ret_uses. */
static inline bool tagghost_take(struct tagghost *g, uint64_t key, uint8_t *ret_uses)
{
	uint64_t h = tagghost_mix(key);
	uint32_t *w = &g->way[tagghost_bucket(g, h) * TAGGHOST_WAYS], t = tagghost_tag(h);

	for (unsigned i = 0; i < TAGGHOST_WAYS; i++)
		if (w[i] && w[i] >> 8 == t) {
			*ret_uses = (uint8_t)w[i];
			w[i] = 0;
			return true;
		}
	return false;
}

#endif /* TIER_TAGGHOST_H */
