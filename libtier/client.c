/* SPDX-License-Identifier: MIT */
/*
 * libtier client: the connection to tierd and the client's view of the
 * shared host arena.
 *
 * The socket (SOCK_SEQPACKET, one datagram per request and reply) carries
 * the handshake, namespaces, statistics and flushes, and every operation when
 * TIER_TRANSPORT=socket.  Otherwise block operations go through the shared-
 * memory rings (client_ring.c).  Block bytes never travel either way: at
 * HELLO the daemon passes the arena memfd, we map it once, and ALLOC/ACQUIRE
 * answers say at which offset a block lives (held.c remembers it).
 *
 * Private arenas: at HELLO we reserve the daemon's whole offset space
 * PROT_NONE and map the shared arena at its start; a namespace with a
 * private arena comes with that arena's memfd in the NS_OPEN answer (only
 * when the daemon lets us open it), mapped MAP_FIXED at its start.  What we
 * were not given stays PROT_NONE: a read there faults.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "client_internal.h"

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
		char buf[CMSG_SPACE(3 * sizeof(int))];
	} cbuf;
	struct iovec iov = { .iov_base = c->buf, .iov_len = sizeof(c->buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct tier_msg_hdr hdr;
	ssize_t n;

	if (ret_fd) {
		ret_fd[0] = ret_fd[1] = ret_fd[2] = -1;
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
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			size_t k;

			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(ret_fd, CMSG_DATA(cm), (k > 3 ? 3 : k) * sizeof(int));
			/* More than we asked for: not from our daemon; close the rest. */
			for (size_t i = 3; i < k; i++) {
				int extra;

				memcpy(&extra, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				close(extra);
			}
		}
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

/*
 * Send a request and wait for its reply: the body at *ret_body, *ret_len
 * bytes; descriptors passed with it in fds[3] (NULL: none expected).
 */
static int round_trip(tier_client *c, uint16_t type, const void *body, size_t blen,
		      const uint8_t **ret_body, size_t *ret_len, int *fds)
{
	int r;

	if (c->fd < 0)
		return -ECONNRESET;
	r = send_msg(c, type, body, blen);
	if (r < 0)
		return r;
	return recv_reply(c, type, ret_body, ret_len, fds);
}

/* One round trip.  A reply body of other than rlen bytes (on success) is -EPROTO. */
static int call(tier_client *c, uint16_t type, const void *body, size_t blen, void *reply,
		size_t rlen)
{
	const uint8_t *rb;
	size_t got;
	int r = round_trip(c, type, body, blen, &rb, &got, NULL);

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
	struct tier_msg_hello hello = { .abi_version = TIER_ABI_VERSION, .pid = (uint32_t)getpid(),
					.flags = TIER_HELLO_ARENAS };
	struct tier_msg_hello_reply rep;
	struct tier_msg_hello_span span = { 0 };
	const char *transport = getenv("TIER_TRANSPORT");
	const uint8_t *rb;
	size_t got;
	int fd[3] = { -1, -1, -1 }, r;
	void *p;

	/* The process name helps operators read `tierctl clients`. */
	if (program_invocation_short_name)
		strncpy(hello.name, program_invocation_short_name, sizeof(hello.name) - 1);
	/* The daemon takes printable ASCII only (it reaches terminals and logs). */
	for (char *q = hello.name; *q; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e)
			*q = '?';
	if (transport && strcmp(transport, "socket") == 0)
		hello.flags |= TIER_HELLO_NO_RING;
	r = send_msg(c, TIER_MSG_HELLO, &hello, sizeof(hello));
	if (r < 0)
		return r;
	r = recv_reply(c, TIER_MSG_HELLO, &rb, &got, fd);
	if (r < 0)
		goto out;
	/* An older daemon answers without the span: its arena is all there is. */
	if ((got != sizeof(rep) && got != sizeof(rep) + sizeof(span)) || fd[0] < 0) {
		r = -EPROTO;
		goto out;
	}
	memcpy(&rep, rb, sizeof(rep));
	if (got > sizeof(rep))
		memcpy(&span, rb + sizeof(rep), sizeof(span));
	else
		span.span_bytes = rep.arena_bytes;
	if (rep.abi_version != TIER_ABI_VERSION || rep.arena_bytes == 0 ||
	    span.span_bytes < rep.arena_bytes || span.span_bytes > SIZE_MAX ||
	    span.align_bytes > (1ULL << 30) || (span.align_bytes & (span.align_bytes - 1))) {
		r = -EPROTO;
		goto out;
	}
	/*
	 * Reserved, not committed; the shared arena over its start.  Aligned as
	 * the daemon says: a huge-page arena maps only on a huge-page boundary.
	 */
	p = tier_reserve_span(span.span_bytes, span.align_bytes);
	if (p == MAP_FAILED) {
		r = -errno;
		goto out;
	}
	if (mmap(p, rep.arena_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd[0], 0) ==
	    MAP_FAILED) {
		r = -errno;
		munmap(p, span.span_bytes);
		goto out;
	}
	c->base = p;
	c->arena_bytes = span.span_bytes;
	c->n_mapped = 0;
	c->client_id = rep.client_id;
	c->max_block_size = rep.max_block_size;
	if (fd[1] >= 0 && fd[2] >= 0) {
		r = ring_attach(c, fd[1], fd[2]);
		if (r < 0)
			goto out;
		fd[2] = -1; /* the doorbell is the ring's now */
	}
	r = 0;
out:
	for (int i = 0; i < 3; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	return r;
}

/* Connect c to the daemon at c->path and do the handshake. */
static int open_session(tier_client *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	strcpy(sa.sun_path, c->path);
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto fail;
	}
	r = handshake(c);
	if (r < 0)
		goto fail;
	return 0;
fail:
	close(c->fd);
	c->fd = -1;
	return r;
}

