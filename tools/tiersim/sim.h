/* SPDX-License-Identifier: MIT */
/*
 * tiersim's replay core: a trace replayed through the daemon's own policy
 * code (policies/), and Belady's offline optimum for comparison.  No I/O
 * here, so tests call it directly; tiersim.c is only the command line.
 */
#ifndef TIERSIM_SIM_H
#define TIERSIM_SIM_H

#include <stdint.h>

#include "policy.h"
#include "trace.h"

/* Tokens per block in Mooncake traces (used to spot partial last blocks). */
#define SIM_DEFAULT_BLOCK_TOKENS 512u

struct sim_config {
	const struct tier_evict_ops *evict; /* required */
	const struct tier_admit_ops *admit; /* NULL: admit every block */
	uint32_t capacity;                  /* blocks; > 0 */
	uint32_t block_tokens;              /* 0: SIM_DEFAULT_BLOCK_TOKENS */
	/*
	 * false (block mode, the trace README's replay): every block is one
	 * access, a hit wherever it is cached.  true (prefix mode, an engine's):
	 * a request's lookup stops at its first block not cached; the blocks
	 * from there on are computed again, and saving one that is still cached
	 * finds it there (not a hit, not an access; counted in stranded).
	 */
	bool prefix_mode;
};

struct sim_result {
	uint64_t accesses;
	uint64_t hits;
	uint64_t inserts;
	uint64_t evictions;
	uint64_t rejected;   /* misses the admission policy (or Belady) left out */
	uint64_t stranded;   /* prefix mode: cached blocks past a request's first miss */
	double hit_ratio;
};

/*
 * Capacity in blocks for a share of the trace's unique blocks: frac x
 * n_unique rounded half away from zero (C's round()), at least 1.
 */
uint32_t sim_capacity(const struct trace *t, double frac);

/*
 * Replay t: one request after the other, each of its blocks one access in
 * order; a hit calls evict->access, a miss asks admit and, if admitted,
 * evicts (pick_victim + remove) until there is room and calls insert.  The
 * struct tier_access handed to the policies carries only what the daemon
 * knows online.  Returns 0 or -errno (-EINVAL: bad config, -ENOMEM, or the
 * policy's create error).
 */
int sim_run(const struct trace *t, const struct sim_config *c, struct sim_result *ret);

/*
 * Belady's MIN with bypass: on a miss the block is cached only if its next
 * use comes before the farthest next use among the resident blocks (which
 * is then evicted); a block never used again is never cached.  O(n log C).
 */
int sim_belady(const struct trace *t, uint32_t capacity, struct sim_result *ret);

/* Hit ratio of an infinite cache: 1 - unique / accesses. */
double sim_infinite_hit_ratio(const struct trace *t);

#endif /* TIERSIM_SIM_H */
