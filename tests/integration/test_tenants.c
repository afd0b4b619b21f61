/* SPDX-License-Identifier: MIT */
/*
 * Tenants against the real daemon: access rules decided by SO_PEERCRED
 * (a client running as nobody), private arenas whose bytes a refused client
 * cannot reach, quotas that evict only the namespace's own blocks, salted
 * namespaces, refused handles counted, pin leases, and a request on a hung
 * NVMe read failing with -ETIMEDOUT.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "daemon.h"
#include "tier.h"

#define BS (64u << 10)

static tier_key key_of(uint64_t i)
{
	return tier_key_next(TIER_KEY_ROOT, &i, sizeof(i));
}

static void put(tier_client *c, uint32_t ns, uint64_t i)
{
	tier_handle h;

	ck_assert_int_eq(tier_alloc(c, ns, &h), 0);
	memset(tier_data(c, h), (int)(i & 0xff), BS);
	ck_assert_int_eq(tier_commit(c, h, key_of(i)), 0);
}

static struct tier_ns_info *ns_info(tier_client *c, const char *name)
{
	static struct tier_ns_info ns[16];
	int n = tier_admin_namespaces(c, ns, 16);

	for (int i = 0; i < n; i++)
		if (strcmp(ns[i].name, name) == 0)
			return &ns[i];
	return NULL;
}

/* A client process as nobody: which namespaces may it open, and use? */
static int as_nobody(void *arg)
{
	const char *sock = arg;
	tier_client *c;
	uint32_t ns, open_ns;
	tier_handle h;

	T_CHILD_CHECK(setgroups(0, NULL) == 0 && setgid(65534) == 0 && setuid(65534) == 0);
	T_CHILD_CHECK(tier_connect(sock, &c) == 0);
	/* Owned by root: refused. */
	T_CHILD_CHECK(tier_namespace(c, "secret", BS, &ns) == -EACCES);
	/* Its group may: allowed. */
	T_CHILD_CHECK(tier_namespace(c, "shared", BS, &open_ns) == 0);
	T_CHILD_CHECK(tier_alloc(c, open_ns, &h) == 0);
	T_CHILD_CHECK(tier_commit(c, h, key_of(7)) == 0);
	/* Naming the secret namespace's id without having opened it: refused. */
	T_CHILD_CHECK(tier_lookup(c, 0, &(tier_key){ 1, 2 }, 1) == -EACCES);
	T_CHILD_CHECK(tier_acquire(c, 0, key_of(1), &h) == -EACCES);
	T_CHILD_CHECK(tier_alloc(c, 0, &h) == -EACCES);
	tier_close(c);
	return 0;
}

START_TEST(test_access_rules)
{
	struct tdaemon d;
	struct tier_stats s;
	tier_client *c;
	uint32_t secret, shared;

	/* "shared" says it may share the arena; "secret" gets its own. */
	tdaemon_start(&d, "32M", "daemon.socket_group=nogroup", "ns.secret.owner=root",
		      "ns.secret.arena=4M", "ns.shared.groups=nogroup", "ns.shared.arena=shared",
		      "host.verify=on", NULL);
	/* nobody reaches the socket through its group (the directory is ours: open it up). */
	ck_assert_int_eq(chmod(d.dir, 0755), 0);
	c = t_connect(&d);
	/* Root may open everything; the ids are then known (0 and 1). */
	ck_assert_int_eq(tier_namespace(c, "secret", BS, &secret), 0);
	ck_assert_int_eq(tier_namespace(c, "shared", BS, &shared), 0);
	ck_assert_uint_eq(secret, 0);
	put(c, secret, 1);
	t_run_child(as_nobody, d.sock, 10000);
	/* The secret block is untouched; the shared one is there; refusals counted. */
	ck_assert_int_eq(tier_lookup(c, secret, (tier_key[]){ key_of(1) }, 1), 1);
	ck_assert_int_eq(tier_lookup(c, shared, (tier_key[]){ key_of(7) }, 1), 1);
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.ops.refused_access, 4);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
	tdaemon_cleanup(&d);
}
END_TEST

