/* SPDX-License-Identifier: MIT */
/*
 * libtier's GPU helpers: save an engine's paged KV cache into tierd blocks
 * and load it back, on the engine's own CUDA stream, whole or layer by layer.
 *
 * Installed next to tier.h; part of libtier (symbol node LIBTIER_0.2).  The
 * header needs no CUDA headers: streams are passed as void * (a cudaStream_t
 * in CUDA mode, a tier_emu_stream * or NULL in emu mode).
 *
 * ---- KV layout ---------------------------------------------------------
 *
 * TIER_KV_PAGED (vLLM style): per layer l a K base and a V base pointer;
 * page p of layer l's K starts at k_base[l] + p * page_stride[l] and holds
 * page_tokens tokens of bytes_per_token[l] bytes each, token after token.
 * page_stride NULL means page_tokens * bytes_per_token[l] (K and V in two
 * separate tensors, vLLM's kv_cache[0]/kv_cache[1]); a larger stride
 * describes K and V interleaved per page (FlashInfer's [pages][2][...]).
 *
 * TIER_KV_LAYER_FIRST (SGLang style): one K tensor and one V tensor for all
 * layers, [num_layers][num_pages * page_tokens][token_bytes], contiguous;
 * every layer has token_bytes bytes per token.
 *
 * ---- Block format ------------------------------------------------------
 *
 * A block holds block_tokens consecutive tokens (block_tokens a multiple of
 * page_tokens, so a block is pages_per_block = block_tokens / page_tokens
 * whole pages) of every layer, layer-major:
 *
 *     for l in 0 .. num_layers-1:
 *         K of layer l: block_tokens tokens x bytes_per_token[l] bytes, in token order
 *         V of layer l: block_tokens tokens x bytes_per_token[l] bytes, in token order
 *
 * Layer l starts at offset sum_{j<l} 2 * block_tokens * bytes_per_token[j];
 * the block is 2 * block_tokens * sum_l bytes_per_token[l] bytes, with no
 * header and no padding (tier_kv_block_bytes; the namespace's block size).
 * A token's bytes are copied verbatim (no dtype knowledge), so the format is
 * the same for fp16, bf16 or fp8 caches; with 16-byte multiples everywhere
 * the kernels use 16-byte accesses.  Layer-major means the layers [l0, l1)
 * of a block are one contiguous byte range: a layer-wise load moves exactly
 * that range.
 *
 * ---- Ownership and completion -----------------------------------------
 *
 * pages[] arrays are nblocks * pages_per_block page ids (uint32), block b's
 * pages in token order; the helpers copy what they need before returning.
 * A block is committed only after the stream has finished writing it, and a
 * pin is released only after the stream has finished reading it.
 *
 * Errors: negative errno, as in tier.h.  -EINVAL bad layout or arguments,
 * -ENODEV CUDA asked for and not usable, -EIO a CUDA call failed.
 */
#ifndef TIER_CUDA_H
#define TIER_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "tier.h"

