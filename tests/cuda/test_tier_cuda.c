/* SPDX-License-Identifier: MIT */
/*
 * libtier's GPU helpers (tier_cuda.h) against the real daemon, in emu mode:
 * the engine's "paged KV cache" is host memory, streams are emulated
 * (deferred, deterministic) streams, gather/scatter is the CPU reference.
 *
 * Checked: save then load restores every byte of every page, into the same
 * or other pages, with the synchronous and the deferred stream; a load stops
 * at the first key not cached and leaves later pages alone; saving a key
 * twice counts as saved; layer by layer, a compute stream that waits for
 * layer i sees layer i in its pages and not yet layer i+1, and layers out of
 * order are refused; a save missing layers commits nothing; pins are held
 * during an op and released after it, and when a client is killed holding
 * them; without a GPU, GPU mode is -ENODEV and AUTO falls back to emu.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "testutil.h"
#include "tier_cuda.h"

#define L 4
#define PAGE_TOKENS 4
#define BLOCK_TOKENS 8          /* 2 pages per block */
#define PPB (BLOCK_TOKENS / PAGE_TOKENS)
#define NUM_PAGES 64
#define NBLK 8

static const uint64_t bpt[L] = { 64, 32, 64, 128 };

static struct tdaemon d;

/* The engine's cache: per layer K and V tensors of NUM_PAGES pages. */
struct kv {
	uint8_t *k[L], *v[L];
	struct tier_kv_layout layout;
};

static void kv_init(struct kv *kv)
{
	memset(kv, 0, sizeof(*kv));
	for (int l = 0; l < L; l++) {
		kv->k[l] = calloc(NUM_PAGES * PAGE_TOKENS, bpt[l]);
		kv->v[l] = calloc(NUM_PAGES * PAGE_TOKENS, bpt[l]);
	}
	kv->layout = (struct tier_kv_layout){
		.size = sizeof(kv->layout), .kind = TIER_KV_PAGED, .num_layers = L,
		.num_pages = NUM_PAGES, .page_tokens = PAGE_TOKENS, .block_tokens = BLOCK_TOKENS,
		.k_base = (void *const *)kv->k, .v_base = (void *const *)kv->v,
		.bytes_per_token = bpt,
	};
}

static void kv_deinit(struct kv *kv)
{
	for (int l = 0; l < L; l++)
		free(kv->k[l]), free(kv->v[l]);
}

static uint8_t *page(struct kv *kv, int l, int isv, uint32_t pg)
{
	return (isv ? kv->v[l] : kv->k[l]) + (uint64_t)pg * PAGE_TOKENS * bpt[l];
}

/* Contents of a page as a function of (key seed, block, page in block, layer, K/V). */
static void fill_page(uint8_t *p, int l, uint32_t seed)
{
	uint64_t s = seed;

	for (uint64_t i = 0; i < PAGE_TOKENS * bpt[l]; i++)
		p[i] = (uint8_t)t_rand(&s);
}

static uint32_t page_seed(uint32_t chain, size_t b, int j, int l, int isv)
{
	return chain * 1000003u + (uint32_t)b * 7919u + (uint32_t)j * 131u + (uint32_t)l * 7u +
	       (uint32_t)isv;
}

static void fill_blocks(struct kv *kv, const uint32_t *pages, size_t n, uint32_t chain)
{
	for (size_t b = 0; b < n; b++)
		for (int j = 0; j < PPB; j++)
			for (int l = 0; l < L; l++)
				for (int isv = 0; isv < 2; isv++)
					fill_page(page(kv, l, isv, pages[b * PPB + j]), l,
						  page_seed(chain, b, j, l, isv));
}

/* Layer l of block b (of chain) is in its pages. */
static bool layer_ok(struct kv *kv, const uint32_t *pages, size_t b, int l, uint32_t chain)
{
	uint8_t want[PAGE_TOKENS * 128];

	for (int j = 0; j < PPB; j++)
		for (int isv = 0; isv < 2; isv++) {
			fill_page(want, l, page_seed(chain, b, j, l, isv));
			if (memcmp(page(kv, l, isv, pages[b * PPB + j]), want,
				   PAGE_TOKENS * bpt[l]))
				return false;
		}
	return true;
}

