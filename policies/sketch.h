/* SPDX-License-Identifier: MIT */
/*
 * Internal (never installed): a count-min sketch of small saturating
 * counters over 64-bit key fingerprints, with conservative update and
 * TinyLFU's periodic halving, and a ghost set of recently evicted keys.
 * Both are fixed-size, allocated at create time: nothing allocates later.
 */
#ifndef TIER_SKETCH_H
#define TIER_SKETCH_H

#include <stdbool.h>
#include <stdint.h>

#define SKETCH_ROWS 4
#define SKETCH_MAX 15

struct sketch {
	uint8_t *cell;        /* SKETCH_ROWS x (mask + 1) */
	uint32_t mask;
	uint64_t seen, reset_every;
};

/* Width: the power of two >= 2 x counted_keys (at least 1024); halves every 10 x width adds. */
int sketch_init(struct sketch *s, uint64_t counted_keys);
void sketch_deinit(struct sketch *s);
void sketch_add(struct sketch *s, uint64_t key);
unsigned sketch_estimate(const struct sketch *s, uint64_t key);

/*
 * Ghost: the keys of the last `size` blocks added, approximately (a hash
 * table of fingerprints and add stamps, 4-way probing; an entry is live
 * while fewer than size adds have followed it; a full bucket overwrites its
 * oldest entry).  16 bytes per entry, 2 entries per remembered key.
 */
struct ghost {
	uint64_t *fp, *stamp;
	uint32_t mask;
	uint64_t clock, size;
};

int ghost_init(struct ghost *g, uint64_t size);
void ghost_deinit(struct ghost *g);
void ghost_add(struct ghost *g, uint64_t key);
/* true when key is in the ghost; the entry is removed. */
bool ghost_take(struct ghost *g, uint64_t key);

#endif /* TIER_SKETCH_H */
