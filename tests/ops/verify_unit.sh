#!/usr/bin/env bash
# `systemd-analyze verify` accepts tierd.service: the unit as built, with its
# ExecStart pointed at the tierd being tested (verify insists that the binary
# exists) and the man pages it names found in the source tree.
# usage: verify_unit.sh UNIT TIERD MANDIR
set -euo pipefail
unit=$1 tierd=$2 mandir=$3
command -v systemd-analyze >/dev/null || { echo "skip: no systemd-analyze"; exit 77; }
tmp=$(mktemp -d /tmp/tierd-unit.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
sed -E "s|^ExecStart=[^ ]+|ExecStart=$tierd|" "$unit" >"$tmp/tierd.service"
for m in tierd.8 tierctl.8 tierd.conf.5; do
	d=$tmp/man/man${m##*.}; mkdir -p "$d"; cp "$mandir/$m" "$d/"
done
grep -q '^Type=notify$' "$tmp/tierd.service"
grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$tmp/tierd.service"
grep -q '^LimitMEMLOCK=infinity$' "$tmp/tierd.service"
grep -q '^SystemCallFilter=io_uring_setup io_uring_enter io_uring_register$' "$tmp/tierd.service"
if ! MANPATH=$tmp/man systemd-analyze verify "$tmp/tierd.service" >"$tmp/out" 2>&1; then
	cat "$tmp/out"; exit 1
fi
if [ -s "$tmp/out" ]; then cat "$tmp/out"; exit 1; fi
echo "systemd-analyze verify: tierd.service is clean"
