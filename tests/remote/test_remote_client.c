/* SPDX-License-Identifier: MIT */
/*
 * The cluster client (tierd/remote.c) against a real Redis Cluster on
 * 127.0.0.1 (tests/remote/cluster.sh, 3 masters): commands spread over every
 * master, a cap on bytes in flight, MOVED after a slot moves, ASK while it
 * migrates, a deadline on a stopped node, a refused connection after a kill.
 * The test's own checks and slot moves go through blocking hiredis (migrate.c).
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "migrate.h"
#include "remote.h"

static char dir[] = "/tmp/tierd-remote-client-XXXXXX";
static struct remote_addr seeds[8];
static int n_seeds;
static int ports[8];

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct ans {
	int done;
	int res;
	int type;
	long long integer;
	char *str;
	size_t len;
};

static int answered; /* answers so far, all commands */

static void on_ans(void *arg, int res, const redisReply *rp)
{
	struct ans *a = arg;

	answered++;
	a->done++;
	a->res = res;
	if (rp) {
		a->type = rp->type;
		a->integer = rp->integer;
		if (rp->type == REDIS_REPLY_STRING || rp->type == REDIS_REPLY_STATUS) {
			a->str = malloc(rp->len + 1);
			memcpy(a->str, rp->str, rp->len);
			a->str[rp->len] = 0;
			a->len = rp->len;
		}
	}
}

/* Run the client as the reactor would until everything sent is answered or limit_ms passes. */
static void run(struct remote *r, int limit_ms)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN }, out;
	uint64_t end = ms_now() + (uint64_t)limit_ms;

	epoll_ctl(ep, EPOLL_CTL_ADD, remote_fd(r), &ev);
	while (remote_outstanding(r) && ms_now() < end) {
		int t = remote_timeout_ms(r);
		int n;

		if (t < 0 || t > 50)
			t = 50;
		n = epoll_wait(ep, &out, 1, t);
		remote_turn(r, n > 0);
	}
	close(ep);
}

static struct remote *client(uint32_t timeout_ms, uint64_t inflight)
{
	struct remote_opts o = {
		.seeds = seeds, .n_seeds = (uint32_t)n_seeds, .timeout_ms = timeout_ms,
		.backoff_ms = 200, .inflight_bytes = inflight,
	};
	struct remote *r;

	ck_assert_int_eq(remote_new(&o, &r), 0);
	return r;
}

static int cmd2(struct remote *r, const char *c, const char *key, struct ans *a)
{
	const char *argv[2] = { c, key };
	size_t len[2] = { strlen(c), strlen(key) };

	return remote_cmd(r, 2, argv, len, on_ans, a);
}

static int set_nx(struct remote *r, const char *key, const void *v, size_t vlen, struct ans *a)
{
	const char *argv[4] = { "SET", key, v, "NX" };
	size_t len[4] = { 3, strlen(key), vlen, 2 };

	return remote_cmd(r, 4, argv, len, on_ans, a);
}

