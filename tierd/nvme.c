/* SPDX-License-Identifier: MIT */
/*
 * The NVMe engine: one io_uring, O_DIRECT files or block devices registered
 * as fixed files, the host arena registered as fixed buffers (in chunks of at
 * most 1 GiB, the kernel's limit per buffer, and never across two memfds: each
 * private arena has chunks of its own), and a pool of registered 4 KiB header
 * buffers, one per block I/O in flight.
 *
 * A block I/O is two SQEs, the header and the data, submitted together and
 * completed when both have; a short transfer of either is -EIO.  At most
 * queue_depth block I/Os are in flight; more wait in a FIFO.  Nothing is
 * submitted until nvme_submit(), so everything queued during one reactor
 * turn goes to the kernel in one system call.  Completions are signalled on
 * an eventfd that the reactor polls with everything else: no thread per
 * I/O, no synchronous pread/pwrite on the data path.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>
#include <xxhash.h>

#include "log.h"
#include "nvme.h"
#include "safefile.h"

#define ARENA_CHUNK (1ULL << 30)
#define LAT_BUCKETS 128 /* 4 per power of two of microseconds */
#define ALIGN_UP(x) (((x) + 4095ULL) & ~4095ULL)

enum fault_kind { FAULT_NONE, FAULT_EIO, FAULT_SHORT, FAULT_ENOSPC, FAULT_FLIP, FAULT_HANG };

struct nreq {
	uint8_t op;
	uint8_t fault;
	uint16_t dev;
	int32_t res;
	uint32_t parts;
	int32_t hdr_idx;
	uint64_t dev_off, host_off, len, cookie, t0;
	const void *buf;
	struct nreq *next;
	struct nv_hdr hdr;
};

struct fault_rule {
	uint8_t op;
	uint8_t kind;
	uint32_t every;   /* every Nth, or 0 */
	double p;         /* probability, when every == 0 */
	uint64_t count;
};

