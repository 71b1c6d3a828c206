"""Teacher model: shapes, causality, views, loss, window sampling."""

import equinox as eqx
import jax
import numpy as np
import pytest

from synaptax.jepa import Teacher, TeacherConfig, jepa_loss, split_units, window_starts


def _model(**kw):
    return Teacher(
        (5, 6),
        latent_dim=3,
        hidden=8,
        horizons=(0, 1, 3),
        dilations=(1, 2),
        kernel=3,
        key=jax.random.key(0),
        **kw,
    )


def test_encoder_is_causal_and_shapes():
    m = _model()
    assert m.encoder.receptive_field == 1 + 2 * 3
    c = jax.random.poisson(jax.random.key(1), 1.0, (40, 5)).astype(float)
    enc = eqx.filter_jit(lambda mm, x: mm.encode(x, 0))
    z = enc(m, c)
    assert z.shape == (40, 3)
    c2 = c.at[25:].set(0.0)  # change the future from t = 25 on
    z2 = enc(m, c2)
    np.testing.assert_allclose(np.asarray(z[:25]), np.asarray(z2[:25]), rtol=1e-12)
    assert not np.allclose(np.asarray(z[25:]), np.asarray(z2[25:]))
    # the receptive field is finite: bins more than rf - 1 back do not matter
    c3 = c.at[:10].set(3.0)
    z3 = enc(m, c3)
    np.testing.assert_allclose(np.asarray(z[16:]), np.asarray(z3[16:]), rtol=1e-12)


def test_views_have_separate_readins():
    m = _model()
    assert m.readins[0].linear.weight.shape == (8, 5)
    assert m.readins[1].linear.weight.shape == (8, 6)
    with pytest.raises(ValueError, match="two views"):
        Teacher((5,), key=jax.random.key(0))


def test_split_units_disjoint_cover():
    a, b = split_units(11, seed=3)
    assert len(a) == 5 and len(b) == 6
    assert set(a).isdisjoint(b) and set(a) | set(b) == set(range(11))


def test_loss_terms_and_gradient():
    m = _model()
    win = m.encoder.receptive_field + 4 + 3 - 1
    ka, kb = jax.random.split(jax.random.key(2))
    xa = jax.random.poisson(ka, 1.0, (16, win, 5)).astype(float)
    xb = jax.random.poisson(kb, 1.0, (16, win, 6)).astype(float)
    loss_fn = eqx.filter_jit(jepa_loss)
    loss, aux = loss_fn(m, jax.random.key(3), xa, xb, lam=0.05, context=4, num_slices=8)
    assert np.isclose(float(loss), 0.95 * float(aux["pred"]) + 0.05 * float(aux["sigreg"]))
    assert float(aux["pred"]) > 0 and float(aux["sigreg"]) > 0
    g = eqx.filter_jit(
        eqx.filter_grad(lambda mm: jepa_loss(mm, jax.random.key(3), xa, xb, 0.05, 4, 8)[0])
    )(m)
    leaves = jax.tree_util.tree_leaves(g)
    assert all(np.all(np.isfinite(np.asarray(x))) for x in leaves)
    # lambda = 0: the loss is the prediction term alone
    l0, a0 = loss_fn(m, jax.random.key(3), xa, xb, lam=0.0, context=4, num_slices=8)
    assert np.isclose(float(l0), float(a0["pred"]))
    with pytest.raises(ValueError, match="too short"):
        jepa_loss(m, jax.random.key(3), xa[:, :8], xb[:, :8], context=4)


def test_window_starts_stay_in_train_and_segment():
    train = np.array([1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1], bool)
    segment = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    s = window_starts(train, segment, 3)
    np.testing.assert_array_equal(s, [0, 1, 7, 8])
    for start in s:
        assert train[start : start + 3].all() and len(set(segment[start : start + 3])) == 1
    assert len(window_starts(train, segment, 20)) == 0


def test_config_window_and_unknown_keys():
    cfg = TeacherConfig(kernel=3, dilations=(1, 2), context=4, horizons=(0, 2))
    assert cfg.window == 7 + 4 + 2 - 1
    with pytest.raises(ValueError, match="unknown teacher setting"):
        TeacherConfig.from_dict({"latnt_dim": 4})
    assert TeacherConfig.from_dict({"dilations": [1, 2]}).dilations == (1, 2)


def test_acausal_encoder_sees_a_centred_window():
    m = _model(causal=False)
    enc = m.encoder
    assert enc.lookahead == 3 and enc.lookback == 3
    c = jax.random.poisson(jax.random.key(1), 1.0, (40, 5)).astype(float)
    f = eqx.filter_jit(lambda mm, x: mm.encode(x, 0))
    z = f(m, c)
    z2 = f(m, c.at[25:].set(0.0))  # the future from t = 25 on
    # bins up to 25 - lookahead - 1 are untouched, those just before 25 change
    np.testing.assert_allclose(np.asarray(z[:22]), np.asarray(z2[:22]), rtol=1e-12)
    assert not np.allclose(np.asarray(z[22:25]), np.asarray(z2[22:25]))
    with pytest.raises(ValueError, match="odd kernel"):
        Teacher((5, 6), kernel=4, causal=False, key=jax.random.key(0))
    # the loss needs lookback + context + max horizon + lookahead bins
    win = enc.receptive_field + 4 + 3 - 1
    xa = jax.random.poisson(jax.random.key(2), 1.0, (8, win, 5)).astype(float)
    xb = jax.random.poisson(jax.random.key(3), 1.0, (8, win, 6)).astype(float)
    loss_fn = eqx.filter_jit(jepa_loss)
    loss, _ = loss_fn(m, jax.random.key(4), xa, xb, context=4, num_slices=8)
    assert np.isfinite(float(loss))
    with pytest.raises(ValueError, match="too short"):
        loss_fn(m, jax.random.key(4), xa[:, :-1], xb[:, :-1], context=4, num_slices=8)


