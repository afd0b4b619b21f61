/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the size classes (tierd/slab.c): strides, classes sharing
 * one arena, extents going back to the pool, classes spanning several
 * extents, exhaustion, and a random alloc/free run checked against a bitmap
 * of the arena's 4 KiB pages so that no two live blocks ever overlap.
 */
#include <errno.h>
#include <string.h>

#include "../helpers/testutil.h"
#include "slab.h"

#define MiB (1ULL << 20)

static bool extent_is_carved(const struct slab_alloc *sa, uint32_t e)
{
	return sa->extent_slab[e] != SLAB_NONE;
}

START_TEST(test_class_stride)
{
	struct slab_alloc sa;
	int c1, c2, c3, c4;

	ck_assert_int_eq(slab_init(&sa, 32 * MiB, SLAB_EXTENT_BYTES), 0);
	ck_assert_uint_eq(sa.n_extents, 16);
	c1 = slab_class_for(&sa, 1);
	c2 = slab_class_for(&sa, 4096);
	c3 = slab_class_for(&sa, 4097);
	c4 = slab_class_for(&sa, 8192);
	ck_assert_int_ge(c1, 0);
	/* Classes are by stride: sizes that round to one stride share a class. */
	ck_assert_int_eq(c1, c2);
	ck_assert_int_ne(c2, c3);
	ck_assert_int_eq(c3, c4);
	ck_assert_uint_eq(sa.classes[c1].stride, 4096);
	ck_assert_uint_eq(sa.classes[c3].stride, 8192);
	ck_assert_uint_eq(sa.classes[c1].per_slab, SLAB_EXTENT_BYTES / 4096);
	ck_assert_uint_eq(sa.n_classes, 2);
	/* Asking whether a size has a class creates none. */
	ck_assert(slab_has_class(&sa, 5000));
	ck_assert(!slab_has_class(&sa, 12000));
	ck_assert_uint_eq(sa.n_classes, 2);

	/* 12000 bytes -> 12 KiB stride; 170 fit in an extent, the rest is slack. */
	int c5 = slab_class_for(&sa, 12000);

	ck_assert_int_ge(c5, 0);
	ck_assert_uint_eq(sa.classes[c5].stride, 12288);
	ck_assert_uint_eq(sa.classes[c5].per_slab, SLAB_EXTENT_BYTES / 12288);
	ck_assert_uint_eq(sa.classes[c5].slab_extents, 1);

	ck_assert_int_eq(slab_class_for(&sa, 0), -EINVAL);
	ck_assert_int_eq(slab_class_for(&sa, 32 * MiB + 1), -EINVAL);
	/* An arena below one extent is refused. */
	slab_deinit(&sa);
	ck_assert_int_eq(slab_init(&sa, SLAB_EXTENT_BYTES - 1, SLAB_EXTENT_BYTES), -EINVAL);
}
END_TEST

START_TEST(test_class_limit)
{
	struct slab_alloc sa;

	ck_assert_int_eq(slab_init(&sa, 512 * MiB, SLAB_EXTENT_BYTES), 0);
	for (uint32_t i = 0; i < SLAB_MAX_CLASSES; i++)
		ck_assert_int_eq(slab_class_for(&sa, (i + 1) * SLAB_ALIGN), (int)i);
	ck_assert_int_eq(slab_class_for(&sa, (SLAB_MAX_CLASSES + 1) * SLAB_ALIGN), -ENOSPC);
	/* An existing class is still found when the table is full. */
	ck_assert_int_eq(slab_class_for(&sa, 3 * SLAB_ALIGN), 2);
	slab_deinit(&sa);
}
END_TEST