struct nvme_engine {
	struct io_uring ring;
	bool ring_ok;
	int efd;
	int fds[NVME_MAX_DEVS + 1]; /* devices, then the journal */
	uint32_t n_devs;
	struct nvme_dev_info info[NVME_MAX_DEVS];
	bool files_registered;
	bool bufs_registered;
	uint32_t n_arena_bufs;
	uint64_t *chunk_off;        /* n_arena_bufs chunks: offset and length in the span */
	uint64_t *chunk_len;
	uint8_t *arena;
	uint64_t arena_bytes;
	uint8_t *hdrs;              /* queue_depth * NVME_HDR_BYTES, registered last */
	int32_t *hdr_free;
	uint32_t n_hdr_free, qd;
	struct nreq *wait_head, *wait_tail;
	struct nreq *hung;          /* requests a "hang" fault keeps from the kernel */
	struct nreq *free_reqs;
	uint32_t pending_sqes;
	struct nvme_callbacks cb;
	struct nvme_counters c;
	uint64_t lat[2][LAT_BUCKETS];
	double lat_sum_us[2];
	struct fault_rule faults[8];
	uint32_t n_faults;
	uint64_t fault_rng;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- headers ------------------------------------------------------- */

void nv_hdr_seal(struct nv_hdr *h)
{
	h->magic = NVME_HDR_MAGIC;
	h->version = NVME_HDR_VERSION;
	h->hdr_csum = XXH3_64bits(h, offsetof(struct nv_hdr, hdr_csum));
}

bool nv_hdr_valid(const struct nv_hdr *h)
{
	return h->magic == NVME_HDR_MAGIC && h->version == NVME_HDR_VERSION &&
	       h->hdr_csum == XXH3_64bits(h, offsetof(struct nv_hdr, hdr_csum)) &&
	       memchr(h->ns_name, 0, sizeof(h->ns_name));
}

/* ---- fault injection (test seam) ----------------------------------- */

static int parse_faults(struct nvme_engine *e, const char *spec)
{
	char buf[256], *save = NULL, *tok;

	e->n_faults = 0;
	if (!spec || !*spec)
		return 0;
	if (strlen(spec) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char op[16], kind[16], rate[32];
		struct fault_rule r = { 0 };

		if (e->n_faults == sizeof(e->faults) / sizeof(e->faults[0]) ||
		    sscanf(tok, "%15[^:]:%15[^:]:%31s", op, kind, rate) != 3)
			return -EINVAL;
		if (!strcmp(op, "read"))
			r.op = NVME_READ;
		else if (!strcmp(op, "write"))
			r.op = NVME_WRITE;
		else
			return -EINVAL;
		if (!strcmp(kind, "eio"))
			r.kind = FAULT_EIO;
		else if (!strcmp(kind, "short"))
			r.kind = FAULT_SHORT;
		else if (!strcmp(kind, "enospc"))
			r.kind = FAULT_ENOSPC;
		else if (!strcmp(kind, "flip") && r.op == NVME_READ)
			r.kind = FAULT_FLIP;
		else if (!strcmp(kind, "hang"))
			r.kind = FAULT_HANG;
		else
			return -EINVAL;
		if (rate[0] == 'p') {
			r.p = strtod(rate + 1, NULL);
			if (!(r.p > 0 && r.p <= 1))
				return -EINVAL;
		} else {
			r.every = (uint32_t)strtoul(rate, NULL, 10);
			if (r.every == 0)
				return -EINVAL;
		}
		e->faults[e->n_faults++] = r;
	}
	return 0;
}

int nvme_fault_parse(const char *spec)
{
	struct nvme_engine e;

	return parse_faults(&e, spec);
}

static uint8_t pick_fault(struct nvme_engine *e, uint8_t op)
{
	for (uint32_t i = 0; i < e->n_faults; i++) {
		struct fault_rule *r = &e->faults[i];
		bool hit;

		if (r->op != op)
			continue;
		if (r->every) {
			hit = ++r->count % r->every == 0;
		} else {
			/* xorshift64: reproducible from the fixed seed */
			e->fault_rng ^= e->fault_rng << 13;
			e->fault_rng ^= e->fault_rng >> 7;
			e->fault_rng ^= e->fault_rng << 17;
			hit = (double)(e->fault_rng >> 11) / 9007199254740992.0 < r->p;
		}
		if (hit) {
			e->c.faults_injected++;
			e->c.faults_flip += r->kind == FAULT_FLIP;
			return r->kind;
		}
	}
	return FAULT_NONE;
}

/* ---- set-up -------------------------------------------------------- */

static int open_dev(struct nvme_engine *e, uint32_t i, const char *path, uint64_t bytes,
		    bool direct)
{
	struct nvme_dev_info *d = &e->info[i];
	struct stat st;
	int fd, flags = O_RDWR | O_CREAT;

	fd = safefile_open(path, flags | (direct ? O_DIRECT : 0), 0600, "nvme.path", true, false);
	if (fd == -EINVAL && direct) {
		log_notice("nvme.path %s: O_DIRECT refused by the filesystem, ignoring: "
			   "using buffered I/O",
			   path);
		fd = safefile_open(path, flags, 0600, "nvme.path", true, false);
		direct = false;
	}
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return log_ret(-errno, LOG_ERR, "nvme.path %s: %m", path);
	}
	d->direct = direct;
	if (S_ISBLK(st.st_mode)) {
		uint64_t sz = 0;

		if (ioctl(fd, BLKGETSIZE64, &sz) < 0) {
			close(fd);
			return log_ret(-errno, LOG_ERR, "nvme.path %s: size: %m", path);
		}
		d->is_blockdev = true;
		d->bytes = bytes && bytes < sz ? bytes : sz;
	} else if (S_ISREG(st.st_mode)) {
		if ((uint64_t)st.st_size < bytes) {
			/* Reserve the space now: ENOSPC at start, not in the middle of a write. */
			int r = posix_fallocate(fd, 0, (off_t)bytes);

			if (r == EOPNOTSUPP || r == EINVAL)
				r = ftruncate(fd, (off_t)bytes) < 0 ? errno : 0;
			if (r) {
				close(fd);
				return log_ret(-r, LOG_ERR, "nvme.path %s: sizing to %" PRIu64
					       " MiB: %s", path, bytes >> 20, strerror(r));
			}
		}
		d->bytes = bytes;
	} else {
		close(fd);
		return log_ret(-EINVAL, LOG_ERR, "nvme.path %s: not a file or block device", path);
	}
	e->fds[i] = fd;
	return 0;
}

