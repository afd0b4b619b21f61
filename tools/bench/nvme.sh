#!/usr/bin/env bash
# NVMe tier benchmark, all in one run on the same filesystem:
#  1. fio (io_uring, O_DIRECT, registered buffers and files) sequential write
#     and read of the same bytes, block size and queue depth: the baseline;
#  2. tierd's demotion (write) and promotion (read) bandwidth, driven by a
#     client through the daemon (tierbench --nvme-bench);
#  3. restart recovery time against the number of blocks on NVMe.
# Prints one JSON object with the figures and the ratios.
#
#   tools/bench/nvme.sh [--load N] [DIR] [BYTES] [BLOCK_BYTES...]
# DIR (default /var/tmp/tierd-bench) must be on the filesystem or device to test.
# --load N: N busy processes run beside fio and tierd alike (tools/bench/load.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tools/bench/load.sh
load_parse "$@"
set -- "${args[@]+"${args[@]}"}"
tools/setup-deps fio >&2
tools/build build >&2

dir=${1:-/var/tmp/tierd-bench}
bytes=${2:-$((2 << 30))}
shift 2 2>/dev/null || shift $#
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(262144 2097152)
qd=32
mkdir -p "$dir"
pid=
trap 'load_stop; [ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT

start_tierd() { # host_size nvme_size [extra -o...]
	local h=$1 n=$2
	shift 2
	build/tierd/tierd -f -o daemon.socket="$dir/sock" -o host.size="$h" \
		-o nvme.path="$dir/nvme.img" -o nvme.size="$n" -o nvme.queue_depth=$qd "$@" \
		2>>"$dir/tierd.log" &
	pid=$!
	for _ in $(seq 2000); do
		build/tools/tierctl -s "$dir/sock" stats >/dev/null 2>&1 && return 0
		sleep 0.01
	done
	echo "tierd did not start" >&2
	cat "$dir/tierd.log" >&2
	exit 1
}
stop_tierd() { kill "$pid"; wait "$pid" || true; pid=; }

fio_bw() { # rw bs -> MB/s
	fio --name=base --filename="$dir/fio.img" --size="$bytes" --bs="$2" --rw="$1" \
		--iodepth=$qd --direct=1 --ioengine=io_uring --fixedbufs --registerfiles \
		--output-format=json 2>/dev/null |
		python3 -c "import json,sys; j=json.load(sys.stdin)['jobs'][0]; \
print(j['$([ "$1" = write ] && echo write || echo read)']['bw_bytes']/1e6)"
}

results=()
load_start
for bs in "${sizes[@]}"; do
	fw=$(fio_bw write "$bs")
	fr=$(fio_bw read "$bs")
	rm -f "$dir/fio.img"
	rm -f "$dir/nvme.img" "$dir/nvme.img.journal"
	# Host memory an eighth of the bytes: nearly everything goes through NVMe.
	start_tierd $((bytes / 8)) $((bytes + bytes / 4))
	t=$(build/tools/tierbench -s "$dir/sock" --nvme-bench "$bytes" -b "$bs")
	stop_tierd
	results+=("$(python3 - "$bs" "$fw" "$fr" "$t" <<'PY'
import json, sys
bs, fw, fr, t = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
print(json.dumps({"block_bytes": bs, "fio_write_MBps": round(fw, 1), "fio_read_MBps": round(fr, 1),
  "tierd_demote_MBps": round(t["write_MBps"], 1), "tierd_promote_MBps": round(t["read_MBps"], 1),
  "demote_vs_fio": round(t["write_MBps"] / fw, 3), "promote_vs_fio": round(t["read_MBps"] / fr, 3),
  "wrong_blocks": t["wrong_blocks"]}))
PY
)")
done

# Recovery time against blocks on NVMe: commit N small blocks, stop, restart, read the log.
rec=()
for n in 10000 100000; do
	rm -f "$dir/nvme.img" "$dir/nvme.img.journal" "$dir/tierd.log"
	start_tierd 64M $(( n * 8192 + (256 << 20) ))
	build/tools/tierbench -s "$dir/sock" --nvme-bench $((n * 4096)) -b 4096 --window 1 \
		--keep >/dev/null
	stop_tierd
	start_tierd 64M $(( n * 8192 + (256 << 20) ))
	stop_tierd
	rec+=("$(grep -o 'recovered [0-9]* blocks from [0-9]* journal records in [0-9.]* s' \
		"$dir/tierd.log" | tail -1 |
		awk '{printf "{\"blocks\": %s, \"journal_records\": %s, \"seconds\": %s}", $2, $5, $9}')")
done

load_stop
echo "{\"queue_depth\": $qd, \"bytes\": $bytes, \"load\": $load, \"bandwidth\": [$(IFS=,; echo "${results[*]}")], \"recovery\": [$(IFS=,; echo "${rec[*]}")]}" |
	python3 -m json.tool
