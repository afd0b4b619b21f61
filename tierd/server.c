/* SPDX-License-Identifier: MIT */
/*
 * The reactor.  One thread owns all metadata and waits in epoll on the
 * listening socket, a signalfd and every client socket; there are no locks
 * because there is nothing to share.  A client's hang-up (its process
 * exited or was killed) arrives as EPOLLHUP/EOF and releases everything it
 * held.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fsuid.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "build-config.h"
#include "log.h"
#include "server.h"

#define LISTEN_BACKLOG 128
#define EPOLL_BATCH 64

/* epoll tags for the two non-client descriptors. */
static _Alignas(8) char tag_listen, tag_signal;

static int make_parent_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * Bind the control socket.  Only a socket is ever removed from path (one a
 * dead daemon left); anything else there (a file the path names by mistake,
 * or a link) is refused.  The node is created mode 0660 and, where the
 * daemon may (root: setfsgid), with daemon.socket_group as its group: its
 * mode comes from the descriptor (fchmod before bind) and a umask of 0117
 * for the bind, so no chmod by path follows bind; a chown by path (a daemon
 * that may not setfsgid) follows no link and only touches a socket.
 */
static int listen_socket(const char *path, const char *group)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	gid_t gid = (gid_t)-1;
	mode_t old_mask;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_ret(-ENAMETOOLONG, LOG_ERR, "daemon.socket: path too long");
	strcpy(sa.sun_path, path);
	r = make_parent_dir(path);
	if (r < 0)
		return log_ret(r, LOG_ERR, "daemon.socket: cannot create the directory of %s: %s",
			       path, strerror(-r));
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
		return log_ret(-EEXIST, LOG_ERR,
			       "daemon.socket: %s exists and is not a socket: refusing to remove "
			       "it (remove it yourself or choose another path)", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_ret(-errno, LOG_ERR, "socket: %m");

	/* A socket file left by a dead daemon is removed; a live daemon is not displaced. */
	int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			close(fd);
			return log_ret(-EADDRINUSE, LOG_ERR,
				       "daemon.socket: another tierd is serving %s", path);
		}
		close(probe);
		/* Still a socket (the check above is a moment old): remove it. */
		if (errno == ECONNREFUSED && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(path);
	}
	if (fchmod(fd, 0660) < 0)
		log_warning("daemon.socket: fchmod: %m");
	if (group[0] && admin_socket_gid(group, &gid) == 0) {
		/* Created with the group's id when we may; else chowned below. */
		(void)setfsgid(gid);
		if ((gid_t)setfsgid((gid_t)-1) == gid)
			gid = (gid_t)-1;
	}
	old_mask = umask(0117);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old_mask);
	(void)setfsgid(getegid());
	if (r < 0) {
		close(fd);
		return log_ret(r, LOG_ERR, "daemon.socket: bind %s: %s", path, strerror(-r));
	}
	if (gid != (gid_t)-1)
		(void)admin_socket_group(path, group);
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		r = -errno;
		close(fd);
		return log_ret(r, LOG_ERR, "listen %s: %s", path, strerror(-r));
	}
	return fd;
}

static int signal_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

static uint64_t random_seed(void)
{
	uint64_t seed = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		(void)!read(fd, &seed, sizeof(seed));
		close(fd);
	}
	return seed ^ (uint64_t)getpid() ^ (uint64_t)time(NULL);
}

/*
 * Descriptors: each client holds three (its socket, its ring's memfd and
 * doorbell); the daemon's own (arenas, epoll, signals, the NVMe devices,
 * journal and io_uring, the metrics endpoint and its connections, a GPU
 * back end, a connection accepted only to be refused) stay within
 * FDS_RESERVED.  The soft RLIMIT_NOFILE is raised to the hard one (a daemon
 * started by hand gets 1024), and max_clients lowered to what then fits, so
 * accept never runs out while the daemon is within its limits.
 */
#define FDS_PER_CLIENT 3
#define FDS_RESERVED 128

uint32_t server_clients_fit(uint32_t want, bool say)
{
	struct rlimit rl;
	uint64_t fit;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return want;
	fit = rl.rlim_cur > FDS_RESERVED + FDS_PER_CLIENT
		? (rl.rlim_cur - FDS_RESERVED) / FDS_PER_CLIENT : 1;
	if (fit >= want)
		return want;
	if (say)
		log_warning("daemon.max_clients %u lowered to %llu: RLIMIT_NOFILE is %llu and each "
			    "client takes %d descriptors (raise LimitNOFILE= or ulimit -n)", want,
			    (unsigned long long)fit, (unsigned long long)rl.rlim_cur,
			    FDS_PER_CLIENT);
	return (uint32_t)fit;
}

