/* SPDX-License-Identifier: MIT */
/*
 * The block store: block table (states, generations, pins, residency),
 * namespaces with their key indexes, the host tier's size classes, the NVMe
 * tier's slot allocators, and a policy instance per tier.  Pure metadata:
 * the store asks for I/O through struct store_io and is told of completions
 * through store_write_done()/store_read_done(), so unit tests drive it
 * directly.
 *
 * store.c: block table, namespaces, the client operations.
 * move.c:  eviction, demotion to NVMe, promotion, I/O completions, flush.
 * recover.c: rebuilding the NVMe tier's blocks from the journal.
 * gpu_tier.c: the device tier (T0): copies into the daemon's GPU pool.
 */
#ifndef TIERD_STORE_H
#define TIERD_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "../policies/policy.h"
#include "index.h"
#include "journal.h"
#include "nvme.h"
#include "slab.h"
#include "tier.h"
#include "u32map.h"

enum block_state { BLOCK_FREE = 0, BLOCK_WRITING, BLOCK_READY };

enum {
	BLOCK_DROPPED = 1u << 0, /* out of the index; freed when pins and I/O are done */
	BLOCK_PARTIAL = 1u << 1, /* holds fewer tokens than a full block (policy hint) */
	BLOCK_PREFETCHED = 1u << 2, /* brought up by a prefetch, not accessed since */
};

/* Residency: where a READY block has a valid copy. */
/*
 * RES_GPU: a copy in the device pool (T0).  T0 is inclusive of the host tier:
 * a block with RES_GPU always has RES_HOST too, and when its host copy goes
 * (evicted, demoted, dropped) its GPU copy goes with it.
 */
enum { RES_HOST = 1u << 0, RES_NVME = 1u << 1, RES_GPU = 1u << 2 };

/* I/O in flight on a block. */
enum {
	IO_WRITE = 1u << 0,       /* being written to NVMe (an NVMe slot is reserved) */
	IO_READ = 1u << 1,        /* being read from NVMe into its host memory */
	IO_EVICT_AFTER = 1u << 2, /* the write is a demotion: drop the host copy after it */
	IO_PREFETCH = 1u << 3,    /* the read is a prefetch */
	IO_GPU = 1u << 4,         /* being copied from its host memory into the GPU pool */
	IO_RETRY = 1u << 5,       /* with IO_READ: the read is the second try */
};

#define SLOT_NONE TIER_SLOT_NONE

struct block {
	uint32_t gen;        /* bumped when the slot is freed; never 0 */
	uint8_t state;       /* enum block_state */
	uint8_t flags;       /* BLOCK_* */
	uint16_t cls;        /* host size class */
	uint32_t ns;
	uint32_t pins;       /* all clients' pins together */
	uint32_t writer;     /* holder id while WRITING */
	uint32_t next_free;  /* free-slot list */
	uint64_t host_off;   /* valid with RES_HOST or IO_READ */
	uint64_t touched;    /* logical time of the last access told to the policy */
	tier_key key;
	uint8_t res;         /* RES_* */
	uint8_t io;          /* IO_* */
	uint16_t nv_dev;     /* valid with RES_NVME or IO_WRITE */
	uint32_t dirty_prev, dirty_next; /* the namespace's dirty list, in seq order */
	/* Offset in the GPU pool / SLAB_ALIGN (in what was padding: pools up to 16 TiB),
	 * valid with RES_GPU or IO_GPU. */
	uint32_t gpu_page;
	uint64_t nv_off;
	uint64_t seq;        /* commit sequence */
	uint64_t csum;       /* XXH3-64 of the data, once written to NVMe */
};

