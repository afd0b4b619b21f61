/* SPDX-License-Identifier: MIT */
/*
 * Namespaces, names and what a client can see (issue 14, items 5, 10, 11):
 * each attack a separate process, as a non-root uid where the attacker is
 * one, against the real daemon.
 *
 *   - a uid that fills the namespace table stops at its quota, while root
 *     and another uid still create theirs;
 *   - a configured name (ns.NAME.block_size) cannot be squatted with another
 *     block size, and the real engine's open succeeds;
 *   - tierctl ns-delete deletes a namespace with its blocks on every tier,
 *     and it stays deleted after a crash and restart with an NVMe tier;
 *   - 64 junk block sizes do not take the configured namespaces' size
 *     classes (host and NVMe), nor the NVMe class kept for a configured
 *     namespace without a block size;
 *   - a client refused a namespace sees no salt and not the namespace in
 *     CONFIG, STATS, NAMESPACES;
 *   - names with control bytes are refused (namespace and client names), and
 *     tierctl prints none.
 *
 * Needs root (it switches to nobody and to a second uid): skipped otherwise.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "daemon.h"
#include "proto.h"
#include "tier.h"

#define BS (64u << 10)
#define NOBODY 65534
#define OTHER 65533 /* a second unprivileged uid (in group nogroup, 65534) */

static tier_key key_of(uint64_t i)
{
	return tier_key_next(TIER_KEY_ROOT, &i, sizeof(i));
}

static int as_user(uid_t uid)
{
	return setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 && setuid(uid) == 0 ? 0 : -1;
}

/* A daemon a non-root client can reach: the socket in group nogroup, its directory open. */
#define SHARED_SOCKET "daemon.socket_group=nogroup"
static void open_dir(const struct tdaemon *d)
{
	struct stat sb;
	int i;

	ck_assert_int_eq(chmod(d->dir, 0755), 0);
	/* The socket accepts (root) from listen(); it is given to the group just after. */
	for (i = 0; i < 400 && (stat(d->sock, &sb) < 0 || sb.st_gid != NOBODY); i++)
		t_msleep(5);
	ck_assert_uint_eq(sb.st_gid, NOBODY);
}

static int put(tier_client *c, uint32_t ns, uint64_t size, uint64_t i)
{
	tier_handle h;
	int r = tier_alloc(c, ns, &h);

	if (r < 0)
		return r;
	t_fill(tier_data(c, h), size, key_of(i));
	return tier_commit(c, h, key_of(i));
}

static const struct tier_ns_info *ns_info(tier_client *c, const char *name)
{
	static struct tier_ns_info ns[64];
	int n = tier_admin_namespaces(c, ns, 64);

	for (int i = 0; i < n; i++)
		if (strcmp(ns[i].name, name) == 0)
			return &ns[i];
	return NULL;
}

/* ---- item 5: per-uid quotas ------------------------------------------ */

struct quota_arg {
	const char *sock;
	uid_t uid;
	const char *prefix;
	int ok, ret; /* opens that must succeed, then what the next one returns */
	const char *reopen; /* one of its own, opened again */
};

static int fill_namespaces(void *p)
{
	const struct quota_arg *a = p;
	tier_client *c;
	uint32_t ns;
	char name[32];

	T_CHILD_CHECK(as_user(a->uid) == 0);
	T_CHILD_CHECK(tier_connect(a->sock, &c) == 0);
	for (int i = 0; i < a->ok; i++) {
		snprintf(name, sizeof(name), "%s%d", a->prefix, i);
		T_CHILD_CHECK(tier_namespace(c, name, BS, &ns) == 0);
	}
	snprintf(name, sizeof(name), "%s%d", a->prefix, a->ok);
	T_CHILD_CHECK(tier_namespace(c, name, BS, &ns) == a->ret);
	/* Reopening one of its own is no creation: still fine. */
	T_CHILD_CHECK(tier_namespace(c, a->reopen, BS, &ns) == 0);
	tier_close(c);
	return 0;
}

