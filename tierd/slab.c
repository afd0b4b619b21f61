/* SPDX-License-Identifier: MIT */
/*
 * Size classes, memcached style.  The arena is cut into extents (2 MiB for
 * host memory, larger on NVMe where blocks carry a header); a slab
 * is one or more contiguous extents given to one class and cut into blocks of
 * the class stride.  A slab whose blocks are all free goes back to the extent
 * pool at once, so a namespace that shrinks hands memory to one that grows
 * without a separate rebalancer.  A class larger than an extent takes a run
 * of contiguous extents (first fit); fragmentation can then refuse it while
 * smaller classes still fit, which the store answers by reclaiming slabs.
 *
 * Pure bookkeeping on offsets: no memory is touched, so unit tests run it on
 * arenas of any size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "slab.h"

struct slab {
	uint32_t cls;
	uint32_t nfree;
	uint32_t next_partial; /* list of the class's slabs with free blocks */
	uint32_t prev_partial;
	uint32_t *free_stack;  /* free block indices */
	uint8_t *allocated;    /* per block */
};

int slab_init(struct slab_alloc *sa, uint64_t arena_bytes, uint64_t extent_bytes)
{
	memset(sa, 0, sizeof(*sa));
	if (extent_bytes < SLAB_ALIGN || extent_bytes % SLAB_ALIGN)
		return -EINVAL;
	sa->extent_bytes = extent_bytes;
	sa->n_extents = (uint32_t)(arena_bytes / sa->extent_bytes);
	if (sa->n_extents == 0)
		return -EINVAL;
	sa->arena_bytes = (uint64_t)sa->n_extents * sa->extent_bytes;
	sa->free_extents = sa->n_extents;
	sa->extent_slab = malloc(sa->n_extents * sizeof(uint32_t));
	sa->slabs = calloc(sa->n_extents, sizeof(struct slab));
	if (!sa->extent_slab || !sa->slabs) {
		slab_deinit(sa);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < sa->n_extents; i++)
		sa->extent_slab[i] = SLAB_NONE;
	return 0;
}

void slab_deinit(struct slab_alloc *sa)
{
	if (sa->slabs)
		for (uint32_t i = 0; i < sa->n_extents; i++) {
			free(sa->slabs[i].free_stack);
			free(sa->slabs[i].allocated);
		}
	free(sa->slabs);
	free(sa->extent_slab);
	memset(sa, 0, sizeof(*sa));
}

bool slab_has_class(const struct slab_alloc *sa, uint64_t block_size)
{
	uint64_t stride = (block_size + SLAB_ALIGN - 1) & ~(SLAB_ALIGN - 1);

	for (uint32_t i = 0; i < sa->n_classes; i++)
		if (sa->classes[i].stride == stride)
			return true;
	return false;
}

int slab_class_for(struct slab_alloc *sa, uint64_t block_size)
{
	uint64_t stride;
	struct slab_class *c;

	if (block_size == 0 || block_size > sa->arena_bytes)
		return -EINVAL;
	stride = (block_size + SLAB_ALIGN - 1) & ~(SLAB_ALIGN - 1);
	for (uint32_t i = 0; i < sa->n_classes; i++)
		if (sa->classes[i].stride == stride)
			return (int)i;
	if (sa->n_classes == SLAB_MAX_CLASSES)
		return -ENOSPC;
	c = &sa->classes[sa->n_classes];
	c->stride = stride;
	c->slab_extents = (uint32_t)((stride + sa->extent_bytes - 1) / sa->extent_bytes);
	c->per_slab = (uint32_t)((uint64_t)c->slab_extents * sa->extent_bytes / stride);
	c->partial = SLAB_NONE;
	if (c->slab_extents > sa->n_extents)
		return -EINVAL;
	return (int)sa->n_classes++;
}

static void partial_push(struct slab_alloc *sa, uint32_t id)
{
	struct slab *s = &sa->slabs[id];
	struct slab_class *c = &sa->classes[s->cls];

	s->prev_partial = SLAB_NONE;
	s->next_partial = c->partial;
	if (c->partial != SLAB_NONE)
		sa->slabs[c->partial].prev_partial = id;
	c->partial = id;
}

