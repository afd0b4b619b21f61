/* SPDX-License-Identifier: MIT */
/* Placement: which NUMA node the host arena belongs on (hwloc + libnuma). */
#ifndef TIERD_TOPO_H
#define TIERD_TOPO_H

#include <stddef.h>

/*
 * The node for the host arena.  configured >= 0 is checked to exist;
 * configured < 0 (auto) picks the node nearest the first NVIDIA GPU that
 * hwloc finds, else the node of the CPU we run on.  Returns the node, -1 when
 * the system has no NUMA support (nothing to bind), or -EINVAL for a node
 * that does not exist.  why (size whylen) says how the choice was made.
 */
int topo_pick_node(int configured, char *why, size_t whylen);

/* Bind [addr, addr+len) to node (libnuma).  0 or a negative errno. */
int topo_bind(void *addr, size_t len, int node);

#endif
