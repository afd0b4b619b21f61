/* SPDX-License-Identifier: MIT */
/* The remote tier's pure parts: CRC16 slots, keys, value headers, slot maps, redirects. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "remote_key.h"
#include "remote_map.h"

static uint16_t slot_of(const char *k)
{
	return remote_key_slot(k, strlen(k));
}

START_TEST(crc16_vectors)
{
	/* The cluster spec's test vector. */
	ck_assert_uint_eq(remote_crc16("123456789", 9), 0x31C3);
	ck_assert_uint_eq(remote_crc16("", 0), 0);
	/* Known slots (CLUSTER KEYSLOT on Redis 7.0). */
	ck_assert_uint_eq(slot_of("foo"), 12182);
	ck_assert_uint_eq(slot_of("bar"), 5061);
	ck_assert_uint_eq(slot_of("123456789"), 0x31C3);
}
END_TEST

START_TEST(hash_tags)
{
	ck_assert_uint_eq(slot_of("{user1000}.following"), slot_of("user1000"));
	ck_assert_uint_eq(slot_of("{user1000}.followers"), slot_of("user1000"));
	/* Only the first {...}; an empty one or an unclosed one hashes the whole key. */
	ck_assert_uint_eq(slot_of("foo{}{bar}"), remote_crc16("foo{}{bar}", 10) & 16383);
	ck_assert_uint_eq(slot_of("foo{{bar}}zap"), slot_of("{bar"));
	ck_assert_uint_eq(slot_of("foo{bar}{zap}"), slot_of("bar"));
	ck_assert_uint_eq(slot_of("foo{bar"), remote_crc16("foo{bar", 7) & 16383);
}
END_TEST

START_TEST(keys)
{
	char buf[REMOTE_KEY_MAX];
	tier_key k = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL };
	uint8_t salt[16] = { 1 };
	uint64_t a = remote_ns_id("llama", NULL), b = remote_ns_id("llama", salt);
	size_t n = remote_key_format(buf, "tierd:", 0x42, k);

	ck_assert_str_eq(buf, "tierd:0000000000000042:0123456789abcdeffedcba9876543210");
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_ptr_null(strchr(buf, '{'));
	/* Name and salt both make the identity. */
	ck_assert_uint_ne(a, b);
	ck_assert_uint_ne(a, remote_ns_id("llamb", NULL));
	ck_assert_uint_eq(a, remote_ns_id("llama", NULL));
	ck_assert(remote_prefix_valid("tierd:"));
	ck_assert(remote_prefix_valid(""));
	ck_assert(!remote_prefix_valid("a{b}:"));
	ck_assert(!remote_prefix_valid("a b"));
	/* Blocks of one namespace spread over the slots: no namespace-wide tag. */
	{
		uint16_t first = 0;
		bool differ = false;

		for (uint64_t i = 0; i < 16; i++) {
			tier_key ki = { i, i * 7 };
			uint16_t s;

			n = remote_key_format(buf, "tierd:", a, ki);
			s = remote_key_slot(buf, n);
			if (i == 0)
				first = s;
			differ |= s != first;
		}
		ck_assert(differ);
	}
}
END_TEST