static void partial_unlink(struct slab_alloc *sa, uint32_t id)
{
	struct slab *s = &sa->slabs[id];

	if (s->prev_partial != SLAB_NONE)
		sa->slabs[s->prev_partial].next_partial = s->next_partial;
	else
		sa->classes[s->cls].partial = s->next_partial;
	if (s->next_partial != SLAB_NONE)
		sa->slabs[s->next_partial].prev_partial = s->prev_partial;
}

/* Make the free extents from start a slab of class cls; its id or SLAB_NONE (no memory). */
static uint32_t slab_carve_at(struct slab_alloc *sa, uint32_t cls, uint32_t start)
{
	struct slab_class *c = &sa->classes[cls];
	struct slab *s = &sa->slabs[start];

	s->free_stack = malloc(c->per_slab * sizeof(uint32_t));
	s->allocated = calloc(c->per_slab, 1);
	if (!s->free_stack || !s->allocated) {
		free(s->free_stack);
		free(s->allocated);
		s->free_stack = NULL;
		s->allocated = NULL;
		return SLAB_NONE;
	}
	/* Lowest offsets first: blocks of a young slab stay close together. */
	for (uint32_t i = 0; i < c->per_slab; i++)
		s->free_stack[i] = c->per_slab - 1 - i;
	s->nfree = c->per_slab;
	s->cls = cls;
	for (uint32_t e = start; e < start + c->slab_extents; e++)
		sa->extent_slab[e] = start;
	sa->free_extents -= c->slab_extents;
	c->slabs++;
	partial_push(sa, start);
	return start;
}

/* Carve a new slab for cls from the first run of free extents; its id or SLAB_NONE. */
static uint32_t slab_carve(struct slab_alloc *sa, uint32_t cls)
{
	struct slab_class *c = &sa->classes[cls];
	uint32_t run = 0, start = 0;

	if (sa->free_extents < c->slab_extents)
		return SLAB_NONE;
	for (uint32_t e = 0; e < sa->n_extents; e++) {
		if (sa->extent_slab[e] != SLAB_NONE) {
			run = 0;
			continue;
		}
		if (run++ == 0)
			start = e;
		if (run == c->slab_extents)
			return slab_carve_at(sa, cls, start);
	}
	return SLAB_NONE;
}

static void take_index(struct slab_alloc *sa, uint32_t id, uint32_t idx)
{
	struct slab *s = &sa->slabs[id];

	s->allocated[idx] = 1;
	if (--s->nfree == 0)
		partial_unlink(sa, id);
	sa->classes[s->cls].used_blocks++;
}

int slab_claim(struct slab_alloc *sa, uint32_t cls, uint64_t off)
{
	struct slab_class *c;
	uint32_t start, idx;
	struct slab *s;
	uint64_t rel;

	if (cls >= sa->n_classes || off >= sa->arena_bytes)
		return -EINVAL;
	c = &sa->classes[cls];
	start = (uint32_t)(off / sa->extent_bytes);
	if (c->slab_extents > 1 && off % sa->extent_bytes)
		return -EINVAL;
	if (sa->extent_slab[start] == SLAB_NONE) {
		if (start + c->slab_extents > sa->n_extents)
			return -EINVAL;
		for (uint32_t e = start; e < start + c->slab_extents; e++)
			if (sa->extent_slab[e] != SLAB_NONE)
				return -EINVAL;
		if (slab_carve_at(sa, cls, start) == SLAB_NONE)
			return -ENOMEM;
	}
	start = sa->extent_slab[start];
	s = &sa->slabs[start];
	if (s->cls != cls)
		return -EINVAL;
	rel = off - (uint64_t)start * sa->extent_bytes;
	if (rel % c->stride || rel / c->stride >= c->per_slab)
		return -EINVAL;
	idx = (uint32_t)(rel / c->stride);
	if (s->allocated[idx])
		return -EEXIST;
	/* Take idx out of the free stack (recovery only: linear is fine). */
	for (uint32_t i = 0; i < s->nfree; i++)
		if (s->free_stack[i] == idx) {
			s->free_stack[i] = s->free_stack[s->nfree - 1];
			break;
		}
	take_index(sa, start, idx);
	return 0;
}

