/* SPDX-License-Identifier: MIT */
/*
 * Slot maps and redirects (remote_map.h).  tierd routes by the cluster
 * contract itself because Debian has no cluster-aware C client: the map says
 * which master owns each of the 16384 slots; MOVED says the map is stale;
 * ASK says one key is elsewhere for the duration of a migration.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "remote_map.h"

int remote_addr_parse(const char *s, size_t len, struct remote_addr *a)
{
	const char *colon, *host = s;
	size_t hlen;
	char port[8];
	char *end;
	unsigned long p;

	while (len && (*s == ' ' || *s == '\t'))
		s++, len--, host = s;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	colon = memrchr(s, ':', len);
	if (!colon)
		return -EINVAL;
	hlen = (size_t)(colon - s);
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']')
		host++, hlen -= 2;
	if (hlen >= REMOTE_HOST_MAX || len - hlen - 1 == 0 || (size_t)(s + len - colon - 1) >= sizeof(port))
		return -EINVAL;
	memcpy(port, colon + 1, (size_t)(s + len - colon - 1));
	port[s + len - colon - 1] = 0;
	if (port[0] < '0' || port[0] > '9')
		return -EINVAL;
	p = strtoul(port, &end, 10);
	if (*end || p == 0 || p > 65535)
		return -EINVAL;
	for (size_t i = 0; i < hlen; i++)
		if (host[i] <= ' ' || host[i] > '~' || host[i] == ',')
			return -EINVAL;
	memcpy(a->host, host, hlen);
	a->host[hlen] = 0;
	a->port = (uint16_t)p;
	return 0;
}

int remote_seeds_parse(const char *list, struct remote_addr *out, uint32_t max)
{
	uint32_t n = 0;
	const char *p = list;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (n == max || remote_addr_parse(p, len, &out[n]) < 0 || !out[n].host[0])
			return -EINVAL;
		n++;
		if (!comma)
			return (int)n;
		p = comma + 1;
	}
}

bool remote_addr_eq(const struct remote_addr *a, const struct remote_addr *b)
{
	return a->port == b->port && !strcmp(a->host, b->host);
}

void remote_map_clear(struct remote_map *m)
{
	for (uint32_t i = 0; i < REMOTE_SLOTS; i++)
		m->owner[i] = REMOTE_NO_NODE;
	m->n_addr = 0;
	m->n_covered = 0;
}

int remote_map_add(struct remote_map *m, const struct remote_addr *a)
{
	for (uint32_t i = 0; i < m->n_addr; i++)
		if (remote_addr_eq(&m->addr[i], a))
			return (int)i;
	if (m->n_addr == REMOTE_NODES_MAX)
		return -ENOSPC;
	m->addr[m->n_addr] = *a;
	return (int)m->n_addr++;
}

static bool is_int(const redisReply *r, long long lo, long long hi)
{
	return r && r->type == REDIS_REPLY_INTEGER && r->integer >= lo && r->integer <= hi;
}

int remote_map_parse(struct remote_map *m, const redisReply *r, const struct remote_addr *from)
{
	remote_map_clear(m);
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return -EBADMSG;
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *range = r->element[i], *node;
		struct remote_addr a;
		int idx;

		if (!range || range->type != REDIS_REPLY_ARRAY || range->elements < 3 ||
		    !is_int(range->element[0], 0, REMOTE_SLOTS - 1) ||
		    !is_int(range->element[1], range->element[0]->integer, REMOTE_SLOTS - 1))
			goto bad;
		node = range->element[2];
		if (!node || node->type != REDIS_REPLY_ARRAY || node->elements < 2 ||
		    node->element[0]->type != REDIS_REPLY_STRING ||
		    !is_int(node->element[1], 1, 65535) || node->element[0]->len >= REMOTE_HOST_MAX)
			goto bad;
		/* "" (Redis 7: the node that answered) or "?" (unknown: no owner we can reach) */
		if (node->element[0]->len == 1 && node->element[0]->str[0] == '?')
			continue;
		if (node->element[0]->len == 0) {
			if (!from)
				goto bad;
			memcpy(a.host, from->host, sizeof(a.host));
		} else {
			memcpy(a.host, node->element[0]->str, node->element[0]->len);
			a.host[node->element[0]->len] = 0;
		}
		a.port = (uint16_t)node->element[1]->integer;
		idx = remote_map_add(m, &a);
		if (idx < 0)
			goto bad;
		for (long long s = range->element[0]->integer; s <= range->element[1]->integer; s++) {
			if (m->owner[s] == REMOTE_NO_NODE)
				m->n_covered++;
			m->owner[s] = (uint16_t)idx;
		}
	}
	return 0;
bad:
	remote_map_clear(m);
	return -EBADMSG;
}

int remote_redirect_parse(const char *err, size_t len, const struct remote_addr *from,
			  bool *ret_ask, uint16_t *ret_slot, struct remote_addr *ret_addr)
{
	const char *p, *sp;
	char *end;
	char num[8];
	unsigned long slot;
	size_t n;

	if (len > 6 && !memcmp(err, "MOVED ", 6)) {
		*ret_ask = false;
		p = err + 6;
	} else if (len > 4 && !memcmp(err, "ASK ", 4)) {
		*ret_ask = true;
		p = err + 4;
	} else {
		return -ENOENT;
	}
	sp = memchr(p, ' ', (size_t)(err + len - p));
	if (!sp || sp == p || (size_t)(sp - p) >= sizeof(num))
		return -EBADMSG;
	memcpy(num, p, (size_t)(sp - p));
	num[sp - p] = 0;
	slot = strtoul(num, &end, 10);
	if (*end || num[0] < '0' || num[0] > '9' || slot >= REMOTE_SLOTS)
		return -EBADMSG;
	n = (size_t)(err + len - (sp + 1));
	if (remote_addr_parse(sp + 1, n, ret_addr) < 0)
		return -EBADMSG;
	if (!ret_addr->host[0]) {
		if (!from)
			return -EBADMSG;
		memcpy(ret_addr->host, from->host, sizeof(ret_addr->host));
	}
	*ret_slot = (uint16_t)slot;
	return 0;
}
