/* SPDX-License-Identifier: MIT */
/*
 * The NVMe tier without faults, as a user sees it: blocks written past host
 * memory come back byte-exact, prefetch makes later acquires host hits,
 * tier_flush makes blocks durable, a clean restart loses nothing, and
 * `tierctl stats --json` shows the counters tier_stats_get does.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "harness.h"

#define KiB 1024u
#define MiB (1024u * 1024u)

START_TEST(test_past_dram_byte_exact)
{
	/* Two namespaces, two block sizes, 96 MiB through 16 MiB of host memory. */
	const size_t bs_a = 64 * KiB, bs_b = 256 * KiB;
	const uint64_t n_a = 1024, n_b = 128;
	struct tierd d;
	struct tier_stats s;
	struct tk_tally t = { 0 };
	const struct tier_tier_stats *nv, *host;
	tier_client *c;
	uint32_t a, b;

	td_init(&d, "past-dram");
	td_start(&d);
	c = td_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "small", bs_a, &a), 0);
	ck_assert_int_eq(tier_namespace(c, "large", bs_b, &b), 0);
	for (uint64_t i = 0; i < n_a; i++) {
		ck_assert_int_eq(tk_put(c, a, tk_key(1, i), bs_a), 0);
		if (i % 8 == 0)
			ck_assert_int_eq(tk_put(c, b, tk_key(2, i / 8), bs_b), 0);
	}
	tk_get_range(c, a, 1, 0, n_a, bs_a, &t);
	tk_get_range(c, b, 2, 0, n_b, bs_b, &t);
	ck_assert_uint_eq(t.wrong, 0);
	ck_assert_uint_eq(t.missing, 0);
	ck_assert_uint_eq(t.errors, 0);
	ck_assert_uint_eq(t.ok, n_a + n_b);

	h_quiesce(c, &s);
	nv = h_tier(&s, "nvme");
	host = h_tier(&s, "host");
	/* At most 16 MiB of the 96 MiB were still in host memory when read back. */
	ck_assert_uint_gt(nv->demotions, 0);
	ck_assert_uint_ge(nv->promotions, (n_a * bs_a + n_b * bs_b - 16 * MiB) / bs_b);
	ck_assert_uint_gt(nv->hits, 0);
	/* Each block is written down once (nothing is dropped), all but what fits in DRAM. */
	ck_assert_uint_le(nv->write_bytes, n_a * bs_a + n_b * bs_b);
	ck_assert_uint_ge(nv->write_bytes, n_a * bs_a + n_b * bs_b - 16 * MiB);
	ck_assert_uint_ge(nv->read_bytes, nv->promotions * bs_a);
	ck_assert_uint_eq(nv->io_errors, 0);
	ck_assert_uint_eq(nv->checksum_failures, 0);
	ck_assert_uint_le(host->used_bytes, host->capacity_bytes);
	tier_close(c);
	td_stop_clean(&d);
	td_cleanup(&d);
}
END_TEST

/*
 * A daemon named name, 1024 blocks of 64 KiB of salt through host memory
 * for 256, flushed (all clean: host room for a prefetch is made at once),
 * counters in *s0, then a prefetch of the k oldest, which left host memory
 * long ago.  Returns how many prefetches started.
 */
static int prefetch_oldest(struct tierd *d, const char *name, uint64_t salt, tier_key *keys,
			   uint64_t k, tier_client **ret_c, uint32_t *ret_ns, struct tier_stats *s0)
{
	td_init(d, name);
	*ret_c = td_start_filled(d, ret_ns, salt, 1024, 64 * KiB);
	ck_assert_int_eq(tier_flush(*ret_c, *ret_ns), 0);
	h_quiesce(*ret_c, s0);
	for (uint64_t i = 0; i < k; i++)
		keys[i] = tk_key(salt, i);
	return tier_prefetch(*ret_c, *ret_ns, keys, k);
}

