/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of the remote tier: the cluster client's descriptor in
 * the reactor's epoll set, its turn after each batch of events, and the
 * retry of parked requests when its answers arrive (as NVMe completions do).
 */
#include <sys/epoll.h>

#include "log.h"
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
