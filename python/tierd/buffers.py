# SPDX-License-Identifier: MIT
"""Where a tensor's bytes are: the address and size of a NumPy array, a PyTorch
CPU tensor or any C-contiguous buffer, without copying it.

The batched save and load (Namespace.save_many / load_many) copy between these
addresses and the blocks' bytes in the shared arena with ctypes.memmove: one
memcpy a block, no intermediate Python object.
"""
import ctypes


class Span:
    """addr, nbytes of a contiguous buffer; keep holds what must stay alive meanwhile."""

    __slots__ = ("addr", "nbytes", "keep")

    def __init__(self, addr, nbytes, keep):
        self.addr, self.nbytes, self.keep = addr, nbytes, keep


def span(obj, writable):
    """The Span of obj's bytes; writable=True when they are to be written (a load's
    destination).  Raises TypeError/ValueError for a buffer that is not C-contiguous,
    not in host memory, or read-only where it must be written."""
    # PyTorch: data_ptr() of a contiguous CPU tensor (torch is not imported here).
    if hasattr(obj, "data_ptr") and hasattr(obj, "is_contiguous"):
        if obj.device.type != "cpu":
            raise ValueError(f"tierd: a {obj.device.type} tensor; blocks live in host "
                             "memory (copy through a CPU tensor, or use tier_cuda.h from C)")
        if not obj.is_contiguous():
            raise ValueError("tierd: the tensor is not contiguous")
        return Span(obj.data_ptr(), obj.numel() * obj.element_size(), obj)
    # NumPy (and anything else with the array interface).
    ai = getattr(obj, "__array_interface__", None)
    if ai is not None:
        flags = getattr(obj, "flags", None)
        if flags is not None and not flags["C_CONTIGUOUS"]:
            raise ValueError("tierd: the array is not C-contiguous")
        addr, readonly = ai["data"]
        if writable and readonly:
            raise TypeError("tierd: the array is read-only")
        return Span(addr, obj.nbytes, obj)
    mv = memoryview(obj)
    if not mv.c_contiguous:
        raise ValueError("tierd: the buffer is not C-contiguous")
    mv = mv.cast("B")
    if not mv.readonly:
        arr = (ctypes.c_char * mv.nbytes).from_buffer(mv) if mv.nbytes else None
        return Span(ctypes.addressof(arr) if arr is not None else 0, mv.nbytes, (arr, mv))
    if writable:
        raise TypeError("tierd: the buffer is read-only")
    if isinstance(obj, bytes):
        # ctypes hands out the bytes object's own buffer: no copy.
        return Span(ctypes.cast(ctypes.c_char_p(obj), ctypes.c_void_p).value or 0,
                    len(obj), obj)
    # Any other read-only buffer: NumPy reads its address without a copy.
    import numpy

    a = numpy.frombuffer(mv, dtype=numpy.uint8)
    return Span(a.__array_interface__["data"][0], a.nbytes, (a, mv))
