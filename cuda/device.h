/* SPDX-License-Identifier: MIT */
/*
 * The device tier (T0) back-end interface: a pool of GPU memory owned by the
 * daemon, exported to the client processes on the same GPU, and asynchronous
 * copies between pool offsets and host memory.
 *
 * Two back ends implement it (registry in device.c, looked up by name):
 *
 *   "cuda"  cuda_backend.c — CUDA VMM (cuMemCreate) exported as a POSIX file
 *           descriptor, copies on the back end's own streams, completion by
 *           cudaEvent polling.  Built only when nvcc is found (-Dcuda=auto);
 *           open() fails with -ENODEV on a machine without a GPU or driver.
 *   "emu"   emu_backend.c — the same semantics on host memory: the pool is a
 *           memfd (exported as that fd), and a submitted copy is performed
 *           only when poll() is called, so every caller is tested against
 *           copies that complete later.
 *
 * Internal header: the daemon and the tests include it; it is not installed.
 * Errors are negative errno values, as everywhere in tierd.
 *
 * Threading: a tier_dev and its pools belong to one thread at a time (the
 * daemon's reactor).  Nothing here takes locks.
 */
#ifndef TIERD_CUDA_DEVICE_H
#define TIERD_CUDA_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tier_dev;      /* an opened device (back-end private) */
struct tier_dev_pool; /* an allocated or imported pool (back-end private) */

/* What a device is; filled by the info hook. */
struct tier_dev_info {
	char backend[16];      /* "cuda", "emu" */
	char name[64];         /* "NVIDIA H200", "emulated (host memory)" */
	char pci_bus_id[16];   /* "0000:17:00.0"; "" for emu.  topo.c places the host arena by it. */
	int ordinal;           /* CUDA device ordinal (emu: what was asked) */
	uint64_t total_bytes;  /* device memory (emu: 0, unknown) */
	uint64_t granularity;  /* pool sizes are rounded up to a multiple of this */
};

/*
 * A pool as it travels to another process: this descriptor (plain bytes,
 * send it in the same datagram) plus one file descriptor (SCM_RIGHTS).
 * Both back ends export a file descriptor, so the daemon's fd-passing path is
 * the same for both.
 */
#define TIER_DEV_EXPORT_MAGIC 0x54304558u /* "T0EX" */
struct tier_dev_export {
	uint32_t magic;
	uint32_t version;      /* 1 */
	char backend[16];      /* must match the importer's back end */
	char pci_bus_id[16];   /* the importer must be on the same GPU */
	uint64_t bytes;        /* pool size */
	uint64_t reserved[4];
};

/* Direction of one copy. */
enum tier_dev_dir {
	TIER_DEV_H2D = 0,      /* host -> pool */
	TIER_DEV_D2H = 1,      /* pool -> host */
};

/* One contiguous copy between the pool and host memory. */
struct tier_dev_copy {
	uint32_t dir;          /* enum tier_dev_dir */
	uint32_t pad;
	uint64_t pool_off;     /* byte offset in the pool */
	void *host;            /* host address (registered for full speed) */
	uint64_t len;
};

/* A finished batch. */
struct tier_dev_completion {
	uint64_t cookie;       /* as given to copy_submit */
	int status;            /* 0, or a negative errno (-EIO: the device failed it) */
};

/*
 * The back-end ops table.  REQUIRED hooks must be non-NULL; OPTIONAL ones may
 * be NULL, and the tier_dev_* wrappers below then return -EOPNOTSUPP.
 */
struct tier_dev_ops {
	const char *name;

	/* REQUIRED.  Open device ordinal.  -ENODEV: no such device, no GPU or no
	 * driver (callers fall back to "emu"); the reason goes to why[]. */
	int (*open)(int ordinal, struct tier_dev **ret, char *why, size_t whylen);
	/* REQUIRED.  Free everything: pools must have been freed first. */
	void (*close)(struct tier_dev *d);
	/* REQUIRED. */
	int (*info)(struct tier_dev *d, struct tier_dev_info *out);