def test_pointwise_target_and_sigreg_points():
    m = _model(causal=False, pointwise_target=True)
    c = jax.random.poisson(jax.random.key(1), 1.0, (30, 6)).astype(float)
    t1 = m.embed_target(c, 1)
    t2 = m.embed_target(c.at[10].set(5.0), 1)
    changed = np.flatnonzero(np.any(np.asarray(t1) != np.asarray(t2), axis=1))
    np.testing.assert_array_equal(changed, [10])  # one bin in, one bin out
    win = m.encoder.receptive_field + 4 + 3 - 1
    xa = jax.random.poisson(jax.random.key(2), 1.0, (16, win, 5)).astype(float)
    xb = jax.random.poisson(jax.random.key(3), 1.0, (16, win, 6)).astype(float)
    (loss, aux), g = eqx.filter_jit(
        eqx.filter_value_and_grad(
            lambda mm: jepa_loss(mm, jax.random.key(4), xa, xb, 0.1, 4, 8, sigreg_points=3),
            has_aux=True,
        )
    )(m)
    assert np.isclose(float(loss), 0.9 * float(aux["pred"]) + 0.1 * float(aux["sigreg"]))
    assert np.all(np.isfinite(np.asarray(g.target.layers[0].weight)))
    assert float(np.abs(np.asarray(g.target.layers[0].weight)).sum()) > 0
    assert _model().target is None


def test_observation_term_predicts_the_other_views_counts():
    m = _model(causal=False, observation=True)
    assert m.readouts is not None
    assert m.readouts[0].weight.shape == (5, 3) and m.readouts[1].weight.shape == (6, 3)
    win = m.encoder.receptive_field + 4 + 3 - 1
    xa = jax.random.poisson(jax.random.key(2), 1.0, (16, win, 5)).astype(float)
    xb = jax.random.poisson(jax.random.key(3), 2.0, (16, win, 6)).astype(float)
    # by hand: view A's latent at t predicts view B's counts at t, and the reverse
    za = np.asarray(jax.vmap(lambda c: m.encode(c, 0))(xa))
    zb = np.asarray(jax.vmap(lambda c: m.encode(c, 1))(xb))
    last = win - 1 - 3 - m.encoder.lookahead
    t = np.arange(last - 3, last + 1)

    def out(z, v):
        w, b = np.asarray(m.readouts[v].weight), np.asarray(m.readouts[v].bias)
        return z[:, t] @ w.T + b

    gauss = 0.5 * (
        np.mean((out(za, 1) - np.sqrt(xb[:, t])) ** 2)
        + np.mean((out(zb, 0) - np.sqrt(xa[:, t])) ** 2)
    )  # read-in statistics are mu = 0, scale = 1 until training sets them
    poisson = 0.5 * (
        np.mean(np.exp(out(za, 1)) - xb[:, t] * out(za, 1))
        + np.mean(np.exp(out(zb, 0)) - xa[:, t] * out(zb, 0))
    )
    loss_fn = eqx.filter_jit(jepa_loss)
    for is_poisson, expect in ((False, gauss), (True, poisson)):
        loss, aux = loss_fn(
            m, jax.random.key(4), xa, xb, 0.05, 4, 8, obs_weight=0.5, obs_poisson=is_poisson
        )
        np.testing.assert_allclose(float(aux["obs"]), expect, rtol=1e-5)
        total = 0.95 * float(aux["pred"]) + 0.05 * float(aux["sigreg"]) + 0.5 * expect
        np.testing.assert_allclose(float(loss), total, rtol=1e-5)
    g = eqx.filter_jit(
        eqx.filter_grad(
            lambda mm: jepa_loss(mm, jax.random.key(4), xa, xb, 0.05, 4, 8, obs_weight=1.0)[0]
        )
    )(m)
    assert float(np.abs(np.asarray(g.readouts[1].weight)).sum()) > 0
    assert float(np.abs(np.asarray(g.readins[0].linear.weight)).sum()) > 0
    # off by default, and asking for it without read-outs is an error
    _, a0 = loss_fn(m, jax.random.key(4), xa, xb, 0.05, 4, 8)
    assert float(a0["obs"]) == 0.0
    assert _model().readouts is None
    with pytest.raises(ValueError, match="observation=True"):
        jepa_loss(_model(causal=False), jax.random.key(4), xa, xb, 0.05, 4, 8, obs_weight=1.0)


def test_input_transform_of_the_readins():
    from synaptax.jepa import transform_counts

    c = np.array([[0.0, 1.0, 4.0]])
    np.testing.assert_allclose(transform_counts(c), [[0.0, 1.0, 2.0]])
    np.testing.assert_allclose(transform_counts(c, "raw"), c)
    np.testing.assert_allclose(
        np.asarray(transform_counts(jax.numpy.asarray(c), "log1p")), np.log1p(c)
    )
    m = _model(input_transform="raw")
    assert m.readins[0].transform == "raw" and _model().readins[0].transform == "sqrt"
    x = jax.numpy.asarray(np.tile([[0.0, 1.0, 4.0, 9.0, 2.0]], (3, 1)))
    np.testing.assert_allclose(np.asarray(m.readins[0].standardise(x)), np.asarray(x))
    with pytest.raises(ValueError, match="input transform"):
        _model(input_transform="cube")
