#!/usr/bin/env bash
# The README's C example compiles warning-free against libtier and runs
# against a real tierd: twice, so the second run finds the first run's blocks.
# usage: readme_example.sh SOURCE_ROOT TIERD TIERCTL LIBTIER_DIR CC
set -euo pipefail
src=$1 tierd=$2 tierctl=$3 libdir=$4 cc=$5
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

awk '/^```c$/{f=1;next} /^```$/{if(f){f=0;exit}} f' "$src/README.md" >"$tmp/engine.c"
[ -s "$tmp/engine.c" ] || { echo "no C example in README.md"; exit 1; }
$cc -std=gnu11 -Wall -Wextra -Werror -I"$src/libtier" "$tmp/engine.c" -L"$libdir" -ltier \
	-o "$tmp/engine"

"$tierd" -f -o daemon.socket="$tmp/sock" -o host.size=32M 2>"$tmp/log" &
pid=$!
for _ in $(seq 200); do [ -S "$tmp/sock" ] && break; sleep 0.05; done
export TIER_SOCKET=$tmp/sock LD_LIBRARY_PATH=$libdir
# A sanitizer build's libtier carries the ASan runtime; the example does not.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0:detect_leaks=0
"$tmp/engine"
"$tmp/engine"
# The second run loaded all 4 blocks that the first one saved.
"$tierctl" stats --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
ns = {n["name"]: n for n in s["namespaces"]}["llama3-8b-bf16"]
assert ns["blocks"] == 4 and ns["hits"] == 4 and ns["misses"] == 4, ns
assert s["ops"]["commit"] == 4 and s["ops"]["errors"] == 0, s["ops"]
'
echo "README example: compiled, ran twice, second run hit all 4 blocks"