START_TEST(test_ns_quota_per_uid)
{
	struct tdaemon d;
	struct quota_arg a = { .uid = NOBODY, .prefix = "junk", .ok = 4, .ret = -EDQUOT,
			       .reopen = "junk0" };
	struct quota_arg b = { .uid = OTHER, .prefix = "mine", .ok = 4, .ret = -EDQUOT,
			       .reopen = "mine0" };
	tier_client *c;
	uint32_t ns;
	char name[32];

	tdaemon_start(&d, "16M", SHARED_SOCKET, "daemon.max_namespaces=32",
		      "daemon.max_namespaces_per_uid=4", NULL);
	open_dir(&d);
	a.sock = b.sock = d.sock;
	/* The attacker fills its share: the fifth is refused... */
	t_run_child(fill_namespaces, &a, 10000);
	/* ...and a second time, after reconnecting: the count is per uid, not per connection. */
	a.ok = 0;
	a.prefix = "again";
	t_run_child(fill_namespaces, &a, 10000);
	/* Another uid still gets its own. */
	t_run_child(fill_namespaces, &b, 10000);
	/* Root is not counted: it creates what the attacker could not, and more. */
	c = t_connect(&d);
	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "root%d", i);
		ck_assert_int_eq(tier_namespace(c, name, BS, &ns), 0);
	}
	ck_assert_ptr_null(ns_info(c, "junk4"));
	ck_assert_ptr_nonnull(ns_info(c, "junk3"));
	ck_assert_ptr_nonnull(ns_info(c, "mine3"));
	tier_close(c);
	ck_assert(tdaemon_alive(&d));
	ck_assert_int_eq(tdaemon_stop(&d), 0);
	tdaemon_cleanup(&d);
}
END_TEST

/* ---- item 5: a configured block size cannot be squatted ------------- */

struct squat_arg {
	const char *sock;
	uint64_t size;
	int ret;
};

static int open_model(void *p)
{
	const struct squat_arg *a = p;
	tier_client *c;
	uint32_t ns;

	T_CHILD_CHECK(as_user(NOBODY) == 0);
	T_CHILD_CHECK(tier_connect(a->sock, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "llama3-8b", a->size, &ns) == a->ret);
	if (a->ret == 0)
		T_CHILD_CHECK(put(c, ns, a->size, 1) == 0);
	tier_close(c);
	return 0;
}

START_TEST(test_squat_configured_size)
{
	struct tdaemon d;
	struct squat_arg squat = { .size = 4096, .ret = -EINVAL };
	struct squat_arg engine = { .size = 256 << 10, .ret = 0 };
	const struct tier_ns_info *x;
	tier_client *c;

	tdaemon_start(&d, "16M", SHARED_SOCKET, "ns.llama3-8b.block_size=256K", NULL);
	open_dir(&d);
	squat.sock = engine.sock = d.sock;
	/* It exists from start, with its size, before any client. */
	c = t_connect(&d);
	x = ns_info(c, "llama3-8b");
	ck_assert_ptr_nonnull(x);
	ck_assert_uint_eq(x->block_size, 256 << 10);
	/* The squatter's open with another size is refused, however early it comes... */
	t_run_child(open_model, &squat, 10000);
	/* ...and the real engine's succeeds, and stores a block. */
	t_run_child(open_model, &engine, 10000);
	x = ns_info(c, "llama3-8b");
	ck_assert_ptr_nonnull(x);
	ck_assert_uint_eq(x->block_size, 256 << 10);
	ck_assert_uint_eq(x->blocks, 1);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
	tdaemon_cleanup(&d);
}
END_TEST

/* ---- item 5: tierctl ns-delete, journalled -------------------------- */

static int junk_writer(void *p)
{
	const char *sock = p;
	tier_client *c;
	uint32_t ns;

	T_CHILD_CHECK(as_user(NOBODY) == 0);
	T_CHILD_CHECK(tier_connect(sock, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "squatted", BS, &ns) == 0);
	for (uint64_t i = 0; i < 4; i++)
		T_CHILD_CHECK(put(c, ns, BS, 100 + i) == 0);
	T_CHILD_CHECK(tier_flush(c, ns) == 0);
	/* Deleting is the operator's: refused to this uid. */
	T_CHILD_CHECK(tier_admin_delete_namespace(c, "squatted") == -EPERM);
	tier_close(c);
	return 0;
}

static const struct tier_tier_stats *nvme_tier(const struct tier_stats *s)
{
	for (uint32_t i = 0; i < s->n_tiers; i++)
		if (strcmp(s->tiers[i].name, "nvme") == 0)
			return &s->tiers[i];
	return NULL;
}

