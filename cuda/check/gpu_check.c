/* SPDX-License-Identifier: MIT */
/*
 * tier-gpu-check: what tools/gpu-check runs on a machine with a GPU.  One
 * run, JSON on stdout, exit 0 only when every check passed:
 *
 *  1. kernels: gather/scatter on the GPU against the CPU reference, bit-exact,
 *     over random layouts (paged, K/V interleaved, layer-first; aligned and
 *     odd sizes; layer ranges);
 *  2. two processes: the CUDA back end's pool exported as a POSIX fd, sent
 *     over a socketpair, imported and mapped by a forked child (forked before
 *     this process touches CUDA), bytes checked both ways with async copies;
 *  3. bandwidth: cudaMemcpyAsync between pinned host memory and the device,
 *     one per block (the baseline), against block save/load (gather into
 *     device staging + one copy per block; and zero-copy "direct" kernels),
 *     for 2 and 4 MiB blocks; and the gather kernel against one
 *     cudaMemcpyAsync per page-chunk for 16-token pages;
 *  4. with --socket (a running tierd): tier_cuda_save/tier_cuda_load end to
 *     end through the daemon, same bytes, against the same baseline.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cuda_runtime_api.h>

#include "device.h"
#include "kernels.h"
#include "tier.h"
#include "tier_cuda.h"

static bool all_ok = true;

#define CK(call)                                                                          \
	do {                                                                              \
		cudaError_t e_ = (call);                                                  \
		if (e_ != cudaSuccess) {                                                  \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,      \
				cudaGetErrorString(e_));                                  \
			printf("{\"ok\": false, \"error\": \"%s failed: %s\"}\n", #call,   \
			       cudaGetErrorString(e_));                                   \
			exit(1);                                                          \
		}                                                                         \
	} while (0)

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* ---- 1. kernels against the reference --------------------------------- */

/* A layout over one buffer: host replica (h) and device copy (d) at equal offsets. */
struct tcache {
	struct tier_kv_layout hl, dl;
	void **hk, **hv, **dk, **dv;
	uint64_t *bpt, *stride;
	uint8_t *h, *d;
	size_t bytes;
};

static void tcache_init(struct tcache *c, uint64_t *s, int kind, bool odd, uint32_t layers,
			uint32_t pages, uint32_t page_tokens, uint32_t ppb)
{
	size_t off = 0;
	bool inter = kind == 2;

	memset(c, 0, sizeof(*c));
	c->hk = calloc(layers, sizeof(void *));
	c->hv = calloc(layers, sizeof(void *));
	c->dk = calloc(layers, sizeof(void *));
	c->dv = calloc(layers, sizeof(void *));
	c->bpt = calloc(layers, sizeof(uint64_t));
	c->stride = calloc(layers, sizeof(uint64_t));
	for (uint32_t l = 0; l < layers; l++) {
		c->bpt[l] = odd ? 1 + rnd(s) % 300 : 16 * (1 + rnd(s) % 64);
		if (kind == 1)
			c->bpt[l] = c->bpt[0];
		c->stride[l] = c->bpt[l] * page_tokens * (inter ? 2 : 1);
		c->bytes += (inter ? 1 : 2) * c->stride[l] * pages;
	}
	c->h = malloc(c->bytes);
	CK(cudaMalloc((void **)&c->d, c->bytes));
	for (size_t i = 0; i < c->bytes; i++)
		c->h[i] = (uint8_t)rnd(s);
	CK(cudaMemcpy(c->d, c->h, c->bytes, cudaMemcpyHostToDevice));
	for (uint32_t l = 0; l < layers; l++) {
		size_t voff = inter ? c->bpt[l] * page_tokens : c->stride[l] * pages;

		c->hk[l] = c->h + off, c->hv[l] = c->h + off + voff;
		c->dk[l] = c->d + off, c->dv[l] = c->d + off + voff;
		off += (inter ? 1 : 2) * c->stride[l] * pages;
	}
	c->hl = (struct tier_kv_layout){
		.size = sizeof(c->hl), .kind = kind == 1 ? TIER_KV_LAYER_FIRST : TIER_KV_PAGED,
		.num_layers = layers, .num_pages = pages, .page_tokens = page_tokens,
		.block_tokens = page_tokens * ppb,
	};
	c->dl = c->hl;
	if (kind == 1) {
		c->hl.k_all = c->h, c->hl.v_all = c->h + c->bytes / 2;
		c->dl.k_all = c->d, c->dl.v_all = c->d + c->bytes / 2;
		c->hl.token_bytes = c->dl.token_bytes = c->bpt[0];
	} else {
		c->hl.k_base = c->hk, c->hl.v_base = c->hv;
		c->dl.k_base = c->dk, c->dl.v_base = c->dv;
		c->hl.bytes_per_token = c->dl.bytes_per_token = c->bpt;
		c->hl.page_stride = c->dl.page_stride = inter ? c->stride : NULL;
	}
}

