/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of message validation (tierd/validate.c).  Each message is
 * built in a heap buffer of exactly its length, so that under ASan any read
 * past the datagram is caught.  The expected lengths are restated here from
 * the wire structs, not taken from validate.c's table.
 */
#include <errno.h>
#include <string.h>

#include "../helpers/testutil.h"
#include "validate.h"

static const size_t hdr_len = sizeof(struct tier_msg_hdr);

/* Body length of each request type (LOOKUP: with no keys). */
static size_t expected_body(uint16_t type)
{
	switch (type) {
	case TIER_MSG_HELLO: return sizeof(struct tier_msg_hello);
	case TIER_MSG_NS_OPEN: return sizeof(struct tier_msg_ns_open);
	case TIER_MSG_ALLOC: return sizeof(struct tier_msg_alloc);
	case TIER_MSG_COMMIT: return sizeof(struct tier_msg_commit);
	case TIER_MSG_LOOKUP: return sizeof(struct tier_msg_lookup);
	case TIER_MSG_ACQUIRE: return sizeof(struct tier_msg_key);
	case TIER_MSG_RELEASE: return sizeof(struct tier_msg_handle);
	case TIER_MSG_DROP: return sizeof(struct tier_msg_key);
	case TIER_MSG_STATS: return sizeof(struct tier_msg_stats);
	case TIER_MSG_PREFETCH: return sizeof(struct tier_msg_lookup);
	case TIER_MSG_FLUSH: return sizeof(struct tier_msg_flush);
	case TIER_MSG_HINT: return sizeof(struct tier_msg_hint);
	case TIER_MSG_STATUS: return sizeof(struct tier_msg_admin);
	case TIER_MSG_CLIENTS: return sizeof(struct tier_msg_admin);
	case TIER_MSG_NAMESPACES: return sizeof(struct tier_msg_admin);
	case TIER_MSG_CONFIG: return sizeof(struct tier_msg_admin);
	case TIER_MSG_POLICY: return sizeof(struct tier_msg_policy);
	case TIER_MSG_EVICT: return sizeof(struct tier_msg_evict);
	case TIER_MSG_NS_DROP: return sizeof(struct tier_msg_ns_drop);
	case TIER_MSG_GPU_POOL: return sizeof(struct tier_msg_gpu_pool);
	case TIER_MSG_ACQUIRE_GPU: return sizeof(struct tier_msg_key);
	case TIER_MSG_ARENAS: return sizeof(struct tier_msg_admin);
	case TIER_MSG_LATENCY: return sizeof(struct tier_msg_admin);
	case TIER_MSG_NS_DELETE: return sizeof(struct tier_msg_ns_drop);
	case TIER_MSG_REMOTE: return sizeof(struct tier_msg_admin);
	default: return SIZE_MAX;
	}
}

/* A well-formed body of type into b (zeroed, names set). */
static void good_body(uint16_t type, uint8_t *b)
{
	if (expected_body(type) == SIZE_MAX)
		return;
	memset(b, 0, expected_body(type));
	if (type == TIER_MSG_HELLO) {
		struct tier_msg_hello *m = (void *)b;

		m->abi_version = TIER_ABI_VERSION;
		strcpy(m->name, "test");
	} else if (type == TIER_MSG_NS_OPEN) {
		struct tier_msg_ns_open *m = (void *)b;

		m->block_size = 4096;
		strcpy(m->name, "ns");
	} else if (type == TIER_MSG_EVICT) {
		struct tier_msg_evict *m = (void *)b;

		m->tier = TIER_HOST;
		m->bytes = 1;
	} else if (type == TIER_MSG_NS_DROP || type == TIER_MSG_NS_DELETE) {
		strcpy((char *)b, "ns");
	}
}

/* Validate hdr + body[0..blen) from an exactly sized heap copy. */
static int check_msg(const struct tier_msg_hdr *h, const void *body, size_t blen, int hello_done,
		     struct tier_msg_hdr *ret_hdr, size_t *ret_blen)
{
	size_t len = hdr_len + blen;
	uint8_t *buf = malloc(len ? len : 1);
	struct tier_msg_hdr rh;
	const void *rb = NULL;
	size_t rl = 0;
	int r;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, h, hdr_len);
	if (blen)
		memcpy(buf + hdr_len, body, blen);
	r = validate_msg(buf, len, hello_done, &rh, &rb, &rl);
	if (r == 0) {
		ck_assert_ptr_eq(rb, buf + hdr_len);
		ck_assert_uint_eq(rl, blen);
	}
	if (ret_hdr && r != -EBADMSG)
		*ret_hdr = rh;
	if (ret_blen)
		*ret_blen = rl;
	free(buf);
	return r;
}

