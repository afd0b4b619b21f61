/* SPDX-License-Identifier: MIT */
/*
 * Integration: clients that break the ring protocol, and clients that die.
 * A raw client does the handshake by hand, maps the ring segment the
 * daemon passes, and writes what libtier never would: garbage entries and
 * garbage batches (each answered with an error, the client stays), and
 * impossible indices (the client is cut off: its socket hangs up).  A
 * client killed with SIGKILL while it has async ops in flight and blocks
 * pinned leaves no pin behind.  A well-behaved client before and after
 * each gets correct answers, and the daemon gets back to the descriptors
 * it had.
 */
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "proto.h"
#include "ring.h"
#include "testutil.h"

#define BS 8192

static struct tdaemon d;
static uint32_t good_round;

/* A well-behaved client (over the rings): write, look up, read back, see the stats move. */
static void well_behaved(void)
{
	tier_client *c = t_connect(&d);
	tier_key k = t_key(100, good_round++), k2 = t_key(100, 100000 + good_round);
	struct tier_stats s1, s2;
	tier_handle h;
	uint8_t tiers[2];
	uint32_t ns;

	t_stats(c, &s1, NULL, 0);
	ck_assert_int_eq(tier_namespace(c, "good", BS, &ns), 0);
	ck_assert_int_eq(tier_alloc(c, ns, &h), 0);
	t_fill(tier_data(c, h), BS, k);
	ck_assert_int_eq(tier_commit(c, h, k), 0);
	ck_assert_int_eq(tier_lookup(c, ns, &k, 1), 1);
	ck_assert_int_eq(tier_lookup_many(c, ns, (tier_key[]){ k2, k }, 2, tiers), 0);
	ck_assert_uint_eq(tiers[0], TIER_NONE);
	ck_assert_uint_eq(tiers[1], TIER_HOST);
	ck_assert_int_eq(tier_acquire(c, ns, k, &h), 0);
	ck_assert(t_verify(tier_data(c, h), BS, k));
	ck_assert_int_eq(tier_release(c, h), 0);
	t_stats(c, &s2, NULL, 0);
	ck_assert_uint_eq(s2.tiers[0].blocks, s1.tiers[0].blocks + 1);
	ck_assert_uint_eq(s2.ops.commit, s1.ops.commit + 1);
	tier_close(c);
}

/* ---- a raw ring client ------------------------------------------------ */

struct raw {
	int fd, doorbell;
	struct tier_ring_seg *seg;
	size_t bytes;
	struct tier_sqe *sq;
	struct tier_ring_cqe *cq;
	uint8_t *data;
	uint32_t sq_tail, cq_head;
};

static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memcpy(sa.sun_path, d.sock, strlen(d.sock) + 1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* HELLO by hand; map the ring segment from the descriptors of the reply. */
static void raw_open(struct raw *r)
{
	struct tier_msg_hello hello = { .abi_version = TIER_ABI_VERSION, .pid = 1 };
	struct tier_msg_hdr h = { .magic = TIER_PROTO_MAGIC, .type = TIER_MSG_HELLO, .seq = 1 };
	uint8_t msg[sizeof(h) + sizeof(hello)], buf[256];
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(3 * sizeof(int))];
	} cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b) };
	struct cmsghdr *cm;
	struct tier_msg_hdr rh;
	int fds[3];
	struct stat st;
	void *p;

	memset(r, 0, sizeof(*r));
	r->fd = raw_connect();
	strcpy(hello.name, "rawring");
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), &hello, sizeof(hello));
	ck_assert_int_eq(send(r->fd, msg, sizeof(msg), MSG_NOSIGNAL), (ssize_t)sizeof(msg));
	ck_assert_int_eq(recvmsg(r->fd, &mh, MSG_CMSG_CLOEXEC),
			 (ssize_t)(sizeof(rh) + sizeof(struct tier_msg_hello_reply)));
	memcpy(&rh, buf, sizeof(rh));
	ck_assert_int_eq(rh.status, 0);
	cm = CMSG_FIRSTHDR(&mh);
	ck_assert_ptr_nonnull(cm);
	ck_assert_uint_eq(cm->cmsg_len, CMSG_LEN(3 * sizeof(int)));
	memcpy(fds, CMSG_DATA(cm), sizeof(fds));
	close(fds[0]); /* the arena: not needed here */
	ck_assert_int_eq(fstat(fds[1], &st), 0);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0);
	ck_assert(p != MAP_FAILED);
	close(fds[1]);
	r->seg = p;
	r->bytes = (size_t)st.st_size;
	ck_assert_uint_eq(r->seg->magic, TIER_RING_MAGIC);
	ck_assert_uint_eq(r->seg->abi, TIER_RING_ABI);
	ck_assert_uint_eq(r->seg->sq_entries, TIER_RING_SQ_ENTRIES);
	ck_assert_uint_eq(r->seg->cq_entries, TIER_RING_CQ_ENTRIES);
	ck_assert_uint_eq(r->seg->seg_bytes, r->bytes);
	r->sq = (struct tier_sqe *)((uint8_t *)p + r->seg->sq_off);
	r->cq = (struct tier_ring_cqe *)((uint8_t *)p + r->seg->cq_off);
	r->data = (uint8_t *)p + r->seg->data_off;
	r->doorbell = fds[2];
}

