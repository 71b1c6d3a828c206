"""The biophysical (HH point-neuron) student."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from synaptax import distill, snn


def test_hh_neuron_fires_at_the_textbook_rate():
    """One uncoupled HH neuron (6.3 degC) under 10 uA/cm^2 fires at ~68 Hz (HH 1952)."""
    net = distill.HHNetwork(jax.random.key(0), 5, 1, dt=0.025, bias=10.0, rec_gain=0.0)
    net = eqx.tree_at(lambda n: n.w_in, net, jnp.zeros((5, 1)))
    spikes = distill.simulate_hh(net, jnp.zeros((50, 1, 1)), bin_ms=10.0)
    counts = np.asarray(spikes[:, 0, 0])
    assert set(np.unique(counts)) <= {0.0, 1.0}
    rate = counts[10:].sum() / 0.4  # Hz over the last 400 ms
    assert 60.0 <= rate <= 75.0, rate
    silent = eqx.tree_at(lambda n: n.bias, net, jnp.zeros(5))
    assert float(distill.simulate_hh(silent, jnp.zeros((20, 1, 1)), 10.0).sum()) == 0.0


def test_biophysical_student_gradients_are_finite_and_bounded():
    u, z = distill.synthetic_latents(0, 3000, n_latents=3)  # long enough for every input to vary
    u = (u - u.mean(0)) / u.std(0)
    net = distill.HHNetwork(jax.random.key(1), 12, u.shape[1], dt=0.1)
    st = distill.BiophysicalStudent(jax.random.key(2), net, 3)
    x = jnp.stack([u[:60], u[200:260]], axis=1)
    lat = jnp.stack([z[:60], z[200:260]], axis=1)
    loss_fn = eqx.filter_value_and_grad(distill.distillation_loss, has_aux=True)
    (loss, aux), g = loss_fn(st, x, lat, burn_in=10)
    assert np.isfinite(float(loss)) and float(aux["mean_rate"]) > 0
    for leaf in (g.network.w_in, g.network.bias, g.network.w_rec.magnitude):
        a = np.asarray(leaf)
        assert np.isfinite(a).all() and 0 < np.abs(a).max() < 1e3
    assert float(jnp.abs(g.network.channel.gnabar).sum()) == 0.0  # densities not trained
    w = st.network.w_rec
    assert int(snn.dale_violations(w.weight, w.sign)) == 0


def test_hh_rejects_coarse_time_step():
    with pytest.raises(ValueError, match=r"at most 0\.1 ms"):
        distill.HHNetwork(jax.random.key(0), 4, 2, dt=0.5)