/* Offsets are aligned, inside the arena, and of the class asked for. */
START_TEST(test_sizes_coexist)
{
	static const uint64_t sizes[] = { 100, 8192, 12000, 65536, 1 * MiB, 3 * MiB };
	struct slab_alloc sa;
	uint64_t offs[6][3];
	int cls[6];

	ck_assert_int_eq(slab_init(&sa, 64 * MiB, SLAB_EXTENT_BYTES), 0);
	for (int i = 0; i < 6; i++) {
		cls[i] = slab_class_for(&sa, sizes[i]);
		ck_assert_int_ge(cls[i], 0);
	}
	for (int j = 0; j < 3; j++)
		for (int i = 0; i < 6; i++) {
			uint64_t off = slab_alloc(&sa, (uint32_t)cls[i]);

			ck_assert_uint_ne(off, SLAB_OFF_NONE);
			ck_assert_uint_eq(off % SLAB_ALIGN, 0);
			ck_assert_uint_le(off + sa.classes[cls[i]].stride, sa.arena_bytes);
			ck_assert_uint_eq(slab_class_of(&sa, off), (uint32_t)cls[i]);
			ck_assert(slab_is_allocated(&sa, off));
			offs[i][j] = off;
		}
	/* No two blocks overlap. */
	for (int a = 0; a < 18; a++)
		for (int b = a + 1; b < 18; b++) {
			uint64_t oa = offs[a / 3][a % 3], ob = offs[b / 3][b % 3];
			uint64_t la = sa.classes[cls[a / 3]].stride, lb = sa.classes[cls[b / 3]].stride;

			ck_assert_msg(oa + la <= ob || ob + lb <= oa,
				      "blocks at %llu (+%llu) and %llu (+%llu) overlap",
				      (unsigned long long)oa, (unsigned long long)la,
				      (unsigned long long)ob, (unsigned long long)lb);
		}
	for (int i = 0; i < 6; i++) {
		ck_assert_uint_eq(sa.classes[cls[i]].used_blocks, 3);
		for (int j = 0; j < 3; j++)
			slab_free(&sa, offs[i][j]);
		ck_assert_uint_eq(sa.classes[cls[i]].used_blocks, 0);
	}
	ck_assert_uint_eq(sa.free_extents, sa.n_extents);
	ck_assert_uint_eq(slab_carved_bytes(&sa), 0);
	slab_deinit(&sa);
}
END_TEST

START_TEST(test_empty_slab_returns_extents)
{
	struct slab_alloc sa;
	int small, big;
	uint64_t first, off[512];
	uint32_t per;

	ck_assert_int_eq(slab_init(&sa, 8 * MiB, SLAB_EXTENT_BYTES), 0);
	small = slab_class_for(&sa, 4096);
	big = slab_class_for(&sa, 2 * MiB);
	per = sa.classes[small].per_slab;
	ck_assert_uint_eq(per, 512);

	first = slab_alloc(&sa, (uint32_t)small);
	ck_assert_uint_eq(sa.free_extents, 3);
	ck_assert_uint_eq(sa.classes[small].slabs, 1);
	ck_assert_uint_eq(slab_carved_bytes(&sa), SLAB_EXTENT_BYTES);
	/* Every block of the slab comes from that one extent. */
	off[0] = first;
	for (uint32_t i = 1; i < per; i++) {
		off[i] = slab_alloc(&sa, (uint32_t)small);
		ck_assert_uint_eq(off[i] / SLAB_EXTENT_BYTES, first / SLAB_EXTENT_BYTES);
	}
	ck_assert_uint_eq(sa.free_extents, 3);
	/* The slab is full: the next block carves a second extent. */
	uint64_t extra = slab_alloc(&sa, (uint32_t)small);

	ck_assert_uint_ne(extra / SLAB_EXTENT_BYTES, first / SLAB_EXTENT_BYTES);
	ck_assert_uint_eq(sa.free_extents, 2);
	slab_free(&sa, extra);
	ck_assert_uint_eq(sa.free_extents, 3);

	/* Freeing all but one keeps the slab; the last one gives the extent back. */
	for (uint32_t i = 1; i < per; i++)
		slab_free(&sa, off[i]);
	ck_assert_uint_eq(sa.free_extents, 3);
	ck_assert(extent_is_carved(&sa, (uint32_t)(first / SLAB_EXTENT_BYTES)));
	slab_free(&sa, first);
	ck_assert_uint_eq(sa.free_extents, 4);
	ck_assert(!extent_is_carved(&sa, (uint32_t)(first / SLAB_EXTENT_BYTES)));
	ck_assert_uint_eq(sa.classes[small].slabs, 0);
	ck_assert_uint_eq(slab_class_of(&sa, first), SLAB_NONE);
	ck_assert(!slab_is_allocated(&sa, first));

	/* The other class can now have all four extents. */
	for (int i = 0; i < 4; i++)
		ck_assert_uint_ne(slab_alloc(&sa, (uint32_t)big), SLAB_OFF_NONE);
	ck_assert_uint_eq(slab_alloc(&sa, (uint32_t)big), SLAB_OFF_NONE);
	ck_assert_uint_eq(slab_alloc(&sa, (uint32_t)small), SLAB_OFF_NONE);
	slab_deinit(&sa);
}
END_TEST

