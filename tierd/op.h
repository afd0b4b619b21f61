/* SPDX-License-Identifier: MIT */
/* Block operations, independent of the transport that brought them. */
#ifndef TIERD_OP_H
#define TIERD_OP_H

#include <stdbool.h>
#include <stdint.h>

#include "ring.h"
#include "store.h"

struct op_req {
	uint8_t code;            /* enum tier_op_code, or TIER_SQE_*_MANY */
	uint8_t flags;           /* TIER_OPF_* */
	uint32_t ns;
	tier_key key, parent;
	tier_handle handle;
	/* lists (a socket LOOKUP/PREFETCH, ring batches) */
	const tier_key *keys;
	const tier_handle *handles;
	uint32_t n, first_pos, total;
	tier_key list_parent;
	uint8_t *ret_tier;       /* LOOKUP_MANY */
	tier_handle *ret_handles; /* ACQUIRE_MANY */
	uint64_t *ret_offs;
};

struct op_res {
	tier_handle handle;
	uint64_t offset, size;
};

/* Whether h opened namespace ns (counts a refusal when not). */
bool op_may_use(struct store *st, const struct holder *h, uint32_t ns);

/* Carry q out; its result (>= 0 or -errno), or -EINPROGRESS to park and retry. */
int op_exec(struct store *st, struct holder *h, const struct op_req *q, bool retry,
	    struct op_res *ret);

#endif
