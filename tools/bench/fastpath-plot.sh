#!/usr/bin/env bash
# The fast path under CPU load, ring against socket, and its plot:
# tierbench --fastpath --load N for each N (default 0 1 2 4), REPS runs each
# (default 3), against one tierd (host.size=1G) started and stopped here.
# Writes docs/fastpath-load.json (every run's tierbench output),
# docs/fastpath-load.dat (median and range of each figure per N),
# docs/fastpath-load.png (gnuplot), and prints the markdown table of
# docs/BENCHMARKS.md.  --plot-only redoes the table, .dat and PNG from the .json.
#   tools/bench/fastpath-plot.sh [--plot-only] [REPS] [N...]
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/setup-deps gnuplot-nox >&2
dat=docs/fastpath-load.dat
png=docs/fastpath-load.png
runs=docs/fastpath-load.json

plot() {
	gnuplot <<GP
set terminal pngcairo size 1200,820 font ",11"
set output "$png"
set multiplot layout 2,2 title "tierd fast path under CPU load: rings (default) vs socket, same runs (median; bars: range; socket drawn 0.08 to the right)"
set xlabel "busy processes beside the benchmark (2-CPU machine)"
set xtics (0, 1, 2, 4)
set xrange [-0.3:4.3]
set key top right
set grid ytics
set offsets 0, 0, graph 0.05, graph 0.05
set logscale y
set ylabel "keys/s"
set title "single lookups"
plot "$dat" u 1:2:3:4 w yerrorlines lw 2 pt 7 t "rings", \
     "" u (\$1+0.08):5:6:7 w yerrorlines lw 2 pt 5 t "socket"
set title "batch-256 lookups"
plot "$dat" u 1:8:9:10 w yerrorlines lw 2 pt 7 t "rings", \
     "" u (\$1+0.08):11:12:13 w yerrorlines lw 2 pt 5 t "socket"
set ylabel "microseconds"
set title "acquire+release p50"
set arrow 1 from graph 0, first 3 to graph 1, first 3 nohead dt 3 lc rgb "gray40"
set label 1 "idle goal: 3 µs" at graph 0.02, first 3.6 tc rgb "gray40"
plot "$dat" u 1:14:15:16 w yerrorlines lw 2 pt 7 t "rings", \
     "" u (\$1+0.08):17:18:19 w yerrorlines lw 2 pt 5 t "socket"
unset arrow 1
unset label 1
set title "acquire+release p99 (dashed: p999)"
plot "$dat" u 1:20:21:22 w yerrorlines lw 2 pt 7 t "rings p99", \
     "" u (\$1+0.08):23:24:25 w yerrorlines lw 2 pt 5 t "socket p99", \
     "" u 1:26 w lp dt 2 pt 6 lc 1 t "rings p999", \
     "" u (\$1+0.08):27 w lp dt 2 pt 4 lc 2 t "socket p999"
unset multiplot
GP
	echo "wrote $png" >&2
}

table() {
	python3 - "$runs" "$dat" <<'PY'
import json, statistics, sys
runs, dat = json.load(open(sys.argv[1])), sys.argv[2]
loads = sorted({j["load"] for j in runs})
def fig(j):
    l = j["latency_us"]; r = l["acquire_release_ring"]; s = l["acquire_release_socket"]
    return [j["lookup_keys_per_s"]["batch_1"], j["lookup_keys_per_s_socket"]["batch_1"],
            j["lookup_keys_per_s"]["batch_256"], j["lookup_keys_per_s_socket"]["batch_256"],
            r["p50_us"], s["p50_us"], r["p99_us"], s["p99_us"], r["p999_us"], s["p999_us"]]
def ratios(j):
    v = j["ring_vs_socket"]
    return [v["single_lookups"], v["batch_256_lookups"], v["acquire_release_p99_socket_over_ring"]]
rows = []
with open(dat, "w") as f:
    f.write("# tools/bench/fastpath-plot.sh; columns: N, then for each of\n")
    f.write("# ring/socket single, ring/socket batch-256 (keys/s), ring/socket a+r p50, p99 (us):\n")
    f.write("# median min max; then ring p999, socket p999 medians\n")
    for n in loads:
        mine = [j for j in runs if j["load"] == n]
        cols = list(zip(*[fig(j) for j in mine]))
        out = [n]
        for c in cols[:8]:
            out += [statistics.median(c), min(c), max(c)]
        out += [statistics.median(cols[8]), statistics.median(cols[9])]
        f.write(" ".join("%.6g" % v for v in out) + "\n")
        rows.append((n, len(mine), cols, list(zip(*[ratios(j) for j in mine]))))
def rng(c, scale=1, fmt="%.0f"):
    lo, hi = min(c) * scale, max(c) * scale
    return (fmt % lo) if fmt % lo == fmt % hi else (fmt + " – " + fmt) % (lo, hi)
print("| N | runs | single lookups, rings / socket | batch-256, rings / socket | a+r p50, rings / socket | a+r p99, rings / socket | a+r p999, rings / socket | same run: single ring÷socket | batch-256 ring÷socket | p99 socket÷ring |")
print("|---|---|---|---|---|---|---|---|---|---|")
for n, k, c, r in rows:
    print("| %d | %d | %s / %s k/s | %s / %s M/s | %s / %s µs | %s / %s µs | %s / %s µs | %s | %s | %s |" % (
        n, k, rng(c[0], 1e-3), rng(c[1], 1e-3), rng(c[2], 1e-6, "%.2f"), rng(c[3], 1e-6, "%.2f"),
        rng(c[4], 1, "%.1f"), rng(c[5], 1, "%.1f"), rng(c[6], 1, "%.1f"), rng(c[7], 1, "%.1f"),
        rng(c[8]), rng(c[9]), rng(r[0], 1, "%.2f"), rng(r[1], 1, "%.2f"), rng(r[2], 1, "%.2f")))
PY
}

if [ "${1:-}" = --plot-only ]; then
	table
	plot
	exit 0
fi
reps=${1:-3}
shift || true
loads=("$@")
[ ${#loads[@]} -gt 0 ] || loads=(0 1 2 4)
tools/build build >&2

dir=$(mktemp -d /tmp/tierd-fastpath.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
build/tierd/tierd -f -o daemon.socket="$dir/sock" -o host.size=1G 2>"$dir/tierd.log" &
pid=$!
for _ in $(seq 400); do
	build/tools/tierctl -s "$dir/sock" stats >/dev/null 2>&1 && break
	sleep 0.025
done

# Rounds over N inside each repetition: a change in the machine's background
# load then falls on every N, not on one.
for r in $(seq "$reps"); do
	for n in "${loads[@]}"; do
		echo "run $r, load $n (1-min loadavg $(cut -d' ' -f1 /proc/loadavg))" >&2
		build/tools/tierbench -s "$dir/sock" --fastpath --load "$n" >"$dir/run-$n-$r.json"
	done
done

python3 - "$dir" "$runs" "${loads[@]}" <<'PY'
import json, sys, glob
d, out, loads = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3:]]
runs = []
for n in loads:
    for f in sorted(glob.glob("%s/run-%d-*.json" % (d, n))):
        runs.append(json.load(open(f)))
json.dump(runs, open(out, "w"), indent=1)
PY
table
plot
