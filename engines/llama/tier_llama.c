/* SPDX-License-Identifier: MIT */
/*
 * tier_llama.c — prompt-prefix KV of llama.cpp in tierd, block by block.
 *
 * llama.cpp exports and imports the KV state of a whole sequence only.  A
 * block goes out through a scratch sequence: llama_memory_seq_cp copies the
 * block's token range of sequence 0 into it (with kv_unified the cells are
 * shared, not copied), llama_state_seq_get_data serialises it straight into
 * tier_data() of a freshly allocated tierd block, the scratch is emptied, the
 * block committed with its parent.  A restore is the reverse:
 * llama_state_seq_set_data from the acquired block's bytes into the scratch
 * sequence (which empties it first), then seq_cp into sequence 0.  The bytes
 * go between llama.cpp and the shared-memory arena with no copy of ours.
 *
 * The serialised state is internal to llama.cpp (cell positions, per-layer K
 * and V rows), hence the llama.cpp version, KV types, block length and flash
 * attention (which decides whether V is stored transposed) in the namespace
 * name, beside a hash of the model file.  Every block carries a checksum over
 * its state bound to its key; one that fails is dropped from tierd and its
 * tokens computed.
 */
#include "tier_llama.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tier.h"

struct tier_llama {
	struct llama_context *ctx;
	llama_memory_t mem;
	llama_seq_id scratch;
	uint32_t n_tokens;      /* a block's */
	uint32_t n_batch, n_ubatch, n_ctx;
	size_t state_len;       /* llama_state_seq_get_size of one block, measured */
	size_t block_bytes;     /* header + state_len */
	bool no_cache;
	int stall_ms;
	char *socket;
	char ns_name[TIER_NAME_MAX + 1];

	tier_client *c;         /* NULL: not connected */
	bool ns_open;
	uint32_t ns;

	struct llama_batch batch;
	tier_key *keys;         /* per request, n_ctx / n_tokens */
	tier_handle *handles;
	size_t max_blocks;
	size_t save_from, save_to; /* blocks of the last prefill not saved yet */
	bool req_fb;               /* the last prefill fell back */

	bool logged[TIER_LLAMA_FB_COUNT];
	struct tier_llama_stats st;
};

static const char *const fb_names[TIER_LLAMA_FB_COUNT] = {
	[TIER_LLAMA_FB_CONNECT] = "connect",
	[TIER_LLAMA_FB_NAMESPACE] = "namespace",
	[TIER_LLAMA_FB_LOOKUP] = "lookup",
	[TIER_LLAMA_FB_BLOCK] = "block",
	[TIER_LLAMA_FB_SAVE] = "save",
};

