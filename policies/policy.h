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
	/*
	 * The block holds fewer tokens than a full block: the partial last
	 * block of a prompt.  Known online from the token count of the save
	 * (or of the lookup's last key).  Such a block can only be matched
	 * again by a request that repeats the exact same prompt, so it is
	 * rarely worth much; policies may use it as a dead-block hint.
	 */
	TIER_ACC_PARTIAL = 1u << 4,
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
	uint32_t lookahead;     /* prefetch: most blocks per suggestion; 0 = the policy's default */
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

#define TIER_EVICT_DEFAULT "duel"

extern const struct tier_evict_ops tier_evict_lru;
extern const struct tier_evict_ops tier_evict_clock;
extern const struct tier_evict_ops tier_evict_sieve;
extern const struct tier_evict_ops tier_evict_s3fifo;
extern const struct tier_evict_ops tier_evict_wtinylfu;
extern const struct tier_evict_ops tier_evict_chain;
extern const struct tier_evict_ops tier_evict_horizon;
extern const struct tier_evict_ops tier_evict_survival;
extern const struct tier_evict_ops tier_evict_duel;

/*
 * Admission policy of one tier: whether a block is cached there at all.
 * Two decisions use it:
 *   - admit():  a block missed (or was just written) and could be cached
 *               in this tier; false leaves it out (the caller keeps the
 *               bytes only where they already are, or drops them);
 *   - demote(): a block is leaving DRAM (T1) and is not yet on NVMe (T2);
 *               true writes it to T2 first, false drops it.  This is where
 *               an NVMe admission policy protects flash endurance.
 * A slot is the same slot the eviction policy of the tier sees.
 *
 * Required: name, summary, admit.  Optional (may be NULL): create and
 * destroy (a stateless policy has no state; the state pointer is then NULL),
 * access (told of every demand access, hit or miss, before admit), demote
 * (NULL: every demoted block is written).
 */
struct tier_admit_ops {
	const char *name;    /* [a-z0-9_-] */
	const char *summary;

	int (*create)(const struct tier_policy_params *p, void **ret_state);
	void (*destroy)(void *state);

	void (*access)(void *state, const struct tier_access *a);
	bool (*admit)(void *state, const struct tier_access *a);
	bool (*demote)(void *state, uint32_t slot, uint64_t key);

	/* State in bytes per cached block (sketches are sized from capacity). */
	size_t bytes_per_block;
};

const struct tier_admit_ops *tier_admit_find(const char *name);
const struct tier_admit_ops *const *tier_admit_list(size_t *ret_n);

#define TIER_ADMIT_DEFAULT "all"

extern const struct tier_admit_ops tier_admit_all;
extern const struct tier_admit_ops tier_admit_second_hit;
extern const struct tier_admit_ops tier_admit_full_only;

/*
 * Prefetch policy: on a demand access, which other blocks to bring up to
 * the faster tier ahead of their use.  The policy names blocks by slot (the
 * daemon's block table, any tier) together with the key fingerprint it saw
 * for that slot, so the caller can check that the slot still holds that
 * block (slots are reused) and skip it otherwise; the caller also skips
 * blocks already in the target tier.
 *
 * Required: name, summary, create, destroy, suggest.  Optional: access
 * (observe a demand access, hit or miss, to learn from it), remove (slot
 * left the daemon entirely).
 */
struct tier_prefetch_ops {
	const char *name;
	const char *summary;

	int (*create)(const struct tier_policy_params *p, void **ret_state);
	void (*destroy)(void *state);

	void (*access)(void *state, uint32_t slot, const struct tier_access *a);
	void (*remove)(void *state, uint32_t slot);
	/*
	 * Fill ret_slots[] / ret_keys[] (max entries) with the blocks to
	 * prefetch after the demand access a to slot, nearest use first.
	 * Returns how many were filled (0 .. max).
	 */
	size_t (*suggest)(void *state, uint32_t slot, const struct tier_access *a,
			  uint32_t *ret_slots, uint64_t *ret_keys, size_t max);

	size_t bytes_per_block;
};

const struct tier_prefetch_ops *tier_prefetch_find(const char *name);
const struct tier_prefetch_ops *const *tier_prefetch_list(size_t *ret_n);

#define TIER_PREFETCH_DEFAULT "none"

extern const struct tier_prefetch_ops tier_prefetch_none;
extern const struct tier_prefetch_ops tier_prefetch_chain;

#endif /* TIER_POLICY_H */
