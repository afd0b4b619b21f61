/* SPDX-License-Identifier: MIT */
/*
 * The host arena: one memfd, so that clients map the very same pages (the
 * fd goes to them over the socket) and read and write blocks in place.
 *
 * Isolation: a namespace with a private arena (nsrule_arena_bytes) gets a
 * memfd of its own, and only clients allowed to open that namespace receive
 * it.  Every memfd is mapped MAP_FIXED into one span reserved PROT_NONE, the
 * shared arena at 0 and each private one at its start, so a block offset is
 * one number in the store, the NVMe engine and the clients alike; a client
 * without the fd has nothing but PROT_NONE there.
 *
 * Huge pages: MFD_HUGETLB succeeds even when none are reserved and the
 * failure comes later as SIGBUS on first touch, so "auto" first checks
 * HugePages_Free and then fallocate()s the whole size, which reserves the
 * pages or fails cleanly.  Without them, MADV_HUGEPAGE asks for transparent
 * huge pages (a no-op where shmem THP is off).  Every memfd is sealed
 * against shrinking and growing before anyone maps it (tier_memfd_sealed):
 * a client can write the bytes it was given but not truncate them away from
 * under the daemon.  The arena is bound to its
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
#include "proto.h"
#include "slab.h"
#include "topo.h"

static bool meminfo_read(const char *path, uint64_t *ret_free, uint64_t *ret_page)
{
	FILE *f = fopen(path ? path : "/proc/meminfo", "re");
	char line[256];
	uint64_t free_pages = 0, page_kb = 0;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "HugePages_Free: %" SCNu64, &free_pages);
		sscanf(line, "Hugepagesize: %" SCNu64 " kB", &page_kb);
	}
	fclose(f);
	*ret_free = free_pages * page_kb * 1024;
	*ret_page = page_kb * 1024;
	return true;
}

uint64_t host_hugepages_free_bytes(const char *path)
{
	uint64_t free_b = 0, page = 0;

	return meminfo_read(path, &free_b, &page) ? free_b : 0;
}

uint64_t host_hugepage_bytes(const char *path)
{
	uint64_t free_b = 0, page = 0;

	return meminfo_read(path, &free_b, &page) ? page : 0;
}

static int region_memfd(struct host_region *g, const struct tierd_config *c)
{
	bool try_huge = c->hugepages == HUGEPAGES_ON ||
			(c->hugepages == HUGEPAGES_AUTO &&
			 host_hugepages_free_bytes(NULL) >= g->bytes);
	char name[16 + TIER_NAME_MAX];
	int fd;

	snprintf(name, sizeof(name), g->ns[0] ? "tierd-ns-%s" : "tierd-host", g->ns);
	/*
	 * Every client maps these bytes: sealed against size changes (a
	 * truncate would SIGBUS the daemon and every client).  Huge pages only
	 * where the kernel seals hugetlb memfds too (4.16 on): an unsealed
	 * arena is never passed.
	 */
	if (try_huge) {
		fd = tier_memfd_sealed(name, MFD_CLOEXEC | MFD_HUGETLB, g->bytes);
		if (fd >= 0) {
			g->hugetlb = true;
			return fd;
		}
		if (c->hugepages == HUGEPAGES_ON)
			return log_ret(fd, LOG_ERR,
				       "host.hugepages=on but %" PRIu64
				       " MiB of sealed huge pages cannot be had for %s: %s",
				       g->bytes >> 20, name, strerror(-fd));
		log_notice("huge pages could not be reserved and sealed for %s (%s), ignoring: "
			   "using normal pages", name, strerror(-fd));
	}
	fd = tier_memfd_sealed(name, MFD_CLOEXEC, g->bytes);
	if (fd < 0)
		return log_ret(fd, LOG_ERR, "creating %s (%" PRIu64 " bytes, sealed): %s", name,
			       g->bytes, strerror(-fd));
	return fd;
}

/*
 * The arena in normal pages gets transparent huge pages from MADV_HUGEPAGE
 * only where shmem THP allows it; say so once where it is off, since copies
 * out of the arena are measurably slower in 4 KiB pages (docs/BENCHMARKS.md).
 */
static void shmem_thp_hint(void)
{
	char buf[128] = "", *open_b, *close_b;
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "re");

	if (!f)
		return;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	open_b = strchr(buf, '[');
	close_b = open_b ? strchr(open_b, ']') : NULL;
	if (!close_b)
		return;
	*close_b = 0;
	if (strcmp(open_b + 1, "never") == 0 || strcmp(open_b + 1, "deny") == 0)
		log_notice("host arena: 4 KiB pages: shmem transparent huge pages are '%s'; "
			   "'advise' in /sys/kernel/mm/transparent_hugepage/shmem_enabled (or "
			   "reserved huge pages) gives the arena 2 MiB pages and faster copies",
			   open_b + 1);
}

