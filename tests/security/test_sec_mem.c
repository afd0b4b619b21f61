/* SPDX-License-Identifier: MIT */
/*
 * The shared memory a hostile client is given (issue 14 items 1, 2, 3, 6),
 * each attack a separate client process against the real daemon:
 *
 *  - truncate: ftruncate (shrink, grow) of the ring segment, the shared arena,
 *    a private arena and the emulated GPU pool is refused (the memfds are
 *    sealed), the seals cannot be added to or lifted; the daemon stays up and
 *    the victim's bytes intact.
 *  - tamper: a client refused a restricted namespace (arena = shared,
 *    host.verify = on) overwrites the whole shared arena: the victim's blocks
 *    are never served as committed, never flushed, and nothing tampered comes
 *    back after a restart; the configuration without host.verify is refused.
 *  - pins: one client drives its pins of one block to the cap: refused with
 *    -EOVERFLOW, its disconnect frees nothing the index points to, another
 *    client's flush finishes and the daemon answers SIGTERM.
 *  - caps: a client over daemon.client_max_writing / client_max_pinned gets
 *    -EDQUOT while another client keeps working.
 *
 * The attacker reaches the memfds the normal way (tier_connect, the GPU pool
 * call) and reopens the mappings libtier made through /proc/self/map_files
 * (root), as a process holding the descriptors would.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
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
/* tierd/store.h: one client's pins of one block at most. */
#define HOLD_PINS_MAX (1u << 16)
#define ALL_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

static void put(tier_client *c, uint32_t ns, tier_key k)
{
	tier_handle h;

	ck_assert_int_eq(tier_alloc(c, ns, &h), 0);
	t_fill(tier_data(c, h), BS, k);
	ck_assert_int_eq(tier_commit(c, h, k), 0);
}

/* 1: served with the committed bytes; 0: not there; -1: served with other bytes. */
static int served(tier_client *c, uint32_t ns, tier_key k)
{
	tier_handle h;
	int r = tier_acquire(c, ns, k, &h), ok;

	if (r == -ENOENT)
		return 0;
	ck_assert_int_eq(r, 0);
	ok = t_verify(tier_data(c, h), BS, k) ? 1 : -1;
	ck_assert_int_eq(tier_release(c, h), 0);
	return ok;
}

/* [start, end) of this process's first mapping whose /proc/self/maps line contains what. */
static bool mapping_of(const char *what, uintptr_t *ret_start, uintptr_t *ret_end)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *dash;

		if (!strstr(line, what))
			continue;
		*ret_start = (uintptr_t)strtoull(line, &dash, 16);
		*ret_end = (uintptr_t)strtoull(dash + 1, NULL, 16);
		found = true;
	}
	fclose(f);
	return found;
}

/* The memfd behind this process's mapping of "/memfd:name", reopened read-write, or -1. */
static int mapped_memfd(const char *name)
{
	char what[64], path[80];
	uintptr_t start, end;

	snprintf(what, sizeof(what), "/memfd:%s ", name);
	if (!mapping_of(what, &start, &end))
		return -1;
	snprintf(path, sizeof(path), "/proc/self/map_files/%" PRIxPTR "-%" PRIxPTR, start, end);
	return open(path, O_RDWR | O_CLOEXEC);
}

/* Every size change of fd refused, the seals fixed, its size unchanged. */
static bool size_locked(int fd, const char *what)
{
	struct stat a, b;
	int seals = fcntl(fd, F_GET_SEALS);
	bool ok = fstat(fd, &a) == 0 && a.st_size > 0 && seals >= 0 &&
		  (seals & ALL_SEALS) == ALL_SEALS;

	ok = ok && ftruncate(fd, 0) < 0 && errno == EPERM;
	ok = ok && ftruncate(fd, a.st_size / 2) < 0 && errno == EPERM;
	ok = ok && ftruncate(fd, a.st_size + (2 << 20)) < 0 && errno == EPERM;
	/* F_SEAL_FUTURE_WRITE would refuse every later client's writable mapping. */
	ok = ok && fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) < 0 && errno == EPERM;
	ok = ok && fstat(fd, &b) == 0 && b.st_size == a.st_size;
	if (!ok)
		fprintf(stderr, "%s: seals %#x, size %lld: %s\n", what, seals,
			(long long)a.st_size, strerror(errno));
	return ok;
}