	/* REQUIRED.  A pool of at least bytes (rounded up to the granularity),
	 * exportable when export is non-NULL.  -ENOMEM when the device is full. */
	int (*pool_alloc)(struct tier_dev *d, uint64_t bytes, struct tier_dev_pool **ret);
	/* REQUIRED.  Frees an allocated or an imported pool; copies on it must
	 * have completed (poll) first. */
	void (*pool_free)(struct tier_dev_pool *p);
	/* REQUIRED.  The pool's base as the device sees it (a CUdeviceptr for
	 * CUDA, a host address for emu): kernels take base + offset. */
	void *(*pool_base)(struct tier_dev_pool *p);
	/* REQUIRED. */
	uint64_t (*pool_bytes)(struct tier_dev_pool *p);

	/* OPTIONAL.  Export a pool: *ret_fd is a new descriptor the caller owns
	 * (close it after sending). */
	int (*pool_export)(struct tier_dev_pool *p, struct tier_dev_export *ret, int *ret_fd);
	/* OPTIONAL.  Map a pool exported by another process into this one.  The
	 * fd stays the caller's.  -EXDEV: exported by another back end or GPU. */
	int (*pool_import)(struct tier_dev *d, const struct tier_dev_export *exp, int fd,
			   struct tier_dev_pool **ret);

	/* OPTIONAL.  Pin (cudaHostRegister) host memory the copies use, e.g. the
	 * host arena, so DMA runs at full speed; unregister before unmapping. */
	int (*host_register)(struct tier_dev *d, void *p, size_t len);
	int (*host_unregister)(struct tier_dev *d, void *p);

	/* REQUIRED.  Queue n copies on pool p as one batch and return at once;
	 * the batch completes later, all copies together, reported by poll with
	 * cookie.  Batches complete in submission order per direction.
	 * -EINVAL: a range outside the pool; -EAGAIN: too many batches in flight
	 * (poll first). */
	int (*copy_submit)(struct tier_dev *d, struct tier_dev_pool *p,
			   const struct tier_dev_copy *copies, size_t n, uint64_t cookie);
	/* REQUIRED.  Write up to max finished batches to out[] without waiting;
	 * returns how many. */
	int (*poll)(struct tier_dev *d, struct tier_dev_completion *out, size_t max);
	/* REQUIRED.  Batches submitted and not yet reported by poll. */
	size_t (*in_flight)(struct tier_dev *d);
};

/* ---- registry (device.c) ---------------------------------------------- */

/* The back ends built in, NULL-terminated: "cuda" (when built) then "emu". */
extern const struct tier_dev_ops *const tier_dev_backends[];
extern const struct tier_dev_ops tier_dev_emu_ops;
#if TIERD_HAVE_CUDA
extern const struct tier_dev_ops tier_dev_cuda_ops;
#endif

/* The back end called name, or NULL. */
const struct tier_dev_ops *tier_dev_lookup(const char *name);

/*
 * Open a device: name "cuda" or "emu", or "auto" (or NULL): "cuda" when it
 * opens, else "emu", with the reason the GPU was not used in why[].
 * *ret_ops is the back end that opened.
 */
int tier_dev_open(const char *name, int ordinal, const struct tier_dev_ops **ret_ops,
		  struct tier_dev **ret, char *why, size_t whylen);

/*
 * Send / receive an export (descriptor + fd) over a connected unix socket
 * (SOCK_STREAM or SOCK_SEQPACKET): one sendmsg with SCM_RIGHTS.  The daemon
 * does the same inside its own protocol; these are for tools and tests.
 * recv: *ret_fd is a new descriptor (O_CLOEXEC) the caller owns.
 */
int tier_dev_send_export(int sock, const struct tier_dev_export *exp, int fd);
int tier_dev_recv_export(int sock, struct tier_dev_export *exp, int *ret_fd);

/*
 * Wait (polling, with short sleeps) until cookie completes; its status, or
 * -ENOENT when nothing is in flight.  Other completions polled meanwhile are
 * dropped: for tools and tests, not for the daemon.
 */
int tier_dev_wait(const struct tier_dev_ops *ops, struct tier_dev *d, uint64_t cookie);

#endif
