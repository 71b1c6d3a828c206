"""Unit tests of the spiking building blocks: surrogates, neurons, Dale, homeostasis."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from synaptax import snn


@pytest.mark.parametrize(
    ("fn", "formula"),
    [
        (snn.arctan(2.0), lambda x: 1.0 / (1.0 + (math.pi * x) ** 2)),
        (snn.fast_sigmoid(25.0), lambda x: 1.0 / (1.0 + 25.0 * abs(x)) ** 2),
        (
            snn.sigmoid(10.0),
            lambda x: 10.0 * math.exp(-10.0 * x) / (1.0 + math.exp(-10.0 * x)) ** 2,
        ),
        (snn.triangular(0.5, 0.3), lambda x: 0.3 * max(0.0, 1.0 - abs(x) / 0.5)),
    ],
)
def test_surrogate_forward_is_heaviside_and_derivative_is_documented(fn, formula):
    xs = np.array([-1.0, -0.3, -0.01, 0.0, 0.02, 0.4, 2.0])
    np.testing.assert_array_equal(np.asarray(fn(jnp.asarray(xs))), (xs > 0).astype(float))
    grads = jax.vmap(jax.grad(fn))(jnp.asarray(xs))
    np.testing.assert_allclose(np.asarray(grads), [formula(x) for x in xs], rtol=1e-12, atol=1e-14)


def test_custom_surrogate_and_bad_parameters():
    spike = snn.custom(lambda x: 3.0 * jnp.ones_like(x))
    assert float(jax.grad(spike)(0.7)) == 3.0
    with pytest.raises(ValueError, match="positive finite"):
        snn.fast_sigmoid(-1.0)


def test_lif_closed_form_subthreshold():
    """Below threshold, a constant drive I gives v[t] = I (1 - beta^t) / (1 - beta)."""
    lif = snn.LIF(2, tau_mem=10.0, threshold=100.0, dt=0.5)
    state = lif.init()
    vs = []
    for _ in range(50):
        state, _ = lif.step(state, jnp.full(2, 0.1))
        vs.append(state.v[0])
    beta = math.exp(-0.05)
    t = np.arange(1, 51)
    np.testing.assert_allclose(vs, 0.1 * (1 - beta**t) / (1 - beta), rtol=1e-12)


def test_refractory_period_limits_rate():
    """A strongly driven neuron fires once per (1 + refractory/dt) steps."""
    lif = snn.LIF(1, tau_mem=20.0, dt=1.0, reset="zero", refractory=4.0)

    def body(state, _):
        state, s = lif.step(state, jnp.full(1, 5.0))
        return state, s

    _, s = jax.lax.scan(body, lif.init(), None, length=100)
    s = np.asarray(s[:, 0])
    idx = np.flatnonzero(s)
    assert len(idx) > 10
    np.testing.assert_array_equal(np.diff(idx), 5)
    lif0 = snn.LIF(1, tau_mem=20.0, dt=1.0, reset="zero")
    _, s0 = jax.lax.scan(lambda st, _: lif0.step(st, jnp.full(1, 5.0)), lif0.init(), None, 100)
    assert np.diff(np.flatnonzero(np.asarray(s0[:, 0]))).max() == 1  # no refractoriness


def test_adaptive_lif_slows_down():
    drive = jnp.full(1, 0.15)
    alif = snn.AdaptiveLIF(1, tau_mem=20.0, tau_adapt=300.0, adaptation=0.5, dt=1.0)
    lif = snn.LIF(1, tau_mem=20.0, dt=1.0)

    def count(neuron):
        _, s = jax.lax.scan(lambda st, _: neuron.step(st, drive), neuron.init(), None, 600)
        s = np.asarray(s[:, 0])
        return s[:300].sum(), s[300:].sum()

    a_first, a_last = count(alif)
    l_first, l_last = count(lif)
    assert a_first + a_last < l_first + l_last
    isi = np.diff(
        np.flatnonzero(
            np.asarray(
                jax.lax.scan(lambda st, _: alif.step(st, drive), alif.init(), None, 600)[1][:, 0]
            )
        )
    )
    assert isi[-1] > isi[0], "adaptation should lengthen the inter-spike interval"


def test_neuron_bad_input_messages():
    with pytest.raises(ValueError, match="one value per neuron"):
        snn.LIF(3, tau_mem=jnp.ones(4))
    with pytest.raises(ValueError, match="positive"):
        snn.LIF(3, tau_mem=-1.0)
    with pytest.raises(ValueError, match="reset"):
        snn.LIF(3, reset="hard")  # type: ignore[arg-type]


def test_dale_balanced_init_and_signs_never_flip():
    w = snn.dale_weights(jax.random.key(0), 50, p_connect=0.3)
    weight = np.asarray(w.weight)
    assert w.n_excitatory == 40
    has_inh = (weight[:, 40:] != 0).any(axis=1)
    assert has_inh.mean() > 0.9
    np.testing.assert_allclose(weight[has_inh].sum(axis=1), 0.0, atol=1e-12)
    assert np.all(weight[:, :40] >= 0) and np.all(weight[:, 40:] <= 0)
    assert np.all(np.diag(weight) == 0)
    assert 0.2 < (weight != 0).mean() < 0.4
    # Gradient steps that push every weight towards the wrong sign cannot flip any.
    opt = optax.sgd(1.0)
    opt_state = opt.init(eqx.filter(w, eqx.is_inexact_array))

    def loss(w):
        return jnp.sum(w.weight * w.sign[None, :])

    for _ in range(20):
        g = eqx.filter_grad(loss)(w)
        updates, opt_state = opt.update(g, opt_state)
        w = eqx.apply_updates(w, updates)
    assert int(snn.dale_violations(w.weight, w.sign)) == 0
    mask_before = np.asarray(snn.dale_weights(jax.random.key(0), 50, p_connect=0.3).mask)
    np.testing.assert_array_equal(np.asarray(w.mask), mask_before)
    bad = jnp.asarray(weight).at[0, 45].set(0.5)
    assert int(snn.dale_violations(bad, w.sign)) == 1


def test_rate_penalty_and_band():
    dt = 10.0
    spikes = jnp.zeros((1000, 3)).at[::10, 0].set(1.0).at[::2, 1].set(1.0)
    rates = snn.firing_rates(spikes, dt)
    np.testing.assert_allclose(np.asarray(rates), [10.0, 50.0, 0.0])
    pen = snn.rate_penalty(spikes, dt)
    np.testing.assert_allclose(float(pen), ((50 - 20) / 20) ** 2 / 3 + 1.0 / 3)
    assert float(snn.fraction_in_band(rates)) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="low < high"):
        snn.rate_penalty(spikes, dt, low=20.0, high=5.0)


def test_substeps_equal_fine_simulation():
    """10 steps of 1 ms per 10 ms bin equal a 1 ms simulation with inputs repeated."""
    net = snn.RecurrentNetwork(
        jax.random.key(1), 3, snn.LIF(30, tau_mem=20.0, dt=1.0), in_gain=1.0, bias=0.05
    )
    x = jax.random.normal(jax.random.key(2), (20, 2, 3))
    coarse = snn.simulate(net, x, substeps=10).spikes
    fine = snn.simulate(net, jnp.repeat(x, 10, axis=0)).spikes
    np.testing.assert_allclose(np.asarray(coarse), np.asarray(fine).reshape(20, 10, 2, 30).sum(1))
    assert float(coarse.sum()) > 0
    with pytest.raises(ValueError, match="time first"):
        snn.simulate(net, jnp.zeros((20, 2, 4)))


def test_float32_network_runs_and_differentiates():
    net = snn.RecurrentNetwork(jax.random.key(1), 3, snn.LIF(16, dt=1.0), in_gain=1.0)
    net = jax.tree.map(lambda a: a.astype(jnp.float32) if eqx.is_inexact_array(a) else a, net)
    x = jnp.ones((50, 3), jnp.float32)
    g = eqx.filter_grad(lambda n: snn.simulate(n, x).spikes.sum())(net)
    assert g.w_in.dtype == jnp.float32
    assert np.isfinite(np.asarray(g.w_in)).all() and np.abs(np.asarray(g.w_in)).sum() > 0