START_TEST(test_prefetch_makes_host_hits)
{
	const size_t bs = 64 * KiB;
	const uint64_t k = 32;
	tier_key keys[32];
	struct tierd d;
	struct tier_stats s0, s1;
	struct tk_tally t = { 0 };
	tier_client *c;
	uint32_t ns;
	int started;

	started = prefetch_oldest(&d, "prefetch", 7, keys, k, &c, &ns, &s0);
	ck_assert_int_eq(started, (int)k);
	for (int i = 0; i < 6000; i++) {
		h_quiesce(c, &s1);
		if (h_tier(&s1, "nvme")->promotions >= h_tier(&s0, "nvme")->promotions + k)
			break;
	}
	ck_assert_uint_eq(h_tier(&s1, "nvme")->promotions, h_tier(&s0, "nvme")->promotions + k);
	ck_assert_uint_eq(h_tier(&s1, "nvme")->queue_depth, 0);
	/* On their way or there already: nothing more to start. */
	ck_assert_int_eq(tier_prefetch(c, ns, keys, k), 0);
	{
		tier_key absent = tk_key(8, 0);

		ck_assert_int_eq(tier_prefetch(c, ns, &absent, 1), 0);
	}

	h_stats(c, &s0);
	for (uint64_t i = 0; i < k; i++)
		tk_get(c, ns, keys[i], bs, &t);
	ck_assert_uint_eq(t.ok, k);
	h_stats(c, &s1);
	ck_assert_uint_eq(h_tier(&s1, "host")->hits, h_tier(&s0, "host")->hits + k);
	ck_assert_uint_eq(h_tier(&s1, "nvme")->hits, h_tier(&s0, "nvme")->hits);
	ck_assert_uint_eq(h_tier(&s1, "nvme")->promotions, h_tier(&s0, "nvme")->promotions);
	ck_assert_uint_eq(h_tier(&s1, "nvme")->read_bytes, h_tier(&s0, "nvme")->read_bytes);
	ck_assert_uint_eq(s1.ops.prefetch, s0.ops.prefetch);
	tier_close(c);
	td_stop_clean(&d);
	td_cleanup(&d);
}
END_TEST

/*
 * A prefetch window wider than host memory: 512 blocks asked for, 256 fit.
 * Prefetches stop when host memory holds only blocks earlier prefetches
 * brought up and nobody used yet, rather than evict those (they would be
 * read again at their acquire).  So every block is read from NVMe exactly
 * once: the prefetched ones are host hits, the rest are read at their acquire.
 */
START_TEST(test_prefetch_wider_than_host)
{
	const size_t bs = 64 * KiB;
	const uint64_t k = 512;
	static tier_key keys[512];
	struct tierd d;
	struct tier_stats s0, s1;
	struct tk_tally t = { 0 };
	tier_client *c;
	uint32_t ns;
	int started;

	started = prefetch_oldest(&d, "prefetch-wide", 9, keys, k, &c, &ns, &s0);
	printf("# %d of %llu prefetches started\n", started, (unsigned long long)k);
	ck_assert_int_ge(started, 128);
	ck_assert_int_lt(started, (int)k);
	h_quiesce(c, &s1);
	ck_assert_uint_eq(h_tier(&s1, "nvme")->promotions,
			  h_tier(&s0, "nvme")->promotions + (uint64_t)started);

	for (uint64_t i = 0; i < k; i++)
		tk_get(c, ns, keys[i], bs, &t);
	ck_assert_uint_eq(t.ok, k);
	h_quiesce(c, &s1);
	ck_assert_uint_eq(h_tier(&s1, "nvme")->promotions, h_tier(&s0, "nvme")->promotions + k);
	ck_assert_uint_eq(h_tier(&s1, "host")->hits, h_tier(&s0, "host")->hits + (uint64_t)started);
	ck_assert_uint_eq(h_tier(&s1, "nvme")->hits,
			  h_tier(&s0, "nvme")->hits + k - (uint64_t)started);
	tier_close(c);
	td_stop_clean(&d);
	td_cleanup(&d);
}
END_TEST

