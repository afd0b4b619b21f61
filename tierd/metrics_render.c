/* SPDX-License-Identifier: MIT */
/*
 * The Prometheus text of the daemon's counters (libtier/prom.c renders it):
 * what GET /metrics answers (metrics.c) and what an admin request for it
 * returns, with or without libmicrohttpd.
 */
#include <stdio.h>
#include <stdlib.h>

#include "prom.h"
#include "server.h"

#define METRICS_MAX_NS 4096

char *metrics_render(const struct server *s, size_t *ret_len)
{
	static struct tier_ns_info ns[METRICS_MAX_NS];
	struct tier_daemon_status st;
	struct tier_io_latency lat;
	struct tier_remote_stats rem;
	struct tier_stats stats;
	char *text = NULL;
	size_t len = 0;
	uint32_t n;
	FILE *f;
	int r;

	server_fill_stats(s, &stats, NULL, 0);
	n = admin_fill_namespaces(s, ns, METRICS_MAX_NS);
	admin_fill_status(s, &st);
	admin_fill_latency(s, &lat);
	f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	admin_fill_remote(s, &rem);
	r = tier_prom_render(f, &stats, ns, n, &st, &lat);
	if (r == 0)
		r = tier_prom_render_remote(f, &rem);
	if (fclose(f) != 0 || r < 0) {
		free(text);
		return NULL;
	}
	*ret_len = len;
	return text;
}
