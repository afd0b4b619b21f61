/* SPDX-License-Identifier: MIT */
/*
 * The optional Prometheus endpoint: GET /metrics on metrics.listen
 * (loopback only unless metrics.allow_remote), served by libmicrohttpd.
 *
 * Design choice: libmicrohttpd runs in its external-epoll mode, with no
 * thread of its own.  Its epoll descriptor sits in the reactor's epoll set
 * and MHD_run() is called after each reactor turn, so a request is answered
 * on the reactor thread from the same counters tierctl reads, with no lock
 * and no snapshot to publish.  Rendering is a few microseconds; a slow HTTP
 * client cannot block the reactor because MHD's sockets are non-blocking
 * and it keeps at most METRICS_MAX_CONNECTIONS of them.
 *
 * Slow clients cannot keep scrapes out either: one address holds at most
 * METRICS_PER_ADDRESS connections, and each request has METRICS_DEADLINE_MS
 * from its connection (or the end of the previous request on it) to be
 * answered, whatever it sends meanwhile.  MHD's own timeout is one of
 * inactivity, which a header byte every few seconds renews; the deadline is
 * kept here (MHD_OPTION_NOTIFY_CONNECTION gives each connection's socket)
 * and enforced by shutting the socket down, which MHD then closes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "log.h"
#include "prom.h"
#include "server.h"

#define METRICS_MAX_CONNECTIONS 16
#define METRICS_PER_ADDRESS 4
#define METRICS_DEADLINE_MS 5000
#define METRICS_TIMEOUT_S 5

/* A connection MHD holds, and when its current request began. */
struct metrics_conn {
	struct MHD_Connection *c; /* NULL: free */
	int fd;
	uint64_t since_ns;
	bool cut;                 /* shut down at its deadline; MHD closes it */
};

struct metrics_http {
	struct MHD_Daemon *d;
	unsigned long long served;
	struct metrics_conn conn[METRICS_MAX_CONNECTIONS];
};

static void notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			      enum MHD_ConnectionNotificationCode toe)
{
	struct metrics_http *m = cls;
	struct metrics_conn *mc = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (mc)
			mc->c = NULL;
		*socket_context = NULL;
		return;
	}
	for (unsigned i = 0; i < METRICS_MAX_CONNECTIONS; i++) {
		const union MHD_ConnectionInfo *info;

		if (m->conn[i].c)
			continue;
		info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!info)
			return;
		m->conn[i] = (struct metrics_conn){ .c = conn, .fd = info->connect_fd,
						    .since_ns = server_now_ns() };
		*socket_context = &m->conn[i];
		return;
	}
}

/* A request answered: the next one on this connection has its own deadline. */
static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct metrics_conn *mc = info ? info->socket_context : NULL;

	(void)cls;
	(void)con_cls;
	if (mc && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		mc->since_ns = server_now_ns();
}

/* Shut down the connections past their deadline; ms until the next one is due, or -1. */
static int enforce_deadlines(struct metrics_http *m)
{
	uint64_t now = server_now_ns(), deadline = (uint64_t)METRICS_DEADLINE_MS * 1000000ULL;
	int next = -1;

	for (unsigned i = 0; i < METRICS_MAX_CONNECTIONS; i++) {
		struct metrics_conn *mc = &m->conn[i];
		int left;

		if (!mc->c || mc->cut)
			continue;
		if (now - mc->since_ns >= deadline) {
			log_notice("metrics: a request not answered within %d ms: closing its "
				   "connection", METRICS_DEADLINE_MS);
			shutdown(mc->fd, SHUT_RDWR);
			mc->cut = true;
			continue;
		}
		left = (int)((mc->since_ns + deadline - now) / 1000000ULL) + 1;
		if (next < 0 || left < next)
			next = left;
	}
	return next;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned code = MHD_HTTP_OK;
	char *text;
	size_t len;

	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		static char msg[] = "only GET\n";

		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, msg, MHD_RESPMEM_PERSISTENT);
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (strcmp(url, "/metrics") == 0) {
		text = metrics_render(s, &len);
		if (!text)
			return MHD_NO;
		resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
		if (!resp) {
			free(text);
			return MHD_NO;
		}
		MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
		s->metrics->served++;
	} else {
		static char msg[] = "tierd: the metrics are at /metrics\n";

		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, msg, MHD_RESPMEM_PERSISTENT);
		code = MHD_HTTP_NOT_FOUND;
	}
	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = 0;
	log_warning("metrics: %s", line);
}

int metrics_init(struct server *s)
{
	struct sockaddr_storage sa;
	struct epoll_event ev = { .events = EPOLLIN };
	const union MHD_DaemonInfo *info;
	unsigned salen;
	bool loopback;
	struct metrics_http *m;

	if (!s->cfg.metrics_listen[0])
		return 0;
	if (config_parse_listen(s->cfg.metrics_listen, &sa, &salen, &loopback) < 0)
		return log_ret(-EINVAL, LOG_ERR, "metrics.listen: '%s' is not ADDR:PORT",
			       s->cfg.metrics_listen);
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
					(sa.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				0, NULL, NULL, answer, s,
				/* First, so that MHD logs nothing through its own logger. */
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_MAX_CONNECTIONS,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)METRICS_PER_ADDRESS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_TIMEOUT_S,
				MHD_OPTION_NOTIFY_CONNECTION, notify_connection, m,
				MHD_OPTION_NOTIFY_COMPLETED, request_completed, m,
				MHD_OPTION_END);
	if (!m->d) {
		free(m);
		return log_ret(-EADDRNOTAVAIL, LOG_ERR,
			       "metrics.listen: cannot serve HTTP on %s (address in use or not "
			       "local?)", s->cfg.metrics_listen);
	}
	info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);
	ev.data.ptr = m;
	if (!info || epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, info->epoll_fd, &ev) < 0) {
		MHD_stop_daemon(m->d);
		free(m);
		return log_ret(-EIO, LOG_ERR, "metrics: cannot watch the HTTP server's descriptor");
	}
	s->metrics = m;
	log_info("metrics: Prometheus endpoint on http://%s/metrics%s", s->cfg.metrics_listen,
		 loopback ? "" : " (not loopback: metrics.allow_remote is on)");
	return 0;
}

void metrics_deinit(struct server *s)
{
	if (!s->metrics)
		return;
	MHD_stop_daemon(s->metrics->d);
	free(s->metrics);
	s->metrics = NULL;
}

void metrics_turn(struct server *s)
{
	if (s->metrics) {
		MHD_run(s->metrics->d);
		(void)enforce_deadlines(s->metrics);
	}
}

int metrics_timeout_ms(const struct server *s)
{
	MHD_UNSIGNED_LONG_LONG t;
	int next;

	if (!s->metrics)
		return -1;
	next = enforce_deadlines(s->metrics);
	if (MHD_get_timeout(s->metrics->d, &t) == MHD_YES && (next < 0 || t < (unsigned)next))
		next = t > 60000 ? 60000 : (int)t;
	return next;
}
