/* SPDX-License-Identifier: MIT */
/*
 * Gather (pages -> blocks) and scatter (blocks -> pages) on the GPU.
 *
 * One launch moves every page-chunk (page_tokens tokens of one layer's K or
 * V) of up to KV_LAUNCH_BLOCKS blocks: a vLLM cache with 16-token pages has
 * thousands of small chunks per request, and one cudaMemcpyAsync each would
 * be dominated by per-call overhead.  A CTA copies one chunk at a time
 * (grid-stride over chunks) with 16-byte accesses when source, destination
 * and length allow, else 8, else 1 — a per-chunk branch, uniform in the CTA.
 *
 * The block list and page ids travel in the kernel parameters (under the
 * 4 KiB limit every driver accepts), so a launch needs no argument upload
 * and no host memory that must outlive the call; the layer table is in
 * device memory.  Bytes are copied verbatim: bit-exact against kernels_ref.c.
 */
#include <cuda_runtime.h>
#include <stdint.h>

#include "kernels.h"

#define KV_LAUNCH_BLOCKS 64
#define KV_LAUNCH_PAGES 880
#define KV_THREADS 256

struct kv_launch {
	const struct tier_kv_layer *layers;
	uint32_t l0, nl, ppb, page_tokens, block_tokens, nblocks;
	uint32_t scatter, pad;
	uint64_t blocks[KV_LAUNCH_BLOCKS];
	uint32_t pages[KV_LAUNCH_PAGES];
};

static_assert(sizeof(struct kv_launch) <= 4096, "kernel parameters over 4 KiB");

template <typename T>
__device__ static void copy_chunk(uint8_t *dst, const uint8_t *src, uint64_t len)
{
	T *d = reinterpret_cast<T *>(dst);
	const T *s = reinterpret_cast<const T *>(src);
	uint64_t n = len / sizeof(T);

	for (uint64_t i = threadIdx.x; i < n; i += blockDim.x)
		d[i] = s[i];
}

__global__ static void kv_copy_kernel(const struct kv_launch a)
{
	uint64_t units = (uint64_t)a.nblocks * a.nl * 2 * a.ppb;
	uint64_t l0_off = a.layers[a.l0].block_off;

	for (uint64_t u = blockIdx.x; u < units; u += gridDim.x) {
		uint32_t j = u % a.ppb;
		uint32_t kv = (u / a.ppb) % 2;
		uint32_t l = a.l0 + (uint32_t)((u / (2ull * a.ppb)) % a.nl);
		uint32_t b = (uint32_t)(u / (2ull * a.ppb * a.nl));
		const struct tier_kv_layer ly = a.layers[l];
		uint64_t chunk = ly.token_bytes * a.page_tokens;
		uint8_t *page = (uint8_t *)(uintptr_t)((kv ? ly.v : ly.k) +
			(uint64_t)a.pages[b * a.ppb + j] * ly.page_stride);
		uint8_t *blk = (uint8_t *)(uintptr_t)(a.blocks[b] - l0_off + ly.block_off +
			(uint64_t)kv * a.block_tokens * ly.token_bytes + (uint64_t)j * chunk);
		uint8_t *dst = a.scatter ? page : blk;
		const uint8_t *src = a.scatter ? blk : page;
		uintptr_t align = (uintptr_t)dst | (uintptr_t)src | (uintptr_t)chunk;

		if ((align & 15) == 0)
			copy_chunk<uint4>(dst, src, chunk);
		else if ((align & 7) == 0)
			copy_chunk<uint64_t>(dst, src, chunk);
		else
			copy_chunk<uint8_t>(dst, src, chunk);
	}
}

static int kv_launch_all(const struct tier_kv_plan *p, const struct tier_kv_layer *dev_layers,
			 const uint32_t *pages, void *const *blocks, size_t nblocks,
			 uint32_t l0, uint32_t l1, void *stream, int scatter)
{
	struct kv_launch a;
	uint32_t per = KV_LAUNCH_PAGES / p->pages_per_block;

	if (per > KV_LAUNCH_BLOCKS)
		per = KV_LAUNCH_BLOCKS;
	if (per == 0)
		return (int)cudaErrorInvalidValue; /* over 880 pages per block */
	a.layers = dev_layers;
	a.l0 = l0;
	a.nl = l1 - l0;
	a.ppb = p->pages_per_block;
	a.page_tokens = p->page_tokens;
	a.block_tokens = p->block_tokens;
	a.scatter = scatter;
	a.pad = 0;
	for (size_t b0 = 0; b0 < nblocks; b0 += per) {
		uint32_t n = (uint32_t)(nblocks - b0 < per ? nblocks - b0 : per);
		uint64_t units = (uint64_t)n * a.nl * 2 * a.ppb;
		/* Enough CTAs to fill the GPU; each loops when there are more chunks. */
		unsigned grid = (unsigned)(units < 65535 ? units : 65535);
		cudaError_t e;

		a.nblocks = n;
		for (uint32_t i = 0; i < n; i++)
			a.blocks[i] = (uint64_t)(uintptr_t)blocks[b0 + i];
		for (uint32_t i = 0; i < n * a.ppb; i++)
			a.pages[i] = pages[b0 * a.ppb + i];
		kv_copy_kernel<<<grid, KV_THREADS, 0, (cudaStream_t)stream>>>(a);
		e = cudaGetLastError();
		if (e != cudaSuccess)
			return (int)e;
	}
	return 0;
}

extern "C" int tier_kv_cuda_gather(const struct tier_kv_plan *p,
				   const struct tier_kv_layer *dev_layers, const uint32_t *pages,
				   void *const *blocks, size_t nblocks, uint32_t l0, uint32_t l1,
				   void *stream)
{
	return kv_launch_all(p, dev_layers, pages, blocks, nblocks, l0, l1, stream, 0);
}

extern "C" int tier_kv_cuda_scatter(const struct tier_kv_plan *p,
				    const struct tier_kv_layer *dev_layers, const uint32_t *pages,
				    void *const *blocks, size_t nblocks, uint32_t l0, uint32_t l1,
				    void *stream)
{
	return kv_launch_all(p, dev_layers, pages, blocks, nblocks, l0, l1, stream, 1);
}
