/* SPDX-License-Identifier: MIT */
/*
 * Prometheus text format 0.0.4: for each metric family one "# HELP" and one
 * "# TYPE" line, then its samples.  Conventions: a "tierd_" prefix, base
 * units in the name (_bytes, _seconds), "_total" on counters, and labels
 * for the dimensions (tier, namespace, op) rather than one name per value.
 * Label values are escaped (backslash, double quote, newline); a namespace
 * name that is not UTF-8 has its stray bytes replaced, since the format
 * requires UTF-8.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "prom.h"

static void label_value(FILE *f, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;

	while (*p) {
		unsigned n = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3
						  : (*p >> 3) == 30 ? 4 : 0;
		unsigned i;

		for (i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				break;
		if (n == 0 || i < n) {
			fputs("\xef\xbf\xbd", f); /* U+FFFD */
			p++;
			continue;
		}
		if (*p == '\\' || *p == '"')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fwrite(p, 1, n, f);
		p += n;
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_u64(FILE *f, const char *name, const char *l1, const char *v1, uint64_t value)
{
	fputs(name, f);
	if (l1) {
		fprintf(f, "{%s=\"", l1);
		label_value(f, v1);
		fputs("\"}", f);
	}
	/* Exact integers: a double would round counters above 2^53. */
	fprintf(f, " %" PRIu64 "\n", value);
}

/* A family of one sample without labels. */
static void single(FILE *f, const char *name, const char *type, const char *help, uint64_t value)
{
	family(f, name, type, help);
	sample_u64(f, name, NULL, NULL, value);
}

/* A per-tier family: field at offset off of struct tier_tier_stats, tiers matching only. */
static void tier_family(FILE *f, const struct tier_stats *s, const char *name, const char *type,
			const char *help, size_t off, const char *only)
{
	bool any = false;

	for (uint32_t i = 0; i < s->n_tiers && i < TIER_COUNT; i++)
		if (!only || strcmp(s->tiers[i].name, only) == 0)
			any = true;
	if (!any)
		return;
	family(f, name, type, help);
	for (uint32_t i = 0; i < s->n_tiers && i < TIER_COUNT; i++) {
		const struct tier_tier_stats *t = &s->tiers[i];
		uint64_t v;

		if (only && strcmp(t->name, only))
			continue;
		memcpy(&v, (const char *)t + off, sizeof(v));
		sample_u64(f, name, "tier", t->name, v);
	}
}

static void ns_family(FILE *f, const struct tier_ns_info *ns, size_t n, const char *name,
		      const char *type, const char *help, size_t off)
{
	family(f, name, type, help);
	for (size_t i = 0; i < n; i++) {
		uint64_t v;

		memcpy(&v, (const char *)&ns[i] + off, sizeof(v));
		sample_u64(f, name, "namespace", ns[i].name, v);
	}
}

#define T(field) offsetof(struct tier_tier_stats, field)
#define N(field) offsetof(struct tier_ns_info, field)

