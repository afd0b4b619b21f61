# SPDX-License-Identifier: MIT
"""Client, Namespace and block handles over libtier.

Block bytes are never copied by this module except where a call says so
(put, get, save_many, load_many copy between the caller's buffer and the block
with one memmove).  acquire() and alloc() hand out a memoryview over the block's
bytes in the shared arena (tier_data()); the view is released, so that any use
of it raises ValueError, when the block's pin or write ends.  A block never
released stays pinned (the Client keeps it) until the client closes.

A libtier client is not thread-safe; a Client serialises its calls with a lock,
so threads may share one (SGLang's HiCache calls its storage from several).
"""
import ctypes
import errno as _errno
import os
import threading

from . import _lib
from ._lib import lib, tier_cqe, tier_handle, tier_op
from .buffers import span
from .errors import NotSupported, check, error
from .keys import ROOT, _as_key, c_keys

_memmove = ctypes.memmove
_data = lib.tier_data


class ViewInUse(BufferError):
    """A block's view cannot be released: something still holds a buffer export of
    it (a pickle.PickleBuffer, a C extension's Py_buffer).  The pin stays until
    that is gone and release() is called again.  (Arrays made with
    numpy.frombuffer or torch.frombuffer, and slices, hold no export: nothing can
    revoke them, and they must not be used after the block; docs/PYTHON.md.)"""


def _view(addr, size, writable):
    if not addr:
        raise error(-_errno.EINVAL, "tier_data: the client does not hold this block")
    arr = (ctypes.c_char * size).from_address(addr)
    mv = memoryview(arr).cast("B")
    if writable:
        return mv
    ro = mv.toreadonly()
    mv.release()
    return ro


class _Held:
    """What Block, BlockBatch and WriteBlock share: views to revoke, a place in the
    client's set of live holds."""

    _views = ()

    def _revoke(self):
        for v in self._views:
            try:
                v.release()
            except BufferError as e:
                raise ViewInUse(f"tierd: a view of this block is still exported ({e}); "
                                "drop what holds it, then release again") from None
        self._views = ()


class Block(_Held):
    """One pinned block (Namespace.acquire).  `with ns.acquire(key) as view:` gives
    the memoryview of its bytes; leaving the block releases the view and the pin."""

    def __init__(self, ns, key, handle, writable):
        self.ns, self.key, self.handle = ns, key, handle
        self.view = _view(_data(ns.client._c, handle), ns.block_size, writable)
        self._views = (self.view,)
        self.released = False
        ns.client._live.add(self)

    def release(self):
        if self.released:
            return
        self._revoke()
        self.released = True
        self.ns.client._live.discard(self)
        self.ns.client._call("tier_release", self.handle)

    def __enter__(self):
        return self.view

    def __exit__(self, *exc):
        self.release()


class BlockBatch(_Held):
    """The pinned leading blocks of Namespace.acquire_many: .keys, .views (one
    memoryview each) and len(); leaving the block releases them all in one call."""

    def __init__(self, ns, keys, handles, writable):
        self.ns, self.keys, self.handles = ns, keys, handles
        c = ns.client._c
        self.views = [_view(_data(c, h), ns.block_size, writable) for h in handles]
        self._views = tuple(self.views)
        self.released = False
        ns.client._live.add(self)

    def __len__(self):
        return len(self.handles)

    def release(self):
        if self.released:
            return
        self._revoke()
        self.released = True
        cl = self.ns.client
        cl._live.discard(self)
        n = len(self.handles)
        if n:
            r = cl._call("tier_release_many", (tier_handle * n)(*self.handles), n)
            if r != n:
                raise error(-_errno.EINVAL, f"tier_release_many: {r} of {n} released")

    def __enter__(self):
        return self.views

    def __exit__(self, *exc):
        self.release()


