/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of ring-entry validation (tierd/validate.c: validate_sqe).
 * Every opcode, every flag bit, the reserved field, and for the batch
 * opcodes the count and data-area range at their edges, including values
 * that would overflow 32-bit arithmetic (data_off near 2^32, n huge).  The
 * per-key sizes are restated here from ring.h's comments, not taken from
 * validate.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "../helpers/testutil.h"
#include "validate.h"

#define DATA TIER_RING_DATA_BYTES

static const uint8_t single_ops[] = {
	TIER_OP_NOP, TIER_OP_LOOKUP, TIER_OP_ACQUIRE, TIER_OP_RELEASE,
	TIER_OP_ALLOC, TIER_OP_COMMIT, TIER_OP_DROP, TIER_OP_PREFETCH,
};

static const uint8_t batch_ops[] = {
	TIER_SQE_LOOKUP_MANY, TIER_SQE_ACQUIRE_MANY, TIER_SQE_RELEASE_MANY, TIER_SQE_COMMIT_MANY,
};

/* Bytes of the data area one entry of a batch uses, inputs and outputs together. */
static uint64_t per_entry(uint8_t op)
{
	switch (op) {
	case TIER_SQE_LOOKUP_MANY: return 16 + 1;      /* key in, tier byte out */
	case TIER_SQE_ACQUIRE_MANY: return 16 + 16;    /* key in, (handle, offset) out */
	case TIER_SQE_RELEASE_MANY: return 8;          /* handle in */
	case TIER_SQE_COMMIT_MANY: return 8 + 16;      /* handle and key in */
	default: ck_abort_msg("not a batch opcode: %u", op); return 0;
	}
}

static struct tier_sqe single(uint8_t op)
{
	return (struct tier_sqe){
		.opcode = op, .ns = 3, .user_data = 0x1234567890abcdefULL,
		.key = { 1, 2 }, .parent = { 3, 4 }, .handle = 0x500000007ULL,
	};
}

static struct tier_sqe batch(uint8_t op, uint32_t n, uint32_t off)
{
	return (struct tier_sqe){ .opcode = op, .user_data = ~0ULL, .n = n, .data_off = off };
}

/* Single-key opcodes: n and data_off must be 0; ns, keys and handle are the op's own. */
START_TEST(test_single_ops)
{
	uint8_t op = single_ops[_i];
	struct tier_sqe e = single(op);

	ck_assert_int_eq(validate_sqe(&e, DATA), 0);
	/* Every value of the fields the op uses is the daemon's to judge, not validation's. */
	e.ns = UINT32_MAX;
	e.handle = UINT64_MAX;
	e.key = (tier_key){ UINT64_MAX, UINT64_MAX };
	e.user_data = 0;
	ck_assert_int_eq(validate_sqe(&e, DATA), 0);

	e = single(op);
	e.n = 1;
	ck_assert_int_eq(validate_sqe(&e, DATA), -EINVAL);
	e.n = UINT32_MAX;
	ck_assert_int_eq(validate_sqe(&e, DATA), -EINVAL);
	e = single(op);
	e.data_off = 8;
	ck_assert_int_eq(validate_sqe(&e, DATA), -EINVAL);
	e.data_off = UINT32_MAX;
	ck_assert_int_eq(validate_sqe(&e, DATA), -EINVAL);

	/* The reserved field, any bit of it. */
	for (int b = 0; b < 16; b++) {
		e = single(op);
		e.pad = (uint16_t)(1u << b);
		ck_assert_int_eq(validate_sqe(&e, DATA), -EINVAL);
	}
}
END_TEST

