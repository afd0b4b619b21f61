/* SPDX-License-Identifier: MIT */
/*
 * The wire protocol between libtier and tierd (internal, not installed).
 *
 * Transport: a UNIX SOCK_SEQPACKET socket, so every message is one datagram
 * and its length is known exactly.  Each message is a struct tier_msg_hdr
 * followed by the body of its type; a reply echoes the request's type and seq
 * and carries the result in status (0, a count, or a negative errno).  The
 * daemon checks the exact body length of every request (and, for LOOKUP,
 * that n matches the length) before it reads a field: a message that fails
 * a check is answered with -EINVAL (or -EPROTO before the handshake) and a
 * client that keeps sending garbage is disconnected.
 *
 * Layouts are fixed-size with explicit padding; both sides are on one host,
 * so the byte order is the host's.  Bump TIER_ABI_VERSION on any change.
 */
#ifndef TIER_PROTO_H
#define TIER_PROTO_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tier.h"

#define TIER_PROTO_MAGIC 0x54495231u /* "TIR1" */

/* Largest datagram either side sends. */
#define TIER_MSG_MAX (64 * 1024)
/* Keys in one LOOKUP message; the library splits longer lists. */
#define TIER_LOOKUP_BATCH 2048
#define TIER_CLIENT_NAME_MAX 31

enum tier_msg_type {
	TIER_MSG_HELLO = 1,
	TIER_MSG_NS_OPEN,
	TIER_MSG_ALLOC,
	TIER_MSG_COMMIT,
	TIER_MSG_LOOKUP,
	TIER_MSG_ACQUIRE,
	TIER_MSG_RELEASE,
	TIER_MSG_DROP,
	TIER_MSG_STATS,
	TIER_MSG_PREFETCH,  /* body: struct tier_msg_lookup + n keys; reply: promotions started */
	TIER_MSG_FLUSH,     /* body: struct tier_msg_flush */
	TIER_MSG_HINT,      /* body: struct tier_msg_hint + n keys; reply: keys present */
	/*
	 * Administration (tierctl, LIBTIER_0.2).  POLICY with TIER_POLICY_SET,
	 * EVICT and NS_DROP change state: only root or the daemon's own uid.
	 */
	TIER_MSG_STATUS,     /* body: struct tier_msg_admin; reply: struct tier_daemon_status */
	TIER_MSG_CLIENTS,    /* body: struct tier_msg_admin; reply: n struct tier_client_info */
	TIER_MSG_NAMESPACES, /* body: struct tier_msg_admin; reply: n struct tier_ns_info */
	TIER_MSG_CONFIG,     /* body: struct tier_msg_admin; reply: INI text, NUL-terminated */
	TIER_MSG_POLICY,     /* body and reply: struct tier_msg_policy */
	TIER_MSG_EVICT,      /* body: struct tier_msg_evict; reply: struct tier_msg_evict_reply */
	TIER_MSG_NS_DROP,    /* body: struct tier_msg_ns_drop; reply status: blocks dropped */
	/*
	 * The GPU tier (T0, LIBTIER_0.3).  Appended, so the ABI version stays:
	 * an older daemon answers these -EINVAL, an older client never sends them.
	 */
	TIER_MSG_GPU_POOL,    /* body: struct tier_msg_gpu_pool; reply: struct tier_msg_gpu_pool_reply + 1 fd */
	TIER_MSG_ACQUIRE_GPU, /* body: struct tier_msg_key; reply: struct tier_msg_gpu_block_reply */
	/* Private arenas (LIBTIER_0.4), appended likewise. */
	TIER_MSG_ARENAS,      /* body: struct tier_msg_admin; reply: n struct tier_arena_info */
	/* The NVMe latency histograms (LIBTIER_0.5), appended likewise. */
	TIER_MSG_LATENCY,     /* body: struct tier_msg_admin; reply: struct tier_io_latency */
	/* Deleting a namespace (LIBTIER_0.6), appended likewise: root or the daemon's uid. */
	TIER_MSG_NS_DELETE,   /* body: struct tier_msg_ns_drop; reply status: blocks dropped */
	/* The remote tier's counters (LIBTIER_0.7), appended likewise. */
	TIER_MSG_REMOTE,      /* body: struct tier_msg_admin; reply: struct tier_remote_stats */
	TIER_MSG__MAX,
};

