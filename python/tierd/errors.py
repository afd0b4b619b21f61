# SPDX-License-Identifier: MIT
"""libtier's negative errno values as Python exceptions.

Every exception is a tierd.Error, itself an OSError whose errno is the positive
errno and whose strerror is tier_strerror()'s message.  Where Python has a
built-in OSError subclass for the errno, the tierd class derives from it too
(tierd.NotFound is a FileNotFoundError, tierd.ConnectionLost a ConnectionResetError).
"""
import errno as _errno

from ._lib import lib


class Error(OSError):
    """A libtier call failed; .errno is the (positive) errno, .call the C function."""

    def __init__(self, err, message, call=None):
        super().__init__(err, message)
        self.call = call

    def __str__(self):
        where = f"{self.call}: " if self.call else ""
        return f"{where}{self.strerror} [errno {self.errno}: {_errno.errorcode.get(self.errno, '?')}]"


class NoSpace(Error):
    """-ENOSPC: no room (everything pinned or being written, too many namespaces, NVMe full)."""


class NotFound(Error, FileNotFoundError):
    """-ENOENT: no such key or namespace, or no daemon at the socket."""


class Exists(Error, FileExistsError):
    """-EEXIST: the key is already there (first writer wins)."""


class InvalidArgument(Error):
    """-EINVAL: a bad argument (name, block size, a handle this client does not hold)."""


class Stale(Error):
    """-ESTALE: a handle of an older generation of its slot."""


class ConnectionLost(Error, ConnectionResetError):
    """-ECONNRESET: the daemon is gone; Client.reconnect() once it is back."""


class ConnectionRefused(Error, ConnectionRefusedError):
    """-ECONNREFUSED: nothing listens on the socket."""


class PermissionDenied(Error, PermissionError):
    """-EACCES/-EPERM: the namespace's access rule (or the socket's mode) refuses this client."""


class ProtocolError(Error):
    """-EPROTO: the daemon speaks another ABI version, or answered nonsense."""


class NotSupported(Error):
    """-EOPNOTSUPP: not on this transport (TIER_TRANSPORT=socket)."""


class NoDevice(Error):
    """-ENODEV: no such tier (tier_flush without an NVMe tier)."""


class IOFailure(Error):
    """-EIO: an NVMe write failed (tier_flush: the blocks stay cached; call again)."""


class OutOfMemory(Error, MemoryError):
    """-ENOMEM: out of memory in the library."""


_BY_ERRNO = {
    _errno.ENOSPC: NoSpace, _errno.ENOENT: NotFound, _errno.EEXIST: Exists,
    _errno.EINVAL: InvalidArgument, _errno.ESTALE: Stale, _errno.ECONNRESET: ConnectionLost,
    _errno.ECONNREFUSED: ConnectionRefused, _errno.EACCES: PermissionDenied,
    _errno.EPERM: PermissionDenied, _errno.EPROTO: ProtocolError,
    _errno.EOPNOTSUPP: NotSupported, _errno.ENODEV: NoDevice, _errno.EIO: IOFailure,
    _errno.ENOMEM: OutOfMemory,
}


def error(r, call=None):
    """The exception for libtier's negative return value r."""
    err = -r
    msg = lib.tier_strerror(r)
    msg = msg.decode() if msg else _errno.errorcode.get(err, str(err))
    return _BY_ERRNO.get(err, Error)(err, msg, call)


def check(r, call=None):
    """r when it is >= 0; else raise the exception that r names."""
    if r < 0:
        raise error(r, call)
    return r
