/* SPDX-License-Identifier: MIT */
/*
 * tierbench --fastpath and --peers: the control path's latency and batch
 * throughput, and the data path side by side with what a user would
 * otherwise reach for (a local redis-server and memcached), each against a
 * baseline measured in the same run.
 *
 * Fairness rules of the comparison: every store starts from the caller's own
 * buffer and every fetch ends with the bytes in the caller's own buffer (as
 * an engine copies them on to the GPU); the memcpy ceiling is those two
 * copies and nothing else.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"
#include "tierbench-config.h"

#if TIERBENCH_HAVE_HIREDIS
#include <hiredis/hiredis.h>
#endif
#if TIERBENCH_HAVE_MEMCACHED
#include <libmemcached/memcached.h>
#endif

#define RTT_N 20000
#define BATCH_KEYS 4096
#define BATCH_SECONDS 0.5
#define PEER_BYTES (64ull << 20)
#define PEER_REPS 3
/* Alternating rounds of each ring-vs-socket comparison. */
#define ROUNDS 4

/* ---- latency --------------------------------------------------------- */

/* A bare SOCK_SEQPACKET round trip between two processes: the floor of any socket protocol. */
static json_object *bare_seqpacket(void)
{
	static double us[RTT_N];
	char msg[32] = "ping";
	int sv[2];
	pid_t pid;
	double t0, t;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		die("socketpair", -errno);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		for (;;) {
			ssize_t n = recv(sv[1], msg, sizeof(msg), 0);

			if (n <= 0 || send(sv[1], msg, (size_t)n, 0) < 0)
				_exit(0);
		}
	}
	close(sv[1]);
	t0 = now_s();
	for (int i = 0; i < RTT_N; i++) {
		t = now_s();
		if (send(sv[0], msg, sizeof(msg), 0) < 0 || recv(sv[0], msg, sizeof(msg), 0) <= 0)
			die("seqpacket", -errno);
		us[i] = (now_s() - t) * 1e6;
	}
	t = now_s() - t0;
	close(sv[0]);
	waitpid(pid, NULL, 0);

	json_object *o = latency_json(us, RTT_N);

	json_object_object_add(o, "ops_per_s", json_object_new_double(RTT_N / t));
	return o;
}

/* n acquire+release round trips of one block into us[0..n); seconds taken. */
static double acquire_release_into(tier_client *c, uint32_t ns, tier_key k, double *us, int n)
{
	double t0 = now_s(), t;
	tier_handle h;
	int r;

	for (int i = 0; i < n; i++) {
		t = now_s();
		r = tier_acquire(c, ns, k, &h);
		if (r < 0)
			die("acquire", r);
		r = tier_release(c, h);
		if (r < 0)
			die("release", r);
		us[i] = (now_s() - t) * 1e6;
	}
	return now_s() - t0;
}

json_object *bench_acquire_release(tier_client *c, uint32_t ns, tier_key k)
{
	static double us[RTT_N];
	double t = acquire_release_into(c, ns, k, us, RTT_N);
	json_object *o = latency_json(us, RTT_N);

	json_object_object_add(o, "ops_per_s", json_object_new_double(RTT_N / t));
	return o;
}

/*
 * Both transports' acquire+release, in ROUNDS alternating halves (ring,
 * socket, ring, ...), so that a change in the machine's background load
 * falls on both rather than on one.
 */
static void acquire_release_pair(tier_client *ring, tier_client *skt, uint32_t ns, tier_key k,
				 json_object **ret_ring, json_object **ret_skt)
{
	static double us[2][RTT_N];
	const int per = RTT_N / ROUNDS;
	double t[2] = { 0, 0 };

	for (int r = 0; r < ROUNDS; r++) {
		t[0] += acquire_release_into(ring, ns, k, us[0] + r * per, per);
		t[1] += acquire_release_into(skt, ns, k, us[1] + r * per, per);
	}
	*ret_ring = latency_json(us[0], per * ROUNDS);
	*ret_skt = latency_json(us[1], per * ROUNDS);
	json_object_object_add(*ret_ring, "ops_per_s", json_object_new_double(per * ROUNDS / t[0]));
	json_object_object_add(*ret_skt, "ops_per_s", json_object_new_double(per * ROUNDS / t[1]));
}

static tier_client *connect_with(const char *sock, const char *transport)
{
	tier_client *c;
	int r;

	if (transport)
		setenv("TIER_TRANSPORT", transport, 1);
	r = tier_connect(sock, &c);
	unsetenv("TIER_TRANSPORT");
	if (r < 0)
		die("connect", r);
	return c;
}

