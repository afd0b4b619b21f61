/* SPDX-License-Identifier: MIT */
/*
 * Engines: llama.cpp keeps its prompt-prefix KV in a real tierd.
 *
 * Every case runs real tier-llama processes (the engine program, linking the
 * prebuilt llama.cpp and the tier_llama adapter) on a tiny random model that
 * tier-mkgguf writes at start, against a real daemon.  What a user checks:
 * a second process restores the prefix the first computed and computes only
 * the tail, and its last logits are bitwise equal to a full recompute
 * (--verify); two engines each restore what the other computed; the same
 * through the NVMe tier and across a daemon restart;
 * and when the cache goes wrong (corrupted or truncated bytes, a namespace
 * of another block size, no daemon, a daemon killed with the blocks pinned)
 * the answer is still right, the request still succeeds, and the fallback
 * is counted.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "testutil.h"

#define VOCAB 512
#define BLOCK 256
#define OUT_MAX (64 * 1024)

static char dir[64], model[128], p_base[128], p_tail[128], p_two[128], p_edge[128], p_other[128];
static int base_tok[1200];

static const char *bin(const char *env)
{
	const char *p = getenv(env);

	if (!p || !*p) {
		fprintf(stderr, "%s not set: skipping\n", env);
		exit(77);
	}
	return p;
}

static void write_prompt(const char *path, const int *tok, size_t n, size_t lines)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	for (size_t l = 0; l < lines; l++)
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%d%c", tok[i], i + 1 == n ? '\n' : ' ');
	ck_assert_int_eq(fclose(f), 0);
}

/* A tiny model and the prompts: base (600 tokens), base + a 100-token tail. */
static void setup(void)
{
	char out[4096], err[4096];
	uint64_t s = 42;

	snprintf(dir, sizeof(dir), "/tmp/tierd-llama-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(model, sizeof(model), "%s/tiny.gguf", dir);
	char *argv[] = {(char *)bin("TIER_MKGGUF"), model, "--layers", "2", "--embd", "128",
			"--ff", "256", "--heads", "4", "--kv-heads", "2", "--vocab", "512", NULL};
	ck_assert_int_eq(t_exec(argv, out, sizeof(out), err, sizeof(err), 30000), 0);
	for (size_t i = 0; i < sizeof(base_tok) / sizeof(base_tok[0]); i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		base_tok[i] = (int)((s >> 33) % VOCAB);
	}
	snprintf(p_base, sizeof(p_base), "%s/base.txt", dir);
	snprintf(p_tail, sizeof(p_tail), "%s/tail.txt", dir);
	snprintf(p_two, sizeof(p_two), "%s/two.txt", dir);
	write_prompt(p_base, base_tok, 600, 1);
	write_prompt(p_tail, base_tok, 700, 1);
	write_prompt(p_two, base_tok, 700, 2);
	snprintf(p_other, sizeof(p_other), "%s/other.txt", dir);
	write_prompt(p_other, base_tok + 600, 600, 1);
	/* Cached whole (512 tokens), and one token past a block (257). */
	snprintf(p_edge, sizeof(p_edge), "%s/edge.txt", dir);
	write_prompt(p_edge, base_tok, 512, 1);
	FILE *f = fopen(p_edge, "a");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 257; i++)
		fprintf(f, "%d%c", base_tok[i], i == 256 ? '\n' : ' ');
	ck_assert_int_eq(fclose(f), 0);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (dir[0] && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* One tier-llama run: its exit status, request objects and summary. */
struct run {
	int status;
	int n;
	struct json_object *req[8];
	struct json_object *sum;
	char err[8192];
};

static void parse(struct run *r, char *out)
{
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		struct json_object *o = json_tokener_parse(line), *v;

		ck_assert_msg(o != NULL, "not JSON: %s", line);
		if (json_object_object_get_ex(o, "summary", &v))
			r->sum = o;
		else if (r->n < 8)
			r->req[r->n++] = o;
	}
}

static void llama_run(struct run *r, const char *sock, const char *prompts, const char *extra)
{
	static char out[OUT_MAX];
	char *argv[16];
	int a = 0;

	memset(r, 0, sizeof(*r));
	argv[a++] = (char *)bin("TIER_LLAMA");
	argv[a++] = "--model";
	argv[a++] = model;
	argv[a++] = "--prompts";
	argv[a++] = (char *)prompts;
	argv[a++] = "--socket";
	argv[a++] = (char *)sock;
	argv[a++] = "--ctx";
	argv[a++] = "2048";
	argv[a++] = "--verify";
	argv[a++] = "--threads"; /* a tiny model: a second thread only spins on a busy machine */
	argv[a++] = "1";
	if (extra)
		argv[a++] = (char *)extra;
	argv[a] = NULL;
	r->status = t_exec(argv, out, sizeof(out), r->err, sizeof(r->err), 60000);
	parse(r, out);
	ck_assert_msg(r->status == 0 && r->sum, "tier-llama failed (%d): %s", r->status, r->err);
}

static int64_t geti(struct json_object *o, const char *k)
{
	struct json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, k, &v), "no %s", k);
	return json_object_get_int64(v);
}

