/* SPDX-License-Identifier: MIT */
/* Slot moves for the remote tests: what redis-cli --cluster reshard does, one slot at a time. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "migrate.h"
#include "remote_key.h"

redisContext *cl_connect(int port)
{
	redisContext *c = redisConnect("127.0.0.1", port);

	ck_assert(c && !c->err);
	return c;
}

static void ok(redisContext *c, redisReply *rp)
{
	ck_assert_msg(rp && rp->type != REDIS_REPLY_ERROR, "%s", rp ? rp->str : c->errstr);
	freeReplyObject(rp);
}

int cl_owner_port(int any_port, uint16_t slot)
{
	redisContext *c = cl_connect(any_port);
	redisReply *rp = redisCommand(c, "CLUSTER SLOTS");
	int port = -1;

	for (size_t i = 0; rp && i < rp->elements; i++) {
		redisReply *e = rp->element[i];

		if (slot >= e->element[0]->integer && slot <= e->element[1]->integer)
			port = (int)e->element[2]->element[1]->integer;
	}
	freeReplyObject(rp);
	redisFree(c);
	return port;
}

static char *node_id(int port)
{
	redisContext *c = cl_connect(port);
	redisReply *rp = redisCommand(c, "CLUSTER MYID");
	char *id = strdup(rp->str);

	freeReplyObject(rp);
	redisFree(c);
	return id;
}

void cl_finish(int src, int dst, uint16_t slot)
{
	char *did = node_id(dst);
	redisContext *s = cl_connect(src), *d = cl_connect(dst);

	ok(d, redisCommand(d, "CLUSTER SETSLOT %u NODE %s", slot, did));
	ok(s, redisCommand(s, "CLUSTER SETSLOT %u NODE %s", slot, did));
	free(did);
	redisFree(s);
	redisFree(d);
}

void cl_migrate(const int *masters, int n, const char *key, bool finish, int *ret_src,
		int *ret_dst)
{
	uint16_t slot = remote_key_slot(key, strlen(key));
	int src = cl_owner_port(masters[0], slot), dst = -1;
	char *sid, *did;
	redisContext *s, *d;

	for (int i = 0; i < n && dst < 0; i++)
		if (masters[i] != src)
			dst = masters[i];
	ck_assert_int_ge(dst, 0);
	sid = node_id(src);
	did = node_id(dst);
	s = cl_connect(src);
	d = cl_connect(dst);
	ok(d, redisCommand(d, "CLUSTER SETSLOT %u IMPORTING %s", slot, sid));
	ok(s, redisCommand(s, "CLUSTER SETSLOT %u MIGRATING %s", slot, did));
	ok(s, redisCommand(s, "MIGRATE 127.0.0.1 %d %s 0 5000", dst, key));
	free(sid);
	free(did);
	redisFree(s);
	redisFree(d);
	if (finish)
		cl_finish(src, dst, slot);
	*ret_src = src;
	*ret_dst = dst;
}