START_TEST(value_header)
{
	tier_key k = { 7, 9 }, other = { 7, 10 };
	uint8_t *v = malloc(REMOTE_VAL_HDR_BYTES + 1000);
	uint64_t len = 0;

	for (int i = 0; i < 1000; i++)
		v[REMOTE_VAL_HDR_BYTES + i] = (uint8_t)(i * 31);
	remote_val_hdr_encode((struct remote_val_hdr *)v, 5, k, v + REMOTE_VAL_HDR_BYTES, 1000);
	ck_assert_int_eq(remote_val_verify(v, REMOTE_VAL_HDR_BYTES + 1000, 5, k, 1000, &len), 0);
	ck_assert_uint_eq(len, 1000);
	ck_assert_int_eq(remote_val_verify(v, REMOTE_VAL_HDR_BYTES + 1000, 5, k, 0, NULL), 0);
	/* Another namespace, key, length; truncated; short. */
	ck_assert_int_eq(remote_val_verify(v, REMOTE_VAL_HDR_BYTES + 1000, 6, k, 0, NULL), -EBADMSG);
	ck_assert_int_eq(remote_val_verify(v, REMOTE_VAL_HDR_BYTES + 1000, 5, other, 0, NULL), -EBADMSG);
	ck_assert_int_eq(remote_val_verify(v, REMOTE_VAL_HDR_BYTES + 1000, 5, k, 999, NULL), -EBADMSG);
	ck_assert_int_eq(remote_val_verify(v, REMOTE_VAL_HDR_BYTES + 999, 5, k, 0, NULL), -EBADMSG);
	ck_assert_int_eq(remote_val_verify(v, 10, 5, k, 0, NULL), -EBADMSG);
	/* One payload bit flipped. */
	v[REMOTE_VAL_HDR_BYTES + 500] ^= 4;
	ck_assert_int_eq(remote_val_verify(v, REMOTE_VAL_HDR_BYTES + 1000, 5, k, 0, NULL), -EBADMSG);
	v[REMOTE_VAL_HDR_BYTES + 500] ^= 4;
	/* One header bit flipped (the length: the header checksum catches it). */
	v[32] ^= 1;
	ck_assert_int_eq(remote_val_verify(v, REMOTE_VAL_HDR_BYTES + 1000, 5, k, 0, NULL), -EBADMSG);
	v[32] ^= 1;
	ck_assert_int_eq(remote_val_verify(v, REMOTE_VAL_HDR_BYTES + 1000, 5, k, 0, NULL), 0);
	free(v);
}
END_TEST

/* A reply as a server would send it, through hiredis's own parser. */
static redisReply *parse(const char *resp)
{
	redisReader *rd = redisReaderCreate();
	void *r = NULL;

	ck_assert_int_eq(redisReaderFeed(rd, resp, strlen(resp)), REDIS_OK);
	ck_assert_int_eq(redisReaderGetReply(rd, &r), REDIS_OK);
	ck_assert_ptr_nonnull(r);
	redisReaderFree(rd);
	return r;
}

START_TEST(slot_map)
{
	static struct remote_map m;
	struct remote_addr from = { "10.0.0.9", 7000 };
	/* Three masters, one with a replica; the third is given as "" (the node asked). */
	redisReply *r = parse(
		"*3\r\n"
		"*4\r\n:0\r\n:5460\r\n*3\r\n$9\r\n127.0.0.1\r\n:7001\r\n$2\r\nid\r\n"
		"*3\r\n$9\r\n127.0.0.1\r\n:7004\r\n$2\r\nid\r\n"
		"*3\r\n:5461\r\n:10922\r\n*3\r\n$9\r\n127.0.0.1\r\n:7002\r\n$2\r\nid\r\n"
		"*3\r\n:10923\r\n:16383\r\n*3\r\n$0\r\n\r\n:7003\r\n$2\r\nid\r\n");

	ck_assert_int_eq(remote_map_parse(&m, r, &from), 0);
	ck_assert_uint_eq(m.n_addr, 3);
	ck_assert_uint_eq(m.n_covered, REMOTE_SLOTS);
	ck_assert_str_eq(m.addr[m.owner[0]].host, "127.0.0.1");
	ck_assert_uint_eq(m.addr[m.owner[5460]].port, 7001);
	ck_assert_uint_eq(m.addr[m.owner[5461]].port, 7002);
	ck_assert_uint_eq(m.addr[m.owner[16383]].port, 7003);
	ck_assert_str_eq(m.addr[m.owner[16383]].host, "10.0.0.9");
	freeReplyObject(r);

	/* A gap (slots nobody serves) and a split range of one master. */
	r = parse("*2\r\n"
		  "*3\r\n:0\r\n:99\r\n*2\r\n$8\r\n10.1.1.1\r\n:6379\r\n"
		  "*3\r\n:200\r\n:299\r\n*2\r\n$8\r\n10.1.1.1\r\n:6379\r\n");
	ck_assert_int_eq(remote_map_parse(&m, r, NULL), 0);
	ck_assert_uint_eq(m.n_addr, 1);
	ck_assert_uint_eq(m.n_covered, 200);
	ck_assert_uint_eq(m.owner[150], REMOTE_NO_NODE);
	ck_assert_uint_eq(m.owner[250], 0);
	freeReplyObject(r);

	/* Malformed: a slot past the end, an end before the start, not an array. */
	r = parse("*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$8\r\n10.1.1.1\r\n:6379\r\n");
	ck_assert_int_eq(remote_map_parse(&m, r, NULL), -EBADMSG);
	ck_assert_uint_eq(m.n_covered, 0);
	freeReplyObject(r);
	r = parse("*1\r\n*3\r\n:10\r\n:5\r\n*2\r\n$8\r\n10.1.1.1\r\n:6379\r\n");
	ck_assert_int_eq(remote_map_parse(&m, r, NULL), -EBADMSG);
	freeReplyObject(r);
	r = parse("-ERR This instance has cluster support disabled\r\n");
	ck_assert_int_eq(remote_map_parse(&m, r, NULL), -EBADMSG);
	freeReplyObject(r);
	r = parse("*1\r\n*3\r\n:0\r\n:5\r\n*2\r\n:1\r\n:6379\r\n");
	ck_assert_int_eq(remote_map_parse(&m, r, NULL), -EBADMSG);
	freeReplyObject(r);
}
END_TEST

