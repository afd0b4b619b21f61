/* SPDX-License-Identifier: MIT */
/*
 * The cluster client (remote.h).  Design choices:
 *
 * - hiredis's asynchronous API with our own event adapter: each connection's
 *   socket sits in a private epoll set whose descriptor sits in the
 *   reactor's, and hiredis's add/del read/write hooks become EPOLL_CTL_MOD.
 *   A connect is non-blocking; hosts are numeric, so nothing resolves names.
 * - hiredis 0.14 has no timeouts: every command carries a deadline and sits
 *   on one list in submission order (one timeout for all, so the list is in
 *   deadline order too).  A command past its deadline is answered
 *   -ETIMEDOUT at once; hiredis still holds its callback, so the record
 *   stays, marked orphan, until the node answers or the connection is
 *   freed: which it is, since a node that let a command time out is backed
 *   off and disconnected.
 * - At most inflight_bytes of command bytes per connection are handed to
 *   hiredis; the rest wait in a per-node queue (hiredis's output buffer is a
 *   string it shifts as it writes: a deep pipeline of large SETs is slow).
 * - Routing: a slot map from CLUSTER SLOTS, asked again (at most every
 *   REFRESH_MIN_MS) after a MOVED, which also fixes that slot at once; ASK
 *   sends ASKING then the command to the node named, once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/async.h>

#include "log.h"
#include "remote.h"

#define REFRESH_MIN_MS 100
#define BACKOFF_MAX_SHIFT 3

struct rcmd {
	struct remote *r;
	struct rcmd *prev, *next;   /* r->live, in deadline order */
	struct rcmd *qnext;         /* a node's queue, or r->waiting, or r->done */
	char *buf;                  /* the formatted command */
	size_t len;
	size_t weight;              /* len + the reply bytes expected: what counts in flight */
	uint64_t start_ns, deadline_ns;
	remote_cb *cb;
	void *arg;
	int res;                    /* for r->done */
	uint16_t slot;
	uint8_t redirects;
	bool orphan;                /* answered already: free when hiredis gives it back */
	bool sent;                  /* hiredis holds its callback */
	bool queued;                /* in a node's queue, r->waiting or r->done */
	bool waiting;               /* in r->waiting */
	bool refresh;               /* CLUSTER SLOTS, ours */
	int node;                   /* where it was sent or queued */
};

struct rnode {
	struct remote *r;
	struct remote_addr addr;
	redisAsyncContext *ac;
	int fd;                     /* ac's socket, for the hooks */
	uint32_t events;            /* what epoll watches */
	bool in_epoll;
	uint64_t inflight;          /* command bytes hiredis holds */
	struct rcmd *qhead, *qtail; /* waiting for inflight to drop */
	uint64_t backoff_until_ns;
	uint32_t fails;             /* consecutive: the back-off doubles, up to 8 times */
	int idx;
};

struct remote {
	struct remote_opts o;
	char *user, *password;
	int epfd;
	struct rnode nodes[REMOTE_NODES_MAX];
	uint32_t n_nodes;
	uint16_t slot_node[REMOTE_SLOTS]; /* index in nodes, or REMOTE_NO_NODE */
	bool have_map;
	uint32_t covered;
	bool refresh_wanted, refreshing;
	bool freeing;               /* remote_free: answers are -ECANCELED */
	int refresh_node;
	uint64_t next_refresh_ns, refresh_deadline_ns;
	uint32_t refresh_rr;
	struct rcmd *live_head, *live_tail;
	struct rcmd *waiting, *waiting_tail; /* for a slot map, in order: a GET after its SET */
	struct rcmd *done_head, *done_tail; /* answered from remote_turn */
	uint64_t outstanding;
	struct remote_counters c;
	struct remote_map tmp;      /* a map being parsed */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- the event adapter ---------------------------------------------- */

static void ev_update(struct rnode *n, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = n };
	int fd = n->fd;

