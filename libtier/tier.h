/* SPDX-License-Identifier: MIT */
/*
 * libtier — the client library of tierd, the KV-cache tier manager.
 *
 * An inference process connects to the tierd of its host, opens a namespace
 * (one model's KV layout: one block size), and then saves and loads KV-cache
 * blocks by content key.  Block bytes live in a shared-memory arena that the
 * daemon passes at connect time: tier_data() returns a pointer into it, and
 * the process reads or writes the bytes in place, with no copy through the
 * daemon.
 *
 * Conventions: every function that can fail returns 0 (or a count) on success
 * and a negative errno on failure; errno itself is never the channel.  A
 * tier_client is not thread-safe: use one per thread, or serialise calls.
 *
 * Transport: operations travel through a pair of shared-memory rings (no
 * system call per operation while both sides are busy); the socket carries
 * the handshake, namespaces, statistics and flushes.  TIER_TRANSPORT=socket
 * in the environment sends everything over the socket instead.
 *
 * Errors common to all calls that talk to the daemon:
 *   -ECONNRESET  the daemon is gone (the client must reconnect);
 *   -EPROTO      the daemon speaks another ABI version;
 *   -ENOMEM      out of memory in the library.
 */
#ifndef TIER_H
#define TIER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TIER_ABI_VERSION 1

/* Where tier_connect(NULL, ...) looks when $TIER_SOCKET is not set. */
#define TIER_DEFAULT_SOCKET "/run/tierd/tierd.sock"

typedef struct tier_client tier_client;

/* A 128-bit content key.  Equal key <=> equal whole prefix (see tier_key_next). */
typedef struct tier_key {
	uint64_t hi, lo;
} tier_key;

/* A block handle: generation (high 32 bits) | slot (low 32 bits).  Opaque. */
typedef uint64_t tier_handle;

/* The parent of the first block of every chain. */
#define TIER_KEY_ROOT ((tier_key){0, 0})

/* Longest namespace name, without the terminating NUL. */
#define TIER_NAME_MAX 63

/*
 * Connect to tierd.  socket_path NULL means $TIER_SOCKET when set, else
 * TIER_DEFAULT_SOCKET.  On success *ret is a new client that maps the daemon's
 * host arena.  Errors: -ENOENT/-ECONNREFUSED (no daemon), -EACCES, -EPROTO.
 */
int tier_connect(const char *socket_path, tier_client **ret);

/*
 * Connect c again to the same socket, after the daemon went away (calls
 * return -ECONNRESET) and came back.  Everything of the old connection is
 * gone: every handle is invalid (tier_data returns NULL), and namespace ids
 * may differ, so reopen namespaces with tier_namespace.  On failure c stays
 * disconnected (calls return -ECONNRESET) and this may be called again.
 */
int tier_reconnect(tier_client *c);

/*
 * Disconnect and unmap.  Every pin and every unfinished (allocated, not
 * committed) block of c is released by the daemon.  NULL is a no-op.
 */
void tier_close(tier_client *c);

/*
 * Open the namespace called name, creating it with block_size when it does
 * not exist.  *ret_ns is the namespace id for the other calls.  When the
 * namespace has a private arena, the daemon passes it with the answer and c
 * maps it (once per connection): only clients its access rule allows ever
 * receive those bytes.
 * A name holds printable ASCII only (0x20 to 0x7e).
 * Errors: -EINVAL (empty or too long name, a byte outside printable ASCII,
 * block size 0 or above the daemon's limit, or the namespace exists, or its
 * [ns.NAME] section pins it, with another block size), -ENOSPC (too many
 * namespaces), -EDQUOT (this uid created daemon.max_namespaces_per_uid
 * namespaces already), -EACCES (its access rule does not allow this client).
 */
int tier_namespace(tier_client *c, const char *name, size_t block_size, uint32_t *ret_ns);

