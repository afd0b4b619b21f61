/* SPDX-License-Identifier: MIT */
/* Key index: 128-bit block key -> slot, one per namespace, O(1). */
#ifndef TIERD_INDEX_H
#define TIERD_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "tier.h"

#define INDEX_NONE UINT32_MAX

struct index_entry {
	tier_key key;
	uint64_t hash;   /* cached: cheap reject, rehash and backward shift */
	uint32_t slot;   /* INDEX_NONE: empty */
	uint32_t pad;
};

struct key_index {
	struct index_entry *e;
	size_t cap;      /* power of two */
	size_t n;
	uint64_t seed;   /* per-daemon secret: clients cannot aim keys at one bucket */
};

int index_init(struct key_index *x, size_t initial, uint64_t seed);
void index_deinit(struct key_index *x);
/* The slot of key, or INDEX_NONE. */
uint32_t index_get(const struct key_index *x, tier_key key);
/* Insert key -> slot.  -EEXIST when present, -ENOMEM. */
int index_put(struct key_index *x, tier_key key, uint32_t slot);
/* Remove key.  Its slot, or INDEX_NONE when absent. */
uint32_t index_del(struct key_index *x, tier_key key);

#endif
