"""Exponential (bidirectional linear recurrence) encoder of the teacher."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from synaptax.jepa import ExpEncoder, Teacher, TeacherConfig, jepa_loss


def _model(**kw):
    return Teacher(
        (5, 6),
        latent_dim=3,
        hidden=4,
        horizons=(0, 1, 2),
        temporal="exponential",
        support=6,
        key=jax.random.key(0),
        **kw,
    )


def _counts(n=40, units=5, seed=1):
    return jax.random.poisson(jax.random.key(seed), 1.0, (n, units)).astype(float)


@pytest.mark.parametrize("oscillatory", [False, True])
def test_shapes_and_receptive_field(oscillatory):
    m = _model(causal=False, oscillatory=oscillatory, residual=8)
    enc = m.encoder
    assert isinstance(enc, ExpEncoder)
    assert enc.receptive_field == 13 and enc.lookback == 6 and enc.lookahead == 6
    kinds = 4 if oscillatory else 2
    assert enc.kernels().shape == (kinds * 4, 13)
    assert enc.features(jnp.ones((20, 4))).shape == (20, 4 * (1 + kinds))
    assert m.encode(_counts(), 0).shape == (40, 3)
    mc = _model(causal=True)
    assert mc.encoder.receptive_field == 7 and mc.encoder.lookahead == 0
    cfg = TeacherConfig(temporal="exponential", support=6, causal=False, context=4, horizons=(0, 2))
    assert cfg.window == 13 + 4 + 2 - 1
    assert (
        TeacherConfig(temporal="exponential", support=6, context=4, horizons=(0, 2)).window
        == 7 + 4 + 2 - 1
    )
    with pytest.raises(ValueError, match="temporal"):
        Teacher((5, 6), temporal="lstm", key=jax.random.key(0))


def test_acausal_support_and_causality():
    c = _counts()
    for causal, ahead in ((False, 6), (True, 0)):
        m = _model(causal=causal, oscillatory=True)
        f = eqx.filter_jit(lambda mm, x: mm.encode(x, 0))
        z = f(m, c)
        z2 = f(m, c.at[25:].set(0.0))  # change the future from t = 25 on
        np.testing.assert_allclose(np.asarray(z[: 25 - ahead]), np.asarray(z2[: 25 - ahead]))
        first = 25 - ahead  # the first bin that sees the change
        assert not np.allclose(np.asarray(z[first]), np.asarray(z2[first]))
        # the support is finite: bins more than 6 back do not matter
        z3 = f(m, c.at[:10].set(3.0))
        np.testing.assert_allclose(np.asarray(z[16:]), np.asarray(z3[16:]), rtol=1e-6)
        assert not np.allclose(np.asarray(z[15]), np.asarray(z3[15]))


def test_hand_checked_impulse_response():
    # one channel, decays 0.5 forward and 0.8 backward, read-out picks each feature
    enc = ExpEncoder(1, 3, support=3, causal=False, key=jax.random.key(0))
    logit = lambda a: np.log(a / (1 - a))
    enc = eqx.tree_at(lambda e: e.theta, enc, jnp.asarray([[logit(0.5)], [logit(0.8)]]))
    enc = eqx.tree_at(lambda e: (e.out.weight, e.out.bias), enc, (jnp.eye(3), jnp.zeros(3)))
    h = jnp.zeros((11, 1)).at[5, 0].set(1.0)  # impulse at t = 5
    z = np.asarray(enc(h))
    np.testing.assert_allclose(z[:, 0], np.eye(11)[5], atol=1e-7)  # x itself
    # forward: (1 - a) a^j at t = 5 + j, j = 0..3
    fwd = np.zeros(11)
    fwd[5:9] = 0.5 * 0.5 ** np.arange(4)
    np.testing.assert_allclose(z[:, 1], fwd, atol=1e-7)
    # backward: (1 - a) a^j at t = 5 - j, j = 1..3 (not the bin itself)
    bwd = np.zeros(11)
    bwd[2:5] = (0.2 * 0.8 ** np.arange(1, 4))[::-1]
    np.testing.assert_allclose(z[:, 2], bwd, atol=1e-7)
    # oscillatory: damped cosine and sine with the learned frequency
    enc = ExpEncoder(1, 5, support=3, causal=True, oscillatory=True, key=jax.random.key(0))
    enc = eqx.tree_at(
        lambda e: (e.theta, e.omega), enc, (jnp.asarray([[0.0]]), jnp.asarray([[0.7]]))
    )
    enc = eqx.tree_at(lambda e: (e.out.weight, e.out.bias), enc, (jnp.eye(5, 3), jnp.zeros(5)))
    z = np.asarray(enc(h))
    j = np.arange(4)
    np.testing.assert_allclose(z[5:9, 1], 0.5 * 0.5**j * np.cos(0.7 * j), atol=1e-6)
    np.testing.assert_allclose(z[5:9, 2], 0.5 * 0.5**j * np.sin(0.7 * j), atol=1e-6)


def test_residual_starts_at_zero_and_gradient_is_finite():
    lin = _model(causal=False, residual=0)
    res = _model(causal=False, residual=16)
    c = _counts()
    np.testing.assert_allclose(np.asarray(lin.encode(c, 0)), np.asarray(res.encode(c, 0)))
    win = res.encoder.receptive_field + 4 + 2 - 1
    xa = jax.random.poisson(jax.random.key(2), 1.0, (16, win, 5)).astype(float)
    xb = jax.random.poisson(jax.random.key(3), 1.0, (16, win, 6)).astype(float)
    m = _model(causal=False, residual=16, oscillatory=True, observation=True)
    (loss, _), g = eqx.filter_jit(
        eqx.filter_value_and_grad(
            lambda mm: jepa_loss(mm, jax.random.key(4), xa, xb, 0.05, 4, 8, obs_weight=1.0),
            has_aux=True,
        )
    )(m)
    assert np.isfinite(float(loss))
    assert all(np.all(np.isfinite(np.asarray(x))) for x in jax.tree_util.tree_leaves(g))
    assert float(np.abs(np.asarray(g.encoder.theta)).sum()) > 0
    assert float(np.abs(np.asarray(g.encoder.omega)).sum()) > 0
    assert float(np.abs(np.asarray(g.encoder.residual_out.weight)).sum()) > 0
    with pytest.raises(ValueError, match="too short"):
        jepa_loss(m, jax.random.key(4), xa[:, :-1], xb[:, :-1], context=4, num_slices=8)


@pytest.mark.parametrize(("oscillatory", "timescales"), [(False, 1), (True, 1), (True, 3)])
def test_scan_equals_correlation_with_the_kernels(oscillatory, timescales):
    m = _model(causal=False, oscillatory=oscillatory, timescales=timescales)
    enc = m.encoder
    assert isinstance(enc, ExpEncoder)
    n_filt = 4 * timescales
    assert enc.theta.shape == (2, n_filt)
    enc = eqx.tree_at(lambda e: e.theta, enc, jax.random.normal(jax.random.key(5), enc.theta.shape))
    if oscillatory:
        w = jax.random.uniform(jax.random.key(7), (2, n_filt), minval=-2.0, maxval=2.0)
        enc = eqx.tree_at(lambda e: e.omega, enc, w)
    h = np.asarray(jax.random.normal(jax.random.key(6), (30, 4)))
    k = np.asarray(enc.kernels())  # kind * filter, offset -6..6
    hk = np.tile(h, (1, timescales))  # filter k * 4 + c filters channel c
    pad = np.concatenate([np.zeros((6, n_filt)), hk, np.zeros((6, n_filt))])
    expect = [h]
    for kind in range(k.shape[0] // n_filt):
        rows = k[kind * n_filt : (kind + 1) * n_filt]  # filter, offset
        expect.append(np.stack([np.sum(rows.T * pad[t : t + 13], axis=0) for t in range(30)]))
    f = np.asarray(enc.features(jnp.asarray(h)))
    assert f.shape == (30, 4 + 4 * timescales * (4 if oscillatory else 2))
    np.testing.assert_allclose(f, np.concatenate(expect, 1), atol=1e-5)
    assert m.encode(_counts(), 0).shape == (40, 3)
