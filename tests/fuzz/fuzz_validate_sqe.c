/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: validate_sqe() over arbitrary ring entries.
 *
 * The first 64 bytes of the input are the entry (zero-padded), the next
 * four a data-area size (at most the real one).  An accepted entry must have
 * a known opcode and flags, zero reserved fields, and, for a batch, its
 * inputs and outputs inside the data area: the range the daemon then copies
 * from and writes to (tierd/ring.c) is touched here to prove it.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *area;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tier_sqe e;
	uint64_t data_bytes = TIER_RING_DATA_BYTES, per = 0;
	int r;

	if (!area) {
		area = malloc(TIER_RING_DATA_BYTES);
		assert(area);
	}
	memset(&e, 0, sizeof(e));
	memcpy(&e, data, size < sizeof(e) ? size : sizeof(e));
	if (size >= sizeof(e) + 4) {
		uint32_t d;

		memcpy(&d, data + sizeof(e), 4);
		data_bytes = d % (TIER_RING_DATA_BYTES + 1);
	}
	r = validate_sqe(&e, data_bytes);
	assert(r == 0 || r == -EINVAL);
	if (r < 0)
		return 0;
	assert(e.pad == 0);
	assert((e.flags & ~(uint8_t)TIER_OPF_PARENT) == 0);
	assert(!e.flags || e.opcode == TIER_OP_COMMIT);
	switch (e.opcode) {
	case TIER_SQE_LOOKUP_MANY: per = sizeof(tier_key) + 1; break;
	case TIER_SQE_ACQUIRE_MANY: per = sizeof(tier_key) + 16; break;
	case TIER_SQE_RELEASE_MANY: per = sizeof(tier_handle); break;
	case TIER_SQE_COMMIT_MANY: per = sizeof(tier_handle) + sizeof(tier_key); break;
	default:
		assert(e.opcode <= TIER_OP_PREFETCH);
		assert(e.n == 0 && e.data_off == 0);
		return 0;
	}
	assert(e.n > 0 && e.data_off % 8 == 0);
	assert((uint64_t)e.data_off + (uint64_t)e.n * per <= data_bytes);
	/* The daemon reads and writes exactly this range of the data area. */
	memset(area + e.data_off, 0xa5, (size_t)e.n * per);
	return 0;
}
