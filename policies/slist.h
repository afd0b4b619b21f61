/* SPDX-License-Identifier: MIT */
/*
 * Internal (never installed): intrusive doubly linked lists over slot
 * indices, shared by the list-based policies.  Several lists may share one
 * pair of prev/next arrays because a slot is on at most one list at a time.
 * head is the newest end, tail the oldest; links end in TIER_SLOT_NONE.
 */
#ifndef TIER_SLIST_H
#define TIER_SLIST_H

#include <stdlib.h>

#include "policy.h"

struct slinks {
	uint32_t *prev; /* toward the head */
	uint32_t *next; /* toward the tail */
};

struct slist {
	uint32_t head, tail, n;
};

static inline int slinks_init(struct slinks *k, uint32_t max_slots)
{
	size_t n = max_slots ? max_slots : 1;

	k->prev = calloc(n, sizeof(uint32_t));
	k->next = calloc(n, sizeof(uint32_t));
	if (!k->prev || !k->next) {
		free(k->prev);
		free(k->next);
		return -1;
	}
	return 0;
}

static inline void slinks_deinit(struct slinks *k)
{
	free(k->prev);
	free(k->next);
}

static inline void slist_init(struct slist *l)
{
	l->head = l->tail = TIER_SLOT_NONE;
	l->n = 0;
}

static inline void slist_push_head(struct slist *l, struct slinks *k, uint32_t s)
{
	k->prev[s] = TIER_SLOT_NONE;
	k->next[s] = l->head;
	if (l->head != TIER_SLOT_NONE)
		k->prev[l->head] = s;
	else
		l->tail = s;
	l->head = s;
	l->n++;
}

static inline void slist_unlink(struct slist *l, struct slinks *k, uint32_t s)
{
	uint32_t p = k->prev[s], n = k->next[s];

	if (p != TIER_SLOT_NONE)
		k->next[p] = n;
	else
		l->head = n;
	if (n != TIER_SLOT_NONE)
		k->prev[n] = p;
	else
		l->tail = p;
	l->n--;
}

#endif /* TIER_SLIST_H */