static bool exited_ok(int status)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- 1. truncating the memfds ---------------------------------------- */

static int truncate_attack(void *arg)
{
	struct tier_gpu_pool gp = { .size = sizeof(gp) };
	static const char *const names[] = { "tierd-ring", "tierd-host", "tierd-ns-vault" };
	tier_client *c;
	uint32_t ns;
	int fd;

	T_CHILD_CHECK(tier_connect(arg, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "vault", BS, &ns) == 0); /* maps its private arena */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		fd = mapped_memfd(names[i]);
		T_CHILD_CHECK(fd >= 0);
		T_CHILD_CHECK(size_locked(fd, names[i]));
		close(fd);
	}
	T_CHILD_CHECK(tier_gpu_pool(c, &gp, &fd) == 0);
	T_CHILD_CHECK(size_locked(fd, "gpu pool (emu)"));
	close(fd);
	/* The daemon polls this ring again: a shrunk segment was its SIGBUS. */
	T_CHILD_CHECK(tier_lookup(c, ns, (tier_key[]){ t_key(1, 0) }, 1) == 1);
	tier_close(c);
	return 0;
}

START_TEST(test_truncate_refused)
{
	struct tdaemon d;
	tier_client *c, *c2;
	uint32_t pub, vault;

	tdaemon_start(&d, "16M", "ns.vault.arena=4M", "gpu.device=emu", "gpu.size=4M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "pub", BS, &pub), 0);
	ck_assert_int_eq(tier_namespace(c, "vault", BS, &vault), 0);
	for (uint32_t i = 0; i < 8; i++) {
		put(c, pub, t_key(0, i));
		put(c, vault, t_key(1, i));
	}
	t_run_child(truncate_attack, d.sock, 20000);
	ck_assert(tdaemon_alive(&d));
	for (uint32_t i = 0; i < 8; i++) {
		ck_assert_int_eq(served(c, pub, t_key(0, i)), 1);
		ck_assert_int_eq(served(c, vault, t_key(1, i)), 1);
	}
	/* A new client maps the arena and works. */
	c2 = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c2, "pub", BS, &pub), 0);
	put(c2, pub, t_key(0, 100));
	ck_assert_int_eq(served(c, pub, t_key(0, 100)), 1);
	tier_close(c2);
	tier_close(c);
	ck_assert(exited_ok(tdaemon_stop(&d)));
	tdaemon_cleanup(&d);
}
END_TEST

/* ---- 2. rewriting the shared arena ----------------------------------- */

static int tamper_attack(void *arg)
{
	tier_client *c;
	uint32_t ns;
	uintptr_t start, end;

	T_CHILD_CHECK(setgroups(0, NULL) == 0 && setgid(65534) == 0 && setuid(65534) == 0);
	T_CHILD_CHECK(tier_connect(arg, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "vault", BS, &ns) == -EACCES);
	/* Every byte of the shared arena this process was given: the vault's blocks too. */
	T_CHILD_CHECK(mapping_of("/memfd:tierd-host ", &start, &end));
	memset((void *)start, 0xa5, end - start);
	tier_close(c);
	return 0;
}

static void tamper_start(struct tdaemon *d, const char *nvme_opt)
{
	tdaemon_start(d, "16M", "daemon.socket_group=nogroup", nvme_opt, "nvme.size=64M",
		      "ns.vault.owner=root", "ns.vault.arena=shared", "host.verify=on", NULL);
	/* nobody reaches the socket through its group (the directory is ours: open it up). */
	ck_assert_int_eq(chmod(d->dir, 0755), 0);
}

