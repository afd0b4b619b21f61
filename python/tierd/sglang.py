# SPDX-License-Identifier: MIT
"""A storage backend with the interface of SGLang's HiCache L3 storage.

TierHiCacheStorage implements the methods of SGLang's HiCacheStorage
(python/sglang/srt/mem_cache/hicache_storage.py) over a tierd namespace:

- a page key (SGLang's string: the hex SHA-256 of the page's tokens chained to
  the previous page's key) is mapped to the tierd key
  key_next(ROOT, key.encode()): XXH3-128 of the string, the same in every
  process and after every restart;
- a page is one block; the namespace is one per model and tensor-parallel rank
  (sglang-MODEL-tpRANKofSIZE; MLA models share the pages across ranks, so
  their namespace has no rank), with the page's size in bytes as block size.

The semantics follow SGLang's documentation of each method (docs/PYTHON.md
lists them).  SGLang itself cannot be installed here, so this is tested against
those semantics (tests/python/test_sglang.py with a host pool built like
SGLang's page-first MHA pool), not against SGLang.
"""
import logging

from .client import Client
from .errors import NoSpace
from .keys import ROOT, key_next

try:  # Inside SGLang, be one of its storage backends.
    from sglang.srt.mem_cache.hicache_storage import HiCacheStorage as _Base
except ImportError:  # pragma: no cover - SGLang is not installable here
    _Base = object

log = logging.getLogger("tierd.sglang")


def page_key(key):
    """The tierd key of an SGLang page key (a str)."""
    return key_next(ROOT, key.encode())


def _namespace_name(cfg, explicit):
    if explicit:
        return explicit
    if cfg is None:
        return "sglang"
    model = (getattr(cfg, "model_name", None) or "model").replace("/", "_")
    if getattr(cfg, "is_mla_model", False):
        name = f"sglang-{model}"
    else:
        name = f"sglang-{model}-tp{cfg.tp_rank}of{cfg.tp_size}"
    if len(name) > 63:
        # Keep the rank and a digest of the model, so distinct models stay apart.
        digest = page_key(name).hex()[:16]
        name = f"sglang-{digest}-tp{getattr(cfg, 'tp_rank', 0)}"[:63]
    return name


