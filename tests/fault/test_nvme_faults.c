/* SPDX-License-Identifier: MIT */
/*
 * Faults under the NVMe tier: injected errors and short transfers
 * ($TIERD_FAULT_INJECT), bytes flipped on the device behind the daemon's
 * back, a device too small or out of space, and a file that vanishes.  The
 * promise each test checks: an acquire returns the right bytes or an error
 * (a miss), never wrong bytes; the counters say what happened; the daemon
 * serves on and still stops cleanly.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "nvme.h"

#define KiB 1024u
#define BS (64 * KiB)
#define N_BLOCKS 1024 /* 64 MiB through 16 MiB of host memory */

/* The daemon still works: a new block goes in and comes out, stats answer. */
static void assert_serves(tier_client *c, uint32_t ns)
{
	struct tk_tally t = { 0 };
	tier_key k = tk_key(0xa11e, 0);

	ck_assert_int_eq(tk_put(c, ns, k, BS), 0);
	tk_get(c, ns, k, BS, &t);
	ck_assert_uint_eq(t.ok, 1);
}

static void assert_no_wrong(const struct tk_tally *t)
{
	ck_assert_msg(t->wrong == 0, "%llu blocks served with wrong bytes",
		      (unsigned long long)t->wrong);
}

/* Restart without faults; nothing comes back wrong, at least min_ok blocks come back. */
static void restart_and_check_min(struct tierd *d, int sig, uint64_t salt, uint64_t n,
				  uint64_t min_ok)
{
	struct tk_tally t = { 0 };
	tier_client *c;
	uint32_t ns;

	if (sig == SIGTERM)
		td_stop_clean(d);
	else
		td_stop(d, sig);
	d->fault[0] = 0;
	td_start(d);
	c = td_connect(d);
	ck_assert_int_eq(tier_namespace(c, "kv", BS, &ns), 0);
	tk_get_range(c, ns, salt, 0, n, BS, &t);
	assert_no_wrong(&t);
	ck_assert_uint_eq(t.errors, 0);
	printf("# after restart: %llu of %llu blocks back\n", (unsigned long long)t.ok,
	       (unsigned long long)n);
	ck_assert_uint_ge(t.ok, min_ok);
	tier_close(c);
}

static void restart_and_check(struct tierd *d, int sig, uint64_t salt, uint64_t n)
{
	restart_and_check_min(d, sig, salt, n, 0);
}

static struct tier_daemon_status status_of(tier_client *c)
{
	struct tier_daemon_status st = { .size = sizeof(st) };

	ck_assert_int_eq(tier_admin_status(c, &st), 0);
	return st;
}

/*
 * Start a daemon that injects read faults per spec, fill it with N_BLOCKS
 * (most of them end up on NVMe only), read them all back into t, and take
 * the counters once nothing is in flight.
 */
static tier_client *read_all_faulty(struct tierd *d, const char *name, const char *spec,
				    uint32_t *ns, struct tk_tally *t, struct tier_stats *s,
				    struct tier_daemon_status *st)
{
	tier_client *c;

	td_init(d, name);
	snprintf(d->fault, sizeof(d->fault), "%s", spec);
	c = td_start_filled(d, ns, 1, N_BLOCKS, BS);
	tk_get_range(c, *ns, 1, 0, N_BLOCKS, BS, t);
	h_quiesce(c, s);
	*st = status_of(c);
	assert_no_wrong(t);
	return c;
}

