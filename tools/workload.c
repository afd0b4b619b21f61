/* SPDX-License-Identifier: MIT */
/*
 * Workloads for tierbench.
 *
 * The generated one imitates the structure of real chat traffic as the
 * Mooncake conversation trace shows it: a handful of system prompts that
 * most requests start with (Zipf-popular), conversations whose every turn
 * re-sends the previous turn's prompt plus the answer and a new message (so
 * its prefix is a cache hit if it survived), and many one-off requests.
 * Block ids are dense integers, as in the trace; equal id = equal prefix.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"
#include "workload.h"

#define N_SYSTEM_PROMPTS 8
#define MAX_ACTIVE 256
#define MAX_BLOCKS 512

struct conv {
	uint64_t *ids;
	size_t n, cap;
	uint32_t turns_left;
};

struct workload {
	/* generated */
	uint64_t rng;
	uint32_t remaining;
	uint64_t next_id;
	uint64_t sys[N_SYSTEM_PROMPTS][4];
	uint32_t sys_len[N_SYSTEM_PROMPTS];
	struct conv active[MAX_ACTIVE];
	uint32_t n_active;
	struct conv out;
	/* trace: loaded whole by the reader tiersim uses, replayed in order */
	struct trace *trace;
	size_t next_req;
};

static uint64_t rnd(struct workload *w)
{
	/* splitmix64: small, fast, good enough for workload shapes. */
	uint64_t z = (w->rng += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double unif(struct workload *w)
{
	return (double)(rnd(w) >> 11) / 9007199254740992.0;
}

/* Geometric number of trials >= 1 with the given mean. */
static uint32_t geometric(struct workload *w, double mean)
{
	double p = 1.0 / mean, u = unif(w);

	return 1 + (uint32_t)(log(1.0 - u) / log(1.0 - p));
}

static int conv_push(struct conv *c, uint64_t id)
{
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 32;
		uint64_t *p = realloc(c->ids, ncap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		c->ids = p;
		c->cap = ncap;
	}
	c->ids[c->n++] = id;
	return 0;
}

int workload_open_generated(uint64_t seed, uint32_t n, struct workload **ret)
{
	struct workload *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->rng = seed * 0x2545F4914F6CDD1DULL + 1;
	w->remaining = n;
	for (int i = 0; i < N_SYSTEM_PROMPTS; i++) {
		w->sys_len[i] = 1 + (uint32_t)(rnd(w) % 3);
		for (uint32_t j = 0; j < w->sys_len[i]; j++)
			w->sys[i][j] = w->next_id++;
	}
	*ret = w;
	return 0;
}

/* Zipf(1) over the system prompts: prompt 0 is the most popular. */
static int pick_system_prompt(struct workload *w)
{
	double h = 0, u;

	for (int i = 0; i < N_SYSTEM_PROMPTS; i++)
		h += 1.0 / (i + 1);
	u = unif(w) * h;
	for (int i = 0; i < N_SYSTEM_PROMPTS; i++) {
		u -= 1.0 / (i + 1);
		if (u <= 0)
			return i;
	}
	return N_SYSTEM_PROMPTS - 1;
}

static int gen_next(struct workload *w, const uint64_t **ret_ids, size_t *ret_n)
{
	struct conv *c;

	if (w->remaining == 0)
		return 0;
	w->remaining--;
	if (w->n_active == 0 || unif(w) < 0.45) {
		/* A new conversation: system prompt + a first message. */
		int s = pick_system_prompt(w);
		uint32_t user = geometric(w, 10.0);
		struct conv nc = { 0 };

		if (user > MAX_BLOCKS / 2)
			user = MAX_BLOCKS / 2;
		for (uint32_t j = 0; j < w->sys_len[s]; j++)
			if (conv_push(&nc, w->sys[s][j]) < 0)
				return -ENOMEM;
		for (uint32_t j = 0; j < user; j++)
			if (conv_push(&nc, w->next_id++) < 0)
				return -ENOMEM;
		nc.turns_left = geometric(w, 2.5) - 1;
		w->out.n = 0;
		for (size_t j = 0; j < nc.n; j++)
			if (conv_push(&w->out, nc.ids[j]) < 0)
				return -ENOMEM;
		if (nc.turns_left == 0) {
			free(nc.ids);
		} else {
			uint32_t slot;

			if (w->n_active < MAX_ACTIVE) {
				slot = w->n_active++;
			} else {
				/* Full: an old conversation ends to make room. */
				slot = (uint32_t)(rnd(w) % MAX_ACTIVE);
				free(w->active[slot].ids);
			}
			w->active[slot] = nc;
		}
	} else {
		/* A follow-up turn: the previous prompt, the answer, a new message. */
		uint32_t i = (uint32_t)(rnd(w) % w->n_active), add = 1 + geometric(w, 2.0);

		c = &w->active[i];
		for (uint32_t j = 0; j < add && c->n < MAX_BLOCKS; j++)
			if (conv_push(c, w->next_id++) < 0)
				return -ENOMEM;
		w->out.n = 0;
		for (size_t j = 0; j < c->n; j++)
			if (conv_push(&w->out, c->ids[j]) < 0)
				return -ENOMEM;
		if (--c->turns_left == 0 || c->n >= MAX_BLOCKS) {
			free(c->ids);
			w->active[i] = w->active[--w->n_active];
			memset(&w->active[w->n_active], 0, sizeof(w->active[0]));
		}
	}
	*ret_ids = w->out.ids;
	*ret_n = w->out.n;
	return 1;
}

int workload_open_trace(const char *path, struct workload **ret)
{
	struct workload *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	r = trace_load(path, &w->trace, NULL);
	if (r < 0) {
		free(w);
		return r;
	}
	*ret = w;
	return 0;
}

static int trace_next(struct workload *w, const uint64_t **ret_ids, size_t *ret_n)
{
	const struct trace_req *q;

	do {
		if (w->next_req == w->trace->n_req)
			return 0;
		q = &w->trace->req[w->next_req++];
	} while (q->n == 0);
	*ret_ids = w->trace->ids + q->first;
	*ret_n = q->n;
	return 1;
}

int workload_next(struct workload *w, const uint64_t **ret_ids, size_t *ret_n)
{
	return w->trace ? trace_next(w, ret_ids, ret_n) : gen_next(w, ret_ids, ret_n);
}

void workload_close(struct workload *w)
{
	if (!w)
		return;
	for (uint32_t i = 0; i < w->n_active; i++)
		free(w->active[i].ids);
	free(w->out.ids);
	if (w->trace)
		trace_free(w->trace);
	free(w);
}
