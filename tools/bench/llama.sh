#!/usr/bin/env bash
# llama.cpp with and without tierd, all in one run, same model, same requests
# (docs/ENGINES.md has the figures).  Not a test.
#
#  1. time to first token on the real prompt structure of the Mooncake
#     conversation trace: a seeded sample of its conversations (requests
#     grouped by their first two hash ids, kept whole, in arrival order), each
#     hash id made TOKENS_PER_ID tokens; --no-cache first, then the same
#     requests through a fresh tierd: median and p90 TTFT and their ratios,
#     prefix hit ratio, restore bandwidth, restore cost of a block against
#     computing it.  The cached run has --verify: each request is also
#     recomputed from scratch right after it, in the same process, which is a
#     second baseline measured under the same machine load (recompute_s);
#  2. a 2,048-token prompt whose prefix is all cached against its recompute;
#  3. two engines sharing one tierd: each computes half of the requests, then
#     serves the other half, restoring what the other computed (--verify:
#     every restored answer bitwise equal to a recompute).
#  4. with LLAMA_SERVER=1, llama.cpp's own prompt cache side by side:
#     llama-server built from the same pinned source bundle
#     (tools/bench/llama-server-build.sh, once, into a cache outside the tree)
#     serves the very requests of 1 and 2 (tier-llama --print-prompts), same
#     model, threads, context and batch sizes, one slot, over its HTTP API:
#     first with cache_prompt false and --cache-ram 0 (its own baseline: its
#     ggml is a separate, native build), then with --cache-ram 2048 (2 GiB,
#     tierd's host tier here) and cache_prompt true.
# Prints one JSON object.
#
#   tools/bench/llama.sh [REQUESTS] [TOKENS_PER_ID] [MODEL_ARGS...]
# Defaults: 12 requests, 32 tokens a hash id, the default model of tier-mkgguf
# (4 layers x 1024; MODEL_ARGS go to tier-mkgguf, --vocab at least 8192).
# TRACE=... picks another trace, BUILD=... another build folder, LLAMA_SERVER=1
# adds llama-server (its first build takes a long while on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
b=${BUILD:-build}
tools/setup-deps >&2
tools/build "$b" >&2
[ -x "$b/engines/llama/tier-llama" ] ||
	{ echo "llama.sh: llama.cpp not built (meson summary says why)" >&2; exit 1; }

requests=${1:-12}
k=${2:-32}
shift 2 2>/dev/null || shift $#
trace=${TRACE:-../shared/traces/conversation_trace.jsonl}
dir=$(mktemp -d /var/tmp/tierd-llama-bench.XXXXXX)
pid=
spid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; [ -n "$spid" ] && kill $spid 2>/dev/null; rm -rf "$dir"' EXIT
llama=$b/engines/llama/tier-llama
server=
[ "${LLAMA_SERVER:-0}" = 1 ] && server=$(tools/bench/llama-server-build.sh)

start_tierd() {
	"$b"/tierd/tierd -f -o daemon.socket="$dir/sock" -o host.size=2G 2>>"$dir/tierd.log" &
	pid=$!
	for _ in $(seq 2000); do
		"$b"/tools/tierctl -s "$dir/sock" stats >/dev/null 2>&1 && return 0
		sleep 0.01
	done
	echo "tierd did not start" >&2
	cat "$dir/tierd.log" >&2
	exit 1
}
stop_tierd() { kill "$pid"; wait "$pid" || true; pid=; }

# llama-server turns each token it samples into text: the model then has a
# token list (the same weights, so the same KV and logits for an id).
"$b"/engines/llama/tier-mkgguf "$dir/model.gguf" ${server:+--spm-vocab} "$@"
python3 - "$trace" "$requests" "$dir" <<'EOF'
import json, random, sys
trace, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
reqs = [json.loads(l) for l in open(trace)]
sessions = {}
for i, r in enumerate(reqs):
    sessions.setdefault(tuple(r["hash_ids"][:2]), []).append(i)
keys = sorted(sessions)
random.Random(1).shuffle(keys)
pick = []
for key in keys:
    if len(pick) >= n:
        break
    pick += sessions[key]
pick = sorted(pick[:n])
with open(out + "/subset.jsonl", "w") as f:
    for i in pick:
        f.write(json.dumps(reqs[i]) + "\n")
with open(out + "/half0.jsonl", "w") as f0, open(out + "/half1.jsonl", "w") as f1:
    for j, i in enumerate(pick):
        (f0 if j % 2 == 0 else f1).write(json.dumps(reqs[i]) + "\n")
random.seed(3)
p = " ".join(str(random.randrange(8192)) for _ in range(2048))
open(out + "/p2048.txt", "w").write((p + "\n") * 3)
EOF

