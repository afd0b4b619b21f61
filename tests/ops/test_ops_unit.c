/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the operations code with no daemon: log rate limiting
 * (log.c), validation of the administration messages (validate.c), the
 * config table's live column against the example tierd.conf, config_diff,
 * metrics.listen parsing, and the Prometheus renderer's escaping.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../policies/policy.h"
#include "../helpers/testutil.h"
#include "config.h"
#include "log.h"
#include "prom.h"
#include "validate.h"

/* Run fn with stderr going to a file; its text into buf. */
static void capture_stderr(void (*fn)(void), char *buf, size_t len)
{
	char path[] = "/tmp/tierd-logtest.XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	dup2(fd, STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(path);
}

static int count_lines(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void storm(void)
{
	log_set_ratelimit(300, 5);
	for (int i = 0; i < 100; i++)
		log_emit(LOG_ERR, "device error %d", i);
	log_emit(LOG_WARNING, "another site");
	for (int i = 0; i < 10; i++)
		log_emit(LOG_DEBUG, "debug lines are not limited %d", i);
	usleep(350 * 1000);
	log_emit(LOG_ERR, "device error %d", 100);
}

START_TEST(test_log_ratelimit)
{
	static char buf[65536];
	unsigned long long before = log_suppressed_total();

	log_set_level(LOG_DEBUG);
	capture_stderr(storm, buf, sizeof(buf));
	/* 5 of the storm, then after the interval one summary and the next line. */
	ck_assert_int_eq(count_lines(buf, "<3>device error"), 6);
	ck_assert_ptr_nonnull(strstr(buf, "<3>device error 4\n"));
	ck_assert_ptr_null(strstr(buf, "<3>device error 5\n"));
	ck_assert_ptr_nonnull(strstr(buf, "<3>suppressed 95 messages like \"device error %d\"\n"
					  "<3>device error 100\n"));
	ck_assert_int_eq(count_lines(buf, "<4>another site\n"), 1);
	ck_assert_int_eq(count_lines(buf, "<7>debug lines are not limited"), 10);
	ck_assert_uint_eq(log_suppressed_total() - before, 95);
	log_set_ratelimit(LOG_RATELIMIT_INTERVAL_MS, LOG_RATELIMIT_BURST);
	log_set_level(LOG_INFO);
}
END_TEST

/* ---- validation of the admin messages ------------------------------------ */

static int check(uint16_t type, const void *body, size_t blen)
{
	size_t len = sizeof(struct tier_msg_hdr) + blen;
	uint8_t *buf = malloc(len); /* exact size: ASan sees any overread */
	struct tier_msg_hdr h = { .magic = TIER_PROTO_MAGIC, .type = type, .seq = 1 }, rh;
	const void *rb;
	size_t rl;
	int r;

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), body, blen);
	r = validate_msg(buf, len, 1, &rh, &rb, &rl);
	free(buf);
	return r;
}

START_TEST(test_validate_admin)
{
	struct tier_msg_admin a = { .max = 10 };
	struct tier_msg_policy p = { .tier = TIER_HOST };
	struct tier_msg_evict e = { .tier = TIER_HOST, .bytes = 1 };
	struct tier_msg_ns_drop d = { .name = "ns" };
	uint8_t big[256] = { 0 };
	static const uint16_t lists[] = { TIER_MSG_STATUS, TIER_MSG_CLIENTS, TIER_MSG_NAMESPACES,
					  TIER_MSG_CONFIG };

	for (size_t i = 0; i < 4; i++) {
		ck_assert_int_eq(check(lists[i], &a, sizeof(a)), 0);
		ck_assert_int_eq(check(lists[i], &a, sizeof(a) - 1), -EINVAL);
		ck_assert_int_eq(check(lists[i], big, sizeof(a) + 1), -EINVAL);
		a.pad = 1;
		ck_assert_int_eq(check(lists[i], &a, sizeof(a)), -EINVAL);
		a.pad = 0;
	}
	/* POLICY: show (no name), set (a name), nothing else */
	ck_assert_int_eq(check(TIER_MSG_POLICY, &p, sizeof(p)), 0);
	ck_assert_int_eq(check(TIER_MSG_POLICY, &p, sizeof(p) - 1), -EINVAL);
	strcpy(p.name, "lru");
	ck_assert_int_eq(check(TIER_MSG_POLICY, &p, sizeof(p)), -EINVAL);
	p.flags = TIER_POLICY_SET;
	ck_assert_int_eq(check(TIER_MSG_POLICY, &p, sizeof(p)), 0);
	p.flags = 2;
	ck_assert_int_eq(check(TIER_MSG_POLICY, &p, sizeof(p)), -EINVAL);
	p.flags = TIER_POLICY_SET;
	memset(p.name, 'x', sizeof(p.name)); /* no NUL */
	ck_assert_int_eq(check(TIER_MSG_POLICY, &p, sizeof(p)), -EINVAL);
	memset(p.name, 0, sizeof(p.name));
	ck_assert_int_eq(check(TIER_MSG_POLICY, &p, sizeof(p)), -EINVAL); /* set, no name */
	p = (struct tier_msg_policy){ .tier = TIER_COUNT };
	ck_assert_int_eq(check(TIER_MSG_POLICY, &p, sizeof(p)), -EINVAL);
	/* EVICT */
	ck_assert_int_eq(check(TIER_MSG_EVICT, &e, sizeof(e)), 0);
	memcpy(big, &e, sizeof(e));
	ck_assert_int_eq(check(TIER_MSG_EVICT, big, sizeof(e) + 8), -EINVAL);
	e.bytes = 0;
	ck_assert_int_eq(check(TIER_MSG_EVICT, &e, sizeof(e)), -EINVAL);
	e = (struct tier_msg_evict){ .tier = 7, .bytes = 1 };
	ck_assert_int_eq(check(TIER_MSG_EVICT, &e, sizeof(e)), -EINVAL);
	e = (struct tier_msg_evict){ .tier = TIER_NVME, .pad = 1, .bytes = 1 };
	ck_assert_int_eq(check(TIER_MSG_EVICT, &e, sizeof(e)), -EINVAL);
	/* NS_DROP */
	ck_assert_int_eq(check(TIER_MSG_NS_DROP, &d, sizeof(d)), 0);
	ck_assert_int_eq(check(TIER_MSG_NS_DROP, &d, sizeof(d) - 1), -EINVAL);
	memset(d.name, 'a', sizeof(d.name));
	ck_assert_int_eq(check(TIER_MSG_NS_DROP, &d, sizeof(d)), -EINVAL);
	memset(d.name, 0, sizeof(d.name));
	ck_assert_int_eq(check(TIER_MSG_NS_DROP, &d, sizeof(d)), -EINVAL);
}
END_TEST

