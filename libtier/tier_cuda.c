/* SPDX-License-Identifier: MIT */
/*
 * libtier's GPU helpers (tier_cuda.h): move an engine's paged KV cache to and
 * from blocks in tierd's shared host arena, on the engine's own stream.
 *
 * Built on the public client API only (tier_alloc/tier_data/tier_commit,
 * tier_acquire/tier_release): a block's bytes are written or read in place
 * in the arena, and the daemon is told only when the stream is done with
 * them — commit after the gather has landed, release after the scatter has
 * read.  That ordering is the whole correctness argument, and the emu mode
 * (deferred emulated streams, kernels_ref.c) tests it without a GPU.
 *
 * CUDA mode has two data paths:
 *  - staged (default): the gather kernel packs blocks into device staging
 *    memory (cudaMallocAsync on the caller's stream), then one
 *    cudaMemcpyAsync per block moves it over PCIe; loads mirror it.  The
 *    kernel runs at HBM speed, so the copy engine sets the pace.
 *  - direct (TIER_CUDA_DIRECT): the kernels read and write the registered
 *    arena through its device mapping (zero-copy): no staging, one launch.
 * The arena is registered (cudaHostRegister, portable + mapped) once, on
 * first use: we find the whole mapping holding a block in /proc/self/maps,
 * since tier.h does not expose the arena's base.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build-config.h"
#include "emu_stream.h"
#include "kernels.h"
#include "tier.h"
#include "tier_cuda.h"

#if TIERD_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

#define DEFAULT_STAGING_BYTES (64ull << 20)
#define MAX_REG 8

struct reg_range {
	uintptr_t lo, hi;
	uintptr_t dev;  /* device address of lo (mapped), 0 if not mapped */
	bool owned;     /* registered by us: unregistered at free */
};

struct tier_cuda {
	tier_client *c;
	uint32_t ns;
	int mode;
	char why[160];
	struct tier_kv_plan plan;
	uint32_t flags;
	int device;
	uint64_t staging_bytes;
	tier_cuda_op *ops;             /* open ops, ended by tier_cuda_free */
#if TIERD_HAVE_CUDA
	struct tier_kv_layer *dev_layers;
	struct reg_range reg[MAX_REG];
	int n_reg;
	bool reg_failed;               /* registration refused: staged and slow */
#endif
};

struct layer_ev {
	bool has;                      /* an event was recorded after this layer */
	void *stream;
	uint64_t emu_ev;
#if TIERD_HAVE_CUDA
	cudaEvent_t ev;
#endif
};

struct tier_cuda_op {
	tier_cuda *tc;
	tier_cuda_op *next;
	bool save;
	size_t n;
	tier_key *keys;
	uint32_t *pages;
	tier_handle *h;
	uint8_t **host;                /* tier_data of each block */
	uint32_t next_layer;           /* layers moved: 0 .. next_layer-1 */
	struct layer_ev *lev;          /* per layer, the event after its copy */
};

/* ---- emu mode --------------------------------------------------------- */

struct emu_copy {
	struct tier_kv_plan plan;      /* a copy: the work may outlive tier_cuda_free */
	uint32_t l0, l1;
	int scatter;
	size_t n;
	uint32_t *pages;               /* into the same allocation */
	void *blocks[];
};

static void emu_copy_run(void *arg)
{
	struct emu_copy *e = arg;

	/* Arguments were checked when enqueued. */
	if (e->scatter)
		tier_kv_ref_scatter(&e->plan, e->pages, e->blocks, e->n, e->l0, e->l1);
	else
		tier_kv_ref_gather(&e->plan, e->pages, e->blocks, e->n, e->l0, e->l1);
}

