/* SPDX-License-Identifier: MIT */
/*
 * One connected client: read its datagrams, validate, dispatch to the store,
 * answer.  A request never blocks the reactor: replies are sent with
 * MSG_DONTWAIT, and a client whose socket buffer is full (it sends without
 * reading) is disconnected rather than waited for.  File descriptors a client
 * tries to pass us are closed and count as a protocol error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"
#include "op.h"
#include "remote_tier.h"
#include "server.h"
#include "validate.h"

/* Malformed requests in a row after which a client is cut off. */
#define MAX_BAD_MSGS 16
/* Datagrams handled per wake-up, so one busy client cannot starve others. */
#define MAX_MSGS_PER_WAKE 64

/* Answer req, passing n_fds descriptors.  Every error answer is counted in ops.errors. */
static int send_reply_fds(struct server *s, struct session *se, const struct tier_msg_hdr *req,
			  int status, const void *body, size_t blen, const int *fds, int n_fds)
{
	struct tier_msg_hdr hdr = {
		.magic = TIER_PROTO_MAGIC, .type = req->type, .seq = req->seq, .status = status,
	};
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)body, .iov_len = blen },
	};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(3 * sizeof(int))];
	} cbuf;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = blen ? 2 : 1 };
	ssize_t n;

	if (status < 0)
		s->store.c.errors++;
	if (n_fds > 0 && n_fds <= 3) {
		struct cmsghdr *cm;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)n_fds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)n_fds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)n_fds * sizeof(int));
	}
	do
		n = sendmsg(se->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

static int send_reply(struct server *s, struct session *se, const struct tier_msg_hdr *req,
		      int status, const void *body, size_t blen, int pass_fd)
{
	return send_reply_fds(s, se, req, status, body, blen, &pass_fd, pass_fd >= 0 ? 1 : 0);
}

static int do_hello(struct server *s, struct session *se, const struct tier_msg_hdr *h,
		    const void *body)
{
	struct tier_msg_hello m;
	struct {
		struct tier_msg_hello_reply r;
		struct tier_msg_hello_span span;
	} out = { .r.abi_version = TIER_ABI_VERSION };
	struct tier_msg_hello_reply *rep = &out.r;
	size_t rlen = sizeof(out.r);

	memcpy(&m, body, sizeof(m));
	if (m.abi_version != TIER_ABI_VERSION) {
		log_notice("client %u (pid %d): ABI version %u, ours is %u: refused", se->id,
			   (int)se->cred.pid, m.abi_version, TIER_ABI_VERSION);
		send_reply(s, se, h, -EPROTO, rep, sizeof(*rep), -1);
		return -EPROTO;
	}
	memcpy(se->name, m.name, sizeof(se->name));
	se->name[sizeof(se->name) - 1] = 0;
	rep->client_id = se->id;
	rep->arena_bytes = s->arena.bytes;
	rep->max_block_size = store_max_block_size(&s->store);
	if (m.flags & TIER_HELLO_ARENAS) {
		se->maps_arenas = true;
		out.span.span_bytes = s->arena.span;
		out.span.align_bytes = s->arena.align;
		rlen = sizeof(out);
	}
	if (!se->hello_done)
		s->n_handshaking--;
	se->hello_done = true;
	log_debug("client %u: hello from pid %d uid %d (%s)", se->id, (int)se->cred.pid,
		  (int)se->cred.uid, se->name);
	if (!(m.flags & TIER_HELLO_NO_RING)) {
		/*
		 * Edge-triggered: every write of the client's makes an event, even
		 * with the counter already non-zero, so the daemon never reads it
		 * (a 64-bit counter of wake-ups does not fill).
		 */
		struct epoll_event ev = { .events = EPOLLIN | EPOLLET,
					  .data.ptr = (void *)((uintptr_t)se | 1) };
		int r = ring_create(&se->ring, rep->max_block_size);

		if (r < 0 || epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, se->ring.doorbell, &ev) < 0) {
			log_warning("client %u: no rings (%s), ignoring: it uses the socket",
				    se->id, strerror(r < 0 ? -r : errno));
			ring_destroy(&se->ring);
		} else {
			int fds[3] = { s->arena.fd, se->ring.memfd, se->ring.doorbell };

			return send_reply_fds(s, se, h, 0, &out, rlen, fds, 3);
		}
	}
	return send_reply(s, se, h, 0, &out, rlen, s->arena.fd);
}

