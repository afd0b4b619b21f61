/* SPDX-License-Identifier: MIT */
/*
 * Built without libmicrohttpd: no HTTP endpoint.  A configured
 * metrics.listen is an error at start, not a silent no-op; `tierctl stats
 * --prometheus` renders the same text either way.
 */
#include <errno.h>

#include "log.h"
#include "server.h"

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
