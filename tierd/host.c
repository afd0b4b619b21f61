/* SPDX-License-Identifier: MIT */
/*
 * The host arena: one memfd, so that clients map the very same pages (the
 * fd goes to them over the socket) and read and write blocks in place.
 *
 * Huge pages: MFD_HUGETLB succeeds even when none are reserved and the
 * failure comes later as SIGBUS on first touch, so "auto" first checks
 * HugePages_Free and then fallocate()s the whole size, which reserves the
 * pages or fails cleanly.  Without them, MADV_HUGEPAGE asks for transparent
 * huge pages (a no-op where shmem THP is off).  The arena is bound to its
 * NUMA node before first touch, then mlocked, which also faults every page in
 * so no client ever takes a page fault on a fresh block.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#include "log.h"
#include "slab.h"
#include "topo.h"

uint64_t host_hugepages_free_bytes(const char *path)
{
	FILE *f = fopen(path ? path : "/proc/meminfo", "re");
	char line[256];
	uint64_t free_pages = 0, page_kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "HugePages_Free: %" SCNu64, &free_pages);
		sscanf(line, "Hugepagesize: %" SCNu64 " kB", &page_kb);
	}
	fclose(f);
	return free_pages * page_kb * 1024;
}

static int arena_memfd(struct host_arena *a, const struct tierd_config *c)
{
	bool try_huge = c->hugepages == HUGEPAGES_ON ||
			(c->hugepages == HUGEPAGES_AUTO &&
			 host_hugepages_free_bytes(NULL) >= a->bytes);
	int fd, r;

	if (try_huge) {
		fd = memfd_create("tierd-host", MFD_CLOEXEC | MFD_HUGETLB);
		if (fd >= 0 && fallocate(fd, 0, 0, (off_t)a->bytes) == 0) {
			a->hugetlb = true;
			return fd;
		}
		r = -errno;
		if (fd >= 0)
			close(fd);
		if (c->hugepages == HUGEPAGES_ON)
			return log_ret(r, LOG_ERR,
				       "host.hugepages=on but %" PRIu64
				       " MiB of huge pages cannot be reserved: %s",
				       a->bytes >> 20, strerror(-r));
		log_notice("huge pages could not be reserved (%s), ignoring: using normal pages",
			   strerror(-r));
	}
	fd = memfd_create("tierd-host", MFD_CLOEXEC);
	if (fd < 0)
		return log_ret(-errno, LOG_ERR, "memfd_create: %m");
	if (ftruncate(fd, (off_t)a->bytes) < 0) {
		r = -errno;
		close(fd);
		return log_ret(r, LOG_ERR, "sizing the arena to %" PRIu64 " bytes: %s", a->bytes,
			       strerror(-r));
	}
	return fd;
}

int host_arena_init(struct host_arena *a, const struct tierd_config *c)
{
	char why[128];
	void *p;
	int r;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	a->bytes = c->host_bytes / SLAB_EXTENT_BYTES * SLAB_EXTENT_BYTES;
	if (a->bytes == 0)
		return log_ret(-EINVAL, LOG_ERR, "host.size: smaller than one 2 MiB extent");

	a->node = topo_pick_node(c->numa_node, why, sizeof(why));
	if (a->node == -EINVAL)
		return log_ret(-EINVAL, LOG_ERR, "host.numa_node: node %d does not exist",
			       c->numa_node);

	r = arena_memfd(a, c);
	if (r < 0)
		return r;
	a->fd = r;
	p = mmap(NULL, a->bytes, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
	if (p == MAP_FAILED) {
		r = -errno;
		host_arena_deinit(a);
		return log_ret(r, LOG_ERR, "mapping the arena: %s", strerror(-r));
	}
	a->base = p;
	if (!a->hugetlb)
		(void)madvise(a->base, a->bytes, MADV_HUGEPAGE);
	if (a->node >= 0) {
		r = topo_bind(a->base, a->bytes, a->node);
		if (r < 0)
			log_warning("binding the arena to NUMA node %d failed (%s), ignoring",
				    a->node, strerror(-r));
	}
	if (mlock(a->base, a->bytes) == 0) {
		a->locked = true;
	} else {
		log_warning("mlock of the %" PRIu64 " MiB host arena refused (%m): it may be swapped; "
			    "raise LimitMEMLOCK= (systemd) or ulimit -l, or grant CAP_IPC_LOCK",
			    a->bytes >> 20);
		/* Fault the pages in anyway so clients do not pay for it. */
		(void)madvise(a->base, a->bytes, MADV_POPULATE_WRITE);
	}
	log_info("host arena: %" PRIu64 " MiB, %s pages, %s, NUMA node %d (%s)", a->bytes >> 20,
		 a->hugetlb ? "huge" : "normal", a->locked ? "locked" : "not locked", a->node, why);
	return 0;
}

void host_arena_deinit(struct host_arena *a)
{
	if (a->base)
		munmap(a->base, a->bytes);
	if (a->fd >= 0)
		close(a->fd);
	memset(a, 0, sizeof(*a));
	a->fd = -1;
}