static int getb(struct json_object *o, const char *k)
{
	struct json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, k, &v), "no %s", k);
	return json_object_get_boolean(v);
}

static void run_free(struct run *r)
{
	for (int i = 0; i < r->n; i++)
		json_object_put(r->req[i]);
	json_object_put(r->sum);
}

/* Every request of r answered with logits bitwise equal to a recompute. */
static void all_verified(const struct run *r)
{
	for (int i = 0; i < r->n; i++)
		ck_assert_msg(getb(r->req[i], "verified"), "request %d not verified", i);
	ck_assert_int_eq(geti(r->sum, "verify_failures"), 0);
}

/* The first process computes base and saves its two full blocks. */
static void first_saves(const char *sock, struct run *a)
{
	llama_run(a, sock, p_base, NULL);
	ck_assert_int_eq(a->n, 1);
	ck_assert_int_eq(geti(a->req[0], "restored_tokens"), 0);
	ck_assert_int_eq(geti(a->req[0], "computed_tokens"), 600);
	ck_assert_int_eq(geti(a->req[0], "saved_blocks"), 2);
	all_verified(a);
}

/* The second restores base's two blocks and computes the 188-token tail. */
static void second_restores(const char *sock)
{
	struct run b;

	llama_run(&b, sock, p_tail, NULL);
	ck_assert_int_eq(geti(b.req[0], "prompt_tokens"), 700);
	ck_assert_int_eq(geti(b.req[0], "restored_tokens"), 2 * BLOCK);
	ck_assert_int_eq(geti(b.req[0], "computed_tokens"), 700 - 2 * BLOCK);
	ck_assert_int_eq(geti(b.sum, "fallbacks"), 0);
	all_verified(&b);
	run_free(&b);
}

START_TEST(two_processes)
{
	struct tdaemon d;
	struct run a, nc, b;

	tdaemon_start(&d, "64M", NULL);
	first_saves(d.sock, &a);
	second_restores(d.sock);
	/* A cache-less process on the same prompt picks the same first token. */
	llama_run(&nc, d.sock, p_tail, "--no-cache");
	llama_run(&b, d.sock, p_tail, NULL);
	ck_assert_int_eq(geti(nc.req[0], "first_token"), geti(b.req[0], "first_token"));
	ck_assert_int_eq(geti(nc.req[0], "restored_tokens"), 0);
	/* The second run saved the tail's block: the third restores all of it but two tokens. */
	ck_assert_int_eq(geti(b.req[0], "restored_tokens"), 2 * BLOCK);
	run_free(&nc);
	run_free(&b);
	/* A prompt cached whole still computes some of its tail, for the logits: two
	 * tokens, as a lone token takes other kernels than a recompute would. */
	llama_run(&b, d.sock, p_edge, NULL);
	ck_assert_int_eq(geti(b.req[0], "restored_tokens"), 2 * BLOCK - 2);
	ck_assert_int_eq(geti(b.req[1], "restored_tokens"), BLOCK - 1);
	ck_assert_int_eq(geti(b.req[1], "computed_tokens"), 2);
	all_verified(&b);
	run_free(&a);
	run_free(&b);
	tdaemon_stop(&d);
}
END_TEST