START_TEST(test_tamper_never_served)
{
	struct tier_daemon_status st = { .size = sizeof(st) };
	struct tdaemon d;
	tier_client *c;
	uint32_t vault;
	char path[200], opt[240];

	snprintf(path, sizeof(path), "/var/tmp/tierd-secmem-%d.img", (int)getpid());
	snprintf(opt, sizeof(opt), "nvme.path=%s", path);
	tamper_start(&d, opt);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "vault", BS, &vault), 0);
	/* Blocks 0-3 durable before the attack, 4-7 only in host memory. */
	for (uint32_t i = 0; i < 4; i++)
		put(c, vault, t_key(2, i));
	ck_assert_int_eq(tier_flush(c, vault), 0);
	for (uint32_t i = 4; i < 8; i++)
		put(c, vault, t_key(2, i));

	t_run_child(tamper_attack, d.sock, 20000);
	/* The flush writes nothing tampered (and ends). */
	ck_assert_int_eq(tier_flush(c, vault), 0);
	for (uint32_t i = 0; i < 8; i++)
		ck_assert_msg(served(c, vault, t_key(2, i)) == 0, "block %u served after tampering",
			      i);
	/* Each counted: four at the flush, four at their acquire. */
	ck_assert_int_eq(tier_admin_status(c, &st), 0);
	ck_assert_uint_eq(st.verify_failures, 8);
	tier_close(c);
	ck_assert(exited_ok(tdaemon_stop(&d)));
	tdaemon_cleanup(&d);

	/* After a restart: nothing comes back with other bytes than committed. */
	tamper_start(&d, opt);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "vault", BS, &vault), 0);
	for (uint32_t i = 0; i < 8; i++)
		ck_assert_msg(served(c, vault, t_key(2, i)) >= 0, "block %u tampered after restart",
			      i);
	put(c, vault, t_key(2, 5));
	ck_assert_int_eq(served(c, vault, t_key(2, 5)), 1);
	tier_close(c);
	ck_assert(exited_ok(tdaemon_stop(&d)));
	tdaemon_cleanup(&d);
	t_unlink_nvme(path);
}
END_TEST

/* A restricted namespace in the shared arena without host.verify: refused at start. */
START_TEST(test_shared_restricted_needs_verify)
{
	char out[8192], err[2048];
	char *argv[] = { (char *)t_tierd_path(), "--check-config", "-o", "ns.vault.owner=root",
			 "-o", "ns.vault.arena=shared", NULL, NULL, NULL };
	int st = t_exec(argv, out, sizeof(out), err, sizeof(err), 10000);

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0, "accepted: %s", out);
	ck_assert_msg(strstr(err, "ns.vault") && strstr(err, "host.verify"), "%s", err);
	argv[6] = "-o";
	argv[7] = "host.verify=on";
	st = t_exec(argv, out, sizeof(out), err, sizeof(err), 10000);
	ck_assert_msg(exited_ok(st), "%s", err);
}
END_TEST

/* ---- 3. pins against the writing marker ------------------------------- */

static int pin_attack(void *arg)
{
	tier_client *c;
	uint32_t ns;
	tier_handle h, w;
	tier_key k = t_key(3, 0);

	T_CHILD_CHECK(tier_connect(arg, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "pub", BS, &ns) == 0);
	T_CHILD_CHECK(tier_alloc(c, ns, &w) == 0);
	t_fill(tier_data(c, w), BS, k);
	T_CHILD_CHECK(tier_commit(c, w, k) == 0);
	for (uint32_t i = 0; i < HOLD_PINS_MAX; i++)
		T_CHILD_CHECK(tier_acquire(c, ns, k, &h) == 0);
	/* The cap, long before the count could reach the writing bit (2^31). */
	T_CHILD_CHECK(tier_acquire(c, ns, k, &h) == -EOVERFLOW);
	T_CHILD_CHECK(tier_acquire_many(c, ns, &k, 1, &h) == -EOVERFLOW);
	/* An unfinished write too, then away without releasing anything. */
	T_CHILD_CHECK(tier_alloc(c, ns, &w) == 0);
	_exit(0);
}

