"""Poisson MAP smoother and the conv encoder's residual head."""

import equinox as eqx
import jax
import numpy as np
import pytest

from synaptax import jepa
from synaptax.jepa import Encoder, Teacher, TeacherConfig, jepa_loss


def _simulate(seed=0, T=2000, d=2, n=40, run=1000):
    """AR(1) latents (time constant 10 bins), Poisson counts ``exp(b + C x)`` per bin
    (about 0.05 counts per bin, like the benchmark's units), two runs."""
    rng = np.random.default_rng(seed)
    a = 0.9
    x = np.zeros((T, d))
    segment = np.repeat(np.arange(T // run), run)
    for t in range(T):
        prev = 0.0 if t % run == 0 else a * x[t - 1]
        x[t] = prev + rng.normal(size=d) * np.sqrt(1 - a**2)
    C = rng.normal(0, 0.6, (n, d))
    b = np.full(n, np.log(0.05))
    y = rng.poisson(np.exp(b + x @ C.T)).astype(float)
    return x, y, segment, C, b, a


def _corr(est, x):
    w = np.linalg.lstsq(np.hstack([est, np.ones((len(est), 1))]), x, rcond=None)[0]
    fit = np.hstack([est, np.ones((len(est), 1))]) @ w
    return np.array([np.corrcoef(fit[:, i], x[:, i])[0, 1] for i in range(x.shape[1])])


def test_fit_ar1_recovers_dynamics():
    x, _, segment, *_, a = _simulate()
    train = np.ones(len(x), bool)
    A, Q, P0, m = jepa.fit_ar1(x, train, segment)
    np.testing.assert_allclose(A, a * np.eye(2), atol=0.05)
    np.testing.assert_allclose(Q, (1 - a**2) * np.eye(2), atol=0.03)
    assert P0.shape == (2, 2) and m.shape == (2,)
    with pytest.raises(ValueError, match="consecutive"):
        jepa.fit_ar1(x[:2], train[:2], segment[:2])


def test_map_smoother_converges_and_beats_a_linear_smoother():
    x, y, segment, C, b, a = _simulate()
    d = x.shape[1]
    p = jepa.PoissonLDSParams(
        A=a * np.eye(d), Q=(1 - a**2) * np.eye(d), P0=np.eye(d), m=np.zeros(d), C=C, b=b
    )
    z = jepa.poisson_smooth(p, y, segment, tol=1e-9)
    assert z.shape == x.shape and np.all(np.isfinite(z))
    # at the optimum the gradient of the log-posterior vanishes (one run checked)
    sel = segment == 0
    rate = np.exp(b + z[sel] @ C.T)
    e = z[sel][1:] - a * z[sel][:-1]
    g = (rate - y[sel]) @ C
    g[1:] += e / (1 - a**2)
    g[:-1] -= a * e / (1 - a**2)
    g[0] += z[sel][0]
    assert np.max(np.abs(g)) < 1e-2
    # a started trajectory reaches the same optimum
    z2 = jepa.poisson_smooth(p, y, segment, init=z + 0.3, tol=1e-9)
    np.testing.assert_allclose(z2, z, atol=1e-3)
    # a linear smoother (exponential filter both ways) of the counts projected on C
    proj = (y - y.mean(0)) @ C
    fwd, bwd = np.zeros_like(proj), np.zeros_like(proj)
    for t in range(len(proj)):
        fwd[t] = proj[t] + (a * fwd[t - 1] if t % 1000 else 0.0)
    for t in reversed(range(len(proj))):
        bwd[t] = proj[t] + (a * bwd[t + 1] if (t + 1) % 1000 else 0.0)
    r_map, r_lin = _corr(z, x), _corr(fwd + bwd - proj, x)
    assert np.all(r_map > 0.8) and np.all(r_map > r_lin - 0.01)
    with pytest.raises(ValueError, match="units"):
        jepa.poisson_smooth(p, y[:, :-1], segment)


def test_laplace_moments_match_the_dense_inverse_hessian():
    """The E-step's posterior moments (block recursion) equal those of the dense inverse
    Hessian, and its Newton direction equals the dense Newton direction."""
    from synaptax.jepa._poisson import _model_fns

    rng = np.random.default_rng(3)
    d, n, T = 2, 5, 7
    A = np.array([[0.8, 0.1], [-0.2, 0.7]])
    p = jepa.PoissonLDSParams(
        A=A,
        Q=np.array([[0.3, 0.05], [0.05, 0.2]]),
        P0=np.eye(d) * 0.8,
        m=np.array([0.1, -0.2]),
        C=rng.normal(0, 0.7, (n, d)),
        b=np.full(n, -1.0),
    )
    x = rng.normal(size=(1, T, d))
    y = rng.poisson(1.0, (1, T, n)).astype(float)
    with jax.enable_x64(True):
        objective, _, estep = _model_fns(p)
        f0, dx, dec, (s00, s11, s10, n_pairs, var) = estep(x, y)
        f = lambda v: objective(v.reshape(1, T, d), y)[0]
        H = np.asarray(jax.hessian(f)(jax.numpy.asarray(x.ravel())))
        g = np.asarray(jax.grad(f)(jax.numpy.asarray(x.ravel())))
    cov = np.linalg.inv(H).reshape(T, d, T, d)
    xc = x[0] - p.m
    e = lambda i, j: cov[i, :, j, :] + np.outer(xc[i], xc[j])
    np.testing.assert_allclose(s00[0], sum(e(t - 1, t - 1) for t in range(1, T)), rtol=1e-9)
    np.testing.assert_allclose(s11[0], sum(e(t, t) for t in range(1, T)), rtol=1e-9)
    np.testing.assert_allclose(s10[0], sum(e(t, t - 1) for t in range(1, T)), rtol=1e-9)
    assert int(n_pairs[0]) == T - 1
    np.testing.assert_allclose(var[0], np.trace(np.linalg.inv(H)), rtol=1e-9)
    np.testing.assert_allclose(dx[0].ravel(), np.linalg.solve(H, g), rtol=1e-9)
    np.testing.assert_allclose(dec[0], g @ np.linalg.solve(H, g), rtol=1e-9)
    np.testing.assert_allclose(f0[0], objective(x, y)[0], rtol=1e-12)


def test_laplace_em_recovers_dynamics_from_an_oversmoothing_start():
    """From an AR(1) that smooths far too much, Laplace EM finds the generator's
    dynamics; refitting an AR(1) to the MAP point estimates instead shrinks ``Q``."""
    x, y, segment, C, b, a = _simulate(seed=1, T=4000, d=2, n=60)
    d = x.shape[1]
    start = jepa.PoissonLDSParams(
        A=0.995 * np.eye(d), Q=0.01 * np.eye(d), P0=np.eye(d), m=np.zeros(d), C=C, b=b
    )
    train = np.ones(len(x), bool)
    p, hist = jepa.fit_dynamics(start, y, train, segment, n_iter=40)
    assert len(hist) == 40 and np.all(np.isfinite(hist))
    np.testing.assert_allclose(p.A, a * np.eye(d), atol=0.05)
    np.testing.assert_allclose(np.diag(p.Q), 1 - a**2, rtol=0.35)
    # the point-estimate refit: much smaller noise, i.e. a prior that smooths more
    z = jepa.poisson_smooth(start, y, segment)
    _, Q_hard, _, _ = jepa.fit_ar1(z, train, segment)
    assert np.all(np.diag(Q_hard) < 0.5 * np.diag(p.Q))
    # and the refitted model estimates the latents better than the start
    r_em = _corr(jepa.poisson_smooth(p, y, segment), x)
    r_start = _corr(z, x)
    assert np.all(r_em > r_start)


def test_unequal_runs_are_smoothed_as_one_at_a_time():
    x, y, _, C, b, a = _simulate(seed=2, T=1500)
    segment = np.repeat([0, 1, 2], [400, 700, 400])
    d = x.shape[1]
    p = jepa.PoissonLDSParams(
        A=a * np.eye(d), Q=(1 - a**2) * np.eye(d), P0=np.eye(d), m=np.zeros(d), C=C, b=b
    )
    z = jepa.poisson_smooth(p, y, segment, tol=1e-10)
    for s in range(3):
        sel = segment == s
        zs = jepa.poisson_smooth(p, y[sel], np.zeros(sel.sum(), int), tol=1e-10)
        np.testing.assert_allclose(z[sel], zs, atol=1e-6)


def test_teacher_smoother_needs_readouts_and_shapes():
    counts = np.random.default_rng(0).poisson(0.5, (400, 11)).astype(np.float32)
    segment = np.zeros(400, int)
    train = np.ones(400, bool)
    views = jepa.split_units(11)
    kw = dict(latent_dim=3, hidden=4, horizons=(0, 1), dilations=(1,), causal=False)
    m = Teacher((len(views[0]), len(views[1])), observation=True, key=jax.random.key(0), **kw)
    p, units = jepa.teacher_smoother(m, counts, views, train, segment)
    assert p.C.shape == (11, 3) and p.A.shape == (3, 3) and sorted(units) == list(range(11))
    z0 = jepa.teacher_latents(m, counts, views)
    z = jepa.poisson_smooth(p, counts[:, units], segment, init=z0)
    assert z.shape == (400, 3) and np.all(np.isfinite(z))
    zr, pr = jepa.refined_latents(m, counts, views, train, segment, em_iter=2)
    assert zr.shape == (400, 3) and np.all(np.isfinite(zr)) and pr.C.shape == (11, 3)
    bare = Teacher((len(views[0]), len(views[1])), key=jax.random.key(0), **kw)
    with pytest.raises(ValueError, match="read-outs"):
        jepa.teacher_smoother(bare, counts, views, train, segment)


def test_conv_residual_head_starts_at_zero_and_trains():
    kw = dict(latent_dim=3, hidden=4, horizons=(0, 1, 2), dilations=(1, 2), causal=False)
    lin = Teacher((5, 6), nonlinear=False, key=jax.random.key(0), **kw)
    res = Teacher((5, 6), nonlinear=False, residual=8, key=jax.random.key(0), **kw)
    assert isinstance(res.encoder, Encoder) and res.encoder.residual_out is not None
    assert lin.encoder.residual_in is None
    c = jax.random.poisson(jax.random.key(1), 1.0, (40, 5)).astype(float)
    np.testing.assert_allclose(np.asarray(lin.encode(c, 0)), np.asarray(res.encode(c, 0)))
    cfg = TeacherConfig(**kw, nonlinear=False, residual=8, context=4)
    xa = jax.random.poisson(jax.random.key(2), 1.0, (16, cfg.window, 5)).astype(float)
    xb = jax.random.poisson(jax.random.key(3), 1.0, (16, cfg.window, 6)).astype(float)
    m = Teacher((5, 6), nonlinear=False, residual=8, observation=True, key=jax.random.key(0), **kw)
    (loss, _), g = eqx.filter_value_and_grad(
        lambda mm: jepa_loss(mm, jax.random.key(4), xa, xb, 0.05, 4, 8, obs_weight=1.0),
        has_aux=True,
    )(m)
    assert np.isfinite(float(loss))
    assert float(np.abs(np.asarray(g.encoder.residual_out.weight)).sum()) > 0
    with pytest.raises(ValueError, match="residual"):
        Encoder(4, 3, residual=-1, key=jax.random.key(0))
