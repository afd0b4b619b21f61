/* SPDX-License-Identifier: MIT */
/*
 * libtier client: the control path to tierd and the client's view of the
 * shared host arena.
 *
 * Every call is one request datagram and one reply on a SOCK_SEQPACKET
 * socket.  Block bytes never travel over it: at HELLO the daemon passes the
 * arena memfd, we map it once, and ALLOC/ACQUIRE replies say at which offset
 * a block lives.  The client keeps a small table of the handles it holds
 * (handle -> offset, pin count) so that tier_data() is a local lookup and
 * returns NULL for anything it does not hold; the daemon checks every handle
 * again on every use, so this table is a convenience, not the protection.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client_internal.h"
#include "proto.h"
#include "tier.h"

#define HELD_EMPTY 0
#define HELD_TOMB UINT64_MAX

struct held {
	tier_handle h;     /* HELD_EMPTY, HELD_TOMB or a handle */
	uint64_t off;
	uint32_t refs;     /* pins (acquired) or 1 (writing) */
	uint32_t writing;
};

struct tier_client {
	int fd;
	uint32_t seq;
	uint32_t client_id;
	uint8_t *base;
	size_t arena_bytes;
	uint64_t max_block_size;
	struct held *held;
	size_t held_cap, held_used; /* used counts tombstones too */
	uint8_t buf[TIER_MSG_MAX];
};

/* ---- held-handle table: open addressing, linear probing ------------ */

static size_t held_hash(tier_handle h, size_t cap)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h & (cap - 1);
}

static struct held *held_find(tier_client *c, tier_handle h)
{
	if (!c->held_cap || h == HELD_EMPTY || h == HELD_TOMB)
		return NULL;
	for (size_t i = held_hash(h, c->held_cap);; i = (i + 1) & (c->held_cap - 1)) {
		struct held *e = &c->held[i];

		if (e->h == h)
			return e;
		if (e->h == HELD_EMPTY)
			return NULL;
	}
}

/*
 * Rehash into a table with room for the live entries, dropping tombstones.
 * The size follows what is held, not how many handles were ever added: a
 * client that allocates and commits forever keeps a small table.
 */
static int held_grow(tier_client *c)
{
	size_t ncap = c->held_cap ? c->held_cap : 64, live = 0;
	struct held *old = c->held, *n;

	for (size_t i = 0; i < c->held_cap; i++)
		if (old[i].h != HELD_EMPTY && old[i].h != HELD_TOMB)
			live++;
	/* At most a quarter full afterwards, so rehashes stay amortised O(1). */
	while ((live + 1) * 4 > ncap)
		ncap *= 2;
	n = calloc(ncap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	live = 0;
	for (size_t i = 0; i < c->held_cap; i++) {
		if (old[i].h == HELD_EMPTY || old[i].h == HELD_TOMB)
			continue;
		size_t j = held_hash(old[i].h, ncap);

		while (n[j].h != HELD_EMPTY)
			j = (j + 1) & (ncap - 1);
		n[j] = old[i];
		live++;
	}
	free(old);
	c->held = n;
	c->held_cap = ncap;
	c->held_used = live;
	return 0;
}

/* Record one more hold of h at off. */
static int held_add(tier_client *c, tier_handle h, uint64_t off, bool writing)
{
	struct held *e = held_find(c, h);

	if (e) {
		e->refs++;
		return 0;
	}
	if ((c->held_used + 1) * 2 > c->held_cap) {
		int r = held_grow(c);

		if (r < 0)
			return r;
	}
	for (size_t i = held_hash(h, c->held_cap);; i = (i + 1) & (c->held_cap - 1)) {
		e = &c->held[i];
		if (e->h == HELD_EMPTY || e->h == HELD_TOMB) {
			if (e->h == HELD_EMPTY)
				c->held_used++;
			*e = (struct held){ .h = h, .off = off, .refs = 1, .writing = writing };
			return 0;
		}
	}
}

static void held_put(tier_client *c, struct held *e)
{
	if (--e->refs == 0)
		e->h = HELD_TOMB;
}

/* ---- request/reply ------------------------------------------------- */

static int map_errno(int e)
{
	if (e == EPIPE || e == ECONNRESET || e == ENOTCONN || e == ECONNREFUSED)
		return -ECONNRESET;
	return -e;
}

static int send_msg(tier_client *c, uint16_t type, const void *body, size_t blen)
{
	struct tier_msg_hdr hdr = {
		.magic = TIER_PROTO_MAGIC, .type = type, .seq = ++c->seq,
	};
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)body, .iov_len = blen },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = blen ? 2 : 1 };
	ssize_t n;

	do
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return map_errno(errno);
	return 0;
}