/*
 * The key of a block: XXH3-128 with seed 0 over the 16 bytes of parent (parent.hi then parent.lo, each as 8 little-endian
 * bytes) followed by the len bytes of data (the block's token ids, in the
 * engine's own encoding).  The 128-bit result's high 64 bits are .hi and the
 * low 64 bits .lo.  Pure and deterministic: the same in every process, on
 * every machine and after every restart.  The first block of a prompt uses
 * TIER_KEY_ROOT as its parent.
 */
tier_key tier_key_next(tier_key parent, const void *data, size_t len);

/*
 * Allocate a block of namespace ns in the WRITING state, held by c.  Write
 * its bytes through tier_data(), then tier_commit() it.  When the host tier
 * is full the eviction policy makes room; -ENOSPC when nothing can be
 * evicted (everything pinned or being written).  -ENOENT: no such namespace.
 * -EDQUOT: c is at its caps (daemon.client_max_writing unfinished blocks, or
 * daemon.client_max_pinned bytes pinned and being written): commit or release
 * first.
 */
int tier_alloc(tier_client *c, uint32_t ns, tier_handle *ret);

/*
 * The bytes of a block c holds (allocated and not yet committed, or
 * acquired and not yet released); the namespace's block_size bytes are
 * valid.  NULL when c does not hold h.
 */
void *tier_data(tier_client *c, tier_handle h);

/*
 * Make the block h, allocated by c, READY and visible to lookups under key.
 * c's hold on h ends (acquire it to read it again).  -EEXIST when the key is
 * already ready in the namespace: the first writer wins and this block is
 * freed.  Keys are a public function of the tokens, so in a namespace without
 * an access rule and a secret salt any client can commit first under them
 * (and probe with tier_lookup what was seen): docs/SECURITY.md.
 * -EINVAL/-ESTALE: c does not hold h as a writing block; -ENOENT: the
 * namespace was deleted meanwhile (tier_admin_delete_namespace).
 */
int tier_commit(tier_client *c, tier_handle h, tier_key key);

/*
 * How many of keys[0..n) are present, counted from the first: the length of
 * the longest cached prefix.  Pins nothing.  Counts a hit or a miss per key
 * examined.
 */
int tier_lookup(tier_client *c, uint32_t ns, const tier_key *keys, size_t n);

/*
 * Pin the ready block with key in ns and make it host-resident; *ret is its
 * handle and tier_data(c, *ret) stays valid until tier_release().  A pinned
 * block is never evicted.  Acquiring the same key twice pins it twice.
 * -ENOENT when the key is not there (with host.verify, also when its bytes
 * were changed after commit: the block is dropped).  -EDQUOT when pinning it
 * would take c over daemon.client_max_pinned bytes; -EOVERFLOW when c pins
 * it 65,536 times already or all clients together 1,048,576 times.
 */
int tier_acquire(tier_client *c, uint32_t ns, tier_key key, tier_handle *ret);

/* Drop one pin of c on h.  -EINVAL/-ESTALE when c holds no pin on h. */
int tier_release(tier_client *c, tier_handle h);

/*
 * Remove key from ns.  A block that is pinned disappears from lookups at
 * once and its memory is freed when the last pin is released.
 * -ENOENT when the key is not there.
 */
int tier_drop(tier_client *c, uint32_t ns, tier_key key);

/*
 * tier_commit, naming the block's parent (the key before it in the prompt):
 * the daemon's policies learn the chain from it (a block is of no use
 * without its parent).
 */
int tier_commit_chain(tier_client *c, tier_handle h, tier_key parent, tier_key key);

/*
 * An advisory priority for the blocks keys[0..n) of ns from the engine:
 * higher = keep longer (an attention-importance score, "this session comes
 * back soon"), negative = let go first.  Policies may use or ignore it.
 * Returns how many of the keys are present.
 */
int tier_hint(tier_client *c, uint32_t ns, const tier_key *keys, size_t n, int32_t priority);

/*
 * A sign of life: with daemon.pin_lease set, a client that holds pins and
 * makes no call for that long loses them; an idle holder calls this.
 */
