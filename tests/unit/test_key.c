/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the block key (libtier/key.c): tier_key_next must be
 * XXH3-128, seed 0, over parent.hi and parent.lo as little-endian bytes and
 * then the data, as tier.h promises.  The reference is computed here from a
 * concatenated buffer, with the byte order spelled out by shifts; a few
 * vectors are hardcoded so that any change of the key function (which would
 * orphan every block a restarted daemon finds on disk) fails this test.
 */
#include <stdio.h>
#include <string.h>

#include <xxhash.h>

#include "../helpers/testutil.h"
#include "tier.h"

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static tier_key reference(tier_key parent, const void *data, size_t len)
{
	uint8_t *buf = malloc(16 + len);
	XXH128_hash_t h;

	ck_assert_ptr_nonnull(buf);
	put_le64(buf, parent.hi);
	put_le64(buf + 8, parent.lo);
	if (len)
		memcpy(buf + 16, data, len);
	h = XXH3_128bits_withSeed(buf, 16 + len, 0);
	free(buf);
	return (tier_key){ .hi = h.high64, .lo = h.low64 };
}

#define ck_assert_key_eq(a, b)                                                             \
	do {                                                                               \
		tier_key _a = (a), _b = (b);                                               \
		ck_assert_msg(_a.hi == _b.hi && _a.lo == _b.lo,                            \
			      "key %016llx%016llx != %016llx%016llx",                      \
			      (unsigned long long)_a.hi, (unsigned long long)_a.lo,        \
			      (unsigned long long)_b.hi, (unsigned long long)_b.lo);       \
	} while (0)

/* Fixed vectors, computed once with XXH3_128bits_withSeed (xxhash 0.8.1). */
START_TEST(test_known_vectors)
{
	uint8_t tokens[64];
	tier_key k1, k2;

	k1 = tier_key_next(TIER_KEY_ROOT, "hello world", 11);
	ck_assert_key_eq(k1, ((tier_key){ 0x169a3fd498b0ff9eULL, 0xffb28c60198d95f2ULL }));
	/* Tokens as little-endian uint32 (the encoding is the engine's; fixed here). */
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 4; j++)
			tokens[4 * i + j] = (uint8_t)((uint32_t)(i + 1) >> (8 * j));
	k2 = tier_key_next(k1, tokens, sizeof(tokens));
	ck_assert_key_eq(k2, ((tier_key){ 0xb462036a25685038ULL, 0x7241d81b97b5ef2aULL }));
	ck_assert_key_eq(tier_key_next(TIER_KEY_ROOT, NULL, 0),
			 ((tier_key){ 0xe5189a9599e3f862ULL, 0x05ea23ef06e28b2dULL }));
}
END_TEST

/* Many lengths (crossing XXH3's internal size classes) and random parents. */
START_TEST(test_matches_xxh3)
{
	uint64_t rng = 0x6b6579 + (uint64_t)_i;
	uint8_t data[2100];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)t_rand(&rng);
	for (size_t len = 0; len <= sizeof(data); len += len < 260 ? 1 : 37) {
		tier_key parent = { t_rand(&rng), t_rand(&rng) };

		if (len % 5 == 0)
			parent = TIER_KEY_ROOT;
		ck_assert_key_eq(tier_key_next(parent, data, len), reference(parent, data, len));
	}
	/* Large blocks of tokens too (the streaming path of the library). */
	size_t big = 1 << 20;
	uint8_t *b = malloc(big);

	ck_assert_ptr_nonnull(b);
	for (size_t i = 0; i < big; i++)
		b[i] = (uint8_t)(i * 131 + (size_t)_i);
	ck_assert_key_eq(tier_key_next((tier_key){ 1, 2 }, b, big),
			 reference((tier_key){ 1, 2 }, b, big));
	free(b);
}
END_TEST

/* The parent matters, in both halves and in its order. */
START_TEST(test_chaining)
{
	const char d[] = "tokens";
	tier_key a = tier_key_next((tier_key){ 1, 2 }, d, 6);
	tier_key b = tier_key_next((tier_key){ 2, 1 }, d, 6);
	tier_key c = tier_key_next((tier_key){ 1, 3 }, d, 6);
	tier_key e = tier_key_next((tier_key){ 0, 2 }, d, 6);

	ck_assert(a.hi != b.hi || a.lo != b.lo);
	ck_assert(a.hi != c.hi || a.lo != c.lo);
	ck_assert(a.hi != e.hi || a.lo != e.lo);
	/* Deterministic. */
	ck_assert_key_eq(a, tier_key_next((tier_key){ 1, 2 }, d, 6));
	/* Not the hash of the data alone. */
	XXH128_hash_t h = XXH3_128bits_withSeed(d, 6, 0);

	ck_assert(a.hi != h.high64 || a.lo != h.low64);
}
END_TEST

/*
 * tests/data/key_vectors.txt: vectors libtier generated once (tier-peek
 * key-vectors) that the Python binding's tests check too, so both languages
 * hold the same keys bit for bit.
 */
static int hexval(int ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

static size_t unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	if (!strcmp(s, "-"))
		return 0;
	for (; s[0] && s[1]; s += 2) {
		ck_assert_int_ge(hexval(s[0]), 0);
		ck_assert_int_ge(hexval(s[1]), 0);
		ck_assert_uint_lt(n, max);
		out[n++] = (uint8_t)(hexval(s[0]) << 4 | hexval(s[1]));
	}
	ck_assert_msg(!s[0], "odd number of hex digits");
	return n;
}

static tier_key key_of(const char *hex)
{
	uint8_t b[16];
	tier_key k = { 0, 0 };

	ck_assert_uint_eq(unhex(hex, b, sizeof(b)), 16);
	for (int i = 0; i < 8; i++) {
		k.hi = k.hi << 8 | b[i];
		k.lo = k.lo << 8 | b[8 + i];
	}
	return k;
}

START_TEST(test_vector_file)
{
	FILE *f = fopen(KEY_VECTORS, "r");
	static char line[8192], parent[64], data[8192], key[64];
	static uint8_t bytes[4096];
	int n = 0;

	ck_assert_msg(f != NULL, "cannot open %s", KEY_VECTORS);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		ck_assert_int_eq(sscanf(line, "%63s %8191s %63s", parent, data, key), 3);
		size_t len = unhex(data, bytes, sizeof(bytes));

		ck_assert_key_eq(tier_key_next(key_of(parent), bytes, len), key_of(key));
		n++;
	}
	fclose(f);
	ck_assert_int_ge(n, 16);
}
END_TEST

static Suite *key_suite(void)
{
	Suite *s = suite_create("key");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_known_vectors);
	tcase_add_loop_test(tc, test_matches_xxh3, 0, 3);
	tcase_add_test(tc, test_chaining);
	tcase_add_test(tc, test_vector_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(key_suite());
}