/*
 * Receive the reply to the last request into c->buf.  *ret_body points at
 * its body and *ret_len is the body length.  With ret_fd, one passed fd is
 * accepted.  Returns the reply status.
 */
static int recv_reply(tier_client *c, uint16_t type, const uint8_t **ret_body, size_t *ret_len,
		      int *ret_fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct iovec iov = { .iov_base = c->buf, .iov_len = sizeof(c->buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct tier_msg_hdr hdr;
	ssize_t n;

	if (ret_fd) {
		*ret_fd = -1;
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
	}
	do
		n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return map_errno(errno);
	if (n == 0)
		return -ECONNRESET;
	if (ret_fd) {
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
			    cm->cmsg_len == CMSG_LEN(sizeof(int)))
				memcpy(ret_fd, CMSG_DATA(cm), sizeof(int));
	}
	if ((size_t)n < sizeof(hdr))
		return -EPROTO;
	memcpy(&hdr, c->buf, sizeof(hdr));
	if (hdr.magic != TIER_PROTO_MAGIC || hdr.type != type || hdr.seq != c->seq)
		return -EPROTO;
	*ret_body = c->buf + sizeof(hdr);
	*ret_len = (size_t)n - sizeof(hdr);
	return hdr.status;
}

/* One round trip.  A reply body of other than rlen bytes (on success) is -EPROTO. */
static int call(tier_client *c, uint16_t type, const void *body, size_t blen, void *reply,
		size_t rlen)
{
	const uint8_t *rb;
	size_t got;
	int r;

	if (c->fd < 0)
		return -ECONNRESET;
	r = send_msg(c, type, body, blen);
	if (r < 0)
		return r;
	r = recv_reply(c, type, &rb, &got, NULL);
	if (r < 0)
		return r;
	if (rlen) {
		if (got != rlen)
			return -EPROTO;
		memcpy(reply, rb, rlen);
	}
	return r;
}

/* ---- API ----------------------------------------------------------- */

static int handshake(tier_client *c)
{
	struct tier_msg_hello hello = { .abi_version = TIER_ABI_VERSION, .pid = (uint32_t)getpid() };
	struct tier_msg_hello_reply rep;
	const uint8_t *rb;
	size_t got;
	int fd = -1, r;
	void *p;

	/* The process name helps operators read `tierctl clients`. */
	if (program_invocation_short_name)
		strncpy(hello.name, program_invocation_short_name, sizeof(hello.name) - 1);
	r = send_msg(c, TIER_MSG_HELLO, &hello, sizeof(hello));
	if (r < 0)
		return r;
	r = recv_reply(c, TIER_MSG_HELLO, &rb, &got, &fd);
	if (r < 0)
		goto out;
	if (got != sizeof(rep) || fd < 0) {
		r = -EPROTO;
		goto out;
	}
	memcpy(&rep, rb, sizeof(rep));
	if (rep.abi_version != TIER_ABI_VERSION || rep.arena_bytes == 0) {
		r = -EPROTO;
		goto out;
	}
	p = mmap(NULL, rep.arena_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		r = -errno;
		goto out;
	}
	c->base = p;
	c->arena_bytes = rep.arena_bytes;
	c->client_id = rep.client_id;
	c->max_block_size = rep.max_block_size;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

int tier_connect(const char *socket_path, tier_client **ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	tier_client *c;
	int r;

	if (!ret)
		return -EINVAL;
	if (!socket_path)
		socket_path = getenv("TIER_SOCKET");
	if (!socket_path || !*socket_path)
		socket_path = TIER_DEFAULT_SOCKET;
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, socket_path);

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		r = -errno;
		free(c);
		return r;
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto fail;
	}
	r = handshake(c);
	if (r < 0)
		goto fail;
	*ret = c;
	return 0;
fail:
	close(c->fd);
	free(c);
	return r;
}