	if (events == n->events && n->in_epoll)
		return;
	if (!n->in_epoll) {
		if (epoll_ctl(n->r->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
			n->in_epoll = true;
	} else {
		epoll_ctl(n->r->epfd, EPOLL_CTL_MOD, fd, &ev);
	}
	n->events = events;
}

static void ev_add_read(void *p)
{
	struct rnode *n = p;

	ev_update(n, n->events | EPOLLIN);
}

static void ev_del_read(void *p)
{
	struct rnode *n = p;

	ev_update(n, n->events & ~(uint32_t)EPOLLIN);
}

static void ev_add_write(void *p)
{
	struct rnode *n = p;

	ev_update(n, n->events | EPOLLOUT);
}

static void ev_del_write(void *p)
{
	struct rnode *n = p;

	ev_update(n, n->events & ~(uint32_t)EPOLLOUT);
}

static void ev_cleanup(void *p)
{
	struct rnode *n = p;

	if (n->in_epoll)
		epoll_ctl(n->r->epfd, EPOLL_CTL_DEL, n->fd, NULL);
	n->in_epoll = false;
	n->events = 0;
}

/* ---- commands ------------------------------------------------------- */

static void live_unlink(struct remote *r, struct rcmd *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else if (r->live_head == c)
		r->live_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else if (r->live_tail == c)
		r->live_tail = c->prev;
	c->prev = c->next = NULL;
}

static void cmd_free(struct rcmd *c)
{
	redisFreeCommand(c->buf);
	free(c);
}

/* Answer c's owner now (once); the record goes when hiredis no longer holds it. */
static void cmd_answer(struct remote *r, struct rcmd *c, int res, const redisReply *reply)
{
	if (c->orphan)
		return;
	c->orphan = true;
	live_unlink(r, c);
	r->outstanding--;
	if (res == -ETIMEDOUT)
		r->c.timeouts++;
	else if (res < 0 && res != -ECANCELED)
		r->c.errors++;
	if (res == 0 || res == -EIO || res == -EAGAIN) {
		uint64_t lat = now_ns() - c->start_ns;

		r->c.lat_ns_sum += lat;
		r->c.lat_n++;
		if (lat > r->c.lat_ns_max)
			r->c.lat_ns_max = lat;
	}
	if (c->cb)
		c->cb(c->arg, res, reply);
}

/* Answer c from remote_turn (never from inside remote_cmd). */
static void cmd_defer(struct remote *r, struct rcmd *c, int res)
{
	c->res = res;
	c->qnext = NULL;
	c->queued = true;
	if (r->done_tail)
		r->done_tail->qnext = c;
	else
		r->done_head = c;
	r->done_tail = c;
}

static void node_fail(struct rnode *n, const char *why);
static void route(struct remote *r, struct rcmd *c, int node, bool asking, bool deferred);
static void on_reply(redisAsyncContext *ac, void *reply, void *priv);

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct rnode *n = ac->ev.data;

	if (status == REDIS_OK) {
		n->r->c.connects++;
		return;
	}
	/* hiredis frees the context after this returns, and calls no disconnect callback. */
	log_notice("remote: %s:%u: connect failed: %s: backing off", n->addr.host,
		   (unsigned)n->addr.port, ac->errstr);
	if (n->ac != ac)
		return;
	n->ac = NULL;
	n->inflight = 0;
	node_fail(n, NULL);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rnode *n = ac->ev.data;

	n->r->c.disconnects++;
	if (n->ac != ac)
		return; /* we freed it */
	n->ac = NULL;
	n->inflight = 0;
	if (status != REDIS_OK) {
		log_notice("remote: %s:%u: connection lost: %s: backing off", n->addr.host,
			   (unsigned)n->addr.port, ac->errstr);
		node_fail(n, NULL);
	}
}

static void on_auth(redisAsyncContext *ac, void *reply, void *priv)
{
	struct rnode *n = priv;
	redisReply *rp = reply;

	if (rp && rp->type == REDIS_REPLY_ERROR)
		log_err("remote: %s:%u: AUTH refused: %s (remote.user, remote.password)",
			n->addr.host, (unsigned)n->addr.port, rp->str);
}

static void on_asking(redisAsyncContext *ac, void *reply, void *priv)
{
}

static bool numeric_host(const char *h)
{
	uint8_t a[16];

	return inet_pton(AF_INET, h, a) == 1 || inet_pton(AF_INET6, h, a) == 1;
}

static int node_connect(struct rnode *n)
{
	redisAsyncContext *ac;

	if (!numeric_host(n->addr.host)) {
		log_warning("remote: %s:%u is not a numeric address: not connecting (tierd never "
			    "resolves names on its reactor)", n->addr.host, (unsigned)n->addr.port);
		return -EHOSTUNREACH;
	}
	ac = redisAsyncConnect(n->addr.host, n->addr.port);
	if (!ac)
		return -ENOMEM;
	if (ac->err) {
		log_notice("remote: %s:%u: %s", n->addr.host, (unsigned)n->addr.port, ac->errstr);
		redisAsyncFree(ac);
		return -ECONNREFUSED;
	}
	n->ac = ac;
	n->fd = ac->c.fd;
	n->events = 0;
	n->in_epoll = false;
	ac->ev.data = n;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	/* The connect completes when the socket is writable. */
	ev_add_write(n);
	if (n->r->password && n->r->password[0]) {
		if (n->r->user && n->r->user[0])
			redisAsyncCommand(ac, on_auth, n, "AUTH %s %s", n->r->user, n->r->password);
		else
			redisAsyncCommand(ac, on_auth, n, "AUTH %s", n->r->password);
	}
	return 0;
}

/* Hand c to hiredis on n's connection. */
static void node_send(struct rnode *n, struct rcmd *c, bool asking)
{
	if (asking)
		redisAsyncFormattedCommand(n->ac, on_asking, NULL, "*1\r\n$6\r\nASKING\r\n", 16);
	if (redisAsyncFormattedCommand(n->ac, on_reply, c, c->buf, c->len) != REDIS_OK) {
		cmd_answer(n->r, c, -ECONNRESET, NULL);
		cmd_free(c);
		return;
	}
	c->sent = true;
	c->node = n->idx;
	n->inflight += c->weight;
	n->r->c.bytes_sent += c->len;
}

/* Send what n's queue holds, as far as inflight_bytes allows. */
static void node_drain(struct rnode *n)
{
	while (n->qhead && n->ac &&
	       (!n->inflight || n->inflight + n->qhead->weight <= n->r->o.inflight_bytes)) {
		struct rcmd *c = n->qhead;

		n->qhead = c->qnext;
		if (!n->qhead)
			n->qtail = NULL;
		c->queued = false;
		c->qnext = NULL;
		if (c->orphan)
			cmd_free(c);
		else
			node_send(n, c, false);
	}
}

/*
 * A node failed (a refused or lost connection, a timeout): back off from it,
 * fail what waits in its queue, drop its connection (hiredis answers what it
 * holds with NULL replies), and ask for a new slot map: its slots may have
 * moved to a replica.
 */
static void node_fail(struct rnode *n, const char *why)
{
	struct remote *r = n->r;
	uint32_t shift = n->fails < BACKOFF_MAX_SHIFT ? n->fails : BACKOFF_MAX_SHIFT;
	redisAsyncContext *ac = n->ac;

	if (why)
		log_notice("remote: %s:%u: %s: backing off", n->addr.host, (unsigned)n->addr.port, why);
	n->fails++;
	n->backoff_until_ns = now_ns() + ((uint64_t)r->o.backoff_ms << shift) * 1000000ULL;
	while (n->qhead) {
		struct rcmd *c = n->qhead;

		n->qhead = c->qnext;
		c->queued = false;
		cmd_answer(r, c, -ECONNRESET, NULL);
		cmd_free(c);
	}
	n->qtail = NULL;
	r->refresh_wanted = true;
	if (ac) {
		n->ac = NULL;
		n->inflight = 0;
		redisAsyncFree(ac);
	}
}

static int node_find(struct remote *r, const struct remote_addr *a)
{
	for (uint32_t i = 0; i < r->n_nodes; i++)
		if (remote_addr_eq(&r->nodes[i].addr, a))
			return (int)i;
	if (r->n_nodes == REMOTE_NODES_MAX)
		return -ENOSPC;
	r->nodes[r->n_nodes] = (struct rnode){ .r = r, .addr = *a, .idx = (int)r->n_nodes };
	return (int)r->n_nodes++;
}

/*
 * Send c to node (its slot's owner when node < 0).  deferred: answer a
 * failure from remote_turn (we are inside remote_cmd).
 */
static void route(struct remote *r, struct rcmd *c, int node, bool asking, bool deferred)
{
	struct rnode *n;
	int res;

	if (node < 0) {
		if (!r->have_map) {
			c->queued = c->waiting = true;
			c->qnext = NULL;
			if (r->waiting_tail)
				r->waiting_tail->qnext = c;
			else
				r->waiting = c;
			r->waiting_tail = c;
			return;
		}
		node = r->slot_node[c->slot];
	}
	if (node < 0 || node == REMOTE_NO_NODE) {
		res = -EAGAIN; /* a slot nobody serves */
		r->refresh_wanted = true;
		goto fail;
	}
	n = &r->nodes[node];
	if (!n->ac) {
		if (now_ns() < n->backoff_until_ns) {
			/* Its slots may have gone to a replica meanwhile: ask (rate-limited). */
			r->refresh_wanted = true;
			res = -ECONNREFUSED;
			goto fail;
		}
		res = node_connect(n);
		if (res < 0) {
			node_fail(n, NULL);
			goto fail;
		}
	}
	/* Behind what is queued, never past it: a GET must not overtake its SET. */
	if (asking || (!n->qhead && (!n->inflight || n->inflight + c->weight <= r->o.inflight_bytes))) {
		node_send(n, c, asking);
		return;
	}
	c->queued = true;
	c->node = node;
	c->qnext = NULL;
	if (n->qtail)
		n->qtail->qnext = c;
	else
		n->qhead = c;
	n->qtail = c;
	return;
fail:
	if (deferred) {
		cmd_defer(r, c, res);
	} else {
		cmd_answer(r, c, res, NULL);
		cmd_free(c);
	}
}

static bool err_is(const redisReply *rp, const char *word)
{
	size_t n = strlen(word);

	return rp->len >= n && !memcmp(rp->str, word, n);
}

static void refresh_done(struct remote *r, struct rnode *n, const redisReply *rp);

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct rcmd *c = priv;
	struct remote *r = c->r;
	struct rnode *n = &r->nodes[c->node];
	redisReply *rp = reply;
	struct remote_addr to;
	uint16_t slot;
	bool ask;
	int dest;

