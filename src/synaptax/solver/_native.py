"""Build, load and register the native (C++) tree solver as an XLA FFI target.

The kernel is compiled once per machine with the system C++ compiler (``$CXX`` or
``g++``) against the XLA FFI headers that ship with jaxlib, and cached under
``$SYNAPTAX_CACHE`` (default ``~/.cache/synaptax``) keyed by the source, compiler and
jaxlib version. Nothing is downloaded.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import jax
import jaxlib

_SOURCE = Path(__file__).with_name("_native") / "hines.cc"
TARGETS = {"float64": "synaptax_hines_f64", "float32": "synaptax_hines_f32"}
_SYMBOLS = {"float64": "SynaptaxHinesF64", "float32": "SynaptaxHinesF32"}


class NativeSolverUnavailable(RuntimeError):
    """The native CPU tree solver could not be built or loaded."""


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
            raise NativeSolverUnavailable(
                f"compiling {what} failed ({' '.join(cmd)}):\n{proc.stderr}"
            )
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
