/* SPDX-License-Identifier: MIT */
/*
 * The administration messages (proto.h: STATUS, CLIENTS, NAMESPACES,
 * CONFIG, POLICY, EVICT, NS_DROP, NS_DELETE, ARENAS): what tierctl shows and changes, and the
 * socket's group.  The fill functions are shared with the metrics renderer,
 * so tierctl, the JSON and the Prometheus outputs read the same numbers.
 *
 * Who may change state: the socket's mode and group decide who may connect
 * at all; requests that change what other clients see (switch a policy,
 * evict, drop or delete a namespace) are further restricted to root and the
 * daemon's own uid, as SO_PEERCRED recorded them at accept.  What a client
 * may read is bounded too: salts only for those admins, namespaces only
 * those its rules let it open (admin_ns_visible).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "server.h"

bool admin_may_change(const struct session *se)
{
	return se->cred.uid == 0 || se->cred.uid == geteuid();
}

bool admin_ns_visible(const struct server *s, const struct session *viewer, uint32_t id)
{
	if (!store_ns_exists(&s->store, id))
		return false;
	if (!viewer || admin_may_change(viewer))
		return true;
	/* What the client could open, it may see; a refused one does not learn it exists. */
	return nsrule_allows(nsrule_find(&s->cfg.ns_rules, s->store.ns[id].name), viewer->cred.uid,
			     viewer->cred.gid, viewer->groups, viewer->n_groups);
}

int admin_socket_gid(const char *group, gid_t *ret_gid)
{
	struct group gr, *res = NULL;
	char buf[4096];
	int r;

	r = getgrnam_r(group, &gr, buf, sizeof(buf), &res);
	if (r || !res) {
		log_warning("daemon.socket_group: no group '%s': the socket keeps the daemon's "
			    "group; create the group (groupadd --system %s) to let its members "
			    "connect", group, group);
		return -ENOENT;
	}
	*ret_gid = res->gr_gid;
	return 0;
}

int admin_socket_group(const char *path, const char *group)
{
	struct stat st;
	gid_t gid;
	int r;

	if (!group[0])
		return 0;
	r = admin_socket_gid(group, &gid);
	if (r < 0)
		return r;
	/* The socket itself, never what a link there would point at. */
	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		log_warning("daemon.socket_group: %s is no longer a socket: not changing its group",
			    path);
		return -ENOTSOCK;
	}
	if (fchownat(AT_FDCWD, path, (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) < 0) {
		r = -errno;
		log_warning("daemon.socket_group: chown %s to group %s: %s", path, group,
			    strerror(-r));
		return r;
	}
	return 0;
}

void admin_fill_status(const struct server *s, struct tier_daemon_status *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	st->pid = (uint32_t)getpid();
	st->uid = (uint32_t)geteuid();
	st->max_clients = s->cfg.max_clients;
	st->reloads = s->reloads;
	st->reload_failures = s->reload_failures;
	for (uint32_t i = 0; i < s->store.n_ns; i++) {
		if (s->store.ns[i].deleted)
			continue;
		st->dirty_blocks += s->store.ns[i].dirty;
		st->dirty_bytes += s->store.ns[i].dirty * s->store.ns[i].block_size;
	}
	for (uint32_t i = 0; i < s->cfg.max_clients; i++) {
		const struct session *se = s->sessions[i];
		struct tier_msg_hdr h;

		if (!se || !se->parked)
			continue;
		memcpy(&h, session_parked(se), sizeof(h));
		if (h.type == TIER_MSG_FLUSH)
			st->flushes++;
	}
	st->protocol_errors = s->protocol_errors;
	st->verify_failures = s->store.c.verify_failures;
	st->refused_caps = s->store.c.refused_caps;
	st->log_suppressed = log_suppressed_total();
	if (s->nvme) {
		st->journal_bytes = s->store.nv.journal.end;
		st->journal_compactions = s->store.nv.journal.compactions;
		st->read_retries = s->store.nv.read_retries;
		st->read_losses = s->store.nv.read_losses;
	}
}

void admin_fill_latency(const struct server *s, struct tier_io_latency *l)
{
	memset(l, 0, sizeof(*l));
	l->size = sizeof(*l);
	if (!s->nvme)
		return;
	l->nvme = 1;
	nvme_latency_hist(s->nvme, NVME_READ, l->read.le, TIER_LATENCY_BUCKETS, &l->read.count,
			  &l->read.sum_us);
	nvme_latency_hist(s->nvme, NVME_WRITE, l->write.le, TIER_LATENCY_BUCKETS,
			  &l->write.count, &l->write.sum_us);
}

