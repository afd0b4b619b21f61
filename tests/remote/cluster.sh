#!/usr/bin/env bash
# A Redis Cluster on 127.0.0.1 for the remote tier's tests and benchmark.
#   cluster.sh start DIR [MASTERS [REPLICAS_PER_MASTER]]   (default 3 0)
#   cluster.sh stop DIR
#   cluster.sh kill DIR PORT      kill -9 one node (by the PID it wrote)
#   cluster.sh wait-ok DIR [SECONDS]
# start prints the seed list (HOST:PORT,...) on stdout and writes it to DIR/seeds,
# the ports to DIR/ports.  Exits 77 when redis-server or redis-cli is missing.
# Nodes run with cluster-require-full-coverage no and cluster-node-timeout 1000
# (a killed master's replica takes over in a few seconds), no persistence.
set -euo pipefail

cmd=${1:?usage: cluster.sh start|stop|kill|wait-ok DIR ...}
dir=${2:?usage: cluster.sh start|stop|kill|wait-ok DIR ...}

need() {
	command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return
	echo "cluster.sh: redis-server or redis-cli missing (tools/setup-deps installs them)" >&2
	exit 77
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_ok() {
	local limit=$(( $(date +%s) + ${1:-20} )) p
	for p in $(cat "$dir/ports"); do
		[ -e "$dir/dead.$p" ] && continue
		until redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; do
			(( $(date +%s) < limit )) || { echo "cluster.sh: $p not ok" >&2; return 1; }
			sleep 0.1
		done
	done
}

case $cmd in
start)
	need
	masters=${3:-3}
	replicas=${4:-0}
	n=$(( masters * (1 + replicas) ))
	mkdir -p "$dir"
	# A base port where n ports and their bus ports (+10000) are free, all of
	# them below the kernel's ephemeral range (32768 on), where any outgoing
	# connection of this machine may take a port between the check and the
	# bind.  A node that still cannot bind (another test's cluster starting
	# at the same moment) fails its ping: its nodes go and another base is
	# tried.
	started=0
	for try in $(seq 20); do
		base=$(( 20000 + (RANDOM % 270) * 10 + (RANDOM % 10) ))
		ok=1
		for i in $(seq 0 $((n - 1))); do
			port_free $((base + i)) && port_free $((base + i + 10000)) || { ok=0; break; }
		done
		((ok)) || continue
		: >"$dir/ports"
		addrs=()
		for i in $(seq 0 $((n - 1))); do
			p=$((base + i))
			mkdir -p "$dir/$p"
			redis-server --port "$p" --bind 127.0.0.1 --daemonize no \
				--cluster-enabled yes --cluster-config-file "$dir/$p/nodes.conf" \
				--cluster-node-timeout 1000 --cluster-require-full-coverage no \
				--save '' --appendonly no --dir "$dir/$p" --repl-diskless-sync-delay 0 \
				--logfile "$dir/$p/redis.log" >/dev/null 2>&1 &
			echo $! >"$dir/$p/pid"
			echo "$p" >>"$dir/ports"
			addrs+=("127.0.0.1:$p")
		done
		up=1
		for p in $(cat "$dir/ports"); do
			for _ in $(seq 100); do
				redis-cli -p "$p" ping 2>/dev/null | grep -q PONG && continue 2
				kill -0 "$(cat "$dir/$p/pid")" 2>/dev/null || break
				sleep 0.05
			done
			up=0
			break
		done
		if ((up)); then
			started=1
			break
		fi
		echo "cluster.sh: a node at base port $base did not come up; trying another" >&2
		"$0" stop "$dir"
		for p in $(cat "$dir/ports"); do rm -rf "${dir:?}/$p"; done
	done
	((started)) || { echo "cluster.sh: no free ports" >&2; exit 1; }
	redis-cli --cluster create "${addrs[@]}" --cluster-replicas "$replicas" --cluster-yes \
		>"$dir/create.log" 2>&1 || { cat "$dir/create.log" >&2; exit 1; }
	wait_ok 20
	# Replicas: wait until each is in sync with its master (one that never synced
	# cannot take over).
	if ((replicas)); then
		limit=$(( $(date +%s) + 20 ))
		for p in $(cat "$dir/ports"); do
			redis-cli -p "$p" info replication | grep -q '^role:slave' || continue
			until redis-cli -p "$p" info replication | grep -q '^master_link_status:up'; do
				(( $(date +%s) < limit )) || { echo "cluster.sh: replica $p not in sync" >&2; exit 1; }
				sleep 0.1
			done
		done
	fi
	seeds=$(IFS=,; echo "${addrs[*]:0:$masters}")
	echo "$seeds" >"$dir/seeds"
	echo "$seeds"
	;;
stop)
	[ -f "$dir/ports" ] || exit 0
	for p in $(cat "$dir/ports"); do
		[ -f "$dir/$p/pid" ] && kill "$(cat "$dir/$p/pid")" 2>/dev/null || true
	done
	for p in $(cat "$dir/ports"); do
		[ -f "$dir/$p/pid" ] || continue
		pid=$(cat "$dir/$p/pid")
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -9 "$pid" 2>/dev/null || true
		rm -f "$dir/$p/pid"
	done
	;;
kill)
	p=${3:?port}
	kill -9 "$(cat "$dir/$p/pid")"
	touch "$dir/dead.$p"
	;;
wait-ok)
	wait_ok "${3:-20}"
	;;
*)
	echo "cluster.sh: unknown command $cmd" >&2
	exit 2
	;;
esac