static int do_stats(struct server *s, struct session *se, const struct tier_msg_hdr *h,
		    const void *body)
{
	struct tier_msg_stats m;
	/* Static: the reply can be large and the reactor is single-threaded. */
	static uint8_t out[TIER_MSG_MAX];
	struct tier_stats st;
	uint32_t max_ns, n;

	memcpy(&m, body, sizeof(m));
	max_ns = (uint32_t)((sizeof(out) - sizeof(st)) / sizeof(struct tier_ns_stats));
	if (m.max_ns < max_ns)
		max_ns = m.max_ns;
	n = server_fill_stats_for(s, se, &st, (struct tier_ns_stats *)(out + sizeof(st)), max_ns);
	memcpy(out, &st, sizeof(st));
	return send_reply(s, se, h, (int)n, out, sizeof(st) + n * sizeof(struct tier_ns_stats), -1);
}

/*
 * Whether se may create a namespace nobody configured: not with a block size
 * that would take a size class kept for configured namespaces; root and the
 * daemon's user otherwise always (while the table has room); any other uid up to
 * daemon.max_namespaces_per_uid of its own, and never into the last eighth of
 * the table, which stays for root and the daemon's user.  A name with an
 * [ns.NAME] section is the operator's and counts against nobody.
 */
static int ns_may_create(struct server *s, struct session *se, const struct tier_msg_ns_open *m)
{
	uint32_t max = s->cfg.max_namespaces, keep = max / 8, kept = 0, id;
	const char *name = m->name;

	/*
	 * Size classes (64 per arena, one per block size) stay free for the
	 * [ns.NAME] sections without block_size whose namespace does not exist
	 * yet (those with one took theirs at start), at most half of them.
	 */
	for (uint32_t i = 0; i < s->cfg.ns_rules.n; i++) {
		const struct ns_rule *r = &s->cfg.ns_rules.r[i];

		kept += !r->block_size && store_ns_find(&s->store, r->name, &id) < 0;
	}
	if (store_ns_class_room(&s->store, name, m->block_size,
				kept < SLAB_MAX_CLASSES / 2 ? kept : SLAB_MAX_CLASSES / 2) < 0) {
		log_notice("client %u (pid %d uid %d): namespace '%s' refused: a new block size "
			   "(%llu) would take a size class kept for the configured namespaces",
			   se->id, (int)se->cred.pid, (int)se->cred.uid, name,
			   (unsigned long long)m->block_size);
		return -ENOSPC;
	}
	if (admin_may_change(se))
		return 0;
	if (store_ns_count_by(&s->store, (uint32_t)se->cred.uid) >= s->cfg.max_namespaces_per_uid) {
		log_notice("client %u (pid %d uid %d): namespace '%s' refused: the uid has "
			   "daemon.max_namespaces_per_uid (%u) namespaces", se->id,
			   (int)se->cred.pid, (int)se->cred.uid, name, s->cfg.max_namespaces_per_uid);
		return -EDQUOT;
	}
	if (store_ns_live(&s->store) + keep >= max) {
		log_notice("client %u (pid %d uid %d): namespace '%s' refused: the last %u of "
			   "daemon.max_namespaces (%u) are kept for root and the daemon's user",
			   se->id, (int)se->cred.pid, (int)se->cred.uid, name, keep, max);
		return -ENOSPC;
	}
	return 0;
}

/*
 * Open (or create) a namespace for a client: its [ns.NAME] rule decides
 * whether this peer (SO_PEERCRED, SO_PEERGROUPS) may, and sets the quotas
 * and salt; from then on the client may name the namespace in operations.
 * Its private arena, if it has one, is *ret_region: the memfd goes with this
 * reply and nowhere else, so a client the rule refuses never holds it.
 */