/* Cut the ranges into chunks of at most ARENA_CHUNK, none across two ranges. */
static int plan_chunks(struct nvme_engine *e, const struct nvme_range *rg, uint32_t n_rg)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < n_rg; i++)
		n += (uint32_t)((rg[i].bytes + ARENA_CHUNK - 1) / ARENA_CHUNK);
	e->chunk_off = calloc(n ? n : 1, sizeof(uint64_t));
	e->chunk_len = calloc(n ? n : 1, sizeof(uint64_t));
	if (!e->chunk_off || !e->chunk_len)
		return -ENOMEM;
	n = 0;
	for (uint32_t i = 0; i < n_rg; i++)
		for (uint64_t off = 0; off < rg[i].bytes; off += ARENA_CHUNK, n++) {
			e->chunk_off[n] = rg[i].off + off;
			e->chunk_len[n] = rg[i].bytes - off < ARENA_CHUNK ? rg[i].bytes - off
									 : ARENA_CHUNK;
		}
	e->n_arena_bufs = n;
	return 0;
}

static void register_buffers(struct nvme_engine *e)
{
	uint32_t n = e->n_arena_bufs;
	struct iovec *iov = calloc(n + 1, sizeof(*iov));
	int r;

	if (!iov)
		return;
	for (uint32_t i = 0; i < n; i++) {
		iov[i].iov_base = e->arena + e->chunk_off[i];
		iov[i].iov_len = e->chunk_len[i];
	}
	iov[n].iov_base = e->hdrs;
	iov[n].iov_len = (size_t)e->qd * NVME_HDR_BYTES;
	r = io_uring_register_buffers(&e->ring, iov, n + 1);
	free(iov);
	if (r < 0) {
		log_warning("registering the host arena with io_uring failed (%s), ignoring: "
			    "I/O will pin pages per request; raise LimitMEMLOCK= to fix",
			    strerror(-r));
		return;
	}
	e->bufs_registered = true;
}

/* The registered chunk holding [off, off + len), or -1 (plain READ/WRITE then). */
static int chunk_of(const struct nvme_engine *e, uint64_t off, uint64_t len)
{
	if (!e->bufs_registered)
		return -1;
	for (uint32_t i = 0; i < e->n_arena_bufs; i++)
		if (off >= e->chunk_off[i] && off - e->chunk_off[i] < e->chunk_len[i])
			return len <= e->chunk_len[i] - (off - e->chunk_off[i]) ? (int)i : -1;
	return -1;
}

