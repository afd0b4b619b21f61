/* SPDX-License-Identifier: MIT */
/*
 * [ns.NAME] sections.  A namespace without a rule is open to every client of
 * the socket (whose access the socket's mode and group already decide); a
 * rule with an owner or groups lets only those (and root) open it, and every
 * operation on the namespace requires having opened it.
 *
 * Access rules alone would not keep bytes apart: every client maps the shared
 * arena.  So a restricted namespace gets a private arena (arena = SIZE, else
 * its quota_host) unless the config explicitly says arena = shared; with
 * neither the config is refused rather than silently sharing its bytes.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "nsrule.h"
#include "slab.h"

#define errf config_errf

static int parse_id(const char *v, bool user, uint32_t *ret)
{
	char *end;
	unsigned long n;

	if (isdigit((unsigned char)*v)) {
		n = strtoul(v, &end, 10);
		if (*end || n > UINT32_MAX - 1)
			return -EINVAL;
		*ret = (uint32_t)n;
		return 0;
	}
	if (user) {
		struct passwd *pw = getpwnam(v);

		if (!pw)
			return -ENOENT;
		*ret = pw->pw_uid;
	} else {
		struct group *gr = getgrnam(v);

		if (!gr)
			return -ENOENT;
		*ret = gr->gr_gid;
	}
	return 0;
}

const struct ns_rule *nsrule_find(const struct ns_rules *rs, const char *name)
{
	for (uint32_t i = 0; i < rs->n; i++)
		if (strcmp(rs->r[i].name, name) == 0)
			return &rs->r[i];
	return NULL;
}

int nsrule_set(struct ns_rules *rs, const char *name, const char *key, const char *value,
	       char *err, size_t errlen)
{
	struct ns_rule *r = (struct ns_rule *)nsrule_find(rs, name);
	size_t len = strlen(name);
	char why[160];

	if (len == 0 || len > TIER_NAME_MAX) {
		errf(err, errlen, "ns.%s: a namespace name has 1 to %d bytes", name, TIER_NAME_MAX);
		return -EINVAL;
	}
	/*
	 * The section has to be written as "[ns.NAME]" and read back whole:
	 * libinih keeps 49 bytes of a section name and ends it at the first ']'
	 * or at a ';' or '#' after a blank.
	 */
	if (len > NS_RULE_NAME_MAX) {
		errf(err, errlen, "ns.%s: a config file holds rules for names of at most %d bytes", name,
		     NS_RULE_NAME_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == ']' || (ch < 0x20 && ch != '\t') ||
		    (i && (ch == ';' || ch == '#') && (name[i - 1] == ' ' || name[i - 1] == '\t'))) {
			errf(err, errlen, "ns.%s: a config file cannot hold this name in a section "
			     "(']', a control character, or ';' or '#' after a blank)", name);
			return -EINVAL;
		}
	}
	if (!strcmp(key, "salt") && config_line_check(key, value, why, sizeof(why)) < 0) {
		errf(err, errlen, "ns.%s.salt: %s", name, why);
		return -EINVAL;
	}
	if (!r) {
		if (rs->n == NS_RULES_MAX) {
			errf(err, errlen, "ns.%s: more than %d namespace sections", name,
			     NS_RULES_MAX);
			return -EINVAL;
		}
		r = &rs->r[rs->n++];
		memset(r, 0, sizeof(*r));
		memcpy(r->name, name, len);
	}
	if (!strcmp(key, "owner")) {
		if (parse_id(value, true, &r->owner) < 0) {
			errf(err, errlen, "ns.%s.owner: '%s' is not a user name or uid", name, value);
			return -EINVAL;
		}
		r->has_owner = true;
	} else if (!strcmp(key, "groups")) {
		char buf[512], *save = NULL, *tok;

		snprintf(buf, sizeof(buf), "%s", value);
		r->n_gids = 0;
		for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
			if (r->n_gids == NS_RULE_GIDS_MAX ||
			    parse_id(tok, false, &r->gids[r->n_gids]) < 0) {
				errf(err, errlen,
				     "ns.%s.groups: '%s' is not a group name or gid (at most %d)", name,
				     tok, NS_RULE_GIDS_MAX);
				return -EINVAL;
			}
			r->n_gids++;
		}
	} else if (!strcmp(key, "quota_host") || !strcmp(key, "quota_nvme")) {
		uint64_t *q = key[6] == 'h' ? &r->quota_host : &r->quota_nvme;

		if (config_parse_size(value, q) < 0) {
			errf(err, errlen, "ns.%s.%s: '%s' is not a size", name, key, value);
			return -EINVAL;
		}
	} else if (!strcmp(key, "salt")) {
		if (strlen(value) > NS_SALT_MAX) {
			errf(err, errlen, "ns.%s.salt: at most %d bytes", name, NS_SALT_MAX);
			return -EINVAL;
		}
		snprintf(r->salt, sizeof(r->salt), "%s", value);
	} else if (!strcmp(key, "block_size")) {
		uint64_t v = 0;

		if (config_parse_size(value, &v) < 0 || v == 0 || v > (1ULL << 30)) {
			errf(err, errlen, "ns.%s.block_size: '%s' is not a size from 1 to 1G", name,
			     value);
			return -EINVAL;
		}
		r->block_size = v;
	} else if (!strcmp(key, "arena")) {
		uint64_t v = 0;

		if (strcmp(value, "shared") && (config_parse_size(value, &v) < 0 || v == 0)) {
			errf(err, errlen, "ns.%s.arena: '%s' is not a size above 0 nor 'shared'",
			     name, value);
			return -EINVAL;
		}
		r->arena = v;
		r->arena_shared = v == 0;
	} else {
		errf(err, errlen, "ns.%s.%s: unknown key (owner, groups, quota_host, quota_nvme, "
			     "salt, arena, block_size)", name, key);
		return -ENOENT;
	}
	return 0;
}