/* Seconds to look keys up in batches of `batch`, at least `seconds` long; keys done. */
static double lookup_for(tier_client *c, uint32_t ns, const tier_key *keys, size_t batch,
			 double seconds, uint64_t *ret_done)
{
	double t0 = now_s(), t;

	do {
		for (size_t off = 0; off + batch <= BATCH_KEYS; off += batch) {
			int r = tier_lookup_many(c, ns, keys + off, batch, NULL);

			if (r != (int)batch)
				die("lookup_many", r < 0 ? r : -EIO);
			*ret_done += batch;
		}
		t = now_s() - t0;
	} while (t < seconds);
	return t;
}

/* Keys looked up per second with batches of `batch` keys, both transports alternating. */
static void lookup_rate_pair(tier_client *ring, tier_client *skt, uint32_t ns,
			     const tier_key *keys, size_t batch, double *ret_ring, double *ret_skt)
{
	uint64_t done[2] = { 0, 0 };
	double t[2] = { 0, 0 };

	for (int r = 0; r < ROUNDS; r++) {
		t[0] += lookup_for(ring, ns, keys, batch, BATCH_SECONDS / ROUNDS, &done[0]);
		t[1] += lookup_for(skt, ns, keys, batch, BATCH_SECONDS / ROUNDS, &done[1]);
	}
	*ret_ring = (double)done[0] / t[0];
	*ret_skt = (double)done[1] / t[1];
}

static double get2(json_object *o, const char *a, const char *b)
{
	return json_object_get_double(json_object_object_get(json_object_object_get(o, a), b));
}

int run_fastpath(const char *sock, unsigned load)
{
	tier_client *ring = connect_with(sock, NULL), *skt = connect_with(sock, "socket");
	json_object *out = json_object_new_object(), *lat = json_object_new_object();
	json_object *batches = json_object_new_object(), *sbatches = json_object_new_object();
	json_object *vs = json_object_new_object(), *ar_ring, *ar_skt;
	static tier_key keys[BATCH_KEYS];
	double ring_p50, bare_p50, single = 0, ssingle = 0;
	uint32_t ns;
	int r;

	r = tier_namespace(ring, "tierbench-fast", 4096, &ns);
	if (r < 0)
		die("namespace", r);
	for (size_t i = 0; i < BATCH_KEYS; i++) {
		tier_handle h;

		keys[i] = bench_key(4096, i + (2ull << 40));
		r = tier_alloc(ring, ns, &h);
		if (r < 0)
			die("alloc", r);
		r = tier_commit(ring, h, keys[i]);
		if (r < 0 && r != -EEXIST)
			die("commit", r);
	}
	/* The load runs while we measure, not while we set up. */
	r = bench_load_start(load, BENCH_LOAD_MAX_S);
	if (r < 0)
		die("load", r);

	json_object_object_add(lat, "bare_seqpacket_rtt", bare_seqpacket());
	acquire_release_pair(ring, skt, ns, keys[0], &ar_ring, &ar_skt);
	json_object_object_add(lat, "acquire_release_ring", ar_ring);
	json_object_object_add(lat, "acquire_release_socket", ar_skt);
	json_object_object_add(out, "latency_us", lat);
	ring_p50 = get2(lat, "acquire_release_ring", "p50_us");
	bare_p50 = get2(lat, "bare_seqpacket_rtt", "p50_us");
	json_object_object_add(out, "ring_acquire_release_vs_bare_rtt_p50",
			       json_object_new_double(ring_p50 / bare_p50));

	for (size_t b = 1; b <= 256; b *= 16) {
		char name[32];
		double rate, srate;

		lookup_rate_pair(ring, skt, ns, keys, b, &rate, &srate);
		if (b == 1) {
			single = rate;
			ssingle = srate;
		}
		snprintf(name, sizeof(name), "batch_%zu", b);
		json_object_object_add(batches, name, json_object_new_double(rate));
		json_object_object_add(sbatches, name, json_object_new_double(srate));
	}
	bench_load_stop();
	json_object_object_add(out, "load", json_object_new_int((int)load));
	json_object_object_add(out, "lookup_keys_per_s", batches);
	json_object_object_add(out, "lookup_keys_per_s_socket", sbatches);
	json_object_object_add(out, "batch_256_vs_single",
			       json_object_new_double(
				       json_object_get_double(
					       json_object_object_get(batches, "batch_256")) /
				       single));
	/* The default transport against the socket, same run: above 1 is the ring ahead. */
	json_object_object_add(vs, "single_lookups", json_object_new_double(single / ssingle));
	json_object_object_add(vs, "batch_256_lookups",
			       json_object_new_double(
				       json_object_get_double(
					       json_object_object_get(batches, "batch_256")) /
				       json_object_get_double(
					       json_object_object_get(sbatches, "batch_256"))));
	json_object_object_add(vs, "acquire_release_ops",
			       json_object_new_double(get2(lat, "acquire_release_ring", "ops_per_s") /
						      get2(lat, "acquire_release_socket", "ops_per_s")));
	json_object_object_add(vs, "acquire_release_p99_socket_over_ring",
			       json_object_new_double(get2(lat, "acquire_release_socket", "p99_us") /
						      get2(lat, "acquire_release_ring", "p99_us")));
	json_object_object_add(out, "ring_vs_socket", vs);
	for (size_t i = 0; i < BATCH_KEYS; i++)
		tier_drop(ring, ns, keys[i]);
	puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
	tier_close(ring);
	tier_close(skt);
	return 0;
}