static bool layer_zero(struct kv *kv, const uint32_t *pages, size_t b, int l)
{
	for (int j = 0; j < PPB; j++)
		for (int isv = 0; isv < 2; isv++) {
			const uint8_t *p = page(kv, l, isv, pages[b * PPB + j]);

			for (uint64_t i = 0; i < PAGE_TOKENS * bpt[l]; i++)
				if (p[i])
					return false;
		}
	return true;
}

static void kv_clear(struct kv *kv)
{
	for (int l = 0; l < L; l++) {
		memset(kv->k[l], 0, NUM_PAGES * PAGE_TOKENS * bpt[l]);
		memset(kv->v[l], 0, NUM_PAGES * PAGE_TOKENS * bpt[l]);
	}
}

static void chain_keys(tier_key *keys, size_t n, uint32_t chain)
{
	for (size_t i = 0; i < n; i++)
		keys[i] = t_key(chain, (uint32_t)i);
}

/* Distinct pages, shuffled: blocks are not in page order in a real engine either. */
static void pick_pages(uint32_t *pages, size_t n, uint64_t seed)
{
	uint32_t all[NUM_PAGES];

	for (uint32_t i = 0; i < NUM_PAGES; i++)
		all[i] = i;
	for (uint32_t i = NUM_PAGES - 1; i > 0; i--) {
		uint32_t j = (uint32_t)t_rand_below(&seed, i + 1), t = all[i];

		all[i] = all[j];
		all[j] = t;
	}
	memcpy(pages, all, n * sizeof(uint32_t));
}

static tier_cuda *emu_helper(tier_client *c, struct kv *kv)
{
	struct tier_cuda_opts o = { .size = sizeof(o), .mode = TIER_CUDA_EMU };
	tier_cuda *tc;

	ck_assert_int_eq(tier_cuda_new(c, "kv-emu", &kv->layout, &o, &tc), 0);
	ck_assert_int_eq(tier_cuda_mode(tc, NULL), TIER_CUDA_EMU);
	return tc;
}

static uint64_t host_pinned(tier_client *c)
{
	struct tier_stats s = { .size = sizeof(s) };

	t_stats(c, &s, NULL, 0);
	for (uint32_t i = 0; i < s.n_tiers; i++)
		if (strcmp(s.tiers[i].name, "host") == 0)
			return s.tiers[i].pinned_blocks;
	return s.tiers[0].pinned_blocks;
}

static void setup(void)
{
	tdaemon_start(&d, "64M", NULL);
}

static void teardown(void)
{
	tdaemon_stop(&d);
	tdaemon_cleanup(&d);
}

/* _i: 0 = synchronous (stream NULL), 1 = deferred emulated stream. */
START_TEST(save_load_round_trip)
{
	tier_client *c = t_connect(&d);
	tier_emu_stream *s = NULL;
	struct kv kv;
	tier_cuda *tc;
	tier_key keys[NBLK];
	uint32_t pages[NBLK * PPB], other[NBLK * PPB];

	kv_init(&kv);
	tc = emu_helper(c, &kv);
	if (_i)
		ck_assert_int_eq(tier_emu_stream_new(&s), 0);
	chain_keys(keys, NBLK, 1 + _i);
	pick_pages(pages, NBLK * PPB, 11);
	pick_pages(other, NBLK * PPB, 12);
	fill_blocks(&kv, pages, NBLK, 1 + _i);

	ck_assert_int_eq(tier_cuda_save(tc, keys, pages, NBLK, s), NBLK);
	ck_assert_uint_eq(tier_emu_stream_pending(s), 0); /* commit waited for the gather */
	ck_assert_int_eq(tier_lookup(c, tier_cuda_ns(tc), keys, NBLK), NBLK);
	ck_assert_uint_eq(host_pinned(c), 0);

	/* into the same pages */
	kv_clear(&kv);
	ck_assert_int_eq(tier_cuda_load(tc, keys, pages, NBLK, s), NBLK);
	for (size_t b = 0; b < NBLK; b++)
		for (int l = 0; l < L; l++)
			ck_assert(layer_ok(&kv, pages, b, l, 1 + _i));
	ck_assert_uint_eq(host_pinned(c), 0);

	/* into other pages */
	kv_clear(&kv);
	ck_assert_int_eq(tier_cuda_load(tc, keys, other, NBLK, s), NBLK);
	for (size_t b = 0; b < NBLK; b++)
		for (int l = 0; l < L; l++)
			ck_assert(layer_ok(&kv, other, b, l, 1 + _i));

	/* a second save of the same keys: first writer wins, counted as saved */
	ck_assert_int_eq(tier_cuda_save(tc, keys, other, NBLK, s), NBLK);

	tier_emu_stream_free(s);
	tier_cuda_free(tc);
	tier_close(c);
	kv_deinit(&kv);
}
END_TEST