int tier_keepalive(tier_client *c);

/* tier_flush(c, TIER_NS_ALL): every namespace. */
#define TIER_NS_ALL UINT32_MAX

/*
 * Start bringing the NVMe-only blocks among keys[0..n) up to host memory,
 * without pinning them, so that a later tier_acquire is a host hit.
 * Asynchronous: returns at once with the number of promotions started (keys
 * absent, already in host memory or already on their way are skipped, and
 * so is everything when host memory has no room right now).
 */
int tier_prefetch(tier_client *c, uint32_t ns, const tier_key *keys, size_t n);

/*
 * Return when every block of ns that was ready when the call began is
 * durable on NVMe (written, recorded in the journal, and fdatasync'ed), so it
 * survives a restart, a crash and a power loss.  ns may be TIER_NS_ALL.
 * -ENODEV without an NVMe tier, -EIO when a write failed (the blocks stay
 * cached; call again to retry), -ENOSPC when the NVMe tier has no room for
 * them all (the rest stay cached).
 */
int tier_flush(tier_client *c, uint32_t ns);

/* ---- Batches and asynchronous operations (the shared-memory ring path) ---- */

/*
 * Per key of keys[0..n): its tier in ret_tier[i] (TIER_HOST, TIER_NVME,
 * TIER_REMOTE for a block only the remote tier's cluster has, or TIER_NONE;
 * ret_tier may be NULL).  Returns the leading count, as
 * tier_lookup.  -EOPNOTSUPP with ret_tier on the socket transport
 * (TIER_TRANSPORT=socket).
 */
int tier_lookup_many(tier_client *c, uint32_t ns, const tier_key *keys, size_t n,
		     uint8_t *ret_tier);

/*
 * Pin the leading present keys of keys[0..n) (promoting those on NVMe, all
 * in flight together) and return how many were pinned; their handles are in
 * ret[0..count).  Nothing is pinned past the first absent key.  A key that
 * tier_acquire would refuse (-EDQUOT, -EOVERFLOW) ends the batch there too:
 * the count pinned before it, or that error when it is the first.
 */
int tier_acquire_many(tier_client *c, uint32_t ns, const tier_key *keys, size_t n,
		      tier_handle *ret);

/* Release h[0..n); returns how many were released (each invalid one is skipped). */
int tier_release_many(tier_client *c, const tier_handle *h, size_t n);

/*
 * Commit h[i] under keys[i] for i < n; returns how many became ready (a key
 * already present frees that block, as tier_commit's -EEXIST does).
 */
int tier_commit_many(tier_client *c, const tier_handle *h, const tier_key *keys, size_t n);

enum tier_op_code {
	TIER_OP_NOP = 0,
	TIER_OP_LOOKUP,   /* key -> res: its tier (TIER_HOST/TIER_NVME), or -ENOENT */
	TIER_OP_ACQUIRE,  /* key -> handle (tier_data valid once reaped) */
	TIER_OP_RELEASE,  /* handle */
	TIER_OP_ALLOC,    /* -> handle of a writing block */
	TIER_OP_COMMIT,   /* handle, key (and parent with TIER_OPF_PARENT) */
	TIER_OP_DROP,     /* key */
	TIER_OP_PREFETCH, /* key -> 1 when a promotion started, else 0 */
};

#define TIER_OPF_PARENT 0x01 /* TIER_OP_COMMIT: parent is the key before key */

/* An asynchronous operation; user_data comes back in its completion. */
struct tier_op {
	uint8_t opcode;       /* enum tier_op_code */
	uint8_t flags;        /* TIER_OPF_* */
	uint16_t reserved;    /* 0 */
	uint32_t ns;
	uint64_t user_data;
	tier_key key;
	tier_key parent;
	tier_handle handle;
};

struct tier_cqe {
	uint64_t user_data;
	int32_t res;          /* as the synchronous call would return */
	uint32_t reserved;
	tier_handle handle;   /* TIER_OP_ACQUIRE, TIER_OP_ALLOC */
};