int nvme_open(struct nvme_engine **ret, const struct nvme_params *p, struct nvme_callbacks cb)
{
	struct io_uring_params up = { 0 };
	struct nvme_engine *e;
	unsigned entries = 8;
	int r;

	if (p->n_paths == 0 || p->n_paths > NVME_MAX_DEVS || p->queue_depth == 0)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (int i = 0; i <= NVME_MAX_DEVS; i++)
		e->fds[i] = -1;
	e->efd = -1;
	e->cb = cb;
	e->arena = p->arena;
	e->arena_bytes = p->arena_bytes;
	if (p->n_ranges) {
		r = plan_chunks(e, p->ranges, p->n_ranges);
	} else {
		struct nvme_range all = { 0, p->arena_bytes };

		r = plan_chunks(e, &all, 1);
	}
	if (r < 0)
		goto fail;
	e->qd = p->queue_depth;
	e->fault_rng = 0x9E3779B97F4A7C15ULL;
	r = parse_faults(e, p->fault_spec);
	if (r < 0) {
		log_err("fault injection spec '%s' is not valid", p->fault_spec);
		goto fail;
	}
	if (e->n_faults)
		log_warning("fault injection active: %s", p->fault_spec);

	for (uint32_t i = 0; i < p->n_paths; i++) {
		r = open_dev(e, i, p->paths[i], p->dev_bytes, p->direct);
		if (r < 0)
			goto fail;
		e->n_devs++;
	}
	e->fds[e->n_devs] = safefile_open(p->journal_path, O_RDWR | O_CREAT, 0600, "nvme.journal",
					  false, false);
	if (e->fds[e->n_devs] < 0) {
		r = e->fds[e->n_devs];
		goto fail;
	}

	e->hdrs = aligned_alloc(4096, (size_t)e->qd * NVME_HDR_BYTES);
	e->hdr_free = malloc(e->qd * sizeof(int32_t));
	if (!e->hdrs || !e->hdr_free) {
		r = -ENOMEM;
		goto fail;
	}
	memset(e->hdrs, 0, (size_t)e->qd * NVME_HDR_BYTES);
	for (uint32_t i = 0; i < e->qd; i++)
		e->hdr_free[i] = (int32_t)(e->qd - 1 - i);
	e->n_hdr_free = e->qd;

	while (entries < 2 * e->qd + NVME_MAX_DEVS + 8)
		entries <<= 1;
	if (p->sqpoll) {
		up.flags |= IORING_SETUP_SQPOLL;
		up.sq_thread_idle = 1000;
	}
	r = io_uring_queue_init_params(entries, &e->ring, &up);
	if (r < 0 && p->sqpoll) {
		log_warning("nvme.sqpoll: SQPOLL refused (%s), ignoring: using normal submission",
			    strerror(-r));
		memset(&up, 0, sizeof(up));
		r = io_uring_queue_init_params(entries, &e->ring, &up);
	}
	if (r < 0) {
		log_err("io_uring_queue_init: %s (a container's seccomp profile may block io_uring)",
			strerror(-r));
		goto fail;
	}
	e->ring_ok = true;
	if (io_uring_register_files(&e->ring, e->fds, e->n_devs + 1) == 0)
		e->files_registered = true;
	register_buffers(e);
	e->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->efd < 0 || io_uring_register_eventfd(&e->ring, e->efd) < 0) {
		r = log_ret(-errno, LOG_ERR, "io_uring eventfd: %m");
		goto fail;
	}
	*ret = e;
	return 0;
fail:
	nvme_close(e);
	return r;
}

void nvme_close(struct nvme_engine *e)
{
	if (!e)
		return;
	if (e->ring_ok)
		io_uring_queue_exit(&e->ring);
	for (int i = 0; i <= NVME_MAX_DEVS; i++)
		if (e->fds[i] >= 0)
			close(e->fds[i]);
	if (e->efd >= 0)
		close(e->efd);
	while (e->wait_head) {
		struct nreq *q = e->wait_head;

		e->wait_head = q->next;
		free(q);
	}
	while (e->hung) {
		struct nreq *q = e->hung;

		e->hung = q->next;
		free(q);
	}
	while (e->free_reqs) {
		struct nreq *q = e->free_reqs;

		e->free_reqs = q->next;
		free(q);
	}
	free(e->hdrs);
	free(e->hdr_free);
	free(e->chunk_off);
	free(e->chunk_len);
	free(e);
}

int nvme_event_fd(const struct nvme_engine *e)
{
	return e->efd;
}

int nvme_journal_fd(const struct nvme_engine *e)
{
	return e->fds[e->n_devs];
}

int nvme_journal_swap(struct nvme_engine *e, int fd, int *ret_old)
{
	if (e->pending_sqes)
		return -EBUSY; /* prepared, unsubmitted requests may name the old one */
	if (e->files_registered) {
		int r = io_uring_register_files_update(&e->ring, e->n_devs, &fd, 1);

		if (r < 0)
			return r;
		if (r != 1)
			return -EIO;
	}
	*ret_old = e->fds[e->n_devs];
	e->fds[e->n_devs] = fd;
	return 0;
}

const struct nvme_dev_info *nvme_dev(const struct nvme_engine *e, uint32_t dev)
{
	return dev < e->n_devs ? &e->info[dev] : NULL;
}

/* ---- requests ------------------------------------------------------ */

static struct nreq *req_new(struct nvme_engine *e)
{
	struct nreq *q = e->free_reqs;

