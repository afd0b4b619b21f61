# SPDX-License-Identifier: MIT
"""tierd: Python binding of libtier, the client library of tierd (the KV-cache tier manager).

    import tierd
    with tierd.Client() as c:                 # $TIER_SOCKET, else /run/tierd/tierd.sock
        ns = c.namespace("llama3-8b-bf16", 256 << 10)
        keys = tierd.key_chain(token_blocks)  # list of bytes -> chained keys
        hit = ns.lookup(keys)                 # cached prefix length
        with ns.acquire(keys[0]) as view:     # memoryview of the block, in place
            kv = numpy.frombuffer(view, dtype=numpy.float16)
        ns.save_many(keys[hit:], tensor)      # one call, one memmove a block
        ns.load_many(keys[:hit], out)

Standard-library ctypes over libtier.so ($LIBTIER_PATH, else the system's loader).
docs/PYTHON.md is the manual.
"""
from ._lib import PATH as LIBTIER_PATH
from ._lib import TIER_GPU as GPU
from ._lib import TIER_HOST as HOST
from ._lib import TIER_NONE as NONE
from ._lib import TIER_NVME as NVME
from .client import Block, BlockBatch, Client, Namespace, ViewInUse, WriteBlock
from .errors import (ConnectionLost, ConnectionRefused, Error, Exists, InvalidArgument,
                     IOFailure, NoDevice, NoSpace, NotFound, NotSupported, OutOfMemory,
                     PermissionDenied, ProtocolError, Stale)
from .keys import ROOT, Key, key_chain, key_next

__all__ = [
    "Client", "Namespace", "Block", "BlockBatch", "WriteBlock", "ViewInUse",
    "Key", "ROOT", "key_chain", "key_next",
    "Error", "NoSpace", "NotFound", "Exists", "InvalidArgument", "Stale", "ConnectionLost",
    "ConnectionRefused", "PermissionDenied", "ProtocolError", "NotSupported", "NoDevice",
    "IOFailure", "OutOfMemory",
    "GPU", "HOST", "NVME", "NONE", "LIBTIER_PATH",
]