/* Flags: TIER_OPF_PARENT on COMMIT only; every other bit on every opcode is refused. */
START_TEST(test_flags)
{
	for (size_t i = 0; i < sizeof(single_ops) + sizeof(batch_ops); i++) {
		bool is_batch = i >= sizeof(single_ops);
		uint8_t op = is_batch ? batch_ops[i - sizeof(single_ops)] : single_ops[i];

		for (int b = 0; b < 8; b++) {
			struct tier_sqe e = is_batch ? batch(op, 1, 0) : single(op);
			int want = (op == TIER_OP_COMMIT && (1u << b) == TIER_OPF_PARENT) ? 0 : -EINVAL;

			e.flags = (uint8_t)(1u << b);
			ck_assert_msg(validate_sqe(&e, DATA) == want, "opcode %u flag bit %d", op, b);
		}
		struct tier_sqe e = is_batch ? batch(op, 1, 0) : single(op);

		e.flags = 0xff;
		ck_assert_int_eq(validate_sqe(&e, DATA), -EINVAL);
	}
}
END_TEST

/* Unknown opcodes, all of them. */
START_TEST(test_unknown_opcodes)
{
	for (unsigned op = 0; op < 256; op++) {
		bool known = op <= TIER_OP_PREFETCH ||
			     (op >= TIER_SQE_LOOKUP_MANY && op <= TIER_SQE_COMMIT_MANY);
		struct tier_sqe e = known && op >= TIER_SQE_LOOKUP_MANY ? batch((uint8_t)op, 1, 0)
									  : single((uint8_t)op);

		ck_assert_msg(validate_sqe(&e, DATA) == (known ? 0 : -EINVAL), "opcode %u", op);
	}
}
END_TEST

/* Batches: counts and ranges at the edges of the data area. */
START_TEST(test_batch_edges)
{
	uint8_t op = batch_ops[_i];
	uint64_t per = per_entry(op), nmax = DATA / per;
	struct tier_sqe e;

	/* n = 0 is refused; 1 and the most that fit are fine. */
	e = batch(op, 0, 0);
	ck_assert_int_eq(validate_sqe(&e, DATA), -EINVAL);
	e = batch(op, 1, 0);
	ck_assert_int_eq(validate_sqe(&e, DATA), 0);
	e = batch(op, (uint32_t)nmax, 0);
	ck_assert_int_eq(validate_sqe(&e, DATA), 0);
	e = batch(op, (uint32_t)nmax + 1, 0);
	ck_assert_int_eq(validate_sqe(&e, DATA), -EINVAL);

	/* One entry at the very end of the area (8-aligned), and one byte past it. */
	{
		uint64_t last = (DATA - per) & ~7ULL;

		e = batch(op, 1, (uint32_t)last);
		ck_assert_int_eq(validate_sqe(&e, DATA), 0);
		e = batch(op, 1, (uint32_t)last + 8);
		ck_assert_int_eq(validate_sqe(&e, DATA), -EINVAL);
	}
	/* A full batch shifted by 8 bytes no longer fits (unless there is slack). */
	e = batch(op, (uint32_t)nmax, 8);
	ck_assert_int_eq(validate_sqe(&e, DATA), nmax * per + 8 <= DATA ? 0 : -EINVAL);
	/* The range must fit exactly: a data area one byte smaller refuses it. */
	e = batch(op, (uint32_t)nmax, 0);
	ck_assert_int_eq(validate_sqe(&e, nmax * per), 0);
	ck_assert_int_eq(validate_sqe(&e, nmax * per - 1), -EINVAL);
	ck_assert_int_eq(validate_sqe(&e, 0), -EINVAL);

	/* Misaligned offsets. */
	for (uint32_t off = 1; off < 8; off++) {
		e = batch(op, 1, off);
		ck_assert_int_eq(validate_sqe(&e, DATA), -EINVAL);
	}
	/* Values that wrap 32-bit arithmetic: data_off near 2^32, n huge, both. */
	e = batch(op, 1, UINT32_MAX & ~7u);
	ck_assert_int_eq(validate_sqe(&e, DATA), -EINVAL);
	e = batch(op, 1, 0x80000000u);
	ck_assert_int_eq(validate_sqe(&e, DATA), -EINVAL);
	e = batch(op, UINT32_MAX, 0);
	ck_assert_int_eq(validate_sqe(&e, DATA), -EINVAL);
	/* n * per wraps to a small number in 32 bits: still refused. */
	e = batch(op, (uint32_t)((1ULL << 32) / per + 1), 0);
	ck_assert_int_eq(validate_sqe(&e, DATA), -EINVAL);
	e = batch(op, UINT32_MAX, UINT32_MAX & ~7u);
	ck_assert_int_eq(validate_sqe(&e, DATA), -EINVAL);
	/* ... even with a data area as large as the whole 64-bit range. */
	e = batch(op, UINT32_MAX, UINT32_MAX & ~7u);
	ck_assert_int_eq(validate_sqe(&e, UINT64_MAX), 0);
	e = batch(op, 0x80000000u, 0x80000000u);
	ck_assert_int_eq(validate_sqe(&e, (1ULL << 32)), -EINVAL);

	/* The reserved field and every flag, on a batch. */
	e = batch(op, 1, 0);
	e.pad = 1;
	ck_assert_int_eq(validate_sqe(&e, DATA), -EINVAL);
}
END_TEST