	if (q)
		e->free_reqs = q->next;
	else
		q = malloc(sizeof(*q));
	if (q)
		memset(q, 0, offsetof(struct nreq, hdr));
	return q;
}

static void req_free(struct nvme_engine *e, struct nreq *q)
{
	q->next = e->free_reqs;
	e->free_reqs = q;
}

static struct io_uring_sqe *get_sqe(struct nvme_engine *e)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);

	if (!sqe) {
		/* SQ full: hand what is there to the kernel and try again. */
		io_uring_submit(&e->ring);
		e->pending_sqes = 0;
		sqe = io_uring_get_sqe(&e->ring);
	}
	if (sqe)
		e->pending_sqes++;
	return sqe;
}

static void set_file(struct nvme_engine *e, struct io_uring_sqe *sqe)
{
	if (e->files_registered)
		sqe->flags |= IOSQE_FIXED_FILE;
}

static int file_of(const struct nvme_engine *e, uint32_t idx)
{
	return e->files_registered ? (int)idx : e->fds[idx];
}

/* Start a block I/O that has a header buffer. */
static void start_block(struct nvme_engine *e, struct nreq *q)
{
	uint8_t *hb = e->hdrs + (size_t)q->hdr_idx * NVME_HDR_BYTES;
	uint64_t dlen = ALIGN_UP(q->len);
	int chunk = chunk_of(e, q->host_off, dlen);
	bool fixed_data = chunk >= 0;
	struct io_uring_sqe *h, *d;
	int fd = file_of(e, q->dev);

	q->fault = pick_fault(e, q->op);
	if (q->fault == FAULT_HANG) {
		/* A device that never answers: the request stays in flight until close. */
		q->next = e->hung;
		e->hung = q;
		e->c.inflight++;
		return;
	}
	h = get_sqe(e);
	d = get_sqe(e);
	/* A short fault is real: ask the kernel for half the data. */
	if (q->fault == FAULT_SHORT)
		dlen = ALIGN_UP(dlen / 2);
	q->parts = 2;
	q->t0 = now_ns();
	if (q->op == NVME_WRITE) {
		memset(hb, 0, NVME_HDR_BYTES);
		memcpy(hb, &q->hdr, sizeof(q->hdr));
		if (e->bufs_registered)
			io_uring_prep_write_fixed(h, fd, hb, NVME_HDR_BYTES, q->dev_off,
						  (int)e->n_arena_bufs);
		else
			io_uring_prep_write(h, fd, hb, NVME_HDR_BYTES, q->dev_off);
		if (fixed_data)
			io_uring_prep_write_fixed(d, fd, e->arena + q->host_off, (unsigned)dlen,
						  q->dev_off + NVME_HDR_BYTES, chunk);
		else
			io_uring_prep_write(d, fd, e->arena + q->host_off, (unsigned)dlen,
					    q->dev_off + NVME_HDR_BYTES);
	} else {
		if (e->bufs_registered)
			io_uring_prep_read_fixed(h, fd, hb, NVME_HDR_BYTES, q->dev_off,
						 (int)e->n_arena_bufs);
		else
			io_uring_prep_read(h, fd, hb, NVME_HDR_BYTES, q->dev_off);
		if (fixed_data)
			io_uring_prep_read_fixed(d, fd, e->arena + q->host_off, (unsigned)dlen,
						 q->dev_off + NVME_HDR_BYTES, chunk);
		else
			io_uring_prep_read(d, fd, e->arena + q->host_off, (unsigned)dlen,
					   q->dev_off + NVME_HDR_BYTES);
	}
	set_file(e, h);
	set_file(e, d);
	/* user_data: the request; the low bit tells the header SQE from the data SQE. */
	io_uring_sqe_set_data64(h, (uint64_t)(uintptr_t)q | 1);
	io_uring_sqe_set_data64(d, (uint64_t)(uintptr_t)q);
	e->c.inflight++;
}

