/* SPDX-License-Identifier: MIT */
/*
 * tierbench: drive a running tierd the way an inference engine does, and
 * measure it.
 *
 *   tierbench [-s SOCK]                    generated multi-turn chat workload
 *   tierbench [-s SOCK] --trace FILE       replay a Mooncake-format JSONL trace
 *   tierbench [-s SOCK] --datapath         data path and round-trip benchmark
 *
 * Workload mode, per request: compute the chained keys of its blocks, look
 * the prefix up, acquire and verify every hit byte for byte, release, then
 * allocate, fill and commit every missing block.  Block bytes are a pattern
 * derived from the key, so any block served with the wrong bytes is caught.
 *
 * The generated workload is shaped like the Mooncake conversation trace
 * (../shared/traces/): a few system prompts shared by most requests,
 * conversations whose turns extend the previous turn's prompt, and one-off
 * requests; it needs no file.  Everything prints as one JSON object.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "benchutil.h"
#include "tier.h"
#include "workload.h"

#define DEFAULT_BLOCK_BYTES (64u << 10)
#define DEFAULT_REQUESTS 2000
#define DATAPATH_BYTES (128ull << 20) /* bytes moved per data-path measurement */
#define DATAPATH_REPS 5
#define RTT_OPS 20000

struct opts {
	const char *socket;
	const char *trace;
	size_t block_bytes;
	uint32_t requests;
	uint64_t seed;
	bool datapath;
	bool verify;
	bool block_mode;  /* every block one access (the trace README's replay) */
	bool nvme_bench;
	bool fastpath;
	const char *peers;
	unsigned load;    /* busy processes beside the run (--load) */
	bool keep;        /* leave the benchmark's blocks in the daemon */
	uint64_t nvme_bytes;
	size_t window;
	const char *ns_name;
};

/* The bytes of a block: 8-byte words from a simple generator seeded by the key. */

/* ---- workload replay ----------------------------------------------- */

struct replay_counts {
	uint64_t requests, accesses, hits, committed, dup_commits, enospc, errors;
	uint64_t bad_bytes, verified_bytes;
};

/* Save one block: allocate, fill, commit. */
static int save_block(tier_client *c, uint32_t ns, const struct opts *o, tier_key key,
		      struct replay_counts *rc)
{
	tier_handle h;
	int r = tier_alloc(c, ns, &h);

	if (r == -ENOSPC) {
		rc->enospc++;
		return r;
	}
	if (r < 0)
		die("alloc", r);
	fill_block(tier_data(c, h), o->block_bytes, key);
	r = tier_commit(c, h, key);
	if (r == -EEXIST)
		rc->dup_commits++;
	else if (r < 0)
		rc->errors++;
	else
		rc->committed++;
	return 0;
}

/* Read one acquired block back and check it. */
static void load_block(tier_client *c, const struct opts *o, tier_handle h, tier_key key,
		       struct replay_counts *rc)
{
	int r;

	if (o->verify) {
		if (!check_block(tier_data(c, h), o->block_bytes, key))
			rc->bad_bytes++;
		rc->verified_bytes += o->block_bytes;
	}
	r = tier_release(c, h);
	if (r < 0)
		die("release", r);
}

/*
 * Block mode: each block is one access on its own, in order; a miss saves
 * it.  This is the replay the trace README and tiersim define, so hit ratios
 * compare directly with tiersim's.
 */
static void run_request_blocks(tier_client *c, uint32_t ns, const struct opts *o,
			       const tier_key *keys, size_t n, struct replay_counts *rc)
{
	/*
	 * The lookup tells the daemon which request follows (positions, chain)
	 * and is the access of its leading hits; the acquires below of those
	 * are the same accesses, not new ones.
	 */
	int r = tier_lookup(c, ns, keys, n);

	if (r < 0)
		die("lookup", r);
	for (size_t i = 0; i < n; i++) {
		tier_handle h;

		r = tier_acquire(c, ns, keys[i], &h);
		if (r == 0) {
			rc->hits++;
			load_block(c, o, h, keys[i], rc);
		} else if (r == -ENOENT) {
			save_block(c, ns, o, keys[i], rc);
		} else {
			die("acquire", r);
		}
	}
}

