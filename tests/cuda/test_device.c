/* SPDX-License-Identifier: MIT */
/*
 * The device-tier back ends through device.h.  "emu": copies complete on
 * poll, not before, in submission order, one batch per completion slot;
 * ranges outside the pool are refused; a pool exported in one process and
 * imported in another (fork + SCM_RIGHTS over a socketpair) is the same
 * memory both ways.  "auto" falls back to emu without a GPU and says why;
 * "cuda" (when built) fails with -ENODEV on a machine without one, and on a
 * machine with one runs the same copy checks on the GPU.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build-config.h"
#include "device.h"
#include "testutil.h"

#define POOL (4u << 20)

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 31 + (i >> 8));
}

static bool check(const uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(seed + i * 31 + (i >> 8)))
			return false;
	return true;
}

/* Copies through any back end: H2D then D2H; the D2H target is untouched until poll. */
static void copy_round_trip(const struct tier_dev_ops *ops, struct tier_dev *d, bool deferred)
{
	struct tier_dev_pool *p;
	struct tier_dev_completion c[4];
	size_t n = 1 << 20;
	uint8_t *src = malloc(n), *dst = calloc(1, n);
	struct tier_dev_copy up = { .dir = TIER_DEV_H2D, .pool_off = 12345, .host = src, .len = n };
	struct tier_dev_copy down = { .dir = TIER_DEV_D2H, .pool_off = 12345, .host = dst, .len = n };

	ck_assert_int_eq(ops->pool_alloc(d, POOL - 1, &p), 0);
	ck_assert_uint_ge(ops->pool_bytes(p), POOL);
	ck_assert_ptr_nonnull(ops->pool_base(p));
	fill(src, n, 7);
	ck_assert_int_eq(ops->copy_submit(d, p, &up, 1, 1), 0);
	ck_assert_int_eq(tier_dev_wait(ops, d, 1), 0);
	ck_assert_int_eq(ops->copy_submit(d, p, &down, 1, 2), 0);
	if (deferred) {
		ck_assert_uint_eq(ops->in_flight(d), 1);
		ck_assert(dst[0] == 0 && dst[n - 1] == 0); /* not before poll */
	}
	ck_assert_int_eq(tier_dev_wait(ops, d, 2), 0);
	ck_assert(check(dst, n, 7));
	ck_assert_uint_eq(ops->in_flight(d), 0);
	ck_assert_int_eq(ops->poll(d, c, 4), 0);
	ops->pool_free(p);
	free(src);
	free(dst);
}

