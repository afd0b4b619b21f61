/* SPDX-License-Identifier: MIT */
/*
 * The remote tier end to end: two tierd daemons (two "hosts") on one Redis
 * Cluster on 127.0.0.1 (cluster.sh, 3 masters + 3 replicas).  Blocks one
 * commits are looked up, acquired and byte-verified through the other; a
 * corrupt value is a miss and is deleted; a killed master gives misses
 * within the deadline, then hits after its replica takes over; slots moved
 * under a reader (MOVED, ASK) are followed; a tiny
 * maxmemory evicts without a wrong byte; with every node down both daemons
 * go on with their local tiers.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "daemon.h"
#include "migrate.h"
#include "remote_key.h"
#include "remote_map.h"

#define BS (64u << 10)
#define NS "model-r"

static char dir[] = "/tmp/tierd-remote-tier-XXXXXX";
static char seeds[256];
static struct remote_addr seed_addr[8];
static int n_seed;

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int sh(const char *what)
{
	char cmd[512];
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s %s >/dev/null", CLUSTER_SH, what, dir);
	if (!strcmp(what, "start")) /* 3 masters, a replica each */
		snprintf(cmd, sizeof(cmd), "%s start %s 3 1 >/dev/null", CLUSTER_SH, dir);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static void host(struct tdaemon *d, const char *timeout)
{
	char cluster[300], to[64];

	snprintf(cluster, sizeof(cluster), "remote.cluster=%s", seeds);
	snprintf(to, sizeof(to), "remote.timeout=%s", timeout);
	tdaemon_start(d, "16M", cluster, to, "remote.backoff=200", (char *)NULL);
}

static uint32_t ns_of(tier_client *c)
{
	uint32_t ns;

	ck_assert_int_eq(tier_namespace(c, NS, BS, &ns), 0);
	return ns;
}

/* Two hosts on the cluster, each with a client and the test namespace open. */
static void hosts_start(struct tdaemon *a, struct tdaemon *b, tier_client **ca, tier_client **cb,
			uint32_t *nsa, uint32_t *nsb, const char *timeout)
{
	host(a, timeout);
	host(b, timeout);
	*ca = t_connect(a);
	*cb = t_connect(b);
	*nsa = ns_of(*ca);
	*nsb = ns_of(*cb);
}

/* Close both clients; both daemons must exit cleanly. */
static void hosts_stop(struct tdaemon *a, struct tdaemon *b, tier_client *ca, tier_client *cb)
{
	tier_close(ca);
	tier_close(cb);
	ck_assert_int_eq(tdaemon_stop(a), 0);
	ck_assert_int_eq(tdaemon_stop(b), 0);
}

static void commit_chain(tier_client *c, uint32_t ns, uint32_t seed, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		tier_handle h;
		tier_key k = t_key(seed, i);

		ck_assert_int_eq(tier_alloc(c, ns, &h), 0);
		t_fill(tier_data(c, h), BS, k);
		ck_assert_int_eq(tier_commit(c, h, k), 0);
	}
}

static void keys_of(uint32_t seed, uint32_t n, tier_key *keys)
{
	for (uint32_t i = 0; i < n; i++)
		keys[i] = t_key(seed, i);
}

/* Acquire and verify keys[0..n): how many verified (none may come back wrong). */
static uint32_t acquire_verify(tier_client *c, uint32_t ns, const tier_key *keys, uint32_t n)
{
	uint32_t ok = 0;

	for (uint32_t i = 0; i < n; i++) {
		tier_handle h;
		int r = tier_acquire(c, ns, keys[i], &h);

		if (r == -ENOENT)
			continue;
		ck_assert_msg(r == 0, "acquire %u: %d", i, r);
		ck_assert_msg(t_verify(tier_data(c, h), BS, keys[i]), "block %u: wrong bytes", i);
		ck_assert_int_eq(tier_release(c, h), 0);
		ok++;
	}
	return ok;
}

/* The block's key in the cluster, as the daemon names it. */
static void cluster_key(tier_key k, char *buf)
{
	remote_key_format(buf, "tierd:", remote_ns_id(NS, NULL), k);
}