START_TEST(test_ns_delete_survives_restart)
{
	char path[96], opt[128], out[512], err[512];
	char *argv[] = { (char *)t_tierctl_path(), (char *)"-s", NULL, (char *)"ns-delete",
			 (char *)"squatted", NULL };
	struct tier_stats s = { .size = sizeof(s) };
	struct tdaemon d;
	tier_client *c;
	tier_handle h;
	uint32_t keep, ns;
	int st;

	snprintf(path, sizeof(path), "/var/tmp/tierd-secns-%d.img", (int)getpid());
	snprintf(opt, sizeof(opt), "nvme.path=%s", path);
	t_unlink_nvme(path);
	tdaemon_start(&d, "16M", SHARED_SOCKET, opt, "nvme.size=64M", NULL);
	open_dir(&d);
	t_run_child(junk_writer, d.sock, 10000);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "keep", BS, &keep), 0);
	ck_assert_int_eq(put(c, keep, BS, 1), 0);
	ck_assert_int_eq(tier_flush(c, TIER_NS_ALL), 0);
	ck_assert_uint_eq(ns_info(c, "squatted")->blocks, 4);

	argv[2] = d.sock;
	st = t_exec(argv, out, sizeof(out), err, sizeof(err), 10000);
	ck_assert_msg(st == 0, "tierctl ns-delete: status %d: %s", st, err);
	ck_assert_msg(strstr(out, "deleted namespace squatted (4 blocks)"), "%s", out);
	ck_assert_ptr_null(ns_info(c, "squatted"));
	/* Its blocks left every tier: only keep's one is on NVMe. */
	ck_assert_int_ge(tier_stats_get(c, &s, NULL, 0), 0);
	ck_assert_uint_eq(nvme_tier(&s)->blocks, 1);
	/* The deletion reaches the journal with the next flush; then a crash. */
	ck_assert_int_eq(tier_flush(c, TIER_NS_ALL), 0);
	tier_close(c);
	tdaemon_kill(&d);
	tdaemon_cleanup(&d);

	tdaemon_start(&d, "16M", opt, "nvme.size=64M", NULL);
	c = t_connect(&d);
	ck_assert_ptr_null(ns_info(c, "squatted"));
	ck_assert_int_ge(tier_stats_get(c, &s, NULL, 0), 0);
	ck_assert_uint_eq(nvme_tier(&s)->blocks, 1);
	/* What was not deleted came back. */
	ck_assert_int_eq(tier_namespace(c, "keep", BS, &keep), 0);
	ck_assert_int_eq(tier_acquire(c, keep, key_of(1), &h), 0);
	ck_assert(t_verify(tier_data(c, h), BS, key_of(1)));
	ck_assert_int_eq(tier_release(c, h), 0);
	/* The name is free again: a new, empty namespace. */
	ck_assert_int_eq(tier_namespace(c, "squatted", 4096, &ns), 0);
	ck_assert_int_eq(tier_lookup(c, ns, (tier_key[]){ key_of(100) }, 1), 0);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
	tdaemon_cleanup(&d);
	t_unlink_nvme(path);
}
END_TEST

/* ---- item 5: junk block sizes do not take configured classes ---------- */

static int junk_sizes(void *p)
{
	const char *sock = p;
	tier_client *c;
	uint32_t ns;
	char name[32];
	int made = 0;

	T_CHILD_CHECK(as_user(NOBODY) == 0);
	T_CHILD_CHECK(tier_connect(sock, &c) == 0);
	/* 64 distinct sizes (4 KiB strides): every class that is left, and then some. */
	for (int i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "junk%d", i);
		if (tier_namespace(c, name, (uint64_t)(i + 1) * 4096 + 8, &ns) == 0)
			made++;
	}
	/* The table was free for most of them: the attack did run. */
	T_CHILD_CHECK(made >= 60);
	tier_close(c);
	return 0;
}

