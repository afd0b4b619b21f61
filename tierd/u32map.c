/* SPDX-License-Identifier: MIT */
/*
 * uint32 -> uint32 map with linear probing and backward-shift deletion.
 * Sized for what one client holds at a time (its pins and writing blocks);
 * it grows at 1/2 load.
 */
#include <stdlib.h>
#include <string.h>

#include "u32map.h"

static size_t hash(uint32_t k, size_t cap)
{
	return (size_t)(((uint64_t)k * 0x9E3779B97F4A7C15ULL) >> 32) & (cap - 1);
}

void u32map_init(struct u32map *m)
{
	memset(m, 0, sizeof(*m));
}

void u32map_deinit(struct u32map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

void u32map_clear(struct u32map *m, size_t expect)
{
	if (m->cap > 8 * (expect > 16 ? expect : 16)) {
		u32map_deinit(m);
		return;
	}
	if (m->keys)
		memset(m->keys, 0xff, m->cap * sizeof(uint32_t));
	m->n = 0;
}

uint32_t *u32map_get(const struct u32map *m, uint32_t key)
{
	if (!m->cap || key == U32MAP_EMPTY)
		return NULL;
	for (size_t i = hash(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key)
			return &m->vals[i];
		if (m->keys[i] == U32MAP_EMPTY)
			return NULL;
	}
}

static int grow(struct u32map *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 16;
	uint32_t *nk = malloc(ncap * sizeof(uint32_t)), *nv = malloc(ncap * sizeof(uint32_t));

	if (!nk || !nv) {
		free(nk);
		free(nv);
		return -1;
	}
	memset(nk, 0xff, ncap * sizeof(uint32_t));
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == U32MAP_EMPTY)
			continue;
		size_t j = hash(m->keys[i], ncap);

		while (nk[j] != U32MAP_EMPTY)
			j = (j + 1) & (ncap - 1);
		nk[j] = m->keys[i];
		nv[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = nk;
	m->vals = nv;
	m->cap = ncap;
	return 0;
}

uint32_t *u32map_upsert(struct u32map *m, uint32_t key)
{
	uint32_t *v = u32map_get(m, key);
	size_t i;

	if (v)
		return v;
	if (key == U32MAP_EMPTY)
		return NULL;
	if ((m->n + 1) * 2 > m->cap && grow(m) < 0)
		return NULL;
	for (i = hash(key, m->cap); m->keys[i] != U32MAP_EMPTY; i = (i + 1) & (m->cap - 1))
		;
	m->keys[i] = key;
	m->vals[i] = 0;
	m->n++;
	return &m->vals[i];
}

void u32map_del(struct u32map *m, uint32_t key)
{
	size_t mask, i, j;

	if (!m->cap)
		return;
	mask = m->cap - 1;
	for (i = hash(key, m->cap);; i = (i + 1) & mask) {
		if (m->keys[i] == U32MAP_EMPTY)
			return;
		if (m->keys[i] == key)
			break;
	}
	for (j = (i + 1) & mask; m->keys[j] != U32MAP_EMPTY; j = (j + 1) & mask) {
		size_t home = hash(m->keys[j], m->cap);

		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->keys[i] = U32MAP_EMPTY;
	m->n--;
}
