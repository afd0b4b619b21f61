/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of configuration parsing (tierd/config.c): every key, sizes
 * with suffixes, files and strings, -o overrides, the checks against the
 * machine, and the rule that every error message names its key.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../helpers/testutil.h"
#include "config.h"
#include "../../policies/policy.h"
#include "log.h"

#define MiB (1ULL << 20)

static char tmpdir[64];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tierd-test-config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)!system(cmd);
}

static const char *write_file(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return path;
}

START_TEST(test_defaults)
{
	struct tierd_config c;
	char err[256] = "";

	unsetenv("RUNTIME_DIRECTORY");
	config_defaults(&c);
	ck_assert_str_eq(c.socket, DEFAULT_SOCKET_PATH);
	ck_assert_int_eq(c.log_level, LOG_INFO);
	ck_assert_uint_eq(c.max_clients, DEFAULT_MAX_CLIENTS);
	ck_assert_uint_eq(c.max_namespaces, DEFAULT_MAX_NAMESPACES);
	ck_assert_uint_eq(c.host_bytes, DEFAULT_HOST_BYTES);
	ck_assert_int_eq(c.numa_node, -1);
	ck_assert_int_eq(c.hugepages, HUGEPAGES_AUTO);
	ck_assert_str_eq(c.policy_evict, TIER_EVICT_DEFAULT);
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), 0);

	/* Under systemd, the socket goes to $RUNTIME_DIRECTORY. */
	setenv("RUNTIME_DIRECTORY", "/run/tierd-x", 1);
	config_defaults(&c);
	ck_assert_str_eq(c.socket, "/run/tierd-x/tierd.sock");
	unsetenv("RUNTIME_DIRECTORY");
}
END_TEST

static const struct {
	const char *text;
	uint64_t value;
} sizes[] = {
	{ "0", 0 },
	{ "1048576", 1048576 },
	{ "4K", 4096 },
	{ "4k", 4096 },
	{ "64M", 64 * MiB },
	{ "512m", 512 * MiB },
	{ "2G", 2048 * MiB },
	{ "1T", 1ULL << 40 },
	{ "4GB", 4096 * MiB },
	{ "4GiB", 4096 * MiB },
	{ " 32M ", 32 * MiB },
	{ "16383P", UINT64_MAX }, /* invalid: marker below */
	{ "banana", UINT64_MAX },
	{ "", UINT64_MAX },
	{ "-1M", UINT64_MAX },
	{ "12Q", UINT64_MAX },
	{ "1.5G", UINT64_MAX },
	{ "M", UINT64_MAX },
	{ "4 G B", UINT64_MAX },
	{ "99999999999999999999", UINT64_MAX },
	{ "17179869184G", UINT64_MAX }, /* 2^34 GiB: over 64 bits */
};

START_TEST(test_parse_size)
{
	uint64_t v = 12345;
	int r = config_parse_size(sizes[_i].text, &v);

	if (sizes[_i].value == UINT64_MAX) {
		ck_assert_msg(r < 0, "'%s' accepted as %llu", sizes[_i].text,
			      (unsigned long long)v);
		ck_assert_uint_eq(v, 12345); /* untouched on error */
	} else {
		ck_assert_msg(r == 0, "'%s' refused (%d)", sizes[_i].text, r);
		ck_assert_uint_eq(v, sizes[_i].value);
	}
}
END_TEST

START_TEST(test_good_file_every_key)
{
	const char *path = write_file("good.conf",
				      "# a comment\n"
				      "[daemon]\n"
				      "socket = /tmp/x/tierd.sock\n"
				      "log_level = debug\n"
				      "max_clients = 17\n"
				      "max_namespaces = 9\n"
				      "\n"
				      "[host]\n"
				      "size = 64M\n"
				      "numa_node = 0\n"
				      "hugepages = off\n"
				      "\n"
				      "[policy]\n"
				      "evict = lru\n");
	struct tierd_config c;
	char err[512] = "";

	config_defaults(&c);
	ck_assert_msg(config_load_file(&c, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c.socket, "/tmp/x/tierd.sock");
	ck_assert_int_eq(c.log_level, LOG_DEBUG);
	ck_assert_uint_eq(c.max_clients, 17);
	ck_assert_uint_eq(c.max_namespaces, 9);
	ck_assert_uint_eq(c.host_bytes, 64 * MiB);
	ck_assert_int_eq(c.numa_node, 0);
	ck_assert_int_eq(c.hugepages, HUGEPAGES_OFF);
	ck_assert_str_eq(c.policy_evict, "lru");
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), 0);
}
END_TEST

