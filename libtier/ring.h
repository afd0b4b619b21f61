/* SPDX-License-Identifier: MIT */
/*
 * The fast path's shared-memory rings (internal, not installed): one segment
 * per client, created by the daemon and passed at the handshake.
 *
 * Layout: a header (magic, ABI version, geometry as offsets, never pointers),
 * the control words each on its own cache line, the submission ring (SQ:
 * the client produces, the daemon consumes), the completion ring (CQ: the
 * daemon produces, the client consumes), and a data area for batched
 * operations (key arrays in, per-key results out).
 *
 * Indices are free-running uint32_t; entry i lives at index i & (entries-1).
 * Producer: write the entry, then store-release the tail.  Consumer:
 * load-acquire the tail, read entries, then store-release the head.
 *
 * Doorbells: the daemon polls rings while it has work and, before sleeping,
 * sets daemon_idle (a client that finds it set writes the doorbell eventfd,
 * which the daemon never reads: it is edge-triggered);
 * a client waiting for a completion spins briefly, then sets client_wait and
 * sleeps on a futex on cq_tail, which the daemon wakes after posting.
 * Neither side spins while the machine has more runnable tasks than CPUs
 * (the spin gate, spin.c): each then sleeps at once.
 * Both sides use a full fence between "publish my word" and "read the other
 * side's word", so one of the two always sees the other (no lost wake-up).
 *
 * The daemon trusts nothing here: it copies each entry out before reading
 * it, checks every index, count and data-area range, and disconnects a client
 * whose indices are impossible.
 */
#ifndef TIER_RING_H
#define TIER_RING_H

#include <stdint.h>

#include "tier.h"

#define TIER_RING_MAGIC 0x54524e47u /* "TRNG" */
#define TIER_RING_ABI 1
#define TIER_RING_SQ_ENTRIES 256
#define TIER_RING_CQ_ENTRIES 512
#define TIER_RING_DATA_BYTES (1u << 20)
#define TIER_CACHELINE 64

/* Ring opcodes: the async public ones (enum tier_op_code in tier.h) plus batches. */
enum {
	TIER_SQE_LOOKUP_MANY = 64,  /* n keys at data_off; n tier bytes after them */
	TIER_SQE_ACQUIRE_MANY,      /* n keys at data_off; n (handle, offset) pairs after them */
	TIER_SQE_RELEASE_MANY,      /* n handles at data_off */
	TIER_SQE_COMMIT_MANY,       /* n handles at data_off, then n keys */
};

/* A submission entry (64 bytes). */
struct tier_sqe {
	uint8_t opcode;
	uint8_t flags;       /* TIER_OPF_* */
	uint16_t pad;
	uint32_t ns;
	uint64_t user_data;
	tier_key key;
	tier_key parent;
	tier_handle handle;
	uint32_t n;          /* batch: entries */
	uint32_t data_off;   /* batch: byte offset in the data area */
};

/* A completion entry (32 bytes). */
struct tier_ring_cqe {
	uint64_t user_data;
	int32_t res;
	uint32_t flags;
	tier_handle handle;  /* ALLOC, ACQUIRE */
	uint64_t offset;     /* ALLOC, ACQUIRE: the block's offset in the host arena */
};

struct tier_ring_seg {
	uint32_t magic;
	uint32_t abi;
	uint32_t sq_entries;   /* powers of two */
	uint32_t cq_entries;
	uint64_t sq_off;       /* byte offsets from the segment start */
	uint64_t cq_off;
	uint64_t data_off;
	uint64_t data_bytes;
	uint64_t seg_bytes;
	uint64_t block_max;    /* largest block size (informative) */
	_Alignas(TIER_CACHELINE) uint32_t sq_head;     /* daemon writes */
	_Alignas(TIER_CACHELINE) uint32_t sq_tail;     /* client writes */
	_Alignas(TIER_CACHELINE) uint32_t cq_head;     /* client writes */
	_Alignas(TIER_CACHELINE) uint32_t cq_tail;     /* daemon writes; futex word */
	_Alignas(TIER_CACHELINE) uint32_t daemon_idle; /* daemon: ring the doorbell to wake me */
	_Alignas(TIER_CACHELINE) uint32_t client_wait; /* client: wake me on cq_tail */
};

_Static_assert(sizeof(struct tier_sqe) == 64, "sqe size");
_Static_assert(sizeof(struct tier_ring_cqe) == 32, "cqe size");

static inline uint64_t tier_ring_seg_bytes(void)
{
	uint64_t b = (sizeof(struct tier_ring_seg) + 4095) & ~4095ULL;

	b += (uint64_t)TIER_RING_SQ_ENTRIES * sizeof(struct tier_sqe);
	b += (uint64_t)TIER_RING_CQ_ENTRIES * sizeof(struct tier_ring_cqe);
	b = (b + 4095) & ~4095ULL;
	return b + TIER_RING_DATA_BYTES;
}

#endif