static void run_request(tier_client *c, uint32_t ns, const struct opts *o, const uint64_t *ids,
			size_t n, struct replay_counts *rc)
{
	static tier_key *keys;
	static size_t keys_cap;
	tier_key parent = TIER_KEY_ROOT;
	int hit;

	if (n > keys_cap) {
		keys_cap = n * 2;
		keys = realloc(keys, keys_cap * sizeof(*keys));
		if (!keys)
			die("realloc", -ENOMEM);
	}
	/* An id stands for one block's token ids; chaining makes the key a prefix key. */
	for (size_t i = 0; i < n; i++) {
		uint64_t id_le = ids[i];

		keys[i] = tier_key_next(parent, &id_le, sizeof(id_le));
		parent = keys[i];
	}
	rc->requests++;
	rc->accesses += n;
	if (o->block_mode) {
		run_request_blocks(c, ns, o, keys, n, rc);
		return;
	}
	/* Prefix mode, as an engine: the longest cached prefix is loaded, the rest computed. */
	hit = tier_lookup(c, ns, keys, n);
	if (hit < 0)
		die("lookup", hit);
	for (int i = 0; i < hit; i++) {
		tier_handle h;
		int r = tier_acquire(c, ns, keys[i], &h);

		if (r == -ENOENT) { /* evicted between lookup and acquire */
			hit = i;
			break;
		}
		if (r < 0)
			die("acquire", r);
		load_block(c, o, h, keys[i], rc);
	}
	rc->hits += (uint64_t)hit;
	for (size_t i = (size_t)hit; i < n; i++)
		if (save_block(c, ns, o, keys[i], rc) < 0)
			break;
}

static json_object *daemon_stats_json(tier_client *c)
{
	struct tier_stats s = { .size = sizeof(s) };
	json_object *tiers = json_object_new_array();
	int r = tier_stats_get(c, &s, NULL, 0);

	if (r < 0)
		return NULL;
	for (uint32_t i = 0; i < s.n_tiers; i++) {
		json_object *t = json_object_new_object();
		uint64_t tot = s.tiers[i].hits + s.tiers[i].misses;

		json_object_object_add(t, "name", json_object_new_string(s.tiers[i].name));
		json_object_object_add(t, "hits", json_object_new_uint64(s.tiers[i].hits));
		json_object_object_add(t, "misses", json_object_new_uint64(s.tiers[i].misses));
		json_object_object_add(t, "hit_ratio",
				       json_object_new_double(tot ? (double)s.tiers[i].hits /
									    (double)tot
								  : 0.0));
		json_object_object_add(t, "evictions",
				       json_object_new_uint64(s.tiers[i].evictions));
		json_object_object_add(t, "blocks", json_object_new_uint64(s.tiers[i].blocks));
		json_object_array_add(tiers, t);
	}
	return tiers;
}

static int run_workload(const struct opts *o)
{
	struct replay_counts rc = { 0 };
	struct workload *w;
	tier_client *c;
	uint32_t ns;
	const uint64_t *ids;
	size_t n;
	double t0, dt;
	json_object *out;
	int r;

	r = o->trace ? workload_open_trace(o->trace, &w)
		     : workload_open_generated(o->seed, o->requests, &w);
	if (r < 0) {
		fprintf(stderr, "tierbench: %s: %s\n", o->trace ? o->trace : "workload",
			strerror(-r));
		return 1;
	}
	r = tier_connect(o->socket, &c);
	if (r < 0)
		die("connect", r);
	r = tier_namespace(c, o->ns_name, o->block_bytes, &ns);
	if (r < 0)
		die("namespace", r);
	t0 = now_s();
	while ((r = workload_next(w, &ids, &n)) > 0)
		run_request(c, ns, o, ids, n, &rc);
	dt = now_s() - t0;
	if (r < 0) {
		fprintf(stderr, "tierbench: reading the workload: %s\n", strerror(-r));
		return 1;
	}

	out = json_object_new_object();
	json_object_object_add(out, "workload",
			       json_object_new_string(o->trace ? o->trace : "generated-chat"));
	json_object_object_add(out, "namespace", json_object_new_string(o->ns_name));
	json_object_object_add(out, "mode", json_object_new_string(o->block_mode ? "block" : "prefix"));
	json_object_object_add(out, "block_bytes", json_object_new_uint64(o->block_bytes));
	json_object_object_add(out, "requests", json_object_new_uint64(rc.requests));
	json_object_object_add(out, "accesses", json_object_new_uint64(rc.accesses));
	json_object_object_add(out, "hits", json_object_new_uint64(rc.hits));
	json_object_object_add(out, "hit_ratio",
			       json_object_new_double(rc.accesses ? (double)rc.hits /
									    (double)rc.accesses
								  : 0.0));
	json_object_object_add(out, "committed", json_object_new_uint64(rc.committed));
	json_object_object_add(out, "duplicate_commits", json_object_new_uint64(rc.dup_commits));
	json_object_object_add(out, "enospc", json_object_new_uint64(rc.enospc));
	json_object_object_add(out, "errors", json_object_new_uint64(rc.errors));
	json_object_object_add(out, "verified_bytes", json_object_new_uint64(rc.verified_bytes));
	json_object_object_add(out, "wrong_blocks", json_object_new_uint64(rc.bad_bytes));
	json_object_object_add(out, "elapsed_s", json_object_new_double(dt));
	json_object_object_add(out, "requests_per_s",
			       json_object_new_double(dt > 0 ? (double)rc.requests / dt : 0));
	json_object_object_add(out, "block_accesses_per_s",
			       json_object_new_double(dt > 0 ? (double)rc.accesses / dt : 0));
	json_object_object_add(out, "tiers", daemon_stats_json(c));
	puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
	tier_close(c);
	workload_close(w);
	return rc.bad_bytes || rc.errors ? 1 : 0;
}

