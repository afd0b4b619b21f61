/* SPDX-License-Identifier: MIT */
/*
 * tier-mkgguf — write a llama-architecture GGUF with fixed-seed random F32
 * weights, through ggml's gguf.h.  No package reachable here ships weights;
 * the engine tests and benchmarks need a real model file of a chosen size.
 * tokenizer.ggml.model = no_vocab: token ids are fed to llama.cpp directly.
 *
 *   tier-mkgguf OUT.gguf [--layers N] [--embd N] [--ff N] [--heads N]
 *               [--kv-heads N] [--vocab N] [--seed S] [--ctx N]
 *
 * Defaults: 4 layers x 1024, FFN 2816, 16 heads, 4 KV heads, vocab 8192,
 * output tied to the embedding: a 214 MB file whose 2,048-token prefill
 * takes a few seconds on 2 cores.  The weights are
 * scaled so activations stay in range through the layers (the logits are
 * then distinct floats, which is what a bitwise comparison needs).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ggml.h>
#include <gguf.h>

struct shape {
	unsigned layers, embd, ff, heads, kv_heads, vocab, ctx;
	uint64_t seed;
};

/* splitmix64: the weights depend on the seed and the tensor index only. */
static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ne0 x ne1 floats, uniform in [-scale, scale] (scale 0: all ones, a norm). */
static void fill(float *p, size_t n, uint64_t seed, float scale)
{
	uint64_t s = seed;

	for (size_t i = 0; i < n; i++)
		p[i] = scale == 0.0f ? 1.0f
				     : scale * ((float)(mix(&s) >> 40) / (float)(1u << 23) - 1.0f);
}

static struct ggml_tensor *add(struct ggml_context *g, struct gguf_context *gg, const char *name,
			       int64_t ne0, int64_t ne1)
{
	struct ggml_tensor *t = ne1 ? ggml_new_tensor_2d(g, GGML_TYPE_F32, ne0, ne1)
				    : ggml_new_tensor_1d(g, GGML_TYPE_F32, ne0);

	ggml_set_name(t, name);
	gguf_add_tensor(gg, t);
	return t;
}