START_TEST(load_stops_at_first_miss)
{
	tier_client *c = t_connect(&d);
	struct kv kv;
	tier_cuda *tc;
	tier_key keys[NBLK];
	uint32_t pages[NBLK * PPB];

	kv_init(&kv);
	tc = emu_helper(c, &kv);
	chain_keys(keys, NBLK, 3);
	pick_pages(pages, NBLK * PPB, 13);
	fill_blocks(&kv, pages, NBLK, 3);
	ck_assert_int_eq(tier_cuda_save(tc, keys, pages, 5, NULL), 5);
	kv_clear(&kv);
	ck_assert_int_eq(tier_cuda_load(tc, keys, pages, NBLK, NULL), 5);
	for (size_t b = 0; b < NBLK; b++)
		for (int l = 0; l < L; l++)
			ck_assert(b < 5 ? layer_ok(&kv, pages, b, l, 3) : layer_zero(&kv, pages, b, l));
	/* nothing cached: 0, nothing touched */
	chain_keys(keys, NBLK, 4);
	ck_assert_int_eq(tier_cuda_load(tc, keys, pages, NBLK, NULL), 0);
	/* out-of-range page ids are refused before anything is pinned */
	pages[3] = NUM_PAGES;
	ck_assert_int_eq(tier_cuda_load(tc, keys, pages, NBLK, NULL), -EINVAL);
	ck_assert_int_eq(tier_cuda_save(tc, keys, pages, NBLK, NULL), -EINVAL);
	ck_assert_uint_eq(host_pinned(c), 0);
	tier_cuda_free(tc);
	tier_close(c);
	kv_deinit(&kv);
}
END_TEST

struct compute {
	struct kv *kv;
	const uint32_t *pages;
	size_t n;
	int layer;
	bool saw_layer, saw_next;   /* layer loaded; layer+1 loaded (must not be yet) */
	int ran;
};

static void compute_layer(void *arg)
{
	struct compute *cp = arg;

	cp->saw_layer = true;
	cp->saw_next = cp->layer + 1 < L;
	for (size_t b = 0; b < cp->n; b++) {
		cp->saw_layer &= layer_ok(cp->kv, cp->pages, b, cp->layer, 5);
		if (cp->layer + 1 < L)
			cp->saw_next &= layer_ok(cp->kv, cp->pages, b, cp->layer + 1, 5);
	}
	cp->ran++;
}

