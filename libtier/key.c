/* SPDX-License-Identifier: MIT */
/*
 * Chained block keys.  The contract (tier.h, docs/ARCHITECTURE.md) is
 * XXH3-128 with seed 0 over parent.hi and parent.lo as little-endian bytes,
 * then the block's data.  No random seed anywhere: a key computed today in
 * one process is the key another process computes tomorrow on another host,
 * which is what makes a restarted daemon's NVMe contents findable.
 */
#include <endian.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "tier.h"

tier_key tier_key_next(tier_key parent, const void *data, size_t len)
{
	XXH3_state_t st;
	uint64_t le[2] = { htole64(parent.hi), htole64(parent.lo) };
	XXH128_hash_t h;

	/* Streaming keeps the parent off a copy of the (possibly large) data. */
	XXH3_128bits_reset_withSeed(&st, 0);
	XXH3_128bits_update(&st, le, sizeof(le));
	if (len)
		XXH3_128bits_update(&st, data, len);
	h = XXH3_128bits_digest(&st);
	return (tier_key){ .hi = h.high64, .lo = h.low64 };
}
