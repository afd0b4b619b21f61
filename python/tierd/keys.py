# SPDX-License-Identifier: MIT
"""Block keys: tier_key_next through the C library, so they are bit-for-bit libtier's.

A Key is the 128-bit tier_key {hi, lo}.  bytes(key) is 16 bytes, hi then lo, each
big-endian (the 128-bit key written most significant byte first); Key.from_bytes
reads that form back.  (The hash input is another matter: tier_key_next hashes
the parent as hi then lo, each little-endian; that is the C library's business.)
"""
import ctypes

from ._lib import lib, tier_key


class Key:
    """A 128-bit content key; hashable, comparable, immutable."""

    __slots__ = ("hi", "lo")

    def __init__(self, hi=0, lo=0):
        if not (0 <= hi < 1 << 64 and 0 <= lo < 1 << 64):
            raise ValueError("Key: hi and lo are 64-bit unsigned integers")
        object.__setattr__(self, "hi", hi)
        object.__setattr__(self, "lo", lo)

    def __setattr__(self, name, value):
        raise AttributeError("Key is immutable")

    @classmethod
    def from_bytes(cls, b):
        b = bytes(b)
        if len(b) != 16:
            raise ValueError("Key.from_bytes: 16 bytes (hi then lo, big-endian)")
        return cls(int.from_bytes(b[:8], "big"), int.from_bytes(b[8:], "big"))

    @classmethod
    def from_hex(cls, s):
        return cls.from_bytes(bytes.fromhex(s))

    def __bytes__(self):
        return self.hi.to_bytes(8, "big") + self.lo.to_bytes(8, "big")

    def hex(self):
        return f"{self.hi:016x}{self.lo:016x}"

    def __int__(self):
        return self.hi << 64 | self.lo

    def __eq__(self, other):
        return isinstance(other, Key) and self.hi == other.hi and self.lo == other.lo

    def __hash__(self):
        return hash((self.hi, self.lo))

    def __repr__(self):
        return f"Key(0x{self.hi:016x}, 0x{self.lo:016x})"

    def _c(self):
        return tier_key(self.hi, self.lo)

    @classmethod
    def _of(cls, k):
        """The Key of a tier_key from the library (in range by construction)."""
        key = object.__new__(cls)
        object.__setattr__(key, "hi", k.hi)
        object.__setattr__(key, "lo", k.lo)
        return key


ROOT = Key(0, 0)


def _as_key(k):
    if isinstance(k, Key):
        return k
    if isinstance(k, (bytes, bytearray, memoryview)) and len(k) == 16:
        return Key.from_bytes(k)
    raise TypeError(f"not a tierd key: {k!r} (a tierd.Key, or its 16 bytes)")


def c_keys(keys):
    """A ctypes array of tier_key for a sequence of Keys (or their 16-byte forms)."""
    arr = (tier_key * len(keys))()
    for i, k in enumerate(keys):
        k = _as_key(k)
        arr[i].hi = k.hi
        arr[i].lo = k.lo
    return arr


def key_next(parent, data):
    """tier_key_next(parent, data): the key of the block with bytes-like data after parent."""
    parent = ROOT if parent is None else _as_key(parent)
    if type(data) is bytes:  # the common case: ctypes passes the bytes' own buffer
        return Key._of(lib.tier_key_next(parent._c(), data, len(data)))
    mv = memoryview(data).cast("B")
    if mv.readonly:
        # bytes: ctypes passes its buffer, no copy; anything else read-only is copied once.
        buf = bytes(mv) if not isinstance(data, bytes) else data
        k = lib.tier_key_next(parent._c(), ctypes.cast(ctypes.c_char_p(buf), ctypes.c_void_p),
                              len(buf))
    else:
        n = mv.nbytes
        ptr = ctypes.addressof((ctypes.c_char * n).from_buffer(mv)) if n else None
        k = lib.tier_key_next(parent._c(), ptr, n)
    return Key._of(k)


def key_chain(blocks, parent=None):
    """The chained keys of consecutive blocks (each a bytes-like of its token bytes):
    key[0] = key_next(parent or ROOT, blocks[0]), key[i] = key_next(key[i-1], blocks[i])."""
    out = []
    k = ROOT if parent is None else _as_key(parent)
    for b in blocks:
        k = key_next(k, b)
        out.append(k)
    return out