static void tcache_free(struct tcache *c)
{
	cudaFree(c->d);
	free(c->h), free(c->hk), free(c->hv), free(c->dk), free(c->dv), free(c->bpt),
		free(c->stride);
}

static struct tier_kv_layer *upload_layers(const struct tier_kv_plan *p)
{
	struct tier_kv_layer *d;
	size_t n = p->num_layers * sizeof(*d);

	CK(cudaMalloc((void **)&d, n));
	CK(cudaMemcpy(d, p->layers, n, cudaMemcpyHostToDevice));
	return d;
}

/* One random case: gather and scatter, whole and a layer range. */
static bool kernel_case(uint64_t seed)
{
	uint64_t s = seed;
	int kind = (int)(rnd(&s) % 3);
	bool odd = rnd(&s) % 4 == 0;
	uint32_t layers = 1 + rnd(&s) % 8, page_tokens = 1 + rnd(&s) % 32, ppb = 1 + rnd(&s) % 8;
	uint32_t pages = ppb * 80 + rnd(&s) % 50;
	size_t nblocks = 1 + rnd(&s) % 72; /* over one launch's 64 blocks sometimes */
	struct tcache c;
	struct tier_kv_plan hp, dp;
	struct tier_kv_layer *dlay;
	uint32_t *pg, l0, l1;
	uint8_t *hb, *db, *back;
	void **hblk, **dblk;
	uint64_t bb;
	bool ok = true;

	tcache_init(&c, &s, kind, odd, layers, pages, page_tokens, ppb);
	if (tier_kv_plan_init(&hp, &c.hl) < 0 || tier_kv_plan_init(&dp, &c.dl) < 0)
		return false;
	if (nblocks * ppb > pages)
		nblocks = pages / ppb;
	bb = hp.block_bytes;
	dlay = upload_layers(&dp);
	pg = calloc(nblocks * ppb, sizeof(uint32_t));
	/* distinct pages (a permutation prefix), so scatter targets do not overlap */
	{
		uint32_t *perm = malloc(pages * sizeof(uint32_t));

		for (uint32_t i = 0; i < pages; i++)
			perm[i] = i;
		for (uint32_t i = pages - 1; i > 0; i--) {
			uint32_t j = (uint32_t)(rnd(&s) % (i + 1)), t = perm[i];

			perm[i] = perm[j], perm[j] = t;
		}
		memcpy(pg, perm, nblocks * ppb * sizeof(uint32_t));
		free(perm);
	}
	hb = calloc(nblocks, bb);
	back = calloc(nblocks, bb);
	CK(cudaMalloc((void **)&db, nblocks * bb));
	hblk = calloc(nblocks, sizeof(void *));
	dblk = calloc(nblocks, sizeof(void *));

	for (int pass = 0; pass < 2 && ok; pass++) {
		l0 = pass ? (uint32_t)(rnd(&s) % layers) : 0;
		l1 = pass ? l0 + 1 + (uint32_t)(rnd(&s) % (layers - l0)) : layers;
		for (size_t b = 0; b < nblocks; b++) {
			hblk[b] = hb + b * bb + hp.layers[l0].block_off;
			dblk[b] = db + b * bb + dp.layers[l0].block_off;
		}
		/* gather */
		memset(hb, 0, nblocks * bb);
		CK(cudaMemset(db, 0, nblocks * bb));
		tier_kv_ref_gather(&hp, pg, hblk, nblocks, l0, l1);
		CK((cudaError_t)tier_kv_cuda_gather(&dp, dlay, pg, dblk, nblocks, l0, l1, NULL));
		CK(cudaMemcpy(back, db, nblocks * bb, cudaMemcpyDeviceToHost));
		ok &= memcmp(hb, back, nblocks * bb) == 0;
		/* scatter random blocks into the pages */
		for (size_t i = 0; i < nblocks * bb; i++)
			hb[i] = (uint8_t)rnd(&s);
		CK(cudaMemcpy(db, hb, nblocks * bb, cudaMemcpyHostToDevice));
		tier_kv_ref_scatter(&hp, pg, hblk, nblocks, l0, l1);
		CK((cudaError_t)tier_kv_cuda_scatter(&dp, dlay, pg, dblk, nblocks, l0, l1, NULL));
		{
			uint8_t *cache = malloc(c.bytes);

			CK(cudaMemcpy(cache, c.d, c.bytes, cudaMemcpyDeviceToHost));
			ok &= memcmp(cache, c.h, c.bytes) == 0;
			free(cache);
		}
	}
	if (!ok)
		fprintf(stderr, "kernel case %llu (kind %d, odd %d, L %u, pt %u, ppb %u, n %zu) differs\n",
			(unsigned long long)seed, kind, odd, layers, page_tokens, ppb, nblocks);
	cudaFree(db), cudaFree(dlay);
	free(hb), free(back), free(hblk), free(dblk), free(pg);
	tier_kv_plan_deinit(&hp), tier_kv_plan_deinit(&dp);
	tcache_free(&c);
	return ok;
}

