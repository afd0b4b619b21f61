/* SPDX-License-Identifier: MIT */
/*
 * Internal (never installed): survival's core as a part another policy
 * builds on (duel.c).  An instance made by survival_new() is driven through
 * tier_evict_survival's own hooks (insert, access, remove, pick_victim,
 * hint, destroy).
 */
#ifndef TIER_SURVIVAL_H
#define TIER_SURVIVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

struct survival_params {
	unsigned sample_shift; /* the shadow follows 1 key in 2^sample_shift (1..16) */
	/*
	 * 0: the ghost is a full key ring of the shadow's reach (what
	 * `survival` registers).  Else a compact ghost (tagghost.h) of
	 * ghost_x4 / 4 capacities of keys, 4 bytes each, and a compact
	 * shadow (keyring_init_sized: a tag of the key, an exact index, 16
	 * bytes an entry).
	 */
	unsigned ghost_x4;
	/*
	 * Count each slot's cached children (1 byte a slot) and never evict a
	 * block above cached children while the sample holds a leaf: the tail
	 * walk alone stops at a block whose last child went first, and an
	 * engine's lookup stops at it, stranding the others.
	 */
	bool leaves;
};

/* Bytes per block of capacity that survival_new() allocates with sp. */
double survival_bytes_per_block(const struct survival_params *sp);

int survival_new(const struct tier_policy_params *p, const struct survival_params *sp,
		 void **ret_state);

struct survival_block {
	uint64_t key;
	uint32_t up;    /* its parent's slot when it was last told it (may be stale) */
	uint32_t stamp; /* start of the last request that touched it: what it ages from */
	uint8_t cls;    /* the class survival gives it */
};

/* What survival holds of slot: false when slot is not in. */
bool survival_block(const void *state, uint32_t slot, struct survival_block *ret);

/* What a block of class cls last touched by the request starting at stamp is worth now. */
double survival_value(const void *state, uint8_t cls, uint32_t stamp);

#endif /* TIER_SURVIVAL_H */