struct ns {
	char name[TIER_NAME_MAX + 1];
	uint64_t block_size;
	uint32_t dom;        /* host access domain (0: the shared arena) */
	uint32_t cls;        /* host size class, in its domain */
	uint32_t nv_cls;     /* NVMe size class (same id on every device) */
	uint32_t gpu_cls;    /* GPU pool size class; SLAB_NONE: no GPU tier or too large */
	uint64_t blocks;     /* ready, in the index */
	uint64_t hits, misses;
	uint32_t dirty_head, dirty_tail;
	uint64_t dirty;      /* blocks only in host memory */
	/* tenants */
	uint64_t quota_host, quota_nvme;   /* bytes; 0 = none */
	uint64_t host_bytes, nv_bytes;     /* bytes its blocks take in each tier */
	uint64_t quota_evictions;          /* own blocks evicted to stay within quota */
	bool salted;
	uint8_t salt[16];                  /* XXH3-128 of the configured salt */
	bool restricted;                   /* only clients that opened it may name it */
	struct key_index index;
	uint64_t evictions, promotions, demotions; /* this namespace's share of the tier counters */
	/*
	 * Who made it and who holds it open.  A deleted namespace is a
	 * tombstone: found by no name, refused by every operation, and its id
	 * is given to a new namespace only once no block and no session
	 * refers to it (a client that opened it must not land in another).
	 */
	uint32_t creator;    /* uid of the client that created it; 0: root, config or unknown */
	uint32_t opens;      /* sessions that opened it (the server counts them) */
	bool deleted;
	bool configured;     /* made at start from an [ns.NAME] block_size: never forgotten */
};

/*
 * A holder remembers at most STORE_REQ_MAX_KEYS keys of its latest lookup
 * (16 bytes each, and up to 16 more of position map: 2 MiB at most), and all
 * holders together at most STORE_REQ_BUDGET_BYTES: past it a request is
 * served without its positions reaching the policy (as a longer one is).
 */
#define STORE_REQ_MAX_KEYS 65536
#define STORE_REQ_BUDGET_BYTES (32u << 20)

/*
 * One client's holds: slot -> HOLD_WRITING for a block it writes (its own
 * bit, never a pin count) or its pins of the block in HOLD_PINS.  Pins are
 * bounded, per hold and per block, far below that bit: no count ever
 * reaches it or wraps (an acquire over a bound is -EOVERFLOW).
 */
#define HOLD_WRITING 0x80000000u
#define HOLD_PINS 0x7fffffffu
/* One client's pins of one block at most. */
#define STORE_HOLD_PINS_MAX (1u << 16)
/* All clients' pins of one block at most. */
#define STORE_BLOCK_PINS_MAX (1u << 20)

struct holder {
	uint32_t id;
	struct u32map holds;
	uint64_t pins;         /* pins held, all blocks */
	uint32_t writing;      /* blocks it writes (allocated, not committed) */
	uint64_t pinned_bytes; /* block_size of every block it pins (once) or writes */
	uint8_t *ns_ok;        /* bitmap of the namespaces it opened; NULL: no checks */
	uint64_t lookup_start; /* logical times of this holder's latest lookup */
	uint64_t lookup_end;
	/*
	 * The key list of its latest lookup (the request it is serving), so the
	 * acquires and commits that follow reach the policy with their place in
	 * the request, as the lookup's own accesses do.
	 */
	uint32_t req_ns;
	uint32_t req_n, req_cap, req_leading;
	tier_key *req_keys;
	struct u32map req_pos;  /* low 32 bits of a key's fingerprint -> position */
};

/* I/O the store asks for.  Completions come back through store_*_done(). */
struct store_io {
	void *ctx;
	int (*write_block)(void *ctx, tier_handle h, uint32_t dev, uint64_t dev_off,
			   const struct nv_hdr *hdr, uint64_t host_off, uint64_t len);
	int (*read_block)(void *ctx, tier_handle h, uint32_t dev, uint64_t dev_off,
			  uint64_t host_off, uint64_t len);
	/* Copy len bytes at host_off into the GPU pool at pool_off (store_gpu_copy_done). */
	int (*gpu_copy_in)(void *ctx, tier_handle h, uint64_t pool_off, uint64_t host_off,
			   uint64_t len);
};