/* ---- data path and round-trip benchmark ---------------------------- */

/*
 * One block size: write N blocks (alloc, memcpy in, commit), read them
 * (acquire, memcpy out, release), against memcpy of the same bytes between
 * two private buffers.  Every pass moves the same bytes; the medians of
 * DATAPATH_REPS passes are reported.
 */
static json_object *bench_block_size(tier_client *c, size_t bs)
{
	size_t n = DATAPATH_BYTES / bs;
	/*
	 * Page-aligned, as the arena's blocks are: with malloc's 16-byte offset
	 * the copy out of the arena had source and destination 16 bytes apart
	 * in their alignment while the baseline's two buffers had the same, and
	 * x86 string copies (rep movsb, glibc's choice from 2 KiB up on CPUs
	 * with ERMS/FSRM) run at a third of the speed for that on AMD EPYC
	 * (docs/BENCHMARKS.md).  An engine's buffers are aligned.
	 */
	uint8_t *src = aligned_alloc(4096, n * bs), *dst = aligned_alloc(4096, n * bs);
	tier_handle *h = calloc(n, sizeof(*h));
	double t_memcpy[DATAPATH_REPS], t_write[DATAPATH_REPS], t_read[DATAPATH_REPS];
	double t_wbytes[DATAPATH_REPS], t_rbytes[DATAPATH_REPS];
	char name[48];
	uint32_t ns;
	json_object *o;
	int r;

	if (!src || !dst || !h)
		die("malloc", -ENOMEM);
	for (size_t i = 0; i < n; i++)
		fill_block(src + i * bs, bs, bench_key(bs, i));
	memset(dst, 0, n * bs);
	snprintf(name, sizeof(name), "tierbench-%zu", bs);
	r = tier_namespace(c, name, bs, &ns);
	if (r < 0)
		die("namespace", r);

	for (int rep = 0; rep < DATAPATH_REPS; rep++) {
		double t0 = now_s(), tb = 0;

		/* The baseline moves the same blocks, one memcpy per block. */
		for (size_t i = 0; i < n; i++)
			memcpy(dst + i * bs, src + i * bs, bs);
		t_memcpy[rep] = now_s() - t0;
		__asm__ volatile("" : : "r"(dst) : "memory");

		t0 = now_s();
		for (size_t i = 0; i < n; i++) {
			double tc;

			r = tier_alloc(c, ns, &h[i]);
			if (r < 0)
				die("alloc", r);
			tc = now_s();
			memcpy(tier_data(c, h[i]), src + i * bs, bs);
			tb += now_s() - tc;
			r = tier_commit(c, h[i], bench_key(bs, i));
			if (r < 0)
				die("commit", r);
		}
		t_write[rep] = now_s() - t0;
		t_wbytes[rep] = tb;

		tb = 0;
		t0 = now_s();
		for (size_t i = 0; i < n; i++) {
			double tc;

			r = tier_acquire(c, ns, bench_key(bs, i), &h[i]);
			if (r < 0)
				die("acquire", r);
			tc = now_s();
			memcpy(dst + i * bs, tier_data(c, h[i]), bs);
			tb += now_s() - tc;
			r = tier_release(c, h[i]);
			if (r < 0)
				die("release", r);
		}
		t_read[rep] = now_s() - t0;
		t_rbytes[rep] = tb;
		if (memcmp(dst, src, n * bs) != 0) {
			fprintf(stderr, "tierbench: read back wrong bytes (block size %zu)\n", bs);
			exit(1);
		}
		for (size_t i = 0; i < n; i++)
			tier_drop(c, ns, bench_key(bs, i));
	}

	double mc = median(t_memcpy, DATAPATH_REPS), wr = median(t_write, DATAPATH_REPS);
	double rd = median(t_read, DATAPATH_REPS), wb = median(t_wbytes, DATAPATH_REPS);
	double rb = median(t_rbytes, DATAPATH_REPS), gb = (double)(n * bs) / 1e9;

	o = json_object_new_object();
	json_object_object_add(o, "block_bytes", json_object_new_uint64(bs));
	json_object_object_add(o, "blocks", json_object_new_uint64(n));
	json_object_object_add(o, "memcpy_GBps", json_object_new_double(gb / mc));
	json_object_object_add(o, "write_GBps", json_object_new_double(gb / wr));
	json_object_object_add(o, "read_GBps", json_object_new_double(gb / rd));
	json_object_object_add(o, "write_vs_memcpy", json_object_new_double(mc / wr));
	json_object_object_add(o, "read_vs_memcpy", json_object_new_double(mc / rd));
	/* The bytes alone, without the control round trips around them. */
	json_object_object_add(o, "write_bytes_only_vs_memcpy", json_object_new_double(mc / wb));
	json_object_object_add(o, "read_bytes_only_vs_memcpy", json_object_new_double(mc / rb));
	free(src);
	free(dst);
	free(h);
	return o;
}