void tier_close(tier_client *c)
{
	if (!c)
		return;
	/* Closing the socket is the release: the daemon drops our holds on hang-up. */
	if (c->fd >= 0)
		close(c->fd);
	if (c->base)
		munmap(c->base, c->arena_bytes);
	free(c->held);
	free(c);
}

int tier_namespace(tier_client *c, const char *name, size_t block_size, uint32_t *ret_ns)
{
	struct tier_msg_ns_open req = { .block_size = block_size };
	struct tier_msg_ns_reply rep;
	size_t len;
	int r;

	if (!c || !name || !ret_ns)
		return -EINVAL;
	len = strlen(name);
	if (len == 0 || len > TIER_NAME_MAX)
		return -EINVAL;
	memcpy(req.name, name, len);
	r = call(c, TIER_MSG_NS_OPEN, &req, sizeof(req), &rep, sizeof(rep));
	if (r < 0)
		return r;
	*ret_ns = rep.ns;
	return 0;
}

/* ALLOC and ACQUIRE replies: check that the block lies inside the arena. */
static int take_block(tier_client *c, const struct tier_msg_block_reply *rep, bool writing,
		      tier_handle *ret)
{
	int r;

	if (rep->offset > c->arena_bytes || rep->size > c->arena_bytes - rep->offset)
		return -EPROTO;
	r = held_add(c, rep->handle, rep->offset, writing);
	if (r < 0)
		return r;
	*ret = rep->handle;
	return 0;
}

int tier_alloc(tier_client *c, uint32_t ns, tier_handle *ret)
{
	struct tier_msg_alloc req = { .ns = ns };
	struct tier_msg_block_reply rep;
	int r;

	if (!c || !ret)
		return -EINVAL;
	r = call(c, TIER_MSG_ALLOC, &req, sizeof(req), &rep, sizeof(rep));
	if (r < 0)
		return r;
	return take_block(c, &rep, true, ret);
}

void *tier_data(tier_client *c, tier_handle h)
{
	struct held *e;

	if (!c)
		return NULL;
	e = held_find(c, h);
	return e ? c->base + e->off : NULL;
}

static int commit(tier_client *c, tier_handle h, const tier_key *parent, tier_key key)
{
	struct tier_msg_commit req = { .handle = h, .key = key };
	struct held *e;
	int r;

	if (!c)
		return -EINVAL;
	if (parent) {
		req.parent = *parent;
		req.flags = TIER_COMMIT_HAS_PARENT;
	}
	r = call(c, TIER_MSG_COMMIT, &req, sizeof(req), NULL, 0);
	/* Success and -EEXIST both end the hold: the block is now the daemon's. */
	if (r == 0 || r == -EEXIST) {
		e = held_find(c, h);
		if (e && e->writing)
			e->h = HELD_TOMB;
	}
	return r;
}

int tier_commit(tier_client *c, tier_handle h, tier_key key)
{
	return commit(c, h, NULL, key);
}

/*
 * Send keys in batches of TIER_LOOKUP_BATCH as message type (LOOKUP or
 * PREFETCH).  With leading, stop at the first batch that is not fully
 * answered and return the sum of the leading counts; else the sum of all.
 */
static int key_batches(tier_client *c, uint16_t type, uint32_t ns, const tier_key *keys,
		       size_t n, bool leading)
{
	uint8_t msg[sizeof(struct tier_msg_lookup) + TIER_LOOKUP_BATCH * sizeof(tier_key)];
	size_t done = 0, total = 0;

	if (!c || (!keys && n))
		return -EINVAL;
	if (n > INT32_MAX)
		n = INT32_MAX;
	while (done < n) {
		size_t k = n - done < TIER_LOOKUP_BATCH ? n - done : TIER_LOOKUP_BATCH;
		struct tier_msg_lookup hdr = {
			.ns = ns, .n = (uint32_t)k, .first_pos = (uint32_t)done,
			.total = (uint32_t)n,
			.parent = done ? keys[done - 1] : TIER_KEY_ROOT,
		};
		int r;

		memcpy(msg, &hdr, sizeof(hdr));
		memcpy(msg + sizeof(hdr), keys + done, k * sizeof(tier_key));
		r = call(c, type, msg, sizeof(hdr) + k * sizeof(tier_key), NULL, 0);
		if (r < 0)
			return r;
		if ((size_t)r > k)
			return -EPROTO;
		done += k;
		total += (size_t)r;
		if (leading && (size_t)r < k)
			break;
	}
	return (int)total;
}