/* A later client of the attacker's: drops its old key. */
static int pin_dropper(void *arg)
{
	tier_client *c;
	uint32_t ns;

	T_CHILD_CHECK(tier_connect(arg, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "pub", BS, &ns) == 0);
	T_CHILD_CHECK(tier_drop(c, ns, t_key(3, 0)) == 0);
	T_CHILD_CHECK(tier_drop(c, ns, t_key(3, 0)) == -ENOENT);
	tier_close(c);
	return 0;
}

START_TEST(test_pin_cap)
{
	struct tdaemon d;
	struct tier_stats s;
	tier_client *c;
	uint32_t pub, vault;
	char path[200], opt[240];

	snprintf(path, sizeof(path), "/var/tmp/tierd-secpin-%d.img", (int)getpid());
	snprintf(opt, sizeof(opt), "nvme.path=%s", path);
	tdaemon_start(&d, "16M", opt, "nvme.size=64M", "ns.vault.arena=4M", NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "pub", BS, &pub), 0);
	ck_assert_int_eq(tier_namespace(c, "vault", BS, &vault), 0);

	t_run_child(pin_attack, d.sock, 60000);
	/* Its block stayed READY and indexed, unpinned; its write was freed. */
	ck_assert_int_eq(served(c, pub, t_key(3, 0)), 1);
	s.size = sizeof(s);
	ck_assert_int_ge(tier_stats_get(c, &s, NULL, 0), 0);
	for (uint32_t i = 0; i < s.n_tiers; i++)
		ck_assert_uint_eq(s.tiers[i].pinned_blocks, 0);
	/* The next tenant's blocks take slots; the attacker's old key reaches only its own. */
	for (uint32_t i = 0; i < 16; i++) {
		put(c, vault, t_key(4, i));
		put(c, pub, t_key(5, i));
	}
	t_run_child(pin_dropper, d.sock, 20000);
	for (uint32_t i = 0; i < 16; i++) {
		ck_assert_int_eq(served(c, vault, t_key(4, i)), 1);
		ck_assert_int_eq(served(c, pub, t_key(5, i)), 1);
	}
	/* With an NVMe tier, a flush finishes and the daemon answers SIGTERM. */
	ck_assert_int_eq(tier_flush(c, TIER_NS_ALL), 0);
	tier_close(c);
	ck_assert(exited_ok(tdaemon_stop(&d)));
	tdaemon_cleanup(&d);
	t_unlink_nvme(path);
}
END_TEST

/* ---- 6. per-client caps ------------------------------------------------ */

struct caps_arg {
	const char *sock;
	int to_parent, from_parent;
};

static bool handoff(const struct caps_arg *a)
{
	char b = 1;

	return write(a->to_parent, &b, 1) == 1 && read(a->from_parent, &b, 1) == 1;
}