/*
 * Queue ops[0..n) and return at once with how many were queued (fewer when
 * the ring is full: reap, then submit the rest).  Each queued op completes
 * with one struct tier_cqe.  -EOPNOTSUPP on the socket transport.
 */
int tier_submit(tier_client *c, struct tier_op *ops, size_t n);

/*
 * Up to max completions into ret; waits up to timeout_ms (0: do not wait,
 * -1: until at least one) for the first.  Returns how many.
 */
int tier_reap(tier_client *c, struct tier_cqe *ret, size_t max, int timeout_ms);

/* A static, human-readable message for a negative errno from this API. */
const char *tier_strerror(int err);

/* ---- Statistics (what `tierctl stats` shows) ------------------------- */

enum tier_id {
	TIER_GPU = 0,
	TIER_HOST = 1,
	TIER_NVME = 2,
	TIER_COUNT = 3,
	/* The remote tier (T3, a Redis Cluster): a lookup's answer only, not in tiers[]. */
	TIER_REMOTE = 3,
	TIER_NONE = 0xff,
};

struct tier_tier_stats {
	char name[16];            /* "host", "nvme", "gpu"; empty when absent */
	uint64_t capacity_bytes;
	uint64_t used_bytes;      /* bytes held by blocks (writing or ready) */
	uint64_t blocks;          /* ready blocks resident in this tier */
	uint64_t pinned_blocks;
	uint64_t hits;            /* lookups/acquires answered by this tier */
	uint64_t misses;
	uint64_t evictions;
	/* NVMe tier only (zero elsewhere): */
	uint64_t read_bytes, write_bytes;
	uint64_t promotions;        /* blocks brought up from this tier to host memory */
	uint64_t demotions;         /* blocks that left host memory for this tier */
	uint64_t io_errors;
	uint64_t checksum_failures; /* reads whose header or data did not verify (each is read
				       once more; when the retry fails too, the block is a miss) */
	uint64_t queue_depth;       /* block I/Os in flight now */
	double read_p50_us, read_p99_us, write_p50_us, write_p99_us;
};

struct tier_ns_stats {
	char name[TIER_NAME_MAX + 1];
	uint32_t id;
	uint64_t block_size;
	uint64_t blocks;          /* ready blocks */
	uint64_t hits;
	uint64_t misses;
};

struct tier_op_stats {
	uint64_t alloc, commit, lookup, acquire, release, drop, errors;
	uint64_t prefetch, flush;
	uint64_t refused_handles; /* forged, stale, replayed or another client's */
	uint64_t refused_access;  /* namespaces a client may not open or has not opened */
	uint64_t lease_expiries;  /* clients whose pins were released for silence */
	uint64_t io_timeouts;     /* requests failed after waiting too long on I/O */
};

struct tier_stats {
	uint32_t size;            /* set by the caller: sizeof(struct tier_stats) */
	uint32_t abi_version;
	uint64_t uptime_s;
	uint64_t clients;
	char version[16];         /* the daemon's version string */
	char policy_evict[32];    /* eviction policy in force for the host tier */
	uint32_t n_tiers;         /* entries used in tiers[] */
	struct tier_tier_stats tiers[TIER_COUNT];
	struct tier_op_stats ops;
	uint32_t n_namespaces;    /* total namespaces in the daemon */
};

/*
 * Read the daemon's counters.  out->size must be set to sizeof(*out).  Up to
 * max_ns namespace entries are written to ret_ns (which may be NULL when
 * max_ns is 0); out->n_namespaces says how many exist.  Returns the number
 * of entries written.
 */
int tier_stats_get(tier_client *c, struct tier_stats *out, struct tier_ns_stats *ret_ns,
		   size_t max_ns);

/* ---- Administration (what `tierctl` uses; LIBTIER_0.2) --------------- */

/* Longest eviction policy name, without the terminating NUL. */
#define TIER_POLICY_NAME_MAX 31