struct tier_msg_hdr {
	uint32_t magic;
	uint16_t type;
	uint16_t flags;  /* 0 */
	uint32_t seq;    /* chosen by the client, echoed */
	int32_t status;  /* replies: >= 0 or -errno; requests: 0 */
};

enum {
	TIER_HELLO_NO_RING = 1u << 0, /* the client uses the socket for everything */
	/*
	 * The client maps private arenas: the HELLO reply is followed by struct
	 * tier_msg_hello_span, and every NS_OPEN reply by struct tier_msg_ns_arena
	 * (and the arena's memfd).  A client without it may not open a namespace
	 * that has a private arena (-EOPNOTSUPP): it could not reach the bytes.
	 */
	TIER_HELLO_ARENAS = 1u << 1,
};

/*
 * HELLO: the first message.  The reply carries, with SCM_RIGHTS, the shared
 * arena's memfd and, unless TIER_HELLO_NO_RING, the ring segment memfd and
 * the doorbell eventfd (in that order).
 */
struct tier_msg_hello {
	uint32_t abi_version;
	uint32_t pid;    /* informational; the daemon trusts SO_PEERCRED */
	char name[TIER_CLIENT_NAME_MAX + 1];
	uint32_t flags;  /* TIER_HELLO_* */
	uint32_t pad;
};

struct tier_msg_hello_reply {
	uint32_t abi_version;
	uint32_t client_id;
	uint64_t arena_bytes;    /* size to map from the passed memfd */
	uint64_t max_block_size;
};

/*
 * With TIER_HELLO_ARENAS, after struct tier_msg_hello_reply: the offset
 * space to reserve.  The shared arena is mapped at 0; private arenas (passed
 * with NS_OPEN replies) at their start; the rest stays PROT_NONE.
 */
struct tier_msg_hello_span {
	uint64_t span_bytes;
	/*
	 * The span must start at a multiple of this (a power of two from 4096
	 * to 1 GiB): a private arena backed by huge pages can only be mapped
	 * on a huge-page boundary.  0 (an older daemon): the page size.
	 */
	uint64_t align_bytes;
};

/*
 * Reserve bytes of address space, PROT_NONE and uncommitted, starting at a
 * multiple of align (a power of two): over-reserve, then give back the ends.
 * The base, or MAP_FAILED with errno set.  Both sides map the arenas into
 * such a span.
 */
static inline void *tier_reserve_span(uint64_t bytes, uint64_t align)
{
	uint64_t over = align > 4096 ? align : 0;
	uint8_t *p, *at;

	if (bytes > SIZE_MAX - over) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	p = mmap(NULL, (size_t)(bytes + over), PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED || !over)
		return p;
	at = (uint8_t *)(((uintptr_t)p + over - 1) & ~(uintptr_t)(over - 1));
	if (at > p)
		munmap(p, (size_t)(at - p));
	if (at + bytes < p + bytes + over)
		munmap(at + bytes, (size_t)(p + bytes + over - (at + bytes)));
	return at;
}

/*
 * A memfd of bytes that the daemon passes to clients (the arenas, the ring
 * segments, the emulated GPU pool), created with MFD_ALLOW_SEALING plus flags
 * (MFD_CLOEXEC, MFD_HUGETLB), sized, then sealed F_SEAL_SHRINK | F_SEAL_GROW |
 * F_SEAL_SEAL: whoever holds it may write its bytes but never change its
 * size (a shrink would SIGBUS every other mapping of it, the daemon's
 * first) nor lift the seals.  Hugetlb memfds are sized with fallocate,
 * which also reserves the pages or fails cleanly; others with ftruncate.
 * The fd, or -errno (-EINVAL where the kernel cannot seal a hugetlb memfd:
 * before Linux 4.16).
 */
static inline int tier_memfd_sealed(const char *name, unsigned int flags, uint64_t bytes)
{
	int fd = memfd_create(name, flags | MFD_ALLOW_SEALING), r;

	if (fd < 0)
		return -errno;
	if ((flags & MFD_HUGETLB) ? fallocate(fd, 0, 0, (off_t)bytes) < 0
				  : ftruncate(fd, (off_t)bytes) < 0)
		goto fail;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail;
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}

