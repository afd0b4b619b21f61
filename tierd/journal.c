/* SPDX-License-Identifier: MIT */
/*
 * Journal records and the append buffer.
 *
 * Ordering is what makes the journal trustworthy: a PUT record is queued only
 * after the block's data and header writes have completed, and at most one
 * journal write is in flight, so the file is always a prefix of what was
 * queued.  After a crash, replay stops at the first record whose checksum
 * fails (a torn tail) and everything before it is exactly what had reached
 * the file.  A record names a device offset; the block's own header there is
 * checked again (key, sequence, checksums) on every read, so a record that
 * outlived its block (slot reused before a DEL reached the file) is a miss,
 * never wrong bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "journal.h"

#define JOURNAL_INITIAL_RECS 1024

void jrec_seal(struct jrec *r)
{
	r->magic = JREC_MAGIC;
	r->version = 1;
	r->rec_csum = XXH3_64bits(r, offsetof(struct jrec, rec_csum));
}

bool jrec_valid(const struct jrec *r)
{
	if (r->magic != JREC_MAGIC || r->version != 1 ||
	    r->rec_csum != XXH3_64bits(r, offsetof(struct jrec, rec_csum)))
		return false;
	switch (r->type) {
	case JREC_NS:
	case JREC_NSDEL:
		return memchr(r->u.ns.name, 0, sizeof(r->u.ns.name)) && r->u.ns.name[0] &&
		       r->u.ns.block_size;
	case JREC_PUT:
	case JREC_DEL:
		return true;
	default:
		return false;
	}
}

size_t journal_parse(const void *buf, size_t len, void (*fn)(void *arg, const struct jrec *r),
		     void *arg, size_t *ret_valid_bytes)
{
	const uint8_t *p = buf;
	size_t n = 0, off = 0;

	while (off + JREC_BYTES <= len) {
		struct jrec r;

		memcpy(&r, p + off, sizeof(r));
		if (!jrec_valid(&r))
			break;
		fn(arg, &r);
		off += JREC_BYTES;
		n++;
	}
	if (ret_valid_bytes)
		*ret_valid_bytes = off;
	return n;
}

int journal_init(struct journal *j, uint64_t end)
{
	memset(j, 0, sizeof(*j));
	for (int i = 0; i < 2; i++) {
		j->cap[i] = JOURNAL_INITIAL_RECS;
		j->buf[i] = malloc(j->cap[i] * JREC_BYTES);
		if (!j->buf[i]) {
			journal_deinit(j);
			return -ENOMEM;
		}
	}
	j->end = end;
	return 0;
}

void journal_deinit(struct journal *j)
{
	free(j->buf[0]);
	free(j->buf[1]);
	memset(j, 0, sizeof(*j));
}

int journal_add(struct journal *j, const struct jrec *r)
{
	if (j->n == j->cap[j->fill]) {
		size_t ncap = j->cap[j->fill] * 2;
		struct jrec *p = realloc(j->buf[j->fill], ncap * JREC_BYTES);

		if (!p)
			return -ENOMEM;
		j->buf[j->fill] = p;
		j->cap[j->fill] = ncap;
	}
	j->buf[j->fill][j->n++] = *r;
	j->queued_total++;
	return 0;
}

bool journal_take(struct journal *j, const void **ret_buf, size_t *ret_len, uint64_t *ret_off)
{
	if (j->writing || j->n == 0)
		return false;
	*ret_buf = j->buf[j->fill];
	*ret_len = j->n * JREC_BYTES;
	*ret_off = j->end;
	j->writing = true;
	j->writing_n = j->n;
	j->fill = !j->fill;
	j->n = 0;
	return true;
}

void journal_written(struct journal *j, bool ok)
{
	/*
	 * A failed write leaves the file's tail unknown; the next write goes to
	 * the same offset, so the file stays a clean prefix (the lost records
	 * only cost recoverability of those blocks, never correctness).
	 */
	if (ok)
		j->end += j->writing_n * JREC_BYTES;
	else
		j->errors++;
	j->done_total += j->writing_n;
	j->writing = false;
	j->writing_n = 0;
}

int journal_rebased(struct journal *j, uint64_t end)
{
	if (j->writing)
		return -EBUSY;
	j->done_total += j->n;
	j->n = 0;
	j->end = end;
	j->compactions++;
	return 0;
}
