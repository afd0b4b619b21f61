/* SPDX-License-Identifier: MIT */
/*
 * The daemon never trusts a byte from a client.  Each request type has one
 * exact body size (LOOKUP: a header plus exactly n keys, n bounded); strings
 * must be NUL-terminated inside their field; reserved flags must be zero.
 * Everything is copied out with memcpy, so a misaligned datagram is safe.
 */
#include <errno.h>
#include <string.h>

#include "name.h"
#include "validate.h"

static const size_t body_size[TIER_MSG__MAX] = {
	[TIER_MSG_HELLO] = sizeof(struct tier_msg_hello),
	[TIER_MSG_NS_OPEN] = sizeof(struct tier_msg_ns_open),
	[TIER_MSG_ALLOC] = sizeof(struct tier_msg_alloc),
	[TIER_MSG_COMMIT] = sizeof(struct tier_msg_commit),
	[TIER_MSG_LOOKUP] = sizeof(struct tier_msg_lookup), /* + n keys */
	[TIER_MSG_ACQUIRE] = sizeof(struct tier_msg_key),
	[TIER_MSG_RELEASE] = sizeof(struct tier_msg_handle),
	[TIER_MSG_DROP] = sizeof(struct tier_msg_key),
	[TIER_MSG_STATS] = sizeof(struct tier_msg_stats),
	[TIER_MSG_PREFETCH] = sizeof(struct tier_msg_lookup), /* + n keys */
	[TIER_MSG_FLUSH] = sizeof(struct tier_msg_flush),
	[TIER_MSG_HINT] = sizeof(struct tier_msg_hint), /* + n keys */
	[TIER_MSG_STATUS] = sizeof(struct tier_msg_admin),
	[TIER_MSG_CLIENTS] = sizeof(struct tier_msg_admin),
	[TIER_MSG_NAMESPACES] = sizeof(struct tier_msg_admin),
	[TIER_MSG_CONFIG] = sizeof(struct tier_msg_admin),
	[TIER_MSG_POLICY] = sizeof(struct tier_msg_policy),
	[TIER_MSG_EVICT] = sizeof(struct tier_msg_evict),
	[TIER_MSG_NS_DROP] = sizeof(struct tier_msg_ns_drop),
	[TIER_MSG_GPU_POOL] = sizeof(struct tier_msg_gpu_pool),
	[TIER_MSG_ACQUIRE_GPU] = sizeof(struct tier_msg_key),
	[TIER_MSG_ARENAS] = sizeof(struct tier_msg_admin),
	[TIER_MSG_LATENCY] = sizeof(struct tier_msg_admin),
	[TIER_MSG_NS_DELETE] = sizeof(struct tier_msg_ns_drop),
	[TIER_MSG_REMOTE] = sizeof(struct tier_msg_admin),
};

/*
 * A name a client gives (its own, a namespace's) reaches the operator's
 * terminal through tierctl and the log through the daemon's messages: it must
 * end inside its field and be printable UTF-8 (name.h).
 */
int validate_name(const char *field, size_t size, bool may_be_empty)
{
	const unsigned char *p = (const unsigned char *)field;
	const unsigned char *end = memchr(field, 0, size);
	size_t n;

	if (!end || (end == p && !may_be_empty))
		return -EINVAL;
	for (; p < end; p += n)
		if (!(n = name_char_len(p, (size_t)(end - p))))
			return -EINVAL;
	return 0;
}

/* The administration messages (body length already checked). */
static int validate_admin(uint16_t type, const unsigned char *body)
{
	switch (type) {
	case TIER_MSG_POLICY: {
		struct tier_msg_policy m;

		memcpy(&m, body, sizeof(m));
		if (m.tier >= TIER_COUNT || (m.flags & ~(uint32_t)TIER_POLICY_SET) ||
		    !memchr(m.name, 0, sizeof(m.name)) || (m.flags && !m.name[0]) ||
		    (!m.flags && m.name[0]))
			return -EINVAL;
		return 0;
	}
	case TIER_MSG_EVICT: {
		struct tier_msg_evict m;

		memcpy(&m, body, sizeof(m));
		return m.tier >= TIER_COUNT || m.pad || !m.bytes ? -EINVAL : 0;
	}
	case TIER_MSG_NS_DROP:
	case TIER_MSG_NS_DELETE: {
		struct tier_msg_ns_drop m;

		memcpy(&m, body, sizeof(m));
		return validate_name(m.name, sizeof(m.name), false);
	}
	default: { /* STATUS, CLIENTS, NAMESPACES, CONFIG, ARENAS, LATENCY, REMOTE */
		struct tier_msg_admin m;

		memcpy(&m, body, sizeof(m));
		return m.pad ? -EINVAL : 0;
	}
	}
}