int tier_lookup(tier_client *c, uint32_t ns, const tier_key *keys, size_t n)
{
	return key_batches(c, TIER_MSG_LOOKUP, ns, keys, n, true);
}

int tier_prefetch(tier_client *c, uint32_t ns, const tier_key *keys, size_t n)
{
	return key_batches(c, TIER_MSG_PREFETCH, ns, keys, n, false);
}

int tier_flush(tier_client *c, uint32_t ns)
{
	struct tier_msg_flush req = { .ns = ns };

	if (!c)
		return -EINVAL;
	return call(c, TIER_MSG_FLUSH, &req, sizeof(req), NULL, 0);
}

int tier_acquire(tier_client *c, uint32_t ns, tier_key key, tier_handle *ret)
{
	struct tier_msg_key req = { .ns = ns, .key = key };
	struct tier_msg_block_reply rep;
	int r;

	if (!c || !ret)
		return -EINVAL;
	r = call(c, TIER_MSG_ACQUIRE, &req, sizeof(req), &rep, sizeof(rep));
	if (r < 0)
		return r;
	r = take_block(c, &rep, false, ret);
	if (r < 0) {
		/* Could not record it locally: give the pin back. */
		struct tier_msg_handle rel = { .handle = rep.handle };

		call(c, TIER_MSG_RELEASE, &rel, sizeof(rel), NULL, 0);
	}
	return r;
}

int tier_release(tier_client *c, tier_handle h)
{
	struct tier_msg_handle req = { .handle = h };
	struct held *e;
	int r;

	if (!c)
		return -EINVAL;
	r = call(c, TIER_MSG_RELEASE, &req, sizeof(req), NULL, 0);
	if (r == 0) {
		e = held_find(c, h);
		if (e && !e->writing)
			held_put(c, e);
	}
	return r;
}

int tier_drop(tier_client *c, uint32_t ns, tier_key key)
{
	struct tier_msg_key req = { .ns = ns, .key = key };

	if (!c)
		return -EINVAL;
	return call(c, TIER_MSG_DROP, &req, sizeof(req), NULL, 0);
}

int tier_stats_get(tier_client *c, struct tier_stats *out, struct tier_ns_stats *ret_ns,
		   size_t max_ns)
{
	struct tier_msg_stats req;
	const uint8_t *rb;
	size_t got, n, want;
	int r;

	if (!c || !out || out->size < offsetof(struct tier_stats, n_namespaces) + sizeof(uint32_t) ||
	    (max_ns && !ret_ns))
		return -EINVAL;
	want = out->size < sizeof(*out) ? out->size : sizeof(*out);
	req = (struct tier_msg_stats){ .max_ns = (uint32_t)(max_ns > 1024 ? 1024 : max_ns) };
	r = send_msg(c, TIER_MSG_STATS, &req, sizeof(req));
	if (r < 0)
		return r;
	r = recv_reply(c, TIER_MSG_STATS, &rb, &got, NULL);
	if (r < 0)
		return r;
	if (got < sizeof(struct tier_stats) ||
	    (got - sizeof(struct tier_stats)) % sizeof(struct tier_ns_stats))
		return -EPROTO;
	n = (got - sizeof(struct tier_stats)) / sizeof(struct tier_ns_stats);
	if (n > max_ns)
		return -EPROTO;
	memcpy(out, rb, want);
	out->size = (uint32_t)want;
	if (n)
		memcpy(ret_ns, rb + sizeof(struct tier_stats), n * sizeof(struct tier_ns_stats));
	return (int)n;
}

/* For admin.c (client_internal.h): a round trip with a reply of up to max bytes. */
int tier__call(tier_client *c, uint16_t type, const void *body, size_t blen, void *reply,
	       size_t max, size_t *ret_len)
{
	const uint8_t *rb;
	size_t got;
	int r;

	if (!c || c->fd < 0)
		return c ? -ECONNRESET : -EINVAL;
	r = send_msg(c, type, body, blen);
	if (r < 0)
		return r;
	r = recv_reply(c, type, &rb, &got, NULL);
	if (r < 0)
		return r;
	if (got > max)
		return -EPROTO;
	if (got)
		memcpy(reply, rb, got);
	*ret_len = got;
	return r;
}
