/* SPDX-License-Identifier: MIT */
/*
 * Integration: a raw client sends the daemon what libtier never would
 * (random bytes, wrong lengths, oversized datagrams, file descriptors,
 * requests it never reads the replies of).  The daemon must cut that client
 * off or answer it with errors, leak no descriptor, and keep serving a
 * well-behaved client before and after with correct answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "proto.h"
#include "testutil.h"

#define BS 8192

static struct tdaemon d;
static uint32_t good_round;

/* A well-behaved client: write, look up, read back, check the stats move. */
static void well_behaved(void)
{
	tier_client *c = t_connect(&d);
	tier_key k = t_key(100, good_round++);
	struct tier_stats s1, s2;
	tier_handle h;
	uint32_t ns;

	t_stats(c, &s1, NULL, 0);
	ck_assert_int_eq(tier_namespace(c, "good", BS, &ns), 0);
	ck_assert_int_eq(tier_alloc(c, ns, &h), 0);
	t_fill(tier_data(c, h), BS, k);
	ck_assert_int_eq(tier_commit(c, h, k), 0);
	ck_assert_int_eq(tier_lookup(c, ns, &k, 1), 1);
	ck_assert_int_eq(tier_acquire(c, ns, k, &h), 0);
	ck_assert(t_verify(tier_data(c, h), BS, k));
	ck_assert_int_eq(tier_release(c, h), 0);
	t_stats(c, &s2, NULL, 0);
	ck_assert_uint_eq(s2.tiers[0].blocks, s1.tiers[0].blocks + 1);
	ck_assert_uint_eq(s2.ops.commit, s1.ops.commit + 1);
	tier_close(c);
}

static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(d.sock), sizeof(sa.sun_path));
	memcpy(sa.sun_path, d.sock, strlen(d.sock) + 1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/*
 * Receive one datagram within 5 s: its length, 0 at EOF, -ECONNRESET when the
 * daemon hung up on requests it had not read (the kernel reports that before
 * the replies still queued, which later calls return), -1 on timeout.
 */
static ssize_t raw_recv(int fd, void *buf, size_t len, int *ret_fd)
{
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b) };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, 5000) <= 0)
		return -1;
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == ECONNRESET ? -ECONNRESET : -1;
	if (ret_fd) {
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		*ret_fd = -1;
		if (cm && cm->cmsg_type == SCM_RIGHTS)
			memcpy(ret_fd, CMSG_DATA(cm), sizeof(int));
	} else {
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		if (cm && cm->cmsg_type == SCM_RIGHTS) {
			int fd2;

			memcpy(&fd2, CMSG_DATA(cm), sizeof(int));
			close(fd2);
		}
	}
	return n;
}

/* The daemon closed this connection: EOF now (draining any replies first). */
static void expect_closed(int fd)
{
	uint8_t buf[TIER_MSG_MAX];
	ssize_t n;
	int i;

	for (i = 0; i < 100; i++) {
		n = raw_recv(fd, buf, sizeof(buf), NULL);
		ck_assert_msg(n != -1, "the daemon neither answered nor hung up");
		if (n == 0 || n == -ECONNRESET)
			return;
	}
	ck_abort_msg("the daemon kept answering a client it should have cut off");
}

/* Send one request; false when the daemon has already hung up. */
static bool try_send_msg(int fd, uint16_t type, uint32_t seq, const void *body, size_t blen)
{
	uint8_t buf[sizeof(struct tier_msg_hdr) + 256];
	struct tier_msg_hdr h = { .magic = TIER_PROTO_MAGIC, .type = type, .seq = seq };
	ssize_t n;

	ck_assert_uint_le(blen, 256);
	memcpy(buf, &h, sizeof(h));
	if (blen)
		memcpy(buf + sizeof(h), body, blen);
	n = send(fd, buf, sizeof(h) + blen, MSG_NOSIGNAL);
	if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
		return false;
	ck_assert_int_eq(n, (ssize_t)(sizeof(h) + blen));
	return true;
}

static void send_msg(int fd, uint16_t type, uint32_t seq, const void *body, size_t blen)
{
	ck_assert(try_send_msg(fd, type, seq, body, blen));
}

/* A handshake done by hand; the arena fd is received and closed. */
static void raw_hello(int fd)
{
	struct tier_msg_hello hello = { .abi_version = TIER_ABI_VERSION, .pid = 1 };
	uint8_t buf[256];
	struct tier_msg_hdr rh;
	int afd = -1;

	strcpy(hello.name, "raw");
	send_msg(fd, TIER_MSG_HELLO, 1, &hello, sizeof(hello));
	ck_assert_int_eq(raw_recv(fd, buf, sizeof(buf), &afd),
			 (ssize_t)(sizeof(rh) + sizeof(struct tier_msg_hello_reply)));
	memcpy(&rh, buf, sizeof(rh));
	ck_assert_int_eq(rh.status, 0);
	ck_assert_int_ge(afd, 0);
	close(afd);
}