# THREADS: llama.cpp threads of the single-engine runs (2; the two engines get 1 each).
run() { "$llama" --model "$dir/model.gguf" --socket "$dir/sock" --threads "${THREADS:-2}" "$@"; }

echo "== no cache: $requests requests, $k tokens a hash id" >&2
run --trace "$dir/subset.jsonl" --tokens-per-id "$k" --no-cache >"$dir/nocache.jsonl"
echo "== tierd" >&2
start_tierd
run --trace "$dir/subset.jsonl" --tokens-per-id "$k" --verify >"$dir/cache.jsonl"
stop_tierd

echo "== 2,048 tokens, all cached" >&2
run --prompts "$dir/p2048.txt" --no-cache --requests 2 >"$dir/p2048-nocache.jsonl"
start_tierd
run --prompts "$dir/p2048.txt" --verify >"$dir/p2048-cache.jsonl"
stop_tierd

if [ -n "$server" ]; then
	# The same requests: token ids as tier-llama builds them.
	run --trace "$dir/subset.jsonl" --tokens-per-id "$k" --print-prompts >"$dir/subset.txt"
	# llama-server on a free port; $1: --cache-ram MiB.  No warm-up (the
	# no_vocab model has no BOS/EOS; tier-llama warms up nothing either).
	start_server() {
		local port
		port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		surl=http://127.0.0.1:$port
		env -u LD_LIBRARY_PATH "$server" -m "$dir/model.gguf" --host 127.0.0.1 --port "$port" \
			--threads "${THREADS:-2}" --threads-batch "${THREADS:-2}" --ctx-size 8192 \
			--batch-size 2048 --ubatch-size 512 --parallel 1 --flash-attn off \
			--cache-ram "$1" --no-warmup 2>>"$dir/server.log" &
		spid=$!
		for _ in $(seq 3000); do
			curl -sf "$surl/health" >/dev/null 2>&1 && return 0
			kill -0 "$spid" 2>/dev/null || break
			sleep 0.02
		done
		echo "llama-server did not start" >&2
		tail -20 "$dir/server.log" >&2
		exit 1
	}
	stop_server() { kill "$spid"; wait "$spid" || true; spid=; }
	replay=tools/bench/llama-server-replay.py
	echo "== llama-server, no prompt cache" >&2
	start_server 0
	"$replay" "$surl" "$dir/subset.txt" --no-cache-prompt >"$dir/srv-nocache.jsonl"
	"$replay" "$surl" <(head -n2 "$dir/p2048.txt") --no-cache-prompt >"$dir/srv-p2048-nocache.jsonl"
	stop_server
	echo "== llama-server --cache-ram 2048" >&2
	start_server 2048
	"$replay" "$surl" "$dir/subset.txt" >"$dir/srv-cache.jsonl"
	stop_server
	start_server 2048
	"$replay" "$surl" "$dir/p2048.txt" >"$dir/srv-p2048-cache.jsonl"
	stop_server
fi

echo "== two engines, one tierd" >&2
start_tierd
run --trace "$dir/half0.jsonl" --tokens-per-id "$k" --threads 1 >"$dir/a1.jsonl" &
a=$!
run --trace "$dir/half1.jsonl" --tokens-per-id "$k" --threads 1 >"$dir/b1.jsonl"
wait $a
run --trace "$dir/half1.jsonl" --tokens-per-id "$k" --threads 1 --verify >"$dir/a2.jsonl" &
a=$!
run --trace "$dir/half0.jsonl" --tokens-per-id "$k" --threads 1 --verify >"$dir/b2.jsonl"
wait $a
stop_tierd

python3 - "$dir" "$requests" "$k" "$server" <<'EOF'
import json, os, statistics, sys
d, n, k, server = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def load(name):
    rows = [json.loads(l) for l in open(f"{d}/{name}.jsonl")]
    return [r for r in rows if "request" in r], next(r for r in rows if r.get("summary"))