const char *tier_llama_fallback_name(enum tier_llama_fallback f)
{
	return (unsigned)f < TIER_LLAMA_FB_COUNT ? fb_names[f] : "?";
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Count a fallback of kind f; the first of each kind is logged. */
static void fallback(struct tier_llama *t, enum tier_llama_fallback f, int err, const char *what)
{
	t->st.fallback[f]++;
	if (!t->logged[f]) {
		t->logged[f] = true;
		fprintf(stderr, "tier_llama: %s: %s (%s); computing instead (logged once)\n",
			fb_names[f], what, err ? tier_strerror(err) : "bad block");
	}
}

/* A daemon that went away: forget the connection, reconnect next request. */
static void lost(struct tier_llama *t, int r)
{
	if (r == -ECONNRESET || r == -EPIPE || r == -ENOTCONN) {
		tier_close(t->c);
		t->c = NULL;
		t->ns_open = false;
	}
}

/* Connected with the namespace open, or false (counted). */
static bool ensure_ns(struct tier_llama *t)
{
	int r;

	if (t->no_cache)
		return false;
	if (!t->c) {
		r = tier_connect(t->socket, &t->c);
		if (r < 0) {
			t->c = NULL;
			fallback(t, TIER_LLAMA_FB_CONNECT, r, "tier_connect");
			return false;
		}
	}
	if (!t->ns_open) {
		r = tier_namespace(t->c, t->ns_name, t->block_bytes, &t->ns);
		if (r < 0) {
			fallback(t, r == -ECONNRESET ? TIER_LLAMA_FB_CONNECT : TIER_LLAMA_FB_NAMESPACE, r,
				 t->ns_name);
			lost(t, r);
			return false;
		}
		t->ns_open = true;
	}
	return true;
}

/* The 64-bit XXH3 of the model file, through tier_key_next (libtier's XXH3-128). */
static int model_hash(const char *path, uint64_t *ret)
{
	struct stat sb;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -EIO;
	if (fstat(fd, &sb) < 0 || sb.st_size == 0) {
		close(fd);
		return -EIO;
	}
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -EIO;
	*ret = tier_key_next(TIER_KEY_ROOT, p, (size_t)sb.st_size).lo;
	munmap(p, (size_t)sb.st_size);
	return 0;
}

/* Decode tokens[0..n) at positions pos0.. into seq; logits of the last only. */
static int decode(struct tier_llama *t, const llama_token *tokens, size_t n, llama_pos pos0,
		  llama_seq_id seq)
{
	for (size_t done = 0; done < n;) {
		size_t m = n - done < t->n_batch ? n - done : t->n_batch;

		t->batch.n_tokens = (int32_t)m;
		for (size_t i = 0; i < m; i++) {
			t->batch.token[i] = tokens[done + i];
			t->batch.pos[i] = pos0 + (llama_pos)(done + i);
			t->batch.n_seq_id[i] = 1;
			t->batch.seq_id[i][0] = seq;
			t->batch.logits[i] = done + i == n - 1;
		}
		if (llama_decode(t->ctx, t->batch) != 0)
			return -EIO;
		done += m;
	}
	return 0;
}

/* One block's state size: decode a block of tokens into the scratch and ask. */
static int measure(struct tier_llama *t)
{
	llama_token *tok = calloc(t->n_tokens, sizeof(*tok));
	int r;

	if (!tok)
		return -ENOMEM;
	llama_memory_clear(t->mem, true);
	r = decode(t, tok, t->n_tokens, 0, t->scratch);
	free(tok);
	if (r < 0)
		return r;
	t->state_len = llama_state_seq_get_size(t->ctx, t->scratch);
	llama_memory_clear(t->mem, true);
	if (t->state_len == 0)
		return -EIO;
	t->block_bytes = sizeof(struct tier_llama_block_hdr) + t->state_len;
	return 0;
}

static const char *kv_type_name(enum ggml_type ty)
{
	return ggml_type_name(ty);
}

int tier_llama_new(struct llama_context *ctx, const struct tier_llama_opts *opts,
		   struct tier_llama **ret)
{
	const struct llama_context_params *cp;
	struct tier_llama *t;
	uint64_t mh;
	int r;

	if (!ctx || !opts || opts->size < sizeof(*opts) || !opts->cparams || !opts->model_path ||
	    !ret)
		return -EINVAL;
	cp = opts->cparams;
	if (!cp->kv_unified || llama_n_seq_max(ctx) < 2 ||
	    cp->flash_attn_type == LLAMA_FLASH_ATTN_TYPE_AUTO)
		return -EINVAL;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ctx = ctx;
	t->mem = llama_get_memory(ctx);
	t->scratch = (llama_seq_id)llama_n_seq_max(ctx) - 1;
	t->n_tokens = opts->block_tokens ? opts->block_tokens : TIER_LLAMA_DEFAULT_BLOCK_TOKENS;
	t->n_batch = llama_n_batch(ctx);
	t->n_ubatch = llama_n_ubatch(ctx);
	t->n_ctx = llama_n_ctx(ctx);
	t->no_cache = opts->no_cache != 0;
	t->stall_ms = opts->stall_after_acquire_ms;
	r = -EINVAL;
	if (t->n_tokens > t->n_ctx)
		goto fail;
	r = -ENOMEM;
	if (opts->socket && !(t->socket = strdup(opts->socket)))
		goto fail;
	t->max_blocks = t->n_ctx / t->n_tokens + 1;
	t->keys = calloc(t->max_blocks, sizeof(*t->keys));
	t->handles = calloc(t->max_blocks, sizeof(*t->handles));
	if (!t->keys || !t->handles)
		goto fail;
	t->batch = llama_batch_init((int32_t)t->n_batch, 0, 1);

	r = model_hash(opts->model_path, &mh);
	if (r < 0)
		goto fail;
	r = measure(t);
	if (r < 0)
		goto fail;
	snprintf(t->ns_name, sizeof(t->ns_name), "llama-%s-%016llx-%s%s-n%u-fa%d",
		 TIER_LLAMA_LLAMA_VERSION, (unsigned long long)mh, kv_type_name(cp->type_k),
		 kv_type_name(cp->type_v), t->n_tokens,
		 cp->flash_attn_type == LLAMA_FLASH_ATTN_TYPE_ENABLED);
	if (!t->no_cache)
		(void)ensure_ns(t); /* no daemon yet is not an error */
	*ret = t;
	return 0;
fail:
	tier_llama_free(t);
	return r;
}

void tier_llama_free(struct tier_llama *t)
{
	if (!t)
		return;
	tier_close(t->c);
	if (t->batch.token)
		llama_batch_free(t->batch);
	free(t->keys);
	free(t->handles);
	free(t->socket);
	free(t);
}

static void chain_keys(struct tier_llama *t, const llama_token *tokens, size_t nblocks)
{
	tier_key parent = TIER_KEY_ROOT;

	for (size_t i = 0; i < nblocks; i++) {
		t->keys[i] = tier_key_next(parent, tokens + i * t->n_tokens,
					   t->n_tokens * sizeof(*tokens));
		parent = t->keys[i];
	}
}

static tier_key block_check(tier_key key, const void *state, size_t len)
{
	return tier_key_next(key, state, len);
}

/* Restore block i from its acquired bytes p into sequence 0; false: not restored. */
static bool restore_block(struct tier_llama *t, size_t i, const uint8_t *p)
{
	struct tier_llama_block_hdr h;
	tier_key chk;
	bool ok;

	memcpy(&h, p, sizeof(h));
	if (h.magic != TIER_LLAMA_BLOCK_MAGIC || h.tokens != t->n_tokens || h.state_len == 0 ||
	    h.state_len > t->state_len)
		return false;
	chk = block_check(t->keys[i], p + sizeof(h), h.state_len);
	if (chk.hi != h.check_hi || chk.lo != h.check_lo)
		return false;
	ok = llama_state_seq_set_data(t->ctx, p + sizeof(h), h.state_len, t->scratch) ==
	     h.state_len;
	/* The block must hold exactly its own token range, nothing else. */
	ok = ok && llama_memory_seq_pos_min(t->mem, t->scratch) == (llama_pos)(i * t->n_tokens) &&
	     llama_memory_seq_pos_max(t->mem, t->scratch) == (llama_pos)((i + 1) * t->n_tokens - 1);
	if (ok)
		llama_memory_seq_cp(t->mem, t->scratch, 0, -1, -1);
	llama_memory_seq_rm(t->mem, t->scratch, -1, -1);
	return ok;
}

/* Restore the longest cached prefix of at most usable blocks: how many were restored. */
static size_t restore(struct tier_llama *t, size_t usable, bool *fb)
{
	size_t got = 0, ok = 0;
	int r;

	if (usable == 0 || !ensure_ns(t)) {
		*fb = usable > 0 && !t->no_cache;
		return 0;
	}
	r = tier_lookup(t->c, t->ns, t->keys, usable);
	if (r > 0)
		r = tier_acquire_many(t->c, t->ns, t->keys, (size_t)r, t->handles);
	if (r < 0) {
		fallback(t, r == -ECONNRESET ? TIER_LLAMA_FB_CONNECT : TIER_LLAMA_FB_LOOKUP, r,
			 "lookup/acquire");
		lost(t, r);
		*fb = true;
		return 0;
	}
	got = (size_t)r;
	if (got && t->stall_ms > 0)
		usleep((useconds_t)t->stall_ms * 1000);
	for (; ok < got; ok++) {
		const uint8_t *p = tier_data(t->c, t->handles[ok]);

		if (!p || !restore_block(t, ok, p)) {
			fallback(t, TIER_LLAMA_FB_BLOCK, 0, "a block did not verify or restore");
			*fb = true;
			/* Let a good copy replace it: the next save of this prefix recomputes it. */
			if (p)
				(void)tier_drop(t->c, t->ns, t->keys[ok]);
			break;
		}
		t->st.restored_bytes += t->block_bytes;
	}
	if (ok < got) /* what was restored of this prefix stays; the rest is computed */
		llama_memory_seq_rm(t->mem, 0, (llama_pos)(ok * t->n_tokens), -1);
	r = tier_release_many(t->c, t->handles, got);
	if (r < 0) {
		/* The bytes were read from our mapping of the arena and checked: keep them. */
		fallback(t, TIER_LLAMA_FB_CONNECT, r, "release");
		lost(t, r);
		*fb = true;
	}
	t->st.restored_blocks += ok;
	return ok;
}

/* Save blocks [from, to) of sequence 0: how many were committed. */
static uint32_t save(struct tier_llama *t, size_t from, size_t to, bool *fb)
{
	uint32_t saved = 0;

	if (from >= to || !ensure_ns(t)) {
		*fb = *fb || (from < to && !t->no_cache);
		return 0;
	}
	for (size_t i = from; i < to; i++) {
		struct tier_llama_block_hdr h = {TIER_LLAMA_BLOCK_MAGIC, t->n_tokens, 0, 0, 0};
		tier_key chk, parent = i ? t->keys[i - 1] : TIER_KEY_ROOT;
		tier_handle bh;
		uint8_t *p;
		size_t n;
		int r = tier_alloc(t->c, t->ns, &bh);

		if (r < 0) {
			fallback(t, r == -ECONNRESET ? TIER_LLAMA_FB_CONNECT : TIER_LLAMA_FB_SAVE, r,
				 "tier_alloc");
			lost(t, r);
			*fb = true;
			break;
		}
		p = tier_data(t->c, bh);
		llama_memory_seq_cp(t->mem, 0, t->scratch, (llama_pos)(i * t->n_tokens),
				    (llama_pos)((i + 1) * t->n_tokens));
		n = p ? llama_state_seq_get_data(t->ctx, p + sizeof(h), t->state_len, t->scratch) : 0;
		llama_memory_seq_rm(t->mem, t->scratch, -1, -1);
		if (n == 0) {
			/* libtier has no call to abandon a writing block: publish it under a
			 * key no prompt has (its header does not verify anyway) and drop it. */
			tier_key junk = tier_key_next(t->keys[i], "abandoned", 9);

			if (p)
				memset(p, 0, sizeof(h));
			if (tier_commit(t->c, bh, junk) == 0)
				(void)tier_drop(t->c, t->ns, junk);
			fallback(t, TIER_LLAMA_FB_SAVE, 0, "llama_state_seq_get_data");
			*fb = true;
			break;
		}
		h.state_len = n;
		chk = block_check(t->keys[i], p + sizeof(h), n);
		h.check_hi = chk.hi;
		h.check_lo = chk.lo;
		memcpy(p, &h, sizeof(h));
		r = tier_commit_chain(t->c, bh, parent, t->keys[i]);
		if (r == 0) {
			saved++;
			t->st.saved_bytes += t->block_bytes;
		} else if (r != -EEXIST) {
			fallback(t, r == -ECONNRESET ? TIER_LLAMA_FB_CONNECT : TIER_LLAMA_FB_SAVE, r,
				 "tier_commit_chain");
			lost(t, r);
			*fb = true;
			break;
		}
	}
	t->st.saved_blocks += saved;
	return saved;
}

int tier_llama_compute(struct tier_llama *t, const llama_token *tokens, size_t n)
{
	if (n == 0 || n > t->n_ctx)
		return -EINVAL;
	llama_memory_clear(t->mem, true);
	return decode(t, tokens, n, 0, 0);
}

int tier_llama_prefill(struct tier_llama *t, const llama_token *tokens, size_t n,
		       struct tier_llama_result *ret)
{
	struct tier_llama_result res = {0};
	size_t usable, restored;
	bool fb = false;
	double t0, t1, t2;
	int r;

	if (!t || n == 0 || n > t->n_ctx || !tokens)
		return -EINVAL;
	t->st.requests++;
	t->save_from = t->save_to = 0;
	llama_memory_clear(t->mem, true);
	usable = n / t->n_tokens;
	chain_keys(t, tokens, usable);

	t0 = now_s();
	restored = restore(t, usable, &fb) * t->n_tokens;
	/* At least one token is computed, for its logits: a prompt that is all
	 * cached gives its last token back and decodes it again. */
	if (restored == n)
		restored = n - 1;
	/* llama.cpp decodes a lone token with other kernels (matrix-vector) than a
	 * ubatch of several, and their float sums differ in the last bits: never
	 * decode a tail of one token where a recompute would not (its last ubatch
	 * holds one token only when n % n_ubatch == 1).  Give one more back. */
	if (restored > 0 && n - restored == 1 && n % t->n_ubatch != 1)
		restored--;
	llama_memory_seq_rm(t->mem, 0, (llama_pos)restored, -1);
	t1 = now_s();
	r = decode(t, tokens + restored, n - restored, (llama_pos)restored, 0);
	t2 = now_s();
	if (r < 0)
		return r;
	t->save_from = (restored + t->n_tokens - 1) / t->n_tokens;
	t->save_to = usable;
	t->req_fb = fb;

	res.prompt_tokens = (uint32_t)n;
	res.restored_tokens = (uint32_t)restored;
	res.computed_tokens = (uint32_t)(n - restored);
	res.fallback = fb;
	res.restore_s = t1 - t0;
	res.compute_s = t2 - t1;
	t->st.restore_s += res.restore_s;
	if (ret)
		*ret = res;
	return 0;
}

int tier_llama_save(struct tier_llama *t, struct tier_llama_result *ret)
{
	double t0 = now_s();
	bool fb = false;
	uint32_t saved = save(t, t->save_from, t->save_to, &fb);

	t->save_from = t->save_to = 0;
	t->st.fallbacks += fb || t->req_fb;
	t->req_fb = false;
	if (ret) {
		ret->saved_blocks = saved;
		ret->fallback = ret->fallback || fb;
		ret->save_s = now_s() - t0;
	}
	return (int)saved;
}

const char *tier_llama_namespace(const struct tier_llama *t)
{
	return t->ns_name;
}

size_t tier_llama_block_bytes(const struct tier_llama *t)
{
	return t->block_bytes;
}

void tier_llama_stats(const struct tier_llama *t, struct tier_llama_stats *out)
{
	*out = t->st;
}
