/* SPDX-License-Identifier: MIT */
/*
 * Size classes over one arena (pure bookkeeping on offsets, no memory of its
 * own): memcached-style slabs carved from fixed-size extents, so namespaces
 * with different block sizes share one arena.
 */
#ifndef TIERD_SLAB_H
#define TIERD_SLAB_H

#include <stdbool.h>
#include <stdint.h>

#define SLAB_EXTENT_BYTES (2ULL << 20) /* host arena extents: a huge page */
#define SLAB_ALIGN 4096ULL             /* block stride alignment (O_DIRECT-ready) */
#define SLAB_MAX_CLASSES 64
#define SLAB_NONE UINT32_MAX
#define SLAB_OFF_NONE UINT64_MAX

struct slab;

struct slab_class {
	uint64_t stride;       /* bytes per block, a multiple of SLAB_ALIGN; 0 = unused class */
	uint32_t per_slab;     /* blocks in one slab */
	uint32_t slab_extents; /* extents one slab spans */
	uint32_t partial;      /* a slab of this class with free blocks, list head (slab id) */
	uint64_t used_blocks;
	uint32_t slabs;
};

struct slab_alloc {
	uint64_t arena_bytes;
	uint64_t extent_bytes;          /* the unit slabs are carved in */
	uint32_t n_extents;
	uint32_t free_extents;
	uint32_t *extent_slab;          /* extent -> slab id covering it, or SLAB_NONE */
	struct slab *slabs;             /* indexed by slab id = its first extent */
	struct slab_class classes[SLAB_MAX_CLASSES];
	uint32_t n_classes;
};

/* Manage arena_bytes (rounded down to whole extents) in extents of extent_bytes. */
int slab_init(struct slab_alloc *sa, uint64_t arena_bytes, uint64_t extent_bytes);
void slab_deinit(struct slab_alloc *sa);

/* The class for blocks of block_size bytes, created on first use.  >= 0 or -ENOSPC/-EINVAL. */
int slab_class_for(struct slab_alloc *sa, uint64_t block_size);
/* Whether blocks of block_size bytes already have a class (slab_class_for creates none). */
bool slab_has_class(const struct slab_alloc *sa, uint64_t block_size);

/*
 * A free block of class cls: its offset, or SLAB_OFF_NONE when the class has
 * no free block and no free extents can be carved into a new slab.
 */
uint64_t slab_alloc(struct slab_alloc *sa, uint32_t cls);

/*
 * Mark the block at off allocated to class cls, carving its slab if needed
 * (rebuilding state at start-up).  0, -EEXIST (already allocated), -EINVAL
 * (off is not a block of cls here: another class owns it, or misaligned).
 */
int slab_claim(struct slab_alloc *sa, uint32_t cls, uint64_t off);

/* Return the block at off.  Frees the slab (its extents) when it empties. */
void slab_free(struct slab_alloc *sa, uint64_t off);

/* Class of the block at off (SLAB_NONE if off is not an allocated slab's). */
uint32_t slab_class_of(const struct slab_alloc *sa, uint64_t off);

/*
 * Offsets of every block of the slab holding off, for reclaiming a whole
 * slab: writes up to max offsets (allocated or not) and returns the count.
 */
uint32_t slab_blocks_of(const struct slab_alloc *sa, uint64_t off, uint64_t *ret, uint32_t max);

/* Whether the block at off is allocated. */
bool slab_is_allocated(const struct slab_alloc *sa, uint64_t off);

/* Bytes of the arena held by slabs (carved), and bytes in allocated blocks. */
uint64_t slab_carved_bytes(const struct slab_alloc *sa);

#endif