uint64_t slab_alloc(struct slab_alloc *sa, uint32_t cls)
{
	struct slab_class *c;
	struct slab *s;
	uint32_t id, idx;

	if (cls >= sa->n_classes)
		return SLAB_OFF_NONE;
	c = &sa->classes[cls];
	id = c->partial;
	if (id == SLAB_NONE) {
		id = slab_carve(sa, cls);
		if (id == SLAB_NONE)
			return SLAB_OFF_NONE;
	}
	s = &sa->slabs[id];
	idx = s->free_stack[s->nfree - 1];
	take_index(sa, id, idx);
	return (uint64_t)id * sa->extent_bytes + (uint64_t)idx * c->stride;
}

static uint32_t slab_id_of(const struct slab_alloc *sa, uint64_t off)
{
	if (off >= sa->arena_bytes)
		return SLAB_NONE;
	return sa->extent_slab[off / sa->extent_bytes];
}

static int slab_index_of(const struct slab_alloc *sa, uint64_t off, uint32_t *ret_id)
{
	uint32_t id = slab_id_of(sa, off);
	const struct slab_class *c;
	uint64_t rel;

	if (id == SLAB_NONE)
		return -1;
	c = &sa->classes[sa->slabs[id].cls];
	rel = off - (uint64_t)id * sa->extent_bytes;
	if (rel % c->stride || rel / c->stride >= c->per_slab)
		return -1;
	*ret_id = id;
	return (int)(rel / c->stride);
}

void slab_free(struct slab_alloc *sa, uint64_t off)
{
	uint32_t id;
	int idx = slab_index_of(sa, off, &id);
	struct slab *s;
	struct slab_class *c;

	if (idx < 0 || !sa->slabs[id].allocated[idx])
		return;
	s = &sa->slabs[id];
	c = &sa->classes[s->cls];
	s->allocated[idx] = 0;
	s->free_stack[s->nfree++] = (uint32_t)idx;
	c->used_blocks--;
	if (s->nfree == 1)
		partial_push(sa, id);
	if (s->nfree == c->per_slab) {
		/* Empty: give the extents back so any class can use them. */
		partial_unlink(sa, id);
		for (uint32_t e = id; e < id + c->slab_extents; e++)
			sa->extent_slab[e] = SLAB_NONE;
		sa->free_extents += c->slab_extents;
		c->slabs--;
		free(s->free_stack);
		free(s->allocated);
		memset(s, 0, sizeof(*s));
	}
}

uint32_t slab_class_of(const struct slab_alloc *sa, uint64_t off)
{
	uint32_t id = slab_id_of(sa, off);

	return id == SLAB_NONE ? SLAB_NONE : sa->slabs[id].cls;
}

bool slab_is_allocated(const struct slab_alloc *sa, uint64_t off)
{
	uint32_t id;
	int idx = slab_index_of(sa, off, &id);

	return idx >= 0 && sa->slabs[id].allocated[idx];
}

uint32_t slab_blocks_of(const struct slab_alloc *sa, uint64_t off, uint64_t *ret, uint32_t max)
{
	uint32_t id = slab_id_of(sa, off), n = 0;
	const struct slab_class *c;

	if (id == SLAB_NONE)
		return 0;
	c = &sa->classes[sa->slabs[id].cls];
	for (uint32_t i = 0; i < c->per_slab && n < max; i++)
		ret[n++] = (uint64_t)id * sa->extent_bytes + (uint64_t)i * c->stride;
	return n;
}

uint64_t slab_carved_bytes(const struct slab_alloc *sa)
{
	return (uint64_t)(sa->n_extents - sa->free_extents) * sa->extent_bytes;
}
