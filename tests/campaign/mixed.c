/* SPDX-License-Identifier: MIT */
/*
 * The mixed workload: every call of the block API, sync and through the
 * rings, single and batched, over a key space larger than the host tier, with
 * some pins held across operations so that a SIGKILL finds them held.  Every
 * block acquired is checked against its key; a wrong byte is counted and is
 * the one thing that must never happen.  Each error is classified; an errno
 * outside what the API documents for the situation is "unexpected".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mixed.h"

#define BATCH 16

struct held {
	tier_handle h;
	tier_key k;
};

struct mw {
	const struct mixed_cfg *cfg;
	struct camp_counters *cnt;
	struct camp_client cc;
	uint64_t rng;
	bool ring;
	struct held held[64];
	unsigned n_held;
};

static tier_key rkey(struct mw *w)
{
	return ck_key(w->cfg->space, camp_rand(&w->rng) % w->cfg->n_keys);
}

/* Classify r < 0; returns true when the daemon is gone (reconnect). */
static bool err(struct mw *w, int r)
{
	switch (-r) {
	case ECONNRESET:
		CADD(w->cnt, econnreset, 1);
		return true;
	case ENOENT:
		CADD(w->cnt, err_enoent, 1);
		return false;
	case ENOSPC:
		CADD(w->cnt, err_enospc, 1);
		return false;
	case EEXIST:
		return false;
	case EIO:
		CADD(w->cnt, err_eio, 1);
		if (w->cfg->allow_eio)
			return false;
		/* fall through */
	default:
		CADD(w->cnt, err_other, 1);
		CADD(w->cnt, errors, 1);
		__atomic_store_n(&w->cnt->last_unexpected, r, __ATOMIC_RELAXED);
		return false;
	}
}

static void verify(struct mw *w, tier_handle h, tier_key k)
{
	void *p = tier_data(w->cc.c, h);

	if (!p) {
		CADD(w->cnt, errors, 1);
		__atomic_store_n(&w->cnt->last_unexpected, -EFAULT, __ATOMIC_RELAXED);
		return;
	}
	if (!ck_check(p, w->cfg->bs, k)) {
		CADD(w->cnt, wrong, 1);
		fprintf(stderr, "campaign: pid %d: WRONG BYTES for key %016llx%016llx\n",
			(int)getpid(), (unsigned long long)k.hi, (unsigned long long)k.lo);
	} else {
		CADD(w->cnt, bytes_verified, w->cfg->bs);
	}
	CADD(w->cnt, gets, 1);
}

static int op_put(struct mw *w)
{
	tier_key k = rkey(w);
	tier_handle h;
	void *p;
	int r;

	r = tier_alloc(w->cc.c, w->cc.ns, &h);
	if (r < 0)
		return r;
	p = tier_data(w->cc.c, h);
	if (!p)
		return -EFAULT;
	ck_fill(p, w->cfg->bs, k);
	if (camp_rand(&w->rng) & 1)
		r = tier_commit(w->cc.c, h, k);
	else
		r = tier_commit_chain(w->cc.c, h, rkey(w), k);
	if (r == 0)
		CADD(w->cnt, puts, 1);
	return r;
}

static int op_get(struct mw *w)
{
	tier_key k = rkey(w);
	tier_handle h;
	int r = tier_acquire(w->cc.c, w->cc.ns, k, &h);

	if (r < 0)
		return r;
	verify(w, h, k);
	if (w->n_held < w->cfg->max_held && (camp_rand(&w->rng) & 1)) {
		w->held[w->n_held++] = (struct held){ h, k };
		return 0;
	}
	return tier_release(w->cc.c, h);
}

static int op_lookup(struct mw *w)
{
	tier_key keys[BATCH];
	uint8_t tiers[BATCH];
	size_t n = 1 + camp_rand(&w->rng) % BATCH;
	int r;

	for (size_t i = 0; i < n; i++)
		keys[i] = rkey(w);
	if (w->ring && (camp_rand(&w->rng) & 1)) {
		CADD(w->cnt, batch_ops, 1);
		r = tier_lookup_many(w->cc.c, w->cc.ns, keys, n, tiers);
	} else {
		r = tier_lookup(w->cc.c, w->cc.ns, keys, n);
	}
	return r < 0 ? r : 0;
}

