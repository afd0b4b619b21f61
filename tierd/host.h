/* SPDX-License-Identifier: MIT */
/* The host-DRAM tier's memory: one shared memfd arena. */
#ifndef TIERD_HOST_H
#define TIERD_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct host_arena {
	int fd;            /* memfd, passed to clients */
	uint8_t *base;
	uint64_t bytes;
	bool hugetlb;      /* backed by reserved huge pages */
	bool locked;       /* mlocked */
	int node;          /* NUMA node bound to, -1 none */
};

/*
 * Create the arena of c->host_bytes (rounded down to whole 2 MiB extents)
 * following c->hugepages and c->numa_node.  Refused mlock is a warning, not
 * an error.  0 or a negative errno (logged).
 */
int host_arena_init(struct host_arena *a, const struct tierd_config *c);
void host_arena_deinit(struct host_arena *a);

/* Free huge pages of the default size, from /proc/meminfo (path overridable for tests). */
uint64_t host_hugepages_free_bytes(const char *meminfo_path);

#endif
