"""The pure simulator: gradients, batching, checkpointing, float32 and bad input."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import SMALL_SWC

import synaptax as sx

SWC = SMALL_SWC
DT, T = 0.025, 15.0


@pytest.fixture(scope="module")
def small_cell(tmp_path_factory):
    path = tmp_path_factory.mktemp("morph") / "small.swc"
    path.write_text(SWC)
    cell = sx.Cell.from_swc(path, nseg=3, Ra=100.0)
    cell.insert("HH")
    return cell


def _stim(cell, amp=0.3):
    return [sx.CurrentClamp(cell.soma, sx.step_current(amp, 1.0, 10.0, T, DT))]


def test_gradients_match_central_differences(small_cell):
    model, params = small_cell.compile()
    stim = _stim(small_cell)
    tips = [small_cell.location(s, 1.0) for s in (2, 3, 4)]

    def loss(p):
        v = sx.simulate(
            model, p, stim, T, DT, record=[("v", small_cell.soma)] + [("v", t) for t in tips]
        )
        return jnp.mean((v + 60.0) ** 2) / 100.0

    grads = jax.jit(jax.grad(loss))(params)
    loss_j = jax.jit(loss)
    rng = np.random.default_rng(0)
    # one random direction per parameter group, relative 1e-4 agreement
    center = np.asarray(small_cell.disc.is_center, float)
    for getter in (
        lambda p: p.cm,
        lambda p: p.Ra,
        lambda p: p.radius,
        lambda p: p.length,
        lambda p: p.channels[0].gnabar,
        lambda p: p.channels[0].gkbar,
        lambda p: p.channels[0].el,
        lambda p: p.channels[0].ek,
    ):
        base = np.asarray(getter(params))
        direction = rng.uniform(0.5, 1.0, base.shape) * np.abs(base) * center[: base.shape[0]]
        g = float(np.dot(np.asarray(getter(grads)), direction))
        eps = 1e-5
        plus = eqx.tree_at(getter, params, jnp.asarray(base + eps * direction))
        minus = eqx.tree_at(getter, params, jnp.asarray(base - eps * direction))
        fd = float(loss_j(plus) - loss_j(minus)) / (2 * eps)
        assert g == pytest.approx(fd, rel=1e-4, abs=1e-9)


def test_checkpointed_gradient_equals_plain(small_cell):
    model, params = small_cell.compile()
    stim = _stim(small_cell)

    def loss(p, ck):
        return jnp.sum(sx.simulate(model, p, stim, T, DT, record=[("v", 0)], checkpoint=ck) ** 2)

    g0 = jax.grad(loss)(params, None)
    g1 = jax.grad(loss)(params, 37)  # 600 steps: 16 chunks of 37 and a remainder of 8
    np.testing.assert_allclose(g1.channels[0].gnabar, g0.channels[0].gnabar, rtol=1e-10)


def test_native_and_levels_solvers_agree(small_cell):
    stim = _stim(small_cell)
    out = []
    for solver in ("native", "levels"):
        model, params = small_cell.compile(solver=solver)
        out.append(np.asarray(sx.simulate(model, params, stim, T, DT)))
    np.testing.assert_allclose(out[0], out[1], atol=1e-9)


def test_vmap_over_parameters_and_stimuli(small_cell):
    model, params = small_cell.compile()
    g = jnp.linspace(0.08, 0.16, 4)
    batched = eqx.tree_at(
        lambda p: p.channels[0].gnabar,
        params,
        params.channels[0].gnabar[None, :] * (g[:, None] / 0.12),
    )
    axes = eqx.tree_at(
        lambda p: p.channels[0].gnabar,
        jax.tree.map(lambda _: None, params),
        0,
        is_leaf=lambda x: x is None,
    )
    amps = jnp.linspace(0.1, 0.4, 4)
    waves = amps[:, None] * jnp.asarray(sx.step_current(1.0, 1.0, 10.0, T, DT))[None]

    def run(p, w):
        return sx.simulate(
            model, p, [sx.CurrentClamp(small_cell.soma, w)], T, DT, record=[("v", 0)]
        )

    v = jax.jit(jax.vmap(run, in_axes=(axes, 0)))(batched, waves)
    assert v.shape == (4, 1, int(T / DT) + 1)
    for k in (0, 3):
        pk = eqx.tree_at(lambda p: p.channels[0].gnabar, params, batched.channels[0].gnabar[k])
        np.testing.assert_allclose(v[k], run(pk, waves[k]), atol=1e-10)


def test_float32_stays_close_to_float64(small_cell):
    stim = _stim(small_cell)
    v64 = np.asarray(
        sx.simulate(*small_cell.compile(), stim, T, DT, record=[("v", small_cell.soma)])
    )
    model32, params32 = small_cell.compile(dtype=jnp.float32)
    stim32 = [sx.CurrentClamp(s.node, s.current.astype(jnp.float32)) for s in stim]
    v32 = np.asarray(sx.simulate(model32, params32, stim32, T, DT, record=[("v", small_cell.soma)]))
    assert v32.dtype == np.float32
    assert np.abs(v32 - v64).max() < 0.5  # README quotes measured float32 errors


def test_voltage_clamp_holds_the_node(small_cell):
    model, params = small_cell.compile()
    n = round(T / DT)
    vc = sx.VoltageClamp(small_cell.soma, jnp.full((n,), -20.0))
    v = sx.simulate(
        model, params, [vc], T, DT, record=[("v", small_cell.soma), ("HH.m", small_cell.soma)]
    )
    assert abs(float(v[0, -1]) + 20.0) < 0.05
    assert float(v[1, -1]) > 0.5  # sodium activation follows the clamp


def test_leak_only_cell_relaxes_to_reversal(small_cell):
    cell = sx.Cell(small_cell.morphology, nseg=1)
    cell.insert(sx.Leak, g=1e-3, e=-72.0)
    model, params = cell.compile()
    v = sx.simulate(model, params, [], 200.0, 0.5, record=[("v", cell.soma)])
    assert float(v[0, -1]) == pytest.approx(-72.0, abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"dt": 0.0}, "dt must be a positive"),
        ({"dt": 5.0}, "too large"),
        ({"t_max": 10.01}, "whole number of steps"),
        ({"method": "rk4"}, "rk4"),
    ],
)
def test_bad_time_arguments(small_cell, kwargs, fragment):
    model, params = small_cell.compile()
    args = {"t_max": 10.0, "dt": 0.025, **kwargs}
    with pytest.raises((ValueError, TypeError), match=fragment):
        sx.simulate(model, params, [], **args)


def test_bad_parameters_and_stimuli(small_cell):
    model, params = small_cell.compile()
    bad = eqx.tree_at(
        lambda p: p.channels[0].gkbar, params, params.channels[0].gkbar.at[2].set(jnp.nan)
    )
    with pytest.raises(ValueError, match=r"gkbar.*NaN"):
        sx.simulate(model, bad, [], 1.0, 0.025)
    with pytest.raises(ValueError, match="has 10 samples but the simulation has 40 steps"):
        sx.simulate(model, params, [sx.CurrentClamp(0, jnp.zeros(10))], 1.0, 0.025)
    with pytest.raises(ValueError, match="no channel 'Na'"):
        sx.simulate(model, params, [], 1.0, 0.025, record=[("Na.m", 0)])


def test_builder_errors_are_helpful(small_cell):
    with pytest.raises(ValueError, match="no sections of type 'axon'"):
        small_cell.select(types="axon")
    with pytest.raises(ValueError, match="out of range"):
        small_cell.select(sections=99)
    with pytest.raises(ValueError, match="unknown channel or mechanism 'Nav'"):
        small_cell.insert("Nav")
    with pytest.raises(ValueError, match="not inserted"):
        small_cell.set("Leak.g", 1.0)
    with pytest.raises(ValueError, match="finite"):
        small_cell.set("HH.gl", float("inf"))
    with pytest.raises(ValueError, match="no parameter"):
        small_cell.set("HH.gfoo", 1.0)


def test_distance_dependent_parameters(small_cell):
    cell = sx.Cell(small_cell.morphology, nseg=3)
    cell.insert("HH")
    cell.select(types="basal").set("HH.gkbar", lambda d: 0.036 * np.exp(-d / 50.0))
    _, params = cell.compile()
    sel = cell.select(types="basal").nodes
    expected = 0.036 * np.exp(-cell.disc.distance[sel] / 50.0)
    np.testing.assert_allclose(np.asarray(params.channels[0].gkbar)[sel], expected)


def test_nan_parameters_fail_under_jit_too(small_cell):
    model, params = small_cell.compile()
    bad = eqx.tree_at(lambda p: p.cm, params, params.cm.at[0].set(jnp.inf))
    run = jax.jit(lambda p: sx.simulate(model, p, [], 1.0, 0.025))
    with pytest.raises(Exception, match="NaN/inf"):
        jax.block_until_ready(run(bad))
    assert np.isfinite(np.asarray(run(params))).all()


def test_mechanism_on_part_of_the_cell(tmp_path):
    """A channel inserted on some compartments acts there only, and is recorded there."""
    path = tmp_path / "small.swc"
    path.write_text(SWC)
    cell = sx.Cell.from_swc(path, nseg=3, Ra=100.0)
    cell.insert("Leak", g=1e-4, e=-65.0)
    soma_sel = cell.select(types="soma")
    soma_sel.insert("HH")
    model, params = cell.compile()
    k = [c.name for c in params.channels].index("HH")
    assert model.mask(k).sum() == len(soma_sel.nodes) < model.n_center
    outside = int(np.flatnonzero(~model.mask(k))[0])
    with pytest.raises(ValueError, match="HH is not inserted there"):
        sx.simulate(model, params, [], T, DT, record=[("HH.m", outside)])
    v = sx.simulate(
        model, params, _stim(cell), T, DT, record=[("v", cell.soma), ("HH.m", cell.soma)]
    )
    assert float(v[0].max()) > 0.0  # the soma spikes
    # the same cell with HH everywhere but switched off outside the soma is identical
    full = sx.Cell.from_swc(path, nseg=3, Ra=100.0)
    full.insert("Leak", g=1e-4, e=-65.0).insert("HH", gnabar=0.0, gkbar=0.0, gl=0.0)
    full.select(types="soma").set("HH.gnabar", 0.12).set("HH.gkbar", 0.036).set("HH.gl", 3e-4)
    m2, p2 = full.compile()
    v2 = sx.simulate(m2, p2, _stim(full), T, DT, record=[("v", full.soma), ("HH.m", full.soma)])
    np.testing.assert_allclose(v, v2, rtol=0, atol=1e-9)


def test_unroll_changes_nothing_but_speed(small_cell):
    model, params = small_cell.compile()
    stim = _stim(small_cell)
    rec = [("v", small_cell.soma)]

    def loss(p, unroll):  # the scan (the fused kernel has no unrolling)
        return jnp.mean(sx.simulate(model, p, stim, T, DT, record=rec, unroll=unroll, fused=False))

    v1 = sx.simulate(model, params, stim, T, DT, record=rec, fused=False)
    v16 = sx.simulate(model, params, stim, T, DT, record=rec, unroll=16, fused=False)
    np.testing.assert_allclose(v16, v1, rtol=0, atol=1e-12)
    g1, g16 = jax.grad(loss)(params, 1), jax.grad(loss)(params, 16)
    for a, b in zip(jax.tree_util.tree_leaves(g1), jax.tree_util.tree_leaves(g16), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="unroll must be a positive"):
        sx.simulate(model, params, stim, T, DT, record=rec, unroll=0)


def _leaves_close(a, b, rtol):
    """Leaf by leaf, to ``rtol`` of the leaf's largest value (or of the largest value of
    all leaves, times 1e-3, for leaves that are zero up to rounding)."""
    leaves = jax.tree_util.tree_leaves(a)
    top = max(float(jnp.max(jnp.abs(x))) for x in leaves)
    for x, y in zip(leaves, jax.tree_util.tree_leaves(b), strict=True):
        scale = max(float(jnp.max(jnp.abs(x))), 1e-3 * top)
        np.testing.assert_allclose(np.asarray(y), np.asarray(x), rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("method", ["bwd_euler", "crank_nicolson"])
def test_adjoint_equals_autodiff(small_cell, method):
    """The hand-written reverse pass gives autodiff's gradients for every parameter, the
    stimulus waveforms included, with current and voltage clamps and both methods."""
    model, params = small_cell.compile()
    tip = small_cell.location(3, 0.5)
    iclamp = sx.CurrentClamp(small_cell.soma, sx.step_current(0.3, 1.0, 10.0, T, DT))
    vclamp = sx.VoltageClamp(tip, jnp.full(iclamp.current.shape, -70.0), rs=0.01)
    rec = [("v", small_cell.soma), ("HH.m", tip), ("HH.i", small_cell.soma)]

    def loss(p, wave, hold, adjoint):
        stim = [sx.CurrentClamp(small_cell.soma, wave), sx.VoltageClamp(tip, hold, rs=0.01)]
        out = sx.simulate(model, p, stim, T, DT, record=rec, method=method, adjoint=adjoint)
        return jnp.sum(jnp.sin(out / 10.0))

    args = (params, iclamp.current, vclamp.voltage)
    value, grads = jax.value_and_grad(loss, argnums=(0, 1, 2))(*args, True)
    ref_value, ref = jax.value_and_grad(loss, argnums=(0, 1, 2))(*args, False)
    assert float(value) == float(ref_value)
    _leaves_close(ref, grads, 1e-9)
    assert float(jnp.max(jnp.abs(grads[1]))) > 0.0  # the stimulus gradient is not empty


def test_adjoint_equals_autodiff_with_calcium(tmp_path):
    """Calcium dynamics (an extra state carried between steps, and the calcium current
    passed from the matrix assembly to the state update) under vmap and jit."""
    path = tmp_path / "cylinder.swc"
    path.write_text("1 3 0 0 0 10 -1\n2 3 20 0 0 10 1\n")
    cell = sx.Cell.from_swc(path, nseg=1, Ra=100.0, cm=1.0)
    for name, g in {"NaTa_t": 0.5, "SKv3_1": 0.3, "Ca_HVA": 1e-4, "SK_E2": 5e-4}.items():
        cell.insert(name, gbar=g)
    cell.insert("CaDynamics_E2", gamma=0.05, decay=80.0)
    cell.insert("Leak", g=5e-5, e=-80.0)
    cell.set("celsius", 34.0)
    model, params = cell.compile()
    wave = sx.step_current(0.5, 2.0, 20.0, 30.0, DT)

    def loss(p, amp, adjoint):
        stim = [sx.CurrentClamp(cell.soma, amp * wave)]
        out = sx.simulate(model, p, stim, 30.0, DT, record=[("v", 0), ("cai", 0)], adjoint=adjoint)
        return jnp.mean(out[0]) + 1e4 * jnp.mean(out[1])

    amps = jnp.array([0.8, 1.0, 1.2])
    grad = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, None)), static_argnums=2)
    _leaves_close(grad(params, amps, False), grad(params, amps, True), 1e-10)
