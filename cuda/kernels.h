/* SPDX-License-Identifier: MIT */
/*
 * Gather/scatter between an engine's paged KV cache and blocks: the plan
 * both implementations share (CPU reference in kernels_ref.c, CUDA kernels
 * in kernels.cu), so the GPU is checked bit-exact against the CPU.
 *
 * A layout (struct tier_kv_layout, tier_cuda.h) is normalised into one
 * struct tier_kv_layer per layer: K and V base addresses, bytes between
 * pages, bytes per token, and where the layer's K lies in a block.  Both
 * layout variants (per-layer paged, layer-first contiguous) become this one
 * table, so each kernel has one code path.
 *
 * The unit of work is a page-chunk: page_tokens tokens of one layer's K (or
 * V) in one page, which is contiguous both in the page and in the block.
 * One launch moves every chunk of many blocks.
 *
 * Convention: blocks[b] points at the part of block b where layer l0 begins
 * (block start + layers[l0].block_off), so a layer-wise copy can target a
 * staging area that holds only layers l0..l1-1.
 *
 * Internal header, not installed.
 */
#ifndef TIERD_CUDA_KERNELS_H
#define TIERD_CUDA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tier_kv_layout;

struct tier_kv_layer {
	uint64_t k, v;          /* base addresses of page 0 (device or host) */
	uint64_t page_stride;   /* bytes from one page to the next */
	uint64_t token_bytes;   /* bytes of one token of this layer's K (= of V) */
	uint64_t block_off;     /* offset of this layer's K in a block; V follows */
};

struct tier_kv_plan {
	uint32_t num_layers, num_pages, page_tokens, block_tokens;
	uint32_t pages_per_block;  /* block_tokens / page_tokens */
	uint64_t block_bytes;
	struct tier_kv_layer *layers; /* num_layers entries, malloc'ed */
};

/* Check a layout and build its plan.  -EINVAL: see tier_kv_block_bytes(). */
int tier_kv_plan_init(struct tier_kv_plan *p, const struct tier_kv_layout *l);
void tier_kv_plan_deinit(struct tier_kv_plan *p);

/* Bytes of layers [l0, l1) of one block (the block is laid out layer by layer). */
static inline uint64_t tier_kv_plan_span(const struct tier_kv_plan *p, uint32_t l0, uint32_t l1)
{
	uint64_t end = l1 < p->num_layers ? p->layers[l1].block_off : p->block_bytes;

	return end - p->layers[l0].block_off;
}

/* -EINVAL unless l0 < l1 <= num_layers and every page id is < num_pages. */
int tier_kv_check_args(const struct tier_kv_plan *p, const uint32_t *pages, size_t nblocks,
		       uint32_t l0, uint32_t l1);

/*
 * CPU reference.  pages: nblocks * pages_per_block page ids, block b's
 * pages first to last.  gather copies pages -> blocks, scatter blocks ->
 * pages, for layers [l0, l1).  Addresses in the plan are host addresses.
 */
int tier_kv_ref_gather(const struct tier_kv_plan *p, const uint32_t *pages,
		       void *const *blocks, size_t nblocks, uint32_t l0, uint32_t l1);
int tier_kv_ref_scatter(const struct tier_kv_plan *p, const uint32_t *pages,
			void *const *blocks, size_t nblocks, uint32_t l0, uint32_t l1);

/*
 * CUDA launchers (kernels.cu; only in CUDA builds).  dev_layers: the plan's
 * layer table copied to device memory.  blocks[]: device-accessible
 * addresses (device memory, the exported pool, or mapped pinned host
 * memory).  pages and blocks are host arrays, copied into the launch
 * parameters.  Enqueued on stream (a cudaStream_t); returns a cudaError_t
 * (0 = enqueued).  Arguments are not checked here: tier_kv_check_args first.
 */
int tier_kv_cuda_gather(const struct tier_kv_plan *p, const struct tier_kv_layer *dev_layers,
			const uint32_t *pages, void *const *blocks, size_t nblocks,
			uint32_t l0, uint32_t l1, void *stream);
int tier_kv_cuda_scatter(const struct tier_kv_plan *p, const struct tier_kv_layer *dev_layers,
			 const uint32_t *pages, void *const *blocks, size_t nblocks,
			 uint32_t l0, uint32_t l1, void *stream);

#ifdef __cplusplus
}
#endif

#endif