START_TEST(test_flush_durable)
{
	const size_t bs = 64 * KiB;
	struct tierd d;
	struct tier_stats s;
	struct tk_tally t = { 0 };
	tier_client *c;
	uint32_t a, b;

	td_init(&d, "flush");
	/* 64 MiB of host memory: 13 MiB stays under the watermark, all dirty. */
	td_opt(&d, "host.size=64M");
	td_start(&d);
	c = td_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "a", bs, &a), 0);
	ck_assert_int_eq(tier_namespace(c, "b", 2 * bs, &b), 0);
	tk_put_range(c, a, 1, 0, 200, bs);
	h_stats(c, &s);
	ck_assert_uint_eq(h_tier(&s, "nvme")->blocks, 0);
	ck_assert_uint_eq(h_tier(&s, "nvme")->write_bytes, 0);

	ck_assert_int_eq(tier_flush(c, a), 0);
	h_stats(c, &s);
	ck_assert_uint_eq(h_tier(&s, "nvme")->blocks, 200);
	ck_assert_uint_eq(h_tier(&s, "nvme")->write_bytes, 200 * bs);
	ck_assert_uint_eq(h_tier(&s, "nvme")->queue_depth, 0);
	/* Nothing dirty: a second flush writes nothing. */
	ck_assert_int_eq(tier_flush(c, a), 0);
	h_stats(c, &s);
	ck_assert_uint_eq(h_tier(&s, "nvme")->write_bytes, 200 * bs);

	tk_put_range(c, b, 2, 0, 10, 2 * bs);
	tk_put_range(c, a, 1, 200, 210, bs);
	ck_assert_int_eq(tier_flush(c, TIER_NS_ALL), 0);
	h_stats(c, &s);
	ck_assert_uint_eq(h_tier(&s, "nvme")->blocks, 220);
	ck_assert_int_lt(tier_flush(c, 4000), 0);
	ck_assert_uint_eq(s.ops.flush, 3);
	tier_close(c);

	/* Only tier_flush can have put them there: the crash skips the shutdown write-back. */
	td_stop(&d, SIGKILL);
	td_start(&d);
	c = td_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "a", bs, &a), 0);
	ck_assert_int_eq(tier_namespace(c, "b", 2 * bs, &b), 0);
	h_stats(c, &s);
	ck_assert_uint_eq(h_tier(&s, "nvme")->blocks, 220);
	ck_assert_uint_eq(h_tier(&s, "host")->blocks, 0);
	tk_get_range(c, a, 1, 0, 210, bs, &t);
	tk_get_range(c, b, 2, 0, 10, 2 * bs, &t);
	ck_assert_uint_eq(t.ok, 220);
	ck_assert_uint_eq(t.wrong + t.missing + t.errors, 0);
	h_stats(c, &s);
	ck_assert_uint_eq(h_tier(&s, "nvme")->checksum_failures, 0);
	tier_close(c);
	td_stop_clean(&d);
	td_cleanup(&d);
}
END_TEST

START_TEST(test_flush_without_nvme)
{
	struct tierd d;
	struct tier_stats s;
	tier_client *c;
	tier_key k = tk_key(1, 0);
	uint32_t ns;

	td_init(&d, "no-nvme");
	d.no_nvme = true;
	td_start(&d);
	c = td_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kv", 64 * KiB, &ns), 0);
	ck_assert_int_eq(tk_put(c, ns, k, 64 * KiB), 0);
	ck_assert_int_eq(tier_flush(c, ns), -ENODEV);
	ck_assert_int_eq(tier_flush(c, TIER_NS_ALL), -ENODEV);
	/* Nothing is on NVMe, so nothing is prefetched; the block is still served. */
	ck_assert_int_eq(tier_prefetch(c, ns, &k, 1), 0);
	{
		struct tk_tally t = { 0 };

		tk_get(c, ns, k, 64 * KiB, &t);
		ck_assert_uint_eq(t.ok, 1);
	}
	h_stats(c, &s);
	ck_assert_uint_eq(s.n_tiers, 1);
	tier_close(c);
	td_stop_clean(&d);
	td_cleanup(&d);
}
END_TEST

