#!/usr/bin/env bash
# The remote tier (T3) on a Redis Cluster on 127.0.0.1 (tests/remote/cluster.sh,
# 3 masters), one run, JSON lines out:
#  1. hit ratios replaying the first REQUESTS requests of the conversation trace
#     (tierbench --trace --mode block, BLOCK-byte blocks, HOST bytes of host memory
#     per daemon): one daemon with the whole trace; two daemons with the trace
#     split between them (requests alternating, replayed at the same time)
#     without a remote tier; the same with the remote tier (the cluster empty
#     first);
#  2. remote reads: one daemon commits N 64 KiB blocks, another prefetches them
#     all (pipelined GETs) and the time until every one is verified and in its
#     host memory gives bytes/s; redis-benchmark GETs values of the same size
#     (64 KiB + the 64-byte header) from the same cluster, pipelined (-P 16),
#     in the same run.
#   tools/bench/remote.sh [REQUESTS [HOST [BLOCK [N]]]]   (default 4000 64M 4096 2048)
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/setup-deps redis-server redis-tools >&2
[ -x build/tierd/tierd ] || tools/build build >&2
requests=${1:-4000}
host=${2:-64M}
block=${3:-4096}
nread=${4:-2048}
trace=../shared/traces/conversation_trace.jsonl

dir=$(mktemp -d /tmp/tierd-remote-bench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	tests/remote/cluster.sh stop "$dir/cluster"
	rm -rf "$dir"
}
trap cleanup EXIT
seeds=$(tests/remote/cluster.sh start "$dir/cluster" 3 0)
ports=$(cat "$dir/cluster/ports")

head -n "$requests" "$trace" >"$dir/all.jsonl"
awk 'NR % 2 == 1' "$dir/all.jsonl" >"$dir/a.jsonl"
awk 'NR % 2 == 0' "$dir/all.jsonl" >"$dir/b.jsonl"

# daemon NAME [-o ...]: start one, wait for its socket.
daemon() {
	local name=$1
	shift
	build/tierd/tierd -f -o daemon.socket="$dir/$name.sock" -o host.size="$host" "$@" \
		2>"$dir/$name.log" &
	pids+=($!)
	for _ in $(seq 400); do
		build/tools/tierctl -s "$dir/$name.sock" stats >/dev/null 2>&1 && return
		sleep 0.025
	done
	echo "remote.sh: $name did not start" >&2
	exit 1
}
stop_all() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	pids=()
}
flush_cluster() {
	for p in $ports; do redis-cli -p "$p" flushall >/dev/null; done
}
replay() { # SOCKET TRACE OUT
	build/tools/tierbench -s "$1" --trace "$2" -b "$block" --mode block >"$3"
}

# 1. hit ratios
daemon one
replay "$dir/one.sock" "$dir/all.jsonl" "$dir/r-one.json"
stop_all
daemon a
daemon b
replay "$dir/a.sock" "$dir/a.jsonl" "$dir/r-a0.json" &
ja=$!
replay "$dir/b.sock" "$dir/b.jsonl" "$dir/r-b0.json"
wait $ja
stop_all
flush_cluster
daemon a -o remote.cluster="$seeds"
daemon b -o remote.cluster="$seeds"
replay "$dir/a.sock" "$dir/a.jsonl" "$dir/r-a1.json" &
ja=$!
replay "$dir/b.sock" "$dir/b.jsonl" "$dir/r-b1.json"
wait $ja
build/tools/tierctl -s "$dir/b.sock" stats --json >"$dir/s-b1.json"
stop_all
python3 - "$dir" "$requests" "$host" "$block" <<'PY'
import json, sys
d, requests, host, block = sys.argv[1:]
def load(n): return json.load(open(f"{d}/{n}.json"))
def ratio(*runs):
    h = sum(r["hits"] for r in runs)
    a = sum(r["accesses"] for r in runs)
    return h / a if a else 0.0
one = load("r-one")
print(json.dumps({"replay": {"requests": int(requests), "host_size": host, "block_size": int(block),
    "one_daemon_whole_trace": round(ratio(one), 4),
    "two_daemons_split_local_only": round(ratio(load("r-a0"), load("r-b0")), 4),
    "two_daemons_split_with_remote": round(ratio(load("r-a1"), load("r-b1")), 4),
    "remote_tier_of_b": [t for t in load("s-b1")["tiers"] if t["name"] == "remote"]}}))
PY

# 2. remote reads against redis-benchmark, same cluster, same value size
flush_cluster
daemon w -o remote.cluster="$seeds" -o host.size=512M
daemon r -o remote.cluster="$seeds" -o host.size=512M
PYTHONPATH=python LIBTIER_PATH=build/libtier/libtier.so.0 python3 - "$dir" "$nread" <<'PY'
import json, os, subprocess, sys, time
from tierd import Client
d, n = sys.argv[1], int(sys.argv[2])
bs = 64 << 10
w, r = Client(f"{d}/w.sock"), Client(f"{d}/r.sock")
nw, nr = w.namespace("bench", bs), r.namespace("bench", bs)
from tierd import Key
keys = [Key(0x7465737400000000 | i, (i + 1) * 0x9e3779b97f4a7c15 % (1 << 64)) for i in range(n)]
blob = os.urandom(bs)
for k in keys:
    nw.put(k, blob)
nw.flush()
def remote_read():
    out = subprocess.run(["build/tools/tierctl", "-s", f"{d}/r.sock", "stats", "--json"],
                         capture_output=True, text=True, check=True).stdout
    return [t for t in json.loads(out)["tiers"] if t["name"] == "remote"][0]
t0 = time.perf_counter()
for i in range(0, n, 1024):
    nr.prefetch(keys[i:i + 1024])
while True:
    rr = remote_read()
    if rr["hits"] + rr["misses"] >= n:  # every fetch answered, verified or not
        break
    if time.perf_counter() - t0 > 60:
        break
    time.sleep(0.002)
dt = time.perf_counter() - t0
rr = remote_read()
ok = sum(1 for k in keys if nr.get(k) == blob)
print(json.dumps({"tierd_remote_read": {"blocks": n, "block_size": bs, "seconds": round(dt, 4),
      "MB_per_s": round(rr["read_bytes"] / dt / 1e6, 1), "verified": ok, "remote": rr}}))
PY
port=$(echo "$ports" | head -1)
redis-benchmark -h 127.0.0.1 -p "$port" --cluster -t set,get -d $((65536 + 64)) -n "$nread" \
	-r "$nread" -P 16 -c 4 --csv -q 2>/dev/null | python3 -c '
import csv, json, sys
rows = {r[0]: float(r[1]) for r in csv.reader(sys.stdin) if len(r) > 1 and r[0] in ("SET", "GET")}
print(json.dumps({"redis_benchmark": {"value_bytes": 65536 + 64, "pipeline": 16, "clients": 4,
      "get_per_s": rows.get("GET"), "MB_per_s": round(rows.get("GET", 0) * (65536 + 64) / 1e6, 1)}}))'
