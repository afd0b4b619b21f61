/* SPDX-License-Identifier: MIT */
/* Helpers shared by tierbench's parts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void die(const char *what, int r)
{
	fprintf(stderr, "tierbench: %s: %s\n", what, tier_strerror(r));
	exit(1);
}

void fill_block(void *p, size_t len, tier_key k)
{
	uint64_t x = k.lo ^ (k.hi << 1), *w = p;
	size_t n = len / 8;

	for (size_t i = 0; i < n; i++) {
		x += 0x9E3779B97F4A7C15ULL;
		w[i] = x ^ (x >> 29);
	}
	memset((uint8_t *)p + n * 8, (int)(k.lo & 0xff), len - n * 8);
}

bool check_block(const void *p, size_t len, tier_key k)
{
	uint64_t x = k.lo ^ (k.hi << 1), w;
	size_t n = len / 8;
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		x += 0x9E3779B97F4A7C15ULL;
		memcpy(&w, b + i * 8, 8);
		if (w != (x ^ (x >> 29)))
			return false;
	}
	for (size_t i = n * 8; i < len; i++)
		if (b[i] != (uint8_t)(k.lo & 0xff))
			return false;
	return true;
}

int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

tier_key bench_key(uint64_t size, uint64_t i)
{
	uint64_t d[2] = { size, i };

	return tier_key_next(TIER_KEY_ROOT, d, sizeof(d));
}

json_object *latency_json(double *us, int n)
{
	json_object *o = json_object_new_object();

	qsort(us, (size_t)n, sizeof(*us), cmp_double);
	json_object_object_add(o, "ops_per_s", json_object_new_double(0));
	json_object_object_add(o, "p50_us", json_object_new_double(us[n / 2]));
	json_object_object_add(o, "p99_us", json_object_new_double(us[(int)(n * 0.99)]));
	json_object_object_add(o, "p999_us", json_object_new_double(us[(int)(n * 0.999)]));
	return o;
}