/* The start of this process's mapping whose /proc/self/maps line contains what (0: none). */
static uintptr_t map_start(const char *what)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	uintptr_t start = 0;

	if (!f)
		return 0;
	while (!start && fgets(line, sizeof(line), f))
		if (strstr(line, what))
			start = (uintptr_t)strtoull(line, NULL, 16);
	fclose(f);
	return start;
}

/* Whether any of this process's descriptors is a memfd called what. */
static bool fd_named(const char *what)
{
	char path[64], target[256];
	bool found = false;

	for (int fd = 0; fd < 1024 && !found; fd++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		found = strstr(target, what) != NULL;
	}
	return found;
}

struct peek {
	const char *sock;
	uint64_t off;     /* a vault block's offset in the arena offset space */
	uint32_t vault;   /* the vault's namespace id */
};

/*
 * nobody: connects, is refused the vault, holds no fd of it, and faults
 * reading there.  A process of its own (the test binary run again with
 * --peek): a forked copy of the test would inherit the allowed client's
 * mappings.
 */
static int peek_as_nobody(void *arg)
{
	const struct peek *p = arg;
	tier_client *c;
	uint32_t ns;
	tier_handle h;
	uintptr_t base;
	pid_t pid;
	int st, pfd[2];

	T_CHILD_CHECK(setgroups(0, NULL) == 0 && setgid(65534) == 0 && setuid(65534) == 0);
	T_CHILD_CHECK(tier_connect(p->sock, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "vault", BS, &ns) == -EACCES);
	T_CHILD_CHECK(tier_acquire(c, p->vault, key_of(1), &h) == -EACCES);
	/* Its own namespace works (so it is connected and mapped). */
	T_CHILD_CHECK(tier_namespace(c, "pub", BS, &ns) == 0);
	T_CHILD_CHECK(tier_lookup(c, ns, (tier_key[]){ key_of(500) }, 1) == 1);
	/* (a) No descriptor and no mapping of the vault's memfd. */
	T_CHILD_CHECK(!fd_named("tierd-ns-"));
	T_CHILD_CHECK(!map_start("tierd-ns-"));
	base = map_start("tierd-host");
	T_CHILD_CHECK(base != 0);
	/* The kernel will not copy from there either. */
	T_CHILD_CHECK(pipe(pfd) == 0);
	T_CHILD_CHECK(write(pfd[1], (void *)(base + p->off), 16) < 0 && errno == EFAULT);
	/* (b) A read at base + off faults. */
	pid = fork();
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = SIG_DFL };

		sigaction(SIGSEGV, &sa, NULL);
		_exit(*(volatile uint8_t *)(base + p->off) == 0x5a ? 3 : 4);
	}
	T_CHILD_CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
	T_CHILD_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
	tier_close(c);
	return 0;
}

static int exec_peek(void *arg)
{
	const struct peek *p = arg;
	char off[32], vault[16];

	snprintf(off, sizeof(off), "%llu", (unsigned long long)p->off);
	snprintf(vault, sizeof(vault), "%u", p->vault);
	execl("/proc/self/exe", "test_tenants", "--peek", p->sock, off, vault, (char *)NULL);
	return 127;
}

/* Every vault block i in [0, n) reads back exactly through c. */
static void vault_verify(tier_client *c, uint32_t ns, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		tier_handle h;

		ck_assert_int_eq(tier_acquire(c, ns, key_of(i), &h), 0);
		ck_assert(t_verify(tier_data(c, h), BS, key_of(i)));
		ck_assert_int_eq(tier_release(c, h), 0);
	}
}

static void vault_put(tier_client *c, uint32_t ns, uint64_t i)
{
	tier_handle h;

	ck_assert_int_eq(tier_alloc(c, ns, &h), 0);
	t_fill(tier_data(c, h), BS, key_of(i));
	ck_assert_int_eq(tier_commit(c, h, key_of(i)), 0);
}

