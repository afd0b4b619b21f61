/* SPDX-License-Identifier: MIT */
/*
 * Integration: the GPU tier (T0) through the real daemon with the emu device
 * back end (gpu.device=emu: the pool is a memfd the client maps, copies
 * complete when the daemon polls).  Blocks acquired into the pool are read
 * back byte-exact through the imported pool; promotion NVMe -> host -> GPU
 * and the inclusive demotion (a block leaving host memory leaves the pool);
 * pool eviction under pressure spares pinned blocks and is counted; a client
 * SIGKILLed while holding GPU pins leaves none; without a GPU tier the calls
 * are -ENODEV.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "testutil.h"

#define BS (256u << 10)
#define POOL_BLOCKS 32 /* gpu.size=8M / 256 KiB */

static struct tdaemon d;

static void put(tier_client *c, uint32_t ns, uint32_t seed, uint32_t i)
{
	tier_key k = t_key(seed, i);
	tier_handle h;
	int r;

	ck_assert_int_eq(tier_alloc(c, ns, &h), 0);
	t_fill(tier_data(c, h), BS, k);
	r = tier_commit(c, h, k);
	ck_assert_msg(r == 0 || r == -EEXIST, "commit %d", r);
}

/* The stats entry of tier name, or fails the test. */
static struct tier_tier_stats tier_of(tier_client *c, const char *name)
{
	struct tier_stats s = { .size = sizeof(s) };

	ck_assert_int_ge(tier_stats_get(c, &s, NULL, 0), 0);
	for (uint32_t i = 0; i < s.n_tiers; i++)
		if (strcmp(s.tiers[i].name, name) == 0)
			return s.tiers[i];
	ck_abort_msg("no '%s' entry in tiers[]", name);
	return s.tiers[0];
}

/* Map the daemon's pool (emu: a memfd). */
static uint8_t *map_pool(tier_client *c, uint64_t *ret_bytes)
{
	struct tier_gpu_pool p = { .size = sizeof(p) };
	uint8_t *base;
	int fd;

	ck_assert_int_eq(tier_gpu_pool(c, &p, &fd), 0);
	ck_assert_str_eq(p.backend, "emu");
	ck_assert_uint_ge(p.bytes, 8u << 20);
	base = mmap(NULL, p.bytes, PROT_READ, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(base, MAP_FAILED);
	close(fd);
	*ret_bytes = p.bytes;
	return base;
}

START_TEST(test_roundtrip)
{
	struct tier_tier_stats g;
	tier_handle h[10], h2;
	uint64_t off[10], off2, pool_bytes;
	tier_client *c;
	uint8_t *pool;
	uint32_t ns;

	tdaemon_start(&d, "64M", "gpu.device=emu", "gpu.size=8M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kv", BS, &ns), 0);
	pool = map_pool(c, &pool_bytes);
	for (uint32_t i = 0; i < 10; i++)
		put(c, ns, 1, i);
	for (uint32_t i = 0; i < 10; i++) {
		ck_assert_int_eq(tier_acquire_gpu(c, ns, t_key(1, i), &h[i], &off[i]), 0);
		ck_assert_uint_le(off[i] + BS, pool_bytes);
		ck_assert(t_verify(pool + off[i], BS, t_key(1, i)));
		/* The host copy stays, and is the same block. */
		ck_assert(t_verify(tier_data(c, h[i]), BS, t_key(1, i)));
	}
	g = tier_of(c, "gpu");
	ck_assert_uint_eq(g.capacity_bytes, 8u << 20);
	ck_assert_uint_eq(g.blocks, 10);
	ck_assert_uint_eq(g.pinned_blocks, 10);
	ck_assert_uint_eq(g.promotions, 10);
	ck_assert_uint_eq(g.misses, 10);
	ck_assert_uint_eq(g.used_bytes, 10ull * BS);
	/* Already there: a hit, the same place, a second pin. */
	ck_assert_int_eq(tier_acquire_gpu(c, ns, t_key(1, 3), &h2, &off2), 0);
	ck_assert_uint_eq(off2, off[3]);
	ck_assert_uint_eq(h2, h[3]);
	ck_assert_int_eq(tier_release(c, h2), 0);
	g = tier_of(c, "gpu");
	ck_assert_uint_eq(g.hits, 1);
	ck_assert_uint_eq(g.promotions, 10);
	/* Unknown key: a miss, as tier_acquire. */
	ck_assert_int_eq(tier_acquire_gpu(c, ns, t_key(99, 0), &h2, &off2), -ENOENT);
	for (uint32_t i = 0; i < 10; i++)
		ck_assert_int_eq(tier_release(c, h[i]), 0);
	g = tier_of(c, "gpu");
	ck_assert_uint_eq(g.pinned_blocks, 0);
	ck_assert_uint_eq(g.blocks, 10);
	/* tierctl shows the gpu tier with its policy. */
	{
		char out[4096], err[1024];
		char *argv[] = { (char *)t_tierctl_path(), (char *)"--socket", d.sock,
				 (char *)"tiers", NULL };
		int st = t_exec(argv, out, sizeof(out), err, sizeof(err), 10000);

		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "tierctl tiers: %s", err);
		ck_assert_msg(strstr(out, "gpu") && strstr(out, "lru"), "%s", out);
	}
	/* A dropped block leaves the pool (inclusive of the host tier). */
	ck_assert_int_eq(tier_drop(c, ns, t_key(1, 0)), 0);
	g = tier_of(c, "gpu");
	ck_assert_uint_eq(g.blocks, 9);
	ck_assert_uint_eq(g.used_bytes, 9ull * BS);
	munmap(pool, pool_bytes);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
	tdaemon_cleanup(&d);
}
END_TEST

