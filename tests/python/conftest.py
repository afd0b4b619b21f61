# SPDX-License-Identifier: MIT
"""pytest fixtures for the Python binding's tests: a real tierd in a temporary
directory (started with `tierd -f -o daemon.socket=...`, stopped by its PID),
and the paths meson passes in ($TIERD, $TIER_PEEK, $LIBTIER_PATH)."""
import ctypes
import os
import signal
import subprocess
import time
import uuid

import pytest

import tierd

MIN_TESTS = 30  # fewer collected means a file went missing: fail, do not pass quietly


def pytest_collection_finish(session):
    if not session.config.option.keyword and len(session.items) < MIN_TESTS:
        raise pytest.UsageError(f"only {len(session.items)} tests collected (expected at "
                                f"least {MIN_TESTS})")


def _binary(var):
    p = os.environ.get(var)
    if not p or not os.access(p, os.X_OK):
        pytest.fail(f"${var} does not name the binary to test (run through meson test)")
    return p


_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # When pytest itself is killed (a meson timeout), its daemons go with it.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Daemon:
    """One tierd process; .socket is its socket path."""

    def __init__(self, directory, *opts, host_size="32M"):
        self.dir = str(directory)
        self.socket = os.path.join(self.dir, "tierd.sock")
        self.opts = ["-o", f"host.size={host_size}"]
        for o in opts:
            self.opts += ["-o", o]
        self.proc = None
        self.start()

    def start(self):
        log = open(os.path.join(self.dir, "tierd.log"), "ab")
        self.proc = subprocess.Popen([_binary("TIERD"), "-f", "-o",
                                      f"daemon.socket={self.socket}", *self.opts],
                                     stdout=log, stderr=log, preexec_fn=_die_with_parent)
        log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"tierd exited with {self.proc.returncode}: {self.log()}")
            if os.path.exists(self.socket):
                try:
                    tierd.Client(self.socket).close()
                    return
                except OSError:
                    pass
            time.sleep(0.02)
        pytest.fail(f"tierd did not come up: {self.log()}")

    def log(self):
        with open(os.path.join(self.dir, "tierd.log"), "rb") as f:
            return f.read().decode(errors="replace")[-2000:]

    def stop(self, sig=signal.SIGTERM):
        """Stop it by PID; its exit status (0 after SIGTERM: a clean shutdown)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.kill(self.proc.pid, sig)
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            rc = self.proc.wait()
        if os.path.exists(self.socket) and sig == signal.SIGKILL:
            os.unlink(self.socket)
        return rc

    def client(self):
        return tierd.Client(self.socket)


@pytest.fixture(scope="session")
def daemon(tmp_path_factory):
    """A daemon shared by the tests of the session (each uses its own namespaces)."""
    d = Daemon(tmp_path_factory.mktemp("tierd"))
    yield d
    rc = d.stop()
    assert rc == 0, f"tierd exited with {rc}: {d.log()}"


@pytest.fixture
def own_daemon(tmp_path):
    """A daemon for one test (to fill, restart or kill); started by make(*opts)."""
    started = []

    def make(*opts, host_size="32M"):
        d = Daemon(tmp_path, *opts, host_size=host_size)
        started.append(d)
        return d

    yield make
    for d in started:
        d.stop(signal.SIGKILL)


@pytest.fixture
def client(daemon):
    c = daemon.client()
    yield c
    c.close()


@pytest.fixture
def ns_name():
    """A namespace name of its own for each test."""
    return "py-" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="session")
def peek():
    return _binary("TIER_PEEK")
