/* SPDX-License-Identifier: MIT */
/*
 * Workload generators (gen.h).  A request is a list of block contents; its
 * hash ids are chained from them (id = hash(previous id, content)), so two
 * requests share an id exactly when they share the whole prefix up to it, as
 * in a Mooncake trace.  Content is either shared (a system prompt, a
 * document, a tool context: the same content numbers every time) or fresh
 * (a question, a turn, a tool output: a new number).  A prompt's last block
 * holds the tokens left over, so it is partial, and the next turn of the
 * same conversation re-reads the full blocks only: its block at that
 * position holds more tokens, hence a new id, as with real prefix hashes.
 *
 * Sessions (a document's questions, a conversation, a task) are generated
 * one after the other with their own arrival times and then sorted by
 * timestamp, so they interleave as independent Poisson streams would.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

#define GEN_BLOCK_TOKENS 512u
#define GEN_SPAN_MS (3600u * 1000u) /* an hour, as the real trace */
#define GEN_MAX_BLOCKS 512u         /* blocks in one request, at most */

const char *const gen_families[] = {"docqa", "chat", "agent", "mix", NULL};

struct gen_req {
	uint64_t ts, seq;
	uint32_t in_len, first, n;
};

struct gen {
	uint64_t rng;
	uint64_t content;   /* the last content number handed out */
	struct gen_req *req;
	size_t n_req, cap_req;
	uint64_t *ids;
	size_t n_ids, cap_ids;
	int err;
};

/* A prompt being built: block contents and the tokens of its last block. */
struct prompt {
	uint64_t c[GEN_MAX_BLOCKS];
	uint32_t n;
	uint32_t carry; /* tokens past the last full block (0: ends on a full block) */
};

