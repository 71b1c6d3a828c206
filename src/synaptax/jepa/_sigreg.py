"""SIGReg: sketched isotropic Gaussian regularisation with the Epps-Pulley statistic.

For ``N`` one-dimensional samples ``z_1 .. z_N`` with empirical characteristic function
``phi_N(t) = (1/N) sum_j exp(i t z_j)``, the Epps-Pulley statistic against N(0, 1) is

    EP = N * integral |phi_N(t) - exp(-t^2 / 2)|^2 w(t) dt,    w(t) = exp(-t^2 / 2),

with ``|phi_N - phi|^2 = (mean cos(t z) - exp(-t^2/2))^2 + (mean sin(t z))^2``. The
integrand is even in ``t``, so the integral is twice the integral over ``[0, t_max]``,
evaluated with the trapezoid rule on ``num_knots`` (17) equally spaced knots.

SIGReg (Balestriero & LeCun 2025) applies it to ``M`` random one-dimensional projections
of ``d``-dimensional embeddings, ``u_m / ||u_m||`` with ``u_m ~ N(0, I_d)``, and averages:

    SIGReg(Z) = (1/M) sum_m EP(Z u_m).

The directions are drawn from a PRNG key: pass a fresh key every step (resampling the
slices), the same key on every device (identical slices everywhere).

**Scaling with batch size.** Because of the factor ``N``, for samples that *are* N(0, 1)
the expected statistic does not depend on ``N``: ``E[EP] = integral (1 - exp(-t^2)) w(t)
dt`` (about 1.06 exactly, :func:`gaussian_expectation` gives the trapezoid value). For
samples from any *other* fixed distribution the squared distance converges to a positive
constant, so the statistic grows linearly with ``N``. A larger batch therefore makes
SIGReg a stronger penalty at a fixed ``lambda``; halve ``lambda`` when doubling the
batch to keep the same trade-off. The samples should be independent (separate windows):
with correlated samples (neighbouring bins of one segment) ``phi_N`` fluctuates more than
for ``N`` independent ones, so slow, strongly autocorrelated features are penalised more
than fast ones.

References:
    Epps & Pulley (1983), A test for normality based on the empirical characteristic
    function, Biometrika 70.
    Balestriero & LeCun (2025), LeJEPA: Provable and scalable self-supervised learning
    without the heuristics, arXiv:2511.08544.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

__all__ = ["epps_pulley", "gaussian_expectation", "random_directions", "sigreg"]


def _knots(num_knots: int, t_max: float, dtype) -> tuple[Array, Array]:
    if num_knots < 2:
        raise ValueError(f"`num_knots` must be at least 2 for the trapezoid rule, got {num_knots}.")
    if not t_max > 0:
        raise ValueError(f"`t_max` must be positive, got {t_max}.")
    t = jnp.linspace(0.0, t_max, num_knots, dtype=dtype)
    h = t_max / (num_knots - 1)
    # trapezoid weights on [0, t_max], doubled for the even integrand on [-t_max, t_max]
    w = jnp.full((num_knots,), h, dtype=dtype).at[0].set(h / 2).at[-1].set(h / 2)
    return t, 2.0 * w * jnp.exp(-(t**2) / 2)


def epps_pulley(
    samples: Float[Array, "batch slice"], num_knots: int = 17, t_max: float = 3.0
) -> Float[Array, " slice"]:
    """Epps-Pulley statistic of each column of ``samples`` against N(0, 1).

    Args:
        samples: ``N`` samples (rows) of each of several one-dimensional variables.
        num_knots: trapezoid knots on ``[0, t_max]``.
        t_max: end of the integration range (the Gaussian weight is 0.011 there).

    Returns:
        One statistic per column (``N * integral ...``, see the module docstring).
    """
    if samples.ndim != 2:
        raise ValueError(
            f"`samples` must be 2-d (batch, slice), got shape {samples.shape}; project the "
            "embeddings first, or use `sigreg` on (batch, dim) embeddings."
        )
    n = samples.shape[0]
    if n < 2:
        raise ValueError(f"the Epps-Pulley statistic needs at least 2 samples, got {n}.")
    t, w = _knots(num_knots, t_max, samples.dtype)
    tz = samples[:, :, None] * t  # batch, slice, knot
    re = jnp.mean(jnp.cos(tz), axis=0) - jnp.exp(-(t**2) / 2)
    im = jnp.mean(jnp.sin(tz), axis=0)
    return n * jnp.sum((re**2 + im**2) * w, axis=-1)


def gaussian_expectation(num_knots: int = 17, t_max: float = 3.0) -> float:
    """Expected :func:`epps_pulley` value for i.i.d. N(0, 1) samples, any ``N``.

    ``E |phi_N(t) - phi(t)|^2 = (1 - exp(-t^2)) / N``, so ``E[EP]`` is the quadrature of
    ``(1 - exp(-t^2)) w(t)``: the floor SIGReg reaches on perfectly Gaussian embeddings.
    """
    t, w = _knots(num_knots, t_max, jnp.result_type(float))
    return float(jnp.sum((1 - jnp.exp(-(t**2))) * w))


def random_directions(key: PRNGKeyArray, dim: int, num_slices: int, dtype=None) -> Array:
    """``(dim, num_slices)`` unit vectors, uniform on the sphere, drawn from ``key``."""
    u = jax.random.normal(key, (dim, num_slices), dtype=dtype or jnp.result_type(float))
    return u / jnp.linalg.norm(u, axis=0, keepdims=True)


def sigreg(
    key: PRNGKeyArray,
    embeddings: Float[Array, "batch dim"],
    num_slices: int = 256,
    num_knots: int = 17,
    t_max: float = 3.0,
) -> Float[Array, ""]:
    """SIGReg loss: mean Epps-Pulley statistic of ``num_slices`` random projections.

    Args:
        key: PRNG key of this step's directions; resample every step, share across devices.
        embeddings: ``N`` independent embeddings of dimension ``d`` (rows).
        num_slices: number ``M`` of random unit directions.
        num_knots, t_max: quadrature, see :func:`epps_pulley`.

    Returns:
        ``(1/M) sum_m EP(Z u_m)``; about :func:`gaussian_expectation` (1.06) for
        N(0, I) embeddings, growing like ``N`` otherwise (see the module docstring).

    Example:
        >>> z = jax.random.normal(jax.random.key(0), (512, 8))
        >>> sigreg(jax.random.key(1), z)  # about 1
    """
    if embeddings.ndim != 2:
        raise ValueError(
            f"`embeddings` must be 2-d (batch, dim), got shape {embeddings.shape}; flatten "
            "other axes into the batch (embeddings.reshape(-1, dim))."
        )
    if num_slices < 1:
        raise ValueError(f"`num_slices` must be at least 1, got {num_slices}.")
    u = random_directions(key, embeddings.shape[1], num_slices, embeddings.dtype)
    return jnp.mean(epps_pulley(embeddings @ u, num_knots, t_max))
