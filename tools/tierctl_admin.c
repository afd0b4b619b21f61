/* SPDX-License-Identifier: MIT */
/*
 * tierctl verbs beyond stats and flush: tiers, namespaces, clients, config
 * (read-only, any client may ask), and policy, evict, drop, ns-delete (they change what
 * every client sees: the daemon allows them to root and its own user only,
 * and says -EPERM to anyone else).  Each verb: getopt_long, --help, --json
 * where the output is for scripts.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tierctl.h"

#define MAX_CLIENTS 4096

static void print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/*
 * The common option loop of the read-only verbs: --json and --help.
 * Returns -1 to go on, else the exit code.
 */
static int simple_opts(int argc, char **argv, bool *json, const char *help, bool args)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (o) {
		case 'j':
			if (!json)
				return EXIT_USAGE;
			*json = true;
			break;
		case 'h':
			fputs(help, stdout);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (!args && optind < argc) {
		fprintf(stderr, "tierctl: %s: unexpected argument '%s'\n", argv[0], argv[optind]);
		return EXIT_USAGE;
	}
	return -1;
}

static const char *tier_label(int id)
{
	return id == TIER_GPU ? "gpu" : id == TIER_HOST ? "host" : id == TIER_NVME ? "nvme" : "?";
}

int verb_tiers(int argc, char **argv)
{
	struct tier_stats s = { .size = sizeof(s) };
	char pol[TIER_COUNT][TIER_POLICY_NAME_MAX + 1];
	bool json = false;
	tier_client *c;
	int r = simple_opts(argc, argv, &json,
			    "Usage: tierctl tiers [--json]\n"
			    "List the tiers: capacity, usage, blocks, pins, eviction policy.\n"
			    "  --json   a JSON array (for scripts)\n", false);

	if (r >= 0)
		return r;
	if (tierctl_connect(&c) < 0)
		return EXIT_DAEMON;
	r = tier_stats_get(c, &s, NULL, 0);
	for (uint32_t i = 0; r >= 0 && i < s.n_tiers && i < TIER_COUNT; i++) {
		int id = tierctl_parse_tier(s.tiers[i].name);

		pol[i][0] = 0;
		if (id >= 0)
			r = tier_admin_policy(c, (enum tier_id)id, NULL, pol[i]);
	}
	tier_close(c);
	if (r < 0)
		return tierctl_fail("tiers", r);
	if (json) {
		json_object *a = json_object_new_array();

		for (uint32_t i = 0; i < s.n_tiers && i < TIER_COUNT; i++) {
			const struct tier_tier_stats *t = &s.tiers[i];
			json_object *o = json_object_new_object();

			json_object_object_add(o, "name", json_object_new_string(t->name));
			json_object_object_add(o, "policy", json_object_new_string(pol[i]));
			json_object_object_add(o, "capacity_bytes",
					       json_object_new_uint64(t->capacity_bytes));
			json_object_object_add(o, "used_bytes", json_object_new_uint64(t->used_bytes));
			json_object_object_add(o, "blocks", json_object_new_uint64(t->blocks));
			json_object_object_add(o, "pinned_blocks",
					       json_object_new_uint64(t->pinned_blocks));
			json_object_object_add(o, "hits", json_object_new_uint64(t->hits));
			json_object_object_add(o, "misses", json_object_new_uint64(t->misses));
			json_object_object_add(o, "evictions", json_object_new_uint64(t->evictions));
			json_object_array_add(a, o);
		}
		print_json(a);
		return EXIT_OK;
	}
	printf("%s%-6s %-10s %12s %12s %6s %10s %8s%s\n", tierctl_bold(), "TIER", "POLICY",
	       "CAPACITY", "USED", "USE%", "BLOCKS", "PINNED", tierctl_reset());
	for (uint32_t i = 0; i < s.n_tiers && i < TIER_COUNT; i++) {
		const struct tier_tier_stats *t = &s.tiers[i];
		char cap[32], used[32];

		tierctl_human_bytes(t->capacity_bytes, cap, sizeof(cap));
		tierctl_human_bytes(t->used_bytes, used, sizeof(used));
		printf("%-6s %-10s %12s %12s %5.1f%% %10" PRIu64 " %8" PRIu64 "\n", t->name, pol[i],
		       cap, used,
		       t->capacity_bytes ? 100.0 * (double)t->used_bytes / (double)t->capacity_bytes
					 : 0.0,
		       t->blocks, t->pinned_blocks);
	}
	return EXIT_OK;
}

