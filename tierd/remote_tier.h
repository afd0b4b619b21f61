/* SPDX-License-Identifier: MIT */
/*
 * The remote tier (T3): blocks in a Redis Cluster, shared by every host
 * whose tierd names the same cluster.  The store's operations reach it
 * through op.c: a commit is written through (asynchronously), a lookup whose
 * local prefix stops short probes the rest of the chain (EXISTS, one
 * pipelined round), an acquire of a block only the cluster has fetches it
 * (GET), verifies it and commits it to host memory, then the parked request
 * is answered from there.
 */
#ifndef TIERD_REMOTE_TIER_H
#define TIERD_REMOTE_TIER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "store.h"
#include "tier.h"

/*
 * Block bytes of writes not yet answered, at most (each holds a copy of its
 * block): past it a commit is not written (writes_dropped), so a slow or
 * stuck cluster costs no more memory than this.
 */
#define REMOTE_WRITE_QUEUE_MAX (64ULL << 20)
/* At most this many keys of one lookup are asked about (the rest is a miss). */
#define REMOTE_PROBE_MAX 1024
/* That the cluster has a block is remembered this long; that it has not, this long. */
#define REMOTE_PRESENCE_TTL_MS 2000
#define REMOTE_ABSENT_TTL_MS 100

struct remote_tier;

/* The counters tierctl stats shows under the tier "remote" (docs/OPERATIONS.md). */
struct remote_tier_counters {
	uint64_t hits, misses;         /* keys found / not found (probes and fetches) */
	uint64_t probes, fetches;      /* EXISTS and GET sent */
	uint64_t bytes_read, bytes_written;
	uint64_t writes, writes_skipped; /* SET NX sent; commits known to be there already */
	uint64_t writes_dropped;       /* commits not written: REMOTE_WRITE_QUEUE_MAX in flight */
	uint64_t corrupt;              /* values that did not verify (deleted) */
	uint64_t fetch_no_room;        /* fetched blocks with no host memory free at once */
};

struct remote_tier_params {
	const struct tierd_config *cfg;
	struct store *st;
	void (*progress)(void *ctx);   /* answers arrived: retry parked requests */
	void *ctx;
};

/* 0 with *ret NULL when cfg has no remote.cluster; 0, or -errno (logged). */
int remote_tier_new(const struct remote_tier_params *p, struct remote_tier **ret);
void remote_tier_free(struct remote_tier *rt);
int remote_tier_fd(const struct remote_tier *rt);
void remote_tier_turn(struct remote_tier *rt, bool readable);
int remote_tier_timeout_ms(const struct remote_tier *rt);

/* Block handle was committed under key (client key, unsalted): write it through. */
void remote_tier_committed(struct remote_tier *rt, tier_handle handle, tier_key key);
/*
 * keys[0..local) are local; extend the prefix with what the cluster has:
 * the total, or -EINPROGRESS while probes are out (call again with retry
 * set; nothing is probed again then).  ret_tier (may be NULL) gets
 * TIER_REMOTE for the keys found there.
 */
int remote_tier_lookup(struct remote_tier *rt, uint32_t ns, const tier_key *keys, uint32_t n,
		       uint32_t local, bool retry, uint8_t *ret_tier);
/* keys[0..n)'s local prefix, read only (a retried lookup is not counted twice). */
uint32_t remote_tier_local_prefix(const struct store *st, uint32_t ns, const tier_key *keys,
				  uint32_t n);
/*
 * key is not local: fetch it.  -EINPROGRESS while it is on its way (then the
 * block is local, or it failed: -ENOENT on the retry), -ENOENT when the
 * cluster does not have it.
 */
int remote_tier_acquire(struct remote_tier *rt, uint32_t ns, tier_key key, bool retry);

/*
 * keys[0..n) are not local: fetch them all at once (at most
 * REMOTE_PROBE_MAX), as acquire does one.  -EINPROGRESS while any is on its
 * way (call again with retry set), then 0: what arrived is local.
 */
int remote_tier_acquire_run(struct remote_tier *rt, uint32_t ns, const tier_key *keys, uint32_t n,
			    bool retry);

/* tier_flush: a mark now, and whether writes submitted before it are still out. */
uint64_t remote_tier_write_mark(const struct remote_tier *rt);
bool remote_tier_writes_pending(const struct remote_tier *rt, uint64_t mark);

const struct remote_tier_counters *remote_tier_counters(const struct remote_tier *rt);
/* The cluster client's counters (redirects, timeouts, errors, latency). */
const struct remote_counters *remote_tier_client_counters(const struct remote_tier *rt);
uint32_t remote_tier_slots(const struct remote_tier *rt);

#endif
