/* SPDX-License-Identifier: MIT */
/*
 * copyalign: what memcpy costs out of a shared-memory arena, by source and
 * destination alignment.  128 MiB copied in blocks of the given size (KiB),
 * five passes, median GB/s, from:
 *   private   a malloc'd buffer (transparent huge pages where enabled)
 *   memfd     a MAP_SHARED memfd mapping, as tierd's arena (page-aligned)
 * into a malloc'd destination (16 bytes past a page boundary) and into a
 * page-aligned one.  Measured on AMD EPYC: x86 string copies (glibc's choice
 * from 2 KiB up where ERMS/FSRM exist) run at a third of their speed when
 * source and destination are not aligned alike (docs/BENCHMARKS.md).
 *
 *   build/tools/copyalign [BLOCK_KIB]     (default 256)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define TOTAL (128u << 20)
#define PASSES 5

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double copy_gbps(uint8_t *dst, const uint8_t *src, size_t bs)
{
	double t[PASSES];

	for (int p = 0; p < PASSES; p++) {
		double t0 = now_s();

		for (size_t i = 0; i < TOTAL / bs; i++)
			memcpy(dst + i * bs, src + i * bs, bs);
		__asm__ volatile("" : : "r"(dst) : "memory");
		t[p] = now_s() - t0;
	}
	qsort(t, PASSES, sizeof(t[0]), cmp_double);
	return (double)TOTAL / t[PASSES / 2] / 1e9;
}

int main(int argc, char **argv)
{
	size_t bs = (argc > 1 ? strtoul(argv[1], NULL, 0) : 256) << 10;
	uint8_t *priv = malloc(TOTAL), *dst_malloc = malloc(TOTAL);
	uint8_t *dst_aligned = aligned_alloc(4096, TOTAL), *shared;
	int fd = memfd_create("copyalign", MFD_CLOEXEC);

	if (!bs || bs > TOTAL || TOTAL % bs) {
		fprintf(stderr, "usage: copyalign [BLOCK_KIB]  (a divisor of 131072)\n");
		return 2;
	}
	if (!priv || !dst_malloc || !dst_aligned || fd < 0 || ftruncate(fd, TOTAL) < 0) {
		perror("copyalign");
		return 1;
	}
	shared = mmap(NULL, TOTAL, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (shared == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(priv, 1, TOTAL);
	memset(shared, 2, TOTAL);
	memset(dst_malloc, 3, TOTAL);
	memset(dst_aligned, 4, TOTAL);
	printf("{\"block_bytes\": %zu, \"GBps\": {\"private_to_malloc\": %.2f, "
	       "\"private_to_aligned\": %.2f, \"memfd_to_malloc\": %.2f, "
	       "\"memfd_to_aligned\": %.2f}}\n",
	       bs, copy_gbps(dst_malloc, priv, bs), copy_gbps(dst_aligned, priv, bs),
	       copy_gbps(dst_malloc, shared, bs), copy_gbps(dst_aligned, shared, bs));
	munmap(shared, TOTAL);
	close(fd);
	free(priv);
	free(dst_malloc);
	free(dst_aligned);
	return 0;
}
