/* SPDX-License-Identifier: MIT */
/*
 * SIGHUP: reread the configuration (the -c file, then the -o overrides
 * again, exactly as at start-up) and put what can change live in force.
 *
 * The new configuration is parsed and validated whole before anything is
 * touched: a bad file is logged and the running configuration stays.  Then
 * every key that differs is either applied (the table's "live" column:
 * log level, socket group, policies, watermarks) or logged as needing a
 * restart (sizes, paths, the socket, the metrics endpoint) and left at its
 * running value, so s->cfg is always the configuration in force, which is
 * what `tierctl config` shows.  A policy that cannot start keeps the old
 * one (store_set_evict and friends), and the config in force says so.
 *
 * systemd is told RELOADING=1 first and READY=1 when done (Type=notify).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "server.h"

void reload_set_source(struct server *s, const char *path, const char *const *overrides, int n)
{
	s->config_path = path;
	s->overrides = overrides;
	s->n_overrides = n;
}

void server_status_line(const struct server *s, char *buf, size_t len)
{
	const struct store *st = &s->store;
	int n;

	n = snprintf(buf, len, "%u clients, host %llu/%llu MiB, %llu blocks, policy %s",
		     s->n_sessions, (unsigned long long)(st->used_bytes >> 20),
		     (unsigned long long)(st->host_capacity >> 20),
		     (unsigned long long)st->ready_blocks, st->evict->name);
	if (st->nvme && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ", nvme %llu/%llu MiB",
			 (unsigned long long)(st->nv.used_bytes >> 20),
			 (unsigned long long)(st->nv.capacity >> 20));
}

static int load(const struct server *s, struct tierd_config *c, char *err, size_t errlen)
{
	int r;

	config_defaults(c);
	if (s->config_path) {
		r = config_load_file(c, s->config_path, err, errlen);
		if (r < 0)
			return r;
	}
	for (int i = 0; i < s->n_overrides; i++) {
		r = config_set_override(c, s->overrides[i], err, errlen);
		if (r < 0)
			return r;
	}
	r = config_validate(c, err, errlen);
	/* As at start, so a lowered max_clients does not read as a change. */
	c->max_clients = server_clients_fit(c->max_clients, false);
	return r;
}

struct apply {
	struct server *s;
	const struct tierd_config *next;
	struct tierd_config in_force;
	int applied, restart, failed;
};

/* Put one live key in force; false when it could not be (the old value stays). */
static bool apply_live(struct apply *x, const char *section, const char *key, const char *value)
{
	struct server *s = x->s;
	const struct tierd_config *n = x->next;
	int r = 0;

	if (!strcmp(section, "daemon") && !strcmp(key, "log_level")) {
		log_set_level(n->log_level);
	} else if (!strcmp(section, "daemon") && !strcmp(key, "socket_group")) {
		(void)admin_socket_group(s->cfg.socket, n->socket_group[0] ? n->socket_group : "");
	} else if (!strcmp(section, "daemon") &&
		   (!strcmp(key, "client_max_writing") || !strcmp(key, "client_max_pinned"))) {
		store_set_client_caps(&s->store, n->client_max_writing,
				      config_client_max_pinned(n, s->arena.bytes));
	} else if (!strcmp(section, "policy") && !strcmp(key, "evict")) {
		r = store_set_evict(&s->store, tier_evict_find(n->policy_evict));
	} else if (!strcmp(section, "policy") && !strcmp(key, "nvme_evict")) {
		if (s->store.nvme)
			r = store_set_nv_evict(&s->store, tier_evict_find(n->policy_nvme_evict));
	} else if (!strcmp(section, "policy") && !strcmp(key, "admit")) {
		if (s->store.nvme)
			r = store_set_admit(&s->store, tier_admit_find(n->policy_admit));
	}
	/* policy.prefetch is read nowhere yet; the watermarks are set together below. */
	if (r < 0) {
		log_err("reload: %s.%s = %s could not start (%s): keeping the old value", section,
			key, value, strerror(-r));
		return false;
	}
	return true;
}

static void on_diff(void *arg, const char *section, const char *key, const char *old_value,
		    const char *new_value, bool live)
{
	struct apply *x = arg;
	char err[256];

	if (!strcmp(section, "ns")) {
		/*
		 * The private arenas were mapped at start: a reload that adds, drops or
		 * resizes one keeps the old rules whole, so no namespace ever loses its
		 * arena (or gains access rules without one) while running.
		 */
		if (!nsrule_same_arenas(&x->in_force.ns_rules, &x->next->ns_rules)) {
			log_warning("reload: namespace rules change the private arenas (ns.*.arena, "
				    "or quota_host of a restricted namespace): the namespace rules take "
				    "effect after a restart; the old ones stay until then");
			x->restart++;
			return;
		}
		/* Access rules and quotas: in force at once; salts only for empty namespaces. */
		x->in_force.ns_rules = x->next->ns_rules;
		x->s->cfg.ns_rules = x->next->ns_rules;
		server_apply_ns_rules(x->s, false);
		log_info("reload: namespace rules (access, quotas, salts) replaced");
		x->applied++;
		return;
	}
	if (!live) {
		log_warning("reload: %s.%s changed (%s -> %s): takes effect after a restart",
			    section, key, old_value, new_value);
		x->restart++;
		return;
	}
	if (!apply_live(x, section, key, new_value)) {
		x->failed++;
		return;
	}
	/* The text came from the table's own formatter: it parses back. */
	if (config_set(&x->in_force, section, key, new_value, err, sizeof(err)) < 0) {
		log_err("reload: %s", err);
		x->failed++;
		return;
	}
	log_info("reload: %s.%s = %s (was %s)", section, key, new_value, old_value);
	x->applied++;
}

void reload_config(struct server *s)
{
	static struct tierd_config next;
	static struct apply x;
	struct timespec ts;
	char err[512], status[256];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\nSTATUS=reloading the configuration",
		   (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
	log_info("SIGHUP: reloading the configuration%s%s", s->config_path ? " from " : "",
		 s->config_path ? s->config_path : " (no -c file: defaults and -o overrides)");
	if (load(s, &next, err, sizeof(err)) < 0) {
		s->reload_failures++;
		log_err("reload: %s: keeping the configuration in force", err);
	} else {
		x = (struct apply){ .s = s, .next = &next, .in_force = s->cfg };
		config_diff(&s->cfg, &next, on_diff, &x);
		if (x.in_force.high_watermark != s->cfg.high_watermark ||
		    x.in_force.low_watermark != s->cfg.low_watermark)
			store_set_watermarks(&s->store, x.in_force.high_watermark,
					     x.in_force.low_watermark);
		s->cfg = x.in_force;
		s->reloads++;
		log_notice("reload: done: %d changes in force, %d need a restart, %d failed",
			   x.applied, x.restart, x.failed);
	}
	server_status_line(s, status, sizeof(status));
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}
