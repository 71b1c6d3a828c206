"""Shared plumbing of the spiking network's native CPU kernels (``_native/*.cc``).

Each kernel is compiled once per machine through :func:`synaptax.solver._native.build_library`,
registered with XLA's FFI for the CPU platform, and has a trace-time switch that
benchmarks and tests use to pick or avoid it inside a block.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from ..solver._native import NativeSolverUnavailable, build_library, register_targets


class NativeKernel:
    """A CPU FFI kernel built on first use.

    Args:
        source: the C++ file under ``_native/``.
        stem, what: cache file stem and a description for error messages.
        flags: extra compiler flags.
        targets: ``{(op, dtype name): (XLA target name, exported symbol)}``.
    """

    def __init__(self, source: str, stem: str, what: str, flags, targets: dict) -> None:
        self.source = Path(__file__).with_name("_native") / source
        self.stem, self.what, self.flags, self.targets = stem, what, tuple(flags), targets
        self._registered = False
        self._available: bool | None = None
        self._switch: list[bool] = []

    def register(self) -> None:
        """Build (if needed) and register the targets; raises if the build fails."""
        if not self._registered:
            library = build_library(self.source, self.stem, self.what, self.flags)
            register_targets(library, dict(self.targets.values()))
            self._registered = True

    def available(self) -> bool:
        """Whether the kernel can run here (CPU backend, and it builds)."""
        if self._available is None:
            ok = jax.default_backend() == "cpu"
            if ok:
                try:
                    self.register()
                except (NativeSolverUnavailable, OSError):
                    ok = False
            self._available = ok
        return self._available

    @contextlib.contextmanager
    def switch(self, enabled: bool):
        """Within the block, ``switched()`` is ``enabled``. Trace-time only: a function
        compiled earlier keeps its choice."""
        self._switch.append(bool(enabled))
        try:
            yield
        finally:
            self._switch.pop()

    def switched(self) -> bool | None:
        """The innermost :meth:`switch` setting, ``None`` outside any."""
        return self._switch[-1] if self._switch else None

    def call(self, op: str, dtype, outs, *args, **attrs) -> Any:
        """``ffi_call`` of target ``op`` in ``dtype`` (outputs ``outs``: one shape or a
        list of shapes), with the inputs cast to ``dtype``; vmapped sequentially."""
        self.register()
        name = self.targets[(op, jnp.dtype(dtype).name)][0]
        if isinstance(outs, list):
            out = [jax.ShapeDtypeStruct(shape, dtype) for shape in outs]
        else:
            out = jax.ShapeDtypeStruct(outs, dtype)
        call = jax.ffi.ffi_call(name, out, vmap_method="sequential")
        return call(*(jnp.asarray(a, dtype) for a in args), **attrs)