	c->sent = false;
	n->inflight = n->inflight >= c->weight ? n->inflight - c->weight : 0;
	if (rp) {
		r->c.replies++;
		if (rp->type == REDIS_REPLY_STRING)
			r->c.bytes_received += rp->len;
		n->fails = 0;
	}
	if (c->refresh) {
		r->refreshing = false;
		refresh_done(r, n, rp);
		cmd_free(c);
		return;
	}
	if (c->orphan || !rp) {
		cmd_answer(r, c, r->freeing ? -ECANCELED : -ECONNRESET, NULL);
		cmd_free(c);
		/* Without a reply the connection is going: its queue fails with it. */
		if (rp && n->ac == ac)
			node_drain(n);
		return;
	}
	if (rp->type != REDIS_REPLY_ERROR) {
		cmd_answer(r, c, 0, rp);
		cmd_free(c);
		node_drain(n);
		return;
	}
	switch (remote_redirect_parse(rp->str, rp->len, &n->addr, &ask, &slot, &to)) {
	case 0:
		dest = node_find(r, &to);
		if (dest < 0 || ++c->redirects > REMOTE_REDIRECTS_MAX)
			break;
		if (ask) {
			r->c.ask++;
		} else {
			r->c.moved++;
			r->slot_node[slot] = (uint16_t)dest; /* now; the whole map soon */
			r->refresh_wanted = true;
		}
		node_drain(n);
		route(r, c, dest, ask, false);
		return;
	case -ENOENT:
		if (err_is(rp, "TRYAGAIN") || err_is(rp, "CLUSTERDOWN") || err_is(rp, "LOADING") ||
		    err_is(rp, "MASTERDOWN")) {
			r->refresh_wanted = true;
			cmd_answer(r, c, -EAGAIN, NULL);
			cmd_free(c);
			node_drain(n);
			return;
		}
		break;
	default:
		break;
	}
	cmd_answer(r, c, -EIO, NULL);
	cmd_free(c);
	node_drain(n);
}

