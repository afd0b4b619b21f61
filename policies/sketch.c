/* SPDX-License-Identifier: MIT */
/*
 * Frequency sketch and ghost set shared by the policies (see sketch.h).
 * Counters are bytes capped at 15 rather than packed nibbles: twice the
 * memory of TinyLFU's layout for much simpler code, still 8 bytes a block.
 */
#include <errno.h>
#include <stdlib.h>

#include "sketch.h"

static const uint64_t sketch_seeds[SKETCH_ROWS] = {
	0x8f1bbcdcca62c1d6ULL, 0x5a827999ed9eba1ULL, 0x6ed9eba18f1bbcdcULL, 0xca62c1d65a827999ULL,
};

static uint64_t sketch_mix(uint64_t x, uint64_t seed)
{
	x ^= seed;
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ULL;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dULL;
	x ^= x >> 33;
	return x;
}

int sketch_init(struct sketch *s, uint64_t counted_keys)
{
	uint64_t w = 1024;

	while (w < 2 * counted_keys && w < (1ull << 30))
		w *= 2;
	s->cell = calloc(SKETCH_ROWS * w, 1);
	if (!s->cell)
		return -ENOMEM;
	s->mask = (uint32_t)(w - 1);
	s->seen = 0;
	s->reset_every = 10 * w;
	return 0;
}

void sketch_deinit(struct sketch *s)
{
	free(s->cell);
	s->cell = NULL;
}

static uint8_t *sketch_cell(const struct sketch *s, int row, uint64_t key)
{
	return &s->cell[(size_t)row * (s->mask + 1) + (sketch_mix(key, sketch_seeds[row]) & s->mask)];
}

unsigned sketch_estimate(const struct sketch *s, uint64_t key)
{
	unsigned m = SKETCH_MAX;

	for (int r = 0; r < SKETCH_ROWS; r++) {
		unsigned c = *sketch_cell(s, r, key);

		if (c < m)
			m = c;
	}
	return m;
}

void sketch_add(struct sketch *s, uint64_t key)
{
	unsigned est = sketch_estimate(s, key);

	/* conservative update: raise only the cells at the minimum */
	for (int r = 0; r < SKETCH_ROWS; r++) {
		uint8_t *c = sketch_cell(s, r, key);

		if (*c == est && est < SKETCH_MAX)
			(*c)++;
	}
	if (++s->seen >= s->reset_every) {
		size_t n = (size_t)SKETCH_ROWS * (s->mask + 1);

		/* O(width) once every 10 x width adds: amortised O(1) */
		for (size_t i = 0; i < n; i++)
			s->cell[i] >>= 1;
		s->seen = 0;
	}
}

#define GHOST_WAYS 4

int ghost_init(struct ghost *g, uint64_t size)
{
	uint64_t n = 64;

	while (n < 2 * size && n < (1ull << 31))
		n *= 2;
	g->fp = calloc(n, sizeof(*g->fp));
	g->stamp = calloc(n, sizeof(*g->stamp));
	if (!g->fp || !g->stamp) {
		free(g->fp);
		free(g->stamp);
		return -ENOMEM;
	}
	g->mask = (uint32_t)(n - 1);
	g->clock = 0;
	g->size = size ? size : 1;
	return 0;
}

void ghost_deinit(struct ghost *g)
{
	free(g->fp);
	free(g->stamp);
	g->fp = g->stamp = NULL;
}

static bool ghost_live(const struct ghost *g, uint32_t i)
{
	return g->fp[i] && g->clock - g->stamp[i] < g->size;
}

void ghost_add(struct ghost *g, uint64_t key)
{
	uint32_t base = (uint32_t)sketch_mix(key, 0) & g->mask, victim = base;

	g->clock++;
	for (uint32_t w = 0; w < GHOST_WAYS; w++) {
		uint32_t i = (base + w) & g->mask;

		if (!ghost_live(g, i) || g->fp[i] == key) {
			victim = i;
			break;
		}
		if (g->stamp[i] < g->stamp[victim])
			victim = i;
	}
	g->fp[victim] = key;
	g->stamp[victim] = g->clock;
}

bool ghost_take(struct ghost *g, uint64_t key)
{
	uint32_t base = (uint32_t)sketch_mix(key, 0) & g->mask;

	for (uint32_t w = 0; w < GHOST_WAYS; w++) {
		uint32_t i = (base + w) & g->mask;

		if (g->fp[i] == key && ghost_live(g, i)) {
			g->fp[i] = 0;
			return true;
		}
	}
	return false;
}