START_TEST(emu_async_semantics)
{
	const struct tier_dev_ops *ops = tier_dev_lookup("emu");
	struct tier_dev *d;
	struct tier_dev_pool *p;
	struct tier_dev_completion c[8];
	struct tier_dev_info info;
	uint8_t a[4096], b[4096], out[3][4096];
	struct tier_dev_copy cp[3];

	ck_assert_ptr_nonnull(ops);
	ck_assert_int_eq(ops->open(0, &d, NULL, 0), 0);
	ck_assert_int_eq(ops->info(d, &info), 0);
	ck_assert_str_eq(info.backend, "emu");
	copy_round_trip(ops, d, true);

	ck_assert_int_eq(ops->pool_alloc(d, POOL, &p), 0);
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	memset(out, 0, sizeof(out));
	/* batch 10: a -> pool[0], pool[0] -> out[0] (in order within the batch) */
	cp[0] = (struct tier_dev_copy){ .dir = TIER_DEV_H2D, .pool_off = 0, .host = a, .len = 4096 };
	cp[1] = (struct tier_dev_copy){ .dir = TIER_DEV_D2H, .pool_off = 0, .host = out[0], .len = 4096 };
	ck_assert_int_eq(ops->copy_submit(d, p, cp, 2, 10), 0);
	/* batch 11: b -> pool[0]; batch 12: pool[0] -> out[1] */
	cp[0].host = b;
	ck_assert_int_eq(ops->copy_submit(d, p, cp, 1, 11), 0);
	cp[1].host = out[1];
	ck_assert_int_eq(ops->copy_submit(d, p, &cp[1], 1, 12), 0);
	ck_assert_uint_eq(ops->in_flight(d), 3);
	ck_assert(out[0][0] == 0 && out[1][0] == 0);

	/* one completion slot: one batch done, in submission order */
	ck_assert_int_eq(ops->poll(d, c, 1), 1);
	ck_assert_uint_eq(c[0].cookie, 10);
	ck_assert_int_eq(c[0].status, 0);
	ck_assert(out[0][0] == 'a' && out[0][4095] == 'a');
	ck_assert(out[1][0] == 0);
	ck_assert_int_eq(ops->poll(d, c, 8), 2);
	ck_assert_uint_eq(c[0].cookie, 11);
	ck_assert_uint_eq(c[1].cookie, 12);
	ck_assert(out[1][0] == 'b' && out[1][4095] == 'b');
	ck_assert_uint_eq(ops->in_flight(d), 0);

	/* ranges outside the pool, bad direction */
	cp[0] = (struct tier_dev_copy){ .dir = TIER_DEV_H2D, .pool_off = ops->pool_bytes(p) - 10,
					.host = a, .len = 11 };
	ck_assert_int_eq(ops->copy_submit(d, p, cp, 1, 20), -EINVAL);
	cp[0].pool_off = UINT64_MAX;
	cp[0].len = 2;
	ck_assert_int_eq(ops->copy_submit(d, p, cp, 1, 20), -EINVAL);
	cp[0] = (struct tier_dev_copy){ .dir = 9, .pool_off = 0, .host = a, .len = 1 };
	ck_assert_int_eq(ops->copy_submit(d, p, cp, 1, 20), -EINVAL);
	ck_assert_uint_eq(ops->in_flight(d), 0);
	ops->pool_free(p);
	ops->close(d);
}
END_TEST

/* The child: import the pool it receives, check the parent's bytes, write its own. */
static int child_import(int sock)
{
	const struct tier_dev_ops *ops = &tier_dev_emu_ops;
	struct tier_dev_export exp;
	struct tier_dev *d;
	struct tier_dev_pool *p;
	uint8_t *buf = malloc(POOL);
	struct tier_dev_copy cp = { .dir = TIER_DEV_D2H, .pool_off = 0, .host = buf, .len = POOL / 2 };
	int fd;

	if (ops->open(0, &d, NULL, 0) < 0 || tier_dev_recv_export(sock, &exp, &fd) < 0)
		return 2;
	if (ops->pool_import(d, &exp, fd, &p) < 0)
		return 3;
	close(fd);
	if (ops->pool_bytes(p) != exp.bytes)
		return 4;
	if (ops->copy_submit(d, p, &cp, 1, 1) < 0 || tier_dev_wait(ops, d, 1) < 0)
		return 5;
	if (!check(buf, POOL / 2, 42))
		return 6;
	fill(buf, POOL / 2, 99);
	cp.dir = TIER_DEV_H2D;
	cp.pool_off = POOL / 2;
	if (ops->copy_submit(d, p, &cp, 1, 2) < 0 || tier_dev_wait(ops, d, 2) < 0)
		return 7;
	ops->pool_free(p);
	ops->close(d);
	free(buf);
	return (int)write(sock, "k", 1) == 1 ? 0 : 8;
}

