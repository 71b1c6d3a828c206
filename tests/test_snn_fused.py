"""The fused LIF scan's hand-written adjoint equals autodiff of the plain step function."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from synaptax import snn


def _reference(network, x):
    """Plain lax.scan over ``network.step`` (autodiff path, no fusion)."""

    def body(state, xt):
        state, s = network.step(state, xt)
        return state, (s, state.neuron.v)

    _, (s, v) = jax.lax.scan(body, network.init(x.shape[1:-1]), x)
    return s, v


@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
def test_fused_matches_autodiff(reset):
    neuron = snn.LIF(
        40,
        tau_mem=jnp.linspace(8.0, 30.0, 40),
        threshold=jnp.linspace(0.8, 1.2, 40),
        dt=1.0,
        reset=reset,
        spike_fn=snn.arctan(),
    )
    net = snn.RecurrentNetwork(
        jax.random.key(0), 3, neuron, in_gain=1.0, rec_gain=2.0, bias=0.1, p_connect=0.5
    )
    x = jax.random.normal(jax.random.key(1), (80, 2, 3))
    target = jax.random.normal(jax.random.key(2), (80, 2, 40))

    def loss(net, fused):
        if fused:
            _, s, v = snn.simulate(net, x, record_voltage=True)
        else:
            s, v = _reference(net, x)
        return jnp.sum(s * target) + 0.1 * jnp.sum(jnp.tanh(v) * target), (s, v)

    (l1, (s1, v1)), g1 = eqx.filter_value_and_grad(loss, has_aux=True)(net, True)
    (l2, (s2, v2)), g2 = eqx.filter_value_and_grad(loss, has_aux=True)(net, False)
    assert float(s1.sum()) > 100
    np.testing.assert_allclose(float(l1), float(l2), rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(s1), np.asarray(s2))
    np.testing.assert_allclose(np.asarray(v1), np.asarray(v2), rtol=1e-12, atol=1e-12)
    for a, b in zip(jax.tree.leaves(g1), jax.tree.leaves(g2), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-9, atol=1e-10)
    assert float(jnp.abs(g1.neuron.tau_mem).sum()) > 0
    assert float(jnp.abs(g1.neuron.threshold).sum()) > 0


def test_fused_initial_state_gradient():
    """Gradients reach a given initial state (used when simulating in chunks)."""
    net = snn.RecurrentNetwork(
        jax.random.key(3), 2, snn.LIF(10, dt=1.0), in_gain=1.0, rec_gain=2.0, bias=0.1
    )
    x = jax.random.normal(jax.random.key(4), (30, 2))

    def run(v0, fused):
        state = net.init()
        state = snn.NetworkState(snn.LIFState(v0, state.neuron.refractory), state.spikes)
        if fused:
            return jnp.sum(snn.simulate(net, x, state, record_voltage=True)[2] ** 2)

        def body(st, xt):
            st, _ = net.step(st, xt)
            return st, st.neuron.v

        return jnp.sum(jax.lax.scan(body, state, x)[1] ** 2)

    v0 = jnp.linspace(0.0, 0.9, 10)
    np.testing.assert_allclose(
        np.asarray(jax.grad(run)(v0, True)), np.asarray(jax.grad(run)(v0, False)), rtol=1e-10
    )
