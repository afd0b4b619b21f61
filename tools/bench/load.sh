# Sourced by the benchmark scripts: the --load N option, N busy processes
# (sh -c 'while :; do :; done') beside a measurement, as engines computing
# on every core would be.  Each is bounded by timeout(1) and killed by PID.
#   load_parse "$@"   sets load (default 0) and args (the other arguments)
#   load_start        starts $load of them; load_stop kills them
load=0
args=()
load_pids=()

load_parse() {
	while [ $# -gt 0 ]; do
		case $1 in
		--load) load=${2:?--load needs a count}; shift 2 ;;
		--load=*) load=${1#--load=}; shift ;;
		*) args+=("$1"); shift ;;
		esac
	done
	case $load in
	'' | *[!0-9]*) echo "--load: not a count: $load" >&2; exit 2 ;;
	esac
}

load_start() {
	for _ in $(seq "$load"); do
		timeout 3600 sh -c 'while :; do :; done' &
		load_pids+=($!)
	done
}

load_stop() {
	for p in "${load_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${load_pids[@]}"; do wait "$p" 2>/dev/null || true; done
	load_pids=()
}