/* Freeing something twice, or an offset that is no block, changes nothing. */
START_TEST(test_free_bogus)
{
	struct slab_alloc sa;
	int c;
	uint64_t a, b;

	ck_assert_int_eq(slab_init(&sa, 8 * MiB, SLAB_EXTENT_BYTES), 0);
	c = slab_class_for(&sa, 8192);
	a = slab_alloc(&sa, (uint32_t)c);
	b = slab_alloc(&sa, (uint32_t)c);
	slab_free(&sa, a + 4096);        /* inside a block, not its start */
	slab_free(&sa, 7 * MiB);         /* an extent no slab owns */
	slab_free(&sa, 100 * MiB);       /* outside the arena */
	ck_assert_uint_eq(sa.classes[c].used_blocks, 2);
	slab_free(&sa, a);
	slab_free(&sa, a);
	ck_assert_uint_eq(sa.classes[c].used_blocks, 1);
	ck_assert(slab_is_allocated(&sa, b));
	ck_assert_uint_eq(slab_alloc(&sa, 99), SLAB_OFF_NONE); /* no such class */
	slab_deinit(&sa);
}
END_TEST

START_TEST(test_multi_extent_class)
{
	struct slab_alloc sa;
	int big, small;
	uint64_t off[4], s;
	uint64_t buf[8];

	ck_assert_int_eq(slab_init(&sa, 16 * MiB, SLAB_EXTENT_BYTES), 0);
	big = slab_class_for(&sa, 3 * MiB);
	ck_assert_int_ge(big, 0);
	ck_assert_uint_eq(sa.classes[big].slab_extents, 2);
	ck_assert_uint_eq(sa.classes[big].per_slab, 1);
	for (int i = 0; i < 4; i++) {
		off[i] = slab_alloc(&sa, (uint32_t)big);
		ck_assert_uint_ne(off[i], SLAB_OFF_NONE);
		ck_assert_uint_eq(off[i] % SLAB_EXTENT_BYTES, 0);
		/* Both extents of the slab belong to it. */
		ck_assert_uint_eq(slab_class_of(&sa, off[i] + SLAB_EXTENT_BYTES), (uint32_t)big);
		ck_assert_uint_eq(slab_blocks_of(&sa, off[i], buf, 8), 1);
		ck_assert_uint_eq(buf[0], off[i]);
	}
	ck_assert_uint_eq(sa.free_extents, 0);
	ck_assert_uint_eq(slab_alloc(&sa, (uint32_t)big), SLAB_OFF_NONE);

	/* Fragment: extents 0-1 free, then one small block in extent 0. */
	slab_free(&sa, off[0]);
	slab_free(&sa, off[2]);
	ck_assert_uint_eq(sa.free_extents, 4);
	small = slab_class_for(&sa, 4096);
	s = slab_alloc(&sa, (uint32_t)small);
	ck_assert_uint_eq(s / SLAB_EXTENT_BYTES, 0); /* first fit */
	/* Three free extents (1, 4, 5), but only 4-5 are contiguous. */
	off[0] = slab_alloc(&sa, (uint32_t)big);
	ck_assert_uint_eq(off[0], 8 * MiB);
	/* Extent 1 is free but alone: the big class is refused... */
	ck_assert_uint_eq(sa.free_extents, 1);
	ck_assert_uint_eq(slab_alloc(&sa, (uint32_t)big), SLAB_OFF_NONE);
	/* ...while the small class still gets blocks. */
	ck_assert_uint_ne(slab_alloc(&sa, (uint32_t)small), SLAB_OFF_NONE);
	slab_deinit(&sa);
}
END_TEST

/* Every class, filled to the last block: SLAB_OFF_NONE after exactly capacity blocks. */
static const uint64_t exhaust_sizes[] = { 4096, 12000, 65536, 700 * 1024, 2 * MiB, 5 * MiB };