static int caps_attack(void *arg)
{
	const struct caps_arg *a = arg;
	tier_handle w[9], h;
	tier_client *c;
	uint32_t ns;

	T_CHILD_CHECK(tier_connect(a->sock, &c) == 0);
	T_CHILD_CHECK(tier_namespace(c, "pub", BS, &ns) == 0);
	/* daemon.client_max_writing = 8 */
	for (int i = 0; i < 8; i++)
		T_CHILD_CHECK(tier_alloc(c, ns, &w[i]) == 0);
	T_CHILD_CHECK(tier_alloc(c, ns, &w[8]) == -EDQUOT);
	T_CHILD_CHECK(handoff(a));
	for (uint32_t i = 0; i < 8; i++) {
		t_fill(tier_data(c, w[i]), BS, t_key(6, i));
		T_CHILD_CHECK(tier_commit(c, w[i], t_key(6, i)) == 0);
	}
	/* daemon.client_max_pinned = 1M: 16 blocks of 64 KiB, each counted once. */
	for (uint32_t i = 8; i < 24; i++) {
		T_CHILD_CHECK(tier_alloc(c, ns, &h) == 0);
		T_CHILD_CHECK(tier_commit(c, h, t_key(6, i)) == 0);
	}
	for (uint32_t i = 8; i < 24; i++)
		T_CHILD_CHECK(tier_acquire(c, ns, t_key(6, i), &h) == 0);
	T_CHILD_CHECK(tier_acquire(c, ns, t_key(6, 8), &h) == 0);
	T_CHILD_CHECK(tier_acquire(c, ns, t_key(6, 0), &h) == -EDQUOT);
	T_CHILD_CHECK(tier_alloc(c, ns, &h) == -EDQUOT);
	T_CHILD_CHECK(handoff(a));
	tier_close(c);
	return 0;
}

/* The victim, while the attacker sits at its caps: alloc, commit, acquire as usual. */
static void victim_works(tier_client *c, uint32_t ns, uint32_t from)
{
	for (uint32_t i = from; i < from + 20; i++)
		put(c, ns, t_key(7, i));
	for (uint32_t i = from; i < from + 20; i++)
		ck_assert_int_eq(served(c, ns, t_key(7, i)), 1);
}

START_TEST(test_client_caps)
{
	struct tier_daemon_status ds = { .size = sizeof(ds) };
	struct tdaemon d;
	struct caps_arg a;
	tier_client *c;
	uint32_t ns;
	int up[2], down[2], st;
	char b = 1;
	pid_t pid;

	tdaemon_start(&d, "16M", "daemon.client_max_writing=8", "daemon.client_max_pinned=1M",
		      NULL);
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "pub", BS, &ns), 0);
	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	a = (struct caps_arg){ .sock = d.sock, .to_parent = up[1], .from_parent = down[0] };
	pid = t_fork(caps_attack, &a);
	/* Its ends only in the child: a failed attacker is an end of file here, not a hang. */
	close(up[1]);
	close(down[0]);
	for (uint32_t round = 0; round < 2; round++) {
		ck_assert_int_eq(read(up[0], &b, 1), 1);
		victim_works(c, ns, round * 20);
		ck_assert_int_eq(write(down[1], &b, 1), 1);
	}
	st = t_wait(pid, 20000);
	ck_assert_msg(exited_ok(st), "attacker failed (status %#x)", st);
	close(up[0]);
	close(down[1]);
	victim_works(c, ns, 40);
	ck_assert_int_eq(tier_admin_status(c, &ds), 0);
	ck_assert_uint_eq(ds.refused_caps, 3); /* an alloc; then an acquire and an alloc */
	tier_close(c);
	ck_assert(exited_ok(tdaemon_stop(&d)));
	tdaemon_cleanup(&d);
}
END_TEST

static Suite *sec_mem_suite(void)
{
	Suite *s = suite_create("sec_mem");
	TCase *tc = tcase_create("shared_memory");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_truncate_refused);
	tcase_add_test(tc, test_tamper_never_served);
	tcase_add_test(tc, test_shared_restricted_needs_verify);
	tcase_add_test(tc, test_pin_cap);
	tcase_add_test(tc, test_client_caps);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	Suite *s;
	SRunner *sr;
	int failed;

	/* The attacker runs as nobody and reopens its mappings through /proc/self/map_files. */
	if (geteuid() != 0) {
		fprintf(stderr, "skip: needs root (setuid to nobody, /proc/self/map_files)\n");
		return 77;
	}
	s = sec_mem_suite();
	sr = srunner_create(s);

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