static json_object *bench_round_trips(tier_client *c)
{
	static double us[RTT_OPS];
	tier_key k = bench_key(0, 42);
	tier_handle h;
	uint32_t ns;
	json_object *o = json_object_new_object(), *x;
	double t0, t;
	int r;

	r = tier_namespace(c, "tierbench-rtt", 4096, &ns);
	if (r < 0)
		die("namespace", r);
	r = tier_alloc(c, ns, &h);
	if (r < 0)
		die("alloc", r);
	r = tier_commit(c, h, k);
	if (r < 0 && r != -EEXIST)
		die("commit", r);

	t0 = now_s();
	for (int i = 0; i < RTT_OPS; i++) {
		t = now_s();
		if (tier_lookup(c, ns, &k, 1) != 1)
			die("lookup", -EIO);
		us[i] = (now_s() - t) * 1e6;
	}
	t = now_s() - t0;
	x = latency_json(us, RTT_OPS);
	json_object_object_add(x, "ops_per_s", json_object_new_double(RTT_OPS / t));
	json_object_object_add(o, "lookup", x);

	json_object_object_add(o, "acquire_release", bench_acquire_release(c, ns, k));
	tier_drop(c, ns, k);
	return o;
}

static int run_datapath(const struct opts *o)
{
	static const size_t sizes[] = { 256u << 10, 2u << 20 };
	json_object *out = json_object_new_object(), *arr = json_object_new_array();
	tier_client *c;
	int r = tier_connect(o->socket, &c);

	if (r < 0)
		die("connect", r);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		json_object_array_add(arr, bench_block_size(c, sizes[i]));
	json_object_object_add(out, "datapath", arr);
	json_object_object_add(out, "round_trips", bench_round_trips(c));
	puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
	tier_close(c);
	return 0;
}

/*
 * NVMe tier benchmark: write bytes_total of blocks of one size through the
 * daemon (alloc, fill, commit; the daemon demotes to NVMe as host memory
 * fills) and make them durable with tier_flush; then read them all back in
 * write order (the oldest are only on NVMe), keeping a window of prefetches
 * ahead of the acquires, and check every byte.
 */
