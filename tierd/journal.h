/* SPDX-License-Identifier: MIT */
/*
 * The NVMe tier's journal: an append-only file of fixed 128-byte records that
 * says which block lives where.  Replayed at start-up instead of rereading
 * the devices; compacted (rewritten with only live records) at start-up, at
 * shutdown, and while running once it has grown (server_nvme.c).
 */
#ifndef TIERD_JOURNAL_H
#define TIERD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tier.h"

#define JREC_MAGIC 0x4a524e4cu /* "JRNL" */
#define JREC_BYTES 128

/* JREC_NSDEL: namespace u.ns.id (named u.ns.name) was deleted with every block. */
enum jrec_type { JREC_NS = 1, JREC_PUT = 2, JREC_DEL = 3, JREC_NSDEL = 4 };

struct jrec {
	uint32_t magic;
	uint16_t type;
	uint16_t version;
	uint64_t seq;
	union {
		struct { /* JREC_PUT, JREC_DEL */
			uint32_t ns;
			uint32_t dev;
			tier_key key;
			uint64_t off;
			uint64_t length;
			uint64_t data_csum;
		} blk;
		struct { /* JREC_NS, JREC_NSDEL */
			uint32_t id;
			uint32_t creator; /* uid that created it (0 in older journals: root) */
			uint64_t block_size;
			char name[TIER_NAME_MAX + 1];
		} ns;
		uint8_t raw[JREC_BYTES - 24];
	} u;
	uint64_t rec_csum; /* XXH3-64 of the bytes before it */
};

_Static_assert(sizeof(struct jrec) == JREC_BYTES, "journal record size");

void jrec_seal(struct jrec *r);
bool jrec_valid(const struct jrec *r);

/*
 * Parse a journal image: call fn for each valid record in order; stop at the
 * first invalid one (a torn tail).  Returns the number of valid records;
 * *ret_valid_bytes is where appending should resume.
 */
size_t journal_parse(const void *buf, size_t len, void (*fn)(void *arg, const struct jrec *r),
		     void *arg, size_t *ret_valid_bytes);

/* Append buffer: records accumulate here between writes. */
struct journal {
	struct jrec *buf[2];
	size_t cap[2];        /* records per buffer */
	size_t n;             /* records in buf[fill] */
	int fill;             /* buffer being filled */
	bool writing;         /* a write of buf[!fill] is in flight */
	size_t writing_n;
	uint64_t end;         /* file offset where the next write goes */
	uint64_t queued_total;  /* records ever queued (monotonic) */
	uint64_t done_total;    /* records whose write finished, ok or not */
	uint64_t errors;        /* failed writes */
	uint64_t compactions;   /* rewrites while running (journal_rebased) */
};

int journal_init(struct journal *j, uint64_t end);
void journal_deinit(struct journal *j);
/* Queue a record.  -ENOMEM when it cannot grow. */
int journal_add(struct journal *j, const struct jrec *r);
/*
 * The next batch to write, if no write is in flight and records wait:
 * ret_buf, ret_len, ret_off; returns true and marks the write in flight.
 */
bool journal_take(struct journal *j, const void **ret_buf, size_t *ret_len, uint64_t *ret_off);
/* The write taken by journal_take finished (ok or not). */
void journal_written(struct journal *j, bool ok);
/*
 * The file was rewritten with an image of the store (compaction) and is end
 * bytes long now: the queued records, whose effects the image holds, are
 * dropped and count as written.  -EBUSY while a write is in flight.
 */
int journal_rebased(struct journal *j, uint64_t end);

#endif
