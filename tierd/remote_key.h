/* SPDX-License-Identifier: MIT */
/*
 * The remote tier's naming and framing, with no I/O: which key a block has in
 * the cluster, which hash slot that key is in (the cluster spec's CRC16), and
 * the header that every stored value begins with.
 */
#ifndef TIERD_REMOTE_KEY_H
#define TIERD_REMOTE_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tier.h"

#define REMOTE_SLOTS 16384
#define REMOTE_PREFIX_MAX 64
/* prefix + 16 hex digits of the namespace identity + ':' + 32 hex digits of the key */
#define REMOTE_KEY_MAX (REMOTE_PREFIX_MAX + 16 + 1 + 32 + 1)

#define REMOTE_VAL_MAGIC 0x564d5254u /* "TRMV" little-endian */
#define REMOTE_VAL_VERSION 1
#define REMOTE_VAL_HDR_BYTES 64

/* The header before a value's payload, little-endian on the wire (x86 and arm64 alike). */
struct remote_val_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t hdr_bytes;   /* REMOTE_VAL_HDR_BYTES */
	uint64_t ns_id;       /* remote_ns_id of the namespace */
	uint64_t key_hi, key_lo;
	uint64_t len;         /* payload bytes */
	uint64_t payload_xxh3;
	uint64_t reserved;    /* 0 */
	uint64_t hdr_xxh3;    /* XXH3-64 of the 56 bytes before it */
};
_Static_assert(sizeof(struct remote_val_hdr) == REMOTE_VAL_HDR_BYTES, "remote value header size");

/* CRC16-CCITT (XMODEM), as the Redis cluster spec defines it. */
uint16_t remote_crc16(const void *buf, size_t len);
/* The hash slot of key: the CRC16 of its {hash tag} when it has a non-empty one, mod 16384. */
uint16_t remote_key_slot(const char *key, size_t len);

/*
 * A namespace's identity in the cluster: a 64-bit hash of its name and, when
 * salted, its salt, so two tenants or two models never share a key.
 */
uint64_t remote_ns_id(const char *name, const uint8_t *salt16);
/* Whether prefix may be a key prefix: printable, no braces (a hash tag), at most REMOTE_PREFIX_MAX. */
bool remote_prefix_valid(const char *prefix);
/* The block's key in buf (REMOTE_KEY_MAX bytes): its length. */
size_t remote_key_format(char *buf, const char *prefix, uint64_t ns_id, tier_key k);

/* Fill the header for a payload of len bytes. */
void remote_val_hdr_encode(struct remote_val_hdr *h, uint64_t ns_id, tier_key k,
			   const void *payload, uint64_t len);
/*
 * Check a value read back for (ns_id, k) of want_len payload bytes: 0, or
 * -EBADMSG (not ours, a header that does not verify, another key or length, a
 * payload whose XXH3 differs).  want_len 0: any length (*ret_len says which).
 */
int remote_val_verify(const void *val, size_t val_len, uint64_t ns_id, tier_key k,
		      uint64_t want_len, uint64_t *ret_len);

#endif