static const struct tier_tier_stats *tier_named(const struct tier_stats *s, const char *name)
{
	for (uint32_t i = 0; i < s->n_tiers; i++)
		if (!strcmp(s->tiers[i].name, name))
			return &s->tiers[i];
	return NULL;
}

/*
 * The one private arena is the vault's and its usage is the vault's host
 * bytes.  Demotions still finishing change both between two admin calls:
 * the namespace's figure is compared with two equal readings of the arena
 * taken around it.
 */
static void arena_is_vaults(tier_client *c, struct tier_arena_info *ar)
{
	for (int tries = 0;; tries++) {
		uint64_t before, ns_bytes;

		ck_assert_int_eq(tier_admin_arenas(c, ar, 4), 1);
		before = ar[0].used_bytes;
		ns_bytes = ns_info(c, "vault")->host_bytes;
		ck_assert_int_eq(tier_admin_arenas(c, ar, 4), 1);
		if (before == ar[0].used_bytes || tries == 200) {
			ck_assert_uint_eq(ar[0].used_bytes, ns_bytes);
			return;
		}
		usleep(10000);
	}
}

/*
 * A restricted namespace with a private arena: root writes it (more than the
 * arena holds, so blocks go to NVMe and come back), nobody cannot reach a
 * byte of it, the shared arena's blocks stay where they are, and the bytes
 * survive tier_reconnect and a restart of the daemon (recovered from NVMe
 * into the private arena).
 */
START_TEST(test_private_arena)
{
	static const uint64_t n = 100; /* 6.25 MiB of 64 KiB blocks in a 4 MiB arena */
	struct tdaemon d;
	struct tier_stats s;
	struct tier_arena_info ar[4];
	struct peek pk;
	tier_client *c;
	uint32_t vault, pub;
	tier_handle h;
	char path[200], opt[240];
	uintptr_t base;

	snprintf(path, sizeof(path), "/var/tmp/tierd-arena-%d.img", (int)getpid());
	snprintf(opt, sizeof(opt), "nvme.path=%s", path);
	tdaemon_start(&d, "16M", "daemon.socket_group=nogroup", opt, "nvme.size=64M",
		      "ns.vault.owner=root", "ns.vault.arena=4M", NULL);
	ck_assert_int_eq(chmod(d.dir, 0755), 0);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "vault", BS, &vault), 0);
	ck_assert_int_eq(tier_namespace(c, "pub", BS, &pub), 0);
	for (uint64_t i = 500; i < 540; i++)
		put(c, pub, i);
	for (uint64_t i = 0; i < n; i++)
		vault_put(c, vault, i);
	/* The vault made room among its own blocks: every pub block is still in memory. */
	ck_assert_uint_eq(ns_info(c, "pub")->host_bytes, 40ull * BS);
	arena_is_vaults(c, ar);
	ck_assert_str_eq(ar[0].name, "vault");
	ck_assert_uint_eq(ar[0].bytes, 4u << 20);
	ck_assert_uint_le(ar[0].used_bytes, 4u << 20);
	s.size = sizeof(s);
	ck_assert_int_ge(tier_stats_get(c, &s, NULL, 0), 0);
	ck_assert_uint_eq(tier_named(&s, "host")->capacity_bytes, (16u + 4u) << 20);

	/* The allowed client maps the vault; where does its newest block lie? */
	ck_assert(fd_named("tierd-ns-vault") == false); /* mapped, the fd itself closed */
	ck_assert_uint_ne(map_start("tierd-ns-vault"), 0);
	base = map_start("tierd-host");
	ck_assert_uint_ne(base, 0);
	ck_assert_int_eq(tier_acquire(c, vault, key_of(n - 1), &h), 0);
	pk = (struct peek){ .sock = d.sock, .vault = vault,
			    .off = (uint64_t)((uintptr_t)tier_data(c, h) - base) };
	ck_assert_uint_ge(pk.off, ar[0].start);
	ck_assert_uint_lt(pk.off, ar[0].start + ar[0].bytes);
	ck_assert_int_eq(tier_release(c, h), 0);
	t_run_child(exec_peek, &pk, 10000);

	/* (c) Every byte back, the evicted ones promoted from NVMe into the vault. */
	vault_verify(c, vault, n);
	s.size = sizeof(s);
	ck_assert_int_ge(tier_stats_get(c, &s, NULL, 0), 0);
	ck_assert_uint_gt(tier_named(&s, "nvme")->promotions, 0);
	for (uint64_t i = 500; i < 540; i++)
		ck_assert_int_eq(tier_lookup(c, pub, (tier_key[]){ key_of(i) }, 1), 1);
	/* A new connection maps the vault again when it reopens it. */
	ck_assert_int_eq(tier_reconnect(c), 0);
	ck_assert_uint_eq(map_start("tierd-ns-vault"), 0);
	ck_assert_int_eq(tier_namespace(c, "vault", BS, &vault), 0);
	ck_assert_uint_ne(map_start("tierd-ns-vault"), 0);
	vault_verify(c, vault, n);
	ck_assert_int_eq(tier_flush(c, vault), 0);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
	tdaemon_cleanup(&d);

	/* Restarted: the journal brings the blocks back, into the vault's arena. */
	tdaemon_start(&d, "16M", opt, "nvme.size=64M", "ns.vault.owner=root",
		      "ns.vault.arena=4M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "vault", BS, &vault), 0);
	vault_verify(c, vault, n);
	arena_is_vaults(c, ar);
	ck_assert_uint_gt(ar[0].used_bytes, 0);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
	tdaemon_cleanup(&d);
	t_unlink_nvme(path);
}
END_TEST