/* A blocking connection to the master of key (following one MOVED from any seed). */
static redisContext *node_for(const char *key)
{
	for (int i = 0; i < n_seed; i++) {
		redisContext *c = redisConnect("127.0.0.1", seed_addr[i].port);
		redisReply *rp;

		if (!c || c->err) {
			redisFree(c);
			continue;
		}
		rp = redisCommand(c, "EXISTS %s", key);
		if (rp && rp->type == REDIS_REPLY_ERROR && !strncmp(rp->str, "MOVED ", 6)) {
			struct remote_addr a;
			uint16_t slot;
			bool ask;

			ck_assert_int_eq(remote_redirect_parse(rp->str, rp->len, &seed_addr[i], &ask,
							       &slot, &a), 0);
			freeReplyObject(rp);
			redisFree(c);
			c = redisConnect(a.host, a.port);
			ck_assert(c && !c->err);
			return c;
		}
		if (rp && rp->type == REDIS_REPLY_INTEGER) {
			freeReplyObject(rp);
			return c;
		}
		freeReplyObject(rp);
		redisFree(c);
	}
	ck_abort_msg("no node answers for %s", key);
	return NULL;
}

static long long cluster_exists(tier_key k)
{
	char key[REMOTE_KEY_MAX];
	redisContext *c;
	redisReply *rp;
	long long v;

	cluster_key(k, key);
	c = node_for(key);
	rp = redisCommand(c, "EXISTS %s", key);
	ck_assert(rp && rp->type == REDIS_REPLY_INTEGER);
	v = rp->integer;
	freeReplyObject(rp);
	redisFree(c);
	return v;
}

/* The tier a lookup reports for key (where the transport says it). */
static void tier_of(tier_client *c, uint32_t ns, tier_key key, uint8_t want)
{
	uint8_t tier = TIER_NONE;
	int r = tier_lookup_many(c, ns, &key, 1, &tier);

	if (r == -EOPNOTSUPP)
		return;
	ck_assert_int_eq(r, 1);
	ck_assert_uint_eq(tier, want);
}

static struct tier_remote_stats remote_stats(tier_client *c)
{
	struct tier_remote_stats r = { .size = sizeof(r) };

	ck_assert_int_eq(tier_admin_remote(c, &r), 0);
	ck_assert_uint_eq(r.on, 1);
	return r;
}

/* tierctl stats --json and --prometheus show the tier "remote". */
static void tierctl_shows_remote(const struct tdaemon *d)
{
	static char out[1 << 16], err[4096];
	char *json[] = { (char *)t_tierctl_path(), (char *)"-s", (char *)d->sock, (char *)"stats",
			 (char *)"--json", NULL };
	char *prom[] = { (char *)t_tierctl_path(), (char *)"-s", (char *)d->sock, (char *)"stats",
			 (char *)"--prometheus", NULL };

	ck_assert_int_eq(t_exec(json, out, sizeof(out), err, sizeof(err), 5000), 0);
	ck_assert_msg(strstr(out, "\"name\":\"remote\"") || strstr(out, "\"name\": \"remote\""),
		      "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "\"read_bytes\""));
	ck_assert_ptr_nonnull(strstr(out, "\"redirects\""));
	ck_assert_int_eq(t_exec(prom, out, sizeof(out), err, sizeof(err), 5000), 0);
	ck_assert_ptr_nonnull(strstr(out, "tierd_remote_hits_total "));
	ck_assert_ptr_nonnull(strstr(out, "tierd_remote_latency_seconds_count "));
}

