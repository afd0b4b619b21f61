/* SPDX-License-Identifier: MIT */
/*
 * tierctl: look at (and later steer) a running tierd.  A verb table plus
 * getopt_long, in the manner of systemd's small control tools.  It uses only
 * libtier, i.e. nothing that any other client could not use.
 *
 * Exit codes: 0 success, 1 the daemon answered with an error or could not be
 * reached, 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tier.h"

#define MAX_NS 1024

static const char *socket_path;

struct verb {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

static int connect_or_complain(tier_client **c)
{
	int r = tier_connect(socket_path, c);

	if (r < 0)
		fprintf(stderr, "tierctl: cannot reach tierd at %s: %s\n",
			socket_path ? socket_path
				    : (getenv("TIER_SOCKET") ? getenv("TIER_SOCKET")
							      : TIER_DEFAULT_SOCKET),
			tier_strerror(r));
	return r;
}

static json_object *tier_json(const struct tier_tier_stats *t)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(t->name));
	json_object_object_add(o, "capacity_bytes", json_object_new_uint64(t->capacity_bytes));
	json_object_object_add(o, "used_bytes", json_object_new_uint64(t->used_bytes));
	json_object_object_add(o, "blocks", json_object_new_uint64(t->blocks));
	json_object_object_add(o, "pinned_blocks", json_object_new_uint64(t->pinned_blocks));
	json_object_object_add(o, "hits", json_object_new_uint64(t->hits));
	json_object_object_add(o, "misses", json_object_new_uint64(t->misses));
	json_object_object_add(o, "evictions", json_object_new_uint64(t->evictions));
	if (strcmp(t->name, "nvme") == 0) {
		json_object_object_add(o, "read_bytes", json_object_new_uint64(t->read_bytes));
		json_object_object_add(o, "write_bytes", json_object_new_uint64(t->write_bytes));
		json_object_object_add(o, "promotions", json_object_new_uint64(t->promotions));
		json_object_object_add(o, "demotions", json_object_new_uint64(t->demotions));
		json_object_object_add(o, "io_errors", json_object_new_uint64(t->io_errors));
		json_object_object_add(o, "checksum_failures",
				       json_object_new_uint64(t->checksum_failures));
		json_object_object_add(o, "queue_depth", json_object_new_uint64(t->queue_depth));
		json_object_object_add(o, "read_p50_us", json_object_new_double(t->read_p50_us));
		json_object_object_add(o, "read_p99_us", json_object_new_double(t->read_p99_us));
		json_object_object_add(o, "write_p50_us", json_object_new_double(t->write_p50_us));
		json_object_object_add(o, "write_p99_us", json_object_new_double(t->write_p99_us));
	}
	return o;
}

static json_object *stats_json(const struct tier_stats *s, const struct tier_ns_stats *ns, int n)
{
	json_object *o = json_object_new_object(), *tiers = json_object_new_array();
	json_object *nss = json_object_new_array(), *ops = json_object_new_object();

	json_object_object_add(o, "version", json_object_new_string(s->version));
	json_object_object_add(o, "uptime_s", json_object_new_uint64(s->uptime_s));
	json_object_object_add(o, "clients", json_object_new_uint64(s->clients));
	json_object_object_add(o, "policy_evict", json_object_new_string(s->policy_evict));
	for (uint32_t i = 0; i < s->n_tiers && i < TIER_COUNT; i++)
		json_object_array_add(tiers, tier_json(&s->tiers[i]));
	json_object_object_add(o, "tiers", tiers);
	for (int i = 0; i < n; i++) {
		json_object *x = json_object_new_object();

		json_object_object_add(x, "name", json_object_new_string(ns[i].name));
		json_object_object_add(x, "id", json_object_new_uint64(ns[i].id));
		json_object_object_add(x, "block_size", json_object_new_uint64(ns[i].block_size));
		json_object_object_add(x, "blocks", json_object_new_uint64(ns[i].blocks));
		json_object_object_add(x, "hits", json_object_new_uint64(ns[i].hits));
		json_object_object_add(x, "misses", json_object_new_uint64(ns[i].misses));
		json_object_array_add(nss, x);
	}
	json_object_object_add(o, "namespaces", nss);
#define OP(f) json_object_object_add(ops, #f, json_object_new_uint64(s->ops.f))
	OP(alloc);
	OP(commit);
	OP(lookup);
	OP(acquire);
	OP(release);
	OP(drop);
	OP(errors);
	OP(prefetch);
	OP(flush);
#undef OP
	json_object_object_add(o, "ops", ops);
	return o;
}

static void human_bytes(uint64_t b, char *buf, size_t len)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static void stats_table(const struct tier_stats *s, const struct tier_ns_stats *ns, int n)
{
	printf("tierd %s  up %" PRIu64 " s  clients %" PRIu64 "  policy %s\n\n", s->version,
	       s->uptime_s, s->clients, s->policy_evict);
	printf("%-6s %12s %12s %6s %10s %8s %12s %12s %10s\n", "TIER", "CAPACITY", "USED", "USE%",
	       "BLOCKS", "PINNED", "HITS", "MISSES", "EVICTIONS");
	for (uint32_t i = 0; i < s->n_tiers && i < TIER_COUNT; i++) {
		const struct tier_tier_stats *t = &s->tiers[i];
		char cap[32], used[32];

		human_bytes(t->capacity_bytes, cap, sizeof(cap));
		human_bytes(t->used_bytes, used, sizeof(used));
		printf("%-6s %12s %12s %5.1f%% %10" PRIu64 " %8" PRIu64 " %12" PRIu64 " %12" PRIu64
		       " %10" PRIu64 "\n",
		       t->name, cap, used,
		       t->capacity_bytes ? 100.0 * (double)t->used_bytes / (double)t->capacity_bytes
					 : 0.0,
		       t->blocks, t->pinned_blocks, t->hits, t->misses, t->evictions);
	}
	for (uint32_t i = 0; i < s->n_tiers && i < TIER_COUNT; i++) {
		const struct tier_tier_stats *t = &s->tiers[i];
		char rd[32], wr[32];

		if (strcmp(t->name, "nvme"))
			continue;
		human_bytes(t->read_bytes, rd, sizeof(rd));
		human_bytes(t->write_bytes, wr, sizeof(wr));
		printf("\nnvme: read %s  written %s  promotions %" PRIu64 "  demotions %" PRIu64
		       "  queue %" PRIu64 "\n      io errors %" PRIu64 "  checksum failures %" PRIu64
		       "  read p50/p99 %.0f/%.0f us  write p50/p99 %.0f/%.0f us\n",
		       rd, wr, t->promotions, t->demotions, t->queue_depth, t->io_errors,
		       t->checksum_failures, t->read_p50_us, t->read_p99_us, t->write_p50_us,
		       t->write_p99_us);
	}
	printf("\n%-24s %12s %10s %12s %12s %8s\n", "NAMESPACE", "BLOCK SIZE", "BLOCKS", "HITS",
	       "MISSES", "HIT%");
	for (int i = 0; i < n; i++) {
		char bs[32];
		uint64_t tot = ns[i].hits + ns[i].misses;

		human_bytes(ns[i].block_size, bs, sizeof(bs));
		printf("%-24s %12s %10" PRIu64 " %12" PRIu64 " %12" PRIu64 " %7.1f%%\n", ns[i].name,
		       bs, ns[i].blocks, ns[i].hits, ns[i].misses,
		       tot ? 100.0 * (double)ns[i].hits / (double)tot : 0.0);
	}
	printf("\nops: alloc %" PRIu64 "  commit %" PRIu64 "  lookup %" PRIu64 "  acquire %" PRIu64
	       "  release %" PRIu64 "  drop %" PRIu64 "  errors %" PRIu64 "\n",
	       s->ops.alloc, s->ops.commit, s->ops.lookup, s->ops.acquire, s->ops.release,
	       s->ops.drop, s->ops.errors);
}

static int verb_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	static struct tier_ns_stats ns[MAX_NS];
	struct tier_stats s = { .size = sizeof(s) };
	bool json = false;
	tier_client *c;
	int o, n;

	optind = 1;
	while ((o = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (o) {
		case 'j':
			json = true;
			break;
		case 'h':
			printf("Usage: tierctl stats [--json]\n"
			       "Show what is in each tier: capacity, usage, blocks, pins, hits,\n"
			       "misses, evictions; namespaces; operation counts.\n"
			       "  --json   one JSON object (for scripts)\n");
			return 0;
		default:
			return 2;
		}
	}
	if (connect_or_complain(&c) < 0)
		return 1;
	n = tier_stats_get(c, &s, ns, MAX_NS);
	tier_close(c);
	if (n < 0) {
		fprintf(stderr, "tierctl: stats: %s\n", tier_strerror(n));
		return 1;
	}
	if (json) {
		json_object *o2 = stats_json(&s, ns, n);

		puts(json_object_to_json_string_ext(o2, JSON_C_TO_STRING_PRETTY |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o2);
	} else {
		stats_table(&s, ns, n);
	}
	return 0;
}

/* Find a namespace id by name through the stats (any client can). */
static int ns_by_name(tier_client *c, const char *name, uint32_t *ret)
{
	static struct tier_ns_stats ns[MAX_NS];
	struct tier_stats s = { .size = sizeof(s) };
	int n = tier_stats_get(c, &s, ns, MAX_NS);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		if (strcmp(ns[i].name, name) == 0) {
			*ret = ns[i].id;
			return 0;
		}
	return -ENOENT;
}