bool nsrule_restricted(const struct ns_rule *r)
{
	return r && (r->has_owner || r->n_gids);
}

bool nsrule_allows(const struct ns_rule *r, uid_t uid, gid_t gid, const gid_t *groups,
		   size_t n_groups)
{
	if (!nsrule_restricted(r) || uid == 0)
		return true;
	if (r->has_owner && uid == r->owner)
		return true;
	for (uint32_t i = 0; i < r->n_gids; i++) {
		if (gid == r->gids[i])
			return true;
		for (size_t j = 0; j < n_groups; j++)
			if (groups[j] == r->gids[i])
				return true;
	}
	return false;
}

uint64_t nsrule_arena_bytes(const struct ns_rule *r)
{
	uint64_t b;

	if (!r || r->arena_shared)
		return 0;
	b = r->arena ? r->arena : nsrule_restricted(r) ? r->quota_host : 0;
	if (b > UINT64_MAX - SLAB_EXTENT_BYTES)
		b = UINT64_MAX - SLAB_EXTENT_BYTES;
	return (b + SLAB_EXTENT_BYTES - 1) / SLAB_EXTENT_BYTES * SLAB_EXTENT_BYTES;
}

int nsrule_validate(const struct ns_rules *rs, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < rs->n; i++) {
		const struct ns_rule *r = &rs->r[i];

		if (nsrule_restricted(r) && !r->arena_shared && !nsrule_arena_bytes(r)) {
			errf(err, errlen,
			     "ns.%s: owner/groups restrict who may open it, but every client maps "
			     "the shared arena: give it its own with arena = SIZE (or quota_host), "
			     "or say arena = shared (with host.verify = on) to let any client of "
			     "the socket read its bytes",
			     r->name);
			return -EINVAL;
		}
	}
	return 0;
}

bool nsrule_same_arenas(const struct ns_rules *a, const struct ns_rules *b)
{
	const struct ns_rules *x[2] = { a, b };

	for (int k = 0; k < 2; k++)
		for (uint32_t i = 0; i < x[k]->n; i++) {
			const struct ns_rule *r = &x[k]->r[i];

			if (nsrule_arena_bytes(r) != nsrule_arena_bytes(nsrule_find(x[1 - k], r->name)))
				return false;
		}
	return true;
}

int nsrule_format(const struct ns_rules *rs, bool redact, char *buf, size_t len)
{
	size_t off = 0;

#define OUT(...)                                                                      \
	off += (size_t)snprintf(buf + (off < len ? off : len), off < len ? len - off : 0, \
				__VA_ARGS__)
	for (uint32_t i = 0; i < rs->n; i++) {
		const struct ns_rule *r = &rs->r[i];

		/*
		 * A section whose keys are all empty ("salt =") means what no
		 * section means, and a section with no key would not load back
		 * (libinih reports keys, not sections): left out.
		 */
		if (!r->has_owner && !r->n_gids && !r->quota_host && !r->quota_nvme && !r->salt[0] &&
		    !r->arena_shared && !r->arena && !r->block_size)
			continue;
		OUT("\n[ns.%s]\n", r->name);
		if (r->has_owner)
			OUT("owner = %u\n", r->owner);
		if (r->n_gids) {
			OUT("groups = ");
			for (uint32_t g = 0; g < r->n_gids; g++)
				OUT("%s%u", g ? "," : "", r->gids[g]);
			OUT("\n");
		}
		if (r->quota_host)
			OUT("quota_host = %llu\n", (unsigned long long)r->quota_host);
		if (r->quota_nvme)
			OUT("quota_nvme = %llu\n", (unsigned long long)r->quota_nvme);
		if (r->salt[0])
			OUT("salt = %s\n", redact ? "(redacted)" : r->salt);
		if (r->block_size)
			OUT("block_size = %llu\n", (unsigned long long)r->block_size);
		if (r->arena_shared)
			OUT("arena = shared\n");
		else if (r->arena)
			OUT("arena = %llu\n", (unsigned long long)r->arena);
	}
#undef OUT
	return (int)off;
}
