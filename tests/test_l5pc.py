"""The Hay et al. (2011) L5PC: parameter files, distance rules, and NEURON agreement.

NEURON builds the same model on its own (Import3d, the template's steps replayed with
NEURON's ``distance()``; :mod:`synaptax.testing.hay_neuron`), with our NMODL twins of the
channels. The long protocols (2 s steps, three amplitudes) run in ``benchmarks/l5pc.py``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import NMODL, shared_data

import synaptax as sx
from synaptax.build import read_parameter_file
from synaptax.build.distributions import Distribution, exponential, hay_distribution, step
from synaptax.models import l5pc, l5pc_morphology
from synaptax.testing.neuron_ref import spike_times

DT = 0.025
MODEL = "L5PCbiophys3"


def _paths():
    return (
        shared_data("morphologies", "hay2011", "cell1.asc"),
        shared_data("params", "hay2011_l5pc", "biophys_params_transcribed.json"),
    )


# -- distributions ---------------------------------------------------------------------
def test_distribution_rules():
    x = np.array([0.0, 100.0, 700.0, 885.0, 900.0])
    np.testing.assert_allclose(
        step(1.0, 0.01, 685.0, 885.0, scale=2.0)(x), [0.02] * 2 + [2.0] * 2 + [0.02]
    )
    np.testing.assert_allclose(
        exponential(-0.8696, 3.6161, 0.0, 2.087, scale=2e-4).evaluate([0.0, 1.0]),
        2e-4 * (-0.8696 + 2.087 * np.exp([0.0, 3.6161])),
    )
    lin = hay_distribution(0, [1.0, 2.0, 0.0, 0.0, 3.0])
    np.testing.assert_allclose(lin.values([0.0, 50.0], 100.0), [3.0, 6.0])
    sig = hay_distribution(1, [0.0, 1.0, 10.0, 2.0, 1.0])
    np.testing.assert_allclose(sig.values([1000.0], 100.0), [0.5])


def test_distribution_errors():
    with pytest.raises(ValueError, match="takes 4 arguments"):
        Distribution("step", (1.0, 2.0))
    with pytest.raises(ValueError, match="unknown distribution"):
        Distribution("gaussian", (1.0, 2.0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="5 arguments"):
        hay_distribution(2, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="dist_type"):
        hay_distribution(7, [1.0, 2.0, 3.0, 4.0, 5.0])
    norm = hay_distribution(2, [1.0, 2.0, 3.0, 4.0, 5.0])
    with pytest.raises(ValueError, match="normalized"):
        norm([1.0])
    with pytest.raises(ValueError, match="length"):
        norm.values([1.0])


# -- parameter files -------------------------------------------------------------------
def _write(tmp_path, spec) -> str:
    path = tmp_path / "params.json"
    path.write_text(json.dumps({"models": {"m": spec}}))
    return str(path)


def test_parameter_file_errors(tmp_path):
    asc, pj = _paths()
    with pytest.raises(ValueError, match=r"no model 'nope'.*L5PCbiophys3"):
        read_parameter_file(pj, "nope")
    with pytest.raises(ValueError, match="choose one with model="):
        read_parameter_file(pj)
    bad_list = {"sections": {"trunk": {"insert": [], "params": {}}}}
    with pytest.raises(ValueError, match="unknown section list 'trunk'"):
        read_parameter_file(_write(tmp_path, bad_list))
    bad_dist = {
        "sections": {},
        "distributions": [{"seclist": "apic", "param": "gIhbar_Ih", "dist_type": 2, "args": [1]}],
    }
    with pytest.raises(ValueError, match=r"distribution 0 \(gIhbar_Ih\).*5 arguments"):
        read_parameter_file(_write(tmp_path, bad_dist))
    morph = l5pc_morphology(asc)
    unknown_mech = {"sections": {"somatic": {"insert": ["Kdr"], "params": {}}}}
    with pytest.raises(ValueError, match="unknown mechanism 'Kdr'"):
        sx.build.apply_parameter_file(sx.Cell(morph), _write(tmp_path, unknown_mech))
    not_inserted = {"sections": {"somatic": {"insert": [], "params": {"gImbar_Im": 1e-4}}}}
    with pytest.raises(ValueError, match="Im is not inserted"):
        sx.build.apply_parameter_file(sx.Cell(morph), _write(tmp_path, not_inserted))
    wrong_param = {"sections": {"somatic": {"insert": ["Im"], "params": {"gfoo_Im": 1e-4}}}}
    with pytest.raises(ValueError, match="Im has no parameter 'gfoo'"):
        sx.build.apply_parameter_file(sx.Cell(morph), _write(tmp_path, wrong_param))
    # a section list the morphology lacks: a soma-and-dendrites SWC has no apical tree
    swc = tmp_path / "ball.swc"
    swc.write_text("1 1 0 0 0 5 -1\n2 3 5 0 0 1 1\n3 3 50 0 0 1 2\n")
    with pytest.raises(ValueError, match=r"names section list 'apical'.*has none"):
        sx.build.apply_parameter_file(sx.Cell.from_file(swc), pj, MODEL)


def test_axon_replaced_and_nseg(tmp_path):
    asc, pj = _paths()
    cell = l5pc(asc, pj)
    morph = cell.morphology
    axons = [s for s in morph.sections if s.type == 2]
    assert len(axons) == 2
    assert [round(s.length, 9) for s in axons] == [30.0, 30.0]
    np.testing.assert_array_equal(
        cell.disc.nseg, [1 + 2 * int(s.length / 40) for s in morph.sections]
    )


# -- against NEURON --------------------------------------------------------------------
@pytest.fixture(scope="module")
def hay(nrn):
    from synaptax.testing.hay_neuron import NeuronL5PC

    assert NMODL.exists()
    asc, pj = _paths()
    model = NeuronL5PC(nrn, asc, pj, MODEL)
    yield model
    model.delete()


def _neuron_table(hay, name: str):
    """(type, section length, x, value) for every segment of NEURON's model."""
    types = {"soma": 1, "axon": 2, "dend": 3, "apic": 4, "hay_axon0": 2, "hay_axon1": 2}
    rows = []
    for sec in hay.lists["all"]:
        t = types[sec.name().split("[")[0]]
        for seg in sec:
            try:
                value = getattr(seg, name)
            except (NameError, AttributeError):
                continue
            rows.append((t, round(sec.L, 3), round(seg.x, 9), value))
    return sorted(rows)