static int verb_flush(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "namespace", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *name = NULL;
	uint32_t ns = TIER_NS_ALL;
	tier_client *c;
	int o, r;

	optind = 1;
	while ((o = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			name = optarg;
			break;
		case 'h':
			printf("Usage: tierctl flush [--namespace NAME]\n"
			       "Make every block (of one namespace, or of all) durable on NVMe:\n"
			       "written, journaled and synced.  Returns when done.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (connect_or_complain(&c) < 0)
		return 1;
	if (name && (r = ns_by_name(c, name, &ns)) < 0) {
		fprintf(stderr, "tierctl: flush: namespace '%s': %s\n", name, tier_strerror(r));
		tier_close(c);
		return 1;
	}
	r = tier_flush(c, ns);
	tier_close(c);
	if (r < 0) {
		fprintf(stderr, "tierctl: flush: %s\n", tier_strerror(r));
		return 1;
	}
	return 0;
}

static const struct verb verbs[] = {
	{ "stats", "show counters of every tier and namespace", verb_stats },
	{ "flush", "make blocks durable on NVMe", verb_flush },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: tierctl [-s SOCKET] VERB [OPTIONS]\n\n"
		   "  -s, --socket PATH   tierd's socket (default: $TIER_SOCKET, else %s)\n"
		   "  -h, --help          this text; VERB --help for a verb\n\nVerbs:\n",
		TIER_DEFAULT_SOCKET);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int o;

	/* '+': stop at the verb; its options are its own. */
	while ((o = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			socket_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[optind], verbs[i].name) == 0)
			return verbs[i].run(argc - optind, argv + optind);
	fprintf(stderr, "tierctl: unknown verb '%s'\n", argv[optind]);
	usage(stderr);
	return 2;
}
