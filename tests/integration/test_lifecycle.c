/* SPDX-License-Identifier: MIT */
/*
 * Integration: the daemon's life from the outside.  A bad configuration
 * makes tierd exit non-zero with a message naming the key; `tierctl stats
 * --json` reports what the daemon holds (checked field by field after known
 * operations); SIGTERM and SIGINT give a clean exit that removes the socket.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "daemon.h"
#include "../../policies/policy.h"
#include "testutil.h"

static struct tdaemon d;

/* ---- 6. bad configurations ------------------------------------------ */

static const struct {
	const char *file;     /* config file text, or NULL */
	const char *opt;      /* an -o assignment, or NULL */
	const char *must_say; /* in stderr */
} bad_configs[] = {
	{ "[host]\nsize = banana\n", NULL, "host.size" },
	{ "[daemon]\nbogus = 1\n", NULL, "daemon.bogus" },
	{ "[host]\nhugepages = sometimes\n", NULL, "host.hugepages" },
	{ "[gpu]\ndevice = banana\n", NULL, "gpu.device" },
	{ "[gpu]\nsize = 1M\n", NULL, "gpu.size" },
	{ "[policy]\nevict = nope\n", NULL, "policy.evict" },
	{ "[daemon]\nmax_clients = 0\n", NULL, "daemon.max_clients" },
	{ NULL, "host.size=banana", "host.size" },
	{ NULL, "host.size=64T", "host.size" },   /* more than the machine has */
	{ NULL, "host.size=1M", "host.size" },    /* below the minimum */
	{ NULL, "host.numa_node=1000", "host.numa_node" },
	{ NULL, "daemon.log_level=shouty", "daemon.log_level" },
	{ NULL, "nosuch.key=1", "nosuch.key" },
	{ NULL, "host.size", "host.size" },       /* no '=' */
};

START_TEST(test_bad_config)
{
	char dir[] = "/tmp/tierd-test-cfg.XXXXXX", path[128], sockopt[160], sock[128];
	char out[4096], err[4096];
	char *argv[12];
	int argc = 0, st;
	struct stat sb;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/tierd.sock", dir);
	snprintf(sockopt, sizeof(sockopt), "daemon.socket=%s", sock);
	argv[argc++] = (char *)t_tierd_path();
	argv[argc++] = (char *)"-f";
	/* Should it start after all, it serves in dir and the timeout below ends it. */
	argv[argc++] = (char *)"-o";
	argv[argc++] = sockopt;
	argv[argc++] = (char *)"-o";
	argv[argc++] = (char *)"host.size=32M";
	if (bad_configs[_i].file) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/bad.conf", dir);
		f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		fputs(bad_configs[_i].file, f);
		fclose(f);
		argv[argc++] = (char *)"-c";
		argv[argc++] = path;
	}
	if (bad_configs[_i].opt) {
		argv[argc++] = (char *)"-o";
		argv[argc++] = (char *)bad_configs[_i].opt;
	}
	argv[argc] = NULL;
	st = t_exec(argv, out, sizeof(out), err, sizeof(err), 10000);
	ck_assert_msg(st != -1, "tierd started with a bad config (%s%s)",
		      bad_configs[_i].file ? bad_configs[_i].file : "",
		      bad_configs[_i].opt ? bad_configs[_i].opt : "");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0, "status 0x%x", st);
	ck_assert_msg(strstr(err, bad_configs[_i].must_say), "stderr does not name %s:\n%s",
		      bad_configs[_i].must_say, err);
	ck_assert_int_ne(stat(sock, &sb), 0);
	if (bad_configs[_i].file) {
		ck_assert_msg(strstr(err, path), "stderr does not name the file:\n%s", err);
		unlink(path);
	}
	rmdir(dir);
}
END_TEST