/* A namespace's private arena in the daemon's offset space. */
struct store_arena {
	char ns[TIER_NAME_MAX + 1];
	uint64_t start, bytes;
};

#define STORE_DOMS_MAX 65

/*
 * A host access domain: the shared arena (domain 0, at offset 0) or one
 * namespace's private arena.  A namespace's blocks take host memory only in
 * its domain, and making room there evicts only that domain's blocks, so a
 * private arena's bytes never hold another namespace's block and vice versa.
 */
struct store_dom {
	char ns[TIER_NAME_MAX + 1];  /* the namespace it belongs to; "" for the shared arena */
	uint64_t base;               /* its first byte in the offset space */
	struct slab_alloc slab;      /* offsets relative to base */
	uint64_t used_bytes;         /* host bytes of its blocks */
	uint64_t demote_bytes;       /* what its in-flight demotions will free */
	uint64_t high_bytes, low_bytes; /* demotion watermarks */
	/*
	 * Its own instance of the host eviction policy (store.evict): a victim
	 * for this domain is looked for among this domain's blocks only, and a
	 * tenant's policy learns from that tenant's traffic.
	 */
	void *evict_state;
};

struct store_params {
	uint64_t arena_bytes;      /* the shared arena, at offset 0 */
	const struct store_arena *arenas; /* private arenas (n_arenas, at most STORE_DOMS_MAX - 1) */
	uint32_t n_arenas;
	uint8_t *arena;            /* for checksums (may be NULL without NVMe) */
	uint32_t max_namespaces;
	const struct tier_evict_ops *evict;
	const struct tier_prefetch_ops *prefetch; /* NULL: none */
	uint64_t seed;             /* key-index seed (random in the daemon) */
	/* NVMe tier: n_devs == 0 means none */
	uint32_t nv_devs;
	uint64_t nv_dev_bytes;
	const struct tier_evict_ops *nv_evict;
	const struct tier_admit_ops *nv_admit;
	uint32_t nv_demote_max;    /* demotions in flight at most */
	uint32_t high_pct, low_pct; /* host watermarks, percent of capacity */
	/* GPU tier (T0): gpu_bytes == 0 means none */
	uint64_t gpu_bytes;        /* the pool's size */
	const struct tier_evict_ops *gpu_evict;
	struct store_io io;
	/*
	 * host.verify: a block's XXH3-64 is taken at commit, checked before
	 * every acquire serves it and before it is written to NVMe; a block
	 * whose bytes changed since is dropped, never served nor flushed.
	 * Needs arena.
	 */
	bool verify;
	/* Per-client caps (0: none); see store_set_client_caps. */
	uint32_t client_max_writing;
	uint64_t client_max_pinned;
};

struct store_counters {
	uint64_t alloc, commit, lookup, acquire, release, drop, errors, prefetch, flush;
	uint64_t refused_handles;  /* forged, stale, replayed or another client's */
	uint64_t refused_access;   /* namespaces a client may not use */
	uint64_t lease_expiries;   /* clients whose pins were released for silence */
	uint64_t io_timeouts;      /* requests failed after waiting too long on I/O */
	uint64_t hits, misses, evictions;
	uint64_t verify_failures;  /* blocks whose bytes changed after commit (host.verify) */
	uint64_t refused_caps;     /* allocs and acquires over a client's caps (-EDQUOT) */
};

struct store_nv {
	uint32_t n_devs;
	struct slab_alloc slab[NVME_MAX_DEVS];
	uint32_t *owner[NVME_MAX_DEVS]; /* device offset / SLAB_ALIGN -> slot */
	uint32_t next_dev;
	const struct tier_evict_ops *evict;
	void *evict_state;
	const struct tier_admit_ops *admit;
	void *admit_state;
	uint64_t capacity, used_bytes, blocks;
	uint64_t hits, misses, evictions, promotions, demotions, writebacks;
	uint64_t checksum_failures, io_errors;
	uint64_t read_retries;  /* reads issued again after a failed read or verification */
	uint64_t read_losses;   /* blocks dropped because the retry failed too */
	uint32_t demote_inflight, demote_max;
	uint32_t writes_inflight;
	struct journal journal;
};