START_TEST(test_read_eio)
{
	struct tierd d;
	struct tier_daemon_status st;
	struct tier_stats s0, s;
	struct tk_tally t = { 0 }, t2 = { 0 };
	tier_client *c;
	uint32_t ns;

	td_init(&d, "read-eio");
	snprintf(d.fault, sizeof(d.fault), "read:eio:3");
	c = td_start_filled(&d, &ns, 1, N_BLOCKS, BS);
	h_quiesce(c, &s0);
	ck_assert_uint_eq(h_tier(&s0, "nvme")->io_errors, 0);

	tk_get_range(c, ns, 1, 0, N_BLOCKS, BS, &t);
	h_quiesce(c, &s);
	st = status_of(c);
	assert_no_wrong(&t);
	printf("# read:eio:3: %llu ok, %llu missed; io_errors %llu, retries %llu, losses %llu\n",
	       (unsigned long long)t.ok, (unsigned long long)(t.missing + t.errors),
	       (unsigned long long)h_tier(&s, "nvme")->io_errors,
	       (unsigned long long)st.read_retries, (unsigned long long)st.read_losses);
	ck_assert_uint_gt(h_tier(&s, "nvme")->io_errors, 0);
	ck_assert_uint_eq(h_tier(&s, "nvme")->checksum_failures, 0);
	/* Every third read of all the reads that were promotions or failures. */
	ck_assert_uint_eq(h_tier(&s, "nvme")->io_errors,
			  (h_tier(&s, "nvme")->promotions + h_tier(&s, "nvme")->io_errors) / 3);
	/*
	 * Each failed read was read again; the second read is not a third read
	 * (unless another read came between), so nearly every block is served.
	 * Only acquires read here: each block lost is one acquire that missed.
	 */
	ck_assert_uint_eq(st.read_retries + st.read_losses, h_tier(&s, "nvme")->io_errors);
	ck_assert_uint_eq(st.read_losses, t.missing + t.errors);
	ck_assert_uint_lt(st.read_losses, st.read_retries);
	ck_assert_uint_ge(t.ok, N_BLOCKS - N_BLOCKS / 16);

	/* Again: what failed stays a miss; the rest is still right or fails anew. */
	tk_get_range(c, ns, 1, 0, N_BLOCKS, BS, &t2);
	assert_no_wrong(&t2);
	ck_assert_uint_ge(t2.missing + t2.errors, t.missing + t.errors);
	assert_serves(c, ns);
	tier_close(c);
	restart_and_check(&d, SIGTERM, 1, N_BLOCKS);
	td_stop_clean(&d);
	td_cleanup(&d);
}
END_TEST

/* Every read fails: each block on NVMe only is read twice, then a miss. */
START_TEST(test_read_eio_always)
{
	struct tierd d;
	struct tier_daemon_status st;
	struct tier_stats s;
	struct tk_tally t = { 0 };
	uint32_t ns;
	tier_client *c = read_all_faulty(&d, "read-eio-all", "read:eio:1", &ns, &t, &s, &st);

	ck_assert_uint_eq(t.ok + t.missing + t.errors, N_BLOCKS);
	ck_assert_uint_gt(t.ok, 0);     /* what host memory still held */
	ck_assert_uint_gt(t.missing, 0);
	ck_assert_uint_eq(h_tier(&s, "nvme")->promotions, 0);
	ck_assert_uint_eq(st.read_losses, t.missing + t.errors);
	ck_assert_uint_eq(st.read_retries, st.read_losses);
	ck_assert_uint_eq(h_tier(&s, "nvme")->io_errors, 2 * st.read_losses);
	assert_serves(c, ns);
	tier_close(c);
	td_stop_clean(&d);
	td_cleanup(&d);
}
END_TEST

START_TEST(test_short_io)
{
	struct tierd d;
	struct tier_stats s;
	struct tk_tally t = { 0 };
	tier_client *c;
	uint32_t ns;
	uint64_t n_eio = 0;
	int r = -EIO;

	td_init(&d, "short-io");
	snprintf(d.fault, sizeof(d.fault), "read:short:2,write:short:3");
	c = td_start_filled(&d, &ns, 1, N_BLOCKS, BS);
	h_quiesce(c, &s);
	/* A third of the demotions failed: those blocks are gone, not half there. */
	ck_assert_uint_gt(h_tier(&s, "nvme")->io_errors, 0);

	tk_get_range(c, ns, 1, 0, N_BLOCKS, BS, &t);
	h_quiesce(c, &s);
	assert_no_wrong(&t);
	ck_assert_uint_gt(t.ok, 0);
	ck_assert_uint_gt(t.missing, 0);
	ck_assert_uint_eq(h_tier(&s, "nvme")->checksum_failures, 0);

	/* A flush meets short writes too: it reports them, and retries get through. */
	tk_put_range(c, ns, 2, 0, 64, BS);
	for (int i = 0; i < 50; i++) {
		r = tier_flush(c, ns);
		ck_assert_msg(r == 0 || r == -EIO, "tier_flush: %s", tier_strerror(r));
		if (r == 0)
			break;
		n_eio++;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_uint_gt(n_eio, 0);
	/* What the flush covered survives a crash (unless a faulty read dropped it since). */
	memset(&t, 0, sizeof(t));
	tk_get_range(c, ns, 2, 0, 64, BS, &t);
	assert_no_wrong(&t);
	assert_serves(c, ns);
	tier_close(c);

	restart_and_check_min(&d, SIGKILL, 2, 64, t.ok);
	/* Whatever a short write left on the device is never served after a crash. */
	restart_and_check(&d, SIGKILL, 1, N_BLOCKS);
	td_stop_clean(&d);
	td_cleanup(&d);
}
END_TEST

/* ---- corruption ------------------------------------------------------ */

struct found {
	uint64_t off;  /* of the block's header in the file */
	uint64_t idx;  /* the key's index */
};

/* Every block header of keys [0, n) of salt in the image: how many, into f. */
static size_t scan_image(const char *path, uint64_t salt, uint64_t n, struct found *f)
{
	tier_key *keys = malloc(n * sizeof(*keys));
	uint8_t *buf = malloc(1u << 20);
	size_t nf = 0;
	uint64_t base = 0;
	ssize_t got;
	int fd = open(path, O_RDONLY);

	ck_assert_ptr_nonnull(keys);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_ge(fd, 0);
	for (uint64_t i = 0; i < n; i++)
		keys[i] = tk_key(salt, i);
	while ((got = pread(fd, buf, 1u << 20, (off_t)base)) > 0) {
		for (size_t p = 0; p + sizeof(struct nv_hdr) <= (size_t)got; p += NVME_HDR_BYTES) {
			struct nv_hdr h;

			memcpy(&h, buf + p, sizeof(h));
			if (h.magic != NVME_HDR_MAGIC || h.version != NVME_HDR_VERSION)
				continue;
			for (uint64_t i = 0; i < n; i++)
				if (keys[i].hi == h.key.hi && keys[i].lo == h.key.lo) {
					f[nf++] = (struct found){ base + p, i };
					break;
				}
		}
		base += (uint64_t)got;
	}
	close(fd);
	free(buf);
	free(keys);
	return nf;
}

static void flip_byte(const char *path, uint64_t off)
{
	uint8_t b;
	int fd = open(path, O_RDWR);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &b, 1, (off_t)off), 1);
	b ^= 0xff;
	ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)off), 1);
	ck_assert_int_eq(fsync(fd), 0);
	close(fd);
}

