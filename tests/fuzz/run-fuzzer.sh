#!/usr/bin/env bash
# Run one libFuzzer harness for a fixed time: run-fuzzer.sh BINARY SEED_DIR WORK_DIR [SECONDS]
# SECONDS defaults to $FUZZ_SECONDS, else 20 (the CI form); the long form is
# e.g. 600.  New inputs go to WORK_DIR (never into the checked-in seeds); a
# crash leaves its reproducer in WORK_DIR/crash-* and fails.  The last lines
# of the output are libFuzzer's final statistics (stat::number_of_executed_units).
set -euo pipefail
bin=$1 seeds=$2 work=$3 secs=${4:-${FUZZ_SECONDS:-20}}
mkdir -p "$work"
dict=()
[ -f "$seeds.dict" ] && dict=(-dict="$seeds.dict")
# -rss_limit_mb: the store harness maps a small arena; 2 GiB catches runaway growth.
# A finding must fail the test: libFuzzer's default exit code, 77, means "skipped" to meson.
exec "$bin" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 \
	-error_exitcode=1 -timeout_exitcode=1 -timeout=10 -artifact_prefix="$work/" "${dict[@]}" "$work" "$seeds"
