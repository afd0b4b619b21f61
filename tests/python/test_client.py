# SPDX-License-Identifier: MIT
"""The whole engine-facing API of tier.h through tierd.Client, against a real daemon."""
import errno
import os
import pickle
import threading

import numpy
import pytest

import tierd

BS = 4096


def blocks(n, tag=b"t"):
    return [tag + i.to_bytes(4, "little") * 8 for i in range(n)]


def test_put_lookup_acquire_get_drop(client, ns_name):
    ns = client.namespace(ns_name, BS)
    assert isinstance(ns, tierd.Namespace) and ns.block_size == BS
    keys = tierd.key_chain(blocks(4))
    assert ns.lookup(keys) == 0
    assert ns.put(keys[0], b"first") is True
    assert ns.put(keys[0], b"second") is False  # first writer wins
    assert ns.put(keys[1], bytearray(b"x" * BS), parent=keys[0]) is True
    assert ns.lookup(keys) == 2
    assert ns.lookup(keys[1:]) == 1
    with ns.acquire(keys[0]) as view:
        assert isinstance(view, memoryview) and view.nbytes == BS and view.readonly
        assert bytes(view[:5]) == b"first" and not any(view[5:])
    assert ns.get(keys[1]) == b"x" * BS
    assert ns.get(keys[3]) is None
    assert keys[0] in ns and keys[3] not in ns
    assert ns.drop(keys[0]) is True
    assert ns.lookup(keys) == 0 and ns.lookup(keys[1:]) == 1
    with pytest.raises(tierd.NotFound):
        ns.drop(keys[0])
    assert ns.drop(keys[0], missing_ok=True) is False


def test_alloc_commit_and_commit_chain(client, ns_name):
    ns = client.namespace(ns_name, BS)
    k = tierd.key_chain(blocks(2))
    with ns.alloc() as w:
        numpy.frombuffer(w.view, dtype=numpy.uint8)[:] = 7
        assert w.commit(k[0]) is True
    with pytest.raises(ValueError):  # the view went with the commit
        w.view[0]
    with pytest.raises(tierd.InvalidArgument):
        w.commit(k[0])
    with ns.alloc() as w:
        w.view[:3] = b"abc"
        assert w.commit(k[1], parent=k[0]) is True
    with ns.alloc() as w:
        assert w.commit(k[1]) is False  # there already: this block is freed
    assert ns.get(k[0]) == b"\x07" * BS
    assert ns.get(k[1])[:3] == b"abc"


def test_lookup_many_reports_each_keys_tier(client, ns_name):
    ns = client.namespace(ns_name, BS)
    k = tierd.key_chain(blocks(3))
    ns.put(k[0], b"a")
    ns.put(k[2], b"c")
    n, tiers = ns.lookup_many(k)
    assert n == 1
    assert tiers == [tierd.HOST, tierd.NONE, tierd.HOST]


def test_acquire_many_pins_the_leading_blocks(client, ns_name):
    ns = client.namespace(ns_name, BS)
    k = tierd.key_chain(blocks(4))
    for i in (0, 1, 3):
        ns.put(k[i], bytes([i + 1]) * 16)
    pinned = lambda: client.stats()["tiers"][0]["pinned_blocks"]  # noqa: E731
    before = pinned()
    with ns.acquire_many(k) as views:
        assert len(views) == 2  # nothing past the first absent key
        assert [bytes(v[:16]) for v in views] == [b"\x01" * 16, b"\x02" * 16]
        assert pinned() == before + 2
    assert pinned() == before
    with pytest.raises(ValueError):
        views[0][0]


def test_use_after_release_is_refused(client, ns_name):
    ns = client.namespace(ns_name, BS)
    k = tierd.key_chain(blocks(1))[0]
    ns.put(k, b"data")
    blk = ns.acquire(k)
    with blk as view:
        arr = numpy.frombuffer(view, dtype=numpy.uint8)
        assert bytes(arr[:4]) == b"data"
    assert blk.released
    with pytest.raises(ValueError):
        view[0]
    with pytest.raises(ValueError):
        numpy.frombuffer(view, dtype=numpy.uint8)
    with pytest.raises(ValueError):
        bytes(view)
    blk.release()  # twice: nothing more happens