/* A tier's counters by name ("host", "nvme"); fails when absent. */
static struct tier_tier_stats tier_of(tier_client *c, const char *name)
{
	struct tier_stats s = {.size = sizeof(s)};

	ck_assert_int_ge(tier_stats_get(c, &s, NULL, 0), 0);
	for (uint32_t i = 0; i < s.n_tiers; i++)
		if (!strcmp(s.tiers[i].name, name))
			return s.tiers[i];
	ck_abort_msg("no %s tier", name);
	return s.tiers[0];
}

/* Two engines, each computing its own prompt, then serving the other's. */
START_TEST(each_restores_the_other)
{
	struct tdaemon d;
	struct run a, b, a2, b2;

	tdaemon_start(&d, "64M", NULL);
	llama_run(&a, d.sock, p_base, NULL);
	llama_run(&b, d.sock, p_other, NULL);
	ck_assert_int_eq(geti(a.req[0], "saved_blocks"), 2);
	ck_assert_int_eq(geti(b.req[0], "restored_tokens"), 0);
	ck_assert_int_eq(geti(b.req[0], "saved_blocks"), 2);
	llama_run(&a2, d.sock, p_other, NULL);
	llama_run(&b2, d.sock, p_base, NULL);
	ck_assert_int_eq(geti(a2.req[0], "restored_tokens"), 2 * BLOCK);
	ck_assert_int_eq(geti(b2.req[0], "restored_tokens"), 2 * BLOCK);
	all_verified(&a2);
	all_verified(&b2);
	run_free(&a);
	run_free(&b);
	run_free(&a2);
	run_free(&b2);
	tdaemon_stop(&d);
}
END_TEST

static void nvme_path(char *path, size_t len, const char *what)
{
	snprintf(path, len, "/var/tmp/tierd-llama-%s-%d.img", what, (int)getpid());
}

START_TEST(through_nvme)
{
	char path[128], opt[160];
	struct tdaemon d;
	uint64_t bytes = 0, blocks = 0;
	tier_client *c;
	struct run a;

	nvme_path(path, sizeof(path), "demote");
	snprintf(opt, sizeof(opt), "nvme.path=%s", path);
	tdaemon_start(&d, "16M", opt, "nvme.size=64M", NULL);
	first_saves(d.sock, &a);
	c = t_connect(&d);
	ck_assert_int_ge(tier_admin_evict(c, TIER_HOST, 16u << 20, &bytes, &blocks), 0);
	ck_assert_uint_ge(blocks, 2);
	for (int i = 0; i < 200 && tier_of(c, "host").blocks > 0; i++)
		t_msleep(10); /* demotions complete when their writes did */
	ck_assert_uint_eq(tier_of(c, "host").blocks, 0);
	ck_assert_uint_ge(tier_of(c, "nvme").blocks, 2);
	second_restores(d.sock);
	ck_assert_uint_ge(tier_of(c, "nvme").promotions, 2);
	tier_close(c);
	run_free(&a);
	tdaemon_stop(&d);
	t_unlink_nvme(path);
}
END_TEST

START_TEST(after_restart)
{
	char path[128], opt[160];
	struct tdaemon d;
	tier_client *c;
	struct run a;

	nvme_path(path, sizeof(path), "restart");
	snprintf(opt, sizeof(opt), "nvme.path=%s", path);
	tdaemon_start(&d, "16M", opt, "nvme.size=64M", NULL);
	first_saves(d.sock, &a);
	c = t_connect(&d);
	ck_assert_int_eq(tier_flush(c, TIER_NS_ALL), 0);
	tier_close(c);
	tdaemon_stop(&d);
	tdaemon_cleanup(&d);
	tdaemon_start(&d, "16M", opt, "nvme.size=64M", NULL);
	second_restores(d.sock); /* recovered blocks give the same logits */
	run_free(&a);
	tdaemon_stop(&d);
	t_unlink_nvme(path);
}
END_TEST