class TierHiCacheStorage(_Base):
    """HiCache L3 storage in tierd.  storage_config: SGLang's HiCacheStorageConfig
    (tp_rank, tp_size, is_mla_model, model_name, extra_config); extra_config may
    carry "socket_path", "namespace" and "page_bytes".  The namespace opens at the
    first call that knows a page's size: page_bytes, the registered host pool's
    page, or the first value stored."""

    def __init__(self, storage_config=None, socket_path=None, namespace=None, page_bytes=None,
                 client=None):
        extra = (getattr(storage_config, "extra_config", None) or {}) if storage_config else {}
        self.storage_config = storage_config
        self.client = client or Client(socket_path or extra.get("socket_path"))
        self.namespace_name = _namespace_name(storage_config, namespace or extra.get("namespace"))
        self.page_bytes = page_bytes or extra.get("page_bytes")
        self.mem_pool_host = None
        self.ns = None
        if self.page_bytes:
            self._open(int(self.page_bytes))

    # ---- plumbing ----
    def _open(self, page_bytes):
        if self.ns is None:
            self.ns = self.client.namespace(self.namespace_name, page_bytes)
            self.page_bytes = page_bytes
        elif page_bytes != self.ns.block_size:
            raise ValueError(f"tierd.sglang: a page of {page_bytes} bytes in a namespace of "
                             f"{self.ns.block_size}-byte pages")
        return self.ns

    def _segments(self, host_indices):
        """Per page: the [(address, bytes)] of its parts in the host pool."""
        pool = self.mem_pool_host
        if pool is None:
            raise RuntimeError("tierd.sglang: register_mem_pool_host() first")
        ptrs, sizes = pool.get_page_buffer_meta(host_indices)
        pages = len(host_indices) // pool.page_size
        if pages == 0 or len(ptrs) % pages or len(ptrs) != len(sizes):
            raise ValueError("tierd.sglang: the host pool's page metadata does not divide "
                             "into pages")
        per = len(ptrs) // pages
        segs = [list(zip(ptrs[p * per:(p + 1) * per], sizes[p * per:(p + 1) * per]))
                for p in range(pages)]
        self._open(sum(s for _, s in segs[0]))
        return segs

    @staticmethod
    def _tensor_like(data):
        import torch

        return torch.frombuffer(bytearray(data), dtype=torch.uint8)

    # ---- HiCacheStorage ----
    def register_mem_pool_host(self, mem_pool_host):
        """The host KV pool that batch_get_v1/batch_set_v1 address by host_indices: it
        has page_size and get_page_buffer_meta(indices) -> (pointers, sizes), a page's
        parts in order, as SGLang's HostKVCache."""
        self.mem_pool_host = mem_pool_host
        if self.ns is None:
            try:  # SGLang's pools take a tensor of indices (and call .tolist() on it)
                import torch

                first = torch.arange(mem_pool_host.page_size, dtype=torch.int64)
            except ImportError:
                first = list(range(mem_pool_host.page_size))
            self._segments(first)

    def exists(self, key):
        """True when the page is stored."""
        return self.ns is not None and self.ns.lookup([page_key(key)]) == 1

    def batch_exists(self, keys, extra_info=None):
        """The number of leading keys that are stored (one tier_lookup)."""
        if self.ns is None or not keys:
            return 0
        return self.ns.lookup([page_key(k) for k in keys])

    def get(self, key, target_location=None, target_sizes=None):
        """The page of key: copied into target_location (a CPU tensor or array of the
        page's size), which is returned, or into a new uint8 tensor; None when the
        page is not stored."""
        if self.ns is None:
            return None
        k = page_key(key)
        if target_location is not None:
            return target_location if self.ns.load_many([k], target_location) == 1 else None
        data = self.ns.get(k)
        return None if data is None else self._tensor_like(data)

    def batch_get(self, keys, target_locations=None, target_sizes=None):
        """get() of each key: a list with the page (or None) for each."""
        if target_locations is None:
            return [self.get(k) for k in keys]
        return [self.get(k, loc) for k, loc in zip(keys, target_locations)]

    def set(self, key, value=None, target_location=None, target_sizes=None):
        """Store value (a CPU tensor, array or bytes-like of one page) under key.  True
        when the page is stored (now or before), False when tierd has no room."""
        if value is None:
            raise ValueError("tierd.sglang: set() needs a value")
        from .buffers import span

        self._open(span(value, writable=False).nbytes)
        try:
            self.ns.save_many([page_key(key)], value)
        except NoSpace:
            log.warning("tierd.sglang: no room for page %s", key)
            return False
        return True

    def batch_set(self, keys, values=None, target_locations=None, target_sizes=None):
        """set() of each key/value pair; True when every page is stored."""
        ok = True
        for k, v in zip(keys, values):
            ok = self.set(k, v) and ok
        return ok

    def batch_get_v1(self, keys, host_indices, extra_info=None):
        """Load the pages of keys into the host pool at host_indices (page_size indices
        a page, in order), straight from the blocks: one acquire_many, one memmove per
        page part.  A list of bool per key: True for the leading pages loaded (a
        prefix: SGLang uses the pages up to the first miss)."""
        segs = self._segments(host_indices)
        if len(segs) != len(keys):
            raise ValueError("tierd.sglang: one key per page of host_indices")
        got = self.ns.load_into([page_key(k) for k in keys], segs)
        return [i < got for i in range(len(keys))]

    def batch_set_v1(self, keys, host_indices, extra_info=None):
        """Store the pages at host_indices in the host pool under keys, straight from
        the pool into new blocks; pages already stored are skipped.  A list of bool per
        key: True when that page is stored (now or before)."""
        segs = self._segments(host_indices)
        if len(segs) != len(keys):
            raise ValueError("tierd.sglang: one key per page of host_indices")
        tkeys = [page_key(k) for k in keys]
        _, tiers = self.ns.lookup_many(tkeys)
        result = [t != 0xFF for t in tiers]
        todo = [i for i in range(len(keys)) if not result[i]]
        try:
            self.ns.save_from([tkeys[i] for i in todo], [segs[i] for i in todo])
            failed = set()
        except NoSpace as e:
            log.warning("tierd.sglang: no room for %d of %d pages", len(e.failed), len(todo))
            failed = set(e.failed)
        for j, i in enumerate(todo):
            result[i] = j not in failed
        return result

    def clear(self):
        """Drop every page of this backend's namespace (tierctl drop --namespace: root
        or the daemon's user only; PermissionDenied otherwise)."""
        self.client.drop_namespace(self.namespace_name)

    def get_stats(self):
        """The namespace's counters from tierd (blocks, hits, misses), or None."""
        for n in self.client.stats()["namespaces"]:
            if n["name"] == self.namespace_name:
                return n
        return None

    def close(self):
        self.client.close()

