#!/usr/bin/env bash
# The Python binding's benchmark (python/bench.py) against a tierd of its own:
# save/load of 256 KiB blocks in batches of 64 vs numpy.copyto of the same bytes.
#   tools/bench/python.sh [BUILD_DIR] [-- bench.py options]   (BUILD_DIR: build)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build
if [ $# -gt 0 ] && [ "$1" != "--" ]; then build=$1; shift; fi
[ "${1:-}" = "--" ] && shift
tools/build "$build"
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
"$build/tierd/tierd" -f -o daemon.socket="$tmp/sock" -o host.size=256M 2>"$tmp/log" &
pid=$!
for _ in $(seq 200); do [ -S "$tmp/sock" ] && break; sleep 0.05; done
[ -S "$tmp/sock" ] || { cat "$tmp/log"; exit 1; }
export LIBTIER_PATH=$PWD/$build/libtier/libtier.so PYTHONPATH=$PWD/python
/usr/bin/python3 python/bench.py --socket "$tmp/sock" "$@"
