/* SPDX-License-Identifier: MIT */
/*
 * The block store: block table (states, generations, pins), namespaces with
 * their key indexes, the host tier's size classes and its eviction policy.
 * Pure metadata: no sockets and no I/O, so unit tests drive it directly.
 */
#ifndef TIERD_STORE_H
#define TIERD_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "../policies/policy.h"
#include "index.h"
#include "slab.h"
#include "tier.h"
#include "u32map.h"

enum block_state { BLOCK_FREE = 0, BLOCK_WRITING, BLOCK_READY };

enum { BLOCK_DROPPED = 1u << 0 }; /* ready, out of the index, freed on last release */

struct block {
	uint32_t gen;        /* bumped when the slot is freed; never 0 */
	uint8_t state;       /* enum block_state */
	uint8_t flags;       /* BLOCK_* */
	uint16_t cls;        /* size class of its host copy */
	uint32_t ns;
	uint32_t pins;       /* all clients' pins together */
	uint32_t writer;     /* holder id while WRITING */
	uint32_t next_free;  /* free-slot list */
	uint64_t host_off;   /* offset in the host arena */
	uint64_t touched;    /* logical time of the last access told to the policy */
	tier_key key;
};

struct ns {
	char name[TIER_NAME_MAX + 1];
	uint64_t block_size;
	uint32_t cls;
	uint64_t blocks;     /* ready, in the index */
	uint64_t hits, misses;
	struct key_index index;
};

/* One client's holds: slot -> pins, or HOLD_WRITING for a block it writes. */
#define HOLD_WRITING 0x80000000u

struct holder {
	uint32_t id;
	struct u32map holds;
	uint64_t pins;       /* pins held, all blocks */
	uint64_t lookup_start; /* logical times of this holder's latest lookup */
	uint64_t lookup_end;
};

struct store_params {
	uint64_t arena_bytes;
	uint32_t max_namespaces;
	const struct tier_evict_ops *evict;
	uint64_t seed;       /* key-index seed (random in the daemon) */
};

struct store_counters {
	uint64_t alloc, commit, lookup, acquire, release, drop, errors;
	uint64_t hits, misses, evictions;
};

struct store {
	struct block *blocks;   /* max_slots entries, lazily backed */
	uint32_t max_slots;
	uint32_t used_slots;    /* high-water mark */
	uint32_t free_slot;     /* free list head */
	struct slab_alloc slab;
	uint32_t *host_owner;   /* arena offset / SLAB_ALIGN -> slot */
	uint64_t seed;
	struct ns *ns;
	uint32_t n_ns, max_ns;
	const struct tier_evict_ops *evict;
	void *evict_state;
	uint64_t now;           /* logical clock for policies */
	uint64_t ready_blocks;
	uint64_t pinned_blocks; /* blocks with pins > 0 */
	uint64_t used_bytes;    /* bytes of writing + ready blocks */
	struct store_counters c;
};

int store_init(struct store *st, const struct store_params *p);
void store_deinit(struct store *st);

/* Largest block size a namespace may have (a quarter of the arena, at most 1 GiB). */
#define STORE_BLOCK_MAX (1ULL << 30)
uint64_t store_max_block_size(const struct store *st);

/* Open or create a namespace.  -EINVAL bad name/size or size mismatch, -ENOSPC too many. */
int store_ns_open(struct store *st, const char *name, uint64_t block_size, uint32_t *ret_ns);

/* A WRITING block of ns held by h.  Evicts as needed; -ENOSPC when nothing can go. */
int store_alloc(struct store *st, struct holder *h, uint32_t ns, tier_handle *ret,
		uint64_t *ret_off, uint64_t *ret_size);

/* Commit a block h writes.  parent may be NULL.  -EEXIST (block freed), -EINVAL, -ESTALE. */
int store_commit(struct store *st, struct holder *h, tier_handle handle, tier_key key,
		 const tier_key *parent);

/*
 * Leading keys present.  first_pos/total/parent describe where keys[0] sits
 * in the caller's whole list (for the policy).
 */
int store_lookup(struct store *st, struct holder *h, uint32_t ns, const tier_key *keys, uint32_t n,
		 uint32_t first_pos, uint32_t total, tier_key parent);

int store_acquire(struct store *st, struct holder *h, uint32_t ns, tier_key key,
		  tier_handle *ret, uint64_t *ret_off, uint64_t *ret_size);
int store_release(struct store *st, struct holder *h, tier_handle handle);
int store_drop(struct store *st, uint32_t ns, tier_key key);

void store_holder_init(struct holder *h, uint32_t id);
/* Drop every pin and free every writing block of h (a client went away). */
void store_holder_release_all(struct store *st, struct holder *h);

/* Change the eviction policy; the old one stays if the new one fails to start. */
int store_set_evict(struct store *st, const struct tier_evict_ops *ops);

static inline tier_handle store_handle(const struct store *st, uint32_t slot)
{
	return ((uint64_t)st->blocks[slot].gen << 32) | slot;
}

#endif
