/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of the remote tier: the cluster client's descriptor in
 * the reactor's epoll set, its turn after each batch of events, and the
 * retry of parked requests when its answers arrive (as NVMe completions do).
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "log.h"
#include "remote.h"
#include "remote_tier.h"
#include "server.h"

static void progress(void *ctx)
{
	struct server *s = ctx;

	s->io_progress = true;
	s->remote_progress = true;
}

int server_remote_init(struct server *s)
{
	struct remote_tier_params p = { .cfg = &s->cfg, .st = &s->store, .progress = progress,
					.ctx = s };
	struct epoll_event ev = { .events = EPOLLIN };
	int r = remote_tier_new(&p, &s->store.remote);

	if (r < 0 || !s->store.remote)
		return r;
	ev.data.ptr = s->store.remote;
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, remote_tier_fd(s->store.remote), &ev) < 0)
		return log_ret(-errno, LOG_ERR, "epoll_ctl (remote tier): %m");
	return 0;
}

void server_remote_deinit(struct server *s)
{
	/* Before the store: the answers still outstanding reach it (-ECANCELED). */
	remote_tier_free(s->store.remote);
	s->store.remote = NULL;
}

void server_remote_turn(struct server *s, bool readable)
{
	if (!s->store.remote)
		return;
	remote_tier_turn(s->store.remote, readable);
	/* With an NVMe tier, server_nvme_turn retries the parked requests. */
	if (s->remote_progress && !s->nvme) {
		s->remote_progress = false;
		s->io_progress = false;
		server_retry_parked(s);
	}
	s->remote_progress = false;
}

int server_remote_timeout_ms(const struct server *s)
{
	return s->store.remote ? remote_tier_timeout_ms(s->store.remote) : -1;
}

void admin_fill_remote(const struct server *s, struct tier_remote_stats *out)
{
	const struct remote_tier *rt = s->store.remote;
	const struct remote_tier_counters *c;
	const struct remote_counters *k;

	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	if (!rt)
		return;
	c = remote_tier_counters(rt);
	k = remote_tier_client_counters(rt);
	out->on = 1;
	out->hits = c->hits;
	out->misses = c->misses;
	out->read_bytes = c->bytes_read;
	out->write_bytes = c->bytes_written;
	out->probes = c->probes;
	out->fetches = c->fetches;
	out->writes = c->writes;
	out->writes_skipped = c->writes_skipped;
	out->writes_dropped = c->writes_dropped;
	out->timeouts = k->timeouts;
	out->redirects = k->moved + k->ask;
	out->errors = k->errors;
	out->corrupt = c->corrupt;
	out->no_room = c->fetch_no_room;
	out->slots = remote_tier_slots(rt);
	out->latency_count = k->lat_n;
	out->latency_sum_us = (double)k->lat_ns_sum / 1000.0;
	out->latency_max_us = k->lat_ns_max / 1000;
}
