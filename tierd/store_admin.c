/* SPDX-License-Identifier: MIT */
/*
 * Run-time changes to the store that an operator asks for (SIGHUP reload,
 * tierctl): switching the NVMe tier's eviction and admission policies,
 * moving the demotion watermarks, dropping a whole namespace's blocks,
 * deleting a namespace (a tombstone whose id is reused once nothing refers
 * to it: see ns_new_id in store.c).  Like
 * store_set_evict, a policy switch creates the new policy first and keeps the
 * old one when that fails (SPDK's scheduler "reverting to"), so a switch
 * never leaves a tier without a policy.
 */
#include <errno.h>
#include <string.h>

#include "store.h"

int store_set_nv_evict(struct store *st, const struct tier_evict_ops *ops)
{
	struct tier_policy_params pp = { .max_slots = st->max_slots };
	struct store_nv *nv = &st->nv;
	void *state;
	int r;

	if (!st->nvme)
		return -ENODEV;
	if (ops == nv->evict)
		return 0;
	r = ops->create(&pp, &state);
	if (r < 0)
		return r;
	/* Every block with an NVMe copy goes to the new policy; recency starts afresh. */
	for (uint32_t s = 0; s < st->used_slots; s++) {
		const struct block *b = &st->blocks[s];
		struct tier_access a = { .key = key_fingerprint(b->key), .parent = SLOT_NONE,
					 .ns = b->ns, .now = st->now };

		if (b->state == BLOCK_READY && !(b->flags & BLOCK_DROPPED) && (b->res & RES_NVME))
			ops->insert(state, s, &a);
	}
	nv->evict->destroy(nv->evict_state);
	nv->evict = ops;
	nv->evict_state = state;
	return 0;
}

int store_set_admit(struct store *st, const struct tier_admit_ops *ops)
{
	struct tier_policy_params pp = { .max_slots = st->max_slots };
	struct store_nv *nv = &st->nv;
	void *state = NULL;
	int r;

	if (!st->nvme)
		return -ENODEV;
	if (ops == nv->admit)
		return 0;
	if (ops->create) {
		r = ops->create(&pp, &state);
		if (r < 0)
			return r;
	}
	/* What the old policy learnt (sketches, ghost lists) does not carry over. */
	if (nv->admit->destroy)
		nv->admit->destroy(nv->admit_state);
	nv->admit = ops;
	nv->admit_state = state;
	return 0;
}

void store_set_watermarks(struct store *st, uint32_t high_pct, uint32_t low_pct)
{
	/* The same arithmetic as store_init; store_balance acts on the next turn. */
	for (uint32_t d = 0; d < st->n_dom; d++) {
		st->dom[d].high_bytes = st->dom[d].slab.arena_bytes / 100 * high_pct;
		st->dom[d].low_bytes = st->dom[d].slab.arena_bytes / 100 * low_pct;
	}
}

int store_ns_find(const struct store *st, const char *name, uint32_t *ret_ns)
{
	for (uint32_t i = 0; i < st->n_ns; i++)
		if (!st->ns[i].deleted && strcmp(st->ns[i].name, name) == 0) {
			*ret_ns = i;
			return 0;
		}
	return -ENOENT;
}

int store_ns_drop_all(struct store *st, uint32_t ns)
{
	int n = 0;

	if (!store_ns_exists(st, ns))
		return -ENOENT;
	/*
	 * A walk of the block table, not of the index: store_forget deletes
	 * from the index, and the table is as large as what was ever used.
	 */
	for (uint32_t s = 0; s < st->used_slots; s++) {
		const struct block *b = &st->blocks[s];

		if (b->state != BLOCK_READY || b->ns != ns || (b->flags & BLOCK_DROPPED))
			continue;
		store_forget(st, s);
		n++;
	}
	return n;
}

int store_ns_delete(struct store *st, uint32_t ns)
{
	int n = store_ns_drop_all(st, ns);

	if (n < 0)
		return n;
	/*
	 * The DELs of its NVMe blocks are queued already; the record says the
	 * name is gone too, so a restart replays no namespace the operator
	 * deleted (and a compaction leaves both out).
	 */
	if (st->nvme) {
		struct jrec r = { .type = JREC_NSDEL, .seq = st->seq };

		r.u.ns.id = ns;
		r.u.ns.creator = st->ns[ns].creator;
		r.u.ns.block_size = st->ns[ns].block_size;
		memcpy(r.u.ns.name, st->ns[ns].name, sizeof(r.u.ns.name));
		jrec_seal(&r);
		journal_add(&st->nv.journal, &r);
	}
	st->ns[ns].deleted = true;
	return n;
}

uint32_t store_ns_forget_idle(struct store *st)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < st->n_ns; i++) {
		const struct ns *x = &st->ns[i];

		if (x->deleted || x->configured || x->opens || x->blocks || x->host_bytes ||
		    x->nv_bytes)
			continue;
		(void)store_ns_delete(st, i);
		n++;
	}
	return n;
}
