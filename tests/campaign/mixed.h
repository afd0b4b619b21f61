/* SPDX-License-Identifier: MIT */
/* The mixed client workload that chaos, faults and soak run in many processes. */
#ifndef TIER_CAMPAIGN_MIXED_H
#define TIER_CAMPAIGN_MIXED_H

#include "campaign.h"

struct mixed_cfg {
	struct camp_counters *cnt;
	const char *sock;
	const char *ns_name;
	size_t bs;
	uint64_t space;        /* key space id */
	uint64_t n_keys;       /* keys are ck_key(space, 0 .. n_keys-1) */
	bool nvme;             /* prefetch and flush make sense */
	bool allow_eio;        /* faults: -EIO is an expected answer */
	bool socket_some;      /* half the processes use TIER_TRANSPORT=socket */
	double until;          /* camp_now() deadline; also stops on cnt->stop */
	unsigned max_held;     /* pins kept across operations (killed while held) */
};

/* A client process: mixed operations until the deadline; 0 unless it saw wrong bytes. */
int mixed_worker(void *arg, uint64_t seed);

#endif