/* A restricted namespace without an arena of its own: the daemon refuses to start. */
START_TEST(test_restricted_needs_arena)
{
	char out[256], err[2048], o1[64], o2[64];
	char *argv[] = { (char *)t_tierd_path(), "--check-config", "-o", o1, "-o", o2, NULL };

	snprintf(o1, sizeof(o1), "ns.secret.owner=root");
	snprintf(o2, sizeof(o2), "ns.secret.salt=x");
	ck_assert_int_ne(t_exec(argv, out, sizeof(out), err, sizeof(err), 10000), 0);
	ck_assert_ptr_nonnull(strstr(err, "arena"));
	snprintf(o2, sizeof(o2), "ns.secret.quota_host=8M");
	ck_assert_int_eq(t_exec(argv, out, sizeof(out), err, sizeof(err), 10000), 0);
}
END_TEST

START_TEST(test_quota_evicts_own_blocks)
{
	struct tdaemon d;
	tier_client *c;
	uint32_t big, small;
	struct tier_ns_info *x;

	/* 1 MiB = 16 blocks of 64 KiB for "small"; "big" has no quota. */
	tdaemon_start(&d, "32M", "ns.small.quota_host=1M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "big", BS, &big), 0);
	ck_assert_int_eq(tier_namespace(c, "small", BS, &small), 0);
	for (uint64_t i = 0; i < 100; i++)
		put(c, big, 1000 + i);
	for (uint64_t i = 0; i < 40; i++)
		put(c, small, i);
	x = ns_info(c, "small");
	ck_assert_ptr_nonnull(x);
	ck_assert_uint_eq(x->quota_host, 1u << 20);
	ck_assert_uint_le(x->host_bytes, 1u << 20);
	ck_assert_uint_eq(x->blocks, 16);
	/* The newest 16 stayed (its own oldest went), and no neighbour's block did. */
	for (uint64_t i = 24; i < 40; i++)
		ck_assert_int_eq(tier_lookup(c, small, (tier_key[]){ key_of(i) }, 1), 1);
	x = ns_info(c, "big");
	ck_assert_uint_eq(x->blocks, 100);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
	tdaemon_cleanup(&d);
}
END_TEST

START_TEST(test_salt_and_handles)
{
	struct tdaemon d;
	struct tier_stats s;
	tier_client *c;
	uint32_t a, b;
	tier_handle h, forged;

	tdaemon_start(&d, "32M", "ns.a.salt=tenant-a", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "a", BS, &a), 0);
	ck_assert_int_eq(tier_namespace(c, "b", BS, &b), 0);
	put(c, a, 5);
	put(c, b, 5);
	/* A salted namespace behaves the same to its client: its keys find its blocks. */
	ck_assert_int_eq(tier_lookup(c, a, (tier_key[]){ key_of(5) }, 1), 1);
	ck_assert_int_eq(tier_acquire(c, a, key_of(5), &h), 0);
	ck_assert_uint_eq(((uint8_t *)tier_data(c, h))[100], 5);
	ck_assert_int_eq(tier_release(c, h), 0);
	ck_assert_int_eq(tier_drop(c, a, key_of(5)), 0);
	ck_assert_int_eq(tier_lookup(c, b, (tier_key[]){ key_of(5) }, 1), 1);
	/* A hint counts the keys present (in the salted namespace too, through its salt). */
	ck_assert_int_eq(tier_hint(c, b, (tier_key[]){ key_of(5), key_of(99) }, 2, 3), 1);
	put(c, a, 6);
	ck_assert_int_eq(tier_hint(c, a, (tier_key[]){ key_of(6), key_of(5) }, 2, -1), 1);
	/* Forged, stale and replayed handles: refused, and counted. */
	forged = ((uint64_t)77 << 32) | 3;
	ck_assert_int_lt(tier_release(c, forged), 0);
	ck_assert_int_eq(tier_release(c, h), -ESTALE); /* replayed: its block is gone */
	ck_assert_int_lt(tier_commit(c, forged, key_of(9)), 0);
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.ops.refused_handles, 3);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
	tdaemon_cleanup(&d);
}
END_TEST

