/* SPDX-License-Identifier: MIT */
/*
 * Operations, against the real daemon: the socket's mode and group, the
 * sd_notify sequence (a fake NOTIFY_SOCKET), SIGHUP reload with a good and a
 * bad file, and every tierctl verb, with its --json output parsed and
 * checked against what the daemon holds (through libtier), its exit codes
 * and its plain output to a pipe.  Who may change state (SO_PEERCRED) is
 * checked from a client running as nobody.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "../../policies/policy.h"
#include "daemon.h"

#define BLOCK (64u << 10)
#define OUT_MAX (256u << 10)

static char out[OUT_MAX], err[16384];

/*
 * Start tierd with the given environment addition (NAME=VALUE or NULL) and
 * arguments after "-f -o daemon.socket=...", NULL-terminated.
 */
static void start(struct tdaemon *d, const char *env, ...)
{
	char *argv[48], sockopt[160];
	int argc = 0;
	const char *a;
	va_list ap;

	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/tierd-ops.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d->dir));
	snprintf(d->sock, sizeof(d->sock), "%s/tierd.sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/tierd.log", d->dir);
	snprintf(sockopt, sizeof(sockopt), "daemon.socket=%s", d->sock);
	argv[argc++] = (char *)t_tierd_path();
	argv[argc++] = (char *)"-f";
	argv[argc++] = (char *)"-o";
	argv[argc++] = sockopt;
	va_start(ap, env);
	while ((a = va_arg(ap, const char *)) && argc < 46)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;

	d->pid = fork();
	ck_assert_int_ge(d->pid, 0);
	if (d->pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		unsetenv("NOTIFY_SOCKET");
		unsetenv("INVOCATION_ID");
		if (env)
			putenv((char *)env);
		execv(argv[0], argv);
		_exit(127);
	}
	for (int i = 0; i < 300; i++) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

		memcpy(sa.sun_path, d->sock, strlen(d->sock) + 1); /* < 64 bytes: see mkdtemp */
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return;
		}
		close(fd);
		ck_assert_msg(tdaemon_alive(d), "tierd exited at start");
		t_msleep(50);
	}
	ck_abort_msg("tierd did not come up");
}

static void stop(struct tdaemon *d)
{
	int st = tdaemon_stop(d);

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "tierd exit status %d", st);
	tdaemon_cleanup(d);
}

static bool log_has(const struct tdaemon *d, const char *needle)
{
	static char buf[65536];
	int fd = open(d->log, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return strstr(buf, needle) != NULL;
}

/* Run tierctl -s SOCK ARGS... ; returns its exit code (-1: did not exit). */
static int ctl(const struct tdaemon *d, ...)
{
	char *argv[24];
	int argc = 0, st;
	const char *a;
	va_list ap;

	argv[argc++] = (char *)t_tierctl_path();
	argv[argc++] = (char *)"-s";
	argv[argc++] = (char *)d->sock;
	va_start(ap, d);
	while ((a = va_arg(ap, const char *)) && argc < 23)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	st = t_exec(argv, out, sizeof(out), err, sizeof(err), 20000);
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static json_object *ctl_json(const struct tdaemon *d, const char *verb)
{
	json_object *o;

	ck_assert_int_eq(ctl(d, verb, "--json", NULL), 0);
	o = json_tokener_parse(out);
	ck_assert_msg(o != NULL, "%s --json: not JSON: %s", verb, out);
	return o;
}

static uint64_t jget(json_object *o, const char *k)
{
	json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, k, &v), "no '%s' in %s", k,
		      json_object_to_json_string(o));
	return (uint64_t)json_object_get_int64(v);
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, k, &v), "no '%s'", k);
	return json_object_get_string(v);
}

