# SPDX-License-Identifier: MIT
"""Block bytes are views of the shared arena, not copies: what Python writes
through a NumPy view is what a C client (tier-peek, libtier) reads, and the
other way round."""
import subprocess

import numpy

import tierd

BS = 64 << 10


def peek_dump(peek, daemon, name, key):
    return subprocess.run([peek, "dump", daemon.socket, name, str(BS), bytes(key).hex()],
                          check=True, capture_output=True).stdout


def pattern(seed):
    return ((numpy.arange(BS, dtype=numpy.uint64) * 31 + seed) & 0xFF).astype(numpy.uint8)


def test_a_write_through_a_numpy_view_is_what_c_reads(client, daemon, ns_name, peek):
    ns = client.namespace(ns_name, BS)
    key = tierd.key_chain([b"zero-copy"])[0]
    with ns.alloc() as w:
        a = numpy.frombuffer(w.view, dtype=numpy.float32)
        a[:] = numpy.linspace(-1, 1, BS // 4, dtype=numpy.float32)
        expect = a.tobytes()
        assert w.commit(key)
    assert peek_dump(peek, daemon, ns_name, key) == expect


def test_an_in_place_write_to_an_acquired_block(client, daemon, ns_name, peek):
    ns = client.namespace(ns_name, BS)
    key = tierd.key_chain([b"in-place"])[0]
    ns.put(key, b"\0" * BS)
    with ns.acquire(key, writable=True) as view:
        numpy.frombuffer(view, dtype=numpy.uint8)[100:200] = 0xAB
    got = peek_dump(peek, daemon, ns_name, key)
    assert got[100:200] == b"\xab" * 100 and got[:100] == b"\0" * 100


def test_what_c_writes_is_what_the_view_shows(client, daemon, ns_name, peek):
    ns = client.namespace(ns_name, BS)
    key = tierd.key_chain([b"from-c"])[0]
    subprocess.run([peek, "fill", daemon.socket, ns_name, str(BS), bytes(key).hex(), "5"],
                   check=True)
    with ns.acquire(key) as view:
        assert numpy.array_equal(numpy.frombuffer(view, dtype=numpy.uint8), pattern(5))


def test_two_pins_of_a_block_are_the_same_memory(client, ns_name):
    ns = client.namespace(ns_name, BS)
    key = tierd.key_chain([b"same"])[0]
    ns.put(key, b"x")
    with ns.acquire(key, writable=True) as a, ns.acquire(key) as b:
        numpy.frombuffer(a, dtype=numpy.uint8)[0] = 42
        assert b[0] == 42  # no copy between them
        pa = numpy.frombuffer(a, dtype=numpy.uint8).__array_interface__["data"][0]
        pb = numpy.frombuffer(b, dtype=numpy.uint8).__array_interface__["data"][0]
        assert pa == pb