START_TEST(test_pin_lease)
{
	struct tdaemon d;
	struct tier_stats s;
	tier_client *c, *quiet, *alive;
	uint32_t ns;
	tier_handle h1, h2;

	/* A lease 10 keepalives long: a loaded machine may delay one or two, not ten. */
	tdaemon_start(&d, "32M", "daemon.pin_lease=1000", NULL);
	c = t_connect(&d);
	quiet = t_connect(&d);
	alive = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kv", BS, &ns), 0);
	put(c, ns, 1);
	ck_assert_int_eq(tier_acquire(quiet, ns, key_of(1), &h1), 0);
	ck_assert_int_eq(tier_acquire(alive, ns, key_of(1), &h2), 0);
	/* One keeps saying it is alive, the other says nothing for 2.5 s. */
	for (int i = 0; i < 25; i++) {
		usleep(100000);
		ck_assert_int_eq(tier_keepalive(alive), 0);
	}
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.ops.lease_expiries, 1);
	ck_assert_uint_eq(s.tiers[0].pinned_blocks, 1); /* the live one's pin stays */
	ck_assert_int_eq(tier_release(alive, h2), 0);
	ck_assert_int_eq(tier_release(quiet, h1), -EINVAL); /* its pin is gone */
	t_stats(c, &s, NULL, 0);
	ck_assert_uint_eq(s.tiers[0].pinned_blocks, 0);
	tier_close(alive);
	tier_close(quiet);
	tier_close(c);
	ck_assert_int_eq(tdaemon_stop(&d), 0);
	tdaemon_cleanup(&d);
}
END_TEST

