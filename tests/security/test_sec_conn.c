/* SPDX-License-Identifier: MIT */
/*
 * Connections, files and descriptors (issue 14, items 4, 7, 8, 9, 12): each
 * attack a hostile local user could make, run as a separate process (as
 * nobody where the attacker is another user) against the real daemon, and
 * what the operator would check afterwards: root's tierctl still gets in,
 * the lockout is gone within the deadline, the file a planted link points
 * at is untouched, a file at daemon.socket is not deleted, a scrape still
 * succeeds, and the daemon does not spin when it runs out of descriptors.
 * docs/SECURITY.md, "Connections, files and descriptors".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "daemon.h"
#include "testutil.h"
#include "tier.h"

#define NOBODY 65534

static struct tdaemon d;

static void need_root(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "skipped: the attacks run as another user (needs root)\n");
		exit(T_EXIT_SKIP);
	}
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Become nobody (group nogroup, the socket's group in these tests). */
static int drop_to_nobody(void)
{
	return setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 && setuid(NOBODY) == 0 ? 0 : -1;
}

/* A raw connection to the daemon's socket that never says HELLO. */
static int raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Whether the peer closed fd within timeout_ms (EOF or reset). */
static bool closed_within(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char b;

	if (poll(&p, 1, timeout_ms) <= 0)
		return false;
	return recv(fd, &b, 1, MSG_DONTWAIT) <= 0;
}

/* tierctl clients as root: exit status 0 within 5 s. */
static bool tierctl_gets_in(void)
{
	char out[4096], err[1024];
	char *argv[] = { (char *)t_tierctl_path(), (char *)"-s", d.sock, (char *)"clients", NULL };

	return t_exec(argv, out, sizeof(out), err, sizeof(err), 5000) == 0;
}

/* ---- item 4: half-open connections ------------------------------------ */

#define HALF_OPEN 8

struct half_open {
	const char *sock;
	int ready;      /* write end: one byte once connected */
	int go;         /* read end: the parent's go to check the deadline */
};

/*
 * nobody opens as many connections as max_clients, says nothing, and
 * reports (exit status) whether each was closed by the daemon within the
 * handshake deadline (1 s here, checked every 100 ms: 2.5 s is the bound).
 */
static int half_open_attacker(void *arg)
{
	struct half_open *h = arg;
	int fds[HALF_OPEN];
	long t0;
	char b = 1;

	T_CHILD_CHECK(drop_to_nobody() == 0);
	for (int i = 0; i < HALF_OPEN; i++)
		T_CHILD_CHECK((fds[i] = raw_connect(h->sock)) >= 0);
	t0 = now_ms();
	T_CHILD_CHECK(write(h->ready, &b, 1) == 1);
	T_CHILD_CHECK(read(h->go, &b, 1) == 1);
	for (int i = 0; i < HALF_OPEN; i++)
		T_CHILD_CHECK(closed_within(fds[i], (int)(t0 + 2500 - now_ms())));
	return 0;
}

/* A client as nobody that completes the handshake. */
static int nobody_connects(void *arg)
{
	tier_client *c = NULL;

	T_CHILD_CHECK(drop_to_nobody() == 0);
	T_CHILD_CHECK(tier_connect(arg, &c) == 0);
	tier_close(c);
	return 0;
}

START_TEST(test_half_open_lockout)
{
	int ready[2], go[2];
	struct half_open h;
	tier_client *c;
	struct tier_stats st;
	pid_t atk;
	char b = 1;
	long t0;

	need_root();
	tdaemon_start(&d, "16M", "daemon.socket_group=nogroup", "daemon.max_clients=8",
		      "daemon.reserved_clients=2", "daemon.max_clients_per_uid=0",
		      "daemon.handshake_timeout=1000", NULL);
	ck_assert_int_eq(chmod(d.dir, 0755), 0);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(go), 0);
	/* The operator's own client first, alone (the start-up probe has gone). */
	c = t_connect(&d);
	t0 = now_ms();
	do {
		t_stats(c, &st, NULL, 0);
	} while (st.clients != 1 && now_ms() - t0 < 2000 && (t_msleep(10), 1));
	h = (struct half_open){ .sock = d.sock, .ready = ready[1], .go = go[0] };
	atk = t_fork(half_open_attacker, &h);
	ck_assert_int_eq(read(ready[0], &b, 1), 1);
	t0 = now_ms();

	/* nobody holds every slot it may have: 8 less the 2 kept, with this client. */
	do {
		t_stats(c, &st, NULL, 0);
	} while (st.clients < 6 && now_ms() - t0 < 900 && (t_msleep(10), 1));
	ck_assert_uint_eq(st.clients, 6);
	/* The operator still gets in, while they are there. */
	ck_assert_msg(tierctl_gets_in(), "root's tierctl was locked out by half-open connections");
	t_stats(c, &st, NULL, 0);
	ck_assert_msg(st.clients == 6 || now_ms() - t0 >= 1000,
		      "the half-open connections went before their deadline");

	/* The deadline drops the half-open ones, and another user gets in again. */
	ck_assert_int_eq(write(go[1], &b, 1), 1);
	ck_assert_int_eq(t_wait(atk, 5000), 0);
	t_run_child(nobody_connects, d.sock, 5000);
	t0 = now_ms();
	do {
		t_stats(c, &st, NULL, 0);
	} while (st.clients != 1 && now_ms() - t0 < 2000 && (t_msleep(10), 1));
	ck_assert_uint_eq(st.clients, 1);
	tier_close(c);
	ck_assert_msg(tdaemon_alive(&d), "tierd died");
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

