/* SPDX-License-Identifier: MIT */
/*
 * tierctl: look at and steer a running tierd.  A verb table plus
 * getopt_long, in the manner of systemd's small control tools.  It uses only
 * libtier, i.e. nothing that any other client could not use (the
 * administration calls of LIBTIER_0.2 included; the daemon decides who may
 * change state).
 *
 * Exit codes: 0 success, 1 the daemon answered with an error or could not be
 * reached, 2 bad usage.  Colour only on a terminal; output to a pipe is
 * plain text.  This file: main, the verb table, shared helpers, stats and
 * flush; tierctl_admin.c: the other verbs.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "prom.h"
#include "config.h"
#include "name.h"
#include "tier.h"
#include "tierctl.h"

const char *tierctl_socket;

struct verb {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

int tierctl_connect(tier_client **c)
{
	int r = tier_connect(tierctl_socket, c);

	if (r < 0)
		fprintf(stderr, "tierctl: cannot reach tierd at %s: %s\n",
			tierctl_socket ? tierctl_socket
				    : (getenv("TIER_SOCKET") ? getenv("TIER_SOCKET")
							      : TIER_DEFAULT_SOCKET),
			tier_strerror(r));
	return r;
}

int tierctl_fail(const char *verb, int err)
{
	fprintf(stderr, "tierctl: %s: %s\n", verb, tier_strerror(err));
	return EXIT_DAEMON;
}

/*
 * Names come from the daemon, and through it from other clients: the daemon
 * refuses control bytes in them, and tierctl escapes them anyway (an older
 * daemon, a bug) so that nothing it prints can drive the terminal.
 */
const char *tierctl_esc(const char *s)
{
	static char buf[4][4 * 256 + 1];
	static unsigned k;
	const unsigned char *p = (const unsigned char *)s;
	char *out = buf[k++ % 4];
	size_t o = 0, left = strlen(s), n;

	while (left && o + 5 < sizeof(buf[0])) {
		n = *p == '\\' ? 0 : name_char_len(p, left);
		if (n == 0) {
			o += (size_t)snprintf(out + o, sizeof(buf[0]) - o, "\\x%02x", *p);
			n = 1;
		} else {
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
		left -= n;
	}
	out[o] = 0;
	return out;
}

void tierctl_fputs_text(const char *text, FILE *f)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t left = strlen(text), n;

	for (; left; p += n, left -= n) {
		n = *p == '\n' || *p == '\t' ? 1 : name_char_len(p, left);
		if (n == 0) {
			fprintf(f, "\\x%02x", *p);
			n = 1;
		} else {
			fwrite(p, 1, n, f);
		}
	}
}

static bool use_colour(void)
{
	static int on = -1;
	const char *term = getenv("TERM");

	if (on < 0)
		on = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && term && strcmp(term, "dumb");
	return on;
}

const char *tierctl_bold(void)
{
	return use_colour() ? "\033[1m" : "";
}

const char *tierctl_reset(void)
{
	return use_colour() ? "\033[0m" : "";
}

int tierctl_parse_tier(const char *name)
{
	if (!strcmp(name, "host"))
		return TIER_HOST;
	if (!strcmp(name, "nvme"))
		return TIER_NVME;
	if (!strcmp(name, "gpu"))
		return TIER_GPU;
	return -EINVAL;
}

