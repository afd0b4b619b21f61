/* SPDX-License-Identifier: MIT */
/* libtier internals shared by client.c, held.c and client_ring.c (not installed). */
#ifndef TIER_CLIENT_H
#define TIER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "ring.h"
#include "spin.h"
#include "tier.h"

#define HELD_EMPTY 0
#define HELD_TOMB UINT64_MAX

struct held {
	tier_handle h;     /* HELD_EMPTY, HELD_TOMB or a handle */
	uint64_t off;
	uint32_t refs;     /* pins (acquired) or 1 (writing) */
	uint32_t writing;
};

/* An operation in flight on the ring: what its completion means to us. */
struct pending {
	uint64_t user_data; /* the caller's (async) */
	uint8_t opcode;
	uint8_t used;
	tier_handle handle; /* RELEASE, COMMIT: the handle it was about */
	uint32_t next_free;
};

#define TIER_ARENAS_MAPPED_MAX 64

struct tier_client {
	char path[108];             /* the daemon's socket, for tier_reconnect */
	int fd;
	uint32_t seq;
	uint32_t client_id;
	uint8_t *base;
	size_t arena_bytes;         /* the offset space reserved at base (every arena) */
	/* Private arenas mapped at base + start (those of namespaces this connection opened). */
	uint64_t mapped_start[TIER_ARENAS_MAPPED_MAX];
	uint32_t n_mapped;
	uint64_t max_block_size;
	struct held *held;
	size_t held_cap, held_used; /* used counts tombstones too */
	/* ring transport (seg == NULL: everything goes over the socket) */
	struct tier_ring_seg *seg;
	size_t seg_bytes;
	struct tier_sqe *sq;
	struct tier_ring_cqe *cq;
	uint8_t *data;
	uint64_t data_bytes;
	int doorbell;
	struct spin_gate gate;      /* whether a wait may spin (spin.c) */
	uint32_t sq_tail, cq_head;
	struct pending *pend;       /* indexed by the SQE's user_data */
	uint32_t n_pend, free_pend;
	struct tier_ring_cqe *stash; /* completions read while waiting for another */
	size_t stash_n, stash_cap, stash_head;
	uint8_t buf[TIER_MSG_MAX];
};

/* held.c */
struct held *held_find(tier_client *c, tier_handle h);
int held_add(tier_client *c, tier_handle h, uint64_t off, bool writing);
void held_put(tier_client *c, struct held *e);
void held_end_writing(tier_client *c, tier_handle h);

/* client_ring.c */
/* Map the ring segment the daemon passed; the doorbell fd is kept. */
int ring_attach(tier_client *c, int memfd, int doorbell);
void ring_detach(tier_client *c);
/*
 * One synchronous operation over the ring: e is submitted and its
 * completion returned in *ret (other completions are kept for tier_reap).
 * Returns 0 or -ECONNRESET/-ENOMEM.
 */
int ring_call(tier_client *c, struct tier_sqe *e, struct tier_ring_cqe *ret);

#endif
