/* SPDX-License-Identifier: MIT */
/*
 * nvme.direct on a filesystem that refuses O_DIRECT: the daemon says so in
 * its log, falls back to buffered I/O and works as before.  Such a
 * filesystem is mounted in a private mount namespace: tmpfs where it still
 * refuses O_DIRECT (before Linux 6.6), else ramfs.  Needs root (or
 * CAP_SYS_ADMIN); skips (77) where it cannot mount.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "harness.h"

#define KiB 1024u
#define BS (64 * KiB)
#define N_BLOCKS 1024

static char mnt[64];
static const char *fs_type;

/* Does the filesystem at mnt refuse O_DIRECT? */
static bool refuses_direct(void)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/probe", mnt);
	fd = open(path, O_RDWR | O_CREAT | O_DIRECT, 0600);
	if (fd >= 0) {
		close(fd);
		unlink(path);
		return false;
	}
	return errno == EINVAL;
}

/* Mount a filesystem that refuses O_DIRECT on mnt: 0, or why not (for the skip message). */
static const char *mount_no_direct(void)
{
	static const char *const types[] = { "tmpfs", "ramfs" };

	if (unshare(CLONE_NEWNS) < 0)
		return "no private mount namespace (not root?)";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return "cannot make mounts private";
	snprintf(mnt, sizeof(mnt), "/var/tmp/tierd-fault-direct-mnt.XXXXXX");
	if (!mkdtemp(mnt))
		return "mkdtemp failed";
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (mount("none", mnt, types[i], 0, "size=128m") < 0 &&
		    mount("none", mnt, types[i], 0, NULL) < 0)
			continue;
		if (refuses_direct()) {
			fs_type = types[i];
			return NULL;
		}
		umount(mnt);
	}
	rmdir(mnt);
	return "no mountable filesystem here refuses O_DIRECT";
}

static bool log_has(const char *path, const char *needle)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(path, "r");

	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

START_TEST(test_direct_falls_back)
{
	struct tierd d;
	struct tier_stats s;
	struct tk_tally t = { 0 };
	tier_client *c;
	uint32_t ns;

	td_init(&d, "direct-fallback");
	snprintf(d.img, sizeof(d.img), "%s/nvme.img", mnt);
	td_opt(&d, "nvme.size=96M");
	td_opt(&d, "nvme.direct=true");
	d.log_to_file = true;
	printf("# %s refuses O_DIRECT: %s\n", fs_type, mnt);
	td_start(&d);
	ck_assert_msg(log_has(d.log, "O_DIRECT refused"), "no fallback line in %s", d.log);
	ck_assert(log_has(d.log, "buffered"));

	c = td_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kv", BS, &ns), 0);
	tk_put_range(c, ns, 1, 0, N_BLOCKS, BS);
	tk_get_range(c, ns, 1, 0, N_BLOCKS, BS, &t);
	ck_assert_uint_eq(t.ok, N_BLOCKS);
	ck_assert_int_eq(tier_flush(c, TIER_NS_ALL), 0);
	h_quiesce(c, &s);
	ck_assert_uint_gt(h_tier(&s, "nvme")->demotions, 0);
	ck_assert_uint_gt(h_tier(&s, "nvme")->promotions, 0);
	ck_assert_uint_eq(h_tier(&s, "nvme")->io_errors, 0);
	tier_close(c);

	td_stop(&d, SIGKILL);
	td_start(&d);
	c = td_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kv", BS, &ns), 0);
	memset(&t, 0, sizeof(t));
	tk_get_range(c, ns, 1, 0, N_BLOCKS, BS, &t);
	ck_assert_uint_eq(t.ok, N_BLOCKS);
	tier_close(c);
	td_stop_clean(&d);
	unlink(d.img);
	td_cleanup(&d);
}
END_TEST

static Suite *nvme_direct_suite(void)
{
	Suite *s = suite_create("nvme_direct");
	TCase *tc = tcase_create("direct");

	tcase_set_timeout(tc, 120);
	h_add_test(tc, test_direct_falls_back);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	const char *why = mount_no_direct();
	int r;

	if (why) {
		printf("SKIP: %s\n", why);
		return 77;
	}
	r = h_main(argc, argv, nvme_direct_suite());
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
	return r;
}
