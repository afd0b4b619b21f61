/* SPDX-License-Identifier: MIT */
/*
 * The one list of policies.  The config and tiersim find a policy here by
 * name; adding a policy is one line in a table.
 */
#include <string.h>

#include "policy.h"

static const struct tier_evict_ops *const evict_policies[] = {
	&tier_evict_lru,
	&tier_evict_clock,
	&tier_evict_sieve,
	&tier_evict_s3fifo,
	&tier_evict_wtinylfu,
	&tier_evict_chain,
	&tier_evict_horizon,
	&tier_evict_survival,
	&tier_evict_duel,
};

static const struct tier_admit_ops *const admit_policies[] = {
	&tier_admit_all,
	&tier_admit_second_hit,
	&tier_admit_full_only,
};

static const struct tier_prefetch_ops *const prefetch_policies[] = {
	&tier_prefetch_none,
	&tier_prefetch_chain,
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

const struct tier_evict_ops *const *tier_evict_list(size_t *ret_n)
{
	*ret_n = N_OF(evict_policies);
	return evict_policies;
}

const struct tier_evict_ops *tier_evict_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < N_OF(evict_policies); i++)
		if (strcmp(evict_policies[i]->name, name) == 0)
			return evict_policies[i];
	return NULL;
}

const struct tier_admit_ops *const *tier_admit_list(size_t *ret_n)
{
	*ret_n = N_OF(admit_policies);
	return admit_policies;
}

const struct tier_admit_ops *tier_admit_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < N_OF(admit_policies); i++)
		if (strcmp(admit_policies[i]->name, name) == 0)
			return admit_policies[i];
	return NULL;
}

const struct tier_prefetch_ops *const *tier_prefetch_list(size_t *ret_n)
{
	*ret_n = N_OF(prefetch_policies);
	return prefetch_policies;
}

const struct tier_prefetch_ops *tier_prefetch_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < N_OF(prefetch_policies); i++)
		if (strcmp(prefetch_policies[i]->name, name) == 0)
			return prefetch_policies[i];
	return NULL;
}