static struct tier_msg_hdr hdr_of(uint16_t type)
{
	return (struct tier_msg_hdr){ .magic = TIER_PROTO_MAGIC, .type = type, .seq = 77 };
}

/* Every type: the exact length passes; one byte more or less is -EINVAL. */
START_TEST(test_exact_lengths)
{
	uint16_t type = (uint16_t)(_i + 1);
	struct tier_msg_hdr h = hdr_of(type), rh;
	size_t blen = expected_body(type);
	uint8_t body[256];
	int hello_done = type != TIER_MSG_HELLO;

	ck_assert_uint_lt(blen, sizeof(body) - 8);
	good_body(type, body);
	ck_assert_int_eq(check_msg(&h, body, blen, hello_done, &rh, NULL), 0);
	ck_assert_uint_eq(rh.seq, 77);
	ck_assert_uint_eq(rh.type, type);
	ck_assert_int_eq(check_msg(&h, body, blen + 1, hello_done, &rh, NULL), -EINVAL);
	ck_assert_uint_eq(rh.seq, 77); /* the reply can echo it */
	ck_assert_int_eq(check_msg(&h, body, blen - 1, hello_done, NULL, NULL), -EINVAL);
	ck_assert_int_eq(check_msg(&h, body, blen + 8, hello_done, NULL, NULL), -EINVAL);
	ck_assert_int_eq(check_msg(&h, body, 0, hello_done, NULL, NULL), -EINVAL);
	/* Nonzero header flags or status in a request. */
	h.flags = 1;
	ck_assert_int_eq(check_msg(&h, body, blen, hello_done, NULL, NULL), -EINVAL);
	h.flags = 0;
	h.status = -1;
	ck_assert_int_eq(check_msg(&h, body, blen, hello_done, NULL, NULL), -EINVAL);
	/* Anything but HELLO before the handshake; HELLO only once. */
	h.status = 0;
	if (type == TIER_MSG_HELLO)
		ck_assert_int_eq(check_msg(&h, body, blen, 1, NULL, NULL), -EINVAL);
	else
		ck_assert_int_eq(check_msg(&h, body, blen, 0, NULL, NULL), -EPROTO);
}
END_TEST

START_TEST(test_bad_header)
{
	struct tier_msg_hdr h = hdr_of(TIER_MSG_STATS);
	struct tier_msg_stats body = { 0 };
	uint8_t small[sizeof(struct tier_msg_hdr)];
	struct tier_msg_hdr rh;
	const void *rb;
	size_t rl;

	h.magic = 0x31524954; /* byte-swapped */
	ck_assert_int_eq(check_msg(&h, &body, sizeof(body), 1, NULL, NULL), -EBADMSG);
	h.magic = 0;
	ck_assert_int_eq(check_msg(&h, &body, sizeof(body), 0, NULL, NULL), -EBADMSG);
	h = hdr_of(TIER_MSG_STATS);
	memcpy(small, &h, sizeof(h));
	for (size_t len = 0; len < sizeof(small); len++) {
		uint8_t *b = malloc(len ? len : 1);

		memcpy(b, small, len);
		ck_assert_int_eq(validate_msg(b, len, 1, &rh, &rb, &rl), -EBADMSG);
		free(b);
	}
	ck_assert_int_eq(validate_msg(NULL, 100, 1, &rh, &rb, &rl), -EBADMSG);
	/* Header alone: a known type without its body. */
	ck_assert_int_eq(check_msg(&h, NULL, 0, 1, NULL, NULL), -EINVAL);
	/* Unknown types. */
	static const uint16_t bad_types[] = { 0, TIER_MSG__MAX, TIER_MSG__MAX + 1, 0xffff };

	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		h.type = bad_types[i];
		ck_assert_int_eq(check_msg(&h, &body, sizeof(body), 1, NULL, NULL), -EINVAL);
		ck_assert_int_eq(check_msg(&h, &body, sizeof(body), 0, NULL, NULL), -EPROTO);
	}
}
END_TEST

