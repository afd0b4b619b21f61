/* SPDX-License-Identifier: MIT */
/* Internal to libtier (never installed): what admin.c needs of client.c. */
#ifndef TIER_CLIENT_INTERNAL_H
#define TIER_CLIENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tier.h"

/*
 * Send one request of type and receive its reply: up to max body bytes are
 * copied to reply and *ret_len says how many came.  Returns the reply's
 * status (a longer reply is -EPROTO).
 */
int tier__call(tier_client *c, uint16_t type, const void *body, size_t blen, void *reply,
	       size_t max, size_t *ret_len);

#endif
