/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of the NVMe tier: start-up recovery from the journal,
 * the per-turn work of the reactor (completions, parked requests, demotion,
 * journal appends, one submit), and the orderly shutdown that writes back
 * everything only in host memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "safefile.h"
#include "server.h"

#define RECOVER_CHUNK (8u << 20)

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- store <-> engine ----------------------------------------------- */

static int io_write(void *ctx, tier_handle h, uint32_t dev, uint64_t dev_off,
		    const struct nv_hdr *hdr, uint64_t host_off, uint64_t len)
{
	return nvme_write_block(((struct server *)ctx)->nvme, dev, dev_off, hdr, host_off, len, h);
}

static int io_read(void *ctx, tier_handle h, uint32_t dev, uint64_t dev_off, uint64_t host_off,
		   uint64_t len)
{
	return nvme_read_block(((struct server *)ctx)->nvme, dev, dev_off, host_off, len, h);
}

static void io_done(void *ctx, enum nvme_op op, uint64_t cookie, int res, const struct nv_hdr *hdr)
{
	struct server *s = ctx;

	s->io_progress = true;
	switch (op) {
	case NVME_WRITE:
		store_write_done(&s->store, cookie, res);
		break;
	case NVME_READ:
		store_read_done(&s->store, cookie, res, hdr);
		break;
	case NVME_JWRITE:
		if (res < 0)
			log_err("journal write failed: %s: those blocks will not be recovered "
				"after a restart", strerror(-res));
		journal_written(&s->store.nv.journal, res == 0);
		s->jbuf = NULL;
		break;
	case NVME_FSYNC: {
		uint32_t idx = (uint32_t)(cookie >> 32);
		struct session *se = idx < s->cfg.max_clients ? s->sessions[idx] : NULL;

		if (res < 0)
			log_err("fdatasync of the NVMe tier failed: %s", strerror(-res));
		if (cookie == UINT64_MAX) {
			s->shutdown_synced = true;
			break;
		}
		/* The client may have gone meanwhile: then nobody waits. */
		if (se && se->id == (uint32_t)cookie) {
			se->fsync_done = true;
			se->fsync_res = res;
		}
		break;
	}
	}
}

/* ---- recovery -------------------------------------------------------- */

static int read_journal(struct server *s, const char *path, uint64_t *ret_valid)
{
	struct store_recovery *rc;
	uint8_t *buf;
	size_t have = 0;
	double t0 = mono_s();
	uint64_t total = 0;
	struct stat sb;
	int fd;

	*ret_valid = 0;
	if (lstat(path, &sb) < 0 && errno == ENOENT) {
		log_info("nvme: no journal at %s: starting empty", path);
		return 0;
	}
	fd = safefile_open(path, O_RDONLY, 0, "nvme.journal", false, false);
	if (fd < 0)
		return fd;
	rc = malloc(sizeof(*rc));
	buf = malloc(RECOVER_CHUNK + JREC_BYTES);
	if (!rc || !buf) {
		free(rc);
		free(buf);
		close(fd);
		return -ENOMEM;
	}
	if (fstat(fd, &sb) == 0)
		total = (uint64_t)sb.st_size;
	store_recover_begin(rc, &s->store);
	for (;;) {
		ssize_t n = read(fd, buf + have, RECOVER_CHUNK);
		size_t used;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		journal_parse(buf, have, store_recover_record, rc, &used);
		*ret_valid += used;
		if (used < have - have % JREC_BYTES)
			break; /* a torn or foreign record: the journal ends here */
		memmove(buf, buf + used, have - used);
		have -= used;
		sd_notifyf(0, "STATUS=recovering the NVMe tier: %" PRIu64 "/%" PRIu64 " MiB of journal",
			   *ret_valid >> 20, total >> 20);
	}
	close(fd);
	store_recover_end(rc);
	log_info("nvme: recovered %" PRIu64 " blocks from %" PRIu64 " journal records in %.3f s "
		 "(%" PRIu64 " superseded, %" PRIu64 " deleted, %" PRIu64 " rejected)",
		 rc->blocks, rc->records, mono_s() - t0, rc->superseded, rc->deleted, rc->rejected);
	if (rc->deleted_ns || rc->forgotten_ns)
		log_info("nvme: %" PRIu64 " namespaces deleted by the operator, %" PRIu64
			 " empty ones forgotten", rc->deleted_ns, rc->forgotten_ns);
	if (*ret_valid < total)
		log_notice("nvme: journal ends in %" PRIu64 " bytes that do not verify (a torn "
			   "tail), ignoring them", total - *ret_valid);
	free(rc);
	free(buf);
	return 0;
}