/* Good values, one key at a time: section, key, value, and a check. */
static const struct {
	const char *section, *key, *value;
} good_values[] = {
	{ "daemon", "log_level", "err" },     { "daemon", "log_level", "warning" },
	{ "daemon", "log_level", "notice" },  { "daemon", "log_level", "info" },
	{ "daemon", "log_level", "7" },       { "daemon", "max_clients", "1" },
	{ "daemon", "max_clients", "65536" }, { "daemon", "max_namespaces", "4096" },
	{ "host", "size", "4M" },             { "host", "size", "1G" },
	{ "host", "size", "8192K" },          { "host", "numa_node", "auto" },
	{ "host", "numa_node", "3" },         { "host", "hugepages", "auto" },
	{ "host", "hugepages", "on" },        { "host", "hugepages", "off" },
	{ "policy", "evict", "lru" },         { "daemon", "socket", "/a" },
};

START_TEST(test_good_values)
{
	struct tierd_config c, d;
	char text[256], err[512] = "", out[4096];

	config_defaults(&c);
	snprintf(text, sizeof(text), "[%s]\n%s = %s\n", good_values[_i].section,
		 good_values[_i].key, good_values[_i].value);
	ck_assert_msg(config_load_string(&c, text, err, sizeof(err)) == 0, "%s: %s", text, err);
	/* config_format writes what parses back to the same config. */
	config_format(&c, out, sizeof(out));
	config_defaults(&d);
	ck_assert_msg(config_load_string(&d, out, err, sizeof(err)) == 0, "%s", err);
	ck_assert_mem_eq(&c, &d, sizeof(c));
}
END_TEST

