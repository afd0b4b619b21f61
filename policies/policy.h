/* SPDX-License-Identifier: MIT */
/*
 * The policy-author API of tierd.
 *
 * A policy is a const ops table with a name, listed in registry.c and looked
 * up by name from the config (policy.evict = lru).  The daemon and the
 * offline simulator (tools/tiersim) link the very same code, so a hit ratio
 * measured offline on a trace is the one the daemon gets.
 *
 * Rules for policy code: no I/O, no sockets, no clocks of its own (time comes
 * in struct tier_access), no locks (one reactor thread calls it), no
 * allocation on the hot path.  Blocks are named by slot: a dense index below
 * the max_slots given at create time, owned by the caller.  A policy keeps its
 * per-block state in arrays indexed by slot and says what that costs in
 * bytes_per_block.
 */
#ifndef TIER_POLICY_H
#define TIER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIER_SLOT_NONE UINT32_MAX

/* struct tier_access.flags */
enum {
	TIER_ACC_PREFETCH = 1u << 0, /* brought in ahead of demand, not a demand access */
	TIER_ACC_WRITE = 1u << 1,    /* the block was just written (commit) */
	TIER_ACC_LOOKUP = 1u << 2,   /* seen through a lookup (no pin) */
	TIER_ACC_PIN = 1u << 3,      /* seen through an acquire (pin) */
};

/*
 * What the manager knows about one access, online.  Fields it does not know
 * are 0 (parent: TIER_SLOT_NONE).
 */
struct tier_access {
	uint64_t key;         /* 64-bit fingerprint of the block key; stable, never 0 */
	uint64_t parent_key;  /* fingerprint of the parent key; 0: chain head or unknown */
	uint32_t parent;      /* slot of the parent block when it is cached, else TIER_SLOT_NONE */
	uint32_t ns;          /* namespace id */
	uint32_t pos;         /* position of the block in its request's key list (0 = first) */
	uint32_t req_len;     /* blocks in that request; 0 when unknown */
	uint32_t prefix_hits; /* leading blocks of the request that hit before this one */
	int32_t hint;         /* engine priority (tier_hint), 0 = none; higher = keep longer */
	uint64_t now;         /* logical clock: advances by one per block access */
	uint32_t flags;       /* TIER_ACC_* */
};

/*
 * Called by pick_victim for each candidate: true when the caller may evict
 * slot now (not pinned, not being written or moved).
 */
typedef bool (*tier_evictable_fn)(void *arg, uint32_t slot);

struct tier_policy_params {
	uint32_t max_slots;     /* slots are < max_slots */
	uint32_t capacity;      /* blocks the tier holds when full (a hint; 0 unknown) */
};

/*
 * Eviction policy of one tier.  All hooks are required unless marked
 * optional.  A slot is "in" the policy from insert until remove.
 */
struct tier_evict_ops {
	const char *name;    /* what the config names; [a-z0-9_-] */
	const char *summary; /* one line for tierctl / tiersim --list-policies */

	/* Allocate the instance state (arrays sized for p->max_slots).  0 or -errno. */
	int (*create)(const struct tier_policy_params *p, void **ret_state);
	void (*destroy)(void *state);

	/* slot became cached (a miss filled, a block written or promoted). */
	void (*insert)(void *state, uint32_t slot, const struct tier_access *a);
	/* slot, already in, was accessed (a hit). */
	void (*access)(void *state, uint32_t slot, const struct tier_access *a);
	/* slot leaves the tier (evicted, dropped, moved away). */
	void (*remove)(void *state, uint32_t slot);
	/*
	 * The slot to evict next among those for which evictable() is true, or
	 * TIER_SLOT_NONE.  Does not remove it: the caller calls remove() when
	 * the block is gone.  May update internal state (e.g. CLOCK's hand).
	 */
	uint32_t (*pick_victim)(void *state, tier_evictable_fn evictable, void *arg);
	/* Optional: an engine hint for a cached slot (see tier_access.hint). */
	void (*hint)(void *state, uint32_t slot, int32_t priority);

	/* Per-block state, in bytes, for docs and tierctl. */
	size_t bytes_per_block;
};

/* The registry (registry.c). */
const struct tier_evict_ops *tier_evict_find(const char *name);
/* Policies in registry order; *ret_n is set to their count. */
const struct tier_evict_ops *const *tier_evict_list(size_t *ret_n);

#define TIER_EVICT_DEFAULT "lru"

extern const struct tier_evict_ops tier_evict_lru;

#endif /* TIER_POLICY_H */