START_TEST(test_junk_sizes_keep_configured_classes)
{
	char path[96], opt[128];
	struct tdaemon d;
	tier_client *c;
	tier_handle h;
	uint32_t ns;

	snprintf(path, sizeof(path), "/var/tmp/tierd-secns-cls-%d.img", (int)getpid());
	snprintf(opt, sizeof(opt), "nvme.path=%s", path);
	t_unlink_nvme(path);
	tdaemon_start(&d, "32M", SHARED_SOCKET, opt, "nvme.size=64M",
		      "daemon.max_namespaces=128", "daemon.max_namespaces_per_uid=100",
		      "ns.model.block_size=600K", "ns.tenant.arena=4M", NULL);
	open_dir(&d);
	t_run_child(junk_sizes, d.sock, 20000);
	c = t_connect(&d);
	/* A size nobody configured has no class left (the attack worked)... */
	ck_assert_int_eq(tier_namespace(c, "late", 700 << 10, &ns), -ENOSPC);
	/* ...the configured namespace has its own, in host memory and on NVMe. */
	ck_assert_int_eq(tier_namespace(c, "model", 600 << 10, &ns), 0);
	ck_assert_int_eq(put(c, ns, 600 << 10, 7), 0);
	ck_assert_int_eq(tier_flush(c, ns), 0);
	ck_assert_int_eq(tier_acquire(c, ns, key_of(7), &h), 0);
	ck_assert(t_verify(tier_data(c, h), 600 << 10, key_of(7)));
	ck_assert_int_eq(tier_release(c, h), 0);
	/*
	 * A configured namespace without block_size (a private arena) has no
	 * class yet, but one of the NVMe tier's was kept for it: its first
	 * opener's size still gets one.
	 */
	ck_assert_int_eq(tier_namespace(c, "tenant", 300 << 10, &ns), 0);
	ck_assert_int_eq(put(c, ns, 300 << 10, 8), 0);
	ck_assert_int_eq(tier_flush(c, ns), 0);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
	tdaemon_cleanup(&d);
	t_unlink_nvme(path);
}
END_TEST

/* ---- item 10: what a refused client sees ------------------------------ */

static int refused_view(void *p)
{
	const char *sock = p;
	static char text[65536];
	struct tier_ns_stats nss[64];
	struct tier_ns_info nsi[64];
	struct tier_stats s = { .size = sizeof(s) };
	tier_client *c;
	uint32_t ns;
	int n;

	T_CHILD_CHECK(as_user(NOBODY) == 0);
	T_CHILD_CHECK(tier_connect(sock, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "vault", BS, &ns) == -EACCES);
	T_CHILD_CHECK(tier_namespace(c, "public", BS, &ns) == 0);
	/* CONFIG: no salt, neither the vault's nor the one of a namespace it may open. */
	T_CHILD_CHECK(tier_admin_config(c, text, sizeof(text)) >= 0);
	T_CHILD_CHECK(!strstr(text, "vault-salt-4f1c"));
	T_CHILD_CHECK(!strstr(text, "public-salt-9a2b"));
	T_CHILD_CHECK(strstr(text, "salt = (redacted)"));
	/* NAMESPACES and STATS: the namespace it may open, not the vault. */
	n = tier_admin_namespaces(c, nsi, 64);
	T_CHILD_CHECK(n >= 1);
	for (int i = 0; i < n; i++)
		T_CHILD_CHECK(strcmp(nsi[i].name, "vault") != 0);
	n = tier_stats_get(c, &s, nss, 64);
	T_CHILD_CHECK(n >= 1 && s.n_namespaces == (uint32_t)n);
	for (int i = 0; i < n; i++)
		T_CHILD_CHECK(strcmp(nss[i].name, "vault") != 0);
	tier_close(c);
	return 0;
}

START_TEST(test_refused_client_sees_nothing)
{
	static char text[65536];
	struct tdaemon d;
	tier_client *c;
	uint32_t vault;

	tdaemon_start(&d, "16M", SHARED_SOCKET, "ns.vault.owner=root", "ns.vault.arena=4M",
		      "ns.vault.salt=vault-salt-4f1c", "ns.public.salt=public-salt-9a2b", NULL);
	open_dir(&d);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "vault", BS, &vault), 0);
	ck_assert_int_eq(put(c, vault, BS, 1), 0);
	t_run_child(refused_view, d.sock, 10000);
	/* The operator still sees everything. */
	ck_assert_int_ge(tier_admin_config(c, text, sizeof(text)), 0);
	ck_assert_ptr_nonnull(strstr(text, "salt = vault-salt-4f1c"));
	ck_assert_ptr_nonnull(ns_info(c, "vault"));
	ck_assert_uint_eq(ns_info(c, "vault")->blocks, 1);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
	tdaemon_cleanup(&d);
}
END_TEST

/* ---- item 11: control bytes in names ------------------------------------ */