/* ---- 2. two processes --------------------------------------------------- */

#define XPOOL (64ull << 20)

static uint8_t pat(uint64_t i, uint8_t seed)
{
	return (uint8_t)(seed + i * 131 + (i >> 12));
}

/* The child: everything CUDA happens after the fork. */
static int xproc_child(int sock)
{
	const struct tier_dev_ops *ops = tier_dev_lookup("cuda");
	struct tier_dev *d;
	struct tier_dev_pool *p;
	struct tier_dev_export exp;
	uint8_t *buf;
	struct tier_dev_copy cp = { .dir = TIER_DEV_D2H, .pool_off = 0, .len = XPOOL / 2 };
	int fd, r = 0;
	char why[200];

	if (tier_dev_recv_export(sock, &exp, &fd) < 0)
		return 10;
	if (!ops || ops->open(0, &d, why, sizeof(why)) < 0)
		return 11;
	if (ops->pool_import(d, &exp, fd, &p) < 0)
		return 12;
	close(fd);
	CK(cudaMallocHost((void **)&buf, XPOOL / 2));
	cp.host = buf;
	if (ops->copy_submit(d, p, &cp, 1, 1) < 0 || tier_dev_wait(ops, d, 1) < 0)
		return 13;
	for (uint64_t i = 0; i < XPOOL / 2; i++)
		if (buf[i] != pat(i, 1)) {
			r = 14;
			break;
		}
	for (uint64_t i = 0; i < XPOOL / 2; i++)
		buf[i] = pat(i, 2);
	cp.dir = TIER_DEV_H2D;
	cp.pool_off = XPOOL / 2;
	if (!r && (ops->copy_submit(d, p, &cp, 1, 2) < 0 || tier_dev_wait(ops, d, 2) < 0))
		r = 15;
	ops->pool_free(p);
	ops->close(d);
	cudaFreeHost(buf);
	if (write(sock, &r, sizeof(r)) != sizeof(r))
		return 16;
	return r;
}