/* Copy now (stream NULL) or enqueue on an emulated stream. */
static int emu_move(tier_cuda *tc, const uint32_t *pages, void *const *blocks, size_t n,
		    uint32_t l0, uint32_t l1, int scatter, tier_emu_stream *s)
{
	size_t npages = n * tc->plan.pages_per_block;
	size_t lbytes = tc->plan.num_layers * sizeof(struct tier_kv_layer);
	struct emu_copy *e;
	int r;

	if (!s)
		return scatter ? tier_kv_ref_scatter(&tc->plan, pages, blocks, n, l0, l1)
			       : tier_kv_ref_gather(&tc->plan, pages, blocks, n, l0, l1);
	r = tier_kv_check_args(&tc->plan, pages, n, l0, l1);
	if (r < 0)
		return r;
	e = malloc(sizeof(*e) + n * sizeof(void *) + lbytes + npages * sizeof(uint32_t));
	if (!e)
		return -ENOMEM;
	e->plan = tc->plan;
	e->l0 = l0;
	e->l1 = l1;
	e->scatter = scatter;
	e->n = n;
	memcpy(e->blocks, blocks, n * sizeof(void *));
	e->plan.layers = (struct tier_kv_layer *)(e->blocks + n);
	memcpy(e->plan.layers, tc->plan.layers, lbytes);
	e->pages = (uint32_t *)((uint8_t *)e->plan.layers + lbytes);
	memcpy(e->pages, pages, npages * sizeof(uint32_t));
	r = emu_stream_enqueue(s, emu_copy_run, e, true);
	if (r < 0)
		free(e);
	return r;
}

/* ---- CUDA mode -------------------------------------------------------- */

#if TIERD_HAVE_CUDA

static int cuda_err(cudaError_t e)
{
	if (e == cudaSuccess)
		return 0;
	cudaGetLastError();
	return e == cudaErrorMemoryAllocation ? -ENOMEM : -EIO;
}

static int cuda_setup(tier_cuda *tc)
{
	size_t bytes = tc->plan.num_layers * sizeof(struct tier_kv_layer);
	int count = 0, old = 0;
	cudaError_t e = cudaGetDeviceCount(&count);

	if (e != cudaSuccess) {
		snprintf(tc->why, sizeof(tc->why), "cudaGetDeviceCount: %s (CUDA error %d)",
			 cudaGetErrorString(e), (int)e);
		cudaGetLastError();
		return -ENODEV;
	}
	if (tc->device < 0 || tc->device >= count) {
		snprintf(tc->why, sizeof(tc->why), "no CUDA device %d (%d present)", tc->device,
			 count);
		return -ENODEV;
	}
	cudaGetDevice(&old);
	cudaSetDevice(tc->device);
	e = cudaMalloc((void **)&tc->dev_layers, bytes);
	if (e == cudaSuccess)
		e = cudaMemcpy(tc->dev_layers, tc->plan.layers, bytes, cudaMemcpyHostToDevice);
	cudaSetDevice(old);
	if (e != cudaSuccess) {
		snprintf(tc->why, sizeof(tc->why), "cudaMalloc/cudaMemcpy: %s",
			 cudaGetErrorString(e));
		if (tc->dev_layers)
			cudaFree(tc->dev_layers);
		tc->dev_layers = NULL;
		return cuda_err(e) == -ENOMEM ? -ENOMEM : -ENODEV;
	}
	return 0;
}