/* nobody connects (with the handshake) 8 times: how many stay connected is the exit status. */
static int many_as_nobody(void *arg)
{
	tier_client *c[8] = { 0 };
	int n = 0;

	if (drop_to_nobody() < 0)
		return 255;
	for (int i = 0; i < 8; i++)
		n += tier_connect(arg, &c[i]) == 0;
	for (int i = 0; i < 8; i++)
		if (c[i])
			tier_close(c[i]);
	return n;
}

START_TEST(test_per_uid_cap)
{
	pid_t p;
	int st;

	need_root();
	tdaemon_start(&d, "16M", "daemon.socket_group=nogroup", "daemon.max_clients=32",
		      "daemon.max_clients_per_uid=3", NULL);
	ck_assert_int_eq(chmod(d.dir, 0755), 0);
	p = t_fork(many_as_nobody, d.sock);
	st = t_wait(p, 10000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 3,
		      "nobody kept %d connections; daemon.max_clients_per_uid is 3",
		      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	ck_assert_msg(tierctl_gets_in(), "root was refused");
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

/* ---- item 7: a planted link at nvme.path or the journal ----------------- */

struct plant {
	const char *link, *target;
};

static int plant_link(void *arg)
{
	const struct plant *p = arg;

	T_CHILD_CHECK(drop_to_nobody() == 0);
	T_CHILD_CHECK(symlink(p->target, p->link) == 0);
	return 0;
}

static const struct {
	const char *what;   /* which name the link takes */
	mode_t dir_mode;    /* the shared directory's mode */
	bool starts;        /* whether tierd starts (the .tmp is replaced, never followed) */
} plants[] = {
	{ "nvme.path", 01777, false },
	{ "journal", 01777, false },
	{ "journal.tmp", 01777, true },
	{ "nvme.path", 0777, false }, /* not sticky: refused for the directory alone */
};

START_TEST(test_planted_symlink)
{
	static const char precious[] = "the operator's file: must stay as it is\n";
	char shared[] = "/tmp/tierd-sec-shared.XXXXXX", own[] = "/tmp/tierd-sec-own.XXXXXX";
	char target[128], img[128], journal[160], link[200], o_path[200], o_journal[200];
	char out[4096], err[4096], cmd[400], buf[128];
	struct plant p = { link, target };
	struct stat sb;
	int fd, st;

	need_root();
	ck_assert_ptr_nonnull(mkdtemp(shared));
	ck_assert_ptr_nonnull(mkdtemp(own));
	ck_assert_int_eq(chmod(shared, plants[_i].dir_mode), 0);
	snprintf(target, sizeof(target), "%s/precious", own);
	fd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, precious, sizeof(precious) - 1), (ssize_t)sizeof(precious) - 1);
	close(fd);
	ck_assert_int_eq(chmod(own, 0755), 0); /* the link's target need not be readable */
	snprintf(img, sizeof(img), "%s/nvme.img", shared);
	snprintf(journal, sizeof(journal), "%s/journal", shared);
	snprintf(link, sizeof(link), "%s", !strcmp(plants[_i].what, "nvme.path") ? img
		 : !strcmp(plants[_i].what, "journal") ? journal : "");
	if (!link[0])
		snprintf(link, sizeof(link), "%s.tmp", journal);
	t_run_child(plant_link, &p, 5000);
	snprintf(o_path, sizeof(o_path), "nvme.path=%s", img);
	snprintf(o_journal, sizeof(o_journal), "nvme.journal=%s", journal);

	if (plants[_i].starts) {
		tdaemon_start(&d, "16M", o_path, o_journal, "nvme.size=8M", NULL);
		ck_assert_int_eq(tdaemon_stop(&d), 0);
	} else {
		char *argv[] = { (char *)t_tierd_path(), (char *)"-f", (char *)"-o",
				 (char *)"daemon.socket=/tmp/tierd-sec-never.sock", (char *)"-o",
				 (char *)"host.size=16M", (char *)"-o", o_path, (char *)"-o",
				 o_journal, (char *)"-o", (char *)"nvme.size=8M", NULL };

		st = t_exec(argv, out, sizeof(out), err, sizeof(err), 10000);
		ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0,
			      "tierd started on a planted link (status 0x%x): %s", st, err);
		ck_assert_msg(strstr(err, "symbolic link") || strstr(err, "writable by group"),
			      "no clear reason given: %s", err);
	}
	/* The target: same size, same bytes, same owner, not truncated or grown. */
	ck_assert_int_eq(stat(target, &sb), 0);
	ck_assert_int_eq(sb.st_size, (off_t)sizeof(precious) - 1);
	ck_assert_uint_eq(sb.st_uid, 0);
	fd = open(target, O_RDONLY);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), (ssize_t)sizeof(precious) - 1);
	close(fd);
	ck_assert_int_eq(memcmp(buf, precious, sizeof(precious) - 1), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", shared, own);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* ---- item 8: daemon.socket names a regular file ------------------------ */

START_TEST(test_socket_is_a_file)
{
	static const char text[] = "not a socket\n";
	char dir[] = "/tmp/tierd-sec-sock.XXXXXX", path[64], opt[96], out[4096], err[4096];
	char *argv[] = { (char *)t_tierd_path(), (char *)"-f", (char *)"-o", opt, (char *)"-o",
			 (char *)"host.size=16M", NULL };
	struct stat sb;
	int fd, st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tierd.sock", dir);
	snprintf(opt, sizeof(opt), "daemon.socket=%s", path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);

	st = t_exec(argv, out, sizeof(out), err, sizeof(err), 10000);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0,
		      "tierd started over a regular file (status 0x%x)", st);
	ck_assert_msg(strstr(err, "is not a socket"), "no clear error: %s", err);
	ck_assert_msg(lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
		      sb.st_size == (off_t)sizeof(text) - 1, "the file at daemon.socket was removed");
	unlink(path);
	rmdir(dir);
}
END_TEST