struct tier_msg_ns_open {
	uint64_t block_size;
	char name[TIER_NAME_MAX + 1]; /* NUL-terminated */
};

struct tier_msg_ns_reply {
	uint32_t ns;
	uint32_t pad;
	uint64_t block_size;
};

/*
 * With TIER_HELLO_ARENAS, after struct tier_msg_ns_reply: where the
 * namespace's blocks live.  bytes 0: the shared arena.  Otherwise its private
 * arena's memfd comes with the reply (SCM_RIGHTS), to map at start.
 */
struct tier_msg_ns_arena {
	uint64_t start;
	uint64_t bytes;
};

struct tier_msg_alloc {
	uint32_t ns;
	uint32_t pad;
};

/* Reply to ALLOC and ACQUIRE: where the block's bytes are in the arena. */
struct tier_msg_block_reply {
	tier_handle handle;
	uint64_t offset;
	uint64_t size;
};

enum { TIER_COMMIT_HAS_PARENT = 1u << 0 };

struct tier_msg_commit {
	tier_handle handle;
	tier_key key;
	tier_key parent;
	uint32_t flags;   /* TIER_COMMIT_* */
	uint32_t pad;
};

/* LOOKUP: followed by n keys.  The reply's status is the leading count. */
struct tier_msg_lookup {
	uint32_t ns;
	uint32_t n;
	uint32_t first_pos;  /* position of keys[0] in the caller's whole list */
	uint32_t total;      /* length of the caller's whole list */
	tier_key parent;     /* key before keys[0] in that list, or ROOT */
};

struct tier_msg_key {
	uint32_t ns;
	uint32_t pad;
	tier_key key;
};

struct tier_msg_handle {
	tier_handle handle;
};

struct tier_msg_hint {
	uint32_t ns;
	uint32_t n;
	int32_t priority;
	uint32_t pad;
};

struct tier_msg_flush {
	uint32_t ns;      /* TIER_NS_ALL: every namespace */
	uint32_t pad;
};

/* STATS: the reply is struct tier_stats followed by n struct tier_ns_stats. */
struct tier_msg_stats {
	uint32_t max_ns;
	uint32_t pad;
};

/* ---- administration ---------------------------------------------- */

/* STATUS, CLIENTS, NAMESPACES, CONFIG: max entries wanted (lists), else 0. */
struct tier_msg_admin {
	uint32_t max;
	uint32_t pad;     /* 0 */
};

enum { TIER_POLICY_SET = 1u << 0 };

/* POLICY: show (flags 0, name empty) or set (TIER_POLICY_SET) a tier's eviction policy. */
struct tier_msg_policy {
	uint32_t tier;    /* enum tier_id */
	uint32_t flags;   /* TIER_POLICY_* */
	char name[TIER_POLICY_NAME_MAX + 1]; /* NUL-terminated; the reply: the policy in force */
};

struct tier_msg_evict {
	uint32_t tier;    /* enum tier_id */
	uint32_t pad;     /* 0 */
	uint64_t bytes;   /* > 0 */
};

struct tier_msg_evict_reply {
	uint64_t bytes;
	uint64_t blocks;
};

struct tier_msg_ns_drop {
	char name[TIER_NAME_MAX + 1]; /* NUL-terminated, not empty */
};

/* ---- the GPU tier (T0) -------------------------------------------- */

struct tier_msg_gpu_pool {
	uint32_t flags;   /* 0 */
	uint32_t pad;     /* 0 */
};

/* The pool as the client imports it: this plus the fd passed with SCM_RIGHTS. */
struct tier_msg_gpu_pool_reply {
	char backend[16];    /* "emu", "cuda" */
	char pci_bus_id[16]; /* the GPU ("" for emu) */
	uint64_t bytes;      /* pool size */
};

struct tier_msg_gpu_block_reply {
	tier_handle handle;
	uint64_t offset;     /* in the host arena */
	uint64_t size;
	uint64_t pool_offset; /* in the GPU pool */
};

#endif /* TIER_PROTO_H */