/* The daemon itself: what `tierctl stats` and the metrics add to tier_stats. */
struct tier_daemon_status {
	uint32_t size;            /* set by the caller: sizeof(struct tier_daemon_status) */
	uint32_t pid;             /* the daemon's */
	uint32_t uid;             /* the daemon's effective uid */
	uint32_t max_clients;
	uint64_t reloads;         /* configuration reloads (SIGHUP) that took effect */
	uint64_t reload_failures; /* reloads refused (bad config): the old one stayed */
	uint64_t dirty_blocks;    /* ready blocks only in host memory (what a flush writes) */
	uint64_t dirty_bytes;
	uint64_t flushes;         /* tier_flush calls in progress */
	uint64_t protocol_errors; /* malformed messages, clients cut off for cause */
	uint64_t log_suppressed;  /* log lines held back by rate limiting */
	uint64_t journal_bytes;   /* size of the NVMe tier's journal file (0: no NVMe tier) */
	uint64_t journal_compactions; /* journal rewrites while running (nvme.journal_compact_min) */
	uint64_t read_retries;    /* NVMe reads issued once more after a failed read or check */
	uint64_t read_losses;     /* blocks dropped because that second read failed too */
	uint64_t verify_failures; /* blocks dropped because their bytes changed after commit
				     (host.verify) */
	uint64_t refused_caps;    /* allocs and acquires refused -EDQUOT (daemon.client_max_*) */
	uint64_t reserved[2];
};

/*
 * The daemon's status.  out->size must be set to sizeof(*out); a larger
 * struct from a newer header gets its tail zeroed.  Errors: -EINVAL.
 */
int tier_admin_status(tier_client *c, struct tier_daemon_status *out);

/*
 * The NVMe tier's block I/O latency since start, as a histogram (LIBTIER_0.5):
 * what the quantiles in tier_tier_stats are read from, in a form that adds up
 * across daemons and over time.  Bucket i counts the I/Os that took at most
 * 2^i microseconds, cumulatively (1 us to about 8.4 s); count is all of them.
 * The daemon measures in quarter octaves, so an I/O is counted from the first
 * bound that its quarter octave lies under (one of 0.5 us is in le[1]).
 */
#define TIER_LATENCY_BUCKETS 24

struct tier_io_latency_op {
	uint64_t le[TIER_LATENCY_BUCKETS]; /* I/Os of at most 2^i us (cumulative) */
	uint64_t count;                    /* all I/Os */
	double sum_us;                     /* their total time */
};

struct tier_io_latency {
	uint32_t size;    /* set by the caller: sizeof(struct tier_io_latency) */
	uint32_t nvme;    /* 1 when the daemon has an NVMe tier (else all zero) */
	struct tier_io_latency_op read, write;
	uint64_t reserved[4];
};

/*
 * The NVMe I/O latency histograms.  out->size must be set to sizeof(*out);
 * a larger struct from a newer header gets its tail zeroed.  Errors: -EINVAL
 * (an older daemon too).
 */
int tier_admin_latency(tier_client *c, struct tier_io_latency *out);

/*
 * The remote tier (T3, a Redis Cluster; LIBTIER_0.7): what `tierctl stats`
 * shows as the tier "remote".  All zero when the daemon has none.
 */