static void fit_fd_limit(struct server *s)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		struct rlimit want = { .rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max };

		if (setrlimit(RLIMIT_NOFILE, &want) < 0)
			log_warning("RLIMIT_NOFILE: cannot raise %llu to %llu: %m",
				    (unsigned long long)rl.rlim_cur,
				    (unsigned long long)rl.rlim_max);
	}
	s->cfg.max_clients = server_clients_fit(s->cfg.max_clients, true);
}

int server_init(struct server *s, const struct tierd_config *cfg)
{
	static struct store_arena arenas[HOST_REGIONS_MAX];
	struct store_params sp;
	struct epoll_event ev = { .events = EPOLLIN };
	int r;

	memset(s, 0, sizeof(*s));
	s->listen_fd = s->epoll_fd = s->signal_fd = -1;
	s->cfg = *cfg;
	s->arena.fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	spin_gate_init(&s->gate);

	r = host_arena_init(&s->arena, &s->cfg);
	if (r < 0)
		goto fail;
	r = server_gpu_init(s);
	if (r < 0)
		goto fail;
	for (uint32_t i = 1; i < s->arena.n_regions; i++) {
		const struct host_region *g = &s->arena.region[i];

		memcpy(arenas[i - 1].ns, g->ns, sizeof(arenas[i - 1].ns));
		arenas[i - 1].start = g->start;
		arenas[i - 1].bytes = g->bytes;
	}
	sp = (struct store_params){
		.arena_bytes = s->arena.bytes,
		.arenas = arenas,
		.n_arenas = s->arena.n_regions - 1,
		.arena = s->arena.base,
		.max_namespaces = s->cfg.max_namespaces,
		.evict = tier_evict_find(s->cfg.policy_evict),
		.prefetch = tier_prefetch_find(s->cfg.policy_prefetch),
		.seed = random_seed(),
		.nv_devs = s->cfg.nvme_n_paths,
		.nv_dev_bytes = s->cfg.nvme_n_paths ? s->cfg.nvme_bytes / s->cfg.nvme_n_paths : 0,
		.nv_evict = tier_evict_find(s->cfg.policy_nvme_evict),
		.nv_admit = tier_admit_find(s->cfg.policy_admit),
		.nv_demote_max = s->cfg.nvme_queue_depth,
		.high_pct = s->cfg.high_watermark,
		.low_pct = s->cfg.low_watermark,
		.gpu_bytes = s->gpu.pool_bytes,
		.gpu_evict = tier_evict_find("lru"),
		.io = server_store_io(s),
		.verify = s->cfg.host_verify,
		.client_max_writing = s->cfg.client_max_writing,
		.client_max_pinned = config_client_max_pinned(&s->cfg, s->arena.bytes),
	};
	r = store_init(&s->store, &sp);
	if (r < 0) {
		log_err("creating the block store: %s", strerror(-r));
		goto fail;
	}
	fit_fd_limit(s);
	s->sessions = calloc(s->cfg.max_clients, sizeof(*s->sessions));
	s->live = calloc(s->cfg.max_clients, sizeof(*s->live));
	if (!s->sessions || !s->live) {
		r = -ENOMEM;
		goto fail;
	}
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epoll_fd < 0) {
		r = log_ret(-errno, LOG_ERR, "epoll_create1: %m");
		goto fail;
	}
	r = signal_fd();
	if (r < 0) {
		log_err("signalfd: %s", strerror(-r));
		goto fail;
	}
	s->signal_fd = r;
	ev.data.ptr = &tag_signal;
	epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->signal_fd, &ev);

	r = server_nvme_init(s);
	if (r < 0)
		goto fail;
	/* Namespaces the NVMe journal brought back get their rules (salts first of all). */
	server_apply_ns_rules(s, true);

	r = listen_socket(s->cfg.socket, s->cfg.socket_group);
	if (r < 0)
		goto fail;
	s->listen_fd = r;
	ev.data.ptr = &tag_listen;
	epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->listen_fd, &ev);

	r = server_remote_init(s);
	if (r < 0)
		goto fail;
	r = metrics_init(s);
	if (r < 0)
		goto fail;
	return 0;
