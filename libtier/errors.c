/* SPDX-License-Identifier: MIT */
/* Messages for the negative errnos of the libtier API, in its own words. */
#include <errno.h>
#include <string.h>

#include "tier.h"

const char *tier_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -ENOENT:
		return "not found (no such key, namespace or daemon socket)";
	case -EEXIST:
		return "key already committed (first writer wins)";
	case -ENOSPC:
		return "no space: nothing can be evicted";
	case -EINVAL:
		return "invalid argument or handle not held by this client";
	case -ESTALE:
		return "stale handle";
	case -EPROTO:
		return "protocol or ABI version mismatch";
	case -ECONNRESET:
		return "daemon connection lost";
	case -ENODEV:
		return "tier not configured (no NVMe tier)";
	case -ENOMEM:
		return "out of memory";
	case -EACCES:
		return "permission denied";
	case -EBUSY:
		return "busy";
	case -EIO:
		return "I/O error";
	case -EDQUOT:
		return "over a quota: this user's namespaces (daemon.max_namespaces_per_uid), or this client's blocks (daemon.client_max_writing / client_max_pinned)";
	case -EOVERFLOW:
		return "block pinned too many times (65,536 by one client, 1,048,576 by all)";
	default:
		return err < 0 ? strerror(-err) : "unknown error";
	}
}
