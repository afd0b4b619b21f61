/* SPDX-License-Identifier: MIT */
/*
 * The remote tier's cluster client: hiredis's asynchronous API on the
 * daemon's reactor, routed by the Redis Cluster contract (CRC16 slots, a slot
 * map from CLUSTER SLOTS refreshed on MOVED, ASKING on ASK), with deadlines
 * from the caller's clock, a cap on bytes in flight per connection and a
 * back-off from a failing node.  No thread, no blocking call.
 */
#ifndef TIERD_REMOTE_H
#define TIERD_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "remote_map.h"

#define DEFAULT_REMOTE_TIMEOUT_MS 200
#define DEFAULT_REMOTE_BACKOFF_MS 1000
#define DEFAULT_REMOTE_INFLIGHT_BYTES (2ULL << 20)
#define REMOTE_REDIRECTS_MAX 5

struct remote;

struct remote_opts {
	const struct remote_addr *seeds; /* numeric addresses: the reactor never resolves names */
	uint32_t n_seeds;
	uint32_t timeout_ms;      /* a command not answered by then fails with -ETIMEDOUT */
	uint32_t backoff_ms;      /* a node that failed is not tried again for this long */
	uint64_t inflight_bytes;  /* command bytes sent and not answered, per connection */
	const char *user;         /* ACL user; NULL or "": AUTH with the password alone */
	const char *password;     /* NULL or "": no AUTH */
};

/* The client's counters (stat names: docs/OPERATIONS.md). */
struct remote_counters {
	uint64_t commands, replies;
	uint64_t timeouts;        /* commands answered -ETIMEDOUT */
	uint64_t moved, ask;      /* redirects followed */
	uint64_t errors;          /* error replies, lost connections, refused nodes */
	uint64_t refreshes;       /* slot maps received */
	uint64_t connects, disconnects;
	uint64_t bytes_sent, bytes_received;
	uint64_t lat_ns_sum, lat_n, lat_ns_max; /* submit to answer, answered commands */
};

/*
 * res: 0 with reply (a non-error reply, owned by hiredis: copy what you need
 * before returning), or a negative errno with reply NULL: -ETIMEDOUT,
 * -ECONNREFUSED (the node is backed off or refused), -ECONNRESET (the
 * connection was lost), -EAGAIN (TRYAGAIN, CLUSTERDOWN, LOADING, a slot
 * nobody serves, too many redirects), -EIO (another error reply).
 */
typedef void remote_cb(void *arg, int res, const redisReply *reply);

/* A client for the cluster the seeds belong to; it connects on first use.  0 or -errno. */
int remote_new(const struct remote_opts *o, struct remote **ret);
/* Fail every command still outstanding (-ECANCELED) and disconnect. */
void remote_free(struct remote *r);
/* The descriptor to watch for input (an epoll set of the connections). */
int remote_fd(const struct remote *r);
/*
 * Handle what is due (deadlines, answers deferred from remote_cmd, a map
 * refresh) and, when readable (remote_fd was reported ready), the
 * connections' I/O.  Cheap when nothing is due.
 */
void remote_turn(struct remote *r, bool readable);
/* ms until remote_turn has something due (a deadline, a map refresh); -1: nothing. */
int remote_timeout_ms(const struct remote *r);
/*
 * Send argv (argv[1] is the key that routes it).  cb is called exactly once,
 * from remote_turn or remote_free, never from inside remote_cmd.  0 or -ENOMEM.
 */
int remote_cmd(struct remote *r, int argc, const char **argv, const size_t *argvlen,
	       remote_cb *cb, void *arg);
/*
 * The same for a command whose reply is about reply_bytes long (a GET of a
 * known size): the reply counts in flight too, so a pipeline of GETs does
 * not queue more bytes at a node than remote.inflight, and the last of them
 * is not answered past its deadline only for waiting behind the others.
 */
int remote_cmd_sized(struct remote *r, int argc, const char **argv, const size_t *argvlen,
		     size_t reply_bytes, remote_cb *cb, void *arg);
/*
 * The same for a command already in RESP form (cmd, len bytes, malloc'ed:
 * the client owns it from now on, also on failure), routed by key.
 */
int remote_cmd_formatted(struct remote *r, const char *key, size_t keylen, char *cmd, size_t len,
			 remote_cb *cb, void *arg);
/* Commands not answered yet. */
uint64_t remote_outstanding(const struct remote *r);
const struct remote_counters *remote_counters(const struct remote *r);
/* Whether a slot map is known and how many slots it covers. */
uint32_t remote_slots_covered(const struct remote *r);

#endif
