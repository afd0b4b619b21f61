/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the NVMe journal's records and append buffer
 * (tierd/journal.c): a sealed record verifies and any changed byte makes it
 * fail; parsing stops at a torn record; at most one write is in flight, a
 * failed one is rewritten at the same offset (the file stays a prefix), and
 * the counters a flush waits on move only when a write finishes; a rebase
 * after a compaction counts the queued records as written and refuses while
 * a write is in flight.
 */
#include <errno.h>
#include <string.h>

#include "../helpers/testutil.h"
#include "journal.h"

static struct jrec put_rec(uint64_t seq, uint64_t off)
{
	struct jrec r = { .type = JREC_PUT, .seq = seq };

	r.u.blk.ns = 1;
	r.u.blk.key = (tier_key){ .hi = seq, .lo = ~seq };
	r.u.blk.off = off;
	r.u.blk.length = 65536;
	jrec_seal(&r);
	return r;
}

START_TEST(test_seal_and_verify)
{
	struct jrec r = put_rec(7, 4096), ns = { .type = JREC_NS, .seq = 1 };

	ck_assert(jrec_valid(&r));
	for (size_t i = 0; i < sizeof(r); i++) {
		struct jrec c = r;

		((uint8_t *)&c)[i] ^= 0x40;
		ck_assert_msg(!jrec_valid(&c), "a flipped byte %zu still verifies", i);
	}
	/* A namespace record needs a name and a block size. */
	ns.u.ns.block_size = 4096;
	jrec_seal(&ns);
	ck_assert(!jrec_valid(&ns));
	strcpy(ns.u.ns.name, "kv");
	jrec_seal(&ns);
	ck_assert(jrec_valid(&ns));
}
END_TEST

/* Queue n PUT records with sequences from, from + 1, ... */
static void add_puts(struct journal *j, uint64_t from, uint64_t n)
{
	for (uint64_t i = from; i < from + n; i++) {
		struct jrec r = put_rec(i, i);

		ck_assert_int_eq(journal_add(j, &r), 0);
	}
}

static void count_rec(void *arg, const struct jrec *r)
{
	uint64_t *seqs = arg;

	seqs[seqs[0]++ + 1] = r->seq;
}

START_TEST(test_parse_stops_at_torn_record)
{
	struct jrec recs[5];
	uint64_t seqs[8] = { 0 };
	size_t valid, n;

	for (int i = 0; i < 5; i++)
		recs[i] = put_rec(10 + (uint64_t)i, 4096u * (uint64_t)i);
	recs[3].u.blk.off ^= 1; /* torn: written after its checksum */
	n = journal_parse(recs, sizeof(recs), count_rec, seqs, &valid);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(valid, 3 * JREC_BYTES);
	ck_assert_uint_eq(seqs[0], 3);
	ck_assert_uint_eq(seqs[1], 10);
	ck_assert_uint_eq(seqs[3], 12);
	/* A partial record at the end is not a record. */
	seqs[0] = 0;
	n = journal_parse(recs, 2 * JREC_BYTES + 17, count_rec, seqs, &valid);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(valid, 2 * JREC_BYTES);
}
END_TEST

START_TEST(test_one_write_in_flight)
{
	struct journal j;
	const void *buf;
	size_t len;
	uint64_t off;

	ck_assert_int_eq(journal_init(&j, 1280), 0);
	ck_assert(!journal_take(&j, &buf, &len, &off)); /* nothing queued */
	add_puts(&j, 0, 3);
	ck_assert(journal_take(&j, &buf, &len, &off));
	ck_assert_uint_eq(len, 3 * JREC_BYTES);
	ck_assert_uint_eq(off, 1280);
	ck_assert_uint_eq(((const struct jrec *)buf)[2].seq, 2);
	add_puts(&j, 3, 1);
	ck_assert(!journal_take(&j, &buf, &len, &off)); /* one in flight */
	ck_assert_uint_eq(j.done_total, 0);
	/* It failed: the next batch goes to the same offset. */
	journal_written(&j, false);
	ck_assert_uint_eq(j.errors, 1);
	ck_assert_uint_eq(j.done_total, 3);
	ck_assert(journal_take(&j, &buf, &len, &off));
	ck_assert_uint_eq(off, 1280);
	ck_assert_uint_eq(len, JREC_BYTES);
	journal_written(&j, true);
	ck_assert_uint_eq(j.end, 1280 + JREC_BYTES);
	ck_assert_uint_eq(j.queued_total, 4);
	ck_assert_uint_eq(j.done_total, 4);
	journal_deinit(&j);
}
END_TEST

/* Many records: the buffer grows, and a batch carries all of them in order. */
START_TEST(test_buffer_grows)
{
	struct journal j;
	const void *buf;
	size_t len;
	uint64_t off;

	ck_assert_int_eq(journal_init(&j, 0), 0);
	add_puts(&j, 0, 5000);
	ck_assert(journal_take(&j, &buf, &len, &off));
	ck_assert_uint_eq(len, 5000 * JREC_BYTES);
	for (size_t i = 0; i < 5000; i++)
		ck_assert_uint_eq(((const struct jrec *)buf)[i].seq, i);
	journal_written(&j, true);
	ck_assert_uint_eq(j.end, 5000 * JREC_BYTES);
	journal_deinit(&j);
}
END_TEST

START_TEST(test_rebase_after_compaction)
{
	struct journal j;
	const void *buf;
	size_t len;
	uint64_t off, target;

	ck_assert_int_eq(journal_init(&j, 64 * JREC_BYTES), 0);
	add_puts(&j, 0, 4);
	ck_assert(journal_take(&j, &buf, &len, &off));
	add_puts(&j, 9, 1);
	/* Not while a write is in flight: it would land past the new end. */
	ck_assert_int_eq(journal_rebased(&j, 10 * JREC_BYTES), -EBUSY);
	ck_assert_uint_eq(j.compactions, 0);
	journal_written(&j, true);
	ck_assert_uint_eq(j.end, 68 * JREC_BYTES);
	/* A flush waiting for every record queued so far. */
	target = j.queued_total;
	ck_assert_uint_lt(j.done_total, target);
	ck_assert_int_eq(journal_rebased(&j, 10 * JREC_BYTES), 0);
	ck_assert_uint_eq(j.compactions, 1);
	ck_assert_uint_ge(j.done_total, target); /* the image holds the queued record */
	ck_assert_uint_eq(j.end, 10 * JREC_BYTES);
	ck_assert(!journal_take(&j, &buf, &len, &off)); /* nothing left to write */
	add_puts(&j, 10, 1);
	ck_assert(journal_take(&j, &buf, &len, &off));
	ck_assert_uint_eq(off, 10 * JREC_BYTES); /* appends follow the image */
	journal_written(&j, true);
	journal_deinit(&j);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("journal");

	tcase_add_test(tc, test_seal_and_verify);
	tcase_add_test(tc, test_parse_stops_at_torn_record);
	tcase_add_test(tc, test_one_write_in_flight);
	tcase_add_test(tc, test_buffer_grows);
	tcase_add_test(tc, test_rebase_after_compaction);
	suite_add_tcase(s, tc);
	return t_run_suite(s);
}
