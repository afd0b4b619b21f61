/* SPDX-License-Identifier: MIT */
/*
 * The NVMe tier's I/O engine: io_uring over O_DIRECT files or block devices.
 * It moves bytes and reports completions; what the bytes mean (which block,
 * is it valid) is the store's business.
 */
#ifndef TIERD_NVME_H
#define TIERD_NVME_H

#include <stdbool.h>
#include <stdint.h>

#include "tier.h"

#define NVME_MAX_DEVS 16
#define NVME_HDR_BYTES 4096u          /* on-device header in front of each block */
#define NVME_HDR_MAGIC 0x544e5642u    /* "TNVB" */
#define NVME_HDR_VERSION 1

/* The meaningful part of a block's on-device header (the rest of the 4 KiB is zero). */
struct nv_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t pad;
	uint64_t seq;          /* global write sequence */
	tier_key key;
	uint64_t length;       /* data bytes (the namespace's block size) */
	uint64_t block_size;   /* namespace block size */
	uint64_t data_csum;    /* XXH3-64 of the data */
	char ns_name[TIER_NAME_MAX + 1];
	uint64_t hdr_csum;     /* XXH3-64 of everything above */
};

enum nvme_op { NVME_READ = 1, NVME_WRITE, NVME_FSYNC, NVME_JWRITE };

/* Completion: res is 0 on success or a negative errno (-EIO for a short transfer). */
struct nvme_callbacks {
	void *ctx;
	void (*done)(void *ctx, enum nvme_op op, uint64_t cookie, int res, const struct nv_hdr *hdr);
};

/* A range of the host span backed by one memfd. */
struct nvme_range {
	uint64_t off, bytes;
};

struct nvme_params {
	const char *paths[NVME_MAX_DEVS];
	uint32_t n_paths;
	uint64_t dev_bytes;      /* bytes per device (files are created/grown to it) */
	uint32_t queue_depth;    /* block I/Os in flight at most */
	bool sqpoll;
	bool direct;             /* O_DIRECT (falls back, with a log line, where refused) */
	const char *journal_path;
	uint8_t *arena;          /* the span of host arenas, I/O from and to base + offset */
	uint64_t arena_bytes;    /* the span's bytes */
	/* The memfd regions in the span, registered as fixed buffers region by region. */
	const struct nvme_range *ranges;
	uint32_t n_ranges;
	const char *fault_spec;  /* test seam: see nvme_fault_parse() */
};

struct nvme_dev_info {
	uint64_t bytes;
	bool direct;
	bool is_blockdev;
};

struct nvme_counters {
	uint64_t read_bytes, write_bytes, reads, writes, io_errors, faults_injected;
	uint64_t faults_flip;    /* of faults_injected: bit flips (the others fail the I/O) */
	uint32_t inflight, queued;
};

struct nvme_engine;

int nvme_open(struct nvme_engine **ret, const struct nvme_params *p, struct nvme_callbacks cb);
void nvme_close(struct nvme_engine *e);

/* The descriptor to poll (readable when completions wait). */
int nvme_event_fd(const struct nvme_engine *e);
const struct nvme_dev_info *nvme_dev(const struct nvme_engine *e, uint32_t dev);
/* The journal file's descriptor (read at start-up, rewritten on compaction). */
int nvme_journal_fd(const struct nvme_engine *e);
/*
 * Make fd (open, read-write) the journal from now on: for compaction while
 * running.  The engine owns fd from then on and hands back the previous
 * descriptor in *ret_old: the caller closes it once no request submitted
 * before the swap can still use it.  -EBUSY when requests are queued but
 * not submitted (call nvme_submit first).
 */
int nvme_journal_swap(struct nvme_engine *e, int fd, int *ret_old);

/*
 * Queue I/O.  Requests beyond the queue depth wait in FIFO order; nothing
 * is submitted to the kernel until nvme_submit().  A block is laid out as
 * its header (NVME_HDR_BYTES) at dev_off followed by len data bytes, which
 * come from / go to the host arena at host_off.
 */
int nvme_write_block(struct nvme_engine *e, uint32_t dev, uint64_t dev_off,
		     const struct nv_hdr *hdr, uint64_t host_off, uint64_t len, uint64_t cookie);
int nvme_read_block(struct nvme_engine *e, uint32_t dev, uint64_t dev_off, uint64_t host_off,
		    uint64_t len, uint64_t cookie);
/* fdatasync every device and the journal. */
int nvme_fsync_all(struct nvme_engine *e, uint64_t cookie);
/* Write buf (the caller keeps it alive until completion) at off of the journal. */
int nvme_journal_write(struct nvme_engine *e, const void *buf, uint64_t len, uint64_t off,
		       uint64_t cookie);

/* Hand queued requests to the kernel (one system call for the batch). */
void nvme_submit(struct nvme_engine *e);
/* Process completions (callbacks run here).  Returns how many requests finished. */
int nvme_reap(struct nvme_engine *e);
/* Wait until at least one request finishes (shutdown paths only). */
int nvme_wait(struct nvme_engine *e);

void nvme_counters(const struct nvme_engine *e, struct nvme_counters *ret);
/* Latency percentile (0 < q < 1) of completed reads or writes, in microseconds. */
double nvme_latency_us(const struct nvme_engine *e, enum nvme_op op, double q);
/*
 * The latency of op as n cumulative counts: le[k] = I/Os of at most 2^k us;
 * *ret_count all of them, *ret_sum_us their total time.
 */
void nvme_latency_hist(const struct nvme_engine *e, enum nvme_op op, uint64_t *le, unsigned n,
		       uint64_t *ret_count, double *ret_sum_us);

/* Header helpers (pure). */
void nv_hdr_seal(struct nv_hdr *h);
bool nv_hdr_valid(const struct nv_hdr *h);

/*
 * Fault injection (tests only): a comma-separated list of OP:KIND:RATE,
 * OP read|write, KIND eio|short|enospc|flip|hang (never completes), RATE an integer N (every Nth
 * such request) or pF (probability F, seeded, reproducible).  For example
 * "read:flip:3,write:eio:p0.01".  Set through $TIERD_FAULT_INJECT.
 */
int nvme_fault_parse(const char *spec);

#endif