/* ---- item 9: slow-header clients at the metrics endpoint ----------------- */

#if TIERD_TEST_HAVE_MHD
#define SLOW 16

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* A TCP connection to 127.0.0.1:port from the address src. */
static int tcp_from(const char *src, int port)
{
	struct sockaddr_in me = { .sin_family = AF_INET }, to = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, src, &me.sin_addr);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons((uint16_t)port);
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
	    connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* GET /metrics from src: true when a 200 with the daemon's metrics came back within 2 s. */
static bool scrape(const char *src, int port)
{
	static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	static char resp[65536];
	size_t have = 0;
	long end = now_ms() + 2000;
	int fd = tcp_from(src, port);

	if (fd < 0)
		return false;
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
		close(fd);
		return false;
	}
	while (have < sizeof(resp) - 1 && now_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, (int)(end - now_ms())) <= 0)
			break;
		n = read(fd, resp + have, sizeof(resp) - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	resp[have] = 0;
	return !strncmp(resp, "HTTP/1.", 7) && strstr(resp, " 200 ") && strstr(resp, "tierd_info");
}

struct slowloris {
	int port;
	int ready;
};

/*
 * 16 connections that send a request line, then a header byte every 200 ms
 * (never the end of the headers), for 8 s at most.  Exit 0 when the daemon
 * closed every one of them within its 5 s whole-request deadline (and
 * 1.5 s of slack: the reactor's timers, a busy machine).
 */
