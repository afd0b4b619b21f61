# SPDX-License-Identifier: MIT
"""ctypes declarations of libtier/tier.h: the library, its structs, its prototypes.

The library is found through $LIBTIER_PATH (a path to libtier.so) when it is set,
else through the system's loader (libtier.so.0, as `meson install` puts it).  The
structs below mirror tier.h field by field; tests/python checks their sizes
against the C compiler's (tests/python/abi_sizes.c).
"""
import ctypes
import ctypes.util
import os

c_u8, c_u16, c_u32, c_u64 = ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64
c_i32, c_int, c_size, c_void_p = ctypes.c_int32, ctypes.c_int, ctypes.c_size_t, ctypes.c_void_p

TIER_NAME_MAX = 63
TIER_NS_ALL = 0xFFFFFFFF
TIER_COUNT = 3
TIER_GPU, TIER_HOST, TIER_NVME, TIER_NONE = 0, 1, 2, 0xFF

# enum tier_op_code
OP_NOP, OP_LOOKUP, OP_ACQUIRE, OP_RELEASE, OP_ALLOC, OP_COMMIT, OP_DROP, OP_PREFETCH = range(8)
OPF_PARENT = 0x01


class tier_key(ctypes.Structure):
    _fields_ = [("hi", c_u64), ("lo", c_u64)]


tier_handle = c_u64


class tier_op(ctypes.Structure):
    _fields_ = [("opcode", c_u8), ("flags", c_u8), ("reserved", c_u16), ("ns", c_u32),
                ("user_data", c_u64), ("key", tier_key), ("parent", tier_key),
                ("handle", tier_handle)]


class tier_cqe(ctypes.Structure):
    _fields_ = [("user_data", c_u64), ("res", c_i32), ("reserved", c_u32),
                ("handle", tier_handle)]


class tier_tier_stats(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 16)] + [
        (n, c_u64) for n in ("capacity_bytes", "used_bytes", "blocks", "pinned_blocks", "hits",
                             "misses", "evictions", "read_bytes", "write_bytes", "promotions",
                             "demotions", "io_errors", "checksum_failures", "queue_depth")
    ] + [(n, ctypes.c_double) for n in ("read_p50_us", "read_p99_us", "write_p50_us",
                                         "write_p99_us")]


class tier_ns_stats(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * (TIER_NAME_MAX + 1)), ("id", c_u32),
                ("block_size", c_u64), ("blocks", c_u64), ("hits", c_u64), ("misses", c_u64)]


class tier_op_stats(ctypes.Structure):
    _fields_ = [(n, c_u64) for n in ("alloc", "commit", "lookup", "acquire", "release", "drop",
                                      "errors", "prefetch", "flush", "refused_handles",
                                      "refused_access", "lease_expiries", "io_timeouts")]


class tier_stats(ctypes.Structure):
    _fields_ = [("size", c_u32), ("abi_version", c_u32), ("uptime_s", c_u64),
                ("clients", c_u64), ("version", ctypes.c_char * 16),
                ("policy_evict", ctypes.c_char * 32), ("n_tiers", c_u32),
                ("tiers", tier_tier_stats * TIER_COUNT), ("ops", tier_op_stats),
                ("n_namespaces", c_u32)]


def to_dict(s):
    """A ctypes struct as a dict (nested structs and arrays of them too; char arrays as str)."""
    out = {}
    for name, typ in s._fields_:
        v = getattr(s, name)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        elif isinstance(v, ctypes.Structure):
            v = to_dict(v)
        elif isinstance(v, ctypes.Array):
            v = [to_dict(x) for x in v]
        out[name] = v
    return out


def _find():
    path = os.environ.get("LIBTIER_PATH")
    if path:
        return path
    # The soname first: what `meson install` and a distribution package provide.
    for name in ("libtier.so.0", ctypes.util.find_library("tier")):
        if name:
            try:
                ctypes.CDLL(name)
                return name
            except OSError:
                pass
    raise ImportError("libtier not found: set LIBTIER_PATH to the path of libtier.so, "
                      "or install tierd (meson install) so that the loader finds libtier.so.0")


lib = ctypes.CDLL(_find(), use_errno=False)
PATH = lib._name

_P = ctypes.POINTER
_protos = {
    "tier_connect": (c_int, [ctypes.c_char_p, _P(c_void_p)]),
    "tier_reconnect": (c_int, [c_void_p]),
    "tier_close": (None, [c_void_p]),
    "tier_namespace": (c_int, [c_void_p, ctypes.c_char_p, c_size, _P(c_u32)]),
    "tier_key_next": (tier_key, [tier_key, c_void_p, c_size]),
    "tier_alloc": (c_int, [c_void_p, c_u32, _P(tier_handle)]),
    "tier_data": (c_void_p, [c_void_p, tier_handle]),
    "tier_commit": (c_int, [c_void_p, tier_handle, tier_key]),
    "tier_commit_chain": (c_int, [c_void_p, tier_handle, tier_key, tier_key]),
    "tier_lookup": (c_int, [c_void_p, c_u32, _P(tier_key), c_size]),
    "tier_acquire": (c_int, [c_void_p, c_u32, tier_key, _P(tier_handle)]),
    "tier_release": (c_int, [c_void_p, tier_handle]),
    "tier_drop": (c_int, [c_void_p, c_u32, tier_key]),
    "tier_hint": (c_int, [c_void_p, c_u32, _P(tier_key), c_size, c_i32]),
    "tier_keepalive": (c_int, [c_void_p]),
    "tier_prefetch": (c_int, [c_void_p, c_u32, _P(tier_key), c_size]),
    "tier_flush": (c_int, [c_void_p, c_u32]),
    "tier_lookup_many": (c_int, [c_void_p, c_u32, _P(tier_key), c_size, _P(c_u8)]),
    "tier_acquire_many": (c_int, [c_void_p, c_u32, _P(tier_key), c_size, _P(tier_handle)]),
    "tier_release_many": (c_int, [c_void_p, _P(tier_handle), c_size]),
    "tier_commit_many": (c_int, [c_void_p, _P(tier_handle), _P(tier_key), c_size]),
    "tier_submit": (c_int, [c_void_p, c_void_p, c_size]),  # &ops[k]: an address
    "tier_reap": (c_int, [c_void_p, _P(tier_cqe), c_size, c_int]),
    "tier_admin_drop_namespace": (c_int, [c_void_p, ctypes.c_char_p]),
    "tier_strerror": (ctypes.c_char_p, [c_int]),
    "tier_stats_get": (c_int, [c_void_p, _P(tier_stats), _P(tier_ns_stats), c_size]),
}
for _name, (_res, _args) in _protos.items():
    _f = getattr(lib, _name)
    _f.restype, _f.argtypes = _res, _args