/* LOOKUP: n keys exactly, n bounded, and keys[0]'s place inside the list. */
static int lookup_msg(uint32_t n, size_t nkeys_sent, uint32_t first_pos, uint32_t total)
{
	struct tier_msg_hdr h = hdr_of(TIER_MSG_LOOKUP);
	size_t blen = sizeof(struct tier_msg_lookup) + nkeys_sent * sizeof(tier_key);
	uint8_t *body = calloc(1, blen);
	struct tier_msg_lookup l = { .ns = 0, .n = n, .first_pos = first_pos, .total = total };
	int r;

	memcpy(body, &l, sizeof(l));
	r = check_msg(&h, body, blen, 1, NULL, NULL);
	free(body);
	return r;
}

START_TEST(test_lookup)
{
	ck_assert_int_eq(lookup_msg(0, 0, 0, 0), 0);
	ck_assert_int_eq(lookup_msg(1, 1, 0, 1), 0);
	ck_assert_int_eq(lookup_msg(5, 5, 0, 5), 0);
	ck_assert_int_eq(lookup_msg(5, 5, 10, 15), 0);
	ck_assert_int_eq(lookup_msg(TIER_LOOKUP_BATCH, TIER_LOOKUP_BATCH, 0, TIER_LOOKUP_BATCH), 0);
	ck_assert_int_eq(lookup_msg(TIER_LOOKUP_BATCH, TIER_LOOKUP_BATCH, 1, UINT32_MAX), 0);
	/* n does not match the length. */
	ck_assert_int_eq(lookup_msg(5, 4, 0, 5), -EINVAL);
	ck_assert_int_eq(lookup_msg(5, 6, 0, 6), -EINVAL);
	ck_assert_int_eq(lookup_msg(0, 1, 0, 1), -EINVAL);
	ck_assert_int_eq(lookup_msg(UINT32_MAX, 1, 0, UINT32_MAX), -EINVAL);
	/* n x 16 wrapping 32 bits must not pass for a short message. */
	ck_assert_int_eq(lookup_msg(0x10000000, 0, 0, UINT32_MAX), -EINVAL);
	/* More keys than a batch. */
	ck_assert_int_eq(lookup_msg(TIER_LOOKUP_BATCH + 1, TIER_LOOKUP_BATCH + 1, 0, 1u << 20),
			 -EINVAL);
	/* keys[0..n) must lie inside the list of total keys. */
	ck_assert_int_eq(lookup_msg(5, 5, 0, 4), -EINVAL);
	ck_assert_int_eq(lookup_msg(1, 1, 1, 1), -EINVAL);
	ck_assert_int_eq(lookup_msg(0, 0, 2, 1), -EINVAL);
	ck_assert_int_eq(lookup_msg(4, 4, UINT32_MAX - 1, UINT32_MAX), -EINVAL); /* pos + n wraps */
	ck_assert_int_eq(lookup_msg(2, 2, UINT32_MAX - 1, UINT32_MAX), -EINVAL);
	ck_assert_int_eq(lookup_msg(1, 1, UINT32_MAX - 1, UINT32_MAX), 0);
	ck_assert_int_eq(lookup_msg(1, 1, UINT32_MAX, UINT32_MAX), -EINVAL);
	/* Shorter than the LOOKUP header itself. */
	struct tier_msg_hdr h = hdr_of(TIER_MSG_LOOKUP);
	uint8_t b[sizeof(struct tier_msg_lookup)] = { 0 };

	for (size_t l = 0; l < sizeof(b); l++)
		ck_assert_int_eq(check_msg(&h, b, l, 1, NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(test_strings_and_fields)
{
	struct tier_msg_hdr h;
	struct tier_msg_hello hello;
	struct tier_msg_ns_open ns;
	struct tier_msg_commit cm = { 0 };

	/* HELLO: name must be NUL-terminated inside its field. */
	h = hdr_of(TIER_MSG_HELLO);
	good_body(TIER_MSG_HELLO, (uint8_t *)&hello);
	memset(hello.name, 'x', sizeof(hello.name));
	ck_assert_int_eq(check_msg(&h, &hello, sizeof(hello), 0, NULL, NULL), -EINVAL);
	hello.name[sizeof(hello.name) - 1] = 0;
	ck_assert_int_eq(check_msg(&h, &hello, sizeof(hello), 0, NULL, NULL), 0);
	memset(hello.name, 0, sizeof(hello.name)); /* an empty name is fine */
	ck_assert_int_eq(check_msg(&h, &hello, sizeof(hello), 0, NULL, NULL), 0);

	/* NS_OPEN: terminated, not empty, block size not 0. */
	h = hdr_of(TIER_MSG_NS_OPEN);
	good_body(TIER_MSG_NS_OPEN, (uint8_t *)&ns);
	memset(ns.name, 'n', sizeof(ns.name));
	ck_assert_int_eq(check_msg(&h, &ns, sizeof(ns), 1, NULL, NULL), -EINVAL);
	ns.name[TIER_NAME_MAX] = 0;
	ck_assert_int_eq(check_msg(&h, &ns, sizeof(ns), 1, NULL, NULL), 0);
	ns.name[0] = 0;
	ck_assert_int_eq(check_msg(&h, &ns, sizeof(ns), 1, NULL, NULL), -EINVAL);
	ns.name[0] = 'n';
	ns.block_size = 0;
	ck_assert_int_eq(check_msg(&h, &ns, sizeof(ns), 1, NULL, NULL), -EINVAL);

	/*
	 * Names reach terminals (tierctl) and logs: printable UTF-8 only.  ESC
	 * (a screen clear), a newline (a forged log line), CR, tab, DEL, a C1 CSI
	 * (raw, or as UTF-8), a lone or cut-off UTF-8 byte and an overlong '/'
	 * are refused in client and namespace names alike; space, '~' and
	 * well-formed UTF-8 pass.
	 */
	{
		static const char *const bad[] = { "x\033[2J", "a\n<2>forged", "a\rb", "t\tb",
						   "del\177", "c1\233", "c1\302\233", "cut\303",
						   "ff\377", "over\300\257", "sur\355\240\200" };
		struct tier_msg_ns_drop d;
		struct tier_msg_hdr hd = hdr_of(TIER_MSG_NS_DELETE);

		ns.block_size = 4096;
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			memset(hello.name, 0, sizeof(hello.name));
			strcpy(hello.name, bad[i]);
			h = hdr_of(TIER_MSG_HELLO);
			ck_assert_int_eq(check_msg(&h, &hello, sizeof(hello), 0, NULL, NULL), -EINVAL);
			memset(ns.name, 0, sizeof(ns.name));
			strcpy(ns.name, bad[i]);
			h = hdr_of(TIER_MSG_NS_OPEN);
			ck_assert_int_eq(check_msg(&h, &ns, sizeof(ns), 1, NULL, NULL), -EINVAL);
			memset(&d, 0, sizeof(d));
			strcpy(d.name, bad[i]);
			ck_assert_int_eq(check_msg(&hd, &d, sizeof(d), 1, NULL, NULL), -EINVAL);
		}
		memset(ns.name, 0, sizeof(ns.name));
		strcpy(ns.name, "llama 3 ~70b/q4_k-m");
		h = hdr_of(TIER_MSG_NS_OPEN);
		ck_assert_int_eq(check_msg(&h, &ns, sizeof(ns), 1, NULL, NULL), 0);
		strcpy(ns.name, "chat \"v1\" \\ caf\303\251 \342\202\254 \360\237\246\231");
		ck_assert_int_eq(check_msg(&h, &ns, sizeof(ns), 1, NULL, NULL), 0);
	}

	/* COMMIT: only TIER_COMMIT_HAS_PARENT may be set. */
	h = hdr_of(TIER_MSG_COMMIT);
	cm.flags = TIER_COMMIT_HAS_PARENT;
	ck_assert_int_eq(check_msg(&h, &cm, sizeof(cm), 1, NULL, NULL), 0);
	for (int bit = 1; bit < 32; bit++) {
		cm.flags = 1u << bit;
		ck_assert_int_eq(check_msg(&h, &cm, sizeof(cm), 1, NULL, NULL), -EINVAL);
	}

	/* GPU_POOL: flags and pad are reserved (zero). */
	struct tier_msg_gpu_pool gp = { 0 };

	h = hdr_of(TIER_MSG_GPU_POOL);
	ck_assert_int_eq(check_msg(&h, &gp, sizeof(gp), 1, NULL, NULL), 0);
	gp.flags = 1;
	ck_assert_int_eq(check_msg(&h, &gp, sizeof(gp), 1, NULL, NULL), -EINVAL);
	gp.flags = 0;
	gp.pad = 1;
	ck_assert_int_eq(check_msg(&h, &gp, sizeof(gp), 1, NULL, NULL), -EINVAL);
}
END_TEST

/*
 * Random datagrams: never a crash or a read past the end (ASan), and never
 * accepted with a length other than its type's.  Half of them get a valid
 * header so that the checks after the magic are reached.
 */
/*
 * The span both sides map the arenas into starts on the alignment the daemon
 * gives (a hugetlb memfd maps only on a huge-page boundary), for alignments
 * up to 1 GiB, and all of it can be mapped over.
 */
START_TEST(test_reserve_span)
{
	static const uint64_t aligns[] = {0, 4096, 2ULL << 20, 1ULL << 30};

	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		uint64_t bytes = (6ULL << 20) + 4096;
		uint8_t *p = tier_reserve_span(bytes, aligns[i]);

		ck_assert_ptr_ne(p, MAP_FAILED);
		if (aligns[i])
			ck_assert_uint_eq((uintptr_t)p % aligns[i], 0);
		ck_assert_ptr_ne(mmap(p, bytes, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
				 MAP_FAILED);
		p[0] = 1;
		p[bytes - 1] = 2;
		ck_assert_int_eq(munmap(p, bytes), 0);
	}
}
END_TEST

START_TEST(test_random_bytes)
{
	uint64_t rng = 0xf00d + (uint64_t)_i;
	int accepted = 0;

	for (int iter = 0; iter < 100000; iter++) {
		size_t len = (size_t)t_rand_below(&rng, iter % 256 ? 120 : TIER_MSG_MAX + 2);
		uint8_t *buf = malloc(len ? len : 1);
		int hello_done = (int)t_rand_below(&rng, 2);
		struct tier_msg_hdr rh;
		const void *rb;
		size_t rl;
		int r;

		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)t_rand(&rng);
		if (len >= hdr_len && t_rand_below(&rng, 2)) {
			struct tier_msg_hdr h = { .magic = TIER_PROTO_MAGIC,
						  .type = (uint16_t)t_rand_below(&rng, TIER_MSG__MAX + 1) };

			if (!t_rand_below(&rng, 8))
				h.flags = (uint16_t)t_rand(&rng);
			if (!t_rand_below(&rng, 8))
				h.status = (int32_t)t_rand(&rng);
			memcpy(buf, &h, sizeof(h));
			/* Often the right length, so the field checks run. */
			if (h.type && h.type < TIER_MSG__MAX && h.type != TIER_MSG_LOOKUP &&
			    t_rand_below(&rng, 2) && hdr_len + expected_body(h.type) <= len)
				len = hdr_len + expected_body(h.type);
		}
		r = validate_msg(buf, len, hello_done, &rh, &rb, &rl);
		t_check(r == 0 || r == -EINVAL || r == -EBADMSG || r == -EPROTO);
		if (r == 0) {
			struct tier_msg_hdr h;

			accepted++;
			memcpy(&h, buf, sizeof(h));
			t_check_eq(h.magic, TIER_PROTO_MAGIC);
			t_check_eq(h.flags, 0);
			t_check_eq(h.status, 0);
			t_check(hello_done || h.type == TIER_MSG_HELLO);
			if (h.type == TIER_MSG_LOOKUP) {
				struct tier_msg_lookup l;

				t_check(len >= hdr_len + sizeof(l));
				memcpy(&l, buf + hdr_len, sizeof(l));
				t_check(l.n <= TIER_LOOKUP_BATCH);
				t_check_eq(len, hdr_len + sizeof(l) + l.n * sizeof(tier_key));
				t_check((uint64_t)l.first_pos + l.n <= l.total);
			} else {
				t_check_eq(len, hdr_len + expected_body(h.type));
			}
			t_check(rb == buf + hdr_len);
			t_check_eq(rl, len - hdr_len);
		}
		free(buf);
	}
	/* The generator does reach acceptance, so the checks above ran. */
	ck_assert_int_gt(accepted, 100);
}
END_TEST

static Suite *validate_suite(void)
{
	Suite *s = suite_create("validate");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_exact_lengths, 0, TIER_MSG__MAX - 1);
	tcase_add_test(tc, test_bad_header);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_strings_and_fields);
	tcase_add_test(tc, test_reserve_span);
	tcase_add_loop_test(tc, test_random_bytes, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(validate_suite());
}