static int write_model(const char *out, const struct shape *m)
{
	struct ggml_init_params ip = {.mem_size = ggml_tensor_overhead() * (16 * m->layers + 16),
				      .mem_buffer = NULL, .no_alloc = true};
	struct ggml_context *g = ggml_init(ip);
	struct gguf_context *gg = gguf_init_empty();
	unsigned kv = m->embd / m->heads * m->kv_heads;
	char name[64];
	size_t meta, max = 0;
	float *buf;
	FILE *f;
	int r = 0;

	gguf_set_val_str(gg, "general.architecture", "llama");
	gguf_set_val_str(gg, "general.name", "tierd random llama");
	gguf_set_val_u32(gg, "general.alignment", 32);
	gguf_set_val_u32(gg, "llama.context_length", m->ctx);
	gguf_set_val_u32(gg, "llama.embedding_length", m->embd);
	gguf_set_val_u32(gg, "llama.block_count", m->layers);
	gguf_set_val_u32(gg, "llama.feed_forward_length", m->ff);
	gguf_set_val_u32(gg, "llama.attention.head_count", m->heads);
	gguf_set_val_u32(gg, "llama.attention.head_count_kv", m->kv_heads);
	gguf_set_val_f32(gg, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	gguf_set_val_u32(gg, "llama.rope.dimension_count", m->embd / m->heads);
	gguf_set_val_f32(gg, "llama.rope.freq_base", 10000.0f);
	gguf_set_val_u32(gg, "llama.vocab_size", m->vocab);
	gguf_set_val_str(gg, "tokenizer.ggml.model", "no_vocab");
	gguf_set_val_u32(gg, "general.file_type", 0); /* all F32 */

	add(g, gg, "token_embd.weight", m->embd, m->vocab);
	add(g, gg, "output_norm.weight", m->embd, 0);
	/* No output.weight: llama.cpp ties the output to token_embd. */
	for (unsigned l = 0; l < m->layers; l++) {
#define T(suffix, a, b) (snprintf(name, sizeof(name), "blk.%u." suffix, l), add(g, gg, name, a, b))
		T("attn_norm.weight", m->embd, 0);
		T("attn_q.weight", m->embd, m->embd);
		T("attn_k.weight", m->embd, kv);
		T("attn_v.weight", m->embd, kv);
		T("attn_output.weight", m->embd, m->embd);
		T("ffn_norm.weight", m->embd, 0);
		T("ffn_gate.weight", m->embd, m->ff);
		T("ffn_down.weight", m->ff, m->embd);
		T("ffn_up.weight", m->embd, m->ff);
#undef T
	}

	f = fopen(out, "wb");
	if (!f) {
		fprintf(stderr, "tier-mkgguf: %s: %s\n", out, strerror(errno));
		r = -errno;
		goto out;
	}
	meta = gguf_get_meta_size(gg);
	for (int64_t i = 0; i < gguf_get_n_tensors(gg); i++)
		if (gguf_get_tensor_size(gg, i) > max)
			max = gguf_get_tensor_size(gg, i);
	buf = malloc(max);
	if (!buf || !gguf_write_to_file_ptr(gg, f, true)) {
		r = -ENOMEM;
		free(buf);
		fclose(f);
		goto out;
	}
	for (int64_t i = 0; i < gguf_get_n_tensors(gg); i++) {
		const char *tn = gguf_get_tensor_name(gg, i);
		size_t sz = gguf_get_tensor_size(gg, i);
		/* Uniform(-a, a) has variance a^2/3: a = sqrt(3/fan_in) keeps unit scale. */
		struct ggml_tensor *t = ggml_get_tensor(g, tn);
		float scale = strstr(tn, "norm") ? 0.0f
			    : strstr(tn, "token_embd") ? 1.0f
			    : sqrtf(3.0f / (float)t->ne[0]);

		fill(buf, sz / sizeof(float), m->seed * 1000003u + (uint64_t)i, scale);
		if (fseek(f, (long)(meta + gguf_get_tensor_offset(gg, i)), SEEK_SET) != 0 ||
		    fwrite(buf, 1, sz, f) != sz) {
			r = -EIO;
			break;
		}
	}
	free(buf);
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	if (r < 0)
		fprintf(stderr, "tier-mkgguf: writing %s failed\n", out);
out:
	gguf_free(gg);
	ggml_free(g);
	return r;
}

static void usage(FILE *o)
{
	fprintf(o, "usage: tier-mkgguf OUT.gguf [--layers N] [--embd N] [--ff N] [--heads N]\n"
		   "                   [--kv-heads N] [--vocab N] [--seed S] [--ctx N]\n"
		   "A llama-architecture GGUF with fixed-seed random F32 weights (no_vocab).\n"
		   "Defaults: 4 layers, embd 1024, ff 2816, 16 heads, 4 kv heads, vocab 8192,\n"
		   "seed 1, context 8192.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"layers", required_argument, NULL, 'l'}, {"embd", required_argument, NULL, 'e'},
		{"ff", required_argument, NULL, 'f'},     {"heads", required_argument, NULL, 'h'},
		{"kv-heads", required_argument, NULL, 'k'}, {"vocab", required_argument, NULL, 'v'},
		{"seed", required_argument, NULL, 's'},   {"ctx", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'H'},         {NULL, 0, NULL, 0},
	};
	struct shape m = {4, 1024, 2816, 16, 4, 8192, 8192, 1};
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		unsigned long v = optarg ? strtoul(optarg, NULL, 0) : 0;

		switch (o) {
		case 'l': m.layers = (unsigned)v; break;
		case 'e': m.embd = (unsigned)v; break;
		case 'f': m.ff = (unsigned)v; break;
		case 'h': m.heads = (unsigned)v; break;
		case 'k': m.kv_heads = (unsigned)v; break;
		case 'v': m.vocab = (unsigned)v; break;
		case 's': m.seed = v; break;
		case 'c': m.ctx = (unsigned)v; break;
		case 'H': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1 || !m.layers || !m.embd || !m.ff || !m.heads || !m.kv_heads ||
	    !m.vocab || !m.ctx || m.embd % m.heads || m.heads % m.kv_heads ||
	    (m.embd / m.heads) % 2) {
		usage(stderr);
		return 2;
	}
	return write_model(argv[optind], &m) < 0 ? 1 : 0;
}
