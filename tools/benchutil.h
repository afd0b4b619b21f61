/* SPDX-License-Identifier: MIT */
/* Helpers shared by tierbench's parts: clocks, block contents, statistics. */
#ifndef TIER_BENCHUTIL_H
#define TIER_BENCHUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "tier.h"

double now_s(void);
/* Print what failed with the libtier error, and exit 1. */
void die(const char *what, int r) __attribute__((noreturn));
/* The bytes of a block: a pattern derived from its key. */
void fill_block(void *p, size_t len, tier_key k);
bool check_block(const void *p, size_t len, tier_key k);
int cmp_double(const void *a, const void *b);
/* Median of v[0..n) (sorts v). */
double median(double *v, int n);
/* A key for benchmark block i of a given size. */
tier_key bench_key(uint64_t size, uint64_t i);
/* p50/p99/p999 of us[0..n) (sorts us), as JSON with an ops_per_s field to fill. */
json_object *latency_json(double *us, int n);

/*
 * Background CPU load (--load N): N busy processes, `sh -c 'while :; do :; done'`,
 * each killed by its alarm after max_s seconds at the latest and by its
 * parent's death (PR_SET_PDEATHSIG); bench_load_stop() kills them by PID and
 * runs at exit and on SIGINT/SIGTERM/SIGHUP as well.  0, or a negative errno.
 */
#define BENCH_LOAD_MAX_S 600 /* tierbench --load: the processes' longest life */
int bench_load_start(unsigned n, unsigned max_s);
void bench_load_stop(void);
/* How many load processes run now. */
unsigned bench_load_count(void);

/* bench_fast.c: acquire+release of one host-resident block, 20,000 times: latencies. */
json_object *bench_acquire_release(tier_client *c, uint32_t ns, tier_key k);
/* bench_fast.c: tierbench --fastpath and --peers. */
/* load: busy processes beside the measurements (--load). */
int run_fastpath(const char *sock, unsigned load);
int run_peers(const char *sock, const char *peers);

#endif