/* The GPU tier (T0): a slab allocator over the daemon's device pool. */
struct store_gpu {
	bool on;
	struct slab_alloc slab;
	const struct tier_evict_ops *evict;
	void *evict_state;
	uint64_t capacity, used_bytes, blocks;
	uint64_t hits, misses;     /* tier_acquire_gpu: already in the pool or not */
	uint64_t evictions;        /* GPU copies dropped to make room in the pool */
	uint64_t promotions;       /* copies host -> pool completed */
	uint64_t demotions;        /* GPU copies dropped because their host copy left */
	uint64_t copy_errors;
	uint32_t copies_inflight;
};

struct store {
	struct block *blocks;   /* max_slots entries, lazily backed */
	uint32_t max_slots;
	uint32_t used_slots;    /* high-water mark */
	uint32_t free_slot;     /* free list head */
	struct store_dom dom[STORE_DOMS_MAX]; /* host access domains; dom[0]: the shared arena */
	uint32_t n_dom;
	uint64_t span_bytes;    /* the offset space: every domain */
	uint64_t host_capacity; /* bytes of every domain together */
	uint32_t *host_owner;   /* offset / SLAB_ALIGN -> slot */
	uint8_t *arena;
	uint64_t seed;
	struct ns *ns;
	uint32_t n_ns, max_ns;
	const struct tier_evict_ops *evict; /* instances: dom[].evict_state */
	const struct tier_prefetch_ops *prefetch;
	void *prefetch_state;
	uint64_t prefetches;    /* promotions the prefetch policy started */
	uint64_t now;           /* logical clock for policies */
	uint64_t seq;           /* commit sequence */
	uint64_t ready_blocks;  /* in the index, any tier */
	uint64_t host_blocks;   /* ready and host-resident */
	uint64_t pinned_blocks; /* blocks with pins > 0 */
	uint64_t used_bytes;    /* host bytes of writing, ready and promoting blocks */
	struct store_counters c;
	size_t req_bytes;       /* every holder's remembered request (STORE_REQ_BUDGET_BYTES) */
	bool nvme;              /* an NVMe tier is configured */
	struct store_nv nv;
	struct store_gpu gpu;
	struct store_io io;
	bool verify;                  /* host.verify (see store_params) */
	uint32_t client_max_writing;  /* 0: no cap */
	uint64_t client_max_pinned;   /* bytes; 0: no cap */
	struct remote_tier *remote; /* the remote tier (remote_tier.c); NULL: none */
};

struct remote_tier;
int store_init(struct store *st, const struct store_params *p);
void store_deinit(struct store *st);

/* Largest block size a namespace may have (a quarter of its arena, at most 1 GiB). */
#define STORE_BLOCK_MAX (1ULL << 30)
/* For the shared arena. */
uint64_t store_max_block_size(const struct store *st);
/* The domain of a namespace called name: its private arena's, else 0 (shared). */
uint32_t store_dom_find(const struct store *st, const char *name);

/*
 * Quotas and salt of namespace id (from its [ns.NAME] rule).  The salt only
 * takes while the namespace holds no block (its keys would change), or at
 * start-up (at_start: the blocks recovered from NVMe were stored under it).
 */
void store_ns_configure(struct store *st, uint32_t id, bool restricted, uint64_t quota_host,
			uint64_t quota_nvme, const char *salt, bool at_start);

