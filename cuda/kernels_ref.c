/* SPDX-License-Identifier: MIT */
/*
 * The layout plan and the CPU reference of gather/scatter.  The reference is
 * what the emu mode runs and what the GPU kernels are compared with, so it
 * is written for obvious correctness: one memcpy per page-chunk, in the same
 * order as the kernels' unit numbering (block, layer, K then V, page).
 * No I/O, no CUDA: the unit tests reach it directly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "tier_cuda.h"

static int layer_of(const struct tier_kv_layout *l, uint32_t i, struct tier_kv_layer *out)
{
	if (l->kind == TIER_KV_PAGED) {
		uint64_t tb = l->bytes_per_token[i];
		uint64_t page = tb * l->page_tokens;

		if (!l->k_base[i] || !l->v_base[i] || tb == 0 || tb > (1ull << 32))
			return -EINVAL;
		out->k = (uint64_t)(uintptr_t)l->k_base[i];
		out->v = (uint64_t)(uintptr_t)l->v_base[i];
		out->token_bytes = tb;
		out->page_stride = l->page_stride ? l->page_stride[i] : page;
		if (out->page_stride < page)
			return -EINVAL;
	} else {
		uint64_t tb = l->token_bytes;
		uint64_t per_layer = tb * l->page_tokens * l->num_pages;

		out->k = (uint64_t)(uintptr_t)l->k_all + i * per_layer;
		out->v = (uint64_t)(uintptr_t)l->v_all + i * per_layer;
		out->token_bytes = tb;
		out->page_stride = tb * l->page_tokens;
	}
	return 0;
}

int tier_kv_plan_init(struct tier_kv_plan *p, const struct tier_kv_layout *l)
{
	uint64_t off = 0;

	memset(p, 0, sizeof(*p));
	if (!l || l->size < sizeof(*l) || l->num_layers == 0 ||
	    l->num_layers > TIER_KV_MAX_LAYERS || l->num_pages == 0 || l->page_tokens == 0 ||
	    l->block_tokens == 0 || l->block_tokens % l->page_tokens)
		return -EINVAL;
	if (l->kind == TIER_KV_PAGED) {
		if (!l->k_base || !l->v_base || !l->bytes_per_token)
			return -EINVAL;
	} else if (l->kind == TIER_KV_LAYER_FIRST) {
		if (!l->k_all || !l->v_all || l->token_bytes == 0 || l->token_bytes > (1ull << 32))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	p->layers = calloc(l->num_layers, sizeof(p->layers[0]));
	if (!p->layers)
		return -ENOMEM;
	for (uint32_t i = 0; i < l->num_layers; i++) {
		if (layer_of(l, i, &p->layers[i]) < 0) {
			tier_kv_plan_deinit(p);
			return -EINVAL;
		}
		p->layers[i].block_off = off;
		off += 2 * (uint64_t)l->block_tokens * p->layers[i].token_bytes;
	}
	p->num_layers = l->num_layers;
	p->num_pages = l->num_pages;
	p->page_tokens = l->page_tokens;
	p->block_tokens = l->block_tokens;
	p->pages_per_block = l->block_tokens / l->page_tokens;
	p->block_bytes = off;
	return 0;
}

void tier_kv_plan_deinit(struct tier_kv_plan *p)
{
	free(p->layers);
	p->layers = NULL;
}

uint64_t tier_kv_block_bytes(const struct tier_kv_layout *layout)
{
	struct tier_kv_plan p;
	uint64_t n;

	if (tier_kv_plan_init(&p, layout) < 0)
		return 0;
	n = p.block_bytes;
	tier_kv_plan_deinit(&p);
	return n;
}

int tier_kv_check_args(const struct tier_kv_plan *p, const uint32_t *pages, size_t nblocks,
		       uint32_t l0, uint32_t l1)
{
	if (l0 >= l1 || l1 > p->num_layers || (nblocks && !pages))
		return -EINVAL;
	for (size_t i = 0; i < nblocks * p->pages_per_block; i++)
		if (pages[i] >= p->num_pages)
			return -EINVAL;
	return 0;
}

static int ref_copy(const struct tier_kv_plan *p, const uint32_t *pages, void *const *blocks,
		    size_t nblocks, uint32_t l0, uint32_t l1, int scatter)
{
	int r = tier_kv_check_args(p, pages, nblocks, l0, l1);

	if (r < 0)
		return r;
	for (size_t b = 0; b < nblocks; b++) {
		uint8_t *blk = (uint8_t *)blocks[b] - p->layers[l0].block_off;

		for (uint32_t l = l0; l < l1; l++) {
			const struct tier_kv_layer *ly = &p->layers[l];
			uint64_t chunk = ly->token_bytes * p->page_tokens;

			for (int kv = 0; kv < 2; kv++) {
				uint64_t base = kv ? ly->v : ly->k;
				uint8_t *dst = blk + ly->block_off +
					       (uint64_t)kv * p->block_tokens * ly->token_bytes;

				for (uint32_t j = 0; j < p->pages_per_block; j++) {
					uint8_t *page = (uint8_t *)(uintptr_t)(base +
						(uint64_t)pages[b * p->pages_per_block + j] *
						ly->page_stride);

					if (scatter)
						memcpy(page, dst + j * chunk, chunk);
					else
						memcpy(dst + j * chunk, page, chunk);
				}
			}
		}
	}
	return 0;
}

int tier_kv_ref_gather(const struct tier_kv_plan *p, const uint32_t *pages,
		       void *const *blocks, size_t nblocks, uint32_t l0, uint32_t l1)
{
	return ref_copy(p, pages, blocks, nblocks, l0, l1, 0);
}

int tier_kv_ref_scatter(const struct tier_kv_plan *p, const uint32_t *pages,
			void *const *blocks, size_t nblocks, uint32_t l0, uint32_t l1)
{
	return ref_copy(p, pages, blocks, nblocks, l0, l1, 1);
}