/* n committed blocks in namespace name; returns the namespace id. */
static uint32_t fill(tier_client *c, const char *name, uint32_t seed, int n)
{
	uint32_t ns;

	ck_assert_int_eq(tier_namespace(c, name, BLOCK, &ns), 0);
	for (int i = 0; i < n; i++) {
		tier_handle h;

		ck_assert_int_eq(tier_alloc(c, ns, &h), 0);
		t_fill(tier_data(c, h), BLOCK, t_key(seed, (uint32_t)i));
		ck_assert_int_eq(tier_commit(c, h, t_key(seed, (uint32_t)i)), 0);
	}
	return ns;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static struct tier_daemon_status status_of(tier_client *c)
{
	struct tier_daemon_status st = { .size = sizeof(st) };

	ck_assert_int_eq(tier_admin_status(c, &st), 0);
	return st;
}

/* ---- socket ------------------------------------------------------------ */

START_TEST(socket_group_and_mode)
{
	struct tdaemon d;
	struct stat sb;

	/* Group root: only root may give a file to a group it is not in. */
	if (getuid() == 0) {
		start(&d, NULL, "-o", "host.size=16M", "-o", "daemon.socket_group=root", NULL);
		ck_assert_int_eq(stat(d.sock, &sb), 0);
		ck_assert_int_eq(sb.st_mode & 0777, 0660);
		ck_assert_int_eq(sb.st_gid, 0);
		stop(&d);
	}

	/* A group that does not exist: a warning, and the daemon's own group. */
	start(&d, NULL, "-o", "host.size=16M", "-o", "daemon.socket_group=no-such-group-xyz", NULL);
	ck_assert_int_eq(stat(d.sock, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0660);
	ck_assert_int_eq(sb.st_gid, getegid());
	ck_assert(log_has(&d, "<4>daemon.socket_group: no group 'no-such-group-xyz'"));
	stop(&d);
}
END_TEST

/* ---- sd_notify ----------------------------------------------------------- */

START_TEST(notify_sequence)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tdaemon d;
	char env[160], msgs[8][512];
	int fd, n = 0;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/tierd-notify.%d", (int)getpid());
	unlink(sa.sun_path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(env, sizeof(env), "NOTIFY_SOCKET=%s", sa.sun_path);

	start(&d, env, "-o", "host.size=16M", NULL);
	kill(d.pid, SIGHUP);
	t_msleep(300);
	stop(&d);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t len;

		if (n == 8 || poll(&p, 1, 1000) <= 0)
			break;
		len = recv(fd, msgs[n], sizeof(msgs[n]) - 1, 0);
		if (len <= 0)
			break;
		msgs[n++][len] = 0;
	}
	close(fd);
	unlink(sa.sun_path);
	/* READY (with a STATUS), RELOADING, READY, STOPPING, in that order. */
	ck_assert_int_ge(n, 4);
	ck_assert_msg(strstr(msgs[0], "READY=1") && strstr(msgs[0], "STATUS="), "%s", msgs[0]);
	ck_assert_msg(strstr(msgs[1], "RELOADING=1"), "%s", msgs[1]);
	ck_assert_msg(strstr(msgs[2], "READY=1") && strstr(msgs[2], "STATUS="), "%s", msgs[2]);
	ck_assert_msg(strstr(msgs[3], "STOPPING=1"), "%s", msgs[3]);
}
END_TEST

/* ---- reload -------------------------------------------------------------- */

static void wait_reloads(tier_client *c, uint64_t ok, uint64_t failed)
{
	for (int i = 0; i < 100; i++) {
		struct tier_daemon_status st = status_of(c);

		if (st.reloads == ok && st.reload_failures == failed)
			return;
		t_msleep(20);
	}
	ck_abort_msg("reload counters never reached %llu/%llu", (unsigned long long)ok,
		     (unsigned long long)failed);
}

START_TEST(reload_good_and_bad)
{
	struct tdaemon d;
	struct tier_stats s = { .size = sizeof(s) };
	char conf[128];
	tier_client *c;

	/* The directory of the file, not the daemon's: made before start. */
	snprintf(conf, sizeof(conf), "/tmp/tierd-ops-%d.conf", (int)getpid());
	write_file(conf, "[daemon]\nlog_level = info\n[host]\nsize = 16M\n[policy]\nevict = lru\n");
	/* The -o override is applied again on reload: it beats the file. */
	start(&d, NULL, "-c", conf, "-o", "daemon.max_namespaces=8", NULL);
	c = t_connect(&d);

	/* Good: live keys change, a size change is logged as needing a restart. */
	write_file(conf, "[daemon]\nlog_level = debug\nmax_namespaces = 100\n[host]\nsize = 32M\n"
			 "[policy]\nevict = sieve\n");
	kill(d.pid, SIGHUP);
	wait_reloads(c, 1, 0);
	t_stats(c, &s, NULL, 0);
	ck_assert_str_eq(s.policy_evict, "sieve");
	ck_assert_int_eq(s.tiers[0].capacity_bytes, 16u << 20);
	ck_assert(log_has(&d, "reload: host.size changed (16M -> 32M): takes effect after a restart"));
	ck_assert(log_has(&d, "reload: daemon.log_level = debug (was info)"));
	ck_assert(!log_has(&d, "max_namespaces changed"));
	ck_assert_int_eq(ctl(&d, "config", NULL), 0);
	ck_assert_msg(strstr(out, "log_level = debug\n") && strstr(out, "size = 16M\n") &&
			      strstr(out, "evict = sieve\n") && strstr(out, "max_namespaces = 8\n"),
		      "%s", out);

	/* Bad: refused, the configuration in force stays. */
	write_file(conf, "[policy]\nevict = no-such-policy\n");
	kill(d.pid, SIGHUP);
	wait_reloads(c, 1, 1);
	ck_assert(log_has(&d, "keeping the configuration in force"));
	t_stats(c, &s, NULL, 0);
	ck_assert_str_eq(s.policy_evict, "sieve");
	write_file(conf, "this is not INI\n");
	kill(d.pid, SIGHUP);
	wait_reloads(c, 1, 2);

	/* Good again, back to the default; the reactor still serves. */
	write_file(conf, "[host]\nsize = 16M\n");
	kill(d.pid, SIGHUP);
	wait_reloads(c, 2, 2);
	t_stats(c, &s, NULL, 0);
	ck_assert_str_eq(s.policy_evict, TIER_EVICT_DEFAULT);
	tier_close(c);
	stop(&d);
	unlink(conf);
}
END_TEST

/* ---- tierctl ------------------------------------------------------------- */

START_TEST(tierctl_verbs)
{
	static const char *const verbs[] = { "stats", "tiers", "namespaces", "clients", "config",
					     "policy", "flush", "evict", "drop" };
	struct tier_stats s = { .size = sizeof(s) };
	struct tier_ns_stats nss[4];
	struct tdaemon d;
	json_object *o, *a, *x;
	tier_client *c;
	tier_handle pin;
	uint32_t ns;
	bool me = false;

	start(&d, NULL, "-o", "host.size=16M", NULL);
	c = t_connect(&d);
	ns = fill(c, "ops-ns", 1, 8);
	fill(c, "other-ns", 2, 3);
	ck_assert_int_eq(tier_acquire(c, ns, t_key(1, 0), &pin), 0);
	ck_assert_int_eq(tier_lookup(c, ns, (tier_key[]){ t_key(1, 0), t_key(9, 9) }, 2), 1);

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		ck_assert_int_eq(ctl(&d, verbs[i], "--help", NULL), 0);
		ck_assert_msg(strstr(out, "Usage: tierctl"), "%s --help: %s", verbs[i], out);
	}
	ck_assert_int_eq(ctl(&d, "no-such-verb", NULL), 2);
	ck_assert_int_eq(ctl(&d, "evict", NULL), 2);
	ck_assert_int_eq(ctl(&d, "evict", "--tier", "disk", "--bytes", "1M", NULL), 2);
	ck_assert_int_eq(ctl(&d, "drop", NULL), 2);
	ck_assert_int_eq(ctl(&d, "stats", "--watch", "x", NULL), 2);
	ck_assert_int_eq(ctl(&d, "policy", "tape", NULL), 2);

	/* stats --json against tier_stats_get */
	o = ctl_json(&d, "stats");
	ck_assert_int_eq(tier_stats_get(c, &s, nss, 4), 2);
	json_object_object_get_ex(o, "tiers", &a);
	x = json_object_array_get_idx(a, 0);
	ck_assert_str_eq(jstr(x, "name"), "host");
	ck_assert_uint_eq(jget(x, "blocks"), s.tiers[0].blocks);
	ck_assert_uint_eq(jget(x, "blocks"), 11);
	ck_assert_uint_eq(jget(x, "pinned_blocks"), 1);
	ck_assert_uint_eq(jget(x, "capacity_bytes"), 16u << 20);
	json_object_put(o);

	/* tiers */
	o = ctl_json(&d, "tiers");
	ck_assert_int_eq(json_object_array_length(o), 1);
	x = json_object_array_get_idx(o, 0);
	ck_assert_str_eq(jstr(x, "policy"), TIER_EVICT_DEFAULT);
	ck_assert_uint_eq(jget(x, "used_bytes"), s.tiers[0].used_bytes);
	json_object_put(o);

	/* namespaces: blocks, bytes, hits, misses */
	o = ctl_json(&d, "namespaces");
	ck_assert_int_eq(json_object_array_length(o), 2);
	x = json_object_array_get_idx(o, 0);
	ck_assert_str_eq(jstr(x, "name"), "ops-ns");
	ck_assert_uint_eq(jget(x, "blocks"), 8);
	ck_assert_uint_eq(jget(x, "bytes"), 8 * BLOCK);
	ck_assert_uint_eq(jget(x, "block_size"), BLOCK);
	ck_assert_uint_eq(jget(x, "hits"), nss[0].hits);
	ck_assert_uint_eq(jget(x, "misses"), nss[0].misses);
	ck_assert_uint_eq(jget(x, "misses"), 1);
	json_object_put(o);

	/* clients: this process, with its pin; and tierctl itself */
	o = ctl_json(&d, "clients");
	ck_assert_int_ge(json_object_array_length(o), 2);
	for (size_t i = 0; i < json_object_array_length(o); i++) {
		x = json_object_array_get_idx(o, i);
		if ((pid_t)jget(x, "pid") != getpid())
			continue;
		me = true;
		ck_assert_uint_eq(jget(x, "pins"), 1);
		ck_assert_uint_eq(jget(x, "uid"), getuid());
		ck_assert_uint_ge(jget(x, "ops"), 13);
	}
	ck_assert(me);
	json_object_put(o);

	/* config: the config in force */
	ck_assert_int_eq(ctl(&d, "config", NULL), 0);
	ck_assert(strstr(out, "[daemon]\n") && strstr(out, "size = 16M\n"));
	ck_assert(strstr(out, d.sock));

	/* Output to a pipe: no colour anywhere. */
	ck_assert_int_eq(ctl(&d, "stats", NULL), 0);
	ck_assert(strstr(out, "TIER") && !strchr(out, '\033'));
	ck_assert_int_eq(ctl(&d, "namespaces", NULL), 0);
	ck_assert(strstr(out, "ops-ns") && !strchr(out, '\033'));

	/* --watch: twice, then stop */
	ck_assert_int_eq(ctl(&d, "stats", "--json", "--watch", "0.1", "--count", "2", NULL), 0);
	ck_assert_ptr_nonnull(strstr(strstr(out, "\"uptime_s\"") + 1, "\"uptime_s\""));

	/* policy: show, switch, refuse an unknown one (the old stays) */
	o = ctl_json(&d, "policy");
	ck_assert_str_eq(jstr(o, "host"), TIER_EVICT_DEFAULT);
	json_object_put(o);
	ck_assert_int_eq(ctl(&d, "policy", "host", "sieve", NULL), 0);
	ck_assert_str_eq(out, "host: sieve\n");
	ck_assert_int_eq(ctl(&d, "policy", "host", "no-such-policy", NULL), 1);
	ck_assert(strstr(err, "no eviction policy called 'no-such-policy'"));
	ck_assert_int_eq(ctl(&d, "policy", "nvme", NULL), 1); /* no NVMe tier */
	t_stats(c, &s, NULL, 0);
	ck_assert_str_eq(s.policy_evict, "sieve");

	/* flush without an NVMe tier: a daemon error */
	ck_assert_int_eq(ctl(&d, "flush", NULL), 1);

	/* evict: two blocks' worth from the host; the pinned block stays */
	ck_assert_int_eq(ctl(&d, "evict", "--tier", "host", "--bytes", "128K", "--json", NULL), 0);
	o = json_tokener_parse(out);
	ck_assert_uint_eq(jget(o, "blocks"), 2);
	ck_assert_uint_eq(jget(o, "bytes"), 2 * BLOCK);
	json_object_put(o);
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].blocks, 9);
	ck_assert_uint_eq(s.tiers[0].evictions, 2);

	/* drop: every block of ops-ns, the pinned one too (freed on release) */
	ck_assert_int_eq(ctl(&d, "drop", "--namespace", "ops-ns", NULL), 0);
	ck_assert_int_eq(ctl(&d, "drop", "--namespace", "nope", NULL), 1);
	ck_assert_int_eq(tier_lookup(c, ns, (tier_key[]){ t_key(1, 1) }, 1), 0);
	ck_assert_int_eq(tier_release(c, pin), 0);
	o = ctl_json(&d, "namespaces");
	ck_assert_uint_eq(jget(json_object_array_get_idx(o, 0), "blocks"), 0);
	ck_assert_uint_eq(jget(json_object_array_get_idx(o, 1), "blocks"), 3);
	json_object_put(o);

	tier_close(c);
	stop(&d);

	/* Unreachable: exit 1. */
	ck_assert_int_eq(ctl(&d, "stats", NULL), 1);
	ck_assert(strstr(err, "cannot reach tierd"));
}
END_TEST