START_TEST(spread)
{
	struct remote *r = client(2000, DEFAULT_REMOTE_INFLIGHT_BYTES);
	enum { N = 300 };
	static struct ans set[N], get[N], ex[N], again[N];
	char key[32], val[32];

	memset(set, 0, sizeof(set));
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "spread:%d", i);
		snprintf(val, sizeof(val), "value-%d", i * 7);
		ck_assert_int_eq(set_nx(r, key, val, strlen(val), &set[i]), 0);
	}
	run(r, 3000);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(set[i].done, 1);
		ck_assert_msg(set[i].res == 0, "SET %d: %d", i, set[i].res);
		ck_assert_int_eq(set[i].type, REDIS_REPLY_STATUS);
	}
	/* Written once: SET NX again is a nil reply, the value unchanged. */
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "spread:%d", i);
		ck_assert_int_eq(set_nx(r, key, "other", 5, &again[i]), 0);
		ck_assert_int_eq(cmd2(r, "GET", key, &get[i]), 0);
		ck_assert_int_eq(cmd2(r, "EXISTS", key, &ex[i]), 0);
	}
	run(r, 3000);
	for (int i = 0; i < N; i++) {
		snprintf(val, sizeof(val), "value-%d", i * 7);
		ck_assert_int_eq(again[i].res, 0);
		ck_assert_int_eq(again[i].type, REDIS_REPLY_NIL);
		ck_assert_int_eq(get[i].res, 0);
		ck_assert_str_eq(get[i].str, val);
		ck_assert_int_eq(ex[i].type, REDIS_REPLY_INTEGER);
		ck_assert_int_eq(ex[i].integer, 1);
		free(get[i].str);
		free(set[i].str);
		free(again[i].str);
	}
	ck_assert_uint_eq(remote_slots_covered(r), REMOTE_SLOTS);
	ck_assert_uint_ge(remote_counters(r)->connects, 3); /* every master */
	ck_assert_uint_eq(remote_outstanding(r), 0);
	remote_free(r);
}
END_TEST

START_TEST(inflight_cap)
{
	/* 1 MiB in flight per connection, 48 values of 256 KiB: queued, then all written. */
	struct remote *r = client(5000, 1 << 20);
	enum { N = 48, V = 256 << 10 };
	static struct ans set[N], get[N];
	char *v = malloc(V), key[32];

	memset(set, 0, sizeof(set));
	memset(get, 0, sizeof(get));
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "big:%d", i);
		memset(v, 'a' + i % 26, V);
		ck_assert_int_eq(set_nx(r, key, v, V, &set[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "big:%d", i);
		ck_assert_int_eq(cmd2(r, "GET", key, &get[i]), 0);
	}
	run(r, 8000);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(set[i].res, 0);
		ck_assert_int_eq(get[i].res, 0);
		ck_assert_msg(get[i].len == V, "GET %d: res %d type %d len %zu; SET res %d type %d", i, get[i].res, get[i].type, get[i].len, set[i].res, set[i].type);
		ck_assert_int_eq(get[i].str[V / 2], 'a' + i % 26);
		free(get[i].str);
		free(set[i].str);
	}
	ck_assert_uint_ge(remote_counters(r)->bytes_received, (uint64_t)N * V);
	free(v);
	remote_free(r);
}
END_TEST

START_TEST(moved_and_ask)
{
	struct remote *r = client(2000, DEFAULT_REMOTE_INFLIGHT_BYTES);
	struct ans a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
	int src, dst;

	/* Learn the map first, so the moves below are news to the client. */
	ck_assert_int_eq(set_nx(r, "moving:a", "AAA", 3, &a), 0);
	ck_assert_int_eq(set_nx(r, "asking:b", "BBB", 3, &b), 0);
	run(r, 3000);
	run(r, 3000);
	ck_assert_int_eq(a.res, 0);
	ck_assert_int_eq(b.res, 0);
	free(a.str);
	free(b.str);

	cl_migrate(ports, n_seeds, "moving:a", true, &src, &dst);
	ck_assert_int_eq(cmd2(r, "GET", "moving:a", &c), 0);
	run(r, 3000);
	ck_assert_int_eq(c.res, 0);
	ck_assert_str_eq(c.str, "AAA");
	ck_assert_uint_ge(remote_counters(r)->moved, 1);
	free(c.str);

	/* Mid-migration: the key is on the importing node, its slot still on the old. */
	cl_migrate(ports, n_seeds, "asking:b", false, &src, &dst);
	ck_assert_int_eq(cmd2(r, "GET", "asking:b", &d), 0);
	run(r, 3000);
	ck_assert_int_eq(d.res, 0);
	ck_assert_str_eq(d.str, "BBB");
	ck_assert_uint_ge(remote_counters(r)->ask, 1);
	free(d.str);
	cl_finish(src, dst, remote_key_slot("asking:b", 8));
	remote_free(r);
}
END_TEST