START_TEST(test_pool_pressure)
{
	struct tier_tier_stats g;
	tier_handle pinned[8], h, extra[POOL_BLOCKS];
	uint64_t poff[8], off, pool_bytes;
	tier_client *c;
	uint8_t *pool;
	uint32_t ns, n_extra = 0;
	int r;

	tdaemon_start(&d, "64M", "gpu.device=emu", "gpu.size=8M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kv", BS, &ns), 0);
	pool = map_pool(c, &pool_bytes);
	for (uint32_t i = 0; i < 100; i++)
		put(c, ns, 2, i);
	for (uint32_t i = 0; i < 8; i++)
		ck_assert_int_eq(tier_acquire_gpu(c, ns, t_key(2, i), &pinned[i], &poff[i]), 0);
	/* 92 more through a pool of 32: the unpinned ones are evicted in LRU order. */
	for (uint32_t i = 8; i < 100; i++) {
		ck_assert_int_eq(tier_acquire_gpu(c, ns, t_key(2, i), &h, &off), 0);
		ck_assert(t_verify(pool + off, BS, t_key(2, i)));
		ck_assert_int_eq(tier_release(c, h), 0);
	}
	g = tier_of(c, "gpu");
	ck_assert_uint_eq(g.blocks, POOL_BLOCKS);
	ck_assert_uint_eq(g.evictions, 100 - POOL_BLOCKS);
	ck_assert_uint_eq(g.pinned_blocks, 8);
	/* The pinned ones were never moved nor overwritten. */
	for (uint32_t i = 0; i < 8; i++)
		ck_assert(t_verify(pool + poff[i], BS, t_key(2, i)));
	/* Pin until the pool is all pinned: then -ENOSPC, at once. */
	for (uint32_t i = 50; i < 100; i++) {
		r = tier_acquire_gpu(c, ns, t_key(2, i), &h, &off);
		if (r == -ENOSPC)
			break;
		ck_assert_int_eq(r, 0);
		extra[n_extra++] = h;
	}
	ck_assert_uint_eq(n_extra, POOL_BLOCKS - 8);
	ck_assert_int_eq(r, -ENOSPC);
	/* Host copies of GPU blocks are all there (the host tier is not disturbed). */
	for (uint32_t i = 0; i < 8; i++)
		ck_assert(t_verify(tier_data(c, pinned[i]), BS, t_key(2, i)));
	for (uint32_t i = 0; i < n_extra; i++)
		ck_assert_int_eq(tier_release(c, extra[i]), 0);
	for (uint32_t i = 0; i < 8; i++)
		ck_assert_int_eq(tier_release(c, pinned[i]), 0);
	ck_assert_uint_eq(tier_of(c, "gpu").pinned_blocks, 0);
	munmap(pool, pool_bytes);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
	tdaemon_cleanup(&d);
}
END_TEST