struct tier_remote_stats {
	uint32_t size;            /* set by the caller: sizeof(struct tier_remote_stats) */
	uint32_t on;              /* 1 when the daemon has a remote tier (remote.cluster) */
	uint64_t hits;            /* blocks found in the cluster (lookups and fetches) */
	uint64_t misses;          /* chains that ended in the cluster, fetches that found nothing */
	uint64_t read_bytes;      /* block bytes fetched and verified */
	uint64_t write_bytes;     /* block bytes written (SET NX that took) */
	uint64_t probes;          /* EXISTS sent */
	uint64_t fetches;         /* GET sent */
	uint64_t writes;          /* SET NX sent */
	uint64_t writes_skipped;  /* commits of blocks known to be there already */
	uint64_t writes_dropped;  /* commits not written: 64 MiB of writes were in flight */
	uint64_t timeouts;        /* commands unanswered within remote.timeout */
	uint64_t redirects;       /* MOVED and ASK followed */
	uint64_t errors;          /* error replies, refused or lost connections */
	uint64_t corrupt;         /* values that did not verify (a miss; deleted) */
	uint64_t no_room;         /* fetched blocks without host memory free at once (a miss) */
	uint64_t slots;           /* hash slots of the slot map in force (16384: all) */
	uint64_t latency_count;   /* commands answered */
	double latency_sum_us;    /* their time from submission to answer */
	uint64_t latency_max_us;
	uint64_t reserved[4];
};

/*
 * The daemon's remote tier counters.  out->size must be set to sizeof(*out);
 * a larger struct from a newer header gets its tail zeroed.  Errors: -EINVAL
 * (an older daemon too).
 */
int tier_admin_remote(tier_client *c, struct tier_remote_stats *out);

/* One connected client, as the daemon sees it (SO_PEERCRED). */
struct tier_client_info {
	uint32_t id;              /* the daemon's number for the connection */
	int32_t pid;
	uint32_t uid, gid;
	char name[32];            /* the process name the client gave */
	uint64_t pins;            /* pins it holds now */
	uint64_t ops;             /* requests it made */
	uint64_t reserved[4];
};

/*
 * Up to max connected clients (the caller among them) into out.  Returns
 * how many were written.
 */
int tier_admin_clients(tier_client *c, struct tier_client_info *out, size_t max);

/* One namespace, with the per-namespace counters tier_ns_stats lacks. */
struct tier_ns_info {
	char name[TIER_NAME_MAX + 1];
	uint32_t id;
	uint32_t pad;
	uint64_t block_size;
	uint64_t blocks;          /* ready blocks, any tier */
	uint64_t bytes;           /* blocks * block_size */
	uint64_t hits, misses;
	uint64_t evictions;       /* blocks that left host memory to make room */
	uint64_t promotions;      /* blocks read up from NVMe */
	uint64_t demotions;       /* blocks that left host memory for NVMe */
	uint64_t dirty_blocks;    /* only in host memory */
	uint64_t host_bytes;      /* host memory its blocks take */
	uint64_t quota_host;      /* its host quota in bytes; 0: none */
	uint64_t nvme_bytes;      /* NVMe space its blocks take */
	uint64_t quota_nvme;      /* its NVMe quota in bytes; 0: none */
};

/* Up to max namespaces into out; returns how many were written. */
int tier_admin_namespaces(tier_client *c, struct tier_ns_info *out, size_t max);

/*
 * The configuration in force, as INI text (NUL-terminated, truncated to
 * len).  Returns the length of the whole text.
 */
int tier_admin_config(tier_client *c, char *buf, size_t len);

/*
 * Show or change the eviction policy of a tier (TIER_HOST, TIER_NVME).
 * With name NULL, only show: ret_name (TIER_POLICY_NAME_MAX + 1 bytes, may
 * be NULL) receives the policy in force.  With a name, switch to it at
 * once; if the new policy cannot start, the old one stays.  Errors:
 * -ENOENT unknown policy, -ENODEV no such tier, -EPERM the caller is not
 * root nor the daemon's user, -EINVAL bad arguments.
 */
int tier_admin_policy(tier_client *c, enum tier_id tier, const char *name, char *ret_name);

/*
 * Make about bytes of room in a tier now, evicting in its policy's order
 * (from host memory with an NVMe tier, blocks are demoted: the room comes
 * when their writes completed).  Pinned blocks stay.  ret_bytes and
 * ret_blocks (may be NULL) say how much was evicted or is on its way.
 * Errors: -ENODEV no such tier, -EPERM as above.
 */
