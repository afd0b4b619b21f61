/* SPDX-License-Identifier: MIT */
/*
 * Mooncake JSONL trace reader.  Each line is parsed with json-c (the traces
 * are a few MB; a tokenizer per line costs well under a second), and every
 * hash id is mapped to a dense block index with an open-addressing table, so
 * traces whose ids are not dense (or are 64-bit hashes) replay the same way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "trace.h"

int trace_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap ? *cap : 1024;
	void *n;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	n = realloc(*p, c * elem);
	if (!n)
		return -ENOMEM;
	*p = n;
	*cap = c;
	return 0;
}

static int get_u64(struct json_object *o, const char *k, uint64_t *ret)
{
	struct json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, k, &v))
		return -EINVAL;
	if (!json_object_is_type(v, json_type_int))
		return -EINVAL;
	x = json_object_get_int64(v);
	if (x < 0)
		return -EINVAL;
	*ret = (uint64_t)x;
	return 0;
}

int trace_parse_line(const char *line, struct trace_req *ret_req,
		     uint64_t **ids, size_t *n_ids, size_t *cap)
{
	struct json_object *o, *arr;
	uint64_t ts, in = 0, out = 0;
	size_t n;
	int r = -EINVAL;

	while (*line == ' ' || *line == '\t' || *line == '\r' || *line == '\n')
		line++;
	if (!*line)
		return 0;
	o = json_tokener_parse(line);
	if (!o || !json_object_is_type(o, json_type_object))
		goto out;
	if (get_u64(o, "timestamp", &ts) < 0)
		goto out;
	/* lengths are informative; a trace without them still replays */
	(void)get_u64(o, "input_length", &in);
	(void)get_u64(o, "output_length", &out);
	if (!json_object_object_get_ex(o, "hash_ids", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		goto out;
	n = json_object_array_length(arr);
	r = trace_grow((void **)ids, cap, *n_ids + n, sizeof(**ids));
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(e, json_type_int)) {
			r = -EINVAL;
			goto out;
		}
		(*ids)[*n_ids + i] = (uint64_t)json_object_get_int64(e);
	}
	ret_req->timestamp_ms = ts;
	ret_req->input_length = in > UINT32_MAX ? UINT32_MAX : (uint32_t)in;
	ret_req->output_length = out > UINT32_MAX ? UINT32_MAX : (uint32_t)out;
	ret_req->first = (uint32_t)*n_ids;
	ret_req->n = (uint32_t)n;
	*n_ids += n;
	r = 1;
out:
	json_object_put(o);
	return r;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

int trace_densify(struct trace *t)
{
	size_t cap = 16, mask;
	uint64_t *keys;
	uint32_t *vals;

	while (cap < 2 * t->n_acc + 2)
		cap *= 2;
	mask = cap - 1;
	keys = malloc(cap * sizeof(*keys));
	vals = malloc(cap * sizeof(*vals));
	t->block = malloc((t->n_acc ? t->n_acc : 1) * sizeof(*t->block));
	if (!keys || !vals || !t->block) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	memset(vals, 0xff, cap * sizeof(*vals));
	t->n_unique = 0;
	for (size_t i = 0; i < t->n_acc; i++) {
		size_t h = mix64(t->ids[i]) & mask;

		while (vals[h] != UINT32_MAX && keys[h] != t->ids[i])
			h = (h + 1) & mask;
		if (vals[h] == UINT32_MAX) {
			keys[h] = t->ids[i];
			vals[h] = (uint32_t)t->n_unique++;
		}
		t->block[i] = vals[h];
	}
	free(keys);
	free(vals);
	return 0;
}

int trace_load(const char *path, struct trace **ret, size_t *ret_line)
{
	struct trace *t;
	FILE *f;
	char *line = NULL;
	size_t len = 0, ids_cap = 0, req_cap = 0, lineno = 0;
	int r = 0;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	t = calloc(1, sizeof(*t));
	if (!t) {
		fclose(f);
		return -ENOMEM;
	}
	while (getline(&line, &len, f) >= 0) {
		struct trace_req q;

		lineno++;
		r = trace_parse_line(line, &q, &t->ids, &t->n_acc, &ids_cap);
		if (r < 0)
			break;
		if (r == 0)
			continue;
		if (t->n_acc > UINT32_MAX) {
			r = -EFBIG;
			break;
		}
		r = trace_grow((void **)&t->req, &req_cap, t->n_req + 1, sizeof(*t->req));
		if (r < 0)
			break;
		t->req[t->n_req++] = q;
		r = 0;
	}
	free(line);
	fclose(f);
	if (r == 0)
		r = trace_densify(t);
	if (r < 0) {
		if (ret_line)
			*ret_line = lineno;
		trace_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

void trace_free(struct trace *t)
{
	if (!t)
		return;
	free(t->req);
	free(t->ids);
	free(t->block);
	free(t);
}