START_TEST(test_clean_restart)
{
	const size_t bs = 64 * KiB;
	const uint64_t n = 600; /* 37.5 MiB: part on NVMe, part only in 16 MiB of DRAM */
	struct tierd d;
	struct tier_stats s;
	tier_client *c;
	uint32_t ns;

	td_init(&d, "clean-restart");
	td_start(&d);
	c = td_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kv", bs, &ns), 0);
	tk_put_range(c, ns, 3, 0, n, bs);
	h_stats(c, &s);
	ck_assert_uint_gt(h_tier(&s, "host")->blocks, 0);
	ck_assert_uint_lt(h_tier(&s, "nvme")->blocks, n);
	tier_close(c);

	for (int round = 0; round < 2; round++) {
		struct tk_tally t = { 0 };

		td_stop_clean(&d);
		td_start(&d);
		c = td_connect(&d);
		ck_assert_int_eq(tier_namespace(c, "kv", bs, &ns), 0);
		h_stats(c, &s);
		ck_assert_uint_eq(h_tier(&s, "nvme")->blocks, n);
		ck_assert_uint_eq(h_tier(&s, "host")->blocks, 0);
		tk_get_range(c, ns, 3, 0, n, bs, &t);
		ck_assert_uint_eq(t.ok, n);
		ck_assert_uint_eq(t.wrong + t.missing + t.errors, 0);
		h_stats(c, &s);
		ck_assert_uint_eq(h_tier(&s, "nvme")->checksum_failures, 0);
		tier_close(c);
	}
	td_stop_clean(&d);
	td_cleanup(&d);
}
END_TEST

/* Run tierctl with args; its stdout (caller frees). */
static char *run_tierctl(const char *sock, const char *verb, const char *opt)
{
	size_t len = 0, cap = 1 << 16;
	char *out = malloc(cap);
	int fds[2], status;
	pid_t pid;
	ssize_t r;

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(h_tierctl_path, h_tierctl_path, "-s", sock, verb, opt, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while ((r = read(fds[0], out + len, cap - len - 1)) > 0 || (r < 0 && errno == EINTR)) {
		if (r < 0)
			continue;
		len += (size_t)r;
		if (cap - len < 2) {
			cap *= 2;
			out = realloc(out, cap);
			ck_assert_ptr_nonnull(out);
		}
	}
	close(fds[0]);
	out[len] = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "tierctl %s %s: status 0x%x",
		      verb, opt ? opt : "", status);
	return out;
}

static uint64_t json_u64(json_object *o, const char *field)
{
	json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, field, &v), "no field %s", field);
	ck_assert_msg(json_object_is_type(v, json_type_int), "%s is not an integer", field);
	return json_object_get_uint64(v);
}

static double json_double(json_object *o, const char *field)
{
	json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, field, &v), "no field %s", field);
	ck_assert_msg(json_object_is_type(v, json_type_double) ||
			      json_object_is_type(v, json_type_int),
		      "%s is not a number", field);
	return json_object_get_double(v);
}

static bool same_double(double a, double b)
{
	return fabs(a - b) <= 1e-9 * fmax(1.0, fabs(b));
}