static int ns_open(struct server *s, struct session *se, const struct tier_msg_ns_open *m,
		   uint32_t *ret_ns, const struct host_region **ret_region)
{
	const struct ns_rule *rule = nsrule_find(&s->cfg.ns_rules, m->name);
	int r;

	if (!nsrule_allows(rule, se->cred.uid, se->cred.gid, se->groups, se->n_groups)) {
		s->store.c.refused_access++;
		log_notice("client %u (pid %d uid %d): may not open namespace '%s'", se->id,
			   (int)se->cred.pid, (int)se->cred.uid, m->name);
		return -EACCES;
	}
	*ret_region = host_region_of(&s->arena, m->name);
	if (*ret_region && !se->maps_arenas) {
		log_notice("client %u (pid %d): namespace '%s' has a private arena and the client "
			   "cannot map one (older libtier): refused", se->id, (int)se->cred.pid,
			   m->name);
		return -EOPNOTSUPP;
	}
	if (rule && rule->block_size && m->block_size != rule->block_size) {
		log_notice("client %u (pid %d uid %d): namespace '%s' has block size %llu by the "
			   "config, not %llu: refused", se->id, (int)se->cred.pid, (int)se->cred.uid,
			   m->name, (unsigned long long)rule->block_size,
			   (unsigned long long)m->block_size);
		return -EINVAL;
	}
	if (store_ns_find(&s->store, m->name, ret_ns) < 0 && !rule) {
		r = ns_may_create(s, se, m);
		if (r < 0)
			return r;
	}
	r = store_ns_open_as(&s->store, m->name, m->block_size, (uint32_t)se->cred.uid, ret_ns);
	if (r < 0)
		return r;
	if (rule)
		store_ns_configure(&s->store, *ret_ns, nsrule_restricted(rule), rule->quota_host,
				   rule->quota_nvme, rule->salt, false);
	if (!(se->holder.ns_ok[*ret_ns / 8] & (1u << (*ret_ns % 8)))) {
		se->holder.ns_ok[*ret_ns / 8] |= (uint8_t)(1u << (*ret_ns % 8));
		s->store.ns[*ret_ns].opens++;
	}
	return 0;
}

/* handle() result: the request waits for I/O; no reply yet. */
#define PARK 1

enum { FLUSH_DATA = 1, FLUSH_JOURNAL, FLUSH_SYNC };

/*
 * tier_flush: the blocks reach NVMe, their journal records reach the file,
 * then every device and the journal are fdatasync'ed.  Each stage parks the
 * request until the next completion moves it on.
 */
static int do_flush(struct server *s, struct session *se, const struct tier_msg_hdr *h,
		    const void *body, bool retry)
{
	struct store *st = &s->store;
	struct journal *j = &st->nv.journal;
	int r;

	if (!retry && st->remote)
		se->flush_remote_mark = remote_tier_write_mark(st->remote);
	if (!s->nvme) {
		/* Only a remote tier: wait for the writes sent before the flush. */
		struct tier_msg_flush m;

		memcpy(&m, body, sizeof(m));
		if (!retry && m.ns != TIER_NS_ALL && !op_may_use(st, &se->holder, m.ns))
			return send_reply(s, se, h, -EACCES, NULL, 0, -1);
		if (remote_tier_writes_pending(st->remote, se->flush_remote_mark))
			return PARK;
		return send_reply(s, se, h, 0, NULL, 0, -1);
	}
	if (!retry) {
		struct tier_msg_flush m;

		memcpy(&m, body, sizeof(m));
		if (m.ns != TIER_NS_ALL && !op_may_use(st, &se->holder, m.ns))
			return send_reply(s, se, h, -EACCES, NULL, 0, -1);
		se->flush_ns = m.ns;
		r = store_flush_start(st, m.ns, &se->flush_epoch);
		if (r < 0)
			return send_reply(s, se, h, r, NULL, 0, -1);
		se->flush_stage = FLUSH_DATA;
		se->flush_io_errors = st->nv.io_errors;
	}
	if (se->flush_stage == FLUSH_DATA) {
		if (st->nv.io_errors != se->flush_io_errors)
			return send_reply(s, se, h, -EIO, NULL, 0, -1);
		r = store_flush_kick(st, se->flush_ns, se->flush_epoch);
		if (r == -EINPROGRESS)
			return PARK;
		if (r < 0)
			return send_reply(s, se, h, r, NULL, 0, -1);
		se->flush_stage = FLUSH_JOURNAL;
		se->flush_target = j->queued_total;
		se->flush_jerrors = j->errors;
	}
	if (se->flush_stage == FLUSH_JOURNAL) {
		if (j->done_total < se->flush_target)
			return PARK;
		if (j->errors != se->flush_jerrors)
			return send_reply(s, se, h, -EIO, NULL, 0, -1);
		se->flush_stage = FLUSH_SYNC;
		se->fsync_done = false;
		r = nvme_fsync_all(s->nvme, ((uint64_t)se->index << 32) | se->id);
		if (r < 0)
			return send_reply(s, se, h, r, NULL, 0, -1);
		return PARK;
	}
	if (!se->fsync_done)
		return PARK;
	if (st->remote && remote_tier_writes_pending(st->remote, se->flush_remote_mark))
		return PARK;
	return send_reply(s, se, h, se->fsync_res, NULL, 0, -1);
}