class WriteBlock(_Held):
    """A block being written (Namespace.alloc): write through .view, then commit().
    libtier has no way to abandon a block being written: one that is never
    committed stays allocated until the client closes."""

    def __init__(self, ns, handle):
        self.ns, self.handle = ns, handle
        self.addr = _data(ns.client._c, handle)
        self.view = _view(self.addr, ns.block_size, True)
        self._views = (self.view,)
        self.committed = False
        ns.client._live.add(self)

    def commit(self, key, parent=None):
        """Make the block ready under key (its parent in the chain when given).  True
        when it is stored, False when the key was already there (this block is freed)."""
        if self.committed:
            raise error(-_errno.EINVAL, "tierd: block already committed")
        key = _as_key(key)
        cl = self.ns.client
        self._revoke()
        self.committed = True
        cl._live.discard(self)
        if parent is None:
            r = cl._raw("tier_commit", self.handle, key._c())
        else:
            r = cl._raw("tier_commit_chain", self.handle, _as_key(parent)._c(), key._c())
        if r == -_errno.EEXIST:
            return False
        check(r, "tier_commit")
        return True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._revoke()


class Namespace:
    """One namespace (one block size) of a Client: Client.namespace(name, block_size)."""

    def __init__(self, client, name, block_size, ns_id):
        self.client, self.name, self.block_size, self.id = client, name, block_size, ns_id

    def __repr__(self):
        return f"<tierd.Namespace {self.name!r} id={self.id} block_size={self.block_size}>"

    # ---- single blocks ----
    def alloc(self):
        """A new block in the WRITING state (WriteBlock); raises NoSpace when the host
        tier has no room that eviction could make."""
        h = tier_handle()
        self.client._call("tier_alloc", self.id, ctypes.byref(h))
        return WriteBlock(self, h.value)

    def put(self, key, data, parent=None):
        """Store a copy of the bytes-like data (at most block_size bytes; the rest of
        the block is zeroed) as the block of key.  True when stored, False when the
        key was already there."""
        s = span(data, writable=False)
        if s.nbytes > self.block_size:
            raise ValueError(f"tierd: {s.nbytes} bytes do not fit a block of {self.block_size}")
        with self.alloc() as w:
            dst = w.addr
            _memmove(dst, s.addr, s.nbytes)
            if s.nbytes < self.block_size:
                ctypes.memset(dst + s.nbytes, 0, self.block_size - s.nbytes)
            return w.commit(key, parent)

    def acquire(self, key, writable=False):
        """Pin the block of key: a Block, whose `with` gives its memoryview (read-only
        unless writable).  Raises NotFound when the key is not there."""
        key = _as_key(key)
        h = tier_handle()
        self.client._call("tier_acquire", self.id, key._c(), ctypes.byref(h))
        return Block(self, key, h.value, writable)

    def get(self, key):
        """A copy of the block's bytes, or None when the key is not there."""
        key = _as_key(key)
        h = tier_handle()
        cl = self.client
        r = cl._raw("tier_acquire", self.id, key._c(), ctypes.byref(h))
        if r == -_errno.ENOENT:
            return None
        check(r, "tier_acquire")
        try:
            return ctypes.string_at(_data(cl._c, h.value), self.block_size)
        finally:
            cl._call("tier_release", h.value)

    def drop(self, key, missing_ok=False):
        """Remove key (a pinned block vanishes from lookups at once)."""
        r = self.client._raw("tier_drop", self.id, _as_key(key)._c())
        if r == -_errno.ENOENT and missing_ok:
            return False
        check(r, "tier_drop")
        return True

    # ---- lookups and advice ----
    def lookup(self, keys):
        """The length of the cached prefix of keys."""
        keys = list(keys)
        return self.client._call("tier_lookup", self.id, c_keys(keys), len(keys))

    def lookup_many(self, keys):
        """(prefix length, [tier of each key]): tierd.HOST, tierd.NVME or tierd.NONE each."""
        keys = list(keys)
        tiers = (ctypes.c_uint8 * max(len(keys), 1))()
        n = self.client._call("tier_lookup_many", self.id, c_keys(keys),
                              len(keys), tiers)
        return n, list(tiers[: len(keys)])

    def contains(self, key):
        return self.lookup([key]) == 1

    __contains__ = contains

    def prefetch(self, keys):
        """Start bringing NVMe-only blocks of keys up to host memory; how many started."""
        keys = list(keys)
        return self.client._call("tier_prefetch", self.id, c_keys(keys),
                                 len(keys))

    def hint(self, keys, priority):
        """An advisory priority for keys (higher = keep longer); how many are present."""
        keys = list(keys)
        return self.client._call("tier_hint", self.id, c_keys(keys),
                                 len(keys), int(priority))

    def flush(self):
        """Return when every block of this namespace that was ready is durable on NVMe."""
        self.client._call("tier_flush", self.id)

    # ---- batches ----
    def acquire_many(self, keys, writable=False):
        """Pin the leading present keys (one batched call): a BlockBatch, len() of
        which is how many were pinned."""
        keys = [_as_key(k) for k in keys]
        n = len(keys)
        hs = (tier_handle * max(n, 1))()
        got = self.client._call("tier_acquire_many", self.id, c_keys(keys), n,
                                hs)
        return BlockBatch(self, keys[:got], list(hs[:got]), writable)

    def _pages(self, buf, n, pages, writable):
        s = span(buf, writable)
        bs = self.block_size
        if pages is None:
            if s.nbytes < n * bs:
                raise ValueError(f"tierd: {s.nbytes} bytes hold fewer than {n} blocks of {bs}")
            return s, [s.addr + i * bs for i in range(n)]
        pages = list(pages)
        if len(pages) != n:
            raise ValueError("tierd: one page index per key")
        last = s.nbytes // bs
        for p in pages:
            if not 0 <= p < last:
                raise IndexError(f"tierd: page {p} outside the {last} blocks of the buffer")
        return s, [s.addr + p * bs for p in pages]

    def load_many(self, keys, out, pages=None):
        """Copy the blocks of the leading present keys into out (a NumPy array,
        PyTorch CPU tensor or writable buffer seen as consecutive blocks; block i
        goes to out's block pages[i], default i).  One acquire_many, one memmove a
        block, one release_many.  Returns how many were loaded."""
        keys = list(keys)
        s, ptrs = self._pages(out, len(keys), pages, writable=True)
        bs = self.block_size
        got = self.load_into(keys, [((p, bs),) for p in ptrs])
        del s
        return got

    def save_many(self, keys, src, pages=None, parent=None, chain=False):
        """Store the blocks of src (a NumPy array, PyTorch CPU tensor or buffer seen as
        consecutive blocks; block pages[i], default i, under keys[i]).  chain=True:
        keys are consecutive blocks of one prompt, keys[0] after parent (default the
        root), and each is committed naming its parent.  Allocation is one batch of
        ring operations, the copy one memmove a block, the commit one batch.
        Returns how many blocks were newly stored (a key already there keeps its
        first block).  Raises NoSpace when some blocks found no room; the others
        are stored, and the exception's .stored says how many, .failed which."""
        keys = list(keys)
        s, ptrs = self._pages(src, len(keys), pages, writable=False)
        bs = self.block_size
        stored = self.save_from(keys, [((p, bs),) for p in ptrs], parent, chain)
        del s
        return stored

    def load_into(self, keys, segments):
        """load_many for blocks scattered in memory: block i is copied, in order, into
        the (address, bytes) parts of segments[i] (their sizes add up to at most
        block_size).  The caller keeps that memory alive and writable.  Returns how
        many leading keys were loaded."""
        keys = list(keys)
        n = len(keys)
        if not n:
            return 0
        if len(segments) != n:
            raise ValueError("tierd: one segment list per key")
        cl = self.client
        hs = (tier_handle * n)()
        with cl._lock:
            cl._check_open()
            got = check(lib.tier_acquire_many(cl._c, self.id, c_keys(keys), n, hs),
                        "tier_acquire_many")
            try:
                for i in range(got):
                    src = _data(cl._c, hs[i])
                    for addr, size in segments[i]:
                        _memmove(addr, src, size)
                        src += size
            finally:
                if got:
                    lib.tier_release_many(cl._c, hs, got)
        return got

    def save_from(self, keys, segments, parent=None, chain=False):
        """save_many for blocks scattered in memory: block i is made of the (address,
        bytes) parts of segments[i], in order (the rest of the block, if any, zeroed).  Same batching, return value and errors as save_many."""
        keys = [_as_key(k) for k in keys]
        n = len(keys)
        if not n:
            return 0
        if len(segments) != n:
            raise ValueError("tierd: one segment list per key")
        for parts in segments:
            if sum(size for _, size in parts) > self.block_size:
                raise ValueError(f"tierd: parts larger than a block of {self.block_size}")
        cl = self.client
        with cl._lock:
            cl._check_open()
            handles, err = cl._alloc_many(self.id, n)
            ok = [i for i in range(n) if handles[i] is not None]
            for i in ok:
                dst = _data(cl._c, handles[i])
                end = dst + self.block_size
                for addr, size in segments[i]:
                    _memmove(dst, addr, size)
                    dst += size
                if dst < end:
                    ctypes.memset(dst, 0, end - dst)
            if chain:
                parents = [parent if parent is not None else ROOT] + keys[:-1]
                stored = cl._commit_chain_many([(handles[i], keys[i], _as_key(parents[i]))
                                                for i in ok])
            elif ok:
                hs = (tier_handle * len(ok))(*[handles[i] for i in ok])
                stored = check(lib.tier_commit_many(cl._c, hs, c_keys([keys[i] for i in ok]),
                                                    len(ok)), "tier_commit_many")
            else:
                stored = 0
        if err is not None:
            err.stored = stored
            err.failed = [i for i in range(n) if handles[i] is None]
            raise err
        return stored


