#!/usr/bin/env bash
# `tierctl stats --prometheus` and the daemon's HTTP endpoint ([metrics]
# listen) both parse with prometheus_client's own parser, carry the same
# families, and agree with `tierctl stats --json`.  A non-loopback listen
# address is refused unless metrics.allow_remote is on.
# usage: prometheus.sh TIERD TIERCTL TIERBENCH PYTHON
set -euo pipefail
tierd=$1 tierctl=$2 tierbench=$3 py=${4:-}
if [ -z "$py" ] || ! "$py" -c 'import prometheus_client.parser' 2>/dev/null; then
	echo "skip: no python3 with prometheus_client (apt-get install python3-prometheus-client)"
	exit 77
fi
tmp=$(mktemp -d /tmp/tierd-prom.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

# A non-loopback address needs metrics.allow_remote.
if "$tierd" --check-config -o metrics.listen=0.0.0.0:9464 >/dev/null 2>"$tmp/err"; then
	echo "metrics.listen=0.0.0.0 was accepted without allow_remote"; exit 1
fi
grep -q "not a loopback address" "$tmp/err"
"$tierd" --check-config -o metrics.listen=0.0.0.0:9464 -o metrics.allow_remote=on >/dev/null
"$tierd" --check-config -o metrics.listen=[::1]:9464 >/dev/null
if "$tierd" --check-config -o metrics.listen=nonsense >/dev/null 2>&1; then
	echo "metrics.listen=nonsense was accepted"; exit 1
fi

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
nv=$tmp/nvme.img
"$tierd" -f -o daemon.socket="$tmp/sock" -o host.size=16M -o nvme.path="$nv" -o nvme.size=32M \
	-o metrics.listen=127.0.0.1:"$port" 2>"$tmp/log" &
pid=$!
for _ in $(seq 200); do [ -S "$tmp/sock" ] && break; sleep 0.05; done
[ -S "$tmp/sock" ] || { cat "$tmp/log"; exit 1; }
export TIER_SOCKET=$tmp/sock
# Something to count: a short generated workload, with a namespace name that needs escaping.
"$tierbench" -n 200 --namespace 'chat "v1" \\ é' >/dev/null

"$tierctl" stats --prometheus >"$tmp/ctl.prom"
"$tierctl" stats --json >"$tmp/stats.json"
"$py" - "$tmp/ctl.prom" "$tmp/stats.json" "$port" <<'PY'
import json, sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families

def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}

ctl = families(open(sys.argv[1]).read())
stats = json.load(open(sys.argv[2]))
http = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[3], timeout=10)
assert http.headers["Content-Type"].startswith("text/plain; version=0.0.4"), http.headers
web = families(http.read().decode())

# The parser strips _total from counter family names.
want = ["tierd_info", "tierd_uptime_seconds", "tierd_clients", "tierd_namespaces",
        "tierd_tier_capacity_bytes", "tierd_tier_used_bytes", "tierd_tier_blocks",
        "tierd_tier_hits", "tierd_tier_misses", "tierd_tier_evictions",
        "tierd_tier_promotions", "tierd_tier_demotions", "tierd_tier_io_latency_seconds",
        "tierd_operations", "tierd_reloads", "tierd_dirty_blocks", "tierd_log_suppressed",
        "tierd_nvme_io_latency_seconds", "tierd_nvme_journal_bytes", "tierd_nvme_read_retries",
        "tierd_nvme_read_losses"]
for name in want:
    assert name in ctl, "tierctl: no %s" % name
    assert name in web, "http: no %s" % name
assert set(ctl) == set(web), set(ctl) ^ set(web)
assert ctl["tierd_tier_hits"].type == "counter"
assert ctl["tierd_tier_used_bytes"].type == "gauge"

def value(fams, fam, **labels):
    for s in fams[fam].samples:
        if all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise KeyError((fam, labels))

for t in stats["tiers"]:
    assert value(ctl, "tierd_tier_capacity_bytes", tier=t["name"]) == t["capacity_bytes"]
    assert value(web, "tierd_tier_capacity_bytes", tier=t["name"]) == t["capacity_bytes"]
    assert value(ctl, "tierd_tier_hits", tier=t["name"]) == t["hits"]
assert value(web, "tierd_tier_io_latency_seconds", tier="nvme", op="read", quantile="0.99") >= 0
# The histogram: cumulative buckets, +Inf = _count, and I/O happened (blocks were demoted).
for fams in (ctl, web):
    h = fams["tierd_nvme_io_latency_seconds"]
    assert h.type == "histogram", h.type
    total = 0
    for op in ("read", "write"):
        b = sorted((float(s.labels["le"]), s.value) for s in h.samples
                   if s.name.endswith("_bucket") and s.labels["op"] == op)
        assert all(x[1] <= y[1] for x, y in zip(b, b[1:])), b
        assert b[-1][0] == float("inf")
        count = [s.value for s in h.samples if s.name.endswith("_count") and s.labels["op"] == op]
        assert count == [b[-1][1]], (count, b[-1])
        total += count[0]
    assert total > 0, "no NVMe I/O counted"
    assert value(fams, "tierd_nvme_journal_bytes") > 0
# The HTTP request itself is no client of the socket; tierctl's own connection was one.
assert value(ctl, "tierd_clients") == stats["clients"]
for ns in stats["namespaces"]:
    assert value(ctl, "tierd_namespace_blocks", namespace=ns["name"]) == ns["blocks"], ns
    assert value(web, "tierd_namespace_hits", namespace=ns["name"]) == ns["hits"], ns
assert any('"v1"' in ns["name"] for ns in stats["namespaces"]), stats["namespaces"]
print("prometheus: tierctl and HTTP outputs parsed, %d families, agree with --json" % len(ctl))
PY
curl_404=$("$py" -c "
import urllib.request, urllib.error
try: urllib.request.urlopen('http://127.0.0.1:$port/nope', timeout=5); print(200)
except urllib.error.HTTPError as e: print(e.code)")
[ "$curl_404" = 404 ]