START_TEST(test_corruption_on_disk)
{
	const uint64_t n = 600;
	struct found *f = calloc(4 * n, sizeof(*f));
	bool *bad = calloc(n, sizeof(*bad));
	struct tierd d;
	struct tier_daemon_status st;
	struct tier_stats s;
	struct tk_tally t = { 0 }, t_bad = { 0 };
	tier_client *c;
	uint32_t ns;
	uint64_t n_bad = 0;
	size_t nf;

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(bad);
	td_init(&d, "corrupt");
	td_start(&d);
	c = td_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kv", BS, &ns), 0);
	tk_put_range(c, ns, 1, 0, n, BS);
	tier_close(c);
	/* A clean stop writes everything down: each block has one header on the device. */
	td_stop_clean(&d);

	nf = scan_image(d.img, 1, n, f);
	ck_assert_uint_eq(nf, n);
	for (size_t i = 0; i < nf; i++) {
		uint64_t off;

		if (i % 10 == 3)
			off = f[i].off + NVME_HDR_BYTES + (i * 997) % BS; /* data */
		else if (i % 50 == 7)
			off = f[i].off + offsetof(struct nv_hdr, seq); /* header */
		else
			continue;
		ck_assert(!bad[f[i].idx]);
		bad[f[i].idx] = true;
		n_bad++;
		flip_byte(d.img, off);
	}

	td_start(&d);
	c = td_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kv", BS, &ns), 0);
	for (uint64_t i = 0; i < n; i++)
		tk_get(c, ns, tk_key(1, i), BS, bad[i] ? &t_bad : &t);
	h_quiesce(c, &s);
	assert_no_wrong(&t);
	assert_no_wrong(&t_bad);
	ck_assert_uint_eq(t.ok, n - n_bad);
	ck_assert_uint_eq(t_bad.missing, n_bad);
	/* A corruption on the device fails the second read too: two checks, one loss. */
	ck_assert_uint_eq(h_tier(&s, "nvme")->checksum_failures, 2 * n_bad);
	ck_assert_uint_eq(h_tier(&s, "nvme")->io_errors, 0);
	ck_assert_uint_eq(h_tier(&s, "nvme")->blocks, n - n_bad);
	st = status_of(c);
	ck_assert_uint_eq(st.read_retries, n_bad);
	ck_assert_uint_eq(st.read_losses, n_bad);

	/* Misses from now on, without another read. */
	memset(&t_bad, 0, sizeof(t_bad));
	for (uint64_t i = 0; i < n; i++)
		if (bad[i])
			tk_get(c, ns, tk_key(1, i), BS, &t_bad);
	ck_assert_uint_eq(t_bad.missing, n_bad);
	h_stats(c, &s);
	ck_assert_uint_eq(h_tier(&s, "nvme")->checksum_failures, 2 * n_bad);
	assert_serves(c, ns);
	tier_close(c);
	td_stop_clean(&d);
	td_cleanup(&d);
	free(f);
	free(bad);
}
END_TEST

