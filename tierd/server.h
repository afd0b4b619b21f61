/* SPDX-License-Identifier: MIT */
/* The daemon object: config, host arena, store, listening socket, clients, reactor. */
#ifndef TIERD_SERVER_H
#define TIERD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "config.h"
#include "host.h"
#include "nvme.h"
#include "proto.h"
#include "ring.h"
#include "spin.h"
#include "store.h"

/* The daemon's end of a client's rings (ring.c). */
struct ring {
	int memfd;                  /* passed to the client */
	int doorbell;               /* eventfd the client writes when we are idle */
	struct tier_ring_seg *seg;  /* shared: read every field as untrusted */
	size_t bytes;
	struct tier_sqe *sq;        /* our own pointers, from our own geometry */
	struct tier_ring_cqe *cq;
	uint8_t *data;
	uint32_t sq_head, cq_tail;  /* our copies of the indices we own */
	struct tier_sqe *parked;    /* entries waiting for I/O */
	uint64_t *parked_at;        /* when each began waiting */
	uint32_t n_parked, cap_parked;
	bool posted;                /* completions posted since the last wake check */
};

struct session {
	int fd;
	uint32_t live;         /* index in server.live */
	struct ring ring;
	uint32_t id;
	uint32_t index;        /* in server.sessions */
	bool hello_done;
	bool maps_arenas;          /* HELLO said TIER_HELLO_ARENAS */
	uint32_t bad_msgs;     /* consecutive malformed requests */
	struct ucred cred;     /* SO_PEERCRED at accept */
	gid_t groups[32];      /* SO_PEERGROUPS: its supplementary groups */
	uint32_t n_groups;
	uint64_t accepted_ns;    /* when it connected (daemon.handshake_timeout) */
	uint64_t last_active_ns; /* its last request (pin leases) */
	uint64_t parked_at_ns;   /* when its parked request began waiting */
	char name[TIER_CLIENT_NAME_MAX + 1];
	struct holder holder;
	uint64_t ops;
	/* A request waiting for I/O; at most one, since a socket client waits for its reply. */
	bool parked;
	uint8_t parked_msg[sizeof(struct tier_msg_hdr) + sizeof(struct tier_msg_key)];
	size_t parked_len;
	/* A longer parked request (a lookup waiting on the remote tier): TIER_MSG_MAX bytes. */
	uint8_t *parked_long;
	/* tier_flush progress */
	int flush_stage;
	uint32_t flush_ns;
	uint64_t flush_epoch, flush_io_errors, flush_target, flush_jerrors;
	uint64_t flush_remote_mark; /* remote writes submitted before the flush */
	bool fsync_done;
	int fsync_res;
};

/* The parked request's bytes (parked_len of them). */
static inline const uint8_t *session_parked(const struct session *se)
{
	return se->parked_len > sizeof(se->parked_msg) ? se->parked_long : se->parked_msg;
}

struct tier_dev;
struct tier_dev_ops;
struct tier_dev_pool;

/* The device tier (T0): the back end, the pool, what a client needs to import it. */
struct server_gpu {
	const struct tier_dev_ops *ops; /* NULL: no GPU tier */
	struct tier_dev *dev;
	struct tier_dev_pool *pool;
	uint64_t pool_bytes;
	char backend[16];
	char pci_bus_id[16];
	bool arena_registered;
};

