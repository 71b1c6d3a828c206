"""The fused HH kernel (one native call per simulation and per reverse pass) against the
``lax.scan`` path: values, gradients of every parameter and stimulus, batches, float32,
and the cases it must refuse."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import SMALL_SWC, needs_compiler

import synaptax as sx
from synaptax.solver import hh as fused_hh

pytestmark = needs_compiler

DT, T = 0.025, 12.0


@pytest.fixture(scope="module")
def cell(tmp_path_factory):
    """HH on the soma and apical stub only, a passive leak everywhere, warm (celsius 20)."""
    path = tmp_path_factory.mktemp("morph") / "cell.swc"
    path.write_text(SMALL_SWC)
    c = sx.Cell.from_swc(path, nseg=3, Ra=120.0)
    c.insert("Leak", g=5e-5, e=-68.0)
    c.select(types=("soma", "apical")).insert("HH")
    c.set("celsius", 20.0)
    return c


def _run(cell, params, wave, hold, method, fused, model=None):
    model = model if model is not None else cell.compile()[0]
    tip = cell.location(3, 0.5)
    stim = [sx.CurrentClamp(cell.soma, wave), sx.VoltageClamp(tip, hold, rs=2.0)]
    rec = [("v", cell.soma), ("v", tip), ("v", model.n - 1), ("v", cell.location(4, 0.9))]
    return sx.simulate(model, params, stim, T, DT, record=rec, method=method, fused=fused)


def _inputs(cell):
    model, params = cell.compile()
    wave = jnp.asarray(sx.step_current(1.5, 1.0, 8.0, T, DT))
    hold = jnp.full(wave.shape, -70.0) + 5.0 * jnp.sin(jnp.arange(wave.shape[0]) * 0.01)
    return model, params, wave, hold


@pytest.mark.parametrize("method", ["bwd_euler", "crank_nicolson"])
def test_fused_equals_scan(cell, method):
    model, params, wave, hold = _inputs(cell)
    fused = _run(cell, params, wave, hold, method, True, model)
    scan = _run(cell, params, wave, hold, method, False, model)
    assert float(scan[0].max()) > 0.0  # the soma spikes: the comparison covers spikes
    np.testing.assert_allclose(np.asarray(fused), np.asarray(scan), rtol=0, atol=1e-9)


def _leaves_close(ref, got, rtol):
    for a, b in zip(jax.tree_util.tree_leaves(ref), jax.tree_util.tree_leaves(got), strict=True):
        a, b = np.asarray(a), np.asarray(b)
        scale = max(float(np.abs(a).max()), 1e-30)
        np.testing.assert_allclose(b, a, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("method", ["bwd_euler", "crank_nicolson"])
def test_fused_gradients_equal_the_scan_adjoint(cell, method):
    """Every parameter (conductances, reversals, geometry, Ra, cm, celsius, v_init) and
    both stimulus waveforms get the scan's gradient."""
    model, params, wave, hold = _inputs(cell)

    def loss(p, w, h, fused):
        return jnp.sum(jnp.sin(_run(cell, p, w, h, method, fused, model) / 10.0))

    grad = jax.grad(loss, argnums=(0, 1, 2))
    got = grad(params, wave, hold, True)
    ref = grad(params, wave, hold, False)
    _leaves_close(ref, got, 1e-7)
    assert float(jnp.abs(got[0].celsius)) > 0.0 and float(jnp.abs(got[0].radius).max()) > 0.0


@pytest.mark.parametrize("checkpoint", [2, 7, 10_000])
def test_fused_checkpointed_gradients(cell, checkpoint):
    """With ``checkpoint=k`` the reverse pass recomputes the steps between kept states:
    the same gradients (k = 7 leaves a partial last segment; k > steps keeps only t = 0)."""
    model, params, wave, hold = _inputs(cell)
    tip = cell.location(3, 0.5)

    def loss(p, w, k):
        stim = [sx.CurrentClamp(cell.soma, w), sx.VoltageClamp(tip, hold, rs=2.0)]
        out = sx.simulate(model, p, stim, T, DT, record=[("v", 0), ("v", tip)], checkpoint=k)
        return jnp.sum(jnp.sin(out / 10.0))

    grad = jax.grad(loss, argnums=(0, 1))
    _leaves_close(grad(params, wave, None), grad(params, wave, checkpoint), 1e-12)


def test_fused_under_vmap_and_jit(cell):
    """A batch of parameter sets and stimuli runs in one call (threads) and equals the
    simulations run one by one, values and gradients."""
    model, params, wave, hold = _inputs(cell)
    k = [c.name for c in params.channels].index("HH")
    scale = jnp.array([0.8, 1.0, 1.3])

    def one(s, amp):
        p = eqx.tree_at(lambda q: q.channels[k].gnabar, params, params.channels[k].gnabar * s)
        return _run(cell, p, amp * wave, hold, "bwd_euler", True, model)

    amps = jnp.array([1.0, 0.5, 1.5])
    batch = jax.jit(jax.vmap(one))(scale, amps)
    for i in range(3):
        np.testing.assert_allclose(batch[i], one(scale[i], amps[i]), rtol=0, atol=1e-9)
    loss = lambda s, a: jnp.mean(one(s, a)[0])
    g_batch = jax.jit(jax.vmap(jax.grad(loss, argnums=(0, 1))))(scale, amps)
    for i in range(3):
        g = jax.grad(loss, argnums=(0, 1))(scale[i], amps[i])
        np.testing.assert_allclose([g_batch[0][i], g_batch[1][i]], g, rtol=1e-8)