static int slowloris(void *arg)
{
	const struct slowloris *sl = arg;
	static const char line[] = "GET /metrics HTTP/1.1\r\nX-Slow: ";
	long start[SLOW], closed[SLOW] = { 0 }, t_end;
	int fds[SLOW], open_n = SLOW;
	char b = 1;

	for (int i = 0; i < SLOW; i++) {
		T_CHILD_CHECK((fds[i] = tcp_from("127.0.0.1", sl->port)) >= 0);
		start[i] = now_ms();
		(void)!write(fds[i], line, sizeof(line) - 1);
	}
	T_CHILD_CHECK(write(sl->ready, &b, 1) == 1);
	t_end = now_ms() + 8000;
	while (open_n && now_ms() < t_end) {
		t_msleep(200);
		for (int i = 0; i < SLOW; i++) {
			char c;

			if (closed[i])
				continue;
			if (send(fds[i], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ||
			    (recv(fds[i], &c, 1, MSG_DONTWAIT) == 0)) {
				closed[i] = now_ms();
				open_n--;
			}
		}
	}
	for (int i = 0; i < SLOW; i++) {
		if (!closed[i])
			fprintf(stderr, "slow connection %d still open after %ld ms\n", i,
				now_ms() - start[i]);
		T_CHILD_CHECK(closed[i] && closed[i] - start[i] < 6500);
		close(fds[i]);
	}
	return 0;
}

START_TEST(test_metrics_slowloris)
{
	struct slowloris sl = { .port = free_port() };
	char listen[64];
	int ready[2];
	pid_t atk;
	char b;
	long t0;
	bool ok = false;

	snprintf(listen, sizeof(listen), "metrics.listen=127.0.0.1:%d", sl.port);
	tdaemon_start(&d, "16M", listen, NULL);
	ck_assert_int_eq(pipe(ready), 0);
	sl.ready = ready[1];
	atk = t_fork(slowloris, &sl);
	ck_assert_int_eq(read(ready[0], &b, 1), 1);
	t_msleep(300); /* the daemon has taken what it takes of them */

	/* A scraper at another address gets in at once: one address holds 4 at most. */
	ck_assert_msg(scrape("127.0.0.2", sl.port), "a scrape was kept out by slow connections");
	/* One at the attacker's own address gets in once the deadline has cut them. */
	t0 = now_ms();
	while (!ok && now_ms() - t0 < 7000) {
		ok = scrape("127.0.0.1", sl.port);
		if (!ok)
			t_msleep(250);
	}
	ck_assert_msg(ok, "no scrape from 127.0.0.1 within the whole-request deadline");
	ck_assert_int_eq(t_wait(atk, 10000), 0);
	ck_assert_msg(tdaemon_alive(&d), "tierd died");
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST
#endif

/* ---- item 12: RLIMIT_NOFILE ------------------------------------------- */

/* CPU time (user + system) of pid, in clock ticks. */
static long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, stt = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	p = strrchr(buf, ')');
	ck_assert_ptr_nonnull(p);
	/* Fields 14 and 15 (utime, stime); p is at the end of field 2. */
	ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
				&stt), 2);
	return (long)(ut + stt);
}

#define FLOOD_PROCS 6
#define FLOOD_EACH 20

struct flood {
	const char *sock;
	int hold[2];  /* hold the clients until the parent closes the write end */
};

/* Connect FLOOD_EACH clients (as many as are let in), hold them, then go. */
static int flood(void *arg)
{
	const struct flood *f = arg;
	tier_client *c[FLOOD_EACH] = { 0 };
	char b;

	close(f->hold[1]);
	for (int i = 0; i < FLOOD_EACH; i++)
		(void)tier_connect(f->sock, &c[i]);
	(void)!read(f->hold[0], &b, 1);
	for (int i = 0; i < FLOOD_EACH; i++)
		if (c[i])
			tier_close(c[i]);
	return 0;
}