START_TEST(test_specific_values)
{
	struct tierd_config c;
	char err[256];

	config_defaults(&c);
	ck_assert_int_eq(config_set(&c, "host", "numa_node", "3", err, sizeof(err)), 0);
	ck_assert_int_eq(c.numa_node, 3);
	ck_assert_int_eq(config_set(&c, "host", "numa_node", "auto", err, sizeof(err)), 0);
	ck_assert_int_eq(c.numa_node, -1);
	ck_assert_int_eq(config_set(&c, "host", "hugepages", "on", err, sizeof(err)), 0);
	ck_assert_int_eq(c.hugepages, HUGEPAGES_ON);
	ck_assert_int_eq(config_set(&c, "host", "hugepages", "auto", err, sizeof(err)), 0);
	ck_assert_int_eq(c.hugepages, HUGEPAGES_AUTO);
	ck_assert_int_eq(config_set(&c, "host", "size", "3G", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.host_bytes, 3072 * MiB);
	ck_assert_int_eq(config_set(&c, "daemon", "log_level", "warning", err, sizeof(err)), 0);
	ck_assert_int_eq(c.log_level, LOG_WARNING);
}
END_TEST

/* Bad files: the error names the key (section.key) and the value is refused. */
static const struct {
	const char *text;
	const char *must_name;
	int err;
} bad_files[] = {
	{ "[daemon]\nsockett = /x\n", "daemon.sockett", -ENOENT },
	{ "[host]\nsize = banana\n", "host.size", -EINVAL },
	{ "[host]\nsize = 12Q\n", "host.size", -EINVAL },
	{ "[host]\nsize =\n", "host.size", -EINVAL },
	{ "[host]\nnuma_node = -1\n", "host.numa_node", -EINVAL },
	{ "[host]\nnuma_node = first\n", "host.numa_node", -EINVAL },
	{ "[host]\nhugepages = yes\n", "host.hugepages", -EINVAL },
	{ "[host]\nnvme = /dev/x\n", "host.nvme", -ENOENT },
	{ "[daemon]\nlog_level = loud\n", "daemon.log_level", -EINVAL },
	{ "[daemon]\nmax_clients = 0\n", "daemon.max_clients", -EINVAL },
	{ "[daemon]\nmax_clients = 65537\n", "daemon.max_clients", -EINVAL },
	{ "[daemon]\nmax_clients = 12abc\n", "daemon.max_clients", -EINVAL },
	{ "[daemon]\nmax_namespaces = -3\n", "daemon.max_namespaces", -EINVAL },
	{ "[daemon]\nmax_namespaces = 4097\n", "daemon.max_namespaces", -EINVAL },
	{ "[daemon]\nsocket = \n", "daemon.socket", -EINVAL },
	/* 108 bytes: one more than sun_path holds with its NUL. */
	{ "[daemon]\nsocket = /0123456789012345678901234567890123456789012345678901234567890123"
	  "4567890123456789012345678901234567890123456\n",
	  "daemon.socket", -EINVAL },
	{ "[policy]\nevict = belady\n", "policy.evict", -EINVAL },
	{ "[nosuch]\nsize = 4M\n", "nosuch.size", -ENOENT },
	/* The first bad key is reported even when good keys follow. */
	{ "[host]\nsize = 64M\nhugepages = maybe\nnuma_node = 0\n", "host.hugepages", -EINVAL },
};

START_TEST(test_bad_files)
{
	const char *path = write_file("bad.conf", bad_files[_i].text);
	struct tierd_config c;
	char err[512] = "";
	int r;

	config_defaults(&c);
	r = config_load_file(&c, path, err, sizeof(err));
	ck_assert_msg(r == bad_files[_i].err, "%s: got %d (%s)", bad_files[_i].text, r, err);
	ck_assert_msg(strstr(err, bad_files[_i].must_name), "'%s' does not name %s", err,
		      bad_files[_i].must_name);
	ck_assert_msg(strstr(err, path), "'%s' does not name the file", err);
	/* Same through the string parser. */
	config_defaults(&c);
	err[0] = 0;
	ck_assert_int_eq(config_load_string(&c, bad_files[_i].text, err, sizeof(err)),
			 bad_files[_i].err);
	ck_assert_msg(strstr(err, bad_files[_i].must_name), "'%s'", err);
}
END_TEST

START_TEST(test_file_errors)
{
	struct tierd_config c;
	char err[512] = "", path[128];

	config_defaults(&c);
	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	ck_assert_int_eq(config_load_file(&c, path, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, path));
	/* A syntax error says where. */
	err[0] = 0;
	ck_assert_int_eq(config_load_file(&c, write_file("syn.conf", "[host]\nsize 4M\n"), err,
					  sizeof(err)),
			 -EINVAL);
	ck_assert_msg(strstr(err, "line 2"), "'%s'", err);
}
END_TEST

/* Sizes the machine cannot hold, and sizes below the minimum. */
START_TEST(test_validate_sizes)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	uint64_t phys = (uint64_t)pages * (uint64_t)psz;
	struct tierd_config c;
	char err[512] = "";

	config_defaults(&c);
	c.host_bytes = phys + (1ULL << 30);
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "host.size"), "'%s'", err);
	err[0] = 0;
	c.host_bytes = MIN_HOST_BYTES - 1;
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "host.size"), "'%s'", err);
	c.host_bytes = 0;
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), -EINVAL);
	c.host_bytes = MIN_HOST_BYTES;
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), 0);
	c.host_bytes = 32 * MiB;
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_overrides)
{
	const char *path = write_file("o.conf", "[host]\nsize = 64M\nhugepages = on\n");
	struct tierd_config c;
	char err[512] = "";

	config_defaults(&c);
	ck_assert_int_eq(config_load_file(&c, path, err, sizeof(err)), 0);
	/* -o comes after the file and wins; keys it does not name keep the file's values. */
	ck_assert_int_eq(config_set_override(&c, "host.size=32M", err, sizeof(err)), 0);
	ck_assert_int_eq(config_set_override(&c, "daemon.socket=/tmp/t/s.sock", err, sizeof(err)),
			 0);
	ck_assert_int_eq(config_set_override(&c, "policy.evict=lru", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.host_bytes, 32 * MiB);
	ck_assert_int_eq(c.hugepages, HUGEPAGES_ON);
	ck_assert_str_eq(c.socket, "/tmp/t/s.sock");
	/* A value may contain '=' and '.'. */
	ck_assert_int_eq(config_set_override(&c, "daemon.socket=/tmp/a.b=c", err, sizeof(err)), 0);
	ck_assert_str_eq(c.socket, "/tmp/a.b=c");

	ck_assert_int_eq(config_set_override(&c, "host.size=banana", err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "host.size"), "'%s'", err);
	ck_assert_uint_eq(c.host_bytes, 32 * MiB);
	ck_assert_int_eq(config_set_override(&c, "host.colour=blue", err, sizeof(err)), -ENOENT);
	ck_assert_msg(strstr(err, "host.colour"), "'%s'", err);
	static const char *const malformed[] = { "host.size", "hostsize=4M", "=4M", ".size=4M",
						 "host.=4M", "host=a.b" };
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		err[0] = 0;
		ck_assert_msg(config_set_override(&c, malformed[i], err, sizeof(err)) < 0, "%s",
			      malformed[i]);
		ck_assert_msg(err[0], "no message for %s", malformed[i]);
	}
	ck_assert_uint_eq(c.host_bytes, 32 * MiB);
}
END_TEST