/* Move waiting block requests into flight while header buffers are free. */
static void drain_waiting(struct nvme_engine *e)
{
	while (e->wait_head && e->n_hdr_free) {
		struct nreq *q = e->wait_head;

		e->wait_head = q->next;
		if (!e->wait_head)
			e->wait_tail = NULL;
		e->c.queued--;
		q->hdr_idx = e->hdr_free[--e->n_hdr_free];
		start_block(e, q);
	}
}

static int queue_block(struct nvme_engine *e, uint8_t op, uint32_t dev, uint64_t dev_off,
		       const struct nv_hdr *hdr, uint64_t host_off, uint64_t len, uint64_t cookie)
{
	struct nreq *q;

	if (dev >= e->n_devs || host_off + ALIGN_UP(len) > e->arena_bytes ||
	    dev_off + NVME_HDR_BYTES + ALIGN_UP(len) > e->info[dev].bytes)
		return -EINVAL;
	q = req_new(e);
	if (!q)
		return -ENOMEM;
	q->op = op;
	q->dev = (uint16_t)dev;
	q->dev_off = dev_off;
	q->host_off = host_off;
	q->len = len;
	q->cookie = cookie;
	q->hdr_idx = -1;
	if (hdr)
		q->hdr = *hdr;
	if (e->wait_tail)
		e->wait_tail->next = q;
	else
		e->wait_head = q;
	e->wait_tail = q;
	e->c.queued++;
	drain_waiting(e);
	return 0;
}

int nvme_write_block(struct nvme_engine *e, uint32_t dev, uint64_t dev_off,
		     const struct nv_hdr *hdr, uint64_t host_off, uint64_t len, uint64_t cookie)
{
	return queue_block(e, NVME_WRITE, dev, dev_off, hdr, host_off, len, cookie);
}

int nvme_read_block(struct nvme_engine *e, uint32_t dev, uint64_t dev_off, uint64_t host_off,
		    uint64_t len, uint64_t cookie)
{
	return queue_block(e, NVME_READ, dev, dev_off, NULL, host_off, len, cookie);
}

int nvme_fsync_all(struct nvme_engine *e, uint64_t cookie)
{
	struct nreq *q = req_new(e);

	if (!q)
		return -ENOMEM;
	q->op = NVME_FSYNC;
	q->cookie = cookie;
	q->hdr_idx = -1;
	q->parts = e->n_devs + 1;
	q->t0 = now_ns();
	for (uint32_t i = 0; i <= e->n_devs; i++) {
		struct io_uring_sqe *s = get_sqe(e);

		io_uring_prep_fsync(s, file_of(e, i), IORING_FSYNC_DATASYNC);
		set_file(e, s);
		io_uring_sqe_set_data64(s, (uint64_t)(uintptr_t)q);
	}
	return 0;
}

int nvme_journal_write(struct nvme_engine *e, const void *buf, uint64_t len, uint64_t off,
		       uint64_t cookie)
{
	struct nreq *q = req_new(e);
	struct io_uring_sqe *s;

	if (!q)
		return -ENOMEM;
	q->op = NVME_JWRITE;
	q->cookie = cookie;
	q->hdr_idx = -1;
	q->parts = 1;
	q->len = len;
	q->t0 = now_ns();
	s = get_sqe(e);
	io_uring_prep_write(s, file_of(e, e->n_devs), buf, (unsigned)len, off);
	set_file(e, s);
	io_uring_sqe_set_data64(s, (uint64_t)(uintptr_t)q);
	return 0;
}

void nvme_submit(struct nvme_engine *e)
{
	if (e->pending_sqes) {
		io_uring_submit(&e->ring);
		e->pending_sqes = 0;
	}
}

static void record_latency(struct nvme_engine *e, int op, uint64_t t0)
{
	double us = (double)(now_ns() - t0) / 1000.0;
	int b = us < 1 ? 0 : (int)(4.0 * log2(us));

	if (b >= LAT_BUCKETS)
		b = LAT_BUCKETS - 1;
	e->lat[op == NVME_READ ? 0 : 1][b]++;
	e->lat_sum_us[op == NVME_READ ? 0 : 1] += us;
}

