#!/usr/bin/env bash
# `meson install` into a DESTDIR holds the whole installed tree, and a C
# program builds against it with `pkg-config --cflags --libs libtier` alone
# and runs against the installed daemon (the 0.1 API and the LIBTIER_0.2
# admin calls).
# usage: install.sh MESON BUILD_ROOT PREFIX LIBDIR SYSCONFDIR CC SANITIZE
set -euo pipefail
meson=$1 build=$2 prefix=$3 libdir=$4 sysconfdir=$5 cc=$6 sanitize=${7:-none}
command -v pkg-config >/dev/null || { echo "skip: no pkg-config"; exit 77; }
tmp=$(mktemp -d /tmp/tierd-install.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
dest=$tmp/dest
"$meson" install -C "$build" --no-rebuild --destdir "$dest" --quiet >/dev/null

root=$dest$prefix
case $libdir in /*) lib=$dest$libdir ;; *) lib=$root/$libdir ;; esac
case $sysconfdir in /*) etc=$dest$sysconfdir ;; *) etc=$root/$sysconfdir ;; esac
missing=0
for f in "$root/sbin/tierd" "$root/bin/tierctl" "$root/bin/tierbench" "$root/bin/tiersim" \
	"$lib/libtier.so" "$lib/libtier.so.0" "$lib/pkgconfig/libtier.pc" \
	"$root/include/tier.h" "$etc/tierd/tierd.conf" \
	"$root/share/man/man8/tierd.8" "$root/share/man/man8/tierctl.8" \
	"$root/share/man/man5/tierd.conf.5" "$root/share/man/man3/libtier.3"; do
	[ -e "$f" ] || { echo "not installed: ${f#$dest}"; missing=1; }
done
unit=$(find "$dest" -name tierd.service | head -1)
[ -n "$unit" ] || { echo "not installed: tierd.service"; missing=1; }
find "$dest" -path '*sysusers.d/tierd.conf' | grep -q . || { echo "not installed: sysusers.d/tierd.conf"; missing=1; }
((missing == 0))
# The soname, the version script's nodes, nothing private exported.
objdump -p "$lib/libtier.so" | grep -q 'SONAME *libtier.so.0'
nm -D --defined-only "$lib/libtier.so" | grep -q ' tier_admin_status@@LIBTIER_0.2'
nm -D --defined-only "$lib/libtier.so" | grep -q ' tier_connect@@LIBTIER_0.1'
! nm -D --defined-only "$lib/libtier.so" | grep -v '@@LIBTIER_\|A LIBTIER_' | grep -q ' T '
# Internal headers stay inside.
[ ! -e "$root/include/proto.h" ] && [ ! -e "$root/include/prom.h" ]
# The unit names the installed daemon and config.
grep -q "^ExecStart=$prefix/sbin/tierd .*$([ "${sysconfdir:0:1}" = / ] && echo "$sysconfdir" || echo "$prefix/$sysconfdir")/tierd/tierd.conf" "$unit"

cat >"$tmp/prog.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <tier.h>

int main(void)
{
	struct tier_daemon_status st = { .size = sizeof(st) };
	struct tier_ns_info ns[4];
	tier_client *c;
	tier_handle h;
	uint32_t id;
	tier_key k = tier_key_next(TIER_KEY_ROOT, "abc", 3);

	if (tier_connect(NULL, &c) < 0 || tier_namespace(c, "pc", 4096, &id) < 0 ||
	    tier_alloc(c, id, &h) < 0)
		return 1;
	memset(tier_data(c, h), 7, 4096);
	if (tier_commit(c, h, k) < 0 || tier_lookup(c, id, &k, 1) != 1 ||
	    tier_admin_status(c, &st) < 0 || tier_admin_namespaces(c, ns, 4) != 1 ||
	    ns[0].blocks != 1)
		return 1;
	printf("pkg-config program: daemon pid %u, namespace %s holds %llu block\n", st.pid,
	       ns[0].name, (unsigned long long)ns[0].blocks);
	tier_close(c);
	return 0;
}
C
export PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs libtier)
san=()
[ "$sanitize" != none ] && san=(-fsanitize="$sanitize")
$cc -std=gnu11 -Wall -Wextra -Werror "${san[@]}" "$tmp/prog.c" $flags -o "$tmp/prog"

"$root/sbin/tierd" -f -o daemon.socket="$tmp/sock" -o host.size=16M 2>"$tmp/log" &
pid=$!
for _ in $(seq 200); do [ -S "$tmp/sock" ] && break; sleep 0.05; done
export TIER_SOCKET=$tmp/sock LD_LIBRARY_PATH=$lib
"$tmp/prog"
# The installed tierctl runs from the installed library.
"$root/bin/tierctl" namespaces | grep -q '^pc '
# The Python binding, installed into Python's site directory, finds the installed
# libtier.so.0 through the loader (no $LIBTIER_PATH) and reads the block above.
pyinit=$(find "$dest" -path '*-packages/tierd/__init__.py' | head -1)
if [ -n "$pyinit" ] && [ "$sanitize" = none ] && [ -x /usr/bin/python3 ]; then
	env -u LIBTIER_PATH PYTHONPATH="$(dirname "$(dirname "$pyinit")")" /usr/bin/python3 -c '
import tierd
with tierd.Client() as c:
    assert c.namespace("pc", 4096).lookup([tierd.key_next(tierd.ROOT, b"abc")]) == 1
print("python: the installed tierd package read the block through", tierd.LIBTIER_PATH)'
fi
echo "install: tree complete, pkg-config build ran against the installed daemon"