/* [ns.NAME] arena: parsed, defaulted for restricted namespaces, required, formatted. */
START_TEST(test_ns_arena)
{
	struct tierd_config c, d;
	const struct ns_rule *r;
	char err[512] = "", text[8192];

	config_defaults(&c);
	ck_assert_int_eq(config_set_override(&c, "ns.vault.arena=8M", err, sizeof(err)), 0);
	r = nsrule_find(&c.ns_rules, "vault");
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->arena, 8 * MiB);
	ck_assert_uint_eq(nsrule_arena_bytes(r), 8 * MiB);
	/* Rounded up to whole 2 MiB extents. */
	ck_assert_int_eq(config_set_override(&c, "ns.vault.arena=3M", err, sizeof(err)), 0);
	ck_assert_uint_eq(nsrule_arena_bytes(r), 4 * MiB);
	/* Not a size, or zero: refused with the key named; the old value stays. */
	ck_assert_int_eq(config_set_override(&c, "ns.vault.arena=lots", err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "ns.vault.arena"), "'%s'", err);
	ck_assert_int_eq(config_set_override(&c, "ns.vault.arena=0", err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(nsrule_arena_bytes(r), 4 * MiB);
	/* The unknown-key message lists it. */
	ck_assert_int_eq(config_set_override(&c, "ns.vault.arenas=1M", err, sizeof(err)), -ENOENT);
	ck_assert_msg(strstr(err, "arena,"), "'%s'", err);
	/* An open namespace without the key shares the arena; with a quota too. */
	ck_assert_int_eq(config_set_override(&c, "ns.open.quota_host=6M", err, sizeof(err)), 0);
	ck_assert_uint_eq(nsrule_arena_bytes(nsrule_find(&c.ns_rules, "open")), 0);
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), 0);

	/* Restricted without arena nor quota_host: the config is refused, naming it. */
	ck_assert_int_eq(config_set_override(&c, "ns.tenant.owner=0", err, sizeof(err)), 0);
	err[0] = 0;
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "ns.tenant") && strstr(err, "arena"), "'%s'", err);
	/* Its quota_host is its arena then. */
	ck_assert_int_eq(config_set_override(&c, "ns.tenant.quota_host=5M", err, sizeof(err)), 0);
	r = nsrule_find(&c.ns_rules, "tenant");
	ck_assert_uint_eq(nsrule_arena_bytes(r), 6 * MiB);
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), 0);
	/* arena = shared: an explicit choice to share, no private arena... */
	ck_assert_int_eq(config_set_override(&c, "ns.tenant.arena=shared", err, sizeof(err)), 0);
	ck_assert(r->arena_shared);
	ck_assert_uint_eq(nsrule_arena_bytes(r), 0);
	/* ...refused without host.verify: neither confidentiality nor integrity. */
	err[0] = 0;
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "ns.tenant") && strstr(err, "host.verify"), "'%s'", err);
	ck_assert_int_eq(config_set_override(&c, "host.verify=on", err, sizeof(err)), 0);
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), 0);

	/* The config in force shows it, and reads back to the same arenas. */
	ck_assert_int_lt(config_format(&c, text, sizeof(text)), (int)sizeof(text));
	ck_assert_msg(strstr(text, "[ns.vault]\narena = 3145728\n") &&
			      strstr(text, "arena = shared\n"),
		      "%s", text);
	d = c;
	ck_assert(nsrule_same_arenas(&c.ns_rules, &d.ns_rules));
	ck_assert_int_eq(config_set_override(&d, "ns.vault.arena=6M", err, sizeof(err)), 0);
	ck_assert(!nsrule_same_arenas(&c.ns_rules, &d.ns_rules));
	d = c;
	ck_assert_int_eq(config_set_override(&d, "ns.new.arena=2M", err, sizeof(err)), 0);
	ck_assert(!nsrule_same_arenas(&c.ns_rules, &d.ns_rules));
	ck_assert(!nsrule_same_arenas(&d.ns_rules, &c.ns_rules));
}
END_TEST