/* ---- config -------------------------------------------------------------- */

START_TEST(test_example_live_tags)
{
	char line[512], sect[32] = "";
	FILE *f = fopen(DIST_DIR "/tierd.conf", "r");
	int keys = 0;

	ck_assert_ptr_nonnull(f);
	/* "# help [live]" / "# help [restart]" then "#key = value" */
	bool live = false, tagged = false;

	while (fgets(line, sizeof(line), f)) {
		char key[64];

		if (line[0] == '[') {
			sscanf(line, "[%31[^]]", sect);
		} else if (!strncmp(line, "# ", 2) && strstr(line, " [live]\n")) {
			live = tagged = true;
		} else if (!strncmp(line, "# ", 2) && strstr(line, " [restart]\n")) {
			live = false;
			tagged = true;
		} else if (sscanf(line, "#%63[a-z_] =", key) == 1) {
			ck_assert_msg(tagged, "%s.%s has no [live]/[restart] tag", sect, key);
			ck_assert_msg(config_key_live(sect, key) == live, "%s.%s: tag disagrees", sect,
				      key);
			tagged = false;
			keys++;
		}
	}
	fclose(f);
	ck_assert_int_ge(keys, 20);
	ck_assert_int_eq(config_key_live("host", "size"), 0);
	ck_assert_int_eq(config_key_live("policy", "evict"), 1);
	ck_assert_int_eq(config_key_live("no", "such"), -ENOENT);
}
END_TEST

struct diff_rec {
	int n, live;
	char last[64];
};

static void on_diff(void *arg, const char *section, const char *key, const char *old_value,
		    const char *new_value, bool live)
{
	struct diff_rec *r = arg;

	r->n++;
	r->live += live;
	snprintf(r->last, sizeof(r->last), "%s.%s:%s>%s", section, key, old_value, new_value);
}

