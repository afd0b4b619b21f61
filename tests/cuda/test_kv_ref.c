/* SPDX-License-Identifier: MIT */
/*
 * The CPU reference gather/scatter (cuda/kernels_ref.c) against a naive
 * per-token loop written from the block-format description in tier_cuda.h,
 * over random layouts of both kinds (per-layer paged, with and without an
 * interleaving page stride; layer-first contiguous), random page tables and
 * layer ranges; round trips pages -> blocks -> pages bit-exact; bad layouts
 * and arguments refused.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "testutil.h"
#include "tier_cuda.h"

/* A random engine cache and its layout, all in host memory. */
struct cache {
	struct tier_kv_layout l;
	uint32_t layers;
	void **k, **v;
	uint64_t *bpt, *stride;
	uint8_t *mem;           /* everything, one allocation */
	size_t mem_bytes;
};

static void cache_init(struct cache *c, uint64_t *rng, int kind, bool interleave)
{
	uint32_t layers = 1 + (uint32_t)t_rand_below(rng, 6);
	uint32_t page_tokens = 1 + (uint32_t)t_rand_below(rng, 16);
	uint32_t ppb = 1 + (uint32_t)t_rand_below(rng, 4);
	uint32_t pages = ppb * 3 + (uint32_t)t_rand_below(rng, 8);
	size_t off = 0;

	memset(c, 0, sizeof(*c));
	c->layers = layers;
	c->k = calloc(layers, sizeof(void *));
	c->v = calloc(layers, sizeof(void *));
	c->bpt = calloc(layers, sizeof(uint64_t));
	c->stride = calloc(layers, sizeof(uint64_t));
	/* odd sizes on purpose: the kernels' unaligned paths */
	for (uint32_t i = 0; i < layers; i++) {
		c->bpt[i] = kind == TIER_KV_LAYER_FIRST ? 0 : 1 + t_rand_below(rng, 40);
		c->stride[i] = c->bpt[i] * page_tokens * (interleave ? 2 : 1);
	}
	if (kind == TIER_KV_LAYER_FIRST) {
		uint64_t tb = 1 + t_rand_below(rng, 40);

		c->mem_bytes = 2 * (size_t)layers * pages * page_tokens * tb;
		c->mem = malloc(c->mem_bytes);
		c->l.k_all = c->mem;
		c->l.v_all = c->mem + c->mem_bytes / 2;
		c->l.token_bytes = tb;
		for (uint32_t i = 0; i < layers; i++)
			c->bpt[i] = tb;
	} else {
		for (uint32_t i = 0; i < layers; i++)
			c->mem_bytes += interleave ? c->stride[i] * pages
						   : 2 * c->stride[i] * pages;
		c->mem = malloc(c->mem_bytes);
		for (uint32_t i = 0; i < layers; i++) {
			c->k[i] = c->mem + off;
			if (interleave) {   /* [pages][K,V][page_tokens][bpt] */
				c->v[i] = c->mem + off + c->bpt[i] * page_tokens;
				off += c->stride[i] * pages;
			} else {
				c->v[i] = c->mem + off + c->stride[i] * pages;
				off += 2 * c->stride[i] * pages;
			}
		}
		c->l.k_base = c->k;
		c->l.v_base = c->v;
		c->l.bytes_per_token = c->bpt;
		c->l.page_stride = interleave ? c->stride : NULL;
	}
	for (size_t i = 0; i < c->mem_bytes; i++)
		c->mem[i] = (uint8_t)t_rand(rng);
	c->l.size = sizeof(c->l);
	c->l.kind = (uint32_t)kind;
	c->l.num_layers = layers;
	c->l.num_pages = pages;
	c->l.page_tokens = page_tokens;
	c->l.block_tokens = page_tokens * ppb;
}

static void cache_deinit(struct cache *c)
{
	free(c->k), free(c->v), free(c->bpt), free(c->stride), free(c->mem);
}

/* Where token t of layer l's K (kv 0) or V (kv 1) lives in page pg. */
static uint8_t *naive_token(const struct cache *c, uint32_t l, int kv, uint32_t pg, uint32_t t)
{
	const struct tier_kv_layout *L = &c->l;

	if (L->kind == TIER_KV_LAYER_FIRST) {
		uint8_t *base = kv ? L->v_all : L->k_all;

		return base + (((uint64_t)l * L->num_pages + pg) * L->page_tokens + t) * L->token_bytes;
	}
	return (uint8_t *)(kv ? c->v[l] : c->k[l]) +
	       pg * (L->page_stride ? L->page_stride[l] : L->page_tokens * c->bpt[l]) +
	       (uint64_t)t * c->bpt[l];
}

