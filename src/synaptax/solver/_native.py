"""Build, load and register the native (C++) tree solver as an XLA FFI target.

The kernel is compiled once per machine with the system C++ compiler (``$CXX`` or
``g++``) against the XLA FFI headers that ship with jaxlib, and cached under
``$SYNAPTAX_CACHE`` (default ``~/.cache/synaptax``) keyed by the source, compiler and
jaxlib version. Nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import jaxlib

_SOURCE = Path(__file__).with_name("_native") / "hines.cc"
TARGETS = {"float64": "synaptax_hines_f64", "float32": "synaptax_hines_f32"}
_SYMBOLS = {"float64": "SynaptaxHinesF64", "float32": "SynaptaxHinesF32"}


class NativeSolverUnavailable(RuntimeError):
    """The native CPU tree solver could not be built or loaded."""


class NativeBuildFailed(NativeSolverUnavailable):
    """A C++ compiler was found but compiling a kernel failed."""


def _cache_dir() -> Path:
    root = os.environ.get("SYNAPTAX_CACHE") or Path.home() / ".cache" / "synaptax"
    return Path(root) / "native"


def _compiler() -> str:
    cxx = os.environ.get("CXX", "g++")
    found = shutil.which(cxx)
    if found is None:
        raise NativeSolverUnavailable(
            f"no C++ compiler found (looked for {cxx!r}); install g++ or set $CXX, "
            "or choose the pure-JAX solver with solver='levels'"
        )
    return found


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(("model name", "flags")):
                    return line
    except OSError:
        pass
    return platform.machine()


def build_library(
    source: Path = _SOURCE,
    stem: str = "hines",
    what: str = "the native tree solver",
    flags: tuple[str, ...] = (),
) -> Path:
    """Compile a C++ FFI kernel if no cached build matches; returns the library path.

    The cache key covers the source, the compiler, jaxlib's version and the CPU model
    (builds may use ``-march=native``: they are built on, and cached for, the machine
    that runs them).
    """
    code = source.read_bytes()
    cxx = _compiler()
    key = hashlib.sha256(
        code
        + cxx.encode()
        + " ".join(flags).encode()
        + jaxlib.__version__.encode()
        + _cpu_model().encode()
    ).hexdigest()[:16]
    target = _cache_dir() / f"{stem}-{key}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    include = jax.ffi.include_dir()
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        tmp_lib = Path(tmp) / target.name
        cmd = [cxx, "-O3", *flags, "-shared", "-fPIC", "-std=c++17", "-w", f"-I{include}"]
        cmd += [str(source), "-o", str(tmp_lib)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise NativeBuildFailed(f"compiling {what} failed ({' '.join(cmd)}):\n{proc.stderr}")
        os.replace(tmp_lib, target)  # atomic: never a half-written library in the cache
    return target


def register_targets(library: Path, targets: dict[str, str]) -> None:
    """Load ``library`` and register its FFI handlers (``{target name: symbol}``) for CPU."""
    lib = ctypes.cdll.LoadLibrary(str(library))
    for name, symbol in targets.items():
        jax.ffi.register_ffi_target(name, jax.ffi.pycapsule(getattr(lib, symbol)), platform="cpu")


@functools.cache
def register() -> None:
    """Build (if needed), load and register the FFI targets for the CPU platform."""
    register_targets(build_library(), {TARGETS[d]: _SYMBOLS[d] for d in TARGETS})


def available() -> bool:
    """Whether the native solver can be used here (builds it on first call)."""
    try:
        register()
    except NativeSolverUnavailable:
        return False
    return True


class NativeKernel:
    """A CPU FFI kernel built on first use.

    Args:
        source: the C++ file.
        stem, what: cache file stem and a description for error messages.
        flags: extra compiler flags.
        targets: ``{(op, dtype name): (XLA target name, exported symbol)}``.
    """

    def __init__(self, source: Path, stem: str, what: str, flags, targets: dict) -> None:
        self.source = Path(source)
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
                except NativeBuildFailed as err:  # say so: this is a bug or a broken setup
                    warnings.warn(
                        f"{self.what} failed to build; the slower JAX path runs instead: {err}",
                        RuntimeWarning,
                        stacklevel=2,
                    )
                    ok = False
                except (NativeSolverUnavailable, OSError):  # no compiler: the JAX path runs
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

    def call(self, op: str, dtype, outs, *args, vmap_method: str = "sequential", **attrs) -> Any:
        """``ffi_call`` of target ``op`` in ``dtype`` (outputs ``outs``: one shape or a
        list of shapes), with the inputs cast to ``dtype``; ``vmap_method`` as in
        :func:`jax.ffi.ffi_call` (the kernel must handle batch axes unless it is
        ``"sequential"``)."""
        self.register()
        name = self.targets[(op, jnp.dtype(dtype).name)][0]
        if isinstance(outs, list):
            out = [jax.ShapeDtypeStruct(shape, dtype) for shape in outs]
        else:
            out = jax.ShapeDtypeStruct(outs, dtype)
        call = jax.ffi.ffi_call(name, out, vmap_method=vmap_method)
        return call(*(jnp.asarray(a, dtype) for a in args), **attrs)