static int op_acquire_many(struct mw *w)
{
	tier_key keys[BATCH];
	tier_handle hs[BATCH];
	size_t n = 1 + camp_rand(&w->rng) % BATCH;
	uint64_t base = camp_rand(&w->rng) % w->cfg->n_keys;
	int r, rr;

	/* A run of consecutive keys, as a prompt's chain would be. */
	for (size_t i = 0; i < n; i++)
		keys[i] = ck_key(w->cfg->space, (base + i) % w->cfg->n_keys);
	CADD(w->cnt, batch_ops, 1);
	r = tier_acquire_many(w->cc.c, w->cc.ns, keys, n, hs);
	if (r < 0)
		return r;
	for (int i = 0; i < r; i++)
		verify(w, hs[i], keys[i]);
	rr = tier_release_many(w->cc.c, hs, (size_t)r);
	if (rr < 0)
		return rr;
	if (rr != r) {
		CADD(w->cnt, errors, 1);
		__atomic_store_n(&w->cnt->last_unexpected, -EBADE, __ATOMIC_RELAXED);
	}
	return 0;
}

static int op_commit_many(struct mw *w)
{
	tier_key keys[8];
	tier_handle hs[8];
	size_t n = 1 + camp_rand(&w->rng) % 8, got = 0;
	int r = 0;

	for (; got < n; got++) {
		r = tier_alloc(w->cc.c, w->cc.ns, &hs[got]);
		if (r < 0)
			break;
		keys[got] = rkey(w);
		ck_fill(tier_data(w->cc.c, hs[got]), w->cfg->bs, keys[got]);
	}
	if (r == -ECONNRESET)
		return r;
	if (got == 0)
		return r;
	CADD(w->cnt, batch_ops, 1);
	r = tier_commit_many(w->cc.c, hs, keys, got);
	if (r > 0)
		CADD(w->cnt, puts, (uint64_t)r);
	return r < 0 ? r : 0;
}

/* Acquires, lookups and allocations through the ring; then commits and releases. */
static int op_ring(struct mw *w)
{
	struct tier_op ops[BATCH], next[BATCH];
	struct tier_cqe cqe[BATCH];
	tier_key keys[BATCH];
	size_t n = 1 + camp_rand(&w->rng) % BATCH, n_next = 0;
	int sub, got = 0, r;

	memset(ops, 0, sizeof(ops));
	for (size_t i = 0; i < n; i++) {
		unsigned kind = (unsigned)(camp_rand(&w->rng) % 3);

		keys[i] = rkey(w);
		ops[i].opcode = kind == 0 ? TIER_OP_ACQUIRE : kind == 1 ? TIER_OP_LOOKUP
									: TIER_OP_ALLOC;
		ops[i].ns = w->cc.ns;
		ops[i].key = keys[i];
		ops[i].user_data = i;
	}
	sub = tier_submit(w->cc.c, ops, n);
	if (sub < 0)
		return sub;
	while (got < sub) {
		r = tier_reap(w->cc.c, cqe, BATCH, 10000);
		if (r < 0)
			return r;
		if (r == 0) {
			fprintf(stderr, "campaign: pid %d: ring completion missing after 10 s\n",
				(int)getpid());
			CADD(w->cnt, errors, 1);
			__atomic_store_n(&w->cnt->last_unexpected, -ETIMEDOUT, __ATOMIC_RELAXED);
			return 0;
		}
		for (int i = 0; i < r; i++) {
			size_t ix = (size_t)cqe[i].user_data;

			if (ix >= n) {
				CADD(w->cnt, errors, 1);
				continue;
			}
			if (cqe[i].res < 0) {
				if (ops[ix].opcode != TIER_OP_LOOKUP && err(w, cqe[i].res))
					return -ECONNRESET;
				continue;
			}
			if (ops[ix].opcode == TIER_OP_ACQUIRE) {
				verify(w, cqe[i].handle, keys[ix]);
				next[n_next++] = (struct tier_op){ .opcode = TIER_OP_RELEASE,
					.handle = cqe[i].handle, .user_data = 100 + ix };
			} else if (ops[ix].opcode == TIER_OP_ALLOC) {
				void *p = tier_data(w->cc.c, cqe[i].handle);

				if (!p) {
					CADD(w->cnt, errors, 1);
					continue;
				}
				ck_fill(p, w->cfg->bs, keys[ix]);
				next[n_next++] = (struct tier_op){ .opcode = TIER_OP_COMMIT,
					.handle = cqe[i].handle, .key = keys[ix],
					.user_data = 100 + ix };
			}
		}
		got += r;
	}
	CADD(w->cnt, ring_ops, (uint64_t)sub);
	if (!n_next)
		return 0;
	sub = tier_submit(w->cc.c, next, n_next);
	if (sub < 0)
		return sub;
	for (got = 0; got < sub;) {
		r = tier_reap(w->cc.c, cqe, BATCH, 10000);
		if (r <= 0)
			return r < 0 ? r : -ETIMEDOUT;
		for (int i = 0; i < r; i++)
			if (cqe[i].res < 0 && cqe[i].res != -EEXIST && err(w, cqe[i].res))
				return -ECONNRESET;
		got += r;
	}
	CADD(w->cnt, ring_ops, (uint64_t)sub);
	return 0;
}