fail:
	server_deinit(s);
	return r;
}

/*
 * A namespace whose [ns.NAME] pins a block size exists from start (and again
 * right after tierctl ns-delete), so nobody can take its name with another
 * size first and its size classes are taken before any client's.  One that
 * the journal brought back with another size was a squatter's (or an older
 * config's): at start its blocks go; while running, the operator decides
 * (tierctl ns-delete NAME).
 */
static void ns_make_configured(struct server *s, const struct ns_rule *r, bool at_start)
{
	struct store *st = &s->store;
	uint32_t id;
	int e;

	if (store_ns_find(st, r->name, &id) == 0 && st->ns[id].block_size != r->block_size) {
		if (!at_start) {
			log_warning("ns.%s.block_size: the namespace exists with block size %llu, not "
				    "%llu: it keeps its size until tierctl ns-delete %s", r->name,
				    (unsigned long long)st->ns[id].block_size,
				    (unsigned long long)r->block_size, r->name);
			return;
		}
		log_notice("ns.%s.block_size: the journal had it with block size %llu, not %llu: "
			   "deleting it (%d blocks)", r->name,
			   (unsigned long long)st->ns[id].block_size,
			   (unsigned long long)r->block_size, store_ns_delete(st, id));
	}
	e = store_ns_open(st, r->name, r->block_size, &id);
	if (e < 0) {
		log_warning("ns.%s.block_size: cannot create the namespace with block size %llu: %s",
			    r->name, (unsigned long long)r->block_size, strerror(-e));
		return;
	}
	st->ns[id].configured = true;
}

void server_apply_ns_rules(struct server *s, bool at_start)
{
	for (uint32_t id = 0; id < s->store.n_ns; id++)
		s->store.ns[id].configured = false;
	for (uint32_t i = 0; i < s->cfg.ns_rules.n; i++) {
		const struct ns_rule *r = &s->cfg.ns_rules.r[i];

		if (r->block_size)
			ns_make_configured(s, r, at_start);
		for (uint32_t id = 0; id < s->store.n_ns; id++)
			if (!s->store.ns[id].deleted && strcmp(s->store.ns[id].name, r->name) == 0)
				store_ns_configure(&s->store, id, nsrule_restricted(r),
						   r->quota_host, r->quota_nvme, r->salt, at_start);
	}
}

/*
 * Whether a new connection from cred may take a slot: every uid shares
 * max_clients less reserved_clients, and none may hold more than
 * max_clients_per_uid; root and the daemon's own user are exempt from both,
 * so the operator's tierctl gets in while other users fill the rest.
 */
static bool admit_client(const struct server *s, const struct ucred *cred)
{
	const struct tierd_config *c = &s->cfg;
	uint32_t reserved = c->reserved_clients < c->max_clients / 2 ? c->reserved_clients
								       : c->max_clients / 2;
	uint32_t same = 0;

	if (s->n_sessions >= c->max_clients) {
		log_warning("daemon.max_clients (%u) reached: refusing a client (pid %d uid %d)",
			    c->max_clients, (int)cred->pid, (int)cred->uid);
		return false;
	}
	if (cred->uid == 0 || cred->uid == geteuid())
		return true;
	if (s->n_sessions >= c->max_clients - reserved) {
		log_warning("daemon.max_clients (%u) reached but for the %u kept for root and the "
			    "daemon's user: refusing a client (pid %d uid %d)", c->max_clients,
			    reserved, (int)cred->pid, (int)cred->uid);
		return false;
	}
	if (!c->max_clients_per_uid)
		return true;
	for (uint32_t i = 0; i < s->n_sessions; i++)
		same += s->live[i]->cred.uid == cred->uid;
	if (same >= c->max_clients_per_uid) {
		log_warning("daemon.max_clients_per_uid (%u) reached by uid %d: refusing a client "
			    "(pid %d)", c->max_clients_per_uid, (int)cred->uid, (int)cred->pid);
		return false;
	}
	return true;
}

/*
 * Out of descriptors, accept() fails at once and the listening socket stays
 * readable (epoll is level-triggered): stop watching it for a while rather
 * than spin, and let the timers (server_timers) watch it again.
 */
#define ACCEPT_BACKOFF_MS 100