/*
 * The daemon's descriptors with no client connected.  Hang-ups are handled
 * asynchronously, so wait until the daemon counts only the client asking.
 */
static int quiet_fd_count(void)
{
	tier_client *c = t_connect(&d);
	struct tier_stats s;
	int n;

	for (int tries = 0; tries < 500; tries++) {
		t_stats(c, &s, NULL, 0);
		if (s.clients == 1)
			break;
		t_msleep(10);
	}
	ck_assert_uint_eq(s.clients, 1);
	n = tdaemon_fd_count(&d);
	tier_close(c);
	return n - 1;
}

static void start(void)
{
	good_round = 0;
	tdaemon_start(&d, "32M", NULL);
	well_behaved();
}

/* Well served, alive, and back to the descriptors it had (hang-ups are handled async). */
static void finish(int fds_before)
{
	int fds = -1;

	well_behaved();
	ck_assert(tdaemon_alive(&d));
	fds = quiet_fd_count();
	ck_assert_int_eq(fds, fds_before);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}

/* Random bytes before and after the handshake, many connections. */
START_TEST(test_random_bytes)
{
	uint64_t rng = 0xbad + (uint64_t)_i;
	uint8_t buf[1024];
	int fds;

	start();
	fds = quiet_fd_count();
	for (int conn = 0; conn < 40; conn++) {
		int fd = raw_connect();

		if (conn % 2)
			raw_hello(fd);
		for (int m = 0; m < 30; m++) {
			size_t len = (size_t)t_rand_below(&rng, sizeof(buf));

			for (size_t i = 0; i < len; i++)
				buf[i] = (uint8_t)t_rand(&rng);
			/* Sometimes a real header, so the checks past the magic are reached. */
			if (len >= sizeof(struct tier_msg_hdr) && t_rand_below(&rng, 2)) {
				struct tier_msg_hdr h = {
					.magic = TIER_PROTO_MAGIC,
					.type = (uint16_t)t_rand_below(&rng, TIER_MSG__MAX + 2),
					.seq = (uint32_t)m,
				};

				memcpy(buf, &h, sizeof(h));
			}
			if (send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				break; /* cut off already */
		}
		close(fd);
		if (conn % 10 == 9)
			well_behaved();
	}
	finish(fds);
}
END_TEST

/* Wrong lengths after the handshake: -EINVAL echoing seq, then cut off after 16. */
START_TEST(test_wrong_lengths)
{
	uint8_t body[256] = { 0 }, buf[512];
	struct tier_msg_hdr rh;
	int fd, fds, replies = 0;

	start();
	fds = quiet_fd_count();
	fd = raw_connect();
	raw_hello(fd);
	/* One good STATS round trip first. */
	send_msg(fd, TIER_MSG_STATS, 5, body, sizeof(struct tier_msg_stats));
	ck_assert_int_gt(raw_recv(fd, buf, sizeof(buf), NULL), (ssize_t)sizeof(rh));
	memcpy(&rh, buf, sizeof(rh));
	ck_assert_int_eq(rh.status, 0);
	ck_assert_uint_eq(rh.seq, 5);

	/* Every request type after HELLO, each with a body shorter than any (1..7 bytes). */
	for (uint32_t i = 0; i < 20; i++) {
		uint16_t type = (uint16_t)(TIER_MSG_NS_OPEN + i % (TIER_MSG__MAX - 2));

		if (!try_send_msg(fd, type, 100 + i, body, 1 + i % 7))
			break; /* cut off already */
	}
	for (;;) {
		ssize_t n = raw_recv(fd, buf, sizeof(buf), NULL);

		ck_assert_int_ne(n, -1);
		if (n == -ECONNRESET)
			continue;
		if (n == 0)
			break;
		ck_assert_int_eq(n, (ssize_t)sizeof(rh));
		memcpy(&rh, buf, sizeof(rh));
		ck_assert_int_eq(rh.status, -EINVAL);
		ck_assert_uint_eq(rh.seq, 100 + (uint32_t)replies);
		replies++;
	}
	/* Some answered, then the client was cut off before the 20th. */
	ck_assert_int_ge(replies, 1);
	ck_assert_int_lt(replies, 20);
	close(fd);

	/* A LOOKUP whose n does not match its length. */
	fd = raw_connect();
	raw_hello(fd);
	struct tier_msg_lookup l = { .ns = 0, .n = 3, .first_pos = 0, .total = 3 };

	memcpy(body, &l, sizeof(l));
	send_msg(fd, TIER_MSG_LOOKUP, 9, body, sizeof(l) + 2 * sizeof(tier_key));
	ck_assert_int_eq(raw_recv(fd, buf, sizeof(buf), NULL), (ssize_t)sizeof(rh));
	memcpy(&rh, buf, sizeof(rh));
	ck_assert_int_eq(rh.status, -EINVAL);
	/* Requests before the handshake, or a bad magic: cut off at once. */
	close(fd);
	fd = raw_connect();
	send_msg(fd, TIER_MSG_STATS, 1, body, sizeof(struct tier_msg_stats));
	expect_closed(fd);
	close(fd);
	fd = raw_connect();
	memset(buf, 0x41, 64);
	ck_assert_int_eq(send(fd, buf, 64, MSG_NOSIGNAL), 64);
	expect_closed(fd);
	close(fd);
	/* A HELLO of another ABI version: -EPROTO, then cut off. */
	fd = raw_connect();
	struct tier_msg_hello hello = { .abi_version = TIER_ABI_VERSION + 1 };

	send_msg(fd, TIER_MSG_HELLO, 1, &hello, sizeof(hello));
	ck_assert_int_eq(raw_recv(fd, buf, sizeof(buf), NULL),
			 (ssize_t)(sizeof(rh) + sizeof(struct tier_msg_hello_reply)));
	memcpy(&rh, buf, sizeof(rh));
	ck_assert_int_eq(rh.status, -EPROTO);
	expect_closed(fd);
	close(fd);
	finish(fds);
}
END_TEST

/* Oversized datagrams, before and after the handshake. */
START_TEST(test_oversized)
{
	size_t big = TIER_MSG_MAX + 4096;
	uint8_t *buf = calloc(1, big);
	struct tier_msg_hdr h = { .magic = TIER_PROTO_MAGIC, .type = TIER_MSG_LOOKUP };
	int fds, sz = 1 << 20;

	start();
	fds = quiet_fd_count();
	memcpy(buf, &h, sizeof(h));
	for (int hello = 0; hello < 2; hello++) {
		int fd = raw_connect();

		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		if (hello)
			raw_hello(fd);
		ck_assert_int_eq(send(fd, buf, big, MSG_NOSIGNAL), (ssize_t)big);
		expect_closed(fd);
		close(fd);
	}
	free(buf);
	finish(fds);
}
END_TEST

/* File descriptors passed to the daemon are closed, and the sender cut off. */
START_TEST(test_passed_fds)
{
	int fds;

	start();
	fds = quiet_fd_count();
	for (int hello = 0; hello < 2; hello++) {
		int fd = raw_connect(), pass[3];
		union {
			struct cmsghdr align;
			char b[CMSG_SPACE(sizeof(pass))];
		} cbuf;
		struct tier_msg_hdr h = { .magic = TIER_PROTO_MAGIC, .type = TIER_MSG_STATS };
		uint8_t msg[sizeof(h) + sizeof(struct tier_msg_stats)] = { 0 };
		struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b) };
		struct cmsghdr *cm;

		if (hello)
			raw_hello(fd);
		memcpy(msg, &h, sizeof(h));
		pass[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		ck_assert_int_eq(pipe2(&pass[1], O_CLOEXEC), 0);
		memset(&cbuf, 0, sizeof(cbuf));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(pass));
		memcpy(CMSG_DATA(cm), pass, sizeof(pass));
		ck_assert_int_eq(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)sizeof(msg));
		expect_closed(fd);
		close(fd);
		/* The daemon closed its copy of the pipe's write end: we see EOF. */
		close(pass[2]);
		struct pollfd p = { .fd = pass[1], .events = POLLIN };
		char b;

		ck_assert_int_eq(poll(&p, 1, 5000), 1);
		ck_assert_int_eq(read(pass[1], &b, 1), 0);
		close(pass[0]);
		close(pass[1]);
	}
	finish(fds);
}
END_TEST