def test_a_view_still_exported_keeps_its_pin(client, ns_name):
    ns = client.namespace(ns_name, BS)
    k = tierd.key_chain(blocks(1))[0]
    ns.put(k, b"data")
    blk = ns.acquire(k, writable=True)
    alias = pickle.PickleBuffer(blk.view)  # holds a buffer export of the view
    with pytest.raises(tierd.ViewInUse):
        blk.release()
    assert not blk.released
    assert client.stats()["tiers"][0]["pinned_blocks"] >= 1
    del alias
    blk.release()
    assert blk.released


def test_errors_are_exceptions_with_the_errno(client, ns_name, tmp_path):
    ns = client.namespace(ns_name, BS)
    with pytest.raises(tierd.NotFound) as e:
        ns.acquire(tierd.Key(1, 2))
    assert e.value.errno == errno.ENOENT and isinstance(e.value, OSError)
    assert isinstance(e.value, FileNotFoundError) and "tier_acquire" in str(e.value)
    with pytest.raises(tierd.InvalidArgument) as e:
        client.namespace(ns_name, BS * 2)  # exists with another block size
    assert e.value.errno == errno.EINVAL
    with pytest.raises(tierd.InvalidArgument):
        client.namespace("x" * 64, BS)
    with pytest.raises(tierd.NoDevice) as e:
        client.flush()  # no NVMe tier here
    assert e.value.errno == errno.ENODEV
    with pytest.raises(OSError) as e:
        tierd.Client(str(tmp_path / "nobody.sock"))
    assert isinstance(e.value, tierd.Error) and e.value.errno in (errno.ENOENT, errno.ECONNREFUSED)
    with pytest.raises(ValueError):
        ns.put(tierd.Key(3, 4), b"x" * (BS + 1))


def test_no_space_is_nospace(own_daemon):
    # One client may fill the whole tier here (by default it stops at 3/4 of it: EDQUOT).
    d = own_daemon("daemon.client_max_pinned=1G", host_size="4M")
    c = d.client()
    ns = c.namespace("full", 256 << 10)
    held = []
    with pytest.raises(tierd.NoSpace) as e:
        for _ in range(64):  # blocks being written cannot be evicted
            held.append(ns.alloc())
    assert e.value.errno == errno.ENOSPC and len(held) >= 8
    c.close()  # the daemon frees what c never committed
    c = d.client()
    ns = c.namespace("full", 256 << 10)
    held = [ns.alloc() for _ in range(len(held) - 2)]
    src = numpy.ones((8, 256 << 10), dtype=numpy.uint8)
    with pytest.raises(tierd.NoSpace) as e:
        ns.save_many(tierd.key_chain(blocks(8)), src)
    assert 0 < e.value.stored < 8 and len(e.value.failed) == 8 - e.value.stored
    c.close()


def test_save_many_load_many_numpy(client, ns_name):
    ns = client.namespace(ns_name, BS)
    keys = tierd.key_chain(blocks(16))
    src = numpy.random.default_rng(1).integers(0, 255, (16, BS), dtype=numpy.uint8)
    assert ns.save_many(keys, src, chain=True) == 16
    assert ns.save_many(keys[:4], src) == 0  # all there already
    out = numpy.zeros_like(src)
    assert ns.load_many(keys, out) == 16
    assert numpy.array_equal(out, src)
    # pages: block i to/from page pages[i] of the buffer.
    out2 = numpy.zeros((20, BS), dtype=numpy.uint8)
    assert ns.load_many(keys[:3], out2, pages=[19, 0, 7]) == 3
    assert numpy.array_equal(out2[[19, 0, 7]], src[:3])
    missing = tierd.key_chain(blocks(2, b"missing"))
    assert ns.load_many(keys[:2] + missing + keys[2:3], out2) == 2
    with pytest.raises(IndexError):
        ns.load_many(keys[:1], out2, pages=[20])
    with pytest.raises(ValueError):
        ns.load_many(keys, numpy.zeros((15, BS), dtype=numpy.uint8))
    ro = numpy.zeros_like(src)
    ro.flags.writeable = False
    with pytest.raises(TypeError):
        ns.load_many(keys, ro)
    with pytest.raises(ValueError):
        ns.save_many(keys[:2], numpy.zeros((BS, 2), dtype=numpy.uint8).T)  # not contiguous
    # Bytes and bytearrays work as sources too.
    k2 = tierd.key_chain(blocks(2, b"raw"))
    assert ns.save_many(k2, bytes(src[:2])) == 2
    buf = bytearray(2 * BS)
    assert ns.load_many(k2, buf) == 2 and buf == bytes(src[:2])