START_TEST(test_nofile_flood)
{
	struct rlimit rl = { .rlim_cur = 256, .rlim_max = 256 };
	pid_t kids[FLOOD_PROCS];
	struct flood f;
	struct tier_stats st;
	tier_client *c;
	int hold[2];
	long t0, ticks0, ticks, hz = sysconf(_SC_CLK_TCK);

	/* The daemon inherits this (Check runs each test in its own process). */
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	tdaemon_start(&d, "16M", NULL);
	ck_assert_int_eq(pipe(hold), 0);
	f = (struct flood){ .sock = d.sock, .hold = { hold[0], hold[1] } };
	ticks0 = cpu_ticks(d.pid);
	t0 = now_ms();
	for (int i = 0; i < FLOOD_PROCS; i++)
		kids[i] = t_fork(flood, &f);
	close(hold[0]);
	/* 120 clients against room for about 40: held for 2 s. */
	t_msleep(2000);
	ck_assert_msg(tdaemon_alive(&d), "tierd died in the flood");
	ticks = cpu_ticks(d.pid) - ticks0;
	fprintf(stderr, "flood: tierd used %ld ms of CPU in %ld ms\n", ticks * 1000 / hz,
		now_ms() - t0);
	/* A spinning reactor takes a core (a quarter of one on a loaded 2-core machine). */
	ck_assert_msg(ticks * 1000 / hz < (now_ms() - t0) / 10,
		      "tierd used %ld ms of CPU in %ld ms of flood: spinning", ticks * 1000 / hz,
		      now_ms() - t0);
	/* Some go: new clients are served. */
	close(hold[1]);
	for (int i = 0; i < FLOOD_PROCS; i++)
		ck_assert_int_eq(t_wait(kids[i], 10000), 0);
	c = t_connect(&d);
	t0 = now_ms();
	do {
		t_stats(c, &st, NULL, 0);
	} while (st.clients != 1 && now_ms() - t0 < 2000 && (t_msleep(10), 1));
	ck_assert_uint_eq(st.clients, 1);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

/* ---- item 13: what a client's remembered lookup costs the daemon -------- */

/* The daemon's private, anonymous memory (its heap), in KiB. */
static long rss_anon_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define MEM_CLIENTS 40
#define MEM_KEYS 65536

struct mem_flood {
	const char *sock;
	int done, hold[2];
};

/* MEM_CLIENTS clients each look up MEM_KEYS keys (the most one request may), then hold. */
static int lookup_flood(void *arg)
{
	const struct mem_flood *m = arg;
	static tier_key keys[MEM_KEYS];
	tier_client *c[MEM_CLIENTS];
	uint32_t ns;
	char b = 1;

	close(m->hold[1]);
	for (int i = 0; i < MEM_CLIENTS; i++) {
		T_CHILD_CHECK(tier_connect(m->sock, &c[i]) == 0);
		T_CHILD_CHECK(tier_namespace(c[i], "mem", 4096, &ns) == 0);
		for (uint32_t k = 0; k < MEM_KEYS; k++)
			keys[k] = (tier_key){ .hi = (uint64_t)i + 1, .lo = k };
		T_CHILD_CHECK(tier_lookup(c[i], ns, keys, MEM_KEYS) == 0);
	}
	T_CHILD_CHECK(write(m->done, &b, 1) == 1);
	(void)!read(m->hold[0], &b, 1);
	for (int i = 0; i < MEM_CLIENTS; i++)
		tier_close(c[i]);
	return 0;
}

START_TEST(test_lookup_memory)
{
	struct mem_flood m;
	int done[2], hold[2];
	long before, after;
	pid_t kid;
	char b;

	tdaemon_start(&d, "16M", NULL);
	ck_assert_int_eq(pipe(done), 0);
	ck_assert_int_eq(pipe(hold), 0);
	m = (struct mem_flood){ .sock = d.sock, .done = done[1], .hold = { hold[0], hold[1] } };
	before = rss_anon_kib(d.pid);
	kid = t_fork(lookup_flood, &m);
	close(hold[0]);
	ck_assert_int_eq(read(done[0], &b, 1), 1);
	after = rss_anon_kib(d.pid);
	fprintf(stderr, "lookup memory: %d clients of %d keys: tierd's RssAnon %ld -> %ld KiB "
		"(%ld KiB a client)\n", MEM_CLIENTS, MEM_KEYS, before, after,
		(after - before) / MEM_CLIENTS);
	close(hold[1]);
	ck_assert_int_eq(t_wait(kid, 20000), 0);
	/*
	 * All clients together: the daemon-wide budget (32 MiB) and slack (its
	 * buffers).  Not under ASan, whose redzones and quarantine of freed
	 * memory are heap too.
	 */
	if (!UNDER_ASAN)
		ck_assert_msg(after - before < 48 * 1024,
			      "40 clients' lookups cost tierd %ld KiB of heap", after - before);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

static Suite *sec_conn_suite(void)
{
	Suite *s = suite_create("sec_conn");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_half_open_lockout);
	tcase_add_test(tc, test_per_uid_cap);
	tcase_add_loop_test(tc, test_planted_symlink, 0, (int)(sizeof(plants) / sizeof(plants[0])));
	tcase_add_test(tc, test_socket_is_a_file);
#if TIERD_TEST_HAVE_MHD
	tcase_add_test(tc, test_metrics_slowloris);
#endif
	tcase_add_test(tc, test_nofile_flood);
	tcase_add_test(tc, test_lookup_memory);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	t_tierd_path();
	t_tierctl_path();
	return t_run_suite(sec_conn_suite());
}
