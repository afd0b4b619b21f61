/* SPDX-License-Identifier: MIT */
/*
 * Per-namespace rules from the config: [ns.NAME] sections with owner,
 * groups (who may open it), quota_host / quota_nvme (bytes per tier), salt
 * (mixed into its keys), and arena (a private host arena: its bytes are in a
 * memfd only the clients that may open it receive).  Pure parsing and
 * checks; no I/O but the user and group name lookups.
 */
#ifndef TIERD_NSRULE_H
#define TIERD_NSRULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tier.h"

#define NS_RULES_MAX 64
#define NS_RULE_GIDS_MAX 16
#define NS_SALT_MAX 63
/* Longest namespace name a rule can have: "[ns.NAME]" in 49 bytes (libinih's section). */
#define NS_RULE_NAME_MAX 46

struct ns_rule {
	char name[TIER_NAME_MAX + 1];
	bool has_owner;
	uint32_t owner;                     /* uid */
	uint32_t n_gids;
	uint32_t gids[NS_RULE_GIDS_MAX];
	uint64_t quota_host, quota_nvme;    /* bytes; 0 = no quota */
	char salt[NS_SALT_MAX + 1];         /* "" = none */
	uint64_t arena;                     /* private arena bytes; 0 = unset */
	bool arena_shared;                  /* arena = shared: its bytes in the shared arena */
	/*
	 * block_size = SIZE: the namespace exists from start with this block
	 * size (its size classes taken before any client's), and an open with
	 * another size is refused.  0 = unset: the first opener's size.
	 */
	uint64_t block_size;
};

struct ns_rules {
	uint32_t n;
	struct ns_rule r[NS_RULES_MAX];
};

/* Set key of [ns.NAME] (name without the "ns." prefix).  -EINVAL (err says why) or -ENOENT. */
int nsrule_set(struct ns_rules *rs, const char *name, const char *key, const char *value,
	       char *err, size_t errlen);
const struct ns_rule *nsrule_find(const struct ns_rules *rs, const char *name);
/* Whether a rule restricts who may open the namespace. */
bool nsrule_restricted(const struct ns_rule *r);
/*
 * Whether a peer with uid, primary gid and supplementary gids may open a
 * namespace with rule r (NULL: no rule: everyone).  Root always may.
 */
bool nsrule_allows(const struct ns_rule *r, uid_t uid, gid_t gid, const gid_t *groups,
		   size_t n_groups);
/*
 * Bytes of r's private arena (0: its blocks live in the shared arena): the
 * arena key, else, for a restricted namespace, its quota_host, rounded up to
 * whole 2 MiB extents.  A restricted namespace never shares bytes unless the
 * config says arena = shared.
 */
uint64_t nsrule_arena_bytes(const struct ns_rule *r);
/*
 * Check the rules as a whole: a restricted namespace needs arena (or
 * quota_host) or arena = shared.  0 or -EINVAL (err says why).
 */
int nsrule_validate(const struct ns_rules *rs, char *err, size_t errlen);
/* Whether a and b give the same namespaces private arenas of the same sizes. */
bool nsrule_same_arenas(const struct ns_rules *a, const struct ns_rules *b);
/*
 * The rules as INI text (appended to the config in force).  Bytes written.
 * redact: salts are shown as "(redacted)" (for clients that are not admins).
 */
int nsrule_format(const struct ns_rules *rs, bool redact, char *buf, size_t len);

#endif