struct image_ctx {
	int fd;
	uint8_t buf[256 * JREC_BYTES];
	size_t n;
	int err;
};

static void image_flush(struct image_ctx *x)
{
	size_t off = 0;

	while (off < x->n && !x->err) {
		ssize_t w = write(x->fd, x->buf + off, x->n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			x->err = errno ? -errno : -EIO;
		else
			off += (size_t)w;
	}
	x->n = 0;
}

static void image_emit(void *arg, const struct jrec *r)
{
	struct image_ctx *x = arg;

	memcpy(x->buf + x->n, r, JREC_BYTES);
	x->n += JREC_BYTES;
	if (x->n == sizeof(x->buf))
		image_flush(x);
}

/*
 * The live records (store_journal_image) into a new file at tmp, synced.
 * The file stays open read-write in *ret_fd.
 */
static int write_image(struct server *s, const char *tmp, int *ret_fd, uint64_t *ret_bytes)
{
	struct image_ctx *x = calloc(1, sizeof(*x));
	uint64_t n;
	int r;

	if (!x)
		return -ENOMEM;
	x->fd = safefile_open(tmp, O_RDWR, 0600, "nvme.journal", false, true);
	if (x->fd < 0) {
		r = x->fd;
		free(x);
		return r;
	}
	/* Compaction is when empty namespaces nobody holds open are forgotten. */
	if ((n = store_ns_forget_idle(&s->store)))
		log_info("nvme.journal: forgetting %" PRIu64 " empty namespaces nobody has open", n);
	n = store_journal_image(&s->store, image_emit, x);
	image_flush(x);
	if (!x->err && fdatasync(x->fd) < 0)
		x->err = -errno;
	r = x->err;
	if (r < 0) {
		close(x->fd);
		unlink(tmp);
	} else {
		*ret_fd = x->fd;
		*ret_bytes = n * JREC_BYTES;
	}
	free(x);
	return r;
}

/* The rename of a journal survives a crash once its directory is synced. */
static void sync_dir_of(const char *path)
{
	char dir[300];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fsync(fd) < 0)
		log_warning("nvme.journal: fsync of %s: %m", dir);
	close(fd);
}

/*
 * Rewrite the journal with only the live records: a new file, synced, then
 * renamed over the old one, so a crash in the middle leaves one or the other.
 * At start-up and shutdown, when the engine does not hold the journal.
 */
static int compact_journal(struct server *s, const char *path, uint64_t *ret_bytes)
{
	char tmp[310];
	int fd, r;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	r = write_image(s, tmp, &fd, ret_bytes);
	if (r < 0)
		return log_ret(r, LOG_ERR, "nvme.journal: compaction failed: %s", strerror(-r));
	close(fd);
	if (rename(tmp, path) < 0) {
		r = log_ret(-errno, LOG_ERR, "nvme.journal: compaction failed: rename: %m");
		unlink(tmp);
		return r;
	}
	sync_dir_of(path);
	return 0;
}

/* The journal's path: configured, or the first device path + ".journal". */
static void journal_path(const struct server *s, char *buf, size_t len)
{
	if (s->cfg.nvme_journal[0])
		snprintf(buf, len, "%s", s->cfg.nvme_journal);
	else
		snprintf(buf, len, "%s.journal", s->cfg.nvme_paths[0]);
}

