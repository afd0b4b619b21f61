/* SPDX-License-Identifier: MIT */
/*
 * tiersim: replay a KV-cache trace offline through the daemon's own policy
 * code and report hit ratios, next to Belady's optimum.  Only the command
 * line lives here; the replay is sim.c, the reader trace.c.
 *
 *   tiersim --trace FILE [--policy NAME] (--capacity-frac F | --capacity-blocks N) [--admit NAME]
 *           [--mode block|prefix] [--json]
 *   tiersim --trace FILE --all [--fracs 0.01,0.05,0.1,0.25] [--mode block|prefix] [--json]
 *   tiersim --gen FAMILY [--seed S] ... (a generated workload in place of --trace)
 *   tiersim --gen FAMILY [--seed S] --emit (print it as Mooncake JSONL)
 *   tiersim --memory [--capacity-blocks N] (every policy's state, measured)
 *   tiersim --list-policies | --list-admit | --list-prefetch | --list-gen
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "sim.h"

#define MAX_FRACS 16

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tiersim --trace FILE [--policy NAME] (--capacity-frac F | --capacity-blocks N)\n"
		"               [--admit NAME] [--block-tokens N] [--mode block|prefix] [--json]\n"
		"       tiersim --trace FILE --all [--fracs F,F,...] [--admit NAME] [--mode M] [--json]\n"
		"       tiersim --gen FAMILY [--seed S] (in place of --trace) [--emit]\n"
		"       tiersim --memory [--capacity-blocks N]\n"
		"       tiersim --list-policies | --list-admit | --list-prefetch | --list-gen\n"
		"\n"
		"Replays a Mooncake JSONL trace (one request a line, each hash id one block\n"
		"access; a miss inserts the block) through a tierd eviction policy.\n"
		"--policy belady is the offline optimum.  Without --policy: the daemon's\n"
		"default (" TIER_EVICT_DEFAULT ").  Capacity: round(F x unique blocks).\n"
		"--all runs every policy and Belady and prints gap closed =\n"
		"(policy - lru) / (belady - lru).\n"
		"--mode prefix replays as an engine looks up: a request's blocks after its\n"
		"first miss are computed again, not hits even when cached (Belady and the\n"
		"gap's bound stay block mode).  Default: block, as the trace README counts.\n"
		"--gen replays a generated workload (--list-gen; the seed defaults to 1);\n"
		"--emit prints it as JSONL instead.\n"
		"--memory creates every eviction policy with N slots and a capacity of N\n"
		"blocks (default 1000000) and prints the heap it takes (mallinfo2), per block.\n");
}

/* --mode prefix: every policy is replayed as an engine looks blocks up (sim.h). */
static bool prefix_mode;

static int run_one(const struct trace *t, const char *policy, const struct tier_admit_ops *ad,
		   uint32_t cap, uint32_t bt, struct sim_result *res)
{
	struct sim_config c = {.admit = ad, .capacity = cap, .block_tokens = bt,
			       .prefix_mode = prefix_mode};

	if (strcmp(policy, "belady") == 0)
		return sim_belady(t, cap, res);
	c.evict = tier_evict_find(policy);
	if (!c.evict)
		return -ENOENT;
	return sim_run(t, &c, res);
}

static void print_one(const char *policy, const char *admit, uint32_t cap, const struct sim_result *r,
		      bool json)
{
	if (json)
		printf("{\"policy\": \"%s\", \"admit\": \"%s\", \"capacity_blocks\": %u, "
		       "\"accesses\": %llu, \"hits\": %llu, \"hit_ratio\": %.6f, \"inserts\": %llu, "
		       "\"evictions\": %llu, \"rejected\": %llu, \"mode\": \"%s\", "
		       "\"stranded\": %llu}\n",
		       policy, admit, cap, (unsigned long long)r->accesses,
		       (unsigned long long)r->hits, r->hit_ratio, (unsigned long long)r->inserts,
		       (unsigned long long)r->evictions, (unsigned long long)r->rejected,
		       prefix_mode && strcmp(policy, "belady") ? "prefix" : "block",
		       (unsigned long long)r->stranded);
	else
		printf("policy %s admit %s capacity_blocks %u accesses %llu hits %llu hit_ratio %.4f\n",
		       policy, admit, cap, (unsigned long long)r->accesses,
		       (unsigned long long)r->hits, r->hit_ratio);
}

