"""Calcium currents, the SK channel and calcium dynamics against NEURON (float64).

NEURON runs our own NMODL of the published equations (``tests/nmodl``). Channel
kinetics on voltage (or calcium) grids, then one compartment with the Hay et al. calcium
set under current clamp, where ``v``, ``cai`` and ``eca`` must follow NEURON's.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from test_channels_neuron import neuron_currents, neuron_inf_tau

import synaptax as sx
from synaptax.channels import CHANNELS, Ions, nernst

pytestmark = pytest.mark.neuron
DT = 0.025
V_GRID = np.unique(np.concatenate([np.linspace(-120.0, 60.0, 37), [-27.0, -40.0, -84.0]]))
GBAR = 0.02
ECA = 120.0
CA_CHANNELS = ["Ca_HVA", "Ca_LVAst", "Pospischil_CaL", "Pospischil_CaT"]


def _rel(x, ref) -> float:
    x, ref = np.asarray(x), np.asarray(ref)
    return float(np.max(np.abs(x - ref) / np.maximum(np.abs(ref), 1e-12)))


def _section(h, mech: str, celsius: float):
    sec = h.Section(name=f"test_{mech}")
    sec.L = sec.diam = 10.0
    sec.insert(f"sx_{mech}")
    getattr(sec(0.5), f"sx_{mech}").gbar = GBAR
    h.dt, h.steps_per_ms, h.secondorder, h.celsius = DT, 1.0 / DT, 0, celsius
    return sec, getattr(sec(0.5), f"sx_{mech}")


def _ions(n: int, cai: float = 1e-4, eca: float = ECA) -> Ions:
    return Ions(jnp.full((n,), cai), jnp.full((n,), eca))


@pytest.mark.parametrize("celsius", [34.0, 16.0])
@pytest.mark.parametrize("name", CA_CHANNELS)
def test_calcium_channel_kinetics(nrn, name, celsius):
    _, mech = _section(nrn, name, celsius)
    ch = CHANNELS[name].with_defaults(len(V_GRID), gbar=GBAR)
    gates = ch.gates(jnp.asarray(V_GRID), jnp.asarray(celsius))  # type: ignore[attr-defined]
    for j, s in enumerate(ch.state_names):
        inf_ref, tau_ref = neuron_inf_tau(nrn, mech, s, V_GRID)
        assert _rel(gates[j][0], inf_ref) <= 1e-6, f"{name}.{s}_inf"
        assert _rel(gates[j][1], tau_ref) <= 1e-6, f"{name}.tau_{s}"


@pytest.mark.parametrize("name", CA_CHANNELS)
def test_calcium_current_uses_eca(nrn, name):
    sec, mech = _section(nrn, name, 34.0)
    sec.eca = ECA  # no calcium dynamics in this section: eca is a fixed parameter
    ch = CHANNELS[name].with_defaults(len(V_GRID), gbar=GBAR)
    states = np.random.default_rng(1).uniform(0.05, 1.0, (len(ch.state_names), len(V_GRID)))
    ref = neuron_currents(nrn, sec, mech, ch.state_names, states, V_GRID, lambda: sec(0.5).ica)
    st = tuple(jnp.asarray(x) for x in states)
    i = ch.current(jnp.asarray(V_GRID), st, _ions(len(V_GRID)))
    far = np.abs(V_GRID - ECA) > 1.0
    assert _rel(np.asarray(i)[far], np.asarray(ref)[far]) <= 1e-6
    with pytest.raises(ValueError, match="calcium dynamics"):
        ch.current(jnp.asarray(V_GRID), st)  # no ions given


def test_sk_gate_follows_calcium(nrn):
    sec, mech = _section(nrn, "SK_E2", 34.0)
    cai = np.array([0.0, 5e-8, 9.99e-8, 1e-7, 2e-7, 1e-5, 1e-4, 4.3e-4, 1e-3, 1e-2])
    ref = []
    for c in cai:  # nothing writes cai in this section: it is a parameter
        sec(0.5).cai = float(c)
        nrn.finitialize(-70.0)
        ref.append(mech.zInf)
    ch = CHANNELS["SK_E2"].with_defaults(len(cai))
    ((z_inf, tau),) = ch.gates(  # type: ignore[attr-defined]
        jnp.full(len(cai), -70.0), jnp.asarray(34.0), Ions(jnp.asarray(cai), jnp.zeros(len(cai)))
    )
    assert _rel(z_inf, ref) <= 1e-12
    np.testing.assert_array_equal(tau, 1.0)


@pytest.mark.parametrize("celsius", [6.3, 34.0])
def test_nernst_matches_neuron(nrn, celsius):
    nrn.celsius = celsius
    for ci, co in [(5e-5, 2.0), (1e-4, 2.0), (1e-3, 1.5)]:
        ours = float(nernst(jnp.asarray(ci), jnp.asarray(co), 2, jnp.asarray(celsius)))
        assert abs(ours - nrn.nernst(ci, co, 2)) < 1e-10


def _calcium_cell(tmp_path, gamma: float):
    path = tmp_path / "cylinder.swc"
    path.write_text("1 3 0 0 0 10 -1\n2 3 20 0 0 10 1\n")
    cell = sx.Cell.from_swc(path, nseg=1, Ra=100.0, cm=1.0)
    mechs = {"NaTa_t": 0.5, "SKv3_1": 0.3, "Ca_HVA": 1e-4, "Ca_LVAst": 1e-3, "SK_E2": 5e-4}
    for name, g in mechs.items():
        cell.insert(name, gbar=g)
    cell.insert("CaDynamics_E2", gamma=gamma, decay=80.0)
    cell.insert("Leak", g=5e-5, e=-80.0)
    cell.set("celsius", 34.0)
    cell.set("v_init", -80.0)
    return cell, mechs


def test_calcium_cell_matches_neuron(nrn, tmp_path):
    """Spiking with calcium influx, SK-driven adaptation and Nernst eca: v, cai and eca
    follow NEURON (the same scheme and equations)."""
    from synaptax.testing.neuron_ref import build_neuron_cell, spike_times

    t_max, amp, gamma = 150.0, 0.1, 0.01
    cell, mechs = _calcium_cell(tmp_path, gamma)
    model, params = cell.compile()
    stim = [sx.CurrentClamp(cell.soma, sx.step_current(amp, 10.0, 130.0, t_max, DT))]
    record = [("v", cell.soma), ("cai", cell.soma), ("eca", cell.soma), ("SK_E2.z", cell.soma)]
    ours = np.asarray(sx.simulate(model, params, stim, t_max, DT, record=record))

    h, (sec,) = build_neuron_cell(cell, ra=100.0, cm=1.0, hh=False)
    seg = sec(0.5)
    for name, g in mechs.items():
        sec.insert(f"sx_{name}")
        getattr(seg, f"sx_{name}").gbar = g
    sec.insert("sx_CaDynamics_E2")
    seg.sx_CaDynamics_E2.gamma, seg.sx_CaDynamics_E2.decay = gamma, 80.0
    sec.insert("pas")
    sec.g_pas, sec.e_pas = 5e-5, -80.0
    sec.ena, sec.ek = 50.0, -85.0
    ic = h.IClamp(seg)
    ic.amp, ic.delay, ic.dur = amp, 10.0, 130.0
    vecs = [
        h.Vector().record(x) for x in (seg._ref_v, seg._ref_cai, seg._ref_eca, seg.sx_SK_E2._ref_z)
    ]
    h.dt, h.steps_per_ms, h.secondorder, h.celsius = DT, 1.0 / DT, 0, 34.0
    h.finitialize(-80.0)
    h.continuerun(t_max)
    ref = np.array([np.asarray(x) for x in vecs])
    del ic, seg, sec

    assert ref[1].max() > 5 * ref[1, 0], "calcium should rise during firing"
    assert ref[3].max() > 0.1, "SK should open"
    spikes = spike_times(ref[0], DT)
    assert len(spikes) >= 5
    assert np.diff(spikes)[-1] > np.diff(spikes)[0], "SK should make the cell adapt"
    np.testing.assert_allclose(ours[0], ref[0], rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours[1], ref[1], rtol=1e-6, atol=0)
    # NEURON refreshes eca when it next computes currents, so its recorded eca lags cai
    # by one step; ours is the Nernst potential of the recorded cai
    np.testing.assert_allclose(ours[2, :-1], ref[2, 1:], rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours[3], ref[3], rtol=0, atol=1e-8)
    np.testing.assert_allclose(spike_times(ours[0], DT), spikes, atol=1e-6)


def test_calcium_needs_dynamics(tmp_path):
    cell, _ = _calcium_cell(tmp_path, 0.01)
    model, params = cell.compile()  # calcium dynamics wherever calcium flows: fine
    k = [c.name for c in params.channels].index("CaDynamics_E2")
    assert model.mask(k).all()
    bare = sx.Cell(cell.morphology, 1)
    bare.insert("Ca_HVA")
    with pytest.raises(ValueError, match=r"Ca_HVA carries calcium.*CaDynamics_E2"):
        bare.compile()
    bare2 = sx.Cell(cell.morphology, 1)
    bare2.insert("SK_E2")
    with pytest.raises(ValueError, match="SK_E2 reads calcium"):
        bare2.compile()
    plain = sx.Cell(cell.morphology, 1)
    plain.insert("Leak")
    model, params = plain.compile()
    with pytest.raises(ValueError, match="no calcium dynamics"):
        sx.simulate(model, params, [], 1.0, DT, record=[("cai", 0)])


@pytest.mark.parametrize("name", CA_CHANNELS)
def test_calcium_gate_trajectories_under_voltage_steps(nrn, name):
    """SEClamp steps in NEURON; our gates replayed on NEURON's potential (cnexp)."""
    from test_channels_neuron import PROTOCOLS, _neuron_traces, replay_gates

    t_max, celsius = 30.0, 34.0
    sec, mech = _section(nrn, name, celsius)
    sec.eca = ECA
    ch = CHANNELS[name].with_defaults(len(PROTOCOLS), gbar=GBAR)
    runs = [_neuron_traces(nrn, sec, mech, ch.state_names, v0, v1, t_max) for v0, v1 in PROTOCOLS]
    ref = np.stack(runs, axis=-1)  # [1 + states, time, protocol]
    ours = replay_gates(ch, jnp.asarray(ref[0]), celsius)
    for j, s in enumerate(ch.state_names):
        assert np.abs(ref[1 + j][-1] - ref[1 + j][0]).max() > 0, f"{name}.{s} never moved"
        assert _rel(ours[:, j], ref[1 + j]) <= 1e-6, f"{name}.{s} trajectory"
