"""Hay et al. (2011) and Pospischil et al. (2008) channels against NEURON (float64).

NEURON runs our own NMODL of the same published equations (``tests/nmodl``), compiled
once per session into a temporary folder. Per channel, in one compartment: steady
states and time constants on a voltage grid (NEURON's INITIAL block fills the RANGE
variables ``xInf``, ``xTau``), the current density at given (v, gates), and the gate
trajectories under an SEClamp step protocol, replayed gate by gate with NEURON's own
potential. Finally a current-clamp cell with NaTs2_t + SKv3_1 + Ih + leak spikes at
NEURON's spike times.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import synaptax as sx
from synaptax.channels import CHANNELS, AbstractChannel

pytestmark = pytest.mark.neuron
NMODL = Path(__file__).parent / "nmodl"
DT = 0.025
RTOL = 1e-6

# channel name -> (ion whose reversal the NMODL reads, or None, reversal param, value)
SPECS: dict[str, tuple[str | None, str, float]] = {
    "NaTa_t": ("na", "ena", 50.0),
    "NaTs2_t": ("na", "ena", 50.0),
    "Nap_Et2": ("na", "ena", 50.0),
    "SKv3_1": ("k", "ek", -85.0),
    "K_Tst": ("k", "ek", -85.0),
    "K_Pst": ("k", "ek", -85.0),
    "Im": ("k", "ek", -85.0),
    "Ih": (None, "ehcn", -45.0),
    "Pospischil_Na": ("na", "ena", 50.0),
    "Pospischil_K": ("k", "ek", -90.0),
    "Pospischil_Km": ("k", "ek", -90.0),
}
# potentials at the removable singularities of the rate functions are included
V_GRID = np.unique(
    np.concatenate(
        [np.linspace(-120.0, 60.0, 37), [-154.9, -66.0, -64.4, -60.0, -38.0, -32.0, -17.0]]
    )
)
GBAR = 0.02


def _section(h, name: str, celsius: float):
    """A 1-segment section with the NMODL twin of channel ``name`` (gbar = GBAR)."""
    ion, _, erev = SPECS[name]
    sec = h.Section(name=f"test_{name}")
    sec.L = sec.diam = 10.0
    sec.nseg = 1
    sec.insert(f"sx_{name}")
    mech = getattr(sec(0.5), f"sx_{name}")
    mech.gbar = GBAR
    if ion is None:
        mech.ehcn = erev
    else:
        setattr(sec, f"e{ion}", erev)
    _settings(h, celsius)
    return sec, mech


def _settings(h, celsius: float) -> None:
    """Fixed step DT, backward Euler, ``celsius`` (other tests may have changed them)."""
    h.dt, h.steps_per_ms, h.secondorder, h.celsius = DT, 1.0 / DT, 0, celsius


def _channel(name: str, n: int) -> AbstractChannel:
    _, rev, erev = SPECS[name]
    return CHANNELS[name].with_defaults(n, gbar=GBAR, **{rev: erev})


def _nrn_current(sec, name: str) -> float:
    ion, _, _ = SPECS[name]
    seg = sec(0.5)
    return seg.sx_Ih.ihcn if ion is None else getattr(seg, f"i{ion}")


def _close(x, ref, what: str, rtol: float = RTOL):
    x, ref = np.asarray(x), np.asarray(ref)
    scale = np.maximum(np.abs(ref), 1e-12)
    rel = np.abs(x - ref) / scale
    assert rel.max() <= rtol, f"{what}: max relative error {rel.max():.3g} at {rel.argmax()}"
    return float(rel.max())


def neuron_inf_tau(h, mech, state: str, v_grid) -> tuple[list[float], list[float]]:
    """NEURON's ``<state>Inf`` and ``<state>Tau`` (filled by INITIAL) on a voltage grid;
    checks that INITIAL also sets the state to its steady state."""
    inf, tau = [], []
    for v in v_grid:
        h.finitialize(float(v))
        inf.append(getattr(mech, f"{state}Inf"))
        tau.append(getattr(mech, f"{state}Tau"))
        assert getattr(mech, state) == inf[-1]
    return inf, tau


@pytest.mark.parametrize("celsius", [34.0, 16.0])
@pytest.mark.parametrize("name", list(SPECS))
def test_steady_states_and_time_constants(nrn, name, celsius):
    _, mech = _section(nrn, name, celsius)
    ch = _channel(name, len(V_GRID))
    gates = ch.gates(jnp.asarray(V_GRID), jnp.asarray(celsius))  # type: ignore[attr-defined]
    for j, s in enumerate(ch.state_names):
        inf_ref, tau_ref = neuron_inf_tau(nrn, mech, s, V_GRID)
        _close(gates[j][0], inf_ref, f"{name}.{s}_inf")
        _close(gates[j][1], tau_ref, f"{name}.tau_{s}")
    # init_state is the steady state
    for x, (inf, _) in zip(
        ch.init_state(jnp.asarray(V_GRID), jnp.asarray(celsius)), gates, strict=True
    ):
        np.testing.assert_array_equal(x, inf)


def neuron_currents(h, sec, mech, names, states, v_grid, read) -> list[float]:
    """NEURON's current (``read()``) at each potential of ``v_grid`` with the gates set
    to ``states[:, k]``."""
    out = []
    for k, v in enumerate(v_grid):
        h.finitialize(float(v))
        for j, s in enumerate(names):
            setattr(mech, s, float(states[j, k]))
        sec(0.5).v = float(v)
        h.fcurrent()
        out.append(read())
    return out


@pytest.mark.parametrize("name", list(SPECS))
def test_current_density(nrn, name):
    sec, mech = _section(nrn, name, 34.0)
    ch = _channel(name, len(V_GRID))
    states = np.random.default_rng(0).uniform(0.05, 1.0, (len(ch.state_names), len(V_GRID)))
    ref = neuron_currents(
        nrn, sec, mech, ch.state_names, states, V_GRID, lambda: _nrn_current(sec, name)
    )
    st = tuple(jnp.asarray(x) for x in states)
    i, g = ch.current_and_conductance(jnp.asarray(V_GRID), st)
    np.testing.assert_array_equal(i, ch.current(jnp.asarray(V_GRID), st))
    # away from the reversal potential (where the current vanishes) compare relatively
    _, _, erev = SPECS[name]
    far = np.abs(V_GRID - erev) > 1.0
    _close(np.asarray(i)[far], np.asarray(ref)[far], f"{name} current")
    np.testing.assert_allclose(np.asarray(i)[~far], np.asarray(ref)[~far], rtol=0, atol=1e-14)
    # the analytic slope is the autodiff one
    _, slope = jax.jvp(
        lambda u: ch.current(u, st), (jnp.asarray(V_GRID),), (jnp.ones(len(V_GRID)),)
    )
    np.testing.assert_allclose(g, slope, rtol=1e-12, atol=0)


# (holding, step) potentials, mV: hold 5 ms, step 20 ms, back to holding 5 ms
PROTOCOLS = [(-90.0, -40.0), (-80.0, 0.0), (-70.0, 30.0), (-50.0, -110.0), (-30.0, -70.0)]


def _neuron_traces(h, sec, mech, names, v0, v1, t_max):
    clamp = h.SEClamp(sec(0.5))
    clamp.rs = 1e-6  # MOhm: v follows the command to ~1e-6 mV
    clamp.dur1, clamp.amp1 = 5.0, v0
    clamp.dur2, clamp.amp2 = 20.0, v1
    clamp.dur3, clamp.amp3 = 1e9, v0
    vecs = [h.Vector().record(sec(0.5)._ref_v)]
    vecs += [h.Vector().record(getattr(mech, f"_ref_{s}")) for s in names]
    h.finitialize(v0)
    h.continuerun(t_max)
    out = np.array([np.asarray(x) for x in vecs])
    del clamp
    return out


@pytest.mark.parametrize("name", list(SPECS))
def test_gate_trajectories_under_voltage_steps(nrn, name):
    t_max, celsius = 30.0, 34.0
    sec, mech = _section(nrn, name, celsius)
    ch = _channel(name, len(PROTOCOLS))
    runs = [_neuron_traces(nrn, sec, mech, ch.state_names, v0, v1, t_max) for v0, v1 in PROTOCOLS]
    ref = np.stack(runs, axis=-1)  # [1 + states, time, protocol]
    assert ref.shape[1] == round(t_max / DT) + 1
    v = jnp.asarray(ref[0])
    vhold = jnp.asarray([p[0] for p in PROTOCOLS])
    assert np.max(np.abs(ref[0, 0] - np.asarray(vhold))) < 1e-9
    ours = replay_gates(ch, v, celsius)
    for j, s in enumerate(ch.state_names):
        ref_s = ref[1 + j]
        moved = np.abs(ref_s[-1] - ref_s[0]).max() + np.abs(ref_s[400] - ref_s[0]).max()
        assert moved > 0, f"{name}.{s} never moved; the protocol tests nothing"
        _close(ours[:, j], ref_s, f"{name}.{s} trajectory")


def replay_gates(ch, v, celsius: float, ions=None) -> np.ndarray:
    """Our gates driven by a recorded potential ``v [time, protocol]`` (cnexp steps of
    DT from the steady state): ``[time, state, protocol]``."""
    tc = jnp.asarray(celsius)

    def step(state, v_new):
        new = ch.update(v_new, state, DT, tc, ions)
        return new, jnp.stack(new)

    s0 = ch.init_state(v[0], tc, ions)
    _, traj = jax.lax.scan(step, s0, v[1:])
    return np.concatenate([np.stack(s0)[None], np.asarray(traj)], axis=0)


def _one_compartment(tmp_path):
    path = tmp_path / "cylinder.swc"
    path.write_text("1 3 0 0 0 10 -1\n2 3 20 0 0 10 1\n")
    return sx.Cell.from_swc(path, nseg=1, Ra=100.0, cm=1.0)


def test_spiking_cell_matches_neuron_spike_times(nrn, tmp_path):
    from synaptax.testing.neuron_ref import build_neuron_cell, spike_times

    t_max, celsius, v_init, amp = 60.0, 34.0, -75.0, 0.15
    cell = _one_compartment(tmp_path)
    cell.insert("NaTs2_t", gbar=0.5, ena=50.0)
    cell.insert("SKv3_1", gbar=0.3, ek=-85.0)
    cell.insert("Ih", gbar=1e-4, ehcn=-45.0)
    cell.insert("Leak", g=5e-5, e=-75.0)
    cell.set("celsius", celsius)
    cell.set("v_init", v_init)
    model, params = cell.compile()
    stim = [sx.CurrentClamp(cell.soma, sx.step_current(amp, 5.0, 50.0, t_max, DT))]
    v = np.asarray(sx.simulate(model, params, stim, t_max, DT, record=[("v", cell.soma)]))[0]

    h, secs = build_neuron_cell(cell, ra=100.0, cm=1.0, hh=False)
    (sec,) = secs
    for mech, g in (("sx_NaTs2_t", 0.5), ("sx_SKv3_1", 0.3), ("sx_Ih", 1e-4)):
        sec.insert(mech)
        getattr(sec(0.5), mech).gbar = g
    sec.insert("pas")
    sec.g_pas, sec.e_pas = 5e-5, -75.0
    sec.ena, sec.ek = 50.0, -85.0
    sec(0.5).sx_Ih.ehcn = -45.0
    ic = h.IClamp(sec(0.5))
    ic.amp, ic.delay, ic.dur = amp, 5.0, 50.0
    rec = h.Vector().record(sec(0.5)._ref_v)
    _settings(h, celsius)
    h.finitialize(v_init)
    h.continuerun(t_max)
    vn = np.asarray(rec)
    del ic, secs, sec

    ours, theirs = spike_times(v, DT), spike_times(vn, DT)
    assert len(theirs) >= 3, f"the NEURON cell should fire repetitively, got {theirs}"
    assert len(ours) == len(theirs)
    assert np.max(np.abs(ours - theirs)) < 0.1
    # the same scheme and equations: in practice 3e-12 ms and 3e-9 mV
    assert np.max(np.abs(ours - theirs)) < 1e-6
    assert np.max(np.abs(v - vn)) < 1e-6


def test_pospischil_regular_spiking_cell_matches_neuron(nrn, tmp_path):
    """Na + K + Km + leak (a regular-spiking cell with adaptation), 36 C."""
    from synaptax.testing.neuron_ref import build_neuron_cell, spike_times

    t_max, celsius, v_init, amp = 100.0, 36.0, -70.0, 0.15
    cell = _one_compartment(tmp_path)
    cell.insert("Pospischil_Na", gbar=0.05, vt=-56.2).insert("Pospischil_K", gbar=0.005, vt=-56.2)
    cell.insert("Pospischil_Km", gbar=2e-4, tau_max=600.0).insert("Leak", g=1e-4, e=-70.0)
    cell.set("celsius", celsius)
    cell.set("v_init", v_init)
    model, params = cell.compile()
    stim = [sx.CurrentClamp(cell.soma, sx.step_current(amp, 5.0, 90.0, t_max, DT))]
    v = np.asarray(sx.simulate(model, params, stim, t_max, DT, record=[("v", cell.soma)]))[0]

    h, (sec,) = build_neuron_cell(cell, ra=100.0, cm=1.0, hh=False)
    for mech in ("sx_Pospischil_Na", "sx_Pospischil_K", "sx_Pospischil_Km"):
        sec.insert(mech)
    seg = sec(0.5)
    seg.sx_Pospischil_Na.gbar, seg.sx_Pospischil_K.gbar, seg.sx_Pospischil_Km.gbar = (
        0.05,
        0.005,
        2e-4,
    )
    seg.sx_Pospischil_Na.vt = seg.sx_Pospischil_K.vt = -56.2
    seg.sx_Pospischil_Km.tau_max = 600.0
    sec.insert("pas")
    sec.g_pas, sec.e_pas = 1e-4, -70.0
    sec.ena, sec.ek = 50.0, -90.0
    ic = h.IClamp(seg)
    ic.amp, ic.delay, ic.dur = amp, 5.0, 90.0
    rec = h.Vector().record(seg._ref_v)
    _settings(h, celsius)
    h.finitialize(v_init)
    h.continuerun(t_max)
    vn = np.asarray(rec)
    del ic, seg, sec

    ours, theirs = spike_times(v, DT), spike_times(vn, DT)
    assert len(theirs) >= 3, f"the NEURON cell should fire repetitively, got {theirs}"
    isi = np.diff(theirs)
    assert isi[-1] > isi[0], f"Km should make the cell adapt; ISIs {isi}"
    assert len(ours) == len(theirs)
    assert np.max(np.abs(ours - theirs)) < 1e-6
    assert np.max(np.abs(v - vn)) < 1e-6


def test_voltage_clamp_through_the_simulator_matches_neuron(nrn, tmp_path):
    """Hay channels together under synaptax's VoltageClamp and NEURON's SEClamp."""
    from synaptax.stimuli import step_times
    from synaptax.testing.neuron_ref import build_neuron_cell

    t_max, celsius, rs = 40.0, 34.0, 1e-3
    mechs = {"NaTa_t": 0.05, "Nap_Et2": 1e-3, "K_Tst": 0.02, "K_Pst": 0.01, "Im": 1e-3}
    cell = _one_compartment(tmp_path)
    for name, g in mechs.items():
        cell.insert(name, gbar=g)
    cell.insert("Ih", gbar=1e-3).insert("Leak", g=3e-5, e=-90.0)
    cell.set("celsius", celsius)
    cell.set("v_init", -80.0)
    model, params = cell.compile()
    t = step_times(t_max, DT)
    command = np.where((t >= 5.0) & (t < 25.0), -10.0, -80.0)
    record = [("v", cell.soma)] + [
        (f"{n}.{s}", cell.soma) for n in [*mechs, "Ih"] for s in CHANNELS[n].state_names
    ]
    ours = np.asarray(
        sx.simulate(
            model, params, [sx.VoltageClamp(cell.soma, command, rs=rs)], t_max, DT, record=record
        )
    )

    h, (sec,) = build_neuron_cell(cell, ra=100.0, cm=1.0, hh=False)
    seg = sec(0.5)
    for name, g in [*mechs.items(), ("Ih", 1e-3)]:
        sec.insert(f"sx_{name}")
        getattr(seg, f"sx_{name}").gbar = g
    sec.insert("pas")
    sec.g_pas, sec.e_pas = 3e-5, -90.0
    sec.ena, sec.ek = 50.0, -85.0
    clamp = h.SEClamp(seg)
    clamp.rs = rs
    clamp.dur1, clamp.amp1 = 5.0, -80.0
    clamp.dur2, clamp.amp2 = 20.0, -10.0
    clamp.dur3, clamp.amp3 = 1e9, -80.0
    vecs = [h.Vector().record(seg._ref_v)]
    for what, _ in record[1:]:
        name, s = what.split(".")
        vecs.append(h.Vector().record(getattr(getattr(seg, f"sx_{name}"), f"_ref_{s}")))
    _settings(h, celsius)
    h.finitialize(-80.0)
    h.continuerun(t_max)
    ref = np.array([np.asarray(x) for x in vecs])
    del clamp, seg, sec

    assert abs(ref[0, 600] - -10.0) < 0.5  # the clamp holds (rs drop only)
    np.testing.assert_allclose(ours[0], ref[0], rtol=0, atol=1e-8)
    for k, (what, _) in enumerate(record[1:], start=1):
        _close(ours[k], ref[k], f"{what} under the simulator's clamp", rtol=1e-8)