int tier_admin_evict(tier_client *c, enum tier_id tier, uint64_t bytes, uint64_t *ret_bytes,
		     uint64_t *ret_blocks);

/*
 * Drop every block of the namespace called name (pinned ones vanish from
 * lookups at once and are freed on their last release).  The namespace
 * itself stays, empty.  Returns the number of blocks dropped.  Errors:
 * -ENOENT no such namespace, -EPERM as above.
 */
int tier_admin_drop_namespace(tier_client *c, const char *name);

/*
 * Delete the namespace called name (LIBTIER_0.6): its blocks go as with
 * tier_admin_drop_namespace, then the name itself, journalled with an NVMe
 * tier so that a restart does not bring it back.  Clients that had it open
 * get -ENOENT for it from then on; opening the name again creates a new,
 * empty namespace.  One whose [ns.NAME] section sets block_size is made
 * again at once with that size.  Returns the number of blocks dropped.
 * Errors: -ENOENT no such namespace, -EPERM as above, -EINVAL from a daemon
 * older than LIBTIER_0.6.
 */
int tier_admin_delete_namespace(tier_client *c, const char *name);

/* ---- The GPU tier (T0; LIBTIER_0.3) ------------------------------------ */

/*
 * The daemon's GPU pool (gpu.device in tierd.conf), as a client imports it.
 * Blocks acquired with tier_acquire_gpu live at an offset in this pool.
 */
struct tier_gpu_pool {
	uint32_t size;         /* set by the caller: sizeof(struct tier_gpu_pool) */
	uint32_t pad;
	char backend[16];      /* "cuda": a CUDA VMM pool; "emu": host memory (tests) */
	char pci_bus_id[16];   /* the GPU it is on ("" for emu) */
	uint64_t bytes;        /* pool size */
};

/*
 * Get the pool: *ret describes it and *ret_fd is a new descriptor (O_CLOEXEC)
 * the caller owns.  "emu": a memfd to mmap(bytes, MAP_SHARED).  "cuda": a
 * POSIX file descriptor handle for cuMemImportFromShareableHandle on the GPU
 * named by pci_bus_id.  Errors: -ENODEV the daemon has no GPU tier,
 * -EINVAL bad arguments.
 */
int tier_gpu_pool(tier_client *c, struct tier_gpu_pool *ret, int *ret_fd);

/*
 * Acquire the block of key (as tier_acquire: pinned, tier_data works, release
 * with tier_release) and make it resident in the GPU pool: the daemon brings
 * it up from NVMe and copies it into the pool first when needed, and answers
 * once the copy completed.  *ret_pool_off is its offset in the pool; its
 * bytes there stay valid until the pin is released.  Errors: as tier_acquire
 * (-ENOENT not cached), plus -ENODEV no GPU tier, -ENOSPC no room in the
 * pool (all of it pinned) or the block is too large for it, -EPERM the
 * namespace has a private arena (every client may import the pool, so its
 * blocks never go there).
 */
int tier_acquire_gpu(tier_client *c, uint32_t ns, tier_key key, tier_handle *ret,
		     uint64_t *ret_pool_off);

/* ---- Private arenas (LIBTIER_0.4) --------------------------------------- */

/*
 * A namespace's private host arena ([ns.NAME] arena, or a restricted
 * namespace's quota_host): its blocks' bytes live there, in a memfd that only
 * clients allowed to open the namespace receive.  Private arenas come in
 * addition to host.size; the host tier's capacity_bytes counts them.
 */
struct tier_arena_info {
	char name[TIER_NAME_MAX + 1]; /* the namespace */
	uint64_t start;               /* offset of its first byte in the arena offset space */
	uint64_t bytes;               /* its size */
	uint64_t used_bytes;          /* bytes its blocks take there */
	uint64_t reserved[4];
};

/* Up to max private arenas into out; returns how many were written. */
int tier_admin_arenas(tier_client *c, struct tier_arena_info *out, size_t max);

#ifdef __cplusplus
}
#endif

#endif /* TIER_H */
