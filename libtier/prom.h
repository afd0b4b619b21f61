/* SPDX-License-Identifier: MIT */
/*
 * The Prometheus text exposition of tierd's counters (internal, not
 * installed).  One renderer for `tierctl stats --prometheus` and the
 * daemon's HTTP endpoint: both fill the public structs of tier.h and call
 * this, so the two outputs cannot disagree.  Metric names are part of the
 * API (docs/OPERATIONS.md lists them).
 */
#ifndef TIER_PROM_H
#define TIER_PROM_H

#include <stddef.h>
#include <stdio.h>

#include "tier.h"

/*
 * Write the exposition of s (its tiers, operations), ns[0..n_ns) and, when
 * not NULL, st (daemon status) and lat (NVMe latency histograms) to f.
 * Returns 0 or -EIO.
 */
int tier_prom_render(FILE *f, const struct tier_stats *s, const struct tier_ns_info *ns,
		     size_t n_ns, const struct tier_daemon_status *st,
		     const struct tier_io_latency *lat);
/* The remote tier's families (tierd_remote_*), when r says there is one.  0 or -EIO. */
int tier_prom_render_remote(FILE *f, const struct tier_remote_stats *r);

#endif
