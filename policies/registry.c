/* SPDX-License-Identifier: MIT */
/*
 * The one list of policies.  The config and tiersim find a policy here by
 * name; adding a policy is one line in this table.
 */
#include <string.h>

#include "policy.h"

static const struct tier_evict_ops *const evict_policies[] = {
	&tier_evict_lru,
};

const struct tier_evict_ops *const *tier_evict_list(size_t *ret_n)
{
	*ret_n = sizeof(evict_policies) / sizeof(evict_policies[0]);
	return evict_policies;
}

const struct tier_evict_ops *tier_evict_find(const char *name)
{
	size_t n;
	const struct tier_evict_ops *const *l = tier_evict_list(&n);

	if (!name)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i]->name, name) == 0)
			return l[i];
	return NULL;
}
