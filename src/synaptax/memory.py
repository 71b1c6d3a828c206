"""Keep freed memory mapped, so that long simulations do not pay page faults per call.

A simulation's outputs, and the per-step state that reverse mode stores, are large
buffers written once per call. glibc hands allocations above its mmap threshold (128 KiB
to 32 MiB) to the kernel and takes fresh, unmapped pages for every call, so each page
faults when it is first written. In a virtual machine a fault costs microseconds. On the
2-core VM the benchmarks run on, with HH on CA1 n120 (624 compartments, 4,000 steps):
the forward pass of reverse mode, which stores 85 MB of per-step state, took 127-158 ms
without memory reuse and 70-77 ms with it; the whole gradient 330-364 ms and 255-273 ms;
a forward recording v at every node 107-144 ms and 70 ms.

:func:`keep_freed_memory` tells glibc (``mallopt``) to serve large allocations from the
heap and not to return freed memory to the kernel, so the next call reuses mapped pages.
The price is that the process keeps its peak memory until it exits. It is process-wide
and opt-in; the benchmarks call it for every simulator they time in one process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4


def keep_freed_memory(top_pad_mb: int = 256) -> bool:
    """Serve large allocations from glibc's heap and keep freed pages mapped.

    Returns ``True`` if the settings took effect (Linux with glibc), ``False`` elsewhere
    (nothing changes then). ``top_pad_mb`` is how much extra the heap grows at a time.
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(_M_MMAP_MAX, 0) == 1
    ok &= mallopt(_M_TRIM_THRESHOLD, 2**31 - 1) == 1
    ok &= mallopt(_M_TOP_PAD, top_pad_mb * 2**20) == 1
    return bool(ok)
