/* SPDX-License-Identifier: MIT */
/*
 * Things that happen by the clock: pin leases (a client that holds pins and
 * shows no sign of life for daemon.pin_lease loses them) and I/O timeouts
 * (a request parked on NVMe I/O for nvme.io_timeout fails with -ETIMEDOUT
 * rather than hanging its client; the I/O itself stays outstanding, and the
 * block it concerns stays unusable until it completes), handshake deadlines
 * (a connection that has not said HELLO within daemon.handshake_timeout is
 * dropped, so half-open connections cannot hold every slot), and the end of
 * an accept back-off (EMFILE).  Checked at most every TIMER_PERIOD_MS, and
 * only while something could expire.
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

/* Drop a connection that has not said HELLO within daemon.handshake_timeout. */
static void expire_handshake(struct server *s, struct session *se, uint64_t age_ms)
{
	log_notice("client %u (pid %d uid %d): no handshake within %" PRIu64 " ms: "
		   "disconnecting (daemon.handshake_timeout)", se->id, (int)se->cred.pid,
		   (int)se->cred.uid, age_ms);
	s->protocol_errors++;
	session_close(s, se);
}

/* ms until t (at least 1), for a deadline in the future. */
static int ms_until(uint64_t t, uint64_t now)
{
	return (int)((t - now) / 1000000ULL) + 1;
}

int server_timers(struct server *s)
{
	uint64_t now = server_now_ns();
	uint64_t lease_ns = (uint64_t)s->cfg.pin_lease_ms * 1000000ULL;
	uint64_t io_ns = (uint64_t)s->cfg.io_timeout_ms * 1000000ULL;
	uint64_t hs_ns = (uint64_t)s->cfg.handshake_timeout_ms * 1000000ULL;
	bool pending = false;
	int resume = -1;

	/* The listening socket, unwatched since accept ran out of descriptors. */
	if (s->accept_resume_ns) {
		if (now >= s->accept_resume_ns)
			server_accept_resume(s);
		else
			resume = ms_until(s->accept_resume_ns, now);
	}
	if (!lease_ns && !io_ns && !s->n_handshaking)
		return resume;
	if (now < s->next_timer_ns) {
		int left = ms_until(s->next_timer_ns, now);

		if (resume >= 0 && resume < left)
			left = resume;
		/*
		 * Between checks, the reactor's busy loop must not scan every
		 * client: parking marks timers_dirty, a new connection counts in
		 * n_handshaking, so only leases (off by default) need a look at
		 * the holds.
		 */
		if (s->timer_pending || s->timers_dirty || s->n_handshaking)
			return left;
		for (uint32_t i = 0; lease_ns && i < s->n_sessions; i++)
			if (s->live[i]->holder.holds.n)
				return left;
		return resume;
	}
	s->timers_dirty = false;
	s->next_timer_ns = now + (uint64_t)TIMER_PERIOD_MS * 1000000ULL;
	for (uint32_t i = 0; i < s->n_sessions;) {
		struct session *se = s->live[i];

		if (!se->hello_done) {
			if (now - se->accepted_ns > hs_ns) {
				expire_handshake(s, se, (now - se->accepted_ns) / 1000000ULL);
				continue; /* the last live session moved to i */
			}
			pending = true;
		}
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
	if (!pending)
		return resume;
	return resume >= 0 && resume < TIMER_PERIOD_MS ? resume : TIMER_PERIOD_MS;
}
