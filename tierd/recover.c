/* SPDX-License-Identifier: MIT */
/*
 * Rebuilding the NVMe tier after a restart, from the journal alone: the
 * devices are not reread.  Records are applied in order, so a later PUT of a
 * key, or of a device offset, supersedes an earlier one, and a DEL removes
 * the block it names, and an NSDEL the namespace with every block of it.
 * A record that does not fit (unknown namespace, an offset outside the
 * device or of another size class) is rejected and counted.  What the journal claims is checked again on every read (header
 * and data checksums), so a stale record costs a miss, never wrong bytes.
 */
#include <errno.h>
#include <string.h>

#include "store.h"

void store_recover_begin(struct store_recovery *rc, struct store *st)
{
	memset(rc, 0, sizeof(*rc));
	rc->st = st;
	memset(rc->ns_map, 0xff, sizeof(rc->ns_map));
}

static void recover_ns(struct store_recovery *rc, const struct jrec *r)
{
	uint32_t id;

	if (r->u.ns.id >= sizeof(rc->ns_map) / sizeof(rc->ns_map[0]) ||
	    store_ns_open_as(rc->st, r->u.ns.name, r->u.ns.block_size, r->u.ns.creator, &id) < 0) {
		rc->rejected++;
		return;
	}
	rc->ns_map[r->u.ns.id] = id;
}

/* The operator deleted it (tierctl ns-delete): it and every block named so far go. */
static void recover_ns_delete(struct store_recovery *rc, const struct jrec *r)
{
	uint32_t *id = r->u.ns.id < sizeof(rc->ns_map) / sizeof(rc->ns_map[0])
			       ? &rc->ns_map[r->u.ns.id]
			       : NULL;

	if (!id || *id == UINT32_MAX) {
		rc->rejected++;
		return;
	}
	(void)store_ns_delete(rc->st, *id);
	*id = UINT32_MAX;
	rc->deleted_ns++;
}

/* The block that r names, if it is the one there now. */
static uint32_t named_block(struct store *st, uint32_t ns, const struct jrec *r)
{
	uint32_t s = index_get(&st->ns[ns].index, r->u.blk.key);

	if (s == INDEX_NONE)
		return SLOT_NONE;
	return st->blocks[s].nv_dev == r->u.blk.dev && st->blocks[s].nv_off == r->u.blk.off
		       ? s
		       : SLOT_NONE;
}

static void recover_put(struct store_recovery *rc, const struct jrec *r, uint32_t ns)
{
	struct store *st = rc->st;
	struct store_nv *nv = &st->nv;
	struct ns *n = &st->ns[ns];
	uint32_t dev = r->u.blk.dev, s;
	struct block *b;
	int ret;

	if (dev >= nv->n_devs || r->u.blk.length != n->block_size) {
		rc->rejected++;
		return;
	}
	/* An older copy of the same key, or an older block at this offset, gives way. */
	s = index_get(&n->index, r->u.blk.key);
	if (s != INDEX_NONE) {
		store_forget(st, s);
		rc->superseded++;
	}
	ret = slab_claim(&nv->slab[dev], n->nv_cls, r->u.blk.off);
	if (ret == -EEXIST) {
		s = nv->owner[dev][r->u.blk.off / SLAB_ALIGN];
		if (s != SLOT_NONE) {
			store_forget(st, s);
			rc->superseded++;
		}
		ret = slab_claim(&nv->slab[dev], n->nv_cls, r->u.blk.off);
	}
	if (ret < 0 || (s = store_slot_alloc(st)) == SLOT_NONE) {
		rc->rejected++;
		return;
	}
	b = &st->blocks[s];
	b->state = BLOCK_READY;
	b->res = RES_NVME;
	b->ns = ns;
	b->cls = (uint16_t)n->cls;
	b->key = r->u.blk.key;
	b->seq = r->seq;
	b->csum = r->u.blk.data_csum;
	b->nv_dev = (uint16_t)dev;
	b->nv_off = r->u.blk.off;
	b->dirty_prev = b->dirty_next = SLOT_NONE;
	if (index_put(&n->index, b->key, s) < 0) {
		slab_free(&nv->slab[dev], b->nv_off);
		store_slot_free(st, s);
		rc->rejected++;
		return;
	}
	nv->owner[dev][b->nv_off / SLAB_ALIGN] = s;
	n->blocks++;
	st->ready_blocks++;
	nv->blocks++;
	nv->used_bytes += nv->slab[dev].classes[n->nv_cls].stride;
	if (r->seq > st->seq)
		st->seq = r->seq;

	struct tier_access a = { .key = key_fingerprint(b->key), .parent = SLOT_NONE,
				 .ns = ns, .now = ++st->now };
	nv->evict->insert(nv->evict_state, s, &a);
}

void store_recover_record(void *arg, const struct jrec *r)
{
	struct store_recovery *rc = arg;
	uint32_t ns, s;

	rc->records++;
	if (r->type == JREC_NS) {
		recover_ns(rc, r);
		return;
	}
	if (r->type == JREC_NSDEL) {
		recover_ns_delete(rc, r);
		return;
	}
	ns = r->u.blk.ns < sizeof(rc->ns_map) / sizeof(rc->ns_map[0]) ? rc->ns_map[r->u.blk.ns]
								       : UINT32_MAX;
	if (ns == UINT32_MAX) {
		rc->rejected++;
		return;
	}
	if (r->type == JREC_PUT) {
		recover_put(rc, r, ns);
	} else {
		s = named_block(rc->st, ns, r);
		if (s != SLOT_NONE) {
			store_forget(rc->st, s);
			rc->deleted++;
		}
	}
}

void store_recover_end(struct store_recovery *rc)
{
	struct journal *j = &rc->st->nv.journal;

	/* An empty namespace nobody opened since is not worth a table entry (nor a record). */
	rc->forgotten_ns = store_ns_forget_idle(rc->st);
	/* Replay queued records of its own (DELs of superseded blocks); the image replaces them. */
	j->n = 0;
	j->queued_total = j->done_total = 0;
	for (uint32_t s = 0; s < rc->st->used_slots; s++)
		if (rc->st->blocks[s].state == BLOCK_READY)
			rc->blocks++;
}

uint64_t store_journal_image(struct store *st, void (*emit)(void *arg, const struct jrec *r),
			     void *arg)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < st->n_ns; i++) {
		struct jrec r = { .type = JREC_NS, .seq = st->seq };

		if (st->ns[i].deleted)
			continue;
		r.u.ns.id = i;
		r.u.ns.creator = st->ns[i].creator;
		r.u.ns.block_size = st->ns[i].block_size;
		memcpy(r.u.ns.name, st->ns[i].name, sizeof(r.u.ns.name));
		jrec_seal(&r);
		emit(arg, &r);
		n++;
	}
	for (uint32_t s = 0; s < st->used_slots; s++) {
		const struct block *b = &st->blocks[s];
		struct jrec r = { .type = JREC_PUT, .seq = b->seq };

		if (b->state != BLOCK_READY || !(b->res & RES_NVME) || (b->flags & BLOCK_DROPPED))
			continue;
		r.u.blk.ns = b->ns;
		r.u.blk.dev = b->nv_dev;
		r.u.blk.key = b->key;
		r.u.blk.off = b->nv_off;
		r.u.blk.length = st->ns[b->ns].block_size;
		r.u.blk.data_csum = b->csum;
		jrec_seal(&r);
		emit(arg, &r);
		n++;
	}
	return n;
}