int verb_namespaces(int argc, char **argv)
{
	static struct tier_ns_info ns[MAX_NS];
	bool json = false;
	tier_client *c;
	int n, r = simple_opts(argc, argv, &json,
			       "Usage: tierctl namespaces [--json]\n"
			       "List the namespaces: block size, blocks, bytes, hits, misses,\n"
			       "evictions, promotions, demotions, blocks only in host memory.\n"
			       "  --json   a JSON array (for scripts)\n", false);

	if (r >= 0)
		return r;
	if (tierctl_connect(&c) < 0)
		return EXIT_DAEMON;
	n = tier_admin_namespaces(c, ns, MAX_NS);
	tier_close(c);
	if (n < 0)
		return tierctl_fail("namespaces", n);
	if (json) {
		json_object *a = json_object_new_array();

		for (int i = 0; i < n; i++) {
			json_object *o = json_object_new_object();

#define U(f) json_object_object_add(o, #f, json_object_new_uint64(ns[i].f))
			json_object_object_add(o, "name", json_object_new_string(ns[i].name));
			U(id);
			U(block_size);
			U(blocks);
			U(bytes);
			U(hits);
			U(misses);
			U(evictions);
			U(promotions);
			U(demotions);
			U(dirty_blocks);
			U(host_bytes);
			U(quota_host);
			U(nvme_bytes);
			U(quota_nvme);
#undef U
			json_object_array_add(a, o);
		}
		print_json(a);
		return EXIT_OK;
	}
	printf("%s%-24s %10s %10s %12s %12s %12s %10s %10s %10s %21s%s\n", tierctl_bold(),
	       "NAMESPACE", "BLOCK SIZE", "BLOCKS", "BYTES", "HITS", "MISSES", "EVICTIONS",
	       "PROMOTED", "DEMOTED", "HOST USE/QUOTA", tierctl_reset());
	for (int i = 0; i < n; i++) {
		char bs[32], by[32], hu[32], hq[32], quota[72];

		tierctl_human_bytes(ns[i].block_size, bs, sizeof(bs));
		tierctl_human_bytes(ns[i].bytes, by, sizeof(by));
		tierctl_human_bytes(ns[i].host_bytes, hu, sizeof(hu));
		tierctl_human_bytes(ns[i].quota_host, hq, sizeof(hq));
		snprintf(quota, sizeof(quota), "%s/%s", hu, ns[i].quota_host ? hq : "-");
		printf("%-24s %10s %10" PRIu64 " %12s %12" PRIu64 " %12" PRIu64 " %10" PRIu64
		       " %10" PRIu64 " %10" PRIu64 " %21s\n",
		       tierctl_esc(ns[i].name), bs, ns[i].blocks, by, ns[i].hits, ns[i].misses, ns[i].evictions,
		       ns[i].promotions, ns[i].demotions, quota);
	}
	return EXIT_OK;
}

int verb_clients(int argc, char **argv)
{
	static struct tier_client_info cl[MAX_CLIENTS];
	bool json = false;
	tier_client *c;
	int n, r = simple_opts(argc, argv, &json,
			       "Usage: tierctl clients [--json]\n"
			       "List connected clients (this tierctl among them): pid, uid, name,\n"
			       "pins held, requests made.\n"
			       "  --json   a JSON array (for scripts)\n", false);

	if (r >= 0)
		return r;
	if (tierctl_connect(&c) < 0)
		return EXIT_DAEMON;
	n = tier_admin_clients(c, cl, MAX_CLIENTS);
	tier_close(c);
	if (n < 0)
		return tierctl_fail("clients", n);
	if (json) {
		json_object *a = json_object_new_array();

		for (int i = 0; i < n; i++) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "id", json_object_new_uint64(cl[i].id));
			json_object_object_add(o, "pid", json_object_new_int(cl[i].pid));
			json_object_object_add(o, "uid", json_object_new_uint64(cl[i].uid));
			json_object_object_add(o, "gid", json_object_new_uint64(cl[i].gid));
			json_object_object_add(o, "name", json_object_new_string(cl[i].name));
			json_object_object_add(o, "pins", json_object_new_uint64(cl[i].pins));
			json_object_object_add(o, "ops", json_object_new_uint64(cl[i].ops));
			json_object_array_add(a, o);
		}
		print_json(a);
		return EXIT_OK;
	}
	printf("%s%6s %8s %8s %-20s %10s %12s%s\n", tierctl_bold(), "ID", "PID", "UID", "NAME",
	       "PINS", "OPS", tierctl_reset());
	for (int i = 0; i < n; i++)
		printf("%6u %8d %8u %-20s %10" PRIu64 " %12" PRIu64 "\n", cl[i].id, cl[i].pid,
		       cl[i].uid, tierctl_esc(cl[i].name), cl[i].pins, cl[i].ops);
	return EXIT_OK;
}

