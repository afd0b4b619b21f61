/* SPDX-License-Identifier: MIT */
/*
 * The cluster's slot map and the addresses in it, parsed from what the
 * servers say (CLUSTER SLOTS replies, MOVED and ASK errors), with no I/O.
 */
#ifndef TIERD_REMOTE_MAP_H
#define TIERD_REMOTE_MAP_H

#include <stdbool.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "remote_key.h"

#define REMOTE_NODES_MAX 128
#define REMOTE_HOST_MAX 64
#define REMOTE_NO_NODE 0xffffu

struct remote_addr {
	char host[REMOTE_HOST_MAX]; /* numeric: the reactor never resolves a name */
	uint16_t port;
};

struct remote_map {
	uint16_t owner[REMOTE_SLOTS]; /* index in addr, or REMOTE_NO_NODE: a slot nobody serves */
	struct remote_addr addr[REMOTE_NODES_MAX];
	uint32_t n_addr;
	uint32_t n_covered;           /* slots with an owner */
};

/* "HOST:PORT" (IPv4, or [IPv6]:PORT) into *a: 0 or -EINVAL. */
int remote_addr_parse(const char *s, size_t len, struct remote_addr *a);
/* "HOST:PORT[,HOST:PORT...]": how many went into out (at most max), or -EINVAL. */
int remote_seeds_parse(const char *list, struct remote_addr *out, uint32_t max);
bool remote_addr_eq(const struct remote_addr *a, const struct remote_addr *b);

void remote_map_clear(struct remote_map *m);
/*
 * A CLUSTER SLOTS reply into *m (masters only: the first address of each
 * range).  An empty host means the node that answered (from).  0, or
 * -EBADMSG for a reply of another shape (m is then cleared).
 */
int remote_map_parse(struct remote_map *m, const redisReply *r, const struct remote_addr *from);
/* The index of a in m, adding it when new: the index, or -ENOSPC. */
int remote_map_add(struct remote_map *m, const struct remote_addr *a);

/*
 * An error reply "MOVED slot host:port" or "ASK slot host:port": 0 with
 * *ret_ask, *ret_slot, *ret_addr filled (an empty host is from's), -ENOENT
 * for another error, -EBADMSG for a malformed redirect.
 */
int remote_redirect_parse(const char *err, size_t len, const struct remote_addr *from,
			  bool *ret_ask, uint16_t *ret_slot, struct remote_addr *ret_addr);

#endif