int tier_prom_render(FILE *f, const struct tier_stats *s, const struct tier_ns_info *ns,
		     size_t n_ns, const struct tier_daemon_status *st,
		     const struct tier_io_latency *lat)
{
	static const char *const ops[] = { "alloc", "commit", "lookup", "acquire", "release",
					   "drop", "prefetch", "flush" };
	const uint64_t opv[] = { s->ops.alloc, s->ops.commit, s->ops.lookup, s->ops.acquire,
				 s->ops.release, s->ops.drop, s->ops.prefetch, s->ops.flush };

	family(f, "tierd_info", "gauge", "The daemon's version and host eviction policy (always 1).");
	fputs("tierd_info{version=\"", f);
	label_value(f, s->version);
	fputs("\",policy_evict=\"", f);
	label_value(f, s->policy_evict);
	fputs("\"} 1\n", f);
	single(f, "tierd_uptime_seconds", "gauge", "Seconds since the daemon started.",
	       s->uptime_s);
	single(f, "tierd_clients", "gauge", "Connected clients.", s->clients);
	single(f, "tierd_namespaces", "gauge", "Namespaces in the daemon.", s->n_namespaces);

	tier_family(f, s, "tierd_tier_capacity_bytes", "gauge", "Bytes the tier can hold.",
		    T(capacity_bytes), NULL);
	tier_family(f, s, "tierd_tier_used_bytes", "gauge", "Bytes held by blocks in the tier.",
		    T(used_bytes), NULL);
	tier_family(f, s, "tierd_tier_blocks", "gauge", "Ready blocks resident in the tier.",
		    T(blocks), NULL);
	tier_family(f, s, "tierd_tier_pinned_blocks", "gauge", "Blocks pinned by clients.",
		    T(pinned_blocks), NULL);
	tier_family(f, s, "tierd_tier_hits_total", "counter", "Lookups and acquires the tier answered.",
		    T(hits), NULL);
	tier_family(f, s, "tierd_tier_misses_total", "counter", "Lookups and acquires the tier missed.",
		    T(misses), NULL);
	tier_family(f, s, "tierd_tier_evictions_total", "counter",
		    "Blocks that left the tier to make room.", T(evictions), NULL);
	tier_family(f, s, "tierd_tier_read_bytes_total", "counter", "Bytes read from the tier's devices.",
		    T(read_bytes), "nvme");
	tier_family(f, s, "tierd_tier_written_bytes_total", "counter",
		    "Bytes written to the tier's devices.", T(write_bytes), "nvme");
	tier_family(f, s, "tierd_tier_promotions_total", "counter",
		    "Blocks brought up from the tier to host memory.", T(promotions), "nvme");
	tier_family(f, s, "tierd_tier_demotions_total", "counter",
		    "Blocks that left host memory for the tier.", T(demotions), "nvme");
	tier_family(f, s, "tierd_tier_io_errors_total", "counter", "Failed block I/Os.",
		    T(io_errors), "nvme");
	tier_family(f, s, "tierd_tier_checksum_failures_total", "counter",
		    "Reads whose header or data did not verify (served as misses).",
		    T(checksum_failures), "nvme");
	tier_family(f, s, "tierd_tier_io_inflight", "gauge", "Block I/Os in flight now.",
		    T(queue_depth), "nvme");
	for (uint32_t i = 0; i < s->n_tiers && i < TIER_COUNT; i++) {
		const struct tier_tier_stats *t = &s->tiers[i];
		static const char *const q[] = { "0.5", "0.99", "0.5", "0.99" };
		const double us[] = { t->read_p50_us, t->read_p99_us, t->write_p50_us,
				      t->write_p99_us };

		if (strcmp(t->name, "nvme"))
			continue;
		family(f, "tierd_tier_io_latency_seconds", "gauge",
		       "Block I/O latency quantiles since start (upper bound of a quarter-octave "
		       "bucket).");
		for (int k = 0; k < 4; k++) {
			fprintf(f, "tierd_tier_io_latency_seconds{tier=\"%s\",op=\"%s\",quantile=\"%s\"} "
				   "%.9g\n", t->name, k < 2 ? "read" : "write", q[k], us[k] / 1e6);
		}
	}

	ns_family(f, ns, n_ns, "tierd_namespace_block_size_bytes", "gauge",
		  "Block size of the namespace.", N(block_size));
	ns_family(f, ns, n_ns, "tierd_namespace_blocks", "gauge", "Ready blocks of the namespace.",
		  N(blocks));
	ns_family(f, ns, n_ns, "tierd_namespace_bytes", "gauge", "Bytes of the namespace's blocks.",
		  N(bytes));
	ns_family(f, ns, n_ns, "tierd_namespace_hits_total", "counter", "Hits in the namespace.",
		  N(hits));
	ns_family(f, ns, n_ns, "tierd_namespace_misses_total", "counter", "Misses in the namespace.",
		  N(misses));
	ns_family(f, ns, n_ns, "tierd_namespace_evictions_total", "counter",
		  "Blocks of the namespace that left host memory to make room.", N(evictions));
	ns_family(f, ns, n_ns, "tierd_namespace_promotions_total", "counter",
		  "Blocks of the namespace read up from NVMe.", N(promotions));
	ns_family(f, ns, n_ns, "tierd_namespace_demotions_total", "counter",
		  "Blocks of the namespace that left host memory for NVMe.", N(demotions));
	ns_family(f, ns, n_ns, "tierd_namespace_dirty_blocks", "gauge",
		  "Blocks of the namespace only in host memory.", N(dirty_blocks));

	family(f, "tierd_operations_total", "counter", "Client requests, by operation.");
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		sample_u64(f, "tierd_operations_total", "op", ops[i], opv[i]);
	single(f, "tierd_operation_errors_total", "counter", "Client requests answered with an error.",
	       s->ops.errors);

	if (st) {
		single(f, "tierd_clients_max", "gauge", "daemon.max_clients.", st->max_clients);
		single(f, "tierd_dirty_blocks", "gauge", "Blocks only in host memory (a flush writes them).",
		       st->dirty_blocks);
		single(f, "tierd_dirty_bytes", "gauge", "Bytes of the blocks only in host memory.",
		       st->dirty_bytes);
		single(f, "tierd_flushes_in_progress", "gauge", "tier_flush calls waiting.",
		       st->flushes);
		single(f, "tierd_reloads_total", "counter", "Configuration reloads that took effect.",
		       st->reloads);
		family(f, "tierd_reload_failures_total", "counter",
		       "Configuration reloads refused (the old configuration stayed).");
		sample_u64(f, "tierd_reload_failures_total", NULL, NULL, st->reload_failures);
		family(f, "tierd_protocol_errors_total", "counter",
		       "Malformed client messages and clients cut off for cause.");
		sample_u64(f, "tierd_protocol_errors_total", NULL, NULL, st->protocol_errors);
		family(f, "tierd_log_suppressed_total", "counter",
		       "Log lines held back by rate limiting.");
		sample_u64(f, "tierd_log_suppressed_total", NULL, NULL, st->log_suppressed);
		single(f, "tierd_verify_failures_total", "counter",
		       "Blocks dropped because their bytes changed after commit (host.verify).",
		       st->verify_failures);
		single(f, "tierd_refused_caps_total", "counter",
		       "Allocations and acquires over a client's caps (daemon.client_max_*).",
		       st->refused_caps);
		single(f, "tierd_nvme_journal_bytes", "gauge",
		       "Size of the NVMe tier's journal file (0 without an NVMe tier).",
		       st->journal_bytes);
		single(f, "tierd_nvme_journal_compactions_total", "counter",
		       "Journal rewrites while running (nvme.journal_compact_min).",
		       st->journal_compactions);
		single(f, "tierd_nvme_read_retries_total", "counter",
		       "NVMe block reads issued once more after a failed read or verification.",
		       st->read_retries);
		single(f, "tierd_nvme_read_losses_total", "counter",
		       "Blocks dropped (a miss) because their second read failed too.",
		       st->read_losses);
	}
	if (lat && lat->nvme) {
		const struct tier_io_latency_op *op[2] = { &lat->read, &lat->write };
		static const char *const name[2] = { "read", "write" };

		family(f, "tierd_nvme_io_latency_seconds", "histogram",
		       "NVMe tier block I/O latency since start.");
		for (int o = 0; o < 2; o++) {
			for (int k = 0; k < TIER_LATENCY_BUCKETS; k++)
				fprintf(f, "tierd_nvme_io_latency_seconds_bucket{op=\"%s\",le=\"%.9g\"} "
					   "%" PRIu64 "\n", name[o], ldexp(1e-6, k), op[o]->le[k]);
			fprintf(f, "tierd_nvme_io_latency_seconds_bucket{op=\"%s\",le=\"+Inf\"} "
				   "%" PRIu64 "\n", name[o], op[o]->count);
			fprintf(f, "tierd_nvme_io_latency_seconds_sum{op=\"%s\"} %.9g\n", name[o],
				op[o]->sum_us / 1e6);
			fprintf(f, "tierd_nvme_io_latency_seconds_count{op=\"%s\"} %" PRIu64 "\n",
				name[o], op[o]->count);
		}
	}
	return ferror(f) ? -EIO : 0;
}

