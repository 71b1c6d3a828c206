"""SIGReg / Epps-Pulley: Gaussian floor, collapse and non-Gaussian detection, gradients,
per-step slices, scaling with the batch size."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from synaptax.jepa import epps_pulley, gaussian_expectation, random_directions, sigreg


def _gauss(seed, n, d):
    return jax.random.normal(jax.random.key(seed), (n, d))


def test_gaussian_expectation_matches_closed_form():
    # integral (1 - exp(-t^2)) exp(-t^2/2) dt over R = sqrt(2 pi) - sqrt(2 pi / 3)
    exact = np.sqrt(2 * np.pi) - np.sqrt(2 * np.pi / 3)
    assert gaussian_expectation(num_knots=401, t_max=8.0) == pytest.approx(exact, rel=1e-6)
    # 17 knots on [0, 3]: within 3 % of the full integral
    assert gaussian_expectation() == pytest.approx(exact, rel=0.03)


def test_near_zero_for_gaussian_samples():
    z = _gauss(0, 2048, 8)
    vals = [float(sigreg(jax.random.key(k), z)) for k in range(5)]
    # per sample (statistic / N) it is ~0; in absolute terms it sits at the Gaussian floor
    assert max(vals) / 2048 < 1e-3
    assert np.mean(vals) == pytest.approx(gaussian_expectation(), rel=0.5)


@pytest.mark.parametrize(
    "make",
    [
        lambda z: jnp.zeros_like(z),  # full collapse
        lambda z: 0.05 * z,  # near collapse (tiny scale)
        lambda z: jnp.tile(z[:, :1], (1, z.shape[1])),  # rank-one collapse
        lambda z: 0.3 * z + jnp.sign(z[:, :1]) * jnp.ones(z.shape[1]),  # two clusters
        lambda z: z**3 / 3,  # heavy tailed
        lambda z: z + 2.0,  # wrong mean
    ],
    ids=["zeros", "tiny", "rank1", "clusters", "cubic", "shifted"],
)
def test_large_for_collapsed_or_non_gaussian(make):
    z = _gauss(1, 1024, 8)
    floor = float(sigreg(jax.random.key(0), z))
    bad = float(sigreg(jax.random.key(0), make(z)))
    assert bad > 10 * floor, (bad, floor)


def test_gradient_is_finite_and_points_away_from_collapse():
    z = 0.01 * _gauss(2, 256, 4)
    g = jax.grad(lambda x: sigreg(jax.random.key(3), x))(z)
    assert np.all(np.isfinite(np.asarray(g)))
    # a small gradient step against the gradient spreads collapsed embeddings out
    z2 = z - 1e-2 * g / jnp.linalg.norm(g) * jnp.linalg.norm(z)
    assert float(jnp.std(z2)) > float(jnp.std(z))
    # finite gradient at exact collapse too
    g0 = jax.grad(lambda x: sigreg(jax.random.key(3), x))(jnp.zeros((64, 4)))
    assert np.all(np.isfinite(np.asarray(g0)))


def test_gradient_matches_finite_differences():
    z = _gauss(4, 32, 3)
    f = lambda x: sigreg(jax.random.key(5), x, num_slices=16)
    g = np.asarray(jax.grad(f)(z))
    d = np.asarray(_gauss(6, 32, 3))
    eps = 1e-5
    fd = (float(f(z + eps * d)) - float(f(z - eps * d))) / (2 * eps)
    assert np.sum(g * d) == pytest.approx(fd, rel=1e-5)


def test_slices_resample_with_the_key():
    u1 = random_directions(jax.random.key(0), 8, 32)
    u2 = random_directions(jax.random.key(1), 8, 32)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(u1), axis=0), 1.0, rtol=1e-12)
    assert not np.allclose(np.asarray(u1), np.asarray(u2))
    np.testing.assert_array_equal(
        np.asarray(u1), np.asarray(random_directions(jax.random.key(0), 8, 32))
    )
    # the statistic on anisotropic data depends on which directions were drawn
    z = _gauss(7, 512, 8) * jnp.array([3.0, 1, 1, 1, 1, 1, 1, 0.2])
    a = float(sigreg(jax.random.key(0), z, num_slices=4))
    b = float(sigreg(jax.random.key(1), z, num_slices=4))
    assert a != b


def test_scaling_with_batch_size():
    # Gaussian: independent of N on average; non-Gaussian: proportional to N
    keys = jax.random.split(jax.random.key(100), 6)
    for n in (128, 1024):
        zs = jax.vmap(lambda k, n=n: jax.random.normal(k, (n, 4)))(keys)
        g = jax.vmap(sigreg)(keys, zs)
        assert float(jnp.mean(g)) == pytest.approx(gaussian_expectation(), rel=0.35)
    small = float(epps_pulley(jnp.sign(_gauss(8, 256, 1)))[0])
    large = float(epps_pulley(jnp.sign(_gauss(9, 4096, 1)))[0])
    assert large / small == pytest.approx(16.0, rel=0.15)


def test_non_gaussian_one_dimensional():
    # per direction, a binary or uniform variable with unit variance is far from N(0, 1)
    z = _gauss(10, 1024, 1)
    floor = float(epps_pulley(z)[0])
    assert float(epps_pulley(jnp.sign(z))[0]) > 10 * floor
    u = jax.random.uniform(jax.random.key(11), (1024, 1), minval=-np.sqrt(3), maxval=np.sqrt(3))
    assert float(epps_pulley(u)[0]) > 3 * floor


def test_bad_input_errors():
    # ValueError without runtime type checks, TypeError (jaxtyping) with them
    with pytest.raises((ValueError, TypeError), match=r"2-d|batch dim"):
        sigreg(jax.random.key(0), jnp.zeros((4, 2, 2)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        epps_pulley(jnp.zeros((1, 3)))
    with pytest.raises(ValueError, match="num_knots"):
        epps_pulley(jnp.zeros((4, 3)), num_knots=1)