def _our_table(cell, values, mask):
    d = cell.disc
    lengths = [s.length for s in cell.morphology.sections]
    nodes = np.flatnonzero(mask[: d.n_center])
    rows = [
        (
            int(d.section_type[i]),
            round(lengths[d.section[i]], 3),
            round(float(d.x[i]), 9),
            float(values[i]),
        )
        for i in nodes
    ]
    return sorted(rows)


@pytest.mark.neuron
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("Ih.gbar", "gbar_sx_Ih"),
        ("Ca_LVAst.gbar", "gbar_sx_Ca_LVAst"),
        ("Ca_HVA.gbar", "gbar_sx_Ca_HVA"),
        ("CaDynamics_E2.gamma", "gamma_sx_CaDynamics_E2"),
        ("Leak.g", "g_pas"),
        ("cm", "cm"),
    ],
)
def test_densities_match_neuron(hay, ours, theirs):
    """Every segment's density equals NEURON's: distance rules with the template's origins."""
    asc, pj = _paths()
    cell = l5pc(asc, pj)
    model, params = cell.compile()
    if "." in ours:
        mech, p = ours.split(".")
        k = [c.name for c in params.channels].index(mech)
        values, mask = np.asarray(getattr(params.channels[k], p)), model.mask(k)
    else:
        values, mask = np.asarray(getattr(params, ours)), np.ones(model.n, bool)
    a, b = _our_table(cell, values, mask), _neuron_table(hay, theirs)
    assert len(a) == len(b) > 0
    assert [r[:3] for r in a] == [r[:3] for r in b]
    # NEURON keeps 3-D points in float32: distances agree to ~1e-7 relative, and the
    # exponential Ih rule carries that into the densities (5e-9 measured)
    np.testing.assert_allclose([r[3] for r in a], [r[3] for r in b], rtol=1e-7, atol=0)


@pytest.mark.neuron
def test_step_current_matches_neuron(hay):
    """0.793 nA at the soma for 300 ms: the burst and tonic spikes of NEURON, to 1e-3."""
    asc, pj = _paths()
    cell = l5pc(asc, pj)
    model, params = cell.compile()
    t_max, amp, delay = 400.0, 0.793, 100.0
    stim = [sx.CurrentClamp(cell.soma, sx.step_current(amp, delay, 1e4, t_max, DT))]
    v = np.asarray(sx.simulate(model, params, stim, t_max, DT, record=[("v", cell.soma)]))[0]
    vn, _ = hay.run(t_max, DT, iclamps=[(hay.soma(0.5), amp, delay, 1e4)], record=[hay.soma(0.5)])
    ours, theirs = spike_times(v, DT), spike_times(vn[0], DT)
    assert len(theirs) >= 5, f"NEURON's cell should burst then fire, got {theirs}"
    assert len(ours) == len(theirs)
    np.testing.assert_allclose(ours, theirs, atol=1e-3)
    assert np.abs(v - vn[0]).mean() < 1e-3


def _bac_site(cell, params) -> int:
    d = cell.disc
    apical = np.flatnonzero(d.section_type[: d.n_center] == 4)
    near = apical[np.abs(d.distance[apical] - 620.0) < 20.0]
    return int(near[np.argmax(np.asarray(params.radius)[near])])


def test_bac_firing_calcium_spike():
    """Backpropagation-activated calcium spike (Larkum et al. 1999; Hay et al. 2011 Fig. 4):
    a somatic pulse or an apical EPSP alone give at most one spike and no dendritic
    calcium spike; together they give a calcium spike and a somatic burst."""
    asc, pj = _paths()
    cell = l5pc(asc, pj)
    model, params = cell.compile()
    site = _bac_site(cell, params)
    t_max = 420.0
    pulse = sx.CurrentClamp(cell.soma, sx.step_current(1.9, 295.0, 5.0, t_max, DT))
    epsp = sx.CurrentClamp(site, sx.epsp_current(0.5, 300.0, 0.5, 5.0, t_max, DT))
    record = [("v", cell.soma), ("v", site)]
    window = slice(int(290 / DT), None)
    runs = {}
    for name, stims in {"pulse": [pulse], "epsp": [epsp], "bac": [pulse, epsp]}.items():
        v = np.asarray(sx.simulate(model, params, stims, t_max, DT, record=record))
        runs[name] = (spike_times(v[0], DT), float((v[1][window] > -20.0).sum() * DT))
    assert len(runs["pulse"][0]) == 1 and runs["pulse"][1] < 2.0
    assert len(runs["epsp"][0]) == 0 and runs["epsp"][1] == 0.0
    assert len(runs["bac"][0]) >= 3, runs
    assert runs["bac"][1] > 10.0, f"no dendritic calcium spike: {runs}"
