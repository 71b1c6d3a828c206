"""Run the same cell in NEURON: sections from synaptax's own morphology (same 3-D points,
connections and nseg), ``hh`` with exact rates (``usetable_hh = 0``), IClamp stimuli.

Needs the ``neuron`` package (a test extra). Used by the tests and benchmarks.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from synaptax.build import Cell


def load_mechanisms(nmodl_dir: str | Path, build_dir: str | Path):
    """Compile the ``.mod`` files of ``nmodl_dir`` in ``build_dir`` and load them;
    returns NEURON's ``h``."""
    import neuron

    nrnivmodl = Path(sys.executable).parent / "nrnivmodl"
    if not nrnivmodl.exists():
        raise RuntimeError(f"nrnivmodl not found next to the interpreter ({nrnivmodl})")
    build = Path(build_dir)
    build.mkdir(parents=True, exist_ok=True)
    for mod in Path(nmodl_dir).glob("*.mod"):
        shutil.copy(mod, build)
    proc = subprocess.run(
        [str(nrnivmodl), "."], cwd=build, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"nrnivmodl failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    if not neuron.load_mechanisms(str(build)):
        raise RuntimeError(f"could not load the mechanisms compiled in {build}")
    from neuron import h

    h.load_file("stdrun.hoc")
    return h


def build_neuron_cell(cell: Cell, ra: float, cm: float, hh: bool = True, exact_rates: bool = True):
    """Create NEURON sections mirroring ``cell``; returns ``(h, sections)``."""
    from neuron import h

    h.load_file("stdrun.hoc")
    secs = []
    for i, sec in enumerate(cell.morphology.sections):
        s = h.Section(name=f"sec{i}")
        for (x, y, z), d in zip(sec.xyz, sec.diam, strict=True):
            s.pt3dadd(float(x), float(y), float(z), float(d))
        s.nseg = int(cell.disc.nseg[i])
        s.Ra, s.cm = ra, cm
        if hh:
            s.insert("hh")
        if sec.parent >= 0:
            s.connect(secs[sec.parent](sec.parent_x), 0)
        secs.append(s)
    if hh:
        h.usetable_hh = 0 if exact_rates else 1
    return h, secs


def node_location(cell: Cell, node: int) -> tuple[int, float]:
    """(section, x) of a node, for NEURON's ``sec(x)``."""
    return int(cell.disc.section[node]), float(cell.disc.x[node])


def run_neuron(
    cell: Cell,
    *,
    iclamps: Sequence[tuple[int, float, float, float]],
    record: Sequence[int],
    t_max: float,
    dt: float,
    v_init: float = -65.0,
    ra: float = 100.0,
    cm: float = 1.0,
    secondorder: int = 0,
    celsius: float = 6.3,
    exact_rates: bool = True,
) -> tuple[np.ndarray, float]:
    """Simulate in NEURON; ``iclamps`` are ``(node, amp nA, delay ms, dur ms)``.
    ``exact_rates=False`` keeps NEURON's default tabulated ``hh`` rates (its fastest).

    Returns ``(v [len(record), n_steps + 1], seconds for the run)``.
    """
    import time

    h, secs = build_neuron_cell(cell, ra, cm, exact_rates=exact_rates)
    stims = []
    for node, amp, delay, dur in iclamps:
        s, x = node_location(cell, node)
        ic = h.IClamp(secs[s](x))
        ic.amp, ic.delay, ic.dur = amp, delay, dur
        stims.append(ic)
    vecs = []
    for node in record:
        s, x = node_location(cell, node)
        vec = h.Vector()
        vec.record(secs[s](x)._ref_v, sec=secs[s])
        vecs.append(vec)
    h.dt = dt
    h.steps_per_ms = 1.0 / dt
    h.secondorder = secondorder
    h.celsius = celsius
    h.tstop = t_max
    h.finitialize(v_init)
    t0 = time.perf_counter()
    h.continuerun(t_max)
    elapsed = time.perf_counter() - t0
    out = np.array([np.asarray(v) for v in vecs])
    del stims, secs
    return out, elapsed


def spike_times(v: np.ndarray, dt: float, threshold: float = 0.0) -> np.ndarray:
    """Upward threshold crossings (ms), linearly interpolated between samples."""
    above = v >= threshold
    idx = np.flatnonzero(~above[:-1] & above[1:])
    frac = (threshold - v[idx]) / (v[idx + 1] - v[idx])
    return (idx + frac) * dt


def compare_with_neuron(
    cell: Cell,
    *,
    amp: float,
    t_max: float = 40.0,
    dt: float = 0.025,
    delay: float = 5.0,
    dur: float = 30.0,
    method: Literal["bwd_euler", "crank_nicolson"] = "bwd_euler",
    n_sites: int = 5,
    ra: float = 100.0,
) -> dict:
    """Simulate ``cell`` (with its inserted channels) in synaptax and in NEURON under a
    somatic current step; compare v at the soma and ``n_sites`` spread compartments.

    Returns a dict with ``mean_abs_dv_mv`` (per site), ``max_abs_dv_mv``, the somatic
    spike times of both (``spikes``, ``spikes_neuron``) and ``max_spike_shift_ms``
    (``inf`` if the spike counts differ).
    """
    import jax

    from synaptax.simulate import simulate
    from synaptax.stimuli import CurrentClamp, step_current

    model, params = cell.compile()
    soma = cell.soma
    centers = np.flatnonzero(cell.disc.is_center)
    sites = [
        soma,
        *(int(c) for c in centers[np.linspace(0, len(centers) - 1, n_sites).astype(int)]),
    ]
    stim = [CurrentClamp(soma, step_current(amp, delay, dur, t_max, dt))]
    run = jax.jit(
        lambda p: simulate(
            model, p, stim, t_max, dt, record=[("v", s) for s in sites], method=method
        )
    )  # type: ignore[arg-type]
    v = np.asarray(run(params))
    vn, _ = run_neuron(
        cell,
        iclamps=[(soma, amp, delay, dur)],
        record=sites,
        t_max=t_max,
        dt=dt,
        ra=ra,
        secondorder=2 if method == "crank_nicolson" else 0,
    )
    ours, theirs = spike_times(v[0], dt), spike_times(vn[0], dt)
    shift = (
        float(np.max(np.abs(ours - theirs), initial=0.0))
        if len(ours) == len(theirs)
        else float("inf")
    )
    return {
        "mean_abs_dv_mv": np.abs(v - vn).mean(axis=1),
        "max_abs_dv_mv": float(np.abs(v - vn).max()),
        "spikes": ours,
        "spikes_neuron": theirs,
        "max_spike_shift_ms": shift,
    }