/* A block operation from a socket message, as an op_req (validated already). */
static void msg_to_op(const struct tier_msg_hdr *h, const void *body, struct op_req *q)
{
	/* Keys are copied out: the datagram buffer need not be aligned. */
	static tier_key keys[TIER_LOOKUP_BATCH];

	memset(q, 0, sizeof(*q));
	switch (h->type) {
	case TIER_MSG_ALLOC: {
		struct tier_msg_alloc m;

		memcpy(&m, body, sizeof(m));
		q->code = TIER_OP_ALLOC;
		q->ns = m.ns;
		break;
	}
	case TIER_MSG_COMMIT: {
		struct tier_msg_commit m;

		memcpy(&m, body, sizeof(m));
		q->code = TIER_OP_COMMIT;
		q->handle = m.handle;
		q->key = m.key;
		q->parent = m.parent;
		q->flags = (m.flags & TIER_COMMIT_HAS_PARENT) ? TIER_OPF_PARENT : 0;
		break;
	}
	case TIER_MSG_LOOKUP:
	case TIER_MSG_PREFETCH: {
		struct tier_msg_lookup m;

		memcpy(&m, body, sizeof(m));
		memcpy(keys, (const uint8_t *)body + sizeof(m), (size_t)m.n * sizeof(tier_key));
		q->code = h->type == TIER_MSG_LOOKUP ? TIER_OP_LOOKUP : TIER_OP_PREFETCH;
		q->ns = m.ns;
		q->keys = keys;
		q->n = m.n;
		q->first_pos = m.first_pos;
		q->total = m.total;
		q->list_parent = m.parent;
		break;
	}
	case TIER_MSG_ACQUIRE:
	case TIER_MSG_DROP: {
		struct tier_msg_key m;

		memcpy(&m, body, sizeof(m));
		q->code = h->type == TIER_MSG_ACQUIRE ? TIER_OP_ACQUIRE : TIER_OP_DROP;
		q->ns = m.ns;
		q->key = m.key;
		break;
	}
	case TIER_MSG_RELEASE: {
		struct tier_msg_handle m;

		memcpy(&m, body, sizeof(m));
		q->code = TIER_OP_RELEASE;
		q->handle = m.handle;
		break;
	}
	default:
		q->code = 0xff; /* not a block operation */
		break;
	}
}

/*
 * Carry out one valid request: 0 when answered, PARK when it waits for I/O,
 * a negative errno when the client must go (its reply could not be sent).
 */