/* The keys of base's blocks, as any client computes them: the chain over the token ids. */
static void base_keys(tier_key *k, int n)
{
	tier_key parent = TIER_KEY_ROOT;
	int32_t tok[BLOCK];

	for (int b = 0; b < n; b++) {
		for (int i = 0; i < BLOCK; i++)
			tok[i] = base_tok[b * BLOCK + i];
		k[b] = tier_key_next(parent, tok, sizeof(tok));
		parent = k[b];
	}
}

static const char *sget(struct json_object *o, const char *k)
{
	struct json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, k, &v), "no %s", k);
	return json_object_get_string(v);
}

/* Change block b of base in place: flip a state byte, or truncate its state. */
static void damage(const struct tdaemon *d, const struct run *a, int b, bool truncate)
{
	tier_client *c = t_connect(d);
	size_t bs = (size_t)geti(a->sum, "block_bytes");
	struct tier_llama_hdr {
		uint32_t magic, tokens;
		uint64_t state_len, check_hi, check_lo;
	} h;
	tier_key k[2], chk;
	tier_handle hd;
	uint8_t *p;
	uint32_t ns;

	base_keys(k, 2);
	ck_assert_int_eq(tier_namespace(c, sget(a->sum, "namespace"), bs, &ns), 0);
	ck_assert_int_eq(tier_acquire(c, ns, k[b], &hd), 0);
	p = tier_data(c, hd);
	memcpy(&h, p, sizeof(h));
	ck_assert_uint_eq(h.magic, 0x314b4c54u);
	ck_assert_uint_eq(h.state_len + sizeof(h), bs);
	if (truncate) {
		/* A shorter state that checks out: llama.cpp itself must refuse it. */
		h.state_len /= 2;
		chk = tier_key_next(k[b], p + sizeof(h), h.state_len);
		h.check_hi = chk.hi;
		h.check_lo = chk.lo;
		memcpy(p, &h, sizeof(h));
	} else {
		p[sizeof(h) + h.state_len / 2] ^= 0x40;
	}
	ck_assert_int_eq(tier_release(c, hd), 0);
	tier_close(c);
}

static void damaged(bool truncate, int b)
{
	struct tdaemon d;
	struct run a, r, again;

	tdaemon_start(&d, "64M", NULL);
	first_saves(d.sock, &a);
	damage(&d, &a, b, truncate);
	llama_run(&r, d.sock, p_tail, NULL);
	ck_assert_int_eq(geti(r.req[0], "restored_tokens"), b * BLOCK);
	ck_assert_int_eq(geti(r.req[0], "computed_tokens"), 700 - b * BLOCK);
	ck_assert(getb(r.req[0], "fallback"));
	ck_assert_int_eq(geti(r.sum, "fallback_block"), 1);
	all_verified(&r);
	/* The bad block was dropped and saved again: the next run restores it. */
	llama_run(&again, d.sock, p_tail, NULL);
	ck_assert_int_eq(geti(again.req[0], "restored_tokens"), 2 * BLOCK);
	ck_assert_int_eq(geti(again.sum, "fallbacks"), 0);
	all_verified(&again);
	run_free(&a);
	run_free(&r);
	run_free(&again);
	tdaemon_stop(&d);
}

START_TEST(corrupted_block)
{
	damaged(false, 0);
}
END_TEST

START_TEST(truncated_block)
{
	damaged(true, 1);
}
END_TEST

START_TEST(wrong_block_size)
{
	struct tdaemon d;
	struct run nc, r;
	tier_client *c;
	uint32_t ns;

	tdaemon_start(&d, "64M", NULL);
	llama_run(&nc, d.sock, p_base, "--no-cache"); /* only to learn the namespace name */
	c = t_connect(&d);
	ck_assert_int_eq(tier_namespace(c, sget(nc.sum, "namespace"), 4096, &ns), 0);
	llama_run(&r, d.sock, p_two, NULL);
	ck_assert_int_eq(r.n, 2);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(geti(r.req[i], "restored_tokens"), 0);
		ck_assert(getb(r.req[i], "fallback"));
	}
	ck_assert_int_ge(geti(r.sum, "fallback_namespace"), 1);
	ck_assert_int_eq(geti(r.sum, "fallbacks"), 2);
	all_verified(&r);
	tier_close(c);
	run_free(&nc);
	run_free(&r);
	tdaemon_stop(&d);
}
END_TEST

