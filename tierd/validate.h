/* SPDX-License-Identifier: MIT */
/* Validation of client messages: pure, so unit tests and fuzzers reach it. */
#ifndef TIERD_VALIDATE_H
#define TIERD_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"
#include "ring.h"

/*
 * Check one datagram of len bytes.  Returns:
 *   0        well formed; *ret_hdr is its header and *ret_body its body;
 *   -EBADMSG not a message of ours at all (short, bad magic): disconnect;
 *   -EPROTO  anything but HELLO before the handshake: disconnect;
 *   -EINVAL  a message of ours with a bad type, length or field: reply with
 *            the error (*ret_hdr is valid for the reply).
 * Every field the daemon later relies on (lengths, counts, NUL termination,
 * flag bits) is checked here; the handlers may trust the result.
 */
int validate_msg(const void *buf, size_t len, int hello_done, struct tier_msg_hdr *ret_hdr,
		 const void **ret_body, size_t *ret_body_len);

/*
 * A name field of size bytes (a client's, a namespace's): NUL-terminated
 * inside it, printable UTF-8 (no control characters, name.h), not empty
 * unless may_be_empty.  0 or -EINVAL.
 */
int validate_name(const char *field, size_t size, bool may_be_empty);

/*
 * Check one ring submission entry (already copied out of shared memory):
 * known opcode, known flags, zero reserved fields, and for batches a count
 * within limits and a data-area range (inputs and outputs) inside
 * data_bytes.  0 or -EINVAL.
 */
int validate_sqe(const struct tier_sqe *e, uint64_t data_bytes);

#endif