static int handle(struct server *s, struct session *se, const struct tier_msg_hdr *h,
		  const void *body, bool retry)
{
	struct store *st = &s->store;
	struct tier_msg_block_reply br;
	struct op_req q;
	struct op_res res;
	int r;

	if (!retry)
		se->ops++;
	switch (h->type) {
	case TIER_MSG_HELLO:
		return do_hello(s, se, h, body);
	case TIER_MSG_NS_OPEN: {
		struct tier_msg_ns_open m;
		struct {
			struct tier_msg_ns_reply r;
			struct tier_msg_ns_arena a;
		} rep = { 0 };
		const struct host_region *g = NULL;
		size_t rlen = se->maps_arenas ? sizeof(rep) : sizeof(rep.r);

		memcpy(&m, body, sizeof(m));
		r = ns_open(s, se, &m, &rep.r.ns, &g);
		if (r < 0)
			return send_reply(s, se, h, r, NULL, 0, -1);
		rep.r.block_size = m.block_size;
		if (g) {
			rep.a.start = g->start;
			rep.a.bytes = g->bytes;
		}
		return send_reply(s, se, h, 0, &rep, rlen, g ? g->fd : -1);
	}
	case TIER_MSG_STATS:
		return do_stats(s, se, h, body);
	case TIER_MSG_HINT: {
		struct tier_msg_hint m;
		static tier_key keys[TIER_LOOKUP_BATCH];

		memcpy(&m, body, sizeof(m));
		if (!op_may_use(st, &se->holder, m.ns))
			return send_reply(s, se, h, -EACCES, NULL, 0, -1);
		memcpy(keys, (const uint8_t *)body + sizeof(m), (size_t)m.n * sizeof(tier_key));
		r = store_hint(st, m.ns, keys, m.n, m.priority);
		return send_reply(s, se, h, r, NULL, 0, -1);
	}
	case TIER_MSG_GPU_POOL: {
		struct tier_msg_gpu_pool_reply rep;
		int fd = -1;

		r = server_gpu_export(s, &rep, &fd);
		if (r < 0)
			return send_reply(s, se, h, r, NULL, 0, -1);
		r = send_reply(s, se, h, 0, &rep, sizeof(rep), fd);
		close(fd);
		return r;
	}
	case TIER_MSG_ACQUIRE_GPU: {
		struct tier_msg_gpu_block_reply gr = { 0 };
		struct tier_msg_key m;

		memcpy(&m, body, sizeof(m));
		if (!retry)
			st->c.acquire++;
		if (!op_may_use(st, &se->holder, m.ns))
			return send_reply(s, se, h, -EACCES, NULL, 0, -1);
		r = store_acquire_gpu(st, &se->holder, m.ns, m.key, retry, &gr.handle, &gr.offset,
				      &gr.size, &gr.pool_offset);
		if (r == -EINPROGRESS)
			return PARK;
		return send_reply(s, se, h, r, &gr, r == 0 ? sizeof(gr) : 0, -1);
	}
	case TIER_MSG_FLUSH:
		if (!retry)
			st->c.flush++;
		if (!s->nvme && !st->remote)
			return send_reply(s, se, h, -ENODEV, NULL, 0, -1);
		return do_flush(s, se, h, body, retry);
	default:
		if (admin_is_admin(h->type)) {
			/* Aligned: admin.c fills reply structs in place. */
			static uint64_t out[(TIER_MSG_MAX - sizeof(struct tier_msg_hdr)) / 8];
			size_t olen;

			r = admin_handle(s, se, h->type, body, out, sizeof(out), &olen);
			return send_reply(s, se, h, r, out, olen, -1);
		}
		break;
	}
	msg_to_op(h, body, &q);
	r = op_exec(st, &se->holder, &q, retry, &res);
	if (r == -EINPROGRESS)
		return PARK;
	if (h->type == TIER_MSG_ALLOC || h->type == TIER_MSG_ACQUIRE) {
		br = (struct tier_msg_block_reply){ .handle = res.handle, .offset = res.offset,
						    .size = res.size };
		return send_reply(s, se, h, r, &br, r == 0 ? sizeof(br) : 0, -1);
	}
	return send_reply(s, se, h, r, NULL, 0, -1);
}

/* Stop (or resume) reading a client while its request waits; hang-ups still arrive. */
static void watch_input(struct server *s, struct session *se, bool on)
{
	struct epoll_event ev = { .events = (on ? EPOLLIN : 0) | EPOLLRDHUP, .data.ptr = se };

	epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, se->fd, &ev);
}

static void park(struct server *s, struct session *se, const void *msg, size_t len)
{
	se->parked_at_ns = server_now_ns();
	s->timers_dirty = true;
	memcpy(len > sizeof(se->parked_msg) ? se->parked_long : se->parked_msg, msg, len);
	se->parked_len = len;
	se->parked = true;
	s->n_parked++;
	watch_input(s, se, false);
}

static void unpark(struct server *s, struct session *se)
{
	se->parked = false;
	s->n_parked--;
	watch_input(s, se, true);
}

bool session_expire(struct server *s, struct session *se)
{
	struct tier_msg_hdr h;

	memcpy(&h, session_parked(se), sizeof(h));
	unpark(s, se);
	s->store.c.io_timeouts++;
	log_notice("client %u (pid %d): request waited on I/O longer than nvme.io_timeout: "
		   "-ETIMEDOUT", se->id, (int)se->cred.pid);
	return send_reply(s, se, &h, -ETIMEDOUT, NULL, 0, -1) == 0;
}