/* Random entries: the answer follows the rules above, and nothing is read past the entry. */
START_TEST(test_random_entries)
{
	uint64_t rng = 0x5eed;

	for (int i = 0; i < 200000; i++) {
		struct tier_sqe *e = malloc(sizeof(*e)), c;
		uint64_t w[8];
		int want, got;

		for (int j = 0; j < 8; j++)
			w[j] = t_rand(&rng);
		memcpy(e, w, sizeof(*e));
		/* Bias toward entries that are nearly valid, so the later checks are reached. */
		if (i % 2) {
			e->opcode = (uint8_t)(i % 4 ? t_rand_below(&rng, 8)
						    : TIER_SQE_LOOKUP_MANY + t_rand_below(&rng, 4));
			e->flags = (uint8_t)(t_rand_below(&rng, 4) ? 0 : t_rand_below(&rng, 4));
			e->pad = (uint16_t)(t_rand_below(&rng, 8) ? 0 : 1);
			e->n = (uint32_t)(e->opcode >= 64 ? t_rand_below(&rng, 80000)
							  : (t_rand_below(&rng, 4) ? 0 : e->n));
			e->data_off = (uint32_t)(t_rand_below(&rng, 4) ? t_rand_below(&rng, DATA + 64)
								       : e->data_off);
		}
		c = *e;
		if (c.pad || (c.flags && !(c.opcode == TIER_OP_COMMIT && c.flags == TIER_OPF_PARENT)))
			want = -EINVAL;
		else if (c.opcode <= TIER_OP_PREFETCH)
			want = c.n || c.data_off ? -EINVAL : 0;
		else if (c.opcode >= TIER_SQE_LOOKUP_MANY && c.opcode <= TIER_SQE_COMMIT_MANY)
			want = c.n && c.data_off % 8 == 0 &&
					       (uint64_t)c.data_off + c.n * per_entry(c.opcode) <= DATA
				       ? 0 : -EINVAL;
		else
			want = -EINVAL;
		got = validate_sqe(e, DATA);
		free(e);
		if (got != want)
			ck_abort_msg("entry %d (opcode %u flags %#x pad %u n %u off %u): %d, want %d",
				     i, c.opcode, c.flags, c.pad, c.n, c.data_off, got, want);
	}
}
END_TEST

static Suite *ring_validate_suite(void)
{
	Suite *s = suite_create("ring_validate");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_single_ops, 0, (int)sizeof(single_ops));
	tcase_add_test(tc, test_flags);
	tcase_add_test(tc, test_unknown_opcodes);
	tcase_add_loop_test(tc, test_batch_edges, 0, (int)sizeof(batch_ops));
	tcase_add_test(tc, test_random_entries);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(ring_validate_suite());
}
