"""Rotation-invariant similarity between two sets of time series: CCA and linear CKA.

Canonical correlation analysis (Hotelling 1936). With centred data ``X`` (samples x dx),
``Y`` (samples x dy), covariances ``Cxx``, ``Cyy``, ``Cxy`` and ridge-regularised
``Cxx_r = Cxx + lambda_x I`` with ``lambda_x = ridge * tr(Cxx) / dx`` (likewise for Y):

    M = Lx^{-1} Cxy Ly^{-T},   Cxx_r = Lx Lx^T,  Cyy_r = Ly Ly^T   (Cholesky factors)

The singular values of ``M`` are the canonical correlations ``rho_1 >= ... >= rho_k``
(``k = min(dx, dy)``), invariant to any invertible linear map of X or of Y. Their sum of
squares is ``||M||_F^2``: a smooth function of the data that needs no SVD and is the
differentiable training objective (:func:`cca_similarity`). Held-out evaluation fits the
canonical directions on training samples only (:func:`fit_cca`) and correlates the
projections of test samples (:func:`heldout_correlations`).

Linear CKA (Kornblith et al. 2019) is ``||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)`` for
centred data: invariant to rotations and isotropic scaling, but not to general linear maps.

References:
    Hotelling (1936), Relations between two sets of variates, Biometrika 28.
    Vinod (1976), Canonical ridge and econometrics of joint production, J. Econometrics 4.
    Kornblith, Norouzi, Lee & Hinton (2019), Similarity of neural network representations
    revisited, ICML.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jaxtyping import Array, Float


def _check_pair(x, y) -> None:
    if x.ndim != 2 or y.ndim != 2:
        raise ValueError(
            f"CCA/CKA take two 2-d arrays (sample, feature); got shapes {x.shape} and {y.shape}. "
            "Flatten time and batch first, e.g. x.reshape(-1, x.shape[-1])."
        )
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y must have the same number of samples (rows), got {x.shape[0]} and "
            f"{y.shape[0]}; they must be aligned in time."
        )
    if x.shape[0] < 2:
        raise ValueError("CCA/CKA need at least 2 samples.")


def _whiten_factor(c, ridge: float):
    d = c.shape[0]
    lam = ridge * jnp.trace(c) / d + jnp.finfo(c.dtype).eps * (1.0 + jnp.trace(c) / d)
    return jnp.linalg.cholesky(c + lam * jnp.eye(d, dtype=c.dtype))


def _whitened_cross(x, y, ridge):
    n = x.shape[0]
    xc = x - jnp.mean(x, axis=0)
    yc = y - jnp.mean(y, axis=0)
    cxx = xc.T @ xc / (n - 1)
    cyy = yc.T @ yc / (n - 1)
    cxy = xc.T @ yc / (n - 1)
    lx = _whiten_factor(cxx, ridge)
    ly = _whiten_factor(cyy, ridge)
    a = jsl.solve_triangular(lx, cxy, lower=True)  # Lx^{-1} Cxy
    m = jsl.solve_triangular(ly, a.T, lower=True).T  # Lx^{-1} Cxy Ly^{-T}
    return m, lx, ly


def canonical_correlations(
    x: Float[Array, "sample dx"], y: Float[Array, "sample dy"], ridge: float = 0.0
) -> Float[Array, " k"]:
    """Canonical correlations of ``x`` and ``y``, largest first (``k = min(dx, dy)``).

    Args:
        x, y: aligned samples (e.g. time bins) by features.
        ridge: relative ridge ``lambda = ridge * tr(C) / d`` added to each covariance
            (0 for plain CCA; > 0 shrinks correlations of poorly sampled directions).
    """
    _check_pair(x, y)
    m, _, _ = _whitened_cross(x, y, ridge)
    k = min(x.shape[1], y.shape[1])
    return jnp.linalg.svd(m, compute_uv=False)[:k]


def cca_similarity(
    x: Float[Array, "sample dx"], y: Float[Array, "sample dy"], ridge: float = 1e-3
) -> Float[Array, ""]:
    """Differentiable ridge-CCA similarity: mean squared canonical correlation, in [0, 1].

    ``(1 / k) sum_i rho_i^2 = ||M||_F^2 / k``; no SVD, so the gradient is smooth even when
    canonical correlations are degenerate. Use ``-cca_similarity`` as a loss.
    """
    _check_pair(x, y)
    m, _, _ = _whitened_cross(x, y, ridge)
    return jnp.sum(m**2) / min(x.shape[1], y.shape[1])


def linear_cka(x: Float[Array, "sample dx"], y: Float[Array, "sample dy"]) -> Float[Array, ""]:
    """Linear centred kernel alignment, in [0, 1] (Kornblith et al. 2019)."""
    _check_pair(x, y)
    xc = x - jnp.mean(x, axis=0)
    yc = y - jnp.mean(y, axis=0)
    cross = jnp.sum((yc.T @ xc) ** 2)
    nx = jnp.sqrt(jnp.sum((xc.T @ xc) ** 2))
    ny = jnp.sqrt(jnp.sum((yc.T @ yc) ** 2))
    return cross / jnp.maximum(nx * ny, jnp.finfo(x.dtype).tiny)


class CCAFit(eqx.Module):
    """Canonical directions fitted on training samples.

    Attributes:
        mean_x, mean_y: training means.
        wx, wy: canonical weights (columns), shapes (dx, k) and (dy, k).
        correlations: canonical correlations on the training samples.
    """

    mean_x: Float[Array, " dx"]
    mean_y: Float[Array, " dy"]
    wx: Float[Array, "dx k"]
    wy: Float[Array, "dy k"]
    correlations: Float[Array, " k"]

    def transform(
        self, x: Float[Array, "sample dx"], y: Float[Array, "sample dy"]
    ) -> tuple[Float[Array, "sample k"], Float[Array, "sample k"]]:
        """Canonical variates of new samples."""
        return (x - self.mean_x) @ self.wx, (y - self.mean_y) @ self.wy


def fit_cca(
    x: Float[Array, "sample dx"], y: Float[Array, "sample dy"], ridge: float = 0.0
) -> CCAFit:
    """Fit canonical directions on (training) samples; see the module docstring."""
    _check_pair(x, y)
    m, lx, ly = _whitened_cross(x, y, ridge)
    k = min(x.shape[1], y.shape[1])
    u, s, vt = jnp.linalg.svd(m, full_matrices=False)
    wx = jsl.solve_triangular(lx.T, u[:, :k], lower=False)
    wy = jsl.solve_triangular(ly.T, vt[:k].T, lower=False)
    return CCAFit(jnp.mean(x, axis=0), jnp.mean(y, axis=0), wx, wy, s[:k])


def heldout_correlations(
    fit: CCAFit, x: Float[Array, "sample dx"], y: Float[Array, "sample dy"]
) -> Float[Array, " k"]:
    """Correlation of each pair of canonical variates on held-out samples.

    The directions come from ``fit`` (training samples only), so, unlike CCA refitted on the
    test set, this is not inflated by fitting noise. Its mean is the usual held-out CCA score.
    """
    _check_pair(x, y)
    u, v = fit.transform(x, y)
    u = u - jnp.mean(u, axis=0)
    v = v - jnp.mean(v, axis=0)
    num = jnp.sum(u * v, axis=0)
    den = jnp.sqrt(jnp.sum(u**2, axis=0) * jnp.sum(v**2, axis=0))
    return num / jnp.maximum(den, jnp.finfo(u.dtype).tiny)