def test_prefetch_hint_keepalive_stats(client, ns_name):
    ns = client.namespace(ns_name, BS)
    k = tierd.key_chain(blocks(3))
    ns.put(k[0], b"a")
    ns.put(k[1], b"b")
    assert ns.prefetch(k) == 0  # in host memory already: nothing to bring up
    assert ns.hint(k, 10) == 2
    assert ns.hint(k, -5) == 2
    client.keepalive()
    s = client.stats()
    assert s["abi_version"] == 1 and s["tiers"][0]["name"] == "host"
    mine = [n for n in s["namespaces"] if n["name"] == ns_name]
    assert mine and mine[0]["blocks"] == 2 and mine[0]["block_size"] == BS
    assert s["ops"]["commit"] >= 2


def test_flush_and_prefetch_with_an_nvme_tier(own_daemon, tmp_path):
    d = own_daemon(f"nvme.path={tmp_path / 'nvme.img'}", "nvme.size=64M", host_size="8M")
    with d.client() as c:
        ns = c.namespace("durable", 64 << 10)
        keys = tierd.key_chain(blocks(4))
        src = numpy.arange(4 * (64 << 10), dtype=numpy.uint32).view(numpy.uint8)[: 4 * (64 << 10)]
        assert ns.save_many(keys, src) == 4
        ns.flush()
        c.flush()
        nvme = [t for t in c.stats()["tiers"] if t["name"] == "nvme"][0]
        assert nvme["write_bytes"] >= 4 * (64 << 10)
    # After a restart the blocks come back from NVMe: prefetch brings them up.
    assert d.stop() == 0
    d.start()
    with d.client() as c:
        ns = c.namespace("durable", 64 << 10)
        n, tiers = ns.lookup_many(keys)
        assert n == 4 and set(tiers) == {tierd.NVME}
        assert ns.prefetch(keys) == 4
        out = numpy.zeros_like(src)
        assert ns.load_many(keys, out) == 4 and numpy.array_equal(out, src)


def test_reconnect_after_the_daemon_came_back(own_daemon):
    d = own_daemon()
    c = d.client()
    ns = c.namespace("again", BS)
    k = tierd.key_chain(blocks(1))[0]
    ns.put(k, b"before")
    blk = ns.acquire(k)
    view = blk.view
    d.stop(9)
    with pytest.raises(tierd.ConnectionLost) as e:
        ns.lookup([k])
    assert e.value.errno == errno.ECONNRESET
    d.start()
    c.reconnect()
    with pytest.raises(ValueError):  # the old connection's views are gone
        view[0]
    assert blk.released
    blk.release()  # its pin went with the old connection: nothing to do
    assert ns.put(k, b"after") is True  # the namespace object was reopened
    assert ns.get(k)[:5] == b"after"
    c.close()
    assert c.closed
    with pytest.raises(tierd.ConnectionLost):
        ns.lookup([k])


def test_socket_transport(daemon, ns_name, monkeypatch):
    monkeypatch.setenv("TIER_TRANSPORT", "socket")
    with daemon.client() as c:
        ns = c.namespace(ns_name, BS)
        keys = tierd.key_chain(blocks(4))
        src = numpy.full((4, BS), 9, dtype=numpy.uint8)
        assert ns.save_many(keys, src, chain=True) == 4  # the synchronous fallback
        out = numpy.zeros_like(src)
        assert ns.load_many(keys, out) == 4 and numpy.array_equal(out, src)
        with pytest.raises(tierd.NotSupported) as e:
            ns.lookup_many(keys)  # per-key tiers need the ring
        assert e.value.errno == errno.EOPNOTSUPP
    assert os.environ["TIER_TRANSPORT"] == "socket"


def test_threads_share_a_client(client, ns_name):
    ns = client.namespace(ns_name, BS)
    errors = []

    def work(t):
        try:
            for r in range(20):
                keys = tierd.key_chain(blocks(4, b"thread %d rep %d" % (t, r)))
                src = numpy.full((4, BS), t * 20 + r, dtype=numpy.uint8)
                assert ns.save_many(keys, src) == 4
                out = numpy.zeros_like(src)
                assert ns.load_many(keys, out) == 4 and numpy.array_equal(out, src)
                with ns.acquire(keys[0]) as v:
                    assert v[0] == t * 20 + r
        except Exception as e:  # reported below: a thread's assert does not fail pytest
            errors.append(e)

    # Daemon threads with a deadline: a client that two threads corrupt can hang.
    threads = [threading.Thread(target=work, args=(t,), daemon=True) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not any(th.is_alive() for th in threads), "threads hung on the shared client"
    assert not errors, errors