int server_nvme_init(struct server *s)
{
	struct nvme_range ranges[HOST_REGIONS_MAX];
	struct nvme_params p = { 0 };
	struct nvme_callbacks cb = { .ctx = s, .done = io_done };
	struct epoll_event ev = { .events = EPOLLIN };
	char jpath[300];
	uint64_t valid, image;
	int r;

	s->old_jfd = -1;
	if (!s->cfg.nvme_n_paths)
		return 0;
	journal_path(s, jpath, sizeof(jpath));
	r = read_journal(s, jpath, &valid);
	if (r < 0)
		return r;
	r = compact_journal(s, jpath, &image);
	if (r < 0)
		return r;
	s->store.nv.journal.end = image;

	for (uint32_t i = 0; i < s->cfg.nvme_n_paths; i++)
		p.paths[i] = s->cfg.nvme_paths[i];
	p.n_paths = s->cfg.nvme_n_paths;
	p.dev_bytes = s->cfg.nvme_bytes / s->cfg.nvme_n_paths;
	p.queue_depth = s->cfg.nvme_queue_depth;
	p.sqpoll = s->cfg.nvme_sqpoll;
	p.direct = s->cfg.nvme_direct;
	p.journal_path = jpath;
	for (uint32_t i = 0; i < s->arena.n_regions; i++)
		ranges[i] = (struct nvme_range){ s->arena.region[i].start, s->arena.region[i].bytes };
	p.arena = s->arena.base;
	p.arena_bytes = s->arena.span;
	p.ranges = ranges;
	p.n_ranges = s->arena.n_regions;
	p.fault_spec = getenv("TIERD_FAULT_INJECT");
	r = nvme_open(&s->nvme, &p, cb);
	if (r < 0)
		return r;
	ev.data.ptr = s->nvme;
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, nvme_event_fd(s->nvme), &ev) < 0)
		return log_ret(-errno, LOG_ERR, "epoll_ctl: %m");
	log_info("nvme tier: %u path%s, %" PRIu64 " MiB, queue depth %u%s%s, journal %s",
		 p.n_paths, p.n_paths > 1 ? "s" : "", s->store.nv.capacity >> 20, p.queue_depth,
		 nvme_dev(s->nvme, 0)->direct ? ", O_DIRECT" : ", buffered",
		 p.sqpoll ? ", SQPOLL" : "", jpath);
	return 0;
}

/* The store's I/O hooks, for server_init to hand to store_init. */
struct store_io server_store_io(struct server *s)
{
	return (struct store_io){ .ctx = s, .write_block = io_write, .read_block = io_read,
				  .gpu_copy_in = server_gpu_copy_in };
}

/* ---- each reactor turn ---------------------------------------------- */

void server_retry_parked(struct server *s)
{
	for (uint32_t i = 0; i < s->n_sessions;) {
		struct session *se = s->live[i];

		if (se->ring.n_parked)
			ring_retry(s, se);
		if (se->parked && !session_retry(s, se)) {
			session_close(s, se); /* the last live session moved to i */
			continue;
		}
		i++;
	}
}

/*
 * Due when the file is at least nvme.journal_compact_min and more than twice
 * what an image of the live records would take (so each compaction at least
 * halves it and the work per record written stays bounded).
 */
static bool compaction_due(const struct server *s)
{
	const struct store *st = &s->store;
	uint64_t min = s->cfg.nvme_journal_compact_min;
	uint64_t live = ((uint64_t)st->n_ns + st->nv.blocks) * JREC_BYTES;

	return min && st->nv.journal.end >= min && st->nv.journal.end > 2 * live &&
	       mono_s() >= s->jcompact_after;
}

static void journal_append(struct server *s)
{
	const void *buf;
	size_t len;
	uint64_t off;

	if (s->jbuf || !journal_take(&s->store.nv.journal, &buf, &len, &off))
		return;
	s->jbuf = buf;
	if (nvme_journal_write(s->nvme, buf, len, off, 0) < 0) {
		journal_written(&s->store.nv.journal, false);
		s->jbuf = NULL;
	}
}

/*
 * Compaction while running, between two reactor turns: no journal write in
 * flight, nothing prepared for the ring.  The image is written to a new file
 * and synced; the engine switches to it; it is renamed over the journal. A
 * crash before the rename leaves the old journal, which is still complete:
 * the records queued now and dropped (the image holds their effect) were
 * not in it, as after any crash.  A failure leaves the old journal in use
 * and waits a minute before the next try.
 */
