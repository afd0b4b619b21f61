/* SPDX-License-Identifier: MIT */
/*
 * verifycost: what host.verify adds to a block's life, against what an
 * engine already pays for it.  With host.verify the daemon hashes a block
 * (XXH3-64, as tierd/store.c does) once at commit and once at every acquire;
 * the engine copies the block in at write and out at read.  For each block
 * size: 128 MiB of blocks in a MAP_SHARED memfd (as the arena), five passes,
 * median GB/s of XXH3 over each block and of memcpy of each block into a
 * page-aligned buffer, and their ratio (hash time / copy time) in the same run.
 *
 *   build/tools/verifycost [BLOCK_KIB]...   (default 4 64 256 2048)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#define TOTAL (128u << 20)
#define PASSES 5

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v)
{
	qsort(v, PASSES, sizeof(*v), cmp_double);
	return v[PASSES / 2];
}

int main(int argc, char **argv)
{
	static const size_t defaults[] = { 4, 64, 256, 2048 };
	int fd = memfd_create("verifycost", MFD_CLOEXEC);
	uint8_t *arena, *dst = aligned_alloc(4096, TOTAL);
	volatile uint64_t sink = 0;
	int nsizes = argc > 1 ? argc - 1 : (int)(sizeof(defaults) / sizeof(defaults[0]));

	if (fd < 0 || ftruncate(fd, TOTAL) < 0 || !dst)
		return perror("setup"), 1;
	arena = mmap(NULL, TOTAL, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (arena == MAP_FAILED)
		return perror("mmap"), 1;
	for (size_t i = 0; i < TOTAL; i++)
		arena[i] = (uint8_t)(i * 2654435761u >> 13);
	memset(dst, 0, TOTAL);
	printf("block_kib  xxh3_GBps  memcpy_GBps  hash_vs_copy\n");
	for (int s = 0; s < nsizes; s++) {
		size_t bs = (argc > 1 ? strtoull(argv[s + 1], NULL, 10) : defaults[s]) << 10;
		double th[PASSES], tc[PASSES], h, c;

		if (bs == 0 || bs > TOTAL)
			continue;
		for (int p = 0; p < PASSES; p++) {
			double t0 = now_s();

			for (size_t off = 0; off + bs <= TOTAL; off += bs)
				sink += XXH3_64bits(arena + off, bs);
			th[p] = now_s() - t0;
			t0 = now_s();
			for (size_t off = 0; off + bs <= TOTAL; off += bs)
				memcpy(dst + off, arena + off, bs);
			tc[p] = now_s() - t0;
			__asm__ volatile("" : : "r"(dst) : "memory");
		}
		h = median(th);
		c = median(tc);
		printf("%9zu  %9.2f  %11.2f  %12.3f\n", bs >> 10, TOTAL / h / 1e9, TOTAL / c / 1e9,
		       h / c);
	}
	(void)sink;
	return 0;
}
