"""Test configuration: float64 everywhere, and the shared real-data folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


NMODL = Path(__file__).parent / "nmodl"


@pytest.fixture(scope="session")
def nrn(tmp_path_factory):
    """NEURON's ``h`` with the test mechanisms of ``tests/nmodl`` compiled (once per
    session) and loaded."""
    neuron = pytest.importorskip("neuron")
    nrnivmodl = Path(sys.executable).parent / "nrnivmodl"
    if not nrnivmodl.exists():
        pytest.fail(f"nrnivmodl not found next to the interpreter ({nrnivmodl})")
    build = tmp_path_factory.mktemp("nrnmech")
    for mod in NMODL.glob("*.mod"):
        shutil.copy(mod, build)
    proc = subprocess.run(
        [str(nrnivmodl), "."], cwd=build, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        pytest.fail(f"nrnivmodl failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    assert neuron.load_mechanisms(str(build))
    from neuron import h

    h.load_file("stdrun.hoc")
    return h