START_TEST(layer_wise_ordering)
{
	tier_client *c = t_connect(&d);
	tier_emu_stream *sl, *sc;
	struct kv kv;
	tier_cuda *tc;
	tier_cuda_op *op;
	tier_key keys[NBLK];
	uint32_t pages[NBLK * PPB];
	struct compute cp[L];

	kv_init(&kv);
	tc = emu_helper(c, &kv);
	ck_assert_int_eq(tier_emu_stream_new(&sl), 0);
	ck_assert_int_eq(tier_emu_stream_new(&sc), 0);
	chain_keys(keys, NBLK, 5);
	pick_pages(pages, NBLK * PPB, 15);
	fill_blocks(&kv, pages, NBLK, 5);

	/* Save layer by layer, on the stream that "computed" the KV. */
	ck_assert_int_eq(tier_cuda_save_begin(tc, keys, pages, NBLK, &op), NBLK);
	ck_assert_int_eq(tier_cuda_load_layer(op, 0, sl), -EINVAL); /* a save op */
	ck_assert_int_eq(tier_cuda_save_layer(op, 1, sl), -EINVAL); /* out of order */
	for (int l = 0; l < L; l++)
		ck_assert_int_eq(tier_cuda_save_layer(op, (uint32_t)l, sl), 0);
	ck_assert_uint_eq(tier_emu_stream_pending(sl), L);
	ck_assert_int_eq(tier_lookup(c, tier_cuda_ns(tc), keys, NBLK), 0); /* not before end */
	ck_assert_int_eq(tier_cuda_op_end(op), NBLK);
	ck_assert_uint_eq(tier_emu_stream_pending(sl), 0);
	ck_assert_int_eq(tier_lookup(c, tier_cuda_ns(tc), keys, NBLK), NBLK);

	/* Load layer by layer; compute waits for each layer's event. */
	kv_clear(&kv);
	ck_assert_int_eq(tier_cuda_load_begin(tc, keys, pages, NBLK, &op), NBLK);
	ck_assert_uint_eq(host_pinned(c), NBLK);
	ck_assert_int_eq(tier_cuda_load_layer(op, 1, sl), -EINVAL);
	ck_assert_int_eq(tier_cuda_wait_layer(op, 0, sc), -EINVAL); /* not moved yet */
	for (int l = 0; l < L; l++) {
		cp[l] = (struct compute){ .kv = &kv, .pages = pages, .n = NBLK, .layer = l };
		ck_assert_int_eq(tier_cuda_load_layer(op, (uint32_t)l, sl), 0);
		ck_assert_int_eq(tier_cuda_wait_layer(op, (uint32_t)l, sc), 0);
		ck_assert_int_eq(tier_emu_stream_launch(sc, compute_layer, &cp[l]), 0);
		if (l == 1) {
			/* Nothing has run: the loads are queued, not done. */
			ck_assert(layer_zero(&kv, pages, 0, 0));
			/* Running compute up to its layer-0 work pulls in exactly layer 0. */
			tier_emu_stream_synchronize(sc);
			ck_assert_int_eq(cp[0].ran, 1);
			ck_assert(cp[0].saw_layer);
			ck_assert(!cp[0].saw_next); /* layer 1 was not loaded yet */
			ck_assert(cp[1].saw_layer);
		}
	}
	tier_emu_stream_synchronize(sc);
	for (int l = 0; l < L; l++) {
		ck_assert_int_eq(cp[l].ran, 1);
		ck_assert_msg(cp[l].saw_layer, "compute of layer %d ran before its load", l);
	}
	/* Layers 2 and 3 were enqueued after compute 1 ran: compute 2 saw no layer 3. */
	ck_assert(!cp[2].saw_next);
	ck_assert_uint_eq(host_pinned(c), NBLK);
	ck_assert_int_eq(tier_cuda_op_end(op), NBLK);
	ck_assert_uint_eq(host_pinned(c), 0);
	for (size_t b = 0; b < NBLK; b++)
		for (int l = 0; l < L; l++)
			ck_assert(layer_ok(&kv, pages, b, l, 5));

	tier_emu_stream_free(sl);
	tier_emu_stream_free(sc);
	tier_cuda_free(tc);
	tier_close(c);
	kv_deinit(&kv);
}
END_TEST

START_TEST(incomplete_save_commits_nothing)
{
	tier_client *c = t_connect(&d);
	struct kv kv;
	tier_cuda *tc;
	tier_cuda_op *op;
	tier_key keys[NBLK];
	uint32_t pages[NBLK * PPB];
	struct tier_stats s = { .size = sizeof(s) };

	kv_init(&kv);
	tc = emu_helper(c, &kv);
	chain_keys(keys, NBLK, 6);
	pick_pages(pages, NBLK * PPB, 16);
	ck_assert_int_eq(tier_cuda_save_begin(tc, keys, pages, NBLK, &op), NBLK);
	ck_assert_int_eq(tier_cuda_save_layer(op, 0, NULL), 0);
	ck_assert_int_eq(tier_cuda_op_end(op), -EINVAL);
	ck_assert_int_eq(tier_lookup(c, tier_cuda_ns(tc), keys, NBLK), 0);
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].blocks, 0);
	ck_assert_uint_eq(s.tiers[0].used_bytes, 0);
	/* An op left open is ended by tier_cuda_free: its blocks are not committed. */
	ck_assert_int_eq(tier_cuda_save_begin(tc, keys, pages, 2, &op), 2);
	tier_cuda_free(tc);
	ck_assert_int_eq(tier_lookup(c, 0, keys, NBLK), 0);
	tier_close(c);
	kv_deinit(&kv);
}
END_TEST

static int pipe_fds[2];

