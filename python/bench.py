#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Python save/load of KV blocks through tierd vs numpy.copyto of the same bytes.

    tools/bench/python.sh [--block-kib 256] [--batch 64] [--reps 30]

One rep saves a batch of blocks from a preallocated tensor into tierd
(Namespace.save_many: batched alloc, one memmove a block, batched commit) and
loads them back into a preallocated tensor (load_many: acquire_many, memmove,
release_many); the baseline is numpy.copyto of the same bytes between two
preallocated arrays, timed in the same run, interleaved with the others.
Prints the medians and the ratio copyto/tierd (1.0: as fast as copyto; the goal
is >= 0.8), and the same memmoves alone into and out of the pinned blocks ("bytes
only": what the calls cost without waiting for the daemon).  Needs a running tierd ($TIER_SOCKET or --socket).
"""
import argparse
import ctypes
import statistics
import time

import numpy

import tierd
from tierd.buffers import span
from tierd.client import _data


def aligned(nbytes, align=4096):
    """A page-aligned uint8 array, as tierd's arena blocks are."""
    raw = numpy.empty(nbytes + align, dtype=numpy.uint8)
    off = (-raw.__array_interface__["data"][0]) % align
    return raw[off:off + nbytes]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socket")
    ap.add_argument("--block-kib", type=int, default=256)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--torch", action="store_true", help="torch tensors instead of NumPy arrays")
    ap.add_argument("--unaligned", action="store_true",
                    help="buffers as numpy.empty returns them (not page-aligned)")
    a = ap.parse_args()
    bs, n = a.block_kib << 10, a.batch

    alloc = (lambda b: numpy.empty(b, dtype=numpy.uint8)) if a.unaligned else aligned
    src, dst, out = alloc(n * bs), alloc(n * bs), alloc(n * bs)
    src[:] = numpy.random.default_rng(1).integers(0, 256, n * bs, dtype=numpy.uint8)
    dst[:] = 0
    out[:] = 0
    if a.torch:
        import torch

        tsrc, tout = torch.from_numpy(src), torch.from_numpy(out)
    else:
        tsrc, tout = src, out

    c = tierd.Client(a.socket)
    ns = c.namespace(f"bench-py-{bs}", bs)
    t_copy, t_save, t_load, t_in, t_out = [], [], [], [], []
    sa, oa = span(tsrc, False).addr, span(tout, True).addr
    for rep in range(a.reps + 2):  # two warm-up reps
        keys = tierd.key_chain([b"rep %d block %d" % (rep, i) for i in range(n)])
        t0 = time.perf_counter()
        numpy.copyto(dst, src)
        t1 = time.perf_counter()
        stored = ns.save_many(keys, tsrc)
        t2 = time.perf_counter()
        loaded = ns.load_many(keys, tout)
        t3 = time.perf_counter()
        if stored != n or loaded != n:
            raise SystemExit(f"bench: stored {stored}, loaded {loaded} of {n}")
        if rep == 0 and not numpy.array_equal(out, src):
            raise SystemExit("bench: what was loaded is not what was saved")
        # Bytes only: the same memmoves into and out of the pinned blocks, no daemon call.
        batch = ns.acquire_many(keys, writable=True)
        with batch:
            addrs = [_data(c._c, h) for h in batch.handles]
            t4 = time.perf_counter()
            for i, a_ in enumerate(addrs):
                ctypes.memmove(a_, sa + i * bs, bs)
            t5 = time.perf_counter()
            for i, a_ in enumerate(addrs):
                ctypes.memmove(oa + i * bs, a_, bs)
            t6 = time.perf_counter()
        for k in keys:  # keep the host tier from filling (outside the timed part)
            ns.drop(k)
        if rep >= 2:
            t_copy.append(t1 - t0)
            t_save.append(t2 - t1)
            t_load.append(t3 - t2)
            t_in.append(t5 - t4)
            t_out.append(t6 - t5)
    c.close()

    mib = n * bs / (1 << 20)
    med = statistics.median
    print(f"{n} blocks of {a.block_kib} KiB ({mib:.0f} MiB) a batch, {a.reps} reps, "
          f"{'torch' if a.torch else 'numpy'}, buffers at page offset "
          f"{src.__array_interface__['data'][0] % 4096}; medians (min):")
    for name, t in (("numpy.copyto", t_copy), ("save_many", t_save), ("load_many", t_load),
                    ("bytes in", t_in), ("bytes out", t_out)):
        print(f"  {name:13s} {med(t) * 1e3:7.2f} ms ({min(t) * 1e3:6.2f})  "
              f"{mib / 1024 / med(t):5.2f} GiB/s")
    print(f"  ratio copyto/save {med(t_copy) / med(t_save):.2f}, "
          f"copyto/load {med(t_copy) / med(t_load):.2f} (goal >= 0.8); bytes only: "
          f"copyto/in {med(t_copy) / med(t_in):.2f}, copyto/out {med(t_copy) / med(t_out):.2f}")


if __name__ == "__main__":
    main()