START_TEST(test_config_file_missing_and_check_config)
{
	char *argv[8], out[8192], err[4096];
	int st;

	argv[0] = (char *)t_tierd_path();
	argv[1] = (char *)"-c";
	argv[2] = (char *)"/nonexistent/tierd.conf";
	argv[3] = NULL;
	st = t_exec(argv, out, sizeof(out), err, sizeof(err), 10000);
	ck_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0);
	ck_assert_msg(strstr(err, "/nonexistent/tierd.conf"), "%s", err);

	/* --check-config prints the config in force, overrides applied, and exits 0. */
	argv[1] = (char *)"--check-config";
	argv[2] = (char *)"-o";
	argv[3] = (char *)"host.size=48M";
	argv[4] = (char *)"-o";
	argv[5] = (char *)"host.hugepages=off";
	argv[6] = NULL;
	st = t_exec(argv, out, sizeof(out), err, sizeof(err), 10000);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", err);
	ck_assert_msg(strstr(out, "size = 48M"), "%s", out);
	ck_assert_msg(strstr(out, "hugepages = off"), "%s", out);
	ck_assert_msg(strstr(out, "[policy]"), "%s", out);
}
END_TEST

/* ---- 7. tierctl stats --json ---------------------------------------- */

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no \"%s\" in %s", key,
		      json_object_to_json_string(o));
	return v;
}

static uint64_t get_u64(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_int), "\"%s\" is not an integer", key);
	return json_object_get_uint64(v);
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_string), "\"%s\" is not a string", key);
	return json_object_get_string(v);
}

static json_object *tierctl_json(void)
{
	char *argv[] = { (char *)t_tierctl_path(), (char *)"-s", d.sock, (char *)"stats",
			 (char *)"--json", NULL };
	static char out[65536];
	char err[1024];
	json_object *o;
	int st = t_exec(argv, out, sizeof(out), err, sizeof(err), 10000);

	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "tierctl: 0x%x %s", st,
		      err);
	o = json_tokener_parse(out);
	ck_assert_msg(o && json_object_is_type(o, json_type_object), "not a JSON object:\n%s",
		      out);
	return o;
}