/* ---- data path against peers ---------------------------------------- */

struct peer_run {
	size_t bs, n;
	uint8_t *src, *dst, *tmp;
};

static double store_fetch_memcpy(struct peer_run *p)
{
	double t0 = now_s();

	for (size_t i = 0; i < p->n; i++)
		memcpy(p->tmp + i * p->bs, p->src + i * p->bs, p->bs);
	for (size_t i = 0; i < p->n; i++)
		memcpy(p->dst + i * p->bs, p->tmp + i * p->bs, p->bs);
	return now_s() - t0;
}

static double store_fetch_tierd(struct peer_run *p, tier_client *c, uint32_t ns)
{
	double t0 = now_s(), t;
	int r;

	for (size_t i = 0; i < p->n; i++) {
		tier_handle h;

		r = tier_alloc(c, ns, &h);
		if (r < 0)
			die("alloc", r);
		memcpy(tier_data(c, h), p->src + i * p->bs, p->bs);
		r = tier_commit(c, h, bench_key(p->bs, i + (3ull << 40)));
		if (r < 0)
			die("commit", r);
	}
	for (size_t i = 0; i < p->n; i++) {
		tier_handle h;

		r = tier_acquire(c, ns, bench_key(p->bs, i + (3ull << 40)), &h);
		if (r < 0)
			die("acquire", r);
		memcpy(p->dst + i * p->bs, tier_data(c, h), p->bs);
		r = tier_release(c, h);
		if (r < 0)
			die("release", r);
	}
	t = now_s() - t0;
	for (size_t i = 0; i < p->n; i++)
		tier_drop(c, ns, bench_key(p->bs, i + (3ull << 40)));
	return t;
}

#if TIERBENCH_HAVE_HIREDIS
static double store_fetch_redis(struct peer_run *p, redisContext *rc)
{
	double t0 = now_s();
	char key[64];

	for (size_t i = 0; i < p->n; i++) {
		int kl = snprintf(key, sizeof(key), "tb-%zu-%zu", p->bs, i);
		redisReply *rr = redisCommand(rc, "SET %b %b", key, (size_t)kl,
					      p->src + i * p->bs, p->bs);

		if (!rr || rr->type == REDIS_REPLY_ERROR)
			die("redis SET", -EIO);
		freeReplyObject(rr);
	}
	for (size_t i = 0; i < p->n; i++) {
		int kl = snprintf(key, sizeof(key), "tb-%zu-%zu", p->bs, i);
		redisReply *rr = redisCommand(rc, "GET %b", key, (size_t)kl);

		if (!rr || rr->type != REDIS_REPLY_STRING || (size_t)rr->len != p->bs)
			die("redis GET", -EIO);
		memcpy(p->dst + i * p->bs, rr->str, p->bs);
		freeReplyObject(rr);
	}
	return now_s() - t0;
}
#endif

#if TIERBENCH_HAVE_MEMCACHED
static double store_fetch_memcached(struct peer_run *p, memcached_st *mc)
{
	double t0 = now_s();
	char key[64];

	for (size_t i = 0; i < p->n; i++) {
		int kl = snprintf(key, sizeof(key), "tb-%zu-%zu", p->bs, i);

		if (memcached_set(mc, key, (size_t)kl, (const char *)p->src + i * p->bs, p->bs, 0,
				  0) != MEMCACHED_SUCCESS)
			die("memcached set", -EIO);
	}
	for (size_t i = 0; i < p->n; i++) {
		int kl = snprintf(key, sizeof(key), "tb-%zu-%zu", p->bs, i);
		size_t len = 0;
		uint32_t flags;
		memcached_return_t rv;
		char *v = memcached_get(mc, key, (size_t)kl, &len, &flags, &rv);

		if (!v || len != p->bs)
			die("memcached get", -EIO);
		memcpy(p->dst + i * p->bs, v, p->bs);
		free(v);
	}
	return now_s() - t0;
}
#endif

