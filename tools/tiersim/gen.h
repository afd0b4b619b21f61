/* SPDX-License-Identifier: MIT */
/*
 * Workload generators for tiersim: traces of described families built in
 * memory from a fixed seed, in the shape of a Mooncake trace (512-token
 * blocks, chained hash ids: an equal id means an equal whole prefix;
 * timestamps in ms; input_length with a partial last block).  The one real
 * trace is one workload; these are the others a policy must not lose on.
 *
 *   docqa  long-document question answering: a few documents of thousands
 *          of tokens at a time, each followed by many short questions (some
 *          with a follow-up), Poisson arrivals;
 *   chat   multi-turn chat: conversations on a few shared system prompts,
 *          each turn re-reads the whole growing history;
 *   agent  agent loops: tasks on a few shared tool contexts, each step
 *          re-reads the tool context and the task's growing scratchpad,
 *          seconds apart;
 *   mix    the three at once, each with its own Poisson arrivals.
 *
 * Each is sized so a replay over it takes well under a second.
 */
#ifndef TIERSIM_GEN_H
#define TIERSIM_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "trace.h"

/* The families, in the order tiersim lists them; NULL-terminated. */
extern const char *const gen_families[];

/*
 * Build the trace of family (one of gen_families) from seed.  The same
 * family and seed give the same trace, byte for byte, on every machine.
 * Returns 0 and a trace to free with trace_free(), -ENOENT for an unknown
 * family, -ENOMEM.
 */
int gen_trace(const char *family, uint64_t seed, struct trace **ret);

#endif /* TIERSIM_GEN_H */