START_TEST(test_tierctl_json)
{
	const uint64_t bs_a = 65536, bs_b = 8192;
	struct tier_stats s;
	struct tier_ns_stats nss[4];
	json_object *o, *tiers, *host, *nsarr, *ops;
	tier_key keys[11];
	tier_client *c;
	tier_handle h, pin;
	uint32_t a, b;
	time_t t0 = time(NULL);

	tdaemon_start(&d, "32M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "alpha", bs_a, &a), 0);
	ck_assert_int_eq(tier_namespace(c, "beta", bs_b, &b), 0);
	for (uint32_t i = 0; i < 11; i++)
		keys[i] = t_key(7, i);
	for (uint32_t i = 0; i < 10; i++) {
		ck_assert_int_eq(tier_alloc(c, a, &h), 0);
		ck_assert_int_eq(tier_commit(c, h, keys[i]), 0);
	}
	for (uint32_t i = 0; i < 3; i++) {
		ck_assert_int_eq(tier_alloc(c, b, &h), 0);
		ck_assert_int_eq(tier_commit(c, h, t_key(8, i)), 0);
	}
	ck_assert_int_eq(tier_alloc(c, b, &h), 0);                 /* left writing */
	ck_assert_int_eq(tier_lookup(c, a, keys, 11), 10);        /* 10 hits, 1 miss */
	ck_assert_int_eq(tier_acquire(c, a, keys[0], &pin), 0);   /* same access as the lookup */
	ck_assert_int_eq(tier_acquire(c, a, keys[10], &h), -ENOENT); /* a miss and an error */
	ck_assert_int_eq(tier_drop(c, a, keys[9]), 0);

	o = tierctl_json();
	ck_assert_uint_le(get_u64(o, "uptime_s"), (uint64_t)(time(NULL) - t0) + 1);
	ck_assert_uint_eq(get_u64(o, "clients"), 2); /* this test and tierctl */
	ck_assert_str_eq(get_str(o, "policy_evict"), TIER_EVICT_DEFAULT);
	tiers = get(o, "tiers");
	ck_assert(json_object_is_type(tiers, json_type_array));
	ck_assert_uint_eq(json_object_array_length(tiers), 1);
	host = json_object_array_get_idx(tiers, 0);
	ck_assert_str_eq(get_str(host, "name"), "host");
	ck_assert_uint_eq(get_u64(host, "capacity_bytes"), 32ULL << 20);
	ck_assert_uint_eq(get_u64(host, "used_bytes"), 9 * bs_a + 4 * bs_b);
	ck_assert_uint_eq(get_u64(host, "blocks"), 12);
	ck_assert_uint_eq(get_u64(host, "pinned_blocks"), 1);
	ck_assert_uint_eq(get_u64(host, "hits"), 10);
	ck_assert_uint_eq(get_u64(host, "misses"), 2);
	ck_assert_uint_eq(get_u64(host, "evictions"), 0);
	nsarr = get(o, "namespaces");
	ck_assert(json_object_is_type(nsarr, json_type_array));
	ck_assert_uint_eq(json_object_array_length(nsarr), 2);
	for (size_t i = 0; i < 2; i++) {
		json_object *x = json_object_array_get_idx(nsarr, i);
		const char *name = get_str(x, "name");

		if (strcmp(name, "alpha") == 0) {
			ck_assert_uint_eq(get_u64(x, "block_size"), bs_a);
			ck_assert_uint_eq(get_u64(x, "blocks"), 9);
			ck_assert_uint_eq(get_u64(x, "hits"), 10);
			ck_assert_uint_eq(get_u64(x, "misses"), 2);
		} else {
			ck_assert_str_eq(name, "beta");
			ck_assert_uint_eq(get_u64(x, "block_size"), bs_b);
			ck_assert_uint_eq(get_u64(x, "blocks"), 3);
		}
	}
	ops = get(o, "ops");
	ck_assert_uint_eq(get_u64(ops, "alloc"), 14);
	ck_assert_uint_eq(get_u64(ops, "commit"), 13);
	ck_assert_uint_eq(get_u64(ops, "lookup"), 1);
	ck_assert_uint_eq(get_u64(ops, "acquire"), 2);
	ck_assert_uint_eq(get_u64(ops, "release"), 0);
	ck_assert_uint_eq(get_u64(ops, "drop"), 1);
	ck_assert_uint_eq(get_u64(ops, "errors"), 1);

	/* The same numbers as the library reports. */
	t_stats(c, &s, nss, 4);
	ck_assert_uint_eq(s.tiers[0].used_bytes, get_u64(host, "used_bytes"));
	ck_assert_uint_eq(s.tiers[0].blocks, get_u64(host, "blocks"));
	ck_assert_uint_eq(s.ops.alloc, get_u64(ops, "alloc"));
	ck_assert_uint_eq(s.clients, 1); /* tierctl has gone */
	ck_assert_uint_eq(s.n_namespaces, 2);
	json_object_put(o);

	/* After releasing the pin and closing: nothing pinned, the writing block freed. */
	ck_assert_int_eq(tier_release(c, pin), 0);
	tier_close(c);
	for (int tries = 0; tries < 100; tries++) {
		o = tierctl_json();
		if (get_u64(o, "clients") == 1)
			break;
		json_object_put(o);
		o = NULL;
		t_msleep(10);
	}
	ck_assert_ptr_nonnull(o);
	host = json_object_array_get_idx(get(o, "tiers"), 0);
	ck_assert_uint_eq(get_u64(host, "pinned_blocks"), 0);
	ck_assert_uint_eq(get_u64(host, "used_bytes"), 9 * bs_a + 3 * bs_b);
	ck_assert_uint_eq(get_u64(get(o, "ops"), "release"), 1);
	json_object_put(o);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

START_TEST(test_tierctl_table_and_errors)
{
	char *argv[6], out[8192], err[2048];
	int st;

	tdaemon_start(&d, "32M", NULL);
	argv[0] = (char *)t_tierctl_path();
	argv[1] = (char *)"-s";
	argv[2] = d.sock;
	argv[3] = (char *)"stats";
	argv[4] = NULL;
	st = t_exec(argv, out, sizeof(out), err, sizeof(err), 10000);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", err);
	ck_assert_msg(strstr(out, "host") && strstr(out, "EVICTIONS"), "%s", out);
	argv[4] = (char *)"--help";
	argv[5] = NULL;
	st = t_exec(argv, out, sizeof(out), err, sizeof(err), 10000);
	ck_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_msg(strstr(out, "--json"), "%s", out);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
	/* No daemon: exit 1 and say where it looked. */
	argv[4] = NULL;
	st = t_exec(argv, out, sizeof(out), err, sizeof(err), 10000);
	ck_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
	ck_assert_msg(strstr(err, "tierd.sock"), "%s", err);
}
END_TEST

/* daemon.max_clients: one more client is refused; the others are served. */
START_TEST(test_max_clients)
{
	tier_client *a, *b, *x = NULL;
	struct tier_stats s;
	int r;

	tdaemon_start(&d, "32M", "daemon.max_clients=2", NULL);
	a = t_connect(&d);
	b = t_connect(&d);
	r = tier_connect(d.sock, &x);
	ck_assert_msg(r < 0, "a third client was accepted");
	ck_assert_ptr_null(x);
	t_stats(a, &s, NULL, 0);
	ck_assert_uint_eq(s.clients, 2);
	tier_close(b);
	/* Room again once one has gone (hang-ups are handled asynchronously). */
	for (int tries = 0; tries < 100 && r < 0; tries++) {
		r = tier_connect(d.sock, &x);
		if (r < 0)
			t_msleep(10);
	}
	ck_assert_int_eq(r, 0);
	tier_close(x);
	tier_close(a);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

/* ---- 9. clean exit on SIGTERM / SIGINT ------------------------------- */

static const int stop_signals[] = { SIGTERM, SIGINT };

START_TEST(test_signal_clean_exit)
{
	struct stat sb;
	tier_client *c;
	tier_handle h, w;
	uint32_t ns;
	char sock[128];
	int st;

	tdaemon_start(&d, "32M", NULL);
	snprintf(sock, sizeof(sock), "%s", d.sock);
	ck_assert_int_eq(stat(sock, &sb), 0);
	ck_assert(S_ISSOCK(sb.st_mode));
	/* A client in the middle of things: a pin and a writing block. */
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "n", 4096, &ns), 0);
	ck_assert_int_eq(tier_alloc(c, ns, &h), 0);
	ck_assert_int_eq(tier_commit(c, h, t_key(9, 0)), 0);
	ck_assert_int_eq(tier_acquire(c, ns, t_key(9, 0), &h), 0);
	ck_assert_int_eq(tier_alloc(c, ns, &w), 0);

	ck_assert_int_eq(kill(d.pid, stop_signals[_i]), 0);
	st = tdaemon_wait(&d, 10000);
	ck_assert_msg(st != -1, "no exit within 10 s");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	ck_assert_msg(stat(sock, &sb) != 0 && errno == ENOENT, "socket file left behind");
	ck_assert_int_eq(tier_lookup(c, ns, &(tier_key){ 1, 2 }, 1), -ECONNRESET);
	tier_close(c);
	tdaemon_cleanup(&d);
}
END_TEST

static Suite *lifecycle_suite(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_bad_config, 0,
			    (int)(sizeof(bad_configs) / sizeof(bad_configs[0])));
	tcase_add_test(tc, test_config_file_missing_and_check_config);
	tcase_add_test(tc, test_tierctl_json);
	tcase_add_test(tc, test_tierctl_table_and_errors);
	tcase_add_test(tc, test_max_clients);
	tcase_add_loop_test(tc, test_signal_clean_exit, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	t_tierd_path();
	t_tierctl_path();
	return t_run_suite(lifecycle_suite());
}