/* A HELLO as a hostile client sends it, bypassing libtier: the daemon's answer. */
static int raw_hello(const char *sock, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct {
		struct tier_msg_hdr h;
		struct tier_msg_hello m;
	} req = { .h = { .magic = TIER_PROTO_MAGIC, .type = TIER_MSG_HELLO, .seq = 1 },
		  .m = { .abi_version = TIER_ABI_VERSION, .flags = TIER_HELLO_NO_RING } };
	uint8_t rep[4096];
	struct tier_msg_hdr rh;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ssize_t n;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	snprintf(req.m.name, sizeof(req.m.name), "%s", name);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, &req, sizeof(req), 0) != (ssize_t)sizeof(req)) {
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	n = recv(fd, rep, sizeof(rep), 0);
	close(fd);
	if (n < (ssize_t)sizeof(rh))
		return -ECONNRESET;
	memcpy(&rh, rep, sizeof(rh));
	return rh.status;
}

static int control_bytes(void *p)
{
	const char *sock = p;
	tier_client *c;
	uint32_t ns;

	T_CHILD_CHECK(as_user(NOBODY) == 0);
	T_CHILD_CHECK(raw_hello(sock, "x\n<2>tierd: forged") == -EINVAL);
	T_CHILD_CHECK(raw_hello(sock, "\033[2J\033[H") == -EINVAL);
	T_CHILD_CHECK(raw_hello(sock, "plain") == 0);
	/* libtier itself sends a name the daemon takes, whatever the program is called. */
	program_invocation_short_name = (char *)"evil\033]0;owned\007";
	T_CHILD_CHECK(tier_connect(sock, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "clear\033[2J", BS, &ns) == -EINVAL);
	T_CHILD_CHECK(tier_namespace(c, "line\n<2>forged", BS, &ns) == -EINVAL);
	T_CHILD_CHECK(tier_namespace(c, "c1\xc2\x9b" "2J", BS, &ns) == -EINVAL);
	T_CHILD_CHECK(tier_namespace(c, "caf\xc3\xa9", BS, &ns) == 0);
	/* Stay connected while the parent looks at `tierctl clients`. */
	T_CHILD_CHECK(tier_namespace(c, "ready", BS, &ns) == 0);
	t_msleep(1500);
	tier_close(c);
	return 0;
}

START_TEST(test_control_bytes_refused)
{
	static char out[8192], err[1024], logbuf[65536];
	char *argv[] = { (char *)t_tierctl_path(), (char *)"-s", NULL, (char *)"clients", NULL };
	struct tdaemon d;
	tier_client *c;
	FILE *f;
	size_t n;
	pid_t pid;
	int st;

	tdaemon_start(&d, "16M", SHARED_SOCKET, "daemon.log_level=debug", NULL);
	open_dir(&d);
	pid = t_fork(control_bytes, d.sock);
	c = t_connect(&d);
	for (int i = 0; i < 200 && !ns_info(c, "ready"); i++)
		t_msleep(5);
	ck_assert_ptr_nonnull(ns_info(c, "ready"));
	ck_assert_ptr_null(ns_info(c, "clear\033[2J"));
	ck_assert_ptr_nonnull(ns_info(c, "caf\xc3\xa9"));
	argv[2] = d.sock;
	st = t_exec(argv, out, sizeof(out), err, sizeof(err), 10000);
	ck_assert_int_eq(st, 0);
	ck_assert_msg(strstr(out, "evil?]0;owned?"), "%s", out);
	ck_assert_msg(!strchr(out, '\033') && !strchr(out, '\007'), "%s", out);
	ck_assert_int_eq(t_wait(pid, 10000), 0);
	tier_close(c);
	/* No line of the log begins with what a client wrote. */
	f = fopen(d.log, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(logbuf, 1, sizeof(logbuf) - 1, f);
	fclose(f);
	logbuf[n] = 0;
	ck_assert_msg(!strstr(logbuf, "\n<2>tierd: forged"), "%s", logbuf);
	ck_assert_ptr_null(strchr(logbuf, '\033'));
	ck_assert_int_eq(tdaemon_stop(&d), 0);
}
END_TEST

int main(void)
{
	Suite *s;
	TCase *tc;
	SRunner *sr;
	int failed;

	t_tierd_path();
	if (geteuid() != 0) {
		fprintf(stderr, "skipped: needs root (clients run as nobody and uid %d)\n", OTHER);
		return 77;
	}
	s = suite_create("sec_ns");
	tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_ns_quota_per_uid);
	tcase_add_test(tc, test_squat_configured_size);
	tcase_add_test(tc, test_ns_delete_survives_restart);
	tcase_add_test(tc, test_junk_sizes_keep_configured_classes);
	tcase_add_test(tc, test_refused_client_sees_nothing);
	tcase_add_test(tc, test_control_bytes_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