static int run_nvme_bench(const struct opts *o)
{
	size_t bs = o->block_bytes, n = (size_t)(o->nvme_bytes / bs), src_n;
	uint8_t *src, *dst;
	tier_client *c;
	char name[48];
	uint32_t ns;
	double t0, t_write, t_read;
	uint64_t wrong = 0;
	json_object *out;
	int r;

	r = tier_connect(o->socket, &c);
	if (r < 0)
		die("connect", r);
	snprintf(name, sizeof(name), "nvbench-%zu", bs);
	r = tier_namespace(c, name, bs, &ns);
	if (r < 0)
		die("namespace", r);
	/* A source of 64 MiB of distinct blocks, reused cyclically. */
	src_n = (64u << 20) / bs ? (64u << 20) / bs : 1;
	src = malloc(src_n * bs);
	dst = malloc(bs);
	if (!src || !dst)
		die("malloc", -ENOMEM);
	for (size_t i = 0; i < src_n; i++)
		fill_block(src + i * bs, bs, bench_key(bs, i));

	t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		tier_handle h;

		r = tier_alloc(c, ns, &h);
		if (r < 0)
			die("alloc", r);
		memcpy(tier_data(c, h), src + (i % src_n) * bs, bs);
		r = tier_commit(c, h, bench_key(bs, i + (1ull << 40)));
		if (r < 0 && r != -EEXIST)
			die("commit", r);
	}
	r = tier_flush(c, ns);
	if (r < 0)
		die("flush", r);
	t_write = now_s() - t0;

	t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		tier_handle h;
		tier_key k = bench_key(bs, i + (1ull << 40));

		/* Keep the window full: one new prefetch per block consumed. */
		if (i == 0) {
			for (size_t j = 0; j < o->window && j < n; j++) {
				tier_key pk = bench_key(bs, j + (1ull << 40));

				tier_prefetch(c, ns, &pk, 1);
			}
		} else if (i + o->window - 1 < n) {
			tier_key pk = bench_key(bs, i + o->window - 1 + (1ull << 40));

			tier_prefetch(c, ns, &pk, 1);
		}
		r = tier_acquire(c, ns, k, &h);
		if (r < 0)
			die("acquire", r);
		memcpy(dst, tier_data(c, h), bs);
		if (o->verify && memcmp(dst, src + (i % src_n) * bs, bs))
			wrong++;
		r = tier_release(c, h);
		if (r < 0)
			die("release", r);
	}
	t_read = now_s() - t0;

	out = json_object_new_object();
	json_object_object_add(out, "block_bytes", json_object_new_uint64(bs));
	json_object_object_add(out, "blocks", json_object_new_uint64(n));
	json_object_object_add(out, "bytes", json_object_new_uint64((uint64_t)n * bs));
	json_object_object_add(out, "prefetch_window", json_object_new_uint64(o->window));
	json_object_object_add(out, "write_s", json_object_new_double(t_write));
	json_object_object_add(out, "write_MBps",
			       json_object_new_double((double)n * (double)bs / t_write / 1e6));
	json_object_object_add(out, "read_s", json_object_new_double(t_read));
	json_object_object_add(out, "read_MBps",
			       json_object_new_double((double)n * (double)bs / t_read / 1e6));
	json_object_object_add(out, "wrong_blocks", json_object_new_uint64(wrong));
	json_object_object_add(out, "tiers", daemon_stats_json(c));
	puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
	if (!o->keep)
		for (size_t i = 0; i < n; i++)
			tier_drop(c, ns, bench_key(bs, i + (1ull << 40)));
	tier_close(c);
	free(src);
	free(dst);
	return wrong ? 1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tierbench [OPTIONS]\n"
		"Drive a running tierd like an inference engine, and measure it (JSON out).\n\n"
		"  -s, --socket PATH      tierd's socket (default: $TIER_SOCKET, else %s)\n"
		"  -t, --trace FILE       replay a Mooncake-format JSONL trace\n"
		"                         (default: a generated multi-turn chat workload)\n"
		"  -n, --requests N       requests of the generated workload (default %u)\n"
		"  -b, --block-size BYTES block size of the namespace (default %u)\n"
		"      --namespace NAME   namespace (default: tierbench)\n"
		"      --seed N           seed of the generated workload (default 1)\n"
		"      --mode prefix|block prefix: look the prompt up and load its cached\n"
		"                         prefix, as an engine does (default without --trace);\n"
		"                         block: every block is one access, a miss saves it,\n"
		"                         as tiersim replays (default with --trace)\n"
		"      --no-verify        do not check the bytes of every hit\n"
		"      --datapath         data path (256 KiB, 2 MiB blocks vs memcpy) and\n"
		"                         round-trip benchmark instead of a workload\n"
		"      --nvme-bench BYTES write BYTES of blocks through the daemon (demoted to\n"
		"                         NVMe), flush, read them back with prefetch; MB/s\n"
		"      --window N         prefetch window of --nvme-bench (default 64)\n"
		"      --keep             leave --nvme-bench's blocks in the daemon\n"
		"      --fastpath         acquire+release latency through the rings, the socket\n"
		"                         and a bare SOCK_SEQPACKET round trip; batched lookups\n"
		"      --peers redis=PATH,memcached=PATH\n"
		"                         store+fetch of 64 KiB, 256 KiB and 2 MiB blocks via\n"
		"                         tierd, redis-server and memcached (Unix sockets), memcpy\n"
		"      --load N           run N busy processes (sh -c 'while :; do :; done') beside\n"
		"                         the measurement, killed when it ends (with --fastpath:\n"
		"                         after its setup; every mode: at most %u s)\n",
		TIER_DEFAULT_SOCKET, DEFAULT_REQUESTS, DEFAULT_BLOCK_BYTES, BENCH_LOAD_MAX_S);
}

