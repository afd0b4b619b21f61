# SPDX-License-Identifier: MIT
"""PyTorch: views with torch.frombuffer, and batched save/load of many blocks
out of and into one contiguous tensor.  (The only test file importing torch.)"""
import warnings

import pytest
import torch

import tierd

BS = 64 << 10


def test_torch_frombuffer_over_a_view(client, ns_name):
    ns = client.namespace(ns_name, BS)
    key = tierd.key_chain([b"torch"])[0]
    with ns.alloc() as w:
        t = torch.frombuffer(w.view, dtype=torch.float16)
        t.copy_(torch.arange(BS // 2, dtype=torch.float16))
        w.commit(key)
    with ns.acquire(key, writable=True) as view:
        t = torch.frombuffer(view, dtype=torch.float16)
        assert torch.equal(t[:100], torch.arange(100, dtype=torch.float16))
    with ns.acquire(key) as view:  # read-only: torch warns that it cannot tell
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = torch.frombuffer(view, dtype=torch.float16)
        assert float(t[7]) == 7.0


@pytest.mark.parametrize("chain", [False, True])
def test_save_many_load_many_round_trip(client, ns_name, chain):
    ns = client.namespace(ns_name, BS)
    n = 32
    keys = tierd.key_chain([b"t%d" % i for i in range(n)], parent=tierd.Key(chain, 1))
    src = torch.randn(n, BS // 2, dtype=torch.float32).to(torch.bfloat16)
    assert src.numel() * src.element_size() == n * BS
    assert ns.save_many(keys, src, chain=chain) == n
    out = torch.empty_like(src)
    assert ns.load_many(keys, out) == n
    assert torch.equal(out, src)
    # Into chosen pages of a larger pool, and the leading prefix only.
    pool = torch.zeros(n * 2, BS, dtype=torch.uint8)
    pages = list(range(2 * n - 1, -1, -2))
    assert ns.load_many(keys, pool, pages=pages) == n
    assert torch.equal(pool[pages].view(torch.bfloat16).reshape(n, -1), src)
    ns.drop(keys[5])
    assert ns.load_many(keys, out) == 5


def test_tensors_that_cannot_be_addressed_are_refused(client, ns_name):
    ns = client.namespace(ns_name, BS)
    keys = tierd.key_chain([b"a", b"b"])
    with pytest.raises(ValueError):
        ns.save_many(keys, torch.zeros(BS, 2, dtype=torch.uint8).t())  # not contiguous
    with pytest.raises(ValueError):
        ns.load_many(keys, torch.zeros(BS, dtype=torch.uint8))  # holds one block, not two