static int holder(void *arg)
{
	tier_client *c;
	tier_cuda *tc;
	tier_cuda_op *op;
	struct kv kv;
	tier_key keys[NBLK];
	uint32_t pages[NBLK * PPB];
	struct tier_cuda_opts o = { .size = sizeof(o), .mode = TIER_CUDA_EMU };

	(void)arg;
	kv_init(&kv);
	chain_keys(keys, NBLK, 7);
	pick_pages(pages, NBLK * PPB, 17);
	T_CHILD_CHECK(tier_connect(d.sock, &c) == 0);
	T_CHILD_CHECK(tier_cuda_new(c, "kv-emu", &kv.layout, &o, &tc) == 0);
	T_CHILD_CHECK(tier_cuda_load_begin(tc, keys, pages, NBLK, &op) == NBLK);
	T_CHILD_CHECK(tier_cuda_load_layer(op, 0, NULL) == 0);
	T_CHILD_CHECK(write(pipe_fds[1], "p", 1) == 1);
	pause(); /* killed here, holding NBLK pins */
	return 1;
}

START_TEST(killed_client_releases_pins)
{
	tier_client *c = t_connect(&d);
	struct kv kv;
	tier_cuda *tc;
	tier_key keys[NBLK];
	uint32_t pages[NBLK * PPB];
	pid_t pid;
	char ch;
	int st;

	kv_init(&kv);
	tc = emu_helper(c, &kv);
	chain_keys(keys, NBLK, 7);
	pick_pages(pages, NBLK * PPB, 17);
	fill_blocks(&kv, pages, NBLK, 7);
	ck_assert_int_eq(tier_cuda_save(tc, keys, pages, NBLK, NULL), NBLK);
	ck_assert_int_eq(pipe(pipe_fds), 0);
	pid = t_fork(holder, NULL);
	ck_assert_int_eq(read(pipe_fds[0], &ch, 1), 1);
	ck_assert_uint_eq(host_pinned(c), NBLK);
	kill(pid, SIGKILL);
	st = t_wait(pid, 5000);
	ck_assert(WIFSIGNALED(st));
	for (int i = 0; i < 500 && host_pinned(c) != 0; i++)
		t_msleep(10);
	ck_assert_uint_eq(host_pinned(c), 0);
	/* and the blocks are still there, whole */
	kv_clear(&kv);
	ck_assert_int_eq(tier_cuda_load(tc, keys, pages, NBLK, NULL), NBLK);
	for (size_t b = 0; b < NBLK; b++)
		for (int l = 0; l < L; l++)
			ck_assert(layer_ok(&kv, pages, b, l, 7));
	tier_cuda_free(tc);
	tier_close(c);
	kv_deinit(&kv);
}
END_TEST

START_TEST(modes)
{
	tier_client *c = t_connect(&d);
	struct kv kv;
	struct tier_cuda_opts o = { .size = sizeof(o), .mode = TIER_CUDA_GPU };
	struct tier_kv_layout bad;
	tier_cuda *tc;
	const char *why;
	uint32_t ns;
	int r;

	kv_init(&kv);
	r = tier_cuda_new(c, "kv-emu", &kv.layout, &o, &tc);
	if (r == 0) {
		fprintf(stderr, "a GPU is usable here: GPU mode opened\n");
		tier_cuda_free(tc);
	} else {
		ck_assert_int_eq(r, -ENODEV);
		ck_assert_int_eq(tier_cuda_new(c, "kv-emu", &kv.layout, NULL, &tc), 0);
		ck_assert_int_eq(tier_cuda_mode(tc, &why), TIER_CUDA_EMU);
		ck_assert(why && why[0]);
		fprintf(stderr, "AUTO fell back to emu: %s\n", why);
		tier_cuda_free(tc);
	}
	/* the namespace's block size is the layout's */
	ck_assert_int_eq(tier_namespace(c, "kv-emu", tier_kv_block_bytes(&kv.layout), &ns), 0);
	ck_assert_int_eq(tier_namespace(c, "kv-emu", 4096, &ns), -EINVAL);
	bad = kv.layout;
	bad.block_tokens = 6;
	ck_assert_int_eq(tier_cuda_new(c, "kv-bad", &bad, NULL, &tc), -EINVAL);
	o.size = 4;
	ck_assert_int_eq(tier_cuda_new(c, "kv-emu", &kv.layout, &o, &tc), -EINVAL);
	tier_close(c);
	kv_deinit(&kv);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tier_cuda");
	TCase *tc = tcase_create("emu");

	t_tierd_path();
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, save_load_round_trip, 0, 2);
	tcase_add_test(tc, load_stops_at_first_miss);
	tcase_add_test(tc, layer_wise_ordering);
	tcase_add_test(tc, incomplete_save_commits_nothing);
	tcase_add_test(tc, killed_client_releases_pins);
	tcase_add_test(tc, modes);
	suite_add_tcase(s, tc);
	return t_run_suite(s);
}
