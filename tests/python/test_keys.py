# SPDX-License-Identifier: MIT
"""Keys are bit for bit libtier's: tests/data/key_vectors.txt, generated once by
the C library (tier-peek key-vectors) and checked by tests/unit/test_key.c too."""
import ctypes
import os
import subprocess

import numpy
import pytest

import tierd
from tierd import _lib

VECTORS = os.path.join(os.path.dirname(__file__), "..", "data", "key_vectors.txt")


def vectors():
    out = []
    with open(VECTORS) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            parent, data, key = line.split()
            out.append((tierd.Key.from_hex(parent),
                        b"" if data == "-" else bytes.fromhex(data), tierd.Key.from_hex(key)))
    return out


def test_vector_file_is_there():
    assert len(vectors()) >= 16


@pytest.mark.parametrize("parent,data,key", vectors())
def test_key_next_matches_the_c_library(parent, data, key):
    assert tierd.key_next(parent, data) == key
    # Any bytes-like object hashes the same bytes: bytearray, memoryview, NumPy tokens.
    assert tierd.key_next(parent, bytearray(data)) == key
    assert tierd.key_next(parent, numpy.frombuffer(data, dtype=numpy.uint8)) == key


def test_key_chain_follows_the_chains_of_the_file():
    runs, run = [], []
    for parent, data, key in vectors():
        if run and parent != run[-1][2]:
            runs.append(run)
            run = []
        run.append((parent, data, key))
    runs.append(run)
    assert any(len(r) >= 3 for r in runs)
    for r in runs:
        parent = r[0][0]
        chain = tierd.key_chain([d for _, d, _ in r], parent=None if parent == tierd.ROOT
                                else parent)
        assert chain == [k for _, _, k in r]


def test_bytes_of_a_key_are_hi_then_lo_big_endian():
    k = tierd.key_chain([b"hello world"])[0]
    assert (k.hi, k.lo) == (0x169A3FD498B0FF9E, 0xFFB28C60198D95F2)
    assert bytes(k) == bytes.fromhex("169a3fd498b0ff9effb28c60198d95f2")
    assert len(bytes(k)) == 16
    assert tierd.Key.from_bytes(bytes(k)) == k and hash(tierd.Key.from_bytes(bytes(k))) == hash(k)
    assert int(k) == int.from_bytes(bytes(k), "big")


def test_keys_are_checked():
    with pytest.raises(ValueError):
        tierd.Key(1 << 64, 0)
    with pytest.raises(ValueError):
        tierd.Key.from_bytes(b"short")
    with pytest.raises(AttributeError):
        tierd.ROOT.hi = 1


def test_ctypes_structs_match_the_c_header(peek):
    sizes = dict(line.split() for line in
                 subprocess.run([peek, "sizes"], check=True, capture_output=True,
                                text=True).stdout.splitlines())
    assert sizes  # the helper printed something
    for name, size in sizes.items():
        assert ctypes.sizeof(getattr(_lib, name)) == int(size), name