static const char *xproc_parent(int sock, pid_t child)
{
	const struct tier_dev_ops *ops = tier_dev_lookup("cuda");
	struct tier_dev *d;
	struct tier_dev_pool *p;
	struct tier_dev_export exp;
	uint8_t *buf;
	struct tier_dev_copy cp = { .dir = TIER_DEV_H2D, .pool_off = 0, .len = XPOOL / 2 };
	static char why[256];
	int fd, r = -1, st;

	if (ops->open(0, &d, why, sizeof(why)) < 0)
		return why;
	if (ops->pool_alloc(d, XPOOL, &p) < 0)
		return "pool_alloc failed";
	CK(cudaMallocHost((void **)&buf, XPOOL / 2));
	for (uint64_t i = 0; i < XPOOL / 2; i++)
		buf[i] = pat(i, 1);
	cp.host = buf;
	if (ops->copy_submit(d, p, &cp, 1, 1) < 0 || tier_dev_wait(ops, d, 1) < 0)
		return "copy into the pool failed";
	if (ops->pool_export(p, &exp, &fd) < 0)
		return "cuMemExportToShareableHandle failed";
	if (tier_dev_send_export(sock, &exp, fd) < 0)
		return "sending the fd failed";
	close(fd);
	if (read(sock, &r, sizeof(r)) != sizeof(r) || r != 0) {
		snprintf(why, sizeof(why), "child failed (%d)", r);
		waitpid(child, &st, 0);
		return why;
	}
	waitpid(child, &st, 0);
	memset(buf, 0, XPOOL / 2);
	cp.dir = TIER_DEV_D2H;
	cp.pool_off = XPOOL / 2;
	if (ops->copy_submit(d, p, &cp, 1, 2) < 0 || tier_dev_wait(ops, d, 2) < 0)
		return "copy out of the pool failed";
	for (uint64_t i = 0; i < XPOOL / 2; i++)
		if (buf[i] != pat(i, 2))
			return "the child's bytes are not in the parent's pool";
	ops->pool_free(p);
	ops->close(d);
	cudaFreeHost(buf);
	return NULL;
}

/* ---- 3. bandwidth ------------------------------------------------------- */

struct bw {
	struct tcache c;                /* device KV cache */
	struct tier_kv_plan p;
	struct tier_kv_layer *dlay;
	uint32_t *pages;
	size_t n;
	uint64_t bb;
	uint8_t *host;                  /* n blocks, pinned */
	void *host_dev;                 /* its device mapping */
	uint8_t *dev, *stage;           /* n blocks on the device */
	cudaStream_t s;
	cudaEvent_t e0, e1;
};

static void bw_init(struct bw *b, uint32_t layers, uint64_t bpt, uint32_t page_tokens,
		    uint32_t block_tokens, size_t n)
{
	uint32_t ppb = block_tokens / page_tokens, pages = (uint32_t)(n * ppb);
	struct tcache *c = &b->c;

	memset(b, 0, sizeof(*b));
	c->dk = calloc(layers, sizeof(void *));
	c->dv = calloc(layers, sizeof(void *));
	c->bpt = calloc(layers, sizeof(uint64_t));
	c->bytes = 2ull * layers * pages * page_tokens * bpt;
	CK(cudaMalloc((void **)&c->d, c->bytes));
	CK(cudaMemset(c->d, 0x5a, c->bytes));
	for (uint32_t l = 0; l < layers; l++) { /* vLLM: per layer a K and a V tensor */
		c->bpt[l] = bpt;
		c->dk[l] = c->d + 2ull * l * pages * page_tokens * bpt;
		c->dv[l] = (uint8_t *)c->dk[l] + (uint64_t)pages * page_tokens * bpt;
	}
	c->dl = (struct tier_kv_layout){
		.size = sizeof(c->dl), .kind = TIER_KV_PAGED, .num_layers = layers,
		.num_pages = pages, .page_tokens = page_tokens, .block_tokens = block_tokens,
		.k_base = c->dk, .v_base = c->dv, .bytes_per_token = c->bpt,
	};
	if (tier_kv_plan_init(&b->p, &b->c.dl) < 0)
		exit(1);
	b->dlay = upload_layers(&b->p);
	b->n = n;
	b->bb = b->p.block_bytes;
	b->pages = calloc(n * ppb, sizeof(uint32_t));
	for (size_t i = 0; i < n * ppb; i++) /* blocks' pages scattered over the cache */
		b->pages[i] = (uint32_t)((i * 7919) % pages);
	CK(cudaHostAlloc((void **)&b->host, n * b->bb, cudaHostAllocMapped | cudaHostAllocPortable));
	CK(cudaHostGetDevicePointer(&b->host_dev, b->host, 0));
	CK(cudaMalloc((void **)&b->dev, n * b->bb));
	CK(cudaMalloc((void **)&b->stage, n * b->bb));
	CK(cudaStreamCreateWithFlags(&b->s, cudaStreamNonBlocking));
	CK(cudaEventCreate(&b->e0));
	CK(cudaEventCreate(&b->e1));
}