int validate_msg(const void *buf, size_t len, int hello_done, struct tier_msg_hdr *ret_hdr,
		 const void **ret_body, size_t *ret_body_len)
{
	const unsigned char *body = (const unsigned char *)buf + sizeof(struct tier_msg_hdr);
	struct tier_msg_hdr h;
	size_t blen;

	if (!buf || len < sizeof(h))
		return -EBADMSG;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != TIER_PROTO_MAGIC)
		return -EBADMSG;
	*ret_hdr = h;
	blen = len - sizeof(h);
	if (!hello_done && h.type != TIER_MSG_HELLO)
		return -EPROTO;
	if (h.type == 0 || h.type >= TIER_MSG__MAX || h.flags != 0 || h.status != 0)
		return -EINVAL;
	if (h.type == TIER_MSG_LOOKUP || h.type == TIER_MSG_PREFETCH) {
		struct tier_msg_lookup l;

		if (blen < sizeof(l))
			return -EINVAL;
		memcpy(&l, body, sizeof(l));
		if (l.n > TIER_LOOKUP_BATCH || blen != sizeof(l) + (size_t)l.n * sizeof(tier_key))
			return -EINVAL;
		/* keys[0] sits at first_pos of a list of total keys. */
		if (l.first_pos > l.total || l.n > l.total - l.first_pos)
			return -EINVAL;
	} else if (h.type == TIER_MSG_HINT) {
		struct tier_msg_hint m;

		if (blen < sizeof(m))
			return -EINVAL;
		memcpy(&m, body, sizeof(m));
		if (m.n > TIER_LOOKUP_BATCH || m.pad ||
		    blen != sizeof(m) + (size_t)m.n * sizeof(tier_key))
			return -EINVAL;
	} else if (blen != body_size[h.type]) {
		return -EINVAL;
	}
	switch (h.type) {
	case TIER_MSG_HELLO: {
		struct tier_msg_hello m;

		memcpy(&m, body, sizeof(m));
		if (hello_done || validate_name(m.name, sizeof(m.name), true) < 0 ||
		    (m.flags & ~(uint32_t)(TIER_HELLO_NO_RING | TIER_HELLO_ARENAS)) || m.pad)
			return -EINVAL;
		break;
	}
	case TIER_MSG_NS_OPEN: {
		struct tier_msg_ns_open m;

		memcpy(&m, body, sizeof(m));
		if (validate_name(m.name, sizeof(m.name), false) < 0 || m.block_size == 0)
			return -EINVAL;
		break;
	}
	case TIER_MSG_COMMIT: {
		struct tier_msg_commit m;

		memcpy(&m, body, sizeof(m));
		if (m.flags & ~(uint32_t)TIER_COMMIT_HAS_PARENT)
			return -EINVAL;
		break;
	}
	case TIER_MSG_STATUS:
	case TIER_MSG_CLIENTS:
	case TIER_MSG_NAMESPACES:
	case TIER_MSG_CONFIG:
	case TIER_MSG_POLICY:
	case TIER_MSG_EVICT:
	case TIER_MSG_NS_DROP:
	case TIER_MSG_NS_DELETE:
	case TIER_MSG_ARENAS:
	case TIER_MSG_LATENCY:
	case TIER_MSG_REMOTE:
		if (validate_admin(h.type, body) < 0)
			return -EINVAL;
		break;
	case TIER_MSG_GPU_POOL: {
		struct tier_msg_gpu_pool m;

		memcpy(&m, body, sizeof(m));
		if (m.flags || m.pad)
			return -EINVAL;
		break;
	}
	default:
		break;
	}
	*ret_body = body;
	*ret_body_len = blen;
	return 0;
}

int validate_sqe(const struct tier_sqe *e, uint64_t data_bytes)
{
	uint64_t in, out;

	if (e->pad || (e->flags & ~(uint8_t)TIER_OPF_PARENT))
		return -EINVAL;
	if (e->flags && e->opcode != TIER_OP_COMMIT)
		return -EINVAL;
	switch (e->opcode) {
	case TIER_OP_NOP:
	case TIER_OP_LOOKUP:
	case TIER_OP_ACQUIRE:
	case TIER_OP_RELEASE:
	case TIER_OP_ALLOC:
	case TIER_OP_COMMIT:
	case TIER_OP_DROP:
	case TIER_OP_PREFETCH:
		return e->n || e->data_off ? -EINVAL : 0;
	case TIER_SQE_LOOKUP_MANY:
		in = sizeof(tier_key);
		out = 1;
		break;
	case TIER_SQE_ACQUIRE_MANY:
		in = sizeof(tier_key);
		out = sizeof(tier_handle) + sizeof(uint64_t);
		break;
	case TIER_SQE_RELEASE_MANY:
		in = sizeof(tier_handle);
		out = 0;
		break;
	case TIER_SQE_COMMIT_MANY:
		in = sizeof(tier_handle) + sizeof(tier_key);
		out = 0;
		break;
	default:
		return -EINVAL;
	}
	/* 64-bit arithmetic: n and data_off are 32-bit, so nothing here overflows. */
	if (e->n == 0 || e->data_off % 8 ||
	    (uint64_t)e->data_off + (uint64_t)e->n * (in + out) > data_bytes)
		return -EINVAL;
	return 0;
}