START_TEST(test_stats_json)
{
	const size_t bs = 64 * KiB;
	struct tierd d;
	struct tier_stats s, s2;
	struct tk_tally t = { 0 };
	const struct tier_tier_stats *nv;
	json_object *root = NULL, *tiers, *o = NULL;
	tier_client *c;
	uint32_t ns;
	int tries;

	td_init(&d, "stats-json");
	td_start(&d);
	c = td_connect(&d);
	ck_assert_int_eq(tier_namespace(c, "kv", bs, &ns), 0);
	tk_put_range(c, ns, 5, 0, 512, bs);
	tk_get_range(c, ns, 5, 0, 512, bs, &t);
	ck_assert_uint_eq(t.ok, 512);

	/* Compare while nothing moves: the same counters before and after the tierctl run. */
	for (tries = 0; tries < 20; tries++) {
		char *text;

		h_quiesce(c, &s);
		text = run_tierctl(d.sock, "stats", "--json");
		h_stats(c, &s2);
		if (root)
			json_object_put(root);
		root = json_tokener_parse(text);
		ck_assert_msg(root, "tierctl stats --json is not JSON:\n%s", text);
		free(text);
		if (memcmp(h_tier(&s, "nvme"), h_tier(&s2, "nvme"), sizeof(*nv)) == 0)
			break;
	}
	ck_assert_int_lt(tries, 20);
	nv = h_tier(&s, "nvme");

	ck_assert(json_object_object_get_ex(root, "tiers", &tiers));
	ck_assert(json_object_is_type(tiers, json_type_array));
	for (size_t i = 0; i < json_object_array_length(tiers); i++) {
		json_object *x = json_object_array_get_idx(tiers, i), *name;

		if (json_object_object_get_ex(x, "name", &name) &&
		    strcmp(json_object_get_string(name), "nvme") == 0)
			o = x;
	}
	ck_assert_msg(o, "no nvme entry in tiers[]");
	ck_assert_uint_eq(json_u64(o, "read_bytes"), nv->read_bytes);
	ck_assert_uint_eq(json_u64(o, "write_bytes"), nv->write_bytes);
	ck_assert_uint_eq(json_u64(o, "promotions"), nv->promotions);
	ck_assert_uint_eq(json_u64(o, "demotions"), nv->demotions);
	ck_assert_uint_eq(json_u64(o, "io_errors"), nv->io_errors);
	ck_assert_uint_eq(json_u64(o, "checksum_failures"), nv->checksum_failures);
	/* No fault here: nothing read twice, nothing lost. */
	ck_assert_uint_eq(json_u64(o, "read_retries"), 0);
	ck_assert_uint_eq(json_u64(o, "read_losses"), 0);
	ck_assert_uint_eq(json_u64(o, "queue_depth"), nv->queue_depth);
	ck_assert_uint_eq(json_u64(o, "blocks"), nv->blocks);
	ck_assert_uint_eq(json_u64(o, "capacity_bytes"), nv->capacity_bytes);
	ck_assert(same_double(json_double(o, "read_p50_us"), nv->read_p50_us));
	ck_assert(same_double(json_double(o, "read_p99_us"), nv->read_p99_us));
	ck_assert(same_double(json_double(o, "write_p50_us"), nv->write_p50_us));
	ck_assert(same_double(json_double(o, "write_p99_us"), nv->write_p99_us));
	/* The workload did move blocks both ways. */
	ck_assert_uint_gt(nv->read_bytes, 0);
	ck_assert_uint_gt(nv->write_bytes, 0);
	ck_assert_uint_gt(nv->promotions, 0);
	ck_assert_uint_gt(nv->demotions, 0);
	ck_assert(nv->read_p50_us > 0 && nv->read_p50_us <= nv->read_p99_us);
	ck_assert(nv->write_p50_us > 0 && nv->write_p50_us <= nv->write_p99_us);
	json_object_put(root);
	tier_close(c);
	td_stop_clean(&d);
	td_cleanup(&d);
}
END_TEST

static Suite *nvme_data_suite(void)
{
	Suite *s = suite_create("nvme_data");
	TCase *tc = tcase_create("nvme");

	tcase_set_timeout(tc, 120);
	h_add_test(tc, test_past_dram_byte_exact);
	h_add_test(tc, test_prefetch_makes_host_hits);
	h_add_test(tc, test_prefetch_wider_than_host);
	h_add_test(tc, test_flush_durable);
	h_add_test(tc, test_flush_without_nvme);
	h_add_test(tc, test_clean_restart);
	h_add_test(tc, test_stats_json);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	return h_main(argc, argv, nvme_data_suite());
}