/* A client that sends without reading its replies is cut off; the reactor never blocks. */
START_TEST(test_never_reads_replies)
{
	struct tier_msg_stats body = { .max_ns = 100 };
	uint8_t msg[sizeof(struct tier_msg_hdr) + sizeof(body)];
	struct tier_msg_hdr h = { .magic = TIER_PROTO_MAGIC, .type = TIER_MSG_STATS };
	int fd, fds, sent = 0;

	start();
	fds = quiet_fd_count();
	fd = raw_connect();
	raw_hello(fd);
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), &body, sizeof(body));
	for (int i = 0; i < 200000; i++) {
		ssize_t n = send(fd, msg, sizeof(msg), MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN) {
				t_msleep(1);
				/* The daemon is busy or stopped reading us: others must still get through. */
				if (i % 64 == 0)
					well_behaved();
				continue;
			}
			break; /* EPIPE / ECONNRESET: cut off */
		}
		sent++;
	}
	ck_assert_int_gt(sent, 0);
	/* Disconnected by now: the socket reads replies then EOF, or a reset. */
	close(fd);
	finish(fds);
}
END_TEST

static Suite *robust_suite(void)
{
	Suite *s = suite_create("robust");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_random_bytes, 0, 2);
	tcase_add_test(tc, test_wrong_lengths);
	tcase_add_test(tc, test_oversized);
	tcase_add_test(tc, test_passed_fds);
	tcase_add_test(tc, test_never_reads_replies);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	t_tierd_path();
	return t_run_suite(robust_suite());
}
