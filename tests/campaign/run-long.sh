#!/usr/bin/env bash
# The long forms of the reliability campaigns and fuzzers, by hand:
#   tests/campaign/run-long.sh BUILD_DIR [CLANG_BUILD_DIR] [OUT_DIR]
# BUILD_DIR holds tierd and tier-campaign (any compiler); CLANG_BUILD_DIR,
# when given, the libFuzzer harnesses (a clang build).  Each run's output
# goes to OUT_DIR (default /var/tmp/tierd-long) and its last line, the
# figures, is printed.  About 25 minutes of campaigns plus 5 minutes per
# fuzzer; LONG_SECONDS, LONG_ROUNDS, FUZZ_LONG_SECONDS override the lengths.
set -uo pipefail
b=${1:?usage: run-long.sh BUILD_DIR [CLANG_BUILD_DIR] [OUT_DIR]}
fb=${2:-}
out=${3:-/var/tmp/tierd-long}
secs=${LONG_SECONDS:-300}
mkdir -p "$out"
src=$(cd "$(dirname "$0")/../.." && pwd)
camp=("$b/tests/campaign/tier-campaign")
tierd=$b/tierd/tierd
seed=${SEED:-$(date +%s)}
rc=0

run() {
	local name=$1
	shift
	echo "== $name: $*"
	"$@" >"$out/$name.log" 2>&1
	local r=$?
	grep -v '^<' "$out/$name.log" | tail -n 1
	[ $r -eq 0 ] || { echo "   FAILED (exit $r), see $out/$name.log"; rc=1; }
}

run chaos "${camp[@]}" chaos --tierd "$tierd" --seed "$seed" --seconds "$secs" --clients 8
run crash "${camp[@]}" crash --tierd "$tierd" --seed "$seed" --rounds "${LONG_ROUNDS:-50}"
run faults "${camp[@]}" faults --tierd "$tierd" --seed "$seed" --seconds "$secs"
run soak "${camp[@]}" soak --tierd "$tierd" --seed "$seed" --seconds "$((secs * 2))" \
	--rss-growth 8192
if [ -n "$fb" ]; then
	for f in validate_msg validate_sqe config store store_nvme; do
		run "fuzz_$f" "$src/tests/fuzz/run-fuzzer.sh" "$fb/tests/fuzz/fuzz_$f" \
			"$src/tests/fuzz/corpus/$f" "$out/corpus-$f" "${FUZZ_LONG_SECONDS:-300}"
		grep -E 'stat::number_of_executed_units|^#[0-9]+ +DONE' "$out/fuzz_$f.log" | tail -n 2
	done
fi
exit $rc