/* The block format of tier_cuda.h, token by token. */
static void naive_gather(const struct cache *c, const uint32_t *pages, uint8_t *block,
			 size_t b, uint32_t l0, uint32_t l1)
{
	const struct tier_kv_layout *L = &c->l;
	uint32_t ppb = L->block_tokens / L->page_tokens;
	uint64_t off = 0;

	for (uint32_t l = 0; l < l1; l++) {
		for (int kv = 0; kv < 2; kv++)
			for (uint32_t t = 0; t < L->block_tokens; t++) {
				uint32_t pg = pages[b * ppb + t / L->page_tokens];

				if (l >= l0)
					memcpy(block + off, naive_token(c, l, kv, pg, t % L->page_tokens),
					       c->bpt[l]);
				off += c->bpt[l];
			}
	}
}

static void random_pages(uint64_t *rng, uint32_t *pages, size_t n, uint32_t num_pages,
			 bool distinct)
{
	for (size_t i = 0; i < n; i++) {
		pages[i] = (uint32_t)t_rand_below(rng, num_pages);
		if (distinct) /* a page belongs to one block: scatter targets don't overlap */
			for (size_t j = 0; j < i; j++)
				if (pages[j] == pages[i]) {
					pages[i] = (pages[i] + 1) % num_pages;
					j = (size_t)-1;
				}
	}
}

static void check_layout(int kind, bool interleave, uint64_t seed)
{
	uint64_t rng = seed;
	struct cache c;
	struct tier_kv_plan p;
	uint32_t ppb, l0, l1;
	size_t nblocks;
	uint64_t bb;
	uint8_t *got, *want;
	uint32_t *pages;
	void **blocks;

	cache_init(&c, &rng, kind, interleave);
	ck_assert_int_eq(tier_kv_plan_init(&p, &c.l), 0);
	bb = tier_kv_block_bytes(&c.l);
	ck_assert_uint_eq(bb, p.block_bytes);
	ppb = p.pages_per_block;
	nblocks = 1 + t_rand_below(&rng, c.l.num_pages / ppb);
	pages = calloc(nblocks * ppb, sizeof(uint32_t));
	random_pages(&rng, pages, nblocks * ppb, c.l.num_pages, true);
	got = calloc(nblocks, bb);
	want = calloc(nblocks, bb);
	blocks = calloc(nblocks, sizeof(void *));

	/* every layer */
	for (size_t b = 0; b < nblocks; b++) {
		blocks[b] = got + b * bb;
		naive_gather(&c, pages, want + b * bb, b, 0, c.layers);
	}
	ck_assert_int_eq(tier_kv_ref_gather(&p, pages, blocks, nblocks, 0, c.layers), 0);
	ck_assert(memcmp(got, want, nblocks * bb) == 0);

	/* a layer range: blocks[b] points at layer l0's part */
	l0 = (uint32_t)t_rand_below(&rng, c.layers);
	l1 = l0 + 1 + (uint32_t)t_rand_below(&rng, c.layers - l0);
	memset(got, 0, nblocks * bb);
	memset(want, 0, nblocks * bb);
	for (size_t b = 0; b < nblocks; b++) {
		blocks[b] = got + b * bb + p.layers[l0].block_off;
		naive_gather(&c, pages, want + b * bb, b, l0, l1);
	}
	ck_assert_int_eq(tier_kv_ref_gather(&p, pages, blocks, nblocks, l0, l1), 0);
	ck_assert(memcmp(got, want, nblocks * bb) == 0);

	/* round trip: blocks -> (cleared) pages -> blocks, bit-exact */
	for (size_t b = 0; b < nblocks; b++)
		blocks[b] = got + b * bb;
	ck_assert_int_eq(tier_kv_ref_gather(&p, pages, blocks, nblocks, 0, c.layers), 0);
	memset(c.mem, 0, c.mem_bytes);
	ck_assert_int_eq(tier_kv_ref_scatter(&p, pages, blocks, nblocks, 0, c.layers), 0);
	memset(want, 0xaa, nblocks * bb);
	for (size_t b = 0; b < nblocks; b++)
		blocks[b] = want + b * bb;
	ck_assert_int_eq(tier_kv_ref_gather(&p, pages, blocks, nblocks, 0, c.layers), 0);
	ck_assert(memcmp(got, want, nblocks * bb) == 0);

	free(pages), free(got), free(want), free(blocks);
	tier_kv_plan_deinit(&p);
	cache_deinit(&c);
}

START_TEST(paged_random)
{
	for (uint64_t s = 0; s < 200; s++)
		check_layout(TIER_KV_PAGED, false, 1000 + s + (uint64_t)_i * 100000);
}
END_TEST

START_TEST(paged_interleaved_random)
{
	for (uint64_t s = 0; s < 200; s++)
		check_layout(TIER_KV_PAGED, true, 2000 + s + (uint64_t)_i * 100000);
}
END_TEST

