/* SPDX-License-Identifier: MIT */
/*
 * NUMA placement.  hwloc knows where PCI devices hang; libnuma binds memory.
 * The arena should live on the node whose memory controller is nearest the
 * GPU (DMA to a remote node crosses the socket interconnect and loses a third
 * or more of its bandwidth); without a GPU, nearest the daemon's own CPU.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>

#include <hwloc.h>
#include <numa.h>
#include <numaif.h>

#include "topo.h"

#define PCI_VENDOR_NVIDIA 0x10de

static int gpu_node(char *why, size_t whylen)
{
	hwloc_topology_t t;
	hwloc_obj_t o = NULL;
	int node = -1;

	if (hwloc_topology_init(&t) < 0)
		return -1;
	hwloc_topology_set_io_types_filter(t, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
	if (hwloc_topology_load(t) < 0) {
		hwloc_topology_destroy(t);
		return -1;
	}
	while ((o = hwloc_get_next_pcidev(t, o))) {
		hwloc_obj_t anc;

		/* Class 0x03xx: display controllers (VGA 0x0300, 3D 0x0302). */
		if (o->attr->pcidev.vendor_id != PCI_VENDOR_NVIDIA ||
		    (o->attr->pcidev.class_id >> 8) != 0x03)
			continue;
		anc = hwloc_get_non_io_ancestor_obj(t, o);
		if (anc && anc->nodeset) {
			node = hwloc_bitmap_first(anc->nodeset);
			if (node >= 0) {
				snprintf(why, whylen, "nearest the GPU at %04x:%02x:%02x.%x",
					 o->attr->pcidev.domain, o->attr->pcidev.bus,
					 o->attr->pcidev.dev, o->attr->pcidev.func);
				break;
			}
		}
	}
	hwloc_topology_destroy(t);
	return node;
}

int topo_pick_node(int configured, char *why, size_t whylen)
{
	int node, cpu;

	snprintf(why, whylen, "no NUMA support");
	if (numa_available() < 0)
		return configured > 0 ? -EINVAL : -1;
	if (configured >= 0) {
		if (configured > numa_max_node() || numa_node_size64(configured, NULL) <= 0)
			return -EINVAL;
		snprintf(why, whylen, "configured");
		return configured;
	}
	node = gpu_node(why, whylen);
	if (node >= 0)
		return node;
	cpu = sched_getcpu();
	node = cpu >= 0 ? numa_node_of_cpu(cpu) : -1;
	if (node < 0)
		node = 0;
	snprintf(why, whylen, "no GPU found: the daemon's own node");
	return node;
}

int topo_bind(void *addr, size_t len, int node)
{
	struct bitmask *bm;
	int r = 0;

	if (node < 0 || numa_available() < 0)
		return 0;
	bm = numa_allocate_nodemask();
	if (!bm)
		return -ENOMEM;
	numa_bitmask_setbit(bm, (unsigned)node);
	/* MPOL_BIND before the pages are touched: they are born on node. */
	if (mbind(addr, len, MPOL_BIND, bm->maskp, bm->size + 1, 0) < 0)
		r = -errno;
	numa_free_nodemask(bm);
	return r;
}