static int op_misc(struct mw *w)
{
	unsigned k = (unsigned)(camp_rand(&w->rng) % 10);
	tier_key keys[4];
	int r;

	for (int i = 0; i < 4; i++)
		keys[i] = rkey(w);
	if (k < 5) {
		r = tier_drop(w->cc.c, w->cc.ns, keys[0]);
	} else if (k < 7) {
		r = tier_hint(w->cc.c, w->cc.ns, keys, 4, (int32_t)(camp_rand(&w->rng) % 7) - 3);
	} else if (k < 9 && w->cfg->nvme) {
		r = tier_prefetch(w->cc.c, w->cc.ns, keys, 4);
	} else if (w->cfg->nvme) {
		CADD(w->cnt, flushes, 1);
		r = tier_flush(w->cc.c, w->cc.ns);
		if (r < 0 && r != -ECONNRESET)
			CADD(w->cnt, flush_errors, 1);
	} else {
		r = 0;
	}
	return r < 0 ? r : 0;
}

static void release_held(struct mw *w)
{
	for (unsigned i = 0; i < w->n_held; i++)
		tier_release(w->cc.c, w->held[i].h);
	w->n_held = 0;
}

int mixed_worker(void *arg, uint64_t seed)
{
	const struct mixed_cfg *cfg = arg;
	struct mw w = { .cfg = cfg, .cnt = cfg->cnt, .rng = seed };
	int r;

	if (cfg->socket_some && (seed & 1))
		setenv("TIER_TRANSPORT", "socket", 1);
	w.ring = getenv("TIER_TRANSPORT") == NULL;
	w.cc = (struct camp_client){ .sock = cfg->sock, .ns_name = cfg->ns_name, .bs = cfg->bs };
	if (cc_connect(&w.cc, 10000) < 0) {
		fprintf(stderr, "campaign: pid %d: cannot connect\n", (int)getpid());
		return 2;
	}
	while (!__atomic_load_n(&cfg->cnt->stop, __ATOMIC_RELAXED) &&
	       camp_now() < cfg->until) {
		unsigned p = (unsigned)(camp_rand(&w.rng) % 100);
		bool sync = true;

		if (p < 24) {
			r = op_put(&w);
		} else if (p < 44) {
			r = op_get(&w);
		} else if (p < 52) {
			r = op_lookup(&w);
		} else if (p < 62 && w.ring) {
			sync = false;
			r = op_acquire_many(&w);
		} else if (p < 70 && w.ring) {
			sync = false;
			r = op_commit_many(&w);
		} else if (p < 90 && w.ring) {
			sync = false;
			r = op_ring(&w);
		} else {
			r = op_misc(&w);
		}
		CADD(w.cnt, ops, 1);
		if (sync)
			CADD(w.cnt, sync_ops, 1);
		/* Let go of held pins now and then (all of them when many). */
		if (w.n_held && (w.n_held == cfg->max_held || camp_rand(&w.rng) % 8 == 0))
			release_held(&w);
		if (r < 0 && err(&w, r)) {
			w.n_held = 0; /* the daemon released them with the connection */
			if (cc_reconnect(&w.cc, 30000) < 0)
				return 3;
			CADD(w.cnt, reconnects, 1);
		}
	}
	release_held(&w);
	cc_close(&w.cc);
	return 0;
}