/* Create region g's memfd and map it at its start in the span, bound, locked. */
static int region_map(struct host_arena *a, struct host_region *g, const struct tierd_config *c)
{
	uint8_t *at = a->base + g->start;
	int r = region_memfd(g, c);

	if (r < 0)
		return r;
	g->fd = r;
	if (mmap(at, g->bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, g->fd, 0) ==
	    MAP_FAILED)
		return log_ret(-errno, LOG_ERR, "mapping the arena: %m");
	if (!g->hugetlb)
		(void)madvise(at, g->bytes, MADV_HUGEPAGE);
	if (a->node >= 0) {
		r = topo_bind(at, g->bytes, a->node);
		if (r < 0)
			log_warning("binding the arena to NUMA node %d failed (%s), ignoring",
				    a->node, strerror(-r));
	}
	if (mlock(at, g->bytes) == 0) {
		g->locked = true;
	} else {
		log_warning("mlock of the %" PRIu64 " MiB %s arena refused (%m): it may be swapped; "
			    "raise LimitMEMLOCK= (systemd) or ulimit -l, or grant CAP_IPC_LOCK",
			    g->bytes >> 20, g->ns[0] ? g->ns : "host");
		/* Fault the pages in anyway so clients do not pay for it. */
		(void)madvise(at, g->bytes, MADV_POPULATE_WRITE);
	}
	return 0;
}

const struct host_region *host_region_of(const struct host_arena *a, const char *name)
{
	for (uint32_t i = 1; i < a->n_regions; i++)
		if (strcmp(a->region[i].ns, name) == 0)
			return &a->region[i];
	return NULL;
}

int host_arena_init(struct host_arena *a, const struct tierd_config *c)
{
	uint64_t align = SLAB_EXTENT_BYTES, huge = host_hugepage_bytes(NULL), end;
	char why[128];
	void *p;
	int r;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	for (uint32_t i = 0; i < HOST_REGIONS_MAX; i++)
		a->region[i].fd = -1;
	a->bytes = c->host_bytes / SLAB_EXTENT_BYTES * SLAB_EXTENT_BYTES;
	if (a->bytes == 0)
		return log_ret(-EINVAL, LOG_ERR, "host.size: smaller than one 2 MiB extent");

	a->node = topo_pick_node(c->numa_node, why, sizeof(why));
	if (a->node == -EINVAL)
		return log_ret(-EINVAL, LOG_ERR, "host.numa_node: node %d does not exist",
			       c->numa_node);

	/* A hugetlb mapping must start on a huge page: every region does. */
	if (c->hugepages != HUGEPAGES_OFF && huge > align && huge <= (1ULL << 30))
		align = huge;
	a->region[0].bytes = a->bytes;
	a->n_regions = 1;
	end = (a->bytes + align - 1) / align * align;
	for (uint32_t i = 0; i < c->ns_rules.n; i++) {
		const struct ns_rule *rule = &c->ns_rules.r[i];
		struct host_region *g = &a->region[a->n_regions];

		if (!nsrule_arena_bytes(rule))
			continue;
		snprintf(g->ns, sizeof(g->ns), "%s", rule->name);
		g->bytes = nsrule_arena_bytes(rule);
		g->start = end;
		end += (g->bytes + align - 1) / align * align;
		a->n_regions++;
	}
	a->span = end;
	a->align = align;
	/*
	 * Reserved, not committed: only the memfds mapped into it hold memory.
	 * Aligned, so that a hugetlb memfd can be mapped at every region start.
	 */
	p = tier_reserve_span(a->span, a->align);
	if (p == MAP_FAILED)
		return log_ret(-errno, LOG_ERR, "reserving %" PRIu64 " MiB for the arenas: %m",
			       a->span >> 20);
	a->base = p;
	for (uint32_t i = 0; i < a->n_regions; i++) {
		struct host_region *g = &a->region[i];

		r = region_map(a, g, c);
		if (r < 0) {
			host_arena_deinit(a);
			return r;
		}
		if (i == 0) {
			log_info("host arena: %" PRIu64 " MiB, %s pages, %s, NUMA node %d (%s)",
				 g->bytes >> 20, g->hugetlb ? "huge" : "normal",
				 g->locked ? "locked" : "not locked", a->node, why);
			if (!g->hugetlb)
				shmem_thp_hint();
		} else
			log_info("namespace %s: private arena of %" PRIu64 " MiB at +%" PRIu64
				 " MiB, %s pages, %s (in addition to host.size)", g->ns,
				 g->bytes >> 20, g->start >> 20, g->hugetlb ? "huge" : "normal",
				 g->locked ? "locked" : "not locked");
	}
	a->fd = a->region[0].fd;
	return 0;
}

void host_arena_deinit(struct host_arena *a)
{
	if (a->base)
		munmap(a->base, a->span);
	for (uint32_t i = 0; i < HOST_REGIONS_MAX; i++)
		if (a->region[i].fd >= 0)
			close(a->region[i].fd);
	memset(a, 0, sizeof(*a));
	a->fd = -1;
	for (uint32_t i = 0; i < HOST_REGIONS_MAX; i++)
		a->region[i].fd = -1;
}