struct server {
	struct tierd_config cfg;
	struct host_arena arena;
	struct store store;
	int listen_fd;
	int epoll_fd;
	int signal_fd;
	struct session **sessions; /* max_clients entries */
	uint32_t n_sessions;
	struct session **live;     /* the connected sessions, packed (n_sessions) */
	uint64_t last_work_ns;     /* last time a ring had work: spin a while after */
	struct spin_gate gate;     /* whether spinning is worth it now (libtier/spin.c) */
	uint32_t next_client_id;
	struct timespec started;
	bool stopping;
	uint64_t protocol_errors;  /* malformed messages, disconnects for cause */
	uint32_t n_handshaking;    /* connected sessions without HELLO yet */
	uint64_t accept_resume_ns; /* the listening socket is not watched until then (EMFILE); 0 */
	struct nvme_engine *nvme;  /* NULL without an NVMe tier */
	uint32_t n_parked;
	bool io_progress;          /* completions arrived: parked requests may go on */
	const void *jbuf;          /* journal batch being written */
	int old_jfd;               /* the journal before the last compaction while running, or -1 */
	double jcompact_after;     /* no compaction before this (monotonic s): after a failure */
	bool shutdown_synced;
	uint64_t next_timer_ns;    /* timers.c */
	bool timer_pending;        /* the last check found something that may expire */
	bool timers_dirty;         /* a request parked since the last check */
	/* Operations: reload (reload.c), metrics endpoint (metrics.c). */
	const char *config_path;          /* -c FILE, reread on SIGHUP; NULL: none */
	const char *const *overrides;     /* -o assignments, applied again on SIGHUP */
	int n_overrides;
	uint64_t reloads, reload_failures;
	struct metrics_http *metrics;     /* NULL without metrics.listen */
	struct server_gpu gpu;
	bool remote_progress;      /* the remote tier answered since its last turn */
};

struct store_io server_store_io(struct server *s);

/* Apply the [ns.NAME] rules in force to the namespaces that exist (quotas, salts). */
void server_apply_ns_rules(struct server *s, bool at_start);
/* Leases and I/O timeouts: cheap unless one is due.  Returns the ms until the next check, or -1. */
int server_timers(struct server *s);
/* Watch the listening socket again (after an EMFILE back-off). */
void server_accept_resume(struct server *s);
uint64_t server_now_ns(void);

/* ring.c */
int ring_create(struct ring *r, uint64_t block_max);
void ring_destroy(struct ring *r);
/* Consume and answer submissions: how many, or -EBADMSG for a corrupt ring. */
int ring_poll(struct server *s, struct session *se);
/* Try the parked entries again (after I/O completions). */
void ring_retry(struct server *s, struct session *se);
/* Fail parked entries waiting since before deadline_ns with -ETIMEDOUT. */
void ring_expire(struct server *s, struct session *se, uint64_t deadline_ns);
bool ring_pending(const struct ring *r);
void ring_set_idle(struct ring *r, bool idle);

/* max_clients as RLIMIT_NOFILE allows (say: log when lowered). */
uint32_t server_clients_fit(uint32_t want, bool say);

/* Create everything (arena, store, socket).  0 or a negative errno (logged). */
int server_init(struct server *s, const struct tierd_config *cfg);
/* Run the reactor until SIGTERM/SIGINT.  0 or a negative errno. */
int server_run(struct server *s);
void server_deinit(struct server *s);

/* session.c */
/* Read and answer what the client sent.  false: the session must be closed. */
bool session_handle_input(struct server *s, struct session *se);
void session_close(struct server *s, struct session *se);
/* Try a parked request again; false: the session must be closed. */
bool session_retry(struct server *s, struct session *se);
/* Fail the parked request with -ETIMEDOUT; false: the session must be closed. */
bool session_expire(struct server *s, struct session *se);

/* recovery.c-side helpers in server_nvme.c */
int server_nvme_init(struct server *s);
void server_nvme_deinit(struct server *s);
/* After each reactor turn: completions, parked requests, demotion, journal, submit. */
void server_nvme_turn(struct server *s);
/* Write back everything only in host memory, sync, compact the journal (SIGTERM). */
void server_nvme_shutdown(struct server *s);

/* server_nvme.c: answer parked requests again after I/O progress. */
void server_retry_parked(struct server *s);

/* server_gpu.c: the device tier (T0). */
/* Open the back end gpu.device names and allocate the pool; 0 with none configured. */
int server_gpu_init(struct server *s);
void server_gpu_deinit(struct server *s);
/* Each reactor turn: completions to the store; parked requests retried (without NVMe). */
void server_gpu_turn(struct server *s);
/* How long the reactor may sleep: -1 forever, or a short poll while copies are in flight. */
int server_gpu_timeout_ms(const struct server *s);
/* The store's copy hook. */
int server_gpu_copy_in(void *ctx, tier_handle h, uint64_t pool_off, uint64_t host_off,
		       uint64_t len);
