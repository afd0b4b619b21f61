# SPDX-License-Identifier: MIT
"""tierd.sglang.TierHiCacheStorage against the documented semantics of SGLang's
HiCacheStorage (SGLang itself cannot be installed here).  The host pool below is
laid out as SGLang's page-first MHA host pool (MHATokenToKVPoolHost): one
buffer [2 (k, v), tokens, layers, heads, head_dim], and get_page_buffer_meta
giving each page's k part then its v part."""
import hashlib
import types

import torch

import tierd
from tierd.sglang import TierHiCacheStorage, page_key


class PageFirstHostPool:
    def __init__(self, pages, page_size=4, layers=2, heads=2, head_dim=8,
                 dtype=torch.bfloat16):
        self.page_size, self.layer_num, self.head_num, self.head_dim = (page_size, layers,
                                                                         heads, head_dim)
        self.size = pages * page_size
        self.kv_buffer = torch.zeros(2, self.size, layers, heads, head_dim, dtype=dtype)
        self.itemsize = self.kv_buffer.element_size()

    def get_page_buffer_meta(self, indices):
        indices = indices.tolist()  # SGLang passes a tensor (and so does tierd.sglang)
        assert len(indices) % self.page_size == 0
        token = self.layer_num * self.head_num * self.head_dim * self.itemsize
        v_offset = self.size * token
        base = self.kv_buffer.data_ptr()
        ptrs = []
        for i in range(0, len(indices), self.page_size):
            k = base + indices[i] * token
            ptrs += [k, k + v_offset]
        return ptrs, [token * self.page_size] * len(ptrs)

    def page(self, p):
        s = slice(p * self.page_size, (p + 1) * self.page_size)
        return self.kv_buffer[:, s].clone()


def hash_keys(n, salt=""):
    """Page keys as SGLang makes them: hex SHA-256 chained over the pages' tokens."""
    keys, prior = [], b""
    for i in range(n):
        h = hashlib.sha256(prior + f"{salt}{i}".encode()).hexdigest()
        keys.append(h)
        prior = bytes.fromhex(h)
    return keys


def config(name, rank=0, size=1, mla=False, **extra):
    return types.SimpleNamespace(tp_rank=rank, tp_size=size, is_mla_model=mla,
                                 is_page_first_layout=True, model_name=name,
                                 extra_config=extra)


def test_page_keys_are_deterministic_tierd_keys():
    k = hash_keys(1)[0]
    assert page_key(k) == tierd.key_next(tierd.ROOT, k.encode())
    assert page_key(k) == page_key(str(k)) and page_key(k) != page_key(k + "0")


def test_get_set_exists(daemon, ns_name):
    st = TierHiCacheStorage(config(ns_name, socket_path=daemon.socket))
    keys = hash_keys(3)
    assert not st.exists(keys[0]) and st.get(keys[0]) is None  # nothing opened yet
    v = torch.arange(1024, dtype=torch.float32)
    assert st.set(keys[0], v) is True
    assert st.exists(keys[0]) and not st.exists(keys[1])
    got = st.get(keys[0])
    assert torch.equal(got.view(torch.float32), v)
    # Into a target location, in place; a stored page keeps its first value.
    assert st.set(keys[0], torch.zeros(1024)) is True
    target = torch.empty(1024, dtype=torch.float32)
    assert st.get(keys[0], target) is target and torch.equal(target, v)
    assert st.get(keys[1], target) is None
    assert st.ns.name == f"sglang-{ns_name}-tp0of1"
    assert st.get_stats()["blocks"] == 1
    st.close()


def test_batch_set_get_exists(daemon, ns_name):
    st = TierHiCacheStorage(config(ns_name, rank=1, size=2, socket_path=daemon.socket),
                            page_bytes=4096)
    keys = hash_keys(6)
    vals = [torch.full((1024,), float(i)) for i in range(6)]
    assert st.batch_set(keys[:4], vals[:4]) is True
    assert st.batch_exists(keys) == 4
    assert st.batch_exists(keys[1:]) == 3
    assert st.batch_exists(keys[4:]) == 0
    assert st.batch_set([keys[5]], [vals[5]]) is True
    assert st.batch_exists(keys) == 4  # the leading run stops at the gap
    got = st.batch_get(keys)
    assert [g is None for g in got] == [False] * 4 + [True, False]
    assert torch.equal(got[2].view(torch.float32), vals[2])
    targets = [torch.empty(1024) for _ in keys]
    got = st.batch_get(keys, targets)
    assert got[0] is targets[0] and torch.equal(targets[3], vals[3]) and got[4] is None
    st.clear()  # tierd drops the namespace's blocks (the tests run as the daemon's user)
    assert st.batch_exists(keys) == 0 and st.get_stats()["blocks"] == 0
    st.close()


def test_mla_models_share_pages_across_ranks(daemon, ns_name):
    a = TierHiCacheStorage(config(ns_name, rank=0, size=2, mla=True,
                                  socket_path=daemon.socket), page_bytes=4096)
    b = TierHiCacheStorage(config(ns_name, rank=1, size=2, mla=True,
                                  socket_path=daemon.socket), page_bytes=4096)
    k = hash_keys(1)[0]
    assert a.set(k, bytes(4096))
    assert b.exists(k)
    a.close()
    b.close()


def test_batch_set_v1_get_v1_through_the_host_pool(daemon, ns_name):
    pool = PageFirstHostPool(pages=8)
    pool.kv_buffer.copy_(torch.randn(pool.kv_buffer.shape).to(pool.kv_buffer.dtype))
    st = TierHiCacheStorage(config(ns_name, socket_path=daemon.socket))
    st.register_mem_pool_host(pool)
    assert st.ns.block_size == 2 * pool.page_size * pool.layer_num * pool.head_num * \
        pool.head_dim * pool.itemsize
    keys = hash_keys(3, "v1")
    idx = torch.tensor([i for p in (1, 4, 6) for i in range(p * 4, p * 4 + 4)])
    assert st.batch_set_v1(keys, idx) == [True, True, True]
    assert st.batch_exists(keys) == 3
    assert st.batch_set_v1(keys[:2], idx[:8]) == [True, True]  # stored already: skipped
    # Load into other pages of a second pool of the same shape.
    other = PageFirstHostPool(pages=8)
    st2 = TierHiCacheStorage(config(ns_name, socket_path=daemon.socket))
    st2.register_mem_pool_host(other)
    dst = torch.tensor([i for p in (0, 2, 7) for i in range(p * 4, p * 4 + 4)])
    assert st2.batch_get_v1(keys, dst) == [True, True, True]
    for src_page, dst_page in ((1, 0), (4, 2), (6, 7)):
        assert torch.equal(other.page(dst_page), pool.page(src_page))
    assert torch.equal(other.page(1), torch.zeros_like(other.page(1)))
    # A missing page ends the loaded prefix.
    missing = hash_keys(1, "never stored")
    assert st2.batch_get_v1([keys[0]] + missing + [keys[2]], dst) == [True, False, False]
    st.close()
    st2.close()