/* Open or create a namespace.  -EINVAL bad name/size or size mismatch, -ENOSPC too many. */
int store_ns_open(struct store *st, const char *name, uint64_t block_size, uint32_t *ret_ns);
/* The same, recording creator (a uid) as its creator when it is created. */
int store_ns_open_as(struct store *st, const char *name, uint64_t block_size, uint32_t creator,
		     uint32_t *ret_ns);
/*
 * Whether a new namespace name of block_size may take a new size class of
 * the shared arena (when it lives there) or of the NVMe tier, which every
 * namespace shares, while kept classes stay free for namespaces the config
 * names: 0, or -ENOSPC when it would eat into them.
 */
int store_ns_class_room(const struct store *st, const char *name, uint64_t block_size,
			uint32_t kept);
/* Namespaces (not deleted) that uid created. */
uint32_t store_ns_count_by(const struct store *st, uint32_t uid);
/* Namespaces not deleted. */
uint32_t store_ns_live(const struct store *st);
/* Whether id names a namespace that exists (not deleted). */
bool store_ns_exists(const struct store *st, uint32_t id);

/*
 * The client operations.  Besides the errors tier.h documents, alloc and
 * acquire may return -EINPROGRESS: the answer waits for I/O (a demotion that
 * makes room, a promotion from NVMe); the caller parks the request and calls
 * again, with retry set, after completions.
 */
int store_alloc(struct store *st, struct holder *h, uint32_t ns, tier_handle *ret,
		uint64_t *ret_off, uint64_t *ret_size);
int store_commit(struct store *st, struct holder *h, tier_handle handle, tier_key key,
		 const tier_key *parent);
int store_lookup(struct store *st, struct holder *h, uint32_t ns, const tier_key *keys,
		 uint32_t n, uint32_t first_pos, uint32_t total, tier_key parent,
		 uint8_t *ret_tier);
/*
 * Pin the leading present keys, all at once: -EINPROGRESS while any of them
 * is on its way up from NVMe (nothing is pinned meanwhile), else how many
 * were pinned (handles and arena offsets in ret/ret_off).
 */
int store_acquire_many(struct store *st, struct holder *h, uint32_t ns, const tier_key *keys,
		       uint32_t n, bool retry, tier_handle *ret, uint64_t *ret_off);
int store_acquire(struct store *st, struct holder *h, uint32_t ns, tier_key key, bool retry,
		  tier_handle *ret, uint64_t *ret_off, uint64_t *ret_size);
int store_release(struct store *st, struct holder *h, tier_handle handle);
int store_drop(struct store *st, uint32_t ns, tier_key key);
/* An engine's priority for keys (higher = keep longer); how many were present. */
int store_hint(struct store *st, uint32_t ns, const tier_key *keys, uint32_t n, int32_t priority);
/* Start promotions of NVMe-only keys; the number started. */
int store_prefetch(struct store *st, uint32_t ns, const tier_key *keys, uint32_t n);

/*
 * Flush: start writing every dirty block of ns (all namespaces with
 * ns == UINT32_MAX) committed up to now; *ret_epoch marks "now".
 * store_flush_pending() is true while any of them is not yet on NVMe.
 * -ENODEV without an NVMe tier.
 */
int store_flush_start(struct store *st, uint32_t ns, uint64_t *ret_epoch);
bool store_flush_pending(const struct store *st, uint32_t ns, uint64_t epoch);
/*
 * Keep a flush going: 0 when done, -EINPROGRESS while writes are on their
 * way, -ENOSPC when blocks still wait and none could be started.
 */
int store_flush_kick(struct store *st, uint32_t ns, uint64_t epoch);

/*
 * Per-client caps: blocks one holder writes at once, and bytes of the blocks
 * it pins (each block once, however often pinned) or writes; an alloc or an
 * acquire of a block it does not pin yet that would go over is -EDQUOT.
 * 0: no cap.
 */
void store_set_client_caps(struct store *st, uint32_t max_writing, uint64_t max_pinned);