/* A client as nobody may look but not change state (SO_PEERCRED). */
static const char *nobody_sock;

static int nobody_child(void *arg)
{
	struct tier_daemon_status st = { .size = sizeof(st) };
	char name[TIER_POLICY_NAME_MAX + 1];
	tier_client *c;
	uint64_t b, n;

	(void)arg;
	T_CHILD_CHECK(setgroups(0, NULL) == 0 && setuid(65534) == 0);
	T_CHILD_CHECK(tier_connect(nobody_sock, &c) == 0);
	T_CHILD_CHECK(tier_admin_status(c, &st) == 0);
	T_CHILD_CHECK(tier_admin_policy(c, TIER_HOST, NULL, name) == 0);
	T_CHILD_CHECK(tier_admin_policy(c, TIER_HOST, "sieve", name) == -EPERM);
	T_CHILD_CHECK(tier_admin_evict(c, TIER_HOST, 1 << 20, &b, &n) == -EPERM);
	T_CHILD_CHECK(tier_admin_drop_namespace(c, "x") == -EPERM);
	tier_close(c);
	return 0;
}

START_TEST(admin_needs_privilege)
{
	struct tdaemon d;

	if (getuid() != 0) {
		fprintf(stderr, "skip: needs root to run a client as nobody\n");
		return;
	}
	/* Group root, mode 0660: nobody with group root in its gid may connect. */
	start(&d, NULL, "-o", "host.size=16M", "-o", "daemon.socket_group=root", NULL);
	chmod(d.dir, 0711);
	nobody_sock = d.sock;
	t_run_child(nobody_child, NULL, 10000);
	stop(&d);
}
END_TEST