START_TEST(test_exhaustion)
{
	struct slab_alloc sa;
	uint64_t size = exhaust_sizes[_i], n = 0, expect;
	int c;

	t_check_eq(slab_init(&sa, 32 * MiB, SLAB_EXTENT_BYTES), 0);
	c = slab_class_for(&sa, size);
	t_check(c >= 0);
	expect = (uint64_t)(sa.n_extents / sa.classes[c].slab_extents) * sa.classes[c].per_slab;
	while (slab_alloc(&sa, (uint32_t)c) != SLAB_OFF_NONE) {
		n++;
		t_check(n <= expect);
	}
	t_check_eq(n, expect);
	t_check_eq(sa.classes[c].used_blocks, expect);
	t_check_eq(slab_alloc(&sa, (uint32_t)c), SLAB_OFF_NONE);
	slab_deinit(&sa);
}
END_TEST

/*
 * Random allocs and frees over several classes, every live block marked in a
 * bitmap of 4 KiB pages: an allocation must land on pages no live block uses.
 */
START_TEST(test_random_no_overlap)
{
	static const uint64_t sizes[] = { 4096, 5000, 12288, 65536, 300000, 1 * MiB, 3 * MiB };
	enum { NCLS = 7, MAXLIVE = 4096, OPS = 30000 };
	const uint64_t arena = 64 * MiB;
	uint64_t pages = arena / SLAB_ALIGN;
	uint8_t *bitmap = calloc(pages, 1);
	struct { uint64_t off; int c; } *live = calloc(MAXLIVE, sizeof(*live));
	uint64_t rng = 0x5eed0000 + (uint64_t)_i;
	struct slab_alloc sa;
	int cls[NCLS], nlive = 0, fails = 0;

	t_check(bitmap);
	t_check(live);
	t_check_eq(slab_init(&sa, arena, SLAB_EXTENT_BYTES), 0);
	for (int i = 0; i < NCLS; i++)
		cls[i] = slab_class_for(&sa, sizes[i]);
	for (int op = 0; op < OPS; op++) {
		bool do_alloc = nlive == 0 || (nlive < MAXLIVE && t_rand_below(&rng, 100) < 55);

		if (do_alloc) {
			int c = cls[t_rand_below(&rng, NCLS)];
			uint64_t off = slab_alloc(&sa, (uint32_t)c), stride = sa.classes[c].stride;

			if (off == SLAB_OFF_NONE) {
				fails++;
				continue;
			}
			t_check_eq(off % SLAB_ALIGN, 0);
			t_check(off + stride <= arena);
			for (uint64_t p = off / SLAB_ALIGN; p < (off + stride) / SLAB_ALIGN; p++) {
				if (bitmap[p])
					ck_abort_msg("op %d: block at %llu overlaps a live block", op,
						     (unsigned long long)off);
				bitmap[p] = 1;
			}
			live[nlive].off = off;
			live[nlive].c = c;
			nlive++;
		} else {
			int k = (int)t_rand_below(&rng, (uint64_t)nlive);
			uint64_t off = live[k].off, stride = sa.classes[live[k].c].stride;

			t_check(slab_is_allocated(&sa, off));
			t_check_eq(slab_class_of(&sa, off), (uint32_t)live[k].c);
			slab_free(&sa, off);
			t_check(!slab_is_allocated(&sa, off));
			for (uint64_t p = off / SLAB_ALIGN; p < (off + stride) / SLAB_ALIGN; p++)
				bitmap[p] = 0;
			live[k] = live[--nlive];
		}
	}
	/* The arena did fill up at times, so exhaustion paths ran too. */
	ck_assert_int_gt(fails, 0);
	while (nlive)
		slab_free(&sa, live[--nlive].off);
	t_check_eq(sa.free_extents, sa.n_extents);
	for (int i = 0; i < NCLS; i++) {
		t_check_eq(sa.classes[cls[i]].used_blocks, 0);
		t_check_eq(sa.classes[cls[i]].slabs, 0);
	}
	slab_deinit(&sa);
	free(bitmap);
	free(live);
}
END_TEST

static Suite *slab_suite(void)
{
	Suite *s = suite_create("slab");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_class_stride);
	tcase_add_test(tc, test_class_limit);
	tcase_add_test(tc, test_sizes_coexist);
	tcase_add_test(tc, test_empty_slab_returns_extents);
	tcase_add_test(tc, test_free_bogus);
	tcase_add_test(tc, test_multi_extent_class);
	tcase_add_loop_test(tc, test_exhaustion, 0,
			    (int)(sizeof(exhaust_sizes) / sizeof(exhaust_sizes[0])));
	tcase_add_loop_test(tc, test_random_no_overlap, 0, 3);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(slab_suite());
}
