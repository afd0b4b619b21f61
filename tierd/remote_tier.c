/* SPDX-License-Identifier: MIT */
/*
 * The remote tier (remote_tier.h) between the store and the cluster client.
 *
 * Design choices:
 * - Nothing waits on the cluster while holding host memory: a lookup only
 *   probes (EXISTS, which neither refreshes the server's LRU clock nor
 *   transfers the value), and an acquire allocates its block only once the
 *   GET reply has arrived and verified.  A fetched block is committed to the
 *   store like any other, so the retried acquire finds it in host memory.
 * - What the probes and fetches found sits in a small lossy table (presence),
 *   remembered REMOTE_PRESENCE_TTL_MS: a retried request reads its answers
 *   there, and a commit of a block known to be in the cluster is not sent.
 *   A retried request never probes: an answer lost from the table is a miss.
 * - Writes copy the block into the command at commit time (one memcpy and an
 *   XXH3 on the reactor), so no pin outlives the commit; SET NX never
 *   overwrites what another host wrote.
 * - Every failure of the cluster (a timeout, CLUSTERDOWN, a refused node, a
 *   value that does not verify) is a miss: the engine recomputes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "index.h"
#include "log.h"
#include "remote.h"
#include "remote_key.h"
#include "remote_tier.h"

#define PRESENCE_SLOTS (1u << 16) /* a power of two */
#define PRESENCE_WAYS 4

enum { P_EMPTY = 0, P_PROBING, P_PRESENT, P_ABSENT, P_FETCHING };

struct presence {
	tier_key key;
	uint32_t ns;
	uint8_t state;
	uint64_t at_ns;       /* when it was set */
};

/* A write in flight, in submission order (tier_flush waits on the oldest). */
struct rwrite {
	struct remote_tier *rt;
	struct rwrite *prev, *next;
	uint64_t seq;
	uint32_t ns;
	tier_key key;
	uint64_t bytes;
};

struct rget {
	struct remote_tier *rt;
	uint32_t ns;
	uint64_t ns_id;
	tier_key key;
	bool fetch;           /* GET (else EXISTS) */
};

struct remote_tier {
	struct remote *cl;
	struct store *st;
	void (*progress)(void *ctx);
	void *ctx;
	char prefix[REMOTE_PREFIX_MAX + 1];
	enum remote_write_mode write;
	struct presence *presence;
	struct rwrite *w_head, *w_tail;
	uint64_t w_seq;
	uint64_t w_bytes;      /* block bytes of the writes in flight */
	struct holder holder;  /* the fetches' allocations */
	struct remote_tier_counters c;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- presence ------------------------------------------------------- */

static uint32_t p_hash(uint32_t ns, tier_key k)
{
	uint64_t h = k.hi * 0x9e3779b97f4a7c15ULL ^ k.lo ^ ((uint64_t)ns << 32);

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return (uint32_t)(h >> 32) & (PRESENCE_SLOTS - 1) & ~(uint32_t)(PRESENCE_WAYS - 1);
}

static struct presence *p_find(struct remote_tier *rt, uint32_t ns, tier_key k)
{
	struct presence *b = &rt->presence[p_hash(ns, k)];