/* NVMe tier: flush with progress, policy of the nvme tier, evict from NVMe. */
START_TEST(tierctl_nvme)
{
	struct tdaemon d;
	char path[160], opt[200];
	json_object *o;
	tier_client *c;

	ck_assert_int_eq(mkdir("/tmp/tierd-ops-nv", 0700) == 0 || errno == EEXIST, 1);
	snprintf(path, sizeof(path), "/tmp/tierd-ops-nv/%d.img", (int)getpid());
	snprintf(opt, sizeof(opt), "nvme.path=%s", path);
	start(&d, NULL, "-o", "host.size=16M", "-o", opt, "-o", "nvme.size=64M", NULL);
	c = t_connect(&d);
	fill(c, "nv-ns", 3, 20);
	ck_assert_int_eq(ctl(&d, "flush", "--progress", NULL), 0);
	ck_assert(strstr(err, "flush:"));
	o = ctl_json(&d, "namespaces");
	ck_assert_uint_eq(jget(json_object_array_get_idx(o, 0), "dirty_blocks"), 0);
	json_object_put(o);
	o = ctl_json(&d, "policy");
	ck_assert_str_eq(jstr(o, "nvme"), "lru");
	json_object_put(o);
	ck_assert_int_eq(ctl(&d, "policy", "nvme", "clock", NULL), 0);
	ck_assert_int_eq(ctl(&d, "evict", "--tier", "nvme", "--bytes", "64K", "--json", NULL), 0);
	o = json_tokener_parse(out);
	ck_assert_uint_eq(jget(o, "blocks"), 1);
	json_object_put(o);
	/*
	 * Host blocks leave for NVMe: at once where clean (all but the one whose
	 * NVMe copy was just evicted, if the host policy picks it: that one is
	 * written first), so five victims give at least four demotions.
	 */
	ck_assert_int_eq(ctl(&d, "evict", "--tier", "host", "--bytes", "320K", NULL), 0);
	o = ctl_json(&d, "namespaces");
	ck_assert_uint_ge(jget(json_object_array_get_idx(o, 0), "demotions"), 4);
	json_object_put(o);
	tier_close(c);
	stop(&d);
	unlink(path);
	snprintf(opt, sizeof(opt), "%s.journal", path);
	unlink(opt);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("ops");
	TCase *t = tcase_create("ops");

	tcase_set_timeout(t, 60);
	tcase_add_test(t, socket_group_and_mode);
	tcase_add_test(t, notify_sequence);
	tcase_add_test(t, reload_good_and_bad);
	tcase_add_test(t, tierctl_verbs);
	tcase_add_test(t, admin_needs_privilege);
	tcase_add_test(t, tierctl_nvme);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	t_tierd_path();
	t_tierctl_path();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
