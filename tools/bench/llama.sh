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
# Prints one JSON object.  llama.cpp's own prompt cache (llama-server
# --cache-ram) is not measured: it needs llama.cpp built from its sources.
#
#   tools/bench/llama.sh [REQUESTS] [TOKENS_PER_ID] [MODEL_ARGS...]
# Defaults: 12 requests, 32 tokens a hash id, the default model of tier-mkgguf
# (4 layers x 1024; MODEL_ARGS go to tier-mkgguf, --vocab at least 8192).
# TRACE=... picks another trace, BUILD=... another build folder.
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
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
llama=$b/engines/llama/tier-llama

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

"$b"/engines/llama/tier-mkgguf "$dir/model.gguf" "$@"
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

python3 - "$dir" "$requests" "$k" <<'EOF'
import json, statistics, sys
d, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
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
print(json.dumps(out, indent=1))
EOF