/* peers: "redis=PATH,memcached=PATH" (either may be absent). */
int run_peers(const char *sock, const char *peers)
{
	static const size_t sizes[] = { 64u << 10, 256u << 10, 2u << 20 };
	const char *redis_path = NULL, *mc_path = NULL;
	char buf[512], *save = NULL, *tok;
	json_object *out = json_object_new_array();
	tier_client *c = connect_with(sock, NULL);

	snprintf(buf, sizeof(buf), "%s", peers ? peers : "");
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, "redis=", 6))
			redis_path = tok + 6;
		else if (!strncmp(tok, "memcached=", 10))
			mc_path = tok + 10;
	}
#if TIERBENCH_HAVE_HIREDIS
	redisContext *rc = redis_path ? redisConnectUnix(redis_path) : NULL;

	if (redis_path && (!rc || rc->err))
		die("redis connect", -ECONNREFUSED);
#endif
#if TIERBENCH_HAVE_MEMCACHED
	memcached_st *mc = NULL;

	if (mc_path) {
		mc = memcached_create(NULL);
		if (!mc || memcached_server_add_unix_socket(mc, mc_path) != MEMCACHED_SUCCESS)
			die("memcached connect", -ECONNREFUSED);
	}
#endif
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		struct peer_run p = { .bs = sizes[si], .n = PEER_BYTES / sizes[si] };
		double tm[PEER_REPS], tt[PEER_REPS], mcpy, tier, gb;
		json_object *o = json_object_new_object();
		char name[48];
		uint32_t ns;
		int r;

		/* Page-aligned like the arena's blocks (see bench_block_size in tierbench.c). */
		p.src = aligned_alloc(4096, PEER_BYTES);
		p.dst = aligned_alloc(4096, PEER_BYTES);
		p.tmp = aligned_alloc(4096, PEER_BYTES);
		if (!p.src || !p.dst || !p.tmp)
			die("malloc", -ENOMEM);
		for (size_t i = 0; i < p.n; i++)
			fill_block(p.src + i * p.bs, p.bs, bench_key(p.bs, i));
		memset(p.dst, 0, PEER_BYTES);
		memset(p.tmp, 0, PEER_BYTES);
		snprintf(name, sizeof(name), "tierbench-peers-%zu", p.bs);
		r = tier_namespace(c, name, p.bs, &ns);
		if (r < 0)
			die("namespace", r);
		gb = (double)PEER_BYTES / 1e9;
		for (int rep = 0; rep < PEER_REPS; rep++) {
			tm[rep] = store_fetch_memcpy(&p);
			tt[rep] = store_fetch_tierd(&p, c, ns);
		}
		if (memcmp(p.dst, p.src, PEER_BYTES))
			die("tierd fetched wrong bytes", -EIO);
		mcpy = median(tm, PEER_REPS);
		tier = median(tt, PEER_REPS);
		json_object_object_add(o, "block_bytes", json_object_new_uint64(p.bs));
		json_object_object_add(o, "bytes", json_object_new_uint64(PEER_BYTES));
		json_object_object_add(o, "memcpy_GBps", json_object_new_double(gb / mcpy));
		json_object_object_add(o, "tierd_GBps", json_object_new_double(gb / tier));
		json_object_object_add(o, "tierd_vs_memcpy", json_object_new_double(mcpy / tier));
#if TIERBENCH_HAVE_HIREDIS
		if (rc) {
			double tr[PEER_REPS], red;

			for (int rep = 0; rep < PEER_REPS; rep++)
				tr[rep] = store_fetch_redis(&p, rc);
			red = median(tr, PEER_REPS);
			json_object_object_add(o, "redis_GBps", json_object_new_double(gb / red));
			json_object_object_add(o, "tierd_vs_redis", json_object_new_double(red / tier));
		}
#endif
#if TIERBENCH_HAVE_MEMCACHED
		if (mc) {
			double tc[PEER_REPS], mem;

			for (int rep = 0; rep < PEER_REPS; rep++)
				tc[rep] = store_fetch_memcached(&p, mc);
			mem = median(tc, PEER_REPS);
			json_object_object_add(o, "memcached_GBps", json_object_new_double(gb / mem));
			json_object_object_add(o, "tierd_vs_memcached",
					       json_object_new_double(mem / tier));
		}
#endif
		json_object_array_add(out, o);
		free(p.src);
		free(p.dst);
		free(p.tmp);
	}
	(void)redis_path;
	(void)mc_path;
	puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
	tier_close(c);
	return 0;
}
