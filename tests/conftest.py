"""Test configuration: float64 everywhere, and the shared real-data folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import jax
import pytest

jax.config.update("jax_enable_x64", True)

SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_DATA = Path(os.environ.get("SYNAPTAX_SHARED_DATA", SHARED / "data"))


def shared_data(*parts: str) -> Path:
    """Path into ``../shared/data``; fails loudly in CI, skips elsewhere when absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared data missing in CI: {path}")
        pytest.skip(f"shared data not available: {path}")
    return path


# A soma, a branching dendrite and an apical stub (7 points, 5 sections), in um.
SMALL_SWC = """\
1 1 0 0 0 5 -1
2 3 5 0 0 1.2 1
3 3 40 0 0 1.0 2
4 3 70 20 0 0.7 3
5 3 70 -20 0 0.6 3
6 4 -5 0 0 2.0 1
7 4 -80 0 0 1.2 6
"""

# Native (C++) kernels: skipped off CPU or without a compiler only; a kernel that fails to
# build fails its tests (available() then warns, and warnings are errors).
needs_compiler = pytest.mark.skipif(
    jax.default_backend() != "cpu" or shutil.which(os.environ.get("CXX", "g++")) is None,
    reason="native kernels need the CPU backend and a C++ compiler",
)

NMODL = Path(__file__).parent / "nmodl"


@pytest.fixture(scope="session")
def nrn(tmp_path_factory):
    """NEURON's ``h`` with the test mechanisms of ``tests/nmodl`` compiled (once per
    session) and loaded."""
    pytest.importorskip("neuron")
    from synaptax.testing.neuron_ref import load_mechanisms

    try:
        return load_mechanisms(NMODL, tmp_path_factory.mktemp("nrnmech"))
    except RuntimeError as err:
        pytest.fail(str(err))