static pid_t pid_of(int port)
{
	char path[128];
	FILE *f;
	int pid = -1;

	snprintf(path, sizeof(path), "%s/%d/pid", dir, port);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%d", &pid), 1);
	fclose(f);
	return pid;
}

START_TEST(deadline_and_refused)
{
	struct remote *r = client(300, DEFAULT_REMOTE_INFLIGHT_BYTES);
	struct ans a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
	const char *key = "stopped:k";
	int port = cl_owner_port(ports[0], remote_key_slot(key, strlen(key)));
	pid_t pid = pid_of(port);
	char other[32];
	uint64_t t0;

	ck_assert_int_eq(set_nx(r, key, "x", 1, &a), 0);
	run(r, 3000);
	ck_assert_int_eq(a.res, 0);
	free(a.str);
	/* A key on another master. */
	for (int i = 0;; i++) {
		snprintf(other, sizeof(other), "other:%d", i);
		if (cl_owner_port(ports[0], remote_key_slot(other, strlen(other))) != port)
			break;
	}

	/* A node that answers nothing: -ETIMEDOUT by the deadline, not later. */
	kill(pid, SIGSTOP);
	t0 = ms_now();
	ck_assert_int_eq(cmd2(r, "GET", key, &b), 0);
	run(r, 3000);
	ck_assert_int_eq(b.res, -ETIMEDOUT);
	ck_assert_uint_ge(ms_now() - t0, 290);
	ck_assert_uint_lt(ms_now() - t0, 1000);
	ck_assert_uint_eq(remote_counters(r)->timeouts, 1);
	kill(pid, SIGCONT);

	/* A dead node (no replica here): refused at once; other masters still answer. */
	kill(pid, SIGKILL);
	usleep(100000);
	memset(&b, 0, sizeof(b));
	for (int i = 0; i < 3; i++) {
		memset(&c, 0, sizeof(c));
		t0 = ms_now();
		ck_assert_int_eq(cmd2(r, "GET", key, &c), 0);
		run(r, 3000);
		ck_assert_int_lt(c.res, 0);
		ck_assert_int_ne(c.res, -ETIMEDOUT);
		ck_assert_uint_lt(ms_now() - t0, 250);
	}
	ck_assert_int_eq(set_nx(r, other, "y", 1, &d), 0);
	run(r, 3000);
	ck_assert_int_eq(d.res, 0);
	free(d.str);
	ck_assert_uint_ge(remote_counters(r)->errors, 3);
	remote_free(r);
}
END_TEST

static int sh(const char *what)
{
	char cmd[512];
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s %s", CLUSTER_SH, what, dir);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int main(void)
{
	Suite *s = suite_create("remote_client");
	TCase *tc = tcase_create("cluster");
	SRunner *sr;
	char path[128], line[512];
	FILE *f;
	int failed, st;

	if (!mkdtemp(dir))
		return 1;
	st = sh("start");
	if (st) {
		sh("stop");
		return st == 77 ? 77 : 1;
	}
	snprintf(path, sizeof(path), "%s/seeds", dir);
	f = fopen(path, "r");
	if (!f || !fgets(line, sizeof(line), f))
		return 1;
	fclose(f);
	line[strcspn(line, "\n")] = 0;
	n_seeds = remote_seeds_parse(line, seeds, 8);
	for (int i = 0; i < n_seeds; i++)
		ports[i] = seeds[i].port;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, spread);
	tcase_add_test(tc, inflight_cap);
	tcase_add_test(tc, moved_and_ask);
	tcase_add_test(tc, deadline_and_refused); /* last: it kills a master */
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	sh("stop");
	snprintf(line, sizeof(line), "rm -rf %s", dir);
	if (!failed && system(line)) {
		/* nothing: a leftover temporary directory */
	}
	return failed ? 1 : 0;
}
