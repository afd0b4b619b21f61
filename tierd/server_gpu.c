/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of the device tier (T0): open the back end gpu.device
 * names (cuda/device.h), register the host arena with it, allocate the pool
 * that the store carves (gpu_tier.c), and each reactor turn hand finished
 * copies to the store and retry the requests that waited for them.
 *
 * Copies complete without a file descriptor to wait on (CUDA events, or the
 * emu back end's deferred copies, which are performed by poll itself), so
 * while any is in flight the reactor sleeps at most GPU_POLL_MS and polls the
 * back end every turn; with none in flight the GPU costs the reactor nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "log.h"
#include "server.h"

#define GPU_POLL_MS 1
#define GPU_POLL_BATCH 64

int server_gpu_init(struct server *s)
{
	struct server_gpu *g = &s->gpu;
	const char *dev = s->cfg.gpu_device;
	const char *name = "cuda";
	char why[256] = "";
	struct tier_dev_info info;
	int ordinal = 0, r;

	if (strcmp(dev, "none") == 0)
		return 0;
	if (strcmp(dev, "emu") == 0)
		name = "emu";
	else if (strcmp(dev, "auto") != 0)
		ordinal = atoi(dev); /* an index: config.c checked it */
	/* "auto" is the GPU when one opens, else no GPU tier: never the emulation. */
	if (!tier_dev_lookup(name)) {
		r = -ENODEV;
		snprintf(why, sizeof(why), "tierd was built without CUDA");
	} else {
		r = tier_dev_open(name, ordinal, &g->ops, &g->dev, why, sizeof(why));
	}
	if (r < 0) {
		g->ops = NULL;
		g->dev = NULL;
		if (strcmp(dev, "auto") == 0) {
			log_info("gpu: no GPU tier (%s)", why[0] ? why : strerror(-r));
			return 0;
		}
		return log_ret(r, LOG_ERR, "gpu.device %s: %s", dev, why[0] ? why : strerror(-r));
	}
	g->ops->info(g->dev, &info);
	snprintf(g->backend, sizeof(g->backend), "%s", info.backend);
	snprintf(g->pci_bus_id, sizeof(g->pci_bus_id), "%s", info.pci_bus_id);
	r = g->ops->pool_alloc(g->dev, s->cfg.gpu_bytes, &g->pool);
	if (r < 0) {
		log_err("gpu: a pool of %" PRIu64 " MiB on %s: %s", s->cfg.gpu_bytes >> 20,
			info.name, strerror(-r));
		server_gpu_deinit(s);
		return r;
	}
	g->pool_bytes = g->ops->pool_bytes(g->pool);
	/*
	 * Pinned host memory makes the copies DMA at full speed; without it they
	 * still work.  Only the shared arena (at base): blocks of namespaces with
	 * private arenas never go to the pool, which every client may import.
	 */
	if (g->ops->host_register) {
		r = g->ops->host_register(g->dev, s->arena.base, s->arena.bytes);
		if (r < 0)
			log_warning("gpu: registering the host arena failed (%s), ignoring: "
				    "copies into the pool go slower", strerror(-r));
		else
			g->arena_registered = true;
	}
	log_info("gpu tier: %s (%s%s%s), pool %" PRIu64 " MiB", info.name, info.backend,
		 info.pci_bus_id[0] ? ", " : "", info.pci_bus_id, g->pool_bytes >> 20);
	return 0;
}

void server_gpu_deinit(struct server *s)
{
	struct server_gpu *g = &s->gpu;

	if (!g->ops)
		return;
	/* Copies read the arena and write the pool: both stay until every one is done. */
	while (g->ops->in_flight(g->dev)) {
		struct tier_dev_completion c[GPU_POLL_BATCH];

		if (g->ops->poll(g->dev, c, GPU_POLL_BATCH) == 0) {
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
		}
	}
	if (g->arena_registered && g->ops->host_unregister)
		g->ops->host_unregister(g->dev, s->arena.base);
	if (g->pool)
		g->ops->pool_free(g->pool);
	g->ops->close(g->dev);
	memset(g, 0, sizeof(*g));
}

int server_gpu_copy_in(void *ctx, tier_handle h, uint64_t pool_off, uint64_t host_off,
		       uint64_t len)
{
	struct server *s = ctx;
	struct server_gpu *g = &s->gpu;
	struct tier_dev_copy c = { .dir = TIER_DEV_H2D, .pool_off = pool_off,
				   .host = s->arena.base + host_off, .len = len };

	if (!g->ops)
		return -ENODEV;
	return g->ops->copy_submit(g->dev, g->pool, &c, 1, h);
}

void server_gpu_turn(struct server *s)
{
	struct server_gpu *g = &s->gpu;
	struct tier_dev_completion c[GPU_POLL_BATCH];
	int n;

	if (!g->ops || !g->ops->in_flight(g->dev))
		return;
	n = g->ops->poll(g->dev, c, GPU_POLL_BATCH);
	for (int i = 0; i < n; i++) {
		if (c[i].status < 0)
			log_err("gpu: a copy into the pool failed: %s", strerror(-c[i].status));
		store_gpu_copy_done(&s->store, c[i].cookie, c[i].status);
	}
	if (n > 0)
		s->io_progress = true;
	/* With an NVMe tier, server_nvme_turn retries the parked requests. */
	if (s->io_progress && !s->nvme) {
		s->io_progress = false;
		server_retry_parked(s);
	}
}

int server_gpu_timeout_ms(const struct server *s)
{
	const struct server_gpu *g = &s->gpu;

	return g->ops && g->ops->in_flight(g->dev) ? GPU_POLL_MS : -1;
}

int server_gpu_export(struct server *s, struct tier_msg_gpu_pool_reply *ret, int *ret_fd)
{
	struct server_gpu *g = &s->gpu;
	struct tier_dev_export exp;
	int r;

	if (!g->ops)
		return -ENODEV;
	if (!g->ops->pool_export)
		return -EOPNOTSUPP;
	r = g->ops->pool_export(g->pool, &exp, ret_fd);
	if (r < 0)
		return r;
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->backend, exp.backend, sizeof(ret->backend));
	memcpy(ret->pci_bus_id, exp.pci_bus_id, sizeof(ret->pci_bus_id));
	ret->bytes = exp.bytes;
	return 0;
}