static void complete(struct nvme_engine *e, struct nreq *q)
{
	const struct nv_hdr *hdr = NULL;
	int res = q->res;

	if (q->op == NVME_READ || q->op == NVME_WRITE) {
		if (res == 0) {
			switch (q->fault) {
			case FAULT_EIO: res = -EIO; break;
			case FAULT_ENOSPC: res = -ENOSPC; break;
			case FAULT_FLIP:
				/* Corruption in the data as if the device returned it. */
				e->arena[q->host_off + q->len / 2] ^= 0x5a;
				break;
			default: break;
			}
		}
		if (res == 0) {
			if (q->op == NVME_READ) {
				e->c.reads++;
				e->c.read_bytes += q->len;
			} else {
				e->c.writes++;
				e->c.write_bytes += q->len;
			}
			record_latency(e, q->op, q->t0);
		} else {
			e->c.io_errors++;
		}
		hdr = (const struct nv_hdr *)(e->hdrs + (size_t)q->hdr_idx * NVME_HDR_BYTES);
		e->hdr_free[e->n_hdr_free++] = q->hdr_idx;
		e->c.inflight--;
	} else if (res < 0) {
		e->c.io_errors++;
	}
	e->cb.done(e->cb.ctx, (enum nvme_op)q->op, q->cookie, res, hdr);
	req_free(e, q);
}

int nvme_reap(struct nvme_engine *e)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	int done = 0;
	uint64_t v;

	(void)!read(e->efd, &v, sizeof(v));
	io_uring_for_each_cqe(&e->ring, head, cqe) {
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		struct nreq *q = (struct nreq *)(uintptr_t)(ud & ~1ULL);
		uint64_t want;

		seen++;
		if (q->op == NVME_READ || q->op == NVME_WRITE)
			want = (ud & 1) ? NVME_HDR_BYTES : ALIGN_UP(q->len);
		else if (q->op == NVME_JWRITE)
			want = q->len;
		else
			want = 0;
		if (q->res == 0) {
			if (cqe->res < 0)
				q->res = cqe->res;
			else if ((uint64_t)cqe->res != want)
				q->res = -EIO; /* short transfer */
		}
		if (--q->parts == 0) {
			complete(e, q);
			done++;
		}
	}
	io_uring_cq_advance(&e->ring, seen);
	drain_waiting(e);
	return done;
}

int nvme_wait(struct nvme_engine *e)
{
	struct io_uring_cqe *cqe;

	nvme_submit(e);
	if (io_uring_wait_cqe(&e->ring, &cqe) < 0)
		return -EIO;
	return nvme_reap(e);
}

void nvme_counters(const struct nvme_engine *e, struct nvme_counters *ret)
{
	*ret = e->c;
}

void nvme_latency_hist(const struct nvme_engine *e, enum nvme_op op, uint64_t *le, unsigned n,
		       uint64_t *ret_count, double *ret_sum_us)
{
	const uint64_t *h = e->lat[op == NVME_READ ? 0 : 1];
	uint64_t acc = 0;
	int i = 0;

	/* Bucket i ends at 2^((i + 1) / 4) us: up to 2^k us are buckets 0 .. 4k - 1. */
	for (unsigned k = 0; k < n; k++) {
		for (; i < LAT_BUCKETS && i <= 4 * (int)k - 1; i++)
			acc += h[i];
		le[k] = acc;
	}
	for (; i < LAT_BUCKETS; i++)
		acc += h[i];
	*ret_count = acc;
	*ret_sum_us = e->lat_sum_us[op == NVME_READ ? 0 : 1];
}

double nvme_latency_us(const struct nvme_engine *e, enum nvme_op op, double q)
{
	const uint64_t *h = e->lat[op == NVME_READ ? 0 : 1];
	uint64_t total = 0, acc = 0;

	for (int i = 0; i < LAT_BUCKETS; i++)
		total += h[i];
	if (!total)
		return 0;
	for (int i = 0; i < LAT_BUCKETS; i++) {
		acc += h[i];
		if ((double)acc >= q * (double)total)
			return exp2((double)(i + 1) / 4.0); /* the bucket's upper bound */
	}
	return exp2((double)LAT_BUCKETS / 4.0);
}