class Client:
    """A connection to tierd: Client(socket_path=None) connects to socket_path, else
    $TIER_SOCKET, else /run/tierd/tierd.sock.  A context manager (close on exit)."""

    def __init__(self, socket_path=None):
        self._lock = threading.RLock()
        self._live = set()
        self._namespaces = {}
        self._c = None
        c = ctypes.c_void_p()
        path = os.fsencode(socket_path) if socket_path is not None else None
        check(lib.tier_connect(path, ctypes.byref(c)), "tier_connect")
        self._c = c.value
        self.socket_path = socket_path
        self._async = True  # the ring's tier_submit; off on TIER_TRANSPORT=socket

    # ---- plumbing ----
    def _check_open(self):
        if self._c is None:
            raise error(-_errno.ECONNRESET, "tierd: the client is closed")

    def _raw(self, fn, *args):
        with self._lock:
            self._check_open()
            return getattr(lib, fn)(self._c, *args)

    def _call(self, fn, *args):
        return check(self._raw(fn, *args), fn)

    def _submit_all(self, ops):
        """Run tier_op ops through the ring; their tier_cqe by index (user_data)."""
        n = len(ops)
        arr = (tier_op * n)(*ops)
        cqes = [None] * n
        out = (tier_cqe * n)()
        sent = done = 0
        while done < n:
            if sent < n:
                r = lib.tier_submit(self._c, ctypes.addressof(arr) + sent * ctypes.sizeof(tier_op),
                                    n - sent)
                if r < 0:
                    raise error(r, "tier_submit")
                if r == 0 and sent == done:
                    raise error(-_errno.EBUSY, "tier_submit: no room in the ring")
                sent += r
            r = check(lib.tier_reap(self._c, out, n, -1 if sent > done else 0), "tier_reap")
            for j in range(r):
                cqes[out[j].user_data] = (out[j].res, out[j].handle)
            done += r
        return cqes

    def _alloc_many(self, ns_id, n):
        """n blocks being written: (handles with None where none could be had, the
        first error or None)."""
        handles = [None] * n
        err = None
        if self._async:
            ops = [tier_op(opcode=_lib.OP_ALLOC, ns=ns_id, user_data=i) for i in range(n)]
            try:
                cqes = self._submit_all(ops)
            except NotSupported:
                self._async = False
            else:
                for i, (res, h) in enumerate(cqes):
                    if res == 0:
                        handles[i] = h
                    elif err is None:
                        err = error(res, "tier_alloc")
                return handles, err
        h = tier_handle()
        for i in range(n):
            r = lib.tier_alloc(self._c, ns_id, ctypes.byref(h))
            if r < 0:
                err = error(r, "tier_alloc")
                break
            handles[i] = h.value
        return handles, err

    def _commit_chain_many(self, items):
        """Commit (handle, key, parent) items, each naming its parent; how many stored."""
        if not items:
            return 0
        if self._async:
            ops = [tier_op(opcode=_lib.OP_COMMIT, flags=_lib.OPF_PARENT, user_data=i,
                           key=k._c(), parent=p._c(), handle=h)
                   for i, (h, k, p) in enumerate(items)]
            res = [r for r, _ in self._submit_all(ops)]
        else:
            res = [lib.tier_commit_chain(self._c, h, p._c(), k._c()) for h, k, p in items]
        for r in res:
            if r < 0 and r != -_errno.EEXIST:
                raise error(r, "tier_commit_chain")
        return sum(1 for r in res if r == 0)

    def _revoke_all(self):
        """Before the connection's arena goes: every view released, every pin
        forgotten (the daemon releases them with the connection)."""
        for held in list(self._live):
            held._revoke()
            if hasattr(held, "released"):
                held.released = True
        self._live.clear()

    # ---- public ----
    def namespace(self, name, block_size):
        """Open (creating when needed) the namespace name with block_size-byte blocks."""
        ns_id = ctypes.c_uint32()
        self._call("tier_namespace", name.encode(), int(block_size),
                   ctypes.byref(ns_id))
        ns = self._namespaces.get(name)
        if ns is None or ns.block_size != block_size:
            ns = Namespace(self, name, int(block_size), ns_id.value)
            self._namespaces[name] = ns
        ns.id = ns_id.value
        return ns

    def reconnect(self):
        """Connect again after the daemon came back (calls raised ConnectionLost).
        Every view and pin of the old connection is gone (their views are released
        first); the namespaces opened before are reopened, same objects."""
        with self._lock:
            self._check_open()
            self._revoke_all()
            check(lib.tier_reconnect(self._c), "tier_reconnect")
            for ns in self._namespaces.values():
                self.namespace(ns.name, ns.block_size)

    def close(self):
        """Disconnect: every pin and unfinished block is released by the daemon.  Views
        still out are released first (ViewInUse when one cannot be)."""
        with self._lock:
            if self._c is None:
                return
            self._revoke_all()
            lib.tier_close(self._c)
            self._c = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    @property
    def closed(self):
        return self._c is None

    def drop_namespace(self, name):
        """Drop every block of the namespace called name (an administrative call:
        root or the daemon's user only, else PermissionDenied).  How many were dropped."""
        return self._call("tier_admin_drop_namespace", os.fsencode(name))

    def keepalive(self):
        """A sign of life for the daemon's pin lease (daemon.pin_lease)."""
        self._call("tier_keepalive")

    def flush(self, namespace=None):
        """Return when every ready block (of namespace, a Namespace or its id; default
        all) is durable on NVMe.  NoDevice without an NVMe tier."""
        ns = _lib.TIER_NS_ALL if namespace is None else getattr(namespace, "id", namespace)
        self._call("tier_flush", ns)

    def stats(self, max_namespaces=256):
        """The daemon's counters as a dict (tier_stats_get): uptime_s, clients, version,
        policy_evict, tiers (the n_tiers in use), ops, namespaces (a list)."""
        st = _lib.tier_stats(size=ctypes.sizeof(_lib.tier_stats))
        nss = (_lib.tier_ns_stats * max_namespaces)()
        n = self._call("tier_stats_get", ctypes.byref(st), nss, max_namespaces)
        d = _lib.to_dict(st)
        d["tiers"] = d["tiers"][: st.n_tiers]
        d["namespaces"] = [_lib.to_dict(nss[i]) for i in range(n)]
        return d