int verb_config(int argc, char **argv)
{
	static char text[65536];
	tier_client *c;
	int r = simple_opts(argc, argv, NULL,
			    "Usage: tierctl config\n"
			    "Print the configuration in force, as INI (what tierd --check-config\n"
			    "prints for a file; after a reload, what took effect).\n", false);

	if (r >= 0)
		return r;
	if (tierctl_connect(&c) < 0)
		return EXIT_DAEMON;
	r = tier_admin_config(c, text, sizeof(text));
	tier_close(c);
	if (r < 0)
		return tierctl_fail("config", r);
	tierctl_fputs_text(text, stdout);
	return EXIT_OK;
}

int verb_policy(int argc, char **argv)
{
	static const char help[] =
		"Usage: tierctl policy [--json] [TIER [NAME]]\n"
		"Show the eviction policy of every tier (or of TIER), or switch TIER\n"
		"(host, nvme) to the policy NAME at once.  If NAME cannot start, the old\n"
		"policy stays.  Switching needs root or the daemon's user.  A reload\n"
		"(SIGHUP) puts the configuration file's policy back.\n"
		"  --json   show as a JSON object {tier: policy}\n";
	bool json = false;
	tier_client *c;
	char name[TIER_POLICY_NAME_MAX + 1];
	int tier = -1, r = simple_opts(argc, argv, &json, help, true);

	if (r >= 0)
		return r;
	if (argc - optind > 2) {
		fputs(help, stderr);
		return EXIT_USAGE;
	}
	if (optind < argc) {
		tier = tierctl_parse_tier(argv[optind]);
		if (tier < 0) {
			fprintf(stderr, "tierctl: policy: '%s' is not a tier (host, nvme)\n",
				argv[optind]);
			return EXIT_USAGE;
		}
	}
	if (tierctl_connect(&c) < 0)
		return EXIT_DAEMON;
	if (argc - optind == 2) {
		r = tier_admin_policy(c, (enum tier_id)tier, argv[optind + 1], name);
		tier_close(c);
		if (r == -ENOENT) {
			fprintf(stderr, "tierctl: policy: no eviction policy called '%s'\n",
				argv[optind + 1]);
			return EXIT_DAEMON;
		}
		if (r < 0)
			return tierctl_fail("policy", r);
		printf("%s: %s\n", tier_label(tier), tierctl_esc(name));
		return EXIT_OK;
	}
	json_object *o = json ? json_object_new_object() : NULL;

	for (int t = 0; t < TIER_COUNT; t++) {
		if (tier >= 0 && t != tier)
			continue;
		r = tier_admin_policy(c, (enum tier_id)t, NULL, name);
		if (r == -ENODEV && tier < 0)
			continue; /* a tier this daemon does not have */
		if (r < 0) {
			tier_close(c);
			json_object_put(o);
			return tierctl_fail("policy", r);
		}
		if (o)
			json_object_object_add(o, tier_label(t), json_object_new_string(name));
		else
			printf("%s: %s\n", tier_label(t), tierctl_esc(name));
	}
	tier_close(c);
	if (o)
		print_json(o);
	return EXIT_OK;
}