static void accept_back_off(struct server *s, int err)
{
	struct epoll_event ev = { .events = 0, .data.ptr = &tag_listen };

	log_warning("accept: %s with %u clients: not accepting for %d ms", strerror(err),
		    s->n_sessions, ACCEPT_BACKOFF_MS);
	epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, s->listen_fd, &ev);
	s->accept_resume_ns = server_now_ns() + ACCEPT_BACKOFF_MS * 1000000ULL;
}

void server_accept_resume(struct server *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &tag_listen };

	s->accept_resume_ns = 0;
	epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, s->listen_fd, &ev);
}

static void accept_clients(struct server *s)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
		struct ucred cred = { .pid = -1, .uid = (uid_t)-1, .gid = (gid_t)-1 };
		struct session *se;
		socklen_t len = sizeof(cred);
		uint32_t slot;
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				accept_back_off(s, errno);
			else if (errno != EAGAIN && errno != EINTR)
				log_warning("accept: %m");
			return;
		}
		/* Unknown credentials count as a stranger's. */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
			cred = (struct ucred){ .pid = -1, .uid = (uid_t)-1, .gid = (gid_t)-1 };
		if (!admit_client(s, &cred)) {
			close(fd);
			continue;
		}
		for (slot = 0; s->sessions[slot]; slot++)
			;
		se = calloc(1, sizeof(*se));
		if (!se) {
			close(fd);
			continue;
		}
		se->fd = fd;
		se->id = ++s->next_client_id;
		se->index = slot;
		se->cred = cred;
		len = sizeof(se->groups);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, se->groups, &len) == 0)
			se->n_groups = len / sizeof(gid_t);
		store_holder_init(&se->holder, se->id);
		se->holder.ns_ok = calloc((s->cfg.max_namespaces + 7) / 8, 1);
		se->accepted_ns = se->last_active_ns = server_now_ns();
		if (!se->holder.ns_ok) {
			close(fd);
			free(se);
			continue;
		}
		ev.data.ptr = se;
		if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(se->holder.ns_ok);
			free(se);
			continue;
		}
		s->sessions[slot] = se;
		se->live = s->n_sessions;
		s->live[s->n_sessions++] = se;
		s->n_handshaking++; /* its handshake deadline: server_timers */
	}
}

