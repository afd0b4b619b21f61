/* SPDX-License-Identifier: MIT */
/*
 * The remote tier's keys, slots and value header (remote_key.h).  No I/O, so
 * the unit tests reach every branch.  Keys are text (hex), so an operator can
 * find a block's value with redis-cli; there is no hash tag anywhere in them,
 * so one namespace's blocks spread over every master.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <xxhash.h>

#include "remote_key.h"

/* The cluster spec's CRC16 (XMODEM: polynomial 0x1021, initial value 0), bitwise: keys are short. */
uint16_t remote_crc16(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint16_t crc = 0;

	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = crc & 0x8000 ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

uint16_t remote_key_slot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len);

	if (open) {
		size_t start = (size_t)(open - key) + 1;
		const char *close = memchr(key + start, '}', len - start);

		/* "{}" or no '}' after the first '{': the whole key, as the spec says. */
		if (close && close > key + start)
			return remote_crc16(key + start, (size_t)(close - (key + start))) &
			       (REMOTE_SLOTS - 1);
	}
	return remote_crc16(key, len) & (REMOTE_SLOTS - 1);
}

uint64_t remote_ns_id(const char *name, const uint8_t *salt16)
{
	uint8_t buf[8 + TIER_NAME_MAX + 1 + 16];
	size_t n = strnlen(name, TIER_NAME_MAX) + 1, len = 8;

	memcpy(buf, "tierd-ns", 8);
	memcpy(buf + len, name, n - 1);
	buf[len + n - 1] = 0;
	len += n;
	if (salt16) {
		memcpy(buf + len, salt16, 16);
		len += 16;
	}
	return XXH3_64bits(buf, len);
}

bool remote_prefix_valid(const char *prefix)
{
	size_t n = strlen(prefix);

	if (n > REMOTE_PREFIX_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (prefix[i] <= ' ' || prefix[i] > '~' || prefix[i] == '{' || prefix[i] == '}')
			return false;
	return true;
}

size_t remote_key_format(char *buf, const char *prefix, uint64_t ns_id, tier_key k)
{
	int n = snprintf(buf, REMOTE_KEY_MAX, "%s%016llx:%016llx%016llx", prefix,
			 (unsigned long long)ns_id, (unsigned long long)k.hi,
			 (unsigned long long)k.lo);

	return n < 0 ? 0 : (size_t)n;
}

static uint64_t hdr_sum(const struct remote_val_hdr *h)
{
	return XXH3_64bits(h, offsetof(struct remote_val_hdr, hdr_xxh3));
}

void remote_val_hdr_encode(struct remote_val_hdr *h, uint64_t ns_id, tier_key k,
			   const void *payload, uint64_t len)
{
	memset(h, 0, sizeof(*h));
	h->magic = REMOTE_VAL_MAGIC;
	h->version = REMOTE_VAL_VERSION;
	h->hdr_bytes = REMOTE_VAL_HDR_BYTES;
	h->ns_id = ns_id;
	h->key_hi = k.hi;
	h->key_lo = k.lo;
	h->len = len;
	h->payload_xxh3 = XXH3_64bits(payload, len);
	h->hdr_xxh3 = hdr_sum(h);
}

int remote_val_verify(const void *val, size_t val_len, uint64_t ns_id, tier_key k,
		      uint64_t want_len, uint64_t *ret_len)
{
	struct remote_val_hdr h;

	if (val_len < sizeof(h))
		return -EBADMSG;
	memcpy(&h, val, sizeof(h)); /* the reply buffer need not be aligned */
	if (h.magic != REMOTE_VAL_MAGIC || h.version != REMOTE_VAL_VERSION ||
	    h.hdr_bytes != REMOTE_VAL_HDR_BYTES || h.reserved || h.hdr_xxh3 != hdr_sum(&h))
		return -EBADMSG;
	if (h.ns_id != ns_id || h.key_hi != k.hi || h.key_lo != k.lo)
		return -EBADMSG;
	if (h.len != val_len - sizeof(h) || (want_len && h.len != want_len))
		return -EBADMSG;
	if (XXH3_64bits((const uint8_t *)val + sizeof(h), h.len) != h.payload_xxh3)
		return -EBADMSG;
	if (ret_len)
		*ret_len = h.len;
	return 0;
}