int verb_evict(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tier", required_argument, NULL, 't' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	static const char help[] =
		"Usage: tierctl evict --tier TIER --bytes N [--json]\n"
		"Evict about N bytes (K/M/G suffixes) from TIER (host, nvme) now, in the\n"
		"policy's order; pinned blocks stay.  With an NVMe tier, blocks leaving\n"
		"host memory are written there first.  Needs root or the daemon's user.\n";
	uint64_t bytes = 0, got_bytes, got_blocks;
	bool json = false;
	int tier = -1, o, r;
	tier_client *c;

	optind = 1;
	while ((o = getopt_long(argc, argv, "t:b:jh", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			tier = tierctl_parse_tier(optarg);
			if (tier < 0) {
				fprintf(stderr, "tierctl: evict: '%s' is not a tier (host, nvme)\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'b':
			if (tierctl_parse_size(optarg, &bytes) < 0 || !bytes) {
				fprintf(stderr, "tierctl: evict: --bytes: '%s' is not a size\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(help, stdout);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (tier < 0 || !bytes || optind < argc) {
		fputs(help, stderr);
		return EXIT_USAGE;
	}
	if (tierctl_connect(&c) < 0)
		return EXIT_DAEMON;
	r = tier_admin_evict(c, (enum tier_id)tier, bytes, &got_bytes, &got_blocks);
	tier_close(c);
	if (r < 0)
		return tierctl_fail("evict", r);
	if (json) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "tier", json_object_new_string(tier_label(tier)));
		json_object_object_add(j, "bytes", json_object_new_uint64(got_bytes));
		json_object_object_add(j, "blocks", json_object_new_uint64(got_blocks));
		print_json(j);
	} else {
		char b[32];

		tierctl_human_bytes(got_bytes, b, sizeof(b));
		printf("evicted %" PRIu64 " blocks (%s) from %s\n", got_blocks, b, tier_label(tier));
	}
	return EXIT_OK;
}

int verb_drop(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "namespace", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	static const char help[] =
		"Usage: tierctl drop --namespace NAME\n"
		"Drop every block of the namespace NAME from every tier.  Pinned blocks\n"
		"vanish from lookups at once and are freed on their last release; the\n"
		"namespace stays, empty.  Needs root or the daemon's user.\n";
	const char *name = NULL;
	tier_client *c;
	int o, r;

	optind = 1;
	while ((o = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			name = optarg;
			break;
		case 'h':
			fputs(help, stdout);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (!name || !*name || optind < argc) {
		fputs(help, stderr);
		return EXIT_USAGE;
	}
	if (tierctl_connect(&c) < 0)
		return EXIT_DAEMON;
	r = tier_admin_drop_namespace(c, name);
	tier_close(c);
	if (r == -ENOENT) {
		fprintf(stderr, "tierctl: drop: no namespace called '%s'\n", name);
		return EXIT_DAEMON;
	}
	if (r < 0)
		return tierctl_fail("drop", r);
	printf("dropped %d blocks of %s\n", r, name);
	return EXIT_OK;
}

int verb_ns_delete(int argc, char **argv)
{
	static const char help[] =
		"Usage: tierctl ns-delete NAME\n"
		"Delete the namespace NAME: every block of it goes from every tier (pinned\n"
		"ones vanish from lookups at once and are freed on their last release) and\n"
		"the name with them, journalled so that a restart does not bring it back.\n"
		"Clients that had it open get -ENOENT until they open it again (which\n"
		"creates it anew).  A namespace whose [ns.NAME] section sets block_size\n"
		"exists again at once, empty, with that size.  Needs root or the daemon's\n"
		"user.\n";
	tier_client *c;
	int r = simple_opts(argc, argv, NULL, help, true);

	if (r >= 0)
		return r;
	if (optind + 1 != argc || !argv[optind][0]) {
		fputs(help, stderr);
		return EXIT_USAGE;
	}
	if (tierctl_connect(&c) < 0)
		return EXIT_DAEMON;
	r = tier_admin_delete_namespace(c, argv[optind]);
	tier_close(c);
	if (r == -ENOENT) {
		fprintf(stderr, "tierctl: ns-delete: no namespace called '%s'\n",
			tierctl_esc(argv[optind]));
		return EXIT_DAEMON;
	}
	if (r < 0)
		return tierctl_fail("ns-delete", r);
	printf("deleted namespace %s (%d blocks)\n", tierctl_esc(argv[optind]), r);
	return EXIT_OK;
}