START_TEST(two_hosts)
{
	struct tdaemon a, b;
	tier_client *ca, *cb;
	static tier_key keys[40];
	uint32_t nsa, nsb;
	uint64_t t0;

	hosts_start(&a, &b, &ca, &cb, &nsa, &nsb, "500");
	keys_of(1, 40, keys);
	/* Nothing anywhere yet: a miss, answered within the deadline. */
	t0 = ms_now();
	ck_assert_int_eq(tier_lookup(cb, nsb, keys, 40), 0);
	ck_assert_uint_lt(ms_now() - t0, 1500);

	commit_chain(ca, nsa, 1, 32);
	ck_assert_int_eq(tier_flush(ca, nsa), 0); /* waits for the remote writes */
	ck_assert_int_eq(cluster_exists(keys[0]), 1);
	ck_assert_int_eq(cluster_exists(keys[31]), 1);

	/* The other host finds the 32 in the cluster, not the 8 nobody made. */
	ck_assert_int_eq(tier_lookup(cb, nsb, keys, 40), 32);
	tier_of(cb, nsb, keys[5], TIER_REMOTE);
	ck_assert_uint_eq(acquire_verify(cb, nsb, keys, 32), 32);
	/* Now they are B's own: host memory. */
	tier_of(cb, nsb, keys[5], TIER_HOST);
	ck_assert_int_eq(tier_acquire(cb, nsb, keys[35], &(tier_handle){ 0 }), -ENOENT);
	{
		struct tier_remote_stats ra = remote_stats(ca), rb = remote_stats(cb);

		ck_assert_uint_eq(ra.writes, 32);
		ck_assert_uint_eq(ra.write_bytes, 32ULL * BS);
		ck_assert_uint_eq(rb.read_bytes, 32ULL * BS);
		ck_assert_uint_ge(rb.hits, 64); /* 32 found by the lookup, 32 fetched */
		ck_assert_uint_ge(rb.misses, 2);
		ck_assert_uint_eq(rb.corrupt, 0);
		ck_assert_uint_eq(rb.slots, 16384);
		ck_assert_uint_gt(rb.latency_count, 0);
	}
	tierctl_shows_remote(&b);

	/* A batch (tier_acquire_many, the ring path): fetched together, then pinned. */
	{
		static tier_key more[16];
		tier_handle hs[16];
		int r;

		keys_of(8, 16, more);
		commit_chain(ca, nsa, 8, 16);
		ck_assert_int_eq(tier_flush(ca, nsa), 0);
		r = tier_acquire_many(cb, nsb, more, 16, hs);
		if (r != -EOPNOTSUPP) {
			ck_assert_int_eq(r, 16);
			for (int i = 0; i < 16; i++) {
				ck_assert(t_verify(tier_data(cb, hs[i]), BS, more[i]));
				ck_assert_int_eq(tier_release(cb, hs[i]), 0);
			}
		}
	}

	hosts_stop(&a, &b, ca, cb);
}
END_TEST

START_TEST(corrupt_value)
{
	struct tdaemon a, b;
	tier_client *ca, *cb;
	static tier_key keys[4];
	char key[REMOTE_KEY_MAX];
	redisContext *rc;
	redisReply *rp;
	uint32_t nsa, nsb;
	char *bad = calloc(1, BS + REMOTE_VAL_HDR_BYTES);

	hosts_start(&a, &b, &ca, &cb, &nsa, &nsb, "500");
	keys_of(2, 4, keys);
	commit_chain(ca, nsa, 2, 4);
	ck_assert_int_eq(tier_flush(ca, nsa), 0);

	/* Block 2's value: the right length, a valid-looking magic, wrong bytes. */
	memcpy(bad, "TRMV", 4);
	cluster_key(keys[2], key);
	rc = node_for(key);
	rp = redisCommand(rc, "SET %s %b", key, bad, (size_t)BS + REMOTE_VAL_HDR_BYTES);
	ck_assert(rp && rp->type == REDIS_REPLY_STATUS);
	freeReplyObject(rp);
	redisFree(rc);

	ck_assert_int_eq(tier_lookup(cb, nsb, keys, 4), 4); /* EXISTS cannot tell */
	ck_assert_uint_eq(acquire_verify(cb, nsb, keys, 2), 2);
	ck_assert_int_eq(tier_acquire(cb, nsb, keys[2], &(tier_handle){ 0 }), -ENOENT);
	/* Deleted (the DEL is on its way when the miss is answered). */
	for (int i = 0; i < 50 && cluster_exists(keys[2]); i++)
		t_msleep(20);
	ck_assert_int_eq(cluster_exists(keys[2]), 0);
	ck_assert_int_eq(tier_lookup(cb, nsb, keys, 4), 2);
	ck_assert_uint_eq(remote_stats(cb).corrupt, 1);
	free(bad);
	hosts_stop(&a, &b, ca, cb);
}
END_TEST

/* CONFIG SET on every master and replica. */
static void config_all(const char *param, const char *value)
{
	char path[128];
	FILE *f;
	int port;

	snprintf(path, sizeof(path), "%s/ports", dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fscanf(f, "%d", &port) == 1) {
		redisContext *c = redisConnect("127.0.0.1", port);
		redisReply *rp;

		if (!c || c->err) {
			redisFree(c);
			continue;
		}
		rp = redisCommand(c, "CONFIG SET %s %s", param, value);
		freeReplyObject(rp);
		redisFree(c);
	}
	fclose(f);
}