/*
 * A namespace section whose keys are all empty means nothing (it restricts
 * nobody and has no arena, quota or salt); the config in force leaves it
 * out, so what it prints reads back to itself (fuzz_config found the section
 * printed alone, which libinih does not report and which then vanished).
 */
START_TEST(test_ns_empty_section)
{
	static char text[16384], again[16384];
	struct tierd_config c, d;
	char err[512] = "";

	config_defaults(&c);
	ck_assert_int_eq(config_load_string(&c, "[ns.idle]\nsalt =\ngroups =\n", err, sizeof(err)),
			 0);
	ck_assert(!nsrule_restricted(nsrule_find(&c.ns_rules, "idle")));
	ck_assert_int_lt(config_format(&c, text, sizeof(text)), (int)sizeof(text));
	ck_assert_msg(!strstr(text, "[ns.idle]"), "%s", text);
	config_defaults(&d);
	ck_assert_int_eq(config_load_string(&d, text, err, sizeof(err)), 0);
	ck_assert_int_lt(config_format(&d, again, sizeof(again)), (int)sizeof(again));
	ck_assert_str_eq(text, again);
	/* With one key set it is printed, and reads back the same. */
	ck_assert_int_eq(config_set_override(&c, "ns.idle.salt=s1", err, sizeof(err)), 0);
	ck_assert_int_lt(config_format(&c, text, sizeof(text)), (int)sizeof(text));
	ck_assert_msg(strstr(text, "[ns.idle]\nsalt = s1\n"), "%s", text);
	config_defaults(&d);
	ck_assert_int_eq(config_load_string(&d, text, err, sizeof(err)), 0);
	ck_assert_int_lt(config_format(&d, again, sizeof(again)), (int)sizeof(again));
	ck_assert_str_eq(text, again);
}
END_TEST

/*
 * What a config file cannot hold is refused wherever it comes from, so the
 * config in force always prints as a file that reads back to it (these were
 * fuzz_config's findings: docs/RELIABILITY.md, "Findings").
 */