static void raw_close(struct raw *r)
{
	munmap(r->seg, r->bytes);
	close(r->doorbell);
	close(r->fd);
}

/* Publish the tail and ring the doorbell whatever the daemon's idle flag says. */
static void raw_kick(struct raw *r)
{
	uint64_t one = 1;

	__atomic_store_n(&r->seg->sq_tail, r->sq_tail, __ATOMIC_RELEASE);
	ck_assert_int_eq(write(r->doorbell, &one, sizeof(one)), (ssize_t)sizeof(one));
}

/* Wait up to 5 s for one completion. */
static bool raw_pop(struct raw *r, struct tier_ring_cqe *ret)
{
	for (int i = 0; i < 50000; i++) {
		if (__atomic_load_n(&r->seg->cq_tail, __ATOMIC_ACQUIRE) != r->cq_head) {
			*ret = r->cq[r->cq_head & (TIER_RING_CQ_ENTRIES - 1)];
			r->cq_head++;
			__atomic_store_n(&r->seg->cq_head, r->cq_head, __ATOMIC_RELEASE);
			return true;
		}
		usleep(100);
	}
	return false;
}

/* The daemon hung up on this client within 5 s. */
static bool hung_up(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	char b[256];

	for (int i = 0; i < 100; i++) {
		if (poll(&p, 1, 5000) <= 0)
			return false;
		ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
	}
	return false;
}

/* The daemon's descriptors and pins once only the asking client is connected. */
static void quiet(int *ret_fds, uint64_t *ret_pinned)
{
	tier_client *c = t_connect(&d);
	struct tier_stats s;

	for (int tries = 0; tries < 500; tries++) {
		t_stats(c, &s, NULL, 0);
		if (s.clients == 1)
			break;
		t_msleep(10);
	}
	ck_assert_uint_eq(s.clients, 1);
	if (ret_pinned)
		*ret_pinned = s.tiers[0].pinned_blocks;
	if (ret_fds)
		*ret_fds = tdaemon_fd_count(&d) - 3; /* our socket, ring memfd, doorbell */
	tier_close(c);
}

static void start(void)
{
	good_round = 0;
	tdaemon_start(&d, "32M", NULL);
	well_behaved();
}

static void finish(int fds_before)
{
	int fds;

	well_behaved();
	ck_assert(tdaemon_alive(&d));
	quiet(&fds, NULL);
	ck_assert_int_eq(fds, fds_before);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}

/*
 * Garbage entries and garbage batches: each is answered, with its own
 * user_data, and the client stays connected and can go on.
 */
START_TEST(test_garbage_entries)
{
	uint64_t rng = 0x6a7 + (uint64_t)_i, sent = 0;
	struct tier_ring_cqe c;
	struct raw r;
	int fds, einval = 0;

	start();
	quiet(&fds, NULL);
	raw_open(&r);
	for (int round = 0; round < 40; round++) {
		uint32_t k = 1 + (uint32_t)t_rand_below(&rng, TIER_RING_SQ_ENTRIES);

		for (int i = 0; i < 2048; i++)
			r.data[t_rand_below(&rng, TIER_RING_DATA_BYTES)] = (uint8_t)t_rand(&rng);
		for (uint32_t i = 0; i < k; i++) {
			uint64_t w[8];
			struct tier_sqe e;

			for (int j = 0; j < 8; j++)
				w[j] = t_rand(&rng);
			memcpy(&e, w, sizeof(e));
			if (i % 3 == 0) {
				/* A batch with a valid range over garbage keys and handles. */
				e.opcode = (uint8_t)(TIER_SQE_LOOKUP_MANY + t_rand_below(&rng, 4));
				e.flags = 0;
				e.pad = 0;
				e.n = 1 + (uint32_t)t_rand_below(&rng, 4000);
				e.data_off = 8 * (uint32_t)t_rand_below(&rng, 1000);
			}
			e.user_data = sent + i;
			r.sq[r.sq_tail++ & (TIER_RING_SQ_ENTRIES - 1)] = e;
		}
		raw_kick(&r);
		for (uint32_t i = 0; i < k; i++) {
			ck_assert_msg(raw_pop(&r, &c), "no answer to garbage entry %llu",
				      (unsigned long long)(sent + i));
			ck_assert_uint_eq(c.user_data, sent + i);
			einval += c.res == -EINVAL;
		}
		sent += k;
		if (round % 10 == 9)
			well_behaved();
	}
	ck_assert_int_gt(einval, (int)(sent / 3));
	/* Still connected: a NOP is answered. */
	r.sq[r.sq_tail++ & (TIER_RING_SQ_ENTRIES - 1)] =
		(struct tier_sqe){ .opcode = TIER_OP_NOP, .user_data = 424242 };
	raw_kick(&r);
	ck_assert(raw_pop(&r, &c));
	ck_assert_uint_eq(c.user_data, 424242);
	ck_assert_int_eq(c.res, 0);
	raw_close(&r);
	finish(fds);
}
END_TEST