static int parse_fracs(const char *s, double *f, size_t *n)
{
	char *end;

	*n = 0;
	while (*s) {
		if (*n == MAX_FRACS)
			return -E2BIG;
		f[*n] = strtod(s, &end);
		if (end == s || f[*n] <= 0 || f[*n] > 1)
			return -EINVAL;
		(*n)++;
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			return -EINVAL;
	}
	return *n ? 0 : -EINVAL;
}

/* Every policy x every capacity, with Belady and the gap closed over LRU. */
static int run_all(const struct trace *t, const struct tier_admit_ops *ad, const double *fr,
		   size_t nf, uint32_t bt, bool json)
{
	size_t np;
	const struct tier_evict_ops *const *pl = tier_evict_list(&np);
	double lru[MAX_FRACS], opt[MAX_FRACS];
	const char *an = ad ? ad->name : "all";
	struct sim_result r;
	int e;

	for (size_t j = 0; j < nf; j++) {
		uint32_t cap = sim_capacity(t, fr[j]);

		if ((e = run_one(t, "lru", NULL, cap, bt, &r)) < 0)
			return e;
		lru[j] = r.hit_ratio;
		if ((e = sim_belady(t, cap, &r)) < 0)
			return e;
		opt[j] = r.hit_ratio;
	}
	if (json)
		printf("[\n");
	else {
		printf("%-10s", "policy");
		for (size_t j = 0; j < nf; j++)
			printf("   %5.2f%% hit   gap", fr[j] * 100);
		printf("\n");
	}
	for (size_t i = 0; i <= np; i++) {
		const char *name = i < np ? pl[i]->name : "belady";

		if (!json)
			printf("%-10s", name);
		for (size_t j = 0; j < nf; j++) {
			uint32_t cap = sim_capacity(t, fr[j]);
			double gap;

			if ((e = run_one(t, name, i < np ? ad : NULL, cap, bt, &r)) < 0)
				return e;
			gap = opt[j] > lru[j] ? (r.hit_ratio - lru[j]) / (opt[j] - lru[j]) : 0;
			if (json)
				printf("%s{\"policy\": \"%s\", \"admit\": \"%s\", \"capacity_frac\": %g, "
				       "\"capacity_blocks\": %u, \"accesses\": %llu, \"hits\": %llu, "
				       "\"hit_ratio\": %.6f, \"gap_closed\": %.4f}",
				       i || j ? ",\n" : "", name, i < np ? an : "belady", fr[j], cap,
				       (unsigned long long)r.accesses, (unsigned long long)r.hits,
				       r.hit_ratio, gap);
			else
				printf("     %.4f %+5.0f%%", r.hit_ratio, gap * 100);
		}
		if (!json)
			printf("\n");
	}
	if (json)
		printf("\n]\n");
	return 0;
}

/*
 * Every eviction policy's state, measured: the heap in use (malloc's own
 * count, mallinfo2: arena and mmapped chunks) after create minus before,
 * for n slots and a capacity of n blocks (a slot's state counts once per
 * block: in the daemon a slot is a cached block), over n.  Policies allocate
 * nothing after create (policy.h), so this is everything they keep.  Pages
 * the kernel has not touched yet count too: this is what they reserve.
 */
static int print_memory(uint32_t n, bool json)
{
	size_t np;
	const struct tier_evict_ops *const *pl = tier_evict_list(&np);
	struct tier_policy_params p = {.max_slots = n, .capacity = n};

	if (json)
		printf("[\n");
	for (size_t i = 0; i < np; i++) {
		struct mallinfo2 before = mallinfo2(), after;
		void *st = NULL;
		double bytes;
		int r = pl[i]->create(&p, &st);

		if (r < 0)
			return r;
		after = mallinfo2();
		bytes = (double)(after.uordblks + after.hblkhd) - (double)(before.uordblks + before.hblkhd);
		pl[i]->destroy(st);
		if (json)
			printf("%s{\"policy\": \"%s\", \"blocks\": %u, \"bytes\": %.0f, "
			       "\"bytes_per_block\": %.2f, \"declared_bytes_per_block\": %zu}",
			       i ? ",\n" : "", pl[i]->name, n, bytes, bytes / n, pl[i]->bytes_per_block);
		else
			printf("%-10s %10.2f bytes per block (%.0f bytes for %u blocks; declared %zu)\n",
			       pl[i]->name, bytes / n, bytes, n, pl[i]->bytes_per_block);
	}
	if (json)
		printf("\n]\n");
	return 0;
}