/* ---- the slot map ----------------------------------------------------- */

static void refresh_done(struct remote *r, struct rnode *n, const redisReply *rp)
{
	struct remote_map *m = &r->tmp;

	if (!rp || remote_map_parse(m, rp, &n->addr) < 0 || !m->n_covered) {
		if (rp)
			log_notice("remote: %s:%u: CLUSTER SLOTS gave no usable map%s%s", n->addr.host,
				   (unsigned)n->addr.port, rp->type == REDIS_REPLY_ERROR ? ": " : "",
				   rp->type == REDIS_REPLY_ERROR ? rp->str : "");
		r->refresh_wanted = true;
		return;
	}
	r->c.refreshes++;
	r->covered = 0;
	for (uint32_t s = 0; s < REMOTE_SLOTS; s++) {
		int idx = m->owner[s] == REMOTE_NO_NODE ? -1 : node_find(r, &m->addr[m->owner[s]]);

		r->slot_node[s] = idx < 0 ? REMOTE_NO_NODE : (uint16_t)idx;
		r->covered += idx >= 0;
	}
	if (!r->have_map)
		log_info("remote: slot map: %u masters, %u of %u slots", m->n_addr, r->covered,
			 REMOTE_SLOTS);
	r->have_map = true;
	while (r->waiting) {
		struct rcmd *c = r->waiting;

		r->waiting = c->qnext;
		if (!r->waiting)
			r->waiting_tail = NULL;
		c->queued = c->waiting = false;
		c->qnext = NULL;
		route(r, c, -1, false, false);
	}
}

