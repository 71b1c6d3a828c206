"""Voltage traces against NEURON 9 on real reconstructions (float64, HH everywhere)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_data

import synaptax as sx
from synaptax.testing.neuron_ref import compare_with_neuron

pytestmark = pytest.mark.neuron
DT, T = 0.025, 40.0

CELLS = {
    "ca1_n120": ("morph_ca1_n120.swc", {}),
    "ca1_n120_single_point_soma": ("morph_ca1_n120_single_point_soma.swc", {}),
    "allen_485574832": ("morph_allen_485574832.swc", {}),
    "l5pc_with_axon": ("morph_l5pc_with_axon.swc", {}),
    "retina": ("morph_retina_20161028_1.swc", {"min_diam": 0.5}),
    "variable_radius_multi": ("morph_variable_radiuses_multi_branch.swc", {}),
    "variable_radius_within": ("morph_variable_radiuses_within_branch.swc", {}),
}

SYNTHETIC = """\
1 1 0 0 0 6 -1
2 1 0 6 0 6 1
3 3 0 12 0 1.5 2
4 3 0 40 0 1.2 3
5 3 -20 70 0 0.8 4
6 3 -30 110 5 0.6 5
7 3 20 70 0 0.9 4
8 3 40 100 0 0.7 7
9 3 60 120 0 0.5 8
10 3 45 130 10 0.4 8
11 2 0 -6 0 1.0 1
12 2 0 -60 0 0.8 11
13 4 8 0 0 2.0 1
14 4 60 0 0 1.0 13
"""


def _cell(path, read_kw):
    cell = sx.Cell.from_swc(path, nseg=4, Ra=100.0, cm=1.0, **read_kw)
    cell.insert("HH")
    return cell


def _compare(cell, method, amp):
    res = compare_with_neuron(cell, amp=amp, t_max=T, dt=DT, method=method)
    assert np.all(res["mean_abs_dv_mv"] <= 0.05), f"mean |dV| per site {res['mean_abs_dv_mv']}"
    assert len(res["spikes"]) == len(res["spikes_neuron"]) >= 1
    assert res["max_spike_shift_ms"] <= DT
    return res["mean_abs_dv_mv"]


@pytest.mark.parametrize("method", ["bwd_euler", "crank_nicolson"])
@pytest.mark.parametrize("name", list(CELLS))
def test_real_morphologies_match_neuron(name, method):
    fname, kw = CELLS[name]
    cell = _cell(shared_data("morphologies", "jaxley", fname), kw)
    amp = 2.0 if name in ("l5pc_with_axon", "retina") else 0.5
    if name.startswith("variable_radius"):
        amp = 0.05
    mean_dv = _compare(cell, method, amp)
    assert mean_dv.max() < 1e-3  # in practice ~1e-6 mV: the same discretisation as NEURON


@pytest.mark.parametrize("method", ["bwd_euler", "crank_nicolson"])
def test_branched_synthetic_cell_matches_neuron(tmp_path, method):
    path = tmp_path / "branched.swc"
    path.write_text(SYNTHETIC)
    cell = _cell(path, {})
    _compare(cell, method, 0.3)


def test_seclamp_on_a_branched_hh_cell_matches_neuron(tmp_path):
    """Somatic voltage clamp (SEClamp, 10 kOhm series resistance) of a branched HH cell:
    the clamped soma, an unclamped dendrite (escaping spikes) and the soma's gates."""
    from synaptax.stimuli import step_times
    from synaptax.testing.neuron_ref import build_neuron_cell, node_location

    path = tmp_path / "branched.swc"
    path.write_text(SYNTHETIC)
    cell = _cell(path, {})
    model, params = cell.compile()
    soma, rs, t_max = cell.soma, 0.01, 30.0
    tip = int(np.flatnonzero(cell.disc.is_center)[-1])
    t = step_times(t_max, DT)
    command = np.where((t >= 5.0) & (t < 20.0), -20.0, -65.0)
    record = [("v", soma), ("v", tip), ("HH.m", soma), ("HH.h", soma), ("HH.n", soma)]
    clamp = sx.VoltageClamp(soma, command, rs=rs)
    ours = np.asarray(sx.simulate(model, params, [clamp], t_max, DT, record=record))

    h, secs = build_neuron_cell(cell, ra=100.0, cm=1.0)
    s, x = node_location(cell, soma)
    st, xt = node_location(cell, tip)
    seclamp = h.SEClamp(secs[s](x))
    seclamp.rs = rs
    seclamp.dur1, seclamp.amp1 = 5.0, -65.0
    seclamp.dur2, seclamp.amp2 = 15.0, -20.0
    seclamp.dur3, seclamp.amp3 = 1e9, -65.0
    seg = secs[s](x)
    refs = [seg._ref_v, secs[st](xt)._ref_v, seg.hh._ref_m, seg.hh._ref_h, seg.hh._ref_n]
    vecs = [h.Vector().record(r) for r in refs]
    h.dt, h.steps_per_ms, h.secondorder, h.celsius = DT, 1.0 / DT, 0, 6.3
    h.finitialize(-65.0)
    h.continuerun(t_max)
    ref = np.array([np.asarray(v) for v in vecs])
    del seclamp, seg, secs

    assert abs(ref[0, int(15.0 / DT)] - -20.0) < 1.0, "the clamp should hold the soma"
    assert ref[2].max() > 0.5, "the step should open the sodium gates"
    np.testing.assert_allclose(ours[:2], ref[:2], rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours[2:], ref[2:], rtol=0, atol=1e-8)