/* Export the pool for a client: the reply body and a new fd (the caller closes it). */
int server_gpu_export(struct server *s, struct tier_msg_gpu_pool_reply *ret, int *ret_fd);

/* server_remote.c: the remote tier (T3), when remote.cluster names one. */
int server_remote_init(struct server *s);
void server_remote_deinit(struct server *s);
/* After each batch of events (readable: its descriptor was ready). */
void server_remote_turn(struct server *s, bool readable);
int server_remote_timeout_ms(const struct server *s);

/* admin.c: the administration messages, and the fill functions they share with metrics. */
bool admin_is_admin(uint16_t type);
/* Whether se may change what other clients see (root or the daemon's own uid). */
bool admin_may_change(const struct session *se);
/*
 * Whether namespace id exists and viewer may see it in STATS, NAMESPACES:
 * admins see every one, any client those its [ns.NAME] rule lets it open.
 * viewer NULL: every namespace (the metrics endpoint; docs/SECURITY.md).
 */
bool admin_ns_visible(const struct server *s, const struct session *viewer, uint32_t id);
/* Answer one valid admin request: its status; the reply body is out[0..*ret_len). */
int admin_handle(struct server *s, struct session *se, uint16_t type, const void *body, void *out,
		 size_t outmax, size_t *ret_len);
void admin_fill_status(const struct server *s, struct tier_daemon_status *st);
void admin_fill_latency(const struct server *s, struct tier_io_latency *l);
/* server_remote.c: the remote tier's counters (all zero without one). */
void admin_fill_remote(const struct server *s, struct tier_remote_stats *r);
uint32_t admin_fill_clients(const struct server *s, struct tier_client_info *out, uint32_t max);
uint32_t admin_fill_namespaces(const struct server *s, struct tier_ns_info *out, uint32_t max);
/* Only the namespaces viewer may see (admin_ns_visible). */
uint32_t admin_fill_namespaces_for(const struct server *s, const struct session *viewer,
				   struct tier_ns_info *out, uint32_t max);
/* The private arenas (namespace, start, size, used). */
uint32_t admin_fill_arenas(const struct server *s, struct tier_arena_info *out, uint32_t max);
/* Give the socket at path to group (daemon.socket_group); a missing group is a warning. */
int admin_socket_group(const char *path, const char *group);
/* The id of group (logged when there is none): 0 or -ENOENT. */
int admin_socket_gid(const char *group, gid_t *ret_gid);

/* reload.c: SIGHUP */
void reload_set_source(struct server *s, const char *path, const char *const *overrides, int n);
/* Reread the config; apply what can change live, log what needs a restart. */
void reload_config(struct server *s);
/* A one-line summary for sd_notify STATUS=. */
void server_status_line(const struct server *s, char *buf, size_t len);

/* metrics.c: the optional HTTP endpoint (metrics.listen). */
int metrics_init(struct server *s);
void metrics_deinit(struct server *s);
/* Serve what is ready; call after every reactor turn.  Cheap without an endpoint. */
void metrics_turn(struct server *s);
/* How long the reactor may sleep for the endpoint's timeouts (-1: forever). */
int metrics_timeout_ms(const struct server *s);
/* The Prometheus text of the daemon's counters, malloc'ed (*ret_len bytes). */
char *metrics_render(const struct server *s, size_t *ret_len);

/* stats.c: fill the public stats structs; returns namespace entries written. */
uint32_t server_fill_stats(const struct server *s, struct tier_stats *st, struct tier_ns_stats *ns,
			   uint32_t max_ns);
/* Only the namespaces viewer may see (admin_ns_visible), counted in n_namespaces too. */
uint32_t server_fill_stats_for(const struct server *s, const struct session *viewer,
			       struct tier_stats *st, struct tier_ns_stats *ns, uint32_t max_ns);

#endif