START_TEST(reshard)
{
	struct tdaemon a, b;
	tier_client *ca, *cb;
	static tier_key keys[16];
	char k4[REMOTE_KEY_MAX], k9[REMOTE_KEY_MAX];
	int masters[8], src, dst, asrc, adst;
	uint32_t nsa, nsb;

	for (int i = 0; i < n_seed; i++)
		masters[i] = seed_addr[i].port;
	hosts_start(&a, &b, &ca, &cb, &nsa, &nsb, "1000");
	keys_of(7, 16, keys);
	commit_chain(ca, nsa, 7, 16);
	ck_assert_int_eq(tier_flush(ca, nsa), 0);
	/* B learns the map and probes the chain... */
	ck_assert_int_eq(tier_lookup(cb, nsb, keys, 16), 16);
	/* ...then block 4's slot moves (MOVED) and block 9's is mid-migration (ASK). */
	cluster_key(keys[4], k4);
	cluster_key(keys[9], k9);
	cl_migrate(masters, n_seed, k4, true, &src, &dst);
	cl_migrate(masters, n_seed, k9, false, &asrc, &adst);
	ck_assert_uint_eq(acquire_verify(cb, nsb, keys, 16), 16);
	ck_assert_uint_ge(remote_stats(cb).redirects, 2);
	ck_assert_uint_eq(remote_stats(cb).corrupt, 0);
	cl_finish(asrc, adst, remote_key_slot(k9, strlen(k9)));
	ck_assert_int_eq(tier_lookup(cb, nsb, keys, 16), 16);
	hosts_stop(&a, &b, ca, cb);
}
END_TEST

START_TEST(tiny_maxmemory)
{
	struct tdaemon a, b;
	tier_client *ca, *cb;
	static tier_key keys[64];
	uint32_t nsa, nsb, got;

	/* About 2 MiB per master for 4 MiB of blocks: the cluster evicts, LRU first. */
	config_all("maxmemory-policy", "allkeys-lru");
	config_all("maxmemory", "3mb");
	hosts_start(&a, &b, &ca, &cb, &nsa, &nsb, "500");
	keys_of(5, 64, keys);
	commit_chain(ca, nsa, 5, 64);
	ck_assert_int_eq(tier_flush(ca, nsa), 0);
	ck_assert_uint_eq(remote_stats(ca).writes, 64);
	/* Whatever the cluster kept verifies; what it evicted is a miss, never a wrong byte. */
	got = acquire_verify(cb, nsb, keys, 64);
	ck_assert_uint_lt(got, 64);
	ck_assert_uint_eq(remote_stats(cb).corrupt, 0);
	ck_assert_uint_eq(remote_stats(cb).read_bytes, (uint64_t)got * BS);
	/* The first daemon still has every block locally. */
	ck_assert_int_eq(tier_lookup(ca, nsa, keys, 64), 64);
	config_all("maxmemory", "0");
	hosts_stop(&a, &b, ca, cb);
}
END_TEST

START_TEST(master_killed)
{
	struct tdaemon a, b;
	tier_client *ca, *cb;
	static tier_key keys[24];
	char key[REMOTE_KEY_MAX], what[64];
	redisContext *rc;
	uint32_t nsa, nsb;
	uint64_t t0;
	int port, r = 0;

	hosts_start(&a, &b, &ca, &cb, &nsa, &nsb, "300");
	keys_of(6, 24, keys);
	commit_chain(ca, nsa, 6, 24);
	ck_assert_int_eq(tier_flush(ca, nsa), 0);
	/* The master of block 3 goes; its replica has the writes (asynchronously: a moment). */
	cluster_key(keys[3], key);
	rc = node_for(key);
	port = rc->tcp.port;
	freeReplyObject(redisCommand(rc, "WAIT 1 2000"));
	redisFree(rc);
	snprintf(what, sizeof(what), "kill %s %d", dir, port);
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "%s %s", CLUSTER_SH, what);
		ck_assert_int_eq(system(cmd), 0);
	}
	/* Until the failover: misses within the deadline, never a wrong byte. */
	t0 = ms_now();
	r = tier_lookup(cb, nsb, keys, 24);
	ck_assert_int_ge(r, 0);
	ck_assert_int_lt(r, 24);
	ck_assert_uint_lt(ms_now() - t0, 1500);
	ck_assert_uint_eq(acquire_verify(cb, nsb, keys, (uint32_t)r), (uint32_t)r);
	/* After it: hits again, every byte right. */
	for (t0 = ms_now(); ms_now() - t0 < 20000; t_msleep(200)) {
		r = tier_lookup(cb, nsb, keys, 24);
		if (r == 24)
			break;
	}
	ck_assert_int_eq(r, 24);
	ck_assert_uint_eq(acquire_verify(cb, nsb, keys, 24), 24);
	ck_assert_uint_eq(remote_stats(cb).corrupt, 0);
	ck_assert_uint_gt(remote_stats(cb).errors + remote_stats(cb).timeouts, 0);
	hosts_stop(&a, &b, ca, cb);
}
END_TEST