/* Impossible indices: the daemon cuts the client off. */
enum { SQ_FAR_AHEAD, SQ_BEHIND, SQ_ONE_PAST_FULL, CQ_AHEAD, CQ_TOO_FAR_BEHIND, N_BAD };

START_TEST(test_impossible_indices)
{
	struct tier_ring_cqe c;
	struct raw r;
	int fds;

	start();
	quiet(&fds, NULL);
	raw_open(&r);
	/* First a normal round trip, so the indices are not at zero. */
	for (int i = 0; i < 300; i++) {
		r.sq[r.sq_tail++ & (TIER_RING_SQ_ENTRIES - 1)] =
			(struct tier_sqe){ .opcode = TIER_OP_NOP, .user_data = (uint64_t)i };
		raw_kick(&r);
		ck_assert(raw_pop(&r, &c));
		ck_assert_uint_eq(c.user_data, (uint64_t)i);
	}
	switch (_i) {
	case SQ_FAR_AHEAD:
		r.sq_tail += 1u << 31;
		break;
	case SQ_BEHIND:
		r.sq_tail -= 1;
		break;
	case SQ_ONE_PAST_FULL:
		r.sq_tail += TIER_RING_SQ_ENTRIES + 1;
		break;
	case CQ_AHEAD:
		__atomic_store_n(&r.seg->cq_head, r.cq_head + 1, __ATOMIC_RELEASE);
		break;
	case CQ_TOO_FAR_BEHIND:
		__atomic_store_n(&r.seg->cq_head, r.cq_head - TIER_RING_CQ_ENTRIES - 1,
				 __ATOMIC_RELEASE);
		break;
	}
	raw_kick(&r);
	ck_assert_msg(hung_up(r.fd), "case %d: the daemon did not cut the client off", _i);
	raw_close(&r);
	finish(fds);
}
END_TEST

/* The limits are not corruption: a full SQ is consumed, a full CQ just waits. */
START_TEST(test_full_is_not_corrupt)
{
	struct tier_ring_cqe c;
	struct raw r;
	uint64_t next = 0;
	int fds;

	start();
	quiet(&fds, NULL);
	raw_open(&r);
	/* Three full SQs without reaping: 512 answered, 256 waiting. */
	for (int round = 0; round < 3; round++) {
		while (r.sq_tail - __atomic_load_n(&r.seg->sq_head, __ATOMIC_ACQUIRE) <
		       TIER_RING_SQ_ENTRIES)
			r.sq[r.sq_tail++ & (TIER_RING_SQ_ENTRIES - 1)] =
				(struct tier_sqe){ .opcode = TIER_OP_NOP, .user_data = next++ };
		raw_kick(&r);
		for (int i = 0; i < 500 && __atomic_load_n(&r.seg->sq_head, __ATOMIC_ACQUIRE) !=
						 r.sq_tail && round < 2; i++)
			t_msleep(1);
	}
	ck_assert_uint_eq(next, 3 * TIER_RING_SQ_ENTRIES);
	for (uint64_t i = 0; i < next; i++) {
		ck_assert(raw_pop(&r, &c));
		ck_assert_uint_eq(c.user_data, i);
		if (i % 64 == 0)
			raw_kick(&r); /* room now: the doorbell, as libtier does */
	}
	{
		struct pollfd p = { .fd = r.fd, .events = POLLRDHUP };

		ck_assert_int_eq(poll(&p, 1, 0), 0);
	}
	raw_close(&r);
	finish(fds);
}
END_TEST

/* ---- clients killed mid-batch ------------------------------------------ */

#define KPOOL 100
#define KBIG 20000

struct doomed_arg {
	int ready_fd;
	int busy; /* keep running big batches until killed */
};