#ifdef __cplusplus
extern "C" {
#endif

enum tier_kv_kind {
	TIER_KV_PAGED = 0,
	TIER_KV_LAYER_FIRST = 1,
};

#define TIER_KV_MAX_LAYERS 1024

struct tier_kv_layout {
	uint32_t size;          /* sizeof(struct tier_kv_layout) */
	uint32_t kind;          /* enum tier_kv_kind */
	uint32_t num_layers;    /* 1 .. TIER_KV_MAX_LAYERS */
	uint32_t num_pages;     /* pages per layer in the engine's cache */
	uint32_t page_tokens;   /* tokens per page (vLLM block_size) */
	uint32_t block_tokens;  /* tokens per tierd block, a multiple of page_tokens */
	/* TIER_KV_PAGED: arrays of num_layers entries */
	void *const *k_base;
	void *const *v_base;
	const uint64_t *bytes_per_token;
	const uint64_t *page_stride;    /* NULL: page_tokens * bytes_per_token[l] */
	/* TIER_KV_LAYER_FIRST */
	void *k_all, *v_all;
	uint64_t token_bytes;
};

/* Bytes of one block of this layout; 0 when the layout is invalid. */
uint64_t tier_kv_block_bytes(const struct tier_kv_layout *layout);

/* ---- emulated streams (no GPU) ---------------------------------------- */

/*
 * A deterministic stand-in for a CUDA stream: work enqueued on it runs in
 * order, later — when the stream is synchronised, or when a stream waiting
 * on one of its events needs it.  What tier_cuda does in emu mode on a
 * tier_emu_stream is what it does on a cudaStream_t in CUDA mode.
 */
typedef struct tier_emu_stream tier_emu_stream;

int tier_emu_stream_new(tier_emu_stream **ret);
/* Runs what is still queued, then frees.  NULL is a no-op. */
void tier_emu_stream_free(tier_emu_stream *s);
/* Enqueue fn(arg) (an "engine kernel"); runs in order with the rest. */
int tier_emu_stream_launch(tier_emu_stream *s, void (*fn)(void *arg), void *arg);
/* Run everything queued. */
void tier_emu_stream_synchronize(tier_emu_stream *s);
/* Work items queued and not run yet. */
size_t tier_emu_stream_pending(const tier_emu_stream *s);

/* ---- the helper context ----------------------------------------------- */

typedef struct tier_cuda tier_cuda;
typedef struct tier_cuda_op tier_cuda_op;

enum tier_cuda_mode {
	TIER_CUDA_AUTO = 0,     /* CUDA when a GPU is usable, else emu */
	TIER_CUDA_GPU = 1,      /* CUDA or -ENODEV */
	TIER_CUDA_EMU = 2,      /* host memory: pages are host addresses */
};

/* Kernels read and write the registered host arena directly (zero-copy)
 * instead of staging blocks in device memory; CUDA mode only. */
#define TIER_CUDA_DIRECT (1u << 0)

struct tier_cuda_opts {
	uint32_t size;          /* sizeof(struct tier_cuda_opts) */
	uint32_t mode;          /* enum tier_cuda_mode */
	int device;             /* CUDA device ordinal of the KV cache */
	uint32_t flags;         /* TIER_CUDA_DIRECT */
	uint64_t staging_bytes; /* device staging per call, 0: 64 MiB (staged mode) */
};

/*
 * A helper for namespace ns_name of client c, whose block size is
 * tier_kv_block_bytes(layout) (the namespace is opened, or created, with it).
 * The layout's arrays are copied; the engine's KV memory must stay where it
 * is.  opts may be NULL (AUTO, device 0).  c must outlive the helper.
 * -EINVAL bad layout, -ENODEV mode GPU and no usable GPU, and tier_namespace's errors.
 */
int tier_cuda_new(tier_client *c, const char *ns_name, const struct tier_kv_layout *layout,
		  const struct tier_cuda_opts *opts, tier_cuda **ret);
/* Free (ops still open are ended first).  NULL is a no-op. */
void tier_cuda_free(tier_cuda *tc);
/* The mode chosen (TIER_CUDA_GPU or TIER_CUDA_EMU) and, for AUTO, why. */
int tier_cuda_mode(const tier_cuda *tc, const char **why);
/* The namespace id. */
uint32_t tier_cuda_ns(const tier_cuda *tc);

/*
 * Save nblocks blocks: gather every layer of block b's pages into a block
 * allocated in the host arena (one kernel launch for many blocks, on
 * stream, after whatever the stream has queued), wait for the stream to
 * finish those copies, and commit block b under keys[b].  Returns nblocks:
 * a key that is already cached counts as saved (first writer wins).
 */
int tier_cuda_save(tier_cuda *tc, const tier_key *keys, const uint32_t *pages, size_t nblocks,
		   void *stream);

/*
 * Load the longest cached prefix of keys[0..nblocks): acquire (pin) those
 * blocks, scatter them into their pages on stream, wait until the stream
 * has read them, release the pins.  Returns how many blocks were loaded
 * (0 .. nblocks); the pages of the blocks beyond are untouched.
 */
int tier_cuda_load(tier_cuda *tc, const tier_key *keys, const uint32_t *pages, size_t nblocks,
		   void *stream);

/*
 * Layer by layer, so layer i+1 moves while layer i computes:
 *
 *   n = tier_cuda_load_begin(tc, keys, pages, nblocks, &op);   pins the prefix
 *   for each layer i:
 *       tier_cuda_load_layer(op, i, load_stream);      scatter layer i; records event i
 *       tier_cuda_wait_layer(op, i, compute_stream);   compute waits for event i only
 *       ... attention of layer i on compute_stream ...
 *   tier_cuda_op_end(op);                               waits, releases the pins
 *
 * Saving mirrors it: tier_cuda_save_begin allocates the blocks,
 * tier_cuda_save_layer(op, i, stream) gathers layer i after what the stream
 * has queued (the layer's KV), and tier_cuda_op_end waits and commits them
 * all — or, if some layer was never saved, discards them (returns -EINVAL).
 *
 * Layers must be moved in order 0, 1, ..., num_layers-1: -EINVAL otherwise
 * (or when waiting for a layer not yet moved).  begin returns the number of
 * blocks the op covers (load: the cached prefix; save: nblocks).
 * op_end returns that number, or a negative errno.
 */
int tier_cuda_load_begin(tier_cuda *tc, const tier_key *keys, const uint32_t *pages,
			 size_t nblocks, tier_cuda_op **ret);
int tier_cuda_load_layer(tier_cuda_op *op, uint32_t layer, void *stream);
int tier_cuda_save_begin(tier_cuda *tc, const tier_key *keys, const uint32_t *pages,
			 size_t nblocks, tier_cuda_op **ret);
int tier_cuda_save_layer(tier_cuda_op *op, uint32_t layer, void *stream);
/* Make stream wait (without blocking the host) until layer has been moved;
 * stream NULL: the host waits. */
int tier_cuda_wait_layer(tier_cuda_op *op, uint32_t layer, void *stream);
int tier_cuda_op_end(tier_cuda_op *op);

/*
 * The raw copies, for blocks that are not in the host arena — e.g. a block
 * in tierd's device pool (T0), at pool base + offset once the pool is
 * mapped.  blocks[b] is a device-accessible address of block b (in emu mode
 * a host address) pointing at layer l0's part of the block; layers [l0, l1).
 * Enqueued on stream; nothing waits.
 */
int tier_cuda_gather(tier_cuda *tc, const uint32_t *pages, void *const *blocks, size_t nblocks,
		     uint32_t l0, uint32_t l1, void *stream);
int tier_cuda_scatter(tier_cuda *tc, const uint32_t *pages, void *const *blocks, size_t nblocks,
		      uint32_t l0, uint32_t l1, void *stream);

#ifdef __cplusplus
}
#endif

#endif
