"""Event-driven spike propagation and the simulator's hand-written reverse-mode rule."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import needs_compiler

from synaptax import snn
from synaptax.snn import _events
from synaptax.snn._network import _simulate_reference

needs_kernel = needs_compiler


@needs_kernel
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_spike_products_equal_dense_products(dtype):
    rng = np.random.default_rng(0)
    s = jnp.asarray(rng.choice([0.0, 0.0, 0.0, 1.0, 2.0], size=(37, 50)), dtype)
    wt = jnp.asarray(rng.normal(size=(50, 23)), dtype)
    g = jnp.asarray(rng.normal(size=(37, 23)), dtype)
    tol = 1e-5 if dtype == jnp.float32 else 1e-12
    np.testing.assert_allclose(_events.spike_matmul(s, wt), s @ wt, rtol=tol, atol=tol)
    np.testing.assert_allclose(_events.spike_outer(s, g), s.T @ g, rtol=tol, atol=tol)
    # gradients and vmap
    f = lambda s, wt: jnp.sum(jnp.sin(_events.spike_matmul(s, wt)))
    f_ref = lambda s, wt: jnp.sum(jnp.sin(s @ wt))
    for a, b in zip(jax.grad(f, (0, 1))(s, wt), jax.grad(f_ref, (0, 1))(s, wt), strict=True):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    batched = jax.vmap(_events.spike_matmul, in_axes=(0, None))(jnp.stack([s, 2 * s]), wt)
    np.testing.assert_allclose(batched[1], 2 * (s @ wt), rtol=tol, atol=tol)


def _networks():
    kw = {"dt": 1.0, "spike_fn": snn.fast_sigmoid(10.0)}
    return [
        snn.LIF(12, tau_mem=10.0, **kw),
        snn.LIF(12, tau_mem=10.0, reset="zero", refractory=2.0, **kw),
        snn.SynapticLIF(12, tau_syn=4.0, tau_mem=10.0, **kw),
        snn.AdaptiveLIF(12, tau_mem=10.0, **kw),
    ]


@pytest.mark.parametrize("neuron", _networks(), ids=["lif", "lif-zero-refr", "syn", "alif"])
@pytest.mark.parametrize("substeps", [1, 3])
def test_reverse_rule_equals_autodiff(neuron, substeps):
    net = snn.RecurrentNetwork(jax.random.key(0), 3, neuron, in_gain=2.0, rec_gain=1.5)
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=(25, 4, 3)) + 0.5)
    w = jnp.asarray(rng.normal(size=(25, 4, 12)))
    state0 = net.init((4,))
    state0 = state0._replace(spikes=jnp.asarray(rng.random((4, 12)) < 0.3, float))
    params, static = eqx.partition(net, eqx.is_inexact_array)

    def loss(p, mode):
        n = eqx.combine(p, static)
        if mode == "reference":
            sim = _simulate_reference(
                n.neuron, n.w_rec.weight, state0, n.input_current(x), substeps
            )
        else:
            sim = snn.simulate(
                n, x, state0, substeps=substeps, event_driven=mode == "events", fused=False
            )
        return jnp.sum(sim.spikes * w) + jnp.sum(sim.state.neuron.v**2) + jnp.sum(sim.state.spikes)

    modes = ["dense", "events"] if _events.available() else ["dense"]
    ref_val, ref = jax.value_and_grad(loss)(params, "reference")
    assert float(jnp.sum(jnp.abs(ref.w_rec.magnitude))) > 0
    for mode in modes:
        val, g = jax.value_and_grad(loss)(params, mode)
        np.testing.assert_allclose(val, ref_val, rtol=1e-12)
        for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(ref), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