static void handle_signals(struct server *s)
{
	struct signalfd_siginfo si;

	while (read(s->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info("signal %s: shutting down",
				 si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			s->stopping = true;
			break;
		case SIGHUP:
			reload_config(s);
			break;
		default:
			break;
		}
	}
}

uint64_t server_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#define now_ns server_now_ns

/* Serve every client's ring once.  True if any had work. */
static bool poll_rings(struct server *s)
{
	bool work = false;

	for (uint32_t i = 0; i < s->n_sessions;) {
		struct session *se = s->live[i];
		int r = ring_poll(s, se);

		if (r < 0) {
			log_notice("client %u (pid %d): corrupt ring, disconnecting", se->id,
				   (int)se->cred.pid);
			s->protocol_errors++;
			session_close(s, se); /* the last live session moved to i */
			continue;
		}
		work |= r > 0;
		i++;
	}
	return work;
}

/*
 * How long epoll may sleep.  While rings are busy the reactor polls (0);
 * after RING_SPIN_NS without ring work, or at once when the spin gate says
 * the machine has more runnable tasks than CPUs (libtier/spin.c: spinning
 * would take the CPU a client is queued for), it tells every client it is
 * going idle, checks once more (a client may have submitted just before
 * seeing the flag: the fences on both sides make one of them see the
 * other), and sleeps until a socket, a doorbell or an I/O completion wakes
 * it.
 */
#define RING_SPIN_NS 200000

static bool any_ring_pending(struct server *s)
{
	for (uint32_t i = 0; i < s->n_sessions; i++)
		if (ring_pending(&s->live[i]->ring))
			return true;
	return false;
}

static int sleep_timeout(struct server *s)
{
	uint64_t now = now_ns();

	if (now - s->last_work_ns < RING_SPIN_NS && spin_gate_open(&s->gate, now)) {
		/*
		 * Spin on the ring tails with pause, not on epoll: no system call,
		 * and a sibling hyperthread (a client copying bytes) keeps its speed.
		 * epoll is still looked at every so often for sockets and I/O.
		 */
		for (int i = 0; i < 256 && !any_ring_pending(s); i++)
			__builtin_ia32_pause();
		return 0;
	}
	for (uint32_t i = 0; i < s->n_sessions; i++)
		ring_set_idle(&s->live[i]->ring, true);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (uint32_t i = 0; i < s->n_sessions; i++)
		if (ring_pending(&s->live[i]->ring)) {
			for (uint32_t j = 0; j < s->n_sessions; j++)
				ring_set_idle(&s->live[j]->ring, false);
			return 0;
		}
	return -1;
}

int server_run(struct server *s)
{
	struct epoll_event evs[EPOLL_BATCH];

	sd_notifyf(0, "READY=1\nSTATUS=serving %s, host tier %llu MiB", s->cfg.socket,
		   (unsigned long long)(s->arena.bytes >> 20));
	log_info("tierd %s ready on %s (policy %s)", TIERD_VERSION, s->cfg.socket,
		 s->store.evict->name);
	while (!s->stopping) {
		int timeout = sleep_timeout(s), mt = metrics_timeout_ms(s);
		bool idle = timeout < 0; /* the rings were told we sleep */
		bool remote_ready = false;
		int n;

		if (mt >= 0 && (timeout < 0 || mt < timeout))
			timeout = mt;
		mt = server_timers(s);
		if (mt >= 0 && (timeout < 0 || mt < timeout))
			timeout = mt;
		mt = server_gpu_timeout_ms(s);
		if (mt >= 0 && (timeout < 0 || mt < timeout))
			timeout = mt;
		mt = server_remote_timeout_ms(s);
		if (mt >= 0 && (timeout < 0 || mt < timeout))
			timeout = mt;
		n = epoll_wait(s->epoll_fd, evs, EPOLL_BATCH, timeout);
		if (idle)
			for (uint32_t i = 0; i < s->n_sessions; i++)
				ring_set_idle(&s->live[i]->ring, false);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return log_ret(-errno, LOG_ERR, "epoll_wait: %m");
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &tag_listen) {
				accept_clients(s);
			} else if (p == &tag_signal) {
				handle_signals(s);
			} else if (p == (void *)s->nvme) {
				/* completions: reaped in server_nvme_turn below */
			} else if ((uintptr_t)p & 1) {
				/*
				 * A doorbell: the rings are polled below.  It is edge-triggered
				 * (session.c), so it is never read: a wake-up costs the client's
				 * write and nothing here.
				 */
			} else if (p == (void *)s->metrics) {
				/* HTTP: served in metrics_turn below */
			} else if (p == (void *)s->store.remote) {
				remote_ready = true; /* served in server_remote_turn below */
			} else {
				struct session *se = p;
				bool keep = true;

				if (evs[i].events & EPOLLIN)
					keep = session_handle_input(s, se);
				/* Read what is left before acting on a hang-up. */
				if (keep && (evs[i].events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)))
					keep = false;
				if (!keep) {
					session_close(s, se);
					/* A doorbell event of it later in this batch must not be used. */
					for (int j = i + 1; j < n; j++)
						if (evs[j].data.ptr == (void *)((uintptr_t)se | 1))
							evs[j].data.ptr = &tag_listen;
				}
			}
		}
		if (poll_rings(s))
			s->last_work_ns = now_ns();
		server_remote_turn(s, remote_ready);
		server_gpu_turn(s);
		server_nvme_turn(s);
		metrics_turn(s);
	}
	sd_notify(0, "STOPPING=1");
	server_nvme_shutdown(s);
	return 0;
}

void server_deinit(struct server *s)
{
	metrics_deinit(s);
	spin_gate_deinit(&s->gate);
	if (s->sessions) {
		for (uint32_t i = 0; i < s->cfg.max_clients; i++)
			if (s->sessions[i])
				session_close(s, s->sessions[i]);
		free(s->sessions);
		s->sessions = NULL;
	}
	free(s->live);
	s->live = NULL;
	if (s->listen_fd >= 0) {
		struct stat st;

		close(s->listen_fd);
		if (lstat(s->cfg.socket, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(s->cfg.socket);
	}
	if (s->signal_fd >= 0)
		close(s->signal_fd);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	server_remote_deinit(s);
	server_nvme_deinit(s);
	if (s->store.blocks)
		store_deinit(&s->store);
	server_gpu_deinit(s);
	host_arena_deinit(&s->arena);
	s->listen_fd = s->signal_fd = s->epoll_fd = -1;
}
