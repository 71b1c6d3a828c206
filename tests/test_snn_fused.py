"""The fused native LIF kernel: same values and gradients as the generic scan."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import needs_compiler

from synaptax import snn

needs_kernel = needs_compiler

SURROGATES = {
    "fast_sigmoid": snn.fast_sigmoid(10.0),
    "arctan": snn.arctan(3.0),
    "sigmoid": snn.sigmoid(5.0),
    "triangular": snn.triangular(0.8, 0.4),
}


def _setup(spike_fn, dtype=jnp.float64, n=40, rows=5, steps=60):
    neuron = snn.LIF(n, tau_mem=jnp.linspace(8.0, 30.0, n), threshold=1.1, spike_fn=spike_fn)
    net = snn.RecurrentNetwork(jax.random.key(0), 3, neuron, in_gain=2.0, rec_gain=1.5)
    net = jax.tree.map(lambda a: a.astype(dtype) if eqx.is_inexact_array(a) else a, net)
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=(steps, rows, 3)) + 0.5, dtype)
    w = jnp.asarray(rng.normal(size=(steps, rows, n)), dtype)
    state0 = net.init((rows,))
    state0 = state0._replace(
        neuron=state0.neuron._replace(v=jnp.asarray(rng.uniform(0, 1.2, (rows, n)), dtype)),
        spikes=jnp.asarray(rng.random((rows, n)) < 0.3, dtype),
    )
    return net, x, w, state0


def _loss(params, static, x, w, state0, fused, substeps=1):
    sim = snn.simulate(eqx.combine(params, static), x, state0, substeps=substeps, fused=fused)
    v = sim.state.neuron.v
    return jnp.sum(sim.spikes * w) + jnp.sum(v**2) + jnp.sum(sim.state.spikes * w[0])


@needs_kernel
@pytest.mark.parametrize("name", list(SURROGATES))
@pytest.mark.parametrize("substeps", [1, 2])
def test_fused_equals_generic_float64(name, substeps):
    net, x, w, state0 = _setup(SURROGATES[name])
    params, static = eqx.partition(net, eqx.is_inexact_array)
    args = (static, x, w, state0)
    sims = [snn.simulate(net, x, state0, substeps=substeps, fused=f) for f in (False, True)]
    np.testing.assert_array_equal(sims[0].spikes, sims[1].spikes)
    assert 0.05 < float(jnp.mean(sims[0].spikes)) / substeps < 0.6  # the network is active
    np.testing.assert_allclose(sims[0].state.neuron.v, sims[1].state.neuron.v, rtol=1e-12)
    ref_val, ref = jax.value_and_grad(_loss)(params, *args, False, substeps)
    val, g = jax.value_and_grad(_loss)(params, *args, True, substeps)
    np.testing.assert_allclose(val, ref_val, rtol=1e-12)
    pairs = zip(jax.tree_util.tree_leaves_with_path(ref), jax.tree.leaves(g), strict=True)
    for (path, a), b in pairs:
        name = jax.tree_util.keystr(path)
        assert float(jnp.max(jnp.abs(a))) > 0, name
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12, err_msg=name)


@needs_kernel
def test_fused_float32_and_jit():
    net, x, w, state0 = _setup(snn.fast_sigmoid(25.0), dtype=jnp.float32, n=64, rows=8)
    params, static = eqx.partition(net, eqx.is_inexact_array)
    grad = eqx.filter_jit(lambda p, fused: jax.grad(_loss)(p, static, x, w, state0, fused))
    ref, g = grad(params, False), grad(params, True)
    for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(ref), strict=True):
        scale = float(jnp.max(jnp.abs(b)))
        np.testing.assert_allclose(a, b, atol=1e-4 * scale)


@needs_kernel
def test_default_takes_the_fused_path_for_lif_only():
    net, x, _, _ = _setup(snn.fast_sigmoid(25.0))

    def calls(n, **kw):
        return str(jax.make_jaxpr(lambda m: snn.simulate(m, x, **kw).spikes)(n))

    assert "synaptax_lif_forward" in calls(net)
    assert "synaptax_lif_forward" not in calls(net, fused=False)
    refractory = eqx.tree_at(lambda m: m.neuron, net, snn.LIF(40, refractory=2.0))
    assert "synaptax_lif_forward" not in calls(refractory)
    custom = eqx.tree_at(
        lambda m: m.neuron, net, snn.LIF(40, spike_fn=snn.custom(lambda v: jnp.exp(-(v**2))))
    )
    assert "synaptax_lif_forward" not in calls(custom)
    with pytest.raises(ValueError, match=r"fused=True.*reset='subtract'"):
        snn.simulate(refractory, x, fused=True)