/* A trace as Mooncake JSONL, one request a line. */
static void emit_jsonl(const struct trace *t)
{
	for (size_t i = 0; i < t->n_req; i++) {
		const struct trace_req *q = &t->req[i];

		printf("{\"timestamp\": %llu, \"input_length\": %u, \"output_length\": %u, "
		       "\"hash_ids\": [", (unsigned long long)q->timestamp_ms, q->input_length,
		       q->output_length);
		for (uint32_t k = 0; k < q->n; k++)
			printf("%s%llu", k ? ", " : "", (unsigned long long)t->ids[q->first + k]);
		printf("]}\n");
	}
}

int main(int argc, char **argv)
{
	enum { O_LIST = 256, O_LIST_ADMIT, O_LIST_PREFETCH, O_ALL, O_FRACS, O_BT, O_MODE, O_GEN, O_SEED,
	       O_EMIT, O_LIST_GEN, O_MEMORY };
	static const struct option opts[] = {
		{"trace", required_argument, NULL, 't'},
		{"policy", required_argument, NULL, 'p'},
		{"admit", required_argument, NULL, 'a'},
		{"capacity-frac", required_argument, NULL, 'f'},
		{"capacity-blocks", required_argument, NULL, 'c'},
		{"block-tokens", required_argument, NULL, O_BT},
		{"mode", required_argument, NULL, O_MODE},
		{"json", no_argument, NULL, 'j'},
		{"all", no_argument, NULL, O_ALL},
		{"fracs", required_argument, NULL, O_FRACS},
		{"list-policies", no_argument, NULL, O_LIST},
		{"list-admit", no_argument, NULL, O_LIST_ADMIT},
		{"list-prefetch", no_argument, NULL, O_LIST_PREFETCH},
		{"gen", required_argument, NULL, O_GEN},
		{"seed", required_argument, NULL, O_SEED},
		{"emit", no_argument, NULL, O_EMIT},
		{"list-gen", no_argument, NULL, O_LIST_GEN},
		{"memory", no_argument, NULL, O_MEMORY},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *trace_path = NULL, *gen = NULL, *policy = TIER_EVICT_DEFAULT, *admit = NULL;
	const struct tier_admit_ops *ad = NULL;
	double frac = 0, fracs[MAX_FRACS] = {0.01, 0.05, 0.10, 0.25};
	size_t nfracs = 4, n, line = 0;
	unsigned long long blocks = 0, seed = 1;
	uint32_t bt = 0, cap;
	bool json = false, all = false, emit = false, memory = false;
	struct trace *t;
	struct sim_result res;
	char *end;
	int o, r;

	while ((o = getopt_long(argc, argv, "t:p:a:f:c:jh", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			trace_path = optarg;
			break;
		case 'p':
			policy = optarg;
			break;
		case 'a':
			admit = optarg;
			break;
		case 'f':
			frac = strtod(optarg, &end);
			if (*end || frac <= 0 || frac > 1) {
				fprintf(stderr, "tiersim: --capacity-frac wants a number in (0, 1]\n");
				return 2;
			}
			break;
		case 'c':
			blocks = strtoull(optarg, &end, 10);
			if (*end || !blocks || blocks >= UINT32_MAX) {
				fprintf(stderr, "tiersim: --capacity-blocks wants a positive count\n");
				return 2;
			}
			break;
		case O_MODE:
			if (strcmp(optarg, "block") && strcmp(optarg, "prefix")) {
				fprintf(stderr, "tiersim: --mode is block or prefix\n");
				return 2;
			}
			prefix_mode = !strcmp(optarg, "prefix");
			break;
		case O_GEN:
			gen = optarg;
			break;
		case O_SEED:
			seed = strtoull(optarg, &end, 0);
			if (*end || !*optarg) {
				fprintf(stderr, "tiersim: --seed wants a number\n");
				return 2;
			}
			break;
		case O_MEMORY:
			memory = true;
			break;
		case O_EMIT:
			emit = true;
			break;
		case O_LIST_GEN:
			for (size_t i = 0; gen_families[i]; i++)
				printf("%s\n", gen_families[i]);
			return 0;
		case O_BT:
			bt = (uint32_t)strtoul(optarg, &end, 10);
			if (*end || !bt) {
				fprintf(stderr, "tiersim: --block-tokens wants a positive count\n");
				return 2;
			}
			break;
		case 'j':
			json = true;
			break;
		case O_ALL:
			all = true;
			break;
		case O_FRACS:
			if (parse_fracs(optarg, fracs, &nfracs) < 0) {
				fprintf(stderr, "tiersim: --fracs wants up to %d numbers in (0, 1], comma-separated\n",
					MAX_FRACS);
				return 2;
			}
			break;
		case O_LIST: {
			const struct tier_evict_ops *const *l = tier_evict_list(&n);

			for (size_t i = 0; i < n; i++)
				printf("%s\t%s%s\n", l[i]->name, l[i]->summary,
				       strcmp(l[i]->name, TIER_EVICT_DEFAULT) ? "" : " [default]");
			printf("belady\toffline optimum: evicts the block used farthest in the future (tiersim only)\n");
			return 0;
		}
		case O_LIST_ADMIT: {
			const struct tier_admit_ops *const *l = tier_admit_list(&n);

			for (size_t i = 0; i < n; i++)
				printf("%s\t%s\n", l[i]->name, l[i]->summary);
			return 0;
		}
		case O_LIST_PREFETCH: {
			const struct tier_prefetch_ops *const *l = tier_prefetch_list(&n);

			for (size_t i = 0; i < n; i++)
				printf("%s\t%s\n", l[i]->name, l[i]->summary);
			return 0;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (memory && optind == argc && !trace_path && !gen) {
		r = print_memory(blocks ? (uint32_t)blocks : 1000000u, json);
		if (r < 0)
			fprintf(stderr, "tiersim: --memory: %s\n", strerror(-r));
		return r < 0 ? 1 : 0;
	}
	if (optind < argc || !trace_path == !gen || (!all && !emit && !frac && !blocks) ||
	    (emit && !gen)) {
		usage(stderr);
		return 2;
	}
	if (strcmp(policy, "belady") != 0 && !tier_evict_find(policy)) {
		fprintf(stderr, "tiersim: unknown policy '%s' (see --list-policies)\n", policy);
		return 2;
	}
	if (admit) {
		ad = tier_admit_find(admit);
		if (!ad) {
			fprintf(stderr, "tiersim: unknown admission policy '%s' (see --list-admit)\n", admit);
			return 2;
		}
	}

	if (gen) {
		r = gen_trace(gen, seed, &t);
		if (r < 0) {
			fprintf(stderr, "tiersim: --gen %s: %s\n", gen,
				r == -ENOENT ? "no such family (see --list-gen)" : strerror(-r));
			return r == -ENOENT ? 2 : 1;
		}
		if (emit) {
			emit_jsonl(t);
			trace_free(t);
			return 0;
		}
		goto loaded;
	}
	r = trace_load(trace_path, &t, &line);
	if (r == -EINVAL) {
		fprintf(stderr, "tiersim: %s:%zu: malformed trace line\n", trace_path, line);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr, "tiersim: %s: %s\n", trace_path, strerror(-r));
		return 1;
	}
loaded:
	if (all) {
		r = run_all(t, ad, fracs, nfracs, bt, json);
		goto out;
	}
	cap = blocks ? (uint32_t)blocks : sim_capacity(t, frac);
	r = run_one(t, policy, strcmp(policy, "belady") ? ad : NULL, cap, bt, &res);
	if (r == 0)
		print_one(policy, strcmp(policy, "belady") ? (ad ? ad->name : "all") : "belady", cap, &res,
			  json);
out:
	if (r < 0)
		fprintf(stderr, "tiersim: replay failed: %s\n", strerror(-r));
	trace_free(t);
	return r < 0 ? 1 : 0;
}