START_TEST(emu_export_two_processes)
{
	const struct tier_dev_ops *ops = &tier_dev_emu_ops;
	struct tier_dev *d;
	struct tier_dev_pool *p, *q;
	struct tier_dev_export exp, bad;
	uint8_t *buf = malloc(POOL);
	struct tier_dev_copy cp = { .dir = TIER_DEV_H2D, .pool_off = 0, .host = buf, .len = POOL / 2 };
	int sv[2], fd, st;
	char k;
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(ops->open(0, &d, NULL, 0), 0);
	ck_assert_int_eq(ops->pool_alloc(d, POOL, &p), 0);
	fill(buf, POOL / 2, 42);
	ck_assert_int_eq(ops->copy_submit(d, p, &cp, 1, 1), 0);
	ck_assert_int_eq(tier_dev_wait(ops, d, 1), 0);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		_exit(child_import(sv[1]));
	}
	close(sv[1]);
	ck_assert_int_eq(ops->pool_export(p, &exp, &fd), 0);
	ck_assert_str_eq(exp.backend, "emu");
	ck_assert_int_eq(tier_dev_send_export(sv[0], &exp, fd), 0);

	/* An export of another back end or a short one is refused. */
	bad = exp;
	snprintf(bad.backend, sizeof(bad.backend), "cuda");
	ck_assert_int_eq(ops->pool_import(d, &bad, fd, &q), -EXDEV);
	bad = exp;
	bad.bytes = exp.bytes * 2;
	ck_assert_int_eq(ops->pool_import(d, &bad, fd, &q), -EINVAL);
	close(fd);

	ck_assert_int_eq(read(sv[0], &k, 1), 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed: %d", st);

	/* What the child wrote through its mapping is in our pool. */
	memset(buf, 0, POOL);
	cp.dir = TIER_DEV_D2H;
	cp.pool_off = POOL / 2;
	ck_assert_int_eq(ops->copy_submit(d, p, &cp, 1, 2), 0);
	ck_assert_int_eq(tier_dev_wait(ops, d, 2), 0);
	ck_assert(check(buf, POOL / 2, 99));
	ops->pool_free(p);
	ops->close(d);
	close(sv[0]);
	free(buf);
}
END_TEST

START_TEST(auto_falls_back_to_emu)
{
	const struct tier_dev_ops *ops = NULL;
	struct tier_dev *d;
	char why[256];
	int r;

	ck_assert_int_eq(tier_dev_open("auto", 0, &ops, &d, why, sizeof(why)), 0);
	if (strcmp(ops->name, "emu") == 0) {
		ck_assert_msg(why[0], "fell back without saying why");
		fprintf(stderr, "auto: emu (%s)\n", why);
	}
	ops->close(d);
	ck_assert_int_eq(tier_dev_open("nosuch", 0, &ops, &d, why, sizeof(why)), -ENOENT);
	r = tier_dev_open("emu", 0, &ops, &d, why, sizeof(why));
	ck_assert_int_eq(r, 0);
	ck_assert_str_eq(ops->name, "emu");
	ops->close(d);
}
END_TEST

START_TEST(cuda_backend)
{
#if TIERD_HAVE_CUDA
	const struct tier_dev_ops *ops = tier_dev_lookup("cuda");
	struct tier_dev *d;
	struct tier_dev_info info;
	char why[256] = "";
	int r;

	ck_assert_ptr_nonnull(ops);
	r = ops->open(0, &d, why, sizeof(why));
	if (r == -ENODEV) {
		/* This machine has no GPU: the signal callers fall back on. */
		fprintf(stderr, "cuda: no GPU here (%s): the fallback path is what runs\n", why);
		ck_assert(why[0]);
		return;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(ops->info(d, &info), 0);
	ck_assert_str_eq(info.backend, "cuda");
	ck_assert(info.pci_bus_id[0]);
	copy_round_trip(ops, d, false);
	ops->close(d);
#else
	ck_assert_ptr_null(tier_dev_lookup("cuda"));
#endif
}
END_TEST

int main(void)
{
	Suite *s = suite_create("device");
	TCase *tc = tcase_create("device");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, emu_async_semantics);
	tcase_add_test(tc, emu_export_two_processes);
	tcase_add_test(tc, auto_falls_back_to_emu);
	tcase_add_test(tc, cuda_backend);
	suite_add_tcase(s, tc);
	return t_run_suite(s);
}
