/* SPDX-License-Identifier: MIT */
/*
 * Things that happen by the clock: pin leases (a client that holds pins and
 * shows no sign of life for daemon.pin_lease loses them) and I/O timeouts
 * (a request parked on NVMe I/O for nvme.io_timeout fails with -ETIMEDOUT
 * rather than hanging its client; the I/O itself stays outstanding, and the
 * block it concerns stays unusable until it completes).  Checked at most
 * every TIMER_PERIOD_MS, and only while something could expire.
 */
#include <inttypes.h>

#include "log.h"
#include "server.h"

#define TIMER_PERIOD_MS 100

static void expire_lease(struct server *s, struct session *se, uint64_t idle_ms)
{
	log_warning("client %u (pid %d, %s): no sign of life for %" PRIu64 " ms: releasing "
		    "%" PRIu64 " pins and its unfinished blocks (daemon.pin_lease)",
		    se->id, (int)se->cred.pid, se->name, idle_ms, se->holder.pins);
	store_holder_release_all(&s->store, &se->holder);
	u32map_init(&se->holder.holds);
	s->store.c.lease_expiries++;
}

int server_timers(struct server *s)
{
	uint64_t now = server_now_ns();
	uint64_t lease_ns = (uint64_t)s->cfg.pin_lease_ms * 1000000ULL;
	uint64_t io_ns = (uint64_t)s->cfg.io_timeout_ms * 1000000ULL;
	bool pending = false;

	if (!lease_ns && !io_ns)
		return -1;
	if (now < s->next_timer_ns) {
		int left = (int)((s->next_timer_ns - now) / 1000000ULL) + 1;

		/*
		 * Between checks, the reactor's busy loop must not scan every
		 * client: parking marks timers_dirty, so only leases (off by
		 * default) need a look at the holds.
		 */
		if (s->timer_pending || s->timers_dirty)
			return left;
		for (uint32_t i = 0; lease_ns && i < s->n_sessions; i++)
			if (s->live[i]->holder.holds.n)
				return left;
		return -1;
	}
	s->timers_dirty = false;
	s->next_timer_ns = now + (uint64_t)TIMER_PERIOD_MS * 1000000ULL;
	for (uint32_t i = 0; i < s->n_sessions;) {
		struct session *se = s->live[i];

		if (lease_ns && se->holder.holds.n) {
			if (now - se->last_active_ns > lease_ns)
				expire_lease(s, se, (now - se->last_active_ns) / 1000000ULL);
			else
				pending = true;
		}
		if (io_ns && se->ring.n_parked) {
			ring_expire(s, se, now - io_ns);
			pending |= se->ring.n_parked > 0;
		}
		if (io_ns && se->parked) {
			if (now - se->parked_at_ns > io_ns && !session_expire(s, se)) {
				session_close(s, se); /* the last live session moved to i */
				continue;
			}
			pending |= se->parked;
		}
		i++;
	}
	s->timer_pending = pending;
	return pending ? TIMER_PERIOD_MS : -1;
}