void store_holder_init(struct holder *h, uint32_t id);
/*
 * Drop every pin of h and free the blocks h writes (a client went away): a
 * slot is freed only while it is still WRITING by h.
 */
void store_holder_release_all(struct store *st, struct holder *h);

/* Change the host eviction policy; the old one stays if the new one fails to start. */
int store_set_evict(struct store *st, const struct tier_evict_ops *ops);

/* ---- move.c --------------------------------------------------------- */

/* Keep host usage under the high watermark: start demotions.  Cheap when under it. */
void store_balance(struct store *st);
/* An NVMe write or read of block h finished (res 0 or -errno). */
void store_write_done(struct store *st, tier_handle h, int res);
void store_read_done(struct store *st, tier_handle h, int res, const struct nv_hdr *hdr);

/*
 * Evict about bytes from a tier (TIER_HOST or TIER_NVME) in its policy's
 * order, as if room were needed (tierctl evict).  Host blocks go to NVMe
 * first when there is an NVMe tier: those count once their demotion has
 * started.  *ret_bytes and *ret_blocks say how much.  -ENODEV: no such tier.
 */
int store_evict_bytes(struct store *st, int tier, uint64_t bytes, uint64_t *ret_bytes,
		      uint64_t *ret_blocks);

/* ---- gpu_tier.c: the device tier (T0) ------------------------------ */

/*
 * Pin the block of key (as store_acquire does) and make it resident in the
 * GPU pool: brought up from NVMe to host memory first when needed, then
 * copied into the pool.  -EINPROGRESS while either is on its way (nothing is
 * pinned meanwhile: call again with retry set after completions); 0 with the
 * handle, arena offset, size and pool offset.  -ENODEV: no GPU tier;
 * -ENOSPC: no room in the pool (everything there pinned) or the block is too
 * large for it.
 */
int store_acquire_gpu(struct store *st, struct holder *h, uint32_t ns, tier_key key, bool retry,
		      tier_handle *ret, uint64_t *ret_off, uint64_t *ret_size,
		      uint64_t *ret_pool_off);
/* A copy into the pool of block h finished (res 0 or -errno). */
void store_gpu_copy_done(struct store *st, tier_handle h, int res);
/* Pinned blocks resident in the GPU pool (a scan: for statistics). */
uint64_t store_gpu_pinned(const struct store *st);

/* ---- store_admin.c: run-time changes (reload, tierctl) --------------- */

/* Change the NVMe tier's eviction policy; the old one stays if the new one fails. */
int store_set_nv_evict(struct store *st, const struct tier_evict_ops *ops);
/* Change the admission policy of writes to NVMe; the old one stays if the new one fails. */
int store_set_admit(struct store *st, const struct tier_admit_ops *ops);
/* New demotion watermarks, percent of host capacity (low < high). */
void store_set_watermarks(struct store *st, uint32_t high_pct, uint32_t low_pct);
/* Drop every block of namespace ns; the number dropped, or -ENOENT. */
int store_ns_drop_all(struct store *st, uint32_t ns);
/* A namespace by name: its id, or -ENOENT. */
int store_ns_find(const struct store *st, const char *name, uint32_t *ret_ns);
/*
 * Delete namespace ns: drop every block (on every tier; pinned ones are freed
 * on their last release), journal the deletion (JREC_NSDEL) so a restart does
 * not bring it back, and leave a tombstone.  The number of blocks dropped, or
 * -ENOENT.
 */
int store_ns_delete(struct store *st, uint32_t ns);
/*
 * Delete every namespace that holds no block, is open in no session and was
 * not made from the config (journal compaction: their records go).  How many.
 */
uint32_t store_ns_forget_idle(struct store *st);

/* ---- recover.c ------------------------------------------------------ */

struct store_recovery {
	struct store *st;
	uint32_t ns_map[4096];  /* journal namespace id -> ours (UINT32_MAX: none) */
	uint64_t records, blocks, superseded, deleted, rejected;
	uint64_t deleted_ns;    /* namespaces the operator deleted (JREC_NSDEL) */
	uint64_t forgotten_ns;  /* empty namespaces left out (store_ns_forget_idle) */
};