int tier_prom_render_remote(FILE *f, const struct tier_remote_stats *r)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} fam[] = {
#define R(name, type, help, field) { name, type, help, offsetof(struct tier_remote_stats, field) }
		R("tierd_remote_hits_total", "counter", "Blocks found in the cluster.", hits),
		R("tierd_remote_misses_total", "counter",
		  "Chains that ended in the cluster and fetches that found nothing (or a bad value).",
		  misses),
		R("tierd_remote_read_bytes_total", "counter", "Block bytes fetched and verified.",
		  read_bytes),
		R("tierd_remote_written_bytes_total", "counter", "Block bytes written to the cluster.",
		  write_bytes),
		R("tierd_remote_probes_total", "counter", "EXISTS probes sent.", probes),
		R("tierd_remote_fetches_total", "counter", "GET fetches sent.", fetches),
		R("tierd_remote_writes_total", "counter", "SET NX writes sent.", writes),
		R("tierd_remote_writes_skipped_total", "counter",
		  "Commits not sent: the cluster was known to have them.", writes_skipped),
		R("tierd_remote_writes_dropped_total", "counter",
		  "Commits not sent: 64 MiB of writes were in flight already.", writes_dropped),
		R("tierd_remote_timeouts_total", "counter",
		  "Commands not answered within remote.timeout.", timeouts),
		R("tierd_remote_redirects_total", "counter", "MOVED and ASK redirects followed.",
		  redirects),
		R("tierd_remote_errors_total", "counter",
		  "Error replies, refused and lost connections.", errors),
		R("tierd_remote_corrupt_total", "counter",
		  "Values that did not verify (a miss; deleted).", corrupt),
		R("tierd_remote_no_room_total", "counter",
		  "Fetched blocks dropped for want of free host memory.", no_room),
		R("tierd_remote_slots", "gauge", "Hash slots of the slot map in force.", slots),
#undef R
	};

	if (!r || !r->on)
		return 0;
	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		uint64_t v;

		memcpy(&v, (const char *)r + fam[i].off, sizeof(v));
		single(f, fam[i].name, fam[i].type, fam[i].help, v);
	}
	family(f, "tierd_remote_latency_seconds", "summary",
	       "Cluster commands, submission to answer.");
	fprintf(f, "tierd_remote_latency_seconds_sum %.9g\n", r->latency_sum_us / 1e6);
	fprintf(f, "tierd_remote_latency_seconds_count %" PRIu64 "\n", r->latency_count);
	family(f, "tierd_remote_latency_max_seconds", "gauge", "The slowest command answered.");
	fprintf(f, "tierd_remote_latency_max_seconds %.9g\n", (double)r->latency_max_us / 1e6);
	return ferror(f) ? -EIO : 0;
}
