/* SPDX-License-Identifier: MIT */
/*
 * The block operations, whichever transport brought them: a socket message
 * (session.c) or a ring entry (ring.c) becomes a struct op_req, and this file
 * carries it out against the store.  An operation that must wait for I/O
 * returns -EINPROGRESS; its transport parks it and calls again with retry
 * set, which neither counts it again nor repeats what was already done.
 */
#include <errno.h>
#include <string.h>

#include "op.h"
#include "remote_tier.h"

static void count_op(struct store *st, uint8_t code)
{
	switch (code) {
	case TIER_OP_ALLOC: st->c.alloc++; break;
	case TIER_OP_COMMIT:
	case TIER_SQE_COMMIT_MANY: st->c.commit++; break;
	case TIER_OP_LOOKUP:
	case TIER_SQE_LOOKUP_MANY: st->c.lookup++; break;
	case TIER_OP_ACQUIRE:
	case TIER_SQE_ACQUIRE_MANY: st->c.acquire++; break;
	case TIER_OP_RELEASE:
	case TIER_SQE_RELEASE_MANY: st->c.release++; break;
	case TIER_OP_DROP: st->c.drop++; break;
	case TIER_OP_PREFETCH: st->c.prefetch++; break;
	default: break;
	}
}

/* Operations that name a namespace need the client to have opened it. */
static bool names_ns(uint8_t code)
{
	switch (code) {
	case TIER_OP_ALLOC:
	case TIER_OP_LOOKUP:
	case TIER_OP_ACQUIRE:
	case TIER_OP_DROP:
	case TIER_OP_PREFETCH:
	case TIER_SQE_LOOKUP_MANY:
	case TIER_SQE_ACQUIRE_MANY:
		return true;
	default:
		return false;
	}
}

bool op_may_use(struct store *st, const struct holder *h, uint32_t ns)
{
	/* Unchecked, a namespace without an access rule, or none: the store says -ENOENT. */
	if (!h->ns_ok || ns >= st->n_ns || !st->ns[ns].restricted)
		return true;
	if (h->ns_ok[ns / 8] & (1u << (ns % 8)))
		return true;
	st->c.refused_access++;
	return false;
}

/*
 * A lookup, extended to the remote tier when there is one and the local
 * prefix stops short.  The retry of a parked lookup does not look locally
 * again through the store (that would count and tell the policy twice).
 */
static int lookup(struct store *st, struct holder *h, const struct op_req *q, const tier_key *keys,
		  uint32_t n, uint32_t first_pos, uint32_t total, tier_key parent, bool retry,
		  uint8_t *ret_tier)
{
	int r;

	if (st->remote && retry)
		r = (int)remote_tier_local_prefix(st, q->ns, keys, n);
	else
		r = store_lookup(st, h, q->ns, keys, n, first_pos, total, parent, ret_tier);
	if (r < 0 || (uint32_t)r == n || !st->remote)
		return r;
	return remote_tier_lookup(st->remote, q->ns, keys, n, (uint32_t)r, retry, ret_tier);
}

/* Prefetch: NVMe promotions, and fetches of what only the cluster has. */
static int prefetch(struct store *st, const struct op_req *q)
{
	const tier_key *keys = q->keys ? q->keys : &q->key;
	uint32_t n = q->keys ? q->n : 1;
	int r = store_prefetch(st, q->ns, keys, n);

	if (r < 0 || !st->remote)
		return r;
	for (uint32_t i = 0; i < n; i++) {
		int f;

		if (remote_tier_local_prefix(st, q->ns, &keys[i], 1))
			continue;
		f = remote_tier_acquire(st->remote, q->ns, keys[i], false);
		if (f != -EINPROGRESS)
			break; /* the chain ends there */
		r++;
	}
	return r;
}

int op_exec(struct store *st, struct holder *h, const struct op_req *q, bool retry,
	    struct op_res *ret)
{
	uint8_t tier;
	int r;

	if (!retry)
		count_op(st, q->code);
	memset(ret, 0, sizeof(*ret));
	if (names_ns(q->code) && !retry && !op_may_use(st, h, q->ns))
		return -EACCES;
	switch (q->code) {
	case TIER_OP_NOP:
		return 0;
	case TIER_OP_ALLOC:
		return store_alloc(st, h, q->ns, &ret->handle, &ret->offset, &ret->size);
	case TIER_OP_COMMIT:
		r = store_commit(st, h, q->handle, q->key,
				 (q->flags & TIER_OPF_PARENT) ? &q->parent : NULL);
		if (r == 0 && st->remote)
			remote_tier_committed(st->remote, q->handle, q->key);
		return r;
	case TIER_OP_LOOKUP:
		if (q->keys)
			return lookup(st, h, q, q->keys, q->n, q->first_pos, q->total,
				      q->list_parent, retry, NULL);
		/* A single-key lookup answers with the key's tier. */
		r = lookup(st, h, q, &q->key, 1, 0, 1, TIER_KEY_ROOT, retry, &tier);
		return r < 0 ? r : r == 1 ? (int)tier : -ENOENT;
	case TIER_OP_ACQUIRE:
		r = store_acquire(st, h, q->ns, q->key, retry, &ret->handle, &ret->offset,
				  &ret->size);
		if (r != -ENOENT || !st->remote)
			return r;
		/* Only the cluster may have it: fetched, committed, then acquired here again. */
		return remote_tier_acquire(st->remote, q->ns, q->key, retry);
	case TIER_OP_RELEASE:
		return store_release(st, h, q->handle);
	case TIER_OP_DROP:
		return store_drop(st, q->ns, q->key);
	case TIER_OP_PREFETCH:
		return prefetch(st, q);
	case TIER_SQE_LOOKUP_MANY:
		return lookup(st, h, q, q->keys, q->n, 0, q->n, TIER_KEY_ROOT, retry, q->ret_tier);
	case TIER_SQE_ACQUIRE_MANY:
		if (st->remote) {
			/*
			 * Fetch what only the cluster may have before pinning anything;
			 * the store is asked once, when they are in (a parked batch holds
			 * nothing while it waits).  The store then sees a retry, so the
			 * batch's local hits are not counted (its fetched ones are, as the
			 * remote tier's).
			 */
			uint32_t local = remote_tier_local_prefix(st, q->ns, q->keys, q->n);

			if (local < q->n) {
				r = remote_tier_acquire_run(st->remote, q->ns, q->keys + local,
							    q->n - local, retry);
				if (r == -EINPROGRESS)
					return r;
			}
		}
		return store_acquire_many(st, h, q->ns, q->keys, q->n, retry, q->ret_handles,
					  q->ret_offs);
	case TIER_SQE_RELEASE_MANY:
		r = 0;
		for (uint32_t i = 0; i < q->n; i++)
			r += store_release(st, h, q->handles[i]) == 0;
		return r;
	case TIER_SQE_COMMIT_MANY:
		r = 0;
		for (uint32_t i = 0; i < q->n; i++) {
			if (store_commit(st, h, q->handles[i], q->keys[i], NULL) == 0) {
				r++;
				if (st->remote)
					remote_tier_committed(st->remote, q->handles[i], q->keys[i]);
			}
		}
		return r;
	default:
		return -EINVAL;
	}
}