static int doomed(void *p)
{
	const struct doomed_arg *a = p;
	const size_t most = TIER_RING_SQ_ENTRIES + TIER_RING_CQ_ENTRIES;
	static struct tier_op ops[TIER_RING_SQ_ENTRIES + TIER_RING_CQ_ENTRIES];
	static tier_key big[KBIG];
	static tier_handle h[KBIG];
	tier_key pool[KPOOL];
	tier_client *c;
	size_t queued = 0;
	uint32_t ns;

	T_CHILD_CHECK(tier_connect(d.sock, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "kill", BS, &ns) == 0);
	for (uint32_t i = 0; i < KPOOL; i++)
		pool[i] = t_key(9, i);
	/* Pins held through a batch... */
	T_CHILD_CHECK(tier_acquire_many(c, ns, pool, KPOOL, h) == KPOOL);
	/* ...and async acquires in flight, never reaped, until the rings are full. */
	for (size_t i = 0; i < most; i++)
		ops[i] = (struct tier_op){ .opcode = TIER_OP_ACQUIRE, .ns = ns,
					   .key = pool[i % KPOOL], .user_data = i };
	for (int tries = 0; queued < most && tries < 5000; tries++) {
		int r = tier_submit(c, ops + queued, most - queued);

		T_CHILD_CHECK(r >= 0);
		queued += (size_t)r;
		if (!r)
			t_msleep(1);
	}
	T_CHILD_CHECK(queued == most);
	T_CHILD_CHECK(write(a->ready_fd, "r", 1) == 1);
	for (uint32_t i = 0; i < KBIG; i++)
		big[i] = pool[i % KPOOL];
	for (;;) {
		if (!a->busy) {
			pause();
			continue;
		}
		/* Big batches, pinning and unpinning, until the SIGKILL lands in one. */
		int n = tier_acquire_many(c, ns, big, KBIG, h);

		T_CHILD_CHECK(n == KBIG);
		T_CHILD_CHECK(tier_release_many(c, h, KBIG) == KBIG);
	}
	return 0;
}

START_TEST(test_killed_mid_batch)
{
	struct doomed_arg a = { .busy = _i };
	tier_client *c;
	tier_key k;
	tier_handle h;
	uint64_t baseline, pinned = 0;
	struct tier_stats s;
	int pfd[2], fds, st;
	char b;
	pid_t pid;
	uint32_t ns;

	start();
	quiet(&fds, NULL);
	/* The pool the doomed client pins, and one pin of our own that must survive. */
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kill", BS, &ns), 0);
	for (uint32_t i = 0; i < KPOOL; i++) {
		k = t_key(9, i);
		ck_assert_int_eq(tier_alloc(c, ns, &h), 0);
		t_fill(tier_data(c, h), BS, k);
		ck_assert_int_eq(tier_commit(c, h, k), 0);
	}
	ck_assert_int_eq(tier_acquire(c, ns, t_key(9, 0), &h), 0);
	t_stats(c, &s, NULL, 0);
	baseline = s.tiers[0].pinned_blocks;
	ck_assert_uint_eq(baseline, 1);

	ck_assert_int_eq(pipe(pfd), 0);
	a.ready_fd = pfd[1];
	pid = t_fork(doomed, &a);
	close(pfd[1]);
	ck_assert_int_eq(read(pfd[0], &b, 1), 1);
	close(pfd[0]);
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].pinned_blocks, KPOOL);
	if (a.busy)
		t_msleep(30);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_ne(waitpid(pid, &st, 0), -1);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

	/* The hang-up releases everything it held; ours stays. */
	for (int tries = 0; tries < 500; tries++) {
		t_stats(c, &s, NULL, 0);
		pinned = s.tiers[0].pinned_blocks;
		if (s.clients == 1 && pinned == baseline)
			break;
		t_msleep(10);
	}
	ck_assert_uint_eq(s.clients, 1);
	ck_assert_uint_eq(pinned, baseline);
	ck_assert(t_verify(tier_data(c, h), BS, t_key(9, 0)));
	ck_assert_int_eq(tier_release(c, h), 0);
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].pinned_blocks, 0);
	ck_assert_uint_eq(s.tiers[0].blocks, KPOOL + 1);
	tier_close(c);
	finish(fds);
}
END_TEST

static Suite *ring_robust_suite(void)
{
	Suite *s = suite_create("ring_robust");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_garbage_entries, 0, 2);
	tcase_add_loop_test(tc, test_impossible_indices, 0, N_BAD);
	tcase_add_test(tc, test_full_is_not_corrupt);
	tcase_add_loop_test(tc, test_killed_mid_batch, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	t_tierd_path();
	return t_run_suite(ring_robust_suite());
}