static void bw_free(struct bw *b)
{
	cudaFreeHost(b->host);
	cudaFree(b->dev), cudaFree(b->stage), cudaFree(b->dlay), cudaFree(b->c.d);
	cudaStreamDestroy(b->s);
	cudaEventDestroy(b->e0), cudaEventDestroy(b->e1);
	free(b->pages), free(b->c.dk), free(b->c.dv), free(b->c.bpt);
	tier_kv_plan_deinit(&b->p);
}

enum { MEMCPY_H2D, MEMCPY_D2H, SAVE_STAGED, LOAD_STAGED, SAVE_DIRECT, LOAD_DIRECT,
       GATHER_KERNEL, GATHER_PER_PAGE };

static void run_once(struct bw *b, int what)
{
	void **blk = malloc(b->n * sizeof(void *));
	uint32_t ppb = b->p.pages_per_block;

	switch (what) {
	case MEMCPY_H2D:
	case MEMCPY_D2H:
		for (size_t i = 0; i < b->n; i++)
			CK(cudaMemcpyAsync(what == MEMCPY_H2D ? b->dev + i * b->bb : b->host + i * b->bb,
					   what == MEMCPY_H2D ? b->host + i * b->bb : b->dev + i * b->bb,
					   b->bb, what == MEMCPY_H2D ? cudaMemcpyHostToDevice
								     : cudaMemcpyDeviceToHost, b->s));
		break;
	case SAVE_STAGED: /* what tier_cuda does: gather into staging, one copy per block */
		for (size_t i = 0; i < b->n; i++)
			blk[i] = b->stage + i * b->bb;
		CK((cudaError_t)tier_kv_cuda_gather(&b->p, b->dlay, b->pages, blk, b->n, 0,
						    b->p.num_layers, b->s));
		for (size_t i = 0; i < b->n; i++)
			CK(cudaMemcpyAsync(b->host + i * b->bb, blk[i], b->bb, cudaMemcpyDeviceToHost, b->s));
		break;
	case LOAD_STAGED:
		for (size_t i = 0; i < b->n; i++) {
			blk[i] = b->stage + i * b->bb;
			CK(cudaMemcpyAsync(blk[i], b->host + i * b->bb, b->bb, cudaMemcpyHostToDevice, b->s));
		}
		CK((cudaError_t)tier_kv_cuda_scatter(&b->p, b->dlay, b->pages, blk, b->n, 0,
						     b->p.num_layers, b->s));
		break;
	case SAVE_DIRECT:
	case LOAD_DIRECT:
		for (size_t i = 0; i < b->n; i++)
			blk[i] = (uint8_t *)b->host_dev + i * b->bb;
		CK((cudaError_t)(what == SAVE_DIRECT ? tier_kv_cuda_gather : tier_kv_cuda_scatter)(
			&b->p, b->dlay, b->pages, blk, b->n, 0, b->p.num_layers, b->s));
		break;
	case GATHER_KERNEL:
		for (size_t i = 0; i < b->n; i++)
			blk[i] = b->dev + i * b->bb;
		CK((cudaError_t)tier_kv_cuda_gather(&b->p, b->dlay, b->pages, blk, b->n, 0,
						    b->p.num_layers, b->s));
		break;
	case GATHER_PER_PAGE: /* the naive way: one cudaMemcpyAsync per page-chunk */
		for (size_t i = 0; i < b->n; i++)
			for (uint32_t l = 0; l < b->p.num_layers; l++) {
				const struct tier_kv_layer *ly = &b->p.layers[l];
				uint64_t chunk = ly->token_bytes * b->p.page_tokens;

				for (int kv = 0; kv < 2; kv++)
					for (uint32_t j = 0; j < ppb; j++)
						CK(cudaMemcpyAsync(
							b->dev + i * b->bb + ly->block_off +
								kv * b->p.block_tokens * ly->token_bytes + j * chunk,
							(void *)(uintptr_t)((kv ? ly->v : ly->k) +
								b->pages[i * ppb + j] * ly->page_stride),
							chunk, cudaMemcpyDeviceToDevice, b->s));
			}
		break;
	}
	free(blk);
}