int main(int argc, char **argv)
{
	enum { OPT_SEED = 0x100, OPT_NOVERIFY, OPT_DATAPATH, OPT_NS, OPT_MODE, OPT_NVME,
	       OPT_WINDOW, OPT_KEEP, OPT_FAST, OPT_PEERS, OPT_LOAD };
	const char *mode = NULL;
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "trace", required_argument, NULL, 't' },
		{ "requests", required_argument, NULL, 'n' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "namespace", required_argument, NULL, OPT_NS },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "no-verify", no_argument, NULL, OPT_NOVERIFY },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "nvme-bench", required_argument, NULL, OPT_NVME },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "fastpath", no_argument, NULL, OPT_FAST },
		{ "peers", required_argument, NULL, OPT_PEERS },
		{ "datapath", no_argument, NULL, OPT_DATAPATH },
		{ "load", required_argument, NULL, OPT_LOAD },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct opts o = {
		.block_bytes = DEFAULT_BLOCK_BYTES, .requests = DEFAULT_REQUESTS, .seed = 1,
		.verify = true, .ns_name = "tierbench", .window = 64,
	};
	int c;

	while ((c = getopt_long(argc, argv, "s:t:n:b:h", lo, NULL)) != -1) {
		switch (c) {
		case 's': o.socket = optarg; break;
		case 't': o.trace = optarg; break;
		case 'n': o.requests = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'b': o.block_bytes = strtoul(optarg, NULL, 0); break;
		case OPT_NS: o.ns_name = optarg; break;
		case OPT_SEED: o.seed = strtoull(optarg, NULL, 0); break;
		case OPT_NOVERIFY: o.verify = false; break;
		case OPT_DATAPATH: o.datapath = true; break;
		case OPT_MODE: mode = optarg; break;
		case OPT_NVME:
			o.nvme_bench = true;
			o.nvme_bytes = strtoull(optarg, NULL, 0);
			break;
		case OPT_WINDOW: o.window = strtoul(optarg, NULL, 0); break;
		case OPT_KEEP: o.keep = true; break;
		case OPT_FAST: o.fastpath = true; break;
		case OPT_PEERS: o.peers = optarg; break;
		case OPT_LOAD: o.load = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (o.block_bytes == 0 || o.requests == 0) {
		fprintf(stderr, "tierbench: block size and request count must be positive\n");
		return 2;
	}
	if (mode && strcmp(mode, "block") && strcmp(mode, "prefix")) {
		fprintf(stderr, "tierbench: --mode is prefix or block\n");
		return 2;
	}
	o.block_mode = mode ? strcmp(mode, "block") == 0 : o.trace != NULL;
	if (o.fastpath)
		return run_fastpath(o.socket, o.load);
	c = bench_load_start(o.load, BENCH_LOAD_MAX_S);
	if (c < 0)
		die("load", c);
	if (o.peers)
		return run_peers(o.socket, o.peers);
	if (o.nvme_bench)
		return o.nvme_bytes && o.window ? run_nvme_bench(&o) : 2;
	return o.datapath ? run_datapath(&o) : run_workload(&o);
}