def q(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]
nc, ncs = load("nocache")
c, cs = load("cache")
ttft_nc = [r["ttft_s"] for r in nc]
ttft_c = [r["ttft_s"] for r in c]
hits = [r for r in c if r["restored_tokens"] > 0]
out = {
    "requests": n, "tokens_per_id": k, "block_tokens": cs["block_tokens"],
    "block_bytes": cs["block_bytes"], "prompt_tokens": cs["prompt_tokens"],
    "hit_ratio": cs["hit_ratio"], "requests_with_hits": len(hits),
    "ttft_median_s": {"no_cache": q(ttft_nc, .5), "tierd": q(ttft_c, .5)},
    "ttft_p90_s": {"no_cache": q(ttft_nc, .9), "tierd": q(ttft_c, .9)},
    "ttft_median_ratio": q(ttft_nc, .5) / q(ttft_c, .5),
    "ttft_p90_ratio": q(ttft_nc, .9) / q(ttft_c, .9),
    "ttft_ratio_on_hits_median": statistics.median(
        nc[r["request"]]["ttft_s"] / r["ttft_s"] for r in hits) if hits else None,
    "interleaved": {
        "recompute_median_s": cs["recompute_median_s"], "recompute_p90_s": cs["recompute_p90_s"],
        "median_ratio": cs["recompute_median_s"] / cs["ttft_median_s"],
        "p90_ratio": cs["recompute_p90_s"] / cs["ttft_p90_s"],
        "ratio_on_hits_median": statistics.median(
            r["recompute_s"] / r["ttft_s"] for r in hits) if hits else None,
        "verify_failures": cs["verify_failures"],
    },
    "restored_blocks": cs["restored_blocks"], "restore_gbps": cs["restore_gbps"],
    "restore_per_block_s": cs["restore_per_block_s"],
    "compute_per_block_s": ncs["compute_per_block_s"],
    "restore_over_compute": cs["restore_per_block_s"] / ncs["compute_per_block_s"],
    "fallbacks": cs["fallbacks"],
}
p_nc, _ = load("p2048-nocache")
p_c, p_cs = load("p2048-cache")
base = statistics.median(r["ttft_s"] for r in p_nc)
cached = statistics.median(r["ttft_s"] for r in p_c[1:])
out["all_cached_2048"] = {
    "ttft_recompute_s": base, "ttft_restored_s": cached, "ratio": base / cached,
    "interleaved_ratio": statistics.median(r["recompute_s"] / r["ttft_s"] for r in p_c[1:]),
    "restored_tokens": p_c[1]["restored_tokens"], "computed_tokens": p_c[1]["computed_tokens"],
    "verified": p_cs.get("verify_failures") == 0,
}
two = {}
for name, first in (("a2", "b1"), ("b2", "a1")):
    _, s2 = load(name)
    _, s1 = load(first)
    two[name] = {"restored_tokens": s2["restored_tokens"], "prompt_tokens": s2["prompt_tokens"],
                 "other_engine_saved_blocks": s1["saved_blocks"],
                 "verified": s2["verified"], "verify_failures": s2["verify_failures"]}
out["two_engines"] = two
if server:
    def rows(name):
        return [json.loads(l) for l in open(f"{d}/{name}.jsonl")]
    snc, sc = rows("srv-nocache"), rows("srv-cache")
    assert [r["prompt_tokens"] for r in sc] == [r["prompt_tokens"] for r in c]
    s_nc = [r["ttft_s"] for r in snc]
    s_c = [r["ttft_s"] for r in sc]
    s_hits = [r for r in sc if r["restored_tokens"] > 0]
    sp_nc, sp_c = rows("srv-p2048-nocache"), rows("srv-p2048-cache")
    sbase = statistics.median(r["ttft_s"] for r in sp_nc)
    scached = statistics.median(r["ttft_s"] for r in sp_c[1:])
    out["llama_server"] = {
        "binary": server,
        "hit_ratio": sum(r["restored_tokens"] for r in sc) / sum(r["prompt_tokens"] for r in sc),
        "requests_with_hits": len(s_hits),
        "ttft_median_s": {"no_cache": q(s_nc, .5), "cache_ram": q(s_c, .5)},
        "ttft_p90_s": {"no_cache": q(s_nc, .9), "cache_ram": q(s_c, .9)},
        "ttft_median_ratio": q(s_nc, .5) / q(s_c, .5),
        "ttft_p90_ratio": q(s_nc, .9) / q(s_c, .9),
        "ttft_ratio_on_hits_median": statistics.median(
            snc[r["request"]]["ttft_s"] / r["ttft_s"] for r in s_hits) if s_hits else None,
        "prompt_ms_median": {"no_cache": q([r["prompt_ms"] for r in snc], .5),
                             "cache_ram": q([r["prompt_ms"] for r in sc], .5)},
        "all_cached_2048": {"ttft_recompute_s": sbase, "ttft_cached_s": scached,
                            "ratio": sbase / scached,
                            "restored_tokens": sp_c[1]["restored_tokens"],
                            "computed_tokens": sp_c[1]["computed_tokens"]},
        "per_request": [{"prompt_tokens": a["prompt_tokens"],
                         "tierd_restored": a["restored_tokens"],
                         "server_restored": b["restored_tokens"],
                         "ttft_s": {"no_cache": x["ttft_s"], "tierd": a["ttft_s"],
                                    "server_no_cache": y["ttft_s"], "cache_ram": b["ttft_s"]}}
                        for x, a, y, b in zip(nc, c, snc, sc)],
    }
print(json.dumps(out, indent=1))
EOF