static uint64_t gen_next(struct gen *g)
{
	/* splitmix64: every seed, including 0, gives a good stream */
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint32_t gen_range(struct gen *g, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(gen_next(g) % ((uint64_t)hi - lo + 1));
}

/* Uniform in (0, 1). */
static double gen_unit(struct gen *g)
{
	return ((double)(gen_next(g) >> 11) + 0.5) / 9007199254740992.0;
}

/* Exponential with this mean (a Poisson process's gaps). */
static double gen_exp(struct gen *g, double mean)
{
	return -mean * log(gen_unit(g));
}

/* Zipf-like rank in [0, n): rank k with weight 1 / (k + 1). */
static uint32_t gen_zipf(struct gen *g, uint32_t n)
{
	double h = 0, u;

	for (uint32_t k = 0; k < n; k++)
		h += 1.0 / (k + 1);
	u = gen_unit(g) * h;
	for (uint32_t k = 0; k < n; k++) {
		u -= 1.0 / (k + 1);
		if (u <= 0)
			return k;
	}
	return n - 1;
}

static uint64_t gen_chain(uint64_t prev, uint64_t content)
{
	uint64_t x = prev * 0x9e3779b97f4a7c15ULL ^ (content + 0x632be59bd9b4e019ULL);

	x = (x ^ (x >> 31)) * 0xd6e8feb86659fd93ULL;
	x = (x ^ (x >> 32)) * 0xd6e8feb86659fd93ULL;
	x ^= x >> 32;
	/* JSON integers the reader takes: positive, below 2^62 */
	x &= (1ULL << 62) - 1;
	return x ? x : 1;
}

/* Append fresh content of tokens tokens after the prompt's full blocks. */
static void prompt_fresh(struct gen *g, struct prompt *p, uint32_t tokens)
{
	uint32_t t = p->carry + tokens;

	if (p->carry)
		p->n--; /* the partial block is re-cut with more tokens: new content */
	while (t && p->n < GEN_MAX_BLOCKS) {
		p->c[p->n++] = ++g->content;
		if (t <= GEN_BLOCK_TOKENS)
			break;
		t -= GEN_BLOCK_TOKENS;
	}
	p->carry = t % GEN_BLOCK_TOKENS;
}

/* Append n full blocks of shared content first, first + 1, ... */
static void prompt_shared(struct prompt *p, uint64_t first, uint32_t n)
{
	if (p->carry) {
		p->n--;
		p->carry = 0;
	}
	for (uint32_t i = 0; i < n && p->n < GEN_MAX_BLOCKS; i++)
		p->c[p->n++] = first + i;
}

/* A request for the prompt at ts (ms); past the span it is left out. */
static void gen_emit(struct gen *g, double ts, const struct prompt *p)
{
	struct gen_req *q;
	uint64_t id = 0;

	if (g->err || ts >= GEN_SPAN_MS || !p->n)
		return;
	if (trace_grow((void **)&g->req, &g->cap_req, g->n_req + 1, sizeof(*g->req)) < 0 ||
	    trace_grow((void **)&g->ids, &g->cap_ids, g->n_ids + p->n, sizeof(*g->ids)) < 0) {
		g->err = -ENOMEM;
		return;
	}
	q = &g->req[g->n_req];
	q->ts = (uint64_t)ts;
	q->seq = g->n_req++;
	q->first = (uint32_t)g->n_ids;
	q->n = p->n;
	q->in_len = (p->n - (p->carry ? 1 : 0)) * GEN_BLOCK_TOKENS + p->carry;
	for (uint32_t i = 0; i < p->n; i++)
		g->ids[g->n_ids++] = id = gen_chain(id, p->c[i]);
}

/* Shared content: n blocks numbered from a fresh base. */
static uint64_t gen_shared(struct gen *g, uint32_t n)
{
	uint64_t base = g->content + 1;

	g->content += n;
	return base;
}

/*
 * Long-document QA: documents of 4k-20k tokens, each read in 1 + geometric
 * (mean 2) sessions at random times of the hour; a session draws questions
 * (Poisson, mean gap 8 s) for 20 s + exp(2 min); a question is one short
 * block after the system prompt and the document, and one in four has a
 * follow-up turn a little later.  scale: 1 for the family alone.
 */
static void gen_docqa(struct gen *g, double scale)
{
	uint32_t n_docs = (uint32_t)(150 * scale);
	uint64_t sys = gen_shared(g, 1);

	for (uint32_t d = 0; d < n_docs; d++) {
		uint32_t len = gen_range(g, 8, 40);
		uint64_t doc = gen_shared(g, len);

		do {
			double t = gen_unit(g) * GEN_SPAN_MS, end = t + gen_exp(g, 120e3) + 20e3;

			while ((t += gen_exp(g, 8e3)) < end) {
				struct prompt p = {.n = 0};
				double ft = t;

				prompt_shared(&p, sys, 1);
				prompt_shared(&p, doc, len);
				prompt_fresh(g, &p, gen_range(g, 20, 300));
				gen_emit(g, t, &p);
				while (gen_unit(g) < 0.25) {
					ft += gen_exp(g, 30e3) + 2e3;
					prompt_fresh(g, &p, gen_range(g, 100, 600));
					gen_emit(g, ft, &p);
				}
			}
		} while (gen_unit(g) < 0.5);
	}
}

/*
 * Multi-turn chat: conversations arrive as a Poisson process on one of 6
 * system prompts (Zipf popularity, 1-6 blocks); 1 + geometric(mean 4)
 * turns, a user's think time of 4 min on average between them; each turn
 * re-reads the history and appends the previous answer and the new message.
 */
static void gen_chat(struct gen *g, double scale)
{
	enum { N_SYS = 6 };
	uint64_t sys[N_SYS];
	uint32_t sys_len[N_SYS];
	double t = 0, gap = 2.4e3 / scale;

	for (unsigned i = 0; i < N_SYS; i++) {
		sys_len[i] = gen_range(g, 1, 6);
		sys[i] = gen_shared(g, sys_len[i]);
	}
	while ((t += gen_exp(g, gap)) < GEN_SPAN_MS) {
		struct prompt p = {.n = 0};
		uint32_t s = gen_zipf(g, N_SYS), out = 0;
		double ct = t;

		prompt_shared(&p, sys[s], sys_len[s]);
		do {
			prompt_fresh(g, &p, out + gen_range(g, 20, 400));
			gen_emit(g, ct, &p);
			out = gen_range(g, 50, 600);
			ct += gen_exp(g, 240e3) + 5e3;
		} while (gen_unit(g) < 0.75 && p.n < GEN_MAX_BLOCKS - 8);
	}
}

/*
 * Agent loops: tasks arrive as a Poisson process on one of 8 tool contexts
 * (Zipf popularity, 6-20 blocks); a task states its goal (1-3 blocks), then
 * loops 3-25 steps, seconds apart (one in ten waits minutes on a slow
 * tool), each re-reading the tool context and the
 * scratchpad so far and appending an action and a tool's output.
 */
static void gen_agent(struct gen *g, double scale)
{
	enum { N_TOOLS = 8 };
	uint64_t tool[N_TOOLS];
	uint32_t tool_len[N_TOOLS];
	double t = 0, gap = 7e3 / scale;

	for (unsigned i = 0; i < N_TOOLS; i++) {
		tool_len[i] = gen_range(g, 6, 20);
		tool[i] = gen_shared(g, tool_len[i]);
	}
	while ((t += gen_exp(g, gap)) < GEN_SPAN_MS) {
		struct prompt p = {.n = 0};
		uint32_t k = gen_zipf(g, N_TOOLS), steps = gen_range(g, 3, 25);
		double st = t;

		prompt_shared(&p, tool[k], tool_len[k]);
		prompt_fresh(g, &p, gen_range(g, 100, 1500));
		for (uint32_t i = 0; i < steps && p.n < GEN_MAX_BLOCKS - 8; i++) {
			gen_emit(g, st, &p);
			prompt_fresh(g, &p, gen_range(g, 30, 200) + gen_range(g, 100, 3000));
			/* one step in ten waits on a slow tool */
			st += 1e3 + gen_exp(g, gen_unit(g) < 0.1 ? 120e3 : 4e3);
		}
	}
}

static int gen_cmp(const void *a, const void *b)
{
	const struct gen_req *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Requests in timestamp order, their ids laid out in that order. */
static int gen_finish(struct gen *g, struct trace **ret)
{
	struct trace *t = calloc(1, sizeof(*t));
	size_t k = 0;
	int r;

	if (!t)
		return -ENOMEM;
	qsort(g->req, g->n_req, sizeof(*g->req), gen_cmp);
	t->req = calloc(g->n_req ? g->n_req : 1, sizeof(*t->req));
	t->ids = malloc((g->n_ids ? g->n_ids : 1) * sizeof(*t->ids));
	if (!t->req || !t->ids) {
		trace_free(t);
		return -ENOMEM;
	}
	for (size_t i = 0; i < g->n_req; i++) {
		const struct gen_req *q = &g->req[i];

		t->req[i] = (struct trace_req){
			.timestamp_ms = q->ts,
			.input_length = q->in_len,
			.output_length = 0,
			.first = (uint32_t)k,
			.n = q->n,
		};
		memcpy(&t->ids[k], &g->ids[q->first], q->n * sizeof(*t->ids));
		k += q->n;
	}
	t->n_req = g->n_req;
	t->n_acc = k;
	r = trace_densify(t);
	if (r < 0) {
		trace_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

int gen_trace(const char *family, uint64_t seed, struct trace **ret)
{
	struct gen g = {.rng = seed};
	int r;

	if (!family)
		return -ENOENT;
	if (!strcmp(family, "docqa")) {
		gen_docqa(&g, 1);
	} else if (!strcmp(family, "chat")) {
		gen_chat(&g, 1);
	} else if (!strcmp(family, "agent")) {
		gen_agent(&g, 1);
	} else if (!strcmp(family, "mix")) {
		gen_docqa(&g, 0.4);
		gen_chat(&g, 0.4);
		gen_agent(&g, 0.4);
	} else {
		return -ENOENT;
	}
	r = g.err ? g.err : gen_finish(&g, ret);
	free(g.req);
	free(g.ids);
	return r;
}