static int compact_running(struct server *s)
{
	struct journal *j = &s->store.nv.journal;
	char path[300], tmp[310];
	uint64_t before = j->end, bytes;
	double t0 = mono_s();
	int fd, old, r;

	journal_path(s, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	r = write_image(s, tmp, &fd, &bytes);
	if (r < 0)
		goto fail;
	r = nvme_journal_swap(s->nvme, fd, &old);
	if (r < 0) {
		close(fd);
		unlink(tmp);
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		if (nvme_journal_swap(s->nvme, old, &fd) == 0) {
			close(fd);
			unlink(tmp);
			goto fail;
		}
		/*
		 * Neither step can be undone: the engine writes the image's file,
		 * which keeps the .tmp name.  Its records go on from the image's
		 * end; a restart replays the old journal and misses the blocks
		 * written from now on (misses, never wrong bytes).
		 */
		log_at(LOG_CRIT, "nvme.journal: %s could not be renamed (%s) and the engine could not "
			 "go back to the old journal: blocks written from now on are lost at a "
			 "restart", tmp, strerror(-r));
		close(old);
		(void)journal_rebased(j, bytes);
		s->jcompact_after = 1e300;
		return r;
	}
	sync_dir_of(path);
	if (s->old_jfd >= 0)
		close(s->old_jfd);
	s->old_jfd = old;
	(void)journal_rebased(j, bytes);
	log_info("nvme: journal compacted while running: %" PRIu64 " -> %" PRIu64
		 " records in %.3f s", before / JREC_BYTES, bytes / JREC_BYTES, mono_s() - t0);
	return 0;
fail:
	s->jcompact_after = mono_s() + 60;
	log_err("nvme.journal: compaction while running failed: %s: retrying in 60 s",
		strerror(-r));
	return r;
}

void server_nvme_turn(struct server *s)
{
	if (!s->nvme)
		return;
	nvme_reap(s->nvme);
	/* Parked requests first: they are waiting clients; demotion is background. */
	if (s->io_progress) {
		s->io_progress = false;
		server_retry_parked(s);
	}
	store_balance(&s->store);
	/* A due compaction waits for the write in flight; the image will hold the rest. */
	if (!compaction_due(s))
		journal_append(s);
	nvme_submit(s->nvme);
	if (!s->jbuf && compaction_due(s) && compact_running(s) == 0) {
		/*
		 * The records it dropped count as written, with no completion to
		 * say so: a flush parked on them goes on now, not at its timeout.
		 */
		server_retry_parked(s);
		nvme_submit(s->nvme);
	}
}

/* ---- shutdown -------------------------------------------------------- */

void server_nvme_shutdown(struct server *s)
{
	struct store *st = &s->store;
	struct journal *j = &st->nv.journal;
	uint64_t epoch, image;
	char jpath[300];
	double t0 = mono_s();

	if (!s->nvme)
		return;
	sd_notify(0, "STATUS=writing back blocks only in host memory");
	if (store_flush_start(st, TIER_NS_ALL, &epoch) == 0) {
		uint64_t errors = st->nv.io_errors;

		/*
		 * Wait only while writes are on their way: blocks that found no
		 * NVMe room (-ENOSPC) would leave nothing to wait for, forever.
		 */
		while (store_flush_kick(st, TIER_NS_ALL, epoch) == -EINPROGRESS &&
		       st->nv.io_errors == errors) {
			journal_append(s);
			if (nvme_wait(s->nvme) < 0)
				break;
		}
	}
	/* Everything in flight finishes, and the journal catches up. */
	while (st->nv.demote_inflight || s->jbuf || j->n) {
		journal_append(s);
		if (nvme_wait(s->nvme) < 0)
			break;
	}
	s->shutdown_synced = false;
	if (nvme_fsync_all(s->nvme, UINT64_MAX) == 0)
		while (!s->shutdown_synced && nvme_wait(s->nvme) >= 0)
			;
	log_info("nvme: wrote back %" PRIu64 " blocks in %.3f s", st->nv.writebacks,
		 mono_s() - t0);
	{
		struct nvme_counters nc;

		/* The fault campaigns compare what was injected with what was counted. */
		nvme_counters(s->nvme, &nc);
		if (nc.faults_injected)
			log_notice("nvme: fault injection: %" PRIu64 " faults injected (%" PRIu64
				   " bit flips), %" PRIu64 " I/O errors, %" PRIu64
				   " checksum failures",
				   nc.faults_injected, nc.faults_flip, nc.io_errors,
				   st->nv.checksum_failures);
	}
	nvme_close(s->nvme);
	s->nvme = NULL;
	if (s->old_jfd >= 0) {
		close(s->old_jfd);
		s->old_jfd = -1;
	}
	journal_path(s, jpath, sizeof(jpath));
	if (compact_journal(s, jpath, &image) == 0)
		log_info("nvme: journal compacted to %" PRIu64 " records",
			 image / JREC_BYTES);
}

void server_nvme_deinit(struct server *s)
{
	if (s->nvme) {
		nvme_close(s->nvme);
		s->nvme = NULL;
		if (s->old_jfd >= 0) {
			close(s->old_jfd);
			s->old_jfd = -1;
		}
	}
}