uint32_t admin_fill_clients(const struct server *s, struct tier_client_info *out, uint32_t max)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < s->cfg.max_clients && n < max; i++) {
		const struct session *se = s->sessions[i];
		struct tier_client_info *c = &out[n];

		if (!se || !se->hello_done)
			continue;
		memset(c, 0, sizeof(*c));
		c->id = se->id;
		c->pid = (int32_t)se->cred.pid;
		c->uid = (uint32_t)se->cred.uid;
		c->gid = (uint32_t)se->cred.gid;
		snprintf(c->name, sizeof(c->name), "%s", se->name);
		c->pins = se->holder.pins;
		c->ops = se->ops;
		n++;
	}
	return n;
}

uint32_t admin_fill_namespaces(const struct server *s, struct tier_ns_info *out, uint32_t max)
{
	return admin_fill_namespaces_for(s, NULL, out, max);
}

uint32_t admin_fill_namespaces_for(const struct server *s, const struct session *viewer,
				   struct tier_ns_info *out, uint32_t max)
{
	const struct store *st = &s->store;
	uint32_t n = 0;

	for (uint32_t i = 0; i < st->n_ns && n < max; i++) {
		const struct ns *x = &st->ns[i];
		struct tier_ns_info *o;

		if (!admin_ns_visible(s, viewer, i))
			continue;
		o = &out[n++];

		memset(o, 0, sizeof(*o));
		memcpy(o->name, x->name, sizeof(o->name));
		o->id = i;
		o->block_size = x->block_size;
		o->blocks = x->blocks;
		o->bytes = x->blocks * x->block_size;
		o->hits = x->hits;
		o->misses = x->misses;
		o->evictions = x->evictions;
		o->promotions = x->promotions;
		o->demotions = x->demotions;
		o->dirty_blocks = x->dirty;
		o->host_bytes = x->host_bytes;
		o->quota_host = x->quota_host;
		o->nvme_bytes = x->nv_bytes;
		o->quota_nvme = x->quota_nvme;
	}
	return n;
}

uint32_t admin_fill_arenas(const struct server *s, struct tier_arena_info *out, uint32_t max)
{
	const struct store *st = &s->store;
	uint32_t n = 0;

	for (uint32_t d = 1; d < st->n_dom && n < max; d++, n++) {
		const struct store_dom *x = &st->dom[d];
		struct tier_arena_info *o = &out[n];

		memset(o, 0, sizeof(*o));
		memcpy(o->name, x->ns, sizeof(o->name));
		o->start = x->base;
		o->bytes = x->slab.arena_bytes;
		o->used_bytes = x->used_bytes;
	}
	return n;
}

static int do_policy(struct server *s, struct session *se, const struct tier_msg_policy *m,
		     struct tier_msg_policy *rep)
{
	struct store *st = &s->store;
	int r = 0;

	/* The GPU tier's policy (LRU) is shown, not switched: nothing else runs there yet. */
	if (m->tier == TIER_GPU && st->gpu.on) {
		if (m->flags & TIER_POLICY_SET)
			return admin_may_change(se) ? -EOPNOTSUPP : -EPERM;
		memset(rep, 0, sizeof(*rep));
		rep->tier = m->tier;
		snprintf(rep->name, sizeof(rep->name), "%s", st->gpu.evict->name);
		return 0;
	}
	if (m->tier != TIER_HOST && !(m->tier == TIER_NVME && st->nvme))
		return -ENODEV;
	if (m->flags & TIER_POLICY_SET) {
		const struct tier_evict_ops *ops = tier_evict_find(m->name);
		const char *old = m->tier == TIER_HOST ? st->evict->name : st->nv.evict->name;

		if (!admin_may_change(se))
			return -EPERM;
		if (!ops)
			return -ENOENT;
		r = m->tier == TIER_HOST ? store_set_evict(st, ops) : store_set_nv_evict(st, ops);
		if (r < 0) {
			log_warning("client %u (pid %d): %s tier policy %s could not start (%s): "
				    "keeping %s", se->id, (int)se->cred.pid,
				    m->tier == TIER_HOST ? "host" : "nvme", ops->name, strerror(-r),
				    old);
			return r;
		}
		log_notice("client %u (pid %d, uid %d): %s tier eviction policy %s -> %s", se->id,
			   (int)se->cred.pid, (int)se->cred.uid,
			   m->tier == TIER_HOST ? "host" : "nvme", old, ops->name);
		/* The config in force says what runs (a reload puts the file's value back). */
		snprintf(m->tier == TIER_HOST ? s->cfg.policy_evict : s->cfg.policy_nvme_evict,
			 sizeof(s->cfg.policy_evict), "%s", ops->name);
	}
	memset(rep, 0, sizeof(*rep));
	rep->tier = m->tier;
	snprintf(rep->name, sizeof(rep->name), "%s",
		 m->tier == TIER_HOST ? st->evict->name : st->nv.evict->name);
	return 0;
}

