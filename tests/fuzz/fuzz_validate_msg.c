/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: validate_msg() over arbitrary datagrams.
 *
 * The input is copied into a heap buffer of exactly its length (so ASan sees
 * any read past the datagram).  The first byte chooses hello_done; the rest
 * is the datagram.  Beyond "no crash", what validation promises its callers
 * is checked: an accepted message has a body inside the datagram, of the
 * exact size of its type, and every count it carries is within its limits.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fixed_body(uint16_t type)
{
	switch (type) {
	case TIER_MSG_HELLO: return sizeof(struct tier_msg_hello);
	case TIER_MSG_NS_OPEN: return sizeof(struct tier_msg_ns_open);
	case TIER_MSG_ALLOC: return sizeof(struct tier_msg_alloc);
	case TIER_MSG_COMMIT: return sizeof(struct tier_msg_commit);
	case TIER_MSG_ACQUIRE:
	case TIER_MSG_DROP: return sizeof(struct tier_msg_key);
	case TIER_MSG_RELEASE: return sizeof(struct tier_msg_handle);
	case TIER_MSG_STATS: return sizeof(struct tier_msg_stats);
	case TIER_MSG_FLUSH: return sizeof(struct tier_msg_flush);
	case TIER_MSG_STATUS:
	case TIER_MSG_CLIENTS:
	case TIER_MSG_NAMESPACES:
	case TIER_MSG_CONFIG:
	case TIER_MSG_ARENAS: return sizeof(struct tier_msg_admin);
	case TIER_MSG_LATENCY: return sizeof(struct tier_msg_admin);
	case TIER_MSG_POLICY: return sizeof(struct tier_msg_policy);
	case TIER_MSG_EVICT: return sizeof(struct tier_msg_evict);
	case TIER_MSG_NS_DROP:
	case TIER_MSG_NS_DELETE: return sizeof(struct tier_msg_ns_drop);
	case TIER_MSG_GPU_POOL: return sizeof(struct tier_msg_gpu_pool);
	case TIER_MSG_ACQUIRE_GPU: return sizeof(struct tier_msg_key);
	case TIER_MSG_REMOTE: return sizeof(struct tier_msg_admin);
	default: return SIZE_MAX;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tier_msg_hdr h;
	const void *body = NULL;
	size_t blen = 0, len;
	uint8_t *buf;
	int hello_done, r;

	if (size < 1)
		return 0;
	hello_done = data[0] & 1;
	len = size - 1;
	buf = malloc(len ? len : 1);
	assert(buf);
	memcpy(buf, data + 1, len);
	r = validate_msg(buf, len, hello_done, &h, &body, &blen);
	assert(r == 0 || r == -EBADMSG || r == -EPROTO || r == -EINVAL);
	if (r == 0) {
		const uint8_t *b = body;

		assert(len >= sizeof(h));
		assert(b == buf + sizeof(h));
		assert(blen == len - sizeof(h));
		assert(h.magic == TIER_PROTO_MAGIC && h.flags == 0 && h.status == 0);
		assert(h.type > 0 && h.type < TIER_MSG__MAX);
		assert(hello_done ? h.type != TIER_MSG_HELLO : h.type == TIER_MSG_HELLO);
		if (h.type == TIER_MSG_LOOKUP || h.type == TIER_MSG_PREFETCH) {
			struct tier_msg_lookup l;

			memcpy(&l, b, sizeof(l));
			assert(l.n <= TIER_LOOKUP_BATCH);
			assert(blen == sizeof(l) + (size_t)l.n * sizeof(tier_key));
			assert((uint64_t)l.first_pos + l.n <= l.total);
		} else if (h.type == TIER_MSG_HINT) {
			struct tier_msg_hint m;

			memcpy(&m, b, sizeof(m));
			assert(m.n <= TIER_LOOKUP_BATCH && m.pad == 0);
			assert(blen == sizeof(m) + (size_t)m.n * sizeof(tier_key));
		} else {
			assert(blen == fixed_body(h.type));
		}
		if (h.type == TIER_MSG_NS_OPEN) {
			struct tier_msg_ns_open m;

			memcpy(&m, b, sizeof(m));
			assert(m.block_size > 0 && m.name[0] && strnlen(m.name, sizeof(m.name)) <
				sizeof(m.name));
		}
		if (h.type == TIER_MSG_HELLO) {
			struct tier_msg_hello m;

			memcpy(&m, b, sizeof(m));
			assert(strnlen(m.name, sizeof(m.name)) < sizeof(m.name));
			assert((m.flags & ~(uint32_t)(TIER_HELLO_NO_RING | TIER_HELLO_ARENAS)) == 0 &&
			       m.pad == 0);
		}
		/* Touch the whole body, as the handlers do. */
		{
			volatile uint8_t sum = 0;

			for (size_t i = 0; i < blen; i++)
				sum ^= b[i];
			(void)sum;
		}
	} else if (r != -EBADMSG) {
		/* The header is valid for a reply whenever the error is not -EBADMSG. */
		assert(h.magic == TIER_PROTO_MAGIC);
	}
	free(buf);
	return 0;
}
