/* SPDX-License-Identifier: MIT */
/* Workloads for tierbench: a request is a list of block ids (one per 512-token block). */
#ifndef TIER_WORKLOAD_H
#define TIER_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

struct workload;

/* A generated multi-turn chat workload of n requests (deterministic for a seed). */
int workload_open_generated(uint64_t seed, uint32_t n, struct workload **ret);
/* A Mooncake-format JSONL trace: each line's "hash_ids" is one request. */
int workload_open_trace(const char *path, struct workload **ret);
/* The next request: 1 and its ids (valid until the next call), 0 at the end, or -errno. */
int workload_next(struct workload *w, const uint64_t **ret_ids, size_t *ret_n);
void workload_close(struct workload *w);

#endif
