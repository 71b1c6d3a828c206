"""Run the same cell in NEURON: sections from synaptax's own morphology (same 3-D points,
connections and nseg), ``hh`` with exact rates (``usetable_hh = 0``), IClamp stimuli.

Needs the ``neuron`` package (a test extra). Used by the tests and benchmarks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from synaptax.build import Cell


def build_neuron_cell(cell: Cell, ra: float, cm: float, hh: bool = True):
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
        h.usetable_hh = 0
    return h, secs


def node_location(cell: Cell, node: int) -> tuple[int, float]:
    """(section, x) of a node, for NEURON's ``sec(x)``."""
    return int(cell.disc.section[node]), float(cell.disc.x[node])


def run_neuron(
    cell: Cell, *, iclamps: Sequence[tuple[int, float, float, float]], record: Sequence[int],
    t_max: float, dt: float, v_init: float = -65.0, ra: float = 100.0, cm: float = 1.0,
    secondorder: int = 0, celsius: float = 6.3,
) -> tuple[np.ndarray, float]:
    """Simulate in NEURON; ``iclamps`` are ``(node, amp nA, delay ms, dur ms)``.

    Returns ``(v [len(record), n_steps + 1], seconds for the run)``.
    """
    import time

    h, secs = build_neuron_cell(cell, ra, cm)
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