START_TEST(addresses)
{
	struct remote_addr a[4];

	ck_assert_int_eq(remote_seeds_parse("127.0.0.1:7000", a, 4), 1);
	ck_assert_str_eq(a[0].host, "127.0.0.1");
	ck_assert_uint_eq(a[0].port, 7000);
	ck_assert_int_eq(remote_seeds_parse("10.0.0.1:1, 10.0.0.2:2,[::1]:3", a, 4), 3);
	ck_assert_str_eq(a[1].host, "10.0.0.2");
	ck_assert_str_eq(a[2].host, "::1");
	ck_assert_uint_eq(a[2].port, 3);
	ck_assert_int_eq(remote_seeds_parse("", a, 4), -EINVAL);
	ck_assert_int_eq(remote_seeds_parse("host", a, 4), -EINVAL);
	ck_assert_int_eq(remote_seeds_parse("h:0", a, 4), -EINVAL);
	ck_assert_int_eq(remote_seeds_parse("h:65536", a, 4), -EINVAL);
	ck_assert_int_eq(remote_seeds_parse("h:1x", a, 4), -EINVAL);
	ck_assert_int_eq(remote_seeds_parse(":7000", a, 4), -EINVAL);
	ck_assert_int_eq(remote_seeds_parse("a:1,b:2,c:3,d:4,e:5", a, 4), -EINVAL);
	ck_assert_int_eq(remote_seeds_parse("a:1,", a, 4), -EINVAL);
}
END_TEST

START_TEST(redirects)
{
	struct remote_addr from = { "10.0.0.9", 7000 }, a;
	uint16_t slot;
	bool ask;
	const char *moved = "MOVED 3999 127.0.0.1:6381", *askm = "ASK 12182 :7005";

	ck_assert_int_eq(remote_redirect_parse(moved, strlen(moved), &from, &ask, &slot, &a), 0);
	ck_assert(!ask);
	ck_assert_uint_eq(slot, 3999);
	ck_assert_str_eq(a.host, "127.0.0.1");
	ck_assert_uint_eq(a.port, 6381);
	ck_assert_int_eq(remote_redirect_parse(askm, strlen(askm), &from, &ask, &slot, &a), 0);
	ck_assert(ask);
	ck_assert_uint_eq(slot, 12182);
	ck_assert_str_eq(a.host, "10.0.0.9");
	ck_assert_uint_eq(a.port, 7005);
	ck_assert_int_eq(remote_redirect_parse("TRYAGAIN x", 10, &from, &ask, &slot, &a), -ENOENT);
	ck_assert_int_eq(remote_redirect_parse("CLUSTERDOWN The cluster is down", 31, &from, &ask,
					       &slot, &a), -ENOENT);
	ck_assert_int_eq(remote_redirect_parse("MOVED 16384 h:1", 15, &from, &ask, &slot, &a),
			 -EBADMSG);
	ck_assert_int_eq(remote_redirect_parse("MOVED 12 h", 10, &from, &ask, &slot, &a), -EBADMSG);
	ck_assert_int_eq(remote_redirect_parse("MOVED x h:1", 11, &from, &ask, &slot, &a), -EBADMSG);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("remote");
	TCase *tc = tcase_create("pure");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, crc16_vectors);
	tcase_add_test(tc, hash_tags);
	tcase_add_test(tc, keys);
	tcase_add_test(tc, value_header);
	tcase_add_test(tc, slot_map);
	tcase_add_test(tc, addresses);
	tcase_add_test(tc, redirects);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
