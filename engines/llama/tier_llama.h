/* SPDX-License-Identifier: MIT */
/*
 * tier_llama — llama.cpp keeps its prompt-prefix KV cache in tierd.
 *
 * An adapter an engine links beside libtier, on llama.cpp's public API
 * (llama.h) and libtier's (tier.h) only.  A prompt is cut into blocks of
 * block_tokens token ids; block i's key is the tier_key_next chain over the
 * token ids of blocks 0..i from TIER_KEY_ROOT, so an equal key means an equal
 * whole prefix.  One tierd block holds the KV state llama.cpp exports for the
 * block's token range of one sequence (llama_state_seq_get_data), behind a
 * small header with its length and a checksum bound to the key.
 *
 * tier_llama_prefill() is a request's prompt phase: restore the longest cached
 * prefix (always leaving at least one token to compute, for its logits: a
 * prompt cached whole has its last token removed again and decoded),
 * decode the rest, save the new full blocks.  Whatever goes wrong on the tierd
 * side (no daemon, a daemon restarted or killed, -ENOSPC, a block that does
 * not verify or restore, a namespace with another block size) falls back to
 * computing: the answer is the same as without the cache, the request never
 * fails because of it, and the fallback is counted (and logged once per kind).
 *
 * The context must have kv_unified = true and n_seq_max >= 2: the last
 * sequence id (n_seq_max - 1) is the adapter's scratch sequence, prompts go
 * to sequence 0.  Not thread-safe: one tier_llama per context and thread.
 */
#ifndef TIER_LLAMA_H
#define TIER_LLAMA_H

#include <stddef.h>
#include <stdint.h>

#include <llama.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TIER_LLAMA_DEFAULT_BLOCK_TOKENS 256

/* The llama.cpp release these binaries are (part of every namespace name). */
#define TIER_LLAMA_LLAMA_VERSION "v0.4.0"

struct tier_llama_opts {
	uint32_t size;          /* sizeof(struct tier_llama_opts) */
	uint32_t block_tokens;  /* tokens a block; 0: TIER_LLAMA_DEFAULT_BLOCK_TOKENS */
	const char *socket;     /* tierd's socket; NULL: $TIER_SOCKET or the default */
	const char *model_path; /* the GGUF file: its bytes' hash names the namespace */
	/* The parameters the context was made with (checked, and named in the
	 * namespace: KV types, flash attention). */
	const struct llama_context_params *cparams;
	int no_cache;           /* 1: never talk to tierd (the baseline) */
	int stall_after_acquire_ms; /* test seam: sleep with the blocks pinned */
};

enum tier_llama_fallback {
	TIER_LLAMA_FB_CONNECT = 0, /* no daemon, or it went away */
	TIER_LLAMA_FB_NAMESPACE,   /* tier_namespace refused (e.g. another block size) */
	TIER_LLAMA_FB_LOOKUP,      /* lookup or acquire failed */
	TIER_LLAMA_FB_BLOCK,       /* a block did not verify or did not restore */
	TIER_LLAMA_FB_SAVE,        /* a block could not be saved (-ENOSPC, ...) */
	TIER_LLAMA_FB_COUNT,
};

struct tier_llama_stats {
	uint64_t requests;
	uint64_t restored_blocks, restored_bytes, saved_blocks, saved_bytes;
	uint64_t fallbacks;                        /* requests that fell back (any kind) */
	uint64_t fallback[TIER_LLAMA_FB_COUNT];    /* events by kind */
	double restore_s;                          /* time in restores (acquire to release) */
};

/* One request's prompt phase. */
struct tier_llama_result {
	uint32_t prompt_tokens;
	uint32_t restored_tokens;
	uint32_t computed_tokens;
	uint32_t saved_blocks;
	int fallback;        /* 1: something on the tierd side failed (answer unaffected) */
	double restore_s;    /* lookup + acquire + restore + release */
	double compute_s;    /* decoding the tokens not restored */
	double save_s;       /* exporting and committing the new blocks */
};

struct tier_llama;

/*
 * Attach to ctx (made from model with opts->cparams).  Measures the block
 * size (one block of tokens is decoded into the scratch sequence and
 * llama_state_seq_get_size read) and connects to tierd; a daemon that is not
 * there is not an error (requests compute until one is).
 * Errors: -EINVAL (bad options, n_seq_max < 2, kv_unified off, flash
 * attention left on auto, block_tokens above the context), -EIO (the model
 * file cannot be read, the size measurement failed), -ENOMEM.
 */
int tier_llama_new(struct llama_context *ctx, const struct tier_llama_opts *opts,
		   struct tier_llama **ret);

/*
 * Clear sequence 0, restore the longest cached prefix of tokens[0..n) and
 * decode the rest.  On return the logits of the last token are
 * llama_get_logits_ith(ctx, -1): the first token can be sampled, then
 * tier_llama_save() called.  ret may be NULL.  Errors: -EINVAL (n == 0 or
 * over the context), -EIO (llama_decode failed: a model problem, never a
 * cache one).
 */
int tier_llama_prefill(struct tier_llama *t, const llama_token *tokens, size_t n,
		       struct tier_llama_result *ret);

/*
 * Save the full blocks the last prefill computed (those tierd did not
 * have); -EEXIST from another writer of the same prefix is not a failure.
 * Leaves the sequence and its logits as they were.  Fills ret's
 * saved_blocks, save_s and fallback.  Returns the number of blocks saved.
 */
int tier_llama_save(struct tier_llama *t, struct tier_llama_result *ret);

/* Decode tokens[0..n) into an emptied sequence 0, no cache (the reference). */
int tier_llama_compute(struct tier_llama *t, const llama_token *tokens, size_t n);

/* The namespace name (model hash, KV types, block tokens, flash attention, version). */
const char *tier_llama_namespace(const struct tier_llama *t);
/* Bytes of one tierd block (the measured state size plus the header). */
size_t tier_llama_block_bytes(const struct tier_llama *t);
void tier_llama_stats(const struct tier_llama *t, struct tier_llama_stats *out);
/* The name of a fallback kind ("connect", "namespace", ...). */
const char *tier_llama_fallback_name(enum tier_llama_fallback f);

/*
 * The header in front of the state bytes in a block.  check is
 * tier_key_next(key, state, state_len): a block written under another key,
 * or whose bytes changed, does not verify.
 */
#define TIER_LLAMA_BLOCK_MAGIC 0x314b4c54u /* "TLK1" */
struct tier_llama_block_hdr {
	uint32_t magic;
	uint32_t tokens;
	uint64_t state_len;
	uint64_t check_hi, check_lo;
};

void tier_llama_free(struct tier_llama *t);

#ifdef __cplusplus
}
#endif

#endif
