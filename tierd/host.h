/* SPDX-License-Identifier: MIT */
/*
 * The host-DRAM tier's memory: the shared memfd arena, plus one private
 * memfd arena per namespace that has one (ns.NAME.arena), all mapped into
 * one reserved span so that a block's offset means the same everywhere.
 */
#ifndef TIERD_HOST_H
#define TIERD_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

#define HOST_REGIONS_MAX (1 + NS_RULES_MAX)

/* One memfd, mapped at base + start: the shared arena (region 0) or a namespace's own. */
struct host_region {
	char ns[TIER_NAME_MAX + 1]; /* the namespace it belongs to; "" for the shared arena */
	int fd;
	uint64_t start;             /* offset in the span */
	uint64_t bytes;
	bool hugetlb;               /* backed by reserved huge pages */
	bool locked;                /* mlocked */
};

struct host_arena {
	int fd;            /* the shared arena's memfd (region[0].fd), passed to every client */
	uint8_t *base;     /* the span; region i at base + region[i].start */
	uint64_t bytes;    /* the shared arena's size */
	uint64_t span;     /* bytes reserved at base: every region, aligned */
	uint64_t align;    /* base and every region start are multiples of it */
	uint32_t n_regions;
	struct host_region region[HOST_REGIONS_MAX];
	int node;          /* NUMA node bound to, -1 none */
};

/*
 * Create the shared arena of c->host_bytes (rounded down to whole 2 MiB
 * extents) and a private one per namespace rule with nsrule_arena_bytes(),
 * each following c->hugepages and c->numa_node, each starting at a multiple
 * of the huge page size (at least 2 MiB).  Refused mlock is a warning, not an
 * error.  0 or a negative errno (logged).
 */
int host_arena_init(struct host_arena *a, const struct tierd_config *c);
void host_arena_deinit(struct host_arena *a);

/* The region holding namespace name's private arena, or NULL. */
const struct host_region *host_region_of(const struct host_arena *a, const char *name);

/* Free huge pages of the default size, from /proc/meminfo (path overridable for tests). */
uint64_t host_hugepages_free_bytes(const char *meminfo_path);
/* The default huge page size from /proc/meminfo (0 when unknown). */
uint64_t host_hugepage_bytes(const char *meminfo_path);

#endif
