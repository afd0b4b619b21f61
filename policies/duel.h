/* SPDX-License-Identifier: MIT */
/* Internal (never installed): what tests may ask a duel instance. */
#ifndef TIER_DUEL_H
#define TIER_DUEL_H

#include <stdbool.h>
#include <stdint.h>

/* Whether it evicts by survival's choice now (else LRU's); *ret_switches: how often it changed. */
bool duel_following_survival(const void *state, uint64_t *ret_switches);

#endif /* TIER_DUEL_H */
