/* SPDX-License-Identifier: MIT */
/*
 * Built without libmicrohttpd: no HTTP endpoint.  A configured
 * metrics.listen is an error at start, not a silent no-op; `tierctl stats
 * --prometheus` renders the same text either way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "prom.h"
#include "server.h"

#define METRICS_MAX_NS 4096

char *metrics_render(const struct server *s, size_t *ret_len)
{
	static struct tier_ns_info ns[METRICS_MAX_NS];
	struct tier_daemon_status st;
	struct tier_stats stats;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	uint32_t n;

	if (!f)
		return NULL;
	server_fill_stats(s, &stats, NULL, 0);
	n = admin_fill_namespaces(s, ns, METRICS_MAX_NS);
	admin_fill_status(s, &st);
	int r = tier_prom_render(f, &stats, ns, n, &st);

	if (fclose(f) != 0 || r < 0) {
		free(text);
		return NULL;
	}
	*ret_len = len;
	return text;
}

int metrics_init(struct server *s)
{
	if (!s->cfg.metrics_listen[0])
		return 0;
	return log_ret(-EOPNOTSUPP, LOG_ERR,
		       "metrics.listen: this tierd was built without libmicrohttpd; use "
		       "`tierctl stats --prometheus` or rebuild with libmicrohttpd-dev");
}

void metrics_deinit(struct server *s)
{
}

void metrics_turn(struct server *s)
{
}

int metrics_timeout_ms(const struct server *s)
{
	return -1;
}