bool session_retry(struct server *s, struct session *se)
{
	struct tier_msg_hdr h;
	const void *body;
	size_t blen;
	int r;

	if (validate_msg(session_parked(se), se->parked_len, 1, &h, &body, &blen) < 0)
		return false; /* cannot happen: it was valid when parked */
	r = handle(s, se, &h, body, true);
	if (r == PARK)
		return true;
	unpark(s, se);
	return r >= 0;
}

/* Close any descriptors a client tried to pass; true if there were any. */
static bool drop_passed_fds(struct msghdr *mh)
{
	bool any = false;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			close(fd);
		}
		any = true;
	}
	return any;
}

bool session_handle_input(struct server *s, struct session *se)
{
	static uint8_t buf[TIER_MSG_MAX + 1];

	se->last_active_ns = server_now_ns();
	for (int i = 0; i < MAX_MSGS_PER_WAKE; i++) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(16 * sizeof(int))];
		} cbuf;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
		};
		struct tier_msg_hdr h;
		const void *body;
		size_t blen;
		ssize_t n;
		int r;

		n = recvmsg(se->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK;
		}
		if (n == 0)
			return false; /* hang-up */
		if (drop_passed_fds(&mh) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
			log_notice("client %u (pid %d): oversized message or passed descriptors, "
				   "disconnecting", se->id, (int)se->cred.pid);
			s->protocol_errors++;
			return false;
		}
		r = validate_msg(buf, (size_t)n, se->hello_done, &h, &body, &blen);
		if (r == -EBADMSG || r == -EPROTO) {
			log_notice("client %u (pid %d): %s, disconnecting", se->id,
				   (int)se->cred.pid,
				   r == -EBADMSG ? "not a tierd message" : "no handshake");
			s->protocol_errors++;
			return false;
		}
		if (r < 0) {
			s->protocol_errors++;
			if (++se->bad_msgs >= MAX_BAD_MSGS) {
				log_notice("client %u (pid %d): %u malformed requests in a row, "
					   "disconnecting", se->id, (int)se->cred.pid, se->bad_msgs);
				return false;
			}
			if (send_reply(s, se, &h, r, NULL, 0, -1) < 0)
				return false;
			continue;
		}
		se->bad_msgs = 0;
		r = handle(s, se, &h, body, false);
		if (r == PARK) {
			/* Parkable requests are small; the copy is bounded by validation. */
			if ((size_t)n > sizeof(se->parked_msg)) {
				/* Only a lookup waiting on the remote tier is longer. */
				if (!se->parked_long)
					se->parked_long = malloc(TIER_MSG_MAX);
				if (!se->parked_long || (size_t)n > TIER_MSG_MAX)
					return false;
			}
			park(s, se, buf, (size_t)n);
			return true;
		}
		if (r == -EPROTO)
			return false;
		if (r < 0) {
			/* The client does not read its replies: cut it off. */
			log_notice("client %u (pid %d): reply not deliverable (%s), disconnecting",
				   se->id, (int)se->cred.pid, strerror(-r));
			return false;
		}
	}
	return true;
}

void session_close(struct server *s, struct session *se)
{
	if (se->holder.pins)
		log_info("client %u (pid %d) gone: releasing %llu pins", se->id, (int)se->cred.pid,
			 (unsigned long long)se->holder.pins);
	if (se->parked)
		s->n_parked--;
	if (!se->hello_done)
		s->n_handshaking--;
	store_holder_release_all(&s->store, &se->holder);
	for (uint32_t i = 0; se->holder.ns_ok && i < s->store.n_ns; i++)
		if (se->holder.ns_ok[i / 8] & (1u << (i % 8)))
			s->store.ns[i].opens--;
	free(se->holder.ns_ok);
	free(se->parked_long);
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, se->fd, NULL);
	close(se->fd);
	if (se->ring.seg) {
		epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, se->ring.doorbell, NULL);
		ring_destroy(&se->ring);
	}
	s->sessions[se->index] = NULL;
	/* Keep the live list packed: the last one takes this place. */
	s->live[se->live] = s->live[s->n_sessions - 1];
	s->live[se->live]->live = se->live;
	s->n_sessions--;
	free(se);
}
