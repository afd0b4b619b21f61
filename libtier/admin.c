/* SPDX-License-Identifier: MIT */
/*
 * libtier's administration calls (tier.h, LIBTIER_0.2): what tierctl needs
 * beyond the statistics.  Each is one request and one reply; the daemon
 * validates every request and decides who may change state (SO_PEERCRED),
 * so nothing here is a protection, only packing and length checks of the
 * replies.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"
#include "proto.h"
#include "tier.h"

/* Replies to lists are capped by what one datagram carries. */
#define REPLY_MAX (TIER_MSG_MAX - sizeof(struct tier_msg_hdr))

/*
 * A reply that is one struct whose first member is uint32_t size (the
 * caller's sizeof): the daemon's struct of full bytes is copied into out as
 * far as both go; a larger caller's struct gets its tail zeroed.
 */
static int admin_sized(tier_client *c, uint16_t type, void *out, size_t full, size_t min)
{
	struct tier_msg_admin req = { 0 };
	union {
		struct tier_daemon_status st;
		struct tier_io_latency lat;
		struct tier_remote_stats rem;
	} buf;
	uint32_t size;
	size_t got, want;
	int r;

	if (!c || !out || full > sizeof(buf))
		return -EINVAL;
	memcpy(&size, out, sizeof(size));
	if (size < min)
		return -EINVAL;
	r = tier__call(c, type, &req, sizeof(req), &buf, full, &got);
	if (r < 0)
		return r;
	if (got != full)
		return -EPROTO;
	want = size < full ? size : full;
	memcpy(out, &buf, want);
	if (size > want)
		memset((char *)out + want, 0, size - want);
	size = (uint32_t)want;
	memcpy(out, &size, sizeof(size));
	return 0;
}

int tier_admin_status(tier_client *c, struct tier_daemon_status *out)
{
	return admin_sized(c, TIER_MSG_STATUS, out, sizeof(*out),
			   offsetof(struct tier_daemon_status, reserved));
}

int tier_admin_latency(tier_client *c, struct tier_io_latency *out)
{
	return admin_sized(c, TIER_MSG_LATENCY, out, sizeof(*out),
			   offsetof(struct tier_io_latency, reserved));
}

int tier_admin_remote(tier_client *c, struct tier_remote_stats *out)
{
	return admin_sized(c, TIER_MSG_REMOTE, out, sizeof(*out),
			   offsetof(struct tier_remote_stats, reserved));
}

/* A list reply of n entries of esize bytes into out (at most max). */
static int admin_list(tier_client *c, uint16_t type, void *out, size_t esize, size_t max)
{
	size_t cap = REPLY_MAX / esize, got;
	struct tier_msg_admin req;
	void *buf;
	int r;

	if (!c || (max && !out))
		return -EINVAL;
	if (max > cap)
		max = cap;
	req = (struct tier_msg_admin){ .max = (uint32_t)max };
	buf = malloc(max * esize + 1);
	if (!buf)
		return -ENOMEM;
	r = tier__call(c, type, &req, sizeof(req), buf, max * esize, &got);
	if (r >= 0 && (got % esize || got / esize != (size_t)r))
		r = -EPROTO;
	if (r > 0)
		memcpy(out, buf, got);
	free(buf);
	return r;
}

int tier_admin_clients(tier_client *c, struct tier_client_info *out, size_t max)
{
	return admin_list(c, TIER_MSG_CLIENTS, out, sizeof(*out), max);
}

int tier_admin_namespaces(tier_client *c, struct tier_ns_info *out, size_t max)
{
	return admin_list(c, TIER_MSG_NAMESPACES, out, sizeof(*out), max);
}

int tier_admin_arenas(tier_client *c, struct tier_arena_info *out, size_t max)
{
	return admin_list(c, TIER_MSG_ARENAS, out, sizeof(*out), max);
}

int tier_admin_config(tier_client *c, char *buf, size_t len)
{
	struct tier_msg_admin req = { 0 };
	char *text;
	size_t got;
	int r;

	if (!c || (len && !buf))
		return -EINVAL;
	text = malloc(REPLY_MAX);
	if (!text)
		return -ENOMEM;
	r = tier__call(c, TIER_MSG_CONFIG, &req, sizeof(req), text, REPLY_MAX, &got);
	if (r >= 0 && (got == 0 || text[got - 1] != 0 || (size_t)r != got - 1))
		r = -EPROTO;
	if (r >= 0 && len) {
		size_t n = got - 1 < len - 1 ? got - 1 : len - 1;

		memcpy(buf, text, n);
		buf[n] = 0;
	}
	free(text);
	return r;
}

int tier_admin_policy(tier_client *c, enum tier_id tier, const char *name, char *ret_name)
{
	struct tier_msg_policy req = { .tier = (uint32_t)tier }, rep;
	size_t got;
	int r;

	if (!c || (unsigned)tier >= TIER_COUNT)
		return -EINVAL;
	if (name) {
		size_t len = strlen(name);

		if (len == 0 || len > TIER_POLICY_NAME_MAX)
			return -EINVAL;
		memcpy(req.name, name, len);
		req.flags = TIER_POLICY_SET;
	}
	r = tier__call(c, TIER_MSG_POLICY, &req, sizeof(req), &rep, sizeof(rep), &got);
	if (r < 0)
		return r;
	if (got != sizeof(rep) || !memchr(rep.name, 0, sizeof(rep.name)))
		return -EPROTO;
	if (ret_name)
		memcpy(ret_name, rep.name, sizeof(rep.name));
	return 0;
}

int tier_admin_evict(tier_client *c, enum tier_id tier, uint64_t bytes, uint64_t *ret_bytes,
		     uint64_t *ret_blocks)
{
	struct tier_msg_evict req = { .tier = (uint32_t)tier, .bytes = bytes };
	struct tier_msg_evict_reply rep;
	size_t got;
	int r;

	if (!c || (unsigned)tier >= TIER_COUNT || bytes == 0)
		return -EINVAL;
	r = tier__call(c, TIER_MSG_EVICT, &req, sizeof(req), &rep, sizeof(rep), &got);
	if (r < 0)
		return r;
	if (got != sizeof(rep))
		return -EPROTO;
	if (ret_bytes)
		*ret_bytes = rep.bytes;
	if (ret_blocks)
		*ret_blocks = rep.blocks;
	return 0;
}

/* An admin request that names one namespace (drop its blocks, delete it). */
static int ns_name_call(tier_client *c, uint16_t type, const char *name)
{
	struct tier_msg_ns_drop req = { { 0 } };
	size_t len, got;
	char dummy;

	if (!c || !name)
		return -EINVAL;
	len = strlen(name);
	if (len == 0 || len > TIER_NAME_MAX)
		return -EINVAL;
	memcpy(req.name, name, len);
	return tier__call(c, type, &req, sizeof(req), &dummy, 0, &got);
}

int tier_admin_drop_namespace(tier_client *c, const char *name)
{
	return ns_name_call(c, TIER_MSG_NS_DROP, name);
}

int tier_admin_delete_namespace(tier_client *c, const char *name)
{
	return ns_name_call(c, TIER_MSG_NS_DELETE, name);
}