/* Ask a node that is not backed off (the connected ones first) for CLUSTER SLOTS. */
static void refresh(struct remote *r, uint64_t now)
{
	static const char cmd[] = "*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n";
	struct rnode *pick = NULL;
	struct rcmd *c;

	for (int pass = 0; pass < 2 && !pick; pass++)
		for (uint32_t i = 0; i < r->n_nodes && !pick; i++) {
			struct rnode *n = &r->nodes[(r->refresh_rr + i) % r->n_nodes];

			if (pass == 0 ? n->ac != NULL : now >= n->backoff_until_ns)
				pick = n;
		}
	r->next_refresh_ns = now + REFRESH_MIN_MS * 1000000ULL;
	if (!pick)
		return;
	r->refresh_rr = (uint32_t)pick->idx + 1;
	if (!pick->ac && node_connect(pick) < 0) {
		node_fail(pick, NULL);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->buf = malloc(sizeof(cmd)))) {
		free(c);
		return;
	}
	memcpy(c->buf, cmd, sizeof(cmd));
	c->len = c->weight = sizeof(cmd) - 1;
	c->r = r;
	c->refresh = true;
	c->orphan = true; /* nobody to answer */
	r->refresh_wanted = false;
	r->refreshing = true;
	if (redisAsyncFormattedCommand(pick->ac, on_reply, c, c->buf, c->len) != REDIS_OK) {
		r->refreshing = false;
		cmd_free(c);
		return;
	}
	c->sent = true;
	c->node = pick->idx;
	pick->inflight += c->weight;
	r->refresh_node = pick->idx;
	r->refresh_deadline_ns = now + (uint64_t)r->o.timeout_ms * 1000000ULL;
}

/* ---- the public side ------------------------------------------------ */

int remote_new(const struct remote_opts *o, struct remote **ret)
{
	struct remote *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->o = *o;
	r->o.seeds = NULL;
	r->user = o->user ? strdup(o->user) : NULL;
	r->password = o->password ? strdup(o->password) : NULL;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0) {
		int e = -errno;

		free(r->user);
		free(r->password);
		free(r);
		return e;
	}
	for (uint32_t s = 0; s < REMOTE_SLOTS; s++)
		r->slot_node[s] = REMOTE_NO_NODE;
	for (uint32_t i = 0; i < o->n_seeds; i++)
		node_find(r, &o->seeds[i]);
	r->refresh_wanted = true;
	*ret = r;
	return 0;
}

void remote_free(struct remote *r)
{
	if (!r)
		return;
	r->freeing = true;
	/* What waits for a map or sits in a queue; then what hiredis holds. */
	while (r->waiting) {
		struct rcmd *c = r->waiting;

		r->waiting = c->qnext;
		cmd_answer(r, c, -ECANCELED, NULL);
		cmd_free(c);
	}
	while (r->done_head) {
		struct rcmd *c = r->done_head;

		r->done_head = c->qnext;
		cmd_answer(r, c, -ECANCELED, NULL);
		cmd_free(c);
	}
	for (uint32_t i = 0; i < r->n_nodes; i++) {
		struct rnode *n = &r->nodes[i];

		while (n->qhead) {
			struct rcmd *c = n->qhead;

			n->qhead = c->qnext;
			cmd_answer(r, c, -ECANCELED, NULL);
			cmd_free(c);
		}
		if (n->ac) {
			redisAsyncContext *ac = n->ac;

			n->ac = NULL;
			redisAsyncFree(ac);
		}
	}
	close(r->epfd);
	free(r->user);
	free(r->password);
	free(r);
}

int remote_fd(const struct remote *r)
{
	return r->epfd;
}

static void cmd_submit(struct remote *r, struct rcmd *c, remote_cb *cb, void *arg)
{
	c->weight += c->len;
	c->r = r;
	c->cb = cb;
	c->arg = arg;
	c->start_ns = now_ns();
	c->deadline_ns = c->start_ns + (uint64_t)r->o.timeout_ms * 1000000ULL;
	c->prev = r->live_tail;
	if (r->live_tail)
		r->live_tail->next = c;
	else
		r->live_head = c;
	r->live_tail = c;
	r->outstanding++;
	r->c.commands++;
	route(r, c, -1, false, true);
}