/* Replay the journal into an empty store: begin, one call per record, end. */
void store_recover_begin(struct store_recovery *rc, struct store *st);
void store_recover_record(void *rc, const struct jrec *r);
void store_recover_end(struct store_recovery *rc);
/* The live state as journal records (namespaces, then a PUT per NVMe block). */
uint64_t store_journal_image(struct store *st, void (*emit)(void *arg, const struct jrec *r),
			     void *arg);

/* ---- internal, shared by store.c / move.c / recover.c ---------------- */

static inline tier_handle store_handle(const struct store *st, uint32_t slot)
{
	return ((uint64_t)st->blocks[slot].gen << 32) | slot;
}

static inline struct store_dom *store_dom_of(struct store *st, uint32_t ns)
{
	return &st->dom[st->ns[ns].dom];
}

/* The host eviction policy's instance that holds slot s (its namespace's domain's). */
static inline void *store_evict_state(const struct store *st, uint32_t s)
{
	return st->dom[st->ns[st->blocks[s].ns].dom].evict_state;
}

/* Host bytes block b takes (its class's stride in its namespace's domain). */
static inline uint64_t store_host_stride(const struct store *st, const struct block *b)
{
	return st->dom[st->ns[b->ns].dom].slab.classes[b->cls].stride;
}

uint64_t key_fingerprint(tier_key k);
uint32_t store_slot_alloc(struct store *st);
void store_slot_free(struct store *st, uint32_t s);
/*
 * Host memory for a block of class cls: its offset, or -ENOSPC / -EINPROGRESS.
 * for_prefetch: not by evicting blocks earlier prefetches brought up that
 * nobody has used yet.
 */
int64_t store_host_room(struct store *st, uint32_t ns, uint32_t cls, bool for_prefetch);
/* Give back host memory at off that store_host_room returned for namespace ns. */
void store_host_free(struct store *st, uint32_t ns, uint64_t off);
void store_host_attach(struct store *st, uint32_t s, uint64_t off);
void store_host_detach(struct store *st, uint32_t s);
/* Forget a block entirely (index, policies, NVMe copy, memory), or defer while busy. */
void store_forget(struct store *st, uint32_t s);
/* host.verify: whether s's host bytes still hash to its commit-time checksum. */
bool store_block_intact(const struct store *st, uint32_t s);
/* s failed verification: counted and forgotten (freed once its pins are released). */
void store_tampered(struct store *st, uint32_t s);
/* Finish freeing a DROPPED block once nothing holds it. */
void store_reap_dropped(struct store *st, uint32_t s);
void store_dirty_add(struct store *st, uint32_t s);
void store_dirty_del(struct store *st, uint32_t s);
void store_nv_release(struct store *st, uint32_t s);
void store_journal_put(struct store *st, uint32_t s, uint16_t type);
/* s's GPU copy (or the pool space reserved for a copy) goes away. */
void store_gpu_release(struct store *st, uint32_t s);
int store_gpu_init(struct store *st, const struct store_params *p);
void store_gpu_deinit(struct store *st);
/* store.c helpers gpu_tier.c shares */
struct ns;
tier_key store_ns_key(const struct ns *n, tier_key k);
int store_promote(struct store *st, uint32_t s, bool prefetch);
/* Count an acquire of s (key as indexed) and tell the policies, unless the holder's lookup did. */
void store_acquire_note(struct store *st, struct holder *h, uint32_t ns, uint32_t s, tier_key key);
int store_acquire_key(struct store *st, struct holder *h, uint32_t ns, tier_key key, bool retry,
		      tier_handle *ret, uint64_t *ret_off, uint64_t *ret_size);
void store_count_misses(struct store *st, struct ns *n, uint64_t k);

#endif
