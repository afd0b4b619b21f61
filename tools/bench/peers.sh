#!/usr/bin/env bash
# The fast path and the data path side by side, in one run:
#  - tierbench --fastpath: acquire+release latency through the rings, through
#    the socket, and a bare SOCK_SEQPACKET round trip; batched lookup rates;
#  - tierbench --peers: store+fetch of 64 KiB, 256 KiB and 2 MiB blocks
#    through tierd, a local redis-server and a local memcached (Unix sockets
#    only, started here and stopped after), and plain memcpy.
#   tools/bench/peers.sh [--load N] [HOST_SIZE]
# --load N: N busy processes beside each measurement (tierbench --load: started
# after the setup, stopped at the end), as engines computing on every core.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tools/bench/load.sh
load_parse "$@"
set -- "${args[@]+"${args[@]}"}"
tools/setup-deps redis-server memcached >&2
tools/build build >&2

dir=$(mktemp -d /tmp/tierd-peers.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$dir"' EXIT

build/tierd/tierd -f -o daemon.socket="$dir/tierd.sock" -o host.size="${1:-1G}" \
	2>"$dir/tierd.log" &
pids+=($!)
# Unix sockets only; no TCP port is opened (--port 0 / -p 0).
redis-server --port 0 --unixsocket "$dir/redis.sock" --save '' --appendonly no \
	--dir "$dir" >"$dir/redis.log" 2>&1 &
pids+=($!)
memcached -s "$dir/memcached.sock" -p 0 -U 0 -m 1024 -I 4m -u root >"$dir/mc.log" 2>&1 &
pids+=($!)
for _ in $(seq 400); do
	[ -S "$dir/redis.sock" ] && [ -S "$dir/memcached.sock" ] &&
		build/tools/tierctl -s "$dir/tierd.sock" stats >/dev/null 2>&1 && break
	sleep 0.025
done

echo '{"fastpath":'
build/tools/tierbench -s "$dir/tierd.sock" --fastpath --load "$load"
echo ', "peers":'
build/tools/tierbench -s "$dir/tierd.sock" --load "$load" --peers "redis=$dir/redis.sock,memcached=$dir/memcached.sock"
echo '}'