START_TEST(layer_first_random)
{
	for (uint64_t s = 0; s < 200; s++)
		check_layout(TIER_KV_LAYER_FIRST, false, 3000 + s + (uint64_t)_i * 100000);
}
END_TEST

/* A vLLM-like shape: 32 layers, 16-token pages, 256-token blocks, 2 KiB per token. */
START_TEST(block_bytes_formula)
{
	enum { L = 32 };
	static uint8_t dummy[16];
	void *k[L], *v[L];
	uint64_t bpt[L];
	struct tier_kv_layout l = {
		.size = sizeof(l), .kind = TIER_KV_PAGED, .num_layers = L, .num_pages = 1000,
		.page_tokens = 16, .block_tokens = 256, .k_base = k, .v_base = v,
		.bytes_per_token = bpt,
	};
	struct tier_kv_plan p;

	for (int i = 0; i < L; i++) {
		k[i] = v[i] = dummy;
		bpt[i] = 8 * 128 * 2;
	}
	ck_assert_uint_eq(tier_kv_block_bytes(&l), 2ull * 256 * 2048 * L);
	ck_assert_int_eq(tier_kv_plan_init(&p, &l), 0);
	ck_assert_uint_eq(p.layers[5].block_off, 5ull * 2 * 256 * 2048);
	ck_assert_uint_eq(tier_kv_plan_span(&p, 5, 7), 2ull * 2 * 256 * 2048);
	ck_assert_uint_eq(tier_kv_plan_span(&p, 31, 32), 2ull * 256 * 2048);
	tier_kv_plan_deinit(&p);
}
END_TEST

START_TEST(bad_layouts_and_args)
{
	static uint8_t mem[4096];
	void *k[2] = { mem, mem }, *v[2] = { mem, mem };
	uint64_t bpt[2] = { 8, 8 }, stride[2] = { 8, 64 };
	struct tier_kv_layout l = {
		.size = sizeof(l), .kind = TIER_KV_PAGED, .num_layers = 2, .num_pages = 4,
		.page_tokens = 4, .block_tokens = 8, .k_base = k, .v_base = v,
		.bytes_per_token = bpt,
	};
	struct tier_kv_layout bad;
	struct tier_kv_plan p;
	uint32_t pages[2] = { 0, 4 };
	uint8_t blk[256];
	void *blocks[1] = { blk };

	ck_assert_uint_eq(tier_kv_block_bytes(&l), 2 * 8 * 16);
	ck_assert_uint_eq(tier_kv_block_bytes(NULL), 0);
	bad = l, bad.size = 8;
	ck_assert_uint_eq(tier_kv_block_bytes(&bad), 0);
	bad = l, bad.block_tokens = 6; /* not whole pages */
	ck_assert_uint_eq(tier_kv_block_bytes(&bad), 0);
	bad = l, bad.kind = 7;
	ck_assert_uint_eq(tier_kv_block_bytes(&bad), 0);
	bad = l, bad.num_layers = 0;
	ck_assert_uint_eq(tier_kv_block_bytes(&bad), 0);
	bad = l, bad.page_stride = stride; /* layer 0's stride is less than a page */
	ck_assert_uint_eq(tier_kv_block_bytes(&bad), 0);
	bad = l, bad.kind = TIER_KV_LAYER_FIRST; /* no k_all */
	ck_assert_uint_eq(tier_kv_block_bytes(&bad), 0);

	ck_assert_int_eq(tier_kv_plan_init(&p, &l), 0);
	/* page 4 is out of range; layer ranges must be non-empty and inside */
	ck_assert_int_eq(tier_kv_ref_gather(&p, pages, blocks, 1, 0, 2), -EINVAL);
	pages[1] = 3;
	ck_assert_int_eq(tier_kv_ref_gather(&p, pages, blocks, 1, 1, 1), -EINVAL);
	ck_assert_int_eq(tier_kv_ref_gather(&p, pages, blocks, 1, 0, 3), -EINVAL);
	ck_assert_int_eq(tier_kv_ref_gather(&p, pages, blocks, 1, 0, 2), 0);
	ck_assert_int_eq(tier_kv_ref_scatter(&p, pages, blocks, 1, 1, 2), 0);
	tier_kv_plan_deinit(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kv_ref");
	TCase *tc = tcase_create("ref");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, paged_random, 0, 3);
	tcase_add_loop_test(tc, paged_interleaved_random, 0, 3);
	tcase_add_loop_test(tc, layer_first_random, 0, 3);
	tcase_add_test(tc, block_bytes_formula);
	tcase_add_test(tc, bad_layouts_and_args);
	suite_add_tcase(s, tc);
	return t_run_suite(s);
}