START_TEST(test_read_flip)
{
	struct tierd d;
	struct tier_daemon_status st;
	struct tier_stats s;
	struct tk_tally t = { 0 };
	uint32_t ns;
	tier_client *c = read_all_faulty(&d, "read-flip", "read:flip:2", &ns, &t, &s, &st);

	/*
	 * Each flipped read is one checksum failure, read again; the second
	 * read of a block is the next read, not flipped, unless another read
	 * came between.  A block lost is an acquire that missed.
	 */
	ck_assert_uint_gt(h_tier(&s, "nvme")->checksum_failures, 0);
	ck_assert_uint_eq(h_tier(&s, "nvme")->io_errors, 0);
	ck_assert_uint_eq(st.read_retries + st.read_losses,
			  h_tier(&s, "nvme")->checksum_failures);
	ck_assert_uint_eq(st.read_losses, t.missing);
	ck_assert_uint_ge(t.ok, N_BLOCKS - N_BLOCKS / 16);
	/* Every second read of all those that promoted or failed verification. */
	ck_assert_uint_eq(h_tier(&s, "nvme")->checksum_failures,
			  (h_tier(&s, "nvme")->promotions + h_tier(&s, "nvme")->checksum_failures) / 2);
	assert_serves(c, ns);
	tier_close(c);
	restart_and_check(&d, SIGTERM, 1, N_BLOCKS);
	td_stop_clean(&d);
	td_cleanup(&d);
}
END_TEST

/* ---- full device ----------------------------------------------------- */

START_TEST(test_tiny_device)
{
	struct tierd d;
	struct tier_stats s;
	struct tk_tally t = { 0 };
	const struct tier_tier_stats *nv;
	tier_client *c;
	uint32_t ns;

	td_init(&d, "tiny");
	td_opt(&d, "nvme.size=8M");
	c = td_start_filled(&d, &ns, 1, N_BLOCKS, BS);
	h_quiesce(c, &s);
	nv = h_tier(&s, "nvme");
	ck_assert_uint_gt(nv->evictions, 0);
	ck_assert_uint_gt(nv->blocks, 0);
	ck_assert_uint_le(nv->used_bytes, nv->capacity_bytes);
	ck_assert_uint_eq(nv->io_errors, 0);

	/*
	 * The most recent writes are there.  Checked before the full scan
	 * below, whose promotions from the full device reorder what stays.
	 */
	tk_get_range(c, ns, 1, N_BLOCKS - 32, N_BLOCKS, BS, &t);
	ck_assert_uint_eq(t.ok, 32);
	memset(&t, 0, sizeof(t));
	tk_get_range(c, ns, 1, 0, N_BLOCKS, BS, &t);
	assert_no_wrong(&t);
	ck_assert_uint_eq(t.errors, 0);
	/* 16 MiB of host memory and 8 MiB of NVMe hold no more than this. */
	ck_assert_uint_gt(t.ok, 0);
	ck_assert_uint_le(t.ok, (24u << 20) / BS);
	ck_assert_uint_ge(t.missing, N_BLOCKS - (24u << 20) / BS);
	assert_serves(c, ns);
	tier_close(c);
	restart_and_check(&d, SIGTERM, 1, N_BLOCKS);
	td_stop_clean(&d);
	td_cleanup(&d);
}
END_TEST

START_TEST(test_flush_more_than_device)
{
	/* 40 MiB only in host memory, 8 MiB of NVMe: a flush cannot make it all durable. */
	const uint64_t n = 640;
	struct tierd d;
	struct tier_stats s;
	struct tk_tally t = { 0 };
	tier_client *c;
	uint32_t ns;
	int r;

	td_init(&d, "flush-full");
	td_opt(&d, "host.size=64M");
	td_opt(&d, "nvme.size=8M");
	td_start(&d);
	c = td_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kv", BS, &ns), 0);
	tk_put_range(c, ns, 1, 0, n, BS);
	h_stats(c, &s);
	ck_assert_uint_eq(h_tier(&s, "nvme")->blocks, 0);
	r = tier_flush(c, ns);
	ck_assert_msg(r == -ENOSPC, "tier_flush: %s", tier_strerror(r));
	h_quiesce(c, &s);
	ck_assert_uint_le(h_tier(&s, "nvme")->used_bytes, h_tier(&s, "nvme")->capacity_bytes);
	/* Nothing was lost: the blocks stay cached. */
	tk_get_range(c, ns, 1, 0, n, BS, &t);
	assert_no_wrong(&t);
	ck_assert_uint_eq(t.ok, n);
	assert_serves(c, ns);
	tier_close(c);
	td_stop_clean(&d);
	td_cleanup(&d);
}
END_TEST