START_TEST(no_daemon)
{
	char sock[128];
	struct run r;

	snprintf(sock, sizeof(sock), "%s/absent.sock", dir);
	llama_run(&r, sock, p_two, NULL);
	ck_assert_int_eq(r.n, 2);
	ck_assert_int_eq(geti(r.req[1], "restored_tokens"), 0);
	ck_assert_int_eq(geti(r.req[1], "computed_tokens"), 700);
	ck_assert_int_ge(geti(r.sum, "fallback_connect"), 2);
	ck_assert_int_eq(geti(r.sum, "fallbacks"), 2);
	all_verified(&r);
	run_free(&r);
}
END_TEST

/* The daemon is killed while the engine holds its restored blocks pinned. */
static char killed_out[OUT_MAX], killed_err[8192];
static const char *killed_sock;

static int killed_child(void *arg)
{
	char *argv[] = {(char *)bin("TIER_LLAMA"), "--model", model, "--prompts", p_two,
			"--socket", (char *)killed_sock, "--ctx", "2048", "--verify", "--threads", "1",
			"--stall-after-acquire", "4000", NULL};
	int fd, st = t_exec(argv, killed_out, sizeof(killed_out), killed_err,
			    sizeof(killed_err), 60000);

	fd = open((const char *)arg, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	T_CHILD_CHECK(fd >= 0);
	T_CHILD_CHECK(write(fd, killed_out, strlen(killed_out)) == (ssize_t)strlen(killed_out));
	close(fd);
	if (st != 0)
		fprintf(stderr, "tier-llama: %s\n", killed_err);
	return st == 0 ? 0 : 1;
}

START_TEST(killed_mid_request)
{
	char outpath[128], *out = killed_out;
	struct tdaemon d;
	struct run a, r = {0};
	tier_client *c;
	pid_t pid;
	FILE *f;
	size_t n;

	tdaemon_start(&d, "64M", NULL);
	first_saves(d.sock, &a);
	killed_sock = d.sock;
	snprintf(outpath, sizeof(outpath), "%s/killed.out", dir);
	pid = t_fork(killed_child, outpath);
	c = t_connect(&d);
	for (int i = 0; i < 6000 && tier_of(c, "host").pinned_blocks < 2; i++)
		t_msleep(5); /* until the engine holds the prefix pinned */
	ck_assert_uint_ge(tier_of(c, "host").pinned_blocks, 2);
	tier_close(c);
	tdaemon_kill(&d);
	ck_assert_int_eq(t_wait(pid, 60000), 0);
	f = fopen(outpath, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(out, 1, OUT_MAX - 1, f);
	out[n] = 0;
	fclose(f);
	parse(&r, out);
	ck_assert_ptr_nonnull(r.sum);
	ck_assert_int_eq(r.n, 2);
	/* Both requests answered right; the second had no daemon at all. */
	all_verified(&r);
	ck_assert_int_eq(geti(r.req[1], "restored_tokens"), 0);
	ck_assert_int_ge(geti(r.sum, "fallback_connect"), 2);
	ck_assert_int_eq(geti(r.sum, "fallbacks"), 2);
	run_free(&a);
	run_free(&r);
}
END_TEST

static Suite *llama_suite(void)
{
	Suite *s = suite_create("engines_llama");
	TCase *tc = tcase_create("llama");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120); /* each case takes seconds; a busy machine slows it */
	tcase_add_test(tc, two_processes);
	tcase_add_test(tc, each_restores_the_other);
	tcase_add_test(tc, through_nvme);
	tcase_add_test(tc, after_restart);
	tcase_add_test(tc, corrupted_block);
	tcase_add_test(tc, truncated_block);
	tcase_add_test(tc, wrong_block_size);
	tcase_add_test(tc, no_daemon);
	tcase_add_test(tc, killed_mid_request);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	t_tierd_path();
	bin("TIER_LLAMA");
	bin("TIER_MKGGUF");
	return t_run_suite(llama_suite());
}
