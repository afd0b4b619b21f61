/* SPDX-License-Identifier: MIT */
/*
 * Counters out: the daemon's plain uint64_t counters copied into the public
 * stats structs of tier.h.  Renderers (tierctl's table, JSON, Prometheus)
 * work from these structs alone, so every output shows the same numbers.
 * A client sees the namespaces it may open (admin_ns_visible); the metrics
 * endpoint sees every one (docs/SECURITY.md says who can reach it).
 */
#include <string.h>
#include <time.h>

#include "build-config.h"
#include "server.h"

uint32_t server_fill_stats_for(const struct server *s, const struct session *viewer,
			       struct tier_stats *st, struct tier_ns_stats *ns, uint32_t max_ns)
{
	const struct store *sto = &s->store;
	struct tier_tier_stats *host;
	struct timespec now;
	uint32_t n = 0;

	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	st->abi_version = TIER_ABI_VERSION;
	clock_gettime(CLOCK_MONOTONIC, &now);
	st->uptime_s = (uint64_t)(now.tv_sec - s->started.tv_sec);
	st->clients = s->n_sessions;
	strncpy(st->version, TIERD_VERSION, sizeof(st->version) - 1);
	strncpy(st->policy_evict, sto->evict->name, sizeof(st->policy_evict) - 1);

	st->n_tiers = 1;
	host = &st->tiers[0];
	strcpy(host->name, "host");
	host->capacity_bytes = sto->host_capacity; /* the shared arena and every private one */
	host->used_bytes = sto->used_bytes;
	host->blocks = sto->host_blocks;
	host->pinned_blocks = sto->pinned_blocks;
	host->hits = sto->c.hits;
	host->misses = sto->c.misses;
	host->evictions = sto->c.evictions;

	if (s->nvme) {
		struct tier_tier_stats *t = &st->tiers[st->n_tiers++];
		const struct store_nv *nv = &sto->nv;
		struct nvme_counters nc;

		nvme_counters(s->nvme, &nc);
		strcpy(t->name, "nvme");
		t->capacity_bytes = nv->capacity;
		t->used_bytes = nv->used_bytes;
		t->blocks = nv->blocks;
		t->hits = nv->hits;
		t->misses = nv->misses;
		t->evictions = nv->evictions;
		t->read_bytes = nc.read_bytes;
		t->write_bytes = nc.write_bytes;
		t->promotions = nv->promotions;
		t->demotions = nv->demotions;
		t->io_errors = nc.io_errors;
		t->checksum_failures = nv->checksum_failures;
		t->queue_depth = nc.inflight;
		t->read_p50_us = nvme_latency_us(s->nvme, NVME_READ, 0.50);
		t->read_p99_us = nvme_latency_us(s->nvme, NVME_READ, 0.99);
		t->write_p50_us = nvme_latency_us(s->nvme, NVME_WRITE, 0.50);
		t->write_p99_us = nvme_latency_us(s->nvme, NVME_WRITE, 0.99);
	}

	if (sto->gpu.on) {
		struct tier_tier_stats *t = &st->tiers[st->n_tiers++];
		const struct store_gpu *g = &sto->gpu;

		strcpy(t->name, "gpu");
		t->capacity_bytes = g->capacity;
		t->used_bytes = g->used_bytes;
		t->blocks = g->blocks;
		t->pinned_blocks = store_gpu_pinned(sto);
		t->hits = g->hits;
		t->misses = g->misses;
		t->evictions = g->evictions;
		t->promotions = g->promotions;
		t->demotions = g->demotions;
		t->io_errors = g->copy_errors;
		t->queue_depth = g->copies_inflight;
	}

	st->ops = (struct tier_op_stats){
		.alloc = sto->c.alloc, .commit = sto->c.commit, .lookup = sto->c.lookup,
		.acquire = sto->c.acquire, .release = sto->c.release, .drop = sto->c.drop,
		.errors = sto->c.errors, .prefetch = sto->c.prefetch, .flush = sto->c.flush,
		.refused_handles = sto->c.refused_handles, .refused_access = sto->c.refused_access,
		.lease_expiries = sto->c.lease_expiries, .io_timeouts = sto->c.io_timeouts,
	};
	st->n_namespaces = 0;
	for (uint32_t i = 0; i < sto->n_ns; i++) {
		const struct ns *x = &sto->ns[i];

		if (!admin_ns_visible(s, viewer, i))
			continue;
		if (st->n_namespaces++ >= max_ns)
			continue;

		memset(&ns[n], 0, sizeof(ns[n]));
		memcpy(ns[n].name, x->name, sizeof(ns[n].name));
		ns[n].id = i;
		ns[n].block_size = x->block_size;
		ns[n].blocks = x->blocks;
		ns[n].hits = x->hits;
		ns[n].misses = x->misses;
		n++;
	}
	return n;
}

uint32_t server_fill_stats(const struct server *s, struct tier_stats *st, struct tier_ns_stats *ns,
			   uint32_t max_ns)
{
	return server_fill_stats_for(s, NULL, st, ns, max_ns);
}
