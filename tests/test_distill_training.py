"""The distillation loop: loss, training on synthetic latents, held-out evaluation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from synaptax import distill, snn


def _student(n=48, n_in=6, n_lat=3, seed=0):
    neuron = snn.LIF(n, tau_mem=20.0, dt=10.0)
    net = snn.RecurrentNetwork(jax.random.key(seed), n_in, neuron, in_gain=0.1)
    return distill.SpikingStudent(jax.random.key(seed + 1), net, n_lat, bin_ms=10.0)


def test_synthetic_latents_shapes_and_smoothness():
    u, z = distill.synthetic_latents(0, 3000, n_latents=3)
    assert u.shape == (3000, 6) and z.shape == (3000, 3)
    np.testing.assert_allclose(np.asarray(z.std(0)), 1.0, rtol=1e-6)
    # smooth: lag-1 autocorrelation close to one
    zz = np.asarray(z)
    ac = [np.corrcoef(zz[1:, i], zz[:-1, i])[0, 1] for i in range(3)]
    assert min(ac) > 0.8
    assert set(np.unique(np.asarray(u[:, :4]))) == {0.0, 1.0}


def test_student_substeps_and_errors():
    neuron = snn.LIF(8, dt=1.0)
    net = snn.RecurrentNetwork(jax.random.key(0), 2, neuron)
    st = distill.SpikingStudent(jax.random.key(1), net, 2, bin_ms=10.0)
    assert st.substeps == 10
    pred, spikes = st(jnp.ones((30, 4, 2)))
    assert pred.shape == (30, 4, 2) and spikes.shape == (30, 4, 8)
    with pytest.raises(ValueError, match="whole number of neuron steps"):
        distill.SpikingStudent(jax.random.key(1), net, 2, bin_ms=10.5)


def test_loss_gradient_reaches_every_parameter():
    st = _student()
    u, z = distill.synthetic_latents(1, 400, n_latents=3)
    x, lat = u[:, None, :], z[:, None, :]
    import equinox as eqx

    (loss, aux), g = eqx.filter_value_and_grad(distill.distillation_loss, has_aux=True)(
        st, x, lat, burn_in=20
    )
    assert np.isfinite(float(loss)) and 0.0 <= float(aux["cca"]) <= 1.0
    for name, leaf in [
        ("w_in", g.network.w_in),
        ("w_rec", g.network.w_rec.magnitude),
        ("tau_mem", g.network.neuron.tau_mem),
        ("threshold", g.network.neuron.threshold),
        ("w_out", g.w_out),
    ]:
        assert float(jnp.abs(leaf).sum()) > 0, f"no gradient reaches {name}"


def test_distillation_improves_heldout_cca_and_keeps_dale():
    u, z = distill.synthetic_latents(2, 4000, n_latents=3)
    n_train = 3200
    u = (u - u[:n_train].mean(0)) / u[:n_train].std(0)
    st = _student()
    before = distill.evaluate(st, u, z, n_train)
    cfg = distill.DistillConfig(n_steps=40, batch=8, window=100, burn_in=10, lr=1e-2)
    res = distill.distill(st, u, z, n_train=n_train, config=cfg)
    after = res.evaluation
    assert after["cca_heldout"] > before["cca_heldout"] + 0.05, (before, after)
    assert after["cca_heldout"] > 0.6
    assert after["dale_violations"] == 0
    assert len(after["cca_per_dim"]) == 3
    assert res.history[-1]["loss"] < res.history[0]["loss"]


def test_distill_rejects_bad_split_and_nan():
    u, z = distill.synthetic_latents(0, 400, n_latents=2)
    with pytest.raises(ValueError, match="n_train"):
        distill.distill(_student(n_lat=2), u, z, n_train=100)
    with pytest.raises(ValueError, match="non-finite"):
        distill.distill(_student(n_lat=2), u.at[5, 3].set(jnp.nan), z, n_train=300)


def test_cka_loss_option():
    import equinox as eqx

    st = _student()
    u, z = distill.synthetic_latents(1, 300, n_latents=3)
    loss_fn = eqx.filter_value_and_grad(distill.distillation_loss, has_aux=True)
    (loss, aux), g = loss_fn(st, u[:, None], z[:, None], burn_in=20, similarity="cka")
    pred, _ = st(u[:, None])
    expected = distill.linear_cka(pred[20:, 0], z[20:])
    np.testing.assert_allclose(float(aux["cca"]), float(expected), rtol=1e-10)
    np.testing.assert_allclose(float(loss), -float(expected) + float(aux["rate_penalty"]))
    assert float(jnp.abs(g.w_out).sum()) > 0
    with pytest.raises(ValueError, match="'cca' or 'cka'"):
        distill.distillation_loss(st, u[:, None], z[:, None], similarity="svcca")


def test_window_starts_stay_inside_training_blocks_and_segments():
    train = np.ones(30, bool)
    train[10:12] = False
    segment = np.repeat([0, 1], 15)
    starts = distill.window_starts(train, segment, 4)
    for s in starts:
        assert train[s : s + 4].all() and len(set(segment[s : s + 4])) == 1
    # every valid window is found: starts 0-6 (before the gap) and 15-26 (segment 1)
    np.testing.assert_array_equal(starts, [*range(0, 7), *range(15, 27)])


def test_distill_with_masks_and_split_errors():
    u, z = distill.synthetic_latents(0, 600, n_latents=2)
    u = (u - u.mean(0)) / (u.std(0) + 1e-6)
    train = np.zeros(600, bool)
    train[:250] = train[350:550] = True
    test = np.zeros(600, bool)
    test[260:340] = True
    cfg = distill.DistillConfig(n_steps=2, batch=2, window=50, burn_in=5)
    res = distill.distill(_student(n_lat=2), u, z, train_mask=train, test_mask=test, config=cfg)
    assert np.isfinite(res.evaluation["cca_heldout"])
    with pytest.raises(ValueError, match="exactly one of"):
        distill.distill(_student(n_lat=2), u, z, config=cfg)
    with pytest.raises(ValueError, match="overlap"):
        distill.distill(_student(n_lat=2), u, z, train_mask=train, test_mask=train, config=cfg)
