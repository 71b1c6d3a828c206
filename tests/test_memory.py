"""keep_freed_memory: glibc's mallopt on Linux, a no-op elsewhere."""

from __future__ import annotations

import sys

import jax.numpy as jnp

from synaptax.memory import keep_freed_memory


def test_keep_freed_memory_takes_effect_on_linux():
    ok = keep_freed_memory(top_pad_mb=64)
    if sys.platform.startswith("linux"):
        assert ok, "mallopt should succeed with glibc"
    else:
        assert ok is False
    # large allocations still work afterwards
    x = jnp.ones((4_000_000,))
    assert float(x.sum()) == 4_000_000.0