int tierctl_parse_size(const char *s, uint64_t *ret)
{
	/* The daemon's own parser (tierd/size.c), so both read sizes alike. */
	return config_parse_size(s, ret) < 0 ? -EINVAL : 0;
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

/* The private arenas a stats call shows besides the struct (tier_admin_arenas). */
struct arenas {
	struct tier_arena_info a[MAX_NS];
	int n;
};

/* The remote tier, as one more entry of "tiers". */
static json_object *remote_json(const struct tier_remote_stats *r)
{
	json_object *t = json_object_new_object();

	json_object_object_add(t, "name", json_object_new_string("remote"));
#define RJ(f) json_object_object_add(t, #f, json_object_new_uint64(r->f))
	RJ(hits);
	RJ(misses);
	RJ(read_bytes);
	RJ(write_bytes);
	RJ(probes);
	RJ(fetches);
	RJ(writes);
	RJ(writes_skipped);
	RJ(writes_dropped);
	RJ(timeouts);
	RJ(redirects);
	RJ(errors);
	RJ(corrupt);
	RJ(no_room);
	RJ(slots);
	RJ(latency_count);
	RJ(latency_max_us);
#undef RJ
	json_object_object_add(t, "latency_avg_us",
			       json_object_new_double(r->latency_count ?
						      r->latency_sum_us / (double)r->latency_count :
						      0.0));
	return t;
}

static json_object *stats_json(const struct tier_stats *s, const struct tier_ns_stats *ns, int n,
			       const struct arenas *ar, const struct tier_daemon_status *st,
			       const struct tier_remote_stats *rem)
{
	json_object *o = json_object_new_object(), *tiers = json_object_new_array();
	json_object *nss = json_object_new_array(), *ops = json_object_new_object();
	json_object *arr = json_object_new_array();

	json_object_object_add(o, "version", json_object_new_string(s->version));
	json_object_object_add(o, "uptime_s", json_object_new_uint64(s->uptime_s));
	json_object_object_add(o, "clients", json_object_new_uint64(s->clients));
	json_object_object_add(o, "policy_evict", json_object_new_string(s->policy_evict));
	for (uint32_t i = 0; i < s->n_tiers && i < TIER_COUNT; i++) {
		json_object *t = tier_json(&s->tiers[i]);

		/* The journal's figures come with the daemon's status (NULL: not available). */
		if (st && strcmp(s->tiers[i].name, "nvme") == 0) {
			json_object_object_add(t, "journal_bytes",
					       json_object_new_uint64(st->journal_bytes));
			json_object_object_add(t, "journal_compactions",
					       json_object_new_uint64(st->journal_compactions));
			json_object_object_add(t, "read_retries",
					       json_object_new_uint64(st->read_retries));
			json_object_object_add(t, "read_losses",
					       json_object_new_uint64(st->read_losses));
		}
		json_object_array_add(tiers, t);
	}
	if (rem)
		json_object_array_add(tiers, remote_json(rem));
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
	/* Private arenas: in addition to host.size, inside the host tier's capacity_bytes. */
	for (int i = 0; i < ar->n; i++) {
		json_object *x = json_object_new_object();

		json_object_object_add(x, "namespace", json_object_new_string(ar->a[i].name));
		json_object_object_add(x, "start", json_object_new_uint64(ar->a[i].start));
		json_object_object_add(x, "capacity_bytes", json_object_new_uint64(ar->a[i].bytes));
		json_object_object_add(x, "used_bytes", json_object_new_uint64(ar->a[i].used_bytes));
		json_object_array_add(arr, x);
	}
	json_object_object_add(o, "arenas", arr);
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
	OP(refused_handles);
	OP(refused_access);
	OP(lease_expiries);
	OP(io_timeouts);
#undef OP
	json_object_object_add(o, "ops", ops);
	return o;
}

void tierctl_human_bytes(uint64_t b, char *buf, size_t len)
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

static void stats_table(const struct tier_stats *s, const struct tier_ns_stats *ns, int n,
			const struct arenas *ar)
{
	printf("tierd %s  up %" PRIu64 " s  clients %" PRIu64 "  policy %s\n\n", s->version,
	       s->uptime_s, s->clients, s->policy_evict);
	printf("%s%-6s %12s %12s %6s %10s %8s %12s %12s %10s%s\n", tierctl_bold(), "TIER",
	       "CAPACITY", "USED", "USE%", "BLOCKS", "PINNED", "HITS", "MISSES", "EVICTIONS",
	       tierctl_reset());
	for (uint32_t i = 0; i < s->n_tiers && i < TIER_COUNT; i++) {
		const struct tier_tier_stats *t = &s->tiers[i];
		char cap[32], used[32];

		tierctl_human_bytes(t->capacity_bytes, cap, sizeof(cap));
		tierctl_human_bytes(t->used_bytes, used, sizeof(used));
		printf("%-6s %12s %12s %5.1f%% %10" PRIu64 " %8" PRIu64 " %12" PRIu64 " %12" PRIu64
		       " %10" PRIu64 "\n",
		       tierctl_esc(t->name), cap, used,
		       t->capacity_bytes ? 100.0 * (double)t->used_bytes / (double)t->capacity_bytes
					 : 0.0,
		       t->blocks, t->pinned_blocks, t->hits, t->misses, t->evictions);
	}
	for (uint32_t i = 0; i < s->n_tiers && i < TIER_COUNT; i++) {
		const struct tier_tier_stats *t = &s->tiers[i];
		char rd[32], wr[32];

		if (strcmp(t->name, "nvme"))
			continue;
		tierctl_human_bytes(t->read_bytes, rd, sizeof(rd));
		tierctl_human_bytes(t->write_bytes, wr, sizeof(wr));
		printf("\nnvme: read %s  written %s  promotions %" PRIu64 "  demotions %" PRIu64
		       "  queue %" PRIu64 "\n      io errors %" PRIu64 "  checksum failures %" PRIu64
		       "  read p50/p99 %.0f/%.0f us  write p50/p99 %.0f/%.0f us\n",
		       rd, wr, t->promotions, t->demotions, t->queue_depth, t->io_errors,
		       t->checksum_failures, t->read_p50_us, t->read_p99_us, t->write_p50_us,
		       t->write_p99_us);
	}
	if (ar->n)
		printf("\n%s%-24s %12s %12s %6s%s   (private arenas: in addition to host.size, "
		       "counted in host)\n",
		       tierctl_bold(), "PRIVATE ARENA", "CAPACITY", "USED", "USE%", tierctl_reset());
	for (int i = 0; i < ar->n; i++) {
		char cap[32], used[32];

		tierctl_human_bytes(ar->a[i].bytes, cap, sizeof(cap));
		tierctl_human_bytes(ar->a[i].used_bytes, used, sizeof(used));
		printf("%-24s %12s %12s %5.1f%%\n", tierctl_esc(ar->a[i].name), cap, used,
		       ar->a[i].bytes ? 100.0 * (double)ar->a[i].used_bytes / (double)ar->a[i].bytes
				      : 0.0);
	}
	printf("\n%s%-24s %12s %10s %12s %12s %8s%s\n", tierctl_bold(), "NAMESPACE", "BLOCK SIZE",
	       "BLOCKS", "HITS", "MISSES", "HIT%", tierctl_reset());
	for (int i = 0; i < n; i++) {
		char bs[32];
		uint64_t tot = ns[i].hits + ns[i].misses;

		tierctl_human_bytes(ns[i].block_size, bs, sizeof(bs));
		printf("%-24s %12s %10" PRIu64 " %12" PRIu64 " %12" PRIu64 " %7.1f%%\n",
		       tierctl_esc(ns[i].name),
		       bs, ns[i].blocks, ns[i].hits, ns[i].misses,
		       tot ? 100.0 * (double)ns[i].hits / (double)tot : 0.0);
	}
	printf("\nops: alloc %" PRIu64 "  commit %" PRIu64 "  lookup %" PRIu64 "  acquire %" PRIu64
	       "  release %" PRIu64 "  drop %" PRIu64 "  errors %" PRIu64 "\n",
	       s->ops.alloc, s->ops.commit, s->ops.lookup, s->ops.acquire, s->ops.release,
	       s->ops.drop, s->ops.errors);
}

static void remote_table(const struct tier_remote_stats *r)
{
	char rd[32], wr[32];

	tierctl_human_bytes(r->read_bytes, rd, sizeof(rd));
	tierctl_human_bytes(r->write_bytes, wr, sizeof(wr));
	printf("\nremote: hits %" PRIu64 "  misses %" PRIu64 "  read %s  written %s  timeouts %" PRIu64
	       "  redirects %" PRIu64 "  errors %" PRIu64 "  corrupt %" PRIu64 "  slots %" PRIu64
	       "  latency avg %.0f us max %" PRIu64 " us\n",
	       r->hits, r->misses, rd, wr, r->timeouts, r->redirects, r->errors, r->corrupt, r->slots,
	       r->latency_count ? r->latency_sum_us / (double)r->latency_count : 0.0,
	       r->latency_max_us);
}

/* One rendering of the stats in the chosen format. */
enum stats_format { FMT_TABLE, FMT_JSON, FMT_PROMETHEUS };

static int stats_once(tier_client *c, enum stats_format fmt)
{
	static struct tier_ns_stats ns[MAX_NS];
	static struct tier_ns_info nsi[MAX_NS];
	struct tier_stats s = { .size = sizeof(s) };
	struct tier_daemon_status st = { .size = sizeof(st) };
	struct tier_io_latency lat = { .size = sizeof(lat) };
	struct tier_remote_stats rem = { .size = sizeof(rem) };
	bool lat_ok, rem_ok;
	int n, r;

	static struct arenas ar;

	n = tier_stats_get(c, &s, ns, MAX_NS);
	if (n < 0)
		return tierctl_fail("stats", n);
	/* A daemon from before private arenas refuses the request: it has none. */
	ar.n = tier_admin_arenas(c, ar.a, MAX_NS);
	if (ar.n < 0)
		ar.n = 0;
	/* A daemon from before the remote tier refuses the request: it has none. */
	rem_ok = tier_admin_remote(c, &rem) == 0 && rem.on;
	switch (fmt) {
	case FMT_JSON: {
		json_object *o = stats_json(&s, ns, n, &ar,
					    tier_admin_status(c, &st) == 0 ? &st : NULL,
					    rem_ok ? &rem : NULL);

		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
		break;
	}
	case FMT_PROMETHEUS:
		/* The daemon's own renderer, from the same structs its endpoint uses. */
		n = tier_admin_namespaces(c, nsi, MAX_NS);
		if (n < 0)
			return tierctl_fail("stats", n);
		r = tier_admin_status(c, &st);
		if (r < 0)
			return tierctl_fail("stats", r);
		/* A daemon from before the histograms refuses the request: none then. */
		lat_ok = tier_admin_latency(c, &lat) == 0;
		if (tier_prom_render(stdout, &s, nsi, (size_t)n, &st, lat_ok ? &lat : NULL) < 0 ||
		    tier_prom_render_remote(stdout, rem_ok ? &rem : NULL) < 0)
			return tierctl_fail("stats", -EIO);
		break;
	default:
		stats_table(&s, ns, n, &ar);
		if (rem_ok)
			remote_table(&rem);
		break;
	}
	fflush(stdout);
	return EXIT_OK;
}

static int verb_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "watch", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	enum stats_format fmt = FMT_TABLE;
	double every = 0;
	long count = 0;
	tier_client *c;
	char *end;
	int o, r;

	optind = 1;
	while ((o = getopt_long(argc, argv, "jpw:n:h", opts, NULL)) != -1) {
		switch (o) {
		case 'j':
			fmt = FMT_JSON;
			break;
		case 'p':
			fmt = FMT_PROMETHEUS;
			break;
		case 'w':
			every = strtod(optarg, &end);
			if (*end || !(every > 0) || every > 86400) {
				fprintf(stderr, "tierctl: stats: --watch: '%s' is not a number of "
						"seconds\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			count = strtol(optarg, &end, 10);
			if (*end || count < 1) {
				fprintf(stderr, "tierctl: stats: --count: '%s' is not a positive "
						"number\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			printf("Usage: tierctl stats [--json | --prometheus] [--watch SECONDS [--count N]]\n"
			       "Show what is in each tier: capacity, usage, blocks, pins, hits,\n"
			       "misses, evictions; namespaces; operation counts.\n"
			       "  --json            one JSON object (for scripts)\n"
			       "  --prometheus      the Prometheus text format (what the daemon's\n"
			       "                    [metrics] endpoint serves)\n"
			       "  --watch SECONDS   show again every SECONDS until interrupted\n"
			       "  --count N         with --watch: stop after N times\n");
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tierctl: stats: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (tierctl_connect(&c) < 0)
		return EXIT_DAEMON;
	for (long i = 0;; i++) {
		if (every && fmt == FMT_TABLE && isatty(STDOUT_FILENO))
			fputs("\033[H\033[2J", stdout); /* a terminal: redraw in place */
		else if (i)
			putchar('\n');
		r = stats_once(c, fmt);
		if (r || !every || (count && i + 1 >= count))
			break;
		struct timespec ts = { (time_t)every, (long)((every - (double)(time_t)every) * 1e9) };

		nanosleep(&ts, NULL);
	}
	tier_close(c);
	return r;
}

/* Find a namespace id by name through the stats (any client can). */
static int ns_by_name(tier_client *c, const char *name, uint32_t *ret)
{
	static struct tier_ns_stats ns[MAX_NS];
	struct tier_stats s = { .size = sizeof(s) };
	int n = tier_stats_get(c, &s, ns, MAX_NS);

	if (n < 0)
		return n;
	/* Opening it is what lets this client name it (and checks that it may). */
	for (int i = 0; i < n; i++)
		if (strcmp(ns[i].name, name) == 0)
			return tier_namespace(c, name, ns[i].block_size, ret);
	return -ENOENT;
}

/*
 * Progress of a flush, on stderr: a second connection asks how many blocks
 * are still only in host memory while the first one waits in tier_flush.
 */
struct flush_progress {
	uint32_t ns;              /* TIER_NS_ALL or one namespace */
	pthread_mutex_t lock;
	bool done;
	pthread_cond_t cond;
};

static int dirty_now(tier_client *c, uint32_t ns, uint64_t *blocks, uint64_t *bytes)
{
	static struct tier_ns_info nsi[MAX_NS];
	struct tier_daemon_status st = { .size = sizeof(st) };
	int n, r;

	*blocks = *bytes = 0;
	if (ns == TIER_NS_ALL) {
		r = tier_admin_status(c, &st);
		*blocks = st.dirty_blocks;
		*bytes = st.dirty_bytes;
		return r;
	}
	n = tier_admin_namespaces(c, nsi, MAX_NS);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		if (nsi[i].id == ns) {
			*blocks = nsi[i].dirty_blocks;
			*bytes = nsi[i].dirty_blocks * nsi[i].block_size;
		}
	return 0;
}

static void *flush_progress_main(void *arg)
{
	struct flush_progress *p = arg;
	uint64_t first = 0, blocks, bytes;
	tier_client *c;
	bool shown = false;

	if (tier_connect(tierctl_socket, &c) < 0)
		return NULL;
	/*
	 * At least one line, even when the flush is over before this thread
	 * got its connection: the last one read after the flush says 0 left.
	 */
	pthread_mutex_lock(&p->lock);
	for (bool last = p->done;; last = p->done) {
		struct timespec until;

		pthread_mutex_unlock(&p->lock);
		if (dirty_now(c, p->ns, &blocks, &bytes) == 0) {
			char b[32];

			if (blocks > first)
				first = blocks;
			tierctl_human_bytes(bytes, b, sizeof(b));
			fprintf(stderr, "\rflush: %3.0f%%  %" PRIu64 " blocks (%s) left to write   ",
				first ? 100.0 * (double)(first - blocks) / (double)first : 100.0,
				blocks, b);
			shown = true;
		}
		pthread_mutex_lock(&p->lock);
		if (last)
			break;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (!p->done)
			pthread_cond_timedwait(&p->cond, &p->lock, &until);
	}
	pthread_mutex_unlock(&p->lock);
	if (shown)
		fputs("\n", stderr);
	tier_close(c);
	return NULL;
}

static int verb_flush(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "namespace", required_argument, NULL, 'n' },
		{ "progress", no_argument, NULL, 'p' },
		{ "no-progress", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct flush_progress p = { .ns = TIER_NS_ALL, .lock = PTHREAD_MUTEX_INITIALIZER,
				    .cond = PTHREAD_COND_INITIALIZER };
	const char *name = NULL;
	int progress = -1; /* -1: on a terminal */
	pthread_t th;
	bool thread = false;
	tier_client *c;
	int o, r;

	optind = 1;
	while ((o = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			name = optarg;
			break;
		case 'p':
			progress = 1;
			break;
		case 'P':
			progress = 0;
			break;
		case 'h':
			printf("Usage: tierctl flush [--namespace NAME] [--progress | --no-progress]\n"
			       "Make every block (of one namespace, or of all) durable on NVMe:\n"
			       "written, journaled and synced.  Returns when done.  On a terminal,\n"
			       "shows how many blocks are left to write (on stderr).\n");
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tierctl: flush: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (tierctl_connect(&c) < 0)
		return EXIT_DAEMON;
	if (name && (r = ns_by_name(c, name, &p.ns)) < 0) {
		fprintf(stderr, "tierctl: flush: namespace '%s': %s\n", name, tier_strerror(r));
		tier_close(c);
		return EXIT_DAEMON;
	}
	if (progress < 0)
		progress = isatty(STDERR_FILENO);
	if (progress)
		thread = pthread_create(&th, NULL, flush_progress_main, &p) == 0;
	r = tier_flush(c, p.ns);
	if (thread) {
		pthread_mutex_lock(&p.lock);
		p.done = true;
		pthread_cond_signal(&p.cond);
		pthread_mutex_unlock(&p.lock);
		pthread_join(th, NULL);
	}
	tier_close(c);
	if (r < 0) {
		fprintf(stderr, "tierctl: flush: %s\n", tier_strerror(r));
		return EXIT_DAEMON;
	}
	return EXIT_OK;
}

static const struct verb verbs[] = {
	{ "stats", "show counters of every tier and namespace (--json, --prometheus)", verb_stats },
	{ "tiers", "list the tiers: capacity, usage, blocks, policy", verb_tiers },
	{ "namespaces", "list the namespaces with their counters", verb_namespaces },
	{ "clients", "list connected clients: pid, uid, name, pins, ops", verb_clients },
	{ "config", "print the configuration in force", verb_config },
	{ "policy", "show, or change live, a tier's eviction policy", verb_policy },
	{ "flush", "make blocks durable on NVMe", verb_flush },
	{ "evict", "evict bytes from a tier now", verb_evict },
	{ "drop", "drop every block of a namespace", verb_drop },
	{ "ns-delete", "delete a namespace and its blocks, for good", verb_ns_delete },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: tierctl [-s SOCKET] VERB [OPTIONS]\n\n"
		   "  -s, --socket PATH   tierd's socket (default: $TIER_SOCKET, else %s)\n"
		   "  -h, --help          this text; VERB --help for a verb\n\nVerbs:\n",
		TIER_DEFAULT_SOCKET);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-11s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\nExit status: 0 success, 1 the daemon failed or could not be reached, "
		   "2 bad usage.\n");
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
			tierctl_socket = optarg;
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
