"""CCA and CKA against independent references and their invariances."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from synaptax import distill


def _qr_cca(x, y):
    """Reference CCA by QR (Björck & Golub 1973), a different algorithm from ours."""
    qx, _ = np.linalg.qr(x - x.mean(0))
    qy, _ = np.linalg.qr(y - y.mean(0))
    return np.linalg.svd(qx.T @ qy, compute_uv=False)


def _data(seed=0, n=400, dz=3, dx=6, dy=4, noise=0.5):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, dz))
    x = z @ rng.normal(size=(dz, dx)) + noise * rng.normal(size=(n, dx))
    y = z @ rng.normal(size=(dz, dy)) + noise * rng.normal(size=(n, dy))
    return x, y


def test_canonical_correlations_match_qr_reference():
    x, y = _data()
    ours = np.asarray(distill.canonical_correlations(jnp.asarray(x), jnp.asarray(y)))
    ref = _qr_cca(x, y)[: len(ours)]
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-9)
    assert ours[0] > 0.8 and ours[-1] < 0.3  # three shared dimensions of four
    sim = float(distill.cca_similarity(jnp.asarray(x), jnp.asarray(y), ridge=0.0))
    np.testing.assert_allclose(sim, np.mean(ref[:4] ** 2), rtol=1e-9)


def test_cca_invariant_to_linear_maps_and_ridge_shrinks():
    x, y = _data(1)
    rng = np.random.default_rng(3)
    a = rng.normal(size=(6, 6))
    base = distill.canonical_correlations(jnp.asarray(x), jnp.asarray(y))
    mapped = distill.canonical_correlations(jnp.asarray(x @ a + 5.0), jnp.asarray(-2.0 * y))
    np.testing.assert_allclose(np.asarray(base), np.asarray(mapped), rtol=1e-8)
    shrunk = distill.canonical_correlations(jnp.asarray(x), jnp.asarray(y), ridge=0.5)
    assert np.all(np.asarray(shrunk) < np.asarray(base))


def test_cca_similarity_gradient_matches_finite_differences():
    x, y = _data(2, n=120, dx=4, dy=3)
    x, y = jnp.asarray(x), jnp.asarray(y)
    f = lambda x: distill.cca_similarity(x, y, ridge=1e-2)
    g = jax.grad(f)(x)
    rng = np.random.default_rng(0)
    d = jnp.asarray(rng.normal(size=x.shape))
    eps = 1e-6
    fd = (f(x + eps * d) - f(x - eps * d)) / (2 * eps)
    np.testing.assert_allclose(float(jnp.sum(g * d)), float(fd), rtol=1e-6)


def test_heldout_cca_fits_on_train_only():
    x, y = _data(4, n=2000, noise=0.8)
    xtr, ytr, xte, yte = map(jnp.asarray, (x[:1500], y[:1500], x[1500:], y[1500:]))
    fit = distill.fit_cca(xtr, ytr)
    train_u, train_v = fit.transform(xtr, ytr)
    np.testing.assert_allclose(
        np.corrcoef(np.asarray(train_u[:, 0]), np.asarray(train_v[:, 0]))[0, 1],
        float(fit.correlations[0]),
        rtol=1e-9,
    )
    held = np.asarray(distill.heldout_correlations(fit, xte, yte))
    assert held.shape == (4,)
    assert held[:3].min() > 0.4  # shared dimensions generalise
    # Pure noise: in-sample CCA is inflated, held-out is near zero.
    rng = np.random.default_rng(9)
    nx, ny = rng.normal(size=(60, 20)), rng.normal(size=(60, 5))
    fit_noise = distill.fit_cca(jnp.asarray(nx[:40]), jnp.asarray(ny[:40]))
    assert float(fit_noise.correlations[0]) > 0.7
    nh = distill.heldout_correlations(fit_noise, jnp.asarray(nx[40:]), jnp.asarray(ny[40:]))
    assert abs(float(jnp.mean(nh))) < 0.35


def test_linear_cka_properties():
    x, y = _data(5)
    x, y = jnp.asarray(x), jnp.asarray(y)
    assert float(distill.linear_cka(x, x)) == pytest.approx(1.0, rel=1e-12)
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(6, 6)))
    np.testing.assert_allclose(
        float(distill.linear_cka(3.0 * x @ jnp.asarray(q), y)),
        float(distill.linear_cka(x, y)),
        rtol=1e-10,
    )
    # Reference: HSIC form with centring matrices.
    n = x.shape[0]
    h = np.eye(n) - 1.0 / n
    kx, ky = np.asarray(x) @ np.asarray(x).T, np.asarray(y) @ np.asarray(y).T
    hsic = lambda a, b: np.trace(a @ h @ b @ h)
    ref = hsic(kx, ky) / np.sqrt(hsic(kx, kx) * hsic(ky, ky))
    np.testing.assert_allclose(float(distill.linear_cka(x, y)), ref, rtol=1e-9)


def test_bad_shapes_explain_the_fix():
    # Under the test suite's jaxtyping hook the annotation check fires first; without it
    # (user code), the ValueError below explains the fix.
    from synaptax.distill._similarity import _check_pair

    with pytest.raises(ValueError, match="same number of samples"):
        _check_pair(jnp.ones((10, 2)), jnp.ones((9, 2)))
    with pytest.raises(ValueError, match="Flatten time and batch"):
        _check_pair(jnp.ones((10, 2, 3)), jnp.ones((10, 2)))