/* Seconds per run, best of reps (after one warm-up). */
static double timed(struct bw *b, int what, int reps)
{
	float best = 1e30f;

	run_once(b, what);
	CK(cudaStreamSynchronize(b->s));
	for (int r = 0; r < reps; r++) {
		float ms;

		CK(cudaEventRecord(b->e0, b->s));
		run_once(b, what);
		CK(cudaEventRecord(b->e1, b->s));
		CK(cudaEventSynchronize(b->e1));
		CK(cudaEventElapsedTime(&ms, b->e0, b->e1));
		if (ms < best)
			best = ms;
	}
	return best / 1e3;
}

static double gbps(uint64_t bytes, double s)
{
	return bytes / s / 1e9;
}

/* ---- 4. through the daemon ---------------------------------------------- */

static void e2e(const char *sock, struct bw *b, double base_h2d, double base_d2h, bool first)
{
	tier_client *c;
	tier_cuda *tc;
	struct tier_cuda_opts o = { .size = sizeof(o), .mode = TIER_CUDA_GPU };
	tier_key *keys = calloc(b->n, sizeof(tier_key));
	struct timespec t0, t1;
	double save_s, load_s;
	int r;
	char ns[64];

	printf("%s    {\"block_bytes\": %llu, ", first ? "" : ",\n",
	       (unsigned long long)b->bb);
	snprintf(ns, sizeof(ns), "gpu-check-%llu", (unsigned long long)b->bb);
	if ((r = tier_connect(sock, &c)) < 0 ||
	    (r = tier_cuda_new(c, ns, &b->c.dl, &o, &tc)) < 0) {
		printf("\"error\": \"%s\"}", tier_strerror(r));
		all_ok = false;
		return;
	}
	for (size_t i = 0; i < b->n; i++) {
		uint64_t v[2] = { b->bb, i };

		keys[i] = tier_key_next(TIER_KEY_ROOT, v, sizeof(v));
	}
	/* warm-up: registers the arena (once per process) */
	tier_cuda_save(tc, keys, b->pages, 1, b->s);
	tier_drop(c, tier_cuda_ns(tc), keys[0]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = tier_cuda_save(tc, keys, b->pages, b->n, b->s);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	save_s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (r != (int)b->n)
		all_ok = false;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = tier_cuda_load(tc, keys, b->pages, b->n, b->s);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	load_s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (r != (int)b->n)
		all_ok = false;
	printf("\"blocks\": %zu, \"save_GBps\": %.2f, \"load_GBps\": %.2f, "
	       "\"save_vs_memcpy\": %.3f, \"load_vs_memcpy\": %.3f}",
	       b->n, gbps(b->n * b->bb, save_s), gbps(b->n * b->bb, load_s),
	       gbps(b->n * b->bb, save_s) / base_d2h, gbps(b->n * b->bb, load_s) / base_h2d);
	for (size_t i = 0; i < b->n; i++)
		tier_drop(c, tier_cuda_ns(tc), keys[i]);
	tier_cuda_free(tc);
	tier_close(c);
	free(keys);
}

int main(int argc, char **argv)
{
	const char *sock = NULL;
	int sv[2], count = 0, cases = 0, passed = 0;
	const char *xerr;
	struct cudaDeviceProp prop;
	pid_t child;
	cudaError_t e;
	/* block sizes: 32 layers x 2 (K,V) x 256 tokens x bpt */
	static const uint64_t bpts[] = { 128, 256 }; /* 2 MiB, 4 MiB blocks */
	double h2d[2], d2h[2];

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			sock = argv[++i];

	/* Fork the importing child before this process initialises CUDA. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return 1;
	child = fork();
	if (child == 0) {
		close(sv[0]);
		_exit(xproc_child(sv[1]));
	}
	close(sv[1]);

	e = cudaGetDeviceCount(&count);
	if (e != cudaSuccess || count == 0) {
		printf("{\"ok\": false, \"error\": \"no usable GPU: %s (CUDA error %d)\"}\n",
		       e != cudaSuccess ? cudaGetErrorString(e) : "no device", (int)e);
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return 2;
	}
	CK(cudaSetDevice(0));
	CK(cudaGetDeviceProperties(&prop, 0));
	printf("{\n  \"device\": \"%s\", \"sm\": \"%d.%d\", \"gpus\": %d,\n", prop.name,
	       prop.major, prop.minor, count);

	for (uint64_t sd = 1; sd <= 60; sd++, cases++)
		passed += kernel_case(sd * 7777);
	printf("  \"kernels\": {\"cases\": %d, \"bit_exact\": %d, \"ok\": %s},\n", cases, passed,
	       passed == cases ? "true" : "false");
	all_ok &= passed == cases;

	xerr = xproc_parent(sv[0], child);
	printf("  \"two_process_pool\": {\"bytes\": %llu, \"ok\": %s%s%s%s},\n",
	       (unsigned long long)XPOOL, xerr ? "false" : "true", xerr ? ", \"error\": \"" : "",
	       xerr ? xerr : "", xerr ? "\"" : "");
	all_ok &= !xerr;

	printf("  \"block_bandwidth\": [\n");
	for (int k = 0; k < 2; k++) {
		struct bw b;
		double t_h2d, t_d2h, t_ss, t_ls, t_sd, t_ld;
		uint64_t bytes;

		bw_init(&b, 32, bpts[k], 16, 256, 128);
		bytes = b.n * b.bb;
		t_h2d = timed(&b, MEMCPY_H2D, 5);
		t_d2h = timed(&b, MEMCPY_D2H, 5);
		t_ss = timed(&b, SAVE_STAGED, 5);
		t_ls = timed(&b, LOAD_STAGED, 5);
		t_sd = timed(&b, SAVE_DIRECT, 5);
		t_ld = timed(&b, LOAD_DIRECT, 5);
		h2d[k] = gbps(bytes, t_h2d);
		d2h[k] = gbps(bytes, t_d2h);
		printf("%s    {\"block_bytes\": %llu, \"blocks\": %zu, "
		       "\"memcpy_h2d_GBps\": %.2f, \"memcpy_d2h_GBps\": %.2f, "
		       "\"save_staged_GBps\": %.2f, \"load_staged_GBps\": %.2f, "
		       "\"save_direct_GBps\": %.2f, \"load_direct_GBps\": %.2f, "
		       "\"save_vs_memcpy\": %.3f, \"load_vs_memcpy\": %.3f, \"goal\": 0.9, \"met\": %s}",
		       k ? ",\n" : "", (unsigned long long)b.bb, b.n, h2d[k], d2h[k],
		       gbps(bytes, t_ss), gbps(bytes, t_ls), gbps(bytes, t_sd), gbps(bytes, t_ld),
		       t_d2h / (t_ss < t_sd ? t_ss : t_sd), t_h2d / (t_ls < t_ld ? t_ls : t_ld),
		       (t_d2h / (t_ss < t_sd ? t_ss : t_sd) >= 0.9 &&
			t_h2d / (t_ls < t_ld ? t_ls : t_ld) >= 0.9) ? "true" : "false");
		bw_free(&b);
	}
	printf("\n  ],\n");

	{
		/* 16-token pages; 8 heads x 128 dims x fp16 = 2 KiB a token; 256-token blocks */
		struct bw b;
		double tk, tp;

		bw_init(&b, 32, 2048, 16, 256, 16);
		tk = timed(&b, GATHER_KERNEL, 5);
		tp = timed(&b, GATHER_PER_PAGE, 3);
		printf("  \"gather_vs_per_page_memcpy\": {\"page_tokens\": 16, \"chunk_bytes\": %u, "
		       "\"chunks\": %zu, \"kernel_GBps\": %.2f, \"per_page_GBps\": %.2f, "
		       "\"speedup\": %.2f, \"goal\": 3.0, \"met\": %s}",
		       16 * 2048, b.n * 32 * 2 * b.p.pages_per_block, gbps(b.n * b.bb, tk),
		       gbps(b.n * b.bb, tp), tp / tk, tp / tk >= 3.0 ? "true" : "false");
		bw_free(&b);
	}

	if (sock) {
		printf(",\n  \"tier_cuda_end_to_end\": [\n");
		for (int k = 0; k < 2; k++) {
			struct bw b;

			bw_init(&b, 32, bpts[k], 16, 256, 128);
			e2e(sock, &b, h2d[k], d2h[k], k == 0);
			bw_free(&b);
		}
		printf("\n  ]");
	}
	printf(",\n  \"ok\": %s\n}\n", all_ok ? "true" : "false");
	return all_ok ? 0 : 1;
}