START_TEST(test_three_tiers)
{
	struct tier_tier_stats g, nv;
	uint64_t off, pool_bytes;
	char path[200], opt[240];
	tier_client *c;
	uint8_t *pool, tiers[1];
	tier_handle h;
	uint32_t ns;

	snprintf(path, sizeof(path), "/var/tmp/tierd-gpu-%d.img", (int)getpid());
	snprintf(opt, sizeof(opt), "nvme.path=%s", path);
	tdaemon_start(&d, "8M", opt, "nvme.size=64M", "gpu.device=emu", "gpu.size=8M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kv", BS, &ns), 0);
	pool = map_pool(c, &pool_bytes);
	/* 96 blocks through an 8 MiB host tier: the oldest are on NVMe only. */
	for (uint32_t i = 0; i < 96; i++)
		put(c, ns, 3, i);
	ck_assert_int_eq(tier_flush(c, ns), 0);
	ck_assert_int_eq(tier_lookup_many(c, ns, (tier_key[]){ t_key(3, 0) }, 1, tiers), 1);
	ck_assert_uint_eq(tiers[0], TIER_NVME);
	nv = tier_of(c, "nvme");

	/* NVMe -> host -> GPU, verified on the way up, byte-exact in the pool. */
	ck_assert_int_eq(tier_acquire_gpu(c, ns, t_key(3, 0), &h, &off), 0);
	ck_assert(t_verify(pool + off, BS, t_key(3, 0)));
	ck_assert(t_verify(tier_data(c, h), BS, t_key(3, 0)));
	ck_assert_uint_eq(tier_of(c, "nvme").promotions, nv.promotions + 1);
	g = tier_of(c, "gpu");
	ck_assert_uint_eq(g.blocks, 1);
	ck_assert_uint_eq(g.promotions, 1);
	ck_assert_int_eq(tier_release(c, h), 0);

	/* New blocks push its host copy out (to NVMe): its GPU copy goes with it. */
	for (uint32_t i = 0; i < 96; i++)
		put(c, ns, 4, i);
	ck_assert_int_eq(tier_flush(c, ns), 0);
	ck_assert_int_eq(tier_lookup_many(c, ns, (tier_key[]){ t_key(3, 0) }, 1, tiers), 1);
	ck_assert_uint_eq(tiers[0], TIER_NVME);
	g = tier_of(c, "gpu");
	ck_assert_uint_eq(g.blocks, 0);
	ck_assert_uint_eq(g.used_bytes, 0);
	ck_assert_uint_eq(g.demotions, 1);

	/* And it comes back up through all three tiers again. */
	ck_assert_int_eq(tier_acquire_gpu(c, ns, t_key(3, 0), &h, &off), 0);
	ck_assert(t_verify(pool + off, BS, t_key(3, 0)));
	ck_assert_uint_eq(tier_of(c, "gpu").promotions, 2);
	ck_assert_int_eq(tier_release(c, h), 0);
	/* Many from NVMe at once, each byte-exact in the pool. */
	for (uint32_t i = 1; i < 20; i++) {
		ck_assert_int_eq(tier_acquire_gpu(c, ns, t_key(3, i), &h, &off), 0);
		ck_assert(t_verify(pool + off, BS, t_key(3, i)));
		ck_assert_int_eq(tier_release(c, h), 0);
	}
	munmap(pool, pool_bytes);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
	tdaemon_cleanup(&d);
	unlink(path);
	strcat(path, ".journal");
	unlink(path);
}
END_TEST

struct holder_arg {
	int ready_fd;
	uint32_t n;
};

/* A client that pins n blocks into the pool, says so, and waits to be killed. */
static int gpu_holder(void *arg)
{
	struct holder_arg *a = arg;
	tier_client *c = NULL;
	uint32_t ns;
	tier_handle h;
	uint64_t off;

	T_CHILD_CHECK(tier_connect(d.sock, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "kv", BS, &ns) == 0);
	for (uint32_t i = 0; i < a->n; i++)
		T_CHILD_CHECK(tier_acquire_gpu(c, ns, t_key(5, i), &h, &off) == 0);
	T_CHILD_CHECK(write(a->ready_fd, "r", 1) == 1);
	for (;;)
		pause();
	return 0;
}

