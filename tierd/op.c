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
		return store_commit(st, h, q->handle, q->key,
				    (q->flags & TIER_OPF_PARENT) ? &q->parent : NULL);
	case TIER_OP_LOOKUP:
		if (q->keys)
			return store_lookup(st, h, q->ns, q->keys, q->n, q->first_pos, q->total,
					    q->list_parent, NULL);
		/* A single-key lookup answers with the key's tier. */
		r = store_lookup(st, h, q->ns, &q->key, 1, 0, 1, TIER_KEY_ROOT, &tier);
		return r < 0 ? r : r == 1 ? (int)tier : -ENOENT;
	case TIER_OP_ACQUIRE:
		return store_acquire(st, h, q->ns, q->key, retry, &ret->handle, &ret->offset,
				     &ret->size);
	case TIER_OP_RELEASE:
		return store_release(st, h, q->handle);
	case TIER_OP_DROP:
		return store_drop(st, q->ns, q->key);
	case TIER_OP_PREFETCH:
		return store_prefetch(st, q->ns, q->keys ? q->keys : &q->key, q->keys ? q->n : 1);
	case TIER_SQE_LOOKUP_MANY:
		return store_lookup(st, h, q->ns, q->keys, q->n, 0, q->n, TIER_KEY_ROOT,
				    q->ret_tier);
	case TIER_SQE_ACQUIRE_MANY:
		return store_acquire_many(st, h, q->ns, q->keys, q->n, retry, q->ret_handles,
					  q->ret_offs);
	case TIER_SQE_RELEASE_MANY:
		r = 0;
		for (uint32_t i = 0; i < q->n; i++)
			r += store_release(st, h, q->handles[i]) == 0;
		return r;
	case TIER_SQE_COMMIT_MANY:
		r = 0;
		for (uint32_t i = 0; i < q->n; i++)
			r += store_commit(st, h, q->handles[i], q->keys[i], NULL) == 0;
		return r;
	default:
		return -EINVAL;
	}
}
