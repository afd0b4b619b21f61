# SPDX-License-Identifier: MIT
"""Two Python processes share blocks through one daemon: what one saves, the
other finds by the same keys, computed independently."""
import hashlib
import os
import subprocess
import sys

import numpy

import tierd

BS = 16 << 10
N = 8

CHILD = r"""
import hashlib, sys, numpy, tierd
sock, name, mode = sys.argv[1:4]
with tierd.Client(sock) as c:
    ns = c.namespace(name, %d)
    keys = tierd.key_chain([b"prompt block %%d" %% i for i in range(%d)])
    if mode == "save":
        src = numpy.random.default_rng(7).integers(0, 256, (%d, %d), dtype=numpy.uint8)
        print(ns.save_many(keys, src, chain=True))
    else:
        out = numpy.zeros((%d, %d), dtype=numpy.uint8)
        n = ns.load_many(keys, out)
        print(n, hashlib.sha256(out[:n].tobytes()).hexdigest())
""" % (BS, N, N, BS, N, BS)


def child(daemon, name, mode):
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-c", CHILD, daemon.socket, name, mode], env=env,
                       check=True, capture_output=True, text=True, timeout=60)
    return r.stdout.split()


def keys():
    return tierd.key_chain([b"prompt block %d" % i for i in range(N)])


def test_a_block_saved_by_one_process_is_loaded_by_another(daemon, client, ns_name):
    assert child(daemon, ns_name, "save") == [str(N)]
    ns = client.namespace(ns_name, BS)
    assert ns.lookup(keys()) == N
    out = numpy.zeros((N, BS), dtype=numpy.uint8)
    assert ns.load_many(keys(), out) == N
    src = numpy.random.default_rng(7).integers(0, 256, (N, BS), dtype=numpy.uint8)
    assert numpy.array_equal(out, src)


def test_this_process_saves_the_other_loads(daemon, client, ns_name):
    ns = client.namespace(ns_name, BS)
    src = numpy.random.default_rng(7).integers(0, 256, (N, BS), dtype=numpy.uint8)
    assert ns.save_many(keys()[:5], src[:5]) == 5
    n, digest = child(daemon, ns_name, "load")
    assert int(n) == 5 and digest == hashlib.sha256(src[:5].tobytes()).hexdigest()
    # A pin held here does not stop the other process from reading the block.
    with ns.acquire(keys()[0]):
        n, _ = child(daemon, ns_name, "load")
        assert int(n) == 5