int remote_cmd(struct remote *r, int argc, const char **argv, const size_t *argvlen,
	       remote_cb *cb, void *arg)
{
	return remote_cmd_sized(r, argc, argv, argvlen, 0, cb, arg);
}

int remote_cmd_sized(struct remote *r, int argc, const char **argv, const size_t *argvlen,
		     size_t reply_bytes, remote_cb *cb, void *arg)
{
	struct rcmd *c = calloc(1, sizeof(*c));
	int len;

	if (!c)
		return -ENOMEM;
	c->weight = reply_bytes;
	len = redisFormatCommandArgv(&c->buf, argc, argv, argvlen);
	if (len < 0) {
		free(c);
		return -ENOMEM;
	}
	c->len = (size_t)len;
	c->slot = argc > 1 ? remote_key_slot(argv[1], argvlen[1]) : 0;
	cmd_submit(r, c, cb, arg);
	return 0;
}

int remote_cmd_formatted(struct remote *r, const char *key, size_t keylen, char *cmd, size_t len,
			 remote_cb *cb, void *arg)
{
	struct rcmd *c = calloc(1, sizeof(*c));

	if (!c) {
		free(cmd);
		return -ENOMEM;
	}
	c->buf = cmd;
	c->len = len;
	c->slot = remote_key_slot(key, keylen);
	cmd_submit(r, c, cb, arg);
	return 0;
}

static void handle_io(struct remote *r)
{
	struct epoll_event evs[32];
	int k = epoll_wait(r->epfd, evs, 32, 0);

	for (int i = 0; i < k; i++) {
		struct rnode *n = evs[i].data.ptr;
		redisAsyncContext *ac = n->ac;

		if (!ac)
			continue;
		/* Read first: a hang-up may come with the last replies. */
		if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			redisAsyncHandleRead(ac);
		if (n->ac == ac && (evs[i].events & (EPOLLOUT | EPOLLERR)))
			redisAsyncHandleWrite(ac);
	}
}

void remote_turn(struct remote *r, bool readable)
{
	uint64_t now;

	if (readable)
		handle_io(r);
	while (r->done_head) {
		struct rcmd *c = r->done_head;

		r->done_head = c->qnext;
		if (!r->done_head)
			r->done_tail = NULL;
		cmd_answer(r, c, c->res, NULL);
		cmd_free(c);
	}
	now = now_ns();
	while (r->live_head && r->live_head->deadline_ns <= now) {
		struct rcmd *c = r->live_head;

		cmd_answer(r, c, -ETIMEDOUT, NULL);
		if (c->sent) {
			/* The node sat on it: drop the connection, which returns the record. */
			node_fail(&r->nodes[c->node], "no answer within remote.timeout");
		} else if (c->waiting) {
			/* Waiting for a map: unlink it from r->waiting. */
			struct rcmd **pp = &r->waiting, *prev = NULL;

			while (*pp && *pp != c) {
				prev = *pp;
				pp = &(*pp)->qnext;
			}
			if (*pp)
				*pp = c->qnext;
			if (r->waiting_tail == c)
				r->waiting_tail = prev;
			cmd_free(c);
		}
		/* Queued at a node: freed when its queue drains or fails (orphan). */
	}
	if (r->refreshing && now >= r->refresh_deadline_ns)
		node_fail(&r->nodes[r->refresh_node], "no CLUSTER SLOTS answer within remote.timeout");
	if ((r->refresh_wanted || !r->have_map) && !r->refreshing && now >= r->next_refresh_ns)
		refresh(r, now);
}

int remote_timeout_ms(const struct remote *r)
{
	uint64_t now = now_ns(), due = UINT64_MAX;

	if (r->done_head)
		return 0;
	if (r->live_head)
		due = r->live_head->deadline_ns;
	if ((r->refresh_wanted || !r->have_map) && !r->refreshing && r->next_refresh_ns < due)
		due = r->next_refresh_ns;
	if (r->refreshing && r->refresh_deadline_ns < due)
		due = r->refresh_deadline_ns;
	if (due == UINT64_MAX)
		return -1;
	return due <= now ? 0 : (int)((due - now) / 1000000ULL) + 1;
}

uint64_t remote_outstanding(const struct remote *r)
{
	return r->outstanding;
}

const struct remote_counters *remote_counters(const struct remote *r)
{
	return &r->c;
}

uint32_t remote_slots_covered(const struct remote *r)
{
	return r->have_map ? r->covered : 0;
}
