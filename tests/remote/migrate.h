/* SPDX-License-Identifier: MIT */
/* Moving a slot between two masters of a test cluster (blocking hiredis; Check asserts). */
#ifndef TIERD_TEST_MIGRATE_H
#define TIERD_TEST_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

redisContext *cl_connect(int port);
/* The port of the master that serves slot, asked of the node at any_port. */
int cl_owner_port(int any_port, uint16_t slot);
/*
 * Start moving the slot of key from its master to another of masters[0..n)
 * (MIGRATING/IMPORTING, then MIGRATE of key alone); finish: the slot too
 * (SETSLOT NODE on both).  The two ports in *ret_src, *ret_dst.
 */
void cl_migrate(const int *masters, int n, const char *key, bool finish, int *ret_src,
		int *ret_dst);
/* SETSLOT NODE on both: the slot is dst's. */
void cl_finish(int src, int dst, uint16_t slot);

#endif
