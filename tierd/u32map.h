/* SPDX-License-Identifier: MIT */
/* A small open-addressing map uint32 -> uint32 (a client's holds: slot -> pins). */
#ifndef TIERD_U32MAP_H
#define TIERD_U32MAP_H

#include <stddef.h>
#include <stdint.h>

#define U32MAP_EMPTY UINT32_MAX

struct u32map {
	uint32_t *keys;  /* U32MAP_EMPTY = free */
	uint32_t *vals;
	size_t cap, n;
};

void u32map_init(struct u32map *m);
void u32map_deinit(struct u32map *m);
/*
 * Empty m for about `expect` entries: the table is kept (no allocation on the
 * next fill) unless it is far larger than that, then it is freed.
 */
void u32map_clear(struct u32map *m, size_t expect);
/* Pointer to the value of key, or NULL. */
uint32_t *u32map_get(const struct u32map *m, uint32_t key);
/* Pointer to the value of key, inserted as 0 if absent; NULL on ENOMEM. */
uint32_t *u32map_upsert(struct u32map *m, uint32_t key);
void u32map_del(struct u32map *m, uint32_t key);
/* Iterate: for (size_t i = 0; i < m->cap; i++) if (m->keys[i] != U32MAP_EMPTY) ... */

#endif
