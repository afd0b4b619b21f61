/* SPDX-License-Identifier: MIT */
/*
 * Reader of Mooncake-format KV-cache traces (JSONL, one request a line:
 * {"timestamp": ms, "input_length": n, "output_length": n, "hash_ids": [..]}).
 * Shared by tiersim (offline replay) and tierbench (live replay).
 *
 * A loaded trace keeps every request in arrival order and every block
 * access flattened into one array, with each hash id also mapped to a dense
 * block index (0 .. n_unique-1, in order of first appearance), so a replay
 * can use the index directly as a policy slot.
 */
#ifndef TIERSIM_TRACE_H
#define TIERSIM_TRACE_H

#include <stddef.h>
#include <stdint.h>

struct trace_req {
	uint64_t timestamp_ms;
	uint32_t input_length;
	uint32_t output_length;
	uint32_t first;  /* index of its first block access in trace.ids */
	uint32_t n;      /* blocks (hash ids) in this request */
};

struct trace {
	struct trace_req *req;
	size_t n_req;
	uint64_t *ids;    /* hash id of every block access, request after request */
	uint32_t *block;  /* dense index of ids[i], < n_unique */
	size_t n_acc;
	size_t n_unique;
};

/*
 * Parse one line of a trace into *ret_req; its hash ids are stored in
 * *ids (grown with realloc; *cap is its capacity, in elements) from index
 * ret_req->first = *n_ids on, and *n_ids is advanced.
 * Returns 1 for a request, 0 for an empty line, -EINVAL for a malformed
 * one, -ENOMEM.
 */
int trace_parse_line(const char *line, struct trace_req *ret_req,
		     uint64_t **ids, size_t *n_ids, size_t *cap);

/*
 * Load a whole trace file.  Returns 0 and a trace to free with trace_free(),
 * or -errno (-ENOENT when the file is absent, -EINVAL with the line number
 * in *ret_line when a line is malformed; ret_line may be NULL).
 */
int trace_load(const char *path, struct trace **ret, size_t *ret_line);
void trace_free(struct trace *t);

/*
 * Map every id of t->ids (t->n_acc of them) to a dense index in t->block, in
 * order of first appearance, and set t->n_unique.  trace_load() calls it; a
 * trace built in memory (gen.c) calls it once its ids are in.  0 or -ENOMEM.
 */
int trace_densify(struct trace *t);

/*
 * Make room for need elements of elem bytes in *p (capacity *cap, doubled
 * from 1024): 0, or -ENOMEM with *p untouched.
 */
int trace_grow(void **p, size_t *cap, size_t need, size_t elem);

#endif /* TIERSIM_TRACE_H */
