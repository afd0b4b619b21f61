/* SPDX-License-Identifier: MIT */
/*
 * tier-llama — a llama.cpp engine whose prompt-prefix KV lives in tierd.
 *
 * Loads a GGUF model, attaches the tier_llama adapter, serves a stream of
 * requests one after another (prompt phase and first token: what time to
 * first token measures), and prints one JSON object per request and a
 * summary.  Several processes share one tierd: what one computed, another
 * restores.  --verify recomputes each request from scratch too and says
 * whether the last token's logits are bitwise equal.
 *
 * Requests come from --prompts FILE (a line of space-separated token ids
 * each) or --trace FILE (Mooncake JSONL: hash id h becomes K tokens derived
 * from h alone, so an equal id keeps meaning an equal prefix).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ggml-backend.h>
#include <llama.h>

#include "tier.h"
#include "tier_llama.h"
#include "trace.h"

#ifndef TIER_LLAMA_LIBDIR
#define TIER_LLAMA_LIBDIR ""
#endif

struct prompt {
	llama_token *tok;
	size_t n;
};

struct prompts {
	struct prompt *v;
	size_t n, cap;
};

struct args {
	const char *model, *prompts, *trace, *socket;
	unsigned tokens_per_id, requests, block_tokens, ctx, threads;
	bool no_cache, verify, flash_attn, verbose, print_prompts;
	int stall_ms;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int push(struct prompts *ps, llama_token *tok, size_t n)
{
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 64;
		struct prompt *v = realloc(ps->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ps->v = v;
		ps->cap = cap;
	}
	ps->v[ps->n++] = (struct prompt){tok, n};
	return 0;
}

/* One request a line: token ids separated by spaces. */
static int read_prompts(const char *path, unsigned max, int vocab, struct prompts *ps)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0 && (!max || ps->n < max)) {
		size_t n = 0, tcap = 64;
		llama_token *tok = malloc(tcap * sizeof(*tok));
		char *p = line, *end;

		for (;;) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			if (v < 0 || v >= vocab) {
				fprintf(stderr, "tier-llama: %s: token %ld outside the vocabulary\n",
					path, v);
				exit(2);
			}
			if (n == tcap)
				tok = realloc(tok, (tcap *= 2) * sizeof(*tok));
			tok[n++] = (llama_token)v;
			p = end;
		}
		if (n == 0)
			free(tok);
		else if (push(ps, tok, n) < 0)
			exit(1);
	}
	free(line);
	fclose(f);
	return 0;
}

static void free_prompts(struct prompts *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		free(ps->v[i].tok);
	free(ps->v);
}

static uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * Mooncake JSONL (read by tiersim's own trace parser): hash id h -> K tokens,
 * token j = mix(h, j) mod vocab.  A malformed line is skipped.
 */
static int read_trace(const char *path, unsigned k, unsigned max, unsigned ctx, int vocab,
		      struct prompts *ps)
{
	FILE *f = fopen(path, "r");
	uint64_t *ids = NULL;
	size_t cap = 0, idcap = 0;
	char *line = NULL;
	int r = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0 && (!max || ps->n < max)) {
		struct trace_req req;
		size_t n_ids = 0, nid, n;
		llama_token *tok;

		r = trace_parse_line(line, &req, &ids, &n_ids, &idcap);
		if (r == -ENOMEM)
			break;
		r = 0;
		if (n_ids == 0)
			continue;
		nid = n_ids;
		if (nid * k > ctx) /* what the context holds; counted as the prompt */
			nid = ctx / k;
		n = nid * k;
		if (n == 0)
			continue;
		tok = malloc(n * sizeof(*tok));
		if (!tok) {
			r = -ENOMEM;
			break;
		}
		for (size_t i = 0; i < nid; i++)
			for (unsigned j = 0; j < k; j++)
				tok[i * k + j] =
					(llama_token)(mix64(ids[i] * 65537u + j) % (uint64_t)vocab);
		if (push(ps, tok, n) < 0)
			exit(1);
	}
	free(ids);
	free(line);
	fclose(f);
	return r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double quantile(const double *sorted, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return sorted[i < n ? i : n - 1];
}

static void quiet_log(enum ggml_log_level level, const char *text, void *verbose)
{
	if (verbose || level == GGML_LOG_LEVEL_ERROR)
		fputs(text, stderr);
}

static void usage(FILE *o)
{
	fprintf(o,
		"usage: tier-llama --model M.gguf (--prompts FILE | --trace FILE) [options]\n"
		"  --prompts FILE       one request a line: token ids separated by spaces\n"
		"  --trace FILE         Mooncake JSONL: each hash id becomes K tokens\n"
		"  --tokens-per-id K    tokens per trace hash id (default 128)\n"
		"  --requests N         only the first N requests\n"
		"  --no-cache           the same run without tierd (the baseline)\n"
		"  --verify             recompute each request from scratch too and compare\n"
		"                       the last token's logits bit for bit\n"
		"  --block-tokens N     tokens a tierd block (default %d)\n"
		"  --socket PATH        tierd's socket (default $TIER_SOCKET or %s)\n"
		"  --ctx N              context length (default 8192)\n"
		"  --threads N          llama.cpp threads (default 2)\n"
		"  --flash-attn         flash attention on (off by default)\n"
		"  --stall-after-acquire MS  test seam: wait with the restored blocks pinned\n"
		"  --verbose            llama.cpp's log too\n"
		"  --print-prompts      print the requests' token ids (--prompts lines) and exit\n"
		"Prints one JSON object a request and a summary object.\n",
		TIER_LLAMA_DEFAULT_BLOCK_TOKENS, TIER_DEFAULT_SOCKET);
}

static void parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{"model", required_argument, NULL, 'm'},
		{"prompts", required_argument, NULL, 'p'},
		{"trace", required_argument, NULL, 't'},
		{"tokens-per-id", required_argument, NULL, 'k'},
		{"requests", required_argument, NULL, 'n'},
		{"no-cache", no_argument, NULL, 'N'},
		{"verify", no_argument, NULL, 'V'},
		{"block-tokens", required_argument, NULL, 'b'},
		{"socket", required_argument, NULL, 's'},
		{"ctx", required_argument, NULL, 'c'},
		{"threads", required_argument, NULL, 'j'},
		{"flash-attn", no_argument, NULL, 'F'},
		{"stall-after-acquire", required_argument, NULL, 'S'},
		{"verbose", no_argument, NULL, 'v'},
		{"print-prompts", no_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int o;

	*a = (struct args){.tokens_per_id = 128, .block_tokens = TIER_LLAMA_DEFAULT_BLOCK_TOKENS,
			   .ctx = 8192, .threads = 2};
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'm': a->model = optarg; break;
		case 'p': a->prompts = optarg; break;
		case 't': a->trace = optarg; break;
		case 'k': a->tokens_per_id = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'n': a->requests = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'N': a->no_cache = true; break;
		case 'V': a->verify = true; break;
		case 'b': a->block_tokens = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': a->socket = optarg; break;
		case 'c': a->ctx = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'j': a->threads = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'F': a->flash_attn = true; break;
		case 'S': a->stall_ms = atoi(optarg); break;
		case 'v': a->verbose = true; break;
		case 'P': a->print_prompts = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (!a->model || !a->prompts == !a->trace || optind != argc || !a->tokens_per_id ||
	    !a->block_tokens || !a->ctx || !a->threads) {
		usage(stderr);
		exit(2);
	}
}

/* Argmax of the last logits: the first token, what TTFT waits for. */
static llama_token first_token(const float *logits, int vocab)
{
	llama_token best = 0;

	for (int i = 1; i < vocab; i++)
		if (logits[i] > logits[best])
			best = i;
	return best;
}

int main(int argc, char **argv)
{
	struct llama_model_params mp = llama_model_default_params();
	struct llama_context_params cp = llama_context_default_params();
	struct tier_llama_opts to = {.size = sizeof(to)};
	const char *libdir = getenv("TIER_LLAMA_LIBDIR");
	struct prompts ps = {0};
	struct tier_llama_stats st;
	struct llama_model *model;
	struct llama_context *ctx;
	struct tier_llama *t;
	struct args a;
	size_t verified = 0, mismatched = 0, total = 0, restored = 0, computed = 0;
	double *ttft, *recompute, compute_s = 0;
	float *ref;
	int vocab, r;

	parse_args(argc, argv, &a);
	llama_log_set(quiet_log, a.verbose ? (void *)1 : NULL);
	/* The prebuilt ggml loads its CPU variants at run time: no backend without this. */
	ggml_backend_load_all_from_path(libdir && *libdir ? libdir : TIER_LLAMA_LIBDIR);
	llama_backend_init();

	mp.n_gpu_layers = 0;
	model = llama_model_load_from_file(a.model, mp);
	if (!model) {
		fprintf(stderr, "tier-llama: cannot load %s\n", a.model);
		return 1;
	}
	cp.n_ctx = a.ctx;
	cp.n_batch = a.ctx < 2048 ? a.ctx : 2048;
	cp.n_ubatch = 512;
	cp.n_seq_max = 2;
	cp.kv_unified = true;
	cp.n_threads = cp.n_threads_batch = (int32_t)a.threads;
	cp.flash_attn_type = a.flash_attn ? LLAMA_FLASH_ATTN_TYPE_ENABLED
					  : LLAMA_FLASH_ATTN_TYPE_DISABLED;
	cp.no_perf = true;
	ctx = llama_init_from_model(model, cp);
	if (!ctx) {
		fprintf(stderr, "tier-llama: cannot make a context\n");
		return 1;
	}
	vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));

	r = a.prompts ? read_prompts(a.prompts, a.requests, vocab, &ps)
		      : read_trace(a.trace, a.tokens_per_id, a.requests, a.ctx, vocab, &ps);
	if (r < 0) {
		fprintf(stderr, "tier-llama: %s: %s\n", a.prompts ? a.prompts : a.trace,
			strerror(-r));
		return 1;
	}
	if (a.print_prompts) { /* the same requests, for another engine (the bench) */
		for (size_t i = 0; i < ps.n; i++)
			for (size_t j = 0; j < ps.v[i].n; j++)
				printf("%d%c", (int)ps.v[i].tok[j], j + 1 < ps.v[i].n ? ' ' : '\n');
		llama_free(ctx);
		llama_model_free(model);
		llama_backend_free();
		free_prompts(&ps);
		return 0;
	}

	to.block_tokens = a.block_tokens;
	to.socket = a.socket;
	to.model_path = a.model;
	to.cparams = &cp;
	to.no_cache = a.no_cache;
	to.stall_after_acquire_ms = a.stall_ms;
	r = tier_llama_new(ctx, &to, &t);
	if (r < 0) {
		fprintf(stderr, "tier-llama: tier_llama_new: %s\n", strerror(-r));
		return 1;
	}

	ttft = calloc(ps.n ? ps.n : 1, sizeof(*ttft));
	recompute = calloc(ps.n ? ps.n : 1, sizeof(*recompute));
	ref = malloc((size_t)vocab * sizeof(*ref));
	for (size_t i = 0; i < ps.n; i++) {
		struct tier_llama_result res;
		const struct prompt *p = &ps.v[i];
		double t0 = now_s();
		llama_token tok;
		double recompute_s = 0;
		int eq = -1;

		if (p->n > a.ctx) {
			fprintf(stderr, "tier-llama: request %zu: %zu tokens over the context\n", i,
				p->n);
			return 1;
		}
		r = tier_llama_prefill(t, p->tok, p->n, &res);
		if (r < 0) {
			fprintf(stderr, "tier-llama: request %zu: %s\n", i, strerror(-r));
			return 1;
		}
		tok = first_token(llama_get_logits_ith(ctx, -1), vocab);
		ttft[i] = now_s() - t0;
		tier_llama_save(t, &res);
		if (a.verify) {
			double t1 = now_s();

			memcpy(ref, llama_get_logits_ith(ctx, -1), (size_t)vocab * sizeof(*ref));
			r = tier_llama_compute(t, p->tok, p->n);
			if (r < 0) {
				fprintf(stderr, "tier-llama: request %zu: recompute failed\n", i);
				return 1;
			}
			(void)first_token(llama_get_logits_ith(ctx, -1), vocab);
			/* The same request without the cache, right after it: a baseline under
			 * the same machine load (prefill and first token, as ttft_s). */
			recompute_s = now_s() - t1;
			recompute[i] = recompute_s;
			eq = memcmp(ref, llama_get_logits_ith(ctx, -1),
				    (size_t)vocab * sizeof(*ref)) == 0;
			verified += eq;
			mismatched += !eq;
		}
		total += p->n;
		restored += res.restored_tokens;
		computed += res.computed_tokens;
		compute_s += res.compute_s;
		printf("{\"request\":%zu,\"prompt_tokens\":%u,\"restored_tokens\":%u,"
		       "\"computed_tokens\":%u,\"ttft_s\":%.6f,\"restore_s\":%.6f,"
		       "\"compute_s\":%.6f,\"save_s\":%.6f,\"saved_blocks\":%u,\"fallback\":%s,"
		       "\"first_token\":%d",
		       i, res.prompt_tokens, res.restored_tokens, res.computed_tokens, ttft[i],
		       res.restore_s, res.compute_s, res.save_s, res.saved_blocks,
		       res.fallback ? "true" : "false", (int)tok);
		if (eq >= 0)
			printf(",\"verified\":%s,\"recompute_s\":%.6f", eq ? "true" : "false",
			       recompute_s);
		printf("}\n");
		fflush(stdout);
	}

	tier_llama_stats(t, &st);
	qsort(ttft, ps.n, sizeof(*ttft), cmp_double);
	printf("{\"summary\":true,\"requests\":%zu,\"no_cache\":%s,\"namespace\":\"%s\","
	       "\"block_tokens\":%u,\"block_bytes\":%zu,\"prompt_tokens\":%zu,"
	       "\"restored_tokens\":%zu,\"computed_tokens\":%zu,\"hit_ratio\":%.4f,"
	       "\"ttft_median_s\":%.6f,\"ttft_p90_s\":%.6f,\"restored_blocks\":%llu,"
	       "\"restored_bytes\":%llu,\"restore_s\":%.6f,\"restore_gbps\":%.3f,"
	       "\"restore_per_block_s\":%.6f,\"compute_per_block_s\":%.6f,"
	       "\"saved_blocks\":%llu,\"fallbacks\":%llu",
	       ps.n, a.no_cache ? "true" : "false", tier_llama_namespace(t), a.block_tokens,
	       tier_llama_block_bytes(t), total, restored, computed,
	       total ? (double)restored / (double)total : 0.0, quantile(ttft, ps.n, 0.5),
	       quantile(ttft, ps.n, 0.9), (unsigned long long)st.restored_blocks,
	       (unsigned long long)st.restored_bytes, st.restore_s,
	       st.restore_s > 0 ? (double)st.restored_bytes / st.restore_s / 1e9 : 0.0,
	       st.restored_blocks ? st.restore_s / (double)st.restored_blocks : 0.0,
	       computed ? compute_s / (double)computed * a.block_tokens : 0.0,
	       (unsigned long long)st.saved_blocks, (unsigned long long)st.fallbacks);
	for (int f = 0; f < TIER_LLAMA_FB_COUNT; f++)
		printf(",\"fallback_%s\":%llu", tier_llama_fallback_name(f),
		       (unsigned long long)st.fallback[f]);
	if (a.verify) {
		qsort(recompute, ps.n, sizeof(*recompute), cmp_double);
		printf(",\"verified\":%zu,\"verify_failures\":%zu,\"recompute_median_s\":%.6f,"
		       "\"recompute_p90_s\":%.6f",
		       verified, mismatched, quantile(recompute, ps.n, 0.5),
		       quantile(recompute, ps.n, 0.9));
	}
	printf("}\n");

	tier_llama_free(t);
	llama_free(ctx);
	llama_model_free(model);
	llama_backend_free();
	free_prompts(&ps);
	free(ttft);
	free(recompute);
	free(ref);
	return mismatched ? 3 : 0;
}