	for (int i = 0; i < PRESENCE_WAYS; i++)
		if (b[i].state != P_EMPTY && b[i].ns == ns && b[i].key.hi == k.hi &&
		    b[i].key.lo == k.lo)
			return &b[i];
	return NULL;
}

/* What is known of (ns, k) now: P_EMPTY when nothing (or too old). */
static uint8_t p_state(struct remote_tier *rt, uint32_t ns, tier_key k, uint64_t now)
{
	struct presence *p = p_find(rt, ns, k);

	if (!p)
		return P_EMPTY;
	/* An answer in flight is never too old: the client's deadline ends it. */
	if (p->state == P_PRESENT && now - p->at_ns > REMOTE_PRESENCE_TTL_MS * 1000000ULL)
		return P_EMPTY;
	/* A miss is news only to the requests waiting for it (retried at once). */
	if (p->state == P_ABSENT && now - p->at_ns > REMOTE_ABSENT_TTL_MS * 1000000ULL)
		return P_EMPTY;
	return p->state;
}

static void p_set(struct remote_tier *rt, uint32_t ns, tier_key k, uint8_t state, uint64_t now)
{
	struct presence *p = p_find(rt, ns, k);

	if (!p) {
		struct presence *b = &rt->presence[p_hash(ns, k)];

		/* An empty way, else the oldest one that is not waiting. */
		for (int i = 0; i < PRESENCE_WAYS && !p; i++)
			if (b[i].state == P_EMPTY)
				p = &b[i];
		for (int i = 0; i < PRESENCE_WAYS && !p; i++)
			if (b[i].state != P_PROBING && b[i].state != P_FETCHING &&
			    (!p || b[i].at_ns < p->at_ns))
				p = &b[i];
		if (!p)
			p = &b[0]; /* all waiting: that request will read a miss */
	}
	p->ns = ns;
	p->key = k;
	p->state = state;
	p->at_ns = now;
}

/* ---- keys ------------------------------------------------------------ */

static const struct ns *ns_of(const struct store *st, uint32_t ns)
{
	if (ns >= st->n_ns || st->ns[ns].deleted || !st->ns[ns].block_size)
		return NULL;
	return &st->ns[ns];
}

static uint64_t ns_identity(const struct ns *n)
{
	return remote_ns_id(n->name, n->salted ? n->salt : NULL);
}

static size_t key_of(const struct remote_tier *rt, const struct ns *n, tier_key k, char *buf)
{
	return remote_key_format(buf, rt->prefix, ns_identity(n), k);
}

/* ---- the client's turn ---------------------------------------------- */

int remote_tier_new(const struct remote_tier_params *p, struct remote_tier **ret)
{
	const struct tierd_config *cfg = p->cfg;
	struct remote_addr seeds[REMOTE_NODES_MAX];
	struct remote_tier *rt;
	struct remote_opts o;
	int n, r;

	*ret = NULL;
	if (!cfg->remote_cluster[0])
		return 0;
	n = remote_seeds_parse(cfg->remote_cluster, seeds, REMOTE_NODES_MAX);
	if (n < 0)
		return log_ret(-EINVAL, LOG_ERR, "remote.cluster: %s: not a seed list",
			       cfg->remote_cluster);
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	rt->presence = calloc(PRESENCE_SLOTS, sizeof(*rt->presence));
	if (!rt->presence) {
		free(rt);
		return -ENOMEM;
	}
	o = (struct remote_opts){
		.seeds = seeds, .n_seeds = (uint32_t)n, .timeout_ms = cfg->remote_timeout_ms,
		.backoff_ms = cfg->remote_backoff_ms, .inflight_bytes = cfg->remote_inflight_bytes,
		.user = cfg->remote_user, .password = cfg->remote_password,
	};
	r = remote_new(&o, &rt->cl);
	if (r < 0) {
		free(rt->presence);
		free(rt);
		return log_ret(r, LOG_ERR, "remote: %s", strerror(-r));
	}
	rt->st = p->st;
	rt->progress = p->progress;
	rt->ctx = p->ctx;
	rt->write = cfg->remote_write;
	snprintf(rt->prefix, sizeof(rt->prefix), "%s", cfg->remote_prefix);
	store_holder_init(&rt->holder, UINT32_MAX - 1);
	log_info("remote: tier on the cluster of %s (timeout %u ms, write %s, prefix \"%s\")",
		 cfg->remote_cluster, cfg->remote_timeout_ms,
		 rt->write == REMOTE_WRITE_OFF ? "off" : "through", rt->prefix);
	*ret = rt;
	return 0;
}

void remote_tier_free(struct remote_tier *rt)
{
	if (!rt)
		return;
	/* The callbacks still run (-ECANCELED): the store is still there. */
	remote_free(rt->cl);
	store_holder_release_all(rt->st, &rt->holder);
	free(rt->presence);
	free(rt);
}

int remote_tier_fd(const struct remote_tier *rt)
{
	return remote_fd(rt->cl);
}

void remote_tier_turn(struct remote_tier *rt, bool readable)
{
	remote_turn(rt->cl, readable);
}

int remote_tier_timeout_ms(const struct remote_tier *rt)
{
	return remote_timeout_ms(rt->cl);
}

/* ---- writes --------------------------------------------------------- */

static void on_written(void *arg, int res, const redisReply *rp)
{
	struct rwrite *w = arg;
	struct remote_tier *rt = w->rt;

	if (w->prev)
		w->prev->next = w->next;
	else
		rt->w_head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		rt->w_tail = w->prev;
	/* OK (written) or nil (there already): either way the cluster has it. */
	if (res == 0 && rp->type != REDIS_REPLY_ERROR) {
		p_set(rt, w->ns, w->key, P_PRESENT, now_ns());
		if (rp->type == REDIS_REPLY_STATUS)
			rt->c.bytes_written += w->bytes;
	}
	rt->w_bytes -= w->bytes;
	free(w);
	if (!rt->w_head && rt->progress)
		rt->progress(rt->ctx); /* a tier_flush may wait for this */
}

void remote_tier_committed(struct remote_tier *rt, tier_handle handle, tier_key key)
{
	struct store *st = rt->st;
	uint32_t slot = (uint32_t)handle;
	const struct block *b;
	const struct ns *n;
	char k[REMOTE_KEY_MAX];
	struct remote_val_hdr hdr;
	struct rwrite *w;
	const uint8_t *data;
	size_t klen;
	uint64_t now = now_ns();

	if (rt->write == REMOTE_WRITE_OFF || slot >= st->max_slots)
		return;
	b = &st->blocks[slot];
	if (b->gen != (uint32_t)(handle >> 32) || b->state != BLOCK_READY || !(b->res & RES_HOST))
		return;
	n = ns_of(st, b->ns);
	if (!n)
		return;
	if (p_state(rt, b->ns, key, now) == P_PRESENT) {
		rt->c.writes_skipped++;
		return;
	}
	if (rt->w_bytes + n->block_size > REMOTE_WRITE_QUEUE_MAX) {
		rt->c.writes_dropped++;
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return;
	data = st->arena + b->host_off;
	klen = key_of(rt, n, key, k);
	remote_val_hdr_encode(&hdr, ns_identity(n), key, data, n->block_size);
	{
		/* SET key value NX, the value in two pieces: header, then the block's bytes. */
		char head[64 + REMOTE_KEY_MAX];
		uint64_t vlen = sizeof(hdr) + n->block_size;
		int hl = snprintf(head, sizeof(head), "*4\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%" PRIu64 "\r\n",
				  klen, k, vlen);
		size_t total = (size_t)hl + vlen + sizeof("\r\n$2\r\nNX\r\n") - 1;
		char *cmd = malloc(total);

		if (!cmd) {
			free(w);
			return;
		}
		memcpy(cmd, head, (size_t)hl);
		memcpy(cmd + hl, &hdr, sizeof(hdr));
		memcpy(cmd + hl + sizeof(hdr), data, n->block_size);
		memcpy(cmd + hl + vlen, "\r\n$2\r\nNX\r\n", sizeof("\r\n$2\r\nNX\r\n") - 1);
		w->rt = rt;
		w->ns = b->ns;
		w->key = key;
		w->bytes = n->block_size;
		w->seq = ++rt->w_seq;
		if (remote_cmd_formatted(rt->cl, k, klen, cmd, total, on_written, w) < 0) {
			free(w);
			return;
		}
	}
	w->prev = rt->w_tail;
	if (rt->w_tail)
		rt->w_tail->next = w;
	else
		rt->w_head = w;
	rt->w_tail = w;
	rt->w_bytes += w->bytes;
	rt->c.writes++;
}

uint64_t remote_tier_write_mark(const struct remote_tier *rt)
{
	return rt->w_seq;
}

bool remote_tier_writes_pending(const struct remote_tier *rt, uint64_t mark)
{
	return rt->w_head && rt->w_head->seq <= mark;
}

/* ---- reads ---------------------------------------------------------- */

static void on_probe(void *arg, int res, const redisReply *rp)
{
	struct rget *g = arg;
	struct remote_tier *rt = g->rt;
	bool there = res == 0 && rp->type == REDIS_REPLY_INTEGER && rp->integer == 1;

	p_set(rt, g->ns, g->key, there ? P_PRESENT : P_ABSENT, now_ns());
	free(g);
	if (rt->progress)
		rt->progress(rt->ctx);
}

static int probe(struct remote_tier *rt, const struct ns *n, uint32_t ns, tier_key k)
{
	struct rget *g = malloc(sizeof(*g));
	char key[REMOTE_KEY_MAX];
	const char *argv[2] = { "EXISTS", key };
	size_t len[2] = { 6, 0 };

	if (!g)
		return -ENOMEM;
	*g = (struct rget){ .rt = rt, .ns = ns, .key = k };
	len[1] = key_of(rt, n, k, key);
	if (remote_cmd(rt->cl, 2, argv, len, on_probe, g) < 0) {
		free(g);
		return -ENOMEM;
	}
	p_set(rt, ns, k, P_PROBING, now_ns());
	rt->c.probes++;
	return 0;
}

uint32_t remote_tier_local_prefix(const struct store *st, uint32_t ns, const tier_key *keys,
				  uint32_t n)
{
	const struct ns *s = ns_of(st, ns);
	uint32_t i = 0;

	if (!s)
		return 0;
	while (i < n && index_get(&s->index, store_ns_key(s, keys[i])) != INDEX_NONE)
		i++;
	return i;
}

int remote_tier_lookup(struct remote_tier *rt, uint32_t ns, const tier_key *keys, uint32_t n,
		       uint32_t local, bool retry, uint8_t *ret_tier)
{
	const struct ns *s = ns_of(rt->st, ns);
	uint64_t now = now_ns();
	uint32_t end = n - local > REMOTE_PROBE_MAX ? local + REMOTE_PROBE_MAX : n;
	uint32_t i, found;
	bool waiting = false;

	if (!s || local >= n)
		return (int)local;
	/* The run the cluster is known to have, and probes for what is not known. */
	for (i = local; i < end; i++) {
		uint8_t p = p_state(rt, ns, keys[i], now);

		/* A new request asks again about a miss; a retried one never asks. */
		if (p == P_ABSENT && !retry)
			p = P_EMPTY;
		if (p == P_ABSENT || (retry && p == P_EMPTY))
			break;
		if (p == P_PROBING || p == P_FETCHING) {
			waiting = true;
			continue;
		}
		if (p == P_EMPTY) {
			if (probe(rt, s, ns, keys[i]) < 0)
				break;
			waiting = true;
		}
	}
	if (waiting)
		return -EINPROGRESS;
	found = i - local;
	rt->c.hits += found;
	if (i < n)
		rt->c.misses++;
	for (uint32_t j = local; ret_tier && j < i; j++)
		ret_tier[j] = TIER_REMOTE;
	return (int)i;
}

static void on_fetch(void *arg, int res, const redisReply *rp)
{
	struct rget *g = arg;
	struct remote_tier *rt = g->rt;
	struct store *st = rt->st;
	const struct ns *n = ns_of(st, g->ns);
	uint64_t now = now_ns(), off, size;
	uint8_t state = P_ABSENT;
	tier_handle h;

	if (res < 0 || rp->type != REDIS_REPLY_STRING || !n || ns_identity(n) != g->ns_id) {
		rt->c.misses++;
		goto out;
	}
	if (remote_val_verify(rp->str, rp->len, g->ns_id, g->key, n->block_size, NULL) < 0) {
		char key[REMOTE_KEY_MAX];
		const char *argv[2] = { "DEL", key };
		size_t len[2] = { 3, key_of(rt, n, g->key, key) };

		log_warning("remote: the value of %s does not verify: a miss; deleting it", key);
		rt->c.corrupt++;
		rt->c.misses++;
		remote_cmd(rt->cl, 2, argv, len, NULL, NULL);
		goto out;
	}
	/* Host memory only now that the bytes are here and good. */
	if (store_alloc(st, &rt->holder, g->ns, &h, &off, &size) < 0) {
		rt->c.fetch_no_room++;
		rt->c.misses++;
		goto out;
	}
	memcpy(st->arena + off, rp->str + REMOTE_VAL_HDR_BYTES, n->block_size);
	if (store_commit(st, &rt->holder, h, g->key, NULL) < 0) {
		rt->c.misses++;
		goto out;
	}
	rt->c.hits++;
	rt->c.bytes_read += n->block_size;
	state = P_PRESENT;
out:
	p_set(rt, g->ns, g->key, state, now);
	free(g);
	if (rt->progress)
		rt->progress(rt->ctx);
}

int remote_tier_acquire(struct remote_tier *rt, uint32_t ns, tier_key key, bool retry)
{
	const struct ns *n = ns_of(rt->st, ns);
	uint8_t p = n ? p_state(rt, ns, key, now_ns()) : P_EMPTY;
	char k[REMOTE_KEY_MAX];
	const char *argv[2] = { "GET", k };
	size_t len[2] = { 3, 0 };
	struct rget *g;

	if (!n)
		return -ENOENT;
	if (p == P_FETCHING)
		return -EINPROGRESS;
	/* A retry after the fetch: the block would be local by now. */
	if (retry)
		return -ENOENT;
	g = malloc(sizeof(*g));
	if (!g)
		return -ENOENT;
	*g = (struct rget){ .rt = rt, .ns = ns, .ns_id = ns_identity(n), .key = key, .fetch = true };
	len[1] = key_of(rt, n, key, k);
	if (remote_cmd_sized(rt->cl, 2, argv, len, REMOTE_VAL_HDR_BYTES + n->block_size, on_fetch,
			     g) < 0) {
		free(g);
		return -ENOENT;
	}
	p_set(rt, ns, key, P_FETCHING, now_ns());
	rt->c.fetches++;
	return -EINPROGRESS;
}

int remote_tier_acquire_run(struct remote_tier *rt, uint32_t ns, const tier_key *keys, uint32_t n,
			    bool retry)
{
	bool waiting = false;

	if (n > REMOTE_PROBE_MAX)
		n = REMOTE_PROBE_MAX;
	for (uint32_t i = 0; i < n; i++) {
		int r;

		if (retry) {
			if (p_state(rt, ns, keys[i], now_ns()) == P_FETCHING)
				return -EINPROGRESS;
			continue;
		}
		r = remote_tier_acquire(rt, ns, keys[i], false);
		if (r != -EINPROGRESS)
			break;
		waiting = true;
	}
	return waiting ? -EINPROGRESS : 0;
}

const struct remote_tier_counters *remote_tier_counters(const struct remote_tier *rt)
{
	return &rt->c;
}

const struct remote_counters *remote_tier_client_counters(const struct remote_tier *rt)
{
	return remote_counters(rt->cl);
}

uint32_t remote_tier_slots(const struct remote_tier *rt)
{
	return remote_slots_covered(rt->cl);
}