START_TEST(test_hung_read_times_out)
{
	struct tdaemon d;
	struct tier_stats s;
	tier_client *c;
	uint32_t ns;
	tier_handle h;
	char path[200], opt[240];
	uint64_t i, n = 256;

	/* Every NVMe read hangs; a request waits at most 300 ms. */
	setenv("TIERD_FAULT_INJECT", "read:hang:1", 1);
	snprintf(path, sizeof(path), "/var/tmp/tierd-tenants-%d.img", (int)getpid());
	snprintf(opt, sizeof(opt), "nvme.path=%s", path);
	tdaemon_start(&d, "8M", opt, "nvme.size=64M", "nvme.io_timeout=300", NULL);
	unsetenv("TIERD_FAULT_INJECT");
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kv", BS, &ns), 0);
	for (i = 0; i < n; i++)
		put(c, ns, i);
	ck_assert_int_eq(tier_flush(c, ns), 0);
	/* The oldest blocks are on NVMe only now: reading one waits on a read that never ends. */
	ck_assert_int_eq(tier_acquire(c, ns, key_of(0), &h), -ETIMEDOUT);
	/* The daemon serves on: a host-resident block is still acquired. */
	ck_assert_int_eq(tier_acquire(c, ns, key_of(n - 1), &h), 0);
	ck_assert_int_eq(tier_release(c, h), 0);
	s.size = sizeof(s);
	ck_assert_int_ge(tier_stats_get(c, &s, NULL, 0), 0);
	ck_assert_uint_eq(s.ops.io_timeouts, 1);
	tier_close(c);
	tdaemon_kill(&d);
	tdaemon_cleanup(&d);
	t_unlink_nvme(path);
}
END_TEST

/* A client outlives its daemon: -ECONNRESET while it is gone, tier_reconnect when it is back. */
START_TEST(test_reconnect)
{
	struct tdaemon d;
	tier_client *c;
	uint32_t ns;
	tier_handle h;
	pid_t pid;
	int r = -1;

	tdaemon_start(&d, "32M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kv", BS, &ns), 0);
	put(c, ns, 1);
	ck_assert_int_eq(tier_acquire(c, ns, key_of(1), &h), 0);
	tdaemon_kill(&d);
	ck_assert_int_eq(tier_lookup(c, ns, (tier_key[]){ key_of(1) }, 1), -ECONNRESET);
	ck_assert_int_eq(tier_reconnect(c), -ECONNREFUSED);
	ck_assert_ptr_null(tier_data(c, h)); /* nothing of the old connection is usable */

	/* The daemon comes back on the same socket. */
	pid = fork();
	if (pid == 0) {
		char opt[200];

		snprintf(opt, sizeof(opt), "daemon.socket=%s", d.sock);
		execl(t_tierd_path(), "tierd", "-f", "-o", opt, "-o", "host.size=32M", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 400 && r != 0; i++) {
		r = tier_reconnect(c);
		if (r != 0)
			usleep(25000);
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(tier_namespace(c, "kv", BS, &ns), 0);
	ck_assert_int_eq(tier_lookup(c, ns, (tier_key[]){ key_of(1) }, 1), 0); /* DRAM only: gone */
	put(c, ns, 2);
	ck_assert_int_eq(tier_lookup(c, ns, (tier_key[]){ key_of(2) }, 1), 1);
	tier_close(c);
	kill(pid, SIGTERM);
	ck_assert_int_eq(t_wait(pid, 10000), 0);
	tdaemon_cleanup(&d);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s;
	TCase *tc;
	SRunner *sr;
	int failed;

	if (argc == 5 && !strcmp(argv[1], "--peek")) {
		struct peek p = { .sock = argv[2], .off = strtoull(argv[3], NULL, 10),
				  .vault = (uint32_t)strtoul(argv[4], NULL, 10) };

		return peek_as_nobody(&p);
	}
	s = suite_create("tenants");
	tc = tcase_create("core");
	t_tierd_path();
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_access_rules);
	tcase_add_test(tc, test_private_arena);
	tcase_add_test(tc, test_restricted_needs_arena);
	tcase_add_test(tc, test_quota_evicts_own_blocks);
	tcase_add_test(tc, test_salt_and_handles);
	tcase_add_test(tc, test_pin_lease);
	tcase_add_test(tc, test_hung_read_times_out);
	tcase_add_test(tc, test_reconnect);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