START_TEST(test_round_trip_limits)
{
	static char text[16384], again[16384], long_path[300] = "nvme.path=/";
	struct tierd_config c, d;
	char err[512] = "", sect[80];

	config_defaults(&c);
	/* A line of more than 198 bytes: libinih reads lines of 200 with the newline. */
	memset(long_path + strlen(long_path), 'a', 229);
	ck_assert_int_eq(config_set_override(&c, long_path, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "nvme.path") && strstr(err, "at most 198"), "'%s'", err);
	ck_assert_str_eq(c.nvme_paths[0], "");
	long_path[11 + 190] = 0; /* "path = /" and 190 bytes: 198 */
	ck_assert_int_eq(config_set_override(&c, long_path, err, sizeof(err)), 0);
	long_path[11 + 190] = 'a';
	long_path[11 + 191] = 0; /* one more */
	ck_assert_int_eq(config_set_override(&c, long_path, err, sizeof(err)), -EINVAL);
	/* The same line in a file: refused too. */
	config_defaults(&d);
	snprintf(text, sizeof(text), "[nvme]\npath=%s\n", long_path + 10);
	ck_assert_int_lt(config_load_string(&d, text, err, sizeof(err)), 0);
	/* A comment: ';' or '#' first, or after a blank. */
	ck_assert_int_eq(config_set_override(&c, "nvme.path=/data/a ;b", err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "comment"), "'%s'", err);
	ck_assert_int_eq(config_set_override(&c, "nvme.path=;x", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(config_set_override(&c, "daemon.socket=/run/a #b", err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(config_set_override(&c, "ns.t.salt=x ;y", err, sizeof(err)), -EINVAL);
	/* Not after a blank it is part of the value, and reads back whole. */
	ck_assert_int_eq(config_set_override(&c, "nvme.path=/data/a;b", err, sizeof(err)), 0);
	ck_assert_int_eq(config_set_override(&c, "ns.t.salt=x#y", err, sizeof(err)), 0);
	/* A rule's name must survive as a section: 46 bytes at most, no ']'. */
	memset(sect, 'n', sizeof(sect));
	memcpy(sect, "ns.", 3);
	strcpy(sect + 3 + 47, ".salt=s");
	ck_assert_int_eq(config_set_override(&c, sect, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "at most 46"), "'%s'", err);
	strcpy(sect + 3 + 46, ".salt=s");
	ck_assert_int_eq(config_set_override(&c, sect, err, sizeof(err)), 0);
	ck_assert_int_eq(config_set_override(&c, "ns.a]b.salt=s", err, sizeof(err)), -EINVAL);
	/* And in a file: a section name libinih would cut, or text after ']'. */
	config_defaults(&d);
	snprintf(text, sizeof(text), "[%.50s]\nsalt = s\n", sect);
	ck_assert_int_eq(config_load_string(&d, text, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "line 1") && strstr(err, "at most 49"), "'%s'", err);
	ck_assert_int_eq(config_load_string(&d, "[ns.a]b]\nsalt = s\n", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(config_load_string(&d, "[ns.a] ; fine\nsalt = s\n", err, sizeof(err)), 0);
	/* What was accepted prints and reads back to the same text. */
	ck_assert_int_lt(config_format(&c, text, sizeof(text)), (int)sizeof(text));
	config_defaults(&d);
	ck_assert_msg(config_load_string(&d, text, err, sizeof(err)) == 0, "%s\n%s", err, text);
	ck_assert_int_lt(config_format(&d, again, sizeof(again)), (int)sizeof(again));
	ck_assert_str_eq(text, again);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_parse_size, 0, (int)(sizeof(sizes) / sizeof(sizes[0])));
	tcase_add_test(tc, test_good_file_every_key);
	tcase_add_loop_test(tc, test_good_values, 0,
			    (int)(sizeof(good_values) / sizeof(good_values[0])));
	tcase_add_test(tc, test_specific_values);
	tcase_add_loop_test(tc, test_bad_files, 0, (int)(sizeof(bad_files) / sizeof(bad_files[0])));
	tcase_add_test(tc, test_file_errors);
	tcase_add_test(tc, test_validate_sizes);
	tcase_add_test(tc, test_overrides);
	tcase_add_test(tc, test_ns_arena);
	tcase_add_test(tc, test_ns_empty_section);
	tcase_add_test(tc, test_round_trip_limits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(config_suite());
}