def test_fused_gradient_matches_central_differences(cell):
    model, params, wave, hold = _inputs(cell)
    k = [c.name for c in params.channels].index("HH")

    def loss(gk):
        p = eqx.tree_at(lambda q: q.channels[k].gkbar, params, gk)
        return jnp.mean(_run(cell, p, wave, hold, "bwd_euler", True, model)[0])

    g0 = params.channels[k].gkbar
    grad = jax.grad(loss)(g0)
    for i in (0, int(g0.shape[0]) - 1):
        h = 1e-6 * float(g0[i])
        fd = (loss(g0.at[i].add(h)) - loss(g0.at[i].add(-h))) / (2 * h)
        np.testing.assert_allclose(float(grad[i]), float(fd), rtol=1e-4)


def test_fused_float32(cell):
    model, params, wave, hold = _inputs(cell)
    v64 = _run(cell, params, wave, hold, "bwd_euler", True, model)
    m32, p32 = cell.compile(dtype=jnp.float32)
    f32 = jnp.float32
    v32 = _run(cell, p32, wave.astype(f32), hold.astype(f32), "bwd_euler", True, m32)
    assert v32.dtype == jnp.float32
    assert float(jnp.abs(v32 - v64).max()) < 0.5
    g = jax.grad(
        lambda p: jnp.mean(
            _run(cell, p, wave.astype(f32), hold.astype(f32), "bwd_euler", True, m32)
        )
    )(p32)
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree_util.tree_leaves(g))


def test_fused_is_the_default_only_where_it_applies(cell, tmp_path):
    model, params, wave, _ = _inputs(cell)
    stim = [sx.CurrentClamp(cell.soma, wave)]
    with pytest.raises(ValueError, match="records 'v' only"):
        sx.simulate(model, params, stim, T, DT, record=[("HH.m", cell.soma)], fused=True)
    with pytest.raises(ValueError, match="own adjoint"):
        sx.simulate(model, params, stim, T, DT, record=[("v", 0)], fused=True, adjoint=False)
    path = tmp_path / "c.swc"
    path.write_text(SMALL_SWC)
    other = sx.Cell.from_swc(path, nseg=1)
    other.insert("NaTa_t")
    m2, p2 = other.compile()
    with pytest.raises(ValueError, match="HH and Leak only"):
        sx.simulate(m2, p2, [], T, DT, record=[("v", 0)], fused=True)
    # where it does not apply, fused=None silently runs the scan (same values as False)
    a = sx.simulate(m2, p2, [], T, DT, record=[("v", 0)])
    b = sx.simulate(m2, p2, [], T, DT, record=[("v", 0)], fused=False)
    np.testing.assert_array_equal(a, b)

    # the default calls the kernel; use_fused(False) switches it off (benchmarks time the
    # scan that way), with the same values. The switch acts when a function is traced:
    # each check traces a new one (jit would reuse an earlier trace of the same function).
    def lowered():
        run = lambda p: sx.simulate(model, p, stim, T, DT, record=[("v", 0)])
        return jax.jit(run).lower(params).as_text()

    assert "synaptax_hh_forward" in lowered()
    with fused_hh.use_fused(False):
        assert "synaptax_hh_forward" not in lowered()
        c = sx.simulate(model, params, stim, T, DT, record=[("v", 0)])
    d = sx.simulate(model, params, stim, T, DT, record=[("v", 0)], fused=True)
    np.testing.assert_allclose(c, d, rtol=0, atol=1e-9)


def test_kernel_rejects_inconsistent_operands(cell):
    """The kernel checks every operand's size against the layout (a wrong call fails with
    its message rather than reading out of bounds)."""
    model, _, wave, _ = _inputs(cell)
    n, nc, nt = model.n, model.n_center, wave.shape[0]
    layout = fused_hh.Layout(
        parent=np.asarray(model.tree.parent),
        order=np.asarray(model.tree.order),
        n_center=nc,
        n_steps=nt,
        stim_node=np.asarray([0], np.int32),
        stim_kind=np.asarray([0], np.int32),
        rec_node=np.asarray([0], np.int32),
        crank_nicolson=False,
    )
    sizes = {"v0": n, "lower": n, "upper": n, "dax": n, "dtq": 1, "scale": 1}
    inputs = {k: jnp.ones((sizes.get(k, nc),)) for k in fused_hh.INPUTS}
    inputs["xs"] = jnp.zeros((nt, 1))
    assert fused_hh.run(layout, inputs).shape == (nt, 1)
    inputs["gna"] = jnp.ones((nc + 1,))
    with pytest.raises(Exception, match="synaptax hh kernel: operand 4 has"):
        fused_hh.run(layout, inputs).block_until_ready()
