/* SPDX-License-Identifier: MIT */
/*
 * Admission policies.
 *
 * all:        every block is cached and every demoted block is written to
 *             NVMe.  The default: admission filters trade hits for flash
 *             endurance, an operator's call.
 * second-hit: a doorkeeper for flash.  A count-min sketch of 4-bit-style
 *             saturating counters (4 rows, 8-bit cells capped at 15) counts
 *             every demand access by key fingerprint; a block is admitted
 *             (or written on demotion) only once it has been seen at least
 *             twice, so one-hit wonders never reach NVMe.  Counters halve
 *             every 10 x width accesses (TinyLFU's reset), so the sketch
 *             follows the workload instead of filling up.  Sized from the
 *             tier's capacity: 2 cells per block and row, 8 bytes a block.
 * full-only:  never caches a prompt's partial last block (TIER_ACC_PARTIAL),
 *             which only an exact repeat of the prompt could match.
 */
#include <errno.h>
#include <stdlib.h>

#include "policy.h"
#include "sketch.h"


static int second_hit_create(const struct tier_policy_params *p, void **ret)
{
	struct sketch *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	if (sketch_init(s, p->capacity ? p->capacity : p->max_slots) < 0) {
		free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

static void second_hit_destroy(void *st)
{
	if (!st)
		return;
	sketch_deinit(st);
	free(st);
}

static void second_hit_access(void *st, const struct tier_access *a)
{
	sketch_add(st, a->key);
}

static bool second_hit_admit(void *st, const struct tier_access *a)
{
	return sketch_estimate(st, a->key) >= 2;
}

static bool second_hit_demote(void *st, uint32_t slot, uint64_t key)
{
	(void)slot;
	return sketch_estimate(st, key) >= 2;
}

const struct tier_admit_ops tier_admit_second_hit = {
	.name = "second-hit",
	.summary = "doorkeeper: admit a block once a count-min sketch has seen its key twice (for NVMe)",
	.create = second_hit_create,
	.destroy = second_hit_destroy,
	.access = second_hit_access,
	.admit = second_hit_admit,
	.demote = second_hit_demote,
	.bytes_per_block = 2 * SKETCH_ROWS, /* 2 cells per cached block and row */
};

static bool all_admit(void *st, const struct tier_access *a)
{
	(void)st;
	(void)a;
	return true;
}

const struct tier_admit_ops tier_admit_all = {
	.name = "all",
	.summary = "admit every block, write every demoted block (the default)",
	.admit = all_admit,
};

static bool full_only_admit(void *st, const struct tier_access *a)
{
	(void)st;
	return !(a->flags & TIER_ACC_PARTIAL);
}

const struct tier_admit_ops tier_admit_full_only = {
	.name = "full-only",
	.summary = "never cache a prompt's partial last block",
	.admit = full_only_admit,
};