bool admin_is_admin(uint16_t type)
{
	return (type >= TIER_MSG_STATUS && type <= TIER_MSG_NS_DROP) || type == TIER_MSG_ARENAS ||
	       type == TIER_MSG_LATENCY || type == TIER_MSG_NS_DELETE || type == TIER_MSG_REMOTE;
}

int admin_handle(struct server *s, struct session *se, uint16_t type, const void *body, void *out,
		 size_t outmax, size_t *ret_len)
{
	struct tier_msg_admin a;
	uint32_t n, max;
	int r;

	*ret_len = 0;
	switch (type) {
	case TIER_MSG_STATUS:
		admin_fill_status(s, out);
		*ret_len = sizeof(struct tier_daemon_status);
		return 0;
	case TIER_MSG_LATENCY:
		admin_fill_latency(s, out);
		*ret_len = sizeof(struct tier_io_latency);
		return 0;
	case TIER_MSG_REMOTE:
		admin_fill_remote(s, out);
		*ret_len = sizeof(struct tier_remote_stats);
		return 0;
	case TIER_MSG_CLIENTS:
		memcpy(&a, body, sizeof(a));
		max = (uint32_t)(outmax / sizeof(struct tier_client_info));
		n = admin_fill_clients(s, out, a.max < max ? a.max : max);
		*ret_len = n * sizeof(struct tier_client_info);
		return (int)n;
	case TIER_MSG_NAMESPACES:
		memcpy(&a, body, sizeof(a));
		max = (uint32_t)(outmax / sizeof(struct tier_ns_info));
		n = admin_fill_namespaces_for(s, se, out, a.max < max ? a.max : max);
		*ret_len = n * sizeof(struct tier_ns_info);
		return (int)n;
	case TIER_MSG_ARENAS:
		memcpy(&a, body, sizeof(a));
		max = (uint32_t)(outmax / sizeof(struct tier_arena_info));
		n = admin_fill_arenas(s, out, a.max < max ? a.max : max);
		*ret_len = n * sizeof(struct tier_arena_info);
		return (int)n;
	case TIER_MSG_CONFIG:
		/* Salts are what keeps a restricted namespace's keys unguessable: admins only. */
		r = config_format_for(&s->cfg, !admin_may_change(se), out, outmax);
		if (r < 0 || (size_t)r >= outmax)
			return -EMSGSIZE;
		*ret_len = (size_t)r + 1;
		return r;
	case TIER_MSG_POLICY: {
		struct tier_msg_policy m, rep;

		memcpy(&m, body, sizeof(m));
		r = do_policy(s, se, &m, &rep);
		if (r == 0) {
			memcpy(out, &rep, sizeof(rep));
			*ret_len = sizeof(rep);
		}
		return r;
	}
	case TIER_MSG_EVICT: {
		struct tier_msg_evict m;
		struct tier_msg_evict_reply rep;

		memcpy(&m, body, sizeof(m));
		if (!admin_may_change(se))
			return -EPERM;
		r = store_evict_bytes(&s->store, (int)m.tier, m.bytes, &rep.bytes, &rep.blocks);
		if (r < 0)
			return r;
		log_notice("client %u (pid %d, uid %d): evict %llu bytes from tier %u: %llu blocks, "
			   "%llu bytes", se->id, (int)se->cred.pid, (int)se->cred.uid,
			   (unsigned long long)m.bytes, m.tier, (unsigned long long)rep.blocks,
			   (unsigned long long)rep.bytes);
		memcpy(out, &rep, sizeof(rep));
		*ret_len = sizeof(rep);
		return 0;
	}
	case TIER_MSG_NS_DROP:
	case TIER_MSG_NS_DELETE: {
		struct tier_msg_ns_drop m;
		bool del = type == TIER_MSG_NS_DELETE;
		uint32_t ns;

		memcpy(&m, body, sizeof(m));
		if (!admin_may_change(se))
			return -EPERM;
		r = store_ns_find(&s->store, m.name, &ns);
		if (r < 0)
			return r;
		r = del ? store_ns_delete(&s->store, ns) : store_ns_drop_all(&s->store, ns);
		log_notice("client %u (pid %d, uid %d): %s namespace %s: %d blocks", se->id,
			   (int)se->cred.pid, (int)se->cred.uid, del ? "deleted" : "dropped", m.name, r);
		/* A namespace the config pins exists again at once, empty, with its size. */
		if (del)
			server_apply_ns_rules(s, false);
		return r;
	}
	default:
		return -EINVAL;
	}
}