/* The mapping of this process that holds p, from /proc/self/maps. */
static int find_mapping(const void *p, uintptr_t *lo, uintptr_t *hi)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;

		if (sscanf(line, "%lx-%lx", &a, &b) == 2 && (uintptr_t)p >= a && (uintptr_t)p < b) {
			*lo = a;
			*hi = b;
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

/*
 * Make sure the arena mapping holding p is registered; the device address
 * of p (0 when it could not be mapped: the staged path with pageable copies
 * still works, slowly).
 */
static uintptr_t host_dev_addr(tier_cuda *tc, const void *p)
{
	uintptr_t a = (uintptr_t)p, lo, hi;
	void *dev = NULL;
	struct reg_range *rr;
	cudaError_t e;

	for (int i = 0; i < tc->n_reg; i++)
		if (a >= tc->reg[i].lo && a < tc->reg[i].hi)
			return tc->reg[i].dev ? tc->reg[i].dev + (a - tc->reg[i].lo) : 0;
	if (tc->reg_failed || tc->n_reg == MAX_REG || find_mapping(p, &lo, &hi) < 0)
		return 0;
	e = cudaHostRegister((void *)lo, hi - lo, cudaHostRegisterPortable | cudaHostRegisterMapped);
	if (e != cudaSuccess && e != cudaErrorHostMemoryAlreadyRegistered) {
		cudaGetLastError();
		tc->reg_failed = true;
		fprintf(stderr, "tier_cuda: cudaHostRegister of the arena failed (%s): "
			"copies will be slow (raise LimitMEMLOCK / ulimit -l)\n",
			cudaGetErrorString(e));
		return 0;
	}
	cudaGetLastError();
	rr = &tc->reg[tc->n_reg];
	rr->lo = lo;
	rr->hi = hi;
	rr->dev = 0;
	rr->owned = e == cudaSuccess; /* else someone else registered it: not ours to undo */
	tc->n_reg++;
	if (cudaHostGetDevicePointer(&dev, (void *)lo, 0) == cudaSuccess)
		rr->dev = (uintptr_t)dev;
	else
		cudaGetLastError();
	return rr->dev ? rr->dev + (a - lo) : 0;
}

/* Layers [l0, l1) of an op's blocks, staged through device memory. */
static int cuda_move_staged(tier_cuda *tc, tier_cuda_op *op, uint32_t l0, uint32_t l1,
			    cudaStream_t s)
{
	const struct tier_kv_plan *p = &tc->plan;
	uint64_t span = tier_kv_plan_span(p, l0, l1), off = p->layers[l0].block_off;
	size_t per = (size_t)(tc->staging_bytes / span);
	uint8_t *stage = NULL;
	void **blocks;
	int r = 0;

	if (per == 0)
		per = 1;
	if (per > op->n)
		per = op->n;
	blocks = calloc(per, sizeof(void *));
	if (!blocks)
		return -ENOMEM;
	for (size_t i = 0; i < op->n; i++)
		host_dev_addr(tc, op->host[i]); /* registers the arena once */
	r = cuda_err(cudaMallocAsync((void **)&stage, per * span, s));
	for (size_t b0 = 0; r == 0 && b0 < op->n; b0 += per) {
		size_t k = op->n - b0 < per ? op->n - b0 : per;
		const uint32_t *pages = op->pages + b0 * p->pages_per_block;

		for (size_t i = 0; i < k; i++)
			blocks[i] = stage + i * span;
		if (op->save) {
			r = cuda_err((cudaError_t)tier_kv_cuda_gather(p, tc->dev_layers, pages,
								      blocks, k, l0, l1, s));
			for (size_t i = 0; r == 0 && i < k; i++)
				r = cuda_err(cudaMemcpyAsync(op->host[b0 + i] + off, blocks[i],
							     span, cudaMemcpyDeviceToHost, s));
		} else {
			for (size_t i = 0; r == 0 && i < k; i++)
				r = cuda_err(cudaMemcpyAsync(blocks[i], op->host[b0 + i] + off,
							     span, cudaMemcpyHostToDevice, s));
			if (r == 0)
				r = cuda_err((cudaError_t)tier_kv_cuda_scatter(
					p, tc->dev_layers, pages, blocks, k, l0, l1, s));
		}
	}
	if (stage)
		cudaFreeAsync(stage, s); /* stream-ordered: after the copies above */
	free(blocks);
	return r;
}

/* Layers [l0, l1), kernels on the arena's device mapping. */
static int cuda_move_direct(tier_cuda *tc, tier_cuda_op *op, uint32_t l0, uint32_t l1,
			    cudaStream_t s)
{
	uint64_t off = tc->plan.layers[l0].block_off;
	void **blocks = calloc(op->n ? op->n : 1, sizeof(void *));
	int r;

	if (!blocks)
		return -ENOMEM;
	for (size_t i = 0; i < op->n; i++) {
		uintptr_t d = host_dev_addr(tc, op->host[i]);

		if (!d) {
			free(blocks);
			return cuda_move_staged(tc, op, l0, l1, s);
		}
		blocks[i] = (void *)(d + off);
	}
	r = op->save ? tier_kv_cuda_gather(&tc->plan, tc->dev_layers, op->pages, blocks, op->n,
					   l0, l1, s)
		     : tier_kv_cuda_scatter(&tc->plan, tc->dev_layers, op->pages, blocks, op->n,
					    l0, l1, s);
	free(blocks);
	return cuda_err((cudaError_t)r);
}

#endif /* TIERD_HAVE_CUDA */

/* ---- ops ---------------------------------------------------------------- */

/* Move layers [l0, l1) of op on stream and record the event of layer l1-1. */
static int op_move(tier_cuda_op *op, uint32_t l0, uint32_t l1, void *stream)
{
	tier_cuda *tc = op->tc;
	struct layer_ev *ev = &op->lev[l1 - 1];
	int r = 0;

	if (l0 != op->next_layer || l1 <= l0 || l1 > tc->plan.num_layers)
		return -EINVAL;
	if (op->n == 0) {
		op->next_layer = l1;
		return 0;
	}
	if (tc->mode == TIER_CUDA_EMU) {
		void **blocks = malloc(op->n * sizeof(void *));

		if (!blocks)
			return -ENOMEM;
		for (size_t i = 0; i < op->n; i++)
			blocks[i] = op->host[i] + tc->plan.layers[l0].block_off;
		r = emu_move(tc, op->pages, blocks, op->n, l0, l1, !op->save, stream);
		free(blocks);
		if (r < 0)
			return r;
		ev->stream = stream;
		ev->emu_ev = stream ? emu_stream_record(stream) : 0;
	}
#if TIERD_HAVE_CUDA
	else {
		int old = 0;

		cudaGetDevice(&old);
		cudaSetDevice(tc->device);
		r = (tc->flags & TIER_CUDA_DIRECT) ? cuda_move_direct(tc, op, l0, l1, stream)
						   : cuda_move_staged(tc, op, l0, l1, stream);
		if (r == 0 && !ev->ev)
			r = cuda_err(cudaEventCreateWithFlags(&ev->ev, cudaEventDisableTiming));
		if (r == 0)
			r = cuda_err(cudaEventRecord(ev->ev, (cudaStream_t)stream));
		cudaSetDevice(old);
		if (r < 0)
			return r;
		ev->stream = stream;
	}
#endif
	ev->has = true;
	op->next_layer = l1;
	return 0;
}

/* The event of layer l: its own, or that of the last layer moved with it. */
static struct layer_ev *layer_event(tier_cuda_op *op, uint32_t l)
{
	for (; l + 1 < op->next_layer; l++)
		if (op->lev[l].has)
			break;
	return &op->lev[l];
}

static int op_new(tier_cuda *tc, bool save, const tier_key *keys, const uint32_t *pages,
		  size_t n, tier_cuda_op **ret)
{
	size_t npages = n * tc->plan.pages_per_block;
	tier_cuda_op *op;

	if ((n && (!keys || !pages)) || !ret)
		return -EINVAL;
	if (tier_kv_check_args(&tc->plan, pages, n, 0, tc->plan.num_layers) < 0)
		return -EINVAL;
	op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	op->tc = tc;
	op->save = save;
	op->keys = calloc(n ? n : 1, sizeof(tier_key));
	op->pages = calloc(npages ? npages : 1, sizeof(uint32_t));
	op->h = calloc(n ? n : 1, sizeof(tier_handle));
	op->host = calloc(n ? n : 1, sizeof(uint8_t *));
	op->lev = calloc(tc->plan.num_layers, sizeof(op->lev[0]));
	if (!op->keys || !op->pages || !op->h || !op->host || !op->lev) {
		free(op->keys), free(op->pages), free(op->h), free(op->host), free(op->lev);
		free(op);
		return -ENOMEM;
	}
	if (n) {
		memcpy(op->keys, keys, n * sizeof(tier_key));
		memcpy(op->pages, pages, npages * sizeof(uint32_t));
	}
	*ret = op;
	return 0;
}

static void op_link(tier_cuda_op *op)
{
	op->next = op->tc->ops;
	op->tc->ops = op;
}

static void op_free(tier_cuda_op *op)
{
	for (tier_cuda_op **pp = &op->tc->ops; *pp; pp = &(*pp)->next)
		if (*pp == op) {
			*pp = op->next;
			break;
		}
#if TIERD_HAVE_CUDA
	for (uint32_t l = 0; l < op->tc->plan.num_layers; l++)
		if (op->lev[l].ev)
			cudaEventDestroy(op->lev[l].ev);
#endif
	free(op->keys), free(op->pages), free(op->h), free(op->host), free(op->lev);
	free(op);
}

/*
 * tier.h has no "abandon a writing block": commit it under a key nobody
 * derives (a hash of a tag, the handle and the process) and drop that key.
 */
static void discard_block(tier_cuda *tc, tier_handle h)
{
	struct { char tag[16]; uint64_t h; int64_t pid; } junk = { "tier_cuda:junk", h, getpid() };
	tier_key k = tier_key_next(TIER_KEY_ROOT, &junk, sizeof(junk));

	if (tier_commit(tc->c, h, k) == 0)
		tier_drop(tc->c, tc->ns, k);
}

int tier_cuda_save_begin(tier_cuda *tc, const tier_key *keys, const uint32_t *pages,
			 size_t nblocks, tier_cuda_op **ret)
{
	tier_cuda_op *op;
	int r = op_new(tc, true, keys, pages, nblocks, &op);

	if (r < 0)
		return r;
	for (size_t i = 0; i < nblocks; i++) {
		r = tier_alloc(tc->c, tc->ns, &op->h[i]);
		if (r == 0) {
			op->host[i] = tier_data(tc->c, op->h[i]);
			if (!op->host[i]) {
				discard_block(tc, op->h[i]);
				r = -EIO;
			}
		}
		if (r < 0) {
			while (i--)
				discard_block(tc, op->h[i]);
			op_free(op);
			return r;
		}
		op->n = i + 1;
	}
	op_link(op);
	*ret = op;
	return (int)op->n;
}

int tier_cuda_load_begin(tier_cuda *tc, const tier_key *keys, const uint32_t *pages,
			 size_t nblocks, tier_cuda_op **ret)
{
	tier_cuda_op *op;
	int r = op_new(tc, false, keys, pages, nblocks, &op);

	if (r < 0)
		return r;
	for (size_t i = 0; i < nblocks; i++) {
		r = tier_acquire(tc->c, tc->ns, keys[i], &op->h[i]);
		if (r == -ENOENT)
			break;
		if (r == 0) {
			op->host[i] = tier_data(tc->c, op->h[i]);
			if (!op->host[i]) {
				tier_release(tc->c, op->h[i]);
				r = -EIO;
			}
		}
		if (r < 0) {
			while (i--)
				tier_release(tc->c, op->h[i]);
			op_free(op);
			return r;
		}
		op->n = i + 1;
	}
	op_link(op);
	*ret = op;
	return (int)op->n;
}

int tier_cuda_load_layer(tier_cuda_op *op, uint32_t layer, void *stream)
{
	if (!op || op->save)
		return -EINVAL;
	return op_move(op, layer, layer + 1, stream);
}

int tier_cuda_save_layer(tier_cuda_op *op, uint32_t layer, void *stream)
{
	if (!op || !op->save)
		return -EINVAL;
	return op_move(op, layer, layer + 1, stream);
}

int tier_cuda_wait_layer(tier_cuda_op *op, uint32_t layer, void *stream)
{
	struct layer_ev *ev;

	if (!op || layer >= op->next_layer)
		return -EINVAL;
	if (op->n == 0)
		return 0;
	ev = layer_event(op, layer);
	if (op->tc->mode == TIER_CUDA_EMU) {
		if (!ev->stream)
			return 0; /* it ran synchronously */
		if (!stream) {
			emu_stream_run_until(ev->stream, ev->emu_ev);
			return 0;
		}
		return emu_stream_wait(stream, ev->stream, ev->emu_ev);
	}
#if TIERD_HAVE_CUDA
	return cuda_err(cudaStreamWaitEvent((cudaStream_t)stream, ev->ev, 0));
#else
	return -ENODEV;
#endif
}

/* Host waits until every moved layer's copy has finished. */
static int op_sync(tier_cuda_op *op)
{
	int r = 0;

	for (uint32_t l = 0; l < op->next_layer && op->n; l++) {
		struct layer_ev *ev = &op->lev[l];

		if (!ev->has)
			continue;
		if (op->tc->mode == TIER_CUDA_EMU) {
			if (ev->stream)
				emu_stream_run_until(ev->stream, ev->emu_ev);
		}
#if TIERD_HAVE_CUDA
		else if (ev->ev && cudaEventSynchronize(ev->ev) != cudaSuccess) {
			cudaGetLastError();
			r = -EIO;
		}
#endif
	}
	return r;
}

int tier_cuda_op_end(tier_cuda_op *op)
{
	tier_cuda *tc;
	int r, n;

	if (!op)
		return -EINVAL;
	tc = op->tc;
	n = (int)op->n;
	r = op_sync(op);
	if (op->save) {
		bool complete = r == 0 && op->next_layer == tc->plan.num_layers;

		for (size_t i = 0; i < op->n; i++) {
			int c = complete ? tier_commit(tc->c, op->h[i], op->keys[i]) : 0;

			if (!complete)
				discard_block(tc, op->h[i]);
			else if (c < 0 && c != -EEXIST && r == 0)
				r = c; /* the first writer of a key wins: -EEXIST is saved */
		}
		if (!complete && r == 0)
			r = -EINVAL;
	} else {
		for (size_t i = 0; i < op->n; i++)
			tier_release(tc->c, op->h[i]);
	}
	op_free(op);
	return r < 0 ? r : n;
}

int tier_cuda_save(tier_cuda *tc, const tier_key *keys, const uint32_t *pages, size_t nblocks,
		   void *stream)
{
	tier_cuda_op *op;
	int r = tier_cuda_save_begin(tc, keys, pages, nblocks, &op);

	if (r < 0)
		return r;
	r = op_move(op, 0, tc->plan.num_layers, stream);
	if (r < 0) {
		op->next_layer = 0; /* nothing usable: op_end discards */
		tier_cuda_op_end(op);
		return r;
	}
	return tier_cuda_op_end(op);
}

int tier_cuda_load(tier_cuda *tc, const tier_key *keys, const uint32_t *pages, size_t nblocks,
		   void *stream)
{
	tier_cuda_op *op;
	int r = tier_cuda_load_begin(tc, keys, pages, nblocks, &op);

	if (r < 0)
		return r;
	r = op_move(op, 0, tc->plan.num_layers, stream);
	if (r < 0) {
		tier_cuda_op_end(op);
		return r;
	}
	return tier_cuda_op_end(op);
}

static int raw_move(tier_cuda *tc, const uint32_t *pages, void *const *blocks, size_t nblocks,
		    uint32_t l0, uint32_t l1, void *stream, int scatter)
{
	int r;

	if (!tc || (nblocks && !blocks))
		return -EINVAL;
	r = tier_kv_check_args(&tc->plan, pages, nblocks, l0, l1);
	if (r < 0 || nblocks == 0)
		return r;
	if (tc->mode == TIER_CUDA_EMU)
		return emu_move(tc, pages, blocks, nblocks, l0, l1, scatter, stream);
#if TIERD_HAVE_CUDA
	{
		int old = 0;

		cudaGetDevice(&old);
		cudaSetDevice(tc->device);
		r = scatter ? tier_kv_cuda_scatter(&tc->plan, tc->dev_layers, pages, blocks,
						   nblocks, l0, l1, stream)
			    : tier_kv_cuda_gather(&tc->plan, tc->dev_layers, pages, blocks,
						  nblocks, l0, l1, stream);
		cudaSetDevice(old);
		return cuda_err((cudaError_t)r);
	}
#else
	return -ENODEV;
#endif
}

int tier_cuda_gather(tier_cuda *tc, const uint32_t *pages, void *const *blocks, size_t nblocks,
		     uint32_t l0, uint32_t l1, void *stream)
{
	return raw_move(tc, pages, blocks, nblocks, l0, l1, stream, 0);
}

int tier_cuda_scatter(tier_cuda *tc, const uint32_t *pages, void *const *blocks, size_t nblocks,
		      uint32_t l0, uint32_t l1, void *stream)
{
	return raw_move(tc, pages, blocks, nblocks, l0, l1, stream, 1);
}

/* ---- the context -------------------------------------------------------- */

int tier_cuda_new(tier_client *c, const char *ns_name, const struct tier_kv_layout *layout,
		  const struct tier_cuda_opts *opts, tier_cuda **ret)
{
	struct tier_cuda_opts o = { .size = sizeof(o), .mode = TIER_CUDA_AUTO };
	tier_cuda *tc;
	int r;

	if (!c || !ns_name || !ret)
		return -EINVAL;
	if (opts) {
		if (opts->size < sizeof(o) || opts->mode > TIER_CUDA_EMU)
			return -EINVAL;
		o = *opts;
	}
	tc = calloc(1, sizeof(*tc));
	if (!tc)
		return -ENOMEM;
	tc->c = c;
	tc->flags = o.flags;
	tc->device = o.device;
	tc->staging_bytes = o.staging_bytes ? o.staging_bytes : DEFAULT_STAGING_BYTES;
	r = tier_kv_plan_init(&tc->plan, layout);
	if (r < 0)
		goto fail;
	r = tier_namespace(c, ns_name, tc->plan.block_bytes, &tc->ns);
	if (r < 0)
		goto fail;

	tc->mode = TIER_CUDA_EMU;
	if (o.mode != TIER_CUDA_EMU) {
#if TIERD_HAVE_CUDA
		r = cuda_setup(tc);
		if (r == 0)
			tc->mode = TIER_CUDA_GPU;
		else if (o.mode == TIER_CUDA_GPU)
			goto fail;
#else
		snprintf(tc->why, sizeof(tc->why), "libtier built without CUDA");
		if (o.mode == TIER_CUDA_GPU) {
			r = -ENODEV;
			goto fail;
		}
#endif
	}
	*ret = tc;
	return 0;
fail:
	tier_kv_plan_deinit(&tc->plan);
	free(tc);
	return r;
}

void tier_cuda_free(tier_cuda *tc)
{
	if (!tc)
		return;
	while (tc->ops)
		tier_cuda_op_end(tc->ops);
#if TIERD_HAVE_CUDA
	for (int i = 0; i < tc->n_reg; i++)
		if (tc->reg[i].owned)
			cudaHostUnregister((void *)tc->reg[i].lo);
	if (tc->dev_layers)
		cudaFree(tc->dev_layers);
#endif
	tier_kv_plan_deinit(&tc->plan);
	free(tc);
}

int tier_cuda_mode(const tier_cuda *tc, const char **why)
{
	if (why)
		*why = tc->why;
	return tc->mode;
}

uint32_t tier_cuda_ns(const tier_cuda *tc)
{
	return tc->ns;
}