/* SIGSTOP or SIGCONT every node. */
static void signal_all(int sig)
{
	char path[128];
	FILE *f;
	int port;

	snprintf(path, sizeof(path), "%s/ports", dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fscanf(f, "%d", &port) == 1) {
		char pp[160];
		FILE *g;
		int pid;

		snprintf(pp, sizeof(pp), "%s/%d/pid", dir, port);
		g = fopen(pp, "r");
		if (g && fscanf(g, "%d", &pid) == 1)
			kill(pid, sig);
		if (g)
			fclose(g);
	}
	fclose(f);
}

START_TEST(all_down)
{
	struct tdaemon a, b;
	tier_client *ca, *cb;
	static tier_key keys[8], other[8];
	uint32_t nsa, nsb;
	uint64_t t0;

	hosts_start(&a, &b, &ca, &cb, &nsa, &nsb, "300");
	keys_of(3, 8, keys);
	keys_of(4, 8, other);

	/*
	 * A cluster that answers nothing: commits do not wait, the writes held stay
	 * bounded.  A long remote.timeout, so none is answered (and freed) meanwhile,
	 * however slowly a busy machine commits.
	 */
	{
		struct tdaemon w;
		tier_client *cw;

		host(&w, "20000");
		cw = t_connect(&w);
		signal_all(SIGSTOP);
		t0 = ms_now();
		commit_chain(cw, ns_of(cw), 9, 1200); /* 75 MiB of 64 KiB blocks */
		ck_assert_uint_lt(ms_now() - t0, 10000);
		ck_assert_uint_gt(remote_stats(cw).writes_dropped, 0);
		signal_all(SIGCONT);
		tier_close(cw);
		ck_assert_int_eq(tdaemon_stop(&w), 0);
	}
	ck_assert_int_eq(sh("stop"), 0);

	/* Local tiers as before; the cluster's absence is a miss within the deadline. */
	commit_chain(ca, nsa, 3, 8);
	ck_assert_int_eq(tier_lookup(ca, nsa, keys, 8), 8);
	ck_assert_uint_eq(acquire_verify(ca, nsa, keys, 8), 8);
	for (int round = 0; round < 3; round++) {
		t0 = ms_now();
		ck_assert_int_eq(tier_lookup(cb, nsb, keys, 8), 0);
		ck_assert_int_eq(tier_acquire(cb, nsb, other[0], &(tier_handle){ 0 }), -ENOENT);
		ck_assert_uint_lt(ms_now() - t0, 1000);
	}
	commit_chain(cb, nsb, 4, 8);
	ck_assert_int_eq(tier_lookup(cb, nsb, other, 8), 8);
	ck_assert_int_eq(tier_flush(cb, nsb), 0); /* the writes failed: nothing waits */
	hosts_stop(&a, &b, ca, cb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("remote_tier");
	TCase *tc = tcase_create("two hosts");
	SRunner *sr;
	char path[128], cmd[256];
	FILE *f;
	int failed, st;

	t_tierd_path(); /* 77 without the binaries */
	if (!mkdtemp(dir))
		return 1;
	st = sh("start");
	if (st) {
		sh("stop");
		return st == 77 ? 77 : 1;
	}
	snprintf(path, sizeof(path), "%s/seeds", dir);
	f = fopen(path, "r");
	if (!f || !fgets(seeds, sizeof(seeds), f))
		return 1;
	fclose(f);
	seeds[strcspn(seeds, "\n")] = 0;
	n_seed = remote_seeds_parse(seeds, seed_addr, 8);

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, two_hosts);
	tcase_add_test(tc, corrupt_value);
	tcase_add_test(tc, reshard);
	tcase_add_test(tc, tiny_maxmemory);
	tcase_add_test(tc, master_killed);
	tcase_add_test(tc, all_down); /* last: it stops the cluster */
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	sh("stop");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd)) {
		/* a leftover temporary directory */
	}
	return failed ? 1 : 0;
}