START_TEST(test_config_diff_and_listen)
{
	static struct tierd_config a, b;
	struct diff_rec r = { 0 };
	char err[256];
	bool loop;
	unsigned len;
	uint8_t sa[128];

	config_defaults(&a);
	b = a;
	ck_assert_int_eq(config_diff(&a, &b, on_diff, &r), 0);
	ck_assert_int_eq(config_set_override(&b, "host.size=1G", err, sizeof(err)), 0);
	ck_assert_int_eq(config_set_override(&b, "policy.evict=sieve", err, sizeof(err)), 0);
	ck_assert_int_eq(config_diff(&a, &b, on_diff, &r), 2);
	ck_assert_int_eq(r.live, 1);
	ck_assert_str_eq(r.last, "policy.evict:" TIER_EVICT_DEFAULT ">sieve");

	ck_assert_int_eq(config_parse_listen("127.0.0.1:9464", sa, &len, &loop), 0);
	ck_assert(loop);
	ck_assert_int_eq(config_parse_listen("[::1]:9464", sa, &len, &loop), 0);
	ck_assert(loop);
	ck_assert_int_eq(config_parse_listen("localhost:1", sa, &len, &loop), 0);
	ck_assert(loop);
	ck_assert_int_eq(config_parse_listen("10.0.0.1:80", sa, &len, &loop), 0);
	ck_assert(!loop);
	ck_assert_int_eq(config_parse_listen("127.0.0.1", sa, &len, &loop), -EINVAL);
	ck_assert_int_eq(config_parse_listen("127.0.0.1:0", sa, &len, &loop), -EINVAL);
	ck_assert_int_eq(config_parse_listen("127.0.0.1:65536", sa, &len, &loop), -EINVAL);
	ck_assert_int_eq(config_parse_listen("example.com:80", sa, &len, &loop), -EINVAL);
	b = a;
	ck_assert_int_eq(config_set_override(&b, "metrics.listen=10.1.2.3:9464", err, sizeof(err)), 0);
	ck_assert_int_eq(config_validate(&b, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "metrics.allow_remote"));
	ck_assert_int_eq(config_set_override(&b, "metrics.allow_remote=on", err, sizeof(err)), 0);
	ck_assert_int_eq(config_validate(&b, err, sizeof(err)), 0);
	ck_assert_int_eq(config_set_override(&b, "daemon.socket_group=a:b", err, sizeof(err)),
			 -EINVAL);
}
END_TEST

START_TEST(test_prom_escaping)
{
	struct tier_stats s = { .size = sizeof(s), .n_tiers = 1, .version = "0.1.0",
				.policy_evict = "lru" };
	struct tier_ns_info ns = { .name = "a\"b\\c\nd\xff", .blocks = 3 };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	strcpy(s.tiers[0].name, "host");
	s.tiers[0].hits = UINT64_MAX; /* exact, not rounded through a double */
	ck_assert_int_eq(tier_prom_render(f, &s, &ns, 1, NULL, NULL), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "tierd_namespace_blocks{namespace=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(text, "tierd_tier_hits_total{tier=\"host\"} 18446744073709551615\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE tierd_tier_hits_total counter\n"));
	ck_assert_ptr_null(strstr(text, "tierd_tier_read_bytes_total")); /* nvme only */
	free(text);
}
END_TEST

/* The latency histogram: octave buckets in seconds, cumulative, +Inf = count, sum. */
START_TEST(test_prom_latency_histogram)
{
	struct tier_stats s = { .size = sizeof(s), .version = "0.1.0", .policy_evict = "lru" };
	struct tier_io_latency lat = { .size = sizeof(lat), .nvme = 1 };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	for (int k = 0; k < TIER_LATENCY_BUCKETS; k++)
		lat.read.le[k] = k < 6 ? 0 : k < 10 ? 40 : 50; /* 40 I/Os in (32, 64] us */
	lat.read.count = 51;                                  /* one slower than 8.4 s */
	lat.read.sum_us = 40 * 50.0 + 10 * 600.0 + 9e6;
	ck_assert_int_eq(tier_prom_render(f, &s, NULL, 0, NULL, &lat), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "# TYPE tierd_nvme_io_latency_seconds histogram\n"));
	ck_assert_ptr_nonnull(strstr(text,
		"tierd_nvme_io_latency_seconds_bucket{op=\"read\",le=\"3.2e-05\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text,
		"tierd_nvme_io_latency_seconds_bucket{op=\"read\",le=\"6.4e-05\"} 40\n"));
	ck_assert_ptr_nonnull(strstr(text,
		"tierd_nvme_io_latency_seconds_bucket{op=\"read\",le=\"8.388608\"} 50\n"));
	ck_assert_ptr_nonnull(strstr(text,
		"tierd_nvme_io_latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 51\n"));
	ck_assert_ptr_nonnull(strstr(text, "tierd_nvme_io_latency_seconds_count{op=\"read\"} 51\n"));
	ck_assert_ptr_nonnull(strstr(text, "tierd_nvme_io_latency_seconds_sum{op=\"read\"} 9.008\n"));
	ck_assert_ptr_nonnull(strstr(text, "tierd_nvme_io_latency_seconds_count{op=\"write\"} 0\n"));
	free(text);
	/* Without an NVMe tier, no family at all. */
	lat.nvme = 0;
	f = open_memstream(&text, &len);
	ck_assert_int_eq(tier_prom_render(f, &s, NULL, 0, NULL, &lat), 0);
	fclose(f);
	ck_assert_ptr_null(strstr(text, "tierd_nvme_io_latency_seconds"));
	free(text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ops_unit");
	TCase *tc = tcase_create("ops_unit");

	tcase_add_test(tc, test_log_ratelimit);
	tcase_add_test(tc, test_validate_admin);
	tcase_add_test(tc, test_example_live_tags);
	tcase_add_test(tc, test_config_diff_and_listen);
	tcase_add_test(tc, test_prom_escaping);
	tcase_add_test(tc, test_prom_latency_histogram);
	suite_add_tcase(s, tc);
	return t_run_suite(s);
}