/* Forget the daemon: its socket, the arena and ring mappings, every handle held. */
static void drop_session(tier_client *c)
{
	/* Closing the socket is the release: the daemon drops our holds on hang-up. */
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	ring_detach(c);
	if (c->base)
		munmap(c->base, c->arena_bytes);
	c->base = NULL;
	c->arena_bytes = 0;
	c->n_mapped = 0;
	free(c->held);
	c->held = NULL;
	c->held_cap = c->held_used = 0;
}

int tier_connect(const char *socket_path, tier_client **ret)
{
	tier_client *c;
	int r;

	if (!ret)
		return -EINVAL;
	if (!socket_path)
		socket_path = getenv("TIER_SOCKET");
	if (!socket_path || !*socket_path)
		socket_path = TIER_DEFAULT_SOCKET;
	if (strlen(socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	strcpy(c->path, socket_path);
	c->fd = -1;
	r = open_session(c);
	if (r < 0) {
		free(c);
		return r;
	}
	*ret = c;
	return 0;
}

int tier_reconnect(tier_client *c)
{
	if (!c)
		return -EINVAL;
	drop_session(c);
	return open_session(c);
}

void tier_close(tier_client *c)
{
	if (!c)
		return;
	drop_session(c);
	free(c);
}

/* Map a private arena the daemon passed at base + a->start, once per connection. */
static int map_arena(tier_client *c, const struct tier_msg_ns_arena *a, int fd)
{
	if (!a->bytes)
		return fd < 0 ? 0 : -EPROTO;
	/* Inside the reserved span, past the shared arena's first page, page-aligned. */
	if (fd < 0 || a->start == 0 || a->start % 4096 || a->bytes % 4096 ||
	    a->start > c->arena_bytes || a->bytes > c->arena_bytes - a->start)
		return -EPROTO;
	for (uint32_t i = 0; i < c->n_mapped; i++)
		if (c->mapped_start[i] == a->start)
			return 0;
	if (c->n_mapped == TIER_ARENAS_MAPPED_MAX)
		return -ENOMEM;
	if (mmap(c->base + a->start, a->bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
		 0) == MAP_FAILED)
		return -errno;
	c->mapped_start[c->n_mapped++] = a->start;
	return 0;
}

int tier_namespace(tier_client *c, const char *name, size_t block_size, uint32_t *ret_ns)
{
	struct tier_msg_ns_open req = { .block_size = block_size };
	struct tier_msg_ns_reply rep;
	struct tier_msg_ns_arena arena = { 0 };
	const uint8_t *rb;
	size_t len, got;
	int fd[3] = { -1, -1, -1 }, r;

	if (!c || !name || !ret_ns)
		return -EINVAL;
	len = strlen(name);
	if (len == 0 || len > TIER_NAME_MAX)
		return -EINVAL;
	memcpy(req.name, name, len);
	r = round_trip(c, TIER_MSG_NS_OPEN, &req, sizeof(req), &rb, &got, fd);
	if (r >= 0) {
		/* An older daemon sends no arena part: everything is in the shared arena. */
		if (got != sizeof(rep) && got != sizeof(rep) + sizeof(arena)) {
			r = -EPROTO;
		} else {
			memcpy(&rep, rb, sizeof(rep));
			if (got > sizeof(rep))
				memcpy(&arena, rb + sizeof(rep), sizeof(arena));
			r = map_arena(c, &arena, fd[0]);
		}
	}
	for (int i = 0; i < 3; i++)
		if (fd[i] >= 0)
			close(fd[i]);
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

/* One single-block operation over the ring; the completion in *ret. */
static int ring_op(tier_client *c, uint8_t opcode, uint32_t ns, tier_key key, tier_handle h,
		   const tier_key *parent, struct tier_ring_cqe *ret)
{
	struct tier_sqe e = { .opcode = opcode, .ns = ns, .key = key, .handle = h };
	int r;

	if (parent) {
		e.parent = *parent;
		e.flags = TIER_OPF_PARENT;
	}
	r = ring_call(c, &e, ret);
	return r < 0 ? r : ret->res;
}

/* An ALLOC or ACQUIRE completion from the ring, as a block reply. */
static struct tier_msg_block_reply ring_block(const struct tier_ring_cqe *e, uint64_t size)
{
	return (struct tier_msg_block_reply){ .handle = e->handle, .offset = e->offset,
					      .size = size };
}

int tier_alloc(tier_client *c, uint32_t ns, tier_handle *ret)
{
	struct tier_msg_alloc req = { .ns = ns };
	struct tier_msg_block_reply rep;
	struct tier_ring_cqe e;
	int r;

	if (!c || !ret)
		return -EINVAL;
	if (c->seg) {
		r = ring_op(c, TIER_OP_ALLOC, ns, TIER_KEY_ROOT, 0, NULL, &e);
		if (r < 0)
			return r;
		rep = ring_block(&e, 0);
		return take_block(c, &rep, true, ret);
	}
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
	if (c->seg) {
		struct tier_ring_cqe ce;

		r = ring_op(c, TIER_OP_COMMIT, 0, key, h, parent, &ce);
	} else {
		if (parent) {
			req.parent = *parent;
			req.flags = TIER_COMMIT_HAS_PARENT;
		}
		r = call(c, TIER_MSG_COMMIT, &req, sizeof(req), NULL, 0);
	}
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

int tier_commit_chain(tier_client *c, tier_handle h, tier_key parent, tier_key key)
{
	return commit(c, h, &parent, key);
}

static int call_stats_nothing(tier_client *c, const struct tier_msg_stats *req)
{
	const uint8_t *rb;
	size_t got;
	int r = send_msg(c, TIER_MSG_STATS, req, sizeof(*req));

	if (r < 0)
		return r;
	r = recv_reply(c, TIER_MSG_STATS, &rb, &got, NULL);
	return r < 0 ? r : 0;
}

int tier_keepalive(tier_client *c)
{
	struct tier_msg_stats req = { .max_ns = 0 };
	struct tier_ring_cqe e;

	if (!c)
		return -EINVAL;
	if (c->seg)
		return ring_op(c, TIER_OP_NOP, 0, TIER_KEY_ROOT, 0, NULL, &e);
	/* Any request is a sign of life; a statistics request without namespaces is the cheapest. */
	return call_stats_nothing(c, &req);
}

/*
 * Send keys in batches of TIER_LOOKUP_BATCH as message type (LOOKUP,
 * PREFETCH, or HINT with priority).  With leading, stop at the first batch
 * that is not fully answered and return the sum of the leading counts; else
 * the sum of all.
 */
static int key_batches(tier_client *c, uint16_t type, uint32_t ns, const tier_key *keys,
		       size_t n, bool leading, int32_t priority)
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
		struct tier_msg_hint hint = { .ns = ns, .n = (uint32_t)k, .priority = priority };
		size_t hlen = type == TIER_MSG_HINT ? sizeof(hint) : sizeof(hdr);
		int r;

		memcpy(msg, type == TIER_MSG_HINT ? (const void *)&hint : (const void *)&hdr, hlen);
		memcpy(msg + hlen, keys + done, k * sizeof(tier_key));
		r = call(c, type, msg, hlen + k * sizeof(tier_key), NULL, 0);
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
	if (c && c->seg)
		return tier_lookup_many(c, ns, keys, n, NULL);
	return key_batches(c, TIER_MSG_LOOKUP, ns, keys, n, true, 0);
}

int tier_prefetch(tier_client *c, uint32_t ns, const tier_key *keys, size_t n)
{
	return key_batches(c, TIER_MSG_PREFETCH, ns, keys, n, false, 0);
}

int tier_hint(tier_client *c, uint32_t ns, const tier_key *keys, size_t n, int32_t priority)
{
	return key_batches(c, TIER_MSG_HINT, ns, keys, n, false, priority);
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
	if (c->seg) {
		struct tier_ring_cqe e;

		r = ring_op(c, TIER_OP_ACQUIRE, ns, key, 0, NULL, &e);
		if (r < 0)
			return r;
		rep = ring_block(&e, 0);
	} else {
		r = call(c, TIER_MSG_ACQUIRE, &req, sizeof(req), &rep, sizeof(rep));
		if (r < 0)
			return r;
	}
	r = take_block(c, &rep, false, ret);
	if (r < 0) {
		/* Could not record it locally: give the pin back. */
		struct tier_msg_handle rel = { .handle = rep.handle };
		struct tier_ring_cqe e;

		if (c->seg)
			ring_op(c, TIER_OP_RELEASE, 0, TIER_KEY_ROOT, rep.handle, NULL, &e);
		else
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
	if (c->seg) {
		struct tier_ring_cqe ce;

		r = ring_op(c, TIER_OP_RELEASE, 0, TIER_KEY_ROOT, h, NULL, &ce);
	} else {
		r = call(c, TIER_MSG_RELEASE, &req, sizeof(req), NULL, 0);
	}
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
	struct tier_ring_cqe e;

	if (!c)
		return -EINVAL;
	if (c->seg)
		return ring_op(c, TIER_OP_DROP, ns, key, 0, NULL, &e);
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

int tier_gpu_pool(tier_client *c, struct tier_gpu_pool *ret, int *ret_fd)
{
	struct tier_msg_gpu_pool req = { 0 };
	struct tier_msg_gpu_pool_reply rep;
	const uint8_t *rb;
	size_t got;
	int fds[3], r;

	if (!c || !ret || !ret_fd || ret->size < sizeof(*ret))
		return -EINVAL;
	if (c->fd < 0)
		return -ECONNRESET;
	r = send_msg(c, TIER_MSG_GPU_POOL, &req, sizeof(req));
	if (r < 0)
		return r;
	r = recv_reply(c, TIER_MSG_GPU_POOL, &rb, &got, fds);
	if (r >= 0 && (got != sizeof(rep) || fds[0] < 0))
		r = -EPROTO;
	for (int i = r >= 0 ? 1 : 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (r < 0)
		return r;
	memcpy(&rep, rb, sizeof(rep));
	memset(ret, 0, sizeof(*ret));
	ret->size = sizeof(*ret);
	memcpy(ret->backend, rep.backend, sizeof(ret->backend));
	ret->backend[sizeof(ret->backend) - 1] = 0;
	memcpy(ret->pci_bus_id, rep.pci_bus_id, sizeof(ret->pci_bus_id));
	ret->pci_bus_id[sizeof(ret->pci_bus_id) - 1] = 0;
	ret->bytes = rep.bytes;
	*ret_fd = fds[0];
	return 0;
}

int tier_acquire_gpu(tier_client *c, uint32_t ns, tier_key key, tier_handle *ret,
		     uint64_t *ret_pool_off)
{
	struct tier_msg_key req = { .ns = ns, .key = key };
	struct tier_msg_gpu_block_reply rep;
	struct tier_msg_block_reply br;
	int r;

	if (!c || !ret || !ret_pool_off)
		return -EINVAL;
	/* Socket only: the request waits for a device copy, rarely on the fast path. */
	r = call(c, TIER_MSG_ACQUIRE_GPU, &req, sizeof(req), &rep, sizeof(rep));
	if (r < 0)
		return r;
	br = (struct tier_msg_block_reply){ .handle = rep.handle, .offset = rep.offset,
					    .size = rep.size };
	r = take_block(c, &br, false, ret);
	if (r < 0) {
		struct tier_msg_handle rel = { .handle = rep.handle };

		/* Could not record it locally: give the pin back (on the socket, as taken). */
		call(c, TIER_MSG_RELEASE, &rel, sizeof(rel), NULL, 0);
		return r;
	}
	*ret_pool_off = rep.pool_offset;
	return 0;
}

/* For admin.c (client_internal.h): a round trip with a reply of up to max bytes. */
int tier__call(tier_client *c, uint16_t type, const void *body, size_t blen, void *reply,
	       size_t max, size_t *ret_len)
{
	const uint8_t *rb;
	size_t got;
	int r;

	if (!c)
		return -EINVAL;
	r = round_trip(c, type, body, blen, &rb, &got, NULL);
	if (r < 0)
		return r;
	if (got > max)
		return -EPROTO;
	if (got)
		memcpy(reply, rb, got);
	*ret_len = got;
	return r;
}