START_TEST(test_write_enospc)
{
	struct tierd d;
	struct tier_stats s;
	struct tk_tally t = { 0 };
	tier_client *c;
	uint32_t ns;
	int r;

	td_init(&d, "enospc");
	snprintf(d.fault, sizeof(d.fault), "write:enospc:2");
	c = td_start_filled(&d, &ns, 1, N_BLOCKS, BS);
	h_quiesce(c, &s);
	ck_assert_uint_gt(h_tier(&s, "nvme")->io_errors, 0);
	ck_assert_uint_gt(h_tier(&s, "nvme")->blocks, 0);
	tk_get_range(c, ns, 1, 0, N_BLOCKS, BS, &t);
	assert_no_wrong(&t);
	ck_assert_uint_eq(t.errors, 0);
	ck_assert_uint_gt(t.ok, 0);
	ck_assert_uint_gt(t.missing, 0);
	r = tier_flush(c, TIER_NS_ALL);
	ck_assert_msg(r == 0 || r == -EIO, "tier_flush: %s", tier_strerror(r));
	assert_serves(c, ns);
	tier_close(c);
	restart_and_check(&d, SIGKILL, 1, N_BLOCKS);
	td_stop_clean(&d);
	td_cleanup(&d);
}
END_TEST

/* ---- a device that goes away ----------------------------------------- */

START_TEST(test_truncated_file)
{
	struct tierd d;
	struct tier_stats s0, s;
	struct tk_tally t = { 0 };
	tier_client *c;
	uint32_t ns;
	uint64_t nvme_only;

	td_init(&d, "truncated");
	c = td_start_filled(&d, &ns, 1, N_BLOCKS, BS);
	h_quiesce(c, &s0);
	nvme_only = N_BLOCKS - h_tier(&s0, "host")->blocks;
	ck_assert_uint_gt(nvme_only, 0);

	ck_assert_int_eq(truncate(d.img, 0), 0);
	tk_get_range(c, ns, 1, 0, N_BLOCKS, BS, &t);
	h_quiesce(c, &s);
	assert_no_wrong(&t);
	/*
	 * The host copies are served; every NVMe-only block is read twice (a
	 * short read each time) and is then a miss, counted.
	 */
	ck_assert_uint_eq(t.ok, h_tier(&s0, "host")->blocks);
	ck_assert_uint_eq(t.missing + t.errors, nvme_only);
	ck_assert_uint_eq(h_tier(&s, "nvme")->io_errors, 2 * nvme_only);
	ck_assert_uint_eq(status_of(c).read_losses, nvme_only);
	ck_assert_uint_eq(h_tier(&s, "nvme")->promotions, h_tier(&s0, "nvme")->promotions);

	/* It serves on, and writes down again. */
	tk_put_range(c, ns, 2, 0, N_BLOCKS / 2, BS);
	memset(&t, 0, sizeof(t));
	tk_get_range(c, ns, 2, 0, N_BLOCKS / 2, BS, &t);
	assert_no_wrong(&t);
	ck_assert_uint_eq(t.ok, N_BLOCKS / 2);
	assert_serves(c, ns);
	tier_close(c);
	restart_and_check(&d, SIGTERM, 2, N_BLOCKS / 2);
	/* The journal still names the lost blocks' places: reading them is a miss. */
	restart_and_check(&d, SIGTERM, 1, N_BLOCKS);
	td_stop_clean(&d);
	td_cleanup(&d);
}
END_TEST

static Suite *nvme_faults_suite(void)
{
	Suite *s = suite_create("nvme_faults");
	TCase *tc = tcase_create("faults");

	tcase_set_timeout(tc, 120);
	h_add_test(tc, test_read_eio);
	h_add_test(tc, test_read_eio_always);
	h_add_test(tc, test_short_io);
	h_add_test(tc, test_corruption_on_disk);
	h_add_test(tc, test_read_flip);
	h_add_test(tc, test_tiny_device);
	h_add_test(tc, test_flush_more_than_device);
	h_add_test(tc, test_write_enospc);
	h_add_test(tc, test_truncated_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	return h_main(argc, argv, nvme_faults_suite());
}