START_TEST(test_client_killed)
{
	struct holder_arg a = { .n = 6 };
	struct tier_tier_stats g;
	tier_client *c;
	tier_handle h;
	uint64_t off, pool_bytes;
	uint8_t *pool;
	uint32_t ns;
	int p[2], status;
	char ch;
	pid_t pid;

	tdaemon_start(&d, "64M", "gpu.device=emu", "gpu.size=8M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kv", BS, &ns), 0);
	for (uint32_t i = 0; i < 40; i++)
		put(c, ns, 5, i);
	ck_assert_int_eq(pipe(p), 0);
	a.ready_fd = p[1];
	pid = t_fork(gpu_holder, &a);
	ck_assert_int_eq(read(p[0], &ch, 1), 1);
	g = tier_of(c, "gpu");
	ck_assert_uint_eq(g.pinned_blocks, a.n);
	kill(pid, SIGKILL);
	status = t_wait(pid, 5000);
	ck_assert(WIFSIGNALED(status));
	for (int i = 0; i < 500 && tier_of(c, "gpu").pinned_blocks; i++)
		t_msleep(10);
	g = tier_of(c, "gpu");
	ck_assert_uint_eq(g.pinned_blocks, 0);
	ck_assert_uint_eq(g.blocks, a.n);
	{
		struct tier_stats s = { .size = sizeof(s) };

		ck_assert_int_ge(tier_stats_get(c, &s, NULL, 0), 0);
		ck_assert_uint_eq(s.tiers[0].pinned_blocks, 0);
	}
	/* The daemon serves on, and the dead client's GPU copies are evictable. */
	pool = map_pool(c, &pool_bytes);
	for (uint32_t i = 0; i < 40; i++) {
		ck_assert_int_eq(tier_acquire_gpu(c, ns, t_key(5, 39 - i), &h, &off), 0);
		ck_assert(t_verify(pool + off, BS, t_key(5, 39 - i)));
		ck_assert_int_eq(tier_release(c, h), 0);
	}
	g = tier_of(c, "gpu");
	ck_assert_uint_eq(g.blocks, POOL_BLOCKS);
	/* The dead client's blocks were the oldest: evicted first, and copied in again last. */
	ck_assert_uint_eq(g.evictions, 40 - POOL_BLOCKS + a.n);
	munmap(pool, pool_bytes);
	close(p[0]);
	close(p[1]);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
	tdaemon_cleanup(&d);
}
END_TEST

/* gpu.device=none (the default) and auto without a GPU: no GPU tier, -ENODEV. */
START_TEST(test_no_gpu_tier)
{
	struct tier_gpu_pool p = { .size = sizeof(p) };
	struct tier_stats s = { .size = sizeof(s) };
	const char *dev = _i ? "gpu.device=auto" : "daemon.max_clients=64";
	tier_client *c;
	tier_handle h;
	uint64_t off;
	uint32_t ns;
	int fd = -1;

	tdaemon_start(&d, "16M", dev, NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kv", BS, &ns), 0);
	put(c, ns, 6, 0);
	/* With a real GPU and a CUDA build, auto opens it: nothing to check here then. */
	if (_i && tier_gpu_pool(c, &p, &fd) == 0) {
		close(fd);
		goto out;
	}
	ck_assert_int_eq(tier_acquire_gpu(c, ns, t_key(6, 0), &h, &off), -ENODEV);
	ck_assert_int_eq(tier_gpu_pool(c, &p, &fd), -ENODEV);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_ge(tier_stats_get(c, &s, NULL, 0), 0);
	for (uint32_t i = 0; i < s.n_tiers; i++)
		ck_assert_str_ne(s.tiers[i].name, "gpu");
	/* The ordinary path is untouched. */
	ck_assert_int_eq(tier_acquire(c, ns, t_key(6, 0), &h), 0);
	ck_assert_int_eq(tier_release(c, h), 0);
out:
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
	tdaemon_cleanup(&d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gpu_tier");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	t_tierd_path();
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_pool_pressure);
	tcase_add_test(tc, test_three_tiers);
	tcase_add_test(tc, test_client_killed);
	tcase_add_loop_test(tc, test_no_gpu_tier, 0, 2);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
